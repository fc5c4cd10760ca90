/* fail.c: a test flow that ends with an error (tests/flows/fail.c:fail). */
#include <pf/flow.h>

static int
fail(pf_run *run)
{
	pf_log_warning(run, "about to fail");
	return pf_fail(run, "something went wrong");
}

PF_FLOW(fail, .description = "Always fails.");
