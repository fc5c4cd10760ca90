/*
 * toml.c: a TOML 1.0.0 reader producing a cJSON tree (see toml.h).
 *
 * The text is checked for valid UTF-8 once, then read in one pass: each
 * line is blank, a comment, a [table] or [[array]] header, or a
 * key = value pair added to the current table.  The redefinition rules
 * depend on how each table came to be, so during the parse the unused
 * valueint of objects and arrays holds creation flags; they are cleared
 * before the tree is handed out.  Errors keep only the first failure
 * and its position, computed from the byte where it happened.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "config/toml.h"

#define MAX_DEPTH	512	/* tree depth; cJSON_Delete recurses */
#define TOML_FILE_MAX	(16u << 20)	/* configuration, not data */

/* Creation flags of objects and arrays while parsing. */
#define F_IMPLICIT	0x01	/* made by a longer header: a in [a.b] */
#define F_EXPLICIT	0x02	/* defined by its own header */
#define F_DOTTED	0x04	/* made by a dotted key: a in a.b = 1 */
#define F_FROZEN	0x08	/* an inline table */
#define F_AOT		0x10	/* an array made by [[header]] */

struct parser {
	const char		*start, *p, *end;
	cJSON			*root;
	cJSON			*cur;	/* the table being filled */
	int			 depth;	/* of the next value */
	int			 cur_depth; /* of cur's values */
	int			 failed;
	struct toml_error	*err;
};

struct text {
	char	*s;
	size_t	 n, cap;
};

struct keys {
	char	**v;
	int	  n, cap;
};

static cJSON	*value(struct parser *);

static int
fail(struct parser *ps, const char *at, const char *msg, const char *key)
{
	const char	*q, *ls = ps->start;
	char		 k[64];
	int		 line = 1, col = 1;
	size_t		 i;

	if (ps->failed)
		return -1;
	ps->failed = 1;
	if (at > ps->end)
		at = ps->end;
	for (q = ps->start; q < at; q++)
		if (*q == '\n') {
			line++;
			ls = q + 1;
		}
	for (q = ls; q < at; q++)
		if ((*q & 0xC0) != 0x80)
			col++;
	ps->err->line = line;
	ps->err->col = col;
	if (key == NULL) {
		snprintf(ps->err->msg, sizeof(ps->err->msg), "%d:%d: %s",
		    line, col, msg);
		return -1;
	}
	/* Keys may hold escaped control characters: keep logs clean. */
	for (i = 0; i < sizeof(k) - 1 && key[i] != '\0'; i++)
		k[i] = ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) ?
		    '?' : key[i];
	k[i] = '\0';
	snprintf(ps->err->msg, sizeof(ps->err->msg), "%d:%d: %s '%s'",
	    line, col, msg, k);
	return -1;
}

static int
oom(struct parser *ps)
{
	return fail(ps, ps->p, "out of memory", NULL);
}

/* Returns the first byte that is not valid UTF-8, or NULL. */
static const char *
utf8_bad(const char *s, const char *end)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*e = (const unsigned char *)end;
	unsigned long		 cp, min;
	int			 i, n;

	while (p < e) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xC2 && *p <= 0xDF) {
			n = 1;
			min = 0x80;
		} else if ((*p & 0xF0) == 0xE0) {
			n = 2;
			min = 0x800;
		} else if (*p >= 0xF0 && *p <= 0xF4) {
			n = 3;
			min = 0x10000;
		} else
			return (const char *)p;
		if (e - p <= n)
			return (const char *)p;
		cp = *p & (0x3F >> n);
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return (const char *)p;
			cp = cp << 6 | (p[i] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return (const char *)p;
		p += n + 1;
	}
	return NULL;
}

