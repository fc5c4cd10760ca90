/* test_lake.c: S3's XML answers and dlt's filesystem layout. */
#include <stdlib.h>
#include <string.h>

#include "aws/s3.h"
#include "load/filesystem.h"
#include "load/snowpipe.h"
#include "t.h"

static const char list_page[] =
    "<ListBucketResult><IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>tok/+=</NextContinuationToken>"
    "<Contents><Key>d/a&amp;b&lt;c&#x0D;.jsonl</Key></Contents>"
    "<Contents><Key>d/x</Key></Contents></ListBucketResult>";

int
main(void)
{
	char	 err[256];

	TEST("ListObjectsV2: keys decoded, the continuation token") {
		char	**keys = NULL, *token = NULL;
		size_t	  n = 0;

		CHECK(s3_parse_list(list_page, strlen(list_page), &keys, &n,
		    &token) == 0);
		CHECK(n == 2);
		CHECK(strcmp(keys[0], "d/a&b<c\r.jsonl") == 0);
		CHECK(strcmp(keys[1], "d/x") == 0);
		CHECK(token != NULL && strcmp(token, "tok/+=") == 0);
		for (size_t i = 0; i < n; i++)
			free(keys[i]);
		free(keys);
		free(token);
	}
	TEST("a truncated page without a token is an error") {
		const char	*x = "<IsTruncated>true</IsTruncated>";
		char		**keys = NULL, *token = NULL;
		size_t		  n = 0;

		CHECK(s3_parse_list(x, strlen(x), &keys, &n, &token) == -1);
		CHECK(token == NULL && n == 0);
		free(keys);
	}
	TEST("s3:// URLs") {
		char	*b, *p;

		CHECK(s3_parse_url("s3://lake/raw/rates/", &b, &p) == 0);
		CHECK(strcmp(b, "lake") == 0 && strcmp(p, "raw/rates") == 0);
		free(b);
		free(p);
		CHECK(s3_parse_url("s3://lake", &b, &p) == 0);
		CHECK(strcmp(b, "lake") == 0 && strcmp(p, "") == 0);
		free(b);
		free(p);
		CHECK(s3_parse_url("s3:///x", &b, &p) == -1);
		CHECK(s3_parse_url("gs://x", &b, &p) == -1);
	}
	TEST("dlt's default layout and its placeholders") {
		/* 2026-03-04T05:06:07.5Z */
		double	 when = 1772600767.5;
		char	*s;

		s = ld_fs_render_layout("{table_name}/{load_id}.{file_id}.{ext}",
		    "rates", "rates", "1.5", "abc", "jsonl.gz", when, err,
		    sizeof(err));
		CHECK(s != NULL && strcmp(s, "rates/1.5.abc.jsonl.gz") == 0);
		free(s);
		s = ld_fs_render_layout("{schema_name}/{table_name}/{YYYY}/{MM}/"
		    "{DD}/{HH}{mm}{ss}.{ddd}.{MMM}.{Q}.{timestamp}.{curr_date}",
		    "s", "t", "1", "f", "jsonl", when, err, sizeof(err));
		CHECK(s != NULL && strcmp(s, "s/t/2026/03/04/050607.wed.mar."
		    "1.1772600767.2026-03-04.jsonl") == 0);
		free(s);
		CHECK(ld_fs_render_layout("{table_name}/{nope}", "s", "t", "1",
		    "f", "jsonl", when, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "{nope}") != NULL);
	}
	TEST("table prefixes, as dlt cuts them") {
		char	*s;

		s = ld_fs_table_prefix("{table_name}/{load_id}.{file_id}.{ext}",
		    "sch", "rates", err, sizeof(err));
		CHECK(s != NULL && strcmp(s, "rates/") == 0);
		free(s);
		s = ld_fs_table_prefix("{schema_name}.{table_name}.{load_id}",
		    "sch", "rates", err, sizeof(err));
		CHECK(s != NULL && strcmp(s, "sch.rates.") == 0);
		free(s);
		s = ld_fs_table_prefix("x/{table_name}", "sch", "_dlt_loads",
		    err, sizeof(err));
		CHECK(s != NULL && strcmp(s, "_dlt_loads/") == 0);
		free(s);
		CHECK(ld_fs_table_prefix("{load_id}/{table_name}/x", "s", "t",
		    err, sizeof(err)) == NULL);
		CHECK(ld_fs_table_prefix("{table_name}{load_id}", "s", "t",
		    err, sizeof(err)) == NULL);
	}
	TEST("insertReport: the files asked about get their outcome") {
		struct ld_snowpipe_report rep = { 0 };
		char	*next = NULL;
		const char *body = "{\"nextBeginMark\": \"1_3\", \"files\": ["
		    "{\"path\": \"t/a.jsonl.gz\", \"status\": \"LOADED\", "
		    "\"rowsInserted\": 5}, {\"path\": \"t/b.jsonl.gz\", "
		    "\"status\": \"LOAD_FAILED\", \"firstError\": \"bad "
		    "row\"}, {\"path\": \"other\", \"status\": \"LOADED\"}]}";

		rep.f = calloc(3, sizeof(*rep.f));
		rep.f[0].path = strdup("t/a.jsonl.gz");
		rep.f[1].path = strdup("t/b.jsonl.gz");
		rep.f[2].path = strdup("t/c.jsonl.gz");
		rep.n = 3;
		CHECK(ld_snowpipe_parse_report(body, &rep, &next) == 0);
		CHECK(next != NULL && strcmp(next, "1_3") == 0);
		CHECK(strcmp(rep.f[0].status, "LOADED") == 0 &&
		    rep.f[0].rows == 5);
		CHECK(strcmp(rep.f[1].status, "LOAD_FAILED") == 0 &&
		    strcmp(rep.f[1].error, "bad row") == 0);
		CHECK(rep.f[2].status == NULL);
		free(next);
		CHECK(ld_snowpipe_parse_report("<html>", &rep, &next) == -1);
		CHECK(next == NULL);
		ld_snowpipe_report_cleanup(&rep);
	}
	return t_done();
}
