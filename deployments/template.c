/*
 * template.c: Prefect's placeholder templating over cJSON trees.
 *
 * Mirrors prefect/utilities/templating/__init__.py (Prefect 3): the
 * placeholder regex, get_from_dict's path walk, apply_values' whole-
 * string and embedded rules, block and variable resolution, and
 * Python's str()/repr() for values pasted into strings.  Where Python
 * replaces placeholders one set element at a time (in hash order), this
 * does a single left-to-right pass, which is what Python does whenever
 * no substituted value itself contains another placeholder's text.
 *
 * This file has apply_values and the passes that chain the steps;
 * template_text.c the placeholders and Python's str()/repr(),
 * template_refs.c block and variable references.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "deployments/template_int.h"

/* ------------------------------------------------------ get_from_dict */

/* Python's int(key) for [+-]digits with single '_' between digits. */
static int
py_int(const char *k, size_t len, long long *out, int *overflow)
{
	size_t		 i = 0;
	int		 neg = 0, prev_digit = 0;
	long long	 v = 0;

	*overflow = 0;
	if (len > 0 && (k[0] == '-' || k[0] == '+'))
		neg = k[i++] == '-';
	if (i == len)
		return 0;
	for (; i < len; i++) {
		if (k[i] == '_' && prev_digit && i + 1 < len) {
			prev_digit = 0;
			continue;
		}
		if (k[i] < '0' || k[i] > '9')
			return 0;
		prev_digit = 1;
		if (v > (0x7FFFFFFFFFFFFFFFLL - 9) / 10)
			*overflow = 1;
		else
			v = v * 10 + (k[i] - '0');
	}
	if (!prev_digit)
		return 0;
	*out = neg ? -v : v;
	return 1;
}

/* Byte offset of code point idx (negative counts from the end). */
static int
char_at(const char *s, long long idx, size_t *off, size_t *n)
{
	size_t		 len = strlen(s), i, count = 0;
	unsigned	 cp;

	for (i = 0; i < len; i += tpl_utf8_next(s, len, i, &cp))
		count++;
	if (idx < 0)
		idx += (long long)count;
	if (idx < 0 || (size_t)idx >= count)
		return -1;
	for (i = 0; idx > 0; idx--)
		i += tpl_utf8_next(s, len, i, &cp);
	*off = i;
	*n = tpl_utf8_next(s, len, i, &cp);
	return 0;
}

struct cursor {
	const cJSON	*node;		/* current value, or NULL if text */
	char		 text[8];	/* a one-character string */
};

/* One step of get_from_dict: value = value[key]; 0 when not found. */
static int
step(struct cursor *c, const char *key, size_t klen)
{
	long long	 idx = 0;
	int		 ovf, isint = py_int(key, klen, &idx, &ovf);
	const char	*s;
	size_t		 off, n;

	if (c->node == NULL || cJSON_IsString(c->node)) {
		s = c->node ? c->node->valuestring : c->text;
		if (s == NULL)
			return 0;
		if (!isint || ovf || char_at(s, idx, &off, &n) == -1)
			return 0;
		memmove(c->text, s + off, n);
		c->text[n] = '\0';
		c->node = NULL;
		return 1;
	}
	if (cJSON_IsArray(c->node)) {
		int size = cJSON_GetArraySize(c->node);

		if (!isint || ovf || idx >= size || idx < -(long long)size)
			return 0;
		c->node = cJSON_GetArrayItem(c->node,
		    (int)(idx < 0 ? idx + size : idx));
		return c->node != NULL;
	}
	if (!cJSON_IsObject(c->node) || isint)
		return 0;
	for (const cJSON *m = c->node->child; m != NULL; m = m->next) {
		if (m->string != NULL && strlen(m->string) == klen &&
		    memcmp(m->string, key, klen) == 0) {
			c->node = m;
			return 1;
		}
	}
	return 0;
}

/*
 * get_from_dict(root, path): "a.b[0]" is split on '.' after '[' -> '.'
 * and ']' -> ''.  Returns 1 with a new copy in *out, 0 if not found,
 * -1 when out of memory.
 */
