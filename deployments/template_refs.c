/*
 * template_refs.c: {{ prefect.blocks.<slug>.<name>[.<keypath>] }},
 * {"$ref": {"block_document_id": ...}} and {{ prefect.variables.<name> }}
 * as resolve_block_document_references and resolve_variables do them,
 * fetched through the caller's callbacks (the API client lives
 * elsewhere).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "deployments/template_int.h"

/* ---------------------------------------------------------- resolvers */

struct resolve {
	const struct template_resolver	*r;
	cJSON				*blocks;	/* slug/name -> data */
	cJSON				*ids;		/* id -> data */
	cJSON				*vars;		/* name -> value */
	cJSON				*missing;	/* name -> true */
	char				*err;
	size_t				 errlen;
	template_notset_fn		 notset;	/* may be NULL */
	void				*notset_arg;
};

static void
resolve_done(struct resolve *c)
{
	cJSON_Delete(c->blocks);
	cJSON_Delete(c->ids);
	cJSON_Delete(c->vars);
	cJSON_Delete(c->missing);
}

static int
resolve_init(struct resolve *c, const struct template_resolver *r,
    char *err, size_t errlen)
{
	static const struct template_resolver none = { NULL, NULL, NULL,
	    NULL };

	c->r = r ? r : &none;
	c->notset = NULL;
	c->notset_arg = NULL;
	c->err = err;
	c->errlen = errlen;
	c->blocks = cJSON_CreateObject();
	c->ids = cJSON_CreateObject();
	c->vars = cJSON_CreateObject();
	c->missing = cJSON_CreateObject();
	if (!c->blocks || !c->ids || !c->vars || !c->missing) {
		resolve_done(c);
		return errorf(err, errlen, "out of memory");
	}
	return 0;
}

/* s with every occurrence of word removed (str.replace(word, "")). */
static char *
remove_all(const char *s, size_t len, const char *word)
{
	size_t	 wl = strlen(word), j = 0;
	char	*o = malloc(len + 1);

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < len; ) {
		if (i + wl <= len && memcmp(s + i, word, wl) == 0)
			i += wl;
		else
			o[j++] = s[i++];
	}
	o[j] = '\0';
	return o;
}

/* Caches and returns (borrowed) the data of block slug/name. */
static const cJSON *
block_data(struct resolve *c, const char *slug, const char *name,
    const char *ref)
{
	size_t		 klen = strlen(slug) + strlen(name) + 2;
	char		*key, cberr[256] = "";
	const cJSON	*hit;
	cJSON		*data = NULL;
	int		 rc = -1;

	/* Names come from the placeholder pattern, which has no '/'. */
	if ((key = malloc(klen)) == NULL)
		return errorf(c->err, c->errlen, "out of memory"), NULL;
	snprintf(key, klen, "%s/%s", slug, name);
	if ((hit = cJSON_GetObjectItemCaseSensitive(c->blocks, key)) != NULL) {
		free(key);
		return hit;
	}
	if (c->r->block == NULL)
		errorf(c->err, c->errlen, "cannot resolve '%s': no block lookup "
		    "available", ref);
	else if ((rc = c->r->block(slug, name, &data, cberr, sizeof(cberr),
	    c->r->payload)) == 1 || (rc == 0 && data == NULL))
		errorf(c->err, c->errlen, "block not found: '%s' of type '%s' "
		    "(referenced by '%s')", name, slug, ref);
	else if (rc != 0)
		errorf(c->err, c->errlen, "reading block for '%s': %s", ref,
		    cberr);
	else if (!cJSON_AddItemToObject(c->blocks, key, data))
		errorf(c->err, c->errlen, "out of memory");
	else
		hit = data;
	if (hit == NULL)
		cJSON_Delete(data);
	free(key);
	return hit;
}

/* Whether the keypath addresses "value" itself (no unwrapping). */
static int
keypath_is_value(const char *kp)
{
	return kp != NULL && (strcmp(kp, "value") == 0 ||
	    strncmp(kp, "value.", 6) == 0 || strncmp(kp, "value[", 6) == 0);
}

