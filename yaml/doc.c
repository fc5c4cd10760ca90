/*
 * yaml.c: one YAML document to cJSON, as PyYAML's safe_load sees it.
 *
 * compose.c turns libyaml's events into a node graph (aliases point
 * at their anchor's node).  Here the graph is flattened ("<<" merge
 * keys, PyYAML order) and copied into cJSON, each scalar typed by
 * scalar.c with PyYAML's YAML 1.1 rules.  Every cJSON node made is
 * entered into a pointer-keyed table of source positions.  Alias
 * expansion is capped at YDOC_MAX_NODES so a billion-laughs file fails
 * quickly.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/util.h"
#include "yaml/doc_int.h"

#define MAX_FILE	(64u * 1024 * 1024)

struct pent {
	const cJSON	*node;
	int		 line, col, kline, kcol, flags;
};

struct ydoc {
	cJSON		*root;
	struct pent	*pos;
	size_t		 npos, cappos;
};

struct builder {
	struct ydoc	*doc;
	size_t		 count;
	size_t		 pairs;
	struct ydoc_error *err;
};

int
ydoc_seterr(struct ydoc_error *err, int line, int col, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return -1;
	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	verrorf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
ydoc_oom(struct ydoc_error *err)
{
	return ydoc_seterr(err, 0, 0, "out of memory");
}

void
ydoc_slots_free(struct slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].key);
		free(s[i].ident);
	}
	free(s);
}

/* ---------------------------------------------------------------- maps */

static struct sent *
smap_slot(const struct smap *m, const char *key, size_t len)
{
	size_t	 i = (size_t)hash_fnv1a(key, len) & (m->cap - 1);

	for (;;) {
		struct sent *e = &m->v[i];

		if (e->key == NULL || (e->len == len &&
		    memcmp(e->key, key, len) == 0))
			return e;
		i = (i + 1) & (m->cap - 1);
	}
}

static int
smap_grow(struct smap *m)
{
	struct smap	 nm;

	nm.cap = m->cap ? m->cap * 2 : 16;
	nm.n = 0;
	nm.v = calloc(nm.cap, sizeof(*nm.v));
	if (nm.v == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->v[i].key != NULL) {
			*smap_slot(&nm, m->v[i].key, m->v[i].len) = m->v[i];
			nm.n++;
		}
	}
	free(m->v);
	*m = nm;
	return 0;
}

void *
ydoc_smap_get(const struct smap *m, const char *key, size_t len)
{
	if (m->cap == 0)
		return NULL;
	return smap_slot(m, key, len)->val;
}

int
ydoc_smap_put(struct smap *m, const char *key, size_t len, void *val)
{
	struct sent	*e;

	if ((m->n + 1) * 2 > m->cap && smap_grow(m) == -1)
		return -1;
	e = smap_slot(m, key, len);
	if (e->key == NULL) {
		e->key = key;
		e->len = len;
		m->n++;
	}
	e->val = val;
	return 0;
}

/* ----------------------------------------------------- position table */

static size_t
ptr_hash(const void *p, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)p;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

static struct pent *
pos_slot(const struct ydoc *doc, const cJSON *node)
{
	size_t	 i = ptr_hash(node, doc->cappos);

	while (doc->pos[i].node != NULL && doc->pos[i].node != node)
		i = (i + 1) & (doc->cappos - 1);
	return &doc->pos[i];
}

static int
pos_grow(struct ydoc *doc)
{
	struct ydoc	 nd;

	nd.cappos = doc->cappos ? doc->cappos * 2 : 256;
	nd.npos = doc->npos;
	nd.pos = calloc(nd.cappos, sizeof(*nd.pos));
	if (nd.pos == NULL)
		return -1;
	for (size_t i = 0; i < doc->cappos; i++)
		if (doc->pos[i].node != NULL)
			*pos_slot(&nd, doc->pos[i].node) = doc->pos[i];
	free(doc->pos);
	doc->pos = nd.pos;
	doc->cappos = nd.cappos;
	return 0;
}

/* Records (or overwrites) the value position of node. */
static int
pos_put(struct ydoc *doc, const cJSON *node, int line, int col)
{
	struct pent	*e;

	if ((doc->npos + 1) * 2 > doc->cappos && pos_grow(doc) == -1)
		return -1;
	e = pos_slot(doc, node);
	if (e->node == NULL) {
		e->node = node;
		doc->npos++;
	}
	e->line = line;
	e->col = col;
	return 0;
}

