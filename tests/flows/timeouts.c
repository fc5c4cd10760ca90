/*
 * timeouts.c: flows and tasks that overrun their timeouts, either
 * cooperatively (pf_sleep returns early, pf_stopped turns true) or not
 * at all (a busy loop that ignores the flag and must be stopped by
 * ending the process). The busy loops give up after two minutes so a
 * broken watchdog cannot leave them spinning.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <pf/flow.h>

#include "first_attempt.h"

static void
busy(void)
{
	time_t		 end = time(NULL) + 120;
	volatile long	 n = 0;

	while (time(NULL) < end)
		n++;
}

/* ------------------------------------------------ flow timeouts */

static int
flow_sleep_timeout(pf_run *run)
{
	if (pf_sleep(run, 60) != PF_OK)
		return pf_fail(run, "stopped while sleeping");
	return PF_OK;
}

PF_FLOW(flow_sleep_timeout, .description = "Sleeps past its timeout.",
	.timeout_seconds = 1);

static int
flow_busy_timeout(pf_run *run)
{
	pf_log_info(run, "spinning, ignoring pf_stopped");
	busy();
	return PF_OK;
}

PF_FLOW(flow_busy_timeout, .description = "Spins past its timeout.",
	.timeout_seconds = 1);

static const pf_param_def dir_params[] = {
	PF_PARAM_REQUIRED("dir", PF_PARAM_TYPE_STRING, "Where the marker goes"),
	PF_PARAM_END
};

/* Spins past its timeout on the first run only: the retry completes. */
static int
flow_busy_retry(pf_run *run)
{
	if (!first_attempt(run)) {
		pf_log_info(run, "second run: completing");
		return PF_OK;
	}
	busy();
	return PF_OK;
}

PF_FLOW(flow_busy_retry, .description = "Spins once, then completes.",
	.params = dir_params, .timeout_seconds = 1, .retries = 1);

/* ------------------------------------------------ task timeouts */

PF_TASK(nap, .timeout_seconds = 1);
PF_TASK(spin, .timeout_seconds = 1);

static int
nap_fn(pf_run *run, void *arg)
{
	(void)arg;
	while (!pf_stopped(run))
		pf_sleep(run, 0.05);
	return pf_fail(run, "stopped");
}

static int
spin_fn(pf_run *run, void *arg)
{
	(void)run;
	(void)arg;
	busy();
	return PF_OK;
}

static int
task_sleep_timeout(pf_run *run)
{
	pf_task	*t = pf_task_run(run, &nap, nap_fn, NULL, NULL);

	if (pf_task_ok(t) != PF_OK)
		return pf_fail(run, "nap failed: %s", pf_last_error());
	return PF_OK;
}

PF_FLOW(task_sleep_timeout, .description = "A task naps past its timeout.");

static int
task_busy_timeout(pf_run *run)
{
	pf_task	*t = pf_task_run(run, &spin, spin_fn, NULL, NULL);

	if (pf_task_ok(t) != PF_OK)
		return pf_fail(run, "spin failed: %s", pf_last_error());
	return PF_OK;
}

PF_FLOW(task_busy_timeout, .description = "A task spins past its timeout.");

PF_TASK(spin_long, .timeout_seconds = 300);

/* A task that spins well inside its timeout: for stopping by signal. */
static int
task_busy_long(pf_run *run)
{
	pf_task	*t = pf_task_run(run, &spin_long, spin_fn, NULL, NULL);

	return pf_task_ok(t) == PF_OK ? PF_OK : pf_fail(run, "%s",
	    pf_last_error());
}

PF_FLOW(task_busy_long, .description = "A task spins for two minutes.");
