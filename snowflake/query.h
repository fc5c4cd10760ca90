/*
 * snowflake/query.h: the body of a query request, as the connector
 * writes it (connection.py cmd_query): sqlText, asyncExec, sequenceId,
 * querySubmissionTime and the positional bindings.
 */
#ifndef SNOWFLAKE_QUERY_H
#define SNOWFLAKE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "snowflake/session.h"

/*
 * bindings {"1": {"type": "FIXED", "value": "1"}, ...}; an array bind
 * writes its values as a list. Caller frees; NULL with err for binds
 * that do not fit together (no type, no values, arrays of different
 * lengths).
 */
char	*sf_query_body(const char *sql, const struct sf_bind *binds,
	    size_t nbinds, long long sequence, int64_t submitted_ms,
	    char *err, size_t errlen);

#endif