/*
 * _resolve_single_placeholder: the value a block placeholder stands
 * for, as a new tree in *out.  ref is the full "{{ ... }}" text.
 */
static int
block_value(struct resolve *c, const char *name, size_t nlen,
    const char *ref, cJSON **out)
{
	char		*parts = remove_all(name, nlen, BLOCK_PREFIX);
	char		*doc, *kp = NULL;
	const cJSON	*data;
	int		 rc = -1;

	*out = NULL;
	if (parts == NULL)
		return errorf(c->err, c->errlen, "out of memory");
	if ((doc = strchr(parts, '.')) == NULL) {
		errorf(c->err, c->errlen, "invalid block placeholder format: "
		    "'%.*s'. Expected format: prefect.blocks.<block-type-slug>"
		    ".<block-document-name>", (int)nlen, name);
		goto out;
	}
	*doc++ = '\0';
	if ((kp = strchr(doc, '.')) != NULL)
		*kp++ = '\0';
	if ((data = block_data(c, parts, doc, ref)) == NULL)
		goto out;
	if (cJSON_IsObject(data) && cJSON_GetArraySize(data) == 1 &&
	    data->child->string != NULL &&
	    strcmp(data->child->string, "value") == 0 && !keypath_is_value(kp))
		data = data->child;
	if (kp == NULL)
		rc = (*out = cJSON_Duplicate(data, 1)) ? 0 :
		    errorf(c->err, c->errlen, "out of memory");
	else if ((rc = tpl_lookup(data, kp, strlen(kp), out)) == 0)
		rc = errorf(c->err, c->errlen, "invalid template: '%s'. Could "
		    "not resolve the keypath in the block document data", ref);
	else if (rc == -1)
		errorf(c->err, c->errlen, "out of memory");
	else
		rc = 0;
out:
	free(parts);
	return rc;
}

/* Copies the "{{ ... }}" text of m into buf for messages. */
static const char *
ref_text(const char *s, const struct template_match *m, char *buf,
    size_t len)
{
	snprintf(buf, len, "%.*s", (int)m->len, s + m->start);
	return buf;
}

static int
blocks_embedded(void *ctx, struct buf *b, const char *s,
    const struct template_match *m)
{
	struct resolve	*c = ctx;
	char	 ref[256];
	cJSON	*v;

	if (m->kind != TEMPLATE_BLOCK) {
		buf_append(b, s + m->start, m->len);
		return 0;
	}
	ref_text(s, m, ref, sizeof(ref));
	if (block_value(c, s + m->name_start, m->name_len, ref, &v) == -1)
		return -1;
	if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		const char *what = cJSON_IsArray(v) ? "list" : "dict";

		cJSON_Delete(v);
		return errorf(c->err, c->errlen, "invalid template: block "
		    "placeholder '%s' resolved to a %s, which cannot be used "
		    "for inline string substitution", ref, what);
	}
	tpl_py_str(b, v);
	cJSON_Delete(v);
	return 0;
}

/* Counts placeholders of kind in s; *only is the sole match if one. */
static size_t
count_kind(const char *s, enum template_kind kind, size_t *total,
    struct template_match *only)
{
	size_t			 len = strlen(s), pos, n = 0;
	struct template_match	 m;

	*total = 0;
	for (pos = 0; template_next(s, len, pos, &m); pos = m.start + m.len) {
		if ((*total)++ == 0)
			*only = m;
		n += m.kind == kind;
	}
	return n;
}

static int
blocks_string(struct resolve *c, const cJSON *node, cJSON **out)
{
	const char		*s = node->valuestring ? node->valuestring : "";
	size_t			 total;
	struct template_match	 m;
	char			 ref[256];

	if (count_kind(s, TEMPLATE_BLOCK, &total, &m) == 0)
		return (*out = cJSON_Duplicate(node, 0)) ? 0 :
		    errorf(c->err, c->errlen, "out of memory");
	if (total == 1 && m.start == 0 && m.len == strlen(s))
		return block_value(c, s + m.name_start, m.name_len,
		    ref_text(s, &m, ref, sizeof(ref)), out);
	return tpl_rebuild(s, blocks_embedded, c, out, c->err, c->errlen);
}

