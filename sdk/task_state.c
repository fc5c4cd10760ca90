/*
 * task_state.c: a task run on Prefect's side, one mechanism throughout.
 * POST /task_runs/ creates the run Pending (an upsert on flow run, task
 * key and dynamic key, so resending it is safe); POST
 * /task_runs/{id}/set_state proposes Running, then Completed or Failed,
 * and the server's CoreTaskPolicy applies the retry policy: a Failed
 * proposal with retries left is REJECTed into AwaitingRetry with a
 * scheduled time, and the next Running proposal WAITs until then and is
 * accepted as Retrying. Without an API the same states are kept here,
 * and the same rule decides. Also the policy a task run is created
 * with (retry delays, jitter) and its key.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prefect/api.h"
#include "sdk/logship.h"
#include "common/http.h"
#include "common/json.h"
#include "common/util.h"
#include "sdk/run.h"
#include "sdk/task.h"

/* Prefect validates at most 50 retry delays. */
#define MAX_DELAYS	50

/* ----------------------------------------------------- the policy */

double
sdk_clamped_poisson(double average, double clamping_factor, double u)
{
	double	k = 1 + clamping_factor, lower_k, lower, upper, lo_rv, up_rv;

	if (average <= 0)
		return 0;
	/* As prefect.utilities.math: the mass between the lower bound and
	 * the median equals the mass between the median and the upper. */
	lower_k = k >= 50 ? 0 : log2(fmax(pow(2, k) / (pow(2, k) - 1), 1e-10));
	upper = average * k;
	lower = fmax(0, average * lower_k);
	up_rv = 1 - exp(-upper / average);
	lo_rv = 1 - exp(-lower / average);
	return -log(fmax(1 - (lo_rv + u * (up_rv - lo_rv)), 1e-10)) * average;
}

static int
uses_list(const pf_task_def *def)
{
	return def->retry_backoff != 0 && def->retry_backoff != 1 &&
	    def->retries > 0;
}

cJSON *
sdk_task_retry_delay(const pf_task_def *def)
{
	cJSON	*list;
	int	 n;

	if (!uses_list(def))
		return cJSON_CreateNumber(def->retry_delay_seconds);
	/* Prefect's exponential_backoff(d) is the backoff 2 case. */
	n = def->retries < MAX_DELAYS ? def->retries : MAX_DELAYS;
	list = cJSON_CreateArray();
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(list, cJSON_CreateNumber(
		    def->retry_delay_seconds * pow(def->retry_backoff, i)));
	return list;
}

double
sdk_task_base_delay(const pf_task_def *def, int n)
{
	int	last;

	if (!uses_list(def))
		return def->retry_delay_seconds;
	/* The final delay repeats, as the server's RetryFailedTasks. */
	last = (def->retries < MAX_DELAYS ? def->retries : MAX_DELAYS) - 1;
	n = n < 1 ? 0 : n - 1;
	return def->retry_delay_seconds * pow(def->retry_backoff,
	    n < last ? n : last);
}

void
sdk_task_key(const char *name, char *out, size_t n)
{
	uint32_t	h = 2166136261u;	/* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	snprintf(out, n, "%s-%08x", name, h);
}

char *
sdk_task_create_body(const pf_task_def *def, const char *name,
    const char *task_key, const char *dynamic_key, const char *flow_run_id,
    pf_task *const *upstream, const char *parent_task_run_id)
{
	cJSON	*o = cJSON_CreateObject(), *pol, *tags, *inputs, *st, *l;
	char	*s;

	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "flow_run_id", flow_run_id);
	cJSON_AddStringToObject(o, "task_key", task_key);
	cJSON_AddStringToObject(o, "dynamic_key", dynamic_key);
	pol = cJSON_AddObjectToObject(o, "empirical_policy");
	cJSON_AddNumberToObject(pol, "retries", def->retries > 0 ?
	    def->retries : 0);
	cJSON_AddItemToObject(pol, "retry_delay", sdk_task_retry_delay(def));
	if (def->retry_jitter_factor > 0)
		cJSON_AddNumberToObject(pol, "retry_jitter_factor",
		    def->retry_jitter_factor);
	else
		cJSON_AddNullToObject(pol, "retry_jitter_factor");
	tags = cJSON_AddArrayToObject(o, "tags");
	for (const char *const *t = def->tags; t != NULL && *t != NULL; t++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(*t));
	/* Upstream links as Prefect records wait_for dependencies. */
	inputs = cJSON_AddObjectToObject(o, "task_inputs");
	if (upstream != NULL && upstream[0] != NULL) {
		l = cJSON_AddArrayToObject(inputs, "wait_for");
		for (pf_task *const *u = upstream; *u != NULL; u++) {
			if (!(*u)->id[0])
				continue;	/* never created */
			cJSON *in = json_strings("input_type", "task_run",
			    "id", (*u)->id, NULL);
			cJSON_AddItemToArray(l, in);
		}
	}
	if (parent_task_run_id != NULL) {
		l = cJSON_AddArrayToObject(inputs, "__parents__");
		cJSON_AddItemToArray(l, json_strings("input_type", "task_run",
		    "id", parent_task_run_id, NULL));
	}
	st = cJSON_AddObjectToObject(o, "state");
	cJSON_AddStringToObject(st, "type", "PENDING");
	cJSON_AddStringToObject(st, "name", "Pending");
	s = json_print(o);
	cJSON_Delete(o);
	return s;
}

