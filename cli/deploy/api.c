/*
 * deploy_api.c: pfagent deploy's side of the Prefect API, one blocking
 * call at a time:
 *
 *   GET /work_pools/{pool}                        must exist
 *   GET /work_queues/{its default_queue_id}       its name
 *   GET /deployments/name/{flow}/{name}
 *     404: POST /flows/, POST /deployments/       create
 *     200: PATCH /deployments/{id} with the fields that differ,
 *          DELETE /deployments/{id}/schedules/{sid} for dropped ones
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/deploy/api.h"
#include "cli/deploy/diff.h"
#include "common/json.h"
#include "common/util.h"

/* A CLI waits out a restarting or busy (SQLite 503) server a while. */
static const struct retry_policy deploy_retry = { 250, 4000, 60000 };

static const cJSON *
get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* The "detail" of an error answer, secrets masked; caller frees. */
static char *
answer_detail(const struct deploy_server *srv, const char *body)
{
	cJSON		*j = cJSON_Parse(body ? body : "");
	const cJSON	*d = cJSON_GetObjectItemCaseSensitive(j, "detail");
	char		*text, *out;

	if (cJSON_IsString(d))
		text = xstrdup(d->valuestring);
	else if (d != NULL)
		text = json_print(d);
	else
		text = xasprintf("%.500s", body ? body : "");
	cJSON_Delete(j);
	out = deploy_secrets_redact(srv->secrets, text);
	free(text);
	return out;
}

/*
 * One API call, retried through outages. Returns the status of a final
 * answer: 2xx with the parsed body in *out (when out is not NULL and
 * there is one), 4xx with the server's detail in err. Returns -1 with
 * err when there is no usable answer.
 */
static long
api_answer(const struct deploy_server *srv, const char *method,
    const char *path, const cJSON *body, cJSON **out, cJSON **refusal,
    char *err, size_t errlen)
{
	struct http_resp	 r;
	enum retry_class	 rc;
	char			*text = body ? json_print(body) : NULL, *msg;
	long			 status = -1;

	if (out != NULL)
		*out = NULL;
	if (refusal != NULL)
		*refusal = NULL;
	rc = http_call(srv->http, &deploy_retry, method, path, text, &r);
	free(text);
	switch (rc) {
	case RETRY_OK:
		status = r.status;
		if (out != NULL && r.len > 0 &&
		    (*out = cJSON_Parse(r.body)) == NULL) {
			errorf(err, errlen, "%s %s: the answer is not JSON",
			    method, path);
			status = -1;
		}
		break;
	case RETRY_ANSWER:
		status = r.status;
		if (refusal != NULL && status == 422)
			*refusal = cJSON_Parse(r.body ? r.body : "");
		msg = answer_detail(srv, r.body);
		errorf(err, errlen, "%s", msg);
		free(msg);
		break;
	case RETRY_AUTH:
		errorf(err, errlen, "the API refused the credentials (HTTP "
		    "%ld): check PREFECT_API_KEY or PREFECT_API_AUTH_STRING",
		    r.status);
		break;
	default:
		if (r.status != 0)
			errorf(err, errlen, "%s %s: HTTP %ld", method, path,
			    r.status);
		else
			errorf(err, errlen, "%s %s: %s", method, path,
			    r.error);
		break;
	}
	http_resp_cleanup(&r);
	return status;
}

static long
api(const struct deploy_server *srv, const char *method, const char *path,
    const cJSON *body, cJSON **out, char *err, size_t errlen)
{
	return api_answer(srv, method, path, body, out, NULL, err, errlen);
}

/*
 * A deployment's POST or PATCH, sent again without the inputs an older
 * server refused as unknown (deploy_drop_refused), saying which values
 * that leaves out. body is changed.
 */
