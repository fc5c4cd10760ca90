/*
 * emit.h: the worker's own events, with the resources and related
 * resources Prefect's worker gives them (workers/base.py), sent with
 * REST POST /events:
 *
 *   prefect.worker.started              after the first sync
 *   prefect.worker.submitted-flow-run   a run is handed to a process
 *   prefect.worker.executed-flow-run    its process exited (follows the
 *                                       submitted event)
 *   prefect.worker.stopped              at exit (follows started)
 *   prefect.runner.cancelled-flow-run   a running run was cancelled
 *
 * They are informational: nothing waits on them, a lost one is logged.
 */
#ifndef WORKER_EMIT_H
#define WORKER_EMIT_H

#include <sys/types.h>

#include <cjson/cJSON.h>

#include "worker/loop.h"
#include "common/http.h"

struct emit_worker {
	const char	*name;
	const char	*pool_id;
	const char	*pool_name;
};

/* What a run's events name; each object may be NULL. Borrowed. */
struct emit_run {
	const cJSON	*flow_run;	/* id, name, tags */
	const cJSON	*deployment;	/* id, name, tags */
	const cJSON	*flow;		/* id, name, tags */
	int		 executed;	/* add pid and status to the flow run */
	pid_t		 pid;
	int		 status_code;
};

/*
 * One event (caller owns it). run is NULL for the worker's own events;
 * follows is an event id or NULL; *id_out receives the new event's id.
 */
cJSON	*emit_event(const char *event, const struct emit_worker *,
	    const struct emit_run *, const char *follows, char id_out[37]);
/*
 * prefect.runner.cancelled-flow-run, as Prefect's runner emits it once a
 * cancelled run is recorded Cancelled (runner/_event_emitter.py):
 * resource prefect.runner.<slug(name)>; related deployment, flow, flow
 * run, then the deployment's and the run's tags.
 */
cJSON	*emit_runner_cancelled(const char *runner_name,
	    const struct emit_run *, char id_out[37]);
/* POST /events with [event], fire and forget; takes the event. */
void	 emit_send(struct loop *, const struct http_settings *, cJSON *event);

/* python-slugify of an ASCII name (other bytes become '-'); caller frees. */
char	*emit_slug(const char *name);
/* A time-ordered UUID (version 7), as Prefect's event ids. */
void	 emit_uuid7(char out[37]);

#endif
