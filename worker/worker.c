/*
 * worker.c: the worker's life in the loop.
 *
 *   start -> sync (read or create the pool, heartbeat) -> poll timer
 *   every heartbeat: sync again          every query interval: poll
 *   poll -> run_claim for each due run while a slot is free
 *   first sync -> prefect.worker.started, the event stream (events.c),
 *     the cancellation polling (cancel.c)
 *   event Scheduled/Late for our pool -> poll now (the claim logic stays
 *     in one place); event Cancelling -> run_cancel
 *   start -> recover.c: the journalled runs of a dead worker are
 *     reconciled before the first claim
 *   SIGTERM/SIGINT -> drain: stop claiming, keep heartbeating and
 *     cancelling, let runs finish for --drain-seconds, then stop what
 *     is left (Crashed, or rescheduled); second signal/SIGQUIT: stop
 *     now; then prefect.worker.stopped, exit
 *
 * Requests never block the loop: a slow API delays its own answer, not
 * the heartbeat or the children's reaping.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "worker/worker.h"
#include "prefect/api.h"
#include "worker/cancel.h"
#include "worker/ecs.h"
#include "worker/emit.h"
#include "worker/events.h"
#include "worker/recover.h"
#include "worker/health.h"
#include "worker/request.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "prefect/contract.h"

static void	sync_start(void *);
static void	poll_start(void *);
static void	await_run(struct agent *, const char *);

/*
 * What the stream brings: a run scheduled (or late) in our pool is
 * claimed by an immediate poll; a Cancelling run of ours is cancelled.
 */
static const char *const stream_events[] = {
	"prefect.flow-run.Scheduled",
	"prefect.flow-run.Late",
	"prefect.flow-run.Cancelling",
	NULL
};

static int64_t
jitter_ms(double seconds, double spread)
{
	double	f = 1.0 + spread * (2 * random_unit() - 1);

	return (int64_t)(seconds * 1000 * f);
}

/* Stops now with code: what runs is stopped, the loop ends. */
static void
worker_fatal(struct agent *a, int code)
{
	a->exit_code = code;
	a->stopping = a->stop_now = 1;
	a->sync_busy = 0;
	run_stop_all(a, 1);
	worker_maybe_done(a);
}

void
worker_fatal_auth(struct agent *a, const char *what)
{
	log_error("%s: the API refused our credentials (401/403); check "
	    "PREFECT_API_KEY or PREFECT_API_AUTH_STRING", what);
	worker_fatal(a, 1);
}

/*
 * The server refused the pool for good (a name it does not take, or
 * one it stores but cannot find again): asking again cannot help.
 */
static void
pool_refused(struct agent *a, const char *what, struct http_resp *r)
{
	log_error("%s work pool '%s': the API answered HTTP %ld %s%s", what,
	    a->conf.pool, r->status, r->body ? r->body : "",
	    http_api_url_hint(&a->http));
	worker_fatal(a, 2);
}

/* The sync chain ends here when the worker stops in between. */
static int
sync_abandoned(struct agent *a)
{
	if (!a->stop_now && !(a->stopping && a->runs == NULL))
		return 0;
	a->sync_busy = 0;
	worker_maybe_done(a);
	return 1;
}

/* One of the worker's own events (started, stopped). */
static void
worker_emit(struct agent *a, const char *event, const char *follows,
    char id[37])
{
	struct emit_worker	w = { a->conf.name, a->pool_id, a->conf.pool };

	emit_send(a->loop, &a->http, emit_event(event, &w, NULL, follows, id));
}

static void
recheck_done(void *arg)
{
	struct agent	*a = arg;

	a->done_timer = NULL;
	worker_maybe_done(a);
}

/*
 * Exits the loop once stopping (or --run-once) has nothing left to do,
 * after the last state proposals and log lines have been delivered.
 */