static long
api_adapting(const struct deploy_server *srv, const char *method,
    const char *path, cJSON *body, const char *name, cJSON **out,
    char *err, size_t errlen)
{
	cJSON		*refusal, *lost;
	const cJSON	*l;
	long		 st;
	int		 dropped;

	for (int round = 0;; round++) {
		st = api_answer(srv, method, path, body, out, &refusal, err,
		    errlen);
		lost = cJSON_CreateArray();
		dropped = st == 422 && round < 3 ?
		    deploy_drop_refused(body, refusal, lost) : 0;
		cJSON_ArrayForEach(l, lost)
			fprintf(stderr, "pfagent deploy: warning: deployment "
			    "'%s': this server does not take %s (an older "
			    "Prefect): left out\n", name, l->valuestring);
		cJSON_Delete(lost);
		cJSON_Delete(refusal);
		if (dropped == 0)
			return st;
	}
}

/* ------------------------------------------------------------- reading */

/* Deployments name their queue; servers before 3.6 not its id. */
static int
default_queue_name(const struct deploy_server *srv, const char *id,
    struct deploy_target *t, char *err, size_t errlen)
{
	char		*e = http_escape(id), *path;
	cJSON		*q = NULL;
	const char	*name;
	long		 st;

	path = xasprintf("/work_queues/%s", e);
	st = api(srv, "GET", path, NULL, &q, err, errlen);
	if (st == 200 && (name = json_str(q, "name")) != NULL)
		t->default_queue = xstrdup(name);
	cJSON_Delete(q);
	free(path);
	free(e);
	return st == 200 ? 0 : -1;
}

int
deploy_api_pool(const struct deploy_server *srv, struct deploy_target *t,
    char *err, size_t errlen)
{
	const char	*pool = json_str(t->spec, "work_pool_name");
	const char	*type, *q;
	char		*path, *e;
	cJSON		*wp = NULL;
	long		 st;
	int		 rc = -1;

	if (pool == NULL || pool[0] == '\0')
		return errorf(err, errlen, "a work pool is required: set "
		    "work_pool.name");
	e = http_escape(pool);
	path = xasprintf("/work_pools/%s", e);
	st = api(srv, "GET", path, NULL, &wp, err, errlen);
	if (st == 404)
		errorf(err, errlen, "work pool '%s' does not exist, so no "
		    "worker could pick up this deployment's runs: create it "
		    "(pfagent start --pool %s creates it) or fix "
		    "work_pool.name", pool, pool);
	else if (st != 200)
		;	/* err says why */
	else if ((type = json_str(wp, "type")) != NULL &&
	    strcmp(type, "prefect-agent") == 0)
		errorf(err, errlen, "work pool '%s' is of type "
		    "'prefect-agent', which cannot run deployments of a "
		    "prefect.yaml", pool);
	else if ((q = json_str(wp, "default_queue_id")) == NULL)
		rc = 0;
	else
		rc = default_queue_name(srv, q, t, err, errlen);
	cJSON_Delete(wp);
	free(path);
	free(e);
	return rc;
}

int
deploy_api_read(const struct deploy_server *srv, struct deploy_target *t,
    char *err, size_t errlen)
{
	char	*f = http_escape(t->flow), *n = http_escape(t->name), *path;
	long	 st;

	path = xasprintf("/deployments/name/%s/%s", f, n);
	st = api(srv, "GET", path, NULL, &t->current, err, errlen);
	free(path);
	free(f);
	free(n);
	if (st == 404) {
		cJSON_Delete(t->current);
		t->current = NULL;
		return 0;
	}
	if (st == 200 && json_str(t->current, "id") == NULL)
		return errorf(err, errlen, "the deployment read from the API "
		    "has no id");
	return st == 200 ? 0 : -1;
}

/* ------------------------------------------------------------- writing */

