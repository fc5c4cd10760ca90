/*
 * toml_scalar.c: TOML numbers and date-times as cJSON items.
 *
 * Integers keep their exact text (toml_get_int64() reads it back), floats
 * include inf and nan, and the four date-time kinds are checked and
 * normalised; toml_type_of() tells the kinds apart afterwards.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "config/toml_int.h"

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
cJSON *
toml_scalar_number(struct parser *ps)
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
		lex_fail(ps, s, "invalid value", NULL);
		return NULL;
	}
	if ((o = txt = malloc((size_t)(t - s) + 1)) == NULL) {
		lex_oom(ps);
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
		lex_oom(ps);
	ps->p = t;
	return it;
bad:
	free(txt);
	lex_fail(ps, s, msg, NULL);
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
cJSON *
toml_scalar_datetime(struct parser *ps)
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
		lex_oom(ps);
		return NULL;
	}
	it->valueint = kind;
	return it;
bad:
	lex_fail(ps, ps->p, "invalid date or time", NULL);
	return NULL;
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

