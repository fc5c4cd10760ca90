/*
 * yaml.c: one YAML document to cJSON, as PyYAML's safe_load sees it.
 *
 * libyaml's event parser feeds a small composer that keeps the node
 * graph (aliases point at their anchor's node).  The graph is then
 * flattened ("<<" merge keys, PyYAML order) and copied into cJSON with
 * PyYAML's YAML 1.1 implicit typing.  Every cJSON node made is entered
 * into a pointer-keyed table of source positions.  Alias expansion is
 * capped at YAML_MAX_NODES so a billion-laughs file fails quickly.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "common/util.h"
#include "deployments/yaml.h"

#define TAG_PREFIX	"tag:yaml.org,2002:"
#define MAX_FILE	(64u * 1024 * 1024)

enum ykind { YN_SCALAR, YN_SEQ, YN_MAP, YN_ALIAS };

struct ynode;

struct ypair {
	struct ynode	*k;
	struct ynode	*v;
};

/* A mapping's keys after merging and de-duplication. */
struct slot {
	char		*key;		/* JSON key */
	char		*ident;		/* Python dict identity */
	struct ynode	*k, *v;
	int		 nonstr;
};

struct ynode {
	struct ynode	*next;		/* allocation chain */
	enum ykind	 kind;
	char		*tag;		/* explicit tag, NULL for none or "!" */
	char		*text;		/* scalar text */
	size_t		 len;
	int		 implicit;	/* scalar: apply implicit typing */
	int		 line, col;
	struct ynode	**kids;		/* seq items; map key, value, ... */
	size_t		 nkids, capkids;
	struct ynode	*target;	/* alias */
	struct ypair	*eff;		/* map pairs after merging */
	size_t		 neff;
	int		 flat;		/* eff is valid */
	struct slot	*slots;		/* unique keys, built once */
	size_t		 nslots;
	int		 flattening;	/* cycle check for merges */
	int		 building;	/* cycle check for aliases */
};

/* String-keyed open-addressing map; keys are borrowed. */
struct sent {
	const char	*key;
	size_t		 len;
	void		*val;
};

struct smap {
	struct sent	*v;
	size_t		 n, cap;
};

struct pent {
	const cJSON	*node;
	int		 line, col, kline, kcol, flags;
};

struct yaml_doc {
	cJSON		*root;
	struct pent	*pos;
	size_t		 npos, cappos;
};

struct composer {
	yaml_parser_t	 parser;
	struct ynode	*nodes;
	struct ynode	*root;
	struct ynode	**stack;
	size_t		 depth, capstack;
	struct smap	 anchors;
	char		**anames;	/* owned anchor names */
	size_t		 nanames, capanames;
	int		 docs;
	struct yaml_error *err;
};

struct builder {
	struct yaml_doc	*doc;
	size_t		 count;
	size_t		 pairs;
	struct yaml_error *err;
};

enum stype {
	ST_NULL, ST_BOOL, ST_INT, ST_FLOAT, ST_STR, ST_TIME, ST_MERGE, ST_VALUE
};

struct scalar {
	enum stype	 t;
	int		 b;
	double		 d;
	char		 ts[48];	/* normalised timestamp */
};

static int
seterr(struct yaml_error *err, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
seterr(struct yaml_error *err, int line, int col, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return -1;
	err->line = line;
	err->col = col;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---------------------------------------------------------------- maps */

static uint64_t
hash_bytes(const char *s, size_t len)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static struct sent *
smap_slot(const struct smap *m, const char *key, size_t len)
{
	size_t	 i = (size_t)hash_bytes(key, len) & (m->cap - 1);

	for (;;) {
		struct sent *e = &m->v[i];

		if (e->key == NULL || (e->len == len &&
		    memcmp(e->key, key, len) == 0))
			return e;
		i = (i + 1) & (m->cap - 1);
	}
}

static int
smap_grow(struct smap *m)
{
	struct smap	 nm;

	nm.cap = m->cap ? m->cap * 2 : 16;
	nm.n = 0;
	nm.v = calloc(nm.cap, sizeof(*nm.v));
	if (nm.v == NULL)
		return -1;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->v[i].key != NULL) {
			*smap_slot(&nm, m->v[i].key, m->v[i].len) = m->v[i];
			nm.n++;
		}
	}
	free(m->v);
	*m = nm;
	return 0;
}

/* The value stored under key, or NULL. */
static void *
smap_get(const struct smap *m, const char *key, size_t len)
{
	if (m->cap == 0)
		return NULL;
	return smap_slot(m, key, len)->val;
}

