/*
 * test_logspool.c: the log spool (prefect/logspool.c): what a dead
 * process left is split into the batch that was in flight (unsure) and
 * the lines after it, a torn last line is left out, the files go once
 * taken, and a run that ended normally leaves nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "prefect/logspool.h"
#include "t.h"

#define RUN	"0b1c2d3e-0000-4000-8000-000000000001"

static char	dir[] = "/tmp/test_logspool.XXXXXX";

static int
exists(const char *name)
{
	char	path[256];

	snprintf(path, sizeof(path), "%s/logs/%s", dir, name);
	return access(path, F_OK) == 0;
}

int
main(void)
{
	struct logspool		*s;
	struct logspool_rest	 rest;
	char			 err[256];
	off_t			 e1, e2, e3;
	FILE			*f;

	if (mkdtemp(dir) == NULL)
		return 1;
	TEST("sent, in flight and unsent lines are told apart") {
		s = logspool_open(dir, RUN, err, sizeof(err));
		CHECK(s != NULL);
		CHECK(logspool_append(s, "{\"message\":\"one\"}", &e1) == 0);
		CHECK(logspool_append(s, "{\"message\":\"two\"}", &e2) == 0);
		CHECK(logspool_append(s, "{\"message\":\"three\"}", &e3) == 0);
		CHECK(e1 < e2 && e2 < e3);
		logspool_sent(s, e1);
		logspool_sending(s, e2);
		logspool_close(s, 0);		/* the process died */
		logspool_take(dir, RUN, 1000, &rest);
		CHECK(cJSON_GetArraySize(rest.unsure) == 1);
		CHECK_STR(json_str(cJSON_GetArrayItem(rest.unsure, 0),
		    "message"), "two");
		CHECK(rest.bodies != NULL && rest.bodies[1] == NULL);
		CHECK_STR(rest.bodies ? rest.bodies[0] : NULL,
		    "[{\"message\":\"three\"}]");
		logspool_rest_free(&rest);
		CHECK(!exists(RUN ".jsonl") && !exists(RUN ".sent"));
	}
	TEST("bodies are cut at the batch size; a torn last line is left out") {
		s = logspool_open(dir, RUN, err, sizeof(err));
		for (int i = 0; i < 10; i++)
			CHECK(logspool_append(s, "{\"message\":\"0123456789\"}",
			    &e1) == 0);
		logspool_close(s, 0);
		snprintf(err, sizeof(err), "%s/logs/%s.jsonl", dir, RUN);
		f = fopen(err, "a");
		fputs("{\"message\":\"tor", f);
		fclose(f);
		logspool_take(dir, RUN, 60, &rest);
		CHECK(rest.unsure == NULL);
		for (int i = 0; i < 5; i++)
			CHECK_STR(rest.bodies ? rest.bodies[i] : NULL,
			    "[{\"message\":\"0123456789\"},"
			    "{\"message\":\"0123456789\"}]");
		CHECK(rest.bodies != NULL && rest.bodies[5] == NULL);
		logspool_rest_free(&rest);
	}
	TEST("a run that ended normally leaves nothing to send") {
		s = logspool_open(dir, RUN, err, sizeof(err));
		CHECK(logspool_append(s, "{\"message\":\"x\"}", &e1) == 0);
		logspool_sent(s, e1);
		logspool_close(s, 1);
		logspool_take(dir, RUN, 1000, &rest);
		CHECK(rest.unsure == NULL && rest.bodies == NULL);
		CHECK(!exists(RUN ".jsonl"));
	}
	TEST("a run id that is a path is refused") {
		CHECK(logspool_open(dir, "../x", err, sizeof(err)) == NULL);
		logspool_take(dir, "../x", 1000, &rest);
		CHECK(rest.unsure == NULL && rest.bodies == NULL);
	}
	snprintf(err, sizeof(err), "rm -rf %s", dir);
	if (system(err) != 0)
		return 1;
	return t_done();
}
