/*
 * agent.h: the worker daemon's shared types. Prototypes are grouped by
 * the file that implements them, in lifecycle order:
 *
 *   conf.c     options: flag > Prefect environment variable > default
 *   worker.c   sync (pool, heartbeat), polling for scheduled runs, the
 *              event stream (events.c) and the worker's events (emit.c)
 *   cancel.c   runs to cancel: Cancelling events, polling fallback
 *   run.c      one claimed flow run: claim, submit, watch, cancel,
 *              finalise
 *   jobconf.c  job variables + the pool's base job template -> process
 *   command.c  the process's argv: the job's command, Prefect's engine
 *              for a .py entrypoint, or this binary's executor
 *   proc.c     spawning the executor and naming how it ended
 */
#ifndef WORKER_WORKER_H
#define WORKER_WORKER_H

#include <sys/types.h>

#include <cjson/cJSON.h>

#include "worker/loop.h"
#include "common/http.h"

#define MAX_QUEUES	32

struct conf {
	char	*pool;
	char	*type;			/* "process" or "ecs" */
	int	 ecs;			/* --type ecs (worker/ecs.h) */
	char	*queues[MAX_QUEUES];
	int	 nqueues;
	char	*name;
	int	 limit;			/* 0: no limit */
	int	 run_once;
	double	 query_seconds;
	double	 prefetch_seconds;
	double	 heartbeat_seconds;
	char	*log_level;
	char	*state_dir;
	char	*profile;		/* flow runs' WORKSPACE__PROFILE, or NULL */
	int	 git_cache_mb;		/* 0: unbounded */
	double	 cancel_grace_seconds;	/* SIGTERM -> SIGKILL on cancel */
	double	 cancel_poll_seconds;	/* Cancelling polls, stream down */
	int	 no_events;		/* no websocket: polling only */
	double	 drain_seconds;	/* SIGTERM -> stop what still runs */
	char	*drain_action;		/* "crash" or "reschedule" */
	int	 drain_reschedule;
	int	 health_port;		/* 0: no health server */
	char	*health_address;
	char	*log_format;		/* text or json */
};

struct run;
struct events;
struct health;

struct agent {
	struct conf		 conf;
	struct http_settings	 http;
	struct loop		*loop;
	char			*exe;		/* pfagent-flow, for the flow runs */
	char			 pool_id[40];
	cJSON			*base_job_template;	/* from the pool */
	cJSON			*flow_cache;	/* flows read lately (run.c) */
	int			 no_labels_route;	/* Prefect 3.0: 404 */
	struct run		*runs;		/* claimed, not yet released */
	int			 slots_used;
	int			 synced;	/* first sync done: may poll */
	int			 sync_busy, poll_busy;
	int			 pool_created;	/* created (or 409) since read */
	int			 polls_done;
	int			 more_work;	/* last poll was capped by --limit */
	int			 stopping;	/* no more claims (draining) */
	int			 stop_now;	/* second signal, or SIGQUIT */
	struct loop_timer	*drain_timer;
	int			 recovering;	/* journal records in hand */
	int			 exit_code;
	int			 signal_fd;
	struct loop_timer	*poll_timer;
	struct loop_timer	*done_timer;
	int			 poll_again;	/* asked for while one was busy */
	/* Runs an event announced that no poll has shown yet (worker.c). */
	char			 awaited[16][40];
	int			 nawaited;
	int			 repolls;	/* since the last announcement */
	/* The next run beyond the prefetch window (ahead.c). */
	struct loop_timer	*ahead_timer;
	int			 ahead_busy;

	/* The event stream (events.c) and cancellation (cancel.c). */
	struct events		*events;
	char			 events_pool_id[40];	/* it filters on */
	int			 events_up;
	int			 events_down_logged;
	struct loop_timer	*cancel_timer;
	int			 cancel_busy;

	struct health		*health;	/* --health-port (health.c) */

	/* ECS tasks (ecs.c): the watch timer, task definitions by hash. */
	struct loop_timer	*ecs_timer;
	int64_t			 ecs_timer_due;
	cJSON			*ecs_taskdefs;

	/* The worker's own events (emit.c). */
	char			 started_event[37];	/* "": not sent */
	int			 stopped_sent;
};

/* conf.c */
int	 conf_parse_start(struct conf *, int argc, char **argv, char *err,
	    size_t errlen);