void
worker_maybe_done(struct agent *a)
{
	int	finished = a->runs == NULL && !a->poll_busy &&
	    a->recovering == 0;

	if (!finished || !(a->stopping || (a->conf.run_once &&
	    a->polls_done > 0)))
		return;
	if (a->started_event[0] != '\0' && !a->stopped_sent) {
		char	id[37];

		a->stopped_sent = 1;
		worker_emit(a, "prefect.worker.stopped", a->started_event, id);
	}
	if (request_outstanding() > 0 || spool_outstanding() > 0) {
		if (a->done_timer == NULL)
			a->done_timer = loop_timer_add(a->loop, 50,
			    recheck_done, a);
		return;
	}
	if (a->conf.run_once && !a->stopping)
		log_info("--run-once: all claimed runs finished");
	cancel_poll_stop(a);
	if (a->drain_timer != NULL)
		loop_timer_cancel(a->loop, a->drain_timer);
	a->drain_timer = NULL;
	loop_stop(a->loop);
}


static void
schedule_poll(struct agent *a, int64_t delay)
{
	if (a->poll_timer != NULL)
		loop_timer_cancel(a->loop, a->poll_timer);
	a->poll_timer = loop_timer_add(a->loop, delay, poll_start, a);
}

void
worker_poll_soon(struct agent *a)
{
	if (a->stopping || a->conf.run_once || !a->synced)
		return;
	if (a->poll_busy)
		a->poll_again = 1;
	else
		schedule_poll(a, 0);
}

void
worker_slot_freed(struct agent *a)
{
	/* Work was left behind for lack of a slot: fetch it now. */
	if (a->more_work && !a->stopping && !a->conf.run_once)
		schedule_poll(a, 0);
	worker_maybe_done(a);
}

/* --- the event stream --- */

static int
serves_queue(const struct agent *a, const char *queue)
{
	if (a->conf.nqueues == 0 || queue == NULL)
		return 1;
	for (int i = 0; i < a->conf.nqueues; i++)
		if (strcmp(a->conf.queues[i], queue) == 0)
			return 1;
	return 0;
}

static void
on_stream_event(struct agent *a, const cJSON *ev)
{
	const char	*name = json_str(ev, "event");
	const char	*run = events_flow_run_id(ev);

	if (name == NULL || run == NULL)
		return;
	if (strcmp(name, "prefect.flow-run.Cancelling") == 0) {
		cancel_on_event(a, run);
		return;
	}
	if (run_is_known(a, run) ||
	    !serves_queue(a, events_related_name(ev, "work-queue")))
		return;
	log_debug("flow run %s: %s: polling now", run, name);
	await_run(a, run);
	worker_poll_soon(a);
}

static void
on_stream(const struct events_msg *m, void *arg)
{
	struct agent	*a = arg;

	switch (m->kind) {
	case EVENTS_UP:
		log_info("events: %s; runs are claimed as they are scheduled",
		    m->text);
		a->events_up = 1;
		a->events_down_logged = 0;
		cancel_poll_schedule(a);
		/* A run scheduled before the subscription took hold. */
		worker_poll_soon(a);
		break;
	case EVENTS_DOWN:
		/* Once per outage at WARN; each failed attempt at DEBUG. */
		if (a->events_up || !a->events_down_logged)
			log_warnx("events: %s; polling takes over until the "
			    "stream is back", m->text);
		else
			log_debug("events: %s", m->text);
		if (m->retry_seconds >= 0)
			log_debug("events: next attempt in %.1f s",
			    m->retry_seconds);
		a->events_down_logged = 1;
		if (a->events_up) {
			a->events_up = 0;
			cancel_poll_schedule(a);
		}
		break;
	case EVENTS_EVENT:
		on_stream_event(a, m->event);
		break;
	}
}

