/*
 * main.c: `pfagent`, the worker's executable: `start` runs here; every
 * other command runs in pfagent-flow, the executable beside this one
 * that holds the flow runtime (the executor, the SDK, the loading
 * engine, git, YAML, PostgreSQL). So the worker maps only what it uses:
 * its flow runs are pfagent-flow processes (docs/architecture.md,
 * "Two executables").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "worker/worker.h"
#include "cli/prefect_profile.h"
#include "common/log.h"
#include "common/util.h"
#include "prefect/contract.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: pfagent <command> [options]\n\n"
	    "A Prefect-compatible worker that runs flows written in C.\n\n"
	    "commands:\n"
	    "  start     join a work pool and run its flow runs "
	    "(pfagent start --help)\n"
	    "  run       run a flow here, as 'python my_flow.py' "
	    "(pfagent run --help)\n"
	    "  deploy    create or update the deployments of prefect.yaml "
	    "(pfagent deploy --help)\n"
	    "  execute   run the flow run named by PREFECT__FLOW_RUN_ID "
	    "(started by 'start')\n"
	    "  profile   show, list and pin the dlt workspace profile "
	    "(pfagent profile --help)\n"
	    "  workspace show the workspace and its configuration, clean a "
	    "profile's data\n"
	    "  config    resolve one configuration value the dlt way "
	    "(pfagent config --help)\n"
	    "  pipeline  check a pipeline's destination and restore its state, "
	    "show it\n"
	    "            (pfagent pipeline --help)\n"
	    "  version   print the version\n\n"
	    "Settings come from Prefect's environment variables "
	    "(PREFECT_API_URL, ...).\n");
}

static int
cmd_start(int argc, char **argv)
{
	struct conf	c;
	char		err[256];
	enum log_level	lvl;
	int		rc;

	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			conf_usage_start();
			return 0;
		}
	if (conf_parse_start(&c, argc, argv, err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent start: %s\n", err);
		conf_cleanup(&c);
		return 2;
	}
	if (log_level_parse(c.log_level, &lvl) == -1) {
		fprintf(stderr, "pfagent start: --log-level: unknown level "
		    "'%s'\n", c.log_level);
		conf_cleanup(&c);
		return 2;
	}
	/* Flow-run processes inherit the format and the level. */
	setenv(PF_ENV_LOG_FORMAT, c.log_format, 1);
	setenv(PF_ENV_LOG_LEVEL, c.log_level, 1);
	log_init(lvl, "");
	rc = worker_main(&c);
	conf_cleanup(&c);
	return rc;
}

/* The command runs in pfagent-flow, in this process's place. */
static int
exec_flow(char **argv)
{
	char	*path = exe_sibling(PF_FLOW_EXE);

	if (path == NULL) {
		fprintf(stderr, "pfagent: cannot find my own executable\n");
		return 2;
	}
	argv[0] = path;
	execv(path, argv);
	fprintf(stderr, "pfagent: cannot run %s: %s\n", path,
	    strerror(errno));
	free(path);
	return 127;
}

int
main(int argc, char **argv)
{
	static const char *const flow_cmds[] = { "run", "deploy", "execute",
	    "profile", "workspace", "config", "pipeline", NULL };
	char	err[512];
	int	rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("pfagent %s\n", PFAGENT_VERSION);
		return 0;
	}
	for (int i = 0; flow_cmds[i] != NULL; i++)
		if (!strcmp(argv[1], flow_cmds[i]))
			return exec_flow(argv);
	if (strcmp(argv[1], "start") != 0) {
		fprintf(stderr, "pfagent: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	if (prefect_profile_apply(err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent: %s\n", err);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmd_start(argc - 2, argv + 2);
	curl_global_cleanup();
	return rc;
}
