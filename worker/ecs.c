/*
 * ecs.c: a flow run as an ECS task (--type ecs). run.c claims and
 * submits as for a process; run_start comes here instead of spawning:
 *
 *   jobconf_render -> ecs_job_prepare (ecs_job.c) -> task definition:
 *     same content as one used before (hash, in memory) or as the
 *     family's latest ACTIVE revision -> reused, else registered
 *   -> RunTask -> journal "<cluster>::<task ARN>", infrastructure_pid
 *   -> RUNNING: watched by one timer for all tasks, DescribeTasks in
 *      batches of up to 100 ARNs per cluster:
 *        STOPPED, run not final -> Crashed with stopCode, stoppedReason,
 *          the container's exit code and reason; cancelled -> Cancelled
 *        not RUNNING within task_start_timeout_seconds -> StopTask,
 *          Crashed
 *      stream_output with an awslogs container: each pass also reads
 *        the task's log stream (GetLogEvents, one call, from the last
 *        nextForwardToken) into the worker's log, and drains it once
 *        the task is STOPPED
 *   Cancelling -> StopTask "Stopped by Prefect worker" -> Cancelled once
 *     STOPPED. The worker stopping leaves tasks running, their records
 *     on disk: the next worker re-attaches (ecs_adopt, from recover.c).
 *
 * The AWS calls are blocking (aws/ecs.h) and made from the loop: each is
 * one short exchange with a 10 s bound; a long outage delays the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker.h"
#include "aws/credentials.h"
#include "aws/ecs.h"
#include "prefect/api.h"
#include "worker/ecs.h"
#include "worker/journal.h"
#include "worker/metrics.h"
#include "worker/request.h"
#include "worker/run_int.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/http.h"
#include "common/log.h"
#include "common/retry.h"
#include "common/util.h"
#include "prefect/contract.h"
#include "deployments/template.h"

#define BATCH		100	/* DescribeTasks takes up to 100 tasks */
#define STOP_REASON	"Stopped by Prefect worker"

struct ecs_task {
	char		*cluster;	/* as the calls name it */
	char		*arn;
	char		*region;
	char		*endpoint;	/* ECS's; NULL: AWS's */
	char		*given_endpoint; /* the job's endpoint_url, or NULL */
	struct aws_creds creds;
	char		*container;	/* the orchestration container */
	int64_t		 started_ms;
	double		 start_timeout;	/* s */
	double		 poll_interval;	/* s */
	int		 seen_running;
	char		*stop_message;	/* why it ended, for Crashed */
	char		*log_region;	/* stream_output's CloudWatch Logs */
	char		*log_endpoint;	/* NULL: AWS's */
	char		*log_group;	/* NULL: not streamed */
	char		*log_stream;
	char		*log_token;	/* the last nextForwardToken */
};

static const cJSON *
array(const cJSON *o, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsArray(v) ? v : NULL;
}

void
ecs_task_free(struct ecs_task *t)
{
	if (t == NULL)
		return;
	free(t->cluster);
	free(t->arn);
	free(t->region);
	free(t->endpoint);
	aws_creds_cleanup(&t->creds);
	free(t->given_endpoint);
	free(t->container);
	free(t->stop_message);
	free(t->log_region);
	free(t->log_endpoint);
	free(t->log_group);
	free(t->log_stream);
	free(t->log_token);
	free(t);
}

static void
client_of(const struct ecs_task *t, struct aws_client *c)
{
	*c = (struct aws_client){ t->region, t->endpoint, &t->creds, 0 };
}

/*
 * Region, endpoint and credentials: an AwsCredentials block's fields
 * when the job has them, else the default chain, as boto3 does.
 */
static int
aws_of(const cJSON *block, struct ecs_task *t, char *err, size_t errlen)
{
	const char		*profile = json_str(block, "profile_name");
	const char		*ep = json_str(json_obj(block,
	    "aws_client_parameters"), "endpoint_url");
	struct aws_creds_config	 cc = { json_str(block, "aws_access_key_id"),
	    json_str(block, "aws_secret_access_key"),
	    json_str(block, "aws_session_token"), profile };
	char			 e[400];
	int			 rc;

	t->region = aws_region_resolve(json_str(block, "region_name"),
	    profile);
	if (t->region == NULL)
		return errorf(err, errlen, "no AWS region: set region_name in "
		    "aws_credentials, AWS_REGION or AWS_DEFAULT_REGION");
	t->given_endpoint = ep && *ep ? xstrdup(ep) : NULL;
	t->endpoint = aws_endpoint_url(t->given_endpoint, "ECS");
	if ((rc = aws_creds_resolve(&cc, &t->creds, e, sizeof(e))) != 0)
		return errorf(err, errlen, "no AWS credentials: %s", e);
	return 0;
}

