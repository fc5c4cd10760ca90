/*
 * toml_lex.c: the lexical side of the TOML reader.
 *
 * The first error and its line and column, the UTF-8 check, whitespace,
 * newlines and comments, the four kinds of string with their escapes,
 * and bare, quoted and dotted keys.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "config/toml_int.h"

int
lex_fail(struct parser *ps, const char *at, const char *msg, const char *key)
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
	if (key == NULL)
		return errorf(ps->err->msg, sizeof(ps->err->msg), "%d:%d: %s",
		    line, col, msg);
	/* Keys may hold escaped control characters: keep logs clean. */
	for (i = 0; i < sizeof(k) - 1 && key[i] != '\0'; i++)
		k[i] = ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) ?
		    '?' : key[i];
	k[i] = '\0';
	return errorf(ps->err->msg, sizeof(ps->err->msg), "%d:%d: %s '%s'",
	    line, col, msg, k);
}

int
lex_oom(struct parser *ps)
{
	return lex_fail(ps, ps->p, "out of memory", NULL);
}

/* Returns the first byte that is not valid UTF-8, or NULL. */
const char *
lex_utf8_bad(const char *s, const char *end)
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

/* Appends code point cp as UTF-8. */
static int
utf8_append(struct buf *b, unsigned long cp)
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
	return buf_append(b, u, n);
}

static int
is_ctrl(int c)
{
	return (c < 0x20 && c != '\t') || c == 0x7F;
}

static int
is_bare(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    is_digit(c, 10) || c == '_' || c == '-';
}

void
lex_skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* Consumes one LF or CRLF if there is one here. */
int
lex_newline(struct parser *ps)
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
int
lex_comment(struct parser *ps)
{
	if (peek(ps) != '#')
		return 0;
	for (ps->p++; ps->p < ps->end && *ps->p != '\n'; ps->p++) {
		if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
			break;
		if (is_ctrl((unsigned char)*ps->p))
			return lex_fail(ps, ps->p,
			    "control character in comment", NULL);
	}
	return 0;
}

/* Skips whitespace, comments and newlines, as allowed inside arrays. */
int
lex_skip_all(struct parser *ps)
{
	do {
		lex_skip_ws(ps);
		if (lex_comment(ps) < 0)
			return -1;
	} while (lex_newline(ps));
	return 0;
}

/* What may follow a key/value pair or a header. */
int
lex_end_of_line(struct parser *ps)
{
	lex_skip_ws(ps);
	if (lex_comment(ps) < 0)
		return -1;
	if (ps->p == ps->end || lex_newline(ps))
		return 0;
	if (*ps->p == '\r')
		return lex_fail(ps, ps->p, "carriage return without newline",
		    NULL);
	return lex_fail(ps, ps->p, "expected a newline", NULL);
}

/* Reads an escape sequence; ps->p is just past the backslash. */
static int
escape(struct parser *ps, struct buf *b)
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
				return lex_fail(ps, at,
				    "invalid unicode escape", NULL);
			cp = cp << 4 | (unsigned long)(c <= '9' ? c - '0' :
			    (c | 0x20) - 'a' + 10);
			ps->p++;
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return lex_fail(ps, at,
			    "escape is not a unicode scalar", NULL);
		return utf8_append(b, cp) < 0 ? lex_oom(ps) : 0;
	default:
		return lex_fail(ps, at, "invalid escape", NULL);
	}
	return buf_append(b, &ch, 1) < 0 ? lex_oom(ps) : 0;
}

/*
 * Reads the body of any of the four string kinds, after the opening
 * quotes, up to and including the closing ones.
 */
static int
string_body(struct parser *ps, struct buf *b, char q, int ml)
{
	const char	*open = ps->p, *s, *t;
	size_t		 n;

	for (;;) {
		for (s = ps->p; ps->p < ps->end && *ps->p != q &&
		    !(q == '"' && *ps->p == '\\') &&
		    !is_ctrl((unsigned char)*ps->p); ps->p++)
			;
		if (buf_append(b, s, (size_t)(ps->p - s)) < 0)
			return lex_oom(ps);
		if (ps->p == ps->end)
			return lex_fail(ps, open, "unterminated string", NULL);
		if (*ps->p == q) {
			for (n = 0; ps->p + n < ps->end && ps->p[n] == q; n++)
				;
			if (!ml) {
				ps->p++;
				return 0;
			}
			if (n > 5)
				return lex_fail(ps, ps->p, "too many quotes",
				    NULL);
			/* Up to two quotes may end the text itself. */
			if (buf_append(b, ps->p, n < 3 ? n : n - 3) < 0)
				return lex_oom(ps);
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
				while (lex_newline(ps))
					lex_skip_ws(ps);
			} else if (escape(ps, b) < 0)
				return -1;
		} else if (ml && lex_newline(ps)) {
			if (buf_append(b, "\n", 1) < 0)
				return lex_oom(ps);
		} else
			return lex_fail(ps, ps->p, *ps->p == '\n' ?
			    "newline in string" : "control character in string",
			    NULL);
	}
}

/* Reads a string at ps->p into b; multi-line ones only if ml_ok. */
int
lex_string(struct parser *ps, struct buf *b, int ml_ok)
{
	char	q = *ps->p;
	int	ml;

	ml = ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q;
	if (ml && !ml_ok)
		return lex_fail(ps, ps->p, "multi-line string used as key",
		    NULL);
	if (buf_append(b, "", 0) < 0)
		return lex_oom(ps);
	ps->p += ml ? 3 : 1;
	if (ml)
		lex_newline(ps);
	return string_body(ps, b, q, ml);
}

void
lex_keys_free(struct keys *k)
{
	while (k->n > 0)
		free(k->v[--k->n]);
	free(k->v);
	k->v = NULL;
	k->cap = 0;
}

/* Reads a possibly dotted key with the whitespace around it. */
int
lex_key(struct parser *ps, struct keys *k)
{
	struct buf	 b;
	const char	*s;
	char		**nv;
	int		 c;

	for (;;) {
		buf_init(&b, SIZE_MAX);
		lex_skip_ws(ps);
		c = peek(ps);
		if (c == '"' || c == '\'') {
			if (lex_string(ps, &b, 0) < 0) {
				free(b.data);
				return -1;
			}
		} else {
			for (s = ps->p; is_bare(peek(ps)); ps->p++)
				;
			if (ps->p == s)
				return lex_fail(ps, s, c == -1 || c == '\n' ||
				    c == '\r' ? "expected a key" :
				    "invalid character in key", NULL);
			if (buf_append(&b, s, (size_t)(ps->p - s)) < 0)
				return lex_oom(ps);
		}
		if (k->n == k->cap) {
			k->cap = k->cap ? k->cap * 2 : 4;
			if ((nv = realloc(k->v, (size_t)k->cap *
			    sizeof(*nv))) == NULL) {
				free(b.data);
				return lex_oom(ps);
			}
			k->v = nv;
		}
		k->v[k->n++] = b.data;	/* now owned by k */
		lex_skip_ws(ps);
		if (peek(ps) != '.')
			return 0;
		ps->p++;
	}
}
