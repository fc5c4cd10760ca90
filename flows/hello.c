/*
 * hello.c: the smallest useful flow: greets someone, optionally after a
 * nap. Entrypoint: flows/hello.c:hello.
 */
#include <pf/flow.h>

static const pf_param_def hello_params[] = {
	PF_PARAM_STRING("name", "world", "Who to greet"),
	PF_PARAM_INT("sleep_seconds", 0, "Seconds to sleep before greeting"),
	PF_PARAM_END
};

static int
hello(pf_run *run)
{
	long long	secs = pf_param_int(run, "sleep_seconds");

	if (secs > 0 && pf_sleep(run, (double)secs) != PF_OK)
		return pf_fail(run, "stopped while sleeping");
	pf_log_info(run, "Hello, %s!", pf_param_string(run, "name"));
	return PF_OK;
}

PF_FLOW(hello,
	.description = "Says hello to someone, optionally after a nap.",
	.params = hello_params);
