/*
 * arrow.c: Snowflake's Arrow query results as its JSON rowsets.
 *
 * Snowflake encodes each column by its logical type (the field's
 * logicalType metadata, and the response's rowtype): FIXED as a signed
 * integer of 8 to 64 bits, or a Decimal128, holding the value times
 * 10^scale; REAL as a double; TEXT, VARIANT, OBJECT and ARRAY as utf8;
 * BINARY as binary; BOOLEAN as bool; DATE as days in a date32 or int32;
 * TIME as an int32 or int64 scaled by 10^scale; TIMESTAMP_NTZ and _LTZ
 * as an int64 scaled likewise or a struct {epoch seconds, fraction
 * nanoseconds}; TIMESTAMP_TZ as a struct {epoch, [fraction], timezone}
 * where epoch is scaled when there is no fraction and timezone is the
 * offset in minutes + 1440. The Python connector's nanoarrow_cpp
 * converters read them so; fakesnow 0.12.1 writes them so.
 *
 * Here: each column's plan from the schema and the rowtype, each
 * batch's buffers checked against its body, and the rows put together.
 * arrow_flatbuf.c reads the metadata; arrow_cell.c writes the values.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "snowflake/arrow.h"
#include "snowflake/arrow_int.h"

/* What binding a batch's buffers needs. */
struct batchctx {
	const struct arrow_msg		*m;
	const struct arrow_batch	*b;
	size_t				 node;	/* next FieldNode */
	size_t				 buf;	/* next Buffer */
};

static const struct {
	const char	*name;
	int		 t;
} sf_names[] = {
	{ "FIXED", SFT_FIXED }, { "REAL", SFT_REAL }, { "FLOAT", SFT_REAL },
	{ "DOUBLE", SFT_REAL }, { "DOUBLE PRECISION", SFT_REAL },
	{ "TEXT", SFT_TEXT }, { "STRING", SFT_TEXT }, { "VARCHAR", SFT_TEXT },
	{ "CHAR", SFT_TEXT }, { "ANY", SFT_TEXT }, { "VARIANT", SFT_VARIANT },
	{ "OBJECT", SFT_OBJECT }, { "ARRAY", SFT_ARRAY },
	{ "BINARY", SFT_BINARY }, { "BOOLEAN", SFT_BOOLEAN },
	{ "DATE", SFT_DATE }, { "TIME", SFT_TIME },
	{ "TIMESTAMP_NTZ", SFT_TS_NTZ }, { "TIMESTAMP_LTZ", SFT_TS_LTZ },
	{ "TIMESTAMP", SFT_TS_LTZ }, { "TIMESTAMP_TZ", SFT_TS_TZ },
};

static int
sf_type(const char *name)
{
	for (size_t i = 0; i < sizeof(sf_names) / sizeof(sf_names[0]); i++)
		if (strcasecmp(name, sf_names[i].name) == 0)
			return sf_names[i].t;
	return -1;
}

/* Its canonical name: the first in sf_names. */
static const char *
sf_name(int t)
{
	for (size_t i = 0; i < sizeof(sf_names) / sizeof(sf_names[0]); i++)
		if (sf_names[i].t == t)
			return sf_names[i].name;
	return "?";
}

