/*
 * tasks.c: test flows with task runs (tests/integration/test_tasks.py).
 *
 * tasks: extract, then flaky (fails `fail_times` times, retries=2,
 * retry_delay 1 s), then load, which waits for both: the equivalent of
 * the Python flow the integration test runs through Prefect's engine.
 * tasks_fail: a task without retries fails; the flow fails naming it.
 */
#include <stdio.h>

#include <pf/flow.h>

static const pf_param_def tasks_params[] = {
	PF_PARAM_INT("fail_times", 2, "How often flaky fails first"),
	PF_PARAM_END
};

PF_TASK(extract);
PF_TASK(flaky, .retries = 2, .retry_delay_seconds = 1);
PF_TASK(load, .tags = (const char *const[]){ "etl", NULL });

struct flaky_state {
	long long	fail_times;
	int		calls;
};

static int
extract_fn(pf_run *run, void *arg)
{
	(void)arg;
	pf_log_info(run, "extracting");
	return PF_OK;
}

static int
flaky_fn(pf_run *run, void *arg)
{
	struct flaky_state *st = arg;

	if (++st->calls <= st->fail_times)
		return pf_fail(run, "boom %d", st->calls);
	pf_log_info(run, "worked on call %d", st->calls);
	return PF_OK;
}

static int
load_fn(pf_run *run, void *arg)
{
	(void)arg;
	pf_log_info(run, "loading");
	return PF_OK;
}

static int
tasks(pf_run *run)
{
	struct flaky_state	 st = { pf_param_int(run, "fail_times"), 0 };
	pf_task			*e, *f, *l;

	e = pf_task_run(run, &extract, extract_fn, NULL, NULL);
	if (pf_task_ok(e) != PF_OK)
		return pf_fail(run, "extract failed: %s", pf_last_error());
	f = pf_task_run(run, &flaky, flaky_fn, &st, PF_UPSTREAM(e));
	if (pf_task_ok(f) != PF_OK)
		return pf_fail(run, "flaky failed: %s", pf_last_error());
	l = pf_task_run(run, &load, load_fn, NULL, PF_UPSTREAM(e, f));
	if (pf_task_ok(l) != PF_OK)
		return pf_fail(run, "load failed: %s", pf_last_error());
	return PF_OK;
}

PF_FLOW(tasks, .description = "Three tasks, one retried.",
	.params = tasks_params);

PF_TASK(broken);

static int
broken_fn(pf_run *run, void *arg)
{
	(void)arg;
	return pf_fail(run, "no rows");
}

static int
tasks_fail(pf_run *run)
{
	pf_task	*b = pf_task_run(run, &broken, broken_fn, NULL, NULL);

	if (pf_task_ok(b) != PF_OK)
		return pf_fail(run, "broken failed: %s", pf_last_error());
	return PF_OK;
}

PF_FLOW(tasks_fail, .description = "A task fails; so does the flow.");
