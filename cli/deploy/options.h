/*
 * options.h: the command line of `pfagent deploy`, as Prefect 3.8.8's
 * `prefect deploy` (prefect/cli/deploy/_commands.py) takes it: the
 * choice of deployments in prefect.yaml, and the options that make a
 * deployment (ENTRYPOINT, --pool, --cron, --param, ...) as a prefect.yaml
 * deployment mapping for prefect_yaml_derive().
 */
#ifndef CLI_DEPLOY_OPTIONS_H
#define CLI_DEPLOY_OPTIONS_H

#include <stdio.h>

#include <cjson/cJSON.h>

/* A repeatable option's values, borrowed from argv. */
struct deploy_list {
	const char	**v;
	size_t		  n;
};

struct deploy_opts {
	/* The choice. */
	struct deploy_list names;	/* --name, -n */
	int		 all;
	int		 dry_run;
	const char	*file;		/* --prefect-file; NULL: prefect.yaml */
	/* The deployment: Prefect's `options`. */
	const char	*entrypoint;
	const char	*description, *version, *version_type;
	const char	*pool, *queue;
	const char	*concurrency_limit, *collision_strategy;
	const char	*anchor_date, *timezone;
	const char	*params, *params_file;
	struct deploy_list tags, job_variables, cron, interval, rrule;
	struct deploy_list param;
	int		 no_enforce;	/* --no-enforce-parameter-schema */
};

/*
 * Parses argv (without the command) into o. Returns -1 to go on, or the
 * exit status: 0 after --help, 2 after a usage error (said on stderr).
 * Free o with deploy_opts_cleanup() in every case.
 */
int	deploy_opts_parse(int argc, char **argv, struct deploy_opts *o);
void	deploy_opts_cleanup(struct deploy_opts *o);
void	deploy_opts_usage(FILE *f);

/* Whether an option that makes a deployment was given. */
int	deploy_opts_any(const struct deploy_opts *o);

/*
 * The options as a deployment mapping in prefect.yaml's form, for the
 * one deployment given by name (name: NULL when none was, or several),
 * and in *overrides the job variables of --job-variable, which Prefect
 * also templates into the config as step outputs. Returns a new object,
 * or NULL with err naming the option at fault.
 */
cJSON	*deploy_opts_config(const struct deploy_opts *o, const char *name,
	    cJSON **overrides, char *err, size_t errlen);

#endif