/* Subscribes for the pool's flow-run events (again if its id changed). */
static void
stream_start(struct agent *a)
{
	char			err[256], res[64];
	struct events_spec	spec = { stream_events, res };

	if (a->conf.no_events || a->pool_id[0] == '\0' || (a->events != NULL &&
	    strcmp(a->events_pool_id, a->pool_id) == 0))
		return;
	events_stop(a->events);
	a->events = NULL;
	a->events_up = 0;
	snprintf(res, sizeof(res), "prefect.work-pool.%s", a->pool_id);
	if ((a->events = events_start(a->loop, &a->http, &spec, on_stream, a,
	    err, sizeof(err))) == NULL) {
		log_warnx("events: %s; polling only", err);
		return;
	}
	strlcpy_(a->events_pool_id, a->pool_id, sizeof(a->events_pool_id));
}

/* --- sync: pool, template, heartbeat --- */

static void
on_heartbeat(struct http_resp *r, enum retry_class rc, void *arg)
{
	struct agent	*a = arg;
	int		 first = !a->synced;

	a->sync_busy = 0;
	if (rc == RETRY_AUTH) {
		worker_fatal_auth(a, "heartbeat");
		return;
	}
	if (rc != RETRY_OK) {
		log_warnx("heartbeat failed: %s", r->status ?
		    r->body : r->error);
		return;
	}
	a->synced = 1;
	health_heartbeat_ok();
	stream_start(a);
	if (first) {
		log_info("worker '%s' online in pool '%s'", a->conf.name,
		    a->conf.pool);
		worker_emit(a, "prefect.worker.started", NULL, a->started_event);
		cancel_poll_schedule(a);
		schedule_poll(a, 0);
	}
}

static void
send_heartbeat(struct agent *a)
{
	char	*path = api_path("/work_pools/", a->conf.pool,
	    "/workers/heartbeat");
	char	*body = api_heartbeat_body(a->conf.name,
	    (int)(a->conf.heartbeat_seconds + 0.5));

	request_send(a->loop, &a->http, &retry_quick, "POST", path, body,
	    on_heartbeat, a);
	free(path);
	free(body);
}

static void	on_pool(struct http_resp *, enum retry_class, void *);

static void
on_pool_created(struct http_resp *r, enum retry_class rc, void *arg)
{
	struct agent	*a = arg;

	if (rc == RETRY_AUTH) {
		a->sync_busy = 0;
		worker_fatal_auth(a, "creating the work pool");
		return;
	}
	if (sync_abandoned(a))
		return;
	if (rc == RETRY_OK || r->status == 409) {
		char *path = api_path("/work_pools/", a->conf.pool, NULL);

		if (rc == RETRY_OK)
			log_info("created work pool '%s' (type %s)",
			    a->conf.pool, a->conf.type);
		/* Now it exists: a 404 is the server's last word (on_pool). */
		a->pool_created = 1;
		request_send(a->loop, &a->http, &retry_quick, "GET", path,
		    NULL, on_pool, a);
		free(path);
		return;
	}
	if (rc == RETRY_ANSWER) {
		pool_refused(a, "creating", r);
		return;
	}
	/* Out of retries: the next heartbeat's sync tries again. */
	a->sync_busy = 0;
	log_warnx("cannot create work pool '%s': %s", a->conf.pool,
	    r->status ? r->body : r->error);
}

/* The base job template of the worker's type: Prefect's, or prefect-aws's. */
static cJSON *
base_template(const struct agent *a)
{
	return a->conf.ecs ? ecs_base_job_template() :
	    api_process_base_job_template();
}

static char *
pool_create_body(const struct agent *a)
{
	cJSON	*o;
	char	*s;

	if (!a->conf.ecs)
		return api_pool_create_body(a->conf.pool);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", a->conf.pool);
	cJSON_AddStringToObject(o, "type", "ecs");
	cJSON_AddItemToObject(o, "base_job_template", ecs_base_job_template());
	s = json_print(o);
	cJSON_Delete(o);
	return s;
}