static int
buf_add(struct text *b, const char *s, size_t n)
{
	char	*ns;
	size_t	 cap;

	if (b->n + n + 1 > b->cap) {
		for (cap = b->cap ? b->cap : 32; cap < b->n + n + 1; cap *= 2)
			;
		if ((ns = realloc(b->s, cap)) == NULL)
			return -1;
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
	return 0;
}

static int
buf_utf8(struct text *b, unsigned long cp)
{
	char	u[4];
	size_t	n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return buf_add(b, u, n);
}

static int
peek(const struct parser *ps)
{
	return ps->p < ps->end ? (unsigned char)*ps->p : -1;
}

static int
is_ctrl(int c)
{
	return (c < 0x20 && c != '\t') || c == 0x7F;
}

static int
is_digit(int c, int base)
{
	if (base == 16)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F');
	return c >= '0' && c < '0' + base;
}

static int
is_bare(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    is_digit(c, 10) || c == '_' || c == '-';
}

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* Consumes one LF or CRLF if there is one here. */
static int
newline(struct parser *ps)
{
	if (ps->p < ps->end && *ps->p == '\n') {
		ps->p++;
		return 1;
	}
	if (ps->end - ps->p >= 2 && ps->p[0] == '\r' && ps->p[1] == '\n') {
		ps->p += 2;
		return 1;
	}
	return 0;
}

/* Skips a comment, if one starts here, up to its newline. */
static int
comment(struct parser *ps)
{
	if (peek(ps) != '#')
		return 0;
	for (ps->p++; ps->p < ps->end && *ps->p != '\n'; ps->p++) {
		if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
			break;
		if (is_ctrl((unsigned char)*ps->p))
			return fail(ps, ps->p, "control character in comment",
			    NULL);
	}
	return 0;
}

/* Skips whitespace, comments and newlines, as allowed inside arrays. */
static int
skip_all(struct parser *ps)
{
	do {
		skip_ws(ps);
		if (comment(ps) < 0)
			return -1;
	} while (newline(ps));
	return 0;
}

/* What may follow a key/value pair or a header. */
static int
end_of_line(struct parser *ps)
{
	skip_ws(ps);
	if (comment(ps) < 0)
		return -1;
	if (ps->p == ps->end || newline(ps))
		return 0;
	if (*ps->p == '\r')
		return fail(ps, ps->p, "carriage return without newline", NULL);
	return fail(ps, ps->p, "expected a newline", NULL);
}

/* Reads an escape sequence; ps->p is just past the backslash. */
static int
escape(struct parser *ps, struct text *b)
{
	const char	*at = ps->p - 1;
	unsigned long	 cp = 0;
	int		 i, n, c = peek(ps);
	char		 ch;

	if (c != -1)
		ps->p++;
	switch (c) {
	case 'b': ch = '\b'; break;
	case 't': ch = '\t'; break;
	case 'n': ch = '\n'; break;
	case 'f': ch = '\f'; break;
	case 'r': ch = '\r'; break;
	case '"': ch = '"'; break;
	case '\\': ch = '\\'; break;
	case 'u':
	case 'U':
		n = c == 'u' ? 4 : 8;
		for (i = 0; i < n; i++) {
			c = peek(ps);
			if (!is_digit(c, 16))
				return fail(ps, at, "invalid unicode escape",
				    NULL);
			cp = cp << 4 | (unsigned long)(c <= '9' ? c - '0' :
			    (c | 0x20) - 'a' + 10);
			ps->p++;
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return fail(ps, at, "escape is not a unicode scalar",
			    NULL);
		return buf_utf8(b, cp) < 0 ? oom(ps) : 0;
	default:
		return fail(ps, at, "invalid escape", NULL);
	}
	return buf_add(b, &ch, 1) < 0 ? oom(ps) : 0;
}

/*
 * Reads the body of any of the four string kinds, after the opening
 * quotes, up to and including the closing ones.
 */
static int
string_body(struct parser *ps, struct text *b, char q, int ml)
{
	const char	*open = ps->p, *s, *t;
	size_t		 n;

	for (;;) {
		for (s = ps->p; ps->p < ps->end && *ps->p != q &&
		    !(q == '"' && *ps->p == '\\') &&
		    !is_ctrl((unsigned char)*ps->p); ps->p++)
			;
		if (buf_add(b, s, (size_t)(ps->p - s)) < 0)
			return oom(ps);
		if (ps->p == ps->end)
			return fail(ps, open, "unterminated string", NULL);
		if (*ps->p == q) {
			for (n = 0; ps->p + n < ps->end && ps->p[n] == q; n++)
				;
			if (!ml) {
				ps->p++;
				return 0;
			}
			if (n > 5)
				return fail(ps, ps->p, "too many quotes", NULL);
			/* Up to two quotes may end the text itself. */
			if (buf_add(b, ps->p, n < 3 ? n : n - 3) < 0)
				return oom(ps);
			ps->p += n;
			if (n >= 3)
				return 0;
		} else if (*ps->p == '\\') {
			ps->p++;
			for (t = ps->p; t < ps->end && (*t == ' ' ||
			    *t == '\t'); t++)
				;
			if (ml && t < ps->end && (*t == '\n' || (*t == '\r' &&
			    t + 1 < ps->end && t[1] == '\n'))) {
				/* Line-ending backslash: trim to the text. */
				ps->p = t;
				while (newline(ps))
					skip_ws(ps);
			} else if (escape(ps, b) < 0)
				return -1;
		} else if (ml && newline(ps)) {
			if (buf_add(b, "\n", 1) < 0)
				return oom(ps);
		} else
			return fail(ps, ps->p, *ps->p == '\n' ?
			    "newline in string" : "control character in string",
			    NULL);
	}
}

/* Reads a string at ps->p into b; multi-line ones only if ml_ok. */
static int
string(struct parser *ps, struct text *b, int ml_ok)
{
	char	q = *ps->p;
	int	ml;

	ml = ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q;
	if (ml && !ml_ok)
		return fail(ps, ps->p, "multi-line string used as key", NULL);
	if (buf_add(b, "", 0) < 0)
		return oom(ps);
	ps->p += ml ? 3 : 1;
	if (ml)
		newline(ps);
	return string_body(ps, b, q, ml);
}

static void
keys_free(struct keys *k)
{
	while (k->n > 0)
		free(k->v[--k->n]);
	free(k->v);
	k->v = NULL;
	k->cap = 0;
}

/* Reads a possibly dotted key with the whitespace around it. */
static int
key(struct parser *ps, struct keys *k)
{
	struct text	 b;
	const char	*s;
	char		**nv;
	int		 c;

	for (;;) {
		memset(&b, 0, sizeof(b));
		skip_ws(ps);
		c = peek(ps);
		if (c == '"' || c == '\'') {
			if (string(ps, &b, 0) < 0) {
				free(b.s);
				return -1;
			}
		} else {
			for (s = ps->p; is_bare(peek(ps)); ps->p++)
				;
			if (ps->p == s)
				return fail(ps, s, c == -1 || c == '\n' ||
				    c == '\r' ? "expected a key" :
				    "invalid character in key", NULL);
			if (buf_add(&b, s, (size_t)(ps->p - s)) < 0)
				return oom(ps);
		}
		if (k->n == k->cap) {
			k->cap = k->cap ? k->cap * 2 : 4;
			if ((nv = realloc(k->v, (size_t)k->cap *
			    sizeof(*nv))) == NULL) {
				free(b.s);
				return oom(ps);
			}
			k->v = nv;
		}
		k->v[k->n++] = b.s;
		skip_ws(ps);
		if (peek(ps) != '.')
			return 0;
		ps->p++;
	}
}

/* Adds a new table flagged flags to parent under name. */
static cJSON *
new_table(struct parser *ps, cJSON *parent, const char *name, int flags,
    int array)
{
	cJSON	*t = array ? cJSON_CreateArray() : cJSON_CreateObject();

	if (t == NULL) {
		oom(ps);
		return NULL;
	}
	t->valueint = flags;
	if (!cJSON_AddItemToObject(parent, name, t)) {
		cJSON_Delete(t);
		oom(ps);
		return NULL;
	}
	return t;
}

cJSON *
toml_int_item(long long v)
{
	char	 txt[24];
	cJSON	*it;
	size_t	 n;

	n = (size_t)snprintf(txt, sizeof(txt), "%lld", v) + 1;
	if ((it = cJSON_CreateNumber((double)v)) == NULL)
		return NULL;
	/* cJSON_Delete frees valuestring with its own allocator. */
	if ((it->valuestring = cJSON_malloc(n)) == NULL) {
		cJSON_Delete(it);
		return NULL;
	}
	memcpy(it->valuestring, txt, n);
	return it;
}

/* Copies digits with single '_' between them to *o; NULL if malformed. */
static const char *
digit_run(const char *q, const char *t, int base, char **o)
{
	if (q >= t || !is_digit(*q, base))
		return NULL;
	for (;;) {
		*(*o)++ = *q++;
		if (q < t && *q == '_') {
			if (++q >= t || !is_digit(*q, base))
				return NULL;
		} else if (q >= t || !is_digit(*q, base))
			return q;
	}
}

/* Integers and floats: the token is checked here, then converted. */
static cJSON *
number(struct parser *ps)
{
	const char		*s = ps->p, *t = s, *q = s;
	char			*txt, *o, *d0, *endp;
	const char		*msg = "invalid number";
	unsigned long long	 v = 0, lim, dg;
	int			 base = 10, isfloat = 0;
	double			 f;
	cJSON			*it = NULL;

	while (t < ps->end && ((*t >= 'a' && *t <= 'z') || (*t >= 'A' &&
	    *t <= 'Z') || is_digit(*t, 10) || *t == '_' || *t == '+' ||
	    *t == '-' || *t == '.'))
		t++;
	if (t == s) {
		fail(ps, s, "invalid value", NULL);
		return NULL;
	}
	if ((o = txt = malloc((size_t)(t - s) + 1)) == NULL) {
		oom(ps);
		return NULL;
	}
	if (*q == '+' || *q == '-')
		*o++ = *q++;
	if (t - q == 3 && (memcmp(q, "inf", 3) == 0 ||
	    memcmp(q, "nan", 3) == 0)) {
		if (q[0] == 'n')
			f = NAN;
		else
			f = *s == '-' ? -INFINITY : INFINITY;
		it = cJSON_CreateNumber(f);
		goto done;
	}
	if (q == s && t - q > 2 && q[0] == '0' && (q[1] == 'x' ||
	    q[1] == 'o' || q[1] == 'b')) {
		base = q[1] == 'x' ? 16 : q[1] == 'o' ? 8 : 2;
		q += 2;
	}
	d0 = o;
	if ((q = digit_run(q, t, base, &o)) == NULL)
		goto bad;
	if (base == 10 && *d0 == '0' && o - d0 > 1) {
		msg = "leading zero in number";
		goto bad;
	}
	if (base == 10 && q < t && *q == '.') {
		*o++ = *q++;
		if ((q = digit_run(q, t, 10, &o)) == NULL)
			goto bad;
		isfloat = 1;
	}
	if (base == 10 && q < t && (*q == 'e' || *q == 'E')) {
		*o++ = *q++;
		if (q < t && (*q == '+' || *q == '-'))
			*o++ = *q++;
		if ((q = digit_run(q, t, 10, &o)) == NULL)
			goto bad;
		isfloat = 1;
	}
	if (q != t)
		goto bad;
	*o = '\0';
	if (isfloat) {
		errno = 0;
		f = strtod(txt, &endp);
		if (endp != o)
			goto bad;
		if (errno == ERANGE && isinf(f)) {
			msg = "float out of range";
			goto bad;
		}
		it = cJSON_CreateNumber(f);
		goto done;
	}
	lim = *txt == '-' ? 1ULL << 63 : (1ULL << 63) - 1;
	for (o = d0; *o != '\0'; o++) {
		dg = (unsigned long long)(*o <= '9' ? *o - '0' :
		    (*o | 0x20) - 'a' + 10);
		if (v > (lim - dg) / (unsigned)base) {
			msg = "integer out of range";
			goto bad;
		}
		v = v * (unsigned)base + dg;
	}
	it = toml_int_item(*txt == '-' ? (v == 1ULL << 63 ? -0x7fffffffffffffffLL - 1
	    : -(long long)v) : (long long)v);
done:
	free(txt);
	if (it == NULL)
		oom(ps);
	ps->p = t;
	return it;
bad:
	free(txt);
	fail(ps, s, msg, NULL);
	return NULL;
}

/* Reads n decimal digits at s into *v; s has at least n bytes. */
static int
dec(const char *s, int n, int *v)
{
	for (*v = 0; n-- > 0; s++) {
		if (!is_digit(*s, 10))
			return -1;
		*v = *v * 10 + (*s - '0');
	}
	return 0;
}

/* All four date-time kinds; ps->p starts with "dddd-" or "dd:". */
static cJSON *
datetime(struct parser *ps)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	const char	*s = ps->p, *e = ps->end;
	char		 out[40];
	int		 y, m, d, h, mi, sec, kind, i, date = 0;
	size_t		 n = 0;
	cJSON		*it;

	if (e - s >= 5 && s[4] == '-') {
		if (e - s < 10 || dec(s, 4, &y) || dec(s + 5, 2, &m) ||
		    s[7] != '-' || dec(s + 8, 2, &d) || m < 1 || m > 12 ||
		    d < 1 || d > mdays[m - 1] || (m == 2 && d == 29 &&
		    (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0))))
			goto bad;
		memcpy(out, s, 10);
		n = 10;
		s += 10;
		date = 1;
		if (s == e || !(*s == 'T' || *s == 't' || (*s == ' ' &&
		    s + 1 < e && is_digit(s[1], 10)))) {
			kind = TOML_DATE_LOCAL;
			goto done;
		}
		out[n++] = 'T';
		s++;
	}
	if (e - s < 8 || dec(s, 2, &h) || s[2] != ':' || dec(s + 3, 2, &mi) ||
	    s[5] != ':' || dec(s + 6, 2, &sec) || h > 23 || mi > 59 ||
	    sec > 60)
		goto bad;
	memcpy(out + n, s, 8);
	n += 8;
	s += 8;
	kind = date ? TOML_DATETIME_LOCAL : TOML_TIME_LOCAL;
	if (s < e && *s == '.') {
		if (++s == e || !is_digit(*s, 10))
			goto bad;
		out[n++] = '.';
		/* Truncate (the spec says not round) to nanoseconds. */
		for (i = 0; s < e && is_digit(*s, 10); s++, i++)
			if (i < 9)
				out[n++] = *s;
	}
	if (date && s < e && (*s == 'Z' || *s == 'z')) {
		out[n++] = 'Z';
		s++;
		kind = TOML_DATETIME;
	} else if (date && s < e && (*s == '+' || *s == '-')) {
		if (e - s < 6 || dec(s + 1, 2, &h) || s[3] != ':' ||
		    dec(s + 4, 2, &mi) || h > 23 || mi > 59)
			goto bad;
		memcpy(out + n, s, 6);
		n += 6;
		s += 6;
		kind = TOML_DATETIME;
	}
done:
	out[n] = '\0';
	ps->p = s;
	if ((it = cJSON_CreateString(out)) == NULL) {
		oom(ps);
		return NULL;
	}
	it->valueint = kind;
	return it;
bad:
	fail(ps, ps->p, "invalid date or time", NULL);
	return NULL;
}

