/*
 * task.c: task runs (pf_task_run): the attempts of a task's body, its
 * retries and timeouts, its logs and the words Prefect's engine uses for
 * them; the task run's states move through task_state.c (Prefect's REST
 * API, or the same rules kept locally).
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

#include "prefect/api.h"
#include "sdk/logship.h"
#include "common/util.h"
#include "common/pyfmt.h"
#include "sdk/run.h"
#include "sdk/task.h"

#define PF_EXPORT __attribute__((visibility("default")))

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
		if (sdk_task_propose(run, t, "RUNNING", NULL, NULL, 0, &a, err,
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
			if (sdk_task_propose(run, t, "COMPLETED", "Completed",
			    NULL, 0, &a, err, sizeof(err)) == -1) {
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
		rc = sdk_task_propose(run, t, "FAILED", out == DONE_FAILED ?
		    "Failed" : "TimedOut", message, stopping, &a, err,
		    sizeof(err));
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

	if (pf_stopped(run)) {
		sdk_error_set("the flow run is stopping");
		return NULL;
	}
	if (def == NULL || fn == NULL || sdk_def_version("pf_task_def",
	    def->version, PF_TASK_DEF_VERSION, "PF_TASK_DEF_INIT or PF_TASK",
	    err, sizeof(err)) == -1) {
		static const pf_task_def none = PF_TASK_DEF_INIT(
		    .name = "task");

		if (def == NULL || fn == NULL)
			snprintf(err, sizeof(err), "no task definition or "
			    "function");
		pf_log_error(run, "pf_task_run: %s", err);
		t = task_new(run, &none, key, sizeof(key), dkey, sizeof(dkey));
		set_error(t, "%s", err);
		sdk_error_set(t->error);
		return t;
	}
	t = task_new(run, def, key, sizeof(key), dkey, sizeof(dkey));
	t->parent = run->running;
	if (sdk_task_create(run, t, key, dkey, upstream, err,
	    sizeof(err)) == -1) {
		pf_log_error(run, "%s", err);	/* no task run to log to */
		set_error(t, "%s", err);
		sdk_error_set(t->error);
		return t;
	}
	pthread_mutex_lock(&run->mu);
	sdk_run_park_if_stopping(run);
	run->running = t;
	pthread_mutex_unlock(&run->mu);

	if ((rc = attempts(run, t, fn, arg)) == 0 && !is_final(t->type)) {
		/* The run stopped while the task waited to (re)start. */
		sdk_task_propose(run, t, "FAILED", "Failed", t->message &&
		    *t->message ? t->message : "The flow run stopped before "
		    "the task could run", 1, &(struct answer){ 0 }, err,
		    sizeof(err));
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
	if (strcmp(t->type, "COMPLETED") != 0)
		sdk_error_set(t->error);	/* why, for the flow */
	else {
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

const char *
sdk_task_error(const pf_task *t)
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
			sdk_task_propose(run, t, "CRASHED", "Crashed",
			    crash_message, 1, &a, err, sizeof(err));
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
			sdk_task_propose(run, t, "FAILED", "TimedOut", message,
			    1, &a, err, sizeof(err));
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
