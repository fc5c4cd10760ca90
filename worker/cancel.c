/*
 * cancel.c: finding the runs to cancel (the intent marker the worker
 * writes before its SIGTERM is prefect/intent.c).
 *
 * The event stream brings prefect.flow-run.Cancelling at once. Polling
 * is the fallback Prefect's FlowRunCancellingObserver uses when its
 * websocket fails: POST /flow_runs/filter for CANCELLING among the ids
 * in flight, here every --cancellation-poll-seconds
 * (PREFECT_WORKER_CANCELLATION_POLL_SECONDS) while the stream is down
 * (or off) and, as a safety net for a lost event, every
 * CANCEL_POLL_UP_MS while it is up. Both end in run_cancel(), which is
 * idempotent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker/worker.h"
#include "worker/cancel.h"
#include "worker/request.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define CANCEL_POLL_UP_MS	60000

/* --- polling --- */

static void	cancel_poll(void *);

void
cancel_poll_schedule(struct agent *a)
{
	int64_t	every = a->events_up ? CANCEL_POLL_UP_MS :
	    (int64_t)(a->conf.cancel_poll_seconds * 1000);

	if (a->cancel_timer != NULL)
		loop_timer_cancel(a->loop, a->cancel_timer);
	a->cancel_timer = NULL;
	if (a->stop_now)
		return;
	/* ±10 %: workers started together do not poll together. */
	a->cancel_timer = loop_timer_add(a->loop,
	    (int64_t)(every * (0.9 + 0.2 * random_unit())), cancel_poll, a);
}

void
cancel_poll_stop(struct agent *a)
{
	if (a->cancel_timer != NULL)
		loop_timer_cancel(a->loop, a->cancel_timer);
	a->cancel_timer = NULL;
}

static void
on_cancelling(struct http_resp *r, enum retry_class rc, void *arg)
{
	struct agent	*a = arg;
	cJSON		*list, *item;
	char		 err[200];

	a->cancel_busy = 0;
	if (rc == RETRY_AUTH) {
		worker_fatal_auth(a, "polling for cancelled flow runs");
		return;
	}
	if (rc != RETRY_OK || (list = json_parse_answer(r->body, 1, err,
	    sizeof(err))) == NULL) {
		log_debug("polling for cancelled flow runs: %s", rc ==
		    RETRY_OK ? err : r->error);
		worker_maybe_done(a);
		return;
	}
	cJSON_ArrayForEach(item, list) {
		const char *id = json_str(item, "id");

		if (id != NULL) {
			log_info("flow run %s: found Cancelling by polling",
			    id);
			run_cancel(a, id);
		}
	}
	cJSON_Delete(list);
	worker_maybe_done(a);
}

static void
cancel_poll(void *arg)
{
	struct agent	*a = arg;
	cJSON		*ids, *body;
	char		*s;
	int		 n;

	a->cancel_timer = NULL;
	cancel_poll_schedule(a);
	if (a->cancel_busy || a->stop_now)
		return;
	ids = run_in_flight_ids(a);
	if ((n = cJSON_GetArraySize(ids)) == 0) {
		cJSON_Delete(ids);
		return;
	}
	body = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
	    body, "flow_runs"), "id"), "any_", ids);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(
	    cJSON_AddObjectToObject(cJSON_GetObjectItem(body, "flow_runs"),
	    "state"), "type"), "any_"), cJSON_CreateString("CANCELLING"));
	cJSON_AddNumberToObject(body, "limit", n < 200 ? n : 200);
	s = json_print(body);
	cJSON_Delete(body);
	a->cancel_busy = 1;
	request_send(a->loop, &a->http, &retry_quick, "POST",
	    "/flow_runs/filter", s, on_cancelling, a);
	free(s);
}

void
cancel_on_event(struct agent *a, const char *flow_run_id)
{
	if (run_is_known(a, flow_run_id))
		run_cancel(a, flow_run_id);
}