/* Adds v under the dotted key k to table t; owns v. */
static int
insert(struct parser *ps, cJSON *t, struct keys *k, cJSON *v,
    const char *at)
{
	cJSON	*c;
	int	 i;

	for (i = 0; i < k->n - 1; i++) {
		c = cJSON_GetObjectItemCaseSensitive(t, k->v[i]);
		if (c == NULL)
			c = new_table(ps, t, k->v[i], F_DOTTED, 0);
		else if (!cJSON_IsObject(c) || !(c->valueint & F_DOTTED) ||
		    (c->valueint & F_FROZEN)) {
			fail(ps, at, cJSON_IsObject(c) ?
			    "dotted key cannot extend table" :
			    "dotted key cannot extend value", k->v[i]);
			c = NULL;
		}
		if (c == NULL) {
			cJSON_Delete(v);
			return -1;
		}
		t = c;
	}
	if (cJSON_GetObjectItemCaseSensitive(t, k->v[i]) != NULL) {
		cJSON_Delete(v);
		return fail(ps, at, "duplicate key", k->v[i]);
	}
	if (!cJSON_AddItemToObject(t, k->v[i], v)) {
		cJSON_Delete(v);
		return oom(ps);
	}
	return 0;
}

/* key = value, into table t; leaves ps->p after the value. */
static int
keyval(struct parser *ps, cJSON *t)
{
	struct keys	 k;
	const char	*at;
	cJSON		*v;
	int		 rc = -1;

	memset(&k, 0, sizeof(k));
	skip_ws(ps);
	at = ps->p;
	if (key(ps, &k) < 0)
		goto out;
	if (peek(ps) != '=') {
		fail(ps, ps->p, "expected '=' after key", NULL);
		goto out;
	}
	ps->p++;
	skip_ws(ps);
	ps->depth += k.n;
	if (ps->depth > MAX_DEPTH)
		fail(ps, at, "nesting too deep", NULL);
	else if ((v = value(ps)) != NULL)
		rc = insert(ps, t, &k, v, at);
	ps->depth -= k.n;
out:
	keys_free(&k);
	return rc;
}

