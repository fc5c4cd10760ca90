/*
 * executor.c: `pfagent execute`, the child that runs one flow run (our
 * `python -m prefect.engine`). It reads PREFECT__FLOW_RUN_ID, runs the
 * deployment's pull steps, loads the flow module, validates the
 * parameters (bad ones end the run Failed from Pending), proposes
 * RUNNING (waiting out WAIT), calls the flow, ships its logs, and
 * proposes the final state last, once every earlier log line is
 * delivered.
 *
 * Exit status: 0 once a final state was reported (even Failed), so the
 * agent only reports Crashed when something went wrong around the flow.
 * How a run ends early (signals, timeouts) is in executor_stop.c.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "prefect/api.h"
#include "sdk/module.h"
#include "executor/executor.h"
#include "executor/executor_int.h"
#include "executor/workdata.h"
#include "sdk/logship.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "config/cfg.h"
#include "deployments/pull_steps.h"
#include "deployments/refs.h"
#include "common/pyfmt.h"
#include "sdk/run.h"
#include "prefect/contract.h"
#include "prefect/handoff.h"

void
exec_log(void *arg, int level, const char *fmt, ...)
{
	struct exec	*x = arg;
	va_list		 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	logship_push(x->logs, "prefect.flow_runs", level, msg, NULL, NULL);
	free(msg);
}

struct proposal {
	struct exec		*x;
	const char		*tid;
	struct orch_result	*o;
};

/*
 * After an ambiguous failure (5xx, lost connection) the proposal may have
 * landed. Prefect REJECTs a resent duplicate but still counts a resent
 * RUNNING in run_count, so look first: 1 if the run's state is ours.
 */
static int
landed(void *arg)
{
	struct proposal		*pr = arg;
	struct exec		*x = pr->x;
	struct orch_result	*o = pr->o;
	struct http_resp	 r;
	char			*path = api_path("/flow_runs/", x->id, NULL);
	cJSON			*run = NULL;
	const cJSON		*st;
	const char		*s;
	char			 err[200];
	int			 ours = 0;

	if (http_request(&x->http, "GET", path, NULL, &r) == RETRY_OK &&
	    (run = json_parse_answer(r.body, 0, err, sizeof(err))) != NULL &&
	    (st = json_obj(run, "state")) != NULL &&
	    (s = json_str(json_obj(st, "state_details"), "transition_id")) &&
	    strcmp(s, pr->tid) == 0) {
		memset(o, 0, sizeof(*o));
		o->status = ORCH_ACCEPT;
		api_orch_state(o, st);	/* its transition id is pr->tid */
		ours = 1;
	}
	cJSON_Delete(run);
	http_resp_cleanup(&r);
	free(path);
	return ours;
}

/*
 * Proposes a state, riding out API outages with one transition id, so a
 * POST that landed before its answer was lost is never applied twice.
 */
int
exec_propose(struct exec *x, const char *type, const char *name,
    const char *message, int force, struct orch_result *o)
{
	char			 tid[37], err[200], *path, *body, *masked;
	struct proposal		 pr = { x, tid, o };
	struct http_resp	 r;
	enum retry_class	 rc;
	int			 ret = -1;

	/* A state message is shown by Prefect: no secret in it. */
	masked = logship_mask(x->logs, message);
	if (x->local) {
		memset(o, 0, sizeof(*o));
		o->status = ORCH_ACCEPT;
		strlcpy_(o->type, type, sizeof(o->type));
		strlcpy_(o->name, name ? name : "Running", sizeof(o->name));
		strlcpy_(o->message, masked ? masked : "", sizeof(o->message));
		free(masked);
		return 0;
	}
	uuid4(tid);
	path = api_path("/flow_runs/", x->id, "/set_state");
	body = api_set_state_body(x->id, NULL, type, name, masked, force, tid);
	free(masked);
	rc = http_call_look(&x->http, &retry_patient, "POST", path, body,
	    landed, &pr, &r);
	if (rc == RETRY_SETTLED)
		ret = 0;
	else if (rc != RETRY_OK)
		log_error("flow run %s: proposing %s failed: %s", x->id, type,
		    r.status ? r.body : r.error);
	else if (api_parse_orch(r.body, o, err, sizeof(err)) == -1)
		log_error("flow run %s: proposing %s: %s", x->id, type, err);
	else {
		api_orch_adopt_own(o, tid);
		ret = 0;
	}
	http_resp_cleanup(&r);
	free(path);
	free(body);
	return ret;
}

