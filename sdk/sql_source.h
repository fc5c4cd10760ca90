/*
 * sql_source.h: the parts of the SQL source (pf_sql_table of pf/flow.h)
 * that need no database, shared by sdk/sql_source.c and the unit tests:
 * dlt's reflection of a PostgreSQL column type, the incremental
 * cursor's ordering, and the dedup hash of a row's primary key.
 */
#ifndef SDK_SQL_SOURCE_H
#define SDK_SQL_SOURCE_H

#include <cjson/cJSON.h>

/*
 * Adds to hint the dlt column hints (data_type, precision, scale) that
 * dlt's sql_table with reflection_level "full" (its default) derives
 * from a column of PostgreSQL type typname (pg_type.typname; category
 * pg_type.typcategory; typmod pg_attribute.atttypmod), as SQLAlchemy
 * reflects it and dlt's sqla_col_to_column_schema maps it. A type dlt
 * does not map adds nothing: the normalizer infers it, as dlt's does.
 */
void	 sql_type_hint(const char *typname, char category, int typmod,
	    cJSON *hint);

/*
 * Compares two cursor values given as JSON text (numbers by value,
 * strings as text without dlt's typed prefix: ISO timestamps in UTC
 * sort as text; decimals by value); <0, 0, >0. Values of different
 * kinds compare as their texts.
 */
int	 sql_cursor_cmp(const char *a, const char *b);

/*
 * A cursor value (JSON text from PostgreSQL's to_json) as dlt keeps it in
 * the pipeline state for a column of dlt type data_type: timestamps
 * "\uf027" + Python's isoformat (6-digit fractions), dates "\uf028",
 * times "\uf02d", decimals "\uf026" + the digits (dlt's typed JSON);
 * other values as they are. Caller frees.
 */
char	*sql_cursor_state_text(const char *json, const char *data_type);

/*
 * JSON text without whitespace outside strings, as dlt's json.dumps
 * (orjson) writes it: PostgreSQL's "[1, \"a\"]" -> "[1,\"a\"]". Caller
 * frees.
 */
char	*sql_json_compact(const char *json);

/*
 * dlt's dedup hash of a row at the cursor's boundary
 * (dlt.extract.utils.digest_dedup_value): shake_128 of the JSON text
 * of the list of the primary key's values (compact: "[3]"), 9 bytes,
 * base64 without padding. out: 16 bytes.
 */
void	 sql_dedup_hash(const char *key_json, char out[16]);

#endif