/* The worker's Prefect settings, as Prefect's _base_environment. */
static cJSON *
base_env(const struct agent *a)
{
	extern char	**environ;
	cJSON		 *env = cJSON_CreateObject();

	for (char **e = environ; *e; e++) {
		const char	*eq = strchr(*e, '=');
		char		*k;

		if (strncmp(*e, "PREFECT_", 8) != 0 || (*e)[8] == '_' ||
		    eq == NULL)
			continue;
		k = xasprintf("%.*s", (int)(eq - *e), *e);
		cJSON_AddStringToObject(env, k, eq + 1);
		free(k);
	}
	if (json_str(env, "PREFECT_API_URL") == NULL)
		cJSON_AddStringToObject(env, "PREFECT_API_URL",
		    a->http.api_url);
	return env;
}

/* --- the task definition: reused when an identical one exists --- */

static char *
td_key(const struct ecs_task *t, const cJSON *td)
{
	char	*s = json_print(td), *k;

	k = xasprintf("%s|%s|%016llx", t->region, t->endpoint ? t->endpoint :
	    "", (unsigned long long)hash_fnv1a(s, strlen(s)));
	free(s);
	return k;
}

static cJSON *
describe_td(const struct aws_client *c, const char *name, char *err,
    size_t errlen)
{
	cJSON	*req = json_strings("taskDefinition", name, NULL), *ans, *td;

	if (ecs_call(c, "DescribeTaskDefinition", req, &ans, err,
	    errlen) == -1) {
		cJSON_Delete(req);
		return NULL;
	}
	cJSON_Delete(req);
	td = cJSON_DetachItemFromObjectCaseSensitive(ans, "taskDefinition");
	cJSON_Delete(ans);
	if (td == NULL)
		errorf(err, errlen, "DescribeTaskDefinition %s: no "
		    "taskDefinition in the answer", name);
	return td;
}

/* The family's latest ACTIVE revision, if it is the same definition. */
static char *
family_match(struct run *r, const struct aws_client *c, const cJSON *td)
{
	const char	*family = json_str(td, "family");
	cJSON		*cur;
	char		 err[300], *arn = NULL;

	if (family == NULL || (cur = describe_td(c, family, err,
	    sizeof(err))) == NULL)
		return NULL;	/* a new family: nothing to reuse */
	if (json_str(cur, "status") != NULL &&
	    strcmp(json_str(cur, "status"), "ACTIVE") == 0 &&
	    ecs_task_definitions_equal(td, cur) &&
	    json_str(cur, "taskDefinitionArn") != NULL)
		arn = xstrdup(json_str(cur, "taskDefinitionArn"));
	else
		log_debug("flow run %s: family %s's latest revision differs",
		    r->id, family);
	cJSON_Delete(cur);
	return arn;
}

