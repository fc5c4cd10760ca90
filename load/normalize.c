/*
 * normalize.c: dlt's relational normalizer (load/normalize.h).
 *
 * One item at a time: parse (jsonv, an arena reset per item), flatten
 * the root row the way dlt's _flatten walks it (a stack: a row's own
 * scalar keys first, then its nested objects, last seen first), write
 * the row, then its lists depth first.
 *
 * Linear in the data, whatever its width: what a key resolves to (its
 * normalized name, its column, the object or child table below it) is
 * kept in a slot per object "site" (a table's rows, or an object nested
 * in them) and key. Items of the same shape find each key's slot at
 * the position it had in the previous item, with one memcmp; other
 * keys by a hash. Names are interned, so a row's fields are told apart
 * by pointer, and the arrays a row is built in are the normalizer's,
 * reused for every row.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "load/coerce.h"
#include "load/digest.h"
#include "load/jsonv.h"
#include "load/naming.h"
#include "load/normalize.h"

#define OBUF_SIZE	(1u << 20)	/* a job file's write */
#define OBUF_QUEUED	8	/* buffers waiting to be written, at most */

/* In a line, where a _dlt_id digest is still to be written. */
static const char placeholder[] = "______________";

/* An interned name: a column, a list's path or a table. */
struct name {
	char		*s;
	size_t		 len;
	char		*key;		/* "s": as a job line spells it */
	size_t		 keylen;
	struct name	*variant[LD_NTYPES];	/* s__v_<type> */
	/* Set while the name is in the row being built: which row, and
	   where in its fields (f) or lists (l). */
	unsigned	 fstamp, lstamp;
	size_t		 fpos, lpos;
};

/* A column of a table, found once: NULL until it exists. */
struct colref {
	struct ld_column	*c;
	unsigned		 gen;	/* n->gen when found missing */
};

struct tinfo;

/* One key of objects met at a site. */
struct slot {
	struct site	*site;
	char		*key;
	size_t		 keylen;
	uint64_t	 hash;
	struct name	*name;		/* nested name: column or list path */
	struct colref	 col;		/* in the site's table */
	struct site	*obj;		/* the object below, flattened */
	struct tinfo	*child;		/* the list's table */
	struct slot	*next;		/* hash chain */
};

/* Objects flattened into one table's rows under one path. */
struct site {
	struct tinfo	*table;
	struct name	*path;		/* NULL: the row itself */
	struct slot	**at;		/* by position in the last object */
	size_t		  nat;
};

/* The system columns a row may get, per table. */
enum sys {
	S_LOAD_ID, S_ID, S_PARENT_ID, S_LIST_IDX, S_ROOT_ID, S_VALUE, S_LIST,
	S_N
};

static const char *const sys_names[S_N] = {
	"_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_list_idx",
	"_dlt_root_id", "value", "list"
};

/* A digest to write into a buffer: of parent_id "_" table "_" idx. */
struct hole {
	size_t		 at;		/* of its LD_ID_CHARS in the data */
	size_t		 parent;	/* the parent id, in ids */
	size_t		 plen;
	long long	 idx;
};

struct tinfo;

/* Job lines on their way to a file. */
struct obuf {
	struct tinfo	*ti;
	struct buf	 data;
	struct hole	*holes;
	size_t		 nholes, capholes;
	struct buf	 ids;		/* parent ids of the holes */
	struct obuf	*next;		/* queued, or free */
};

/* A table the normalizer writes, with its job file. */
struct tinfo {
	struct name	*name;
	struct ld_table	*t;		/* NULL until made */
	struct site	 top;
	struct colref	 sys[S_N];
	int		 fd;		/* -1 until the first row */
	char		*path;
	struct obuf	*out;		/* being filled */
	long long	 rows;
	struct tinfo	*next;
};

/* The thread that digests and writes the buffers, in order. */
struct writer {
	pthread_t	 th;
	int		 running;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct obuf	*head, *tail;	/* queued */
	size_t		 queued;
	struct obuf	*free;
	int		 done;
	int		 error;		/* an errno */
	char		*error_path;
	struct ld_digest *dig;
};

/* A value of the row being built. */
struct field {
	struct name	*name;
	struct colref	*col;		/* NULL: looked up */
	const struct jv	*v;
};

/* A list of the row being built, below it. */
struct list {
	struct slot	*slot;
	const struct jv	*v;
};

struct frame {
	const struct jv	*obj;
	int		 lvl;
	struct site	*site;
};

/* A hash set of pointers to records with their own key. */
struct table {
	void		**slot;
	size_t		  cap, n;
};

