/*
 * run_int.h: what run.c (claim, submit, cancel, states) and run_proc.c
 * (the process: spawn, reap, stop, adopt) share about one flow run.
 * Internal to those two files.
 */
#ifndef WORKER_RUN_INT_H
#define WORKER_RUN_INT_H

#include <sys/types.h>

#include <cjson/cJSON.h>

#include "worker/worker.h"
#include "worker/journal.h"
#include "worker/request.h"
#include "prefect/contract.h"

enum run_step { STEP_CLAIM, STEP_SUBMIT, STEP_RUNNING, STEP_EXITED,
    STEP_RELEASED };

/* The deployment's read, made alongside the claim. */
enum run_read { READ_NONE, READ_OK, READ_GONE, READ_FAILED };

struct run {
	struct run	*next;
	struct agent	*agent;
	enum run_step	 step;
	char		 id[40];
	char		*name;
	cJSON		*flow_run;	/* as polled */
	cJSON		*deployment;	/* NULL for runs without one */
	char		*flow_name;
	pid_t		 pid;
	int		 pidfd;
	char		*workdir;
	int		 workdir_is_temp;
	int		 holds_slot;
	int		 inflight;	/* requests whose callback takes this run */
	int64_t		 claim_started;
	int		 claim_attempts;
	cJSON		*flow;		/* for the worker's events; may be NULL */
	int		 claimed;	/* the claim landed (not yet proved) */
	int		 reads;		/* deployment, flow reads in flight */
	enum run_read	 dep_read;
	char		*dep_error;	/* READ_FAILED: why */
	cJSON		*held_logs;	/* lines waiting for the next (run_log) */
	int		 handoff_fd;	/* the executor's memfd, or -1 */
	char		 submitted_event[37];	/* "": none sent */
	int		 cancel_requested;	/* Cancelling seen */
	pid_t		 pgid;		/* the child's group, kept after reaping */
	struct loop_timer *kill_timer;	/* SIGKILL when the grace is over */
	double		 kill_grace;	/* its seconds, for the log */
	struct jrec	 jrec;		/* on disk from claim to free */
	int		 adopted;	/* a dead worker's child: no wait status */
	int		 shutdown;	/* stopped because the worker stops */
	long		 memory_mb;	/* limits of the process, 0: none */
	long		 cpu_seconds;
	void		(*owned_next)(struct run *);	/* run_if_owned */
	void		(*history_next)(struct run *);	/* run_restore_history */
	int		 exit_code;	/* of the reaped process */
	int		 exit_known;	/* 0: adopted, its status unknown */
	/*
	 * The API showed the run final (or handed on: Scheduled, gone):
	 * only then does a run that had a process drop its journal record,
	 * so a restart repairs one the worker could not.
	 */
	int		 settled;
	struct ecs_task	*ecs;		/* --type ecs: its task (ecs.c) */
};

/* run.c */
/* The claim this worker holds on the run (prefect/contract.h). */
void	 run_claim_info(const struct run *, struct claim *);
/* Its process exited PF_EXIT_NOT_OURS: restores what our claim displaced. */
void	 run_not_ours(struct run *);
/*
 * Puts back the newest final state of the run's history that its
 * current state hides (run.c); without one, otherwise(r), or the run
 * is released when otherwise is NULL.
 */
void	 run_restore_history(struct run *, void (*otherwise)(struct run *));
void	 run_free_slot(struct run *);
/* Ends a request callback: drops the request's reference last. */
void	 run_unref(struct run *);
/* Sends a request whose answer comes back to this run (a reference). */
void	 run_request(struct run *, const struct retry_policy *,
	    const char *method, const char *path, const char *body,
	    request_done_fn);
/* Writes the run's record (journal.h); a refusal is only warned about. */
void	 run_journal(struct run *);
/* A line in the run's logs (sent with any held before it). */
void	 run_log(struct run *, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A line stamped now and sent with the next run_log (or the release). */
void	 run_log_hold(struct run *, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* tid NULL: a fresh transition id; done NULL: nobody waits. */
void	 run_set_state(struct run *, const struct retry_policy *,
	    const char *type, const char *name, const char *msg, int force,
	    const char *tid, request_done_fn done);
void	 run_propose(struct run *, const char *type, const char *name,
	    const char *msg, int force);
/* Logs the message and proposes Crashed with it. */
void	 run_crash(struct run *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 run_release(struct run *);
void	 run_emit(struct run *, const char *event, int executed, int code);
/* Counts the final state the API records, once the run is over. */
void	 run_count_final(struct run *);
/* 1 for Completed, Failed, Crashed and Cancelled. */
int	 run_state_is_final(const char *type);
void	 run_on_final(struct http_resp *, enum retry_class, void *);
void	 run_force_cancelled(struct run *, const char *msg);
/* The cancelled run's process is gone: forced Cancelled. */
void	 run_finish_cancel(struct run *);
/* SIGKILL to what is left of the group after grace seconds. */
void	 run_kill_arm(struct run *, double grace);
void	 run_kill_disarm_if_empty(struct run *);

/* run_proc.c */
void	 run_spawn(struct run *);
/* The run's infrastructure: a process, or an ECS task (ecs.c). */
void	 run_start(struct run *);

#endif