static const struct pent *
pos_find(const struct ydoc *doc, const cJSON *node)
{
	const struct pent *e;

	if (doc == NULL || node == NULL || doc->cappos == 0)
		return NULL;
	e = pos_slot(doc, node);
	return e->node == node ? e : NULL;
}

/* ------------------------------------------------------------- builder */

static struct ynode *
deref(struct ynode *n)
{
	return n->kind == YN_ALIAS ? n->target : n;
}

static int
is_merge_key(const struct ynode *k)
{
	if (k->kind != YN_SCALAR)
		return 0;
	if (k->tag != NULL)
		return strcmp(k->tag, TAG_PREFIX "merge") == 0;
	return k->implicit && k->len == 2 && memcmp(k->text, "<<", 2) == 0;
}

static int
eff_add(struct builder *b, struct ypair **v, size_t *n, size_t *cap,
    struct ypair p)
{
	if (++b->pairs > YDOC_MAX_NODES)
		return ydoc_seterr(b->err, p.k->line, p.k->col,
		    "document expands "
		    "to more than %d nodes (alias bomb?)", YDOC_MAX_NODES);
	if (*n == *cap) {
		size_t	 nc = *cap ? *cap * 2 : 8;
		void	*q = realloc(*v, nc * sizeof(**v));

		if (q == NULL)
			return ydoc_oom(b->err);
		*v = q;
		*cap = nc;
	}
	(*v)[(*n)++] = p;
	return 0;
}

static int	flatten(struct builder *, struct ynode *, int);

/* Appends the flattened pairs of merge source m. */
static int
merge_one(struct builder *b, struct ynode *m, struct ypair **v, size_t *n,
    size_t *cap, int depth)
{
	if (flatten(b, m, depth + 1) == -1)
		return -1;
	for (size_t i = 0; i < m->neff; i++)
		if (eff_add(b, v, n, cap, m->eff[i]) == -1)
			return -1;
	return 0;
}

/* The value of a "<<" key: a mapping or a list of mappings. */
static int
merge_value(struct builder *b, struct ynode *val, struct ypair **v,
    size_t *n, size_t *cap, int depth)
{
	struct ynode	*vd = deref(val);

	if (vd->kind == YN_MAP)
		return merge_one(b, vd, v, n, cap, depth);
	if (vd->kind != YN_SEQ)
		return ydoc_seterr(b->err, vd->line, vd->col,
		    "expected a mapping " "or list of mappings for merging");
	/* Earlier mappings win, so later ones go first. */
	for (size_t i = vd->nkids; i-- > 0;) {
		struct ynode *sub = deref(vd->kids[i]);

		if (sub->kind != YN_MAP)
			return ydoc_seterr(b->err, sub->line, sub->col,
			    "expected a mapping for merging");
	}
	for (size_t i = vd->nkids; i-- > 0;)
		if (merge_one(b, deref(vd->kids[i]), v, n, cap, depth) == -1)
			return -1;
	return 0;
}

/*
 * PyYAML's flatten_mapping: merged pairs first, then the node's own, so
 * explicit keys override merged ones when the dict is built.
 */
static int
flatten(struct builder *b, struct ynode *m, int depth)
{
	struct ypair	*v = NULL;
	size_t		 n = 0, cap = 0;

	if (m->flat)
		return 0;
	if (m->flattening)
		return ydoc_seterr(b->err, m->line, m->col,
		    "recursive merge key");
	if (depth > YDOC_MAX_DEPTH)
		return ydoc_seterr(b->err, m->line, m->col, "merge keys nested "
		    "deeper than %d levels", YDOC_MAX_DEPTH);
	m->flattening = 1;
	for (size_t i = 0; i + 1 < m->nkids; i += 2)
		if (is_merge_key(deref(m->kids[i])) && merge_value(b,
		    m->kids[i + 1], &v, &n, &cap, depth) == -1)
			goto fail;
	for (size_t i = 0; i + 1 < m->nkids; i += 2) {
		struct ypair p = { m->kids[i], m->kids[i + 1] };

		if (!is_merge_key(deref(p.k)) &&
		    eff_add(b, &v, &n, &cap, p) == -1)
			goto fail;
	}
	m->flattening = 0;
	m->eff = v;
	m->neff = n;
	m->flat = 1;
	return 0;
fail:
	m->flattening = 0;
	free(v);
	return -1;
}

static int
count_node(struct builder *b, const struct ynode *n)
{
	if (++b->count > YDOC_MAX_NODES)
		return ydoc_seterr(b->err, n->line, n->col,
		    "document expands to "
		    "more than %d nodes (alias bomb?)", YDOC_MAX_NODES);
	return 0;
}

