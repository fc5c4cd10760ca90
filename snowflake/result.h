/*
 * snowflake/result.h: a successful query answer's data into a
 * struct sf_result: the JSON rowset or the Arrow rowsetBase64, then
 * the result chunks it points at (chunks[].url, fetched with
 * chunkHeaders, or with qrmk as the SSE-C key, as the connector does).
 */
#ifndef SNOWFLAKE_RESULT_H
#define SNOWFLAKE_RESULT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "snowflake/rest.h"
#include "snowflake/session.h"

/* res is filled even on failure (then free it). 0 or -1 with err. */
int	sf_result_read(struct sf_rest *, const cJSON *data,
	    struct sf_result *res, char *err, size_t errlen);

#endif
