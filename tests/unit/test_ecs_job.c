/*
 * test_ecs_job.c: the ECS task definition and RunTask request built from
 * prefect-aws 0.7.12's base job template, as ecs_worker.py builds them.
 */
#include <stdlib.h>
#include <string.h>

#include "worker/worker.h"
#include "worker/ecs.h"
#include "aws/ecs.h"
#include "common/json.h"
#include "common/util.h"
#include "t.h"

static const char *FLOW_RUN = "{\"id\":\"r1\",\"name\":\"brave-fox\","
    "\"flow_id\":\"f1\",\"deployment_id\":\"d1\"}";
static const char *FLOW = "{\"id\":\"f1\",\"name\":\"hello\"}";

struct built {
	struct ecs_job	 job;
	cJSON		*flow_run, *deployment, *flow, *env, *cfg;
	int		 rc;
};

static void
build(struct built *b, const char *job_variables, char *err, size_t errlen)
{
	cJSON		*tmpl = ecs_base_job_template();
	char		*dep = xasprintf("{\"id\":\"d1\",\"name\":\"dep\","
	    "\"entrypoint\":\"flows/hello.c:hello\",\"updated\":"
	    "\"2026-12-07T01:02:03.000004Z\",\"job_variables\":%s}",
	    job_variables);
	struct ecs_ctx	 x;

	memset(b, 0, sizeof(*b));
	b->flow_run = cJSON_Parse(FLOW_RUN);
	b->deployment = cJSON_Parse(dep);
	b->flow = cJSON_Parse(FLOW);
	b->env = json_strings("PREFECT_API_URL", "http://api", NULL);
	b->cfg = jobconf_render(tmpl, b->deployment, b->flow_run, err, errlen);
	x = (struct ecs_ctx){ "pool", "p1", "w", "us-east-1", "3.9.1",
	    b->flow_run, b->deployment, b->flow, b->env, "pfagent execute" };
	b->rc = b->cfg ? ecs_job_prepare(&b->job, b->cfg, &x, err, errlen) : -1;
	if (b->rc == 0)
		ecs_job_prepare_run(&b->job, b->cfg, &x);
	free(dep);
	cJSON_Delete(tmpl);
}

static void
built_free(struct built *b)
{
	ecs_job_cleanup(&b->job);
	cJSON_Delete(b->flow_run);
	cJSON_Delete(b->deployment);
	cJSON_Delete(b->flow);
	cJSON_Delete(b->env);
	cJSON_Delete(b->cfg);
}

static const cJSON *
at(const cJSON *o, const char *path)
{
	char	 buf[200], *save = NULL;

	strlcpy_(buf, path, sizeof(buf));
	for (char *k = strtok_r(buf, ".", &save); k && o;
	    k = strtok_r(NULL, ".", &save))
		o = cJSON_IsArray(o) ? cJSON_GetArrayItem(o, atoi(k)) :
		    cJSON_GetObjectItemCaseSensitive(o, k);
	return o;
}

