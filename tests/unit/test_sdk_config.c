/*
 * test_sdk_config.c: configuration for flows (sdk/config.c) on a real
 * resolver over a workspace in a temporary directory: typed getters,
 * optional ones, failures recorded as the body's (with dlt's message
 * and exception), secrets masked in what leaves the run, a credentials
 * section kept, the pipeline pass, named destinations, profiles, and a
 * failed lookup inside a task staying the task's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk/logship.h"
#include "common/util.h"
#include "config/cfg.h"
#include "sdk/run.h"
#include "t.h"
#include "t_files.h"

#define PASSWORD	"pw-unit-0123456789"
#define API_KEY		"ak-unit-abcdefgh"

static char	root[64];

/* A run of the flow with the workspace's resolver, as the executor
 * makes it: secrets handed to the logship through the hook. */
static void
open_run(pf_run *run, const char *profile)
{
	static volatile sig_atomic_t no_stop;
	struct cfg_opts	 o = { root, NULL, profile, NULL, 1, NULL };
	char		 err[4096], *global = xasprintf("%s/home/.dlt", root);

	memset(run, 0, sizeof(*run));
	sdk_run_init(run);
	run->id = "11111111-2222-4333-8444-555555555555";
	run->name = "unit";
	run->stop = &no_stop;
	run->logs = logship_start(NULL, run->id, run->name);
	o.global_dir = global;
	if ((run->cfg = cfg_new(&o, err, sizeof(err))) == NULL)
		printf("# cfg_new: %s\n", err);
	else
		cfg_set_secret_hook(run->cfg, logship_secret_hook, run->logs);
	free(global);
}

static void
close_run(pf_run *run)
{
	sdk_run_destroy(run);
	cfg_free(run->cfg);
	logship_stop(run->logs);
}

