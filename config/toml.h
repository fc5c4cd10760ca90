/*
 * toml.h: a TOML 1.0.0 reader that decodes into a cJSON tree.
 *
 * The tree stays natural for configuration lookups: tables are cJSON
 * objects, arrays are arrays, strings are strings, booleans are
 * booleans and integers and floats are numbers, so plain
 * cJSON_GetObjectItemCaseSensitive() and cJSON_IsNumber() work.  The
 * TOML type that JSON cannot express is kept in fields cJSON leaves
 * unused for that item kind, so cJSON_Delete() and cJSON_Duplicate()
 * handle it:
 *
 *  - integer: cJSON_Number whose valuedouble is the (rounded) value and
 *    whose valuestring holds the exact canonical decimal text, e.g.
 *    "-9223372036854775808"; read it with toml_get_int64().
 *  - float: cJSON_Number with valuestring NULL; nan and inf are stored
 *    as NAN and +-INFINITY (cJSON prints those as null).
 *  - datetimes: cJSON_String holding the RFC 3339 text with the
 *    separator and zone letters upper-cased ("1979-05-27T07:32:00Z",
 *    "1979-05-27T07:32:00", "1979-05-27", "07:32:00.5") and valueint
 *    set to the enum toml_type value; plain strings have valueint 0.
 *
 * Changing such an item with cJSON setters leaves the marker stale.
 * cJSON strings end at NUL, so a "\u0000" escape truncates the string
 * or key there.  Floats are read with strtod(), which assumes the "C"
 * LC_NUMERIC locale.
 */
#ifndef CONFIG_TOML_H
#define CONFIG_TOML_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct toml_error {
	int	line;		/* 1-based; 0 when not about the text */
	int	col;		/* 1-based, in characters */
	char	msg[200];	/* "line:col: message" */
};

enum toml_type {
	TOML_NONE = -1,		/* NULL or not produced by this reader */
	TOML_STRING = 0,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,		/* offset date-time */
	TOML_DATETIME_LOCAL,
	TOML_DATE_LOCAL,
	TOML_TIME_LOCAL,
	TOML_ARRAY,
	TOML_TABLE
};

/*
 * Parses len bytes of UTF-8 TOML.  Returns a new cJSON object (free it
 * with cJSON_Delete) or NULL with *err filled, also on out of memory.
 * err may be NULL.
 */
cJSON		*toml_parse(const char *text, size_t len,
		    struct toml_error *err);

/* Reads and parses a file; err->msg does not name the path. */
cJSON		*toml_parse_file(const char *path, struct toml_error *err);

/* The TOML type of an item of a parsed tree; TOML_NONE for NULL. */
enum toml_type	 toml_type_of(const cJSON *item);

/* Stores an integer item's exact value: 0, or -1 if not an integer. */
int		 toml_get_int64(const cJSON *item, long long *out);

/* A new integer item as the parser makes them (exact text kept), or NULL. */
cJSON		*toml_int_item(long long v);

#endif
