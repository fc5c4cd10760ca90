/*
 * params.c: a flow's declared parameters: validation of what a run was
 * given (before the flow body starts) and the schema Prefect's UI and
 * enforce_parameter_schema use.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "sdk/run.h"

static const char *const type_names[] = { "string", "integer", "number",
    "boolean", "object", "array" };

/* Lax coercion in pydantic's spirit: "5" is an integer, 5 a number. */
static cJSON *
coerce(const pf_param_def *p, const cJSON *v)
{
	char	*end;

	switch (p->type) {
	case PF_PARAM_TYPE_STRING:
		return cJSON_IsString(v) ? cJSON_Duplicate(v, 1) : NULL;
	case PF_PARAM_TYPE_INTEGER:
		if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble)
		    && fabs(v->valuedouble) < 9.007199254740992e15)
			return cJSON_Duplicate(v, 1);
		if (cJSON_IsString(v) && *v->valuestring) {
			long long n = strtoll(v->valuestring, &end, 10);

			if (*end == '\0')
				return cJSON_CreateNumber((double)n);
		}
		return NULL;
	case PF_PARAM_TYPE_NUMBER:
		if (cJSON_IsNumber(v))
			return cJSON_Duplicate(v, 1);
		if (cJSON_IsString(v) && *v->valuestring) {
			double d = strtod(v->valuestring, &end);

			if (*end == '\0')
				return cJSON_CreateNumber(d);
		}
		return NULL;
	case PF_PARAM_TYPE_BOOLEAN:
		if (cJSON_IsBool(v))
			return cJSON_Duplicate(v, 1);
		if (cJSON_IsString(v) && (!strcmp(v->valuestring, "true") ||
		    !strcmp(v->valuestring, "false")))
			return cJSON_CreateBool(v->valuestring[0] == 't');
		return NULL;
	case PF_PARAM_TYPE_OBJECT:
		return cJSON_IsObject(v) ? cJSON_Duplicate(v, 1) : NULL;
	case PF_PARAM_TYPE_ARRAY:
		return cJSON_IsArray(v) ? cJSON_Duplicate(v, 1) : NULL;
	}
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

cJSON *
sdk_params_prepare(const pf_flow_def *def, const cJSON *given, char *err,
    size_t errlen)
{
	cJSON		*out = cJSON_CreateObject();
	const cJSON	*g;
	struct buf	 problems;

	buf_init(&problems, 4096);
	cJSON_ArrayForEach(g, given)
		if (declared(def, g->string) == NULL)
			buf_printf(&problems, "%sunexpected parameter '%s'",
			    problems.len ? "; " : "", g->string);
	for (const pf_param_def *p = def->params; p && p->name; p++) {
		const cJSON	*v = cJSON_GetObjectItemCaseSensitive(given,
		    p->name);
		cJSON		*dflt = NULL, *ok;

		if (v == NULL && p->default_json != NULL)
			v = dflt = cJSON_Parse(p->default_json);
		if (v == NULL || (cJSON_IsNull(v) && p->required)) {
			if (p->required || p->default_json == NULL)
				buf_printf(&problems, "%smissing required "
				    "parameter '%s'", problems.len ? "; " : "",
				    p->name);
			cJSON_Delete(dflt);
			continue;
		}
		/* As pydantic: None is not a str (pf_param_string would
		 * hand the flow NULL), unless the default is None. */
		if (cJSON_IsNull(v) && null_default(p))
			ok = cJSON_CreateNull();
		else if ((ok = coerce(p, v)) == NULL)
			buf_printf(&problems, "%sparameter '%s' must be %s %s",
			    problems.len ? "; " : "", p->name,
			    p->type == PF_PARAM_TYPE_INTEGER ||
			    p->type == PF_PARAM_TYPE_OBJECT ||
			    p->type == PF_PARAM_TYPE_ARRAY ? "an" : "a",
			    type_names[p->type]);
		if (ok != NULL)
			cJSON_AddItemToObject(out, p->name, ok);
		cJSON_Delete(dflt);
	}
	if (problems.len > 0) {
		snprintf(err, errlen, "%s", problems.data);
		buf_cleanup(&problems);
		cJSON_Delete(out);
		return NULL;
	}
	buf_cleanup(&problems);
	return out;
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
