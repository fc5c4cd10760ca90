/*
 * jsonv.c: the JSON reader and writer of load/jsonv.h. Recursive
 * descent bounded by JV_MAX_DEPTH; strings are decoded (escapes,
 * surrogate pairs) into the arena.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/jsonv.h"

#define BLOCK_MIN	(64u << 10)

struct jv_block {
	struct jv_block	*next;
	size_t		 size;
	char		 data[];
};

void *
jv_alloc(struct jv_arena *a, size_t n)
{
	struct jv_block	*b = a->blocks;

	n = (n + 15) & ~(size_t)15;
	if (b == NULL || a->used + n > b->size) {
		size_t	size = n > BLOCK_MIN ? n : BLOCK_MIN;

		b = xmalloc(sizeof(*b) + size);
		b->size = size;
		b->next = a->blocks;
		a->blocks = b;
		a->used = 0;
	}
	a->used += n;
	return b->data + a->used - n;
}

void
jv_arena_reset(struct jv_arena *a)
{
	struct jv_block	*b, *next;

	if (a->blocks == NULL)
		return;
	/* Keeps the newest block, for the next item. */
	for (b = a->blocks->next; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->blocks->next = NULL;
	a->used = 0;
}

void
jv_arena_free(struct jv_arena *a)
{
	struct jv_block	*b = a->blocks, *next;

	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->blocks = NULL;
	a->used = 0;
}

struct parser {
	struct jv_arena	*a;
	const char	*p, *start, *end;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static struct jv *
fail(struct parser *ps, const char *what)
{
	if (!ps->failed)
		errorf(ps->err, ps->errlen, "invalid JSON at byte %zu: %s",
		    (size_t)(ps->p - ps->start), what);
	ps->failed = 1;
	return NULL;
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
	    *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

/* Past blanks, takes c when it comes next: 1, else 0. */
static int
at(struct parser *ps, char c)
{
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == c) {
		ps->p++;
		return 1;
	}
	return 0;
}

static int
hex4(const char *p, unsigned *out)
{
	unsigned	v = 0;

	for (int i = 0; i < 4; i++) {
		char	c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t
utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes the string at ps->p (after the quote) into the arena. */
static int
parse_string(struct parser *ps, const char **out, size_t *outlen)
{
	const char	*q = ps->p;
	char		*o, *w;

	/* The decoded text is never longer than the source. */
	for (q = ps->p; q < ps->end && *q != '"'; q++)
		if (*q == '\\')
			q++;
	if (q >= ps->end)
		return fail(ps, "unterminated string"), -1;
	o = w = jv_alloc(ps->a, (size_t)(q - ps->p) + 1);
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char	c = (unsigned char)*ps->p++;
		unsigned	cp, lo;

		if (c < 0x20)
			return fail(ps, "control character in string"), -1;
		if (c != '\\') {
			*w++ = (char)c;
			continue;
		}
		if (ps->p >= ps->end)
			return fail(ps, "unterminated string"), -1;
		switch (c = (unsigned char)*ps->p++) {
		case '"': case '\\': case '/':
			*w++ = (char)c;
			break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u':
			if (ps->end - ps->p < 4 || hex4(ps->p, &cp) < 0)
				return fail(ps, "bad \\u escape"), -1;
			ps->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 &&
			    ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
			    ps->p[1] == 'u' && hex4(ps->p + 2, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				ps->p += 6;
			}
			/* A lone surrogate: 3 bytes, as Python keeps
			   it (surrogatepass would); never longer than
			   its 6-byte escape. */
			w += utf8_put(w, cp);
			break;
		default:
			return fail(ps, "bad escape in string"), -1;
		}
	}
	ps->p++;	/* the closing quote */
	*w = '\0';
	*out = o;
	*outlen = (size_t)(w - o);
	return 0;
}

static struct jv *parse_value(struct parser *, int depth);

static struct jv *
parse_number(struct parser *ps, struct jv *v)
{
	const char	*s = ps->p;
	int		 is_float = 0;
	char		 tmp[64];
	size_t		 len;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return fail(ps, "bad number");
	if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' &&
	    ps->p[1] <= '9')
		return fail(ps, "leading zero in number");
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		is_float = 1;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "bad fraction");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		is_float = 1;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps, "bad exponent");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	v->s = s;
	v->len = len = (size_t)(ps->p - s);
	if (len >= sizeof(tmp)) {
		char	*big = jv_alloc(ps->a, len + 1);

		memcpy(big, s, len);
		big[len] = '\0';
		if (is_float) {
			v->kind = JV_FLOAT;
			v->d = strtod(big, NULL);
		} else
			v->kind = JV_BIGINT;
		return v;
	}
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (is_float) {
		v->kind = JV_FLOAT;
		v->d = strtod(tmp, NULL);
		return v;
	}
	errno = 0;
	v->i = strtoll(tmp, NULL, 10);
	v->kind = errno == ERANGE ? JV_BIGINT : JV_INT;
	return v;
}

static int
literal(struct parser *ps, const char *word)
{
	size_t	n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return -1;
	ps->p += n;
	return 0;
}

static void
add_member(struct jv *parent, struct jv *m)
{
	if (parent->last == NULL)
		parent->first = m;
	else
		parent->last->next = m;
	parent->last = m;
	parent->n++;
}