/* Stores val under key (replacing).  key must outlive the map. */
static int
smap_put(struct smap *m, const char *key, size_t len, void *val)
{
	struct sent	*e;

	if ((m->n + 1) * 2 > m->cap && smap_grow(m) == -1)
		return -1;
	e = smap_slot(m, key, len);
	if (e->key == NULL) {
		e->key = key;
		e->len = len;
		m->n++;
	}
	e->val = val;
	return 0;
}

/* ----------------------------------------------------- position table */

static size_t
ptr_hash(const void *p, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)p;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

static struct pent *
pos_slot(const struct yaml_doc *doc, const cJSON *node)
{
	size_t	 i = ptr_hash(node, doc->cappos);

	while (doc->pos[i].node != NULL && doc->pos[i].node != node)
		i = (i + 1) & (doc->cappos - 1);
	return &doc->pos[i];
}

static int
pos_grow(struct yaml_doc *doc)
{
	struct yaml_doc	 nd;

	nd.cappos = doc->cappos ? doc->cappos * 2 : 256;
	nd.npos = doc->npos;
	nd.pos = calloc(nd.cappos, sizeof(*nd.pos));
	if (nd.pos == NULL)
		return -1;
	for (size_t i = 0; i < doc->cappos; i++)
		if (doc->pos[i].node != NULL)
			*pos_slot(&nd, doc->pos[i].node) = doc->pos[i];
	free(doc->pos);
	doc->pos = nd.pos;
	doc->cappos = nd.cappos;
	return 0;
}

/* Records (or overwrites) the value position of node. */
static int
pos_put(struct yaml_doc *doc, const cJSON *node, int line, int col)
{
	struct pent	*e;

	if ((doc->npos + 1) * 2 > doc->cappos && pos_grow(doc) == -1)
		return -1;
	e = pos_slot(doc, node);
	if (e->node == NULL) {
		e->node = node;
		doc->npos++;
	}
	e->line = line;
	e->col = col;
	return 0;
}

static const struct pent *
pos_find(const struct yaml_doc *doc, const cJSON *node)
{
	const struct pent *e;

	if (doc == NULL || node == NULL || doc->cappos == 0)
		return NULL;
	e = pos_slot(doc, node);
	return e->node == node ? e : NULL;
}

/* ------------------------------------------------------ python floats */

