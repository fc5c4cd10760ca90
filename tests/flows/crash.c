/* crash.c: a test flow that dies of SIGSEGV (tests/flows/crash.c:crash). */
#include <signal.h>

#include <pf/flow.h>

static int
crash(pf_run *run)
{
	pf_log_info(run, "about to crash");
	/* raise, not a NULL write: the outcome must not depend on the compiler */
	raise(SIGSEGV);
	return PF_OK;
}

PF_FLOW(crash, .description = "Always segfaults.");