static cJSON *
array(struct parser *ps)
{
	cJSON	*a, *v;

	if (++ps->depth > MAX_DEPTH) {
		fail(ps, ps->p, "nesting too deep", NULL);
		return NULL;
	}
	ps->p++;
	if ((a = cJSON_CreateArray()) == NULL)
		goto nomem;
	for (;;) {
		if (skip_all(ps) < 0)
			goto err;
		if (peek(ps) == ']')
			break;
		if ((v = value(ps)) == NULL)
			goto err;
		if (!cJSON_AddItemToArray(a, v)) {
			cJSON_Delete(v);
			goto nomem;
		}
		if (skip_all(ps) < 0)
			goto err;
		if (peek(ps) == ']')
			break;
		if (peek(ps) != ',') {
			fail(ps, ps->p, "expected ',' or ']' in array", NULL);
			goto err;
		}
		ps->p++;
	}
	ps->p++;
	ps->depth--;
	return a;
nomem:
	oom(ps);
err:
	cJSON_Delete(a);
	return NULL;
}

static cJSON *
inline_table(struct parser *ps)
{
	cJSON	*t;

	if (++ps->depth > MAX_DEPTH) {
		fail(ps, ps->p, "nesting too deep", NULL);
		return NULL;
	}
	ps->p++;
	if ((t = cJSON_CreateObject()) == NULL) {
		oom(ps);
		return NULL;
	}
	skip_ws(ps);
	if (peek(ps) != '}') {
		for (;;) {
			if (keyval(ps, t) < 0)
				goto err;
			skip_ws(ps);
			if (peek(ps) == '}')
				break;
			if (peek(ps) != ',') {
				fail(ps, ps->p, "expected ',' or '}' in "
				    "inline table", NULL);
				goto err;
			}
			ps->p++;
		}
	}
	ps->p++;
	ps->depth--;
	t->valueint = F_FROZEN;
	return t;
err:
	cJSON_Delete(t);
	return NULL;
}

