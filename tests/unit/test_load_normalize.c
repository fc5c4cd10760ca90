/*
 * test_load_normalize.c: the relational normalizer (load/normalize.c)
 * and the schema it grows (load/schema.c): job lines and columns as
 * dlt's normalizer makes them. The end-to-end comparison with dlt
 * itself is tests/integration/test_load.py.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "load/normalize.h"
#include "load/package.h"
#include "load/schema.h"
#include "t.h"

static char dir[] = "/tmp/test_load_normalize.XXXXXX";

/* The job file of table t, whole (caller frees), or NULL. */
static char *
job(const char *t)
{
	DIR		*d = opendir(dir);
	struct dirent	*e;
	char		*text = NULL, *path;
	size_t		 n = strlen(t);

	while (d != NULL && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, t, n) == 0 && e->d_name[n] == '.') {
			path = xasprintf("%s/%s", dir, e->d_name);
			text = read_file_max(path, 1 << 20, NULL, NULL, 0);
			free(path);
		}
	if (d != NULL)
		closedir(d);
	return text;
}

static const char *
col_type(struct ld_schema *s, const char *t, const char *c)
{
	struct ld_table	 *tab = ld_schema_table(s, t);
	struct ld_column *col = tab ? ld_table_column(tab, c) : NULL;

	return col ? ld_type_name(col->type) : "(none)";
}

static int
normalize(struct ld_schema *s, const char *const *items, char *err,
    size_t errlen)
{
	struct ld_normalizer *n = ld_norm_new(s, "1.5", dir, 0);
	int	rc = 0;

	for (size_t i = 0; items[i] != NULL && rc == 0; i++)
		rc = ld_norm_item(n, "items", items[i], strlen(items[i]), err,
		    errlen);
	if (rc == 0)
		rc = ld_norm_finish(n, err, errlen);
	ld_norm_free(n);
	return rc;
}

