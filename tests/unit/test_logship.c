/*
 * test_logship.c: the console side of a run's logs (no API): Prefect's
 * formats for flow-run and task-run lines, secrets masked, and the level
 * threshold.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk/logship.h"
#include "common/util.h"
#include "t.h"

static int	saved = -1;
static char	path[] = "/tmp/test_logship.XXXXXX";

/* Sends fd 2 to a file until captured() reads it back. */
static void
capture(void)
{
	int	fd = mkstemp(path);

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

/* What was written to fd 2 since capture() (caller frees). */
static char *
captured(void)
{
	FILE	*f;
	char	*s = xcalloc(1, 65536);
	size_t	 n;

	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fopen(path, "r");
	n = f ? fread(s, 1, 65535, f) : 0;
	s[n] = '\0';
	if (f)
		fclose(f);
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	return s;
}

int
main(void)
{
	struct logship	*ls;
	char		*out;

	unsetenv("PREFECT_LOGGING_LEVEL");
	TEST("flow-run and task-run lines as Prefect's console prints them") {
		ls = logship_start(NULL, "id", "crimson-owl");
		capture();
		logship_push(ls, "prefect.flow_runs", 20, "hello", NULL, NULL);
		logship_push(ls, "prefect.task_runs", 40, "boom", "tid",
		    "extract-0");
		logship_push(ls, "prefect.flow_runs", 30, "it's", NULL, NULL);
		out = captured();
		logship_stop(ls);
		CHECK(strstr(out, " | INFO    | Flow run 'crimson-owl' - "
		    "hello\n") != NULL);
		CHECK(strstr(out, " | ERROR   | Task run 'extract-0' - "
		    "boom\n") != NULL);
		CHECK(strstr(out, " | WARNING | Flow run 'crimson-owl' - "
		    "it's\n") != NULL);
		free(out);
	}
	TEST("names are shown as Python's repr shows them") {
		ls = logship_start(NULL, "id", "it's");
		capture();
		logship_push(ls, "prefect.flow_runs", 20, "x", NULL, NULL);
		out = captured();
		logship_stop(ls);
		CHECK(strstr(out, "| Flow run \"it's\" - x\n") != NULL);
		free(out);
	}
	TEST("a long line is printed whole") {
		char	*big = xcalloc(1, 20001);

		memset(big, 'a', 20000);
		ls = logship_start(NULL, "id", "n");
		capture();
		logship_push(ls, "prefect.flow_runs", 20, big, NULL, NULL);
		out = captured();
		logship_stop(ls);
		CHECK(strstr(out, big) != NULL);
		free(big);
		free(out);
	}
	TEST("secrets are masked in every line, and on request") {
		ls = logship_start(NULL, "id", "n");
		logship_secret(ls, "s3cr3t-value");
		logship_secret_hook("other-secret", ls);
		capture();
		logship_push(ls, "prefect.flow_runs", 20, "pw s3cr3t-value",
		    NULL, NULL);
		logship_push(ls, "prefect.task_runs", 20, "other-secret!",
		    "tid", "t-0");
		out = captured();
		CHECK(strstr(out, "Flow run 'n' - pw ****\n") != NULL);
		CHECK(strstr(out, "Task run 't-0' - ****!\n") != NULL);
		CHECK(strstr(out, "s3cr3t") == NULL);
		free(out);
		out = logship_mask(ls, "a s3cr3t-value b");
		CHECK_STR(out, "a **** b");
		free(out);
		CHECK(logship_mask(ls, NULL) == NULL);
		logship_stop(ls);
		out = logship_mask(NULL, "no logship");
		CHECK_STR(out, "no logship");
		free(out);
	}
	TEST("lines below PREFECT_LOGGING_LEVEL are dropped") {
		setenv("PREFECT_LOGGING_LEVEL", "warning", 1);
		ls = logship_start(NULL, "id", "n");
		capture();
		logship_push(ls, "prefect.flow_runs", 20, "quiet", NULL, NULL);
		logship_push(ls, "prefect.flow_runs", 30, "loud", NULL, NULL);
		out = captured();
		logship_stop(ls);
		CHECK(strstr(out, "quiet") == NULL);
		CHECK(strstr(out, "loud") != NULL);
		free(out);
		unsetenv("PREFECT_LOGGING_LEVEL");
	}
	return t_done();
}
