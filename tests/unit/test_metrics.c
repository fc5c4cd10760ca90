/*
 * test_metrics.c: the Prometheus exposition (names, HELP/TYPE, label
 * escaping, cumulative buckets) and the JSON agent log lines.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "worker/metrics.h"
#include "common/log.h"
#include "common/util.h"
#include "t.h"

static char *
render(void)
{
	struct metrics_gauges	g = { 3, 1, 1, "0.1.0", "pool \"a\"\\b\nc",
	    "w" };
	struct buf		b;

	buf_init(&b, 1 << 20);
	if (metrics_render(&b, &g) == -1)
		return NULL;
	return buf_steal(&b);
}

/* An API timestamp `ago` seconds in the past. */
static void
stamp(char out[64], double ago)
{
	time_t		t = time(NULL) - (time_t)ago;
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, 64, "%Y-%m-%dT%H:%M:%S.000000+00:00", &tm);
}

/* Runs fn with fd 2 sent to a file, and returns what it wrote. */
static char *
stderr_of(void (*fn)(void))
{
	char	 path[] = "/tmp/test_metrics.XXXXXX", *s;
	int	 fd = mkstemp(path), saved = dup(STDERR_FILENO);

	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	s = read_file_max(path, 1 << 20, NULL, NULL, 0);
	unlink(path);
	return s;
}

static void
log_some(void)
{
	log_msg(LOG_LVL_INFO, "flow run 0b4d5c3e-1c1c-4a1e-9c0e-5f2b1d8f6a7e "
	    "(crimson-owl): claimed");
	log_msg(LOG_LVL_WARN, "quote \" backslash \\ tab \t nl \n bad \xff"
	    "\xc3\xa9 ctl \x01");
	log_set_run("11111111-2222-3333-4444-555555555555", "my-run");
	log_msg(LOG_LVL_ERROR, "executor line");
}