char *
yaml_format_float(double d, char *buf, size_t len)
{
	char	 tmp[40], dig[24], out[48];
	int	 prec, exp, nd = 0, neg, o = 0;
	char	*p;

	if (isnan(d))
		return snprintf(buf, len, "nan"), buf;
	if (isinf(d))
		return snprintf(buf, len, d < 0 ? "-inf" : "inf"), buf;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	neg = tmp[0] == '-';
	for (p = tmp + neg; *p != 'e'; p++)
		if (*p != '.')
			dig[nd++] = *p;
	exp = atoi(p + 1);
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (neg)
		out[o++] = '-';
	if (exp >= 16 || exp < -4) {
		out[o++] = dig[0];
		if (nd > 1) {
			out[o++] = '.';
			memcpy(out + o, dig + 1, (size_t)nd - 1);
			o += nd - 1;
		}
		snprintf(out + o, sizeof(out) - (size_t)o, "e%c%02d",
		    exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
	} else if (exp >= 0) {
		for (int i = 0; i <= exp; i++)
			out[o++] = i < nd ? dig[i] : '0';
		out[o++] = '.';
		if (nd > exp + 1)
			for (int i = exp + 1; i < nd; i++)
				out[o++] = dig[i];
		else
			out[o++] = '0';
		out[o] = '\0';
	} else {
		out[o++] = '0';
		out[o++] = '.';
		for (int i = 0; i < -exp - 1; i++)
			out[o++] = '0';
		memcpy(out + o, dig, (size_t)nd);
		out[o + nd] = '\0';
	}
	snprintf(buf, len, "%s", out);
	return buf;
}

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

static int
days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

/* Formats t the way pydantic's JSON mode prints date/datetime. */
static int
format_timestamp(const struct tstamp *t, char *buf, size_t len)
{
	int	 o;

	if (t->y < 1 || t->mo < 1 || t->mo > 12 || t->d < 1 ||
	    t->d > days_in_month(t->y, t->mo) || t->h > 23 || t->mi > 59 ||
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

static enum stype
explicit_type(const char *tag)
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

/* Types and converts scalar n into sc; -1 with err on failure. */
static int
resolve_scalar(const struct ynode *n, struct scalar *sc,
    struct yaml_error *err)
{
	struct tstamp	 t;

	memset(sc, 0, sizeof(*sc));
	if (n->tag != NULL)
		sc->t = explicit_type(n->tag);
	else if (n->implicit)
		sc->t = implicit_type(n->text, n->len, sc);
	else
		sc->t = ST_STR;
	switch ((int)sc->t) {
	case ST_INT:
		if (int_value(n->text, n->len, &sc->d) == -1)
			return seterr(err, n->line, n->col,
			    "invalid integer '%.40s'", n->text);
		return 0;
	case ST_FLOAT:
		if (float_value(n->text, n->len, &sc->d) == -1)
			return seterr(err, n->line, n->col,
			    "invalid float '%.40s'", n->text);
		return 0;
	case ST_BOOL:
		if (n->tag != NULL && explicit_bool(n->text, n->len,
		    &sc->b) == -1)
			return seterr(err, n->line, n->col,
			    "invalid boolean '%.40s'", n->text);
		return 0;
	case ST_TIME:
		if (parse_timestamp(n->text, n->len, &t) == -1 ||
		    format_timestamp(&t, sc->ts, sizeof(sc->ts)) == -1)
			return seterr(err, n->line, n->col,
			    "invalid timestamp '%.40s'", n->text);
		return 0;
	case ST_NULL:
	case ST_STR:
	case ST_MERGE:
	case ST_VALUE:
		return 0;
	default:
		return seterr(err, n->line, n->col, "could not determine a "
		    "constructor for the tag '%.100s'", n->tag);
	}
}

/* ------------------------------------------------------------ composer */

static struct ynode *
node_new(struct composer *c, enum ykind kind, const yaml_mark_t *mark)
{
	struct ynode	*n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->line = (int)mark->line + 1;
	n->col = (int)mark->column + 1;
	n->next = c->nodes;
	c->nodes = n;
	return n;
}

static void
slots_free(struct slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].key);
		free(s[i].ident);
	}
	free(s);
}

static void
nodes_free(struct ynode *n)
{
	while (n != NULL) {
		struct ynode *next = n->next;

		free(n->tag);
		free(n->text);
		free(n->kids);
		free(n->eff);
		slots_free(n->slots, n->nslots);
		free(n);
		n = next;
	}
}

static int
oom(struct yaml_error *err)
{
	return seterr(err, 0, 0, "out of memory");
}

