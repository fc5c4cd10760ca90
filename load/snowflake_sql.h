/*
 * load/snowflake_sql.h: the text work of the Snowflake destination
 * (load/snowflake.c), apart from the session so it is tested on its
 * own: statements split one per request, a statement named for an
 * error, the array-bound INSERT of job files, answers in SQL's own
 * rendering, and dlt's PUT and COPY INTO statements.
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

/*
 * The array-bound INSERT of t's complete columns into qualified, as
 * Snowflake takes text binds: INSERT INTO q (cols) SELECT column1,
 * PARSE_JSON(column2), TO_BINARY(column3, 'HEX') ... FROM VALUES (?,
 * ?, ...), so a json column holds the parsed document (a VARIANT is
 * not cast from text) and binary is read as hex; the server casts the
 * rest. Caller frees.
 */
char	*sfq_insert(const char *qualified, const struct ld_table *t);

/*
 * A job file's value (ld_job_read's text) as its TEXT bind, appended
 * to out: as it is, but binary (base64 in dlt's job files, or "\x"
 * hex) as hex. Returns 0, or -1 when a binary value is neither.
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
 * The folder of a load's files in a table's stage, as dlt's (without
 * quotes around the load id): @"DS"."%TABLE"/<load_id> for qualified
 * "DS"."TABLE". NULL when qualified is not two quoted names or the load
 * id is not digits and dots. Caller frees.
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
