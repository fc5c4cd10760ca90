/*
 * ticker.c: a test flow that logs "tick 0", "tick 1", ... every
 * interval_ms milliseconds, count lines in all
 * (tests/flows/ticker.c:ticker): its logs show whether every line of a
 * run reached Prefect, and in order.
 */
#include <pf/flow.h>

static const pf_param_def ticker_params[] = {
	PF_PARAM_INT("count", 10, "Lines to log"),
	PF_PARAM_INT("interval_ms", 100, "Milliseconds between lines"),
	PF_PARAM_END
};

static int
ticker(pf_run *run)
{
	long long	n = pf_param_int(run, "count");
	double		gap = (double)pf_param_int(run, "interval_ms") / 1000;

	for (long long i = 0; i < n; i++) {
		pf_log_info(run, "tick %lld", i);
		if (i + 1 < n && pf_sleep(run, gap) != PF_OK)
			return pf_fail(run, "stopped at tick %lld", i);
	}
	return PF_OK;
}

PF_FLOW(ticker, .description = "Logs numbered lines at a steady pace.",
	.params = ticker_params);
