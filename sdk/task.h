/*
 * task.h: what the two halves of task runs share, and nothing outside
 * sdk/ and the unit tests includes: task.c (a task's attempts, retries
 * and timeouts) and task_state.c (creating the task run and moving its
 * states through Prefect's REST API, or locally by the same rules).
 */
#ifndef SDK_TASK_H
#define SDK_TASK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "prefect/api.h"
#include "sdk/run.h"

struct pf_task {
	struct pf_task		*next;		/* in run->tasks */
	struct pf_task		*parent;	/* enclosing task in progress */
	const pf_task_def	*def;
	char			 id[40];
	char			*name;		/* "<name>-<dynamic key>" */
	char			 state_id[40];	/* the current state's, or "" */
	char			 type[16];	/* the current state's */
	char			 state_name[64];
	char			*message;	/* the current state's, or NULL */
	char			*error;		/* why it failed; NULL: it did not */
	int64_t			 deadline_ms;	/* armed while its body runs */
	int			 run_count;	/* local mode: Running entries */
	double			 retry_in;	/* AwaitingRetry: seconds to wait */
};

/* The server's answer to a proposal, with what api_parse_orch leaves. */
struct answer {
	struct orch_result	 o;
	char			 state_id[40];
	double			 scheduled_in;	/* seconds, -1: no scheduled time */
};

/* task_state.c */
/*
 * Creates the task run Pending (an upsert: after a flow retry it finds
 * the same run again), or gives it a local id without an API. Returns
 * 0, or -1 with err.
 */
int	 sdk_task_create(pf_run *, pf_task *, const char *task_key,
	    const char *dynamic_key, pf_task *const *upstream, char *err,
	    size_t errlen);
/*
 * Proposes a state (message masked); the answer lands in a and in t.
 * Rides out API outages, resending only after a look at the run, so a
 * proposal that landed is never applied twice. 0, or -1 with err.
 */
int	 sdk_task_propose(pf_run *, pf_task *, const char *type,
	    const char *name, const char *message, int force,
	    struct answer *a, char *err, size_t errlen);

/* Pure helpers of task_state.c, exposed for the unit tests. */
/* Prefect's empirical_policy.retry_delay: a number, or with a backoff
 * other than 0 and 1 a list of (at most 50) delays. Caller frees. */
cJSON	*sdk_task_retry_delay(const pf_task_def *);
/* The base delay before retry number n (1 = first retry). */
double	 sdk_task_base_delay(const pf_task_def *, int n);
/* Prefect's clamped_poisson_interval with u uniform in [0, 1). */
double	 sdk_clamped_poisson(double average, double clamping_factor,
	    double u);
/* "<name>-<8 hex digits>", stable for a name (Prefect's task_key shape). */
void	 sdk_task_key(const char *name, char *out, size_t n);
/* The body of POST /task_runs/ (caller frees). */
char	*sdk_task_create_body(const pf_task_def *, const char *name,
	    const char *task_key, const char *dynamic_key,
	    const char *flow_run_id, pf_task *const *upstream,
	    const char *parent_task_run_id);

#endif
