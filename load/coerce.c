/*
 * coerce.c: dlt's type inference and coercions (load/coerce.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "load/coerce.h"
#include "common/pyfmt.h"

enum ld_type
ld_py_type(const struct jv *v)
{
	switch (v->kind) {
	case JV_BOOL:
		return LD_BOOL;
	case JV_INT:
	case JV_BIGINT:
		return LD_BIGINT;
	case JV_FLOAT:
		return LD_DOUBLE;
	case JV_ARRAY:
	case JV_OBJECT:
		return LD_JSON;
	default:
		return LD_TEXT;
	}
}

/* ----------------------------------------------------- date-times */

static int
digits(const char *s, size_t len, size_t at, size_t n, int *out)
{
	int	v = 0;

	if (at + n > len)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[at + i] < '0' || s[at + i] > '9')
			return -1;
		v = v * 10 + (s[at + i] - '0');
	}
	*out = v;
	return 0;
}

static int
is_digit_at(const char *s, size_t len, size_t at)
{
	return at < len && s[at] >= '0' && s[at] <= '9';
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
days_from_civil(int y, int m, int d)
{
	long long	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* The time part at s[at]: hh[:mm[:ss[.f]]] or hh[mm[ss[.f]]], then a
   zone. Returns the index after it, or 0 on error. */
static size_t
parse_time(const char *s, size_t len, size_t at, long long *us)
{
	int		 h, mi = 0, sec = 0, ext;
	long long	 frac = 0, scale = 100000, off = 0;

	if (digits(s, len, at, 2, &h) < 0 || h > 23)
		return 0;
	at += 2;
	ext = at < len && s[at] == ':';
	if (ext ? is_digit_at(s, len, at + 1) : is_digit_at(s, len, at)) {
		at += ext;
		if (digits(s, len, at, 2, &mi) < 0 || mi > 59)
			return 0;
		at += 2;
		if (ext ? (at < len && s[at] == ':') :
		    is_digit_at(s, len, at)) {
			at += ext;
			if (digits(s, len, at, 2, &sec) < 0 || sec > 59)
				return 0;
			at += 2;
			if (at < len && (s[at] == '.' || s[at] == ',')) {
				if (!is_digit_at(s, len, ++at))
					return 0;
				for (; is_digit_at(s, len, at); at++) {
					frac += (s[at] - '0') * scale;
					scale /= 10;
				}
			}
		}
	}
	if (at < len && s[at] == 'Z')
		at++;
	else if (at < len && (s[at] == '+' || s[at] == '-')) {
		int	oh, om = 0, sign = s[at] == '-' ? -1 : 1;

		if (digits(s, len, ++at, 2, &oh) < 0 || oh > 23)
			return 0;
		at += 2;
		if (at < len && s[at] == ':')
			at++;
		if (is_digit_at(s, len, at)) {
			if (digits(s, len, at, 2, &om) < 0 || om > 59)
				return 0;
			at += 2;
		}
		off = sign * (oh * 3600LL + om * 60LL);
	}
	*us = ((h * 3600LL + mi * 60LL + sec) - off) * 1000000LL + frac;
	return at;
}

/* Days since 1970-01-01 of ISO week w, day wd (1 = Monday) of year y;
   -1 when the year has no such week. */
static int
week_days(int y, int w, int wd, long long *days)
{
	long long	jan4 = days_from_civil(y, 1, 4);
	/* 1970-01-01 was a Thursday: weekday 1..7, Monday 1. */
	int		dow = (int)(((jan4 + 3) % 7 + 7) % 7) + 1;
	long long	week1 = jan4 - (dow - 1);
	long long	next1 = days_from_civil(y + 1, 1, 4);
	int		ndow = (int)(((next1 + 3) % 7 + 7) % 7) + 1;
	int		weeks = (int)((next1 - (ndow - 1) - week1) / 7);

	if (w < 1 || w > weeks || wd < 1 || wd > 7)
		return -1;
	*days = week1 + (w - 1) * 7 + (wd - 1);
	return 0;
}

static size_t
digit_run(const char *s, size_t len, size_t at)
{
	size_t	n = 0;

	while (is_digit_at(s, len, at + n))
		n++;
	return n;
}

/*
 * The date part of an ISO 8601 text as pendulum reads it: calendar
 * (2024-01-15, 20240115), ordinal (2024-015, 2024015) or week date
 * (2024-W03-1, 2024W031, 2024-W03); *days since the epoch. Returns the
 * index after it, 0 when there is none.
 */
static size_t
parse_date(const char *s, size_t len, long long *days)
{
	int	y, m = 0, d = 0, w, wd = 1;
	size_t	at, n;
	int	ext;

	if (digits(s, len, 0, 4, &y) < 0)
		return 0;
	ext = len > 4 && s[4] == '-';
	at = 4 + (size_t)ext;
	if (at < len && s[at] == 'W') {
		if (digits(s, len, at + 1, 2, &w) < 0)
			return 0;
		at += 3;
		if (ext ? (at + 1 < len && s[at] == '-' &&
		    is_digit_at(s, len, at + 1)) : is_digit_at(s, len, at)) {
			at += (size_t)ext;
			wd = s[at++] - '0';
		}
		return week_days(y, w, wd, days) < 0 ? 0 : at;
	}
	n = digit_run(s, len, at);
	if (ext && n == 2 && at + 2 < len && s[at + 2] == '-' &&
	    digit_run(s, len, at + 3) == 2) {
		digits(s, len, at, 2, &m);
		digits(s, len, at + 3, 2, &d);
		at += 5;
	} else if (!ext && n == 4) {
		digits(s, len, at, 2, &m);
		digits(s, len, at + 2, 2, &d);
		at += 4;
	} else if (n == 3) {
		int	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

		digits(s, len, at, 3, &d);
		if (d < 1 || d > 365 + leap)
			return 0;
		*days = days_from_civil(y, 1, 1) + d - 1;
		return at + 3;
	} else
		return 0;
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return 0;
	*days = days_from_civil(y, m, d);
	return at;
}

int
ld_parse_iso(const char *s, size_t len, long long *epoch_us)
{
	size_t		 at;
	long long	 days, tus = 0;

	if ((at = parse_date(s, len, &days)) == 0)
		return 0;
	*epoch_us = days * 86400LL * 1000000LL;
	if (at == len)
		return 2;
	if (s[at] != 'T' && s[at] != ' ')
		return 0;
	if ((at = parse_time(s, len, at + 1, &tus)) == 0 || at != len)
		return 0;
	*epoch_us += tus;
	return 1;
}

/* Decimal digits of v into out (no NUL); their count. */
static size_t
put_ll(char *out, long long v)
{
	char			 tmp[24];
	size_t			 n = 0, k = 0;
	unsigned long long	 u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		out[k++] = '-';
	while (n > 0)
		out[k++] = tmp[--n];
	return k;
}

static void
put2(char *o, int v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
}

/* civil_from_days (Howard Hinnant's algorithm). */
static void
civil(long long days, long long *y, int *m, int *d)
{
	long long	z = days + 719468, era, doe, yoe, doy, mp;

	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* "2024-01-15" (years beyond 0..9999 as printf writes them). */
static size_t
put_date(char *out, long long days)
{
	long long	y;
	int		m, d;

	civil(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return (size_t)snprintf(out, 32, "%04lld-%02d-%02d", y, m, d);
	put2(out, (int)(y / 100));
	put2(out + 2, (int)(y % 100));
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, d);
	return 10;
}

void
ld_format_ts(char out[64], long long us)
{
	long long	days = us / 86400000000LL, rem = us % 86400000000LL;
	long long	secs;
	int		frac;
	size_t		n;

	if (rem < 0) {
		rem += 86400000000LL;
		days--;
	}
	n = put_date(out, days);
	secs = rem / 1000000;
	frac = (int)(rem % 1000000);
	out[n] = 'T';
	put2(out + n + 1, (int)(secs / 3600));
	out[n + 3] = ':';
	put2(out + n + 4, (int)(secs / 60 % 60));
	out[n + 6] = ':';
	put2(out + n + 7, (int)(secs % 60));
	n += 9;
	if (frac != 0) {
		out[n++] = '.';
		for (int div = 100000; div > 0; div /= 10)
			out[n++] = (char)('0' + frac / div % 10);
	}
	memcpy(out + n, "+00:00", 7);
}

enum ld_type
ld_infer_type(const struct jv *v)
{
	long long	us;

	if (v->kind == JV_STRING && v->len > 0 &&
	    ld_parse_iso(v->s, v->len, &us) == 1)
		return LD_TIMESTAMP;
	return ld_py_type(v);
}

/* ------------------------------------------------------ coercions */

/* Python's int(text.strip()) with dlt's "0x" hex; into *out. */
static int
text_to_int(const struct jv *v, long long *out)
{
	char	*t, *end, *w;
	size_t	 n = v->len;
	int	 base = 10, ok;

	t = xmalloc(n + 1);
	memcpy(t, v->s, n);
	t[n] = '\0';
	/* Python's int() allows "_" between digits. */
	for (w = t, end = t; *end; end++)
		if (*end != '_' || end == t || end[1] == '\0')
			*w++ = *end;
	*w = '\0';
	for (w = t; *w == ' ' || *w == '\t' || *w == '\n' || *w == '\r'; w++)
		;
	if (strncmp(w, "0x", 2) == 0) {
		base = 16;
		w += 2;
	}
	errno = 0;
	*out = strtoll(w, &end, base);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	ok = end != w && *end == '\0' && errno == 0 &&
	    (base == 16 || (*w != ' ' && w[strspn(w, "+-")] != ' '));
	free(t);
	return ok ? 0 : -1;
}

static int
text_to_double(const struct jv *v, double *out)
{
	char	*t = xmalloc(v->len + 1), *end, *w;
	int	 ok;

	memcpy(t, v->s, v->len);
	t[v->len] = '\0';
	for (w = t; *w == ' ' || *w == '\t' || *w == '\n'; w++)
		;
	if (strncmp(w, "0x", 2) == 0) {
		long long	i;
		struct jv	hv = *v;

		free(t);
		if (text_to_int(&hv, &i) < 0)
			return -1;
		*out = (double)i;
		return 0;
	}
	*out = strtod(w, &end);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	/* strtod reads hex floats Python's float() does not. */
	ok = end != w && *end == '\0' && strpbrk(w, "xXpP") == NULL;
	free(t);
	return ok ? 0 : -1;
}

static int
append_int(struct buf *out, long long i)
{
	char	t[24];

	return buf_append(out, t, put_ll(t, i));
}

static int
append_ts(struct buf *out, long long us)
{
	char	ts[64];

	ld_format_ts(ts, us);
	return buf_append(out, "\"", 1) < 0 ||
	    buf_append(out, ts, strlen(ts)) < 0 ? -1 :
	    buf_append(out, "\"", 1);
}

/* _text_fallback and json_to_str: the value as Python's str(). */
static int
to_text(struct buf *out, const struct jv *v)
{
	char		 f[64];
	struct buf	 tmp;
	int		 rc;

	switch (v->kind) {
	case JV_BOOL:
		return jv_write_string(out, v->b ? "True" : "False",
		    v->b ? 4 : 5);
	case JV_INT:
	case JV_BIGINT:
		return jv_write_string(out, v->s, v->len);
	case JV_FLOAT:
		sdk_pyfloat(f, sizeof(f), v->d);
		return jv_write_string(out, f, strlen(f));
	case JV_ARRAY:
	case JV_OBJECT:
		buf_init(&tmp, (size_t)-1);
		rc = jv_write(&tmp, v);
		if (rc == 0)
			rc = jv_write_string(out, tmp.data, tmp.len);
		buf_cleanup(&tmp);
		return rc;
	default:
		return jv_write(out, v);
	}
}

static int
str2bool(const struct jv *v, int *b)
{
	static const char *const yes[] = { "yes", "true", "t", "y", "1" };
	static const char *const no[] = { "no", "false", "f", "n", "0" };

	for (int i = 0; i < 5; i++) {
		if (strlen(yes[i]) == v->len &&
		    strncasecmp(v->s, yes[i], v->len) == 0)
			return *b = 1, 0;
		if (strlen(no[i]) == v->len &&
		    strncasecmp(v->s, no[i], v->len) == 0)
			return *b = 0, 0;
	}
	return -1;
}

static int
coerce_from_text(struct buf *out, enum ld_type to, const struct jv *v)
{
	long long	 i;
	double		 d;
	int		 b, kind;
	struct jv_arena	 a = { 0 };
	struct jv	*parsed;
	char		 err[8];

	switch (to) {
	case LD_BIGINT:
		return text_to_int(v, &i) < 0 ? -1 : append_int(out, i);
	case LD_DOUBLE:
		if (text_to_double(v, &d) < 0 || !isfinite(d))
			return -1;
		return buf_printf(out, "%.17g", d);
	case LD_BOOL:
		if (str2bool(v, &b) < 0)
			return -1;
		return buf_append(out, b ? "true" : "false", b ? 4 : 5);
	case LD_TIMESTAMP:
		if ((kind = ld_parse_iso(v->s, v->len, &i)) == 0)
			return -1;
		return append_ts(out, i);
	case LD_DATE:
		if ((kind = ld_parse_iso(v->s, v->len, &i)) != 2)
			return -1;
		{
			/* As the date it is: "2024-015" is 2024-01-15. */
			char	ds[40];
			size_t	n;

			ds[0] = '"';
			n = put_date(ds + 1, i / 86400000000LL);
			ds[n + 1] = '"';
			return buf_append(out, ds, n + 2);
		}
	case LD_TIME:
		/* ISO time of day ("01:02:03.5"), as dlt's ensure_pendulum_time. */
		if (v->len == 0 || parse_time(v->s, v->len, 0, &i) != v->len)
			return -1;
		return jv_write_string(out, v->s, v->len);
	case LD_JSON:
		parsed = jv_parse(&a, v->s, v->len, err, sizeof(err));
		b = parsed == NULL ? -1 : jv_write(out, parsed);
		jv_arena_free(&a);
		return b;
	default:
		return -1;
	}
}

int
ld_coerce(struct buf *out, enum ld_type to, const struct jv *v)
{
	enum ld_type	from = ld_py_type(v);
	size_t		mark = out->len;
	int		rc = -1;

	if (to == LD_DOUBLE && from == LD_DOUBLE && v->d == 0)
		/* -0.0 as 0.0: what dlt's insert_values lands */
		rc = buf_append(out, "0.0", 3);
	else if (to == from || (to == LD_TEXT && from != LD_TEXT))
		rc = to == LD_TEXT ? to_text(out, v) : jv_write(out, v);
	else if (from == LD_TEXT)
		rc = coerce_from_text(out, to, v);
	else if (to == LD_BIGINT && from == LD_DOUBLE) {
		if (v->d == floor(v->d) && fabs(v->d) < 9.2e18)
			rc = append_int(out, (long long)v->d);
	} else if (to == LD_DOUBLE && from == LD_BIGINT)
		rc = jv_write(out, v);
	else if (to == LD_BOOL && (from == LD_BIGINT || from == LD_DOUBLE))
		rc = buf_append(out, (from == LD_BIGINT ? v->i != 0 :
		    v->d != 0) ? "true" : "false",
		    (from == LD_BIGINT ? v->i != 0 : v->d != 0) ? 4 : 5);
	else if (to == LD_DECIMAL && (from == LD_BIGINT || from == LD_DOUBLE) &&
	    (v->kind != JV_FLOAT || isfinite(v->d)))
		/* Decimal(str(value)): the number's own digits, none lost. */
		rc = buf_append(out, v->s, v->len);
	else if (to == LD_TIMESTAMP && from == LD_BIGINT)
		rc = append_ts(out, v->i * 1000000LL);
	else if (to == LD_TIMESTAMP && from == LD_DOUBLE)
		rc = append_ts(out, (long long)llround(v->d * 1e6));
	if (rc < 0 || (to == LD_TIMESTAMP && from == LD_TIMESTAMP))
		out->len = mark;
	if (out->data != NULL)
		out->data[out->len] = '\0';
	return rc;
}
