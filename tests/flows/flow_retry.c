/*
 * flow_retry.c: a flow with .retries = 1 that fails on its first run and
 * completes on its second (first_attempt.h tells them apart).
 */
#include <pf/flow.h>

#include "first_attempt.h"

static const pf_param_def flow_retry_params[] = {
	PF_PARAM_REQUIRED("dir", PF_PARAM_TYPE_STRING, "Where the marker goes"),
	PF_PARAM_END
};

static int
flow_retry(pf_run *run)
{
	if (!first_attempt(run)) {
		pf_log_info(run, "second run: completing");
		return PF_OK;
	}
	return pf_fail(run, "first run fails on purpose");
}

PF_FLOW(flow_retry, .description = "Fails once, then completes.",
	.params = flow_retry_params, .retries = 1);
