/*
 * arrow_flatbuf.c: a small flatbuffer reader for the Arrow IPC stream's
 * metadata, written for untrusted bytes: every table, vtable, field,
 * vector and string is checked to lie inside the message before it is
 * read, every count against the bytes that could hold it, and nothing
 * is read through an unaligned pointer. Arrow's Message.fbs and
 * Schema.fbs give the field numbers used below.
 *
 * A stream is a sequence of messages: an optional 0xFFFFFFFF
 * continuation marker, an int32 metadata length, the Message
 * flatbuffer, then bodyLength bytes of body. A length of 0 ends it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "snowflake/arrow_int.h"

/* Bounds on what a schema may hold, so hostile metadata cannot make
 * the reader recurse or allocate without end (a flatbuffer may point
 * many vector elements at one table). */
#define MAX_DEPTH	16
#define MAX_FIELDS	65536

/* Message.fbs MetadataVersion: V4 (Arrow 0.15 to 1.0) and V5. */
#define VERSION_V4	3
#define VERSION_V5	4

struct fb {
	const uint8_t	*p;
	size_t		 len;
	size_t		 at;		/* stream offset of p[0] */
	char		*err;
	size_t		 errlen;
};

/* A table: where it starts, its vtable, and both their sizes. */
struct fbt {
	size_t	 pos;
	size_t	 vt;
	size_t	 vtlen;
	size_t	 tlen;
};

static int
fb_fail(const struct fb *fb, size_t pos, const char *what)
{
	return errorf(fb->err, fb->errlen, "arrow: %s at byte %zu", what,
	    fb->at + pos);
}

/* The table at pos, its vtable and both sizes checked. */
static int
fb_table(const struct fb *fb, size_t pos, struct fbt *t)
{
	int64_t	vt;

	if (pos > fb->len || fb->len - pos < 4)
		return fb_fail(fb, pos, "table out of bounds");
	vt = (int64_t)pos - arrow_signed(arrow_le32(fb->p + pos), 32);
	if (vt < 0 || (uint64_t)vt > fb->len - 4)
		return fb_fail(fb, pos, "vtable out of bounds");
	t->pos = pos;
	t->vt = (size_t)vt;
	t->vtlen = arrow_le16(fb->p + t->vt);
	t->tlen = arrow_le16(fb->p + t->vt + 2);
	if (t->vtlen < 4 || (t->vtlen & 1) || t->vtlen > fb->len - t->vt)
		return fb_fail(fb, t->vt, "bad vtable size");
	if (t->tlen < 4 || t->tlen > fb->len - pos)
		return fb_fail(fb, pos, "table size out of bounds");
	return 0;
}

/* Where field id of t is (*at 0: absent), size bytes inside the table. */
static int
fb_field(const struct fb *fb, const struct fbt *t, unsigned id, size_t size,
    size_t *at)
{
	size_t	off;

	*at = 0;
	if (4 + 2 * (size_t)id + 2 > t->vtlen)
		return 0;
	off = arrow_le16(fb->p + t->vt + 4 + 2 * id);
	if (off == 0)
		return 0;
	if (off < 4 || off > t->tlen || t->tlen - off < size)
		return fb_fail(fb, t->pos, "field outside its table");
	*at = t->pos + off;
	return 0;
}

/* A scalar field: bytes 1 (unsigned), 2, 4 or 8 (signed). */
static int
fb_scalar(const struct fb *fb, const struct fbt *t, unsigned id, int bytes,
    int64_t def, int64_t *out)
{
	size_t	at;

	*out = def;
	if (fb_field(fb, t, id, (size_t)bytes, &at) == -1)
		return -1;
	if (at == 0)
		return 0;
	switch (bytes) {
	case 1:
		*out = fb->p[at];
		break;
	case 2:
		*out = arrow_signed(arrow_le16(fb->p + at), 16);
		break;
	case 4:
		*out = arrow_signed(arrow_le32(fb->p + at), 32);
		break;
	default:
		*out = arrow_signed(arrow_le64(fb->p + at), 64);
		break;
	}
	return 0;
}

/* Follows the uoffset at pos; its target must have 4 bytes. */
static int
fb_deref(const struct fb *fb, size_t pos, size_t *target)
{
	uint32_t	u = arrow_le32(fb->p + pos);

	if (u > fb->len - pos || fb->len - pos - u < 4)
		return fb_fail(fb, pos, "offset out of bounds");
	*target = pos + u;
	return 0;
}