static int
truthy(const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return 0;
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	if (cJSON_IsString(v))
		return v->valuestring != NULL && v->valuestring[0] != '\0';
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		return v->child != NULL;
	return 1;
}

/* {"$ref": {"block_document_id": id}} -> the document's data. */
static int
block_ref(struct resolve *c, const cJSON *id, cJSON **out)
{
	char		 cberr[256] = "";
	const cJSON	*hit;
	cJSON		*data = NULL;
	int		 rc;

	if (!cJSON_IsString(id))
		return errorf(c->err, c->errlen, "$ref: block_document_id must "
		    "be a string");
	hit = cJSON_GetObjectItemCaseSensitive(c->ids, id->valuestring);
	if (hit == NULL) {
		if (c->r->block_by_id == NULL)
			return errorf(c->err, c->errlen, "cannot resolve block "
			    "document '%s': no block lookup available",
			    id->valuestring);
		rc = c->r->block_by_id(id->valuestring, &data, cberr,
		    sizeof(cberr), c->r->payload);
		if (rc != 0)
			cJSON_Delete(data);
		if (rc == 1 || (rc == 0 && data == NULL))
			return errorf(c->err, c->errlen, "block not found: ID "
			    "'%s'", id->valuestring);
		if (rc != 0)
			return errorf(c->err, c->errlen, "reading block document "
			    "'%s': %s", id->valuestring, cberr);
		if (!cJSON_AddItemToObject(c->ids, id->valuestring, data)) {
			cJSON_Delete(data);
			return errorf(c->err, c->errlen, "out of memory");
		}
		hit = data;
	}
	if ((*out = cJSON_Duplicate(hit, 1)) == NULL)
		return errorf(c->err, c->errlen, "out of memory");
	return 0;
}

typedef int (*string_fn)(struct resolve *, const cJSON *, cJSON **);

/* Walks arrays and objects, applying fn to strings; *out is new. */
static int
walk(struct resolve *c, const cJSON *node, string_fn fn, int refs,
    cJSON **out)
{
	const cJSON	*ref;

	*out = NULL;
	if (cJSON_IsString(node))
		return fn(c, node, out);
	if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
		return (*out = cJSON_Duplicate(node, 0)) ? 0 :
		    errorf(c->err, c->errlen, "out of memory");
	if (refs && cJSON_IsObject(node) &&
	    (ref = cJSON_GetObjectItemCaseSensitive(node, "$ref")) != NULL) {
		const cJSON *id;

		if (!cJSON_IsObject(ref))
			return errorf(c->err, c->errlen, "$ref must be a mapping "
			    "with a block_document_id");
		id = cJSON_GetObjectItemCaseSensitive(ref, "block_document_id");
		if (truthy(id))
			return block_ref(c, id, out);
	}
	*out = cJSON_IsArray(node) ? cJSON_CreateArray() : cJSON_CreateObject();
	if (*out == NULL)
		return errorf(c->err, c->errlen, "out of memory");
	for (const cJSON *k = node->child; k != NULL; k = k->next) {
		cJSON	*v;

		if (walk(c, k, fn, refs, &v) == -1)
			goto fail;
		if (tpl_add_member(*out, k, v) == -1) {
			cJSON_Delete(v);
			errorf(c->err, c->errlen, "out of memory");
			goto fail;
		}
	}
	return 0;
fail:
	cJSON_Delete(*out);
	*out = NULL;
	return -1;
}

/* One resolving pass over tmpl; refs: also replace {"$ref": ...} objects. */
static int
resolve(const cJSON *tmpl, const struct template_resolver *r, string_fn fn,
    int refs, template_notset_fn notset, void *arg, cJSON **out, char *err,
    size_t errlen)
{
	struct resolve	 c;
	int		 rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (tmpl == NULL)
		return errorf(err, errlen, "no template");
	if (resolve_init(&c, r, err, errlen) == -1)
		return -1;
	c.notset = notset;
	c.notset_arg = arg;
	rc = walk(&c, tmpl, fn, refs, out);
	resolve_done(&c);
	return rc;
}