/*
 * Reports a failure to load or prepare the flow, as Crashed; on a run
 * handed over unproved, only once the claim is proved.
 */
static int
crash(struct exec *x, const char *message)
{
	struct orch_result	o;

	if (!x->proved && !exec_prove(x))
		return PF_EXIT_NOT_OURS;
	exec_log(x, PF_LEVEL_ERROR, "%s", message);
	logship_flush(x->logs);
	if (exec_propose(x, "CRASHED", "Crashed", message, 0, &o) == -1)
		return 1;
	strlcpy_(x->api_state, o.type, sizeof(x->api_state));
	strlcpy_(x->final_type, "CRASHED", sizeof(x->final_type));
	exec_log(x, PF_LEVEL_INFO, "Finished in state Crashed('%s')", message);
	return 0;
}

cJSON *
exec_get_json(struct exec *x, const char *prefix, const char *id, char *err,
    size_t errlen)
{
	struct http_resp	 r;
	char			*path = api_path(prefix, id, NULL);
	cJSON			*j = NULL;
	enum retry_class	 rc;

	rc = http_call(&x->http, &retry_patient, "GET", path, NULL, &r);
	if (rc == RETRY_OK)
		j = json_parse_answer(r.body, 0, err, errlen);
	else
		errorf(err, errlen, "GET %s: %s", path, r.status == 404 ?
		    "not found" : r.status ? "HTTP error" : r.error);
	http_resp_cleanup(&r);
	free(path);
	return j;
}

/*
 * Runs the deployment's pull steps (which leave the process in the
 * flow's directory) and builds the entrypoint's module there.
 */
static int
prepare_code(struct exec *x, const struct entrypoint *ep, char *err,
    size_t errlen)
{
	struct template_resolver refs = refs_resolver(&x->http);
	const char	*mb = getenv(PF_ENV_GIT_CACHE_MB);
	char		*root, *state = state_dir_default(), *output;
	struct repo_cache cache;
	struct pull_env	 env = { &refs, &cache, exec_log, x,
	    logship_redact(x->logs) };
	int		 rc;

	root = xasprintf("%s/git", state);
	free(state);
	cache.root = root;
	cache.max_bytes = (uint64_t)(mb ? strtoull(mb, NULL, 10) :
	    2048) * 1024 * 1024;
	rc = pull_steps_run(cJSON_GetObjectItemCaseSensitive(x->deployment,
	    "pull_steps"), &env, &x->pulled, err, errlen);
	free(root);
	if (rc == -1)
		return -1;
	log_debug("flow run %s: pull steps done", x->id);
	if (entrypoint_build(ep, &output, err, errlen) == -1) {
		if (output != NULL && *output != '\0')
			exec_log(x, PF_LEVEL_ERROR, "%s", output);
		free(output);
		return -1;
	}
	if (output != NULL && *output != '\0')	/* the compiler's warnings */
		exec_log(x, PF_LEVEL_WARNING, "%s", output);
	if (output != NULL)
		exec_log(x, PF_LEVEL_INFO, "Built %s from %s", ep->module,
		    ep->file);
	free(output);
	log_debug("flow run %s: module %s up to date", x->id, ep->module);
	return 0;
}

/*
 * Makes the process's configuration resolver here, in the flow's
 * directory (after the pull steps): .dlt/ and the profile of this
 * checkout. Its secrets, those seen so far and every later one, are
 * masked in the run's lines by the logship (the hook). A resolver that
 * cannot be made (a TOML syntax error) is not fatal: the flow's
 * lookups fail with the reason, as dlt raises inside a Python flow.
 */
