/*
 * arrow_cell.c: one value of a Snowflake Arrow result as the string its
 * JSON rowset would carry (snowflake/arrow.h lists the forms). The
 * buffers it reads have been checked by arrow.c against the batch.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "snowflake/arrow_int.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

static int
is_null(const struct arrow_view *v, size_t r)
{
	return v->valid != NULL && !(v->valid[r >> 3] >> (r & 7) & 1);
}

/* Value r of an Int field of the given width. */
static i128
int_at(const struct arrow_view *v, int bits, int is_signed, size_t r)
{
	uint64_t	u;

	switch (bits) {
	case 8:
		u = v->data[r];
		break;
	case 16:
		u = arrow_le16(v->data + 2 * r);
		break;
	case 32:
		u = arrow_le32(v->data + 4 * r);
		break;
	default:
		u = arrow_le64(v->data + 8 * r);
		break;
	}
	return is_signed ? (i128)arrow_signed(u, bits) : (i128)u;
}

static i128
dec128_at(const struct arrow_view *v, size_t r)
{
	uint64_t	lo = arrow_le64(v->data + 16 * r);
	int64_t		hi = arrow_signed(arrow_le64(v->data + 16 * r + 8), 64);

	return (i128)hi * ((i128)1 << 64) + (i128)lo;
}

/* v times 10^-scale as Snowflake writes a NUMBER: plain digits, exactly
 * scale of them after the point ("-0.50", "12", "0.000"). */
static void
fmt_scaled(i128 v, int scale, char out[64])
{
	u128	m = v < 0 ? -(u128)v : (u128)v;
	char	d[48], *p = out;
	int	n = 0;

	do {
		d[n++] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m != 0);
	while (n <= scale)
		d[n++] = '0';
	if (v < 0)
		*p++ = '-';
	while (n-- > 0) {
		*p++ = d[n];
		if (n == scale && scale > 0)
			*p++ = '.';
	}
	*p = '\0';
}

/*
 * A double as Python's repr writes it: the fewest digits that read
 * back the same double, positional for exponents -4 to 15 ("100.0",
 * "0.0001"), else scientific ("1e+16", "2.5e-10"); "inf", "-inf",
 * "nan".
 */
