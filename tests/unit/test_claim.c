/* test_claim.c: the proof that a claimed run is still ours. */
#include <stdlib.h>
#include <string.h>

#include "prefect/contract.h"
#include "t.h"

/* A flow run as GET /flow_runs/{id} answers, reduced to what counts. */
static cJSON *
run_of(const char *type, const char *tid, int run_count)
{
	cJSON	*run = cJSON_CreateObject();
	cJSON	*st = cJSON_AddObjectToObject(run, "state");

	cJSON_AddStringToObject(st, "type", type);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(st, "state_details"),
	    "transition_id", tid);
	cJSON_AddNumberToObject(run, "run_count", run_count);
	return run;
}

static int
ours(const char *type, const char *tid, int run_count, const struct claim *c)
{
	cJSON	*run = run_of(type, tid, run_count);
	char	 why[160];
	int	 rc = claim_is_ours(run, c, why, sizeof(why));

	cJSON_Delete(run);
	return rc;
}

int
main(void)
{
	struct claim	c = { "11111111-1111-4111-8111-111111111111",
	    "22222222-2222-4222-8222-222222222222", 0 }, back;
	char		*env;

	TEST("our Pending or our Submitting, not run since: ours") {
		CHECK(ours("PENDING", c.claim_tid, 0, &c) == 1);
		CHECK(ours("PENDING", c.submit_tid, 0, &c) == 1);
	}
	TEST("another claimant's Pending is not ours") {
		CHECK(ours("PENDING", "33333333-3333-4333-8333-333333333333", 0,
		    &c) == 0);
	}
	TEST("a final or running state is not ours, whoever wrote it") {
		CHECK(ours("COMPLETED", c.claim_tid, 0, &c) == 0);
		CHECK(ours("RUNNING", "x", 1, &c) == 0);
		CHECK(ours("CANCELLING", c.submit_tid, 0, &c) == 0);
	}
	TEST("our Pending over a run that ran since the poll: displaced") {
		CHECK(ours("PENDING", c.claim_tid, 1, &c) == -1);
	}
	TEST("a run without a state is not ours") {
		cJSON	*run = cJSON_CreateObject();
		char	 why[160];

		CHECK(claim_is_ours(run, &c, why, sizeof(why)) == 0);
		cJSON_Delete(run);
	}
	TEST("the claim goes through the environment whole") {
		c.run_count = 2;
		env = claim_env(&c);
		CHECK(strncmp(env, PF_ENV_CLAIM "=", strlen(PF_ENV_CLAIM) + 1)
		    == 0);
		CHECK(putenv(env) == 0);
		CHECK(claim_from_env(&back) == 1);
		CHECK_STR(back.claim_tid, c.claim_tid);
		CHECK_STR(back.submit_tid, c.submit_tid);
		CHECK(back.run_count == 2);
		unsetenv(PF_ENV_CLAIM);
		CHECK(claim_from_env(&back) == 0);
		free(env);
	}
	return t_done();
}
