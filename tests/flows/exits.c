/*
 * exits.c: test flows that end their process with exit() mid-run, as a
 * Python flow calling sys.exit (tests/flows/exits.c:exit0, :exit3).
 */
#include <stdlib.h>

#include <pf/flow.h>

static int
exit0(pf_run *run)
{
	pf_log_info(run, "about to exit 0");
	exit(0);
}

PF_FLOW(exit0, .description = "Calls exit(0) before finishing.");

static int
exit3(pf_run *run)
{
	pf_log_info(run, "about to exit 3");
	exit(3);
}

PF_FLOW(exit3, .description = "Calls exit(3) before finishing.");
