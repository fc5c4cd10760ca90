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
 * as Snowflake's JSON rowsets write them and the Python connector's
 * converter.py reads them:
 *   FIXED	the value with exactly the column's scale of digits after
 *		the point, none when it is 0: "12", "-0.50", "12.340";
 *   REAL	as Python's repr: the fewest digits that read back the same
 *		double, "1.5", "100.0", "1e+16", "2.5e-10", "inf", "nan";
 *   TEXT, VARIANT, OBJECT, ARRAY	the text as sent (UTF-8; a NUL
 *		byte, which a cJSON string cannot hold, is refused);
 *   BINARY	upper-case hex;  BOOLEAN "1" or "0";
 *   DATE	days since 1970-01-01: "19724", "-1";
 *   TIME, TIMESTAMP_NTZ, TIMESTAMP_LTZ	seconds (since midnight, since
 *		the epoch) with scale digits after the point, as a signed
 *		decimal: "45296.789000000", "-0.500000000" (half a second
 *		before 1970);
 *   TIMESTAMP_TZ	the same UTC epoch seconds, a space, and the offset
 *		in minutes + 1440: "1704164645.123456000 1500".
 * rowtype is the response's data.rowtype (type and scale per column),
 * or NULL to go by the stream's field metadata (logicalType, scale)
 * alone; where both say, they must agree. Nothing is appended unless
 * the whole stream reads. A stream may end without its end-of-stream
 * marker between two messages, so compare the count with the chunk's
 * rowCount. Returns the number of rows appended, or -1 with err saying
 * what is wrong and at which byte offset.
 */
long	arrow_to_rowset(const void *ipc, size_t len, const cJSON *rowtype,
	    cJSON *rows, char *err, size_t errlen);

#endif
