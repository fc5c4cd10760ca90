/*
 * main.c: pfagent's subcommands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "agent/agent.h"
#include "agent/executor.h"
#include "common/log.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: pfagent <command> [options]\n\n"
	    "A Prefect-compatible worker that runs flows written in C.\n\n"
	    "commands:\n"
	    "  start     join a work pool and run its flow runs "
	    "(pfagent start --help)\n"
	    "  execute   run the flow run named by PREFECT__FLOW_RUN_ID "
	    "(started by 'start')\n"
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
	log_init(lvl, "");
	rc = worker_main(&c);
	conf_cleanup(&c);
	return rc;
}

int
main(int argc, char **argv)
{
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
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!strcmp(argv[1], "start"))
		rc = cmd_start(argc - 2, argv + 2);
	else if (!strcmp(argv[1], "execute"))
		rc = executor_main();
	else {
		fprintf(stderr, "pfagent: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		rc = 2;
	}
	curl_global_cleanup();
	return rc;
}
