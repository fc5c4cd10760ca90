/*
 * json.c: pf_json of pf/json.h, a cJSON seen through accessors, so no
 * cJSON type is in a public declaration and flows need no cJSON headers.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "sdk/run.h"

#define PF_EXPORT __attribute__((visibility("default")))

#define C(v)	((const cJSON *)(const void *)(v))
#define J(v)	((const pf_json *)(const void *)(v))

PF_EXPORT pf_json *
pf_json_parse(const char *text, long len)
{
	cJSON	*v;

	if (text == NULL) {
		sdk_error_set("pf_json_parse: no text");
		return NULL;
	}
	v = cJSON_ParseWithLength(text, len < 0 ? strlen(text) :
	    (size_t)len);
	if (v == NULL)
		sdk_error_set("pf_json_parse: not valid JSON");
	return (pf_json *)(void *)v;
}

PF_EXPORT void
pf_json_free(pf_json *v)
{
	cJSON_Delete((cJSON *)(void *)v);
}

PF_EXPORT pf_json_type
pf_json_kind(const pf_json *v)
{
	const cJSON	*c = C(v);

	if (c == NULL)
		return PF_JSON_NONE;
	switch (c->type & 0xff) {
	case cJSON_NULL:	return PF_JSON_NULL;
	case cJSON_False:	return PF_JSON_FALSE;
	case cJSON_True:	return PF_JSON_TRUE;
	case cJSON_Number:	return PF_JSON_NUMBER;
	case cJSON_String:	return PF_JSON_STRING;
	case cJSON_Array:	return PF_JSON_ARRAY;
	case cJSON_Object:	return PF_JSON_OBJECT;
	default:		return PF_JSON_NONE;
	}
}

PF_EXPORT const pf_json *
pf_json_get(const pf_json *object, const char *key)
{
	if (!cJSON_IsObject(C(object)) || key == NULL)
		return NULL;
	return J(cJSON_GetObjectItemCaseSensitive(C(object), key));
}

PF_EXPORT const char *
pf_json_string(const pf_json *v)
{
	return cJSON_IsString(C(v)) ? C(v)->valuestring : NULL;
}

PF_EXPORT double
pf_json_number(const pf_json *v)
{
	return cJSON_IsNumber(C(v)) ? C(v)->valuedouble : 0;
}

PF_EXPORT const pf_json *
pf_json_first(const pf_json *v)
{
	if (!cJSON_IsArray(C(v)) && !cJSON_IsObject(C(v)))
		return NULL;
	return J(C(v)->child);
}

PF_EXPORT const pf_json *
pf_json_next(const pf_json *v)
{
	return v != NULL ? J(C(v)->next) : NULL;
}

PF_EXPORT const char *
pf_json_key(const pf_json *member)
{
	return member != NULL ? C(member)->string : NULL;
}

PF_EXPORT pf_json *
pf_json_object(void)
{
	return (pf_json *)(void *)cJSON_CreateObject();
}

static int
set(pf_json *object, const char *key, cJSON *item)
{
	cJSON	*o = (cJSON *)(void *)object;

	if (!cJSON_IsObject(o) || key == NULL || item == NULL) {
		cJSON_Delete(item);
		return sdk_error_set("pf_json_set: not an object, or no key");
	}
	if (cJSON_GetObjectItemCaseSensitive(o, key) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(o, key, item);
	else
		cJSON_AddItemToObject(o, key, item);
	return PF_OK;
}

PF_EXPORT int
pf_json_set_string(pf_json *object, const char *key, const char *value)
{
	return set(object, key, value != NULL ? cJSON_CreateString(value) :
	    cJSON_CreateNull());
}

PF_EXPORT int
pf_json_set_number(pf_json *object, const char *key, double value)
{
	return set(object, key, cJSON_CreateNumber(value));
}
