/*
 * executor_int.h: what the executor's two files share, and nothing else
 * includes: executor.c (a flow run from its pull steps to its final
 * state) and executor_stop.c (how a run ends early: SIGTERM/SIGINT, and
 * a body overrunning its timeout, docs/architecture.md, Timeouts).
 */
#ifndef EXECUTOR_EXECUTOR_INT_H
#define EXECUTOR_EXECUTOR_INT_H

#include <pthread.h>
#include <signal.h>

#include "prefect/api.h"
#include "common/http.h"
#include "deployments/pull_steps.h"
#include "sdk/run.h"

struct exec {
	int			 local;		/* no API: accept every state */
	int			 execute;	/* pfagent execute, not run */
	char			*start_dir;	/* the cwd before pull steps */
	pthread_t		 watchdog;
	int			 watchdog_started;
	char			 final_type[16];
	char			 api_state[16];	/* of the last final answer */
	int			 handoff_fd;	/* the worker's memfd, or -1 */
	volatile sig_atomic_t	 proved;	/* the claim, since the handoff */
	pthread_mutex_t		 prove_mu;	/* one proof at a time */
	char			 id_buf[40];
	struct http_settings	 http;
	const char		*id;
	cJSON			*flow_run;
	cJSON			*deployment;
	struct logship		*logs;
	struct pull_result	 pulled;	/* holds the code's checkout */
	pf_run			 run;
	char			*shared_final;	/* `run`: the child's final type */
	sigset_t		 saved_mask;	/* `run`: before the fork */
};

/* executor.c */
/* A line of the run's logs; arg is the struct exec (a repo_log_fn). */
void	exec_log(void *arg, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Proposes a state for the flow run (message masked), riding out API
 * outages without applying it twice; 0 with *o the answer, or -1.
 */
int	exec_propose(struct exec *, const char *type, const char *name,
	    const char *message, int force, struct orch_result *o);
/* Records a final answer and logs "Finished in state ...". */
int	exec_finished(struct exec *, const struct orch_result *o,
	    const char *sent);
/*
 * Proves the worker's claim on a fresh read of the run (prefect/
 * contract.h): 1, and the run's lines may go out; 0, the run is not
 * ours and every line of it is dropped.
 */
int	exec_prove(struct exec *);
/* GET prefix/id, parsed; NULL with err set. */
cJSON	*exec_get_json(struct exec *, const char *prefix, const char *id,
	    char *err, size_t errlen);

/* executor/supervise.c: `pfagent run`'s flow runs in a child it watches */
/*
 * Forks: 0 in the child (which then runs the flow and calls
 * exec_child_done), the child's pid in the parent, -1 with err set.
 */
pid_t	exec_fork(struct exec *, char *err, size_t errlen);
/* The child tells its parent the final state it reported. */
void	exec_child_done(struct exec *);
/*
 * The parent: forwards SIGINT/SIGTERM to the child until it ends, then
 * makes sure the run ended (Crashed, naming the exit status, when the
 * child left it unfinished). Returns 0 for Completed, 1 otherwise.
 */
int	exec_supervise(struct exec *, pid_t);

/* executor_stop.c */
/* Set once a termination signal arrived: the run's pf_stopped(). */
extern volatile sig_atomic_t	 exec_stop_requested;
/* The run the signal thread acts on, once it is set up; or NULL. */
extern struct exec *volatile	 exec_current;

/* Blocks SIGTERM/SIGINT in every thread and starts the signal thread. */
void	exec_signals_start(void);
/* Starts the timeout watchdog of x->run (after sdk_run_init). */
void	exec_watchdog_start(struct exec *);
/* The executor is finishing: the watchdog stands down and is joined. */
void	exec_watchdog_stop(struct exec *);

#endif
