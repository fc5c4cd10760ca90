/*
 * params.c: a flow's declared parameters: validation of what a run was
 * given (before the flow run is proposed Running, as Prefect's engine
 * validates in begin_run) and the schema Prefect's UI and
 * enforce_parameter_schema use.
 *
 * Validation follows what Prefect 3.8.8 does for a Python flow: names
 * not declared are refused first, as a whole (SignatureMismatchError);
 * then each value is coerced as pydantic 2's lax mode coerces JSON
 * values, and every problem is reported at once, in declaration order,
 * with pydantic's words (ParameterTypeError).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "common/pyfmt.h"
#include "sdk/run.h"

static const char *const type_names[] = { "string", "integer", "number",
    "boolean", "object", "array" };

/* 2^63: pydantic's bound for an integer made from a float. */
#define INT_LIMIT	9.223372036854775808e18

/* Python's str.strip() of ASCII whitespace, into out. */
static void
strip(const char *s, char *out, size_t n)
{
	char	*t = str_strip(s);

	strlcpy_(out, t, n);
	free(t);
}

/*
 * Digits with single '_' between them (Python's int() and float()),
 * copied to *w without the underscores. The number of digits read.
 */
static int
digits(const char **p, char **w)
{
	int	n = 0;

	while (isdigit((unsigned char)**p) || (**p == '_' && n > 0 &&
	    isdigit((unsigned char)(*p)[1]))) {
		if (**p != '_') {
			*(*w)++ = **p;
			n++;
		}
		(*p)++;
	}
	return n;
}

/*
 * pydantic's str -> int: optional sign, digits, and a fraction of
 * zeros only ("7.00" is 7, "7.5" and "1e3" are not integers). 0, or
 * -1 not an integer, -2 out of the range of long long.
 */
static int
parse_int(const char *s, long long *out)
{
	char		 t[128], clean[128], *w = clean, *end;
	const char	*p = t;
	long long	 v;

	if (strlen(s) >= sizeof(t))
		return -1;
	strip(s, t, sizeof(t));
	if (*p == '+' || *p == '-')
		*w++ = *p++;
	if (digits(&p, &w) == 0)
		return -1;
	if (*p == '.') {
		for (p++; *p == '0'; p++)
			;
		if (p[-1] == '.')
			return -1;	/* "7." */
	}
	if (*p != '\0')
		return -1;
	*w = '\0';
	errno = 0;
	v = strtoll(clean, &end, 10);
	if (errno == ERANGE)
		return -2;
	*out = v;
	return 0;
}

/* pydantic's str -> float: Python's float() syntax, no hex. */
static int
parse_number(const char *s, double *out)
{
	char		 t[128], clean[128], *w = clean;
	const char	*p = t, *word;
	int		 n;

	if (strlen(s) >= sizeof(t))
		return -1;
	strip(s, t, sizeof(t));
	if (*p == '+' || *p == '-')
		*w++ = *p++;
	word = p;
	if (!strcasecmp(word, "inf") || !strcasecmp(word, "infinity") ||
	    !strcasecmp(word, "nan")) {
		*out = strtod(t, NULL);
		return 0;
	}
	n = digits(&p, &w);
	if (*p == '.') {
		*w++ = *p++;
		n += digits(&p, &w);
	}
	if (n == 0)
		return -1;
	if (*p == 'e' || *p == 'E') {
		*w++ = *p++;
		if (*p == '+' || *p == '-')
			*w++ = *p++;
		if (digits(&p, &w) == 0)
			return -1;
	}
	if (*p != '\0')
		return -1;
	*w = '\0';
	*out = strtod(clean, NULL);
	return 0;
}

