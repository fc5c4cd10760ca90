/*
 * ahead.c: runs scheduled beyond the prefetch window.
 *
 * Prefect's worker finds a run only when a poll's window (now +
 * prefetch) reaches it, so with --query-seconds longer than
 * --prefetch-seconds (as with the event stream: 600 s) a run scheduled
 * for later would start up to a poll interval late. After each poll the
 * worker asks for the earliest Scheduled run of its pool (and queues)
 * beyond the window and arms a timer that polls when the window reaches
 * it; the poll's own rules (prefetch, --limit, claims) then apply.
 */
#include <stdlib.h>
#include <time.h>

#include "worker/worker.h"
#include "worker/request.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

/* Polls this long after the window opens, so the run is inside it. */
#define MARGIN_MS	100

static void
on_due(void *arg)
{
	struct agent	*a = arg;

	a->ahead_timer = NULL;
	log_debug("a scheduled run enters the prefetch window: polling now");
	worker_poll_soon(a);
}

static void
on_ahead(struct http_resp *r, enum retry_class rc, void *arg)
{
	struct agent	*a = arg;
	cJSON		*list;
	const char	*start;
	struct timespec	 now;
	double		 t, due_s;
	char		 err[200];

	a->ahead_busy = 0;
	if (rc != RETRY_OK) {
		log_debug("looking ahead for scheduled runs: HTTP %ld %s",
		    r->status, r->status ? r->body : r->error);
		return;		/* the regular poll is the fallback */
	}
	if (a->stopping || (list = json_parse_answer(r->body, 1, err,
	    sizeof(err))) == NULL)
		return;
	start = json_str(cJSON_GetArrayItem(list, 0), "expected_start_time");
	if (start != NULL && iso8601_parse(start, &t) == 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		due_s = t - a->conf.prefetch_seconds - (double)now.tv_sec -
		    now.tv_nsec / 1e9;
		if (a->ahead_timer != NULL)
			loop_timer_cancel(a->loop, a->ahead_timer);
		a->ahead_timer = loop_timer_add(a->loop, (int64_t)(due_s *
		    1000) + MARGIN_MS, on_due, a);
		log_debug("next scheduled run enters the window in %.1f s",
		    due_s);
	}
	cJSON_Delete(list);
}

/* {"any_": [values...]} */
static cJSON *
any_of(char *const *values, int n)
{
	cJSON	*o = cJSON_CreateObject(), *arr;

	arr = cJSON_AddArrayToObject(o, "any_");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(values[i]));
	return o;
}

void
ahead_look(struct agent *a)
{
	cJSON	*q, *fr, *o;
	char	 after[32], *body, *scheduled = "SCHEDULED";

	if (a->conf.query_seconds <= a->conf.prefetch_seconds ||
	    a->conf.run_once || a->stopping || a->ahead_busy)
		return;		/* the regular polls reach every run in time */
	iso8601_now(after, a->conf.prefetch_seconds);
	q = cJSON_CreateObject();
	fr = cJSON_AddObjectToObject(q, "flow_runs");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(fr, "state"), "type",
	    any_of(&scheduled, 1));
	o = cJSON_AddObjectToObject(fr, "expected_start_time");
	cJSON_AddStringToObject(o, "after_", after);
	cJSON_AddItemToObject(cJSON_AddObjectToObject(q, "work_pools"), "name",
	    any_of(&a->conf.pool, 1));
	if (a->conf.nqueues > 0)
		cJSON_AddItemToObject(cJSON_AddObjectToObject(q,
		    "work_pool_queues"), "name", any_of(a->conf.queues,
		    a->conf.nqueues));
	cJSON_AddStringToObject(q, "sort", "EXPECTED_START_TIME_ASC");
	cJSON_AddNumberToObject(q, "limit", 1);
	body = json_print(q);
	cJSON_Delete(q);
	a->ahead_busy = 1;
	request_send(a->loop, &a->http, &retry_quick, "POST",
	    "/flow_runs/filter", body, on_ahead, a);
	free(body);
}
