/*
 * coerce.c: values from providers to the field's type, as dlt's
 * deserialize_value() and auto_cast() do (common/configuration/utils.py
 * and the coercion table of common/data_types/type_helpers.py):
 *
 *   to str    numbers and booleans as Python prints them, tables and
 *             lists as JSON
 *   to int    text trimmed, "0x" hex, '_' between digits; integral floats
 *   to float  text trimmed, "0x" hex, Python's float() syntax; integers
 *   to bool   yes/true/t/y/1 and no/false/f/n/0 in any case; numbers
 *   to json   text parsed as JSON, which must give an object or array
 *
 * Anything else fails with dlt's message, which never shows the value.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg.h"
#include "config/provider.h"
#include "config/toml.h"
#include "common/util.h"

/* Drops '_' between two digits (Python numeric literals); -1 otherwise. */
static int
drop_underscores(char *s, int hex)
{
	char	*w = s;

	for (char *r = s; *r; r++) {
		if (*r != '_') {
			*w++ = *r;
			continue;
		}
		if (r == s || !(hex ? isxdigit((unsigned char)r[-1]) :
		    isdigit((unsigned char)r[-1])) ||
		    !(hex ? isxdigit((unsigned char)r[1]) :
		    isdigit((unsigned char)r[1])))
			return -1;
	}
	*w = '\0';
	return 0;
}

static int
text_to_int(const char *text, long long *out)
{
	char		*t = str_strip(text), *d, *end;
	int		 hex = strncmp(t, "0x", 2) == 0, rc = -1;
	long long	 v;

	d = hex ? t + 2 : t;
	if (drop_underscores(d, hex) == -1 || *d == '\0' ||
	    isspace((unsigned char)*d) ||
	    (hex && (*d == '+' || *d == '-')))
		goto out;
	errno = 0;
	v = strtoll(d, &end, hex ? 16 : 10);
	if (errno == 0 && *end == '\0' && end != d) {
		*out = v;
		rc = 0;
	}
out:
	free(t);
	return rc;
}

static int
text_to_float(const char *text, double *out)
{
	char		*t = str_strip(text), *end;
	const char	*d = t;
	long long	 v;
	int		 rc = -1;

	if (strncmp(t, "0x", 2) == 0) {
		if (text_to_int(t, &v) == 0) {
			*out = (double)v;
			rc = 0;
		}
		goto out;
	}
	if (*d == '+' || *d == '-')
		d++;
	/* strtod would take hex floats and "infinity" forms Python does
	 * too; refuse what float() refuses: hex, empty, inner blanks. */
	if (*d == '\0' || strncasecmp(d, "0x", 2) == 0 ||
	    drop_underscores(t, 0) == -1)
		goto out;
	errno = 0;
	*out = strtod(t, &end);
	if (*end == '\0' && end != t && errno != EINVAL)
		rc = 0;
out:
	free(t);
	return rc;
}

static int
text_to_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "t", "y", "1" };
	static const char *const no[] = { "no", "false", "f", "n", "0" };

	for (size_t i = 0; i < 5; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

/* Python's repr() of a float: the shortest text that reads back. */
char *
cfg_float_text(double d)
{
	char	buf[40];

	if (isnan(d))
		return xstrdup("nan");
	if (isinf(d))
		return xstrdup(d < 0 ? "-inf" : "inf");
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strpbrk(buf, ".e") == NULL)
		strlcpy_(buf + strlen(buf), ".0", sizeof(buf) - strlen(buf));
	return xstrdup(buf);
}

void
cfg_json_mark_ints(cJSON *it)
{
	char	txt[24];
	size_t	n;

	for (; it != NULL; it = it->next) {
		cfg_json_mark_ints(it->child);
		if (!cJSON_IsNumber(it) || it->valuestring != NULL ||
		    !isfinite(it->valuedouble) ||
		    it->valuedouble != floor(it->valuedouble) ||
		    fabs(it->valuedouble) > 9007199254740992.0)
			continue;
		n = (size_t)snprintf(txt, sizeof(txt), "%lld",
		    (long long)it->valuedouble) + 1;
		if ((it->valuestring = cJSON_malloc(n)) != NULL)
			memcpy(it->valuestring, txt, n);
	}
}

static int
is_int_item(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuestring != NULL;
}