static cJSON *
value(struct parser *ps)
{
	struct text	 b;
	cJSON		*it;
	const char	*s = ps->p;
	int		 c = peek(ps);

	switch (c) {
	case '"':
	case '\'':
		memset(&b, 0, sizeof(b));
		if (string(ps, &b, 1) < 0) {
			free(b.s);
			return NULL;
		}
		it = cJSON_CreateString(b.s);
		free(b.s);
		if (it == NULL)
			oom(ps);
		return it;
	case '[':
		return array(ps);
	case '{':
		return inline_table(ps);
	case 't':
	case 'f':
		if (ps->end - s >= 4 && memcmp(s, "true", 4) == 0) {
			ps->p += 4;
			it = cJSON_CreateTrue();
		} else if (ps->end - s >= 5 && memcmp(s, "false", 5) == 0) {
			ps->p += 5;
			it = cJSON_CreateFalse();
		} else {
			fail(ps, s, "invalid value", NULL);
			return NULL;
		}
		if (it == NULL)
			oom(ps);
		return it;
	}
	if (is_digit(c, 10) && ((ps->end - s >= 5 && is_digit(s[1], 10) &&
	    is_digit(s[2], 10) && is_digit(s[3], 10) && s[4] == '-') ||
	    (ps->end - s >= 3 && is_digit(s[1], 10) && s[2] == ':')))
		return datetime(ps);
	return number(ps);
}

