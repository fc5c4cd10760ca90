/*
 * ecs_job.c: a flow run's ECS task definition and RunTask request, built
 * from the rendered job configuration exactly as prefect-aws 0.7.12's
 * ecs_worker.py builds them (_prepare_task_definition,
 * _prepare_task_run_request, _task_definitions_equal), so a pool made by
 * `prefect work-pool create --type ecs` means the same under pfagent.
 * No I/O: the network lookup and the calls are in ecs.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker.h"
#include "worker/ecs.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"
#include "deployments/shell_step.h"

#define DEFAULT_CONTAINER	"prefect"
#define DEFAULT_CPU		1024
#define DEFAULT_MEMORY		2048
#define DEFAULT_LAUNCH_TYPE	"FARGATE"
#define DEFAULT_FAMILY		"prefect"
#define DEFAULT_START_TIMEOUT	300
#define DEFAULT_POLL_INTERVAL	5.0

static cJSON *
item(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Python truthiness of a JSON value. */
static int
truthy(const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return 0;
	if (cJSON_IsString(v))
		return *v->valuestring != '\0';
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		return v->child != NULL;
	return 1;
}

static void
set(cJSON *o, const char *k, cJSON *v)
{
	if (item(o, k) != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, v);
	else
		cJSON_AddItemToObject(o, k, v);
}

static void
setdefault(cJSON *o, const char *k, cJSON *v)
{
	if (item(o, k) == NULL)
		cJSON_AddItemToObject(o, k, v);
	else
		cJSON_Delete(v);
}

/* Python's str() of a scalar, as the API wants task-level cpu/memory. */
static char *
text_of(const cJSON *v)
{
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (cJSON_IsNumber(v) && v->valuedouble == (long long)v->valuedouble)
		return xasprintf("%lld", (long long)v->valuedouble);
	return json_print(v);
}

static long long
int_of(const cJSON *v)
{
	if (cJSON_IsString(v))
		return strtoll(v->valuestring, NULL, 10);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/* _drop_empty_keys_from_dict: None, "", [] and {} go; False stays. */
static void
drop_empty(cJSON *o)
{
	cJSON	*v, *next;

	for (v = o ? o->child : NULL; v != NULL; v = next) {
		next = v->next;
		if (!truthy(v) && !cJSON_IsFalse(v)) {
			cJSON_DeleteItemFromObjectCaseSensitive(o, v->string);
			continue;
		}
		if (cJSON_IsObject(v))
			drop_empty(v);
		else if (cJSON_IsArray(v) &&
		    strcmp(v->string, "capacity_provider_strategy") != 0) {
			cJSON *e;

			cJSON_ArrayForEach(e, v)
				if (cJSON_IsObject(e))
					drop_empty(e);
		}
	}
}

static cJSON *
container_named(const cJSON *containers, const char *name)
{
	cJSON	*c;

	cJSON_ArrayForEach(c, containers) {
		const char *n = json_str(c, "name");

		if (n != NULL && strcmp(n, name) == 0)
			return c;
	}
	return NULL;
}

/* _container_name_from_task_definition */
static const char *
container_name_of(const cJSON *td)
{
	const cJSON	*cds = item(td, "containerDefinitions");

	if (container_named(cds, DEFAULT_CONTAINER) != NULL)
		return DEFAULT_CONTAINER;
	if (cJSON_GetArraySize(cds) > 0)
		return json_str(cJSON_GetArrayItem(cds, 0), "name");
	return NULL;
}

char *
ecs_tag_slug(const char *s)
{
	struct buf	b;
	int		dash = 0;

	buf_init(&b, 65536);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int ok = isalnum(*p) || strchr("_./=+:@-", *p) != NULL ||
		    *p >= 0x80;

		if (!ok || *p == '-') {
			dash = 1;
			continue;
		}
		if (dash && b.len > 0)
			buf_putc(&b, '-');
		dash = 0;
		buf_putc(&b, (char)*p);
	}
	return buf_finish(&b);
}

/* --- the task definition --- */

