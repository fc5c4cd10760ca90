/*
 * flow_retry.c: a flow with .retries = 1 that fails on its first run and
 * completes on its second. A marker file named after the run in `dir`
 * tells the runs apart, so it works whether the retry runs in the same
 * process or in a new one.
 */
#include <stdio.h>
#include <unistd.h>

#include <pf/flow.h>

static const pf_param_def flow_retry_params[] = {
	PF_PARAM_REQUIRED("dir", PF_PARAM_TYPE_STRING, "Where the marker goes"),
	PF_PARAM_END
};

static int
flow_retry(pf_run *run)
{
	char	 path[4096];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s.first", pf_param_string(run,
	    "dir"), pf_run_id(run));
	if (access(path, F_OK) == 0) {
		pf_log_info(run, "second run: completing");
		return PF_OK;
	}
	if ((f = fopen(path, "w")) == NULL)
		return pf_fail(run, "cannot create %s", path);
	fclose(f);
	return pf_fail(run, "first run fails on purpose");
}

PF_FLOW(flow_retry, .description = "Fails once, then completes.",
	.params = flow_retry_params, .retries = 1);
