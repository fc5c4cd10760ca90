/*
 * contract.h: everything the worker (`pfagent start`) and its flow-run
 * process (`pfagent execute`) agree on, in one place. The worker sets
 * the variables in the child's environment, writes the intent marker
 * before it signals the child, and reads the exit status; the executor
 * reads the variables and the marker and chooses that status.
 */
#ifndef PREFECT_CONTRACT_H
#define PREFECT_CONTRACT_H

#include <stddef.h>

/* The child's environment, beside Prefect's own PREFECT_* settings. */
#define PF_ENV_FLOW_RUN_ID	"PREFECT__FLOW_RUN_ID"	/* Prefect's name */
#define PF_ENV_WORKER_NAME	"PREFECT__WORKER_NAME"
#define PF_ENV_FLOW_ID		"PREFECT__FLOW_ID"
#define PF_ENV_FLOW_NAME	"PREFECT__FLOW_NAME"
#define PF_ENV_DEPLOYMENT_ID	"PREFECT__DEPLOYMENT_ID"
#define PF_ENV_DEPLOYMENT_NAME	"PREFECT__DEPLOYMENT_NAME"
#define PF_ENV_STATE_DIR	"PFAGENT_STATE_DIR"	/* intents, git cache */
#define PF_ENV_GIT_CACHE_MB	"PFAGENT_GIT_CACHE_MB"
#define PF_ENV_LOG_FORMAT	"PFAGENT_LOG_FORMAT"	/* text, json */
#define PF_ENV_PROFILE		"WORKSPACE__PROFILE"	/* dlt's variable */

/*
 * The exit status of an executor that found an allocation refused under
 * its memory limit: Prefect's "high memory usage" code, which the worker
 * reports naming the limit.
 */
#define PF_EXIT_MEMORY		247

/*
 * The intent marker, <state dir>/PF_INTENT_DIR/<flow run id>, written
 * before the worker's SIGTERM and removed once the run is final. Empty,
 * it is a cancellation: the executor logs "Flow run was cancelled." and
 * leaves the state to the worker. Holding a message, it is a shutdown:
 * the executor records its task runs Crashed with that message and
 * leaves the flow run's state to the worker. No marker: the SIGTERM
 * came from elsewhere and the executor records Crashed itself.
 */
#define PF_INTENT_DIR		"cancel"

/* The marker's path (caller frees). */
char	*cancel_intent_path(const char *state_dir, const char *flow_run_id);
int	 cancel_intent_write(const char *state_dir, const char *flow_run_id,
	    char *err, size_t errlen);
void	 cancel_intent_remove(const char *state_dir, const char *flow_run_id);
/* 1 when the worker is cancelling (or stopping) this run, else 0. */
int	 cancel_intent_present(const char *state_dir, const char *flow_run_id);
/* The shutdown intent: 1 and its message, or 0 for none or a cancel. */
int	 shutdown_intent_write(const char *state_dir, const char *flow_run_id,
	    const char *message, char *err, size_t errlen);
int	 shutdown_intent_read(const char *state_dir, const char *flow_run_id,
	    char *message, size_t len);

#endif
