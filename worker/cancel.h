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
 * Before the SIGTERM the worker writes the cancel intent of
 * prefect/contract.h; it is removed once the run is finalised.
 */
#ifndef WORKER_CANCEL_H
#define WORKER_CANCEL_H

struct agent;

/* Polling for CANCELLING runs: (re)arms the timer for the events state. */
void	 cancel_poll_schedule(struct agent *);
void	 cancel_poll_stop(struct agent *);
/* A Cancelling event from the stream. */
void	 cancel_on_event(struct agent *, const char *flow_run_id);

#endif