static int
kid_add(struct ynode *parent, struct ynode *kid)
{
	if (parent->nkids == parent->capkids) {
		size_t	 cap = parent->capkids ? parent->capkids * 2 : 4;
		void	*p = realloc(parent->kids, cap * sizeof(*parent->kids));

		if (p == NULL)
			return -1;
		parent->kids = p;
		parent->capkids = cap;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

static int
attach(struct composer *c, struct ynode *n)
{
	if (c->depth == 0) {
		c->root = n;
		return 0;
	}
	if (kid_add(c->stack[c->depth - 1], n) == -1)
		return oom(c->err);
	return 0;
}

static int
anchor_add(struct composer *c, const char *anchor, struct ynode *n,
    const yaml_mark_t *mark)
{
	char	*name;

	if (anchor == NULL)
		return 0;
	if (smap_get(&c->anchors, anchor, strlen(anchor)) != NULL)
		return seterr(c->err, (int)mark->line + 1,
		    (int)mark->column + 1, "found duplicate anchor '%.100s'",
		    anchor);
	if (c->nanames == c->capanames) {
		size_t	 cap = c->capanames ? c->capanames * 2 : 8;
		void	*p = realloc(c->anames, cap * sizeof(*c->anames));

		if (p == NULL)
			return oom(c->err);
		c->anames = p;
		c->capanames = cap;
	}
	if ((name = strdup(anchor)) == NULL)
		return oom(c->err);
	c->anames[c->nanames++] = name;
	if (smap_put(&c->anchors, name, strlen(name), n) == -1)
		return oom(c->err);
	return 0;
}

static int
push(struct composer *c, struct ynode *n, const yaml_mark_t *mark)
{
	if (c->depth >= YAML_MAX_DEPTH)
		return seterr(c->err, (int)mark->line + 1,
		    (int)mark->column + 1, "nesting deeper than %d levels",
		    YAML_MAX_DEPTH);
	if (c->depth == c->capstack) {
		size_t	 cap = c->capstack ? c->capstack * 2 : 16;
		void	*p = realloc(c->stack, cap * sizeof(*c->stack));

		if (p == NULL)
			return oom(c->err);
		c->stack = p;
		c->capstack = cap;
	}
	c->stack[c->depth++] = n;
	return 0;
}

/* Keeps an explicit tag; "!" (non-specific) counts as none. */
static int
take_tag(struct ynode *n, const yaml_char_t *tag)
{
	if (tag == NULL || strcmp((const char *)tag, "!") == 0)
		return 0;
	n->tag = strdup((const char *)tag);
	return n->tag == NULL ? -1 : 0;
}

static int
on_scalar(struct composer *c, const yaml_event_t *ev)
{
	struct ynode	*n = node_new(c, YN_SCALAR, &ev->start_mark);
	size_t		 len = ev->data.scalar.length;

	if (n == NULL || take_tag(n, ev->data.scalar.tag) == -1 ||
	    (n->text = malloc(len + 1)) == NULL)
		return oom(c->err);
	memcpy(n->text, ev->data.scalar.value, len);
	n->text[len] = '\0';
	n->len = len;
	n->implicit = n->tag == NULL && ev->data.scalar.plain_implicit;
	if (anchor_add(c, (const char *)ev->data.scalar.anchor, n,
	    &ev->start_mark) == -1)
		return -1;
	return attach(c, n);
}

static int
on_collection(struct composer *c, const yaml_event_t *ev, enum ykind kind)
{
	struct ynode	*n = node_new(c, kind, &ev->start_mark);
	const yaml_char_t *tag, *anchor;

	if (kind == YN_SEQ) {
		tag = ev->data.sequence_start.tag;
		anchor = ev->data.sequence_start.anchor;
	} else {
		tag = ev->data.mapping_start.tag;
		anchor = ev->data.mapping_start.anchor;
	}
	if (n == NULL || take_tag(n, tag) == -1)
		return oom(c->err);
	if (anchor_add(c, (const char *)anchor, n, &ev->start_mark) == -1 ||
	    attach(c, n) == -1)
		return -1;
	return push(c, n, &ev->start_mark);
}

static int
on_alias(struct composer *c, const yaml_event_t *ev)
{
	const char	*name = (const char *)ev->data.alias.anchor;
	struct ynode	*target = smap_get(&c->anchors, name, strlen(name));
	struct ynode	*n;

	if (target == NULL)
		return seterr(c->err, (int)ev->start_mark.line + 1,
		    (int)ev->start_mark.column + 1,
		    "found undefined alias '%.100s'", name);
	if ((n = node_new(c, YN_ALIAS, &ev->start_mark)) == NULL)
		return oom(c->err);
	n->target = target;
	return attach(c, n);
}

static int
on_event(struct composer *c, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (c->docs++ > 0)
			return seterr(c->err, (int)ev->start_mark.line + 1,
			    (int)ev->start_mark.column + 1, "expected a single "
			    "document in the stream, but found another "
			    "document");
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(c, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection(c, ev, YN_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_collection(c, ev, YN_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (c->depth > 0)
			c->depth--;
		return 0;
	case YAML_ALIAS_EVENT:
		return on_alias(c, ev);
	default:
		return 0;
	}
}

/* Line and column of byte offset off in text (reader errors). */
static void
offset_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80)
			(*col)++;
	}
}

static int
parser_error(struct composer *c, const char *text, size_t len)
{
	const yaml_parser_t *p = &c->parser;
	int		 line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return oom(c->err);
	case YAML_READER_ERROR:
		offset_pos(text, len, p->problem_offset, &line, &col);
		return seterr(c->err, line, col, "%s",
		    p->problem ? p->problem : "invalid input");
	default:
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context != NULL)
			return seterr(c->err, line, col,
			    "%.100s (%.80s at line %d, column %d)",
			    p->problem ? p->problem : "syntax error",
			    p->context, (int)p->context_mark.line + 1,
			    (int)p->context_mark.column + 1);
		return seterr(c->err, line, col, "%.200s",
		    p->problem ? p->problem : "syntax error");
	}
}

static int
compose(struct composer *c, const char *text, size_t len)
{
	for (;;) {
		yaml_event_t	 ev;
		yaml_event_type_t type;
		int		 rc;

		if (!yaml_parser_parse(&c->parser, &ev))
			return parser_error(c, text, len);
		rc = on_event(c, &ev);
		type = ev.type;
		yaml_event_delete(&ev);
		if (rc == -1)
			return -1;
		if (type == YAML_STREAM_END_EVENT)
			return 0;
	}
}