static const char *
type_name(enum cfg_type t)
{
	switch (t) {
	case CFG_STR:
		return "<class 'str'>";
	case CFG_INT:
		return "<class 'int'>";
	case CFG_FLOAT:
		return "<class 'float'>";
	case CFG_BOOL:
		return "<class 'bool'>";
	case CFG_JSON:
		return "dict | list";
	default:
		return "typing.Any";
	}
}

static cJSON *
to_str(const cJSON *raw)
{
	char	*s;
	cJSON	*it;

	if (cJSON_IsString(raw))
		return cJSON_CreateString(raw->valuestring);
	if (is_int_item(raw))
		return cJSON_CreateString(raw->valuestring);
	if (cJSON_IsNumber(raw))
		s = cfg_float_text(raw->valuedouble);
	else if (cJSON_IsBool(raw))
		s = xstrdup(cJSON_IsTrue(raw) ? "True" : "False");
	else if ((s = cJSON_PrintUnformatted(raw)) == NULL)
		return NULL;
	it = cJSON_CreateString(s);
	free(s);
	return it;
}

/* dlt's auto_cast(): bool, int, float, JSON list/dict, else text. */
static cJSON *
auto_cast(const cJSON *raw)
{
	const char	*s = raw->valuestring;
	long long	 i;
	double		 d;
	cJSON		*j;

	if (!cJSON_IsString(raw) || raw->valueint != 0)
		return cJSON_Duplicate(raw, 1);
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)
		return cJSON_CreateBool(strcasecmp(s, "true") == 0);
	if (text_to_int(s, &i) == 0)
		return toml_int_item(i);
	if (text_to_float(s, &d) == 0)
		return cJSON_CreateNumber(d);
	if ((j = cJSON_Parse(s)) != NULL) {
		if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
			cfg_json_mark_ints(j);
			return j;
		}
		cJSON_Delete(j);
	}
	return cJSON_CreateString(s);
}

static cJSON *
coerce(const cJSON *raw, enum cfg_type type, int *bad)
{
	long long	 i;
	double		 d;
	int		 b;
	cJSON		*j;
	int		 text = cJSON_IsString(raw) && raw->valueint == 0;

	*bad = 0;
	switch (type) {
	case CFG_ANY:
		return cJSON_Duplicate(raw, 1);
	case CFG_AUTO:
		return auto_cast(raw);
	case CFG_STR:
		return to_str(raw);
	case CFG_INT:
		if (is_int_item(raw))
			return cJSON_Duplicate(raw, 1);
		if (cJSON_IsNumber(raw) && isfinite(raw->valuedouble) &&
		    raw->valuedouble == floor(raw->valuedouble) &&
		    fabs(raw->valuedouble) < 9.2e18)
			return toml_int_item((long long)raw->valuedouble);
		if (text && text_to_int(raw->valuestring, &i) == 0)
			return toml_int_item(i);
		break;
	case CFG_FLOAT:
		if (cJSON_IsNumber(raw))
			return cJSON_CreateNumber(raw->valuedouble);
		if (text && text_to_float(raw->valuestring, &d) == 0)
			return cJSON_CreateNumber(d);
		break;
	case CFG_BOOL:
		if (cJSON_IsBool(raw))
			return cJSON_CreateBool(cJSON_IsTrue(raw));
		if (cJSON_IsNumber(raw))
			return cJSON_CreateBool(raw->valuedouble != 0);
		if (text && text_to_bool(raw->valuestring, &b) == 0)
			return cJSON_CreateBool(b);
		break;
	case CFG_JSON:
		if (cJSON_IsObject(raw) || cJSON_IsArray(raw))
			return cJSON_Duplicate(raw, 1);
		if (text && (j = cJSON_Parse(raw->valuestring)) != NULL) {
			if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
				cfg_json_mark_ints(j);
				return j;
			}
			cJSON_Delete(j);
		}
		break;
	}
	*bad = 1;
	return NULL;
}

int
cfg_coerce(const cJSON *raw, enum cfg_type type, const char *key,
    cJSON **out, char *err, size_t errlen)
{
	int	bad;

	*out = NULL;
	if (raw == NULL)
		return errorf(err, errlen, "no value for field `%s`", key);
	if ((*out = coerce(raw, type, &bad)) != NULL)
		return 0;
	if (!bad)
		return errorf(err, errlen, "out of memory");
	return errorf(err, errlen, "Configured value for field `%s` cannot be "
	    "coerced into type `%s`", key, type_name(type));
}