static void
format_int(double d, char *buf, size_t len)
{
	if (fabs(d) < 9.2e18)
		snprintf(buf, len, "%lld", (long long)d);
	else
		snprintf(buf, len, "%.0f", d);
}

static cJSON *
scalar_json(struct builder *b, const struct ynode *n, int *flags)
{
	struct scalar	 sc;
	cJSON		*j = NULL;

	if (ydoc_resolve_scalar(n, &sc, b->err) == -1)
		return NULL;
	switch (sc.t) {
	case ST_NULL:
		j = cJSON_CreateNull();
		break;
	case ST_BOOL:
		j = cJSON_CreateBool(sc.b);
		break;
	case ST_INT:
	case ST_FLOAT:
		if ((j = cJSON_CreateNumber(sc.d)) != NULL && sc.t == ST_FLOAT)
			j->type |= YDOC_CJSON_FLOAT;
		break;
	case ST_TIME:
		*flags |= YDOC_NODE_TIMESTAMP;
		j = cJSON_CreateString(sc.ts);
		break;
	case ST_STR:
		if (memchr(n->text, '\0', n->len) != NULL) {
			ydoc_seterr(b->err, n->line, n->col,
			    "NUL character in a " "string is not supported");
			return NULL;
		}
		j = cJSON_CreateString(n->text);
		break;
	case ST_MERGE:
	case ST_VALUE:
		ydoc_seterr(b->err, n->line, n->col, "could not determine a "
		    "constructor for the tag '" TAG_PREFIX "%s'",
		    sc.t == ST_MERGE ? "merge" : "value");
		return NULL;
	}
	if (j == NULL)
		ydoc_oom(b->err);
	return j;
}

/*
 * Python dict identity of a key: 1, 1.0 and true are the same key, the
 * string "1" is not.  The first character tells the kinds apart.
 */
static void
key_identity(const struct scalar *sc, const char *text, char *buf,
    size_t len)
{
	switch (sc->t) {
	case ST_BOOL:
		snprintf(buf, len, "n%d", sc->b);
		break;
	case ST_INT:
	case ST_FLOAT:
		if (sc->d == floor(sc->d) && fabs(sc->d) < 9.2e18)
			snprintf(buf, len, "n%lld", (long long)sc->d);
		else
			snprintf(buf, len, "f%a", sc->d);
		break;
	case ST_NULL:
		snprintf(buf, len, "z");
		break;
	case ST_TIME:
		snprintf(buf, len, "t%s", sc->ts);
		break;
	default:
		snprintf(buf, len, "s%s", text);
		break;
	}
}

/*
 * The dict key PyYAML would make of k, as a new string (JSON spelling
 * for non-strings), and its identity in *ident (freed by the caller);
 * *nonstr says it was not a string.
 */
static char *
key_string(struct builder *b, struct ynode *k, int *nonstr, char **ident)
{
	struct scalar	 sc;
	char		 buf[64];
	const char	*s = buf;
	char		*out;

	k = deref(k);
	if (k->kind != YN_SCALAR) {
		ydoc_seterr(b->err, k->line, k->col, "found unhashable key");
		return NULL;
	}
	if (k->implicit && k->len == 1 && k->text[0] == '=')
		sc.t = ST_STR;
	else if (ydoc_resolve_scalar(k, &sc, b->err) == -1)
		return NULL;
	*nonstr = sc.t != ST_STR;
	switch (sc.t) {
	case ST_NULL:
		s = "null";
		break;
	case ST_BOOL:
		s = sc.b ? "true" : "false";
		break;
	case ST_INT:
		format_int(sc.d, buf, sizeof(buf));
		break;
	case ST_FLOAT:
		ydoc_format_float(sc.d, buf, sizeof(buf));
		break;
	case ST_TIME:
		s = sc.ts;
		break;
	default:
		if (memchr(k->text, '\0', k->len) != NULL) {
			ydoc_seterr(b->err, k->line, k->col,
			    "NUL character in a " "key is not supported");
			return NULL;
		}
		s = k->text;
		break;
	}
	if ((out = strdup(s)) == NULL ||
	    (*ident = malloc(k->len + 64)) == NULL) {
		free(out);
		ydoc_oom(b->err);
		return NULL;
	}
	key_identity(&sc, k->text, *ident, k->len + 64);
	return out;
}