static char *
get_or_register(struct run *r, struct ecs_task *t, const cJSON *td,
    int *registered, char *err, size_t errlen)
{
	struct agent		*a = r->agent;
	struct aws_client	 c;
	char			*key = td_key(t, td), *arn = NULL;
	const char		*cached;
	cJSON			*ans;

	client_of(t, &c);
	*registered = 0;
	if (a->ecs_taskdefs == NULL)
		a->ecs_taskdefs = cJSON_CreateObject();
	if ((cached = json_str(a->ecs_taskdefs, key)) != NULL)
		arn = xstrdup(cached);
	else if ((arn = family_match(r, &c, td)) == NULL) {
		run_log(r, PF_LEVEL_INFO, "Registering ECS task definition...");
		if (ecs_call(&c, "RegisterTaskDefinition", td, &ans, err,
		    errlen) == -1) {
			free(key);
			return NULL;
		}
		cached = json_str(json_obj(ans, "taskDefinition"),
		    "taskDefinitionArn");
		arn = cached ? xstrdup(cached) : NULL;
		cJSON_Delete(ans);
		if (arn == NULL) {
			free(key);
			errorf(err, errlen, "RegisterTaskDefinition: no ARN in "
			    "the answer");
			return NULL;
		}
		*registered = 1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(a->ecs_taskdefs, key);
	cJSON_AddStringToObject(a->ecs_taskdefs, key, arn);
	free(key);
	return arn;
}

/* --- the network, as _load_network_configuration finds it --- */

static int
network(struct ecs_job *j, const cJSON *td, const struct ecs_task *t,
    char *err, size_t errlen)
{
	struct aws_client	 c;
	cJSON			*subnets = NULL, *nc, *s;
	char			*vpc = NULL, *ep;
	const char		*mode = json_str(td, "networkMode");
	int			 rc = 0;

	if (mode == NULL || strcmp(mode, "awsvpc") != 0 ||
	    (cJSON_GetObjectItemCaseSensitive(j->run_request,
	    "networkConfiguration") != NULL && j->network_configuration == NULL))
		return 0;
	if (j->network_configuration != NULL && j->vpc_id == NULL)
		return 0;
	ep = aws_endpoint_url(t->given_endpoint, "EC2");
	c = (struct aws_client){ t->region, ep, &t->creds, 0 };
	if (ec2_vpc_subnets(&c, j->vpc_id, &vpc, &subnets, err, errlen) == -1) {
		free(ep);
		return -1;
	}
	if (j->network_configuration != NULL) {
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(
		    j->network_configuration, "subnets")) {
			int found = 0;
			cJSON *x;

			cJSON_ArrayForEach(x, subnets)
				found |= cJSON_IsString(s) &&
				    strcmp(x->valuestring, s->valuestring) == 0;
			if (!found) {
				rc = errorf(err, errlen, "Subnets %s not found "
				    "within VPC with ID %s.Please check that "
				    "VPC is associated with supplied subnets.",
				    cJSON_IsString(s) ? s->valuestring : "?",
				    j->vpc_id);
				goto out;
			}
		}
		nc = cJSON_CreateObject();
		cJSON_AddItemToObject(nc, "awsvpcConfiguration",
		    cJSON_Duplicate(j->network_configuration, 1));
	} else {
		cJSON *avc;

		nc = cJSON_CreateObject();
		avc = cJSON_AddObjectToObject(nc, "awsvpcConfiguration");
		cJSON_AddItemToObject(avc, "subnets", subnets);
		subnets = NULL;
		cJSON_AddStringToObject(avc, "assignPublicIp", "ENABLED");
		cJSON_AddArrayToObject(avc, "securityGroups");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(j->run_request,
	    "networkConfiguration");
	cJSON_AddItemToObject(j->run_request, "networkConfiguration", nc);
out:
	cJSON_Delete(subnets);
	free(vpc);
	free(ep);
	return rc;
}

/* --- stream_output: the task's CloudWatch log stream --- */

/*
 * Where the container's awslogs lines go, as the driver names them; the
 * logs endpoint as boto3 finds it.
 */
static void
follow_setup(struct run *r, const struct ecs_job *j, const cJSON *td,
    struct ecs_task *t)
{
	const char	*group, *prefix, *region;

	if (!j->stream_output)
		return;
	if (!ecs_awslogs_of(td, t->container, &group, &prefix, &region)) {
		run_log(r, PF_LEVEL_WARNING, "stream_output is set but container "
		    "'%s' has no awslogs log configuration with a group and a "
		    "stream prefix (configure_cloudwatch_logs): its output is "
		    "not streamed", t->container);
		return;
	}
	t->log_region = xstrdup(region && *region ? region : t->region);
	t->log_endpoint = aws_endpoint_url(t->given_endpoint,
	    "CLOUDWATCH_LOGS");
	t->log_group = xstrdup(group);
	t->log_stream = ecs_log_stream(prefix, t->container, t->arn);
}

/* One GetLogEvents: its lines into the worker's log. 1: more may follow. */
static int
follow_once(struct run *r)
{
	struct ecs_task	*t = r->ecs;
	struct aws_client c = { t->log_region, t->log_endpoint, &t->creds, 0 };
	cJSON		*ans;
	const cJSON	*ev;
	const char	*next, *msg;
	char		 err[400];
	int		 n = 0, rc;

	rc = logs_get_events(&c, t->log_group, t->log_stream,
	    t->log_token, &ans, err, sizeof(err));
	if (rc == -1)
		log_warnx("flow run %s (%s): reading log stream %s: %s (tried "
		    "again at the next poll)", r->id, r->name, t->log_stream,
		    err);
	if (rc != 0)
		return 0;
	cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(ans,
	    "events")) {
		if ((msg = json_str(ev, "message")) == NULL)
			continue;
		/* A line of the worker's log per line of the event. */
		do {
			int len = (int)strcspn(msg, "\r\n");

			log_info("flow run %s (%s): %.*s", r->id, r->name, len,
			    msg);
			msg += len;
			msg += strspn(msg, "\r\n");
		} while (*msg != '\0');
		n++;
	}
	next = json_str(ans, "nextForwardToken");
	/* The same token again: the stream's end for now. */
	rc = n > 0 && next != NULL && (t->log_token == NULL ||
	    strcmp(next, t->log_token) != 0);
	if (next != NULL) {
		free(t->log_token);
		t->log_token = xstrdup(next);
	}
	cJSON_Delete(ans);
	return rc;
}