int
main(void)
{
	char	*s, ts[64];

	TEST("an empty registry renders every family with HELP and TYPE") {
		metrics_reset();
		s = render();
		CHECK(s != NULL);
		CHECK(strstr(s, "# TYPE pfagent_flow_runs_claimed_total "
		    "counter\npfagent_flow_runs_claimed_total 0\n") != NULL);
		CHECK(strstr(s, "pfagent_flow_runs_finished_total{state="
		    "\"cancelled\"} 0\n") != NULL);
		CHECK(strstr(s, "# TYPE pfagent_flow_run_pickup_latency_seconds "
		    "histogram\n") != NULL);
		CHECK(strstr(s, "pfagent_flow_runs_in_flight 3\n") != NULL);
		CHECK(strstr(s, "pfagent_events_connected 1\n") != NULL);
		CHECK(strstr(s, "pfagent_ready 1\n") != NULL);
		/* Label values escaped as the format wants. */
		CHECK(strstr(s, "pool=\"pool \\\"a\\\"\\\\b\\nc\"") != NULL);
		free(s);
	}
	TEST("counters count; final states by type, case-insensitively") {
		metrics_reset();
		metrics_run_started();
		metrics_run_finished("COMPLETED");
		metrics_run_finished("COMPLETED");
		metrics_run_finished("FAILED");
		metrics_run_finished("CRASHED");
		metrics_run_finished("cancelled");
		metrics_run_finished("RUNNING");	/* not final: ignored */
		metrics_run_finished(NULL);
		s = render();
		CHECK(strstr(s, "pfagent_flow_runs_started_total 1\n"));
		CHECK(strstr(s, "{state=\"completed\"} 2\n"));
		CHECK(strstr(s, "{state=\"failed\"} 1\n"));
		CHECK(strstr(s, "{state=\"crashed\"} 1\n"));
		CHECK(strstr(s, "{state=\"cancelled\"} 1\n"));
		free(s);
	}
	TEST("API errors by kind") {
		metrics_reset();
		metrics_api_error(0, 0);
		metrics_api_error(0, 1);
		metrics_api_error(503, 0);
		metrics_api_error(500, 0);
		metrics_api_error(404, 0);
		metrics_api_error(200, 0);	/* not an error */
		s = render();
		CHECK(strstr(s, "pfagent_api_errors_total{kind=\"transport\"} "
		    "1\n"));
		CHECK(strstr(s, "{kind=\"timeout\"} 1\n"));
		CHECK(strstr(s, "{kind=\"http_5xx\"} 2\n"));
		CHECK(strstr(s, "{kind=\"http_4xx\"} 1\n"));
		free(s);
	}
	TEST("pickup latency: cumulative buckets, sum and count") {
		metrics_reset();
		stamp(ts, 3);
		metrics_run_claimed(ts, NULL);		/* ~3 s: le 5 */
		stamp(ts, -60);
		metrics_run_claimed(ts, NULL);		/* ahead: 0 */
		stamp(ts, 1000);
		metrics_run_claimed(NULL, ts);		/* created: +Inf */
		metrics_run_claimed(NULL, "not a time");	/* unknown */
		s = render();
		CHECK(strstr(s, "pfagent_flow_runs_claimed_total 4\n"));
		CHECK(strstr(s, "_bucket{le=\"0.25\"} 1\n"));
		CHECK(strstr(s, "_bucket{le=\"2\"} 1\n"));
		CHECK(strstr(s, "_bucket{le=\"5\"} 2\n"));
		CHECK(strstr(s, "_bucket{le=\"600\"} 2\n"));
		CHECK(strstr(s, "_bucket{le=\"+Inf\"} 3\n"));
		CHECK(strstr(s, "pfagent_flow_run_pickup_latency_seconds_count "
		    "3\n"));
		free(s);
	}
	TEST("JSON log lines: one object a line, run fields, escapes, UTF-8") {
		cJSON	*o;
		char	*line, *save = NULL;
		int	 n = 0;

		setenv("PFAGENT_LOG_FORMAT", "json", 1);
		log_init(LOG_LVL_INFO, "[executor]");
		s = stderr_of(log_some);
		log_set_run(NULL, NULL);
		unsetenv("PFAGENT_LOG_FORMAT");
		log_init(LOG_LVL_INFO, "");
		CHECK(s != NULL);
		for (line = strtok_r(s, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save), n++) {
			o = cJSON_Parse(line);
			CHECK(o != NULL);
			if (o == NULL)
				continue;
			CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o,
			    "logger")), "pfagent.executor");
			CHECK(cJSON_GetStringValue(cJSON_GetObjectItem(o,
			    "timestamp")) != NULL);
			if (n == 0) {
				CHECK_STR(cJSON_GetStringValue(
				    cJSON_GetObjectItem(o, "flow_run_id")),
				    "0b4d5c3e-1c1c-4a1e-9c0e-5f2b1d8f6a7e");
				CHECK_STR(cJSON_GetStringValue(
				    cJSON_GetObjectItem(o, "flow_run_name")),
				    "crimson-owl");
				CHECK_STR(cJSON_GetStringValue(
				    cJSON_GetObjectItem(o, "level")), "INFO");
			} else if (n == 1) {
				CHECK_STR(cJSON_GetStringValue(
				    cJSON_GetObjectItem(o, "message")),
				    "quote \" backslash \\ tab \t nl \n bad "
				    "\xef\xbf\xbd\xc3\xa9 ctl \x01");
				CHECK_STR(cJSON_GetStringValue(
				    cJSON_GetObjectItem(o, "level")), "WARNING");
				CHECK(cJSON_GetObjectItem(o, "flow_run_id") ==
				    NULL);
			} else {
				CHECK_STR(cJSON_GetStringValue(
				    cJSON_GetObjectItem(o, "flow_run_name")),
				    "my-run");
			}
			cJSON_Delete(o);
		}
		CHECK(n == 3);
		free(s);
	}
	return t_done();
}