/* Collapses duplicate keys: last value wins, first position stays. */
static struct slot *
dedup(struct builder *b, struct ynode *m, size_t *nout)
{
	struct slot	*s = calloc(m->neff ? m->neff : 1, sizeof(*s));
	struct smap	 seen = { NULL, 0, 0 };
	size_t		 n = 0;

	if (s == NULL)
		return ydoc_oom(b->err), NULL;
	for (size_t i = 0; i < m->neff; i++) {
		int		 nonstr = 0;
		char		*id = NULL;
		char		*key = key_string(b, m->eff[i].k, &nonstr, &id);
		struct slot	*old;

		if (key == NULL)
			goto fail;
		if ((old = ydoc_smap_get(&seen, id, strlen(id))) != NULL) {
			/* Python keeps the first key, takes the last value. */
			free(key);
			free(id);
			old->v = m->eff[i].v;
			continue;
		}
		s[n] = (struct slot){ key, id, m->eff[i].k, m->eff[i].v,
		    nonstr };
		if (ydoc_smap_put(&seen, id, strlen(id), &s[n++]) == -1) {
			ydoc_oom(b->err);
			goto fail;
		}
	}
	free(seen.v);
	*nout = n;
	return s;
fail:
	free(seen.v);
	ydoc_slots_free(s, n);
	return NULL;
}

static cJSON	*build(struct builder *, struct ynode *, int);

/* Merges and de-duplicates m's keys once; aliases reuse the result. */
static int
map_slots(struct builder *b, struct ynode *m)
{
	if (m->slots != NULL)
		return 0;
	if (flatten(b, m, 0) == -1 ||
	    (m->slots = dedup(b, m, &m->nslots)) == NULL)
		return -1;
	return 0;
}

static int
fill_map(struct builder *b, struct ynode *m, cJSON *obj, int depth)
{
	const struct slot *s;

	if (map_slots(b, m) == -1)
		return -1;
	s = m->slots;
	for (size_t i = 0; i < m->nslots; i++) {
		cJSON		*v = build(b, s[i].v, depth + 1);
		struct pent	*e;

		if (v == NULL)
			return -1;
		if (!cJSON_AddItemToObject(obj, s[i].key, v)) {
			cJSON_Delete(v);
			return ydoc_oom(b->err);
		}
		/* The key as written: an alias key sits at the alias. */
		e = pos_slot(b->doc, v);
		e->kline = s[i].k->line;
		e->kcol = s[i].k->col;
		if (s[i].nonstr)
			e->flags |= YDOC_NODE_KEY_NONSTR;
	}
	return 0;
}

static int
fill_seq(struct builder *b, struct ynode *sq, cJSON *arr, int depth)
{
	for (size_t i = 0; i < sq->nkids; i++) {
		cJSON	*v = build(b, sq->kids[i], depth + 1);

		if (v == NULL)
			return -1;
		cJSON_AddItemToArray(arr, v);
	}
	return 0;
}

static int
check_collection_tag(struct builder *b, const struct ynode *n)
{
	const char	*want = n->kind == YN_SEQ ? TAG_PREFIX "seq" :
			    TAG_PREFIX "map";

	const char	*found = n->kind == YN_SEQ ? "sequence" : "mapping";

	if (n->tag == NULL || strcmp(n->tag, want) == 0)
		return 0;
	if (strcmp(n->tag, TAG_PREFIX "seq") == 0 ||
	    strcmp(n->tag, TAG_PREFIX "map") == 0)
		return ydoc_seterr(b->err, n->line, n->col,
		    "expected a %s node, "
		    "but found %s", n->kind == YN_SEQ ? "mapping" : "sequence",
		    found);
	if ((int)ydoc_explicit_type(n->tag) != -1)
		return ydoc_seterr(b->err, n->line, n->col, "expected a scalar "
		    "node, but found %s", found);
	return ydoc_seterr(b->err, n->line, n->col, "could not determine a "
	    "constructor for the tag '%.100s'", n->tag);
}

