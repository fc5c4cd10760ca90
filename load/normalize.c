/*
 * normalize.c: dlt's relational normalizer (load/normalize.h).
 *
 * One item at a time: parse (jsonv, an arena reset per item), flatten
 * the root row the way dlt's _flatten walks it (a stack: a row's own
 * scalar keys first, then its nested objects, last seen first), write
 * the row, then its lists depth first. Names are cached, since the same
 * keys come back in every item.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "load/coerce.h"
#include "load/jsonv.h"
#include "load/naming.h"
#include "load/normalize.h"

#define ID_BYTES	10	/* dlt's DLT_ID_LENGTH_BYTES */

/* A row's column value, or a nested list by its normalized path "a__b". */
struct field {
	const char	*name;
	const struct jv	*v;
};

/* Named values in the order first set: a row's fields, or its lists. */
struct fields {
	struct field	*f;
	size_t		 n, cap;
};

struct writer {
	struct ld_table	*t;
	FILE		*f;
	char		*path;
	long long	 rows;
};

/* A string -> string cache (names). */
struct cache {
	char		**keys, **vals;
	size_t		 cap, n;
};

struct ld_normalizer {
	struct ld_schema	*schema;
	char			*load_id;
	char			*dir;
	size_t			 max_ident;
	struct writer		*w;
	size_t			 nw;
	struct jv_arena		 arena;
	struct buf		 line, val;
	struct cache		 names;
	unsigned char		 rnd[4096];
	size_t			 rndpos;
	EVP_MD_CTX		*md;
	/* Fetched once: OpenSSL 3's implicit fetch is slow. */
	EVP_MD			*shake;
	char			*err;
	size_t			 errlen;
};

/* ---------------------------------------------------------- cache */

static const char *
cache_get(const struct cache *c, const char *key)
{
	size_t	i;

	if (c->cap == 0)
		return NULL;
	for (i = hash_fnv1a(key, strlen(key)) & (c->cap - 1);
	    c->keys[i] != NULL; i = (i + 1) & (c->cap - 1))
		if (strcmp(c->keys[i], key) == 0)
			return c->vals[i];
	return NULL;
}

/* Takes val; returns it. */
static const char *
cache_put(struct cache *c, const char *key, char *val)
{
	size_t	i;

	if (c->n * 2 + 2 > c->cap) {
		struct cache	 big = { 0 };

		big.cap = c->cap ? c->cap * 2 : 256;
		big.keys = xcalloc(big.cap, sizeof(char *));
		big.vals = xcalloc(big.cap, sizeof(char *));
		for (i = 0; i < c->cap; i++)
			if (c->keys[i] != NULL) {
				size_t	j = hash_fnv1a(c->keys[i],
				    strlen(c->keys[i])) & (big.cap - 1);

				while (big.keys[j] != NULL)
					j = (j + 1) & (big.cap - 1);
				big.keys[j] = c->keys[i];
				big.vals[j] = c->vals[i];
			}
		big.n = c->n;
		free(c->keys);
		free(c->vals);
		*c = big;
	}
	for (i = hash_fnv1a(key, strlen(key)) & (c->cap - 1);
	    c->keys[i] != NULL; i = (i + 1) & (c->cap - 1))
		;
	c->keys[i] = xstrdup(key);
	c->vals[i] = val;
	c->n++;
	return val;
}

static void
cache_free(struct cache *c)
{
	for (size_t i = 0; i < c->cap; i++) {
		free(c->keys[i]);
		free(c->vals[i]);
	}
	free(c->keys);
	free(c->vals);
}

/* The nested name of key k under path (dlt: shorten_fragments(*path,
   normalize_path(k)), "_empty" for a blank key); kind 'c' for columns,
   't' for list tables (normalize_tables_path: the same for snake_case). */
static const char *
nested_name(struct ld_normalizer *n, const char *path, const char *k,
    size_t klen, char kind)
{
	char		*key, *norm, *full;
	const char	*hit;
	size_t		 plen = path != NULL ? strlen(path) : 0;

	key = jv_alloc(&n->arena, plen + klen + 3);
	memcpy(key, path != NULL ? path : "", plen);
	key[plen] = kind;
	/* Keys with NULs are cut there: names never hold NULs. */
	memcpy(key + plen + 1, k, klen);
	key[plen + 1 + klen] = '\0';
	if ((hit = cache_get(&n->names, key)) != NULL)
		return hit;
	norm = ld_normalize_path(k, strnlen(k, klen), n->max_ident);
	if (norm == NULL || norm[0] == '\0') {
		free(norm);
		norm = xstrdup("_empty");
	}
	if (plen > 0) {
		full = ld_make_path(path, norm, n->max_ident);
		free(norm);
		norm = full;
	}
	return cache_put(&n->names, key, norm);
}

