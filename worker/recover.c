/*
 * recover.c: finishing what a dead worker left (recover.h). Runs on the
 * loop like everything else: one GET per journalled run, then at most one
 * state proposal; the record goes once that landed, so a worker that dies
 * again mid-recovery leaves it for the next one.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker.h"
#include "prefect/api.h"
#include "worker/cancel.h"
#include "worker/ecs.h"
#include "worker/journal.h"
#include "worker/recover.h"
#include "worker/request.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "prefect/contract.h"

struct recovery {
	struct agent	*agent;
	struct jrec	*rec;
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb; (void)flag; (void)f;
	return remove(path);
}

/* Done with a record: dropped from disk (remove) or left for later. */
static void
recovery_end(struct recovery *rv, int remove)
{
	struct agent	*a = rv->agent;
	struct jrec	*j = rv->rec;

	if (remove) {
		cancel_intent_remove(a->conf.state_dir, j->id);
		if (j->workdir_is_temp && j->workdir != NULL &&
		    !jrec_process_alive(j))
			nftw(j->workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		journal_remove(a->conf.state_dir, j);
	}
	jrec_cleanup(j);
	free(j);
	free(rv);
	a->recovering--;
	worker_maybe_done(a);
}

static void
on_proposed(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct recovery		*rv = arg;
	struct orch_result	 o;
	char			 err[200];

	if (rc == RETRY_AUTH)
		worker_fatal_auth(rv->agent, "recovering a flow run");
	if (rc != RETRY_OK) {
		log_warnx("recovery: flow run %s: state not recorded (%s); "
		    "left in the journal for the next start", rv->rec->id,
		    resp->error);
		recovery_end(rv, 0);
		return;
	}
	if (api_parse_orch(resp->body, &o, err, sizeof(err)) == 0)
		log_info("recovery: flow run %s (%s): %s, now %s", rv->rec->id,
		    rv->rec->name, api_orch_status_name(o.status), o.name);
	recovery_end(rv, 1);
}

static void
propose(struct recovery *rv, const char *type, const char *name,
    const char *msg, int force)
{
	struct agent	*a = rv->agent;
	char		 tid[37], *path, *body;
	cJSON		*logs = cJSON_CreateArray();

	/* The reason in the run's own log too, as the worker's crash line. */
	cJSON_AddItemToArray(logs, api_log_entry("prefect.flow_runs.worker",
	    strcmp(type, "CRASHED") == 0 ? PF_LEVEL_ERROR : PF_LEVEL_INFO,
	    msg, rv->rec->id, NULL));
	body = json_print(logs);
	request_send(a->loop, &a->http, &retry_patient, "POST", "/logs/", body,
	    NULL, NULL);
	free(body);
	cJSON_Delete(logs);
	uuid4(tid);
	path = api_path("/flow_runs/", rv->rec->id, "/set_state");
	body = api_set_state_body(rv->rec->id, NULL, type, name, msg, force,
	    tid);
	request_send(a->loop, &a->http, &retry_patient, "POST", path, body,
	    on_proposed, rv);
	free(path);
	free(body);
}

/* Our PENDING (the claim, or Submitting): nobody else claimed it since. */
static int
pending_is_ours(const struct jrec *j, const cJSON *state)
{
	const char	*tid = json_str(json_obj(state, "state_details"),
	    "transition_id");

	return tid != NULL && (strcmp(tid, j->claim_tid) == 0 ||
	    strcmp(tid, j->submit_tid) == 0);
}

static void
reconcile(struct recovery *rv, const cJSON *run)
{
	struct agent	*a = rv->agent;
	struct jrec	*j = rv->rec;
	const cJSON	*state = json_obj(run, "state");
	const char	*type = json_str(state, "type");
	char		*msg;

	if (type == NULL)
		type = "";
	if (strcmp(type, "COMPLETED") == 0 || strcmp(type, "FAILED") == 0 ||
	    strcmp(type, "CRASHED") == 0 || strcmp(type, "CANCELLED") == 0) {
		log_info("recovery: flow run %s (%s): already %s", j->id,
		    j->name, type);
		recovery_end(rv, 1);
	} else if ((j->infra != NULL && ecs_adopt(a, j, run) == 0) ||
	    (j->pid > 0 && run_adopt(a, j, run) == 0)) {
		if (strcmp(type, "CANCELLING") == 0)
			run_cancel(a, json_str(run, "id"));
		jrec_cleanup(j);	/* emptied: the run owns the record */
		free(j);
		free(rv);
		a->recovering--;
	} else if (strcmp(type, "CANCELLING") == 0) {
		run_ship_spool(a, j->id);
		propose(rv, "CANCELLED", "Cancelled", j->pid > 0 ? "Flow run "
		    "was cancelled successfully." : "Flow run cancelled by "
		    "worker (no infrastructure found).", 1);
	} else if (j->pid > 0 || j->infra != NULL ||
	    strcmp(type, "RUNNING") == 0) {
		msg = xasprintf("The worker running this flow run died and its "
		    "process %d is gone (found by worker '%s' on start-up).",
		    (int)j->pid, a->conf.name);
		log_warnx("recovery: flow run %s (%s): %s", j->id, j->name, msg);
		run_ship_spool(a, j->id);
		propose(rv, "CRASHED", "Crashed", msg, 0);
		free(msg);
	} else if (strcmp(type, "PENDING") == 0 && pending_is_ours(j, state)) {
		log_info("recovery: flow run %s (%s): claimed by a worker that "
		    "died before starting it: scheduled again", j->id, j->name);
		propose(rv, "SCHEDULED", "Scheduled", "Rescheduled: the worker "
		    "that claimed it died before starting it.", 1);
	} else {
		log_debug("recovery: flow run %s: %s, not ours", j->id, type);
		recovery_end(rv, 1);
	}
}

static void
on_run(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct recovery	*rv = arg;
	cJSON		*run;
	char		 err[200];

	if (rc == RETRY_AUTH) {
		worker_fatal_auth(rv->agent, "recovering a flow run");
		recovery_end(rv, 0);
	} else if (resp->status == 404) {
		log_info("recovery: flow run %s no longer exists", rv->rec->id);
		recovery_end(rv, 1);
	} else if (rc != RETRY_OK || (run = json_parse_answer(resp->body, 0,
	    err, sizeof(err))) == NULL) {
		log_warnx("recovery: flow run %s: cannot read it (%s); left in "
		    "the journal for the next start", rv->rec->id,
		    rc == RETRY_OK ? err : resp->error);
		recovery_end(rv, 0);
	} else {
		reconcile(rv, run);
		cJSON_Delete(run);
	}
}

static void
found(struct jrec *j, void *arg)
{
	struct agent	*a = arg;
	struct recovery	*rv;
	char		*path;

	/* Another API's run (a shared state directory): not ours to judge. */
	if (strcmp(j->api_url, a->http.api_url) != 0) {
		jrec_cleanup(j);
		free(j);
		return;
	}
	rv = xcalloc(1, sizeof(*rv));
	rv->agent = a;
	rv->rec = j;		/* now owned by the recovery */
	a->recovering++;
	path = api_path("/flow_runs/", j->id, NULL);
	request_send(a->loop, &a->http, &retry_patient, "GET", path, NULL,
	    on_run, rv);
	free(path);
}

void
recover_start(struct agent *a)
{
	char	err[300];

	if (journal_scan(a->conf.state_dir, found, a, err, sizeof(err)) == -1)
		log_warnx("journal: %s; no runs of a dead worker recovered",
		    err);
	if (a->recovering > 0)
		log_warnx("recovery: %d flow run(s) left by a worker that died; "
		    "reconciling them before claiming", a->recovering);
}