/* A table-valued field; *present 0 if absent. */
static int
fb_sub(const struct fb *fb, const struct fbt *t, unsigned id,
    struct fbt *sub, int *present)
{
	size_t	at, target;

	*present = 0;
	if (fb_field(fb, t, id, 4, &at) == -1)
		return -1;
	if (at == 0)
		return 0;
	if (fb_deref(fb, at, &target) == -1 || fb_table(fb, target, sub) == -1)
		return -1;
	*present = 1;
	return 0;
}

/* A vector-valued field of elem-byte elements; count 0 if absent. */
static int
fb_vec(const struct fb *fb, const struct fbt *t, unsigned id, size_t elem,
    size_t *start, size_t *count)
{
	size_t		at, target;
	uint32_t	n;

	*start = 0;
	*count = 0;
	if (fb_field(fb, t, id, 4, &at) == -1)
		return -1;
	if (at == 0)
		return 0;
	if (fb_deref(fb, at, &target) == -1)
		return -1;
	n = arrow_le32(fb->p + target);
	if (n > (fb->len - target - 4) / elem)
		return fb_fail(fb, target, "vector longer than its message");
	*start = target + 4;
	*count = n;
	return 0;
}

/* Element i of a vector of tables. */
static int
fb_vec_table(const struct fb *fb, size_t start, size_t i, struct fbt *t)
{
	size_t	target;

	if (fb_deref(fb, start + 4 * i, &target) == -1)
		return -1;
	return fb_table(fb, target, t);
}

/* A string field as a new C string ("" if absent); max bytes at most. */
static int
fb_strdup(const struct fb *fb, const struct fbt *t, unsigned id, size_t max,
    char **out)
{
	size_t	start, n;

	*out = NULL;
	if (fb_vec(fb, t, id, 1, &start, &n) == -1)
		return -1;
	if (n > max)
		return fb_fail(fb, start, "string too long");
	if (memchr(fb->p + start, '\0', n) != NULL)
		return fb_fail(fb, start, "string holds a NUL byte");
	if ((*out = malloc(n + 1)) == NULL)
		return errorf(fb->err, fb->errlen, "arrow: out of memory");
	memcpy(*out, fb->p + start, n);
	(*out)[n] = '\0';
	return 0;
}

