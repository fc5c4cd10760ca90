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

#include <cjson/cJSON.h>

/*
 * The flow-run process's executable, beside the worker's (cli/main.c):
 * the worker starts `pfagent-flow execute`.
 */
#define PF_FLOW_EXE		"pfagent-flow"

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
#define PF_ENV_LOG_LEVEL	"PFAGENT_LOG_LEVEL"	/* debug: API trace */
#define PF_ENV_PROFILE		"WORKSPACE__PROFILE"	/* dlt's variable */
#define PF_ENV_CLAIM		"PFAGENT_CLAIM"		/* claim_env() */
/* The worker's reads, in a memfd on this descriptor (prefect/handoff.h). */
#define PF_ENV_HANDOFF		"PFAGENT_HANDOFF_FD"
#define PF_HANDOFF_FD		3

/*
 * The exit status of an executor that found an allocation refused under
 * its memory limit: Prefect's "high memory usage" code, which the worker
 * reports naming the limit.
 */
#define PF_EXIT_MEMORY		247

/*
 * The exit status of an executor that found the run no longer ours
 * before it proposed Running (claim_is_ours): it ran nothing and
 * proposed nothing, and the worker leaves the run alone (no Crashed).
 */
#define PF_EXIT_NOT_OURS	245

/*
 * A claim, and how it is proved still ours. The server does not
 * serialise claims: two workers' Scheduled -> Pending can both be
 * ACCEPTed, and a claim landing on a run another worker finished moves
 * it back to Pending. So the worker, after its claim and before its
 * Submitting, and the executor, before Running, read the run (GET
 * /flow_runs/{id}) and go on only if its current state is PENDING with
 * one of the claim's transition ids and its run_count is the one the
 * poll saw (nobody ran it meanwhile). Otherwise they propose nothing.
 */
struct claim {
	char	claim_tid[37];		/* of our Pending */
	char	submit_tid[37];		/* of our Pending/Submitting */
	int	run_count;		/* as polled */
};

/*
 * 1 if the run (as read) is ours; else 0 and why not, or -1 when our
 * Pending is its current state but it ran since the poll: our claim
 * displaced another worker's state.
 */
int	 claim_is_ours(const cJSON *flow_run, const struct claim *,
	    char *why, size_t whylen);
/* "PFAGENT_CLAIM=..." for the child's environment (caller frees). */
char	*claim_env(const struct claim *);
/* 1 and the claim if PFAGENT_CLAIM is set and well formed, else 0. */
int	 claim_from_env(struct claim *);

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