static int
orchestration_container(cJSON *td, const char *name, cJSON **out, char *err,
    size_t errlen)
{
	cJSON	*cds = item(td, "containerDefinitions"), *c;

	if ((c = container_named(cds, name)) != NULL) {
		*out = c;
		return 0;
	}
	if (strcmp(name, DEFAULT_CONTAINER) != 0)
		return errorf(err, errlen, "Container '%s' not found in task "
		    "definition.", name);
	cJSON_ArrayForEach(c, cds)
		if (item(c, "name") == NULL) {
			cJSON_AddStringToObject(c, "name", name);
			*out = c;
			return 0;
		}
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddItemToArray(cds, c);
	*out = c;
	return 0;
}

static void
cloudwatch_logs(cJSON *container, const cJSON *cfg, const struct ecs_ctx *x)
{
	const char	*dep = json_str(x->flow_run, "deployment_id");
	const char	*pfx = json_str(cfg, "cloudwatch_logs_prefix");
	char		*def = xasprintf("prefect-logs_%s_%s", x->pool_name,
	    dep ? dep : json_str(x->flow_run, "flow_id"));
	cJSON		*lc = cJSON_CreateObject(), *opt, *o;

	cJSON_AddStringToObject(lc, "logDriver", "awslogs");
	opt = cJSON_AddObjectToObject(lc, "options");
	cJSON_AddStringToObject(opt, "awslogs-create-group", "true");
	cJSON_AddStringToObject(opt, "awslogs-group", "prefect");
	cJSON_AddStringToObject(opt, "awslogs-region", x->region);
	cJSON_AddStringToObject(opt, "awslogs-stream-prefix",
	    pfx && *pfx ? pfx : def);
	cJSON_ArrayForEach(o, item(cfg, "cloudwatch_logs_options"))
		set(opt, o->string, cJSON_Duplicate(o, 1));
	set(container, "logConfiguration", lc);
	free(def);
}

int
ecs_awslogs_of(const cJSON *td, const char *container, const char **group,
    const char **prefix, const char **region)
{
	const cJSON	*c, *lc = NULL, *opt;
	const char	*drv;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(td,
	    "containerDefinitions"))
		if (json_str(c, "name") != NULL &&
		    strcmp(json_str(c, "name"), container) == 0)
			lc = json_obj(c, "logConfiguration");
	drv = json_str(lc, "logDriver");
	if (drv == NULL || strcmp(drv, "awslogs") != 0)
		return 0;
	opt = json_obj(lc, "options");
	*group = json_str(opt, "awslogs-group");
	*prefix = json_str(opt, "awslogs-stream-prefix");
	*region = json_str(opt, "awslogs-region");
	return *group != NULL && **group != '\0' && *prefix != NULL &&
	    **prefix != '\0';
}

char *
ecs_log_stream(const char *prefix, const char *container, const char *arn)
{
	const char	*id = strrchr(arn, '/');

	return xasprintf("%s/%s/%s", prefix, container, id ? id + 1 : arn);
}

static void
secrets_of(cJSON *container, const cJSON *cfg)
{
	static const char *const names[][2] = {
		{ "PREFECT_API_KEY", "prefect_api_key_secret_arn" },
		{ "PREFECT_API_AUTH_STRING",
		  "prefect_api_auth_string_secret_arn" },
	};
	cJSON	*env = item(container, "environment"), *secrets, *s, *e, *next;

	if (!truthy(item(cfg, names[0][1])) && !truthy(item(cfg, names[1][1])))
		return;
	if ((secrets = item(container, "secrets")) == NULL)
		secrets = cJSON_AddArrayToObject(container, "secrets");
	for (size_t i = 0; i < 2; i++) {
		const char	*arn = json_str(cfg, names[i][1]);
		int		 done = 0;

		if (arn == NULL || *arn == '\0')
			continue;
		for (e = env ? env->child : NULL; e != NULL; e = next) {
			next = e->next;
			if (json_str(e, "name") != NULL &&
			    strcmp(json_str(e, "name"), names[i][0]) == 0)
				cJSON_Delete(cJSON_DetachItemViaPointer(env, e));
		}
		cJSON_ArrayForEach(s, secrets)
			if (json_str(s, "name") != NULL &&
			    strcmp(json_str(s, "name"), names[i][0]) == 0) {
				set(s, "valueFrom", cJSON_CreateString(arn));
				done = 1;
			}
		if (!done)
			cJSON_AddItemToArray(secrets, json_strings("name",
			    names[i][0], "valueFrom", arn, NULL));
	}
}