struct ld_normalizer {
	struct ld_schema	*schema;
	char			*load_id;
	char			*dir;
	size_t			 max_ident;
	struct jv_arena		 arena;
	struct buf		 line;
	struct table		 names;		/* struct name by string */
	struct table		 slots;		/* struct slot by site, key */
	struct site		**sites;	/* to free */
	size_t			  nsites;
	struct tinfo		*tables;
	struct tinfo		*root;		/* of the last item */
	struct name		*sys[S_N];
	unsigned		 gen;		/* columns added */
	unsigned		 row;		/* rows begun */
	struct field		*fields;
	size_t			  nfields, capfields;
	struct list		*lists;
	size_t			  nlists, caplists;
	struct frame		*frames;
	size_t			  capframes;
	unsigned char		 rnd[4096];
	size_t			 rndpos;
	struct writer		 w;
	/* The row being written: its digest is the writer's. */
	struct jv		 hole_v;
	int			 hole_on;
	const char		*hole_parent;
	long long		 hole_idx;
	struct ld_digest	*dig;
	char			*err;
	size_t			 errlen;
};

/* ---------------------------------------------------- hash tables */

static void *
table_grow(struct table *tb, uint64_t (*hash)(const void *))
{
	struct table	big = { NULL, tb->cap ? tb->cap * 2 : 256, tb->n };

	big.slot = xcalloc(big.cap, sizeof(void *));
	for (size_t i = 0; i < tb->cap; i++)
		if (tb->slot[i] != NULL) {
			size_t	j = (size_t)hash(tb->slot[i]) & (big.cap - 1);

			while (big.slot[j] != NULL)
				j = (j + 1) & (big.cap - 1);
			big.slot[j] = tb->slot[i];
		}
	free(tb->slot);
	*tb = big;
	return NULL;
}

static uint64_t
name_hash(const void *p)
{
	const struct name *nm = p;

	return hash_fnv1a(nm->s, nm->len);
}

/* The interned name s (len bytes, no NULs); made on first use. */
static struct name *
intern(struct ld_normalizer *n, const char *s, size_t len)
{
	struct name	*nm;
	size_t		 i;

	if ((n->names.n + 1) * 2 > n->names.cap)
		table_grow(&n->names, name_hash);
	for (i = (size_t)hash_fnv1a(s, len) & (n->names.cap - 1);
	    (nm = n->names.slot[i]) != NULL; i = (i + 1) & (n->names.cap - 1))
		if (nm->len == len && memcmp(nm->s, s, len) == 0)
			return nm;
	nm = xcalloc(1, sizeof(*nm));
	nm->s = xmalloc(len + 1);
	memcpy(nm->s, s, len);
	nm->s[len] = '\0';
	nm->len = len;
	{
		struct buf	k;

		buf_init(&k, (size_t)-1);
		jv_write_string(&k, nm->s, len);
		buf_append(&k, ":", 1);
		nm->keylen = k.len;
		nm->key = buf_steal(&k);
	}
	n->names.slot[i] = nm;
	n->names.n++;
	return nm;
}

/* Interns a malloc'd name, freeing it. */
static struct name *
intern_owned(struct ld_normalizer *n, char *s)
{
	struct name	*nm = intern(n, s, strlen(s));

	free(s);
	return nm;
}

static uint64_t
slot_key_hash(const struct site *site, const char *key, size_t len)
{
	return hash_fnv1a(key, len) ^ ((uint64_t)(uintptr_t)site *
	    0x9e3779b97f4a7c15ULL);
}

static uint64_t
slot_hash(const void *p)
{
	return ((const struct slot *)p)->hash;
}

/* ---------------------------------------------------------- names */

/* The nested name of key k under path (dlt: shorten_fragments(*path,
   normalize_path(k)), "_empty" for a blank key). */
static struct name *
nested_name(struct ld_normalizer *n, const struct name *path, const char *k,
    size_t klen)
{
	char	*norm, *full;

	/* Keys with NULs are cut there: names never hold NULs. */
	norm = ld_normalize_path(k, strnlen(k, klen), n->max_ident);
	if (norm == NULL || norm[0] == '\0') {
		free(norm);
		norm = xstrdup("_empty");
	}
	if (path != NULL) {
		full = ld_make_path(path->s, norm, n->max_ident);
		free(norm);
		norm = full;
	}
	return intern_owned(n, norm);
}

/* The variant column of name for a value of type ty. */
static struct name *
variant_name(struct ld_normalizer *n, struct name *name, enum ld_type ty)
{
	char	v[32];

	if (name->variant[ty] == NULL) {
		snprintf(v, sizeof(v), "v_%s", ld_type_name(ty));
		name->variant[ty] = intern_owned(n, ld_make_path(name->s, v,
		    n->max_ident));
	}
	return name->variant[ty];
}

/* --------------------------------------------------------- tables */

static struct tinfo *
tinfo_get(struct ld_normalizer *n, struct name *name)
{
	struct tinfo	*ti;

	for (ti = n->tables; ti != NULL; ti = ti->next)
		if (ti->name == name)
			return ti;
	ti = xcalloc(1, sizeof(*ti));
	ti->name = name;
	ti->t = ld_schema_table(n->schema, name->s);
	ti->fd = -1;
	ti->top.table = ti;
	ti->next = n->tables;
	n->tables = ti;
	return ti;
}