int
main(void)
{
	char	err[512];

	if (mkdtemp(dir) == NULL)
		return 1;

	TEST("flattening, child tables, ids and types as dlt") {
		struct ld_schema *s = ld_schema_new("p");
		struct ld_table	 *t = ld_schema_add_table(s, "items", NULL,
		    LD_MERGE);
		const char *items[] = {
			"{\"_dlt_id\": \"root1\", \"a\": {\"b\": 1, \"c\": "
			    "{\"d\": \"x\"}}, \"e\": 2, \"tags\": [\"t\", null]}",
			NULL
		};
		char	*j;

		CHECK(normalize(s, items, err, sizeof(err)) == 0);
		/* Own keys first, then nested objects, last seen first. */
		CHECK_STR(j = job("items"), "{\"_dlt_id\":\"root1\",\"e\":2,"
		    "\"a__b\":1,\"a__c__d\":\"x\",\"_dlt_load_id\":\"1.5\"}\n");
		free(j);
		CHECK_STR(j = job("items__tags"), "{\"value\":\"t\","
		    "\"_dlt_root_id\":\"root1\",\"_dlt_parent_id\":\"root1\","
		    "\"_dlt_list_idx\":0,\"_dlt_id\":\"AyAxfxYjKEUSDg\"}\n"
		    "{\"_dlt_root_id\":\"root1\",\"_dlt_parent_id\":\"root1\","
		    "\"_dlt_list_idx\":1,\"_dlt_id\":\"O1puH0balTwqyQ\"}\n");
		free(j);
		CHECK_STR(col_type(s, "items", "a__b"), "bigint");
		CHECK_STR(col_type(s, "items__tags", "_dlt_list_idx"), "bigint");
		CHECK(ld_table_column(t, "_dlt_id")->hints & LD_ROW_KEY);
		CHECK(!(ld_table_column(t, "_dlt_load_id")->hints &
		    LD_NULLABLE));
		CHECK(ld_schema_table(s, "items__tags")->parent != NULL);
		ld_schema_free(s);
	}

	TEST("a key column without a type moves to the end once typed") {
		struct ld_schema *s = ld_schema_new("p");
		struct ld_table	 *t = ld_schema_add_table(s, "items", NULL,
		    LD_MERGE);
		const char *items[] = {
			"{\"base\": \"USD\", \"currency\": \"EUR\", "
			    "\"rate\": 0.9}",
			NULL
		};
		const char *order[] = { "rate", "base", "currency",
		    "_dlt_load_id", "_dlt_id" };

		/* As dlt's merge_columns: rate hinted, currency a bare key. */
		ld_table_add_column(t, "rate", LD_DOUBLE, LD_NULLABLE);
		ld_table_add_column(t, "currency", LD_TEXT, LD_INCOMPLETE |
		    LD_PRIMARY_KEY);
		CHECK(normalize(s, items, err, sizeof(err)) == 0);
		CHECK(t->ncols == 5);
		for (size_t i = 0; i < t->ncols && i < 5; i++)
			CHECK_STR(t->cols[i]->name, order[i]);
		CHECK_STR(col_type(s, "items", "currency"), "text");
		CHECK(ld_table_column(t, "currency")->hints & LD_PRIMARY_KEY);
		ld_schema_free(s);
	}

	TEST("max_nesting keeps deeper values as json") {
		struct ld_schema *s = ld_schema_new("p");
		struct ld_table	 *t = ld_schema_add_table(s, "items", NULL,
		    LD_APPEND);
		const char *items[] = {
			"{\"a\": {\"b\": {\"c\": 1}}, \"l\": [{\"m\": [1]}]}",
			NULL
		};

		t->max_nesting = 1;
		CHECK(normalize(s, items, err, sizeof(err)) == 0);
		CHECK_STR(col_type(s, "items", "a__b"), "json");
		CHECK_STR(col_type(s, "items__l", "m"), "json");
		CHECK(ld_schema_table(s, "items__l__m") == NULL);
		CHECK(ld_table_column(ld_schema_table(s, "items__l"),
		    "_dlt_root_id") == NULL);
		ld_schema_free(s);
	}

	TEST("variants, coercions and null-only fields") {
		struct ld_schema *s = ld_schema_new("p");
		const char *items[] = {
			"{\"n\": 1, \"t\": \"2024-01-01T00:00:00\", \"z\": null}",
			"{\"n\": \"2\", \"t\": \"later\"}",
			"{\"n\": \"two\", \"t\": 1700000000}",
			NULL
		};

		ld_schema_add_table(s, "items", NULL, LD_APPEND);
		CHECK(normalize(s, items, err, sizeof(err)) == 0);
		CHECK_STR(col_type(s, "items", "n"), "bigint");
		CHECK_STR(col_type(s, "items", "n__v_text"), "text");
		CHECK_STR(col_type(s, "items", "t"), "timestamp");
		CHECK_STR(col_type(s, "items", "t__v_text"), "text");
		CHECK(ld_table_column(ld_schema_table(s, "items"), "z") == NULL);
		CHECK(ld_table_column(ld_schema_table(s, "items"),
		    "n__v_text")->hints & LD_VARIANT);
		ld_schema_free(s);
	}

	TEST("-0.0 lands as 0.0 and 1e400 (inf) as null, as in dlt") {
		struct ld_schema *s = ld_schema_new("p");
		const char *items[] = {
			"{\"_dlt_id\": \"r\", \"a\": -0.0, \"b\": 1e400, "
			    "\"c\": [1e999, -0.0]}",
			NULL
		};
		char	*j;

		/* Only this test's job files in the directory. */
		ld_rm_rf(dir);
		CHECK(mkdir(dir, 0700) == 0);
		ld_schema_add_table(s, "items", NULL, LD_APPEND);
		CHECK(normalize(s, items, err, sizeof(err)) == 0);
		CHECK_STR(j = job("items"), "{\"_dlt_id\":\"r\",\"a\":0.0,"
		    "\"_dlt_load_id\":\"1.5\"}\n");
		free(j);
		/* orjson writes inf as null at dlt's extract: no column */
		CHECK(ld_table_column(ld_schema_table(s, "items"), "b") ==
		    NULL);
		CHECK((j = job("items__c")) != NULL &&
		    strstr(j, "\"value\":0.0,") != NULL &&
		    strstr(j, "1e999") == NULL);
		free(j);
		ld_schema_free(s);
	}

	TEST("bad JSON is an error naming the byte") {
		struct ld_schema *s = ld_schema_new("p");
		const char *items[] = { "{\"a\": tru}", NULL };

		ld_schema_add_table(s, "items", NULL, LD_APPEND);
		CHECK(normalize(s, items, err, sizeof(err)) == -1);
		CHECK(strstr(err, "invalid JSON at byte") != NULL);
		ld_schema_free(s);
	}

	TEST("schema documents round-trip with their version") {
		struct ld_schema *s = ld_schema_new("p"), *back;
		cJSON		 *doc;

		ld_table_add_column(ld_schema_add_table(s, "items", NULL,
		    LD_MERGE), "id", LD_BIGINT, LD_PRIMARY_KEY);
		CHECK(ld_schema_bump(s) == 1);
		CHECK(ld_schema_bump(s) == 0);
		ld_table_add_column(ld_schema_table(s, "items"), "x", LD_TEXT,
		    LD_NULLABLE);
		ld_table_add_column(ld_schema_table(s, "items"), "ts",
		    LD_TIMESTAMP, LD_NULLABLE | LD_NAIVE);
		CHECK(ld_schema_bump(s) == 1);
		CHECK(s->version == 2 && s->nprevious == 1);
		doc = ld_schema_to_json(s);
		back = ld_schema_from_json(doc, err, sizeof(err));
		CHECK(back != NULL && back->version == 2);
		CHECK_STR(back->version_hash, s->version_hash);
		CHECK(ld_table_column(ld_schema_table(back, "items"),
		    "id")->hints & LD_PRIMARY_KEY);
		/* dlt's "timezone": false survives the round trip. */
		CHECK(ld_table_column(ld_schema_table(back, "items"),
		    "ts")->hints & LD_NAIVE);
		CHECK(ld_schema_bump(back) == 0);
		cJSON_Delete(doc);
		ld_schema_free(back);
		ld_schema_free(s);
	}
	TEST("schema versions and hashes step as dlt's") {
		/* dlt 1.31's hashes of the same documents (pipeline
		   "nested": its system tables alone, then with a resource
		   Items of max_table_nesting 1000). */
		struct ld_schema *s = ld_schema_new("nested"), *back;
		struct ld_table	 *t;
		cJSON		 *doc;
		char		 *first;

		CHECK(ld_schema_bump(s) == 1 && s->version == 1);
		CHECK_STR(s->version_hash,
		    "QXgITtpf+cD2u1b09T/SIckZUH2XHXHDaAEXiXXR/Tw=");
		t = ld_schema_add_table(s, "items", NULL, LD_APPEND);
		t->resource = xstrdup("Items");
		t->max_nesting = 1000;
		/* A first extract links, it does not step the version. */
		CHECK(ld_schema_link(s) == 1 && s->version == 1);
		CHECK_STR(s->version_hash,
		    "5bCPP0KS9XUGTNAtcX0gmFZ4PfMZAmWXNXirl4BRJEk=");
		first = xstrdup(s->version_hash);
		t->seen_data = 1;
		CHECK(ld_schema_bump(s) == 1 && s->version == 2);
		/* Back to a hash seen before: a new version, the hash not
		   listed twice. */
		t->seen_data = 0;
		CHECK(ld_schema_bump(s) == 1 && s->version == 3);
		CHECK_STR(s->version_hash, first);
		CHECK(s->nprevious == 3);
		t->seen_data = 1;
		CHECK(ld_schema_bump(s) == 1 && s->version == 4);
		CHECK(s->nprevious == 3);
		/* seen-data and descriptions are part of the document. */
		ld_describe(t, ld_table_add_column(t, "x__v_text", LD_TEXT,
		    LD_NULLABLE | LD_VARIANT), "Variant of column x__v_text "
		    "generated by dlt");
		doc = ld_schema_to_json(s);
		back = ld_schema_from_json(doc, err, sizeof(err));
		CHECK(back != NULL && ld_schema_table(back, "items")->seen_data);
		CHECK_STR(ld_table_column(ld_schema_table(back, "items"),
		    "x__v_text")->description, "Variant of column x__v_text "
		    "generated by dlt");
		CHECK_STR(ld_schema_table(back, "_dlt_loads")->description,
		    "Created by DLT. Tracks completed loads");
		cJSON_Delete(doc);
		ld_schema_free(back);
		free(first);
		ld_schema_free(s);
	}
	ld_rm_rf(dir);
	return t_done();
}