static void
config_open(struct exec *x)
{
	char		 err[8192], **sv, *state = state_dir_default();
	struct cfg_opts	 o = { .data_home = exec_data_home(&x->pulled,
	    state) };
	struct cfg	*c;
	const struct cfg_workspace *ws;

	free(state);
	c = cfg_process_open(&o, err, sizeof(err));
	if (o.data_home != NULL && c != NULL)
		exec_log(x, PF_LEVEL_INFO, "Local data and pipeline state of "
		    "this checkout: %s (outside the git cache; every commit "
		    "of the repository shares it)", o.data_home);
	free((char *)o.data_home);
	if (c == NULL) {
		x->run.cfg_error = logship_mask(x->logs, err);
		exec_log(x, PF_LEVEL_WARNING, "Configuration could not be "
		    "loaded: %s", x->run.cfg_error);
		return;
	}
	/* Hook first: no secret found in between is missed. */
	cfg_set_secret_hook(c, logship_secret_hook, x->logs);
	sv = cfg_secret_values(c, NULL);
	for (size_t i = 0; sv[i] != NULL; i++)
		logship_secret(x->logs, sv[i]);
	cfg_strv_free(sv);
	x->run.cfg = c;
	ws = cfg_workspace(c);
	exec_log(x, PF_LEVEL_DEBUG, "Configuration from %s%s%s", ws->run_dir,
	    ws->active ? ", workspace profile " : "", ws->active ?
	    ws->profile : "");
}

static void
config_close(struct exec *x)
{
	if (x->run.cfg != NULL)
		cfg_set_secret_hook(x->run.cfg, NULL, NULL);
	x->run.cfg = NULL;
	cfg_process_free();
	free(x->run.cfg_error);
	x->run.cfg_error = NULL;
}

/* Copies the flow's retry settings into the run, as Prefect's engine. */
static void
patch_policy(struct exec *x, const pf_flow_def *def)
{
	const cJSON		*pol = json_obj(x->flow_run, "empirical_policy");
	cJSON			*body = cJSON_CreateObject(), *p;
	struct http_resp	 r;
	char			*s, *path;

	if (x->local) {
		cJSON_Delete(body);
		return;
	}
	p = pol ? cJSON_Duplicate(pol, 1) : cJSON_CreateObject();
	if (cJSON_IsNull(cJSON_GetObjectItem(p, "retries")) ||
	    !cJSON_HasObjectItem(p, "retries")) {
		cJSON_DeleteItemFromObject(p, "retries");
		cJSON_DeleteItemFromObject(p, "retry_delay");
		cJSON_AddNumberToObject(p, "retries", def->retries);
		cJSON_AddNumberToObject(p, "retry_delay",
		    (int)def->retry_delay_seconds);
	}
	cJSON_AddItemToObject(body, "empirical_policy", p);
	if (def->version != NULL)
		cJSON_AddStringToObject(body, "flow_version", def->version);
	s = json_print(body);
	path = api_path("/flow_runs/", x->id, NULL);
	if (http_call(&x->http, &retry_patient, "PATCH", path, s, &r) !=
	    RETRY_OK)
		log_warnx("flow run %s: cannot record its retry policy",
		    x->id);
	http_resp_cleanup(&r);
	free(path);
	free(s);
	cJSON_Delete(body);
}

