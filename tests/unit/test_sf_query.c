/*
 * test_sf_query.c: what a query request carries and what its answer
 * becomes, without a server: the body with bindings in every wire type
 * and as arrays (snowflake/query.h), Snowflake's error answers as
 * messages and which codes mean the session is gone (login.h), and
 * JSON rowsets read into struct sf_result (result.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "snowflake/login.h"
#include "snowflake/query.h"
#include "snowflake/rest.h"
#include "snowflake/result.h"
#include "t.h"

static char *
body(const struct sf_bind *b, size_t n, char *err)
{
	return sf_query_body("insert into t values (?, ?)", b, n, 7,
	    1700000000123LL, err, 256);
}

static void
test_bodies(void)
{
	static const char *const one[] = { "42" }, *const nul[] = { NULL };
	static const char *const ints[] = { "1", NULL, "-3" };
	static const char *const txt[] = { "a\"b", "", NULL };
	static const char *const two[] = { "1", "2" };
	char	 err[256] = "", *b;

	TEST("no binds: sqlText, asyncExec, sequenceId, submission time") {
		b = body(NULL, 0, err);
		CHECK_STR(b, "{\"sqlText\":\"insert into t values (?, ?)\","
		    "\"asyncExec\":false,\"sequenceId\":7,"
		    "\"querySubmissionTime\":1700000000123}");
		free(b);
	}
	TEST("one value per bind: {\"1\": {type, value}}, null as null") {
		struct sf_bind	bs[] = { { "FIXED", one, 1 },
				    { "TEXT", nul, 1 } };

		b = body(bs, 2, err);
		CHECK(b != NULL && strstr(b, "\"bindings\":{\"1\":{\"type\":"
		    "\"FIXED\",\"value\":\"42\"},\"2\":{\"type\":\"TEXT\","
		    "\"value\":null}}") != NULL);
		free(b);
	}
	TEST("array binds: a list of values per bind, one per row") {
		struct sf_bind	bs[] = { { "FIXED", ints, 3 },
				    { "TEXT", txt, 3 } };

		b = body(bs, 2, err);
		CHECK(b != NULL && strstr(b, "\"bindings\":{\"1\":{\"type\":"
		    "\"FIXED\",\"value\":[\"1\",null,\"-3\"]},\"2\":{\"type\":"
		    "\"TEXT\",\"value\":[\"a\\\"b\",\"\",null]}}") != NULL);
		free(b);
	}
	TEST("every wire type is accepted as written") {
		static const char *const types[] = { "FIXED", "REAL", "TEXT",
		    "BOOLEAN", "DATE", "TIME", "TIMESTAMP_NTZ",
		    "TIMESTAMP_LTZ", "TIMESTAMP_TZ", "BINARY" };
		static const char *const vals[] = { "-12.34", "1.5e-3", "x",
		    "true", "1577923200000", "3723456789000",
		    "1577934245678901000", "1577934245000000000",
		    "1577927045000000000 1560", "01ff" };
		struct sf_bind	bs[10];
		cJSON		*j, *bi;

		for (size_t i = 0; i < 10; i++) {
			bs[i].type = types[i];
			bs[i].values = &vals[i];
			bs[i].nvalues = 1;
		}
		b = body(bs, 10, err);
		j = b ? cJSON_Parse(b) : NULL;
		bi = cJSON_GetObjectItem(j, "bindings");
		CHECK(cJSON_GetArraySize(bi) == 10);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
		    cJSON_GetObjectItem(bi, "9"), "value")),
		    "1577927045000000000 1560");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
		    cJSON_GetObjectItem(bi, "10"), "type")), "BINARY");
		cJSON_Delete(j);
		free(b);
	}
	TEST("binds that do not fit: refused with which and why") {
		struct sf_bind	mixed[] = { { "FIXED", ints, 3 },
				    { "FIXED", two, 2 } };
		struct sf_bind	lone[] = { { "FIXED", ints, 3 },
				    { "TEXT", one, 1 } };
		struct sf_bind	typo[] = { { "INTEGER", one, 1 } };
		struct sf_bind	none[] = { { "FIXED", one, 0 } };

		CHECK(body(mixed, 2, err) == NULL);
		CHECK(strstr(err, "bind 2 has 2 values, others 3") != NULL);
		CHECK(body(lone, 2, err) == NULL);
		CHECK(strstr(err, "bind 2 has 1 values") != NULL);
		CHECK(body(typo, 1, err) == NULL);
		CHECK(strstr(err, "type INTEGER is not") != NULL);
		CHECK(body(none, 1, err) == NULL);
		CHECK(strstr(err, "bind 1 has no value") != NULL);
	}
}

static void
error_is(const char *answer, const char *want)
{
	cJSON	*a = cJSON_Parse(answer);
	char	 err[512] = "";

	CHECK(sf_answer_error(a, err, sizeof(err)) == -1);
	CHECK_STR(err, want);
	cJSON_Delete(a);
}

static void
test_errors(void)
{
	char	code[16];
	cJSON	*a;

	TEST("login error: code and message, as Snowflake sends them") {
		error_is("{\"data\":{\"nextAction\":null,\"authnMethod\":"
		    "\"PASSWORD\"},\"code\":\"390100\",\"message\":\"Incorrect "
		    "username or password was specified.\",\"success\":false}",
		    "Snowflake error 390100: Incorrect username or password "
		    "was specified.");
	}
	TEST("statement error: SQL state and query id") {
		error_is("{\"data\":{\"errorCode\":\"002003\",\"sqlState\":"
		    "\"42S02\",\"queryId\":\"01b2-x\"},\"code\":\"002003\","
		    "\"message\":\"SQL compilation error:\\nTable 'T' does not "
		    "exist.\",\"success\":false}",
		    "Snowflake error 002003 (42S02): SQL compilation error:\n"
		    "Table 'T' does not exist. (query 01b2-x)");
	}
	TEST("a message that repeats its code (fakesnow) says it once") {
		error_is("{\"data\":{\"errorCode\":\"002003\",\"sqlState\":"
		    "\"42S02\"},\"code\":\"002003\",\"message\":\"002003 "
		    "(42S02): Catalog Error: no T\",\"success\":false}",
		    "Snowflake error 002003 (42S02): Catalog Error: no T");
		error_is("{\"code\":390318,\"message\":\"x\"}",
		    "Snowflake error 390318: x");
		error_is("{\"success\":false}",
		    "Snowflake error (no code): (no message)");
		/* A prefix cut short is left as it is (a fuzzer's find). */
		error_is("{\"code\":\"002003\",\"message\":\"002003 (42S\"}",
		    "Snowflake error 002003: 002003 (42S");
	}
	TEST("codes that mean the session is gone, and others that do not") {
		CHECK(sf_session_gone("390112"));
		CHECK(sf_session_gone("390104"));
		CHECK(sf_session_gone("390114"));
		CHECK(!sf_session_gone("390100"));
		CHECK(!sf_session_gone("002003"));
		CHECK(!sf_session_gone(""));
		a = cJSON_Parse("{\"code\":390112}");
		CHECK_STR(sf_answer_code(a, code), "390112");
		cJSON_Delete(a);
		a = cJSON_Parse("{\"code\":null}");
		CHECK_STR(sf_answer_code(a, code), "");
		cJSON_Delete(a);
	}
}

