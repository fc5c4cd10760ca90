/*
 * test_deploy_diff.c: what pfagent deploy compares and sends to servers
 * older than the one it follows (Prefect 3.0 and 3.4 answers, verbatim).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/deploy/diff.h"
#include "common/json.h"
#include "t.h"

/* Prefect 3.0.0's answer to a POST /deployments/ it does not take. */
static const char refusal_30[] =
    "{\"exception_message\":\"Invalid request received.\","
    "\"exception_detail\":["
    "{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"concurrency_options\"],"
    "\"msg\":\"Extra inputs are not permitted\",\"input\":null},"
    "{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"schedules\",0,"
    "\"parameters\"],\"msg\":\"Extra inputs are not permitted\","
    "\"input\":{}},"
    "{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"schedules\",0,"
    "\"slug\"],\"msg\":\"Extra inputs are not permitted\","
    "\"input\":\"morning\"},"
    "{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"schedules\",1,"
    "\"parameters\"],\"msg\":\"Extra inputs are not permitted\","
    "\"input\":{\"name\":\"Monday\"}},"
    "{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"x\"}],"
    "\"request_body\":{}}";

static const char body_30[] =
    "{\"name\":\"d\",\"concurrency_options\":null,\"schedules\":["
    "{\"schedule\":{\"interval\":60},\"parameters\":{},\"slug\":\"morning\","
    "\"active\":true},"
    "{\"schedule\":{\"interval\":60},\"parameters\":{\"name\":\"Monday\"},"
    "\"active\":true}]}";

