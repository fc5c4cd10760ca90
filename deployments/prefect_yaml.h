/*
 * prefect_yaml.h: the prefect.yaml model, validated as `prefect deploy`
 * (Prefect 3) reads it.
 *
 * A loaded ydoc is checked against Prefect's PrefectYamlModel and
 * DeploymentConfig rules (prefect/cli/deploy/_models.py), with the
 * stricter checks Prefect only makes later at deploy or run time moved
 * up front.  Every problem is reported as "file:line:col: path: text".
 * Each deployment gets a normalised config (what Prefect's model_dump
 * would hand to the deploy code) and its effective build, push and pull
 * steps.  Helpers turn a (templated) config into the schedule and
 * concurrency bodies Prefect's API expects.
 */
#ifndef DEPLOYMENTS_PREFECT_YAML_H
#define DEPLOYMENTS_PREFECT_YAML_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "yaml/doc.h"

/* A list of messages; free with prefect_yaml_msgs_free(). */
struct pf_msgs {
	char	**v;
	size_t	  n;
};

enum pf_pull_mode {
	PF_PULL_STEPS,		/* run pull_steps */
	PF_PULL_NONE,		/* explicit "pull: []": no pull steps */
	PF_PULL_DEFAULT		/* nothing configured: Prefect generates
				 * set_working_directory to the project */
};

/*
 * One deployment.  Strings and trees are owned by the prefect_yaml and
 * valid until prefect_yaml_free(); strings are NULL when unset.  name
 * may be NULL: `prefect init` writes "name: null", and prefect deploy
 * skips such deployments (a warning is given).
 */
struct pf_deployment {
	size_t		 index;		/* in the deployments list */
	const char	*name;
	const char	*entrypoint;
	const char	*flow_name;
	const char	*version;
	const char	*version_type;
	const char	*description;
	const char	*work_pool_name;
	const char	*work_queue_name;
	/*
	 * Known keys only, lax types coerced (paused: "yes" -> true),
	 * single step mappings wrapped in a list, a deprecated `schedule`
	 * moved into `schedules`, intervals as seconds.  This is what
	 * template_deploy_config() and the helpers below take.
	 */
	const cJSON	*config;
	const cJSON	*build_steps;	/* array, possibly empty */
	const cJSON	*push_steps;	/* array, possibly empty */
	const cJSON	*pull_steps;	/* array; empty unless PF_PULL_STEPS */
	enum pf_pull_mode pull_mode;
	const cJSON	*node;		/* the mapping in the ydoc */
};

struct prefect_yaml;

/*
 * Validates doc (read from file, used in messages).  On success returns
 * 0 and *out, which the caller frees with prefect_yaml_free(); doc must
 * outlive it.  On failure returns -1, *out is NULL and err holds every
 * error, one per line.  Warnings (unknown keys Prefect ignores, empty
 * steps) are appended to warn when it is not NULL, on success or not.
 */
int	prefect_yaml_load(const struct ydoc *doc, const char *file,
	    struct prefect_yaml **out, struct pf_msgs *warn, char *err,
	    size_t errlen);

void	prefect_yaml_free(struct prefect_yaml *py);
void	prefect_yaml_msgs_free(struct pf_msgs *msgs);

/* Top-level `name` and `prefect-version`, NULL when unset. */
const char *prefect_yaml_name(const struct prefect_yaml *py);
const char *prefect_yaml_prefect_version(const struct prefect_yaml *py);

size_t	prefect_yaml_count(const struct prefect_yaml *py);
/* Deployment i (NULL when out of range); borrowed. */
const struct pf_deployment *prefect_yaml_deployment(
	    const struct prefect_yaml *py, size_t i);
/* The first deployment called name, or NULL. */
const struct pf_deployment *prefect_yaml_find(const struct prefect_yaml *py,
	    const char *name);

/*
 * What prefect deploy requires of d before it can register it: a name
 * and an entrypoint (unless the caller takes them from its command
 * line).  Returns 0, or -1 with positioned messages in err.
 */
int	prefect_yaml_check_deployable(const struct prefect_yaml *py,
	    const struct pf_deployment *d, char *err, size_t errlen);

/*
 * Options of `prefect deploy`'s command line, to apply to a deployment
 * as _apply_cli_options_to_deploy_config does.
 */
struct pf_overrides {
	const cJSON	*config;	/* deployment keys, as prefect.yaml
					   writes them: replace the base's,
					   but schedules are added and
					   parameters updated key by key */
	const char	*anchor_date;	/* for every interval schedule */
	const char	*timezone;	/* for every schedule */
	const char	*label;		/* names config in messages */
};

/*
 * A deployment that is base (NULL: none, py NULL: no file) with o
 * applied, its steps those of base or else of the file's top level.
 * Returns 0 and *out (free with prefect_yaml_derived_free(); base and
 * py must outlive it), or -1 with err naming o->label.
 */
int	prefect_yaml_derive(const struct prefect_yaml *py,
	    const struct pf_deployment *base, const struct pf_overrides *o,
	    struct pf_deployment **out, char *err, size_t errlen);
void	prefect_yaml_derived_free(struct pf_deployment *);

/*
 * One schedule item of a (templated) config as the DeploymentSchedule
 * Create body prefect deploy sends:
 *   {"schedule": {"cron": ..., "timezone": ..., "day_or": true},
 *    "active": true, "max_scheduled_runs": null, "parameters": {},
 *    "slug": null, "replaces": null}
 * with {"interval": secs, "anchor_date": ..., "timezone": "UTC"} or
 * {"rrule": ..., "timezone": "UTC"} for the other kinds.  An interval
 * schedule without anchor_date gets default_anchor (Prefect sends the
 * current time) or, when that is NULL, none (the server uses now).
 * Returns 0 with a new *out, or -1 with err.
 */
int	prefect_yaml_schedule(const cJSON *item, const char *default_anchor,
	    cJSON **out, char *err, size_t errlen);

/* All of config's "schedules" as a new array in *out. */
int	prefect_yaml_schedules(const cJSON *config, const char *default_anchor,
	    cJSON **out, char *err, size_t errlen);

/*
 * The "concurrency_limit" (number or null) and "concurrency_options"
 * ({"collision_strategy", "grace_period_seconds"}, or NULL when the
 * config gave a plain number) bodies for config.  Both new.
 */
int	prefect_yaml_concurrency(const cJSON *config, cJSON **limit,
	    cJSON **options, char *err, size_t errlen);

/*
 * Parses a duration as Prefect's interval field accepts it: seconds,
 * ISO 8601 ("PT10M", "P1DT2H") or "[D days, ]HH:MM[:SS[.f]]".
 * Returns 0 with *secs, or -1.
 */
int	prefect_yaml_duration(const char *s, double *secs);

#endif
