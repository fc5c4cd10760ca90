/*
 * test_snowflake_sql.c: the Snowflake destination's text
 * (load/snowflake_sql.c): statements split one per request with
 * Snowflake's quoting, a statement named for an error without its
 * values, job values in the bind wire forms, answers in SQL's own
 * rendering, dlt's PUT and COPY INTO.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "load/destination.h"
#include "load/snowflake_sql.h"
#include "load/sql.h"
#include "t.h"

struct got {
	char	*v[8];
	int	 n;
};

static int
collect(void *arg, const char *stmt)
{
	struct got	*g = arg;

	if (g->n < 8)
		g->v[g->n++] = xstrdup(stmt);
	return 0;
}

static void
got_free(struct got *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->v[i]);
	g->n = 0;
}

static char *
bind(enum ld_type type, int hints, const char *v)
{
	struct ld_column c = { .name = "c", .type = type, .hints = hints };
	struct buf	 b;

	buf_init(&b, 1024);
	buf_append(&b, "", 0);
	if (sfq_bind_value(&b, &c, v, strlen(v)) < 0) {
		buf_cleanup(&b);
		return xstrdup("(error)");
	}
	return buf_steal(&b);
}

#define CHECK_OWN(expr, want) do {					\
	char *got_ = (expr);						\
	CHECK_STR(got_, want);						\
	free(got_);							\
} while (0)

int
main(void)
{
	struct got	g = { 0 };

	TEST("statements split at semicolons outside quotes") {
		CHECK(sfq_split("ALTER TABLE \"A\" ADD COLUMN \"x;y\" TEXT;\n"
		    "INSERT INTO \"A\" VALUES ('a;b', 'it''s;', 'c\\\\;'), "
		    "('\\';');\n  ;\nCOMMIT", collect, &g) == 0);
		CHECK(g.n == 3);
		CHECK_STR(g.v[0], "ALTER TABLE \"A\" ADD COLUMN \"x;y\" TEXT");
		CHECK_STR(g.v[1], "INSERT INTO \"A\" VALUES ('a;b', 'it''s;', "
		    "'c\\\\;'), ('\\';')");
		CHECK_STR(g.v[2], "COMMIT");
		got_free(&g);
	}
	TEST("a statement is named by its keywords and table, not values") {
		CHECK_OWN(sfq_describe("INSERT INTO \"DS\".\"T\" (\"A\") "
		    "VALUES ('secret')"), "INSERT INTO \"DS\".\"T\"");
		CHECK_OWN(sfq_describe("CREATE TABLE \"DS\".\"A\"\"B\" (\"X\" "
		    "VARCHAR)"), "CREATE TABLE \"DS\".\"A\"\"B\"");
		CHECK_OWN(sfq_describe("DELETE FROM \"DS\".\"T\" AS d WHERE "
		    "EXISTS (SELECT 1)"), "DELETE FROM \"DS\".\"T\"");
		CHECK_OWN(sfq_describe("SELECT 1 FROM \"DS\".\"_DLT_LOADS\" "
		    "WHERE \"LOAD_ID\" = 'x'"),
		    "SELECT FROM \"DS\".\"_DLT_LOADS\"");
		CHECK_OWN(sfq_describe("COMMIT"), "COMMIT");
		CHECK_OWN(sfq_describe("PUT 'file:///tmp/x' '@\"DS\".\"%T\"'"),
		    "PUT");
	}
	TEST("the array-bound INSERT: text binds, json parsed, hex binary") {
		struct ld_schema	*s = ld_schema_new("p");
		struct ld_table		*t = ld_schema_add_table(s, "items",
		    NULL, LD_APPEND);

		ld_table_add_column(t, "id", LD_BIGINT, 0);
		ld_table_add_column(t, "later", LD_TEXT, LD_INCOMPLETE);
		ld_table_add_column(t, "doc", LD_JSON, LD_NULLABLE);
		ld_table_add_column(t, "raw", LD_BINARY, LD_NULLABLE);
		ld_table_add_column(t, "at", LD_TIMESTAMP, LD_NULLABLE);
		CHECK_OWN(sfq_insert("\"DS\".\"ITEMS\"", t),
		    "INSERT INTO \"DS\".\"ITEMS\" (\"ID\", \"DOC\", \"RAW\", "
		    "\"AT\") SELECT column1, PARSE_JSON(column2), "
		    "TO_BINARY(column3, 'HEX'), column4 FROM VALUES (?, ?, ?, "
		    "?)");
		ld_schema_free(s);
		CHECK_OWN(bind(LD_BINARY, 0, "AQL/"), "0102FF");
		CHECK_OWN(bind(LD_BINARY, 0, "\\x0102ff"), "0102ff");
		CHECK_OWN(bind(LD_BINARY, 0, "not base64"), "(error)");
		CHECK_OWN(bind(LD_TIMESTAMP, 0, "2024-01-15T10:00:00.5+01:00"),
		    "2024-01-15T10:00:00.5+01:00");
		CHECK_OWN(bind(LD_JSON, 0, "{\"a\":[1]}"), "{\"a\":[1]}");
	}
	TEST("answers rendered as SQL renders them") {
		CHECK(sfq_render("text", NULL) == NULL);
		CHECK_OWN(sfq_render("boolean", "1"), "true");
		CHECK_OWN(sfq_render("boolean", "0"), "false");
		CHECK_OWN(sfq_render("date", "19737"), "2024-01-15");
		CHECK_OWN(sfq_render("date", "-1"), "1969-12-31");
		CHECK_OWN(sfq_render("time", "30600.250000000"),
		    "08:30:00.25");
		CHECK_OWN(sfq_render("timestamp_ntz", "1705312800.000000000"),
		    "2024-01-15 10:00:00");
		CHECK_OWN(sfq_render("timestamp_ntz", "-1.250000000"),
		    "1969-12-31 23:59:58.75");
		CHECK_OWN(sfq_render("timestamp_ltz", "1705312800.5"),
		    "2024-01-15 10:00:00.5+00:00");
		CHECK_OWN(sfq_render("timestamp_tz", "1705312800.000 1500"),
		    "2024-01-15 11:00:00+01:00");
		CHECK_OWN(sfq_render("timestamp_tz", "1705312800.000 1260"),
		    "2024-01-15 07:00:00-03:00");
		CHECK_OWN(sfq_render("fixed", "-12.340"), "-12.340");
		/* Out of Snowflake's range: passed on as written. */
		CHECK_OWN(sfq_render("timestamp_tz", "1.0 99999"),
		    "1.0 99999");
		CHECK_OWN(sfq_render("date", "99999999"), "99999999");
		CHECK_OWN(sfq_render("timestamp_ntz",
		    "-99999999999999999999.5"), "-99999999999999999999.5");
		CHECK_OWN(sfq_render("variant", "{\"a\":1}"), "{\"a\":1}");
	}
	TEST("dlt's PUT into the table's stage and COPY INTO from it") {
		char	*folder = sfq_stage_folder("\"DS\".\"CUR\"\"X\"",
		    "1717.5");

		CHECK_STR(folder, "@\"DS\".\"%CUR\"\"X\"/1717.5");
		CHECK_OWN(sfq_put("/tmp/a b/it's.1.0.jsonl", folder),
		    "PUT 'file:///tmp/a b/it''s.1.0.jsonl' "
		    "@\"DS\".\"%CUR\"\"X\"/1717.5 OVERWRITE = TRUE, "
		    "AUTO_COMPRESS = FALSE");
		CHECK_OWN(sfq_copy("\"DS\".\"CUR\"\"X\"", folder,
		    "/tmp/a b/cur.1.0.jsonl"),
		    "COPY INTO \"DS\".\"CUR\"\"X\" FROM "
		    "'@\"DS\".\"%CUR\"\"X\"/1717.5/cur.1.0.jsonl' "
		    "FILE_FORMAT = (TYPE = 'JSON', BINARY_FORMAT = 'BASE64') "
		    "MATCH_BY_COLUMN_NAME='CASE_INSENSITIVE'");
		free(folder);
		CHECK(sfq_stage_folder("DS.T", "1") == NULL);
		CHECK(sfq_stage_folder("\"DS\".\"T\"", "1/../x") == NULL);
	}
	TEST("CREATE TABLE as dlt's snowflake client writes its types") {
		struct ld_schema	*s = ld_schema_new("p");
		struct ld_table		*t = ld_schema_add_table(s, "currencies",
		    NULL, LD_MERGE);
		struct ld_column	*c;
		char			*ddl;

		/* dlt 1.31's _get_table_update_sql for the same columns:
		   "CODE" VARCHAR NOT NULL, "TS" TIMESTAMP_LTZ, ... */
		ld_table_add_column(t, "code", LD_TEXT, LD_PRIMARY_KEY);
		ld_table_add_column(t, "ts", LD_TIMESTAMP, LD_NULLABLE);
		ld_table_add_column(t, "nts", LD_TIMESTAMP, LD_NULLABLE |
		    LD_NAIVE);
		ld_table_add_column(t, "big", LD_BIGINT, LD_NULLABLE);
		ld_table_add_column(t, "dec", LD_DECIMAL, LD_NULLABLE);
		c = ld_table_add_column(t, "dec2", LD_DECIMAL, LD_NULLABLE);
		c->precision = 10;
		c->scale = 2;
		ld_table_add_column(t, "w", LD_WEI, LD_NULLABLE);
		ld_table_add_column(t, "j", LD_JSON, LD_NULLABLE);
		ld_table_add_column(t, "b", LD_BINARY, LD_NULLABLE);
		ld_table_add_column(t, "t", LD_TIME, LD_NULLABLE);
		ld_table_add_column(t, "t3", LD_TIME, LD_NULLABLE)->precision = 3;
		ld_table_add_column(t, "ts3", LD_TIMESTAMP,
		    LD_NULLABLE)->precision = 3;
		ld_table_add_column(t, "nts3", LD_TIMESTAMP, LD_NULLABLE |
		    LD_NAIVE)->precision = 3;
		ld_table_add_column(t, "v10", LD_TEXT, LD_NULLABLE)->precision =
		    10;
		ld_table_add_column(t, "f", LD_DOUBLE, LD_NULLABLE);
		ld_table_add_column(t, "ok", LD_BOOL, LD_NULLABLE);
		ld_table_add_column(t, "d", LD_DATE, LD_NULLABLE);
		ddl = ld_sql_table_ddl(ld_snowflake_ops.dialect,
		    "open_exchange_rates", t, 0);
		CHECK_STR(ddl, "CREATE TABLE \"OPEN_EXCHANGE_RATES\"."
		    "\"CURRENCIES\" (\"CODE\" VARCHAR NOT NULL, \"TS\" "
		    "TIMESTAMP_LTZ, \"NTS\" TIMESTAMP_NTZ, \"BIG\" "
		    "NUMBER(19,0), \"DEC\" NUMBER(38,9), \"DEC2\" "
		    "NUMBER(10,2), \"W\" NUMBER(38,0), \"J\" VARIANT, \"B\" "
		    "BINARY, \"T\" TIME, \"T3\" TIME(3), \"TS3\" "
		    "TIMESTAMP_LTZ(3), \"NTS3\" TIMESTAMP_NTZ(3), \"V10\" "
		    "VARCHAR(10), \"F\" FLOAT, \"OK\" BOOLEAN, \"D\" DATE)");
		free(ddl);
		ld_schema_free(s);
	}
	return t_done();
}