static int col_fail(const struct arrow_field *, char *, size_t,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static int
col_fail(const struct arrow_field *f, char *err, size_t errlen,
    const char *fmt, ...)
{
	char	what[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return errorf(err, errlen, "arrow: column %.64s (field at byte %zu): "
	    "%s", f->name, f->at, what);
}

/* The rowtype entry's type and scale (-1: none). */
static int
rowtype_of(const struct arrow_field *f, const cJSON *rt, int *type,
    int *scale, char *err, size_t errlen)
{
	const cJSON	*t, *s;

	*type = *scale = -1;
	if (rt == NULL)
		return 0;
	t = cJSON_GetObjectItemCaseSensitive(rt, "type");
	s = cJSON_GetObjectItemCaseSensitive(rt, "scale");
	if (cJSON_IsString(t) && (*type = sf_type(t->valuestring)) < 0)
		return col_fail(f, err, errlen, "unsupported rowtype type "
		    "%.32s", t->valuestring);
	if (cJSON_IsNumber(s)) {
		if (s->valuedouble < 0 || s->valuedouble > 38 ||
		    s->valuedouble != (int)s->valuedouble)
			return col_fail(f, err, errlen, "bad rowtype scale");
		*scale = (int)s->valuedouble;
	}
	return 0;
}

/* The column's Snowflake type and scale, from metadata and rowtype. */
static int
plan_type(const struct arrow_field *f, const cJSON *rt, struct arrow_col *c,
    char *err, size_t errlen)
{
	int	mt = -1, rtt, rscale, scaled;

	if (rowtype_of(f, rt, &rtt, &rscale, err, errlen) == -1)
		return -1;
	if (f->logical != NULL && (mt = sf_type(f->logical)) < 0)
		return col_fail(f, err, errlen, "unsupported logicalType %s",
		    f->logical);
	if (mt < 0 && rtt < 0)
		return col_fail(f, err, errlen, "no logicalType and no rowtype "
		    "type");
	if (mt >= 0 && rtt >= 0 && mt != rtt)
		return col_fail(f, err, errlen, "logicalType %s disagrees with "
		    "the rowtype's type %s", f->logical, sf_name(rtt));
	c->sf = mt >= 0 ? mt : rtt;
	scaled = c->sf == SFT_FIXED || c->sf == SFT_TIME || c->sf >= SFT_TS_NTZ;
	c->scale = -1;
	if (scaled) {
		if (f->sf_scale >= 0 && rscale >= 0 && f->sf_scale != rscale)
			return col_fail(f, err, errlen, "scale metadata %d "
			    "disagrees with the rowtype's scale %d",
			    f->sf_scale, rscale);
		c->scale = f->sf_scale >= 0 ? f->sf_scale : rscale;
		if (c->scale > (c->sf == SFT_FIXED ? 38 : 9))
			return col_fail(f, err, errlen, "scale %d out of range",
			    c->scale);
	}
	return 0;
}

static int
is_int(const struct arrow_field *f, int bits)
{
	return f->type == ARROW_INT && f->is_signed && f->bits == bits &&
	    !f->dictionary;
}

/* A timestamp struct's children: epoch int64, fraction and timezone
 * int32, by name, as the connector finds them. */
static int
plan_struct(const struct arrow_field *f, struct arrow_col *c, char *err,
    size_t errlen)
{
	c->epoch = c->fraction = c->tz = -1;
	if (f->nchildren < 1 || f->nchildren > 3)
		return col_fail(f, err, errlen, "timestamp struct of %zu "
		    "fields", f->nchildren);
	for (size_t i = 0; i < f->nchildren; i++) {
		const struct arrow_field	*k = &f->children[i];
		int				*slot, bits = 32;

		if (strcmp(k->name, "epoch") == 0) {
			slot = &c->epoch;
			bits = 64;
		} else if (strcmp(k->name, "fraction") == 0)
			slot = &c->fraction;
		else if (strcmp(k->name, "timezone") == 0)
			slot = &c->tz;
		else
			return col_fail(f, err, errlen, "unknown timestamp "
			    "field %.32s", k->name);
		if (*slot != -1 || !is_int(k, bits))
			return col_fail(f, err, errlen, "bad timestamp "
			    "field %.32s", k->name);
		*slot = (int)i;
	}
	if (c->epoch < 0 || (c->sf == SFT_TS_TZ) != (c->tz >= 0))
		return col_fail(f, err, errlen, "timestamp struct without "
		    "its epoch or timezone");
	return 0;
}

/* Picks how the column's cells are read; anything else is refused. */
static int
plan_column(const struct arrow_field *f, const cJSON *rt, struct arrow_col *c,
    char *err, size_t errlen)
{
	int	t = f->type, text, bin;

	c->f = f;
	if (f->dictionary)
		return col_fail(f, err, errlen, "dictionary-encoded column "
		    "unsupported");
	if (plan_type(f, rt, c, err, errlen) == -1)
		return -1;
	text = t == ARROW_UTF8 || t == ARROW_LARGE_UTF8;
	bin = t == ARROW_BINARY || t == ARROW_LARGE_BINARY;
	c->cf = -1;
	switch (c->sf) {
	case SFT_FIXED:
		if (t == ARROW_INT && f->bits >= 8 && f->bits <= 64 &&
		    (f->bits & (f->bits - 1)) == 0)
			c->cf = CELL_INT;
		else if (t == ARROW_DECIMAL && f->bits == 128) {
			if (c->scale >= 0 && c->scale != f->scale)
				return col_fail(f, err, errlen, "Decimal scale "
				    "%d disagrees with the column's scale %d",
				    f->scale, c->scale);
			if (f->scale < 0 || f->scale > 38)
				return col_fail(f, err, errlen, "Decimal scale "
				    "%d out of range", f->scale);
			c->scale = f->scale;
			c->cf = CELL_DEC128;
		}
		break;
	case SFT_REAL:
		if (t == ARROW_FLOAT && f->bits == 64)
			c->cf = CELL_DOUBLE;
		break;
	case SFT_TEXT:
	case SFT_VARIANT:
	case SFT_OBJECT:
	case SFT_ARRAY:
		if (text)
			c->cf = CELL_TEXT;
		break;
	case SFT_BINARY:
		if (bin)
			c->cf = CELL_HEX;
		break;
	case SFT_BOOLEAN:
		if (t == ARROW_BOOL)
			c->cf = CELL_BOOL;
		break;
	case SFT_DATE:
		/* date32 is an int32 of days, as Snowflake's int32 is. */
		if ((t == ARROW_DATE && f->unit == 0) || is_int(f, 32))
			c->cf = CELL_INT;
		c->scale = 0;
		break;
	case SFT_TIME:
		if (is_int(f, 32) || is_int(f, 64))
			c->cf = CELL_INT;
		break;
	default:
		if (is_int(f, 64) && c->sf != SFT_TS_TZ)
			c->cf = CELL_INT;
		else if (t == ARROW_STRUCT) {
			if (plan_struct(f, c, err, errlen) == -1)
				return -1;
			c->cf = CELL_TS;
		}
		break;
	}
	if (c->cf < 0)
		return col_fail(f, err, errlen, "%s as Arrow %s unsupported",
		    sf_name(c->sf), arrow_type_name(t));
	if (c->scale < 0)
		c->scale = c->sf == SFT_FIXED ? 0 : 9;
	c->bits = t == ARROW_DATE ? 32 : f->bits;
	c->is_signed = t == ARROW_DATE || f->is_signed;
	return 0;
}

/* Buffers a field has in a batch (only the types a plan admits). */
static size_t
nbuffers(const struct arrow_field *f)
{
	switch (f->type) {
	case ARROW_STRUCT:
		return 1;
	case ARROW_UTF8:
	case ARROW_BINARY:
	case ARROW_LARGE_UTF8:
	case ARROW_LARGE_BINARY:
		return 3;
	default:
		return 2;
	}
}

/* Bits per value of a fixed-width field. */
static uint64_t
width_bits(const struct arrow_field *f)
{
	switch (f->type) {
	case ARROW_BOOL:
		return 1;
	case ARROW_DATE:
		return 32;
	case ARROW_DECIMAL:
		return 128;
	default:
		return (uint64_t)f->bits;
	}
}

static int
batch_fail(const struct batchctx *bc, const struct arrow_field *f,
    char *err, size_t errlen, const char *what)
{
	return errorf(err, errlen, "arrow: record batch at byte %zu, column "
	    "%.64s: %s", bc->m->meta_at, f->name, what);
}

/* Checks a Utf8/Binary field's offsets: from 0 up, within its bytes. */
static int
check_offsets(const struct arrow_view *v, uint64_t nchars)
{
	uint64_t	prev = 0;

	for (int64_t i = 0; i <= v->length; i++) {
		int64_t	o = v->wide ?
		    arrow_signed(arrow_le64(v->data + 8 * i), 64) :
		    arrow_signed(arrow_le32(v->data + 4 * i), 32);

		if (o < 0 || (uint64_t)o < prev || (uint64_t)o > nchars)
			return -1;
		prev = (uint64_t)o;
	}
	return 0;
}

/* Binds field f's node and buffers, checking them against the body. */
static int
bind(struct batchctx *bc, const struct arrow_field *f, int64_t want,
    struct arrow_view *v, char *err, size_t errlen)
{
	const uint8_t	*p[3];
	uint64_t	 len[3], rows = (uint64_t)want, need;
	int64_t		 nulls, off, blen;
	size_t		 nb = nbuffers(f);

	memset(v, 0, sizeof(*v));
	if (bc->node >= bc->b->nnodes || bc->b->nbufs - bc->buf < nb)
		return batch_fail(bc, f, err, errlen, "fewer field nodes or "
		    "buffers than the schema needs");
	arrow_node(bc->b, bc->node++, &v->length, &nulls);
	if (v->length != want || nulls < 0 || nulls > v->length)
		return batch_fail(bc, f, err, errlen, "bad field node");
	for (size_t k = 0; k < nb; k++) {
		arrow_buffer(bc->b, bc->buf + k, &off, &blen);
		if (off < 0 || blen < 0 || (uint64_t)off > bc->m->body_len ||
		    (uint64_t)blen > bc->m->body_len - (uint64_t)off)
			return batch_fail(bc, f, err, errlen,
			    "buffer outside the body");
		p[k] = bc->m->body + off;
		len[k] = (uint64_t)blen;
		if (k == 1)
			v->data_at = bc->m->body_at + (size_t)off;
		else if (k == 2)
			v->chars_at = bc->m->body_at + (size_t)off;
	}
	bc->buf += nb;
	if (len[0] > 0) {
		if (len[0] < (rows + 7) / 8)
			return batch_fail(bc, f, err, errlen,
			    "validity bitmap too short");
		v->valid = p[0];
	} else if (nulls > 0)
		return batch_fail(bc, f, err, errlen, "nulls without a bitmap");
	if (nb == 1)
		return 0;
	v->data = p[1];
	if (nb == 3) {
		v->wide = f->type == ARROW_LARGE_UTF8 ||
		    f->type == ARROW_LARGE_BINARY;
		v->chars = p[2];
		/* rows + 1 offsets; none at all for no rows. */
		if (rows > 0 && (len[1] / (v->wide ? 8 : 4) <= rows ||
		    check_offsets(v, len[2]) == -1))
			return batch_fail(bc, f, err, errlen, "bad offsets");
		return 0;
	}
	need = width_bits(f);
	if (rows > UINT64_MAX / need || (rows * need + 7) / 8 > len[1])
		return batch_fail(bc, f, err, errlen,
		    "values buffer too short");
	return 0;
}

/* Binds a column and, for a timestamp struct, its children. */
static int
bind_column(struct batchctx *bc, const struct arrow_col *c, int64_t rows,
    struct arrow_colview *cv, char *err, size_t errlen)
{
	if (bind(bc, c->f, rows, &cv->v, err, errlen) == -1)
		return -1;
	for (size_t i = 0; c->cf == CELL_TS && i < c->f->nchildren; i++)
		if (bind(bc, &c->f->children[i], rows, &cv->kid[i], err,
		    errlen) == -1)
			return -1;
	return 0;
}

/* The state of one conversion. */
struct reader {
	const cJSON		*rowtype;
	struct arrow_schema	 schema;
	int			 have_schema;
	struct arrow_col		*cols;
	struct arrow_colview		*views;
	cJSON			*out;		/* rows so far */
	size_t			 rows;
	struct buf		 scratch;
};

static int
on_schema(struct reader *rd, const struct arrow_msg *m, char *err,
    size_t errlen)
{
	const cJSON	*rt = NULL;
	size_t		 n;

	if (rd->have_schema)
		return errorf(err, errlen, "arrow: second schema at byte %zu",
		    m->meta_at);
	if (arrow_schema_read(m, &rd->schema, err, errlen) == -1)
		return -1;
	rd->have_schema = 1;
	n = rd->schema.nfields;
	if (rd->rowtype != NULL &&
	    (size_t)cJSON_GetArraySize(rd->rowtype) != n)
		return errorf(err, errlen, "arrow: schema at byte %zu has %zu "
		    "columns, the rowtype %d", m->meta_at, n,
		    cJSON_GetArraySize(rd->rowtype));
	rd->cols = calloc(n ? n : 1, sizeof(*rd->cols));
	rd->views = calloc(n ? n : 1, sizeof(*rd->views));
	if (rd->cols == NULL || rd->views == NULL)
		return errorf(err, errlen, "arrow: out of memory");
	if (rd->rowtype != NULL)
		rt = rd->rowtype->child;
	for (size_t i = 0; i < n; i++) {
		if (plan_column(&rd->schema.fields[i], rt, &rd->cols[i], err,
		    errlen) == -1)
			return -1;
		if (rt != NULL)
			rt = rt->next;
	}
	return 0;
}

static int
emit(struct reader *rd, int64_t nrows, char *err, size_t errlen)
{
	size_t	ncols = rd->schema.nfields;

	for (size_t r = 0; r < (size_t)nrows; r++, rd->rows++) {
		cJSON	*row = cJSON_CreateArray();

		if (row == NULL || !cJSON_AddItemToArray(rd->out, row)) {
			cJSON_Delete(row);
			return errorf(err, errlen, "arrow: out of memory");
		}
		for (size_t i = 0; i < ncols; i++) {
			cJSON	*x = arrow_cell(&rd->cols[i], &rd->views[i], r,
			    rd->rows, &rd->scratch, err, errlen);

			if (x == NULL || !cJSON_AddItemToArray(row, x)) {
				if (x != NULL)
					errorf(err, errlen,
					    "arrow: out of memory");
				cJSON_Delete(x);
				return -1;
			}
		}
	}
	return 0;
}

static int
on_batch(struct reader *rd, const struct arrow_msg *m, char *err,
    size_t errlen)
{
	struct arrow_batch	b;
	struct batchctx		bc = { m, &b, 0, 0 };

	if (!rd->have_schema)
		return errorf(err, errlen, "arrow: record batch before the "
		    "schema at byte %zu", m->meta_at);
	if (arrow_batch_read(m, &b, err, errlen) == -1)
		return -1;
	if (rd->schema.nfields == 0 && b.length > 0)
		return errorf(err, errlen, "arrow: rows without columns at "
		    "byte %zu", m->meta_at);
	if ((uint64_t)b.length > (uint64_t)LONG_MAX - rd->rows)
		return errorf(err, errlen, "arrow: too many rows at byte %zu",
		    m->meta_at);
	/* A value takes a bit of the body at least (a bool), unless the
	 * buffers overlap: a few bytes must not make millions of cells. */
	if (rd->schema.nfields > 0 && (uint64_t)b.length >
	    (uint64_t)m->body_len * 8 / rd->schema.nfields)
		return errorf(err, errlen, "arrow: record batch at byte %zu "
		    "has more values than its body can hold", m->meta_at);
	for (size_t i = 0; i < rd->schema.nfields; i++)
		if (bind_column(&bc, &rd->cols[i], b.length, &rd->views[i],
		    err, errlen) == -1)
			return -1;
	if (bc.node != b.nnodes || bc.buf != b.nbufs)
		return errorf(err, errlen, "arrow: record batch at byte %zu "
		    "has more field nodes or buffers than the schema needs",
		    m->meta_at);
	return emit(rd, b.length, err, errlen);
}

static int
read_stream(struct reader *rd, const uint8_t *s, size_t len, char *err,
    size_t errlen)
{
	struct arrow_msg	m;
	size_t			pos = 0;
	int			rc;

	while ((rc = arrow_next(s, len, &pos, &m, err, errlen)) == 1) {
		if (m.kind == ARROW_MSG_SCHEMA)
			rc = on_schema(rd, &m, err, errlen);
		else if (m.kind == ARROW_MSG_BATCH)
			rc = on_batch(rd, &m, err, errlen);
		else if (m.kind == ARROW_MSG_DICTIONARY)
			rc = errorf(err, errlen, "arrow: dictionary batch "
			    "unsupported at byte %zu", m.meta_at);
		else
			rc = errorf(err, errlen, "arrow: unsupported message "
			    "type %d at byte %zu", m.kind, m.meta_at);
		if (rc == -1)
			return -1;
	}
	return rc;
}

long
arrow_to_rowset(const void *ipc, size_t len, const cJSON *rowtype,
    cJSON *rows, char *err, size_t errlen)
{
	struct reader	 rd = { .rowtype = rowtype };
	cJSON		*x;
	int		 rc;

	if (!cJSON_IsArray(rows) || (rowtype != NULL &&
	    !cJSON_IsArray(rowtype)) || (ipc == NULL && len > 0))
		return errorf(err, errlen, "arrow: bad arguments");
	/* Rows go to a list of their own until the whole stream has been
	 * read, so a bad stream appends nothing. */
	if ((rd.out = cJSON_CreateArray()) == NULL)
		return errorf(err, errlen, "arrow: out of memory");
	buf_init(&rd.scratch, SIZE_MAX / 4);
	rc = read_stream(&rd, ipc, len, err, errlen);
	while (rc == 0 && (x = rd.out->child) != NULL) {
		cJSON_DetachItemViaPointer(rd.out, x);
		cJSON_AddItemToArray(rows, x);
	}
	cJSON_Delete(rd.out);
	buf_cleanup(&rd.scratch);
	free(rd.cols);
	free(rd.views);
	arrow_schema_free(&rd.schema);
	return rc == 0 ? (long)rd.rows : -1;
}
