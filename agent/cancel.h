/*
 * cancel.h: how a cancellation reaches the runs of this worker, and how
 * the worker tells its executor child that the SIGTERM it is about to
 * get is a cancellation (not a crash or a shutdown).
 *
 *   prefect.flow-run.Cancelling event (events.c) --+
 *   POST /flow_runs/filter, CANCELLING among the   +--> run_cancel()
 *     runs in flight, every few seconds while the  |    (run.c: kill
 *     event stream is down, every minute when up --+    and finalise)
 *
 * The cancel intent is a file, <state dir>/cancel/<flow run id>, written
 * before the SIGTERM and removed once the run is finalised: the executor
 * finds it with cancel_intent_present() from PFAGENT_STATE_DIR and
 * PREFECT__FLOW_RUN_ID, both in its environment. Leaf functions: usable
 * from the executor without agent.h.
 */
#ifndef AGENT_CANCEL_H
#define AGENT_CANCEL_H

#include <stddef.h>

struct agent;

/* The marker's path (caller frees). */
char	*cancel_intent_path(const char *state_dir, const char *flow_run_id);
int	 cancel_intent_write(const char *state_dir, const char *flow_run_id,
	    char *err, size_t errlen);
void	 cancel_intent_remove(const char *state_dir, const char *flow_run_id);
/* 1 when the worker is cancelling (or stopping) this run, else 0. */
int	 cancel_intent_present(const char *state_dir, const char *flow_run_id);
/*
 * The shutdown intent: the same marker holding the worker's message, for
 * a run its worker stops because it shuts down (the worker then records
 * the run's state). read: 1 and the message, or 0 for none or a cancel.
 */
int	 shutdown_intent_write(const char *state_dir, const char *flow_run_id,
	    const char *message, char *err, size_t errlen);
int	 shutdown_intent_read(const char *state_dir, const char *flow_run_id,
	    char *message, size_t len);

/* Polling for CANCELLING runs: (re)arms the timer for the events state. */
void	 cancel_poll_schedule(struct agent *);
void	 cancel_poll_stop(struct agent *);
/* A Cancelling event from the stream. */
void	 cancel_on_event(struct agent *, const char *flow_run_id);

#endif