static cJSON *
build_collection(struct builder *b, struct ynode *n, int depth)
{
	cJSON	*j;
	int	 rc;

	if (n->building) {
		ydoc_seterr(b->err, n->line, n->col,
		    "recursive alias: the node " "contains itself");
		return NULL;
	}
	if (check_collection_tag(b, n) == -1)
		return NULL;
	j = n->kind == YN_SEQ ? cJSON_CreateArray() : cJSON_CreateObject();
	if (j == NULL || pos_put(b->doc, j, n->line, n->col) == -1) {
		cJSON_Delete(j);
		ydoc_oom(b->err);
		return NULL;
	}
	n->building = 1;
	rc = n->kind == YN_SEQ ? fill_seq(b, n, j, depth) :
	    fill_map(b, n, j, depth);
	n->building = 0;
	if (rc == -1) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* A new cJSON copy of n, its nodes entered into the position table. */
static cJSON *
build(struct builder *b, struct ynode *n, int depth)
{
	cJSON	*j;
	int	 flags = 0;

	if (n->kind == YN_ALIAS) {
		/* The copy's root is placed where the alias is used. */
		if ((j = build(b, n->target, depth)) != NULL) {
			struct pent *e = pos_slot(b->doc, j);

			e->line = n->line;
			e->col = n->col;
		}
		return j;
	}
	if (depth > YDOC_MAX_DEPTH) {
		ydoc_seterr(b->err, n->line, n->col, "nesting deeper than %d "
		    "levels", YDOC_MAX_DEPTH);
		return NULL;
	}
	if (count_node(b, n) == -1)
		return NULL;
	if (n->kind != YN_SCALAR)
		return build_collection(b, n, depth);
	if (n->tag != NULL && (strcmp(n->tag, TAG_PREFIX "seq") == 0 ||
	    strcmp(n->tag, TAG_PREFIX "map") == 0)) {
		ydoc_seterr(b->err, n->line, n->col, "expected a %s node, but "
		    "found scalar", n->tag[strlen(TAG_PREFIX)] == 's' ?
		    "sequence" : "mapping");
		return NULL;
	}
	if ((j = scalar_json(b, n, &flags)) == NULL)
		return NULL;
	if (pos_put(b->doc, j, n->line, n->col) == -1) {
		cJSON_Delete(j);
		ydoc_oom(b->err);
		return NULL;
	}
	pos_slot(b->doc, j)->flags = flags;
	return j;
}

/* ------------------------------------------------------------- public */

struct ydoc *
ydoc_load(const char *text, size_t len, struct ydoc_error *err)
{
	struct composer	 c;
	struct builder	 b;
	struct ydoc	*doc;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	memset(&c, 0, sizeof(c));
	c.err = err;
	if ((doc = calloc(1, sizeof(*doc))) == NULL)
		return ydoc_oom(err), NULL;
	if (!yaml_parser_initialize(&c.parser)) {
		free(doc);
		return ydoc_oom(err), NULL;
	}
	yaml_parser_set_input_string(&c.parser,
	    (const unsigned char *)(text ? text : ""), text ? len : 0);
	b = (struct builder){ doc, 0, 0, err };
	if (ydoc_compose(&c, text, len) == 0)
		doc->root = c.root ? build(&b, c.root, 0) : cJSON_CreateNull();
	if (doc->root == NULL && c.err != NULL && c.err->msg[0] == '\0')
		ydoc_oom(err);
	ydoc_composer_free(&c);
	if (doc->root == NULL) {
		ydoc_free(doc);
		return NULL;
	}
	if (c.root == NULL && pos_put(doc, doc->root, 1, 1) == -1) {
		ydoc_free(doc);
		return ydoc_oom(err), NULL;
	}
	return doc;
}

struct ydoc *
ydoc_load_file(const char *path, struct ydoc_error *err)
{
	char		 why[128];
	char		*buf;
	size_t		 n;
	struct ydoc	*doc;

	if ((buf = read_file_max(path, MAX_FILE, &n, why, sizeof(why))) == NULL)
		return ydoc_seterr(err, 0, 0, "%s", why), NULL;
	doc = ydoc_load(buf, n, err);
	free(buf);
	return doc;
}

const cJSON *
ydoc_root(const struct ydoc *doc)
{
	return doc->root;
}

int
ydoc_pos(const struct ydoc *doc, const cJSON *node, int *line,
    int *col)
{
	const struct pent *e = pos_find(doc, node);

	if (e == NULL)
		return -1;
	*line = e->line;
	*col = e->col;
	return 0;
}

int
ydoc_key_pos(const struct ydoc *doc, const cJSON *node, int *line,
    int *col)
{
	const struct pent *e = pos_find(doc, node);

	if (e == NULL || e->kline == 0)
		return -1;
	*line = e->kline;
	*col = e->kcol;
	return 0;
}

int
ydoc_flags(const struct ydoc *doc, const cJSON *node)
{
	const struct pent *e = pos_find(doc, node);

	return e ? e->flags : 0;
}

void
ydoc_free(struct ydoc *doc)
{
	if (doc == NULL)
		return;
	cJSON_Delete(doc->root);
	free(doc->pos);
	free(doc);
}
