/*
 * emit.c: the worker's events, shaped as Prefect's BaseWorker shapes
 * them: resource prefect.worker.process.<slug(name)>; related resources
 * deployment, flow and flow-run (role = kind), their tags (role tag,
 * sorted), then the work pool.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worker/emit.h"
#include "worker/request.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

char *
emit_slug(const char *name)
{
	size_t	 n = strlen(name), o = 0;
	char	*out = xmalloc(n + 1);
	int	 dash = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		/* "1,000" -> "1000", as python-slugify does. */
		if (c == ',' && i > 0 && i + 1 < n &&
		    isdigit((unsigned char)name[i - 1]) &&
		    isdigit((unsigned char)name[i + 1]))
			continue;
		if (c < 128 && isalnum(c)) {
			if (dash && o > 0)
				out[o++] = '-';
			dash = 0;
			out[o++] = (char)tolower(c);
		} else
			dash = 1;
	}
	out[o] = '\0';
	return out;
}

void
emit_uuid7(char out[37])
{
	struct timespec	 ts;
	uint64_t	 ms;
	char		 r[37], tmp[64];

	/* 48 bits of Unix milliseconds, then version 7 and random bits. */
	uuid4(r);
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	snprintf(tmp, sizeof(tmp), "%08llx-%04llx-7%.3s-%s",
	    (unsigned long long)(ms >> 16), (unsigned long long)(ms & 0xffff),
	    r + 15, r + 19);
	strlcpy_(out, tmp, 37);
}

static cJSON *
resource(const char *id, const char *role, const char *name)
{
	cJSON	*r = cJSON_CreateObject();

	cJSON_AddStringToObject(r, "prefect.resource.id", id);
	if (role != NULL)
		cJSON_AddStringToObject(r, "prefect.resource.role", role);
	if (name != NULL)
		cJSON_AddStringToObject(r, "prefect.resource.name", name);
	return r;
}

static cJSON *
object_resource(const char *kind, const cJSON *obj)
{
	const char	*id = json_str(obj, "id");
	char		*rid;
	cJSON		*r;

	if (id == NULL)
		return NULL;
	rid = xasprintf("prefect.%s.%s", kind, id);
	r = resource(rid, kind, json_str(obj, "name"));
	free(rid);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The tags of the objects, sorted and unique, as tag resources. */
static void
add_tags(cJSON *related, const cJSON *const *objs, int nobjs)
{
	const char	**tags = NULL;
	size_t		  n = 0;
	const cJSON	 *t;

	for (int i = 0; i < nobjs; i++)
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(objs[i],
		    "tags"))
			if (cJSON_IsString(t)) {
				tags = xrealloc(tags, (n + 1) * sizeof(*tags));
				tags[n++] = t->valuestring;
			}
	if (n > 0)
		qsort(tags, n, sizeof(*tags), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char	*id;

		if (i > 0 && strcmp(tags[i], tags[i - 1]) == 0)
			continue;
		id = xasprintf("prefect.tag.%s", tags[i]);
		cJSON_AddItemToArray(related, resource(id, "tag", NULL));
		free(id);
	}
	free(tags);
}

static void
add_run(cJSON *related, const struct emit_run *run)
{
	const cJSON	*objs[] = { run->deployment, run->flow, run->flow_run };
	const char	*kinds[] = { "deployment", "flow", "flow-run" };
	cJSON		*r;
	char		 num[24];

	for (int i = 0; i < 3; i++) {
		if (objs[i] == NULL || (r = object_resource(kinds[i],
		    objs[i])) == NULL)
			continue;
		if (i == 2 && run->executed) {
			snprintf(num, sizeof(num), "%d", (int)run->pid);
			cJSON_AddStringToObject(r,
			    "prefect.infrastructure.identifier", num);
			snprintf(num, sizeof(num), "%d", run->status_code);
			cJSON_AddStringToObject(r,
			    "prefect.infrastructure.status-code", num);
		}
		cJSON_AddItemToArray(related, r);
	}
	add_tags(related, objs, 3);
}

/* An event's id, time and name; the caller adds the rest. */
static cJSON *
new_event(const char *event, char id_out[37])
{
	cJSON	*ev = cJSON_CreateObject();
	char	 occurred[32];

	emit_uuid7(id_out);
	iso8601_now(occurred, 0);
	cJSON_AddStringToObject(ev, "id", id_out);
	cJSON_AddStringToObject(ev, "occurred", occurred);
	cJSON_AddStringToObject(ev, "event", event);
	return ev;
}

/* prefect.<kind>.<slug of name>, named, with the agent's version. */
static cJSON *
agent_resource(const char *kind, const char *name)
{
	char	*slug = emit_slug(name), *rid;
	cJSON	*res;

	rid = xasprintf("prefect.%s.%s", kind, slug);
	res = resource(rid, NULL, name);
	cJSON_AddStringToObject(res, "prefect.version", PFAGENT_VERSION);
	free(rid);
	free(slug);
	return res;
}

static void
finish_event(cJSON *ev, const char *follows)
{
	cJSON_AddObjectToObject(ev, "payload");
	if (follows != NULL && *follows != '\0')
		cJSON_AddStringToObject(ev, "follows", follows);
	else
		cJSON_AddNullToObject(ev, "follows");
}

cJSON *
emit_event(const char *event, const struct emit_worker *w,
    const struct emit_run *run, const char *follows, char id_out[37])
{
	cJSON	*ev = new_event(event, id_out), *res, *related;
	char	*rid;

	res = agent_resource("worker.process", w->name);
	cJSON_AddStringToObject(res, "prefect.worker-type", "process");
	cJSON_AddItemToObject(ev, "resource", res);
	related = cJSON_AddArrayToObject(ev, "related");
	if (run != NULL)
		add_run(related, run);
	if (w->pool_id != NULL && *w->pool_id != '\0') {
		rid = xasprintf("prefect.work-pool.%s", w->pool_id);
		cJSON_AddItemToArray(related, resource(rid, "work-pool",
		    w->pool_name));
		free(rid);
	}
	finish_event(ev, follows);
	return ev;
}

cJSON *
emit_runner_cancelled(const char *runner_name, const struct emit_run *run,
    char id_out[37])
{
	cJSON		*ev = new_event("prefect.runner.cancelled-flow-run",
	    id_out), *related, *r;
	const cJSON	*objs[] = { run->deployment, run->flow, run->flow_run };
	const cJSON	*tagged[] = { run->deployment, run->flow_run };
	const char	*kinds[] = { "deployment", "flow", "flow-run" };

	cJSON_AddItemToObject(ev, "resource", agent_resource("runner",
	    runner_name));
	related = cJSON_AddArrayToObject(ev, "related");
	for (int i = 0; i < 3; i++)
		if (objs[i] != NULL && (r = object_resource(kinds[i],
		    objs[i])) != NULL)
			cJSON_AddItemToArray(related, r);
	/* The runner tags with the deployment's and the run's, not the flow's. */
	add_tags(related, tagged, 2);
	finish_event(ev, NULL);
	return ev;
}

void
emit_send(struct loop *l, const struct http_settings *http, cJSON *event)
{
	cJSON	*batch = cJSON_CreateArray();
	char	*body;

	cJSON_AddItemToArray(batch, event);	/* now owned by batch */
	body = json_print(batch);
	log_debug("emitting %s", json_str(event, "event"));
	/* No trailing slash: POST /events is declared without one. */
	request_send(l, http, &retry_quick, "POST", "/events", body, NULL,
	    NULL);
	free(body);
	cJSON_Delete(batch);
}
