/*
 * deploy_target.h: one deployment of a prefect.yaml on its way to the
 * server, prepared as `prefect deploy` prepares it: the config templated
 * (blocks, variables, $ENV), the flow module built and loaded for the
 * flow's name, version and parameter schema, then the DeploymentCreate
 * body Prefect would send. The server's side (current, default_queue)
 * is filled in by deploy_api.h.
 */
#ifndef CLI_DEPLOY_TARGET_H
#define CLI_DEPLOY_TARGET_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cli/deploy/diff.h"
#include "deployments/prefect_yaml.h"
#include "deployments/template.h"
#include "pf/flow.h"

/* Zeroed but for d to start; free with deploy_target_cleanup(). */
struct deploy_target {
	const struct pf_deployment *d;
	const pf_flow_def *def;
	const char	*name;		/* templated, in cfg */
	char		*flow;		/* from the module */
	char		*source_md5;	/* of the flow's file: its version */
	cJSON		*cfg;		/* templated config */
	cJSON		*spec;		/* DeploymentCreate without flow_id */
	int		 has_paused;	/* else paused is left as it is */
	int		 has_schedules;	/* else schedules are left alone */
	char		*default_queue;	/* name of the pool's default queue */
	cJSON		*current;	/* the server's deployment, or NULL */
	char		*build_output;	/* compiler messages of a failure */
	const char	*bad_key;	/* the parameter that failed, in cfg */
	int		 bad_schedule;	/* its schedule's index; -1: none */
};

/*
 * Templates d's config into cfg and sets name, fetching blocks and
 * variables through r, with values (may be NULL) as the steps' outputs.
 * Returns 0, or -1 with err.
 */
int	deploy_target_template(struct deploy_target *,
	    const struct template_resolver *r, const cJSON *values,
	    char *err, size_t errlen);
/*
 * The templated name as Prefect makes it ("x.py" is "x") and checked as
 * the server checks it. Returns 0, or -1 with err.
 */
int	deploy_target_check_name(struct deploy_target *, char *err,
	    size_t errlen);
/*
 * Builds and loads cfg's entrypoint: def, flow and source_md5. Returns
 * 0, or -1 with err and any compiler messages in build_output.
 */
int	deploy_target_load_flow(struct deploy_target *, char *err,
	    size_t errlen);
/*
 * Checks cfg's parameters (the deployment's and its schedules') against
 * the module's declaration. Returns 0, or -1 with err and bad_key,
 * bad_schedule saying which.
 */
int	deploy_target_check_params(struct deploy_target *, char *err,
	    size_t errlen);
/*
 * Builds spec from cfg and the module; cwd (the project, absolute) is
 * the directory of the default pull step. Returns 0, or -1 with err.
 * Blocking: warns on stderr about a custom image's working directory.
 */
int	deploy_target_build_spec(struct deploy_target *, const char *cwd,
	    char *err, size_t errlen);
/* Both sides for deploy_diff.h, borrowed from t. */
struct deploy_pair deploy_target_pair(const struct deploy_target *t);
void	deploy_target_cleanup(struct deploy_target *);

#endif