const char *
arrow_type_name(int type)
{
	static const char *const names[] = {
		"NONE", "Null", "Int", "FloatingPoint", "Binary", "Utf8",
		"Bool", "Decimal", "Date", "Time", "Timestamp", "Interval",
		"List", "Struct", "Union", "FixedSizeBinary", "FixedSizeList",
		"Map", "Duration", "LargeBinary", "LargeUtf8", "LargeList",
		"RunEndEncoded", "BinaryView", "Utf8View", "ListView",
		"LargeListView",
	};

	if (type < 0 || (size_t)type >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[type];
}

int
arrow_next(const uint8_t *s, size_t len, size_t *pos, struct arrow_msg *m,
    char *err, size_t errlen)
{
	struct fb	 fb = { s, len, 0, err, errlen };
	struct fbt	 msg, hdr;
	size_t		 p = *pos, root;
	int		 present;
	int64_t		 meta_len, version, kind, body_len;
	uint32_t	 word;

	if (p == len)
		return 0;
	if (len - p < 4)
		return fb_fail(&fb, p, "truncated message length");
	word = arrow_le32(s + p);
	p += 4;
	if (word == 0xFFFFFFFFu) {
		if (len - p < 4)
			return fb_fail(&fb, p, "truncated message length");
		word = arrow_le32(s + p);
		p += 4;
	}
	meta_len = arrow_signed(word, 32);
	if (meta_len == 0) {
		if (p != len)
			return fb_fail(&fb, p, "bytes after end-of-stream");
		*pos = p;
		return 0;
	}
	if (meta_len < 8 || (uint64_t)meta_len > len - p)
		return fb_fail(&fb, p - 4, "metadata length out of bounds");
	fb.p = s + p;
	fb.len = (size_t)meta_len;
	fb.at = p;
	if (fb_deref(&fb, 0, &root) == -1 || fb_table(&fb, root, &msg) == -1)
		return -1;
	if (fb_scalar(&fb, &msg, 0, 2, 0, &version) == -1 ||
	    fb_scalar(&fb, &msg, 1, 1, 0, &kind) == -1 ||
	    fb_scalar(&fb, &msg, 3, 8, 0, &body_len) == -1)
		return -1;
	if (version != VERSION_V4 && version != VERSION_V5)
		return fb_fail(&fb, root, "unsupported metadata version");
	m->kind = (int)kind;
	m->meta = fb.p;
	m->meta_len = fb.len;
	m->meta_at = fb.at;
	if (fb_sub(&fb, &msg, 2, &hdr, &present) == -1)
		return -1;
	if (!present)
		return fb_fail(&fb, root, "message without header");
	m->header = hdr.pos;
	p += (size_t)meta_len;
	if (body_len < 0 || (uint64_t)body_len > len - p)
		return fb_fail(&fb, root, "body length out of bounds");
	m->body = s + p;
	m->body_len = (size_t)body_len;
	m->body_at = p;
	*pos = p + (size_t)body_len;
	return 1;
}

/* Parses an unsigned decimal metadata value of at most 4 digits. */
static int
small_number(const uint8_t *s, size_t n, int *out)
{
	int	v = 0;

	if (n == 0 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Field.custom_metadata: logicalType and scale. */
static int
read_metadata(const struct fb *fb, const struct fbt *ft, struct arrow_field *f)
{
	size_t	start, n;

	if (fb_vec(fb, ft, 6, 4, &start, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct fbt	kv;
		size_t		ks, kn, vs, vn;

		if (fb_vec_table(fb, start, i, &kv) == -1 ||
		    fb_vec(fb, &kv, 0, 1, &ks, &kn) == -1 ||
		    fb_vec(fb, &kv, 1, 1, &vs, &vn) == -1)
			return -1;
		if (kn == 11 && memcmp(fb->p + ks, "logicalType", 11) == 0) {
			free(f->logical);
			if (fb_strdup(fb, &kv, 1, 64, &f->logical) == -1)
				return -1;
		} else if (kn == 5 && memcmp(fb->p + ks, "scale", 5) == 0) {
			if (small_number(fb->p + vs, vn, &f->sf_scale) == -1)
				return fb_fail(fb, vs, "bad scale metadata");
		}
	}
	return 0;
}

/* The type table of field f (Field.type), for the types read here. */
static int
read_type(const struct fb *fb, const struct fbt *ft, struct arrow_field *f)
{
	struct fbt	tt;
	int64_t		v, w, x;
	int		present;

	if (fb_scalar(fb, ft, 2, 1, 0, &v) == -1 ||
	    fb_sub(fb, ft, 3, &tt, &present) == -1)
		return -1;
	f->type = (int)v;
	if (!present)
		return 0;
	switch (f->type) {
	case ARROW_INT:
		if (fb_scalar(fb, &tt, 0, 4, 0, &v) == -1 ||
		    fb_scalar(fb, &tt, 1, 1, 0, &w) == -1)
			return -1;
		f->bits = v >= 0 && v <= 256 ? (int)v : 0;
		f->is_signed = w != 0;
		break;
	case ARROW_FLOAT:
		if (fb_scalar(fb, &tt, 0, 2, 0, &v) == -1)
			return -1;
		f->bits = v == 0 ? 16 : v == 1 ? 32 : v == 2 ? 64 : 0;
		break;
	case ARROW_DECIMAL:
		if (fb_scalar(fb, &tt, 0, 4, 0, &v) == -1 ||
		    fb_scalar(fb, &tt, 1, 4, 0, &w) == -1 ||
		    fb_scalar(fb, &tt, 2, 4, 128, &x) == -1)
			return -1;
		if (v < 1 || v > 76 || w < -76 || w > 76)
			return fb_fail(fb, tt.pos,
			    "bad decimal precision or scale");
		f->precision = (int)v;
		f->scale = (int)w;
		f->bits = x == 128 || x == 256 || x == 64 || x == 32 ?
		    (int)x : 0;
		break;
	case ARROW_DATE:
		if (fb_scalar(fb, &tt, 0, 2, 1, &v) == -1)
			return -1;
		f->unit = (int)v;
		break;
	}
	return 0;
}

static void
field_free(struct arrow_field *f)
{
	for (size_t i = 0; i < f->nchildren; i++)
		field_free(&f->children[i]);
	free(f->children);
	free(f->name);
	free(f->logical);
}

static int read_fields(const struct fb *, const struct fbt *, unsigned id,
    int depth, size_t *total, struct arrow_field **out, size_t *nout);

static int
read_field(const struct fb *fb, const struct fbt *ft, int depth,
    size_t *total, struct arrow_field *f)
{
	struct fbt	dict;
	int		present;

	f->at = fb->at + ft->pos;
	f->sf_scale = -1;
	if (fb_strdup(fb, ft, 0, 1u << 16, &f->name) == -1 ||
	    read_type(fb, ft, f) == -1 ||
	    fb_sub(fb, ft, 4, &dict, &present) == -1)
		return -1;
	f->dictionary = present;
	if (f->name == NULL && (f->name = strdup("")) == NULL)
		return errorf(fb->err, fb->errlen, "arrow: out of memory");
	if (read_metadata(fb, ft, f) == -1)
		return -1;
	return read_fields(fb, ft, 5, depth + 1, total, &f->children,
	    &f->nchildren);
}

/* The vector of Field tables at field id of t (Schema.fields,
 * Field.children). */
static int
read_fields(const struct fb *fb, const struct fbt *t, unsigned id, int depth,
    size_t *total, struct arrow_field **out, size_t *nout)
{
	struct arrow_field	*fs;
	size_t			 start, n;

	*out = NULL;
	*nout = 0;
	if (fb_vec(fb, t, id, 4, &start, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	if (depth > MAX_DEPTH)
		return fb_fail(fb, t->pos, "fields nested too deep");
	if (n > MAX_FIELDS - *total)
		return fb_fail(fb, t->pos, "too many fields");
	*total += n;
	if ((fs = calloc(n, sizeof(*fs))) == NULL)
		return errorf(fb->err, fb->errlen, "arrow: out of memory");
	*out = fs;
	*nout = n;
	for (size_t i = 0; i < n; i++) {
		struct fbt	ft;

		if (fb_vec_table(fb, start, i, &ft) == -1 ||
		    read_field(fb, &ft, depth, total, &fs[i]) == -1)
			return -1;
	}
	return 0;
}

int
arrow_schema_read(const struct arrow_msg *m, struct arrow_schema *sc,
    char *err, size_t errlen)
{
	struct fb	 fb = { m->meta, m->meta_len, m->meta_at, err, errlen };
	struct fbt	 t;
	int64_t		 endianness;
	size_t		 total = 0;

	sc->fields = NULL;
	sc->nfields = 0;
	if (fb_table(&fb, m->header, &t) == -1 ||
	    fb_scalar(&fb, &t, 0, 2, 0, &endianness) == -1)
		return -1;
	if (endianness != 0)
		return fb_fail(&fb, t.pos, "big-endian stream");
	if (read_fields(&fb, &t, 1, 0, &total, &sc->fields,
	    &sc->nfields) == -1) {
		arrow_schema_free(sc);
		return -1;
	}
	return 0;
}

void
arrow_schema_free(struct arrow_schema *sc)
{
	for (size_t i = 0; i < sc->nfields; i++)
		field_free(&sc->fields[i]);
	free(sc->fields);
	sc->fields = NULL;
	sc->nfields = 0;
}

int
arrow_batch_read(const struct arrow_msg *m, struct arrow_batch *b,
    char *err, size_t errlen)
{
	struct fb	 fb = { m->meta, m->meta_len, m->meta_at, err, errlen };
	struct fbt	 t, comp;
	size_t		 start;
	int		 present;

	if (fb_table(&fb, m->header, &t) == -1 ||
	    fb_scalar(&fb, &t, 0, 8, 0, &b->length) == -1)
		return -1;
	if (b->length < 0)
		return fb_fail(&fb, t.pos, "negative batch length");
	if (fb_vec(&fb, &t, 1, 16, &start, &b->nnodes) == -1)
		return -1;
	b->nodes = fb.p + start;
	if (fb_vec(&fb, &t, 2, 16, &start, &b->nbufs) == -1)
		return -1;
	b->bufs = fb.p + start;
	if (fb_sub(&fb, &t, 3, &comp, &present) == -1)
		return -1;
	if (present)
		return fb_fail(&fb, comp.pos, "compressed body unsupported");
	return 0;
}

void
arrow_node(const struct arrow_batch *b, size_t i, int64_t *length,
    int64_t *null_count)
{
	*length = arrow_signed(arrow_le64(b->nodes + 16 * i), 64);
	*null_count = arrow_signed(arrow_le64(b->nodes + 16 * i + 8), 64);
}

void
arrow_buffer(const struct arrow_batch *b, size_t i, int64_t *offset,
    int64_t *length)
{
	*offset = arrow_signed(arrow_le64(b->bufs + 16 * i), 64);
	*length = arrow_signed(arrow_le64(b->bufs + 16 * i + 8), 64);
}
