/*
 * test_artifact.c: artifact keys, the table's data string (compared with
 * what Prefect 3.8.8's TableArtifact.format() prints for the same table,
 * i.e. Python's json.dumps(json.loads(text))), the request body, and a
 * local run printing the artifact instead of publishing it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk/logship.h"
#include "sdk/artifact.h"
#include "sdk/run.h"
#include "t.h"

/* Input table, then python3 -c 'print(json.dumps(json.loads(input)))'. */
static const struct {
	const char	*in, *python;
} dumps[] = {
	{ "[{\"a\":1,\"b\":1.0,\"c\":0.1,\"d\":1e-7,\"e\":1e21,\"f\":1E5,"
	  "\"g\":-0,\"h\":-0.0,\"i\":123456789012345678901234567890}]",
	  "[{\"a\": 1, \"b\": 1.0, \"c\": 0.1, \"d\": 1e-07, \"e\": 1e+21, "
	  "\"f\": 100000.0, \"g\": 0, \"h\": -0.0, "
	  "\"i\": 123456789012345678901234567890}]" },
	{ "{\"x\":[1e15, 1e16, 0.0001, 0.00001, 1.5e300, 2.5, 100.0, "
	  "3.14159265358979323846, 0.5e-3, 12345.678e2, 1.7976931348623157e308,"
	  " 5e-324, 0.1e1, 0.30000000000000004]}",
	  "{\"x\": [1000000000000000.0, 1e+16, 0.0001, 1e-05, 1.5e+300, 2.5, "
	  "100.0, 3.141592653589793, 0.0005, 1234567.8, "
	  "1.7976931348623157e+308, 5e-324, 1.0, 0.30000000000000004]}" },
	{ "[{\"s\": \"caf\\u00e9 \xc3\xa9 \\ud83d\\ude00 \xf0\x9f\x98\x80 "
	  "\\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u0001 \\u007f \\u00A0 \\u0041\"}]",
	  "[{\"s\": \"caf\\u00e9 \\u00e9 \\ud83d\\ude00 \\ud83d\\ude00 \\\" "
	  "\\\\ / \\b\\f\\n\\r\\t \\u0001 \\u007f \\u00a0 A\"}]" },
	{ "[ {\"t\": true, \"f\": false, \"n\": null,\n\t\"nested\": "
	  "{\"k\": [1, {\"z\": []}], \"e\": {}}} ]",
	  "[{\"t\": true, \"f\": false, \"n\": null, \"nested\": {\"k\": [1, "
	  "{\"z\": []}], \"e\": {}}}]" },
	{ "[]", "[]" },
	{ "{}", "{}" },
	{ "{\"name\": [\"a\", \"b\"], \"n\": [1, 2]}",
	  "{\"name\": [\"a\", \"b\"], \"n\": [1, 2]}" },
};

