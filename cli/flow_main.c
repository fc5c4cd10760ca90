/*
 * flow_main.c: pfagent-flow, the executable of every command but
 * `start` (cli/main.c execs it for them): the flow-run process the
 * worker starts (`execute`), `run`, `deploy`, the configuration and
 * pipeline commands. It exports the SDK's pf_* symbols to flow modules.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/config.h"
#include "cli/deploy/deploy.h"
#include "cli/execute.h"
#include "cli/pipeline.h"
#include "cli/prefect_profile.h"
#include "cli/run.h"

int
main(int argc, char **argv)
{
	char	err[512];
	int	rc;

	if (argc < 2) {
		fprintf(stderr, "usage: pfagent <command> (see pfagent "
		    "--help)\n");
		return 2;
	}
	if (prefect_profile_apply(err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent: %s\n", err);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!strcmp(argv[1], "run"))
		rc = run_main(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "deploy"))
		rc = deploy_main(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "execute"))
		rc = execute_main(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "profile"))
		rc = profile_main(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "workspace"))
		rc = workspace_main(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "config"))
		rc = config_main(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "pipeline"))
		rc = pipeline_main(argc - 2, argv + 2);
	else {
		fprintf(stderr, "pfagent: unknown command '%s' (see pfagent "
		    "--help)\n", argv[1]);
		rc = 2;
	}
	curl_global_cleanup();
	return rc;
}
