/*
 * run.c: one flow run from claim to release, as Prefect's process worker
 * does it.
 *
 *   CLAIM --PENDING proposal--ACCEPT--> read deployment --> SUBMIT
 *     |  answer lost: GET the run;       |  404: force Cancelled |
 *     |  ours -> claimed, SCHEDULED ->   v                       v
 *     |  resend, else leave it        RELEASED <------- labels, Submitting,
 *     v                                  ^               spawn executor
 *   RELEASED                             |                       |
 *                          (exit 0) <- EXITED <- pidfd <- RUNNING (pid set)
 *                                        |  non-zero: Crashed "Process exited
 *                                        |  with status code: N. <why>"
 *
 * Cancelling (run_cancel, from an event or the polling of cancel.c):
 *   CLAIM/SUBMIT: the chain stops at its next step, before any process,
 *     and the run is forced Cancelled; RUNNING: intent marker, SIGTERM to
 *     the process group, SIGKILL after --cancel-grace-seconds; once the
 *     child is reaped, forced Cancelled "Flow run was cancelled
 *     successfully." (never Crashed), as Prefect's runner does.
 *
 * The slot is held from claim until the child exits or the claim fails.
 * A run is freed only once no request that points at it is in flight.
 * The process side (spawn, reap, the shutdown's stop, adoption of a dead
 * worker's process) is in run_proc.c; struct run in run_int.h.
 */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker/worker.h"
#include "prefect/api.h"
#include "worker/cancel.h"
#include "worker/ecs.h"
#include "worker/emit.h"
#include "worker/journal.h"
#include "worker/metrics.h"
#include "worker/request.h"
#include "worker/run_int.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "prefect/contract.h"


int
run_is_known(const struct agent *a, const char *id)
{
	for (const struct run *r = a->runs; r != NULL; r = r->next)
		if (strcmp(r->id, id) == 0)
			return 1;
	return 0;
}

static void
run_free_if_done(struct run *r)
{
	struct agent	*a = r->agent;

	if (r->step != STEP_RELEASED || r->inflight > 0)
		return;
	for (struct run **pp = &a->runs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	/* Nothing is left to do for it: its record goes, unless the run
	 * had a process and is not known final (recover.c repairs it). */
	if (r->settled || (r->jrec.pid == 0 && r->jrec.infra == NULL))
		journal_remove(a->conf.state_dir, &r->jrec);
	else if (r->jrec.lock_fd != -1)
		log_warnx("flow run %s: not known to be final; its journal "
		    "record stays for the next start to reconcile", r->id);
	jrec_cleanup(&r->jrec);
	if (r->handoff_fd != -1)
		close(r->handoff_fd);
	ecs_task_free(r->ecs);
	cJSON_Delete(r->flow_run);
	cJSON_Delete(r->deployment);
	cJSON_Delete(r->flow);
	cJSON_Delete(r->held_logs);
	free(r->dep_error);
	free(r->flow_name);
	free(r->name);
	free(r->workdir);
	free(r);
	worker_maybe_done(a);
}

void
run_free_slot(struct run *r)
{
	if (!r->holds_slot)
		return;
	r->holds_slot = 0;
	r->agent->slots_used--;
	worker_slot_freed(r->agent);
}

/*
 * Ends a request callback: the request's reference on the run is dropped
 * last, so nothing inside the callback frees the run under it.
 */
void
run_unref(struct run *r)
{
	r->inflight--;
	run_free_if_done(r);
}

/* Sends a request whose answer comes back to this run. */
void
run_request(struct run *r, const struct retry_policy *p, const char *method,
    const char *path, const char *body, request_done_fn fn)
{
	r->inflight++;
	request_send(r->agent->loop, &r->agent->http, p, method, path, body,
	    fn, r);
}

/*
 * Writes the run's record before the step it describes (the claim, the
 * exec), so a worker that dies at any point leaves the run findable.
 * A disk that refuses is warned about; the run goes on without it.
 */
void
run_journal(struct run *r)
{
	char	err[300];

	if (journal_write(r->agent->conf.state_dir, &r->jrec, err,
	    sizeof(err)) == -1)
		log_warnx("flow run %s: journal: %s; it cannot be recovered "
		    "if this worker dies", r->id, err);
}

/*
 * Sends the run's held lines and entry (if any) in one POST /logs/:
 * lines keep the time they were made at, so Prefect shows them as if
 * each had been sent on its own.
 */
static void
run_log_send(struct run *r, cJSON *entry)
{
	cJSON	*arr = r->held_logs ? r->held_logs : cJSON_CreateArray();
	char	*body;

	r->held_logs = NULL;
	if (entry != NULL)
		cJSON_AddItemToArray(arr, entry);
	if (cJSON_GetArraySize(arr) > 0) {
		body = json_print(arr);
		request_send(r->agent->loop, &r->agent->http, &retry_patient,
		    "POST", "/logs/", body, NULL, NULL);
		free(body);
	}
	cJSON_Delete(arr);
}

static cJSON *
log_entry(struct run *r, int level, const char *fmt, va_list ap)
{
	char	*msg = xvasprintf(fmt, ap);
	cJSON	*e = api_log_entry("prefect.flow_runs.worker", level, msg,
	    r->id, NULL);

	free(msg);
	return e;
}

/* A line in the run's own log, as Prefect's worker writes it. */
void
run_log(struct run *r, int level, const char *fmt, ...)
{
	va_list	 ap;
	cJSON	*e;

	va_start(ap, fmt);
	e = log_entry(r, level, fmt, ap);
	va_end(ap);
	run_log_send(r, e);
}

void
run_log_hold(struct run *r, int level, const char *fmt, ...)
{
	va_list	 ap;

	if (r->held_logs == NULL)
		r->held_logs = cJSON_CreateArray();
	va_start(ap, fmt);
	cJSON_AddItemToArray(r->held_logs, log_entry(r, level, fmt, ap));
	va_end(ap);
}

/* --- flows read lately --- */

/*
 * A flow's name cannot change and its tags seldom do: a flow read in
 * the last minute is not read again for the next run of it (the tags
 * only go into the worker's events).
 */
#define FLOW_CACHE_MS	60000
#define FLOW_CACHE_MAX	256

static const cJSON *
flow_cache_get(struct agent *a, const char *id)
{
	const cJSON	*e = cJSON_GetObjectItemCaseSensitive(a->flow_cache, id);

	if (e == NULL || now_ms() - (int64_t)json_num(e, "at", 0) >
	    FLOW_CACHE_MS)
		return NULL;
	return json_obj(e, "flow");
}

static void
flow_cache_put(struct agent *a, const char *id, const cJSON *flow)
{
	cJSON	*e;

	if (id == NULL)
		return;
	if (a->flow_cache == NULL ||
	    cJSON_GetArraySize(a->flow_cache) >= FLOW_CACHE_MAX) {
		cJSON_Delete(a->flow_cache);
		a->flow_cache = cJSON_CreateObject();
	}
	e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "at", (double)now_ms());
	cJSON_AddItemToObject(e, "flow", cJSON_Duplicate(flow, 1));
	cJSON_DeleteItemFromObjectCaseSensitive(a->flow_cache, id);
	cJSON_AddItemToObject(a->flow_cache, id, e);
}