/* 1: go on and run; 0: the orchestrator said not to (exit quietly). */
static int
enter_running(struct exec *x)
{
	struct orch_result	o;

	for (;;) {
		if (exec_propose(x, "RUNNING", NULL, NULL, 0, &o) == -1)
			return -1;
		switch (o.status) {
		case ORCH_ACCEPT:
			log_debug("flow run %s: Running", x->id);
			return 1;
		case ORCH_WAIT:
			sleep_ms((int64_t)(o.delay_seconds * 1000));
			continue;
		case ORCH_REJECT:
			if (strcmp(o.type, "PENDING") == 0) {
				sleep_ms(200);
				continue;
			}
			exec_log(x, PF_LEVEL_INFO, "Flow run '%s' received "
			    "invalid state transition; ended in state "
			    "%s('%s')", x->run.name, o.name, o.message);
			return 0;
		case ORCH_ABORT:
			exec_log(x, PF_LEVEL_INFO, "Engine execution of flow "
			    "run '%s' aborted by orchestrator: %s", x->id,
			    o.reason);
			return 0;
		}
	}
}

/* Arms (seconds > 0) or disarms the flow attempt's deadline. */
static void
flow_deadline(pf_run *run, double seconds, int *timed_out)
{
	pthread_mutex_lock(&run->mu);
	sdk_run_park_if_stopping(run);
	if (timed_out != NULL)
		*timed_out = run->deadline_ms != 0 &&
		    now_ms() >= run->deadline_ms;
	run->deadline_ms = seconds > 0 ? now_ms() + (int64_t)(seconds *
	    1000) : 0;
	pthread_cond_broadcast(&run->changed);
	pthread_mutex_unlock(&run->mu);
}

/* Calls the flow once; returns the Failed message, or NULL. */
static char *
call_flow(struct exec *x, const pf_flow_def *def, int *timed_out)
{
	char		 secs[64];
	const char	*why, *exc;
	int		 rc;

	*timed_out = 0;
	flow_deadline(&x->run, def->timeout_seconds, NULL);
	rc = def->fn(&x->run);
	flow_deadline(&x->run, 0, timed_out);
	if (*timed_out) {
		/* Whatever it returned: Prefect raises at the deadline. */
		sdk_pyfloat(secs, sizeof(secs), def->timeout_seconds);
		exec_log(x, PF_LEVEL_ERROR, "Flow run exceeded timeout of %s "
		    "second(s)", secs);
		return xasprintf("Flow run exceeded timeout of %s second(s)",
		    secs);
	}
	if (rc == PF_OK && x->run.error == NULL)
		return NULL;
	why = x->run.error ? x->run.error :
	    "the flow returned an error without a message";
	exc = x->run.error_type ? x->run.error_type : "FlowError";
	exec_log(x, PF_LEVEL_ERROR, "Encountered exception during execution: "
	    "%s('%s')", exc, why);
	return xasprintf("Flow run encountered an exception: %s: %s", exc,
	    why);
}

/*
 * A final answer: the run's final type, then the engine's last line.
 * When our proposal was accepted, the line shows the message we sent
 * whole (an answer's is cut at sizeof(o->message)).
 */
int
exec_finished(struct exec *x, const struct orch_result *o, const char *sent)
{
	size_t	 n;
	char	*final;

	strlcpy_(x->final_type, o->type, sizeof(x->final_type));
	strlcpy_(x->api_state, o->type, sizeof(x->api_state));
	if (o->status != ORCH_ACCEPT || sent == NULL)
		sent = o->message;
	n = strlen(sent) * 4 + sizeof(o->name) + 64;
	final = xmalloc(n);
	sdk_state_str(final, n, o->type, o->name, sent);
	exec_log(x, PF_LEVEL_INFO, "Finished in state %s", final);
	free(final);
	return 0;
}

/*
 * Parameters that do not validate end the run Failed straight from
 * Pending, never Running, as Prefect's begin_run: its ERROR line (the
 * exception's text), then Failed with the exception named.
 */
static int
refuse_params(struct exec *x, const char *exc_type, const char *err)
{
	struct orch_result	 o;
	char			*message;
	int			 rc;

	exec_log(x, PF_LEVEL_ERROR, "Validation of flow parameters failed with "
	    "error: %s", err);
	logship_flush(x->logs);
	message = xasprintf("Validation of flow parameters failed with error: "
	    "%s: %s", exc_type, err);
	rc = exec_propose(x, "FAILED", "Failed", message, 0, &o);
	if (rc != -1)
		exec_finished(x, &o, message);
	free(message);
	return rc == -1 ? 1 : 0;
}

