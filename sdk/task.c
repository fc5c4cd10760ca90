/*
 * task.c: task runs (pf_task_run) through Prefect's REST API, one
 * mechanism throughout. POST /task_runs/ creates the run Pending (an
 * upsert on flow run, task key and dynamic key, so resending it is
 * safe); POST /task_runs/{id}/set_state proposes Running, then Completed
 * or Failed, and the server's CoreTaskPolicy applies the retry policy: a
 * Failed proposal with retries left is REJECTed into AwaitingRetry with
 * a scheduled time, and the next Running proposal WAITs until then and
 * is accepted as Retrying. Without an API the same states are kept
 * here, and the same rule decides.
 *
 *	Pending -> Running -+-> Completed
 *	             ^      +-> Failed / TimedOut (retries left?) -> final
 *	             |                       | yes: REJECT
 *	         Retrying <-- (wait) -- AwaitingRetry
 *
 * A task's timeout is a deadline its body observes through pf_stopped
 * and pf_sleep; the executor's watchdog ends the process when a body
 * ignores it (docs/architecture.md, Timeouts).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/api.h"
#include "agent/logship.h"
#include "common/http.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "sdk/pyfmt.h"
#include "sdk/run.h"

#define PF_EXPORT __attribute__((visibility("default")))

/* Prefect validates at most 50 retry delays. */
#define MAX_DELAYS	50

struct pf_task {
	struct pf_task		*next;		/* in run->tasks */
	struct pf_task		*parent;	/* enclosing task in progress */
	const pf_task_def	*def;
	char			 id[40];
	char			*name;		/* "<name>-<dynamic key>" */
	char			 state_id[40];	/* the current state's, or "" */
	char			 type[16];	/* the current state's */
	char			 state_name[64];
	char			*message;	/* the current state's, or NULL */
	char			*error;		/* why it failed; NULL: it did not */
	int64_t			 deadline_ms;	/* armed while its body runs */
	int			 run_count;	/* local mode: Running entries */
	double			 retry_in;	/* AwaitingRetry: seconds to wait */
};

/* The server's answer to a proposal, with what api_parse_orch leaves. */
struct answer {
	struct orch_result	 o;
	char			 state_id[40];
	double			 scheduled_in;	/* seconds, -1: no scheduled time */
};

/* How an attempt of the body ended. */
enum outcome { DONE_OK, DONE_FAILED, DONE_TIMEOUT, DONE_INTERRUPTED };

static const char *
task_name(const pf_task_def *def)
{
	return def->name != NULL && *def->name ? def->name : "task";
}