/* Runs fn with stderr captured; returns what it printed (caller frees). */
static char *
capture_stderr(int (*fn)(pf_run *), pf_run *run, int *rc)
{
	FILE	*tmp = tmpfile();
	int	 saved = dup(STDERR_FILENO);
	char	*out = calloc(1, 65536);
	size_t	 n;

	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	*rc = fn(run);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, 65535, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

static int
local_markdown(pf_run *run)
{
	return pf_artifact_markdown(run, "daily-report", "# Report\n\nAll good.",
	    "The daily report");
}

static int
local_table(pf_run *run)
{
	return pf_artifact_table(run, NULL, "[{\"n\":1.0,\"s\":\"\xc3\xa9\"}]",
	    NULL);
}

static int
bad_key(pf_run *run)
{
	return pf_artifact_markdown(run, "Daily_Report", "x", NULL);
}

static int
bad_texts(pf_run *run)
{
	return (pf_artifact_markdown(run, NULL, NULL, NULL) == PF_ERROR) +
	    (pf_artifact_markdown(run, NULL, "\xff", NULL) == PF_ERROR) +
	    (pf_artifact_markdown(run, NULL, "ok", "\xc3") == PF_ERROR);
}

static int
bad_table(pf_run *run)
{
	return pf_artifact_table(run, "t", "[{\"a\": 1}, [2]]", NULL);
}

int
main(void)
{
	char		 err[300], *s;
	pf_run		 run;
	int		 rc;

	TEST("keys: lower-case letters, digits and dashes, or none") {
		CHECK(sdk_artifact_key_check("daily-report-2", err,
		    sizeof(err)) == 0);
		CHECK(sdk_artifact_key_check(NULL, err, sizeof(err)) == 0);
		CHECK(sdk_artifact_key_check("", err, sizeof(err)) == 0);
		CHECK(sdk_artifact_key_check("Daily", err, sizeof(err)) == -1);
		CHECK_STR(err, "Artifact key 'Daily' must only contain "
		    "lowercase letters, numbers, and dashes.");
		CHECK(sdk_artifact_key_check("a_b", err, sizeof(err)) == -1);
		CHECK(sdk_artifact_key_check("a b", err, sizeof(err)) == -1);
		CHECK(sdk_artifact_key_check("\xc3\xa9", err, sizeof(err)) ==
		    -1);
	}
	TEST("a table's data is what Python's json.dumps prints") {
		for (size_t i = 0; i < sizeof(dumps) / sizeof(*dumps); i++) {
			s = sdk_artifact_table_data(dumps[i].in, err,
			    sizeof(err));
			CHECK_STR(s, dumps[i].python);
			if (s == NULL)
				printf("#   %zu: %s\n", i, err);
			free(s);
		}
	}
	TEST("numbers too large for a double become null, as NaN does") {
		s = sdk_artifact_table_data("[{\"x\": 1e400, \"y\": -1e999}]",
		    err, sizeof(err));
		CHECK_STR(s, "[{\"x\": null, \"y\": null}]");
		free(s);
	}
	TEST("tables of another shape are refused, naming the culprit") {
		static const struct {
			const char *in, *err;
		} bad[] = {
			{ "[{\"a\": 1}, [2]]", "row 1 is a list, not an object" },
			{ "{\"a\": [1], \"b\": 2}",
			  "column 'b' is a number, not a list" },
			{ "\"x\"", "the table must be a list of row objects or "
			  "an object of column lists, not a string" },
			{ "[[1, 2]]", "row 0 is a list, not an object" },
			{ "[{\"a\": 1}", "the table is not valid JSON (byte 9)" },
			{ "[{\"a\": 01}]", "the table is not valid JSON (byte 7)" },
			{ "[{\"a\": 1.}]", "the table is not valid JSON (byte 7)" },
			{ "[{\"a\": 1} x", "the table is not valid JSON" },
			{ "[{\"a\": \"\xff\"}]",
			  "the table is not valid UTF-8 (byte 8)" },
			{ "[{\"a\": \"\xc0\xaf\"}]",
			  "the table is not valid UTF-8 (byte 8)" },
			{ "[{\"a\": \"\xed\xa0\x80\"}]",
			  "the table is not valid UTF-8 (byte 8)" },
			/* Python keeps a lone surrogate; cJSON refuses it */
			{ "[{\"a\": \"\\ud800\"}]",
			  "the table is not valid JSON" },
			{ "", "the table is not valid JSON" },
			{ NULL, "no table given" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
			err[0] = '\0';
			s = sdk_artifact_table_data(bad[i].in, err,
			    sizeof(err));
			CHECK(s == NULL);
			CHECK(strncmp(err, bad[i].err, strlen(bad[i].err)) ==
			    0);
			if (s != NULL || strncmp(err, bad[i].err,
			    strlen(bad[i].err)) != 0)
				printf("#   %zu: %s\n", i, s ? s : err);
			free(s);
		}
	}
	TEST("the body has the fields Prefect's client sends, nulls too") {
		s = sdk_artifact_body("markdown", NULL, NULL, "# x",
		    "6a3c2d4e-0000-4000-8000-000000000001", NULL);
		CHECK_STR(s, "{\"key\":null,\"type\":\"markdown\","
		    "\"description\":null,\"data\":\"# x\",\"flow_run_id\":"
		    "\"6a3c2d4e-0000-4000-8000-000000000001\","
		    "\"task_run_id\":null}");
		free(s);
		s = sdk_artifact_body("table", "k", "d", "[]", "f", "t");
		CHECK_STR(s, "{\"key\":\"k\",\"type\":\"table\","
		    "\"description\":\"d\",\"data\":\"[]\",\"flow_run_id\":"
		    "\"f\",\"task_run_id\":\"t\"}");
		free(s);
	}

	memset(&run, 0, sizeof(run));		/* http NULL: a local run */
	sdk_run_init(&run);
	run.id = "6a3c2d4e-0000-4000-8000-000000000001";
	run.name = "local-run";
	run.logs = logship_start(NULL, run.id, run.name);
	TEST("a local run prints a markdown artifact whole") {
		s = capture_stderr(local_markdown, &run, &rc);
		CHECK(rc == PF_OK);
		CHECK(strstr(s, "Markdown artifact 'daily-report' (The daily "
		    "report), printed here as there is no PREFECT_API_URL:\n"
		    "# Report\n\nAll good.\n") != NULL);
		free(s);
	}
	TEST("a local run prints a table as its data string") {
		s = capture_stderr(local_table, &run, &rc);
		CHECK(rc == PF_OK);
		CHECK(strstr(s, "Table artifact, printed here as there is no "
		    "PREFECT_API_URL:\n") != NULL);
		CHECK(strstr(s, "\n[{\"n\": 1.0, \"s\": \"\\u00e9\"}]\n") !=
		    NULL);
		free(s);
	}
	TEST("a bad key or table is a logged error and PF_ERROR") {
		s = capture_stderr(bad_key, &run, &rc);
		CHECK(rc == PF_ERROR);
		CHECK(strstr(s, "ERROR   | Flow run 'local-run' - Cannot create "
		    "markdown artifact 'Daily_Report': Artifact key "
		    "'Daily_Report' must only contain lowercase letters, "
		    "numbers, and dashes.") != NULL);
		free(s);
		s = capture_stderr(bad_table, &run, &rc);
		CHECK(rc == PF_ERROR);
		CHECK(strstr(s, "Cannot create table artifact 't': row 1 is a "
		    "list, not an object") != NULL);
		free(s);
	}
	TEST("markdown must be given, in UTF-8, and so the description") {
		s = capture_stderr(bad_texts, &run, &rc);
		CHECK(rc == 3);
		CHECK(strstr(s, "Cannot create markdown artifact: no markdown "
		    "given\n") != NULL);
		CHECK(strstr(s, "Cannot create markdown artifact: the markdown "
		    "is not valid UTF-8 (byte 0)\n") != NULL);
		CHECK(strstr(s, "Cannot create markdown artifact: the "
		    "description is not valid UTF-8 (byte 0)\n") != NULL);
		free(s);
	}
	logship_stop(run.logs);
	sdk_run_destroy(&run);
	return t_done();
}