static const char *
joined_name(struct ld_normalizer *n, const char *a, const char *b)
{
	size_t		 la = strlen(a), lb = strlen(b);
	char		*key = jv_alloc(&n->arena, la + lb + 3);
	const char	*hit;

	memcpy(key, a, la);
	key[la] = '\x01';
	memcpy(key + la + 1, b, lb + 1);
	if ((hit = cache_get(&n->names, key)) != NULL)
		return hit;
	return cache_put(&n->names, key, ld_make_path(a, b, n->max_ident));
}

/* ---------------------------------------------------------- lists */

static void
fields_set(struct ld_normalizer *n, struct fields *fs, const char *name,
    const struct jv *v)
{
	/* A dict: a repeated name keeps its place, takes the value. */
	for (size_t i = 0; i < fs->n; i++)
		if (fs->f[i].name == name || strcmp(fs->f[i].name, name) == 0) {
			fs->f[i].v = v;
			return;
		}
	if (fs->n == fs->cap) {
		struct field	*f;

		fs->cap = fs->cap ? fs->cap * 2 : 16;
		f = jv_alloc(&n->arena, fs->cap * sizeof(*f));
		if (fs->n > 0)
			memcpy(f, fs->f, fs->n * sizeof(*f));
		fs->f = f;
	}
	fs->f[fs->n].name = name;
	fs->f[fs->n++].v = v;
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

static const struct jv *
jv_text(struct ld_normalizer *n, const char *s)
{
	struct jv	*v = jv_alloc(&n->arena, sizeof(*v));
	size_t		 len = strlen(s);
	char		*copy = jv_alloc(&n->arena, len + 1);

	memcpy(copy, s, len + 1);
	memset(v, 0, sizeof(*v));
	v->kind = JV_STRING;
	v->s = copy;
	v->len = len;
	return v;
}

static const struct jv *
jv_int(struct ld_normalizer *n, long long i)
{
	struct jv	*v = jv_alloc(&n->arena, sizeof(*v));
	char		*t = jv_alloc(&n->arena, 24);

	memset(v, 0, sizeof(*v));
	v->kind = JV_INT;
	v->i = i;
	v->len = (size_t)snprintf(t, 24, "%lld", i);
	v->s = t;
	return v;
}

/* ------------------------------------------------------------ ids */

static void
random_id(struct ld_normalizer *n, char out[24])
{
	unsigned char	b64[24];

	if (n->rndpos + ID_BYTES > sizeof(n->rnd)) {
		size_t	got = 0;

		while (got < sizeof(n->rnd)) {
			ssize_t	r = getrandom(n->rnd + got,
			    sizeof(n->rnd) - got, 0);

			if (r > 0)
				got += (size_t)r;
		}
		n->rndpos = 0;
	}
	EVP_EncodeBlock(b64, n->rnd + n->rndpos, ID_BYTES);
	n->rndpos += ID_BYTES;
	/* 16 characters with the "==" padding, which dlt strips */
	memcpy(out, b64, 14);
	out[14] = '\0';
}

/* digest128(f"{parent_id}_{table}_{idx}", 10). */
static void
nested_id(struct ld_normalizer *n, const char *parent, const char *table,
    long long idx, char out[24])
{
	unsigned char	d[ID_BYTES], b64[24];
	char		num[24];

	snprintf(num, sizeof(num), "_%lld", idx);
	EVP_DigestInit_ex(n->md, n->shake, NULL);
	EVP_DigestUpdate(n->md, parent, strlen(parent));
	EVP_DigestUpdate(n->md, "_", 1);
	EVP_DigestUpdate(n->md, table, strlen(table));
	EVP_DigestUpdate(n->md, num, strlen(num));
	EVP_DigestFinalXOF(n->md, d, ID_BYTES);
	EVP_EncodeBlock(b64, d, ID_BYTES);
	memcpy(out, b64, 14);
	out[14] = '\0';
}

/* ------------------------------------------------- writing a row */

static struct writer *
writer_for(struct ld_normalizer *n, struct ld_table *t)
{
	struct writer	*w;
	unsigned char	 id[5];

	for (size_t i = 0; i < n->nw; i++)
		if (n->w[i].t == t)
			return &n->w[i];
	n->w = xrealloc(n->w, (n->nw + 1) * sizeof(*n->w));
	w = &n->w[n->nw++];
	memset(w, 0, sizeof(*w));
	w->t = t;
	while (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		;
	w->path = xasprintf("%s/%s.%02x%02x%02x%02x%02x.0.jsonl", n->dir,
	    t->name, id[0], id[1], id[2], id[3], id[4]);
	if ((w->f = fopen(w->path, "w")) == NULL) {
		errorf(n->err, n->errlen, "cannot create %s: %m", w->path);
		return NULL;
	}
	setvbuf(w->f, NULL, _IOFBF, 1 << 16);
	return w;
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

static void
emit(struct ld_normalizer *n, const char *name)
{
	buf_append(&n->line, n->line.len == 0 ? "{" : ",", 1);
	jv_write_string(&n->line, name, strlen(name));
	buf_append(&n->line, ":", 1);
	buf_append(&n->line, n->val.data, n->val.len);
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
	col->hints &= ~LD_INCOMPLETE;
	while (i < t->ncols && t->cols[i] != col)
		i++;
	if (i >= t->ncols)
		return;
	memmove(&t->cols[i], &t->cols[i + 1],
	    (t->ncols - i - 1) * sizeof(*t->cols));
	t->cols[t->ncols - 1] = col;
}

/* _coerce_non_null_value: the value into name or its variant. */
static int
coerce_value(struct ld_normalizer *n, struct ld_table *t, const char *name,
    const struct jv *v, int is_variant)
{
	struct ld_column *col = ld_table_column(t, name);
	enum ld_type	  type;
	char		  vname[32];

	n->val.len = 0;
	if (col != NULL && !(col->hints & LD_INCOMPLETE)) {
		if (ld_coerce(&n->val, col->type, v) == 0) {
			emit(n, name);
			return 0;
		}
		if (is_variant)
			return errorf(n->err, n->errlen, "In schema `%s`: "
			    "Cannot coerce type in table `%s` column `%s` "
			    "existing type `%s` coerced type `%s`",
			    n->schema->name, t->name, name,
			    ld_type_name(col->type),
			    ld_type_name(ld_py_type(v)));
		snprintf(vname, sizeof(vname), "v_%s",
		    ld_type_name(ld_py_type(v)));
		return coerce_value(n, t, joined_name(n, name, vname), v, 1);
	}
	type = ld_infer_type(v);
	if (ld_coerce(&n->val, type, v) < 0) {
		type = ld_py_type(v);
		if (ld_coerce(&n->val, type, v) < 0)
			return errorf(n->err, n->errlen, "cannot write a "
			    "value of column `%s` of table `%s`", name,
			    t->name);
	}
	if (col != NULL)
		complete_column(t, col, type);
	else
		ld_table_add_column(t, name, type, default_hints(name) |
		    (is_variant ? LD_VARIANT : 0));
	emit(n, name);
	return 0;
}

static int
write_row(struct ld_normalizer *n, struct ld_table *t,
    const struct fields *fs)
{
	struct writer	*w;

	n->line.len = 0;
	for (size_t i = 0; i < fs->n; i++) {
		const struct jv	*v = fs->f[i].v;

		if (v->kind == JV_NULL) {
			struct ld_column *c = ld_table_column(t, fs->f[i].name);

			if (c != NULL && !(c->hints & LD_INCOMPLETE) &&
			    !(c->hints & LD_NULLABLE))
				return errorf(n->err, n->errlen, "In schema "
				    "`%s`: Cannot coerce NULL in table `%s` "
				    "column `%s` which is not nullable",
				    n->schema->name, t->name, fs->f[i].name);
			continue;
		}
		if (coerce_value(n, t, fs->f[i].name, v, 0) < 0)
			return -1;
	}
	if (n->line.len == 0)
		return 0;	/* dlt skips empty rows */
	buf_append(&n->line, "}\n", 2);
	if ((w = writer_for(n, t)) == NULL)
		return -1;
	if (fwrite(n->line.data, 1, n->line.len, w->f) != n->line.len)
		return errorf(n->err, n->errlen, "cannot write %s: %m",
		    w->path);
	w->rows++;
	return 0;
}

/* ------------------------------------------------------ the walk */

/* is_nested_type: kept whole (json) rather than flattened. */
static int
kept_whole(struct ld_table *t, const char *name, int lvl)
{
	struct ld_column *c;

	if (lvl <= 0)
		return 1;
	c = t != NULL ? ld_table_column(t, name) : NULL;
	return c != NULL && !(c->hints & LD_INCOMPLETE) && c->type == LD_JSON;
}

struct frame {
	const struct jv	*obj;
	int		 lvl;
	const char	*path;
};

/* _flatten: fields of the row and its lists. */
static int
flatten(struct ld_normalizer *n, struct ld_table *t, const struct jv *row,
    int lvl, struct fields *fs, struct fields *ls)
{
	struct frame	*stack = jv_alloc(&n->arena, 16 * sizeof(*stack));
	size_t		 sp = 0, cap = 16;

	stack[sp++] = (struct frame){ row, lvl, NULL };
	while (sp > 0) {
		struct frame	 cur = stack[--sp];

		for (const struct jv *m = cur.obj->first; m != NULL;
		    m = m->next) {
			const char	*name;

			name = nested_name(n, cur.path, m->key, m->keylen,
			    'c');

			if (m->kind == JV_OBJECT &&
			    !kept_whole(t, name, cur.lvl)) {
				if (sp == cap) {
					struct frame *big = jv_alloc(&n->arena,
					    2 * cap * sizeof(*big));

					memcpy(big, stack, sp * sizeof(*big));
					stack = big;
					cap *= 2;
				}
				stack[sp++] = (struct frame){ m,
				    cur.lvl - 1, name };
				continue;
			}
			if (m->kind == JV_ARRAY &&
			    !kept_whole(t, name, cur.lvl)) {
				fields_set(n, ls, nested_name(n, cur.path,
				    m->key, m->keylen, 't'), m);
				continue;
			}
			fields_set(n, fs, name, m);
		}
	}
	return 0;
}

struct ctx {
	struct ld_table	*root;
	const char	*root_id;	/* propagated as _dlt_root_id */
};

static int normalize_row(struct ld_normalizer *, struct ctx *,
    const char *table, const char *parent, const struct jv *row,
    const char *parent_id, long long pos, int lvl);

static struct ld_table *
child_table(struct ld_normalizer *n, struct ctx *c, const char *name,
    const char *parent)
{
	struct ld_table	*t = ld_schema_table(n->schema, name);

	if (t == NULL)
		t = ld_schema_add_table(n->schema, name, parent,
		    c->root->disposition);
	return t;
}

static int
normalize_list(struct ld_normalizer *n, struct ctx *c, const char *table,
    const struct jv *list, const char *parent_id, int lvl)
{
	long long	 idx = 0;

	for (const struct jv *v = list->first; v != NULL; v = v->next, idx++) {
		if (v->kind == JV_OBJECT) {
			if (normalize_row(n, c, table, NULL, v, parent_id,
			    idx, lvl) < 0)
				return -1;
		} else if (v->kind == JV_ARRAY) {
			if (normalize_row(n, c, table, NULL,
			    wrap_in_dict(n, v, "list"), parent_id, idx,
			    lvl - 1) < 0)
				return -1;
		} else {
			struct fields	 fs = { 0 };
			struct ld_table	*t;
			char		 id[24];

			t = ld_schema_table(n->schema, table);

			fields_set(n, &fs, "value", v);
			if (c->root_id != NULL)
				fields_set(n, &fs, "_dlt_root_id",
				    jv_text(n, c->root_id));
			fields_set(n, &fs, "_dlt_parent_id",
			    jv_text(n, parent_id));
			fields_set(n, &fs, "_dlt_list_idx", jv_int(n, idx));
			nested_id(n, parent_id, table, idx, id);
			fields_set(n, &fs, "_dlt_id", jv_text(n, id));
			if (write_row(n, t, &fs) < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * _normalize_row. table is the row's table (created by the caller for
 * root rows, here for child rows); parent_id NULL for a root row.
 */
static int
normalize_row(struct ld_normalizer *n, struct ctx *c, const char *table,
    const char *parent, const struct jv *row, const char *parent_id,
    long long pos, int lvl)
{
	struct fields	 fs = { 0 };
	struct fields	 ls = { 0 };
	struct ld_table	*t = ld_schema_table(n->schema, table);
	const struct jv	*given;
	const char	*row_id;
	char		 id[24];

	(void)parent;
	if (flatten(n, t, row, lvl, &fs, &ls) < 0)
		return -1;
	if (parent_id != NULL && c->root_id != NULL)
		fields_set(n, &fs, "_dlt_root_id", jv_text(n, c->root_id));
	if (parent_id == NULL)
		fields_set(n, &fs, "_dlt_load_id", jv_text(n, n->load_id));
	given = NULL;
	for (size_t i = 0; i < fs.n; i++)
		if (strcmp(fs.f[i].name, "_dlt_id") == 0)
			given = fs.f[i].v;
	if (given != NULL && given->kind == JV_STRING && given->len > 0) {
		row_id = jv_text(n, given->s)->s;
	} else {
		if (parent_id == NULL)
			random_id(n, id);
		else {
			fields_set(n, &fs, "_dlt_parent_id",
			    jv_text(n, parent_id));
			fields_set(n, &fs, "_dlt_list_idx", jv_int(n, pos));
			nested_id(n, parent_id, table, pos, id);
		}
		row_id = jv_text(n, id)->s;
		fields_set(n, &fs, "_dlt_id", jv_text(n, row_id));
	}
	if (parent_id == NULL && c->root->disposition == LD_MERGE)
		c->root_id = row_id;
	if (t == NULL)
		t = child_table(n, c, table, parent);
	if (write_row(n, t, &fs) < 0)
		return -1;
	for (size_t i = 0; i < ls.n; i++) {
		const char	*child = joined_name(n, table, ls.f[i].name);

		if (ld_schema_table(n->schema, child) == NULL &&
		    ls.f[i].v->n > 0)
			child_table(n, c, child, table);
		if (normalize_list(n, c, child, ls.f[i].v, row_id, lvl - 1) < 0)
			return -1;
	}
	return 0;
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
	n->md = EVP_MD_CTX_new();
	n->shake = EVP_MD_fetch(NULL, "SHAKE128", NULL);
	buf_init(&n->line, (size_t)-1);
	buf_init(&n->val, (size_t)-1);
	return n;
}

int
ld_norm_item(struct ld_normalizer *n, const char *table, const char *json,
    size_t len, char *err, size_t errlen)
{
	struct ld_table	*t = ld_schema_table(n->schema, table);
	struct ctx	 c = { t, NULL };
	const struct jv	*item;
	int		 rc, lvl;

	n->err = err;
	n->errlen = errlen;
	if (t == NULL)
		return errorf(err, errlen, "no table %s in the schema", table);
	jv_arena_reset(&n->arena);
	if ((item = jv_parse(&n->arena, json, len, err, errlen)) == NULL)
		return -1;
	if (item->kind != JV_OBJECT)
		item = wrap_in_dict(n, item, "value");
	lvl = t->max_nesting >= 0 ? t->max_nesting : 1000;
	rc = normalize_row(n, &c, table, NULL, item, NULL, 0, lvl);
	return rc;
}

int
ld_norm_finish(struct ld_normalizer *n, char *err, size_t errlen)
{
	int	rc = 0;

	for (size_t i = 0; i < n->nw; i++) {
		struct writer	*w = &n->w[i];

		if (w->f == NULL)
			continue;
		if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
			rc = errorf(err, errlen, "cannot write %s: %m",
			    w->path);
		if (fclose(w->f) != 0 && rc == 0)
			rc = errorf(err, errlen, "cannot write %s: %m",
			    w->path);
		w->f = NULL;
	}
	return rc;
}

long long
ld_norm_rows(const struct ld_normalizer *n, const char *table)
{
	for (size_t i = 0; i < n->nw; i++)
		if (strcmp(n->w[i].t->name, table) == 0)
			return n->w[i].rows;
	return 0;
}

void
ld_norm_free(struct ld_normalizer *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nw; i++) {
		if (n->w[i].f != NULL)
			fclose(n->w[i].f);
		free(n->w[i].path);
	}
	free(n->w);
	cache_free(&n->names);
	jv_arena_free(&n->arena);
	buf_cleanup(&n->line);
	buf_cleanup(&n->val);
	EVP_MD_CTX_free(n->md);
	EVP_MD_free(n->shake);
	free(n->load_id);
	free(n->dir);
	free(n);
}
