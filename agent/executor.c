/*
 * executor.c: `pfagent execute`, the child that runs one flow run (our
 * `python -m prefect.engine`). It reads PREFECT__FLOW_RUN_ID, runs the
 * deployment's pull steps, loads the flow module, proposes RUNNING
 * (waiting out WAIT), calls the flow, ships its logs, and proposes the
 * final state last, once every earlier log line is delivered.
 *
 * Exit status: 0 once a final state was reported (even Failed), so the
 * agent only reports Crashed when something went wrong around the flow.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/api.h"
#include "agent/entrypoint.h"
#include "agent/executor.h"
#include "agent/logship.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "deployments/pull_steps.h"
#include "deployments/refs.h"
#include "sdk/run.h"

struct exec {
	int			 local;		/* no API: accept every state */
	char			 final_type[16];
	char			 id_buf[40];
	struct http_settings	 http;
	const char		*id;
	cJSON			*flow_run;
	cJSON			*deployment;
	struct logship		*logs;
	struct pull_result	 pulled;	/* holds the code's checkout */
	pf_run			 run;
};

static volatile sig_atomic_t	 stop_requested;
static struct exec		*the_exec;	/* for the signal thread */

/* A line of the run's logs; arg is the struct exec (a git_log_fn). */
static void
elog(void *arg, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
elog(void *arg, int level, const char *fmt, ...)
{
	struct exec	*x = arg;
	va_list		 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	logship_push(x->logs, "prefect.flow_runs", level, msg, NULL);
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
		strlcpy_(o->type, (s = json_str(st, "type")) ? s : "",
		    sizeof(o->type));
		strlcpy_(o->name, (s = json_str(st, "name")) ? s : "",
		    sizeof(o->name));
		strlcpy_(o->message, (s = json_str(st, "message")) ? s : "",
		    sizeof(o->message));
		strlcpy_(o->transition_id, pr->tid, sizeof(o->transition_id));
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
static int
propose(struct exec *x, const char *type, const char *name,
    const char *message, int force, struct orch_result *o)
{
	char			 tid[37], err[200], *path, *body;
	struct proposal		 pr = { x, tid, o };
	struct http_resp	 r;
	enum retry_class	 rc;
	int			 ret = -1;

	if (x->local) {
		memset(o, 0, sizeof(*o));
		o->status = ORCH_ACCEPT;
		strlcpy_(o->type, type, sizeof(o->type));
		strlcpy_(o->name, name ? name : "Running", sizeof(o->name));
		strlcpy_(o->message, message ? message : "", sizeof(o->message));
		return 0;
	}
	uuid4(tid);
	path = api_path("/flow_runs/", x->id, "/set_state");
	body = api_set_state_body(x->id, type, name, message, force, tid);
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

/* Reports a failure to load or prepare the flow, as Crashed. */
static int
crash(struct exec *x, const char *message)
{
	struct orch_result	o;

	elog(x, PF_LEVEL_ERROR, "%s", message);
	logship_flush(x->logs);
	if (propose(x, "CRASHED", "Crashed", message, 0, &o) == -1)
		return 1;
	strlcpy_(x->final_type, "CRASHED", sizeof(x->final_type));
	elog(x, PF_LEVEL_INFO, "Finished in state Crashed('%s')", message);
	return 0;
}

static cJSON *
get_json(struct exec *x, const char *prefix, const char *id, char *err,
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
		snprintf(err, errlen, "GET %s: %s", path, r.status == 404 ?
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
	const char	*mb = getenv("PFAGENT_GIT_CACHE_MB");
	char		*root, *state = state_dir_default(), *output;
	struct git_cache cache;
	struct pull_env	 env = { &refs, &cache, elog, x };
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
	if (entrypoint_build(ep, &output, err, errlen) == -1) {
		if (output != NULL && *output != '\0')
			elog(x, PF_LEVEL_ERROR, "%s", output);
		free(output);
		return -1;
	}
	if (output != NULL)
		elog(x, PF_LEVEL_INFO, "Built %s from %s", ep->module,
		    ep->file);
	free(output);
	return 0;
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
		if (propose(x, "RUNNING", NULL, NULL, 0, &o) == -1)
			return -1;
		switch (o.status) {
		case ORCH_ACCEPT:
			return 1;
		case ORCH_WAIT:
			sleep_ms((int64_t)(o.delay_seconds * 1000));
			continue;
		case ORCH_REJECT:
			if (strcmp(o.type, "PENDING") == 0) {
				sleep_ms(200);
				continue;
			}
			elog(x, PF_LEVEL_INFO, "Flow run '%s' received "
			    "invalid state transition; ended in state "
			    "%s('%s')", x->run.name, o.name, o.message);
			return 0;
		case ORCH_ABORT:
			elog(x, PF_LEVEL_INFO, "Engine execution of flow run "
			    "'%s' aborted by orchestrator: %s", x->id,
			    o.reason);
			return 0;
		}
	}
}

static void
describe_final(char *out, size_t n, const struct orch_result *o)
{
	if (o->message[0])
		snprintf(out, n, "%s('%s')", o->name, o->message);
	else
		snprintf(out, n, "%s()", o->name);
}

/* Runs the flow until a final state sticks; returns the exit status. */
static int
run_flow(struct exec *x, const pf_flow_def *def, const char *flow_name)
{
	struct orch_result	 o;
	char			 err[1024], final[1200];
	int			 rc;

	for (;;) {
		if ((rc = enter_running(x)) != 1)
			return rc == 0 ? 0 : 1;
		elog(x, PF_LEVEL_INFO, "Beginning flow run '%s' for flow '%s'",
		    x->run.name, flow_name);
		x->run.params = sdk_params_prepare(def, json_obj(x->flow_run,
		    "parameters"), err, sizeof(err));
		char *message = NULL;
		if (x->run.params == NULL)
			message = xasprintf("Validation of flow parameters "
			    "failed with error: %s", err);
		else if (def->fn(&x->run) != PF_OK || x->run.error != NULL) {
			const char *why = x->run.error ? x->run.error :
			    "the flow returned an error without a message";

			elog(x, PF_LEVEL_ERROR, "Encountered exception during "
			    "execution: FlowError('%s')", why);
			message = xasprintf("Flow run encountered an exception: "
			    "FlowError: %s", why);
		}
		logship_flush(x->logs);
		if (message == NULL)
			rc = propose(x, "COMPLETED", "Completed", NULL, 0, &o);
		else
			rc = propose(x, "FAILED", "Failed", message, 0, &o);
		free(message);
		sdk_run_cleanup(&x->run);
		if (rc == -1)
			return 1;
		if (strcmp(o.type, "SCHEDULED") == 0) {
			elog(x, PF_LEVEL_INFO, "Received non-final state '%s' "
			    "when proposing final state and will attempt to "
			    "run again...", o.name);
			continue;	/* AwaitingRetry: run again in-process */
		}
		strlcpy_(x->final_type, o.type, sizeof(x->final_type));
		describe_final(final, sizeof(final), &o);
		elog(x, PF_LEVEL_INFO, "Finished in state %s", final);
		return 0;
	}
}

/*
 * SIGTERM/SIGINT without a cancel intent: record Crashed as Prefect's
 * engine does, then die of the same signal so the agent sees it.
 */
static void *
signal_thread(void *arg)
{
	sigset_t		*set = arg;
	struct orch_result	 o;
	int			 sig;

	if (sigwait(set, &sig) != 0)
		return NULL;
	stop_requested = 1;
	if (the_exec != NULL) {
		const char *msg = sig == SIGINT ? "Execution was aborted by an "
		    "interrupt signal." : "Execution was aborted by a "
		    "termination signal.";

		elog(the_exec, PF_LEVEL_ERROR, "%s", msg);
		logship_flush(the_exec->logs);
		propose(the_exec, "CRASHED", "Crashed", msg, 1, &o);
	}
	signal(sig, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, set, NULL);
	raise(sig);
	_exit(128 + sig);
}

static void
signals_start(void)
{
	static sigset_t	set;
	pthread_t	t;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked before any thread starts, so only sigwait sees them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t, NULL, signal_thread, &set) != 0)
		fatalx("cannot start the signal thread");
	pthread_detach(t);
}

static void
exec_cleanup(struct exec *x, struct entrypoint *ep)
{
	the_exec = NULL;
	if (x->logs != NULL) {
		logship_flush(x->logs);
		logship_stop(x->logs);
	}
	entrypoint_cleanup(ep);
	cJSON_Delete(x->flow_run);
	cJSON_Delete(x->deployment);
	pull_result_cleanup(&x->pulled);
	http_settings_cleanup(&x->http);
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
	if (http_call(&x->http, &retry_patient, "POST", "/flows/", s, &r) ==
	    RETRY_OK)
		flow = json_parse_answer(r.body, 0, err, errlen);
	else
		errorf(err, errlen, "creating flow '%s': %s", flow_name,
		    r.status ? r.body : r.error);
	free(s);
	http_resp_cleanup(&r);
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
	if (http_call(&x->http, &retry_patient, "POST", "/flow_runs/", s,
	    &r) == RETRY_OK)
		run = json_parse_answer(r.body, 0, err, errlen);
	else
		errorf(err, errlen, "creating a flow run: %s", r.status ?
		    r.body : r.error);
	free(s);
	http_resp_cleanup(&r);
	return run;
}

int
executor_run(const char *entrypoint, const cJSON *params)
{
	struct exec		 x;
	struct entrypoint	 ep;
	const pf_flow_def	*def;
	const char		*flow_name, *name, *id;
	char			 err[1024];
	int			 rc;

	memset(&x, 0, sizeof(x));
	log_init(LOG_LVL_INFO, "[run]");
	if (entrypoint_parse(entrypoint, &ep, err, sizeof(err)) == -1 ||
	    entrypoint_load(&ep, &def, err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent run: %s\n", err);
		entrypoint_cleanup(&ep);
		return 2;
	}
	signals_start();
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
	    sizeof(err))) == NULL || (id = json_str(x.flow_run, "id")) ==
	    NULL) {
		fprintf(stderr, "pfagent run: %s\n", err);
		exec_cleanup(&x, &ep);
		return 2;
	} else
		x.id = id;
	name = json_str(x.flow_run, "name");
	x.run.id = x.id;
	x.run.name = name ? name : x.id;
	x.run.stop = &stop_requested;
	x.logs = x.run.logs = logship_start(x.local ? NULL : &x.http, x.id,
	    x.run.name);
	the_exec = &x;
	patch_policy(&x, def);
	x.run.def = def;
	rc = run_flow(&x, def, flow_name);
	if (rc == 0 && strcmp(x.final_type, "COMPLETED") != 0)
		rc = 1;
	exec_cleanup(&x, &ep);
	return rc;
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
	log_init(LOG_LVL_INFO, "[executor]");
	signals_start();
	if ((x.id = getenv("PREFECT__FLOW_RUN_ID")) == NULL || !*x.id) {
		log_error("PREFECT__FLOW_RUN_ID is not set");
		return 1;
	}
	if (http_settings_from_env(&x.http, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return 1;
	}
	if ((x.flow_run = get_json(&x, "/flow_runs/", x.id, err,
	    sizeof(err))) == NULL) {
		log_error("flow run %s: %s", x.id, err);
		goto out;
	}
	name = json_str(x.flow_run, "name");
	x.run.id = x.id;
	x.run.name = name ? name : x.id;
	x.run.stop = &stop_requested;
	x.logs = x.run.logs = logship_start(&x.http, x.id, x.run.name);
	the_exec = &x;
	if ((dep_id = json_str(x.flow_run, "deployment_id")) == NULL) {
		rc = crash(&x, "Flow could not be loaded: the flow run has no "
		    "deployment, so pfagent has no entrypoint to run");
		goto out;
	}
	if ((x.deployment = get_json(&x, "/deployments/", dep_id, err,
	    sizeof(err))) == NULL || entrypoint_parse(json_str(x.deployment,
	    "entrypoint"), &ep, err, sizeof(err)) == -1 ||
	    prepare_code(&x, &ep, err, sizeof(err)) == -1 ||
	    entrypoint_load(&ep, &def, err, sizeof(err)) == -1) {
		msg = xasprintf("Flow could not be loaded: %s", err);
		rc = crash(&x, msg);
		free(msg);
		goto out;
	}
	flow_name = def->name ? def->name : ep.function;
	patch_policy(&x, def);
	x.run.def = def;
	rc = run_flow(&x, def, flow_name);
out:
	exec_cleanup(&x, &ep);
	return rc;
}
