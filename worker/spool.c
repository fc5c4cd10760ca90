/*
 * spool.c: the log lines a dead flow-run process left in its spool
 * (prefect/logspool.h), sent by the worker before the run's Crashed.
 *
 * The batch that was in flight when the process died may already be in
 * Prefect, or land there a moment later (the server goes on with a
 * request whose client died), so it is compared with the run's logs
 * from its first timestamp on (by time and message), again a second
 * later until what Prefect has of it stops changing (at most
 * MAX_LOOKS times), and only what is missing is sent: every line once,
 * not twice. Lines after it are sent as they are. If the comparison
 * cannot be made, everything is sent: twice is better than lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "prefect/api.h"
#include "prefect/logspool.h"
#include "worker/loop.h"
#include "worker/request.h"
#include "worker/worker.h"

#define PAGE		200	/* Prefect's largest page of logs */
#define MAX_LOOKS	5
#define LOOK_AGAIN_MS	1000

static int	ships;		/* in progress: the worker waits for them */

int
spool_outstanding(void)
{
	return ships;
}

struct ship {
	struct agent		*agent;
	char			*id;
	struct logspool_rest	 rest;
	char			**seen;		/* "time|message" of the API's */
	size_t			 nseen;
	int			 offset;
	int			 looks;		/* comparisons made */
	int			 found;		/* unsure lines found last time */
};

/* A line's identity: its time to the millisecond and its message. */
static char *
line_key(const cJSON *entry)
{
	const char	*ts = json_str(entry, "timestamp");
	const char	*msg = json_str(entry, "message");
	double		 t = -1;

	if (ts == NULL || msg == NULL || iso8601_parse(ts, &t) == -1)
		return NULL;
	return xasprintf("%.3f|%s", t, msg);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
post(struct ship *sh, const char *body)
{
	request_send(sh->agent->loop, &sh->agent->http, &retry_patient,
	    "POST", "/logs/", body, NULL, NULL);
}

static void
forget_seen(struct ship *sh)
{
	for (size_t i = 0; i < sh->nseen; i++)
		free(sh->seen[i]);
	free(sh->seen);
	sh->seen = NULL;
	sh->nseen = 0;
	sh->offset = 0;
}

/* Whether Prefect has the line (sh->seen sorted by compared()). */
static int
seen(const struct ship *sh, const cJSON *entry)
{
	char	*k = line_key(entry);
	int	 yes = k != NULL && sh->nseen > 0 && bsearch(&k, sh->seen,
	    sh->nseen, sizeof(char *), key_cmp) != NULL;

	free(k);
	return yes;
}

/* Sends what Prefect lacks of the unsure batch, then the rest; frees. */
static void
finish(struct ship *sh)
{
	cJSON	*missing = cJSON_CreateArray(), *e;
	char	*body;
	int	 kept = 0, total = cJSON_GetArraySize(sh->rest.unsure);

	cJSON_ArrayForEach(e, sh->rest.unsure)
		if (!seen(sh, e)) {
			cJSON_AddItemReferenceToArray(missing, e);
			kept++;
		}
	log_debug("flow run %s: %d of the %d lines in flight when its process "
	    "died were not in Prefect", sh->id, kept, total);
	if (kept > 0) {
		body = json_print(missing);
		post(sh, body);
		free(body);
	}
	cJSON_Delete(missing);
	for (char **b = sh->rest.bodies; b != NULL && *b != NULL; b++)
		post(sh, *b);
	forget_seen(sh);
	logspool_rest_free(&sh->rest);
	free(sh->id);
	free(sh);
	ships--;
}

static void	ask_page(struct ship *);

/* How many of the unsure lines Prefect has. */
static int
unsure_found(struct ship *sh)
{
	cJSON	*e;
	int	 n = 0;

	if (sh->nseen > 0)
		qsort(sh->seen, sh->nseen, sizeof(char *), key_cmp);
	cJSON_ArrayForEach(e, sh->rest.unsure)
		n += seen(sh, e);
	return n;
}

static void
look_again(void *arg)
{
	ask_page(arg);
}

/* One comparison done: send, or look again once the server settled. */
static void
compared(struct ship *sh)
{
	int	 found = unsure_found(sh);

	if (found < cJSON_GetArraySize(sh->rest.unsure) &&
	    ++sh->looks < MAX_LOOKS && (sh->looks == 1 || found != sh->found)) {
		sh->found = found;
		forget_seen(sh);
		loop_timer_add(sh->agent->loop, LOOK_AGAIN_MS, look_again, sh);
		return;
	}
	finish(sh);
}

static void
on_page(struct http_resp *r, enum retry_class rc, void *arg)
{
	struct ship	*sh = arg;
	cJSON		*page = NULL, *e;
	int		 n = 0;

	if (rc != RETRY_OK || r->status != 200 ||
	    (page = cJSON_Parse(r->body)) == NULL || !cJSON_IsArray(page)) {
		log_warnx("flow run %s: cannot read its logs to compare with "
		    "the lines its process left; sending them all", sh->id);
		cJSON_Delete(page);
		forget_seen(sh);	/* nothing seen: every unsure line goes */
		finish(sh);
		return;
	}
	cJSON_ArrayForEach(e, page) {
		char	*k = line_key(e);

		n++;
		if (k == NULL)
			continue;
		sh->seen = xrealloc(sh->seen, (sh->nseen + 1) * sizeof(char *));
		sh->seen[sh->nseen++] = k;
	}
	cJSON_Delete(page);
	if (n == PAGE) {
		sh->offset += PAGE;
		ask_page(sh);
	} else
		compared(sh);
}

/* One page of the run's logs from the unsure batch's first line on. */
static void
ask_page(struct ship *sh)
{
	const char	*since = json_str(cJSON_GetArrayItem(sh->rest.unsure, 0),
	    "timestamp");
	cJSON		*q = cJSON_CreateObject(), *logs, *f;
	char		*body;

	logs = cJSON_AddObjectToObject(q, "logs");
	f = cJSON_AddObjectToObject(logs, "flow_run_id");
	cJSON_AddItemToObject(f, "any_", cJSON_CreateStringArray(
	    (const char *[]){ sh->id }, 1));
	f = cJSON_AddObjectToObject(logs, "timestamp");
	cJSON_AddStringToObject(f, "after_", since ? since : "");
	cJSON_AddStringToObject(q, "sort", "TIMESTAMP_ASC");
	cJSON_AddNumberToObject(q, "limit", PAGE);
	cJSON_AddNumberToObject(q, "offset", sh->offset);
	body = json_print(q);
	request_send(sh->agent->loop, &sh->agent->http, &retry_patient, "POST",
	    "/logs/filter", body, on_page, sh);
	free(body);
	cJSON_Delete(q);
}

void
run_ship_spool(struct agent *a, const char *id)
{
	struct ship	*sh = xcalloc(1, sizeof(*sh));

	ships++;
	logspool_take(a->conf.state_dir, id, LOGS_BATCH_MAX_BYTES, &sh->rest);
	sh->agent = a;
	sh->id = xstrdup(id);
	if (sh->rest.unsure == NULL || json_str(cJSON_GetArrayItem(
	    sh->rest.unsure, 0), "timestamp") == NULL)
		finish(sh);
	else
		ask_page(sh);
}
