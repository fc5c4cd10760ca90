/*
 * test_sql_source.c: the database-free parts of the SQL source
 * (sdk/sql_source.h): dlt's reflection of PostgreSQL types (dlt 1.31
 * with SQLAlchemy 2.1), cursor ordering, the cursor's last value as dlt
 * keeps it in the state, and the boundary rows' dedup hashes, checked
 * against values dlt itself computes (digest_dedup_value, typed_dumps).
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "sdk/sql_source.h"
#include "t.h"

/* sql_type_hint's hints for one column, as compact JSON. */
static char *
hint(const char *typname, char category, int typmod)
{
	cJSON	*h = cJSON_CreateObject();
	char	*s;

	sql_type_hint(typname, category, typmod, h);
	s = cJSON_PrintUnformatted(h);
	cJSON_Delete(h);
	return s;
}

static void
check_hint(const char *typname, char category, int typmod, const char *want)
{
	char	*got = hint(typname, category, typmod);

	CHECK_STR(got, want);
	free(got);
}

static void
check_state(const char *json, const char *type, const char *want)
{
	char	*got = sql_cursor_state_text(json, type);

	CHECK_STR(got, want);
	free(got);
}

int
main(void)
{
	char	 h[16], *s;

	TEST("types as dlt's reflection_level full maps them") {
		check_hint("int4", 'N', -1, "{\"data_type\":\"bigint\"}");
		check_hint("int2", 'N', -1, "{\"data_type\":\"bigint\"}");
		check_hint("text", 'S', -1, "{\"data_type\":\"text\"}");
		check_hint("varchar", 'S', 68, "{\"data_type\":\"text\"}");
		check_hint("bool", 'B', -1, "{\"data_type\":\"bool\"}");
		/* DateTime(timezone=True): dlt says so in the schema. */
		check_hint("timestamptz", 'D', -1,
		    "{\"data_type\":\"timestamp\",\"timezone\":true}");
		check_hint("timestamp", 'D', -1,
		    "{\"data_type\":\"timestamp\",\"timezone\":false}");
		check_hint("jsonb", 'U', -1, "{\"data_type\":\"json\"}");
		check_hint("_int4", 'A', -1, "{\"data_type\":\"json\"}");
		check_hint("uuid", 'U', -1, "{\"data_type\":\"text\"}");
		check_hint("bytea", 'U', -1, "{\"data_type\":\"binary\"}");
		/* numeric(10,3): typmod (10 << 16 | 3) + 4. */
		check_hint("numeric", 'N', (10 << 16 | 3) + 4,
		    "{\"data_type\":\"decimal\",\"precision\":10,\"scale\":3}");
		check_hint("numeric", 'N', -1, "{\"data_type\":\"decimal\"}");
	}
	TEST("floats and unknown types are left to inference, as dlt") {
		check_hint("float8", 'N', -1, "{}");
		check_hint("float4", 'N', -1, "{}");
		check_hint("interval", 'T', -1, "{}");
		check_hint("money", 'N', -1, "{}");
	}
	TEST("cursor values order by value, typed prefixes ignored") {
		CHECK(sql_cursor_cmp("2", "10") < 0);
		CHECK(sql_cursor_cmp("\"2026-11-03T10:00:00+00:00\"",
		    "\"2026-11-03T10:00:00.5+00:00\"") < 0);
		CHECK(sql_cursor_cmp("\"\\uf0272026-11-03T10:00:00+00:00\"",
		    "\"2026-11-03T10:00:00+00:00\"") == 0);
		CHECK(sql_cursor_cmp("\"\\uf0269.5\"", "\"\\uf02610.0\"") < 0);
		CHECK(sql_cursor_cmp("\"b\"", "\"a\"") > 0);
	}
	TEST("last values in dlt's typed form (json.typed_dumps)") {
		check_state("\"2026-11-02T09:30:00.25+00:00\"", "timestamp",
		    "\"\\uf0272026-11-02T09:30:00.250000+00:00\"");
		check_state("\"2026-11-03T10:00:00+00:00\"", "timestamp",
		    "\"\\uf0272026-11-03T10:00:00+00:00\"");
		check_state("\"2026-01-02\"", "date", "\"\\uf0282026-01-02\"");
		check_state("\"01:02:03.000005\"", "time",
		    "\"\\uf02d01:02:03.000005\"");
		check_state("1.250", "decimal", "\"\\uf0261.250\"");
		check_state("42", "bigint", "42");
		check_state("\"x\"", NULL, "\"x\"");
	}
	TEST("keys compacted as dlt's json.dumps writes them") {
		s = sql_json_compact("[1, \"a b\", {\"k\": \"\\\" x\"}]");
		CHECK_STR(s, "[1,\"a b\",{\"k\":\"\\\" x\"}]");
		free(s);
	}
	TEST("dedup hashes equal dlt's digest_dedup_value") {
		sql_dedup_hash("[3]", h);
		CHECK_STR(h, "xdTgU/8A/2Is");
		sql_dedup_hash("[4]", h);
		CHECK_STR(h, "UKt6rSg28gUS");
		sql_dedup_hash("[1,\"a\"]", h);
		CHECK_STR(h, "ndvRJS8rm8iA");
		sql_dedup_hash("[\"\xc3\xa9\"]", h);
		CHECK_STR(h, "XlIqzJ6n/I3S");
	}
	return t_done();
}
