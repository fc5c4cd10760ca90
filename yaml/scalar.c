/*
 * scalar.c: PyYAML's safe_load typing of one scalar (YAML 1.1).
 *
 * The implicit resolvers (yes/no/on/off are booleans, 0o and 010 octal,
 * 1_000 and 1:30 sexagesimal integers, 1e3 a string), timestamps
 * normalised as Python prints a datetime, and explicit !!tags.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "yaml/doc_int.h"

/* ------------------------------------------------- implicit resolvers */

static int
in_set(int c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* Length of the run of chars from set starting at s[i]. */
static size_t
span(const char *s, size_t i, size_t n, const char *set)
{
	size_t	 j = i;

	while (j < n && in_set(s[j], set))
		j++;
	return j - i;
}

#define DIGITS	"0123456789"
#define DIGITS_	"0123456789_"

static size_t
opt_sign(const char *s, size_t n)
{
	return n > 0 && (s[0] == '-' || s[0] == '+');
}

/* (:[0-5]?[0-9])+ starting at i; returns the new index or 0. */
static size_t
sexagesimal(const char *s, size_t i, size_t n)
{
	size_t	 start = i;

	while (i < n && s[i] == ':') {
		if (i + 2 < n && in_set(s[i + 1], "012345") &&
		    in_set(s[i + 2], DIGITS))
			i += 3;
		else if (i + 1 < n && in_set(s[i + 1], DIGITS))
			i += 2;
		else
			return 0;
	}
	return i > start ? i : 0;
}

/* [eE][-+][0-9]+ at i, optional; returns the new index or 0 on junk. */
static size_t
opt_exponent(const char *s, size_t i, size_t n)
{
	size_t	 d;

	if (i == n)
		return i;
	if (!in_set(s[i], "eE") || i + 1 >= n || !in_set(s[i + 1], "-+"))
		return 0;
	d = span(s, i + 2, n, DIGITS);
	return d ? i + 2 + d : 0;
}

static int
is_float_text(const char *s, size_t n)
{
	size_t	 i = opt_sign(s, n), d, j;
	static const char *const special[] = {
		".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"
	};

	for (size_t k = 0; k < 6; k++) {
		size_t off = k < 3 ? i : 0;

		if (n - off == 4 && memcmp(s + off, special[k], 4) == 0)
			return 1;
	}
	if (n > 1 && s[0] == '.' && in_set(s[1], DIGITS)) {
		j = 1 + span(s, 1, n, DIGITS_);
		return opt_exponent(s, j, n) == n;
	}
	if (i >= n || !in_set(s[i], DIGITS))
		return 0;
	d = span(s, i, n, DIGITS_);
	j = i + d;
	if (j < n && s[j] == '.') {
		j += 1 + span(s, j + 1, n, DIGITS_);
		return opt_exponent(s, j, n) == n;
	}
	if ((j = sexagesimal(s, j, n)) == 0 || j >= n || s[j] != '.')
		return 0;
	return j + 1 + span(s, j + 1, n, DIGITS_) == n;
}

static int
is_int_text(const char *s, size_t n)
{
	size_t	 i = opt_sign(s, n), j;

	if (i >= n || !in_set(s[i], DIGITS))
		return 0;
	if (s[i] == '0') {
		if (i + 1 == n)
			return 1;
		if (s[i + 1] == 'b')
			return i + 2 < n && i + 2 + span(s, i + 2, n, "01_")
			    == n;
		if (s[i + 1] == 'x')
			return i + 2 < n && i + 2 + span(s, i + 2, n,
			    "0123456789abcdefABCDEF_") == n;
		return i + 1 + span(s, i + 1, n, "01234567_") == n;
	}
	j = i + span(s, i, n, DIGITS_);
	if (j == n)
		return 1;
	return sexagesimal(s, j, n) == n;
}

static int
is_bool_text(const char *s, size_t n, int *val)
{
	static const char *const t[] = {
		"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"
	};
	static const char *const f[] = {
		"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"
	};

	for (size_t i = 0; i < 9; i++) {
		if (strlen(t[i]) == n && memcmp(s, t[i], n) == 0)
			return *val = 1, 1;
		if (strlen(f[i]) == n && memcmp(s, f[i], n) == 0)
			return *val = 0, 1;
	}
	return 0;
}

static int
is_null_text(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') || (n == 4 &&
	    (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 ||
	    memcmp(s, "NULL", 4) == 0));
}

