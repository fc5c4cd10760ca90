/*
 * test_task.c: task runs without a server: Prefect's retry delays
 * (backoff lists, clamped Poisson jitter), task naming, the POST
 * /task_runs/ body, and the local state machine (retries, pf_fail
 * inside a task, timeouts). Prefect's wording of states and numbers is
 * in test_sdk_pyfmt.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/logship.h"
#include "common/util.h"
#include "sdk/run.h"
#include "sdk/task.h"
#include "t.h"

struct counter {
	int	fail_times;
	int	calls;
	int	flow_error_seen;
};

static int
flaky_fn(pf_run *run, void *arg)
{
	struct counter	*c = arg;

	if (run->error != NULL)
		c->flow_error_seen = 1;
	if (++c->calls <= c->fail_times)
		return pf_fail(run, "boom %d", c->calls);
	return PF_OK;
}

static int
nap_fn(pf_run *run, void *arg)
{
	int	*returned_early = arg;

	*returned_early = pf_sleep(run, 30) != PF_OK && pf_stopped(run);
	return PF_OK;
}

static int
nested_fn(pf_run *run, void *arg)
{
	const char	**id = arg;

	*id = sdk_run_task_run_id(run, NULL);
	return PF_OK;
}

struct nest {
	const char	*outer, *inner, *after;
	int		 inner_ok;
};

/* A task running a task: lines go to the innermost, then back. */
static int
outer_fn(pf_run *run, void *arg)
{
	PF_TASK(inner);
	struct nest	*n = arg;
	pf_task		*t;

	n->outer = sdk_run_task_run_id(run, NULL);
	t = pf_task_run(run, &inner, nested_fn, &n->inner, NULL);
	n->inner_ok = pf_task_ok(t) == PF_OK;
	n->after = sdk_run_task_run_id(run, NULL);
	return PF_OK;
}

