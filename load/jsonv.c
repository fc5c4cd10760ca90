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

/* Valid JSON that Python's json and orjson (dlt) refuse: dlt's words. */
static struct jv *
fail_utf8(struct parser *ps, const char *at, const char *why)
{
	if (!ps->failed)
		errorf(ps->err, ps->errlen, "str is not valid UTF-8: %s (at "
		    "byte %zu)", why, (size_t)(at - ps->start));
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

/*
 * The length of the UTF-8 sequence at p (its first byte >= 0x80), 0
 * when it is not one Python's decoder takes; *surrogate set for an
 * encoded surrogate (ED A0..BF), which it refuses too.
 */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end, int *surrogate)
{
	unsigned char	c = p[0], lo = 0x80, hi = 0xbf;
	size_t		n;

	*surrogate = 0;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed && end - p > 1 && p[1] >= 0xa0) {
			*surrogate = 1;
			return 0;
		}
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* What a byte is inside a string: 0 plain, else a reason to look. */
static const unsigned char in_string[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

/*
 * Decodes the string at ps->p (after the quote). Without escapes the
 * text is the input's own (not NUL-terminated: every user goes by
 * len); with them, a copy in the arena. UTF-8 is checked as Python
 * decodes it: surrogates, encoded or escaped alone, are refused.
 */
static int
parse_string(struct parser *ps, const char **out, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)ps->p;
	const unsigned char *end = (const unsigned char *)ps->end, *q;
	char		*o, *w;
	int		 sur;
	size_t		 n;

	for (q = p; q < end; q++) {
		switch (in_string[*q]) {
		case 0:
			continue;
		case 1:
			ps->p = (const char *)q;
			return fail(ps, "control character in string"), -1;
		case 2:
			*out = (const char *)p;
			*outlen = (size_t)(q - p);
			ps->p = (const char *)q + 1;
			return 0;
		case 3:
			goto escaped;
		default:
			if ((n = utf8_len(q, end, &sur)) == 0)
				return fail_utf8(ps, (const char *)q, sur ?
				    "surrogates not allowed" :
				    "invalid byte sequence"), -1;
			q += n - 1;
		}
	}
	ps->p = (const char *)q;
	return fail(ps, "unterminated string"), -1;
escaped:
	/* The decoded text is never longer than the source. */
	for (; q < end && *q != '"'; q++)
		if (*q == '\\')
			q++;
	if (q >= end)
		return fail(ps, "unterminated string"), -1;
	o = w = jv_alloc(ps->a, (size_t)(q - p) + 1);
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char	c = (unsigned char)*ps->p;
		unsigned	cp, lo;

		if (c < 0x20)
			return fail(ps, "control character in string"), -1;
		if (c >= 0x80) {
			if ((n = utf8_len((const unsigned char *)ps->p, end,
			    &sur)) == 0)
				return fail_utf8(ps, ps->p, sur ?
				    "surrogates not allowed" :
				    "invalid byte sequence"), -1;
			memcpy(w, ps->p, n);
			w += n;
			ps->p += n;
			continue;
		}
		ps->p++;
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
			} else if (cp >= 0xd800 && cp < 0xe000)
				/* A lone surrogate: Python holds it, but
				   no UTF-8 text can (orjson, dlt). */
				return fail_utf8(ps, ps->p - 6,
				    "surrogates not allowed"), -1;
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

static const double pow10_exact[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/*
 * The double of a number's text, as strtod rounds it: without strtod
 * when the digits fit 2^53 and the power of ten is exact (Clinger's
 * fast path: one operation on two exact doubles rounds once).
 */
static double
number_value(const char *s, size_t len)
{
	unsigned long long m = 0;
	int		 neg = 0, e10 = 0, digits = 0, esign = 1, ex = 0;
	size_t		 i = 0;
	char		 tmp[64], *copy = tmp;
	double		 d;

	if (s[0] == '-') {
		neg = 1;
		i++;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (digits > 0 || s[i] != '0')
			digits++;
		if (digits <= 19)
			m = m * 10 + (unsigned)(s[i] - '0');
	}
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (digits > 0 || s[i] != '0')
				digits++;
			if (digits <= 19)
				m = m * 10 + (unsigned)(s[i] - '0');
			e10--;
		}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (s[i] == '-' || s[i] == '+')
			esign = s[i++] == '-' ? -1 : 1;
		for (; i < len && s[i] >= '0' && s[i] <= '9' && ex < 10000; i++)
			ex = ex * 10 + (s[i] - '0');
		e10 += esign * ex;
	}
	if (digits <= 19 && m <= (1ULL << 53) && e10 >= -22 && e10 <= 22 &&
	    i == len) {
		d = (double)m;
		d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
		return neg ? -d : d;
	}
	if (len >= sizeof(tmp))
		copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	d = strtod(copy, NULL);
	if (copy != tmp)
		free(copy);
	return d;
}