/* [a.b] or [[a.b]]: selects the table that following pairs fill. */
static int
header(struct parser *ps)
{
	struct keys	 k;
	const char	*at = ps->p;
	cJSON		*t = ps->root, *c, *e;
	int		 i, aot = 0, depth = 0, rc = -1;

	memset(&k, 0, sizeof(k));
	ps->p++;
	if (peek(ps) == '[') {
		aot = 1;
		ps->p++;
	}
	if (key(ps, &k) < 0)
		goto out;
	if (peek(ps) != ']' || (aot && (ps->end - ps->p < 2 ||
	    ps->p[1] != ']'))) {
		fail(ps, ps->p, aot ? "expected ']]'" : "expected ']'", NULL);
		goto out;
	}
	ps->p += aot ? 2 : 1;
	for (i = 0; i < k.n - 1; i++) {
		if (++depth + aot >= MAX_DEPTH) {
			fail(ps, at, "nesting too deep", NULL);
			goto out;
		}
		c = cJSON_GetObjectItemCaseSensitive(t, k.v[i]);
		if (c == NULL)
			c = new_table(ps, t, k.v[i], F_IMPLICIT, 0);
		else if (cJSON_IsArray(c) && (c->valueint & F_AOT)) {
			/* The last element of an array of tables. */
			for (c = c->child; c->next != NULL; c = c->next)
				;
			depth++;
		} else if (!cJSON_IsObject(c) || (c->valueint & F_FROZEN)) {
			fail(ps, at, cJSON_IsObject(c) ?
			    "cannot extend inline table" :
			    "key is not a table", k.v[i]);
			c = NULL;
		}
		if (c == NULL)
			goto out;
		t = c;
	}
	c = cJSON_GetObjectItemCaseSensitive(t, k.v[i]);
	if (!aot) {
		if (c == NULL)
			c = new_table(ps, t, k.v[i], F_EXPLICIT, 0);
		else if (cJSON_IsObject(c) && c->valueint == F_IMPLICIT)
			c->valueint = F_EXPLICIT;
		else {
			fail(ps, at, "table defined twice", k.v[i]);
			goto out;
		}
		if (c == NULL)
			goto out;
	} else {
		if (c == NULL)
			c = new_table(ps, t, k.v[i], F_AOT, 1);
		else if (!cJSON_IsArray(c) || !(c->valueint & F_AOT)) {
			fail(ps, at, "not an array of tables", k.v[i]);
			goto out;
		}
		if (c == NULL)
			goto out;
		if ((e = cJSON_CreateObject()) == NULL) {
			oom(ps);
			goto out;
		}
		e->valueint = F_EXPLICIT;
		cJSON_AddItemToArray(c, e);
		c = e;
	}
	ps->cur = c;
	ps->cur_depth = depth + 1 + aot;
	rc = end_of_line(ps);
out:
	keys_free(&k);
	return rc;
}