int
tpl_lookup(const cJSON *root, const char *path, size_t len, cJSON **out)
{
	struct cursor	 c = { root, "" };
	char		*keys = malloc(len + 1), *k;
	size_t		 n = 0;
	int		 found = 1;

	*out = NULL;
	if (keys == NULL)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (path[i] != ']')
			keys[n++] = path[i] == '[' ? '.' : path[i];
	keys[n] = '\0';
	if (root == NULL)
		found = 0;
	for (k = keys; found; ) {
		char	*dot = strchr(k, '.');
		size_t	 klen = dot ? (size_t)(dot - k) : strlen(k);

		found = step(&c, k, klen);
		if (dot == NULL)
			break;
		k = dot + 1;
	}
	free(keys);
	if (!found)
		return 0;
	*out = c.node ? cJSON_Duplicate(c.node, 1) :
	    cJSON_CreateString(c.text);
	return *out ? 1 : -1;
}

/* ----------------------------------------------------------- env vars */

static const char *
env_get(char *const *envp, const char *name, size_t len)
{
	char	 buf[256];

	if (envp == NULL) {
		if (len >= sizeof(buf) || memchr(name, '\0', len))
			return NULL;
		memcpy(buf, name, len);
		buf[len] = '\0';
		return getenv(buf);
	}
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

cJSON *
template_env_object(char *const *envp)
{
	cJSON	*obj = cJSON_CreateObject();

	if (envp == NULL)
		envp = environ;
	for (; obj != NULL && *envp != NULL; envp++) {
		const char	*eq = strchr(*envp, '=');
		char		*name;
		cJSON		*v;

		if (eq == NULL || eq == *envp)
			continue;
		if ((name = strndup(*envp, (size_t)(eq - *envp))) == NULL) {
			cJSON_Delete(obj);
			return NULL;
		}
		if (cJSON_GetObjectItemCaseSensitive(obj, name) == NULL &&
		    ((v = cJSON_CreateString(eq + 1)) == NULL ||
		    !cJSON_AddItemToObject(obj, name, v))) {
			cJSON_Delete(v);
			cJSON_Delete(obj);
			obj = NULL;
		}
		free(name);
	}
	return obj;
}

/* -------------------------------------------------------- apply_values */

struct apply {
	const cJSON			*values;
	int				 remove_notset;
	const struct template_opts	*opts;
	char				*err;
	size_t				 errlen;
	template_notset_fn		 notset;	/* may be NULL */
	void				*notset_arg;
};

static int
skipped(const struct apply *a, const char *name, size_t len)
{
	const char *const *p;

	if (a->opts == NULL || a->opts->skip_prefixes == NULL)
		return 0;
	for (p = a->opts->skip_prefixes; *p != NULL; p++)
		if (tpl_has_prefix(name, len, *p))
			return 1;
	return 0;
}

/* Rebuilds s with each placeholder passed through fn(ctx, ...). */
int
tpl_rebuild(const char *s, embed_fn fn, void *ctx, cJSON **out, char *err,
    size_t errlen)
{
	size_t			 len = strlen(s), pos, last = 0;
	struct template_match	 m;
	struct buf		 b;
	char			*r;

	buf_init(&b, TPL_MAX);
	for (pos = 0; template_next(s, len, pos, &m); pos = m.start + m.len) {
		buf_append(&b, s + last, m.start - last);
		if (fn(ctx, &b, s, &m) == -1) {
			buf_cleanup(&b);
			return -1;
		}
		last = m.start + m.len;
	}
	buf_append(&b, s + last, len - last);
	if ((r = buf_finish(&b)) == NULL)
		return errorf(err, errlen, "templated string too large");
	*out = cJSON_CreateString(r);
	free(r);
	return *out ? 0 : errorf(err, errlen, "out of memory");
}

/* Appends the replacement of one embedded placeholder. */
static int
apply_embedded(void *ctx, struct buf *b, const char *s,
    const struct template_match *m)
{
	struct apply	*a = ctx;
	const char	*name = s + m->name_start, *env;
	size_t		 nlen = m->name_len;
	cJSON		*v;
	int		 rc;

	if (skipped(a, name, nlen) || m->kind == TEMPLATE_BLOCK ||
	    m->kind == TEMPLATE_VARIABLE) {
		buf_append(b, s + m->start, m->len);
		return 0;
	}
	if (m->kind == TEMPLATE_ENV) {
		while (nlen > 0 && *name == '$')
			name++, nlen--;
		env = env_get(a->opts ? a->opts->envp : NULL, name, nlen);
		if (env != NULL) {
			buf_puts(b, env);
			return 0;
		}
		if (a->notset != NULL) {
			char *ph = strndup(s + m->start, m->len);

			if (ph == NULL)
				return errorf(a->err, a->errlen, "out of "
				    "memory");
			a->notset(ph, a->notset_arg);
			free(ph);
		}
		if (!a->remove_notset)
			buf_append(b, s + m->start, m->len);
		return 0;
	}
	if ((rc = tpl_lookup(a->values, name, nlen, &v)) == -1)
		return errorf(a->err, a->errlen, "out of memory");
	if (rc == 1)
		tpl_py_str(b, v);
	else if (!a->remove_notset)
		buf_append(b, s + m->start, m->len);
	cJSON_Delete(v);
	return 0;
}

static int
apply_string(struct apply *a, const cJSON *node, cJSON **out)
{
	const char		*s = node->valuestring ? node->valuestring : "";
	size_t			 len = strlen(s), pos, active = 0;
	struct template_match	 m, first = { 0, 0, 0, 0, TEMPLATE_STANDARD };

	for (pos = 0; template_next(s, len, pos, &m); pos = m.start + m.len)
		if (!skipped(a, s + m.name_start, m.name_len) && active++ == 0)
			first = m;
	if (active == 0)
		return (*out = cJSON_Duplicate(node, 0)) ? 0 :
		    errorf(a->err, a->errlen, "out of memory");
	if (active == 1 && first.start == 0 && first.len == len &&
	    first.kind == TEMPLATE_STANDARD) {
		if (tpl_lookup(a->values, s + first.name_start, first.name_len,
		    out) == -1)
			return errorf(a->err, a->errlen, "out of memory");
		return 0;
	}
	return tpl_rebuild(s, apply_embedded, a, out, a->err, a->errlen);
}

static int	apply_node(struct apply *, const cJSON *, cJSON **);

int
tpl_add_member(cJSON *obj, const cJSON *from, cJSON *v)
{
	if (cJSON_IsObject(obj))
		return cJSON_AddItemToObject(obj, from->string ? from->string :
		    "", v) ? 0 : -1;
	return cJSON_AddItemToArray(obj, v) ? 0 : -1;
}

static int
apply_children(struct apply *a, const cJSON *node, cJSON *out)
{
	for (const cJSON *c = node->child; c != NULL; c = c->next) {
		cJSON	*v;

		if (apply_node(a, c, &v) == -1)
			return -1;
		/* Not set: arrays always drop it, objects unless asked. */
		if (v == NULL && cJSON_IsObject(node) && !a->remove_notset &&
		    (v = cJSON_Duplicate(c, 1)) == NULL)
			return errorf(a->err, a->errlen, "out of memory");
		if (v != NULL && tpl_add_member(out, c, v) == -1) {
			cJSON_Delete(v);
			return errorf(a->err, a->errlen, "out of memory");
		}
	}
	return 0;
}

static int
apply_node(struct apply *a, const cJSON *node, cJSON **out)
{
	*out = NULL;
	if (cJSON_IsString(node))
		return apply_string(a, node, out);
	if (!cJSON_IsArray(node) && !cJSON_IsObject(node))
		return (*out = cJSON_Duplicate(node, 0)) ? 0 :
		    errorf(a->err, a->errlen, "out of memory");
	*out = cJSON_IsArray(node) ? cJSON_CreateArray() : cJSON_CreateObject();
	if (*out == NULL)
		return errorf(a->err, a->errlen, "out of memory");
	if (apply_children(a, node, *out) == -1) {
		cJSON_Delete(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int
template_apply_values(const cJSON *tmpl, const cJSON *values,
    int remove_notset, const struct template_opts *opts, cJSON **out,
    char *err, size_t errlen)
{
	return tpl_apply_values(tmpl, values, remove_notset, opts, NULL, NULL,
	    out, err, errlen);
}

int
tpl_apply_values(const cJSON *tmpl, const cJSON *values, int remove_notset,
    const struct template_opts *opts, template_notset_fn notset, void *arg,
    cJSON **out, char *err, size_t errlen)
{
	struct apply	 a = { values, remove_notset, opts, err, errlen,
	    notset, arg };

	*out = NULL;
	if (tmpl == NULL)
		return errorf(err, errlen, "no template");
	return apply_node(&a, tmpl, out);
}

/* --------------------------------------------------------- pass chains */

typedef int (*resolve_pass)(const cJSON *, const struct template_resolver *,
    cJSON **, char *, size_t);

/* Runs one pass over *t, replacing it by the result. */
static int
pass(cJSON **t, resolve_pass fn, const struct template_resolver *r,
    char *err, size_t errlen)
{
	cJSON	*n = NULL;
	int	 rc = fn(*t, r, &n, err, errlen);

	cJSON_Delete(*t);
	*t = n;
	return rc;
}

/* The environment as values; a "not set" result becomes null. */
static int
pass_env(cJSON **t, char *const *envp, int remove_notset,
    template_notset_fn notset, void *arg, char *err, size_t errlen)
{
	struct template_opts	 o = { NULL, envp };
	cJSON			*env = template_env_object(envp), *n = NULL;
	int			 rc;

	if (env == NULL)
		return errorf(err, errlen, "out of memory");
	rc = tpl_apply_values(*t, env, remove_notset, &o, notset, arg, &n,
	    err, errlen);
	cJSON_Delete(env);
	if (rc == 0 && n == NULL && (n = cJSON_CreateNull()) == NULL)
		rc = errorf(err, errlen, "out of memory");
	cJSON_Delete(*t);
	*t = n;
	return rc;
}

int
template_step_inputs(const cJSON *inputs, const cJSON *upstream,
    const struct template_resolver *r, char *const *envp,
    template_notset_fn notset, void *notset_arg, cJSON **out, char *err,
    size_t errlen)
{
	struct template_opts	 o = { NULL, envp };
	cJSON			*t = NULL, *n = NULL;
	int			 rc;

	*out = NULL;
	if (tpl_apply_values(inputs, upstream, 1, &o, notset, notset_arg, &t,
	    err, errlen) == -1)
		return -1;
	if (t == NULL && (t = cJSON_CreateNull()) == NULL)
		return errorf(err, errlen, "out of memory");
	if (pass(&t, template_resolve_blocks, r, err, errlen) == -1) {
		cJSON_Delete(t);
		return -1;
	}
	rc = tpl_resolve_variables(t, r, notset, notset_arg, &n, err, errlen);
	cJSON_Delete(t);
	t = n;
	if (rc == -1 ||
	    pass_env(&t, envp, 1, notset, notset_arg, err, errlen) == -1) {
		cJSON_Delete(t);
		return -1;
	}
	*out = t;
	return 0;
}

int
template_deploy_config(const cJSON *config, const struct template_resolver *r,
    char *const *envp, cJSON **out, char *err, size_t errlen)
{
	cJSON	*t = NULL;

	*out = NULL;
	if (template_resolve_blocks(config, r, &t, err, errlen) == -1)
		return -1;
	if (pass(&t, template_resolve_variables, r, err, errlen) == -1 ||
	    pass_env(&t, envp, 0, NULL, NULL, err, errlen) == -1) {
		cJSON_Delete(t);
		return -1;
	}
	*out = t;
	return 0;
}