/* Container environment entries the job's env unsets (null) go. */
static void
drop_unset_env(cJSON *container, const cJSON *cfg)
{
	cJSON	*env = item(container, "environment"), *e, *next;

	for (e = env ? env->child : NULL; e != NULL; e = next) {
		const cJSON	*u = item(item(cfg, "env"), json_str(e, "name") ?
		    json_str(e, "name") : "");

		next = e->next;
		if ((u != NULL && cJSON_IsNull(u)) || item(e, "value") == NULL ||
		    cJSON_IsNull(item(e, "value")))
			cJSON_Delete(cJSON_DetachItemViaPointer(env, e));
	}
}

static void
cpu_memory(cJSON *td, cJSON *container, const char *launch_type)
{
	const cJSON	*c = item(td, "cpu"), *m = item(td, "memory");
	cJSON		*cpu = truthy(c) ? cJSON_Duplicate(c, 1) :
			    cJSON_CreateNumber(DEFAULT_CPU);
	cJSON		*mem = truthy(m) ? cJSON_Duplicate(m, 1) :
			    cJSON_CreateNumber(DEFAULT_MEMORY);
	char		*s;

	if (launch_type != NULL && (strcmp(launch_type, "FARGATE") == 0 ||
	    strcmp(launch_type, "FARGATE_SPOT") == 0)) {
		cJSON *rc = item(td, "requiresCompatibilities"), *e;
		int    has = 0;

		set(td, "cpu", cJSON_CreateString(s = text_of(cpu)));
		free(s);
		set(td, "memory", cJSON_CreateString(s = text_of(mem)));
		free(s);
		if (rc == NULL)
			rc = cJSON_AddArrayToObject(td, "requiresCompatibilities");
		cJSON_ArrayForEach(e, rc)
			has |= cJSON_IsString(e) &&
			    strcmp(e->valuestring, "FARGATE") == 0;
		if (!has)
			cJSON_AddItemToArray(rc, cJSON_CreateString("FARGATE"));
		setdefault(td, "networkMode", cJSON_CreateString("awsvpc"));
	} else {
		setdefault(container, "cpu", cJSON_CreateNumber(
		    (double)int_of(cpu)));
		setdefault(container, "memory", cJSON_CreateNumber(
		    (double)int_of(mem)));
	}
	if (truthy(item(td, "cpu")) && !cJSON_IsString(item(td, "cpu"))) {
		set(td, "cpu", cJSON_CreateString(s = text_of(item(td, "cpu"))));
		free(s);
	}
	if (truthy(item(td, "memory")) && !cJSON_IsString(item(td, "memory"))) {
		set(td, "memory", cJSON_CreateString(s = text_of(item(td,
		    "memory"))));
		free(s);
	}
	cJSON_Delete(cpu);
	cJSON_Delete(mem);
}

/* _prepare_task_definition */
static cJSON *
task_definition(const cJSON *cfg, const struct ecs_ctx *x,
    const char *container_name, const char *default_image, char *err,
    size_t errlen)
{
	cJSON		*td = cJSON_Duplicate(item(cfg, "task_definition"), 1);
	cJSON		*cds, *c, *next, *container = NULL;
	const char	*launch = json_str(item(cfg, "task_run_request"),
	    "launchType");
	const char	*dep = json_str(x->flow_run, "deployment_id");

	if (!cJSON_IsObject(td)) {
		cJSON_Delete(td);
		td = cJSON_CreateObject();
	}
	if (!cJSON_IsArray(cds = item(td, "containerDefinitions"))) {
		cJSON_DeleteItemFromObjectCaseSensitive(td,
		    "containerDefinitions");
		cds = cJSON_AddArrayToObject(td, "containerDefinitions");
	}
	for (c = cds->child; c != NULL; c = next) {
		next = c->next;
		if (!truthy(c))
			cJSON_Delete(cJSON_DetachItemViaPointer(cds, c));
	}
	if (orchestration_container(td, container_name, &container, err,
	    errlen) == -1) {
		cJSON_Delete(td);
		return NULL;
	}
	setdefault(container, "image", cJSON_CreateString(default_image));
	drop_unset_env(container, cfg);
	if (truthy(item(cfg, "configure_cloudwatch_logs")))
		cloudwatch_logs(container, cfg, x);
	if (!truthy(item(td, "family"))) {
		char *f = xasprintf(DEFAULT_FAMILY "_%s_%s", x->pool_name,
		    dep ? dep : json_str(x->flow_run, "flow_id"));

		set(td, "family", cJSON_CreateString(f));
		free(f);
	}
	cpu_memory(td, container, launch);
	drop_empty(td);
	secrets_of(container, cfg);
	return td;
}