/* The column a colref stands for in the table, if there is one. */
static struct ld_column *
column_of(struct ld_normalizer *n, struct tinfo *ti, struct colref *r,
    const struct name *name)
{
	if (r == NULL)
		return ti->t != NULL ? ld_table_column(ti->t, name->s) : NULL;
	if (r->c == NULL && r->gen != n->gen + 1) {
		r->c = ti->t != NULL ? ld_table_column(ti->t, name->s) : NULL;
		r->gen = n->gen + 1;
	}
	return r->c;
}

/* ---------------------------------------------------------- slots */

static struct site *
site_new(struct ld_normalizer *n, struct tinfo *ti, struct name *path)
{
	struct site	*s = xcalloc(1, sizeof(*s));

	s->table = ti;
	s->path = path;
	n->sites = xrealloc(n->sites, (n->nsites + 1) * sizeof(*n->sites));
	n->sites[n->nsites++] = s;
	return s;
}

/* The slot of key at position i of an object at site. */
static struct slot *
slot_at(struct ld_normalizer *n, struct site *site, size_t i,
    const char *key, size_t keylen)
{
	struct slot	*sl;
	uint64_t	 h;
	size_t		 j;

	if (i < site->nat && (sl = site->at[i]) != NULL &&
	    sl->keylen == keylen && memcmp(sl->key, key, keylen) == 0)
		return sl;
	h = slot_key_hash(site, key, keylen);
	if ((n->slots.n + 1) * 2 > n->slots.cap)
		table_grow(&n->slots, slot_hash);
	for (j = (size_t)h & (n->slots.cap - 1);
	    (sl = n->slots.slot[j]) != NULL; j = (j + 1) & (n->slots.cap - 1))
		if (sl->hash == h && sl->site == site &&
		    sl->keylen == keylen && memcmp(sl->key, key, keylen) == 0)
			break;
	if (sl == NULL) {
		sl = xcalloc(1, sizeof(*sl));
		sl->site = site;
		sl->key = xmalloc(keylen + 1);
		memcpy(sl->key, key, keylen);
		sl->key[keylen] = '\0';
		sl->keylen = keylen;
		sl->hash = h;
		sl->name = nested_name(n, site->path, key, keylen);
		n->slots.slot[j] = sl;
		n->slots.n++;
	}
	if (i >= site->nat) {
		size_t	cap = site->nat ? site->nat : 8;

		while (cap <= i)
			cap *= 2;
		site->at = xrealloc(site->at, cap * sizeof(*site->at));
		memset(site->at + site->nat, 0,
		    (cap - site->nat) * sizeof(*site->at));
		site->nat = cap;
	}
	site->at[i] = sl;
	return sl;
}

/* ------------------------------------------------- the row's parts */

static void
field_set(struct ld_normalizer *n, struct name *name, struct colref *col,
    const struct jv *v)
{
	/* A dict: a repeated name keeps its place, takes the value. */
	if (name->fstamp == n->row && name->fpos < n->nfields &&
	    n->fields[name->fpos].name == name) {
		n->fields[name->fpos].v = v;
		n->fields[name->fpos].col = col;
		return;
	}
	if (n->nfields == n->capfields) {
		n->capfields = n->capfields ? n->capfields * 2 : 64;
		n->fields = xrealloc(n->fields, n->capfields *
		    sizeof(*n->fields));
	}
	name->fstamp = n->row;
	name->fpos = n->nfields;
	n->fields[n->nfields++] = (struct field){ name, col, v };
}

static void
list_add(struct ld_normalizer *n, struct slot *sl, const struct jv *v)
{
	if (sl->name->lstamp == n->row && sl->name->lpos < n->nlists &&
	    n->lists[sl->name->lpos].slot->name == sl->name) {
		n->lists[sl->name->lpos] = (struct list){ sl, v };
		return;
	}
	if (n->nlists == n->caplists) {
		n->caplists = n->caplists ? n->caplists * 2 : 64;
		n->lists = xrealloc(n->lists, n->caplists * sizeof(*n->lists));
	}
	sl->name->lstamp = n->row;
	sl->name->lpos = n->nlists;
	n->lists[n->nlists++] = (struct list){ sl, v };
}

/* dlt's wrap_in_dict: {key: v}, in the arena. */
static const struct jv *
wrap_in_dict(struct ld_normalizer *n, const struct jv *v, const char *key)
{
	struct jv	*wrap = jv_alloc(&n->arena, sizeof(*wrap));
	struct jv	*m = jv_alloc(&n->arena, sizeof(*m));

	*m = *v;
	m->key = key;
	m->keylen = strlen(key);
	m->next = NULL;
	memset(wrap, 0, sizeof(*wrap));
	wrap->kind = JV_OBJECT;
	wrap->first = wrap->last = m;
	wrap->n = 1;
	return wrap;
}

/* A string value in the arena (s is copied). */
static const struct jv *
jv_text(struct ld_normalizer *n, const char *s, size_t len)
{
	struct jv	*v = jv_alloc(&n->arena, sizeof(*v));
	char		*copy = jv_alloc(&n->arena, len + 1);

	memcpy(copy, s, len);
	copy[len] = '\0';
	memset(v, 0, sizeof(*v));
	v->kind = JV_STRING;
	v->s = copy;
	v->len = len;
	return v;
}