void
flow_cache_free(struct agent *a)
{
	cJSON_Delete(a->flow_cache);
	a->flow_cache = NULL;
}

/* The run's flow (owned by the run from now on). */
static void
run_set_flow(struct run *r, cJSON *flow)
{
	const char	*n = json_str(flow, "name");

	cJSON_Delete(r->flow);
	free(r->flow_name);
	r->flow = flow;
	r->flow_name = n ? xstrdup(n) : NULL;
}

/*
 * Proposes a state for the run. tid NULL means a fresh transition id;
 * done NULL means nobody waits on the answer (failures are only logged).
 */
void
run_set_state(struct run *r, const struct retry_policy *p, const char *type,
    const char *name, const char *msg, int force, const char *tid,
    request_done_fn done)
{
	char	 fresh[37], *path, *body;

	if (tid == NULL) {
		uuid4(fresh);
		tid = fresh;
	}
	path = api_path("/flow_runs/", r->id, "/set_state");
	body = api_set_state_body(r->id, NULL, type, name, msg, force, tid);
	if (done != NULL)
		run_request(r, p, "POST", path, body, done);
	else
		request_send(r->agent->loop, &r->agent->http, p, "POST", path,
		    body, NULL, NULL);
	free(path);
	free(body);
}

/* A final state proposed by the worker is counted once it has landed. */
void
run_propose(struct run *r, const char *type, const char *name, const char *msg,
    int force)
{
	int	final = strcmp(type, "CRASHED") == 0 ||
	    strcmp(type, "CANCELLED") == 0;

	run_set_state(r, &retry_patient, type, name, msg, force, NULL,
	    final ? run_on_final : NULL);
}

void
run_crash(struct run *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	log_warnx("flow run %s: %s", r->id, msg);
	run_log(r, PF_LEVEL_ERROR, "%s", msg);
	run_propose(r, "CRASHED", "Crashed", msg, 0);
	free(msg);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb; (void)flag; (void)f;
	return remove(path);
}