/* The ECSJobConfiguration validators that need no AWS call. */
static int
validate(const cJSON *cfg, char *err, size_t errlen)
{
	const cJSON	*trr = item(cfg, "task_run_request");
	const cJSON	*td = item(cfg, "task_definition");

	if (!truthy(item(trr, "taskDefinition")) && !truthy(td))
		return errorf(err, errlen, "A task definition must be provided "
		    "if a task definition ARN is not present on the task run "
		    "request.");
	if (truthy(item(cfg, "configure_cloudwatch_logs")) &&
	    !truthy(item(cfg, "execution_role_arn")) &&
	    !truthy(item(trr, "taskDefinition")) &&
	    !truthy(item(td, "executionRoleArn")))
		return errorf(err, errlen, "An `execution_role_arn` must be "
		    "provided to use `configure_cloudwatch_logs` or "
		    "`stream_logs`.");
	if (truthy(item(cfg, "cloudwatch_logs_options")) &&
	    !truthy(item(cfg, "configure_cloudwatch_logs")))
		return errorf(err, errlen, "`configure_cloudwatch_log` must be "
		    "enabled to use `cloudwatch_logs_options`.");
	if (truthy(item(cfg, "network_configuration")) &&
	    !truthy(item(cfg, "vpc_id")))
		return errorf(err, errlen, "You must provide a `vpc_id` to "
		    "enable custom `network_configuration`.");
	return 0;
}

static char *
str_or_null(const cJSON *cfg, const char *k)
{
	const char	*s = json_str(cfg, k);

	return s && *s ? xstrdup(s) : NULL;
}

static double
seconds_of(const cJSON *cfg, const char *k, double def)
{
	double	v = json_num(cfg, k, 0);

	return v > 0 ? v : def;
}

int
ecs_job_prepare(struct ecs_job *j, const cJSON *cfg, const struct ecs_ctx *x,
    char *err, size_t errlen)
{
	const cJSON	*td = item(cfg, "task_definition");
	const char	*name = json_str(cfg, "container_name");
	char		*image;

	memset(j, 0, sizeof(*j));
	if (validate(cfg, err, errlen) == -1)
		return -1;
	if (name == NULL || *name == '\0')
		name = container_name_of(td);
	j->container_name = xstrdup(name ? name : DEFAULT_CONTAINER);
	j->cluster = str_or_null(cfg, "cluster");
	j->vpc_id = str_or_null(cfg, "vpc_id");
	if (truthy(item(cfg, "network_configuration")))
		j->network_configuration = cJSON_Duplicate(item(cfg,
		    "network_configuration"), 1);
	if (cJSON_IsObject(item(cfg, "aws_credentials")))
		j->aws_credentials = cJSON_Duplicate(item(cfg,
		    "aws_credentials"), 1);
	j->match_latest_revision = truthy(item(cfg,
	    "match_latest_revision_in_family"));
	j->auto_deregister = truthy(item(cfg,
	    "auto_deregister_task_definition"));
	j->stream_output = truthy(item(cfg, "stream_output"));
	j->start_timeout = seconds_of(cfg, "task_start_timeout_seconds",
	    DEFAULT_START_TIMEOUT);
	j->poll_interval = seconds_of(cfg, "task_watch_poll_interval",
	    DEFAULT_POLL_INTERVAL);
	j->run_request = cJSON_Duplicate(item(cfg, "task_run_request"), 1);
	if (!cJSON_IsObject(j->run_request)) {
		cJSON_Delete(j->run_request);
		j->run_request = cJSON_CreateObject();
	}
	if (truthy(item(j->run_request, "taskDefinition")))
		return 0;	/* retrieved, not built (ecs.c) */
	image = has_python_entrypoint(x->deployment) ?
	    xstrdup("prefecthq/prefect:3-latest") :
	    xstrdup("pfagent:" PFAGENT_VERSION);
	j->task_definition = task_definition(cfg, x, j->container_name, image,
	    err, errlen);
	free(image);
	return j->task_definition != NULL ? 0 : -1;
}