static int
has(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

struct task_arg {
	const char	*value;
	int		 ok;
};

static int
lookup_fn(pf_run *run, void *arg)
{
	struct task_arg	*a = arg;

	a->value = pf_config_string(run, "sources.pfunit.nowhere");
	a->ok = pf_config_ok(run);
	return a->ok;
}

int
main(void)
{
	pf_run		 run;
	char		*s;

	snprintf(root, sizeof(root), "/tmp/test_sdk_config.XXXXXX");
	if (mkdtemp(root) == NULL)
		return 1;
	unsetenv("WORKSPACE__PROFILE");
	unsetenv("DLT_PROJECT_DIR");
	setenv("PREFECT_LOGGING_LEVEL", "CRITICAL", 1);
	t_put(root, ".dlt/.workspace", "");
	t_put(root, ".dlt/config.toml",
	    "[sources.pfunit]\n"
	    "greeting = \"hello\"\nretries = 5\nratio = 0.25\n"
	    "enabled = \"yes\"\ncurrencies = [\"EUR\", \"USD\"]\n"
	    "bad_int = \"many\"\npassword = \"in-config-toml\"\n"
	    "[destination.pfwarehouse]\ndestination_type = \"duckdb\"\n"
	    "[destination.pfodd]\ndestination_type = \"nope\"\n");
	t_put(root, ".dlt/secrets.toml",
	    "[destination.pfwarehouse.credentials]\n"
	    "password = \"" PASSWORD "\"\n");
	t_put(root, ".dlt/prod.config.toml", "[sources.pfunit]\ngreeting = \"prod\"\n");

	open_run(&run, NULL);
	TEST("typed values from config.toml, defaults for missing ones") {
		CHECK_STR(pf_config_string(&run, "sources.pfunit.greeting"),
		    "hello");
		CHECK(pf_config_int(&run, "sources.pfunit.retries") == 5);
		CHECK(pf_config_number(&run, "sources.pfunit.ratio") == 0.25);
		CHECK(pf_config_bool(&run, "sources.pfunit.enabled") == 1);
		CHECK_STR(pf_config_json(&run, "sources.pfunit.currencies"),
		    "[\"EUR\",\"USD\"]");
		CHECK_STR(pf_config_string_or(&run, "sources.pfunit.x", "d"),
		    "d");
		CHECK(pf_config_int_or(&run, "sources.pfunit.x", 7) == 7);
		CHECK(pf_config_number_or(&run, "sources.pfunit.x", 1.5) ==
		    1.5);
		CHECK(pf_config_bool_or(&run, "sources.pfunit.x", 1) == 1);
		CHECK(pf_config_ok(&run) == PF_OK && run.error == NULL);
		CHECK_STR(pf_config_profile(&run), "dev");
	}
	TEST("a missing value fails the body with every place looked") {
		CHECK(pf_config_string(&run, "sources.pfunit.nowhere") == NULL);
		CHECK(pf_config_int(&run, "sources.pfunit.never") == 0);
		CHECK(pf_config_ok(&run) == PF_ERROR);
		CHECK_STR(run.error_type, "ConfigFieldMissingException");
		CHECK(strncmp(run.error, "Missing 1 field(s) in configuration "
		    "`sources.pfunit`: `nowhere`\n", 60) == 0);
		CHECK(has(run.error, "(Environment Variables, "
		    "SOURCES__PFUNIT__NOWHERE)"));
		CHECK(has(run.error, "(secrets.toml, sources.pfunit.nowhere)"));
		CHECK(has(run.error, "(config.toml, nowhere)"));
		CHECK(has(run.error, "Active profile: `dev`"));
		/* The second one is listed below the first. */
		CHECK(has(run.error, "\n\nMissing 1 field(s) in configuration "
		    "`sources.pfunit`: `never`"));
		sdk_run_cleanup(&run);
		CHECK(pf_config_ok(&run) == PF_OK && run.error == NULL);
	}
	TEST("a value of the wrong type, a secret in config.toml") {
		CHECK(pf_config_int(&run, "sources.pfunit.bad_int") == 0);
		CHECK_STR(run.error_type,
		    "ConfigValueCannotBeCoercedException");
		CHECK(strncmp(run.error, "Configured value for field `bad_int` "
		    "cannot be coerced into type `<class 'int'>` (provider: "
		    "config.toml, key: sources.pfunit.bad_int, location: /", 145)
		    == 0);
		CHECK(has(run.error, "/.dlt/config.toml)"));
		sdk_run_cleanup(&run);
		/* password is a secret key wherever it is read */
		CHECK(pf_config_string(&run, "sources.pfunit.password") ==
		    NULL);
		CHECK_STR(run.error_type, "ValueNotSecretException");
		sdk_run_cleanup(&run);
	}
	TEST("secrets: read, and masked in what leaves the run") {
		const char *pw = pf_secret_string(&run,
		    "destination.pfwarehouse.credentials.password");

		CHECK_STR(pw, PASSWORD);
		s = logship_mask(run.logs, "pw=" PASSWORD ".");
		CHECK_STR(s, "pw=****.");
		free(s);
		pf_fail(&run, "failing with %s", pw);
		CHECK_STR(run.error, "failing with ****");
		CHECK(run.error_type == NULL);
		sdk_run_cleanup(&run);
	}
	TEST("an environment variable wins; secret fields are masked") {
		setenv("SOURCES__PFUNIT__API_KEY", API_KEY, 1);
		CHECK_STR(pf_secret_string(&run, "sources.pfunit.api_key"),
		    API_KEY);
		s = logship_mask(run.logs, "key " API_KEY);
		CHECK_STR(s, "key ****");
		free(s);
		setenv("SOURCES__PFUNIT__GREETING", "from env", 1);
		CHECK_STR(pf_config_string(&run, "sources.pfunit.greeting"),
		    "from env");
		s = logship_mask(run.logs, "from env");	/* not a secret */
		CHECK_STR(s, "from env");
		free(s);
		unsetenv("SOURCES__PFUNIT__GREETING");
		unsetenv("SOURCES__PFUNIT__API_KEY");
	}
	TEST("a credentials section is never dropped from the path") {
		setenv("DESTINATION__CREDENTIALS__PASSWORD", "pw-env-shared",
		    1);
		CHECK_STR(pf_secret_string(&run,
		    "destination.pfother.credentials.password"),
		    "pw-env-shared");
		unsetenv("DESTINATION__CREDENTIALS__PASSWORD");
		setenv("PFOTHER__PASSWORD", "pw-not-this-one", 1);
		CHECK(pf_secret_string(&run,
		    "destination.pfother.credentials.password") == NULL);
		CHECK(has(run.error, "(Environment Variables, "
		    "CREDENTIALS__PASSWORD)"));
		CHECK(!has(run.error, "(Environment Variables, PASSWORD)"));
		unsetenv("PFOTHER__PASSWORD");
		sdk_run_cleanup(&run);
	}
	TEST("with a pipeline, its own values come first") {
		setenv("PFPIPE__SOURCES__PFUNIT__GREETING", "pipeline's", 1);
		pf_config_pipeline(&run, "pfpipe");
		CHECK_STR(pf_config_string(&run, "sources.pfunit.greeting"),
		    "pipeline's");
		pf_config_pipeline(&run, NULL);
		CHECK_STR(pf_config_string(&run, "sources.pfunit.greeting"),
		    "hello");
		unsetenv("PFPIPE__SOURCES__PFUNIT__GREETING");
	}
	TEST("named destinations, as dlt.pipeline(destination=name)") {
		CHECK_STR(pf_destination_type(&run, "pfwarehouse"), "duckdb");
		CHECK_STR(pf_destination_type(&run, "bigquery"), "bigquery");
		CHECK_STR(pf_destination_type(&run, "dlt.destinations.duckdb"),
		    "duckdb");
		CHECK(pf_config_ok(&run) == PF_OK);
		CHECK(pf_destination_type(&run, "pfnone") == NULL);
		CHECK_STR(run.error_type, "UnknownDestinationModule");
		CHECK(has(run.error, "Destination 'pfnone' was first attempted "
		    "to be resolved as a named destination with a configured "
		    "type. However, no destination type was configured."));
		CHECK(has(run.error, "  DESTINATION__PFNONE__DESTINATION_TYPE="
		    "duckdb\n"));
		sdk_run_cleanup(&run);
		CHECK(pf_destination_type(&run, "pfodd") == NULL);
		CHECK(has(run.error, "However, the configured destination type "
		    "'nope' is not valid."));
		sdk_run_cleanup(&run);
	}
	TEST("a failed lookup inside a task is the task's failure") {
		PF_TASK(reader);
		struct task_arg	 a = { "x", 0 };
		pf_task		*t = pf_task_run(&run, &reader, lookup_fn, &a,
		    NULL);

		CHECK(a.value == NULL && a.ok == PF_ERROR);
		CHECK(pf_task_ok(t) == PF_ERROR);
		CHECK(has(pf_last_error(), "`nowhere`"));
		CHECK(pf_config_ok(&run) == PF_OK && run.error == NULL);
		sdk_run_cleanup(&run);
	}
	close_run(&run);

	TEST("the profile decides which files are read") {
		open_run(&run, "prod");
		CHECK_STR(pf_config_profile(&run), "prod");
		CHECK_STR(pf_config_string(&run, "sources.pfunit.greeting"),
		    "prod");
		close_run(&run);
	}
	TEST("without a resolver every lookup fails, saying why") {
		open_run(&run, NULL);
		cfg_free(run.cfg);
		run.cfg = NULL;
		run.cfg_error = "A problem encountered when loading "
		    "config.toml";
		CHECK(pf_config_string(&run, "a.b") == NULL);
		CHECK_STR(run.error, "A problem encountered when loading "
		    "config.toml");
		CHECK_STR(run.error_type, "TomlProviderReadException");
		CHECK(pf_config_int(&run, "a.c") == 0);	/* listed once */
		CHECK_STR(run.error, "A problem encountered when loading "
		    "config.toml");
		CHECK(pf_config_profile(&run) == NULL);
		close_run(&run);
	}
	{
		char	cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		if (system(cmd) != 0)
			return 1;
	}
	return t_done();
}
