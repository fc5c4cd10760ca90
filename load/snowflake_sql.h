/*
 * load/snowflake_sql.h: the text work of the Snowflake destination
 * (load/snowflake.c), apart from the session so it is tested on its
 * own: statements split one per request, a statement named for an
 * error, values of job files in Snowflake's bind forms, answers in
 * SQL's own rendering, and dlt's PUT and COPY INTO statements.
 */
#ifndef LOAD_SNOWFLAKE_SQL_H
#define LOAD_SNOWFLAKE_SQL_H

#include <stddef.h>

#include "common/buf.h"
#include "load/schema.h"

/*
 * Calls fn for each statement of sql (split at the semicolons outside
 * '...' literals, with Snowflake's backslash escapes, and "..." names),
 * blanks around it trimmed, empty ones skipped. Stops at fn's non-zero
 * return and returns it; 0 when all ran.
 */
int	sfq_split(const char *sql, int (*fn)(void *arg, const char *stmt),
	    void *arg);

/*
 * What a statement does and to what, for an error: its leading
 * keywords and the first name after them ("INSERT INTO
 * \"DS\".\"T\"", "CREATE TABLE \"DS\".\"T\"", "SELECT"), never a
 * literal. Caller frees.
 */
char	*sfq_describe(const char *stmt);

/* The bind type ("FIXED", "TIMESTAMP_TZ" ...) for a column. */
const char *sfq_bind_type(const struct ld_column *);

/*
 * A job file's value (ld_job_read's text) in the bind's wire form
 * (snowflake/session.h), appended to out: bigint and double as they
 * are, bool "true"/"false", timestamp "<epoch ns> <offset min + 1440>"
 * (naive: epoch ns), date epoch milliseconds, time nanoseconds since
 * midnight, binary hex (from base64 or "\x" hex), the rest as text.
 * Returns 0, or -1 when the value does not read as the column's type.
 */
int	sfq_bind_value(struct buf *out, const struct ld_column *,
	    const char *v, size_t len);

/*
 * A JSON rowset value (wire, may be NULL) of a column of Snowflake
 * type (rowtype's "type": "fixed", "timestamp_tz" ...) as SQL renders
 * it: booleans true/false, dates 2024-01-31, times 10:00:00.5,
 * timestamps 2024-01-31 10:00:00.5 (LTZ in UTC with +00:00, TZ with
 * its own offset); numbers, text, binary hex and variants as they are.
 * NULL for NULL. Caller frees.
 */
char	*sfq_render(const char *type, const char *wire);

/*
 * The folder of a load's files in a table's stage, as dlt names it:
 * @"DS"."%TABLE"/"<load_id>" for qualified "DS"."TABLE". NULL when
 * qualified is not two quoted names. Caller frees.
 */
char	*sfq_stage_folder(const char *qualified, const char *load_id);

/*
 * dlt's PUT of a local job file into a stage folder and its COPY INTO
 * the table from there (SnowflakeLoadJob; gen_copy_sql for jsonl).
 * Caller frees.
 */
char	*sfq_put(const char *path, const char *folder);
char	*sfq_copy(const char *qualified, const char *folder,
	    const char *path);

#endif