/*
 * The worker's claim (prefect/contract.h) is still the run's: checked on
 * the run as read, or on a fresh read when run is NULL. A worker that
 * passed no claim (an older one) is trusted. 0: leave the run alone.
 */
static int
still_ours(struct exec *x, const cJSON *run)
{
	struct claim	 c;
	cJSON		*fresh = NULL;
	char		 err[200], why[160];
	int		 ours;

	if (!x->execute || !claim_from_env(&c))
		return 1;
	if (run == NULL && (run = fresh = exec_get_json(x, "/flow_runs/", x->id,
	    err, sizeof(err))) == NULL) {
		log_error("flow run %s: cannot read it to prove the claim: "
		    "%s", x->id, err);
		return 0;
	}
	if (!(ours = claim_is_ours(run, &c, why, sizeof(why)) == 1))
		log_info("flow run %s: not ours after all (%s); running "
		    "nothing", x->id, why);
	cJSON_Delete(fresh);
	return ours;
}

int
exec_prove(struct exec *x)
{
	int	ours;

	pthread_mutex_lock(&x->prove_mu);
	ours = still_ours(x, NULL);
	if (ours)
		x->proved = 1;
	pthread_mutex_unlock(&x->prove_mu);
	if (!ours) {
		logship_discard(x->logs);
		return 0;
	}
	logship_open(x->logs);
	return 1;
}

/*
 * The logship's gate, asked from its thread before it first sends:
 * pull steps that outlast its batch interval have their lines shown
 * as they go, once the claim is proved. A proof the flow's thread has
 * in flight is waited for, not made twice.
 */
static int
gate_proof(void *arg)
{
	struct exec	*x = arg;
	int		 ours;

	pthread_mutex_lock(&x->prove_mu);
	ours = x->proved || still_ours(x, NULL);
	pthread_mutex_unlock(&x->prove_mu);
	return ours;
}

/* Runs the flow until a final state sticks; returns the exit status. */
static int
run_flow(struct exec *x, const pf_flow_def *def, const char *flow_name)
{
	struct orch_result	 o;
	char			 err[8192], *message;
	const char		*name, *exc_type;
	int			 rc, timed_out, failed, first = 1;

	/* Proved again last thing before the first proposal. */
	if (!exec_prove(x))
		return PF_EXIT_NOT_OURS;
	for (;;) {
		x->run.params = sdk_params_prepare(def, json_obj(x->flow_run,
		    "parameters"), &exc_type, err, sizeof(err));
		if (x->run.params == NULL)
			return refuse_params(x, exc_type, err);
		if ((rc = enter_running(x)) != 1)
			return rc == 0 ? 0 : 1;
		/* Running first, as soon as the module is loaded: the flow's
		 * retry policy (read by the server when it fails) and its
		 * configuration are wanted only by the time it runs. */
		if (first) {
			first = 0;
			patch_policy(x, def);
			config_open(x);
		}
		exec_log(x, PF_LEVEL_INFO, "Beginning flow run '%s' for flow "
		    "'%s'", x->run.name, flow_name);
		message = call_flow(x, def, &timed_out);
		name = timed_out ? "TimedOut" : "Failed";
		logship_flush(x->logs);
		if (!(failed = message != NULL))
			rc = exec_propose(x, "COMPLETED", "Completed", NULL,
			    0, &o);
		else
			rc = exec_propose(x, "FAILED", name, message, 0, &o);
		sdk_run_cleanup(&x->run);
		if (rc == -1) {
			free(message);
			return 1;
		}
		if (strcmp(o.type, "SCHEDULED") == 0) {
			free(message);
			exec_log(x, PF_LEVEL_INFO, "Received non-final state "
			    "'%s' when proposing final state '%s' and will "
			    "attempt to run again...", o.name, failed ? name :
			    "Completed");
			continue;	/* AwaitingRetry: again in-process */
		}
		exec_finished(x, &o, message);
		free(message);
		return 0;
	}
}

