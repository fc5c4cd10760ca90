/*
 * pyfmt.c: the Python text forms Prefect's messages are made of, so
 * that ours read exactly as a Python flow's: repr() of a float and of a
 * str, and str() of a State.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/pyfmt.h"

void
sdk_pyfloat(char *out, size_t n, double v)
{
	struct buf	 b;
	char		 e[64], digits[32], *p, *x;
	int		 prec, exp, nd = 0;

	if (isnan(v) || isinf(v)) {
		snprintf(out, n, "%s", isnan(v) ? "nan" : v < 0 ? "-inf" :
		    "inf");
		return;
	}
	/* The shortest digits that read back as v, as Python's repr. */
	for (prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, v);
		if (strtod(e, NULL) == v)
			break;
	}
	x = strchr(e, 'e');
	exp = atoi(x + 1);
	for (p = e; p < x; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	if (exp < -4 || exp >= 16) {
		snprintf(out, n, "%s%c%s%se%c%02d", v < 0 ? "-" : "",
		    digits[0], nd > 1 ? "." : "", nd > 1 ? digits + 1 : "",
		    exp < 0 ? '-' : '+', abs(exp));
		return;
	}
	buf_init(&b, 128);
	if (v < 0)
		buf_append(&b, "-", 1);
	if (exp < 0) {
		buf_append(&b, "0.", 2);
		for (int i = 0; i < -exp - 1; i++)
			buf_append(&b, "0", 1);
		buf_append(&b, digits, (size_t)nd);
	} else {
		for (int i = 0; i <= exp; i++)
			buf_append(&b, i < nd ? &digits[i] : "0", 1);
		buf_append(&b, ".", 1);
		if (nd > exp + 1)
			buf_append(&b, digits + exp + 1, (size_t)(nd - exp - 1));
		else
			buf_append(&b, "0", 1);
	}
	snprintf(out, n, "%s", b.data);
	buf_cleanup(&b);
}

void
sdk_pyrepr(char *out, size_t n, const char *s)
{
	struct buf	 b;
	char		 q;

	/* Python quotes with ' unless the text holds ' and no ". */
	q = strchr(s, '\'') != NULL && strchr(s, '"') == NULL ? '"' : '\'';
	/* Built whole (at most 4 bytes a byte), then cut: a prefix. */
	buf_init(&b, (size_t)-1);
	buf_append(&b, &q, 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\' || *p == (unsigned char)q)
			buf_printf(&b, "\\%c", *p);
		else if (*p == '\n')
			buf_append(&b, "\\n", 2);
		else if (*p == '\r')
			buf_append(&b, "\\r", 2);
		else if (*p == '\t')
			buf_append(&b, "\\t", 2);
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(&b, "\\x%02x", *p);
		else
			buf_append(&b, p, 1);
	}
	buf_append(&b, &q, 1);
	snprintf(out, n, "%s", b.data);
	buf_cleanup(&b);
}

void
sdk_state_str(char *out, size_t n, const char *type, const char *name,
    const char *message)
{
	struct buf	 b;
	char		*repr = NULL;

	buf_init(&b, (size_t)-1);	/* cut at n at the end: a prefix */
	buf_printf(&b, "%s(", name);
	if (message != NULL && *message) {
		size_t	len = strlen(message) * 4 + 3;

		repr = xmalloc(len);
		sdk_pyrepr(repr, len, message);
		buf_printf(&b, "%s", repr);
	}
	if (strcasecmp(type, name) != 0)
		buf_printf(&b, "%stype=%s", repr ? ", " : "", type);
	buf_append(&b, ")", 1);
	snprintf(out, n, "%s", b.data);
	buf_cleanup(&b);
	free(repr);
}