/* Reads data (a JSON text) as a query answer's data; no chunks. */
static int
read_data(const char *text, struct sf_result *res, char *err)
{
	struct sf_rest	 r;
	cJSON		*data = cJSON_Parse(text);
	int		 rc;

	sf_rest_init(&r, "http://127.0.0.1:9");
	rc = sf_result_read(&r, data, res, err, 256);
	sf_rest_cleanup(&r);
	cJSON_Delete(data);
	return rc;
}

#define ROWTYPE2 "\"rowtype\":[{\"name\":\"A\",\"type\":\"fixed\"}," \
	"{\"name\":\"B\",\"type\":\"text\"}]"

static void
test_results(void)
{
	struct sf_result	res;
	char			err[256], *rows;

	TEST("a JSON rowset: rows, rowtype and query id") {
		CHECK(read_data("{" ROWTYPE2 ",\"rowset\":[[\"1\",\"x\"],"
		    "[null,\"y\"]],\"total\":2,\"queryResultFormat\":\"json\","
		    "\"queryId\":\"q-1\",\"statementTypeId\":4096}", &res,
		    err) == 0);
		rows = cJSON_PrintUnformatted(res.rows);
		CHECK_STR(rows, "[[\"1\",\"x\"],[null,\"y\"]]");
		free(rows);
		CHECK(cJSON_GetArraySize(res.rowtype) == 2);
		CHECK_STR(res.query_id, "q-1");
		CHECK(res.changed == 0);
		sf_result_free(&res);
	}
	TEST("DML: the rows changed, summed as the connector sums them") {
		CHECK(read_data("{\"rowtype\":[{\"name\":\"number of rows "
		    "inserted\"},{\"name\":\"number of rows updated\"}],"
		    "\"rowset\":[[\"3\",\"2\"]],\"total\":1,"
		    "\"statementTypeId\":13056}", &res, err) == 0);
		CHECK(res.changed == 5);
		sf_result_free(&res);
		CHECK(read_data("{\"rowtype\":[{\"name\":\"number of rows "
		    "deleted\"}],\"rowset\":[[\"4\"]],\"total\":4,"
		    "\"statementTypeId\":12544}", &res, err) == 0);
		CHECK(res.changed == 4);
		sf_result_free(&res);
	}
	TEST("a short or malformed rowset is an error, not fewer rows") {
		CHECK(read_data("{" ROWTYPE2 ",\"rowset\":[[\"1\",\"x\"]],"
		    "\"total\":3,\"statementTypeId\":4096}", &res, err) == -1);
		CHECK(strstr(err, "incomplete result: 1 rows of the 3") !=
		    NULL);
		sf_result_free(&res);
		CHECK(read_data("{" ROWTYPE2 ",\"rowset\":[[\"1\"]]}", &res,
		    err) == -1);
		CHECK(strstr(err, "row 1 is not 2 values") != NULL);
		sf_result_free(&res);
		CHECK(read_data("{" ROWTYPE2 ",\"rowset\":[[\"1\",2]]}", &res,
		    err) == -1);
		CHECK(strstr(err, "not text") != NULL);
		sf_result_free(&res);
		CHECK(read_data("{" ROWTYPE2 ",\"queryResultFormat\":\"arrow\","
		    "\"rowsetBase64\":\"@@@\"}", &res, err) == -1);
		CHECK(strstr(err, "not base64") != NULL);
		sf_result_free(&res);
	}
	TEST("no rowtype, no rows: an empty result") {
		CHECK(read_data("{\"queryResultFormat\":\"arrow\","
		    "\"rowsetBase64\":\"\"}", &res, err) == 0);
		CHECK(cJSON_GetArraySize(res.rows) == 0);
		CHECK(cJSON_IsArray(res.rowtype));
		sf_result_free(&res);
		sf_result_free(NULL);
	}
}

static void
test_codec(void)
{
	TEST("gzip and base64 round trip") {
		const char	*s = "{\"sqlText\":\"select 1\"}";
		unsigned char	*gz, *d;
		size_t		 n, m;

		gz = sf_gzip(s, strlen(s), &n);
		CHECK(n > 10 && gz[0] == 0x1f && gz[1] == 0x8b);
		free(gz);
		d = sf_unbase64("aGVsbG8=", 8, &m);
		CHECK(d != NULL && m == 5 && memcmp(d, "hello", 5) == 0);
		free(d);
		d = sf_unbase64("aGVsbA==", 8, &m);
		CHECK(d != NULL && m == 4 && memcmp(d, "hell", 4) == 0);
		free(d);
		CHECK(sf_unbase64("abc", 3, &m) == NULL);
	}
}

int
main(void)
{
	test_bodies();
	test_errors();
	test_results();
	test_codec();
	return t_done();
}