/*
 * A flow that calls exit() ends the process where it stands: the lines
 * it logged so far are delivered first (whoever reads the run next
 * records its end: the worker, or `pfagent run`'s supervising parent).
 */
static void
flush_at_exit(void)
{
	struct exec	*x = exec_current;

	if (x != NULL && x->logs != NULL)
		logship_flush(x->logs);
}

/* The run's shared state, then the watchdog; before exec_current is set. */
static void
run_setup(struct exec *x)
{
	static int	registered;

	sdk_run_init(&x->run);
	x->run.stop = &exec_stop_requested;
	x->run.http = x->local ? NULL : &x->http;
	exec_watchdog_start(x);
	if (!registered++)
		atexit(flush_at_exit);
}

static void
exec_cleanup(struct exec *x, struct entrypoint *ep)
{
	exec_current = NULL;
	if (x->watchdog_started) {
		exec_watchdog_stop(x);
		sdk_run_destroy(&x->run);
	}
	config_close(x);
	free(x->start_dir);
	if (x->logs != NULL) {
		logship_flush(x->logs);
		logship_stop(x->logs);
	}
	entrypoint_cleanup(ep);
	cJSON_Delete(x->flow_run);
	cJSON_Delete(x->deployment);
	if (x->shared_final != NULL)
		munmap(x->shared_final, sizeof(x->final_type));
	/* The worker then knows the run's end without reading it. */
	if (x->handoff_fd > 0) {
		handoff_set_final(x->handoff_fd, x->api_state);
		close(x->handoff_fd);
	}
	pull_result_cleanup(&x->pulled);
	http_settings_cleanup(&x->http);
}

/* "<what>: HTTP N <body>" or the transport error, with the URL's hint. */
static void __attribute__((format(printf, 5, 6)))
answer_error(struct exec *x, const struct http_resp *r, char *err,
    size_t errlen, const char *fmt, ...)
{
	va_list	 ap;
	char	*what;

	va_start(ap, fmt);
	what = xvasprintf(fmt, ap);
	va_end(ap);
	if (r->status)
		errorf(err, errlen, "%s: HTTP %ld %.300s%s", what, r->status,
		    r->body ? r->body : "", http_api_url_hint(&x->http));
	else
		errorf(err, errlen, "%s: %s", what, r->error);
	free(what);
}

/*
 * With an API: the flow and a Pending flow run are created, as Prefect's
 * engine does for `python my_flow.py`. Returns the new run or NULL.
 */
static cJSON *
create_flow_run(struct exec *x, const char *flow_name, const cJSON *params,
    char *err, size_t errlen)
{
	struct http_resp	 r;
	cJSON			*body, *flow = NULL, *run = NULL, *st;
	char			*s;

	body = json_strings("name", flow_name, NULL);
	s = json_print(body);
	cJSON_Delete(body);
	/* A person waits: Prefect's client's retries, not an outage's. */
	if (http_call(&x->http, &retry_client, "POST", "/flows/", s, &r) ==
	    RETRY_OK)
		flow = json_parse_answer(r.body, 0, err, errlen);
	else
		answer_error(x, &r, err, errlen, "creating flow '%s'",
		    flow_name);
	free(s);
	http_resp_cleanup(&r);
	if (flow != NULL && json_str(flow, "id") == NULL)
		errorf(err, errlen, "creating flow '%s': the API answered "
		    "without the flow's id", flow_name);
	if (flow == NULL || json_str(flow, "id") == NULL) {
		cJSON_Delete(flow);
		return NULL;
	}
	body = json_strings("flow_id", json_str(flow, "id"), NULL);
	cJSON_AddItemToObject(body, "parameters", params ?
	    cJSON_Duplicate(params, 1) : cJSON_CreateObject());
	st = cJSON_AddObjectToObject(body, "state");
	cJSON_AddStringToObject(st, "type", "PENDING");
	cJSON_AddStringToObject(st, "name", "Pending");
	s = json_print(body);
	cJSON_Delete(body);
	cJSON_Delete(flow);
	if (http_call(&x->http, &retry_client, "POST", "/flow_runs/", s,
	    &r) == RETRY_OK)
		run = json_parse_answer(r.body, 0, err, errlen);
	else
		answer_error(x, &r, err, errlen, "creating a flow run");
	free(s);
	http_resp_cleanup(&r);
	if (run != NULL && json_str(run, "id") == NULL) {
		errorf(err, errlen, "creating a flow run: the API answered "
		    "without the run's id");
		cJSON_Delete(run);
		run = NULL;
	}
	return run;
}