/* The task stopped: what its last lines are, a bounded number of calls. */
static void
follow_drain(struct run *r)
{
	for (int i = 0; i < 20 && r->ecs->log_group != NULL; i++)
		if (!follow_once(r))
			break;
}

/* --- RunTask --- */

/* _report_task_run_creation_failure's clearer words for common errors. */
static void
run_task_error(const cJSON *req, char *err, size_t errlen)
{
	const char	*cl = json_str(req, "cluster");
	char		 orig[600];

	strlcpy_(orig, err, sizeof(orig));
	if (strstr(orig, "ClusterNotFoundException") != NULL)
		errorf(err, errlen, "Failed to run ECS task, cluster '%s' not "
		    "found. Confirm that the cluster is configured in your "
		    "region. (%s)", cl ? cl : "default", orig);
	else if (strstr(orig, "TaskDefinition is inactive") != NULL)
		errorf(err, errlen, "Failed to run ECS task, the task "
		    "definition is inactive. (%s)", orig);
}

static int
run_task(struct ecs_job *j, struct ecs_task *t, char *err, size_t errlen)
{
	struct aws_client	 c;
	cJSON			*ans, *task;
	const char		*arn, *cluster_arn, *reason;
	int			 rc = -1;

	client_of(t, &c);
	/* As boto3 fills it: a retried RunTask starts no second task. */
	if (cJSON_GetObjectItemCaseSensitive(j->run_request,
	    "clientToken") == NULL) {
		char	token[37];

		uuid4(token);
		cJSON_AddStringToObject(j->run_request, "clientToken", token);
	}
	if (ecs_call(&c, "RunTask", j->run_request, &ans, err, errlen) == -1) {
		run_task_error(j->run_request, err, errlen);
		return -1;
	}
	reason = json_str(cJSON_GetArrayItem(array(ans, "failures"), 0),
	    "reason");
	task = cJSON_GetArrayItem(array(ans, "tasks"), 0);
	arn = json_str(task, "taskArn");
	cluster_arn = json_str(task, "clusterArn");
	if (reason != NULL)
		errorf(err, errlen, "Failed to run ECS task: %s", reason);
	else if (arn == NULL || cluster_arn == NULL)
		errorf(err, errlen, "Failed to run ECS task: no tasks or "
		    "failures were returned.");
	else {
		t->arn = xstrdup(arn);
		t->cluster = xstrdup(j->cluster ? j->cluster : cluster_arn);
		rc = 0;
	}
	cJSON_Delete(ans);
	return rc;
}

/* --- submission --- */

static void	watch_arm(struct agent *, double seconds);

/* The task definition the run uses: given by ARN, or built. */
static cJSON *
task_definition_of(struct run *r, struct ecs_job *j, struct ecs_task *t,
    char **arn, int *registered, char *err, size_t errlen)
{
	struct aws_client	 c;
	const char		*given = json_str(j->run_request,
	    "taskDefinition");
	cJSON			*td;

	*registered = 0;
	if (given != NULL && *given != '\0') {
		client_of(t, &c);
		run_log(r, PF_LEVEL_INFO, "Retrieving ECS task definition "
		    "'%s'...", given);
		if ((td = describe_td(&c, given, err, errlen)) != NULL)
			*arn = xstrdup(given);
		return td;
	}
	if ((*arn = get_or_register(r, t, j->task_definition, registered, err,
	    errlen)) == NULL)
		return NULL;
	return cJSON_Duplicate(j->task_definition, 1);
}

static int
submit(struct run *r, struct ecs_job *j, struct ecs_task *t, char *err,
    size_t errlen)
{
	cJSON	*td;
	char	*arn = NULL;
	int	 registered, rc = -1;

	if ((td = task_definition_of(r, j, t, &arn, &registered, err,
	    errlen)) == NULL)
		return -1;
	run_log(r, PF_LEVEL_INFO, "Using ECS task definition '%s'...", arn);
	ecs_job_finish_request(j, td, arn, registered);
	if (network(j, td, t, err, errlen) == -1)
		goto out;
	run_log(r, PF_LEVEL_INFO, "Creating ECS task run...");
	if (run_task(j, t, err, errlen) == -1)
		goto out;
	run_log(r, PF_LEVEL_INFO, "Created ECS task '%s'", t->arn);
	follow_setup(r, j, td, t);
	rc = 0;
out:
	cJSON_Delete(td);
	free(arn);
	return rc;
}

