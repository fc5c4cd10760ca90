/*
 * config_secrets.c: a test flow (tests/flows/config_secrets.c:
 * config_secrets) reading configuration and secrets the dlt way, then
 * leaking its secrets on purpose: in log lines, in a task's failure, in
 * an artifact and in its own failure. pfagent must mask them all.
 *
 *   sources.demo.greeting                         config.toml
 *   sources.demo.api_key                          SOURCES__DEMO__API_KEY
 *   destination.warehouse.destination_type        config.toml
 *   destination.warehouse.credentials.password    secrets.toml
 *
 * mode "missing" also asks for sources.demo.missing_key, which is
 * nowhere: the run fails with dlt's message.
 */
#include <stdio.h>
#include <string.h>

#include <pf/config.h>

static const pf_param_def params[] = {
	PF_PARAM_STRING("mode", "leak", "leak, or missing"),
	PF_PARAM_STRING("pipeline", "", "pipeline name for the lookups"),
	PF_PARAM_END
};

PF_TASK(use_api_key);

/* Inside a task: a secret read, logged and failed with. */
static int
use_api_key_fn(pf_run *run, void *arg)
{
	const char	**key = arg;

	*key = pf_secret_string(run, "sources.demo.api_key");
	if (pf_config_ok(run) != PF_OK)
		return PF_ERROR;
	pf_log_info(run, "api key is %s", *key);
	return pf_fail(run, "rejected api key %s", *key);
}

static int
config_secrets(pf_run *run)
{
	const char	*greeting, *password, *type, *profile, *key = NULL;
	pf_task		*t;
	char		 report[512];

	pf_config_pipeline(run, pf_param_string(run, "pipeline"));
	greeting = pf_config_string(run, "sources.demo.greeting");
	password = pf_secret_string(run,
	    "destination.warehouse.credentials.password");
	type = pf_destination_type(run, "warehouse");
	if (strcmp(pf_param_string(run, "mode"), "missing") == 0)
		(void)pf_config_string(run, "sources.demo.missing_key");
	if (pf_config_ok(run) != PF_OK)
		return PF_ERROR;
	profile = pf_config_profile(run);
	pf_log_info(run, "greeting is %s", greeting);
	pf_log_info(run, "profile is %s", profile ? profile : "none");
	pf_log_info(run, "destination warehouse is %s", type);
	pf_log_info(run, "retries is %lld", pf_config_int_or(run,
	    "sources.demo.retries", 3));
	pf_log_info(run, "password is %s", password);
	/* Raw, past the SDK: still masked, and JSON with JSON logs. */
	fprintf(stderr, "raw stderr: password is %s\n", password);

	t = pf_task_run(run, &use_api_key, use_api_key_fn, &key, NULL);
	pf_log_info(run, "the task said: %s", pf_task_ok(t) == PF_OK ? "" :
	    pf_last_error());

	(void)snprintf(report, sizeof(report), "# Report\n\npassword: %s, "
	    "key: %s", password, key ? key : "none");
	pf_artifact_markdown(run, "config-report", report, password);
	(void)snprintf(report, sizeof(report), "[{\"password\": \"%s\"}]",
	    password);
	pf_artifact_table(run, "config-table", report, NULL);
	return pf_fail(run, "failing on purpose with password %s", password);
}

PF_FLOW(config_secrets,
	.description = "Reads configuration and leaks its secrets on purpose.",
	.params = params);
