/*
 * json.c: tolerant accessors for JSON from the network.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

const char *
json_str(const cJSON *obj, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

double
json_num(const cJSON *obj, const char *key, double def)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : def;
}

const cJSON *
json_obj(const cJSON *obj, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

cJSON *
json_parse_answer(const char *text, int want_array, char *err, size_t errlen)
{
	cJSON	*j = text ? cJSON_Parse(text) : NULL;

	if (j == NULL) {
		errorf(err, errlen, "the answer is not JSON: \"%.60s\"",
		    text ? text : "");
		return NULL;
	}
	if (want_array ? !cJSON_IsArray(j) : !cJSON_IsObject(j)) {
		errorf(err, errlen, "the answer is not a JSON %s",
		    want_array ? "array" : "object");
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

cJSON *
json_parse_object_at(const char *text, const char *what, char *err,
    size_t errlen)
{
	const char	*end = NULL, *p;
	cJSON		*j = cJSON_ParseWithOpts(text, &end, 1);
	int		 line = 1, col = 1;

	if (j == NULL) {
		if (end == NULL || end < text)
			end = text;
		for (p = text; p < end; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else
				col++;
		}
		errorf(err, errlen, "%s: invalid JSON at line %d, column %d%s"
		    "%.20s%s", what, line, col, *end ? ": at '" :
		    ": the text ends early", end, *end ? "'" : "");
		return NULL;
	}
	if (!cJSON_IsObject(j)) {
		errorf(err, errlen, "%s: must be a JSON object "
		    "({\"name\": value, ...})", what);
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

char *
json_print(const cJSON *j)
{
	char	*s = cJSON_PrintUnformatted(j);

	if (s == NULL)
		fatalx("out of memory serialising JSON");
	return s;
}

cJSON *
json_strings(const char *key, ...)
{
	cJSON	*o = cJSON_CreateObject();
	va_list	 ap;

	va_start(ap, key);
	for (const char *k = key; k != NULL; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);

		if (v == NULL)
			cJSON_AddNullToObject(o, k);
		else
			cJSON_AddStringToObject(o, k, v);
	}
	va_end(ap);
	return o;
}
