/*
 * pull_steps.h: a deployment's pull steps, run as Prefect's engine runs
 * them (prefect/deployments/steps/core.py run_steps) before loading the
 * flow: each step's inputs templated from earlier outputs, blocks,
 * variables and the environment, its dict output merged into the
 * running outputs (and kept under its id), then a chdir into the final
 * "directory".
 *
 * pfagent runs git_clone, set_working_directory and run_shell_script
 * natively. Python-only steps (pip_install_requirements, storage pulls,
 * anything else) are refused by name: a run never silently skips one.
 */
#ifndef DEPLOYMENTS_PULL_STEPS_H
#define DEPLOYMENTS_PULL_STEPS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "git/clone.h"
#include "deployments/template.h"

struct redact;

struct pull_env {
	const struct template_resolver	*resolver;	/* blocks, variables */
	const struct repo_cache		*git;
	repo_log_fn			 log;		/* the run's logs */
	void				*log_arg;
	/* NULL, or where every string a block lookup returns is added:
	 * the set the run's logs are masked with. run_shell_script masks
	 * them in what it streams, its outputs and its errors. */
	struct redact			*secrets;
};

/* What the steps leave behind: held until the flow run ends. */
struct pull_result {
	cJSON			*outputs;	/* merged step outputs */
	struct repo_lease	*leases;	/* one per git_clone step */
	size_t			 nleases;
};

/*
 * Runs steps (a JSON array, as in the deployment's pull_steps) and
 * changes into the final "directory". Returns 0, or -1 with err saying
 * "Encountered error while running <step>: <cause>"; *res is filled
 * either way and freed with pull_result_cleanup().
 */
int	pull_steps_run(const cJSON *steps, const struct pull_env *,
	    struct pull_result *res, char *err, size_t errlen);
void	pull_result_cleanup(struct pull_result *);

/* Whether fqn names a step pfagent runs (else it is refused at run). */
int	pull_step_known(const char *fqn);
#define PULL_STEPS_KNOWN	"pfagent runs only git_clone, " \
	"set_working_directory and run_shell_script"

#endif