int
main(void)
{
	static volatile sig_atomic_t	 no_stop;
	pf_run				 run;
	cJSON				*j;

	TEST("retry delays: a number, or Prefect's list with a backoff") {
		pf_task_def	 plain = PF_TASK_DEF_INIT(.retries = 3,
		    .retry_delay_seconds = 2);
		pf_task_def	 exp2 = PF_TASK_DEF_INIT(.retries = 3,
		    .retry_delay_seconds = 1, .retry_backoff = 2);
		pf_task_def	 many = PF_TASK_DEF_INIT(.retries = 80,
		    .retry_delay_seconds = 1, .retry_backoff = 1.5);
		char		*s;

		j = sdk_task_retry_delay(&plain);
		CHECK(cJSON_IsNumber(j) && j->valuedouble == 2);
		cJSON_Delete(j);
		/* exponential_backoff(1)(3) == [1, 2, 4] in Prefect */
		j = sdk_task_retry_delay(&exp2);
		s = cJSON_PrintUnformatted(j);
		CHECK_STR(s, "[1,2,4]");
		free(s);
		cJSON_Delete(j);
		j = sdk_task_retry_delay(&many);
		CHECK(cJSON_GetArraySize(j) == 50);
		cJSON_Delete(j);
		CHECK(sdk_task_base_delay(&plain, 1) == 2);
		CHECK(sdk_task_base_delay(&plain, 3) == 2);
		CHECK(sdk_task_base_delay(&exp2, 1) == 1);
		CHECK(sdk_task_base_delay(&exp2, 2) == 2);
		CHECK(sdk_task_base_delay(&exp2, 3) == 4);
		/* the last delay repeats, as the server's RetryFailedTasks */
		CHECK(sdk_task_base_delay(&exp2, 7) == 4);
	}
	TEST("jitter is Prefect's clamped Poisson interval") {
		double	lo = sdk_clamped_poisson(10, 0.5, 0);
		double	hi = sdk_clamped_poisson(10, 0.5, 0.999999999);
		double	sum = 0, prev = -1;
		int	ok = 1, n = 10000;

		/* upper bound: average * (1 + factor) */
		CHECK(fabs(hi - 15) < 1e-3);
		/* lower bound: average * log2(2^k / (2^k - 1)), k = 1.5 */
		CHECK(fabs(lo - 10 * log2(pow(2, 1.5) / (pow(2, 1.5) - 1)))
		    < 1e-9);
		for (int i = 0; i < n; i++) {
			double d = sdk_clamped_poisson(10, 0.5, (i + 0.5) / n);

			ok &= d >= prev;
			prev = d;
			sum += d;
		}
		CHECK(ok);
		/* about the average: that is what the clamping is for */
		CHECK(fabs(sum / n - 10) < 1.0);
		CHECK(sdk_clamped_poisson(0, 0.5, 0.5) == 0);
	}
	TEST("task keys are stable and shaped as Prefect's") {
		char	a[64], b[64];

		sdk_task_key("extract", a, sizeof(a));
		sdk_task_key("extract", b, sizeof(b));
		CHECK_STR(a, b);
		CHECK(strncmp(a, "extract-", 8) == 0 && strlen(a) == 16);
		sdk_task_key("load", b, sizeof(b));
		CHECK(strcmp(a, b) != 0);
	}

	/* The local state machine: no API, nothing printed. */
	setenv("PREFECT_LOGGING_LEVEL", "CRITICAL", 1);
	memset(&run, 0, sizeof(run));
	sdk_run_init(&run);
	run.id = "11111111-2222-4333-8444-555555555555";
	run.name = "unit";
	run.stop = &no_stop;
	run.logs = logship_start(NULL, run.id, run.name);

	TEST("a task retried twice ends Completed; pf_fail stays its own") {
		PF_TASK(flaky, .retries = 2);
		struct counter	 c = { 2, 0, 0 };
		pf_task		*t;

		run.error = xstrdup("the flow's own");
		t = pf_task_run(&run, &flaky, flaky_fn, &c, NULL);
		CHECK(t != NULL && pf_task_ok(t) == PF_OK);
		CHECK(c.calls == 3 && !c.flow_error_seen);
		CHECK_STR(sdk_task_error(t), "");
		CHECK_STR(sdk_task_state(t), "Completed");
		CHECK_STR(run.error, "the flow's own");
		free(run.error);
		run.error = NULL;
	}
	TEST("retries exhausted: Failed, with the task's reason") {
		PF_TASK(flaky, .retries = 1);
		struct counter	 c = { 5, 0, 0 };
		pf_task		*t = pf_task_run(&run, &flaky, flaky_fn, &c,
		    NULL);

		CHECK(pf_task_ok(t) == PF_ERROR && c.calls == 2);
		CHECK_STR(pf_last_error(), "boom 2");
		CHECK_STR(sdk_task_error(t), "boom 2");
		CHECK_STR(sdk_task_state(t), "Failed");
		CHECK(run.error == NULL);
	}
	TEST("a definition without its version is refused, saying how") {
		static const pf_task_def bare = { .name = "bare" };
		struct counter	 c = { 0, 0, 0 };
		pf_task		*t = pf_task_run(&run, &bare, flaky_fn, &c,
		    NULL);

		CHECK(pf_task_ok(t) == PF_ERROR && c.calls == 0);
		CHECK_STR(pf_last_error(), "pf_task_def has no version: "
		    "initialise it with PF_TASK_DEF_INIT or PF_TASK(...) (this "
		    "pfagent knows version 1)");
	}
	TEST("task run names count calls of a task in the attempt") {
		PF_TASK(named);
		struct counter	 c = { 0, 0, 0 };
		pf_task		*a, *b;

		a = pf_task_run(&run, &named, flaky_fn, &c, NULL);
		b = pf_task_run(&run, &named, flaky_fn, &c, PF_UPSTREAM(a));
		CHECK_STR(sdk_task_name(a), "named-0");
		CHECK_STR(sdk_task_name(b), "named-1");
	}
	TEST("a timeout stops pf_sleep and ends the task TimedOut") {
		PF_TASK(nap, .timeout_seconds = 0.2);
		int		 early = 0;
		int64_t		 start = now_ms();
		pf_task		*t = pf_task_run(&run, &nap, nap_fn, &early,
		    NULL);

		CHECK(early && now_ms() - start < 10000);
		CHECK(pf_task_ok(t) == PF_ERROR);
		CHECK_STR(sdk_task_state(t), "TimedOut");
		CHECK_STR(pf_last_error(),
		    "Task run exceeded timeout of 0.2 second(s)");
		/* the deadline was the task's: the flow goes on */
		CHECK(!pf_stopped(&run));
	}
	TEST("inside a task, lines belong to it; outside, to the flow") {
		PF_TASK(outer);
		const char	*inside = NULL;
		pf_task		*t = pf_task_run(&run, &outer, nested_fn,
		    &inside, NULL);

		CHECK(inside != NULL && pf_task_ok(t) == PF_OK);
		CHECK(sdk_run_task_run_id(&run, NULL) == NULL);
	}
	TEST("a task may run tasks; each line goes to the innermost") {
		PF_TASK(outer);
		struct nest	 n = { NULL, NULL, NULL, 0 };
		pf_task		*t = pf_task_run(&run, &outer, outer_fn, &n,
		    NULL);

		CHECK(pf_task_ok(t) == PF_OK && n.inner_ok);
		CHECK(n.outer != NULL && n.inner != NULL && n.after != NULL);
		CHECK(n.outer != n.inner && strcmp(n.outer, n.inner) != 0);
		CHECK(n.after == n.outer);
	}
	TEST("the create body: policy, tags, upstream links, Pending") {
		PF_TASK(up);
		static const char *const tags[] = { "etl", NULL };
		pf_task_def	 def = PF_TASK_DEF_INIT(.name = "load",
		    .retries = 2, .retry_delay_seconds = 1, .retry_backoff = 2,
		    .retry_jitter_factor = 0.5, .tags = tags);
		struct counter	 c = { 0, 0, 0 };
		pf_task		*u = pf_task_run(&run, &up, flaky_fn, &c, NULL);
		const cJSON	*pol, *w;
		char		*s;

		s = sdk_task_create_body(&def, "load-0", "load-1", "0",
		    run.id, PF_UPSTREAM(u), NULL);
		j = cJSON_Parse(s);
		CHECK_STR(cJSON_GetObjectItem(j, "name")->valuestring,
		    "load-0");
		CHECK_STR(cJSON_GetObjectItem(j, "dynamic_key")->valuestring,
		    "0");
		CHECK_STR(cJSON_GetObjectItem(j, "flow_run_id")->valuestring,
		    run.id);
		pol = cJSON_GetObjectItem(j, "empirical_policy");
		CHECK(cJSON_GetObjectItem(pol, "retries")->valuedouble == 2);
		CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(pol,
		    "retry_delay")) == 2);
		CHECK(cJSON_GetObjectItem(pol,
		    "retry_jitter_factor")->valuedouble == 0.5);
		CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tags"),
		    0)->valuestring, "etl");
		w = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "task_inputs"),
		    "wait_for");
		CHECK(cJSON_GetArraySize(w) == 1);
		CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(w, 0),
		    "input_type")->valuestring, "task_run");
		CHECK(strlen(cJSON_GetObjectItem(cJSON_GetArrayItem(w, 0),
		    "id")->valuestring) == 36);
		CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "state"),
		    "type")->valuestring, "PENDING");
		cJSON_Delete(j);
		free(s);
	}
	TEST("no task starts once the run is stopping") {
		PF_TASK(late);
		struct counter	c = { 0, 0, 0 };

		no_stop = 1;
		CHECK(pf_task_run(&run, &late, flaky_fn, &c, NULL) == NULL);
		CHECK(c.calls == 0);
		CHECK(pf_task_ok(NULL) == PF_ERROR);
		no_stop = 0;
	}

	logship_stop(run.logs);
	sdk_run_destroy(&run);
	return t_done();
}
