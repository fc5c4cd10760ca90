/*
 * execute.c: `pfagent execute`: its usage, then the executor. The
 * worker starts it with no arguments and the run named in its
 * environment (prefect/contract.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli/execute.h"
#include "executor/executor.h"
#include "prefect/contract.h"

static void
usage_execute(FILE *f)
{
	fprintf(f, "usage: pfagent execute\n\n"
	    "The flow-run process: 'pfagent start' runs it once per flow run "
	    "it claims,\nas Prefect's worker runs 'python -m prefect.engine'. "
	    "It runs the deployment's\npull steps, builds and loads the flow "
	    "module, runs the flow and reports its\nstates and logs to "
	    "Prefect. To run a flow by hand, use 'pfagent run'.\n\n"
	    "environment (set by 'pfagent start'):\n"
	    "  " PF_ENV_FLOW_RUN_ID "      the flow run (required)\n"
	    "  PREFECT_API_URL, PREFECT_API_KEY, PREFECT_API_AUTH_STRING\n"
	    "                            the Prefect API and its credentials\n"
	    "  " PF_ENV_WORKER_NAME ", " PF_ENV_FLOW_ID ", " PF_ENV_FLOW_NAME
	    ",\n  " PF_ENV_DEPLOYMENT_ID ", " PF_ENV_DEPLOYMENT_NAME "\n"
	    "                            the run's worker, flow and deployment\n"
	    "  " PF_ENV_CLAIM "             the worker's claim, proved before "
	    "Running\n"
	    "  " PF_ENV_STATE_DIR "         cancellation intents, git cache\n"
	    "  " PF_ENV_GIT_CACHE_MB "      git cache size (default 2048)\n"
	    "  " PF_ENV_LOG_FORMAT "        console lines: text or json\n"
	    "  " PF_ENV_LOG_LEVEL "         console level (debug: every API "
	    "request timed)\n"
	    "  " PF_ENV_PROFILE "        the dlt workspace profile\n"
	    "  PFAGENT_INCLUDE_DIR       the flow SDK headers for module "
	    "builds\n"
	    "  PFAGENT_STOP_GRACE_SECONDS\n"
	    "                            grace before a stopped flow is "
	    "killed\n");
}

int
execute_main(int argc, char **argv)
{
	if (argc > 0 && (!strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "-h"))) {
		usage_execute(stdout);
		return 0;
	}
	if (argc > 0) {
		fprintf(stderr, "pfagent execute: unexpected argument '%s'\n\n",
		    argv[0]);
		usage_execute(stderr);
		return 2;
	}
	return executor_main();
}
