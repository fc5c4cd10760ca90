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
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "deployments/template.h"
#include "deployments/yaml.h"

#define BLOCK_PREFIX	"prefect.blocks."
#define VAR_PREFIX	"prefect.variables."

static int
oom(char *err, size_t errlen)
{
	return errorf(err, errlen, "out of memory");
}

/* ------------------------------------------------------------ strings */

/* A growable string with a hard cap. */
struct sbuf {
	char	*p;
	size_t	 n, cap;
	int	 bad;		/* out of memory or over the cap */
};

static void
sb_add(struct sbuf *b, const char *s, size_t len)
{
	if (b->bad)
		return;
	if (b->n + len + 1 > TEMPLATE_MAX_STRING) {
		b->bad = 1;
		return;
	}
	if (b->n + len + 1 > b->cap) {
		size_t	 cap = b->cap ? b->cap : 64;
		char	*p;

		while (cap < b->n + len + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->bad = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* The finished string (caller frees), or NULL if anything failed. */
static char *
sb_take(struct sbuf *b)
{
	if (b->bad) {
		free(b->p);
		return NULL;
	}
	if (b->p == NULL)
		return strdup("");
	return b->p;
}

/* Decodes one UTF-8 character at s[i]; *cp is 0xFFFFFFFF if invalid. */
static size_t
utf8_next(const char *s, size_t len, size_t i, unsigned *cp)
{
	const unsigned char *u = (const unsigned char *)s + i;
	size_t		 n, k;
	unsigned	 c;

	if (u[0] < 0x80)
		return *cp = u[0], 1;
	if ((u[0] & 0xE0) == 0xC0)
		n = 2, c = u[0] & 0x1F;
	else if ((u[0] & 0xF0) == 0xE0)
		n = 3, c = u[0] & 0x0F;
	else if ((u[0] & 0xF8) == 0xF0)
		n = 4, c = u[0] & 0x07;
	else
		return *cp = 0xFFFFFFFFu, 1;
	if (i + n > len)
		return *cp = 0xFFFFFFFFu, 1;
	for (k = 1; k < n; k++) {
		if ((u[k] & 0xC0) != 0x80)
			return *cp = 0xFFFFFFFFu, 1;
		c = (c << 6) | (u[k] & 0x3F);
	}
	*cp = c;
	return n;
}

/* Python's str.isspace(). */
static int
is_space_cp(unsigned c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C &&
	    c <= 0x1F) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	    c == 0x202F || c == 0x205F || c == 0x3000;
}

/*
 * Python's \w: exact for ASCII and Latin-1, an approximation above
 * (common punctuation and symbol blocks are excluded).
 */
static int
is_word_cp(unsigned c)
{
	if (c < 0x80)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '_';
	if (c == 0xFFFFFFFFu || is_space_cp(c) || c < 0xA0)
		return 0;
	if (c < 0xC0)
		return c == 0xAA || c == 0xB2 || c == 0xB3 || c == 0xB5 ||
		    c == 0xB9 || c == 0xBA || (c >= 0xBC && c <= 0xBE);
	if (c == 0xD7 || c == 0xF7)
		return 0;
	return !((c >= 0x2000 && c <= 0x206F) || (c >= 0x2190 &&
	    c <= 0x23FF) || (c >= 0x2500 && c <= 0x27BF) || (c >= 0x3000 &&
	    c <= 0x3004) || (c >= 0x3008 && c <= 0x3020) || (c >= 0xFE30 &&
	    c <= 0xFE4F) || (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A &&
	    c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B &&
	    c <= 0xFF65) || c == 0xFEFF || (c >= 0xFFF0 && c <= 0xFFFF) ||
	    (c >= 0x1F000 && c <= 0x1FAFF));
}

/* Python's str.isprintable() for non-ASCII, approximately. */
static int
is_printable_cp(unsigned c)
{
	return !(c <= 0xA0 || c == 0xAD || (c >= 0x600 && c <= 0x605) ||
	    c == 0x61C || c == 0x6DD || c == 0x70F || c == 0x180E ||
	    c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 &&
	    c <= 0x202F) || (c >= 0x205F && c <= 0x206F) || c == 0x3000 ||
	    (c >= 0xD800 && c <= 0xF8FF) || c == 0xFEFF || (c >= 0xFFF9 &&
	    c <= 0xFFFB) || (c >= 0xFFFE && c <= 0xFFFF) || (c >= 0xE0000 &&
	    c <= 0xE007F) || c >= 0xF0000);
}

/* ------------------------------------------------------- placeholders */

static size_t
skip_spaces(const char *s, size_t len, size_t i)
{
	unsigned	 cp;
	size_t		 n;

	while (i < len && (n = utf8_next(s, len, i, &cp)) > 0 &&
	    is_space_cp(cp))
		i += n;
	return i;
}

static size_t
skip_name(const char *s, size_t len, size_t i)
{
	unsigned	 cp;
	size_t		 n;

	while (i < len) {
		n = utf8_next(s, len, i, &cp);
		if (!is_word_cp(cp) && cp != '.' && cp != '-' && cp != '[' &&
		    cp != ']' && cp != '$')
			break;
		i += n;
	}
	return i;
}

static int
has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t	 n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

static enum template_kind
kind_of(const char *name, size_t len)
{
	if (has_prefix(name, len, BLOCK_PREFIX))
		return TEMPLATE_BLOCK;
	if (has_prefix(name, len, VAR_PREFIX))
		return TEMPLATE_VARIABLE;
	if (len > 0 && name[0] == '$')
		return TEMPLATE_ENV;
	return TEMPLATE_STANDARD;
}

/* Matches {{\s*([\w.\-\[\]$]+)\s*}} at s[i]; 1 on success. */
static int
match_at(const char *s, size_t len, size_t i, struct template_match *m)
{
	size_t	 j = skip_spaces(s, len, i + 2), name, end;

	name = j;
	j = skip_name(s, len, j);
	if (j == name)
		return 0;
	end = j;
	j = skip_spaces(s, len, j);
	if (j + 1 >= len || s[j] != '}' || s[j + 1] != '}')
		return 0;
	m->start = i;
	m->len = j + 2 - i;
	m->name_start = name;
	m->name_len = end - name;
	m->kind = kind_of(s + name, end - name);
	return 1;
}

int
template_next(const char *s, size_t len, size_t from,
    struct template_match *m)
{
	for (size_t i = from; i + 1 < len; i++) {
		const char *p = memchr(s + i, '{', len - i);

		if (p == NULL)
			return 0;
		i = (size_t)(p - s);
		if (i + 1 < len && s[i + 1] == '{' && match_at(s, len, i, m))
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------- python str() */

static void	py_repr(struct sbuf *, const cJSON *);

static void
py_number(struct sbuf *b, const cJSON *v)
{
	char	 buf[64];
	double	 d = v->valuedouble;

	if ((v->type & YAML_CJSON_FLOAT) || d != floor(d) || isinf(d))
		yaml_format_float(d, buf, sizeof(buf));
	else if (fabs(d) < 9.2e18)
		snprintf(buf, sizeof(buf), "%lld", (long long)d);
	else
		snprintf(buf, sizeof(buf), "%.0f", d);
	sb_str(b, buf);
}

static void
repr_escape(struct sbuf *b, unsigned cp)
{
	char	 buf[16];

	if (cp <= 0xFF)
		snprintf(buf, sizeof(buf), "\\x%02x", cp);
	else if (cp <= 0xFFFF)
		snprintf(buf, sizeof(buf), "\\u%04x", cp);
	else
		snprintf(buf, sizeof(buf), "\\U%08x", cp);
	sb_str(b, buf);
}

/* Python's repr(str): quote choice and escapes. */
static void
py_repr_string(struct sbuf *b, const char *s)
{
	size_t	 len = strlen(s), n;
	char	 q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
	unsigned cp;

	sb_add(b, &q, 1);
	for (size_t i = 0; i < len; i += n) {
		n = utf8_next(s, len, i, &cp);
		if (cp == (unsigned)q || cp == '\\') {
			sb_str(b, "\\");
			sb_add(b, s + i, 1);
		} else if (cp == '\t')
			sb_str(b, "\\t");
		else if (cp == '\n')
			sb_str(b, "\\n");
		else if (cp == '\r')
			sb_str(b, "\\r");
		else if (cp < 0x20 || cp == 0x7F)
			repr_escape(b, cp);
		else if (cp < 0x7F || cp == 0xFFFFFFFFu || is_printable_cp(cp))
			sb_add(b, s + i, n);
		else
			repr_escape(b, cp);
	}
	sb_add(b, &q, 1);
}

static void
py_repr(struct sbuf *b, const cJSON *v)
{
	const cJSON	*c;

	if (cJSON_IsString(v))
		py_repr_string(b, v->valuestring ? v->valuestring : "");
	else if (cJSON_IsNumber(v))
		py_number(b, v);
	else if (cJSON_IsTrue(v))
		sb_str(b, "True");
	else if (cJSON_IsFalse(v))
		sb_str(b, "False");
	else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		sb_str(b, cJSON_IsArray(v) ? "[" : "{");
		for (c = v->child; c != NULL; c = c->next) {
			if (cJSON_IsObject(v)) {
				py_repr_string(b, c->string ? c->string : "");
				sb_str(b, ": ");
			}
			py_repr(b, c);
			if (c->next != NULL)
				sb_str(b, ", ");
		}
		sb_str(b, cJSON_IsArray(v) ? "]" : "}");
	} else if (cJSON_IsRaw(v) && v->valuestring != NULL)
		sb_str(b, v->valuestring);
	else
		sb_str(b, "None");
}

static void
py_str(struct sbuf *b, const cJSON *v)
{
	if (cJSON_IsString(v))
		sb_str(b, v->valuestring ? v->valuestring : "");
	else
		py_repr(b, v);
}

char *
template_py_str(const cJSON *v)
{
	struct sbuf	 b = { NULL, 0, 0, 0 };

	py_str(&b, v);
	return sb_take(&b);
}

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

	for (i = 0; i < len; i += utf8_next(s, len, i, &cp))
		count++;
	if (idx < 0)
		idx += (long long)count;
	if (idx < 0 || (size_t)idx >= count)
		return -1;
	for (i = 0; idx > 0; idx--)
		i += utf8_next(s, len, i, &cp);
	*off = i;
	*n = utf8_next(s, len, i, &cp);
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
static int
lookup(const cJSON *root, const char *path, size_t len, cJSON **out)
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
};

static int
skipped(const struct apply *a, const char *name, size_t len)
{
	const char *const *p;

	if (a->opts == NULL || a->opts->skip_prefixes == NULL)
		return 0;
	for (p = a->opts->skip_prefixes; *p != NULL; p++)
		if (has_prefix(name, len, *p))
			return 1;
	return 0;
}

typedef int (*embed_fn)(void *ctx, struct sbuf *, const char *,
    const struct template_match *);

/* Rebuilds s with each placeholder passed through fn(ctx, ...). */
static int
rebuild(const char *s, embed_fn fn, void *ctx, cJSON **out, char *err,
    size_t errlen)
{
	size_t			 len = strlen(s), pos, last = 0;
	struct template_match	 m;
	struct sbuf		 b = { NULL, 0, 0, 0 };
	char			*r;

	for (pos = 0; template_next(s, len, pos, &m); pos = m.start + m.len) {
		sb_add(&b, s + last, m.start - last);
		if (fn(ctx, &b, s, &m) == -1) {
			free(b.p);
			return -1;
		}
		last = m.start + m.len;
	}
	sb_add(&b, s + last, len - last);
	if ((r = sb_take(&b)) == NULL)
		return errorf(err, errlen, "templated string too large");
	*out = cJSON_CreateString(r);
	free(r);
	return *out ? 0 : oom(err, errlen);
}

/* Appends the replacement of one embedded placeholder. */
static int
apply_embedded(void *ctx, struct sbuf *b, const char *s,
    const struct template_match *m)
{
	struct apply	*a = ctx;
	const char	*name = s + m->name_start, *env;
	size_t		 nlen = m->name_len;
	cJSON		*v;
	int		 rc;

	if (skipped(a, name, nlen) || m->kind == TEMPLATE_BLOCK ||
	    m->kind == TEMPLATE_VARIABLE) {
		sb_add(b, s + m->start, m->len);
		return 0;
	}
	if (m->kind == TEMPLATE_ENV) {
		while (nlen > 0 && *name == '$')
			name++, nlen--;
		env = env_get(a->opts ? a->opts->envp : NULL, name, nlen);
		if (env != NULL)
			sb_str(b, env);
		else if (!a->remove_notset)
			sb_add(b, s + m->start, m->len);
		return 0;
	}
	if ((rc = lookup(a->values, name, nlen, &v)) == -1)
		return oom(a->err, a->errlen);
	if (rc == 1)
		py_str(b, v);
	else if (!a->remove_notset)
		sb_add(b, s + m->start, m->len);
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
		    oom(a->err, a->errlen);
	if (active == 1 && first.start == 0 && first.len == len &&
	    first.kind == TEMPLATE_STANDARD) {
		if (lookup(a->values, s + first.name_start, first.name_len,
		    out) == -1)
			return oom(a->err, a->errlen);
		return 0;
	}
	return rebuild(s, apply_embedded, a, out, a->err, a->errlen);
}

static int	apply_node(struct apply *, const cJSON *, cJSON **);

static int
add_member(cJSON *obj, const cJSON *from, cJSON *v)
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
			return oom(a->err, a->errlen);
		if (v != NULL && add_member(out, c, v) == -1) {
			cJSON_Delete(v);
			return oom(a->err, a->errlen);
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
		    oom(a->err, a->errlen);
	*out = cJSON_IsArray(node) ? cJSON_CreateArray() : cJSON_CreateObject();
	if (*out == NULL)
		return oom(a->err, a->errlen);
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
	struct apply	 a = { values, remove_notset, opts, err, errlen };

	*out = NULL;
	if (tmpl == NULL)
		return errorf(err, errlen, "no template");
	return apply_node(&a, tmpl, out);
}

/* ---------------------------------------------------------- resolvers */

struct resolve {
	const struct template_resolver	*r;
	cJSON				*blocks;	/* slug/name -> data */
	cJSON				*ids;		/* id -> data */
	cJSON				*vars;		/* name -> value */
	cJSON				*missing;	/* name -> true */
	char				*err;
	size_t				 errlen;
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
	c->err = err;
	c->errlen = errlen;
	c->blocks = cJSON_CreateObject();
	c->ids = cJSON_CreateObject();
	c->vars = cJSON_CreateObject();
	c->missing = cJSON_CreateObject();
	if (!c->blocks || !c->ids || !c->vars || !c->missing) {
		resolve_done(c);
		return oom(err, errlen);
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
		return oom(c->err, c->errlen), NULL;
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
		oom(c->err, c->errlen);
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
		return oom(c->err, c->errlen);
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
		    oom(c->err, c->errlen);
	else if ((rc = lookup(data, kp, strlen(kp), out)) == 0)
		rc = errorf(c->err, c->errlen, "invalid template: '%s'. Could "
		    "not resolve the keypath in the block document data", ref);
	else if (rc == -1)
		oom(c->err, c->errlen);
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
blocks_embedded(void *ctx, struct sbuf *b, const char *s,
    const struct template_match *m)
{
	struct resolve	*c = ctx;
	char	 ref[256];
	cJSON	*v;

	if (m->kind != TEMPLATE_BLOCK) {
		sb_add(b, s + m->start, m->len);
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
	py_str(b, v);
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
		    oom(c->err, c->errlen);
	if (total == 1 && m.start == 0 && m.len == strlen(s))
		return block_value(c, s + m.name_start, m.name_len,
		    ref_text(s, &m, ref, sizeof(ref)), out);
	return rebuild(s, blocks_embedded, c, out, c->err, c->errlen);
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
			return oom(c->err, c->errlen);
		}
		hit = data;
	}
	return (*out = cJSON_Duplicate(hit, 1)) ? 0 : oom(c->err, c->errlen);
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
		    oom(c->err, c->errlen);
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
		return oom(c->err, c->errlen);
	for (const cJSON *k = node->child; k != NULL; k = k->next) {
		cJSON	*v;

		if (walk(c, k, fn, refs, &v) == -1)
			goto fail;
		if (add_member(*out, k, v) == -1) {
			cJSON_Delete(v);
			oom(c->err, c->errlen);
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
    int refs, cJSON **out, char *err, size_t errlen)
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
	rc = walk(&c, tmpl, fn, refs, out);
	resolve_done(&c);
	return rc;
}

int
template_resolve_blocks(const cJSON *tmpl, const struct template_resolver *r,
    cJSON **out, char *err, size_t errlen)
{
	return resolve(tmpl, r, blocks_string, 1, out, err, errlen);
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
		return oom(c->err, c->errlen);
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
		    oom(c->err, c->errlen);
	} else if (!cJSON_AddItemToObject(c->vars, var, v)) {
		cJSON_Delete(v);
		rc = oom(c->err, c->errlen);
	} else
		*val = v;
	free(var);
	return rc == -1 ? -1 : 0;
}

static int
vars_embedded(void *ctx, struct sbuf *b, const char *s,
    const struct template_match *m)
{
	struct resolve	*c = ctx;
	const cJSON	*v;

	if (m->kind != TEMPLATE_VARIABLE) {
		sb_add(b, s + m->start, m->len);
		return 0;
	}
	if (var_value(c, s + m->name_start, m->name_len, &v) == -1)
		return -1;
	if (v != NULL)
		py_str(b, v);
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
		    oom(c->err, c->errlen);
	if (total == 1 && m.start == 0 && m.len == strlen(s)) {
		if (var_value(c, s + m.name_start, m.name_len, &v) == -1)
			return -1;
		*out = v ? cJSON_Duplicate(v, 1) : cJSON_CreateString("");
		return *out ? 0 : oom(c->err, c->errlen);
	}
	return rebuild(s, vars_embedded, c, out, c->err, c->errlen);
}

int
template_resolve_variables(const cJSON *tmpl,
    const struct template_resolver *r, cJSON **out, char *err, size_t errlen)
{
	return resolve(tmpl, r, vars_string, 0, out, err, errlen);
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
pass_env(cJSON **t, char *const *envp, int remove_notset, char *err,
    size_t errlen)
{
	struct template_opts	 o = { NULL, envp };
	cJSON			*env = template_env_object(envp), *n = NULL;
	int			 rc;

	if (env == NULL)
		return oom(err, errlen);
	rc = template_apply_values(*t, env, remove_notset, &o, &n, err,
	    errlen);
	cJSON_Delete(env);
	if (rc == 0 && n == NULL && (n = cJSON_CreateNull()) == NULL)
		rc = oom(err, errlen);
	cJSON_Delete(*t);
	*t = n;
	return rc;
}

int
template_step_inputs(const cJSON *inputs, const cJSON *upstream,
    const struct template_resolver *r, char *const *envp, cJSON **out,
    char *err, size_t errlen)
{
	struct template_opts	 o = { NULL, envp };
	cJSON			*t = NULL;

	*out = NULL;
	if (template_apply_values(inputs, upstream, 1, &o, &t, err,
	    errlen) == -1)
		return -1;
	if (t == NULL && (t = cJSON_CreateNull()) == NULL)
		return oom(err, errlen);
	if (pass(&t, template_resolve_blocks, r, err, errlen) == -1 ||
	    pass(&t, template_resolve_variables, r, err, errlen) == -1 ||
	    pass_env(&t, envp, 1, err, errlen) == -1) {
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
	    pass_env(&t, envp, 0, err, errlen) == -1) {
		cJSON_Delete(t);
		return -1;
	}
	*out = t;
	return 0;
}