/* --------------------------------------------------- the API, resilient */

/* Seconds from now to an ISO-8601 UTC time ("...Z" or "+00:00"). */
static double
seconds_until(const char *iso)
{
	struct tm	 tm;
	struct timespec	 now;
	double		 frac = 0;
	const char	*p;
	int		 n = 0;

	memset(&tm, 0, sizeof(tm));
	if (iso == NULL || sscanf(iso, "%d-%d-%dT%d:%d:%d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6)
		return -1;
	p = iso + n;
	if (*p == '.')
		frac = strtod(p, NULL);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	clock_gettime(CLOCK_REALTIME, &now);
	return (double)(timegm(&tm) - now.tv_sec) + frac -
	    (double)now.tv_nsec / 1e9;
}

/* The state of a TaskRun or OrchestrationResult, into a and t. */
static void
take_state(const cJSON *st, struct answer *a)
{
	const char	*s;

	if (st == NULL)
		return;
	strlcpy_(a->state_id, (s = json_str(st, "id")) ? s : "",
	    sizeof(a->state_id));
	a->scheduled_in = seconds_until(json_str(json_obj(st,
	    "state_details"), "scheduled_time"));
}

static int
parse_answer(const char *body, struct answer *a, char *err, size_t errlen)
{
	cJSON	*j;

	memset(a, 0, sizeof(*a));
	a->scheduled_in = -1;
	if (api_parse_orch(body, &a->o, err, errlen) == -1)
		return -1;
	if ((j = cJSON_Parse(body)) != NULL)
		take_state(json_obj(j, "state"), a);
	cJSON_Delete(j);
	return 0;
}

static void
adopt(pf_task *t, const struct answer *a)
{
	if (!a->o.type[0])
		return;		/* WAIT: the state did not change */
	strlcpy_(t->type, a->o.type, sizeof(t->type));
	strlcpy_(t->state_name, a->o.name, sizeof(t->state_name));
	free(t->message);
	t->message = xstrdup(a->o.message);
	if (a->state_id[0])
		strlcpy_(t->state_id, a->state_id, sizeof(t->state_id));
	t->retry_in = a->scheduled_in > 0 ? a->scheduled_in : 0;
}

struct look {
	pf_run		*run;
	pf_task		*t;
	const char	*tid;
	struct answer	*a;
};

/*
 * After an ambiguous failure the proposal may have landed. The task run
 * is ours alone, so any new state is the outcome of our proposal: ours
 * (its transition id) is an ACCEPT, another (AwaitingRetry) a REJECT.
 */
static int
landed(void *arg)
{
	struct look		*lk = arg;
	struct http_resp	 r;
	char			*path = api_path("/task_runs/", lk->t->id, NULL);
	cJSON			*j = NULL;
	const cJSON		*st;
	const char		*s;
	int			 yes = 0;

	if (http_request(lk->run->http, "GET", path, NULL, &r) == RETRY_OK &&
	    (j = cJSON_Parse(r.body)) != NULL &&
	    (st = json_obj(j, "state")) != NULL &&
	    (s = json_str(st, "id")) != NULL && strcmp(s, lk->t->state_id)) {
		struct answer *a = lk->a;

		memset(a, 0, sizeof(*a));
		take_state(st, a);
		s = json_str(json_obj(st, "state_details"), "transition_id");
		a->o.status = s && !strcmp(s, lk->tid) ? ORCH_ACCEPT :
		    ORCH_REJECT;
		api_orch_state(&a->o, st);
		yes = 1;
	}
	cJSON_Delete(j);
	http_resp_cleanup(&r);
	free(path);
	return yes;
}

/* Without an API: the server's task rules that matter here. */
static void
propose_local(pf_task *t, const char *type, const char *name,
    const char *message, int force, struct answer *a)
{
	const pf_task_def	*def = t->def;

	memset(a, 0, sizeof(*a));
	a->scheduled_in = -1;
	a->o.status = ORCH_ACCEPT;
	strlcpy_(a->o.type, type, sizeof(a->o.type));
	strlcpy_(a->o.name, name, sizeof(a->o.name));
	strlcpy_(a->o.message, message ? message : "", sizeof(a->o.message));
	if (!strcmp(type, "RUNNING")) {
		if (t->run_count++ > 0)
			strlcpy_(a->o.name, !strcmp(t->state_name,
			    "AwaitingRetry") ? "Retrying" : "Rerunning",
			    sizeof(a->o.name));
	} else if (!strcmp(type, "FAILED") && !force &&
	    t->run_count <= def->retries) {
		double d = sdk_task_base_delay(def, t->run_count);

		if (def->retry_jitter_factor > 0 && d > 0)
			d = sdk_clamped_poisson(d, def->retry_jitter_factor,
			    random_unit());
		a->o.status = ORCH_REJECT;
		strlcpy_(a->o.type, "SCHEDULED", sizeof(a->o.type));
		strlcpy_(a->o.name, "AwaitingRetry", sizeof(a->o.name));
		a->scheduled_in = d;
	}
}

int
sdk_task_propose(pf_run *run, pf_task *t, const char *type, const char *name,
    const char *message, int force, struct answer *a, char *err,
    size_t errlen)
{
	char			 tid[37], *path, *body, *masked;
	struct look		 lk = { run, t, tid, a };
	struct http_resp	 r;
	enum retry_class	 rc;
	int			 ret = -1;

	/* A state message is shown by Prefect: no secret in it. */
	masked = logship_mask(run->logs, message);
	if (run->http == NULL) {
		propose_local(t, type, name ? name : "Running", masked, force,
		    a);
		adopt(t, a);
		free(masked);
		return 0;
	}
	uuid4(tid);
	path = api_path("/task_runs/", t->id, "/set_state");
	body = api_set_state_body(run->id, t->id, type, name, masked,
	    force, tid);
	free(masked);
	rc = http_call_look(run->http, &retry_patient, "POST", path, body,
	    landed, &lk, &r);
	if (rc == RETRY_SETTLED)
		ret = 0;
	else if (rc != RETRY_OK)
		errorf(err, errlen, "proposing %s for task run %s: %s", type,
		    t->name, r.status ? r.body : r.error);
	else if (parse_answer(r.body, a, err, errlen) == 0) {
		api_orch_adopt_own(&a->o, tid);
		ret = 0;
	}
	if (ret == 0)
		adopt(t, a);
	http_resp_cleanup(&r);
	free(path);
	free(body);
	return ret;
}

int
sdk_task_create(pf_run *run, pf_task *t, const char *key, const char *dkey,
    pf_task *const *upstream, char *err, size_t errlen)
{
	struct http_resp	 r;
	struct answer		 a;
	cJSON			*j = NULL;
	const char		*s;
	char			*body;
	int			 ret = -1;

	if (run->http == NULL) {
		uuid4(t->id);
		strlcpy_(t->type, "PENDING", sizeof(t->type));
		strlcpy_(t->state_name, "Pending", sizeof(t->state_name));
		return 0;
	}
	body = sdk_task_create_body(t->def, t->name, key, dkey, run->id,
	    upstream, t->parent ? t->parent->id : NULL);
	/* An upsert: a resent POST finds the run the first one made. */
	if (http_call(run->http, &retry_patient, "POST", "/task_runs/", body,
	    &r) != RETRY_OK)
		errorf(err, errlen, "creating task run %s: %s", t->name,
		    r.status ? r.body : r.error);
	else if ((j = json_parse_answer(r.body, 0, err, errlen)) != NULL) {
		if ((s = json_str(j, "id")) == NULL)
			errorf(err, errlen, "creating task run %s: no id in "
			    "the answer", t->name);
		else {
			strlcpy_(t->id, s, sizeof(t->id));
			memset(&a, 0, sizeof(a));
			take_state(json_obj(j, "state"), &a);
			strlcpy_(a.o.type, (s = json_str(j, "state_type")) ?
			    s : "PENDING", sizeof(a.o.type));
			strlcpy_(a.o.name, (s = json_str(j, "state_name")) ?
			    s : "Pending", sizeof(a.o.name));
			adopt(t, &a);
			ret = 0;
		}
	}
	cJSON_Delete(j);
	http_resp_cleanup(&r);
	free(body);
	return ret;
}