static void
adopt_pool(struct agent *a, cJSON *pool)
{
	const char	*id = json_str(pool, "id");
	const char	*type = json_str(pool, "type");
	cJSON		*tmpl;

	strlcpy_(a->pool_id, id ? id : "", sizeof(a->pool_id));
	if (type != NULL && strcmp(type, a->conf.type) != 0 && !a->synced)
		log_warnx("work pool '%s' has type '%s'; this worker runs its "
		    "flow runs as %s (--type %s)", a->conf.pool, type,
		    a->conf.ecs ? "ECS tasks" : "processes", a->conf.type);
	tmpl = cJSON_DetachItemFromObjectCaseSensitive(pool,
	    "base_job_template");
	cJSON_Delete(a->base_job_template);
	a->base_job_template = tmpl;
	/* Like Prefect's worker: fill an empty template with ours. */
	if (tmpl == NULL || cJSON_GetArraySize(tmpl) == 0) {
		cJSON	*patch = cJSON_CreateObject();
		char	*body, *path;

		cJSON_AddItemToObject(patch, "base_job_template",
		    base_template(a));
		body = json_print(patch);
		path = api_path("/work_pools/", a->conf.pool, NULL);
		request_send(a->loop, &a->http, &retry_quick, "PATCH", path,
		    body, NULL, NULL);
		free(body);
		free(path);
		cJSON_Delete(patch);
		cJSON_Delete(a->base_job_template);
		a->base_job_template = base_template(a);
	}
}

static void
on_pool(struct http_resp *r, enum retry_class rc, void *arg)
{
	struct agent	*a = arg;
	cJSON		*pool;
	char		 err[200];

	if (rc == RETRY_AUTH) {
		a->sync_busy = 0;
		worker_fatal_auth(a, "reading the work pool");
		return;
	}
	if (sync_abandoned(a))
		return;
	if (rc == RETRY_ANSWER && (r->status != 404 || a->pool_created)) {
		pool_refused(a, "reading", r);
		return;
	}
	if (r->status == 404) {
		char *body = pool_create_body(a);

		request_send(a->loop, &a->http, &retry_quick, "POST",
		    "/work_pools/", body, on_pool_created, a);
		free(body);
		return;
	}
	if (rc != RETRY_OK) {
		a->sync_busy = 0;
		log_warnx("cannot read work pool '%s': %s", a->conf.pool,
		    r->error);
		return;
	}
	if ((pool = json_parse_answer(r->body, 0, err, sizeof(err))) == NULL) {
		a->sync_busy = 0;
		log_warnx("reading work pool '%s': %s", a->conf.pool, err);
		return;
	}
	a->pool_created = 0;
	adopt_pool(a, pool);
	cJSON_Delete(pool);
	send_heartbeat(a);
}

static void
sync_start(void *arg)
{
	struct agent	*a = arg;

	loop_timer_add(a->loop, jitter_ms(a->conf.heartbeat_seconds, 0.1),
	    sync_start, a);
	/* Draining runs keep the worker alive in Prefect's eyes. */
	if (a->sync_busy || a->stop_now || (a->stopping && a->runs == NULL))
		return;
	a->sync_busy = 1;
	char *path = api_path("/work_pools/", a->conf.pool, NULL);
	request_send(a->loop, &a->http, &retry_quick, "GET", path, NULL,
	    on_pool, a);
	free(path);
}

/* --- polling --- */

/*
 * The server publishes a state's event before its transaction commits,
 * so the poll an event triggers may not see the run yet: while a run an
 * event announced is missing, poll again after 0.25 s, doubling, a few
 * times; then the regular poll is left to find it (a run scheduled for
 * later, or taken by another worker, is never in the answer).
 */
#define REPOLLS_MAX	4
#define AWAITED_MAX	((int)(sizeof(((struct agent *)0)->awaited) / \
			    sizeof(((struct agent *)0)->awaited[0])))

static void
await_run(struct agent *a, const char *id)
{
	for (int i = 0; i < a->nawaited; i++)
		if (strcmp(a->awaited[i], id) == 0)
			return;
	if (a->nawaited == AWAITED_MAX) {
		memmove(a->awaited[0], a->awaited[1],
		    (size_t)(AWAITED_MAX - 1) * sizeof(a->awaited[0]));
		a->nawaited--;
	}
	strlcpy_(a->awaited[a->nawaited++], id, sizeof(a->awaited[0]));
	a->repolls = 0;
}