/* A list index as a value. */
static const struct jv *
jv_int(struct ld_normalizer *n, long long i)
{
	struct jv	*v = jv_alloc(&n->arena, sizeof(*v));
	char		*t = jv_alloc(&n->arena, 24);

	memset(v, 0, sizeof(*v));
	v->kind = JV_INT;
	v->i = i;
	v->len = digits_of(t, i);
	v->s = t;
	return v;
}

/* ------------------------------------------------------------ ids */

static void
random_id(struct ld_normalizer *n, char out[24])
{
	unsigned char	b64[24];

	if (n->rndpos + LD_ID_BYTES > sizeof(n->rnd)) {
		size_t	got = 0;

		while (got < sizeof(n->rnd)) {
			ssize_t	r = getrandom(n->rnd + got,
			    sizeof(n->rnd) - got, 0);

			if (r > 0)
				got += (size_t)r;
		}
		n->rndpos = 0;
	}
	EVP_EncodeBlock(b64, n->rnd + n->rndpos, LD_ID_BYTES);
	n->rndpos += LD_ID_BYTES;
	/* 16 characters with the "==" padding, which dlt strips */
	memcpy(out, b64, 14);
	out[14] = '\0';
}

/* One child's id, on the normalizer's thread. */
static void
nested_id(struct ld_digest *d, const char *parent, const char *table,
    long long idx, char *out)
{
	struct ld_child	c = { parent, strlen(parent), idx, out };

	ld_child_ids(d, table, &c, 1);
}

/* ------------------------------------------------- the writer */

/* The writer thread: fills in a buffer's digests, writes it. */
static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	struct obuf	*b;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->head == NULL && !w->done)
			pthread_cond_wait(&w->cv, &w->mu);
		if ((b = w->head) == NULL) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		pthread_mutex_unlock(&w->mu);
		for (size_t i = 0; i < b->nholes; ) {
			struct ld_child	c[LD_ID_BATCH];
			size_t		k;

			for (k = 0; k < LD_ID_BATCH && i < b->nholes; k++) {
				struct hole	*h = &b->holes[i++];

				c[k] = (struct ld_child){ b->ids.data +
				    h->parent, h->plen, h->idx,
				    b->data.data + h->at };
			}
			ld_child_ids(w->dig, b->ti->name->s, c, k);
		}
		for (size_t off = 0; off < b->data.len && w->error == 0; ) {
			ssize_t	k = write(b->ti->fd, b->data.data + off,
			    b->data.len - off);

			if (k < 0 && errno != EINTR) {
				w->error = errno;
				w->error_path = b->ti->path;
			} else if (k > 0)
				off += (size_t)k;
		}
		pthread_mutex_lock(&w->mu);
		w->head = b->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued--;
		b->data.len = 0;
		b->ids.len = 0;
		b->nholes = 0;
		b->next = w->free;
		w->free = b;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

/* A buffer for a table's lines: a written one, or a new one. */
static struct obuf *
obuf_get(struct ld_normalizer *n, struct tinfo *ti)
{
	struct writer	*w = &n->w;
	struct obuf	*b;

	pthread_mutex_lock(&w->mu);
	if ((b = w->free) != NULL)
		w->free = b->next;
	pthread_mutex_unlock(&w->mu);
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		buf_init(&b->data, (size_t)-1);
		buf_init(&b->ids, (size_t)-1);
	}
	b->ti = ti;
	b->next = NULL;
	return b;
}

/* Queues a table's buffer for writing; waits while many are. */
static void
obuf_submit(struct ld_normalizer *n, struct tinfo *ti)
{
	struct writer	*w = &n->w;
	struct obuf	*b = ti->out;

	ti->out = NULL;
	if (b == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->queued >= OBUF_QUEUED)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->tail != NULL)
		w->tail->next = b;
	else
		w->head = b;
	w->tail = b;
	w->queued++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Waits for the writer to write everything queued and stop. */
static void
writer_stop(struct writer *w)
{
	if (!w->running)
		return;
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	w->running = 0;
}

static void
obuf_free(struct obuf *b)
{
	buf_cleanup(&b->data);
	buf_cleanup(&b->ids);
	free(b->holes);
	free(b);
}

/* ------------------------------------------------- writing a row */