/* ------------------------------------------------------------- builder */

static struct ynode *
deref(struct ynode *n)
{
	return n->kind == YN_ALIAS ? n->target : n;
}

static int
is_merge_key(const struct ynode *k)
{
	if (k->kind != YN_SCALAR)
		return 0;
	if (k->tag != NULL)
		return strcmp(k->tag, TAG_PREFIX "merge") == 0;
	return k->implicit && k->len == 2 && memcmp(k->text, "<<", 2) == 0;
}

static int
eff_add(struct builder *b, struct ypair **v, size_t *n, size_t *cap,
    struct ypair p)
{
	if (++b->pairs > YAML_MAX_NODES)
		return seterr(b->err, p.k->line, p.k->col, "document expands "
		    "to more than %d nodes (alias bomb?)", YAML_MAX_NODES);
	if (*n == *cap) {
		size_t	 nc = *cap ? *cap * 2 : 8;
		void	*q = realloc(*v, nc * sizeof(**v));

		if (q == NULL)
			return oom(b->err);
		*v = q;
		*cap = nc;
	}
	(*v)[(*n)++] = p;
	return 0;
}

static int	flatten(struct builder *, struct ynode *, int);

/* Appends the flattened pairs of merge source m. */
static int
merge_one(struct builder *b, struct ynode *m, struct ypair **v, size_t *n,
    size_t *cap, int depth)
{
	if (flatten(b, m, depth + 1) == -1)
		return -1;
	for (size_t i = 0; i < m->neff; i++)
		if (eff_add(b, v, n, cap, m->eff[i]) == -1)
			return -1;
	return 0;
}

/* The value of a "<<" key: a mapping or a list of mappings. */
static int
merge_value(struct builder *b, struct ynode *val, struct ypair **v,
    size_t *n, size_t *cap, int depth)
{
	struct ynode	*vd = deref(val);

	if (vd->kind == YN_MAP)
		return merge_one(b, vd, v, n, cap, depth);
	if (vd->kind != YN_SEQ)
		return seterr(b->err, vd->line, vd->col, "expected a mapping "
		    "or list of mappings for merging");
	/* Earlier mappings win, so later ones go first. */
	for (size_t i = vd->nkids; i-- > 0;) {
		struct ynode *sub = deref(vd->kids[i]);

		if (sub->kind != YN_MAP)
			return seterr(b->err, sub->line, sub->col,
			    "expected a mapping for merging");
	}
	for (size_t i = vd->nkids; i-- > 0;)
		if (merge_one(b, deref(vd->kids[i]), v, n, cap, depth) == -1)
			return -1;
	return 0;
}

/*
 * PyYAML's flatten_mapping: merged pairs first, then the node's own, so
 * explicit keys override merged ones when the dict is built.
 */
static int
flatten(struct builder *b, struct ynode *m, int depth)
{
	struct ypair	*v = NULL;
	size_t		 n = 0, cap = 0;

	if (m->flat)
		return 0;
	if (m->flattening)
		return seterr(b->err, m->line, m->col, "recursive merge key");
	if (depth > YAML_MAX_DEPTH)
		return seterr(b->err, m->line, m->col, "merge keys nested "
		    "deeper than %d levels", YAML_MAX_DEPTH);
	m->flattening = 1;
	for (size_t i = 0; i + 1 < m->nkids; i += 2)
		if (is_merge_key(deref(m->kids[i])) && merge_value(b,
		    m->kids[i + 1], &v, &n, &cap, depth) == -1)
			goto fail;
	for (size_t i = 0; i + 1 < m->nkids; i += 2) {
		struct ypair p = { m->kids[i], m->kids[i + 1] };

		if (!is_merge_key(deref(p.k)) &&
		    eff_add(b, &v, &n, &cap, p) == -1)
			goto fail;
	}
	m->flattening = 0;
	m->eff = v;
	m->neff = n;
	m->flat = 1;
	return 0;
fail:
	m->flattening = 0;
	free(v);
	return -1;
}

static int
count_node(struct builder *b, const struct ynode *n)
{
	if (++b->count > YAML_MAX_NODES)
		return seterr(b->err, n->line, n->col, "document expands to "
		    "more than %d nodes (alias bomb?)", YAML_MAX_NODES);
	return 0;
}