static int
in_answer(const cJSON *list, const char *id)
{
	const cJSON	*item;
	const char	*got;

	cJSON_ArrayForEach(item, list)
		if ((got = json_str(json_obj(item, "flow_run"), "id")) != NULL &&
		    strcmp(got, id) == 0)
			return 1;
	return 0;
}

/* After a poll: forgets the announced runs it showed, re-polls for others. */
static void
check_awaited(struct agent *a, const cJSON *list)
{
	int	n = 0;

	for (int i = 0; i < a->nawaited; i++) {
		if (run_is_known(a, a->awaited[i]) ||
		    in_answer(list, a->awaited[i]))
			continue;
		if (n != i)
			memcpy(a->awaited[n], a->awaited[i],
			    sizeof(a->awaited[0]));
		n++;
	}
	a->nawaited = n;
	if (n == 0 || a->stopping || a->conf.run_once ||
	    a->repolls >= REPOLLS_MAX) {
		a->nawaited = 0;
		return;
	}
	log_debug("%d announced run(s) not in the answer yet: polling again",
	    n);
	schedule_poll(a, (int64_t)250 << a->repolls++);
}

static void
on_poll(struct http_resp *r, enum retry_class rc, void *arg)
{
	struct agent	*a = arg;
	cJSON		*list, *item;
	char		 err[200];
	int		 skipped = 0;

	a->poll_busy = 0;
	a->polls_done++;
	if (!a->conf.run_once && !a->stopping)
		schedule_poll(a, a->poll_again ? 0 :
		    jitter_ms(a->conf.query_seconds, 0.1));
	a->poll_again = 0;
	if (rc == RETRY_AUTH) {
		worker_fatal_auth(a, "polling for flow runs");
		return;
	}
	if (r->status == 404) {
		log_warnx("work pool '%s' or one of its queues was not found",
		    a->conf.pool);
		worker_maybe_done(a);
		return;
	}
	if (rc != RETRY_OK) {
		log_warnx("polling for flow runs failed: %s", r->error);
		worker_maybe_done(a);
		return;
	}
	if ((list = json_parse_answer(r->body, 1, err, sizeof(err))) == NULL) {
		log_warnx("polling for flow runs: %s", err);
		worker_maybe_done(a);
		return;
	}
	health_poll_ok();
	cJSON_ArrayForEach(item, list) {
		const cJSON	*fr = json_obj(item, "flow_run");
		const char	*id = json_str(fr, "id");

		if (id == NULL || run_is_known(a, id))
			continue;
		if (a->stopping || (a->conf.limit > 0 &&
		    a->slots_used >= a->conf.limit)) {
			skipped++;
			continue;
		}
		run_claim(a, fr);
	}
	a->more_work = skipped > 0;
	check_awaited(a, list);
	ahead_look(a);
	cJSON_Delete(list);
	worker_maybe_done(a);
}

static void
poll_start(void *arg)
{
	struct agent	*a = arg;
	char		*path, *body;

	a->poll_timer = NULL;
	if (a->poll_busy || a->stopping || !a->synced)
		return;
	if (a->recovering > 0) {
		/* A dead worker's runs first: their slots, their states. */
		schedule_poll(a, 200);
		return;
	}
	if (a->conf.limit > 0 && a->slots_used >= a->conf.limit) {
		/* A freed slot polls at once; meanwhile keep the cadence. */
		a->more_work = 1;
		health_poll_ok();	/* idle by choice, not stuck */
		schedule_poll(a, jitter_ms(a->conf.query_seconds, 0.1));
		return;
	}
	a->poll_busy = 1;
	path = api_path("/work_pools/", a->conf.pool,
	    "/get_scheduled_flow_runs");
	body = api_poll_body(a->conf.queues, a->conf.nqueues,
	    a->conf.prefetch_seconds);
	request_send(a->loop, &a->http, &retry_quick, "POST", path, body,
	    on_poll, a);
	free(path);
	free(body);
}