/* The task runs: journalled, reported, watched. */
static void
task_started(struct run *r, struct ecs_task *t)
{
	char	*path, *body;
	cJSON	*o;

	r->ecs = t;
	r->step = STEP_RUNNING;
	t->started_ms = now_ms();
	free(r->jrec.infra);
	r->jrec.infra = xasprintf("%s::%s", t->cluster, t->arn);
	run_journal(r);
	o = json_strings("infrastructure_pid", r->jrec.infra, NULL);
	body = json_print(o);
	path = api_path("/flow_runs/", r->id, NULL);
	request_send(r->agent->loop, &r->agent->http, &retry_patient, "PATCH",
	    path, body, NULL, NULL);
	free(path);
	free(body);
	cJSON_Delete(o);
	log_info("flow run %s (%s): started ECS task %s", r->id, r->name,
	    r->jrec.infra);
	metrics_run_started();
	run_emit(r, "prefect.worker.submitted-flow-run", 0, 0);
	watch_arm(r->agent, t->poll_interval);
}

static void
ctx_of(struct run *r, const struct ecs_task *t, const cJSON *env,
    struct ecs_ctx *x)
{
	struct agent	*a = r->agent;

	*x = (struct ecs_ctx){ a->conf.pool, a->pool_id, a->conf.name,
	    t->region, PFAGENT_VERSION, r->flow_run, r->deployment, r->flow,
	    env, has_python_entrypoint(r->deployment) ?
	    "prefect flow-run execute" : "pfagent execute" };
}

/*
 * A {"$ref": {"block_document_id": id}} in the job (an AwsCredentials
 * block as aws_credentials): the document's data, as Prefect's worker
 * resolves it after templating. Blocking, like the AWS calls.
 */
static int
block_by_id(const char *id, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	const struct agent	*a = payload;
	struct http_resp	 resp;
	char			*path = api_path("/block_documents/", id,
	    "?include_secrets=true");
	cJSON			*doc;
	enum retry_class	 rc;

	memset(&resp, 0, sizeof(resp));
	rc = http_call(&a->http, &retry_quick, "GET", path, NULL, &resp);
	free(path);
	if (rc != RETRY_OK) {
		int missing = resp.status == 404;

		if (!missing)
			errorf(err, errlen, "reading block document %s: %s",
			    id, resp.status ? "refused" : resp.error);
		http_resp_cleanup(&resp);
		return missing ? 1 : -1;
	}
	doc = cJSON_Parse(resp.body);
	http_resp_cleanup(&resp);
	*out = cJSON_DetachItemFromObjectCaseSensitive(doc, "data");
	cJSON_Delete(doc);
	if (*out == NULL)
		return errorf(err, errlen, "block document %s has no data", id);
	return 0;
}

static cJSON *
render(struct run *r, char *err, size_t errlen)
{
	struct template_resolver res = { NULL, block_by_id, NULL, r->agent };
	cJSON	*cfg, *resolved;

	if ((cfg = jobconf_render(r->agent->base_job_template, r->deployment,
	    r->flow_run, err, errlen)) == NULL)
		return NULL;
	if (template_resolve_blocks(cfg, &res, &resolved, err, errlen) == -1)
		resolved = NULL;
	cJSON_Delete(cfg);
	return resolved;
}

void
ecs_run_start(struct run *r)
{
	struct ecs_task	*t = xcalloc(1, sizeof(*t));
	struct ecs_job	 j;
	struct ecs_ctx	 x;
	cJSON		*cfg, *env = base_env(r->agent);
	char		 err[1024];

	memset(&j, 0, sizeof(j));
	if ((cfg = render(r, err, sizeof(err))) == NULL)
		goto fail;
	if (aws_of(json_obj(cfg, "aws_credentials"), t, err,
	    sizeof(err)) == -1)
		goto fail;
	ctx_of(r, t, env, &x);
	if (ecs_job_prepare(&j, cfg, &x, err, sizeof(err)) == -1)
		goto fail;
	ecs_job_prepare_run(&j, cfg, &x);
	t->container = xstrdup(j.container_name);
	t->start_timeout = j.start_timeout;
	t->poll_interval = j.poll_interval;
	if (submit(r, &j, t, err, sizeof(err)) == -1)
		goto fail;
	task_started(r, t);
	ecs_job_cleanup(&j);
	cJSON_Delete(cfg);
	cJSON_Delete(env);
	return;
fail:
	run_crash(r, "Failed to submit flow run to infrastructure: %s", err);
	ecs_task_free(t);
	ecs_job_cleanup(&j);
	cJSON_Delete(cfg);
	cJSON_Delete(env);
	run_release(r);
}