static struct jv *
parse_object(struct parser *ps, struct jv *v, int depth)
{
	v->kind = JV_OBJECT;
	if (at(ps, '}'))
		return v;
	for (;;) {
		const char	*key;
		size_t		 keylen;
		struct jv	*m, *old;

		if (!at(ps, '"'))
			return fail(ps, "expected a key");
		if (parse_string(ps, &key, &keylen) < 0)
			return NULL;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p++ != ':')
			return fail(ps, "expected ':'");
		if ((m = parse_value(ps, depth + 1)) == NULL)
			return NULL;
		m->key = key;
		m->keylen = keylen;
		/* A repeated key replaces the value in place (a dict). */
		for (old = v->first; old != NULL; old = old->next)
			if (old->keylen == keylen &&
			    memcmp(old->key, key, keylen) == 0)
				break;
		if (old != NULL) {
			struct jv	*keep = old->next;

			*old = *m;
			old->next = keep;
		} else
			add_member(v, m);
		if (at(ps, ','))
			continue;
		if (at(ps, '}'))
			return v;
		return fail(ps, "expected ',' or '}'");
	}
}

static struct jv *
parse_array(struct parser *ps, struct jv *v, int depth)
{
	v->kind = JV_ARRAY;
	if (at(ps, ']'))
		return v;
	for (;;) {
		struct jv	*m;

		if ((m = parse_value(ps, depth + 1)) == NULL)
			return NULL;
		add_member(v, m);
		if (at(ps, ','))
			continue;
		if (at(ps, ']'))
			return v;
		return fail(ps, "expected ',' or ']'");
	}
}

static struct jv *
parse_value(struct parser *ps, int depth)
{
	struct jv	*v;

	if (depth > JV_MAX_DEPTH)
		return fail(ps, "nested too deeply");
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end");
	v = jv_alloc(ps->a, sizeof(*v));
	memset(v, 0, sizeof(*v));
	switch (*ps->p) {
	case '{':
	case '[':
		v->raw = ps->p++;
		if ((*v->raw == '{' ? parse_object(ps, v, depth) :
		    parse_array(ps, v, depth)) == NULL)
			return NULL;
		v->rawlen = (size_t)(ps->p - v->raw);
		return v;
	case '"':
		ps->p++;
		v->kind = JV_STRING;
		return parse_string(ps, &v->s, &v->len) < 0 ? NULL : v;
	case 't':
		v->kind = JV_BOOL;
		v->b = 1;
		return literal(ps, "true") < 0 ? fail(ps, "bad literal") : v;
	case 'f':
		v->kind = JV_BOOL;
		return literal(ps, "false") < 0 ? fail(ps, "bad literal") : v;
	case 'n':
		v->kind = JV_NULL;
		return literal(ps, "null") < 0 ? fail(ps, "bad literal") : v;
	default:
		return parse_number(ps, v);
	}
}

struct jv *
jv_parse(struct jv_arena *a, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct parser	 ps = {
		a, text, text, text + len, err, errlen, 0
	};
	struct jv	*v;

	if ((v = parse_value(&ps, 0)) == NULL)
		return NULL;
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, "extra data after the value");
	return v;
}

struct jv *
jv_get(const struct jv *obj, const char *key)
{
	size_t	n = strlen(key);

	if (obj == NULL || obj->kind != JV_OBJECT)
		return NULL;
	for (struct jv *m = obj->first; m != NULL; m = m->next)
		if (m->keylen == n && memcmp(m->key, key, n) == 0)
			return m;
	return NULL;
}

int
jv_write_string(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, run = 0;

	if (buf_append(b, "\"", 1) < 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)s[i];
		char		e[6];
		size_t		en = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (buf_append(b, s + run, i - run) < 0)
			return -1;
		run = i + 1;
		e[0] = '\\';
		switch (c) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		default:
			memcpy(e + 1, "u00", 3);
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			en = 6;
		}
		if (buf_append(b, e, en) < 0)
			return -1;
	}
	if (buf_append(b, s + run, len - run) < 0)
		return -1;
	return buf_append(b, "\"", 1);
}

int
jv_write(struct buf *b, const struct jv *v)
{
	const struct jv	*m;

	switch (v->kind) {
	case JV_NULL:
		return buf_append(b, "null", 4);
	case JV_BOOL:
		return v->b ? buf_append(b, "true", 4) :
		    buf_append(b, "false", 5);
	case JV_INT:
	case JV_BIGINT:
	case JV_FLOAT:
		return buf_append(b, v->s, v->len);
	case JV_STRING:
		return jv_write_string(b, v->s, v->len);
	case JV_ARRAY:
		if (buf_append(b, "[", 1) < 0)
			return -1;
		for (m = v->first; m != NULL; m = m->next)
			if ((m != v->first && buf_append(b, ",", 1) < 0) ||
			    jv_write(b, m) < 0)
				return -1;
		return buf_append(b, "]", 1);
	case JV_OBJECT:
		if (buf_append(b, "{", 1) < 0)
			return -1;
		for (m = v->first; m != NULL; m = m->next)
			if ((m != v->first && buf_append(b, ",", 1) < 0) ||
			    jv_write_string(b, m->key, m->keylen) < 0 ||
			    buf_append(b, ":", 1) < 0 || jv_write(b, m) < 0)
				return -1;
		return buf_append(b, "}", 1);
	}
	return -1;
}
