/*
 * api.h: the Prefect REST API, one builder per request body and one
 * parser per answer. Transport lives elsewhere: the agent sends these
 * through its event loop, the executor blocking. Bodies carry only the
 * fields Prefect's strict request schemas accept.
 */
#ifndef PREFECT_API_H
#define PREFECT_API_H

#include <cjson/cJSON.h>

#include "common/http.h"
#include "common/log.h"

enum orch_status { ORCH_ACCEPT, ORCH_REJECT, ORCH_ABORT, ORCH_WAIT };

/* The server's answer to a proposed state. */
struct orch_result {
	enum orch_status status;
	char	 type[16];		/* state type after the call */
	char	 name[64];		/* state name after the call */
	char	 message[512];		/* state message, may be empty */
	double	 delay_seconds;		/* WAIT */
	char	 reason[256];		/* REJECT/ABORT/WAIT */
	char	 transition_id[40];	/* of the state after the call */
};

/*
 * POST /flow_runs/{id}/set_state, or /task_runs/{id}/set_state when
 * task_run_id is not NULL (the task run's flow run id goes with it).
 */
char	*api_set_state_body(const char *flow_run_id, const char *task_run_id,
	    const char *type, const char *name, const char *message,
	    int force, const char *transition_id);
int	 api_parse_orch(const char *body, struct orch_result *,
	    char *err, size_t errlen);
/* Copies a State object's type, name, message and transition id. */
void	 api_orch_state(struct orch_result *, const cJSON *state);
/*
 * A retried proposal whose first POST landed is REJECTed with "already
 * made this state transition" and our own transition id: that is an
 * ACCEPT whose answer was lost. Rewrites it as one.
 */
void	 api_orch_adopt_own(struct orch_result *, const char *transition_id);
const char *api_orch_status_name(enum orch_status);

/* POST /work_pools/{pool}/workers/heartbeat */
char	*api_heartbeat_body(const char *worker_name, int interval_seconds);
/* POST /work_pools/ with the process worker's base job template. */
char	*api_pool_create_body(const char *pool);
cJSON	*api_process_base_job_template(void);
/* POST /work_pools/{pool}/get_scheduled_flow_runs */
char	*api_poll_body(char *const *queues, int nqueues,
	    double prefetch_seconds);
/* One LogCreate object for POST /logs/. */
cJSON	*api_log_entry(const char *logger, int level, const char *message,
	    const char *flow_run_id, const char *task_run_id);
/* The path of an object under a collection, id or name percent-encoded. */
char	*api_path(const char *fmt_prefix, const char *id, const char *suffix);
/*
 * 0 if the server accepts name for a work pool (what: "work pool"), or
 * -1 with err saying why not, as Prefect's server validates it.
 */
int	 api_name_check(const char *what, const char *name, char *err,
	    size_t errlen);

/*
 * Prefect's explanation for an infrastructure exit status (negative for
 * a signal), as in prefect/_internal/infrastructure_exit_codes.py.
 */
const char *api_exit_explanation(int status);
const char *api_exit_resolution(int status);
int	 api_exit_log_level(int status);

#endif