static void
fmt_double(double x, char out[40])
{
	char	e[40], digits[24], *p = out;
	int	prec, nd = 0, exp;

	if (isnan(x) || isinf(x)) {
		strcpy(out, isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, x);
		if (strtod(e, NULL) == x)
			break;
	}
	snprintf(e, sizeof(e), "%.*e", prec - 1, x);
	for (const char *s = e; *s != 'e'; s++)
		if (*s >= '0' && *s <= '9')
			digits[nd++] = *s;
	exp = atoi(strchr(e, 'e') + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (signbit(x))
		*p++ = '-';
	if (exp < -4 || exp >= 16) {
		*p++ = digits[0];
		if (nd > 1) {
			*p++ = '.';
			memcpy(p, digits + 1, (size_t)nd - 1);
			p += nd - 1;
		}
		sprintf(p, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
		return;
	}
	if (exp < 0) {
		*p++ = '0';
		*p++ = '.';
		for (int i = -1; i > exp; i--)
			*p++ = '0';
		memcpy(p, digits, (size_t)nd);
		p[nd] = '\0';
		return;
	}
	for (int i = 0; i <= exp; i++)
		*p++ = i < nd ? digits[i] : '0';
	*p++ = '.';
	if (nd <= exp + 1)
		*p++ = '0';
	for (int i = exp + 1; i < nd; i++)
		*p++ = digits[i];
	*p = '\0';
}

/* Whether s[0..n) is UTF-8 without NUL bytes, as a rowset string must
 * be (cJSON strings end at a NUL). */
static int
text_ok(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t	cp, c = s[i];
		size_t		k;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3;
		else
			return 0;
		if (n - i - 1 < k)
			return 0;
		cp = c & (0x3F >> k);
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* Value r's bytes in a Utf8/Binary field (offsets already checked). */
static size_t
span(const struct arrow_view *v, size_t r, size_t *n)
{
	uint64_t	a, b;

	if (v->wide) {
		a = arrow_le64(v->data + 8 * r);
		b = arrow_le64(v->data + 8 * r + 8);
	} else {
		a = arrow_le32(v->data + 4 * r);
		b = arrow_le32(v->data + 4 * r + 4);
	}
	*n = (size_t)(b - a);
	return (size_t)a;
}

static cJSON *
new_string(const char *s, char *err, size_t errlen)
{
	cJSON	*x = cJSON_CreateString(s);

	if (x == NULL)
		errorf(err, errlen, "arrow: out of memory");
	return x;
}

static int64_t
pow10i(int n)
{
	int64_t	p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

/*
 * A timestamp struct's cell: "seconds.fraction", with " offset" for
 * TIMESTAMP_TZ. fakesnow writes a null timestamp as a valid struct
 * with null members, so a null member makes the cell null.
 */
static cJSON *
ts_cell(const struct arrow_col *c, const struct arrow_colview *cv, size_t r,
    size_t row, char *err, size_t errlen)
{
	const struct arrow_view	*ep = &cv->kid[c->epoch];
	const struct arrow_view	*fr, *tz;
	char			 num[64], out[80];
	i128			 v, frac, off;

	fr = c->fraction >= 0 ? &cv->kid[c->fraction] : NULL;
	tz = c->tz >= 0 ? &cv->kid[c->tz] : NULL;
	if (is_null(ep, r) || (fr != NULL && is_null(fr, r)) ||
	    (tz != NULL && is_null(tz, r)))
		return cJSON_CreateNull();
	v = int_at(ep, 64, 1, r);
	if (fr != NULL) {
		frac = int_at(fr, 32, 1, r);
		if (frac < 0 || frac > 999999999) {
			errorf(err, errlen, "arrow: column %.64s row %zu: "
			    "fraction out of range at byte %zu", c->f->name,
			    row, fr->data_at + 4 * r);
			return NULL;
		}
		v = v * pow10i(c->scale) + frac / pow10i(9 - c->scale);
	}
	fmt_scaled(v, c->scale, num);
	if (tz == NULL)
		return new_string(num, err, errlen);
	off = int_at(tz, 32, 1, r);
	if (off < 0 || off > 2880) {
		errorf(err, errlen, "arrow: column %.64s row %zu: timezone "
		    "out of range at byte %zu", c->f->name, row,
		    tz->data_at + 4 * r);
		return NULL;
	}
	snprintf(out, sizeof(out), "%s %d", num, (int)off);
	return new_string(out, err, errlen);
}

/* A Utf8 cell as is, a Binary cell as upper-case hex. */
static cJSON *
bytes_cell(const struct arrow_col *c, const struct arrow_view *v, size_t r,
    size_t row, struct buf *sb, char *err, size_t errlen)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const uint8_t		*s;
	size_t			 n, at;

	at = span(v, r, &n);
	s = v->chars + at;
	buf_truncate(sb, 0);
	if (c->cf == CELL_TEXT) {
		if (!text_ok(s, n)) {
			errorf(err, errlen, "arrow: column %.64s row %zu: not "
			    "UTF-8 or holds a NUL byte at byte %zu", c->f->name,
			    row, v->chars_at + at);
			return NULL;
		}
		buf_append(sb, s, n);
	} else
		for (size_t i = 0; i < n; i++) {
			buf_putc(sb, hex[s[i] >> 4]);
			buf_putc(sb, hex[s[i] & 15]);
		}
	if (sb->failed) {
		errorf(err, errlen, "arrow: out of memory");
		return NULL;
	}
	return new_string(sb->data != NULL ? sb->data : "", err, errlen);
}

cJSON *
arrow_cell(const struct arrow_col *c, const struct arrow_colview *cv, size_t r,
    size_t row, struct buf *sb, char *err, size_t errlen)
{
	const struct arrow_view	*v = &cv->v;
	char			 num[64];
	uint64_t		 u;
	double			 d;

	if (is_null(v, r))
		return cJSON_CreateNull();
	switch (c->cf) {
	case CELL_INT:
		fmt_scaled(int_at(v, c->bits, c->is_signed, r), c->scale, num);
		break;
	case CELL_DEC128:
		fmt_scaled(dec128_at(v, r), c->scale, num);
		break;
	case CELL_DOUBLE:
		u = arrow_le64(v->data + 8 * r);
		memcpy(&d, &u, sizeof(d));
		fmt_double(d, num);
		break;
	case CELL_BOOL:
		strcpy(num, v->data[r >> 3] >> (r & 7) & 1 ? "1" : "0");
		break;
	case CELL_TS:
		return ts_cell(c, cv, r, row, err, errlen);
	default:
		return bytes_cell(c, v, r, row, sb, err, errlen);
	}
	return new_string(num, err, errlen);
}

