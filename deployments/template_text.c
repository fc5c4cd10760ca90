/*
 * template_text.c: the text side of Prefect's templating.
 *
 * UTF-8 decoding and Python's character classes (\s, \w,
 * str.isprintable), the placeholder regex {{\s*([\w\.\-\[\]$]+)\s*}} as
 * a scanner, and Python's str()/repr() of the JSON values pasted into
 * strings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "deployments/template_int.h"
#include "yaml/doc.h"

/* Decodes one UTF-8 character at s[i]; *cp is 0xFFFFFFFF if invalid. */
size_t
tpl_utf8_next(const char *s, size_t len, size_t i, unsigned *cp)
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

	while (i < len && (n = tpl_utf8_next(s, len, i, &cp)) > 0 &&
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
		n = tpl_utf8_next(s, len, i, &cp);
		if (!is_word_cp(cp) && cp != '.' && cp != '-' && cp != '[' &&
		    cp != ']' && cp != '$')
			break;
		i += n;
	}
	return i;
}

int
tpl_has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t	 n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

static enum template_kind
kind_of(const char *name, size_t len)
{
	if (tpl_has_prefix(name, len, BLOCK_PREFIX))
		return TEMPLATE_BLOCK;
	if (tpl_has_prefix(name, len, VAR_PREFIX))
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

static void	py_repr(struct buf *, const cJSON *);

static void
py_number(struct buf *b, const cJSON *v)
{
	char	 buf[64];
	double	 d = v->valuedouble;

	if ((v->type & YDOC_CJSON_FLOAT) || d != floor(d) || isinf(d))
		ydoc_format_float(d, buf, sizeof(buf));
	else if (fabs(d) < 9.2e18)
		snprintf(buf, sizeof(buf), "%lld", (long long)d);
	else
		snprintf(buf, sizeof(buf), "%.0f", d);
	buf_puts(b, buf);
}

static void
repr_escape(struct buf *b, unsigned cp)
{
	char	 buf[16];

	if (cp <= 0xFF)
		snprintf(buf, sizeof(buf), "\\x%02x", cp);
	else if (cp <= 0xFFFF)
		snprintf(buf, sizeof(buf), "\\u%04x", cp);
	else
		snprintf(buf, sizeof(buf), "\\U%08x", cp);
	buf_puts(b, buf);
}

/* Python's repr(str): quote choice and escapes. */
static void
py_repr_string(struct buf *b, const char *s)
{
	size_t	 len = strlen(s), n;
	char	 q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
	unsigned cp;

	buf_putc(b, q);
	for (size_t i = 0; i < len; i += n) {
		n = tpl_utf8_next(s, len, i, &cp);
		if (cp == (unsigned)q || cp == '\\') {
			buf_puts(b, "\\");
			buf_append(b, s + i, 1);
		} else if (cp == '\t')
			buf_puts(b, "\\t");
		else if (cp == '\n')
			buf_puts(b, "\\n");
		else if (cp == '\r')
			buf_puts(b, "\\r");
		else if (cp < 0x20 || cp == 0x7F)
			repr_escape(b, cp);
		else if (cp < 0x7F || cp == 0xFFFFFFFFu || is_printable_cp(cp))
			buf_append(b, s + i, n);
		else
			repr_escape(b, cp);
	}
	buf_putc(b, q);
}

static void
py_repr(struct buf *b, const cJSON *v)
{
	const cJSON	*c;

	if (cJSON_IsString(v))
		py_repr_string(b, v->valuestring ? v->valuestring : "");
	else if (cJSON_IsNumber(v))
		py_number(b, v);
	else if (cJSON_IsTrue(v))
		buf_puts(b, "True");
	else if (cJSON_IsFalse(v))
		buf_puts(b, "False");
	else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
		buf_puts(b, cJSON_IsArray(v) ? "[" : "{");
		for (c = v->child; c != NULL; c = c->next) {
			if (cJSON_IsObject(v)) {
				py_repr_string(b, c->string ? c->string : "");
				buf_puts(b, ": ");
			}
			py_repr(b, c);
			if (c->next != NULL)
				buf_puts(b, ", ");
		}
		buf_puts(b, cJSON_IsArray(v) ? "]" : "}");
	} else if (cJSON_IsRaw(v) && v->valuestring != NULL)
		buf_puts(b, v->valuestring);
	else
		buf_puts(b, "None");
}

void
tpl_py_str(struct buf *b, const cJSON *v)
{
	if (cJSON_IsString(v))
		buf_puts(b, v->valuestring ? v->valuestring : "");
	else
		py_repr(b, v);
}

char *
template_py_str(const cJSON *v)
{
	struct buf	 b;

	buf_init(&b, TPL_MAX);
	tpl_py_str(&b, v);
	return buf_finish(&b);
}