static const char *
str_at(const cJSON *o, const char *path)
{
	const cJSON	*v = at(o, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
main(void)
{
	char	err[300];

	TEST("defaults: FARGATE, family from pool and deployment, 1024/2048") {
		struct built b;

		build(&b, "{}", err, sizeof(err));
		CHECK(b.rc == 0);
		CHECK_STR(str_at(b.job.task_definition, "family"),
		    "prefect_pool_d1");
		CHECK_STR(str_at(b.job.task_definition, "cpu"), "1024");
		CHECK_STR(str_at(b.job.task_definition, "memory"), "2048");
		CHECK_STR(str_at(b.job.task_definition, "networkMode"),
		    "awsvpc");
		CHECK_STR(str_at(b.job.task_definition,
		    "containerDefinitions.0.name"), "prefect");
		CHECK_STR(str_at(b.job.task_definition,
		    "containerDefinitions.0.image"), "pfagent:" PFAGENT_VERSION);
		ecs_job_finish_request(&b.job, b.job.task_definition, "arn:td:1",
		    1);
		CHECK_STR(str_at(b.job.run_request, "launchType"), "FARGATE");
		CHECK_STR(str_at(b.job.run_request, "taskDefinition"),
		    "arn:td:1");
		CHECK_STR(str_at(b.job.run_request,
		    "overrides.containerOverrides.0.command.1"), "execute");
		CHECK_STR(str_at(b.job.run_request, "tags.0.key"),
		    "prefect.io/flow-run-id");
		CHECK_STR(str_at(b.job.run_request, "tags.10.value"),
		    "2026-12-07T01:02:03.000004+00:00");
		built_free(&b);
	}
	TEST("EC2: container-level cpu and memory, no task-level network") {
		struct built b;

		build(&b, "{\"launch_type\":\"EC2\",\"cpu\":256,\"memory\":512}",
		    err, sizeof(err));
		CHECK(b.rc == 0);
		CHECK(at(b.job.task_definition, "networkMode") == NULL);
		CHECK(json_num(at(b.job.task_definition,
		    "containerDefinitions.0"), "memory", 0) == 512);
		CHECK_STR(str_at(b.job.task_definition, "cpu"), "256");
		built_free(&b);
	}
	TEST("FARGATE_SPOT: a capacity provider strategy, no launch type") {
		struct built b;

		build(&b, "{\"launch_type\":\"FARGATE_SPOT\"}", err,
		    sizeof(err));
		CHECK(b.rc == 0);
		ecs_job_finish_request(&b.job, b.job.task_definition, "a", 0);
		CHECK(at(b.job.run_request, "launchType") == NULL);
		CHECK_STR(str_at(b.job.run_request,
		    "capacityProviderStrategy.0.capacityProvider"),
		    "FARGATE_SPOT");
		built_free(&b);
	}
	TEST("cloudwatch logs need an execution role; options need logs") {
		struct built b;

		build(&b, "{\"configure_cloudwatch_logs\":true}", err,
		    sizeof(err));
		CHECK(b.rc == -1 && strstr(err, "execution_role_arn") != NULL);
		built_free(&b);
		build(&b, "{\"configure_cloudwatch_logs\":true,"
		    "\"execution_role_arn\":\"arn:role\","
		    "\"cloudwatch_logs_prefix\":\"px\"}", err, sizeof(err));
		CHECK(b.rc == 0);
		CHECK_STR(str_at(b.job.task_definition, "containerDefinitions.0."
		    "logConfiguration.options.awslogs-stream-prefix"), "px");
		built_free(&b);
		build(&b, "{\"network_configuration\":{\"subnets\":[\"s\"]}}",
		    err, sizeof(err));
		CHECK(b.rc == -1 && strstr(err, "vpc_id") != NULL);
		built_free(&b);
	}
	TEST("secret ARNs replace the API key in the environment") {
		struct built b;

		build(&b, "{\"prefect_api_key_secret_arn\":\"arn:sec\"}", err,
		    sizeof(err));
		CHECK(b.rc == 0);
		CHECK_STR(str_at(b.job.task_definition,
		    "containerDefinitions.0.secrets.0.valueFrom"), "arn:sec");
		built_free(&b);
	}
	TEST("stream_output: the awslogs group and stream of the container") {
		struct built b;
		const char *g, *p, *rg;
		char *s;

		build(&b, "{\"configure_cloudwatch_logs\":true,"
		    "\"execution_role_arn\":\"arn:role\","
		    "\"stream_output\":true}", err, sizeof(err));
		CHECK(b.rc == 0);
		/* 0.7.12's template pins it (false): the pool's to change. */
		CHECK(!b.job.stream_output);
		CHECK(ecs_awslogs_of(b.job.task_definition, "prefect", &g, &p,
		    &rg) == 1);
		CHECK_STR(g, "prefect");
		CHECK_STR(p, "prefect-logs_pool_d1");
		CHECK_STR(rg, "us-east-1");
		CHECK(ecs_awslogs_of(b.job.task_definition, "other", &g, &p,
		    &rg) == 0);
		s = ecs_log_stream(p, "prefect", "arn:aws:ecs:us-east-1:1:task/"
		    "pf-cluster/0123abcd");
		CHECK_STR(s, "prefect-logs_pool_d1/prefect/0123abcd");
		free(s);
		built_free(&b);
		build(&b, "{\"stream_output\":true}", err, sizeof(err));
		CHECK(b.rc == 0);
		CHECK(ecs_awslogs_of(b.job.task_definition, "prefect", &g, &p,
		    &rg) == 0);
		built_free(&b);
	}
	TEST("tag slugs: prefect-aws's character set, dashes collapsed") {
		char *s = ecs_tag_slug("my flow -- run!");

		CHECK_STR(s, "my-flow-run");
		free(s);
		s = ecs_tag_slug("a:b/c=d+e@f.g_h");
		CHECK_STR(s, "a:b/c=d+e@f.g_h");
		free(s);
	}
	TEST("task definitions compare as ECS stores them") {
		cJSON *a = cJSON_Parse("{\"family\":\"f\",\"containerDefinitions\":"
		    "[{\"name\":\"p\",\"environment\":[{\"name\":\"B\",\"value\":"
		    "\"2\"},{\"name\":\"A\",\"value\":\"1\"}]}]}");
		cJSON *b = cJSON_Parse("{\"family\":\"f\",\"revision\":3,"
		    "\"status\":\"ACTIVE\",\"networkMode\":\"bridge\","
		    "\"volumes\":[],\"containerDefinitions\":[{\"name\":\"p\","
		    "\"essential\":true,\"environment\":[{\"name\":\"A\","
		    "\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]}]}");
		cJSON *c = cJSON_Parse("{\"family\":\"f\",\"cpu\":\"1\"}");

		CHECK(ecs_task_definitions_equal(a, b));
		CHECK(!ecs_task_definitions_equal(a, c));
		cJSON_Delete(a);
		cJSON_Delete(b);
		cJSON_Delete(c);
	}
	TEST("XML values, for EC2's answers") {
		const char *x = "<a><subnetId>s-1</subnetId><x/><subnetId>s-2"
		    "</subnetId></a>";
		cJSON *v = aws_xml_values(x, strlen(x), "subnetId");

		CHECK(cJSON_GetArraySize(v) == 2);
		CHECK_STR(cJSON_GetArrayItem(v, 1)->valuestring, "s-2");
		cJSON_Delete(v);
	}
	return t_done();
}
