/*
 * test_events.c: the pure parts of the event stream (events.c), the
 * worker's events (emit.c) and the cancel intent (cancel.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prefect/contract.h"
#include "worker/emit.h"
#include "worker/events.h"
#include "common/json.h"
#include "t.h"

static cJSON *
parse(const char *s)
{
	return cJSON_Parse(s);
}

int
main(void)
{
	TEST("websocket target from the API URL, as Prefect derives it") {
		char	*host = NULL, *path = NULL, err[128];
		int	 port, tls;

		CHECK(events_ws_target("http://127.0.0.1:4200/api", &host,
		    &port, &path, &tls, err, sizeof(err)) == 0);
		CHECK_STR(host, "127.0.0.1");
		CHECK(port == 4200 && tls == 0);
		CHECK_STR(path, "/api/events/out");
		free(host);
		free(path);
		CHECK(events_ws_target("https://api.prefect.cloud/api/accounts/"
		    "a/workspaces/w", &host, &port, &path, &tls, err,
		    sizeof(err)) == 0);
		CHECK_STR(host, "api.prefect.cloud");
		CHECK(port == 443 && tls == 1);
		CHECK_STR(path, "/api/accounts/a/workspaces/w/events/out");
		free(host);
		free(path);
		CHECK(events_ws_target("http://[::1]:8080", &host, &port, &path,
		    &tls, err, sizeof(err)) == 0);
		CHECK_STR(host, "::1");
		CHECK(port == 8080);
		CHECK_STR(path, "/events/out");
		free(host);
		free(path);
		CHECK(events_ws_target("ftp://x/api", &host, &port, &path, &tls,
		    err, sizeof(err)) == -1);
		CHECK(events_ws_target("http://h:99999/api", &host, &port,
		    &path, &tls, err, sizeof(err)) == -1);
		CHECK(events_ws_target("http://u:p@h/api", &host, &port, &path,
		    &tls, err, sizeof(err)) == -1);
		CHECK(events_ws_target("http:///api", &host, &port, &path,
		    &tls, err, sizeof(err)) == -1);
	}

	TEST("filter message: names, any_resource, until in the future") {
		const char *const names[] = { "prefect.flow-run.Scheduled",
		    "prefect.flow-run.Cancelling", NULL };
		struct events_spec spec = { names, "prefect.work-pool.P" };
		char	*s = events_filter_message(&spec, "2026-01-01T00:00:00Z",
		    "2027-01-01T00:00:00Z");
		cJSON	*m = parse(s);
		const cJSON *f = json_obj(m, "filter");

		CHECK_STR(json_str(m, "type"), "filter");
		CHECK_STR(json_str(json_obj(f, "occurred"), "until"),
		    "2027-01-01T00:00:00Z");
		CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(json_obj(f,
		    "event"), "name")) == 2);
		CHECK_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(json_obj(f,
		    "any_resource"), "id"), 0)->valuestring,
		    "prefect.work-pool.P");
		cJSON_Delete(m);
		free(s);
	}

	TEST("flow run id and related names of a state event") {
		cJSON *ev = parse("{\"event\":\"prefect.flow-run.Scheduled\","
		    "\"resource\":{\"prefect.resource.id\":"
		    "\"prefect.flow-run.abc\"},\"related\":[{"
		    "\"prefect.resource.id\":\"prefect.work-queue.q\","
		    "\"prefect.resource.role\":\"work-queue\","
		    "\"prefect.resource.name\":\"default\"}]}");

		CHECK_STR(events_flow_run_id(ev), "abc");
		CHECK_STR(events_related_name(ev, "work-queue"), "default");
		CHECK(events_related_name(ev, "deployment") == NULL);
		cJSON_Delete(ev);
		ev = parse("{\"resource\":{\"prefect.resource.id\":"
		    "\"prefect.worker.process.x\"}}");
		CHECK(events_flow_run_id(ev) == NULL);
		cJSON_Delete(ev);
		ev = parse("{\"resource\":{\"prefect.resource.id\":"
		    "\"prefect.flow-run.\"},\"related\":7}");
		CHECK(events_flow_run_id(ev) == NULL);
		CHECK(events_related_name(ev, "x") == NULL);
		cJSON_Delete(ev);
	}

	TEST("occurred times: Z, offsets, fractions, garbage") {
		double	t;

		CHECK(events_time_parse("1970-01-01T00:01:00Z", &t) == 0 &&
		    t == 60);
		CHECK(events_time_parse("1970-01-01T01:00:00.5+01:00", &t) ==
		    0 && t == 0.5);
		CHECK(events_time_parse("1970-01-01T00:00:00-00:30", &t) == 0 &&
		    t == 1800);
		CHECK(events_time_parse("2026-11-21T15:11:09.211387Z", &t) ==
		    0 && t > 1.7e9);
		CHECK(events_time_parse("2026-13-01T00:00:00Z", &t) == -1);
		CHECK(events_time_parse("2026-01-01T00:00:00", &t) == -1);
		CHECK(events_time_parse("2026-01-01", &t) == -1);
		CHECK(events_time_parse("", &t) == -1);
		CHECK(events_time_parse(NULL, &t) == -1);
	}

	TEST("worker resource slug as python-slugify") {
		char *s;

		CHECK_STR((s = emit_slug("pfagent 1234-ABCD")),
		    "pfagent-1234-abcd");
		free(s);
		CHECK_STR((s = emit_slug("it's a,b 1,000")), "it-s-a-b-1000");
		free(s);
		CHECK_STR((s = emit_slug("--x--")), "x");
		free(s);
		CHECK_STR((s = emit_slug("a_b.c")), "a-b-c");
		free(s);
	}

	TEST("uuid7: version 7, variant, time-ordered") {
		char	a[37], b[37];

		emit_uuid7(a);
		usleep(2000);
		emit_uuid7(b);
		CHECK(strlen(a) == 36 && a[14] == '7');
		CHECK(strchr("89ab", a[19]) != NULL);
		CHECK(strcmp(a, b) < 0);
	}

	TEST("submitted/executed events have Prefect's related resources") {
		struct emit_worker w = { "my worker", "P", "pool" };
		cJSON	*fr = parse("{\"id\":\"R\",\"name\":\"run\","
		    "\"tags\":[\"b\",\"a\"]}");
		cJSON	*dep = parse("{\"id\":\"D\",\"name\":\"dep\","
		    "\"tags\":[\"a\"]}");
		struct emit_run run = { fr, dep, NULL, 1, 42, -15 };
		char	 id[37];
		cJSON	*ev = emit_event("prefect.worker.executed-flow-run", &w,
		    &run, "F", id);
		const cJSON *res = json_obj(ev, "resource");
		const cJSON *rel = cJSON_GetObjectItem(ev, "related");
		const char *ids[8];
		int	 n = 0;
		const cJSON *r;

		CHECK_STR(json_str(ev, "id"), id);
		CHECK_STR(json_str(ev, "follows"), "F");
		CHECK_STR(json_str(res, "prefect.resource.id"),
		    "prefect.worker.process.my-worker");
		CHECK_STR(json_str(res, "prefect.worker-type"), "process");
		cJSON_ArrayForEach(r, rel)
			if (n < 8)
				ids[n++] = json_str(r, "prefect.resource.id");
		CHECK(n == 5);
		CHECK_STR(ids[0], "prefect.deployment.D");
		CHECK_STR(ids[1], "prefect.flow-run.R");
		CHECK_STR(ids[2], "prefect.tag.a");
		CHECK_STR(ids[3], "prefect.tag.b");
		CHECK_STR(ids[4], "prefect.work-pool.P");
		r = cJSON_GetArrayItem(rel, 1);
		CHECK_STR(json_str(r, "prefect.resource.role"), "flow-run");
		CHECK_STR(json_str(r, "prefect.infrastructure.identifier"),
		    "42");
		CHECK_STR(json_str(r, "prefect.infrastructure.status-code"),
		    "-15");
		cJSON_Delete(ev);
		ev = emit_event("prefect.worker.started", &w, NULL, NULL, id);
		CHECK(cJSON_IsNull(cJSON_GetObjectItem(ev, "follows")));
		CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(ev,
		    "related")) == 1);
		cJSON_Delete(ev);
		cJSON_Delete(fr);
		cJSON_Delete(dep);
	}

	TEST("the runner's cancelled event: its resource, no pool, no flow "
	    "tags") {
		cJSON	*fr = parse("{\"id\":\"R\",\"name\":\"run\","
		    "\"tags\":[\"b\"]}");
		cJSON	*dep = parse("{\"id\":\"D\",\"name\":\"dep\","
		    "\"tags\":[\"a\"]}");
		cJSON	*flow = parse("{\"id\":\"F\",\"name\":\"hello\","
		    "\"tags\":[\"flow-tag\"]}");
		struct emit_run run = { fr, dep, flow, 0, 0, 0 };
		char	 id[37];
		cJSON	*ev = emit_runner_cancelled("My Worker", &run, id);
		const cJSON *res = json_obj(ev, "resource");
		const cJSON *rel = cJSON_GetObjectItem(ev, "related");
		const char *want[] = { "prefect.deployment.D", "prefect.flow.F",
		    "prefect.flow-run.R", "prefect.tag.a", "prefect.tag.b" };

		CHECK_STR(json_str(ev, "event"),
		    "prefect.runner.cancelled-flow-run");
		CHECK_STR(json_str(res, "prefect.resource.id"),
		    "prefect.runner.my-worker");
		CHECK_STR(json_str(res, "prefect.resource.name"), "My Worker");
		CHECK(json_str(res, "prefect.version") != NULL);
		CHECK(cJSON_GetArraySize(rel) == 5);
		for (int i = 0; i < 5; i++)
			CHECK_STR(json_str(cJSON_GetArrayItem(rel, i),
			    "prefect.resource.id"), want[i]);
		CHECK_STR(json_str(cJSON_GetArrayItem(rel, 1),
		    "prefect.resource.name"), "hello");
		CHECK(cJSON_IsNull(cJSON_GetObjectItem(ev, "follows")));
		cJSON_Delete(ev);
		cJSON_Delete(fr);
		cJSON_Delete(dep);
		cJSON_Delete(flow);
	}

	TEST("cancel intent marker: write, present, remove") {
		char	 dir[] = "/tmp/pfagent-test-XXXXXX", err[256], *p;

		CHECK(mkdtemp(dir) != NULL);
		CHECK(cancel_intent_present(dir, "run-1") == 0);
		CHECK(cancel_intent_write(dir, "run-1", err, sizeof(err)) == 0);
		CHECK(cancel_intent_present(dir, "run-1") == 1);
		CHECK(cancel_intent_present(dir, "run-2") == 0);
		CHECK(cancel_intent_present(NULL, "run-1") == 0);
		CHECK(cancel_intent_present(dir, "../x") == 0);
		cancel_intent_remove(dir, "run-1");
		CHECK(cancel_intent_present(dir, "run-1") == 0);
		p = cancel_intent_path(dir, "");
		free(p);
		p = xasprintf("%s/cancel", dir);
		rmdir(p);
		free(p);
		rmdir(dir);
	}
	return t_done();
}