/* ---------------------------------------------------------- timestamps */

struct tstamp {
	int	 y, mo, d, h, mi, s, us, has_time, has_tz, off;	/* off: min */
	int	 date_len;	/* chars in the date part */
};

static int
take_digits(const char *s, size_t *i, size_t n, int min, int max, int *v)
{
	int	 k = 0;

	*v = 0;
	while (*i < n && k < max && in_set(s[*i], DIGITS)) {
		*v = *v * 10 + (s[*i] - '0');
		(*i)++;
		k++;
	}
	return k >= min ? 0 : -1;
}

/* The time-zone tail: [ \t]*(Z|[-+]H[H][:MM]); returns -1 on junk. */
static int
parse_tz(const char *s, size_t i, size_t n, struct tstamp *t)
{
	int	 sign, th, tm = 0;

	i += span(s, i, n, " \t");
	if (i == n)
		return 0;
	t->has_tz = 1;
	if (s[i] == 'Z')
		return i + 1 == n ? 0 : -1;
	if (s[i] != '-' && s[i] != '+')
		return -1;
	sign = s[i++] == '-' ? -1 : 1;
	if (take_digits(s, &i, n, 1, 2, &th) == -1)
		return -1;
	if (i < n && s[i] == ':') {
		i++;
		if (take_digits(s, &i, n, 2, 2, &tm) == -1)
			return -1;
	}
	t->off = sign * (th * 60 + tm);
	return i == n ? 0 : -1;
}

/* PyYAML's timestamp_regexp; 0 when s matches it. */
static int
parse_timestamp(const char *s, size_t n, struct tstamp *t)
{
	size_t	 i = 0, k;

	memset(t, 0, sizeof(*t));
	if (take_digits(s, &i, n, 4, 4, &t->y) == -1 || i >= n ||
	    s[i++] != '-' || take_digits(s, &i, n, 1, 2, &t->mo) == -1 ||
	    i >= n || s[i++] != '-' || take_digits(s, &i, n, 1, 2, &t->d))
		return -1;
	t->date_len = (int)i;
	if (i == n)
		return 0;
	if (s[i] == 'T' || s[i] == 't')
		i++;
	else if ((k = span(s, i, n, " \t")) > 0)
		i += k;
	else
		return -1;
	t->has_time = 1;
	if (take_digits(s, &i, n, 1, 2, &t->h) == -1 || i >= n ||
	    s[i++] != ':' || take_digits(s, &i, n, 2, 2, &t->mi) == -1 ||
	    i >= n || s[i++] != ':' || take_digits(s, &i, n, 2, 2, &t->s))
		return -1;
	if (i < n && s[i] == '.') {
		int	 scale = 100000;

		for (i++; i < n && in_set(s[i], DIGITS); i++, scale /= 10)
			t->us += (s[i] - '0') * scale;
	}
	return parse_tz(s, i, n, t);
}