static void
format_int(double d, char *buf, size_t len)
{
	if (fabs(d) < 9.2e18)
		snprintf(buf, len, "%lld", (long long)d);
	else
		snprintf(buf, len, "%.0f", d);
}

static cJSON *
scalar_json(struct builder *b, const struct ynode *n, int *flags)
{
	struct scalar	 sc;
	cJSON		*j = NULL;

	if (resolve_scalar(n, &sc, b->err) == -1)
		return NULL;
	switch (sc.t) {
	case ST_NULL:
		j = cJSON_CreateNull();
		break;
	case ST_BOOL:
		j = cJSON_CreateBool(sc.b);
		break;
	case ST_INT:
	case ST_FLOAT:
		if ((j = cJSON_CreateNumber(sc.d)) != NULL && sc.t == ST_FLOAT)
			j->type |= YAML_CJSON_FLOAT;
		break;
	case ST_TIME:
		*flags |= YAML_NODE_TIMESTAMP;
		j = cJSON_CreateString(sc.ts);
		break;
	case ST_STR:
		if (memchr(n->text, '\0', n->len) != NULL) {
			seterr(b->err, n->line, n->col, "NUL character in a "
			    "string is not supported");
			return NULL;
		}
		j = cJSON_CreateString(n->text);
		break;
	case ST_MERGE:
	case ST_VALUE:
		seterr(b->err, n->line, n->col, "could not determine a "
		    "constructor for the tag '" TAG_PREFIX "%s'",
		    sc.t == ST_MERGE ? "merge" : "value");
		return NULL;
	}
	if (j == NULL)
		oom(b->err);
	return j;
}

/*
 * Python dict identity of a key: 1, 1.0 and true are the same key, the
 * string "1" is not.  The first character tells the kinds apart.
 */
static void
key_identity(const struct scalar *sc, const char *text, char *buf,
    size_t len)
{
	switch (sc->t) {
	case ST_BOOL:
		snprintf(buf, len, "n%d", sc->b);
		break;
	case ST_INT:
	case ST_FLOAT:
		if (sc->d == floor(sc->d) && fabs(sc->d) < 9.2e18)
			snprintf(buf, len, "n%lld", (long long)sc->d);
		else
			snprintf(buf, len, "f%a", sc->d);
		break;
	case ST_NULL:
		snprintf(buf, len, "z");
		break;
	case ST_TIME:
		snprintf(buf, len, "t%s", sc->ts);
		break;
	default:
		snprintf(buf, len, "s%s", text);
		break;
	}
}

/*
 * The dict key PyYAML would make of k, as a new string (JSON spelling
 * for non-strings), and its identity in *ident (freed by the caller);
 * *nonstr says it was not a string.
 */
static char *
key_string(struct builder *b, struct ynode *k, int *nonstr, char **ident)
{
	struct scalar	 sc;
	char		 buf[64];
	const char	*s = buf;
	char		*out;

	k = deref(k);
	if (k->kind != YN_SCALAR) {
		seterr(b->err, k->line, k->col, "found unhashable key");
		return NULL;
	}
	if (k->implicit && k->len == 1 && k->text[0] == '=')
		sc.t = ST_STR;
	else if (resolve_scalar(k, &sc, b->err) == -1)
		return NULL;
	*nonstr = sc.t != ST_STR;
	switch (sc.t) {
	case ST_NULL:
		s = "null";
		break;
	case ST_BOOL:
		s = sc.b ? "true" : "false";
		break;
	case ST_INT:
		format_int(sc.d, buf, sizeof(buf));
		break;
	case ST_FLOAT:
		yaml_format_float(sc.d, buf, sizeof(buf));
		break;
	case ST_TIME:
		s = sc.ts;
		break;
	default:
		if (memchr(k->text, '\0', k->len) != NULL) {
			seterr(b->err, k->line, k->col, "NUL character in a "
			    "key is not supported");
			return NULL;
		}
		s = k->text;
		break;
	}
	if ((out = strdup(s)) == NULL ||
	    (*ident = malloc(k->len + 64)) == NULL) {
		free(out);
		oom(b->err);
		return NULL;
	}
	key_identity(&sc, k->text, *ident, k->len + 64);
	return out;
}