int
main(void)
{
	TEST("inputs a 3.0 server refuses as extra are dropped, values named") {
		cJSON	*body = cJSON_Parse(body_30);
		cJSON	*answer = cJSON_Parse(refusal_30);
		cJSON	*lost = cJSON_CreateArray(), *s0, *s1;

		CHECK(deploy_drop_refused(body, answer, lost) == 4);
		CHECK(cJSON_GetObjectItem(body, "concurrency_options") == NULL);
		CHECK_STR(json_str(body, "name"), "d");
		s0 = cJSON_GetArrayItem(cJSON_GetObjectItem(body, "schedules"), 0);
		s1 = cJSON_GetArrayItem(cJSON_GetObjectItem(body, "schedules"), 1);
		CHECK(cJSON_GetObjectItem(s0, "slug") == NULL);
		CHECK(cJSON_GetObjectItem(s0, "parameters") == NULL);
		CHECK(cJSON_IsTrue(cJSON_GetObjectItem(s0, "active")));
		CHECK(cJSON_GetObjectItem(s1, "parameters") == NULL);
		CHECK(cJSON_GetObjectItem(s1, "schedule") != NULL);
		/* Only what held a value is worth a warning. */
		CHECK(cJSON_GetArraySize(lost) == 2);
		CHECK_STR(cJSON_GetArrayItem(lost, 0)->valuestring,
		    "schedules[0].slug");
		CHECK_STR(cJSON_GetArrayItem(lost, 1)->valuestring,
		    "schedules[1].parameters");
		/* Sent again, the same answer removes nothing more. */
		cJSON_Delete(lost);
		lost = cJSON_CreateArray();
		CHECK(deploy_drop_refused(body, answer, lost) == 0);
		CHECK(cJSON_GetArraySize(lost) == 0);
		cJSON_Delete(lost);
		cJSON_Delete(answer);
		cJSON_Delete(body);
	}
	TEST("other refusals and other answers drop nothing") {
		cJSON	*body = cJSON_Parse(body_30), *lost = cJSON_CreateArray();
		cJSON	*a1 = cJSON_Parse("{\"detail\":\"Not Found\"}");
		cJSON	*a2 = cJSON_Parse("{\"detail\":[{\"type\":"
		    "\"extra_forbidden\",\"loc\":[\"query\",\"x\"]}]}");
		cJSON	*a3 = cJSON_Parse("{\"detail\":[{\"type\":"
		    "\"extra_forbidden\",\"loc\":[\"body\",\"schedules\",7,"
		    "\"slug\"]}]}");

		CHECK(deploy_drop_refused(body, a1, lost) == 0);
		CHECK(deploy_drop_refused(body, a2, lost) == 0);
		CHECK(deploy_drop_refused(body, a3, lost) == 0);
		CHECK(deploy_drop_refused(body, NULL, lost) == 0);
		CHECK(cJSON_GetArraySize(lost) == 0);
		CHECK(cJSON_GetObjectItem(body, "concurrency_options") != NULL);
		cJSON_Delete(a1);
		cJSON_Delete(a2);
		cJSON_Delete(a3);
		cJSON_Delete(lost);
		cJSON_Delete(body);
	}
	TEST("FastAPI's own 422 detail is read too (replaces, 3.4)") {
		cJSON	*body = cJSON_Parse("{\"schedules\":[{\"replaces\":"
		    "\"old\",\"slug\":\"new\"}]}");
		cJSON	*answer = cJSON_Parse("{\"detail\":[{\"type\":"
		    "\"extra_forbidden\",\"loc\":[\"body\",\"schedules\",0,"
		    "\"replaces\"]}]}");
		cJSON	*lost = cJSON_CreateArray(), *s;

		CHECK(deploy_drop_refused(body, answer, lost) == 1);
		s = cJSON_GetArrayItem(cJSON_GetObjectItem(body, "schedules"), 0);
		CHECK(cJSON_GetObjectItem(s, "replaces") == NULL);
		CHECK_STR(json_str(s, "slug"), "new");
		CHECK_STR(cJSON_GetArrayItem(lost, 0)->valuestring,
		    "schedules[0].replaces");
		cJSON_Delete(lost);
		cJSON_Delete(answer);
		cJSON_Delete(body);
	}
	TEST("a schedule key the server lacks is not a difference") {
		cJSON	*want = cJSON_Parse("{\"schedule\":{\"interval\":60},"
		    "\"active\":true,\"slug\":\"morning\",\"parameters\":"
		    "{\"name\":\"Monday\"}}");
		cJSON	*have30 = cJSON_Parse("{\"id\":\"1\",\"schedule\":"
		    "{\"interval\":60.0},\"active\":true}");
		cJSON	*have = cJSON_Parse("{\"id\":\"1\",\"schedule\":"
		    "{\"interval\":60.0},\"active\":true,\"slug\":null,"
		    "\"parameters\":{}}");

		CHECK(deploy_same_schedule(want, have30));
		CHECK(!deploy_same_schedule(want, have));
		cJSON_Delete(want);
		cJSON_Delete(have30);
		cJSON_Delete(have);
	}
	TEST("the default queue by name, options without a grace (3.4)") {
		cJSON	*spec = cJSON_Parse("{\"work_queue_name\":null,"
		    "\"concurrency_options\":{\"collision_strategy\":"
		    "\"ENQUEUE\",\"grace_period_seconds\":120}}");
		cJSON	*cur34 = cJSON_Parse("{\"id\":\"d\",\"work_queue_name\":"
		    "\"default\",\"concurrency_options\":{\"collision_strategy\":"
		    "\"ENQUEUE\"}}");
		cJSON	*cur30 = cJSON_Parse("{\"id\":\"d\",\"work_queue_name\":"
		    "\"default\"}");
		cJSON	*other = cJSON_Parse("{\"id\":\"d\",\"work_queue_name\":"
		    "\"q1\",\"concurrency_options\":{\"collision_strategy\":"
		    "\"ENQUEUE\",\"grace_period_seconds\":60}}");
		struct deploy_pair p = { .spec = spec, .current = cur34,
		    .default_queue = "default" };
		struct deploy_change c[DEPLOY_NFIELDS];
		size_t	n;

		CHECK((n = deploy_diff(&p, c)) == 0);
		deploy_changes_free(c, n);
		/* 3.0.0: no concurrency_options at all, so none to compare. */
		p.current = cur30;
		CHECK((n = deploy_diff(&p, c)) == 0);
		deploy_changes_free(c, n);
		p.current = other;
		CHECK((n = deploy_diff(&p, c)) == 2);
		CHECK(n == 2 && strcmp(c[0].f->key, "work_queue_name") == 0);
		/* A server that stores a grace compares it. */
		CHECK(n == 2 && strcmp(c[1].f->key, "concurrency_options") == 0);
		deploy_changes_free(c, n);
		cJSON_Delete(spec);
		cJSON_Delete(cur34);
		cJSON_Delete(cur30);
		cJSON_Delete(other);
	}
	return t_done();
}