void
ecs_job_cleanup(struct ecs_job *j)
{
	cJSON_Delete(j->task_definition);
	cJSON_Delete(j->run_request);
	cJSON_Delete(j->network_configuration);
	cJSON_Delete(j->aws_credentials);
	cJSON_Delete(j->env);
	cJSON_Delete(j->labels);
	free(j->command);
	free(j->cluster);
	free(j->container_name);
	free(j->vpc_id);
	memset(j, 0, sizeof(*j));
}

/* --- prepare_for_flow_run: env, labels, command --- */

static void
put(cJSON *o, const char *k, const char *v)
{
	if (v != NULL)
		set(o, k, cJSON_CreateString(v));
}

static cJSON *
env_of(const cJSON *cfg, const struct ecs_ctx *x)
{
	cJSON		*env = cJSON_Duplicate(x->base_env, 1), *e, *next;
	const cJSON	*v;

	if (!cJSON_IsObject(env)) {
		cJSON_Delete(env);
		env = cJSON_CreateObject();
	}
	put(env, "PREFECT__FLOW_RUN_ID", json_str(x->flow_run, "id"));
	put(env, "PREFECT__WORKER_NAME", x->worker_name);
	put(env, "PREFECT__FLOW_ID", json_str(x->flow_run, "flow_id"));
	put(env, "PREFECT__FLOW_NAME", json_str(x->flow, "name"));
	put(env, "PREFECT__DEPLOYMENT_ID", json_str(x->flow_run,
	    "deployment_id"));
	put(env, "PREFECT__DEPLOYMENT_NAME", json_str(x->deployment, "name"));
	cJSON_ArrayForEach(v, item(cfg, "env"))
		set(env, v->string, cJSON_Duplicate(v, 1));
	for (e = env->child; e != NULL; e = next) {
		next = e->next;
		if (cJSON_IsNull(e))
			cJSON_Delete(cJSON_DetachItemViaPointer(env, e));
		else if (!cJSON_IsString(e)) {
			char *t = text_of(e);

			set(env, e->string, cJSON_CreateString(t));
			free(t);
		}
	}
	return env;
}

/* "2026-12-07T01:02:03.123456Z" as Python's isoformat() in UTC. */
static char *
iso_utc(const char *ts)
{
	size_t	n = strlen(ts);

	if (n > 0 && ts[n - 1] == 'Z')
		return xasprintf("%.*s+00:00", (int)(n - 1), ts);
	return xstrdup(ts);
}

static cJSON *
labels_of(const cJSON *cfg, const struct ecs_ctx *x)
{
	cJSON		*l = cJSON_CreateObject();
	const cJSON	*v;
	const char	*upd = json_str(x->deployment, "updated");

	put(l, "prefect.io/flow-run-id", json_str(x->flow_run, "id"));
	put(l, "prefect.io/flow-run-name", json_str(x->flow_run, "name"));
	put(l, "prefect.io/version", x->version);
	put(l, "prefect.io/work-pool-name", x->pool_name);
	put(l, "prefect.io/work-pool-id", x->pool_id);
	put(l, "prefect.io/worker-name", x->worker_name);
	put(l, "prefect.io/flow-id", json_str(x->flow, "id"));
	put(l, "prefect.io/flow-name", json_str(x->flow, "name"));
	put(l, "prefect.io/deployment-id", json_str(x->deployment, "id"));
	put(l, "prefect.io/deployment-name", json_str(x->deployment, "name"));
	if (x->deployment != NULL && upd != NULL) {
		char *u = iso_utc(upd);

		put(l, "prefect.io/deployment-updated", u);
		free(u);
	}
	cJSON_ArrayForEach(v, item(cfg, "labels"))
		set(l, v->string, cJSON_Duplicate(v, 1));
	return l;
}