/* --- the end of a task --- */

static void
stop_task(struct ecs_task *t, const char *reason)
{
	struct aws_client	 c;
	cJSON			*req = json_strings("cluster", t->cluster,
	    "task", t->arn, "reason", reason, NULL), *ans = NULL;
	char			 err[400];

	client_of(t, &c);
	if (ecs_call(&c, "StopTask", req, &ans, err, sizeof(err)) == -1)
		log_warnx("StopTask %s: %s", t->arn, err);
	cJSON_Delete(req);
	cJSON_Delete(ans);
}

/* ECS's words for how the task ended, with its container's exit. */
static char *
stop_message(const struct ecs_task *t, const cJSON *task, int *code)
{
	const char	*sc = json_str(task, "stopCode");
	const char	*sr = json_str(task, "stoppedReason");
	const cJSON	*c, *ours = NULL, *ec;
	const char	*why;
	struct buf	 b;

	cJSON_ArrayForEach(c, array(task, "containers"))
		if (json_str(c, "name") != NULL &&
		    strcmp(json_str(c, "name"), t->container) == 0)
			ours = c;
	buf_init(&b, 65536);
	buf_printf(&b, "ECS task %s stopped", t->arn);
	if (sc != NULL && *sc)
		buf_printf(&b, " (stopCode: %s)", sc);
	if (sr != NULL && *sr)
		buf_printf(&b, ": %s", sr);
	ec = cJSON_GetObjectItemCaseSensitive(ours, "exitCode");
	why = json_str(ours, "reason");
	*code = cJSON_IsNumber(ec) ? (int)ec->valuedouble : -1;
	if (cJSON_IsNumber(ec))
		buf_printf(&b, ". Container '%s' exited with code %d",
		    t->container, *code);
	else
		buf_printf(&b, ". Container '%s' has no exit code",
		    t->container);
	if (why != NULL && *why)
		buf_printf(&b, ": %s", why);
	buf_puts(&b, ".");
	return buf_finish(&b);
}

static void
on_state_after_stop(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;
	cJSON		*run = NULL;
	const char	*type = NULL;

	if (rc == RETRY_OK && (run = cJSON_Parse(resp->body)) != NULL)
		type = json_str(json_obj(run, "state"), "type");
	if (run_state_is_final(type)) {
		r->settled = 1;
		log_info("flow run %s (%s): already %s", r->id, r->name, type);
		metrics_run_finished(type);
	} else if (type != NULL && strcmp(type, "CANCELLING") == 0) {
		run_log(r, PF_LEVEL_INFO, "Cancelled flow run '%s'", r->name);
		run_force_cancelled(r, "Flow run was cancelled successfully.");
	} else
		run_crash(r, "%s", r->ecs->stop_message);
	cJSON_Delete(run);
	run_unref(r);
}

/* The task is STOPPED: the run's end as the API and ECS tell it. */
static void
task_stopped(struct run *r, const cJSON *task)
{
	struct ecs_task	*t = r->ecs;
	int		 code;
	char		*path;

	follow_drain(r);
	free(t->stop_message);
	t->stop_message = stop_message(t, task, &code);
	log_info("flow run %s (%s): %s", r->id, r->name, t->stop_message);
	r->step = STEP_EXITED;
	run_free_slot(r);
	run_emit(r, "prefect.worker.executed-flow-run", 1, code);
	if (r->cancel_requested)
		run_finish_cancel(r);
	else {
		path = api_path("/flow_runs/", r->id, NULL);
		run_request(r, &retry_patient, "GET", path, NULL,
		    on_state_after_stop);
		free(path);
	}
	run_release(r);
}

static void
start_timed_out(struct run *r, const char *status)
{
	struct ecs_task	*t = r->ecs;
	char		*why = xasprintf("Task did not start within %g seconds",
	    t->start_timeout);

	stop_task(t, why);
	r->step = STEP_EXITED;
	run_free_slot(r);
	run_crash(r, "ECS task %s did not reach RUNNING within %g seconds "
	    "(task_start_timeout_seconds); its last status was %s. The task "
	    "was stopped.", t->arn, t->start_timeout, status);
	free(why);
	run_release(r);
}