/* An engine line of the task run, as Prefect's task_run_logger. */
static void
tlog(pf_run *run, const pf_task *t, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
tlog(pf_run *run, const pf_task *t, int level, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	logship_push(run->logs, "prefect.task_runs", level, msg,
	    t->id[0] ? t->id : NULL, t->name);
	free(msg);
}

/* ------------------------------------------------------------ helpers */

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
		strlcpy_(a->o.type, (s = json_str(st, "type")) ? s : "",
		    sizeof(a->o.type));
		strlcpy_(a->o.name, (s = json_str(st, "name")) ? s : "",
		    sizeof(a->o.name));
		strlcpy_(a->o.message, (s = json_str(st, "message")) ? s : "",
		    sizeof(a->o.message));
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

static char *
state_body(const pf_run *run, const pf_task *t, const char *type,
    const char *name, const char *message, int force, const char *tid)
{
	cJSON	*o = cJSON_CreateObject(), *st, *d;
	char	*s;

	st = cJSON_AddObjectToObject(o, "state");
	cJSON_AddStringToObject(st, "type", type);
	if (name != NULL)
		cJSON_AddStringToObject(st, "name", name);
	if (message != NULL)
		cJSON_AddStringToObject(st, "message", message);
	else
		cJSON_AddNullToObject(st, "message");
	cJSON_AddNullToObject(st, "data");
	d = cJSON_AddObjectToObject(st, "state_details");
	cJSON_AddStringToObject(d, "flow_run_id", run->id);
	cJSON_AddStringToObject(d, "task_run_id", t->id);
	cJSON_AddStringToObject(d, "transition_id", tid);
	cJSON_AddBoolToObject(o, "force", force);
	s = json_print(o);
	cJSON_Delete(o);
	return s;
}

/*
 * Proposes a state for the task run; the answer lands in a and in t.
 * Rides out API outages; a resend only after a look (landed).
 */
static int
propose(pf_run *run, pf_task *t, const char *type, const char *name,
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
	body = state_body(run, t, type, name, masked, force, tid);
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

/* Creates the run (Pending), or finds it again after a flow retry. */
static int
create(pf_run *run, pf_task *t, const char *key, const char *dkey,
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

/* ------------------------------------------------------------- a task */

static int
is_final(const char *type)
{
	return !strcmp(type, "COMPLETED") || !strcmp(type, "FAILED") ||
	    !strcmp(type, "CRASHED") || !strcmp(type, "CANCELLED");
}

static void
set_error(pf_task *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_error(pf_task *t, const char *fmt, ...)
{
	va_list	ap;

	free(t->error);
	va_start(ap, fmt);
	t->error = xvasprintf(fmt, ap);
	va_end(ap);
}

/*
 * Proposes Running until accepted: 1 run the body, 0 the task ended
 * (or the run is stopping) without running, -1 an error (t->error set).
 */
static int
enter_running(pf_run *run, pf_task *t)
{
	struct answer	a;
	char		err[512];

	for (;;) {
		if (t->retry_in > 0 && pf_sleep(run, t->retry_in) != PF_OK)
			return 0;
		t->retry_in = 0;
		if (propose(run, t, "RUNNING", NULL, NULL, 0, &a, err,
		    sizeof(err)) == -1) {
			set_error(t, "%s", err);
			return -1;
		}
		switch (a.o.status) {
		case ORCH_ACCEPT:
			return 1;
		case ORCH_WAIT:
			t->retry_in = a.o.delay_seconds > 0 ?
			    a.o.delay_seconds : 0.2;
			continue;
		case ORCH_REJECT:
			if (is_final(a.o.type))
				return 0;
			/* Pending, Paused, Scheduled: ask again shortly. */
			t->retry_in = 1;
			continue;
		case ORCH_ABORT:
			tlog(run, t, PF_LEVEL_ERROR, "Task run was aborted: %s",
			    a.o.reason);
			set_error(t, "Task run was aborted: %s", a.o.reason);
			return -1;
		}
	}
}

/* The engine's "Retry n/N will start ..." wording of a delay. */
static void
describe_delay(char *out, size_t n, const pf_task *t, int attempt)
{
	double	d = sdk_task_base_delay(t->def, attempt);
	char	num[64];

	if (t->def->retry_jitter_factor > 0 && d > 0)
		d = round(t->retry_in * 1000) / 1000;	/* the drawn delay */
	if (d <= 0) {
		snprintf(out, n, "immediately");
		return;
	}
	if (d == floor(d) && !(t->def->retry_jitter_factor > 0))
		snprintf(num, sizeof(num), "%.0f", d);	/* as an int */
	else
		sdk_pyfloat(num, sizeof(num), d);
	snprintf(out, n, "%s second(s) from now", num);
}

/*
 * Calls the body once, with the attempt's deadline armed, its pf_fail
 * (and failed configuration lookups) kept apart from the flow's.
 * Returns how it ended; *why is the reason (owned by the caller) for a
 * failure, *why_type its exception's name (NULL: TaskError).
 */
static enum outcome
call_body(pf_run *run, pf_task *t, pf_task_fn fn, void *arg, char **why,
    const char **why_type)
{
	char		*flow_error = run->error;
	const char	*flow_error_type = run->error_type;
	int64_t		 now, due;
	int		 rc, own, flow_failures = run->cfg_failures;

	run->error = NULL;
	run->error_type = NULL;
	run->cfg_failures = 0;
	pthread_mutex_lock(&run->mu);
	sdk_run_park_if_stopping(run);
	t->deadline_ms = t->def->timeout_seconds > 0 ? now_ms() +
	    (int64_t)(t->def->timeout_seconds * 1000) : 0;
	pthread_cond_broadcast(&run->changed);
	pthread_mutex_unlock(&run->mu);

	rc = fn(run, arg);

	pthread_mutex_lock(&run->mu);
	sdk_run_park_if_stopping(run);
	now = now_ms();
	own = t->deadline_ms != 0 && now >= t->deadline_ms;
	t->deadline_ms = 0;
	due = sdk_run_next_deadline(run);
	pthread_cond_broadcast(&run->changed);
	pthread_mutex_unlock(&run->mu);

	*why = run->error;
	*why_type = run->error_type;
	run->error = flow_error;
	run->error_type = flow_error_type;
	run->cfg_failures = flow_failures;
	if (own)
		return DONE_TIMEOUT;
	if (due != 0 && now >= due)
		return DONE_INTERRUPTED;
	if (rc != PF_OK || *why != NULL) {
		if (*why == NULL)
			*why = xstrdup("the task returned an error without a "
			    "message");
		return DONE_FAILED;
	}
	return DONE_OK;
}

/* Which enclosing scope's deadline passed, as Prefect's exception. */
static char *
interrupting_exception(const pf_run *run, const pf_task *t)
{
	int64_t	now = now_ms();
	char	secs[64], *msg, repr[160];

	for (const pf_task *p = t->parent; p != NULL; p = p->parent)
		if (p->deadline_ms != 0 && now >= p->deadline_ms) {
			sdk_pyfloat(secs, sizeof(secs),
			    p->def->timeout_seconds);
			msg = xasprintf("Scope timed out after %s second(s).",
			    secs);
			sdk_pyrepr(repr, sizeof(repr), msg);
			free(msg);
			return xasprintf("TaskRunTimeoutError(%s)", repr);
		}
	sdk_pyfloat(secs, sizeof(secs), run->def ? run->def->timeout_seconds :
	    0);
	msg = xasprintf("Scope timed out after %s second(s).", secs);
	sdk_pyrepr(repr, sizeof(repr), msg);
	free(msg);
	return xasprintf("FlowRunTimeoutError(%s)", repr);
}

/*
 * Prefect's words for an attempt that failed: the exception as the
 * engine logs it, and the state message.
 */
static void
failure_words(pf_run *run, pf_task *t, enum outcome out, const char *why,
    const char *why_type, char **exc, char **message)
{
	char	secs[64], repr[1200], *r;

	sdk_pyfloat(secs, sizeof(secs), t->def->timeout_seconds);
	switch (out) {
	case DONE_TIMEOUT:
		snprintf(repr, sizeof(repr), "Scope timed out after %s "
		    "second(s).", secs);
		*exc = xasprintf("TaskRunTimeoutError('%s')", repr);
		*message = xasprintf("Task run exceeded timeout of %s "
		    "second(s)", secs);
		break;
	case DONE_INTERRUPTED:
		*exc = interrupting_exception(run, t);
		*message = xasprintf("Task run failed due to timeout: %s",
		    *exc);
		break;
	default:
		r = xmalloc(strlen(why) * 4 + 3);
		sdk_pyrepr(r, strlen(why) * 4 + 3, why);
		*exc = xasprintf("%s(%s)", why_type ? why_type : "TaskError",
		    r);
		*message = xasprintf("Task run encountered an exception: "
		    "%s: %s", why_type ? why_type : "TaskError", why);
		free(r);
		break;
	}
}

/*
 * Runs attempts until a final state sticks. Returns 0 when the task
 * ended by a state (t->type), -1 on an API error (t->error set).
 */
static int
attempts(pf_run *run, pf_task *t, pf_task_fn fn, void *arg)
{
	const pf_task_def	*def = t->def;
	struct answer		 a;
	char			 err[512], when[96];
	char			*why, *exc, *message;
	const char		*why_type;
	enum outcome		 out;
	int			 rc, stopping;

	for (int attempt = 1;; attempt++) {
		if ((rc = enter_running(run, t)) != 1)
			return rc;
		out = call_body(run, t, fn, arg, &why, &why_type);
		if (out == DONE_OK) {
			free(why);
			if (propose(run, t, "COMPLETED", "Completed", NULL, 0,
			    &a, err, sizeof(err)) == -1) {
				set_error(t, "%s", err);
				return -1;
			}
			return 0;
		}
		failure_words(run, t, out, why, why_type, &exc, &message);
		/* What pf_task_error tells the flow if this attempt is the
		 * last: its pf_fail text, or Prefect's timeout message. */
		set_error(t, "%s", out == DONE_FAILED ? why : message);
		free(why);
		/* No retry once the run stops: ask for a plain Failed. */
		stopping = out == DONE_INTERRUPTED || pf_stopped(run);
		rc = propose(run, t, "FAILED", out == DONE_FAILED ? "Failed" :
		    "TimedOut", message, stopping, &a, err, sizeof(err));
		if (rc == 0 && !strcmp(a.o.type, "SCHEDULED")) {
			describe_delay(when, sizeof(when), t, attempt);
			tlog(run, t, PF_LEVEL_INFO, "Task run failed with "
			    "exception: %s - Retry %d/%d will start %s", exc,
			    attempt, def->retries, when);
		} else {
			tlog(run, t, PF_LEVEL_ERROR, "Task run failed with "
			    "exception: %s%s", exc, def->retries > 0 ?
			    " - Retries are exhausted" : "");
			if (out != DONE_FAILED)
				tlog(run, t, PF_LEVEL_ERROR, "%s", message);
		}
		free(exc);
		free(message);
		if (rc == -1) {
			set_error(t, "%s", err);
			return -1;
		}
		if (strcmp(a.o.type, "SCHEDULED") != 0)
			return 0;
	}
}

static pf_task *
task_new(pf_run *run, const pf_task_def *def, char *key, size_t keylen,
    char *dkey, size_t dkeylen)
{
	pf_task	*t = xcalloc(1, sizeof(*t));
	cJSON	*n;
	int	 calls;

	t->def = def;
	sdk_task_key(task_name(def), key, keylen);
	/* As Prefect's dynamic_key_for_task_run: calls of the key so far
	 * in this attempt of the flow run. */
	if (run->dynamic_keys == NULL)
		run->dynamic_keys = cJSON_CreateObject();
	n = cJSON_GetObjectItemCaseSensitive(run->dynamic_keys, key);
	calls = n ? (int)n->valuedouble + 1 : 0;
	if (n)
		cJSON_SetNumberValue(n, calls);
	else
		cJSON_AddNumberToObject(run->dynamic_keys, key, 0);
	snprintf(dkey, dkeylen, "%d", calls);
	t->name = xasprintf("%s-%s", task_name(def), dkey);
	t->next = run->tasks;
	run->tasks = t;		/* now owned by the run */
	return t;
}

PF_EXPORT pf_task *
pf_task_run(pf_run *run, const pf_task_def *def, pf_task_fn fn, void *arg,
    pf_task *const *upstream)
{
	pf_task	*t;
	char	 key[160], dkey[16], err[512], final[1400];
	int	 rc;

	if (pf_stopped(run))
		return NULL;
	if (def == NULL || fn == NULL) {
		static const pf_task_def none = { .name = "task" };

		pf_log_error(run, "pf_task_run: no task definition or "
		    "function");
		t = task_new(run, &none, key, sizeof(key), dkey, sizeof(dkey));
		set_error(t, "no task definition or function");
		return t;
	}
	t = task_new(run, def, key, sizeof(key), dkey, sizeof(dkey));
	t->parent = run->running;
	if (create(run, t, key, dkey, upstream, err, sizeof(err)) == -1) {
		pf_log_error(run, "%s", err);	/* no task run to log to */
		set_error(t, "%s", err);
		return t;
	}
	pthread_mutex_lock(&run->mu);
	sdk_run_park_if_stopping(run);
	run->running = t;
	pthread_mutex_unlock(&run->mu);

	if ((rc = attempts(run, t, fn, arg)) == 0 && !is_final(t->type)) {
		/* The run stopped while the task waited to (re)start. */
		propose(run, t, "FAILED", "Failed", t->message && *t->message ?
		    t->message : "The flow run stopped before the task "
		    "could run", 1, &(struct answer){ 0 }, err, sizeof(err));
	}
	if (t->type[0] && is_final(t->type)) {
		sdk_state_str(final, sizeof(final), t->type, t->state_name,
		    t->message);
		tlog(run, t, strcmp(t->type, "COMPLETED") ? PF_LEVEL_ERROR :
		    PF_LEVEL_INFO, "Finished in state %s", final);
	}
	if (strcmp(t->type, "COMPLETED") != 0 && t->error == NULL)
		set_error(t, "%s", t->message && *t->message ? t->message :
		    t->state_name);
	else if (!strcmp(t->type, "COMPLETED")) {
		free(t->error);
		t->error = NULL;
	}

	pthread_mutex_lock(&run->mu);
	sdk_run_park_if_stopping(run);
	run->running = t->parent;
	pthread_cond_broadcast(&run->changed);
	pthread_mutex_unlock(&run->mu);
	return t;
}

PF_EXPORT int
pf_task_ok(const pf_task *t)
{
	return t != NULL && !strcmp(t->type, "COMPLETED") && t->error == NULL ?
	    PF_OK : PF_ERROR;
}

PF_EXPORT const char *
pf_task_error(const pf_task *t)
{
	if (t == NULL)
		return "the flow run is stopping";
	return t->error ? t->error : "";
}

const char *
sdk_task_name(const pf_task *t)
{
	return t->name;
}

const char *
sdk_task_state(const pf_task *t)
{
	return t->state_name;
}

/* ------------------------------------------------ the executor's side */

/* Locked: pf_log_* may be called from the flow's own threads. */
const char *
sdk_run_task_run_id(pf_run *run, const char **name)
{
	pf_task	*t;

	pthread_mutex_lock(&run->mu);
	t = run->running;
	pthread_mutex_unlock(&run->mu);
	if (t == NULL || !t->id[0])
		t = NULL;
	if (name != NULL)
		*name = t != NULL ? t->name : NULL;
	return t != NULL ? t->id : NULL;
}

int64_t
sdk_run_next_deadline(const pf_run *run)
{
	int64_t	due = run->deadline_ms;

	for (const pf_task *t = run->running; t != NULL; t = t->parent)
		if (t->deadline_ms != 0 && (due == 0 || t->deadline_ms < due))
			due = t->deadline_ms;
	return due;
}

double
sdk_tasks_abandon(pf_run *run, const char *crash_message)
{
	struct answer	 a;
	int64_t		 now = now_ms();
	double		 innermost = 0;
	char		 err[512], final[1400], secs[64];
	char		*exc = NULL, *message;

	/* hard_stop is ours: the chain no longer changes. */
	for (pf_task *t = run->running; t != NULL; t = t->parent) {
		int own = t->deadline_ms != 0 && now >= t->deadline_ms;

		if (crash_message != NULL) {
			tlog(run, t, PF_LEVEL_ERROR, "Crash detected! %s",
			    crash_message);
			propose(run, t, "CRASHED", "Crashed", crash_message, 1,
			    &a, err, sizeof(err));
		} else {
			sdk_pyfloat(secs, sizeof(secs), t->def->timeout_seconds);
			if (own) {
				char	repr[160];

				snprintf(repr, sizeof(repr), "Scope timed out "
				    "after %s second(s).", secs);
				free(exc);
				exc = xasprintf("TaskRunTimeoutError('%s')",
				    repr);
				message = xasprintf("Task run exceeded timeout "
				    "of %s second(s)", secs);
				if (innermost == 0)
					innermost = t->def->timeout_seconds;
			} else {
				if (exc == NULL)
					exc = interrupting_exception(run, t);
				message = xasprintf("Task run failed due to "
				    "timeout: %s", exc);
			}
			tlog(run, t, PF_LEVEL_ERROR, "Task run failed with "
			    "exception: %s", exc);
			tlog(run, t, PF_LEVEL_ERROR, "%s", message);
			propose(run, t, "FAILED", "TimedOut", message, 1, &a,
			    err, sizeof(err));
			free(message);
		}
		sdk_state_str(final, sizeof(final), t->type, t->state_name,
		    t->message);
		tlog(run, t, PF_LEVEL_ERROR, "Finished in state %s", final);
	}
	free(exc);
	return innermost;
}

void
sdk_tasks_free(pf_run *run)
{
	pf_task	*t, *next;

	for (t = run->tasks; t != NULL; t = next) {
		next = t->next;
		free(t->name);
		free(t->message);
		free(t->error);
		free(t);
	}
	run->tasks = NULL;
	run->running = NULL;
	cJSON_Delete(run->dynamic_keys);
	run->dynamic_keys = NULL;
}
