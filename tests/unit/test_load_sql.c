/*
 * test_load_sql.c: the SQL of dlt's delete-insert merge (load/sql.c):
 * key match, key list and column list, incomplete columns left out.
 */
#include <stdlib.h>
#include <string.h>

#include "load/schema.h"
#include "load/sql.h"
#include "t.h"

int
main(void)
{
	TEST("delete-insert merge of a root and its child table") {
		struct ld_schema	*s = ld_schema_new("p");
		struct ld_table		*t = ld_schema_add_table(s, "items",
		    NULL, LD_MERGE);
		struct ld_table		*c = ld_schema_add_table(s,
		    "items__tags", "items", LD_MERGE);
		const struct ld_table	*tabs[] = { t, c };
		char			*m;

		ld_table_add_column(t, "id", LD_BIGINT, LD_PRIMARY_KEY);
		ld_table_add_column(t, "Region", LD_TEXT, LD_PRIMARY_KEY);
		ld_table_add_column(t, "later", LD_TEXT, LD_INCOMPLETE);
		ld_table_add_column(t, "v", LD_DOUBLE, LD_NULLABLE);
		ld_table_add_column(c, "value", LD_TEXT, LD_NULLABLE);
		ld_table_add_column(c, "x", LD_TEXT, LD_INCOMPLETE);
		m = ld_sql_merge(NULL, "ds", "ds_staging", tabs, 2, "123.4");
		CHECK_STR(m,
		    "DELETE FROM \"ds\".\"items__tags\" WHERE"
		    " \"_dlt_root_id\" IN (SELECT d.\"_dlt_id\" FROM"
		    " \"ds\".\"items\" AS d WHERE EXISTS (SELECT 1 FROM"
		    " \"ds_staging\".\"items\" AS s WHERE d.\"id\" ="
		    " s.\"id\" AND d.\"Region\" = s.\"Region\"));\n"
		    "DELETE FROM \"ds\".\"items\" AS d WHERE EXISTS (SELECT"
		    " 1 FROM \"ds_staging\".\"items\" AS s WHERE d.\"id\" ="
		    " s.\"id\" AND d.\"Region\" = s.\"Region\");\n"
		    "INSERT INTO \"ds\".\"items\" (\"id\", \"Region\","
		    " \"v\") SELECT \"id\", \"Region\", \"v\" FROM (SELECT"
		    " *, ROW_NUMBER() OVER (PARTITION BY \"id\", \"Region\")"
		    " AS \"_dlt_dedup_rn\" FROM \"ds_staging\".\"items\") AS"
		    " t WHERE \"_dlt_dedup_rn\" = 1;\n"
		    "INSERT INTO \"ds\".\"items__tags\" (\"value\") SELECT"
		    " \"value\" FROM \"ds_staging\".\"items__tags\" WHERE"
		    " \"_dlt_root_id\" IN (SELECT \"_dlt_id\" FROM"
		    " \"ds\".\"items\" WHERE \"_dlt_load_id\" = '123.4');\n");
		free(m);
		ld_schema_free(s);
	}
	TEST("an upper-case dialect: names casefolded, backslashes escaped") {
		struct ld_dialect	 dl = { .upper_case = 1,
		    .backslash_escapes = 1,
		    .dedup_order_by = "(SELECT NULL)" };
		struct ld_schema	*s = ld_schema_new("p");
		struct ld_table		*t = ld_schema_add_table(s, "items",
		    NULL, LD_MERGE);
		const struct ld_table	*tabs[] = { t };
		char			*m;

		ld_table_add_column(t, "id", LD_BIGINT, LD_PRIMARY_KEY);
		ld_table_add_column(t, "v", LD_TEXT, LD_NULLABLE);
		m = ld_sql_qualified(&dl, "open_rates", "_dlt_loads");
		CHECK_STR(m, "\"OPEN_RATES\".\"_DLT_LOADS\"");
		free(m);
		m = ld_sql_ident(&dl, "a\"b");
		CHECK_STR(m, "\"A\"\"B\"");
		free(m);
		m = ld_sql_literal(&dl, "it's a\\b");
		CHECK_STR(m, "'it''s a\\\\b'");
		free(m);
		m = ld_sql_literal(NULL, "a\\b");
		CHECK_STR(m, "'a\\b'");
		free(m);
		m = ld_sql_merge(&dl, "ds", "ds_staging", tabs, 1, "1.2");
		CHECK_STR(m,
		    "DELETE FROM \"DS\".\"ITEMS\" AS d WHERE EXISTS (SELECT"
		    " 1 FROM \"DS_STAGING\".\"ITEMS\" AS s WHERE d.\"ID\" ="
		    " s.\"ID\");\n"
		    "INSERT INTO \"DS\".\"ITEMS\" (\"ID\", \"V\") SELECT"
		    " \"ID\", \"V\" FROM (SELECT *, ROW_NUMBER() OVER"
		    " (PARTITION BY \"ID\" ORDER BY (SELECT NULL)) AS"
		    " \"_DLT_DEDUP_RN\" FROM \"DS_STAGING\".\"ITEMS\") AS t"
		    " WHERE \"_DLT_DEDUP_RN\" = 1;\n");
		free(m);
		ld_schema_free(s);
	}
	return t_done();
}