static void
task_seen(struct run *r, const cJSON *task)
{
	struct ecs_task	*t = r->ecs;
	const char	*st = json_str(task, "lastStatus");

	if (st == NULL)
		st = "UNKNOWN";
	if (strcmp(st, "STOPPED") == 0)
		task_stopped(r, task);
	else if (strcmp(st, "RUNNING") == 0 ||
	    strcmp(st, "DEACTIVATING") == 0 || strcmp(st, "STOPPING") == 0 ||
	    strcmp(st, "DEPROVISIONING") == 0) {
		t->seen_running = 1;
		if (t->log_group != NULL)
			follow_once(r);
	}
	else if (!t->seen_running && now_ms() - t->started_ms >
	    (int64_t)(t->start_timeout * 1000))
		start_timed_out(r, st);
}

static void
task_missing(struct run *r, const char *reason)
{
	cJSON	*none = cJSON_CreateObject();

	cJSON_AddStringToObject(none, "stoppedReason", reason);
	cJSON_AddStringToObject(none, "stopCode", "TaskNotFound");
	task_stopped(r, none);
	cJSON_Delete(none);
}

/* --- the watch: one timer, DescribeTasks in batches --- */

static int
same_place(const struct ecs_task *a, const struct ecs_task *b)
{
	return strcmp(a->cluster, b->cluster) == 0 &&
	    strcmp(a->region, b->region) == 0 &&
	    strcmp(a->endpoint ? a->endpoint : "",
	    b->endpoint ? b->endpoint : "") == 0 &&
	    strcmp(a->creds.access_key, b->creds.access_key) == 0;
}

static const cJSON *
find_task(const cJSON *tasks, const char *arn)
{
	const cJSON	*t;

	cJSON_ArrayForEach(t, tasks)
		if (json_str(t, "taskArn") != NULL &&
		    strcmp(json_str(t, "taskArn"), arn) == 0)
			return t;
	return NULL;
}

static const char *
failure_of(const cJSON *failures, const char *arn)
{
	const cJSON	*f;

	cJSON_ArrayForEach(f, failures)
		if (json_str(f, "arn") != NULL &&
		    strcmp(json_str(f, "arn"), arn) == 0)
			return json_str(f, "reason") ? json_str(f, "reason") :
			    "MISSING";
	return NULL;
}

/* One DescribeTasks for runs[0..n), all in one cluster. */
static void
describe_batch(struct run **runs, int n)
{
	struct aws_client	 c;
	cJSON			*req = cJSON_CreateObject(), *arns, *ans;
	const cJSON		*task;
	const char		*why;
	char			 err[400];

	client_of(runs[0]->ecs, &c);
	cJSON_AddStringToObject(req, "cluster", runs[0]->ecs->cluster);
	arns = cJSON_AddArrayToObject(req, "tasks");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(arns, cJSON_CreateString(
		    runs[i]->ecs->arn));
	if (ecs_call(&c, "DescribeTasks", req, &ans, err, sizeof(err)) == -1) {
		log_warnx("watching %d ECS task(s) in %s: %s (tried again at "
		    "the next poll)", n, runs[0]->ecs->cluster, err);
		cJSON_Delete(req);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct run *r = runs[i];

		if ((task = find_task(array(ans, "tasks"),
		    r->ecs->arn)) != NULL)
			task_seen(r, task);
		else if ((why = failure_of(array(ans, "failures"),
		    r->ecs->arn)) != NULL)
			task_missing(r, why);
	}
	cJSON_Delete(ans);
	cJSON_Delete(req);
}

static int
watched(const struct run *r)
{
	return r->ecs != NULL && r->step == STEP_RUNNING;
}

/* long: one pass over the runs, grouped by cluster, each run pinned */
static void
watch_tick(void *arg)
{
	struct agent	 *a = arg;
	struct run	**all, **batch;
	int		  n = 0, i, k, nb;
	double		  next = 0;

	a->ecs_timer = NULL;
	for (struct run *r = a->runs; r != NULL; r = r->next)
		n += watched(r);
	all = xcalloc((size_t)n + 1, sizeof(*all));
	batch = xcalloc((size_t)n + 1, sizeof(*batch));
	n = 0;
	for (struct run *r = a->runs; r != NULL; r = r->next)
		if (watched(r)) {
			r->inflight++;		/* pinned for the pass */
			all[n++] = r;
		}
	for (i = 0; i < n; i++) {
		if (all[i] == NULL)
			continue;
		batch[0] = all[i];
		all[i] = NULL;
		nb = 1;
		for (k = i + 1; k < n && nb < BATCH; k++)
			if (all[k] != NULL && same_place(all[k]->ecs,
			    batch[0]->ecs)) {
				batch[nb++] = all[k];
				all[k] = NULL;
			}
		describe_batch(batch, nb);
		for (k = 0; k < nb; k++)
			run_unref(batch[k]);
	}
	free(all);
	free(batch);
	for (struct run *r = a->runs; r != NULL; r = r->next)
		if (watched(r) && (next == 0 || r->ecs->poll_interval < next))
			next = r->ecs->poll_interval;
	if (next > 0)
		watch_arm(a, next);
}