/* Collapses duplicate keys: last value wins, first position stays. */
static struct slot *
dedup(struct builder *b, struct ynode *m, size_t *nout)
{
	struct slot	*s = calloc(m->neff ? m->neff : 1, sizeof(*s));
	struct smap	 seen = { NULL, 0, 0 };
	size_t		 n = 0;

	if (s == NULL)
		return oom(b->err), NULL;
	for (size_t i = 0; i < m->neff; i++) {
		int		 nonstr = 0;
		char		*id = NULL;
		char		*key = key_string(b, m->eff[i].k, &nonstr, &id);
		struct slot	*old;

		if (key == NULL)
			goto fail;
		if ((old = smap_get(&seen, id, strlen(id))) != NULL) {
			/* Python keeps the first key, takes the last value. */
			free(key);
			free(id);
			old->v = m->eff[i].v;
			continue;
		}
		s[n] = (struct slot){ key, id, m->eff[i].k, m->eff[i].v,
		    nonstr };
		if (smap_put(&seen, id, strlen(id), &s[n++]) == -1) {
			oom(b->err);
			goto fail;
		}
	}
	free(seen.v);
	*nout = n;
	return s;
fail:
	free(seen.v);
	slots_free(s, n);
	return NULL;
}

static cJSON	*build(struct builder *, struct ynode *, int);

/* Merges and de-duplicates m's keys once; aliases reuse the result. */
static int
map_slots(struct builder *b, struct ynode *m)
{
	if (m->slots != NULL)
		return 0;
	if (flatten(b, m, 0) == -1 ||
	    (m->slots = dedup(b, m, &m->nslots)) == NULL)
		return -1;
	return 0;
}

static int
fill_map(struct builder *b, struct ynode *m, cJSON *obj, int depth)
{
	const struct slot *s;

	if (map_slots(b, m) == -1)
		return -1;
	s = m->slots;
	for (size_t i = 0; i < m->nslots; i++) {
		cJSON		*v = build(b, s[i].v, depth + 1);
		struct pent	*e;

		if (v == NULL)
			return -1;
		if (!cJSON_AddItemToObject(obj, s[i].key, v)) {
			cJSON_Delete(v);
			return oom(b->err);
		}
		/* The key as written: an alias key sits at the alias. */
		e = pos_slot(b->doc, v);
		e->kline = s[i].k->line;
		e->kcol = s[i].k->col;
		if (s[i].nonstr)
			e->flags |= YAML_NODE_KEY_NONSTR;
	}
	return 0;
}

static int
fill_seq(struct builder *b, struct ynode *sq, cJSON *arr, int depth)
{
	for (size_t i = 0; i < sq->nkids; i++) {
		cJSON	*v = build(b, sq->kids[i], depth + 1);

		if (v == NULL)
			return -1;
		cJSON_AddItemToArray(arr, v);
	}
	return 0;
}

static int
check_collection_tag(struct builder *b, const struct ynode *n)
{
	const char	*want = n->kind == YN_SEQ ? TAG_PREFIX "seq" :
			    TAG_PREFIX "map";

	const char	*found = n->kind == YN_SEQ ? "sequence" : "mapping";

	if (n->tag == NULL || strcmp(n->tag, want) == 0)
		return 0;
	if (strcmp(n->tag, TAG_PREFIX "seq") == 0 ||
	    strcmp(n->tag, TAG_PREFIX "map") == 0)
		return seterr(b->err, n->line, n->col, "expected a %s node, "
		    "but found %s", n->kind == YN_SEQ ? "mapping" : "sequence",
		    found);
	if ((int)explicit_type(n->tag) != -1)
		return seterr(b->err, n->line, n->col, "expected a scalar "
		    "node, but found %s", found);
	return seterr(b->err, n->line, n->col, "could not determine a "
	    "constructor for the tag '%.100s'", n->tag);
}