int
template_resolve_blocks(const cJSON *tmpl, const struct template_resolver *r,
    cJSON **out, char *err, size_t errlen)
{
	return resolve(tmpl, r, blocks_string, 1, NULL, NULL, out, err,
	    errlen);
}

/* The value of a variable placeholder (borrowed), NULL if missing. */
static int
var_value(struct resolve *c, const char *name, size_t nlen,
    const cJSON **val)
{
	char		*var = remove_all(name, nlen, VAR_PREFIX);
	char		 cberr[256] = "";
	cJSON		*v = NULL;
	int		 rc;

	*val = NULL;
	if (var == NULL)
		return errorf(c->err, c->errlen, "out of memory");
	if ((*val = cJSON_GetObjectItemCaseSensitive(c->vars, var)) != NULL ||
	    cJSON_GetObjectItemCaseSensitive(c->missing, var) != NULL) {
		free(var);
		return 0;
	}
	if (c->r->variable == NULL)
		rc = errorf(c->err, c->errlen, "cannot resolve variable '%s': no "
		    "variable lookup available", var);
	else if ((rc = c->r->variable(var, &v, cberr, sizeof(cberr),
	    c->r->payload)) != 0 && rc != 1) {
		cJSON_Delete(v);
		rc = errorf(c->err, c->errlen, "reading variable '%s': %s", var,
		    cberr);
	} else if (rc == 1 || v == NULL) {
		cJSON_Delete(v);
		rc = cJSON_AddTrueToObject(c->missing, var) ? 0 :
		    errorf(c->err, c->errlen, "out of memory");
		if (rc == 0 && c->notset != NULL) {
			char *ph = xasprintf("{{ " VAR_PREFIX "%s }}", var);

			c->notset(ph, c->notset_arg);
			free(ph);
		}
	} else if (!cJSON_AddItemToObject(c->vars, var, v)) {
		cJSON_Delete(v);
		rc = errorf(c->err, c->errlen, "out of memory");
	} else
		*val = v;
	free(var);
	return rc == -1 ? -1 : 0;
}

static int
vars_embedded(void *ctx, struct buf *b, const char *s,
    const struct template_match *m)
{
	struct resolve	*c = ctx;
	const cJSON	*v;

	if (m->kind != TEMPLATE_VARIABLE) {
		buf_append(b, s + m->start, m->len);
		return 0;
	}
	if (var_value(c, s + m->name_start, m->name_len, &v) == -1)
		return -1;
	if (v != NULL)
		tpl_py_str(b, v);
	return 0;
}

static int
vars_string(struct resolve *c, const cJSON *node, cJSON **out)
{
	const char		*s = node->valuestring ? node->valuestring : "";
	size_t			 total;
	struct template_match	 m;
	const cJSON		*v;

	if (count_kind(s, TEMPLATE_VARIABLE, &total, &m) == 0)
		return (*out = cJSON_Duplicate(node, 0)) ? 0 :
		    errorf(c->err, c->errlen, "out of memory");
	if (total == 1 && m.start == 0 && m.len == strlen(s)) {
		if (var_value(c, s + m.name_start, m.name_len, &v) == -1)
			return -1;
		*out = v ? cJSON_Duplicate(v, 1) : cJSON_CreateString("");
		return *out ? 0 : errorf(c->err, c->errlen, "out of memory");
	}
	return tpl_rebuild(s, vars_embedded, c, out, c->err, c->errlen);
}

int
template_resolve_variables(const cJSON *tmpl,
    const struct template_resolver *r, cJSON **out, char *err, size_t errlen)
{
	return resolve(tmpl, r, vars_string, 0, NULL, NULL, out, err, errlen);
}

int
tpl_resolve_variables(const cJSON *tmpl, const struct template_resolver *r,
    template_notset_fn notset, void *arg, cJSON **out, char *err,
    size_t errlen)
{
	return resolve(tmpl, r, vars_string, 0, notset, arg, out, err,
	    errlen);
}
