/*
 * json.h: NULL-safe accessors over cJSON for answers from the network,
 * where any field may be missing or of the wrong type.
 */
#ifndef COMMON_JSON_H
#define COMMON_JSON_H

#include <cjson/cJSON.h>

/* The string at key, or NULL when absent or not a string. */
const char	*json_str(const cJSON *obj, const char *key);
/* The number at key, or def. */
double		 json_num(const cJSON *obj, const char *key, double def);
/* The object at key, or NULL. */
const cJSON	*json_obj(const cJSON *obj, const char *key);
/* Parses text that must be a JSON object or array; NULL otherwise. */
cJSON		*json_parse_answer(const char *text, int want_array,
		    char *err, size_t errlen);
/*
 * Parses text given by a user as a JSON object; what names it in err
 * ("--params"), with the line and column of a syntax error.
 */
cJSON		*json_parse_object_at(const char *text, const char *what,
		    char *err, size_t errlen);
/* Serialises compactly; aborts on OOM (caller frees). */
char		*json_print(const cJSON *);
/* Builds an object from NULL-terminated key/value string pairs. */
cJSON		*json_strings(const char *key, ...);

#endif
