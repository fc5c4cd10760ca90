/*
 * fuzz_sql_values.c: the SQL source's handling of what a database sends
 * (sdk/sql_source.h) over any bytes: a key's JSON compacted (never
 * longer, and, when the input is JSON, the same value), a cursor value
 * turned into dlt's state form for each type (valid JSON whenever the
 * input is), and the cursor order (antisymmetric, reflexive on valid
 * values), each checked for crashes and sanitizer findings.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sdk/sql_source.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The whole text as JSON, or NULL (cJSON_Parse stops at a prefix). */
static cJSON *
parse(const char *s)
{
	return cJSON_ParseWithOpts(s, NULL, 1);
}

static int
same_json(const char *a, const char *b)
{
	cJSON	*x = parse(a), *y = parse(b);
	int	 same = x != NULL && y != NULL && cJSON_Compare(x, y, 1);

	cJSON_Delete(x);
	cJSON_Delete(y);
	return same;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		"timestamp", "date", "time", "decimal", "bigint", NULL
	};
	char	*in, *compact, *state, hash[16];
	cJSON	*parsed;
	int	 valid;

	if (size > (1u << 16) || (in = fuzz_cstr(data, size)) == NULL)
		return 0;
	parsed = parse(in);
	valid = parsed != NULL;
	cJSON_Delete(parsed);

	compact = sql_json_compact(in);
	if (strlen(compact) > strlen(in) || (valid && !same_json(in, compact)))
		abort();
	sql_dedup_hash(compact, hash);
	if (strlen(hash) != 12)
		abort();
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		state = sql_cursor_state_text(in, types[i]);
		if (valid && (parsed = parse(state)) == NULL)
			abort();
		if (valid)
			cJSON_Delete(parsed);
		if (sql_cursor_cmp(state, in) > 0 &&
		    sql_cursor_cmp(in, state) > 0)
			abort();
		free(state);
	}
	if (valid && sql_cursor_cmp(in, in) != 0)
		abort();
	free(compact);
	free(in);
	return 0;
}