/* --- signals --- */

/*
 * SIGTERM/SIGINT: drain (no claims; heartbeats and cancellations go on;
 * runs get --drain-seconds to finish, then are stopped). A second one,
 * or SIGQUIT, stops them at once; a third SIGKILLs them.
 */
static void
drain_over(void *arg)
{
	struct agent	*a = arg;

	a->drain_timer = NULL;
	if (a->runs != NULL)
		log_warnx("drain of %g s over: stopping the flow runs still "
		    "going", a->conf.drain_seconds);
	run_stop_all(a, 0);
}

static void
on_signal(int fd, short revents, void *arg)
{
	struct agent			*a = arg;
	struct signalfd_siginfo		 si;

	(void)revents;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP)
		return;
	if (a->stop_now) {
		log_warnx("received %s again: SIGKILL to every flow run now",
		    strsignal((int)si.ssi_signo));
		run_kill_all(a);
		return;
	}
	if (a->stopping || si.ssi_signo == SIGQUIT) {
		log_warnx("received %s: stopping now; every flow run gets "
		    "SIGTERM and ends Crashed", strsignal((int)si.ssi_signo));
		a->stopping = a->stop_now = 1;
		if (a->drain_timer != NULL)
			loop_timer_cancel(a->loop, a->drain_timer);
		a->drain_timer = NULL;
		run_stop_all(a, 1);
		worker_maybe_done(a);
		return;
	}
	a->stopping = 1;
	ecs_detach_all(a);	/* ECS tasks run on their own: left running */
	log_info("received %s: no more claims; draining %d flow run(s) for up "
	    "to %g s, then %s (a second signal stops them now)",
	    strsignal((int)si.ssi_signo), a->slots_used,
	    a->conf.drain_seconds, a->conf.drain_reschedule ?
	    "rescheduling what still runs" : "stopping what still runs");
	a->drain_timer = loop_timer_add(a->loop,
	    (int64_t)(a->conf.drain_seconds * 1000), drain_over, a);
	worker_maybe_done(a);
}

static int
signals_open(void)
{
	sigset_t	set;
	int		fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGHUP);
	/* Children get the default mask back before exec (proc.c). */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

int
worker_main(struct conf *c)
{
	struct agent	a;
	char		err[256];

	memset(&a, 0, sizeof(a));
	a.conf = *c;
	/* Refused here, not by a server answering the same again and again. */
	if (api_name_check("work pool", c->pool, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return 2;
	}
	if (http_settings_from_env(&a.http, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return 2;
	}
	/* The flow runs' executable (prefect/contract.h). */
	if ((a.exe = exe_sibling(PF_FLOW_EXE)) == NULL)
		fatal("cannot find my own executable");
	a.loop = loop_new();
	a.signal_fd = signals_open();
	loop_fd_add(a.loop, a.signal_fd, POLLIN, on_signal, &a);
	if (c->health_port > 0 && (a.health = health_start(&a,
	    c->health_address, c->health_port, err, sizeof(err))) == NULL) {
		log_error("health: %s", err);
		loop_free(a.loop);
		close(a.signal_fd);
		http_settings_cleanup(&a.http);
		free(a.exe);
		return 2;
	}
	log_info("pfagent %s starting: pool '%s', worker '%s', API %s",
	    PFAGENT_VERSION, c->pool, c->name, a.http.api_url);
	recover_start(&a);
	sync_start(&a);
	loop_run(a.loop);
	events_stop(a.events);
	health_stop(a.health);
	log_info("worker '%s' stopped", c->name);
	ecs_agent_cleanup(&a);
	loop_free(a.loop);
	close(a.signal_fd);
	cJSON_Delete(a.base_job_template);
	flow_cache_free(&a);
	http_settings_cleanup(&a.http);
	free(a.exe);
	return a.exit_code;
}