/* Formats t the way pydantic's JSON mode prints date/datetime. */
static int
format_timestamp(const struct tstamp *t, char *buf, size_t len)
{
	int	 o;

	if (t->y < 1 || t->mo < 1 || t->mo > 12 || t->d < 1 ||
	    t->d > month_days(t->y, t->mo) || t->h > 23 || t->mi > 59 ||
	    t->s > 59 || t->off <= -1440 || t->off >= 1440)
		return -1;
	o = snprintf(buf, len, "%04d-%02d-%02d", t->y, t->mo, t->d);
	if (!t->has_time)
		return 0;
	o += snprintf(buf + o, len - (size_t)o, "T%02d:%02d:%02d", t->h,
	    t->mi, t->s);
	if (t->us)
		o += snprintf(buf + o, len - (size_t)o, ".%06d", t->us);
	if (t->has_tz && t->off == 0)
		snprintf(buf + o, len - (size_t)o, "Z");
	else if (t->has_tz)
		snprintf(buf + o, len - (size_t)o, "%c%02d:%02d",
		    t->off < 0 ? '-' : '+', abs(t->off) / 60, abs(t->off) % 60);
	return 0;
}

/* ------------------------------------------------ scalar construction */

/* Copies s without '_' into a new string (NULL when out of memory). */
static char *
strip_underscores(const char *s, size_t n)
{
	char	*o = malloc(n + 1);
	size_t	 j = 0;

	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			o[j++] = s[i];
	o[j] = '\0';
	return o;
}

/* Digits of s in base into *d; -1 when empty or on a bad digit. */
static int
digits_value(const char *s, int base, double *d)
{
	*d = 0;
	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		int	 v;

		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -1;
		if (v >= base)
			return -1;
		*d = *d * base + v;
	}
	return 0;
}

/* Sum of ':'-separated base-60 parts (after the sign). */
static int
sexagesimal_value(char *s, int allow_frac, double *d)
{
	char	*part, *save = NULL;

	*d = 0;
	for (part = strtok_r(s, ":", &save); part != NULL;
	    part = strtok_r(NULL, ":", &save)) {
		char	*end;
		double	 v;

		if (!allow_frac && strchr(part, '.') != NULL)
			return -1;
		errno = 0;
		v = strtod(part, &end);
		if (end == part || *end != '\0' || strchr(part, 'x') ||
		    strchr(part, 'X'))
			return -1;
		*d = *d * 60 + v;
	}
	return 0;
}

/* PyYAML's construct_yaml_int on text. */
static int
int_value(const char *text, size_t n, double *d)
{
	char	*v = strip_underscores(text, n), *s;
	int	 neg, rc;

	if (v == NULL)
		return -1;
	s = v + strspn(v, " \t\n");
	for (size_t e = strlen(s); e > 0 && strchr(" \t\n", s[e - 1]); e--)
		s[e - 1] = '\0';
	neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	if (strcmp(s, "0") == 0)
		rc = (*d = 0, 0);
	else if (strncmp(s, "0b", 2) == 0)
		rc = digits_value(s + 2, 2, d);
	else if (strncmp(s, "0x", 2) == 0)
		rc = digits_value(s + 2, 16, d);
	else if (s[0] == '0')
		rc = digits_value(s + (s[1] == 'o' || s[1] == 'O' ? 2 : 1),
		    8, d);
	else if (strchr(s, ':') != NULL)
		rc = sexagesimal_value(s, 0, d);
	else
		rc = digits_value(s, 10, d);
	free(v);
	if (rc == 0 && neg && *d != 0)
		*d = -*d;
	return rc;
}