static int
job_open(struct ld_normalizer *n, struct tinfo *ti)
{
	unsigned char	 id[5];

	while (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		;
	ti->path = xasprintf("%s/%s.%02x%02x%02x%02x%02x.0.jsonl", n->dir,
	    ti->name->s, id[0], id[1], id[2], id[3], id[4]);
	if ((ti->fd = open(ti->path, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) < 0)
		return errorf(n->err, n->errlen, "cannot create %s: %m",
		    ti->path);
	if (!n->w.running) {
		if (pthread_create(&n->w.th, NULL, writer_main, &n->w) != 0)
			return errorf(n->err, n->errlen, "cannot start the "
			    "job writer: %m");
		n->w.running = 1;
	}
	return 0;
}

static int
is_not_null_name(const char *c)
{
	return strcmp(c, "_dlt_id") == 0 || strcmp(c, "_dlt_root_id") == 0 ||
	    strcmp(c, "_dlt_parent_id") == 0 ||
	    strcmp(c, "_dlt_list_idx") == 0 || strcmp(c, "_dlt_load_id") == 0;
}

/* dlt's default hints, by column name. */
static int
default_hints(const char *c)
{
	int	h = is_not_null_name(c) ? 0 : LD_NULLABLE;

	if (strcmp(c, "_dlt_id") == 0)
		h |= LD_UNIQUE | LD_ROW_KEY;
	else if (strcmp(c, "_dlt_parent_id") == 0)
		h |= LD_PARENT_KEY;
	else if (strcmp(c, "_dlt_root_id") == 0)
		h |= LD_ROOT_KEY;
	return h;
}

/*
 * A hinted column (a primary key without a type) gets its type from
 * data and moves to the end, as dlt's merge_columns pops an incomplete
 * column and adds it again once complete.
 */
static void
complete_column(struct ld_table *t, struct ld_column *col,
    enum ld_type type)
{
	size_t	i = 0;

	col->type = type;
	col->hints &= ~(LD_INCOMPLETE | LD_UNSAID);
	while (i < t->ncols && t->cols[i] != col)
		i++;
	if (i >= t->ncols)
		return;
	memmove(&t->cols[i], &t->cols[i + 1],
	    (t->ncols - i - 1) * sizeof(*t->cols));
	t->cols[t->ncols - 1] = col;
}

/* The key of a value in the row's line: "{" or "," and "name":. */
static void
emit_key(struct ld_normalizer *n, size_t start, const struct name *name)
{
	buf_append(&n->line, n->line.len == start ? "{" : ",", 1);
	buf_append(&n->line, name->key, name->keylen);
}

/* _coerce_non_null_value: the value into name or its variant. */
static int
coerce_value(struct ld_normalizer *n, struct tinfo *ti, size_t start,
    struct name *name, struct colref *ref, const struct jv *v,
    int is_variant)
{
	struct ld_table	 *t = ti->t;
	struct ld_column *col = column_of(n, ti, ref, name);
	size_t		  mark = n->line.len;
	enum ld_type	  type;

	emit_key(n, start, name);
	if (col != NULL && !(col->hints & LD_INCOMPLETE)) {
		if (ld_coerce(&n->line, col->type, v) == 0)
			return 0;
		buf_truncate(&n->line, mark);
		if (is_variant)
			return errorf(n->err, n->errlen, "In schema `%s`: "
			    "Cannot coerce type in table `%s` column `%s` "
			    "existing type `%s` coerced type `%s`",
			    n->schema->name, t->name, name->s,
			    ld_type_name(col->type),
			    ld_type_name(ld_py_type(v)));
		return coerce_value(n, ti, start, variant_name(n, name,
		    ld_py_type(v)), NULL, v, 1);
	}
	type = ld_infer_type(v);
	if (ld_coerce(&n->line, type, v) < 0) {
		type = ld_py_type(v);
		if (ld_coerce(&n->line, type, v) < 0)
			return errorf(n->err, n->errlen, "cannot write a "
			    "value of column `%s` of table `%s`", name->s,
			    t->name);
	}
	if (col != NULL)
		complete_column(t, col, type);
	else {
		col = ld_table_add_column(t, name->s, type,
		    default_hints(name->s) | (is_variant ? LD_VARIANT : 0));
		if (is_variant) {
			char	*d = xasprintf("Variant of column %s generated "
			    "by dlt", name->s);

			ld_describe(t, col, d);
			free(d);
		}
	}
	n->gen++;
	return 0;
}

/* What dlt's extract writes as null: JSON null, and a float orjson
   cannot write (1e400 reads as inf). */
static int
is_null(const struct jv *v)
{
	return v->kind == JV_NULL || (v->kind == JV_FLOAT && !isfinite(v->d));
}

/*
 * The placeholder of a row's digest was written as text: its place in
 * the line, or (a _dlt_id column of another type) the digest now.
 */
static int
place_hole(struct ld_normalizer *n, struct tinfo *ti, size_t mark,
    struct field *f, size_t *hole)
{
	const char	*end = n->line.data + n->line.len;

	if (n->line.len >= mark + LD_ID_CHARS + 2 && end[-1] == '"' &&
	    memcmp(end - 1 - LD_ID_CHARS, placeholder, LD_ID_CHARS) == 0 &&
	    end[-2 - LD_ID_CHARS] == '"') {
		*hole = n->line.len - 1 - LD_ID_CHARS;
		return 0;
	}
	{
		char	id[LD_ID_CHARS];

		buf_truncate(&n->line, mark);
		nested_id(n->dig, n->hole_parent, ti->name->s, n->hole_idx,
		    id);
		return coerce_value(n, ti, 0, f->name, f->col, jv_text(n, id,
		    LD_ID_CHARS), 0);
	}
}

/* The row's line into its table's buffer, with its hole if any. */
static int
line_out(struct ld_normalizer *n, struct tinfo *ti, size_t hole)
{
	struct obuf	*b;

	if (ti->fd < 0 && job_open(n, ti) < 0)
		return -1;
	if (ti->out == NULL)
		ti->out = obuf_get(n, ti);
	b = ti->out;
	if (hole != (size_t)-1) {
		size_t	plen = strlen(n->hole_parent);

		if (b->nholes == b->capholes) {
			b->capholes = b->capholes ? b->capholes * 2 : 1024;
			b->holes = xrealloc(b->holes, b->capholes *
			    sizeof(*b->holes));
		}
		b->holes[b->nholes++] = (struct hole){ b->data.len + hole,
		    b->ids.len, plen, n->hole_idx };
		buf_append(&b->ids, n->hole_parent, plen);
	}
	buf_append(&b->data, n->line.data, n->line.len);
	if (b->data.failed || b->ids.failed)
		return errorf(n->err, n->errlen, "out of memory writing %s",
		    ti->path);
	if (b->data.len >= OBUF_SIZE)
		obuf_submit(n, ti);
	return 0;
}

static int
write_row(struct ld_normalizer *n, struct tinfo *ti)
{
	struct ld_table	*t = ti->t;
	size_t		 hole = (size_t)-1;

	n->line.len = 0;
	for (size_t i = 0; i < n->nfields; i++) {
		struct field	*f = &n->fields[i];

		if (is_null(f->v)) {
			struct ld_column *c = column_of(n, ti, f->col,
			    f->name);

			if (c != NULL && !(c->hints & LD_INCOMPLETE) &&
			    !(c->hints & LD_NULLABLE))
				return errorf(n->err, n->errlen, "In schema "
				    "`%s`: Cannot coerce NULL in table `%s` "
				    "column `%s` which is not nullable",
				    n->schema->name, t->name, f->name->s);
			continue;
		}
		{
			size_t	mark = n->line.len;

			if (coerce_value(n, ti, 0, f->name, f->col, f->v,
			    0) < 0)
				return -1;
			if (f->v == &n->hole_v && place_hole(n, ti, mark, f,
			    &hole) < 0)
				return -1;
		}
	}
	if (n->line.len == 0)
		return 0;	/* dlt skips empty rows */
	buf_append(&n->line, "}\n", 2);
	if (n->line.failed)
		return errorf(n->err, n->errlen, "a row of table `%s` is too "
		    "large", t->name);
	if (line_out(n, ti, hole) < 0)
		return -1;
	ti->rows++;
	t->seen_data = 1;	/* dlt's clean_x_normalizer */
	return 0;
}

/* ------------------------------------------------------ the walk */

/* is_nested_type: kept whole (json) rather than flattened. */
static int
kept_whole(struct ld_normalizer *n, struct slot *sl, int lvl)
{
	struct ld_column *c;

	if (lvl <= 0)
		return 1;
	c = column_of(n, sl->site->table, &sl->col, sl->name);
	return c != NULL && !(c->hints & LD_INCOMPLETE) && c->type == LD_JSON;
}

/* _flatten: fields of the row and its lists. */
static void
flatten(struct ld_normalizer *n, struct tinfo *ti, const struct jv *row,
    int lvl)
{
	size_t	sp = 0;

	if (n->capframes == 0) {
		n->capframes = 16;
		n->frames = xcalloc(n->capframes, sizeof(*n->frames));
	}
	n->frames[sp++] = (struct frame){ row, lvl, &ti->top };
	while (sp > 0) {
		struct frame	 cur = n->frames[--sp];
		size_t		 i = 0;

		for (const struct jv *m = cur.obj->first; m != NULL;
		    m = m->next, i++) {
			struct slot	*sl = slot_at(n, cur.site, i, m->key,
			    m->keylen);

			if (m->kind == JV_OBJECT &&
			    !kept_whole(n, sl, cur.lvl)) {
				if (sp == n->capframes) {
					n->capframes *= 2;
					n->frames = xrealloc(n->frames,
					    n->capframes * sizeof(*n->frames));
				}
				if (sl->obj == NULL)
					sl->obj = site_new(n, ti, sl->name);
				n->frames[sp++] = (struct frame){ m,
				    cur.lvl - 1, sl->obj };
				continue;
			}
			if (m->kind == JV_ARRAY &&
			    !kept_whole(n, sl, cur.lvl)) {
				list_add(n, sl, m);
				continue;
			}
			field_set(n, sl->name, &sl->col, m);
		}
	}
}

struct ctx {
	struct ld_table	*root;
	const char	*root_id;	/* propagated as _dlt_root_id */
};

static int normalize_row(struct ld_normalizer *, struct ctx *,
    struct tinfo *, const struct jv *row, const char *parent_id,
    long long pos, int lvl);

static void
child_table(struct ld_normalizer *n, struct ctx *c, struct tinfo *ti,
    const char *parent)
{
	if (ti->t == NULL)
		ti->t = ld_schema_add_table(n->schema, ti->name->s, parent,
		    c->root->disposition);
}

static void
sys_field(struct ld_normalizer *n, struct tinfo *ti, enum sys k,
    const struct jv *v)
{
	field_set(n, n->sys[k], &ti->sys[k], v);
}

static int
normalize_list(struct ld_normalizer *n, struct ctx *c, struct tinfo *ti,
    const struct jv *list, const char *parent_id, int lvl)
{
	long long	 idx = 0;

	for (const struct jv *v = list->first; v != NULL; v = v->next, idx++) {
		if (v->kind == JV_OBJECT) {
			if (normalize_row(n, c, ti, v, parent_id, idx,
			    lvl) < 0)
				return -1;
			continue;
		}
		if (v->kind == JV_ARRAY) {
			if (normalize_row(n, c, ti, wrap_in_dict(n, v, "list"),
			    parent_id, idx, lvl - 1) < 0)
				return -1;
			continue;
		}
		n->row++;
		n->nfields = 0;
		sys_field(n, ti, S_VALUE, v);
		if (c->root_id != NULL)
			sys_field(n, ti, S_ROOT_ID, jv_text(n, c->root_id,
			    strlen(c->root_id)));
		sys_field(n, ti, S_PARENT_ID, jv_text(n, parent_id,
		    strlen(parent_id)));
		sys_field(n, ti, S_LIST_IDX, jv_int(n, idx));
		/* A leaf: its digest is the writer's. */
		n->hole_parent = parent_id;
		n->hole_idx = idx;
		sys_field(n, ti, S_ID, &n->hole_v);
		if (write_row(n, ti) < 0)
			return -1;
	}
	return 0;
}

/*
 * _normalize_row. ti is the row's table (made by the caller for root
 * rows, here for child rows); parent_id NULL for a root row.
 */
static int
normalize_row(struct ld_normalizer *n, struct ctx *c, struct tinfo *ti,
    const struct jv *row, const char *parent_id, long long pos, int lvl)
{
	struct name	*idn = n->sys[S_ID];
	const struct jv	*given = NULL;
	const char	*row_id;
	size_t		 base = n->nlists;
	char		 id[24];

	n->row++;
	n->nfields = 0;
	flatten(n, ti, row, lvl);
	if (parent_id != NULL && c->root_id != NULL)
		sys_field(n, ti, S_ROOT_ID, jv_text(n, c->root_id,
		    strlen(c->root_id)));
	if (parent_id == NULL)
		sys_field(n, ti, S_LOAD_ID, jv_text(n, n->load_id,
		    strlen(n->load_id)));
	if (idn->fstamp == n->row && idn->fpos < n->nfields &&
	    n->fields[idn->fpos].name == idn)
		given = n->fields[idn->fpos].v;
	if (given != NULL && given->kind == JV_STRING && given->len > 0) {
		row_id = jv_text(n, given->s, strnlen(given->s,
		    given->len))->s;
	} else {
		if (parent_id == NULL)
			random_id(n, id);
		else {
			sys_field(n, ti, S_PARENT_ID, jv_text(n, parent_id,
			    strlen(parent_id)));
			sys_field(n, ti, S_LIST_IDX, jv_int(n, pos));
		}
		if (parent_id != NULL && n->nlists == base) {
			/* A leaf: its digest is the writer's. */
			n->hole_parent = parent_id;
			n->hole_idx = pos;
			sys_field(n, ti, S_ID, &n->hole_v);
			row_id = NULL;
		} else {
			if (parent_id != NULL) {
				nested_id(n->dig, parent_id, ti->name->s, pos,
				    id);
				id[LD_ID_CHARS] = '\0';
			}
			row_id = jv_text(n, id, strlen(id))->s;
			sys_field(n, ti, S_ID, jv_text(n, row_id,
			    strlen(row_id)));
		}
	}
	if (parent_id == NULL && c->root->disposition == LD_MERGE)
		c->root_id = row_id;
	if (ti->t == NULL)
		child_table(n, c, ti, NULL);
	if (write_row(n, ti) < 0)
		return -1;
	for (size_t i = base; i < n->nlists; i++) {
		struct list	 l = n->lists[i];
		struct slot	*sl = l.slot;

		if (sl->child == NULL)
			sl->child = tinfo_get(n, intern_owned(n, ld_make_path(
			    ti->name->s, sl->name->s, n->max_ident)));
		if (sl->child->t == NULL && l.v->n > 0)
			child_table(n, c, sl->child, ti->name->s);
		if (normalize_list(n, c, sl->child, l.v, row_id, lvl - 1) < 0)
			return -1;
	}
	n->nlists = base;
	return 0;
}

/* An item of a root table, its values in (or above) n->arena. */
static int
normalize_item(struct ld_normalizer *n, const char *table,
    const struct jv *item, char *err, size_t errlen)
{
	struct tinfo	*ti = n->root;
	struct ctx	 c = { NULL, NULL };
	int		 lvl;

	n->err = err;
	n->errlen = errlen;
	/* The same root table item after item: no lookup. */
	if (ti == NULL || strcmp(ti->name->s, table) != 0) {
		struct ld_table	*t = ld_schema_table(n->schema, table);

		if (t == NULL)
			return errorf(err, errlen, "no table %s in the schema",
			    table);
		ti = n->root = tinfo_get(n, intern(n, table, strlen(table)));
		ti->t = t;
	}
	c.root = ti->t;
	if (item->kind != JV_OBJECT)
		item = wrap_in_dict(n, item, "value");
	lvl = ti->t->max_nesting >= 0 ? ti->t->max_nesting : 1000;
	n->nlists = 0;
	return normalize_row(n, &c, ti, item, NULL, 0, lvl);
}

/* ------------------------------------------------------------ API */

struct ld_normalizer *
ld_norm_new(struct ld_schema *s, const char *load_id, const char *dir,
    size_t max_ident)
{
	struct ld_normalizer *n = xcalloc(1, sizeof(*n));

	n->schema = s;
	n->load_id = xstrdup(load_id);
	n->dir = xstrdup(dir);
	n->max_ident = max_ident;
	n->rndpos = sizeof(n->rnd);
	n->dig = ld_digest_new();
	n->w.dig = ld_digest_new();
	pthread_mutex_init(&n->w.mu, NULL);
	pthread_cond_init(&n->w.cv, NULL);
	n->hole_v.kind = JV_STRING;
	n->hole_v.s = placeholder;
	n->hole_v.len = LD_ID_CHARS;
	buf_init(&n->line, (size_t)-1);
	for (int k = 0; k < S_N; k++)
		n->sys[k] = intern(n, sys_names[k], strlen(sys_names[k]));
	return n;
}

int
ld_norm_item(struct ld_normalizer *n, const char *table, const char *json,
    size_t len, char *err, size_t errlen)
{
	struct jv	*item;

	jv_arena_reset(&n->arena);
	if ((item = jv_parse(&n->arena, json, len, err, errlen)) == NULL)
		return -1;
	return normalize_item(n, table, item, err, errlen);
}

int
ld_norm_value(struct ld_normalizer *n, const char *table,
    const struct jv *item, char *err, size_t errlen)
{
	jv_arena_reset(&n->arena);
	return normalize_item(n, table, item, err, errlen);
}

int
ld_norm_finish(struct ld_normalizer *n, char *err, size_t errlen)
{
	int	rc = 0;

	for (struct tinfo *ti = n->tables; ti != NULL; ti = ti->next)
		obuf_submit(n, ti);
	writer_stop(&n->w);
	if (n->w.error != 0)
		rc = errorf(err, errlen, "cannot write %s: %s",
		    n->w.error_path, strerror(n->w.error));
	for (struct tinfo *ti = n->tables; ti != NULL; ti = ti->next) {
		if (ti->fd < 0)
			continue;
		if (fsync(ti->fd) != 0 && rc == 0)
			rc = errorf(err, errlen, "cannot write %s: %m",
			    ti->path);
		if (close(ti->fd) != 0 && rc == 0)
			rc = errorf(err, errlen, "cannot write %s: %m",
			    ti->path);
		ti->fd = -1;
	}
	return rc;
}

long long
ld_norm_rows(const struct ld_normalizer *n, const char *table)
{
	for (const struct tinfo *ti = n->tables; ti != NULL; ti = ti->next)
		if (strcmp(ti->name->s, table) == 0)
			return ti->rows;
	return 0;
}

void
ld_norm_free(struct ld_normalizer *n)
{
	struct tinfo	*ti, *next;

	if (n == NULL)
		return;
	writer_stop(&n->w);
	while (n->w.free != NULL) {
		struct obuf	*b = n->w.free;

		n->w.free = b->next;
		obuf_free(b);
	}
	for (ti = n->tables; ti != NULL; ti = next) {
		next = ti->next;
		if (ti->fd >= 0)
			close(ti->fd);
		if (ti->out != NULL)
			obuf_free(ti->out);
		free(ti->path);
		free(ti->top.at);
		free(ti);
	}
	for (size_t i = 0; i < n->nsites; i++) {
		free(n->sites[i]->at);
		free(n->sites[i]);
	}
	free(n->sites);
	for (size_t i = 0; i < n->slots.cap; i++) {
		struct slot	*sl = n->slots.slot[i];

		if (sl != NULL) {
			free(sl->key);
			free(sl);
		}
	}
	free(n->slots.slot);
	for (size_t i = 0; i < n->names.cap; i++) {
		struct name	*nm = n->names.slot[i];

		if (nm != NULL) {
			free(nm->s);
			free(nm->key);
			free(nm);
		}
	}
	free(n->names.slot);
	free(n->fields);
	free(n->lists);
	free(n->frames);
	jv_arena_free(&n->arena);
	buf_cleanup(&n->line);
	ld_digest_free(n->dig);
	ld_digest_free(n->w.dig);
	pthread_mutex_destroy(&n->w.mu);
	pthread_cond_destroy(&n->w.cv);
	free(n->load_id);
	free(n->dir);
	free(n);
}