static struct jv *
parse_number(struct parser *ps, struct jv *v)
{
	const char	*s = ps->p;
	int		 is_float = 0;
	size_t		 len, ndigits;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return fail(ps, "bad number");
	if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' &&
	    ps->p[1] <= '9')
		return fail(ps, "leading zero in number");
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	ndigits = (size_t)(ps->p - s) - (*s == '-');
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
	if (is_float) {
		v->kind = JV_FLOAT;
		v->d = number_value(s, len);
		return v;
	}
	v->kind = JV_INT;
	if (ndigits <= 18) {
		long long	 i = 0;

		for (const char *d = s + (*s == '-'); d < ps->p; d++)
			i = i * 10 + (*d - '0');
		v->i = *s == '-' ? -i : i;
		return v;
	}
	/* 19 digits and more: int64 or beyond it (text only). */
	{
		unsigned long long u = 0, lim = *s == '-' ?
		    (1ULL << 63) : (1ULL << 63) - 1;

		for (const char *d = s + (*s == '-'); d < ps->p; d++) {
			unsigned	digit = (unsigned)(*d - '0');

			if (u > (lim - digit) / 10) {
				v->kind = JV_BIGINT;
				return v;
			}
			u = u * 10 + digit;
		}
		v->i = *s == '-' ? (long long)(0 - u) : (long long)u;
	}
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

/*
 * The members of an object by key, for objects too wide to search
 * (a dict: a repeated key replaces the value in place). Open
 * addressing in the arena, grown by doubling: linear in the width.
 */
#define KEYSET_FROM	16

struct keyset {
	struct jv	**slot;
	size_t		  cap;		/* a power of two */
};

static uint64_t
key_hash(const char *k, size_t n)
{
	return hash_fnv1a(k, n);
}

static struct jv **
keyset_find(const struct keyset *ks, const char *key, size_t keylen)
{
	size_t	i = (size_t)key_hash(key, keylen) & (ks->cap - 1);

	for (; ks->slot[i] != NULL; i = (i + 1) & (ks->cap - 1))
		if (ks->slot[i]->keylen == keylen &&
		    memcmp(ks->slot[i]->key, key, keylen) == 0)
			break;
	return &ks->slot[i];
}

static void
keyset_grow(struct jv_arena *a, struct keyset *ks, const struct jv *obj)
{
	ks->cap = ks->cap ? ks->cap * 2 : 64;
	ks->slot = jv_alloc(a, ks->cap * sizeof(*ks->slot));
	memset(ks->slot, 0, ks->cap * sizeof(*ks->slot));
	for (struct jv *m = obj->first; m != NULL; m = m->next)
		*keyset_find(ks, m->key, m->keylen) = m;
}

/* The member already under key, or NULL. */
static struct jv *
find_member(struct jv_arena *a, struct keyset *ks, const struct jv *obj,
    const char *key, size_t keylen)
{
	if (obj->n < KEYSET_FROM) {
		for (struct jv *m = obj->first; m != NULL; m = m->next)
			if (m->keylen == keylen &&
			    memcmp(m->key, key, keylen) == 0)
				return m;
		return NULL;
	}
	if ((obj->n + 1) * 2 > ks->cap)
		keyset_grow(a, ks, obj);
	return *keyset_find(ks, key, keylen);
}

static struct jv *
parse_object(struct parser *ps, struct jv *v, int depth)
{
	struct keyset	ks = { NULL, 0 };

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
		if ((old = find_member(ps->a, &ks, v, key, keylen)) != NULL) {
			struct jv	*keep = old->next;

			*old = *m;
			old->next = keep;
		} else {
			add_member(v, m);
			if (ks.cap > 0)
				*keyset_find(&ks, key, keylen) = m;
		}
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

int
jv_number(const char *s, size_t len, double *out)
{
	struct parser	 ps = { NULL, s, s, s + len, NULL, 0, 1 };
	struct jv	 v;

	memset(&v, 0, sizeof(v));
	if (len == 0 || parse_number(&ps, &v) == NULL || ps.p != ps.end)
		return -1;
	*out = v.kind == JV_FLOAT ? v.d : v.kind == JV_INT ? (double)v.i :
	    number_value(s, len);
	return 0;
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
