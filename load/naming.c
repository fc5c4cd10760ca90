/*
 * naming.c: dlt's snake_case naming convention (load/naming.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "load/naming.h"

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\v' || c == '\f';
}

static int
is_alnum_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

static int
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

/* _REDUCE_ALPHABET then RE_NON_ALPHANUMERIC.sub("_"). */
static size_t
reduce_alphabet(const char *s, size_t len, char *out)
{
	size_t	o = 0;

	for (size_t i = 0; i < len; i++) {
		char	c = s[i];

		switch (c) {
		case '+': case '*': c = 'x'; break;
		case '-': c = '_'; break;
		case '@': c = 'a'; break;
		case '|': c = 'l'; break;
		default: break;
		}
		if (is_alnum_(c)) {
			out[o++] = c;
			continue;
		}
		/* A run of other characters (bytes) becomes one "_". */
		while (i + 1 < len && !is_alnum_(s[i + 1]) &&
		    strchr("+*-@|", s[i + 1]) == NULL)
			i++;
		out[o++] = '_';
	}
	return o;
}

/* ([^_])([A-Z][a-z]+) -> \1_\2, scanning as re.sub does. */
static size_t
break_1(const char *s, size_t len, char *out)
{
	size_t	o = 0, i = 0;

	while (i < len) {
		if (s[i] != '_' && i + 2 < len && is_upper(s[i + 1]) &&
		    is_lower(s[i + 2])) {
			out[o++] = s[i];
			out[o++] = '_';
			out[o++] = s[i + 1];
			i += 2;
			while (i < len && is_lower(s[i]))
				out[o++] = s[i++];
			continue;
		}
		out[o++] = s[i++];
	}
	return o;
}

/* ([a-z0-9])([A-Z]) -> \1_\2, then lower(). */
static size_t
break_2_lower(const char *s, size_t len, char *out)
{
	size_t	o = 0, i = 0;

	while (i < len) {
		if ((is_lower(s[i]) || isdigit((unsigned char)s[i])) &&
		    i + 1 < len && is_upper(s[i + 1])) {
			out[o++] = s[i];
			out[o++] = '_';
			out[o++] = (char)(s[i + 1] - 'A' + 'a');
			i += 2;
			continue;
		}
		out[o++] = is_upper(s[i]) ? (char)(s[i] - 'A' + 'a') : s[i];
		i++;
	}
	return o;
}

static void
tag_of(const char *original, char tag[16])
{
	unsigned char	 d[4];
	unsigned char	 b64[16];
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	int		 n;

	/* dlt: int((2 + 1) * log2(1 / 0.001) // 8) + 1 = 4 bytes. */
	EVP_DigestInit_ex(ctx, EVP_shake128(), NULL);
	EVP_DigestUpdate(ctx, original, strlen(original));
	EVP_DigestFinalXOF(ctx, d, sizeof(d));
	EVP_MD_CTX_free(ctx);
	n = EVP_EncodeBlock(b64, d, sizeof(d));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++) {
		char	c = (char)b64[i];

		c = c == '/' ? 'a' : c == '+' ? 'b' : c;
		tag[i] = is_upper(c) ? (char)(c - 'A' + 'a') : c;
	}
	tag[n] = '\0';
}

char *
ld_shorten(const char *norm, const char *original, size_t max)
{
	size_t	len = strlen(norm), tl, rem, head;
	char	tag[16], *out;

	if (max == 0 || len <= max)
		return xstrdup(norm);
	tag_of(original, tag);
	tl = strlen(tag);
	rem = max - tl;
	head = rem / 2 + rem % 2;
	out = xmalloc(max + 1);
	memcpy(out, norm, head);
	memcpy(out + head, tag, tl);
	memcpy(out + head + tl, norm + len - rem / 2, rem / 2);
	out[max] = '\0';
	return out;
}

char *
ld_normalize_identifier(const char *ident, size_t len, size_t max)
{
	char	*a, *b, *out, *orig, *res;
	size_t	 n, o = 0, trail = 0;

	while (len > 0 && is_ws(*ident))
		ident++, len--;
	while (len > 0 && is_ws(ident[len - 1]))
		len--;
	if (len == 0)
		return NULL;
	/* Each step at most doubles the length. */
	a = xmalloc(len * 4 + 4);
	b = xmalloc(len * 4 + 4);
	n = reduce_alphabet(ident, len, a);
	n = break_1(a, n, b);
	n = break_2_lower(b, n, a);
	out = xmalloc(n + 2);
	if (n > 0 && isdigit((unsigned char)a[0]))
		out[o++] = '_';
	while (trail < n && a[n - 1 - trail] == '_')
		trail++;
	for (size_t i = 0; i < n - trail; i++) {
		/* "__+" -> "_" */
		if (a[i] == '_' && o > 0 && out[o - 1] == '_')
			continue;
		out[o++] = a[i];
	}
	for (size_t i = 0; i < trail; i++)
		out[o++] = 'x';
	out[o] = '\0';
	free(a);
	free(b);
	if (max == 0 || o <= max)
		return out;
	orig = xmalloc(len + 1);
	memcpy(orig, ident, len);
	orig[len] = '\0';
	res = ld_shorten(out, orig, max);
	free(orig);
	free(out);
	return res;
}

char *
ld_normalize_path(const char *path, size_t len, size_t max)
{
	struct buf	 b;
	const char	*p = path, *end = path + len;
	char		*orig, *res;

	buf_init(&b, (size_t)-1);
	buf_append(&b, "", 0);
	while (p <= end) {
		const char	*sep = NULL, *q;
		char		*part;

		for (q = p; q + 1 < end; q++)
			if (q[0] == '_' && q[1] == '_') {
				sep = q;
				break;
			}
		q = sep != NULL ? sep : end;
		if ((part = ld_normalize_identifier(p, (size_t)(q - p), 0))
		    != NULL) {
			if (b.len > 0)
				buf_append(&b, LD_PATH_SEP, 2);
			buf_append(&b, part, strlen(part));
			free(part);
		}
		if (sep == NULL)
			break;
		p = sep + 2;
	}
	if (max == 0 || b.len <= max)
		return buf_steal(&b);
	orig = xmalloc(len + 1);
	memcpy(orig, path, len);
	orig[len] = '\0';
	res = ld_shorten(b.data, orig, max);
	free(orig);
	buf_cleanup(&b);
	return res;
}

char *
ld_make_path(const char *a, const char *b, size_t max)
{
	char	*joined = xasprintf("%s" LD_PATH_SEP "%s", a, b), *res;

	if (max == 0 || strlen(joined) <= max)
		return joined;
	res = ld_shorten(joined, joined, max);
	free(joined);
	return res;
}