void
run_release(struct run *r)
{
	if (r->step == STEP_RELEASED)
		return;
	r->step = STEP_RELEASED;
	run_log_send(r, NULL);		/* lines held for a step never taken */
	run_free_slot(r);
	if (r->workdir_is_temp && r->workdir != NULL)
		nftw(r->workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	run_free_if_done(r);
}

/* The worker's events about this run (emit.c). */
void
run_emit(struct run *r, const char *event, int executed, int code)
{
	struct agent		*a = r->agent;
	struct emit_worker	 w = { a->conf.name, a->pool_id, a->conf.pool };
	struct emit_run		 er = { r->flow_run, r->deployment, r->flow,
	    executed, r->pgid, code };
	char			 id[37];
	cJSON			*ev;

	ev = emit_event(event, &w, &er, executed ? r->submitted_event : NULL,
	    id);
	if (!executed)
		strlcpy_(r->submitted_event, id, sizeof(r->submitted_event));
	emit_send(a->loop, &a->http, ev);
}

/* --- the outcome --- */

int
run_state_is_final(const char *type)
{
	return type != NULL && (strcmp(type, "COMPLETED") == 0 ||
	    strcmp(type, "FAILED") == 0 || strcmp(type, "CRASHED") == 0 ||
	    strcmp(type, "CANCELLED") == 0);
}

static void
on_final_state(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;
	cJSON		*run;
	const char	*type = NULL;

	if (rc == RETRY_OK && (run = cJSON_Parse(resp->body)) != NULL) {
		type = json_str(json_obj(run, "state"), "type");
		metrics_run_finished(type);
		/* Final, or handed on (AwaitingRetry): nothing to repair. */
		r->settled = type != NULL && (run_state_is_final(type) ||
		    strcmp(type, "SCHEDULED") == 0);
		cJSON_Delete(run);
	} else if (resp->status == 404)
		r->settled = 1;		/* deleted */
	if (type == NULL)
		log_debug("flow run %s: final state unknown", r->id);
	run_unref(r);
}

/*
 * The run is over for this worker: count its final state as the API
 * records it (the executor reports Completed, Failed or Crashed itself
 * and exits 0; the worker reports Crashed and Cancelled).
 */
void
run_count_final(struct run *r)
{
	char	*path = api_path("/flow_runs/", r->id, NULL);

	run_request(r, &retry_patient, "GET", path, NULL, on_final_state);
	free(path);
}

void
run_on_final(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;

	if (rc != RETRY_OK)
		log_warnx("flow run %s: final state not recorded: %s", r->id,
		    resp->status ? resp->body : resp->error);
	run_count_final(r);
	run_unref(r);
}

/* --- cancellation --- */

static void
on_cancelled(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run		*r = arg;
	struct orch_result	 o;
	char			 err[200];

	if (rc != RETRY_OK)
		log_warnx("flow run %s: cannot record Cancelled: %s", r->id,
		    resp->status ? resp->body : resp->error);
	else if (api_parse_orch(resp->body, &o, err, sizeof(err)) == -1)
		log_warnx("flow run %s: recording Cancelled: %s", r->id, err);
	else if (o.status != ORCH_ACCEPT)
		log_warnx("flow run %s: Cancelled not accepted (%s): %s",
		    r->id, api_orch_status_name(o.status), o.reason);
	else {
		log_info("flow run %s (%s): cancelled", r->id, r->name);
		/* A process was stopped: Prefect's runner says so. */
		if (r->pgid > 0) {
			struct emit_run er = { r->flow_run, r->deployment,
			    r->flow, 0, 0, 0 };
			char		id[37];

			emit_send(r->agent->loop, &r->agent->http,
			    emit_runner_cancelled(r->agent->conf.name, &er,
			    id));
		}
	}
	run_count_final(r);
	run_unref(r);
}

/* Forced, as Prefect's worker and runner do: Cancelling -> Cancelled. */
void
run_force_cancelled(struct run *r, const char *msg)
{
	run_set_state(r, &retry_patient, "CANCELLED", "Cancelled", msg, 1, NULL,
	    on_cancelled);
}

/* Claimed, no process yet: it never gets one. */
static void
cancel_unstarted(struct run *r)
{
	log_info("flow run %s (%s): cancelled before its process started",
	    r->id, r->name);
	run_log(r, PF_LEVEL_INFO, "Cancelled pending flow run '%s'", r->id);
	run_force_cancelled(r, "Flow run cancelled by worker (no infrastructure "
	    "found).");
	run_release(r);
}

/* Another run's child now has the pid our group was named after. */
static int
pgid_reused(const struct run *r)
{
	for (const struct run *o = r->agent->runs; o != NULL; o = o->next)
		if (o != r && o->pid == r->pgid)
			return 1;
	return 0;
}

static void
kill_timeout(void *arg)
{
	struct run	*r = arg;

	r->kill_timer = NULL;
	/* The group may outlive its leader; SIGKILL what is left of it. */
	if (r->pgid > 0 && !pgid_reused(r) && kill(-r->pgid, SIGKILL) == 0)
		log_warnx("flow run %s: process group %d still running %g s "
		    "after SIGTERM: sent SIGKILL", r->id, (int)r->pgid,
		    r->kill_grace);
	run_unref(r);		/* the timer's reference */
}

/* SIGKILL to what is left of the group after grace seconds. */
void
run_kill_arm(struct run *r, double grace)
{
	if (r->kill_timer != NULL) {
		loop_timer_cancel(r->agent->loop, r->kill_timer);
		r->inflight--;
	}
	r->kill_grace = grace;
	r->inflight++;		/* held by the timer */
	r->kill_timer = loop_timer_add(r->agent->loop, (int64_t)(grace * 1000),
	    kill_timeout, r);
}

/* After the process is reaped: no SIGKILL if its group is empty. */
void
run_kill_disarm_if_empty(struct run *r)
{
	if (r->kill_timer != NULL && !proc_group_alive(r->pgid)) {
		loop_timer_cancel(r->agent->loop, r->kill_timer);
		r->kill_timer = NULL;
		r->inflight--;	/* the caller releases the run afterwards */
	}
}

static void
kill_start(struct run *r)
{
	struct agent	*a = r->agent;
	char		 err[256];

	/* Tells the executor that this SIGTERM is a cancellation. */
	if (cancel_intent_write(a->conf.state_dir, r->id, err,
	    sizeof(err)) == -1)
		log_warnx("flow run %s: cancel intent: %s", r->id, err);
	log_info("flow run %s (%s): cancelling: SIGTERM to process group %d, "
	    "SIGKILL after %g s", r->id, r->name, (int)r->pgid,
	    a->conf.cancel_grace_seconds);
	run_log(r, PF_LEVEL_INFO, "Worker '%s' cancelling flow run '%s': "
	    "stopping process %d", a->conf.name, r->name, (int)r->pid);
	if (kill(-r->pgid, SIGTERM) == -1 && errno != ESRCH)
		log_warn("kill %d", (int)r->pgid);
	run_kill_arm(r, a->conf.cancel_grace_seconds);
}

/* The cancelled run's process is gone: record Cancelled, never Crashed. */
void
run_finish_cancel(struct run *r)
{
	struct agent	*a = r->agent;

	run_kill_disarm_if_empty(r);
	cancel_intent_remove(a->conf.state_dir, r->id);
	run_log(r, PF_LEVEL_INFO, "Cancelled flow run '%s'", r->name);
	run_force_cancelled(r, "Flow run was cancelled successfully.");
}

void
run_cancel(struct agent *a, const char *id)
{
	struct run	*r;

	for (r = a->runs; r != NULL; r = r->next)
		if (strcmp(r->id, id) == 0)
			break;
	if (r == NULL || r->cancel_requested)
		return;
	switch (r->step) {
	case STEP_CLAIM:
	case STEP_SUBMIT:
		/* A request of the chain is in flight: its callback stops. */
		r->cancel_requested = 1;
		log_info("flow run %s (%s): Cancelling before its process "
		    "started", r->id, r->name);
		break;
	case STEP_RUNNING:
		r->cancel_requested = 1;
		if (r->ecs != NULL)
			ecs_run_cancel(r);
		else
			kill_start(r);
		break;
	case STEP_EXITED:
	case STEP_RELEASED:
		break;
	}
}

cJSON *
run_in_flight_ids(const struct agent *a)
{
	cJSON	*ids = cJSON_CreateArray();

	for (const struct run *r = a->runs; r != NULL; r = r->next)
		if (r->step < STEP_EXITED && !r->cancel_requested)
			cJSON_AddItemToArray(ids, cJSON_CreateString(r->id));
	return ids;
}

/* --- ownership --- */

void
run_claim_info(const struct run *r, struct claim *c)
{
	memcpy(c->claim_tid, r->jrec.claim_tid, sizeof(c->claim_tid));
	memcpy(c->submit_tid, r->jrec.submit_tid, sizeof(c->submit_tid));
	c->run_count = (int)json_num(r->flow_run, "run_count", 0);
}

static int
state_is_ours(const struct run *r, const cJSON *st)
{
	const char	*tid = json_str(json_obj(st, "state_details"),
	    "transition_id");

	return tid != NULL && (strcmp(tid, r->jrec.claim_tid) == 0 ||
	    strcmp(tid, r->jrec.submit_tid) == 0);
}

static void
on_history(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;
	void		(*otherwise)(struct run *) = r->history_next;
	cJSON		*states = NULL, *st;
	const cJSON	*last = NULL;
	const char	*ts, *lts, *type = NULL;
	char		 err[200];

	r->history_next = NULL;
	if (rc != RETRY_OK || (states = json_parse_answer(resp->body, 1, err,
	    sizeof(err))) == NULL)
		log_warnx("flow run %s: cannot read its state history: %s",
		    r->id, rc == RETRY_OK ? err : resp->error);
	else {
		/* The newest state that is not ours (same server: ISO 8601
		 * timestamps of one format compare as strings). */
		cJSON_ArrayForEach(st, states) {
			ts = json_str(st, "timestamp");
			lts = json_str(last, "timestamp");
			if (!state_is_ours(r, st) && ts != NULL &&
			    (last == NULL || (lts != NULL && strcmp(ts, lts) > 0)))
				last = st;
		}
		type = json_str(last, "type");
	}
	if (run_state_is_final(type)) {
		log_info("flow run %s (%s): restoring its %s state, which the "
		    "run's current state no longer shows", r->id, r->name,
		    json_str(last, "name"));
		run_set_state(r, &retry_patient, type, json_str(last, "name"),
		    json_str(last, "message"), 0, NULL, otherwise != NULL ?
		    run_on_final : NULL);
	} else if (otherwise != NULL)
		otherwise(r);
	if (otherwise == NULL)
		run_release(r);
	cJSON_Delete(states);
	run_unref(r);
}

/*
 * The run's current state hides a final state of its history: our
 * claim landed on a run another worker ran since the poll (the server
 * accepts Completed -> Pending without a stored result), or an older
 * server left its current state at our Pending after the run ended
 * (Prefect 3.0). The newest final state not ours is put back, unforced;
 * when there is none, otherwise(r) decides (NULL: release the run, a
 * run still going is left to its worker).
 */
void
run_restore_history(struct run *r, void (*otherwise)(struct run *))
{
	char	*path = api_path("/flow_run_states/?flow_run_id=", r->id, NULL);

	r->history_next = otherwise;
	run_request(r, &retry_patient, "GET", path, NULL, on_history);
	free(path);
}

static void
on_owned(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;
	void		(*next)(struct run *) = r->owned_next;
	struct claim	 c;
	cJSON		*run = NULL;
	char		 err[200], why[160];

	r->owned_next = NULL;
	if (rc == RETRY_AUTH) {
		worker_fatal_auth(r->agent, "reading a claimed flow run");
		run_release(r);
	} else if (rc != RETRY_OK || (run = json_parse_answer(resp->body, 0,
	    err, sizeof(err))) == NULL) {
		/* Unproved: running it could run it twice. */
		log_warnx("flow run %s: cannot read it to prove the claim: %s; "
		    "leaving it", r->id, rc == RETRY_OK ? err : resp->error);
		run_release(r);
	} else {
		run_claim_info(r, &c);
		switch (claim_is_ours(run, &c, why, sizeof(why))) {
		case 1:
			/* The freshest read: what the process is handed. */
			cJSON_Delete(r->flow_run);
			r->flow_run = run;
			run = NULL;
			next(r);
			break;
		case -1:
			log_info("flow run %s (%s): not ours after all (%s)",
			    r->id, r->name, why);
			run_restore_history(r, NULL);
			break;
		default:
			log_info("flow run %s (%s): not ours after all (%s); "
			    "leaving it", r->id, r->name, why);
			run_release(r);
		}
	}
	cJSON_Delete(run);
	run_unref(r);
}

/*
 * The server accepts two workers' claims of one run, and a late claim
 * on a run another worker finished: an ACCEPT proves nothing. Reads the
 * run and goes on with next only if it is still ours (claim_is_ours);
 * otherwise proposes nothing and leaves it.
 */
static void
run_if_owned(struct run *r, void (*next)(struct run *))
{
	char	*path = api_path("/flow_runs/", r->id, NULL);

	r->owned_next = next;
	run_request(r, &retry_patient, "GET", path, NULL, on_owned);
	free(path);
}

static void
left_to_its_owner(struct run *r)
{
	log_info("flow run %s (%s): its process could not prove the claim; "
	    "leaving the run", r->id, r->name);
}

/*
 * The process found the run not ours and ran nothing: if our Submitting
 * displaced the final state of a run another worker finished, put it
 * back; otherwise nothing is ours to write.
 */
void
run_not_ours(struct run *r)
{
	run_if_owned(r, left_to_its_owner);
}

/* --- submission --- */

/* Claimed as the stop arrived, not started: another worker may run it. */
static void
hand_back(struct run *r)
{
	log_info("flow run %s (%s): not started: handed back", r->id,
	    r->name);
	run_set_state(r, &retry_patient, "SCHEDULED", "Scheduled", "Rescheduled: "
	    "the worker is shutting down.", 1, NULL, NULL);
	run_release(r);
}

/* The run is Cancelling (or Cancelled) according to this answer. */
static int
answer_says_cancelled(struct http_resp *resp, enum retry_class rc)
{
	struct orch_result	o;
	char			err[200];

	return rc == RETRY_OK && api_parse_orch(resp->body, &o, err,
	    sizeof(err)) == 0 && o.status != ORCH_ACCEPT &&
	    (strcmp(o.type, "CANCELLING") == 0 ||
	    strcmp(o.type, "CANCELLED") == 0);
}

/* The answer is an ACCEPT of the proposal with this transition id. */
static int
answer_accepts(struct http_resp *resp, enum retry_class rc, const char *tid)
{
	struct orch_result	o;
	char			err[200];

	if (rc != RETRY_OK || api_parse_orch(resp->body, &o, err,
	    sizeof(err)) == -1)
		return 0;
	api_orch_adopt_own(&o, tid);
	return o.status == ORCH_ACCEPT;
}

static void
spawn_owned(struct run *r)
{
	if (r->cancel_requested)
		cancel_unstarted(r);
	else if (!r->agent->stopping)
		run_start(r);
	else
		hand_back(r);
}

static void
on_submitting(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;

	/*
	 * Servers before 3.6.22 ABORT "Submitting", and 3.6.22+ ABORT it
	 * when the run went on meanwhile (another worker's Submitting or
	 * Running): so a refused or unanswered Submitting is looked at
	 * before anything starts. A run cancelled meanwhile is refused
	 * too, with its state: it must not start, even when the event
	 * stream is down.
	 */
	if (r->step == STEP_SUBMIT && (r->cancel_requested ||
	    answer_says_cancelled(resp, rc)))
		cancel_unstarted(r);
	else if (r->step == STEP_SUBMIT && !answer_accepts(resp, rc,
	    r->jrec.submit_tid))
		run_if_owned(r, spawn_owned);
	else if (r->step == STEP_SUBMIT && !r->agent->stopping)
		run_start(r);
	else if (r->step == STEP_SUBMIT)
		hand_back(r);
	run_unref(r);
}

/* FastAPI's 404 for a path it has no route for (a missing run is "Flow
 * run not found"). */
static int
no_such_route(const struct http_resp *resp)
{
	cJSON	*j = resp->status == 404 ? cJSON_Parse(resp->body ?
	    resp->body : "") : NULL;
	int	 yes = j != NULL && json_str(j, "detail") != NULL &&
	    strcmp(json_str(j, "detail"), "Not Found") == 0;

	cJSON_Delete(j);
	return yes;
}

/* After the labels (or without them): Submitting, unless cancelled. */
static void
submit_state(struct run *r)
{
	if (r->cancel_requested)
		cancel_unstarted(r);
	else
		run_set_state(r, &retry_quick, "PENDING", "Submitting", NULL, 0,
		    r->jrec.submit_tid, on_submitting);
}

static void
on_labels(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;

	if (rc != RETRY_OK && no_such_route(resp)) {
		/* Said once; later runs skip the request. */
		if (!r->agent->no_labels_route)
			log_info("the server has no flow-run labels (PATCH "
			    "/flow_runs/{id}/labels: 404, as Prefect 3.0): "
			    "runs go without the worker's labels");
		r->agent->no_labels_route = 1;
	} else if (rc != RETRY_OK)
		log_warnx("flow run %s: cannot set its worker labels: %s",
		    r->id, resp->error);
	submit_state(r);
	run_unref(r);
}

/*
 * Labels first, then Submitting, one after the other as Prefect's worker
 * does: a SQLite-backed server answers a write that races another
 * write of the run with a 503. The "submitting" line waits for the
 * "submitted" one (run_log_hold): one POST /logs/ for both, and none
 * racing the labels.
 */
static void
submit_labels(struct run *r)
{
	struct agent	*a = r->agent;
	cJSON		*labels;
	char		*path, *body;

	if (r->cancel_requested) {
		cancel_unstarted(r);
		return;
	}
	run_log_hold(r, PF_LEVEL_INFO, "Worker '%s' submitting flow run '%s'",
	    a->conf.name, r->id);
	if (a->no_labels_route) {
		submit_state(r);
		return;
	}
	labels = json_strings("prefect.worker.name", a->conf.name,
	    "prefect.worker.type", a->conf.type, "prefect.work-pool.name",
	    a->conf.pool, "prefect.work-pool.id", a->pool_id, NULL);
	body = json_print(labels);
	cJSON_Delete(labels);
	path = api_path("/flow_runs/", r->id, "/labels");
	/* Patient: a run without its worker labels looks orphaned in the
	 * UI, and a busy SQLite server answers 503 for seconds at a time. */
	run_request(r, &retry_patient, "PATCH", path, body, on_labels);
	free(path);
	free(body);
}

/*
 * The claim is proved, the deployment and the flow are read: what the
 * deployment's answer says decides (as Prefect's worker: 404 cancels).
 */
static void
submit(struct run *r)
{
	char	*msg;

	if (r->cancel_requested) {
		cancel_unstarted(r);
		return;
	}
	if (r->agent->stopping) {
		hand_back(r);
		return;
	}
	switch (r->dep_read) {
	case READ_GONE:
		msg = xasprintf("Deployment %s no longer exists, cancelled run.",
		    json_str(r->flow_run, "deployment_id"));
		run_propose(r, "CANCELLED", "Cancelled", msg, 1);
		free(msg);
		run_release(r);
		return;
	case READ_FAILED:
		/* Claimed: it must not stay Pending. */
		run_crash(r, "Failed to submit flow run to infrastructure: "
		    "cannot read deployment %s: %s",
		    json_str(r->flow_run, "deployment_id"), r->dep_error);
		run_release(r);
		return;
	default:
		submit_labels(r);
	}
}

/*
 * The claim landed and what the run needs has been read (both went out
 * together, so the reads cost no time): the claim is proved once, right
 * before the first write that depends on it, as every write after it
 * (labels, Submitting, the process) would be wrong on a run another
 * worker's claim took meanwhile. One proof serves: nothing is read or
 * waited for between it and the labels.
 */
static void
claim_and_reads_done(struct run *r)
{
	if (!r->claimed || r->reads > 0 || r->step != STEP_CLAIM)
		return;
	log_info("flow run %s (%s): claimed", r->id, r->name);
	metrics_run_claimed(json_str(r->flow_run, "expected_start_time"),
	    json_str(r->flow_run, "created"));
	if (r->cancel_requested)
		cancel_unstarted(r);
	else if (r->agent->stopping)
		hand_back(r);
	else {
		r->step = STEP_SUBMIT;
		run_if_owned(r, submit);
	}
}

/* The claim is ACCEPTed (or found ours after a lost answer). */
static void
claimed(struct run *r)
{
	r->claimed = 1;
	claim_and_reads_done(r);
}

static void
on_flow(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;
	cJSON		*flow;
	char		 err[200];

	r->reads--;
	/* The flow's name and tags only label the child and the events:
	 * without them the run goes on. */
	if (rc == RETRY_OK &&
	    (flow = json_parse_answer(resp->body, 0, err, sizeof(err)))) {
		flow_cache_put(r->agent, json_str(r->flow_run, "flow_id"),
		    flow);
		run_set_flow(r, flow);
	}
	claim_and_reads_done(r);
	run_unref(r);
}

static void
on_deployment(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;
	char		 err[200];

	r->reads--;
	if (resp->status == 404)
		r->dep_read = READ_GONE;
	else if (rc == RETRY_OK && (r->deployment = json_parse_answer(
	    resp->body, 0, err, sizeof(err))) != NULL)
		r->dep_read = READ_OK;
	else {
		if (rc == RETRY_AUTH && r->step != STEP_RELEASED)
			worker_fatal_auth(r->agent, "reading a deployment");
		r->dep_read = READ_FAILED;
		r->dep_error = xstrdup(rc == RETRY_OK ? err : resp->error);
	}
	claim_and_reads_done(r);
	run_unref(r);
}

/*
 * Reads the deployment and the flow while the claim is on its way: they
 * are only reads, and the claim then waits for nothing (Prefect's
 * worker reads the deployment first, then claims). A flow read within
 * the cache's lifetime is not read again.
 */
static void
start_reads(struct run *r)
{
	const char	*dep = json_str(r->flow_run, "deployment_id");
	const char	*flow_id = json_str(r->flow_run, "flow_id");
	const cJSON	*cached;
	char		*path;

	if (dep != NULL) {
		path = api_path("/deployments/", dep, NULL);
		r->reads++;
		/* A claimed run rides out an outage rather than crash. */
		run_request(r, &retry_patient, "GET", path, NULL,
		    on_deployment);
		free(path);
	}
	if (flow_id == NULL)
		return;
	if ((cached = flow_cache_get(r->agent, flow_id)) != NULL)
		run_set_flow(r, cJSON_Duplicate(cached, 1));
	else {
		path = api_path("/flows/", flow_id, NULL);
		r->reads++;
		run_request(r, &retry_quick, "GET", path, NULL, on_flow);
		free(path);
	}
}

static void	send_claim(struct run *);
static void	check_claim(void *);

static void
claim_retry_later(struct run *r)
{
	int64_t	wait = retry_delay_ms(&retry_patient, ++r->claim_attempts, -1);

	if (now_ms() - r->claim_started > retry_patient.deadline_ms) {
		log_warnx("flow run %s: claim undecided after %lld s; leaving "
		    "it", r->id, (long long)retry_patient.deadline_ms / 1000);
		run_release(r);
		return;
	}
	r->inflight++;		/* held by the timer */
	loop_timer_add(r->agent->loop, wait, check_claim, r);
}

static void
on_claim_check(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;
	cJSON		*run;
	const cJSON	*st;
	const char	*tid, *type;
	char		 err[200], why[160];
	struct claim	 c;
	int		 ours;

	if (rc == RETRY_AGAIN) {
		claim_retry_later(r);
	} else if (rc != RETRY_OK || (run = json_parse_answer(resp->body, 0,
	    err, sizeof(err))) == NULL) {
		run_release(r);		/* deleted, or unreadable: not ours */
	} else {
		st = json_obj(run, "state");
		tid = json_str(json_obj(st, "state_details"), "transition_id");
		type = json_str(st, "type");
		run_claim_info(r, &c);
		ours = tid != NULL && strcmp(tid, r->jrec.claim_tid) == 0 ?
		    claim_is_ours(run, &c, why, sizeof(why)) : 0;
		if (ours == 1)
			claimed(r);
		else if (ours == -1) {
			log_info("flow run %s (%s): not ours after all (%s)",
			    r->id, r->name, why);
			run_restore_history(r, NULL);
		} else if (type != NULL && strcmp(type, "SCHEDULED") == 0)
			send_claim(r);
		else {
			log_debug("flow run %s: taken by another worker (%s)",
			    r->id, type ? type : "?");
			run_release(r);
		}
		cJSON_Delete(run);
	}
	run_unref(r);
}

/*
 * Resending a claim blindly could move a run that another worker has
 * meanwhile finished back to Pending (Prefect allows Completed -> Pending
 * when no result is stored) and run it twice. Look first.
 */
static void
check_claim(void *arg)
{
	struct run	*r = arg;
	char		*path = api_path("/flow_runs/", r->id, NULL);

	if (r->step == STEP_CLAIM)
		run_request(r, &retry_never, "GET", path, NULL,
		    on_claim_check);
	free(path);
	run_unref(r);		/* the timer's reference */
}

static void
on_pending(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run		*r = arg;
	struct orch_result	 o;
	char			 err[200];

	if (r->step != STEP_CLAIM) {
		/* released meanwhile (a cancelled claim): nothing to do */
	} else if (rc == RETRY_AUTH) {
		worker_fatal_auth(r->agent, "claiming a flow run");
		run_release(r);
	} else if (rc == RETRY_AGAIN) {
		claim_retry_later(r);	/* the answer is lost: look, then act */
	} else if (rc != RETRY_OK ||
	    api_parse_orch(resp->body, &o, err, sizeof(err)) == -1) {
		log_warnx("flow run %s: claim failed: %s", r->id,
		    rc == RETRY_OK ? err : resp->body);
		run_release(r);
	} else {
		api_orch_adopt_own(&o, r->jrec.claim_tid);
		if (o.status == ORCH_ACCEPT && strcmp(o.type, "PENDING") == 0)
			claimed(r);
		else {
			log_debug("flow run %s: not claimed (%s %s): %s",
			    r->id, api_orch_status_name(o.status), o.type,
			    o.reason);
			run_release(r);
		}
	}
	run_unref(r);
}

static void
send_claim(struct run *r)
{
	run_set_state(r, &retry_never, "PENDING", "Pending", NULL, 0, r->jrec.claim_tid,
	    on_pending);
}

/*
 * Claims straight from the poll's answer, before anything else, so the
 * run is still as the poll saw it; the deployment and the flow are read
 * alongside.
 */
void
run_claim(struct agent *a, const cJSON *flow_run)
{
	struct run	*r = xcalloc(1, sizeof(*r));
	const char	*name;

	r->agent = a;
	r->pidfd = -1;
	r->handoff_fd = -1;
	r->flow_run = cJSON_Duplicate(flow_run, 1);
	strlcpy_(r->id, json_str(flow_run, "id"), sizeof(r->id));
	name = json_str(flow_run, "name");
	r->name = xstrdup(name ? name : r->id);
	r->holds_slot = 1;
	a->slots_used++;
	r->next = a->runs;
	a->runs = r;
	r->step = STEP_CLAIM;
	r->claim_started = now_ms();
	jrec_init(&r->jrec, r->id, r->name, a->http.api_url);
	uuid4(r->jrec.claim_tid);
	uuid4(r->jrec.submit_tid);
	run_journal(r);
	send_claim(r);
	start_reads(r);
}
