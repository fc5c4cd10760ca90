/*
 * run.c: `pfagent run`: a flow run here, from an entrypoint or a
 * deployment of prefect.yaml, as `python my_flow.py` (executor_run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/deploy/deploy.h"
#include "cli/run.h"
#include "executor/executor.h"
#include "common/json.h"
#include "common/util.h"
#include "deployments/prefect_yaml.h"

static void
usage_run(void)
{
	printf("usage: pfagent run ENTRYPOINT|DEPLOYMENT [--param K=V]... "
	    "[--params JSON]\n"
	    "                  [--params-file FILE] [--prefect-file PATH]\n\n"
	    "Runs a flow in this process, from the current directory.\n"
	    "ENTRYPOINT is flows/<file>.c:<function> (module build/flows/"
	    "<file>.so);\nDEPLOYMENT is a deployment name from prefect.yaml, "
	    "whose parameters\nare the defaults. --params sets them from a "
	    "JSON object (--params-file from\na file), --param K=V one (V is "
	    "read as JSON when it parses, else as\ntext); later ones win.\n\n"
	    "Without PREFECT_API_URL the run is local: logs on the console, "
	    "nothing\nreported. With it, the flow and its run are created on "
	    "the server and every\nstate and log is reported, as for "
	    "'python my_flow.py'.\n\n"
	    "exit status: 0 Completed, 1 Failed or Crashed, 2 bad usage or "
	    "the flow could\nnot be loaded.\n");
}

/* Finds a deployment of prefect.yaml: its entrypoint and parameters. */
static int
deployment_target(const char *file, const char *name, char **entrypoint,
    cJSON *params)
{
	struct deploy_file		 f;
	const struct pf_deployment	*d;
	const cJSON			*p, *given;
	char				 err[1024];
	int				 rc = -1;

	if (deploy_file_load(&f, file, err, sizeof(err)) == -1)
		fprintf(stderr, "pfagent run: %s\n", err);
	else if ((d = prefect_yaml_find(f.py, name)) == NULL)
		fprintf(stderr, "pfagent run: %s has no deployment '%s'\n",
		    file, name);
	else if (d->entrypoint == NULL)
		fprintf(stderr, "pfagent run: deployment '%s' has no "
		    "entrypoint\n", name);
	else {
		*entrypoint = xstrdup(d->entrypoint);
		given = cJSON_GetObjectItemCaseSensitive(d->config,
		    "parameters");
		cJSON_ArrayForEach(p, given)
			cJSON_AddItemToObject(params, p->string,
			    cJSON_Duplicate(p, 1));
		rc = 0;
	}
	deploy_file_cleanup(&f);
	return rc;
}

static void
set_param(cJSON *params, const char *key, cJSON *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(params, key);
	cJSON_AddItemToObject(params, key, v);
}

/*
 * The object of --params JSON or --params-file FILE, or NULL having said
 * what is wrong and where (line and column of a JSON error).
 */
static cJSON *
params_option(const char *opt, const char *arg)
{
	char	 err[512], what[300], *text = NULL;
	cJSON	*j;

	if (!strcmp(opt, "--params-file")) {
		if ((text = read_file_max(arg, 16u << 20, NULL, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "pfagent run: --params-file %s: %s\n",
			    arg, err);
			return NULL;
		}
		snprintf(what, sizeof(what), "--params-file %s", arg);
	} else
		snprintf(what, sizeof(what), "--params");
	j = json_parse_object_at(text ? text : arg, what, err, sizeof(err));
	free(text);
	if (j == NULL)
		fprintf(stderr, "pfagent run: %s\n", err);
	return j;
}

int
run_main(int argc, char **argv)
{
	cJSON		*params = cJSON_CreateObject(), *j, *e;
	const char	*target = NULL, *file = "prefect.yaml";
	char		*entrypoint = NULL;
	int		 rc = 2;

	/* First pass: the target and the file, so parameters can layer. */
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage_run();
			rc = 0;
			goto out;
		}
		if (!strcmp(argv[i], "--prefect-file") && i + 1 < argc)
			file = argv[++i];
		else if ((!strcmp(argv[i], "--param") ||
		    !strcmp(argv[i], "--params") ||
		    !strcmp(argv[i], "--params-file")) && i + 1 < argc)
			i++;
		else if (argv[i][0] == '-' || target != NULL) {
			fprintf(stderr, "pfagent run: unexpected '%s' (see "
			    "pfagent run --help)\n", argv[i]);
			goto out;
		} else
			target = argv[i];
	}
	if (target == NULL) {
		fprintf(stderr, "pfagent run: ENTRYPOINT or DEPLOYMENT "
		    "needed\n");
		goto out;
	}
	if (strchr(target, ':') != NULL)
		entrypoint = xstrdup(target);
	else if (deployment_target(file, target, &entrypoint, params) == -1)
		goto out;
	for (int i = 0; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--params") ||
		    !strcmp(argv[i], "--params-file")) {
			if ((j = params_option(argv[i], argv[i + 1])) == NULL)
				goto out;
			i++;
			cJSON_ArrayForEach(e, j)
				set_param(params, e->string,
				    cJSON_Duplicate(e, 1));
			cJSON_Delete(j);
		} else if (!strcmp(argv[i], "--param")) {
			char	*kv = xstrdup(argv[++i]), *eq = strchr(kv, '=');

			if (eq == NULL || eq == kv) {
				fprintf(stderr, "pfagent run: --param needs "
				    "K=V, got '%s'\n", kv);
				free(kv);
				goto out;
			}
			*eq = '\0';
			if ((j = cJSON_Parse(eq + 1)) == NULL)
				j = cJSON_CreateString(eq + 1);
			set_param(params, kv, j);
			free(kv);
		}
	}
	rc = executor_run(entrypoint, params);
out:
	free(entrypoint);
	cJSON_Delete(params);
	return rc;
}