/* The next pass in at most seconds (sooner passes are kept). */
static void
watch_arm(struct agent *a, double seconds)
{
	int64_t	due = now_ms() + (int64_t)(seconds * 1000);

	if (a->ecs_timer != NULL && a->ecs_timer_due <= due)
		return;
	if (a->ecs_timer != NULL)
		loop_timer_cancel(a->loop, a->ecs_timer);
	a->ecs_timer_due = due;
	a->ecs_timer = loop_timer_add(a->loop, (int64_t)(seconds * 1000),
	    watch_tick, a);
}

/* --- cancellation, the worker's stop, re-attachment --- */

void
ecs_run_cancel(struct run *r)
{
	log_info("flow run %s (%s): cancelling: StopTask %s", r->id, r->name,
	    r->ecs->arn);
	run_log(r, PF_LEVEL_INFO, "Worker '%s' cancelling flow run '%s': "
	    "stopping ECS task %s", r->agent->conf.name, r->name, r->ecs->arn);
	stop_task(r->ecs, STOP_REASON);
	watch_arm(r->agent, 0.2);
}

/* The worker stops: the task keeps running, its record stays. */
static void
ecs_run_detach(struct run *r)
{
	log_info("flow run %s (%s): ECS task %s keeps running without this "
	    "worker; the next worker started with this state directory "
	    "re-attaches to it", r->id, r->name, r->ecs->arn);
	r->step = STEP_EXITED;
	run_free_slot(r);
	run_release(r);
}

void
ecs_detach_all(struct agent *a)
{
	struct run	*r, *next;

	for (r = a->runs; r != NULL; r = next) {
		next = r->next;
		if (watched(r) && !r->cancel_requested)
			ecs_run_detach(r);
	}
}

int
ecs_adopt(struct agent *a, struct jrec *rec, const cJSON *flow_run)
{
	struct ecs_task	*t = xcalloc(1, sizeof(*t));
	const char	*sep = strstr(rec->infra, "::");
	struct run	*r;
	char		 err[400];

	if (sep == NULL || aws_of(NULL, t, err, sizeof(err)) == -1) {
		log_warnx("flow run %s: cannot re-attach to ECS task %s: %s",
		    rec->id, rec->infra, sep ? err : "not <cluster>::<arn>");
		ecs_task_free(t);
		return -1;
	}
	t->cluster = xasprintf("%.*s", (int)(sep - rec->infra), rec->infra);
	t->arn = xstrdup(sep + 2);
	t->container = xstrdup("prefect");
	t->started_ms = now_ms();
	t->start_timeout = 300;
	t->poll_interval = 5;
	r = xcalloc(1, sizeof(*r));
	r->agent = a;
	r->jrec = *rec;			/* now owned by the run */
	memset(rec, 0, sizeof(*rec));
	rec->lock_fd = -1;
	strlcpy_(r->id, r->jrec.id, sizeof(r->id));
	r->name = xstrdup(r->jrec.name);
	r->flow_run = cJSON_Duplicate(flow_run, 1);
	r->pidfd = -1;
	r->ecs = t;
	r->holds_slot = 1;
	a->slots_used++;
	r->next = a->runs;
	a->runs = r;
	r->step = STEP_RUNNING;
	log_info("flow run %s (%s): re-attached to ECS task %s", r->id,
	    r->name, r->jrec.infra);
	run_log(r, PF_LEVEL_INFO, "Worker '%s' re-attached to flow run '%s' "
	    "(ECS task %s) from a worker that stopped", a->conf.name, r->name,
	    t->arn);
	watch_arm(a, 0.1);
	return 0;
}

void
ecs_agent_cleanup(struct agent *a)
{
	if (a->ecs_timer != NULL)
		loop_timer_cancel(a->loop, a->ecs_timer);
	a->ecs_timer = NULL;
	cJSON_Delete(a->ecs_taskdefs);
	a->ecs_taskdefs = NULL;
}
