/* test_api.c: request bodies and orchestration answers. */
#include <stdlib.h>
#include <string.h>

#include "prefect/api.h"
#include "common/json.h"
#include "t.h"

int
main(void)
{
	char			 err[200];
	struct orch_result	 o;

	TEST("set_state bodies carry only StateCreate fields") {
		char	*s = api_set_state_body("r1", NULL, "PENDING", "Pending",
		    NULL, 0, "t1");
		cJSON	*j = cJSON_Parse(s), *st;

		st = cJSON_GetObjectItem(j, "state");
		CHECK_STR(json_str(st, "type"), "PENDING");
		CHECK(cJSON_IsNull(cJSON_GetObjectItem(st, "data")));
		CHECK(!cJSON_HasObjectItem(st, "id"));
		CHECK(!cJSON_HasObjectItem(st, "timestamp"));
		CHECK_STR(json_str(json_obj(st, "state_details"),
		    "transition_id"), "t1");
		CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "force")));
		cJSON_Delete(j);
		free(s);
	}
	TEST("flow-run and task-run set_state bodies, byte for byte") {
		char	*f = api_set_state_body("r1", NULL, "FAILED", NULL,
		    "boom", 1, "t1");
		char	*t = api_set_state_body("r1", "k1", "RUNNING",
		    "Running", NULL, 0, "t2");

		CHECK_STR(f, "{\"state\":{\"type\":\"FAILED\",\"message\":"
		    "\"boom\",\"data\":null,\"state_details\":{"
		    "\"flow_run_id\":\"r1\",\"transition_id\":\"t1\"}},"
		    "\"force\":true}");
		CHECK_STR(t, "{\"state\":{\"type\":\"RUNNING\",\"name\":"
		    "\"Running\",\"message\":null,\"data\":null,"
		    "\"state_details\":{\"flow_run_id\":\"r1\","
		    "\"task_run_id\":\"k1\",\"transition_id\":\"t2\"}},"
		    "\"force\":false}");
		free(f);
		free(t);
	}
	TEST("WAIT carries its delay") {
		CHECK(api_parse_orch("{\"status\":\"WAIT\",\"state\":null,"
		    "\"details\":{\"type\":\"wait_details\",\"delay_seconds\":"
		    "3,\"reason\":\"later\"}}", &o, err, sizeof(err)) == 0);
		CHECK(o.status == ORCH_WAIT);
		CHECK(o.delay_seconds == 3);
		CHECK_STR(o.reason, "later");
	}
	TEST("our own transition id turns a REJECT into an ACCEPT") {
		CHECK(api_parse_orch("{\"status\":\"REJECT\",\"state\":{"
		    "\"type\":\"PENDING\",\"name\":\"Pending\",\"state_details\":"
		    "{\"transition_id\":\"abc\"}},\"details\":{}}", &o, err,
		    sizeof(err)) == 0);
		api_orch_adopt_own(&o, "xyz");
		CHECK(o.status == ORCH_REJECT);
		api_orch_adopt_own(&o, "abc");
		CHECK(o.status == ORCH_ACCEPT);
		CHECK_STR(o.type, "PENDING");
	}
	TEST("garbage is an error, never a crash") {
		CHECK(api_parse_orch("<html>502</html>", &o, err,
		    sizeof(err)) == -1);
		CHECK(strstr(err, "not JSON") != NULL);
		CHECK(api_parse_orch("[]", &o, err, sizeof(err)) == -1);
		CHECK(api_parse_orch("{\"status\":\"MAYBE\"}", &o, err,
		    sizeof(err)) == -1);
		CHECK(api_parse_orch(NULL, &o, err, sizeof(err)) == -1);
	}
	TEST("exit explanations follow Prefect's table") {
		CHECK(strstr(api_exit_explanation(-9), "SIGKILL") != NULL);
		CHECK_STR(api_exit_explanation(1),
		    "Process exited with a general error.");
		CHECK_STR(api_exit_explanation(-11),
		    "Process exited with an unexpected status code.");
	}
	TEST("poll bodies name the queues and a due time") {
		char	*q[] = { "default", "etl" };
		char	*s = api_poll_body(q, 2, 10);
		cJSON	*j = cJSON_Parse(s);

		CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j,
		    "work_queue_names")) == 2);
		CHECK(json_str(j, "scheduled_before") != NULL);
		cJSON_Delete(j);
		free(s);
	}
	TEST("pool names: refused as Prefect's server refuses them") {
		const char	*bad[] = { "a/b", "50%", "a&b", "a>b", "<", "",
		    " ", "'\"' ", NULL };
		const char	*good[] = { "pool", "a b", ".", "..", "x\ny",
		    "' x", NULL };

		for (int i = 0; bad[i] != NULL; i++)
			CHECK(api_name_check("work pool", bad[i], err,
			    sizeof(err)) == -1 && strstr(err, "not valid"));
		for (int i = 0; good[i] != NULL; i++)
			CHECK(api_name_check("work pool", good[i], err,
			    sizeof(err)) == 0);
	}
	TEST("paths: '.' and '..' are names, not dot segments") {
		char	*p = api_path("/work_pools/", "..", "/x");

		CHECK_STR(p, "/work_pools/%2E%2E/x");
		free(p);
		p = api_path("/work_pools/", ".", NULL);
		CHECK_STR(p, "/work_pools/%2E");
		free(p);
		p = api_path("/work_pools/", "a.b c", NULL);
		CHECK_STR(p, "/work_pools/a.b%20c");
		free(p);
	}
	return t_done();
}