static cJSON *
build_collection(struct builder *b, struct ynode *n, int depth)
{
	cJSON	*j;
	int	 rc;

	if (n->building) {
		seterr(b->err, n->line, n->col, "recursive alias: the node "
		    "contains itself");
		return NULL;
	}
	if (check_collection_tag(b, n) == -1)
		return NULL;
	j = n->kind == YN_SEQ ? cJSON_CreateArray() : cJSON_CreateObject();
	if (j == NULL || pos_put(b->doc, j, n->line, n->col) == -1) {
		cJSON_Delete(j);
		oom(b->err);
		return NULL;
	}
	n->building = 1;
	rc = n->kind == YN_SEQ ? fill_seq(b, n, j, depth) :
	    fill_map(b, n, j, depth);
	n->building = 0;
	if (rc == -1) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* A new cJSON copy of n, its nodes entered into the position table. */
static cJSON *
build(struct builder *b, struct ynode *n, int depth)
{
	cJSON	*j;
	int	 flags = 0;

	if (n->kind == YN_ALIAS) {
		/* The copy's root is placed where the alias is used. */
		if ((j = build(b, n->target, depth)) != NULL) {
			struct pent *e = pos_slot(b->doc, j);

			e->line = n->line;
			e->col = n->col;
		}
		return j;
	}
	if (depth > YAML_MAX_DEPTH) {
		seterr(b->err, n->line, n->col, "nesting deeper than %d "
		    "levels", YAML_MAX_DEPTH);
		return NULL;
	}
	if (count_node(b, n) == -1)
		return NULL;
	if (n->kind != YN_SCALAR)
		return build_collection(b, n, depth);
	if (n->tag != NULL && (strcmp(n->tag, TAG_PREFIX "seq") == 0 ||
	    strcmp(n->tag, TAG_PREFIX "map") == 0)) {
		seterr(b->err, n->line, n->col, "expected a %s node, but "
		    "found scalar", n->tag[strlen(TAG_PREFIX)] == 's' ?
		    "sequence" : "mapping");
		return NULL;
	}
	if ((j = scalar_json(b, n, &flags)) == NULL)
		return NULL;
	if (pos_put(b->doc, j, n->line, n->col) == -1) {
		cJSON_Delete(j);
		oom(b->err);
		return NULL;
	}
	pos_slot(b->doc, j)->flags = flags;
	return j;
}

/* ------------------------------------------------------------- public */

static void
composer_free(struct composer *c)
{
	for (size_t i = 0; i < c->nanames; i++)
		free(c->anames[i]);
	free(c->anames);
	free(c->anchors.v);
	free(c->stack);
	nodes_free(c->nodes);
	yaml_parser_delete(&c->parser);
}

struct yaml_doc *
yaml_doc_load(const char *text, size_t len, struct yaml_error *err)
{
	struct composer	 c;
	struct builder	 b;
	struct yaml_doc	*doc;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	memset(&c, 0, sizeof(c));
	c.err = err;
	if ((doc = calloc(1, sizeof(*doc))) == NULL)
		return oom(err), NULL;
	if (!yaml_parser_initialize(&c.parser)) {
		free(doc);
		return oom(err), NULL;
	}
	yaml_parser_set_input_string(&c.parser,
	    (const unsigned char *)(text ? text : ""), text ? len : 0);
	b = (struct builder){ doc, 0, 0, err };
	if (compose(&c, text, len) == 0)
		doc->root = c.root ? build(&b, c.root, 0) : cJSON_CreateNull();
	if (doc->root == NULL && c.err != NULL && c.err->msg[0] == '\0')
		oom(err);
	composer_free(&c);
	if (doc->root == NULL) {
		yaml_doc_free(doc);
		return NULL;
	}
	if (c.root == NULL && pos_put(doc, doc->root, 1, 1) == -1) {
		yaml_doc_free(doc);
		return oom(err), NULL;
	}
	return doc;
}

struct yaml_doc *
yaml_doc_load_file(const char *path, struct yaml_error *err)
{
	char		 why[128];
	char		*buf;
	size_t		 n;
	struct yaml_doc	*doc;

	if ((buf = read_file_max(path, MAX_FILE, &n, why, sizeof(why))) == NULL)
		return seterr(err, 0, 0, "%s", why), NULL;
	doc = yaml_doc_load(buf, n, err);
	free(buf);
	return doc;
}

const cJSON *
yaml_doc_root(const struct yaml_doc *doc)
{
	return doc->root;
}

int
yaml_doc_pos(const struct yaml_doc *doc, const cJSON *node, int *line,
    int *col)
{
	const struct pent *e = pos_find(doc, node);

	if (e == NULL)
		return -1;
	*line = e->line;
	*col = e->col;
	return 0;
}

int
yaml_doc_key_pos(const struct yaml_doc *doc, const cJSON *node, int *line,
    int *col)
{
	const struct pent *e = pos_find(doc, node);

	if (e == NULL || e->kline == 0)
		return -1;
	*line = e->kline;
	*col = e->kcol;
	return 0;
}

int
yaml_doc_flags(const struct yaml_doc *doc, const cJSON *node)
{
	const struct pent *e = pos_find(doc, node);

	return e ? e->flags : 0;
}

void
yaml_doc_free(struct yaml_doc *doc)
{
	if (doc == NULL)
		return;
	cJSON_Delete(doc->root);
	free(doc->pos);
	free(doc);
}