void	 conf_cleanup(struct conf *);
void	 conf_usage_start(void);

/* worker.c */
int	 worker_main(struct conf *);
/* run.c: the flows read lately, dropped when the worker ends. */
void	 flow_cache_free(struct agent *);
void	 worker_slot_freed(struct agent *);
void	 worker_fatal_auth(struct agent *, const char *what);
void	 worker_maybe_done(struct agent *);
/* Polls now, or right after the poll in progress (event-driven). */
void	 worker_poll_soon(struct agent *);

/* ahead.c: after a poll, a timer for the next run beyond the window */
void	 ahead_look(struct agent *);

/* run.c */
void	 run_claim(struct agent *, const cJSON *flow_run);
int	 run_is_known(const struct agent *, const char *id);
/*
 * The worker stops: every running process gets SIGTERM (with the shutdown
 * intent) and SIGKILL a few seconds later; its run is then recorded
 * Crashed, or rescheduled with --drain-action reschedule unless now.
 */
void	 run_stop_all(struct agent *, int now);
/* SIGKILL to every running process group at once. */
void	 run_kill_all(struct agent *);
struct jrec;
/* Watches a dead worker's live process (recover.c); -1 if it is gone. */
int	 run_adopt(struct agent *, struct jrec *, const cJSON *flow_run);
/* Cancels a run of ours (Cancelling seen): idempotent, any step. */
void	 run_cancel(struct agent *, const char *id);
/*
 * The log lines a dead flow-run process spooled but did not deliver
 * (prefect/logspool.h), sent now, before its Crashed state.
 */
void	 run_ship_spool(struct agent *, const char *id);
/* Shipments still comparing with Prefect: the worker waits for them. */
int	 spool_outstanding(void);
/* The ids of runs in flight not yet being cancelled (a new array). */
cJSON	*run_in_flight_ids(const struct agent *);

/* jobconf.c */
struct jobconf {
	char	**env;		/* NULL-terminated "K=V" additions */
	char	 *working_dir;	/* NULL: a fresh temporary directory */
	char	 *command;	/* NULL: Prefect's default (command.c) */
	int	  stream_output;
	long	  memory_mb;	/* job variable memory: RLIMIT_DATA, 0: none */
	long	  cpu_seconds;	/* cpu_limit_seconds: RLIMIT_CPU, 0: none */
};
/* The job configuration templated with the run's variables (a new object). */
cJSON	*jobconf_render(const cJSON *base_job_template, const cJSON *deployment,
	    const cJSON *flow_run, char *err, size_t errlen);
int	 jobconf_resolve(struct jobconf *, const cJSON *base_job_template,
	    const cJSON *deployment, const cJSON *flow_run, char *err,
	    size_t errlen);
void	 jobconf_cleanup(struct jobconf *);

/* command.c */
/*
 * The argv of a run's process (argv[0] a path; shell_words_free), or
 * NULL with err, the run's Crashed message. env is the child's.
 */
char	**command_argv(const char *run_id, const struct jobconf *,
	    const cJSON *deployment, const char *exe, char *const *env,
	    char *err, size_t errlen);
/* The deployment's entrypoint is a .py file (Prefect's engine runs it). */
int	 has_python_entrypoint(const cJSON *deployment);
/* name searched in env's PATH as Python's subprocess does; NULL if none. */
char	 *command_lookup(const char *name, char *const *env);

/* proc.c */
struct proc_spec {
	char *const	 *argv;		/* argv[0]: the path executed */
	const char	 *cwd;
	char *const	 *env;		/* full environment */
	int		  stream_output;
	long		  memory_mb;	/* limits set before exec, 0: none */
	long		  cpu_seconds;
	/* Called in the parent before the child may exec; may be NULL. */
	void		(*started)(pid_t, void *);
	void		 *started_arg;
	/* Inherited by the child as pass_as (no close-on-exec); -1: none. */
	int		  pass_fd;
	int		  pass_as;
};
/* *pidfd is -1 when the kernel has no pidfd_open: poll waitpid then. */
int	 proc_spawn(const struct proc_spec *, pid_t *pid, int *pidfd,
	    char *err, size_t errlen);
/* Builds the child's environment: ours, then the additions (caller frees). */
char	**proc_env_build(char *const *additions);
void	 proc_env_free(char **);

#endif