/* PyYAML's construct_yaml_float on text. */
static int
float_value(const char *text, size_t n, double *d)
{
	char	*v = strip_underscores(text, n), *s, *end;
	int	 neg, rc = 0;

	if (v == NULL)
		return -1;
	for (s = v; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	s = v;
	neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	if (strcmp(s, ".inf") == 0)
		*d = INFINITY;
	else if (strcmp(s, ".nan") == 0)
		*d = NAN;
	else if (strchr(s, ':') != NULL)
		rc = sexagesimal_value(s, 1, d);
	else if (strchr(s, 'x') != NULL || *s == '\0')
		rc = -1;
	else {
		*d = strtod(s, &end);
		end += strspn(end, " \t\n");
		rc = end == s || *end != '\0' ? -1 : 0;
	}
	free(v);
	if (rc == 0 && neg && !isnan(*d))
		*d = -*d;
	return rc;
}

static enum stype
implicit_type(const char *s, size_t n, struct scalar *sc)
{
	struct tstamp	 t;

	if (n == 0)
		return ST_NULL;
	switch (s[0]) {
	case 'y': case 'Y': case 'n': case 'N': case 't': case 'T':
	case 'f': case 'F': case 'o': case 'O':
		if (is_bool_text(s, n, &sc->b))
			return ST_BOOL;
		break;
	case '<':
		if (n == 2 && s[1] == '<')
			return ST_MERGE;
		break;
	case '=':
		if (n == 1)
			return ST_VALUE;
		break;
	}
	if (is_null_text(s, n))
		return ST_NULL;
	if (in_set(s[0], "-+0123456789.") && is_float_text(s, n))
		return ST_FLOAT;
	if (in_set(s[0], "-+0123456789") && is_int_text(s, n))
		return ST_INT;
	if (in_set(s[0], DIGITS) && parse_timestamp(s, n, &t) == 0 &&
	    (t.has_time || n == 10))
		return ST_TIME;
	return ST_STR;
}

enum stype
ydoc_explicit_type(const char *tag)
{
	static const struct {
		const char	*name;
		enum stype	 t;
	} tags[] = {
		{ "str", ST_STR }, { "int", ST_INT }, { "float", ST_FLOAT },
		{ "bool", ST_BOOL }, { "null", ST_NULL },
		{ "timestamp", ST_TIME }, { "merge", ST_MERGE },
		{ "value", ST_VALUE },
	};

	if (strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		return (enum stype)-1;
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strcmp(tag + strlen(TAG_PREFIX), tags[i].name) == 0)
			return tags[i].t;
	return (enum stype)-1;
}

static int
explicit_bool(const char *s, size_t n, int *b)
{
	static const char *const names[] = {
		"yes", "no", "true", "false", "on", "off"
	};

	for (size_t i = 0; i < 6; i++)
		if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
			return *b = !(i & 1), 0;
	return -1;
}

int
ydoc_resolve_scalar(const struct ynode *n, struct scalar *sc,
    struct ydoc_error *err)
{
	struct tstamp	 t;

	memset(sc, 0, sizeof(*sc));
	if (n->tag != NULL)
		sc->t = ydoc_explicit_type(n->tag);
	else if (n->implicit)
		sc->t = implicit_type(n->text, n->len, sc);
	else
		sc->t = ST_STR;
	switch ((int)sc->t) {
	case ST_INT:
		if (int_value(n->text, n->len, &sc->d) == -1)
			return ydoc_seterr(err, n->line, n->col,
			    "invalid integer '%.40s'", n->text);
		return 0;
	case ST_FLOAT:
		if (float_value(n->text, n->len, &sc->d) == -1)
			return ydoc_seterr(err, n->line, n->col,
			    "invalid float '%.40s'", n->text);
		return 0;
	case ST_BOOL:
		if (n->tag != NULL && explicit_bool(n->text, n->len,
		    &sc->b) == -1)
			return ydoc_seterr(err, n->line, n->col,
			    "invalid boolean '%.40s'", n->text);
		return 0;
	case ST_TIME:
		if (parse_timestamp(n->text, n->len, &t) == -1 ||
		    format_timestamp(&t, sc->ts, sizeof(sc->ts)) == -1)
			return ydoc_seterr(err, n->line, n->col,
			    "invalid timestamp '%.40s'", n->text);
		return 0;
	case ST_NULL:
	case ST_STR:
	case ST_MERGE:
	case ST_VALUE:
		return 0;
	default:
		return ydoc_seterr(err, n->line, n->col,
		    "could not determine a "
		    "constructor for the tag '%.100s'", n->tag);
	}
}
