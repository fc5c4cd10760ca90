/*
 * test_handoff.c: what the worker hands its flow-run process
 * (prefect/handoff.h): the run and the deployment through a memfd named
 * by PFAGENT_HANDOFF_FD, taken only for the run it was made for and
 * only from the worker's memfd, and the final-state slot read back.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"
#include "prefect/contract.h"
#include "prefect/handoff.h"
#include "t.h"

#define RUN_ID	"0b6c0f5c-3c59-4c8e-9b0e-1f2a3b4c5d6e"

static void
name_fd(int fd)
{
	char	v[16];

	snprintf(v, sizeof(v), "%d", fd);
	setenv(PF_ENV_HANDOFF, v, 1);
}

int
main(void)
{
	char	 err[200], final[HANDOFF_FINAL_LEN];
	cJSON	*run, *dep, *got_run, *got_dep;
	int	 fd, got_fd;

	run = cJSON_Parse("{\"id\":\"" RUN_ID "\",\"name\":\"n\","
	    "\"parameters\":{\"x\":1}}");
	dep = cJSON_Parse("{\"id\":\"d\",\"entrypoint\":\"flows/hello.c:hello\","
	    "\"pull_steps\":[]}");

	TEST("the run and the deployment go over, and the final state back") {
		fd = handoff_create(run, dep, err, sizeof(err));
		CHECK(fd >= 3);
		CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
		name_fd(fd);
		CHECK(handoff_take(RUN_ID, &got_run, &got_dep, &got_fd) == 0);
		CHECK(getenv(PF_ENV_HANDOFF) == NULL);
		CHECK(got_fd == fd);
		CHECK_STR(json_str(got_run, "name"), "n");
		CHECK(json_num(json_obj(got_run, "parameters"), "x", 0) == 1);
		CHECK_STR(json_str(got_dep, "entrypoint"),
		    "flows/hello.c:hello");
		handoff_final(fd, final);
		CHECK_STR(final, "");
		handoff_set_final(got_fd, "COMPLETED");
		handoff_final(fd, final);
		CHECK_STR(final, "COMPLETED");
		cJSON_Delete(got_run);
		cJSON_Delete(got_dep);
		close(fd);
	}
	TEST("a run without a deployment") {
		fd = handoff_create(run, NULL, err, sizeof(err));
		name_fd(fd);
		CHECK(handoff_take(RUN_ID, &got_run, &got_dep, &got_fd) == 0);
		CHECK(got_run != NULL && got_dep == NULL);
		cJSON_Delete(got_run);
		close(fd);
	}
	TEST("another run's handoff is not taken") {
		fd = handoff_create(run, dep, err, sizeof(err));
		name_fd(fd);
		CHECK(handoff_take("another", &got_run, &got_dep, &got_fd) ==
		    -1);
		CHECK(got_run == NULL && got_dep == NULL && got_fd == -1);
	}
	TEST("a descriptor that is not the worker's memfd is left alone") {
		int	p[2];

		CHECK(pipe(p) == 0);
		name_fd(p[0]);
		CHECK(handoff_take(RUN_ID, &got_run, &got_dep, &got_fd) == -1);
		CHECK(fcntl(p[0], F_GETFD) != -1);	/* still open */
		close(p[0]);
		close(p[1]);
	}
	TEST("no handoff named, none taken") {
		unsetenv(PF_ENV_HANDOFF);
		CHECK(handoff_take(RUN_ID, &got_run, &got_dep, &got_fd) == -1);
		handoff_final(-1, final);
		CHECK_STR(final, "");
	}
	cJSON_Delete(run);
	cJSON_Delete(dep);
	return t_done();
}