int
ecs_job_prepare_run(struct ecs_job *j, const cJSON *cfg,
    const struct ecs_ctx *x)
{
	const char	*cmd = json_str(cfg, "command");

	j->env = env_of(cfg, x);
	j->labels = labels_of(cfg, x);
	j->command = xstrdup(cmd && *cmd ? cmd : x->default_command);
	return 0;
}

/* --- the RunTask request --- */

static void
launch_type(cJSON *req, const cJSON *td)
{
	const cJSON	*rc = item(td, "requiresCompatibilities"), *e;
	int		 ec2 = 0;
	const char	*lt = json_str(req, "launchType");

	cJSON_ArrayForEach(e, rc)
		ec2 |= cJSON_IsString(e) && strcmp(e->valuestring, "EC2") == 0;
	if ((lt == NULL || *lt == '\0') && !ec2)
		set(req, "launchType", cJSON_CreateString(DEFAULT_LAUNCH_TYPE));
	else if (lt == NULL || *lt == '\0')
		cJSON_DeleteItemFromObjectCaseSensitive(req, "launchType");
	if (truthy(item(req, "capacityProviderStrategy")))
		cJSON_DeleteItemFromObjectCaseSensitive(req, "launchType");
	else if ((lt = json_str(req, "launchType")) != NULL &&
	    strcmp(lt, "FARGATE_SPOT") == 0) {
		cJSON *cps = cJSON_CreateArray(), *p = cJSON_CreateObject();

		cJSON_DeleteItemFromObjectCaseSensitive(req, "launchType");
		cJSON_AddStringToObject(p, "capacityProvider", "FARGATE_SPOT");
		cJSON_AddNumberToObject(p, "weight", 1);
		cJSON_AddItemToArray(cps, p);
		set(req, "capacityProviderStrategy", cps);
	}
}

static cJSON *
env_list(const cJSON *env)
{
	cJSON		*l = cJSON_CreateArray();
	const cJSON	*e;

	cJSON_ArrayForEach(e, env)
		if (cJSON_IsString(e))
			cJSON_AddItemToArray(l, json_strings("name", e->string,
			    "value", e->valuestring, NULL));
	return l;
}

static void
container_overrides(struct ecs_job *j, cJSON *overrides)
{
	cJSON	*cos = item(overrides, "containerOverrides"), *c, *next, *orch;
	char	**words, err[200];

	if (!cJSON_IsArray(cos))
		return;
	if ((c = cJSON_GetArrayItem(cos, 0)) != NULL && !truthy(item(c, "name")))
		set(c, "name", cJSON_CreateString(j->container_name));
	if ((orch = container_named(cos, j->container_name)) != NULL &&
	    j->command != NULL) {
		cJSON *argv = cJSON_CreateArray();

		if ((words = shell_split(j->command, err, sizeof(err))) != NULL)
			for (char **w = words; *w; w++)
				cJSON_AddItemToArray(argv,
				    cJSON_CreateString(*w));
		shell_words_free(words);
		set(orch, "command", argv);
	}
	cJSON_ArrayForEach(c, cos) {
		cJSON *env = item(c, "environment");

		set(c, "environment", cJSON_IsObject(env) ? env_list(env) :
		    cJSON_IsArray(env) ? cJSON_Duplicate(env, 1) :
		    cJSON_CreateArray());
	}
	if (orch != NULL && cJSON_GetArraySize(j->env) > 0)
		set(orch, "environment", env_list(j->env));
	for (c = cos->child; c != NULL; c = next) {
		next = c->next;
		if (!truthy(c))
			cJSON_Delete(cJSON_DetachItemViaPointer(cos, c));
	}
}