/*
 * `pfagent run`: builds the module here when it is missing or older than
 * its source, as the executor does in a checkout, so a fresh clone runs
 * without `make`. The compiler's messages go to stderr. A module whose
 * source is absent is loaded as it is (entrypoint_load names what is
 * missing).
 */
static int
build_here(const struct entrypoint *ep, char *err, size_t errlen)
{
	char	*output;

	if (access(ep->file, F_OK) == -1)
		return 0;
	if (entrypoint_build(ep, &output, err, errlen) == -1) {
		if (output != NULL && *output != '\0')
			fprintf(stderr, "%s%s", output,
			    output[strlen(output) - 1] == '\n' ? "" : "\n");
		free(output);
		return -1;
	}
	if (output != NULL && *output != '\0')	/* the compiler's warnings */
		fprintf(stderr, "%s%s", output,
		    output[strlen(output) - 1] == '\n' ? "" : "\n");
	if (output != NULL)
		fprintf(stderr, "pfagent run: built %s from %s\n", ep->module,
		    ep->file);
	free(output);
	return 0;
}

int
executor_run(const char *entrypoint, const cJSON *params)
{
	struct exec		 x;
	struct entrypoint	 ep;
	const pf_flow_def	*def;
	const char		*flow_name, *name;
	char			 err[1024];
	int			 rc;
	pid_t			 pid;

	memset(&x, 0, sizeof(x));
	pthread_mutex_init(&x.prove_mu, NULL);
	log_init(LOG_LVL_INFO, "[run]");
	if (entrypoint_parse(entrypoint, &ep, err, sizeof(err)) == -1 ||
	    build_here(&ep, err, sizeof(err)) == -1 ||
	    entrypoint_load(&ep, &def, err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent run: %s\n", err);
		entrypoint_cleanup(&ep);
		return 2;
	}
	flow_name = def->name ? def->name : ep.function;
	if (getenv("PREFECT_API_URL") == NULL) {
		x.local = 1;
		uuid4(x.id_buf);
		x.flow_run = cJSON_CreateObject();
		cJSON_AddItemToObject(x.flow_run, "name", cJSON_CreateString(
		    flow_name));
		cJSON_AddItemToObject(x.flow_run, "parameters", params ?
		    cJSON_Duplicate(params, 1) : cJSON_CreateObject());
		x.id = x.id_buf;
	} else if (http_settings_from_env(&x.http, err, sizeof(err)) == -1 ||
	    (x.flow_run = create_flow_run(&x, flow_name, params, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "pfagent run: %s\n", err);
		exec_cleanup(&x, &ep);
		return 2;
	} else
		x.id = json_str(x.flow_run, "id");
	name = json_str(x.flow_run, "name");
	x.run.id = x.id;
	x.run.name = name ? name : x.id;
	/* The flow runs in a child; this process sees how it ended. */
	if ((pid = exec_fork(&x, err, sizeof(err))) == -1) {
		fprintf(stderr, "pfagent run: %s\n", err);
		exec_cleanup(&x, &ep);
		return 2;
	}
	if (pid > 0) {
		rc = exec_supervise(&x, pid);
		exec_cleanup(&x, &ep);
		return rc;
	}
	exec_signals_start();
	x.logs = x.run.logs = logship_start(x.local ? NULL : &x.http, x.id,
	    x.run.name);
	logship_wrap_stderr(x.logs);
	run_setup(&x);
	exec_current = &x;
	x.run.def = def;
	rc = run_flow(&x, def, flow_name);
	if (rc == 0 && strcmp(x.final_type, "COMPLETED") != 0)
		rc = 1;
	exec_child_done(&x);
	exec_cleanup(&x, &ep);
	return rc;
}

/* The worker's level (prefect/contract.h); debug times every request. */
static enum log_level
exec_log_level(void)
{
	const char	*v = getenv(PF_ENV_LOG_LEVEL);
	enum log_level	 lvl = LOG_LVL_INFO;

	if (v != NULL)
		(void)log_level_parse(v, &lvl);
	return lvl;
}

int
executor_main(void)
{
	struct exec		 x;
	struct entrypoint	 ep;
	const pf_flow_def	*def;
	const char		*dep_id, *flow_name, *name;
	char			 err[1024], *msg;
	int			 rc = 1;

	memset(&x, 0, sizeof(x));
	memset(&ep, 0, sizeof(ep));
	x.handoff_fd = -1;
	pthread_mutex_init(&x.prove_mu, NULL);
	log_init(exec_log_level(), "[executor]");
	exec_signals_start();
	x.execute = 1;
	x.start_dir = getcwd(NULL, 0);
	if ((x.id = getenv(PF_ENV_FLOW_RUN_ID)) == NULL || !*x.id) {
		log_error("PREFECT__FLOW_RUN_ID is not set");
		return 1;
	}
	if (http_settings_from_env(&x.http, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return 1;
	}
	/*
	 * What the worker read as it proved the claim, handed over: no
	 * second read. Its lines wait for the proof before Running (the
	 * logship's gate), so nothing lands on a run that is not ours.
	 */
	if (handoff_take(x.id, &x.flow_run, &x.deployment, &x.handoff_fd) ==
	    -1) {
		if ((x.flow_run = exec_get_json(&x, "/flow_runs/", x.id, err,
		    sizeof(err))) == NULL) {
			log_error("flow run %s: %s", x.id, err);
			goto out;
		}
		/* Nothing, not even a log line, on a run that is not ours. */
		if (!still_ours(&x, x.flow_run)) {
			rc = PF_EXIT_NOT_OURS;
			goto out;
		}
		x.proved = 1;
	}
	name = json_str(x.flow_run, "name");
	x.run.id = x.id;
	x.run.name = name ? name : x.id;
	x.logs = x.run.logs = logship_start(&x.http, x.id, x.run.name);
	if (!x.proved)
		logship_gate(x.logs, gate_proof, &x);
	logship_wrap_stderr(x.logs);
	run_setup(&x);
	exec_current = &x;
	if ((dep_id = json_str(x.flow_run, "deployment_id")) == NULL) {
		rc = crash(&x, "Flow could not be loaded: the flow run has no "
		    "deployment, so pfagent has no entrypoint to run");
		goto out;
	}
	if ((x.deployment == NULL && (x.deployment = exec_get_json(&x,
	    "/deployments/", dep_id, err, sizeof(err))) == NULL) ||
	    entrypoint_parse(json_str(x.deployment,
	    "entrypoint"), &ep, err, sizeof(err)) == -1 ||
	    prepare_code(&x, &ep, err, sizeof(err)) == -1 ||
	    entrypoint_load(&ep, &def, err, sizeof(err)) == -1) {
		msg = xasprintf("Flow could not be loaded: %s", err);
		rc = crash(&x, msg);
		free(msg);
		goto out;
	}
	log_debug("flow run %s: module loaded", x.id);
	flow_name = def->name ? def->name : ep.function;
	x.run.def = def;
	rc = run_flow(&x, def, flow_name);
out:
	exec_cleanup(&x, &ep);
	return rc;
}
