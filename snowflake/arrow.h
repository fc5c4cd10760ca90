/*
 * snowflake/arrow.h: reads the Arrow IPC streams Snowflake sends query
 * results in (a response's rowsetBase64, once decoded, and its result
 * chunks) into the JSON rowset form it sends with queryResultFormat
 * json, so the rest of pfagent reads one form only.
 *
 * The input is untrusted: every length, offset and count is checked
 * against the buffer; a malformed stream is an error, never a read out
 * of bounds.
 */
#ifndef SNOWFLAKE_ARROW_H
#define SNOWFLAKE_ARROW_H

#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * Appends the rows of the Arrow IPC stream ipc[0..len) to rows (a cJSON
 * array): each row an array of one string or null per column, written
 * as Snowflake's JSON rowsets write them (FIXED "-12.340" with the
 * column's scale; REAL as the shortest text that reads back the same
 * double; TEXT as is; BOOLEAN "1"/"0"; DATE days since 1970-01-01;
 * TIME "seconds.fraction"; TIMESTAMP_NTZ and _LTZ epoch
 * "seconds.fraction"; TIMESTAMP_TZ "seconds.fraction offset" with the
 * offset in minutes + 1440; BINARY as hex; VARIANT, OBJECT, ARRAY as
 * their JSON text). rowtype is the response's data.rowtype (name,
 * type, scale per column); where the stream's field metadata names a
 * logicalType and scale they must agree with it. Returns the number of
 * rows appended, or -1 with err saying what is wrong and at which
 * byte offset.
 */
long	arrow_to_rowset(const void *ipc, size_t len, const cJSON *rowtype,
	    cJSON *rows, char *err, size_t errlen);

#endif