static void
tags(struct ecs_job *j, int registered)
{
	cJSON		*t = cJSON_CreateArray();
	const cJSON	*l;

	cJSON_ArrayForEach(l, j->labels) {
		char *k, *v;

		if (cJSON_IsNull(l))
			continue;
		k = ecs_tag_slug(l->string);
		v = cJSON_IsString(l) ? ecs_tag_slug(l->valuestring) :
		    text_of(l);
		cJSON_AddItemToArray(t, json_strings("key", k, "value", v,
		    NULL));
		free(k);
		free(v);
	}
	if (registered && j->auto_deregister)
		cJSON_AddItemToArray(t, json_strings("key",
		    "prefect.io/degregister-task-definition", "value", "true",
		    NULL));
	if (cJSON_GetArraySize(t) > 0)
		set(j->run_request, "tags", t);
	else
		cJSON_Delete(t);
}

void
ecs_job_finish_request(struct ecs_job *j, const cJSON *td, const char *arn,
    int registered)
{
	cJSON	*req = j->run_request, *ov;
	char	*s;

	setdefault(req, "taskDefinition", cJSON_CreateString(arn));
	if (j->cluster != NULL && !truthy(item(req, "cluster")))
		set(req, "cluster", cJSON_CreateString(j->cluster));
	launch_type(req, td);
	if ((ov = item(req, "overrides")) != NULL) {
		container_overrides(j, ov);
		if (truthy(item(ov, "cpu"))) {
			set(ov, "cpu", cJSON_CreateString(s = text_of(item(ov,
			    "cpu"))));
			free(s);
		}
		if (truthy(item(ov, "memory"))) {
			set(ov, "memory", cJSON_CreateString(s =
			    text_of(item(ov, "memory"))));
			free(s);
		}
	}
	tags(j, registered);
}

/* --- _task_definitions_equal --- */

static int
by_key(const void *a, const void *b, const char *k)
{
	const char	*x = json_str(*(cJSON *const *)a, k);
	const char	*y = json_str(*(cJSON *const *)b, k);

	return strcmp(x ? x : "", y ? y : "");
}

static int by_name(const void *a, const void *b) { return by_key(a, b, "name"); }
static int by_value(const void *a, const void *b) { return by_key(a, b, "value"); }

static void
sort_array(cJSON *o, const char *k, int (*cmp)(const void *, const void *))
{
	cJSON	*arr = item(o, k), *e, **v, *sorted;
	int	 n = cJSON_GetArraySize(arr), i = 0;

	if (!cJSON_IsArray(arr) || n < 2)
		return;
	v = xcalloc((size_t)n, sizeof(*v));
	cJSON_ArrayForEach(e, arr)
		v[i++] = cJSON_Duplicate(e, 1);
	qsort(v, (size_t)n, sizeof(*v), cmp);
	sorted = cJSON_CreateArray();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(sorted, v[i]);
	free(v);
	set(o, k, sorted);
}

static cJSON *
normalized(const cJSON *td)
{
	static const char *const post[] = { "compatibilities",
	    "taskDefinitionArn", "revision", "status", "requiresAttributes",
	    "registeredAt", "registeredBy", "deregisteredAt", NULL };
	cJSON	*t = cJSON_Duplicate(td, 1), *c;

	setdefault(t, "networkMode", cJSON_CreateString("bridge"));
	cJSON_ArrayForEach(c, item(t, "containerDefinitions")) {
		setdefault(c, "essential", cJSON_CreateTrue());
		sort_array(c, "environment", by_name);
		sort_array(c, "secrets", by_name);
		sort_array(c, "environmentFiles", by_value);
	}
	drop_empty(t);
	for (size_t i = 0; post[i] != NULL; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(t, post[i]);
	return t;
}

int
ecs_task_definitions_equal(const cJSON *a, const cJSON *b)
{
	cJSON	*x, *y;
	int	 eq;

	if (a == NULL || b == NULL)
		return a == b;
	x = normalized(a);
	y = normalized(b);
	eq = cJSON_Compare(x, y, 1);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return eq;
}