/* pydantic's str -> bool words, any case. */
static int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "on", "t", "true", "y",
	    "yes", NULL }, *const no[] = { "0", "off", "f", "false", "n",
	    "no", NULL };

	for (int i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static cJSON *
coerce_int(const cJSON *v, const char **why)
{
	long long	n;

	if (cJSON_IsBool(v))
		return cJSON_CreateNumber(cJSON_IsTrue(v));
	if (cJSON_IsNumber(v)) {
		if (v->valuedouble != floor(v->valuedouble))
			*why = "Input should be a valid integer, got a number "
			    "with a fractional part";
		else if (fabs(v->valuedouble) >= INT_LIMIT)
			*why = "Unable to parse input string as an integer, "
			    "exceeded maximum size";
		else
			return cJSON_CreateNumber(v->valuedouble);
		return NULL;
	}
	if (!cJSON_IsString(v)) {
		*why = "Input should be a valid integer";
		return NULL;
	}
	switch (parse_int(v->valuestring, &n)) {
	case 0:
		return cJSON_CreateNumber((double)n);
	case -2:
		/* pydantic takes any size; pf_param_int cannot. */
		*why = "Unable to parse input string as an integer, exceeded "
		    "maximum size";
		return NULL;
	default:
		*why = "Input should be a valid integer, unable to parse "
		    "string as an integer";
		return NULL;
	}
}

static cJSON *
coerce_number(const cJSON *v, const char **why)
{
	double	d;

	if (cJSON_IsBool(v))
		return cJSON_CreateNumber(cJSON_IsTrue(v));
	if (cJSON_IsNumber(v))
		return cJSON_CreateNumber(v->valuedouble);
	if (!cJSON_IsString(v))
		*why = "Input should be a valid number";
	else if (parse_number(v->valuestring, &d) == -1)
		*why = "Input should be a valid number, unable to parse string "
		    "as a number";
	else
		return cJSON_CreateNumber(d);
	return NULL;
}

static cJSON *
coerce_bool(const cJSON *v, const char **why)
{
	int	b;

	if (cJSON_IsBool(v))
		return cJSON_CreateBool(cJSON_IsTrue(v));
	if (cJSON_IsNumber(v)) {
		/* As pydantic: 0 and 1 are booleans, other integers
		 * cannot be read as one, fractions are no boolean. */
		double d = v->valuedouble;

		if (d == 0 || d == 1)
			return cJSON_CreateBool(d == 1);
		*why = d == floor(d) && fabs(d) < INT_LIMIT ?
		    "Input should be a valid boolean, unable to interpret "
		    "input" : "Input should be a valid boolean";
		return NULL;
	}
	if (!cJSON_IsString(v))
		*why = "Input should be a valid boolean";
	else if (parse_bool(v->valuestring, &b) == -1)
		*why = "Input should be a valid boolean, unable to interpret "
		    "input";
	else
		return cJSON_CreateBool(b);
	return NULL;
}

/* A new item of the declared type, or NULL with pydantic's message. */
static cJSON *
coerce(const pf_param_def *p, const cJSON *v, const char **why)
{
	switch (p->type) {
	case PF_PARAM_TYPE_STRING:
		if (cJSON_IsString(v))
			return cJSON_Duplicate(v, 1);
		*why = "Input should be a valid string";
		return NULL;
	case PF_PARAM_TYPE_INTEGER:
		return coerce_int(v, why);
	case PF_PARAM_TYPE_NUMBER:
		return coerce_number(v, why);
	case PF_PARAM_TYPE_BOOLEAN:
		return coerce_bool(v, why);
	case PF_PARAM_TYPE_OBJECT:
		if (cJSON_IsObject(v))
			return cJSON_Duplicate(v, 1);
		*why = "Input should be a valid dictionary";
		return NULL;
	case PF_PARAM_TYPE_ARRAY:
		if (cJSON_IsArray(v))
			return cJSON_Duplicate(v, 1);
		*why = "Input should be a valid list";
		return NULL;
	}
	*why = "unknown parameter type";
	return NULL;
}

/* A hand-written default of null: Python's `x: Optional[T] = None`. */
static int
null_default(const pf_param_def *p)
{
	cJSON	*d = p->default_json ? cJSON_Parse(p->default_json) : NULL;
	int	 yes = cJSON_IsNull(d);

	cJSON_Delete(d);
	return yes;
}

static const pf_param_def *
declared(const pf_flow_def *def, const char *name)
{
	for (const pf_param_def *p = def->params; p && p->name; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* A Python list of str, as repr() prints it: ['a', 'b']. */
static void
py_list(struct buf *b, const char *const *names, size_t n)
{
	char	r[512];

	buf_append(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		sdk_pyrepr(r, sizeof(r), names[i]);
		buf_printf(b, "%s%s", i ? ", " : "", r);
	}
	buf_append(b, "]", 1);
}

/*
 * Prefect's parameters_to_args_kwargs: a name the flow does not declare
 * fails the whole call, naming what it expects and what it was given.
 */
static int
signature_mismatch(const pf_flow_def *def, const cJSON *given, char *err,
    size_t errlen)
{
	const cJSON	 *g;
	const char	**names;
	size_t		  n = 0, k = 0;
	struct buf	  b;
	int		  bad = 0;

	cJSON_ArrayForEach(g, given)
		bad |= declared(def, g->string) == NULL;
	if (!bad)
		return 0;
	for (const pf_param_def *p = def->params; p && p->name; p++)
		n++;
	names = xcalloc(n + (size_t)cJSON_GetArraySize(given) + 1,
	    sizeof(*names));
	for (const pf_param_def *p = def->params; p && p->name; p++)
		names[k++] = p->name;
	buf_init(&b, 64 * 1024);
	buf_printf(&b, "Function expects parameters ");
	py_list(&b, names, k);
	k = 0;
	cJSON_ArrayForEach(g, given)
		names[k++] = g->string;
	buf_printf(&b, " but was provided with parameters ");
	py_list(&b, names, k);
	errorf(err, errlen, "%s", b.data);
	buf_cleanup(&b);
	free(names);
	return -1;
}

cJSON *
sdk_params_prepare(const pf_flow_def *def, const cJSON *given,
    const char **exc_type, char *err, size_t errlen)
{
	cJSON		*out;
	struct buf	 problems;

	if (signature_mismatch(def, given, err, errlen) == -1) {
		*exc_type = "SignatureMismatchError";
		return NULL;
	}
	out = cJSON_CreateObject();
	buf_init(&problems, 64 * 1024);
	for (const pf_param_def *p = def->params; p && p->name; p++) {
		const cJSON	*v = cJSON_GetObjectItemCaseSensitive(given,
		    p->name);
		cJSON		*dflt = NULL, *ok = NULL;
		const char	*why = NULL;

		if (v == NULL && p->default_json != NULL && !p->required)
			v = dflt = cJSON_Parse(p->default_json);
		if (v == NULL)
			why = "Field required";
		/* A null default is Optional[T] = None: null is fine. */
		else if (cJSON_IsNull(v) && !p->required && null_default(p))
			ok = cJSON_CreateNull();
		else
			ok = coerce(p, v, &why);
		if (why != NULL)
			buf_printf(&problems, "\n - %s: %s", p->name, why);
		else
			cJSON_AddItemToObject(out, p->name, ok);
		cJSON_Delete(dflt);
	}
	if (problems.len > 0) {
		*exc_type = "ParameterTypeError";
		errorf(err, errlen, "Flow run received invalid parameters:%s",
		    problems.data);
		buf_cleanup(&problems);
		cJSON_Delete(out);
		return NULL;
	}
	buf_cleanup(&problems);
	return out;
}

/* JSON Schema's view of v as the declared type: the server's check. */
static int
schema_type_ok(const pf_param_def *p, const cJSON *v)
{
	switch (p->type) {
	case PF_PARAM_TYPE_STRING:
		return cJSON_IsString(v);
	case PF_PARAM_TYPE_INTEGER:
		return cJSON_IsNumber(v) && v->valuedouble ==
		    floor(v->valuedouble);
	case PF_PARAM_TYPE_NUMBER:
		return cJSON_IsNumber(v);
	case PF_PARAM_TYPE_BOOLEAN:
		return cJSON_IsBool(v);
	case PF_PARAM_TYPE_OBJECT:
		return cJSON_IsObject(v);
	case PF_PARAM_TYPE_ARRAY:
		return cJSON_IsArray(v);
	}
	return 0;
}

int
sdk_param_check(const pf_flow_def *def, const char *name, const cJSON *v,
    int strict, char *why, size_t whylen)
{
	const pf_param_def	*p = declared(def, name);
	const char		*lax = NULL;
	cJSON			*ok;

	if (p == NULL)
		return errorf(why, whylen, "the flow has no parameter '%s'",
		    name);
	if (strict) {
		if (schema_type_ok(p, v))
			return 0;
		return errorf(why, whylen, "is not of type '%s'",
		    type_names[p->type]);
	}
	if (cJSON_IsNull(v) && !p->required && null_default(p))
		return 0;
	if ((ok = coerce(p, v, &lax)) != NULL) {
		cJSON_Delete(ok);
		return 0;
	}
	return errorf(why, whylen, "%s", lax);
}

cJSON *
sdk_params_schema(const pf_flow_def *def)
{
	cJSON	*s = cJSON_CreateObject(), *props, *req;
	int	 pos = 0;

	cJSON_AddStringToObject(s, "title", "Parameters");
	cJSON_AddStringToObject(s, "type", "object");
	props = cJSON_AddObjectToObject(s, "properties");
	req = cJSON_CreateArray();
	for (const pf_param_def *p = def->params; p && p->name; p++) {
		cJSON *o = cJSON_AddObjectToObject(props, p->name);

		cJSON_AddNumberToObject(o, "position", pos++);
		cJSON_AddStringToObject(o, "title", p->name);
		cJSON_AddStringToObject(o, "type", type_names[p->type]);
		if (p->description != NULL)
			cJSON_AddStringToObject(o, "description",
			    p->description);
		if (p->default_json != NULL) {
			cJSON *d = cJSON_Parse(p->default_json);

			if (d != NULL)
				cJSON_AddItemToObject(o, "default", d);
		}
		if (p->required || p->default_json == NULL)
			cJSON_AddItemToArray(req, cJSON_CreateString(p->name));
	}
	if (cJSON_GetArraySize(req) > 0)
		cJSON_AddItemToObject(s, "required", req);
	else
		cJSON_Delete(req);
	cJSON_AddObjectToObject(s, "definitions");
	return s;
}