int
deploy_api_create(const struct deploy_server *srv,
    const struct deploy_target *t, char **id, char *err, size_t errlen)
{
	cJSON		*body, *flow = NULL, *dep = NULL;
	const char	*fid, *did;
	long		 st;
	int		 rc = -1;

	body = json_strings("name", t->flow, NULL);
	st = api(srv, "POST", "/flows/", body, &flow, err, errlen);
	cJSON_Delete(body);
	if (st != 200 && st != 201)
		goto out;
	if ((fid = json_str(flow, "id")) == NULL) {
		errorf(err, errlen, "POST /flows/: the answer has no id");
		goto out;
	}
	body = cJSON_Duplicate(t->spec, 1);
	cJSON_AddStringToObject(body, "flow_id", fid);
	cJSON_AddNullToObject(body, "path");
	cJSON_AddNullToObject(body, "storage_document_id");
	cJSON_AddNullToObject(body, "infrastructure_document_id");
	st = api_adapting(srv, "POST", "/deployments/", body, t->name, &dep,
	    err, errlen);
	cJSON_Delete(body);
	if (st != 200 && st != 201)
		goto out;
	if ((did = json_str(dep, "id")) == NULL) {
		errorf(err, errlen, "POST /deployments/: the answer has no "
		    "id");
		goto out;
	}
	*id = xstrdup(did);
	rc = 0;
out:
	cJSON_Delete(flow);
	cJSON_Delete(dep);
	return rc;
}

static int
drop_schedules(const struct deploy_server *srv, const char *dep_id,
    const cJSON *ids, char *err, size_t errlen)
{
	const cJSON	*id;
	char		*path, *e;
	long		 st;

	cJSON_ArrayForEach(id, ids) {
		e = http_escape(id->valuestring);
		path = xasprintf("/deployments/%s/schedules/%s", dep_id, e);
		st = api(srv, "DELETE", path, NULL, NULL, err, errlen);
		free(path);
		free(e);
		if (st != 204 && st != 200 && st != 404)	/* 404: gone */
			return -1;
	}
	return 0;
}

/* Sends what differs: the changed fields in one PATCH, schedules aside. */
int
deploy_api_update(const struct deploy_server *srv,
    const struct deploy_target *t, const struct deploy_change *c, size_t n,
    char *err, size_t errlen)
{
	const char	*id = json_str(t->current, "id");
	cJSON		*body = cJSON_CreateObject(), *send = NULL;
	cJSON		*drop = NULL;
	char		*e = http_escape(id), *path;
	int		 first = 0, fields_changed = 0, rc = -1;
	long		 st;

	path = xasprintf("/deployments/%s", e);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(c[i].f->key, "schedules") == 0) {
			deploy_plan_schedules(get(t->spec, "schedules"),
			    get(t->current, "schedules"), &send, &drop,
			    &first);
			continue;
		}
		fields_changed = 1;
		cJSON_AddItemToObject(body, c[i].f->key,
		    cJSON_Duplicate(get(t->spec, c[i].f->key), 1));
	}
	/*
	 * The pool always goes with its queue: a pool alone moves the
	 * deployment to the pool's default queue, a queue alone to a
	 * queue outside any pool. With the pool, the server also checks
	 * the job variables against its schema.
	 */
	cJSON_DeleteItemFromObjectCaseSensitive(body, "work_pool_name");
	cJSON_DeleteItemFromObjectCaseSensitive(body, "work_queue_name");
	cJSON_AddItemToObject(body, "work_pool_name",
	    cJSON_Duplicate(get(t->spec, "work_pool_name"), 1));
	cJSON_AddItemToObject(body, "work_queue_name",
	    cJSON_Duplicate(get(t->spec, "work_queue_name"), 1));
	if (send != NULL) {
		cJSON_AddItemToObject(body, "schedules", send);
		send = NULL;
	}
	if (first && drop_schedules(srv, e, drop, err, errlen) == -1)
		goto out;
	if (fields_changed || get(body, "schedules") != NULL) {
		st = api_adapting(srv, "PATCH", path, body, t->name, NULL, err,
		    errlen);
		if (st != 204 && st != 200)
			goto out;
	}
	if (!first && drop_schedules(srv, e, drop, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	cJSON_Delete(body);
	cJSON_Delete(send);
	cJSON_Delete(drop);
	free(path);
	free(e);
	return rc;
}