static void
clear_flags(cJSON *it)
{
	for (; it != NULL; it = it->next)
		if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
			it->valueint = 0;
			clear_flags(it->child);
		}
}

cJSON *
toml_parse(const char *text, size_t len, struct toml_error *err)
{
	struct parser		 ps;
	struct toml_error	 scratch;
	const char		*bad;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	memset(&ps, 0, sizeof(ps));
	ps.err = err;
	if (text == NULL)
		text = "";
	ps.start = ps.p = text;
	ps.end = text + len;
	if ((bad = utf8_bad(text, ps.end)) != NULL) {
		fail(&ps, bad, "invalid UTF-8", NULL);
		return NULL;
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		ps.p += 3;
	if ((ps.root = ps.cur = cJSON_CreateObject()) == NULL) {
		oom(&ps);
		return NULL;
	}
	while (ps.p < ps.end) {
		skip_ws(&ps);
		if (comment(&ps) < 0)
			break;
		if (ps.p == ps.end || newline(&ps))
			continue;
		if (*ps.p == '[') {
			if (header(&ps) < 0)
				break;
			continue;
		}
		ps.depth = ps.cur_depth;
		if (keyval(&ps, ps.cur) < 0 || end_of_line(&ps) < 0)
			break;
	}
	if (ps.failed) {
		cJSON_Delete(ps.root);
		return NULL;
	}
	clear_flags(ps.root);
	return ps.root;
}

cJSON *
toml_parse_file(const char *path, struct toml_error *err)
{
	struct toml_error	 scratch;
	char			*text;
	size_t			 len;
	cJSON			*root;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	if ((text = read_file_max(path, TOML_FILE_MAX, &len, err->msg,
	    sizeof(err->msg))) == NULL)
		return NULL;
	root = toml_parse(text, len, err);
	free(text);
	return root;
}

enum toml_type
toml_type_of(const cJSON *it)
{
	if (it == NULL)
		return TOML_NONE;
	switch (it->type & 0xFF) {
	case cJSON_String:
		if (it->valueint >= TOML_DATETIME &&
		    it->valueint <= TOML_TIME_LOCAL)
			return (enum toml_type)it->valueint;
		return TOML_STRING;
	case cJSON_Number:
		return it->valuestring != NULL ? TOML_INTEGER : TOML_FLOAT;
	case cJSON_True:
	case cJSON_False:
		return TOML_BOOL;
	case cJSON_Array:
		return TOML_ARRAY;
	case cJSON_Object:
		return TOML_TABLE;
	}
	return TOML_NONE;
}

int
toml_get_int64(const cJSON *it, long long *out)
{
	long long	 v;
	char		*end;

	if (toml_type_of(it) != TOML_INTEGER)
		return -1;
	errno = 0;
	v = strtoll(it->valuestring, &end, 10);
	if (errno != 0 || end == it->valuestring || *end != '\0')
		return -1;
	*out = v;
	return 0;
}
