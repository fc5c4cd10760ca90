/*
 * test_prefect_yaml.c: deployments/prefect_yaml against Prefect 3.8.8.
 *
 * Type rules come from PrefectYamlModel (pydantic lax mode), schedule
 * bodies from _schedule_config_to_deployment_schedule followed by
 * DeploymentScheduleCreate.model_dump(mode="json"), and step selection
 * from _run_single_deploy; each expectation was checked by running
 * those functions on the same YAML.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deployments/prefect_yaml.h"
#include "t.h"

struct loaded {
	struct ydoc		*doc;
	struct prefect_yaml	*py;
	struct pf_msgs		 warn;
	char			 err[4096];
	int			 rc;
};

static struct loaded *
load(const char *text)
{
	struct loaded	*l = calloc(1, sizeof(*l));
	struct ydoc_error e;

	l->doc = ydoc_load(text, strlen(text), &e);
	if (l->doc == NULL) {
		snprintf(l->err, sizeof(l->err), "yaml: %s", e.msg);
		l->rc = -1;
		return l;
	}
	l->rc = prefect_yaml_load(l->doc, "prefect.yaml", &l->py, &l->warn,
	    l->err, sizeof(l->err));
	if (l->rc == -1 && l->py != NULL)
		l->rc = -2;
	return l;
}

static void
unload(struct loaded *l)
{
	prefect_yaml_free(l->py);
	prefect_yaml_msgs_free(&l->warn);
	ydoc_free(l->doc);
	free(l);
}

/* Loading text fails with exactly want (all errors, one per line). */
static int
fails(const char *text, const char *want)
{
	struct loaded	*l = load(text);
	int		 ok = l->rc == -1 && l->py == NULL &&
			    strcmp(l->err, want) == 0;

	if (!ok)
		printf("#   got  %s\n#   want %s\n", l->rc ? l->err : "(ok)",
		    want);
	unload(l);
	return ok;
}

/* Loading text succeeds with want among the warnings. */
static int
warns(const char *text, const char *want)
{
	struct loaded	*l = load(text);
	int		 ok = 0;

	for (size_t i = 0; l->rc == 0 && i < l->warn.n; i++)
		ok |= strcmp(l->warn.v[i], want) == 0;
	if (!ok) {
		printf("#   want %s\n", want);
		for (size_t i = 0; i < l->warn.n; i++)
			printf("#   got  %s\n", l->warn.v[i]);
		if (l->rc)
			printf("#   err  %s\n", l->err);
	}
	unload(l);
	return ok;
}

static int
json_is(const cJSON *j, const char *want)
{
	char	*s = cJSON_PrintUnformatted(j);
	int	 ok = s != NULL && strcmp(s, want) == 0;

	if (!ok)
		printf("#   got  %s\n#   want %s\n", s, want);
	free(s);
	return ok;
}

/* The schedule bodies of the only deployment in text. */
static int
schedules_are(const char *text, const char *anchor, const char *want)
{
	struct loaded	*l = load(text);
	cJSON		*out = NULL;
	char		 err[256];
	int		 ok = 0;

	if (l->rc == 0 && prefect_yaml_schedules(prefect_yaml_deployment(
	    l->py, 0)->config, anchor, &out, err, sizeof(err)) == 0)
		ok = json_is(out, want);
	else
		printf("#   error %s\n", l->rc ? l->err : err);
	cJSON_Delete(out);
	unload(l);
	return ok;
}

/* Effective steps of deployment i as "build|push|mode|pull". */
static int
steps_are(const char *text, size_t i, const char *want)
{
	struct loaded			*l = load(text);
	const struct pf_deployment	*d;
	char				*b, *p, *u, got[1024];
	int				 ok;

	if (l->rc != 0) {
		printf("#   error %s\n", l->err);
		unload(l);
		return 0;
	}
	d = prefect_yaml_deployment(l->py, i);
	b = cJSON_PrintUnformatted(d->build_steps);
	p = cJSON_PrintUnformatted(d->push_steps);
	u = cJSON_PrintUnformatted(d->pull_steps);
	snprintf(got, sizeof(got), "%s|%s|%s|%s", b, p,
	    d->pull_mode == PF_PULL_STEPS ? "steps" :
	    d->pull_mode == PF_PULL_NONE ? "none" : "default", u);
	ok = strcmp(got, want) == 0;
	if (!ok)
		printf("#   got  %s\n#   want %s\n", got, want);
	free(b);
	free(p);
	free(u);
	unload(l);
	return ok;
}

static const char *const full =
    "name: demo\n"
    "prefect-version: 3.8.8\n"
    "definitions:\n"
    "  pools:\n"
    "    default: &pool\n"
    "      name: process-pool\n"
    "      work_queue_name: q1\n"
    "      job_variables: {env: {A: '1'}}\n"
    "build: null\n"
    "pull:\n"
    "  - prefect.deployments.steps.git_clone:\n"
    "      repository: https://github.com/org/repo.git\n"
    "      access_token: '{{ prefect.blocks.secret.gh }}'\n"
    "deployments:\n"
    "  - name: etl\n"
    "    version: '1.0'\n"
    "    description: nightly\n"
    "    entrypoint: flows/etl.py:etl\n"
    "    tags: [a, b]\n"
    "    parameters: {x: 1, when: 2024-01-01}\n"
    "    paused: 'yes'\n"
    "    enforce_parameter_schema: 'false'\n"
    "    concurrency_limit: '3'\n"
    "    work_pool: *pool\n"
    "    schedules:\n"
    "      - cron: '0 * * * *'\n"
    "        slug: hourly\n"
    "  - name: adhoc\n"
    "    entrypoint: flows/adhoc.py:run\n"
    "    work_pool:\n"
    "      <<: *pool\n"
    "      work_queue_name: q2\n";

int
main(void)
{
	TEST("a complete prefect.yaml loads") {
		struct loaded			*l = load(full);
		const struct pf_deployment	*d;

		CHECK(l->rc == 0);
		CHECK(l->warn.n == 0);
		CHECK(prefect_yaml_count(l->py) == 2);
		CHECK_STR(prefect_yaml_name(l->py), "demo");
		CHECK_STR(prefect_yaml_prefect_version(l->py), "3.8.8");
		d = prefect_yaml_deployment(l->py, 0);
		CHECK_STR(d->name, "etl");
		CHECK_STR(d->version, "1.0");
		CHECK_STR(d->entrypoint, "flows/etl.py:etl");
		CHECK_STR(d->description, "nightly");
		CHECK_STR(d->work_pool_name, "process-pool");
		CHECK_STR(d->work_queue_name, "q1");
		CHECK(d->flow_name == NULL);
		CHECK(prefect_yaml_deployment(l->py, 2) == NULL);
		d = prefect_yaml_find(l->py, "adhoc");
		CHECK(d != NULL && d->index == 1);
		CHECK_STR(d->work_queue_name, "q2");
		CHECK_STR(d->work_pool_name, "process-pool");
		CHECK(prefect_yaml_find(l->py, "nope") == NULL);
		unload(l);
	}

	TEST("the config is normalised like Prefect's model_dump") {
		struct loaded *l = load(full);

		CHECK(json_is(prefect_yaml_deployment(l->py, 0)->config,
		    "{\"name\":\"etl\",\"version\":\"1.0\",\"description\":"
		    "\"nightly\",\"entrypoint\":\"flows/etl.py:etl\",\"tags\":"
		    "[\"a\",\"b\"],\"schedules\":[{\"cron\":\"0 * * * *\","
		    "\"slug\":\"hourly\"}],\"paused\":true,"
		    "\"enforce_parameter_schema\":false,"
		    "\"concurrency_limit\":3,"
		    "\"parameters\":{\"x\":1,\"when\":\"2024-01-01\"},"
		    "\"work_pool\":{\"name\":\"process-pool\",\"work_queue_name"
		    "\":\"q1\",\"job_variables\":{\"env\":{\"A\":\"1\"}}}}"));
		unload(l);
	}

	TEST("errors name file, line, column and key path") {
		CHECK(fails(
		    "name: demo\n"
		    "prefect-version: 3.8.8\n"
		    "deployments:\n"
		    "- name: first\n"
		    "  entrypoint: flows/a.py:a\n"
		    "  schedules:\n"
		    "    - cron: '0 * * * *'\n"
		    "- name: second\n"
		    "  entrypoint: flows/b.py:b\n"
		    "  work_pool: {name: pool}\n"
		    "  schedules:\n"
		    "    - cron: '0 * * * *'\n"
		    "      interval: 600\n",
		    "prefect.yaml:12:7: deployments[1].schedules[0]: exactly "
		    "one "
		    "of cron, interval, rrule is required"));
	}

	TEST("every error is reported, one per line") {
		CHECK(fails("deployments:\n- name: a\n  version: 1.0\n"
		    "- {name: b, paused: maybe}\n",
		    "prefect.yaml:3:12: deployments[0].version: must be a "
		    "string\n"
		    "prefect.yaml:4:21: deployments[1].paused: must be a "
		    "boolean"));
	}

	TEST("str fields reject numbers, like pydantic") {
		CHECK(fails("prefect-version: 3.0\n",
		    "prefect.yaml:1:18: prefect-version: must be a string"));
		CHECK(fails("deployments: [{name: 1}]\n",
		    "prefect.yaml:1:22: deployments[0].name: must be a "
		    "string"));
	}

	TEST("str fields reject unquoted dates") {
		CHECK(fails("deployments: [{name: a, description: "
		    "2024-01-01}]\n",
		    "prefect.yaml:1:38: deployments[0].description: must be a "
		    "string; quote the date so YAML does not read it as a "
		    "timestamp"));
	}

	TEST("an unnamed deployment is kept with a warning") {
		struct loaded *l = load("deployments:\n- entrypoint: f.py:f\n");

		CHECK(l->rc == 0 && prefect_yaml_count(l->py) == 1);
		CHECK(prefect_yaml_deployment(l->py, 0)->name == NULL);
		unload(l);
		CHECK(warns("deployments:\n- entrypoint: f.py:f\n",
		    "prefect.yaml:2:3: deployments[0]: deployment has no name; "
		    "prefect deploy skips it unless a name is given"));
		CHECK(warns("deployments: [{name: ''}]\n",
		    "prefect.yaml:1:16: deployments[0]: deployment has no "
		    "name; "
		    "prefect deploy skips it unless a name is given"));
	}

	TEST("the file prefect init writes loads") {
		struct loaded			*l = load(
		    "---\nprefect-version: null\nname: null\n\nbuild: null\n"
		    "push: null\npull: null\n\ndeployments:\n"
		    "  -  # base metadata\n    name: null\n    version: null\n"
		    "    tags: []\n    description: null\n    schedule: {}\n"
		    "    concurrency_limit: null\n\n"
		    "    # flow-specific fields\n    flow_name: null\n"
		    "    entrypoint: null\n    parameters: {}\n\n"
		    "    # infra-specific fields\n    work_pool:\n"
		    "      name: null\n      work_queue_name: null\n"
		    "      job_variables: {}\n");
		const struct pf_deployment	*d;
		char				 err[512];

		CHECK(l->rc == 0 && prefect_yaml_count(l->py) == 1);
		d = prefect_yaml_deployment(l->py, 0);
		CHECK(d->pull_mode == PF_PULL_DEFAULT);
		CHECK(prefect_yaml_check_deployable(l->py, d, err,
		    sizeof(err)) == -1);
		CHECK_STR(err, "prefect.yaml:11:5: deployments[0]: a "
		    "deployment "
		    "name is required\nprefect.yaml:11:5: deployments[0]: an "
		    "entrypoint is required to deploy (flows/<file>.c:"
		    "<function>)");
		unload(l);
	}

	TEST("deployments must be a list of mappings") {
		CHECK(fails("deployments: {a: 1}\n",
		    "prefect.yaml:1:14: deployments: must be a list"));
		CHECK(fails("deployments: null\n",
		    "prefect.yaml:1:14: deployments: must be a list"));
		CHECK(fails("deployments: [3]\n",
		    "prefect.yaml:1:15: deployments[0]: a deployment must be a "
		    "mapping"));
	}

	TEST("the file must be a mapping; an empty one is allowed") {
		struct loaded *l;

		CHECK(fails("- a\n- b\n", "prefect.yaml:1:1: the file must be "
		    "a mapping"));
		l = load("# nothing\n");
		CHECK(l->rc == 0 && prefect_yaml_count(l->py) == 0);
		CHECK(l->warn.n == 1);
		unload(l);
	}

	TEST("lax booleans and integers are coerced") {
		struct loaded *l = load("deployments: [{name: a, paused: 1, "
		    "enforce_parameter_schema: 'Off', concurrency_limit: "
		    "2.0}]");

		CHECK(json_is(prefect_yaml_deployment(l->py, 0)->config,
		    "{\"name\":\"a\",\"paused\":true,"
		    "\"enforce_parameter_schema\""
		    ":false,\"concurrency_limit\":2}"));
		unload(l);
		CHECK(fails("deployments: [{name: a, concurrency_limit: 2.5}]",
		    "prefect.yaml:1:44: deployments[0].concurrency_limit: must "
		    "be an integer or a mapping with limit, collision_strategy "
		    "and grace_period_seconds"));
	}

	TEST("concurrency_limit mapping is checked") {
		CHECK(fails("deployments:\n- name: a\n  concurrency_limit:\n"
		    "    limit: x\n    collision_strategy: BAD\n"
		    "    grace_period_seconds: 5\n",
		    "prefect.yaml:4:12: "
		    "deployments[0].concurrency_limit.limit: "
		    "must be an integer\n"
		    "prefect.yaml:5:25: deployments[0].concurrency_limit."
		    "collision_strategy: must be ENQUEUE or CANCEL_NEW\n"
		    "prefect.yaml:6:27: deployments[0].concurrency_limit."
		    "grace_period_seconds: must be between 60 and 86400"));
		CHECK(fails("deployments: [{name: a, concurrency_limit: "
		    "{limit: 2}}]",
		    "prefect.yaml:1:44: deployments[0].concurrency_limit: "
		    "collision_strategy is required (ENQUEUE or CANCEL_NEW)"));
	}

	TEST("parameters and job_variables are string-keyed mappings") {
		CHECK(fails("deployments: [{name: a, parameters: null}]",
		    "prefect.yaml:1:37: deployments[0].parameters: must be a "
		    "mapping"));
		CHECK(fails("deployments: [{name: a, parameters: {1: x}}]",
		    "prefect.yaml:1:38: deployments[0].parameters.1: keys must "
		    "be strings"));
		CHECK(fails("deployments: [{name: a, work_pool: {name: p, "
		    "job_variables: [1]}}]",
		    "prefect.yaml:1:61: "
		    "deployments[0].work_pool.job_variables: "
		    "must be a mapping"));
		CHECK(fails("deployments: [{name: a, work_pool: 5}]",
		    "prefect.yaml:1:36: deployments[0].work_pool: must be a "
		    "mapping"));
	}

	TEST("tags are a list or a (templated) string") {
		struct loaded *l = load("deployments: [{name: a, tags: "
		    "'{{ build.tags }}'}]");

		CHECK(l->rc == 0);
		unload(l);
		CHECK(fails("deployments: [{name: a, tags: 5}]",
		    "prefect.yaml:1:31: deployments[0].tags: must be a list or "
		    "a "
		    "templated string"));
	}

	TEST("steps: one key each, a dotted name and mapping inputs") {
		CHECK(fails("build:\n- {a.b: {}, c.d: {}}\n- nodot: {}\n"
		    "- x.y:\n- 5\npush: x\n",
		    "prefect.yaml:2:3: build[0]: a step must have exactly one "
		    "key "
		    "(the function to run), found 2\n"
		    "prefect.yaml:3:3: build[1].nodot: the step name must be a "
		    "fully qualified function name such as prefect.deployments."
		    "steps.git_clone\n"
		    "prefect.yaml:4:7: build[2].x.y: step inputs must be a "
		    "mapping\n"
		    "prefect.yaml:5:3: build[3]: a step must be a mapping\n"
		    "prefect.yaml:6:7: push: must be a list of steps or a "
		    "single "
		    "step mapping"));
	}

	TEST("schedule items: type and shape errors") {
		CHECK(fails("deployments:\n- name: a\n  schedules:\n"
		    "  - {cron: 5}\n  - {interval: abc}\n  - {interval: 0}\n"
		    "  - {cron: 'H * * * *'}\n  - {cron: x, foo: 1}\n  - 7\n"
		    "  - {}\n",
		    "prefect.yaml:4:12: deployments[0].schedules[0].cron: must "
		    "be "
		    "a string\n"
		    "prefect.yaml:5:16: deployments[0].schedules[1].interval: "
		    "must "
		    "be a number of seconds, an ISO 8601 duration (PT10M) or "
		    "HH:MM:SS\n"
		    "prefect.yaml:6:16: deployments[0].schedules[2].interval: "
		    "must "
		    "be greater than zero\n"
		    "prefect.yaml:7:12: deployments[0].schedules[3].cron: "
		    "random "
		    "and hashed cron expressions are unsupported: \"H * * * "
		    "*\"\n"
		    "prefect.yaml:8:15: deployments[0].schedules[4].foo: "
		    "unknown "
		    "schedule key\n"
		    "prefect.yaml:8:12: deployments[0].schedules[4].cron: "
		    "invalid "
		    "cron string: \"x\"\n"
		    "prefect.yaml:9:5: deployments[0].schedules[5]: a schedule "
		    "must be a mapping\n"
		    "prefect.yaml:10:5: deployments[0].schedules[6]: exactly "
		    "one "
		    "of cron, interval, rrule is required"));
	}

	TEST("schedule items: active, anchor_date and parameters") {
		CHECK(fails("deployments:\n- name: a\n  schedules:\n"
		    "  - {interval: 60, active: maybe, anchor_date: nope, "
		    "parameters: [1]}\n",
		    "prefect.yaml:4:28: deployments[0].schedules[0].active: "
		    "must "
		    "be a boolean\n"
		    "prefect.yaml:4:66: "
		    "deployments[0].schedules[0].parameters: "
		    "must be a mapping\n"
		    "prefect.yaml:4:48: "
		    "deployments[0].schedules[0].anchor_date: "
		    "is not an ISO 8601 date-time: \"nope\""));
	}

	TEST("templated schedule fields pass the load-time checks") {
		struct loaded *l = load("deployments:\n- name: a\n  "
		    "schedules:\n"
		    "  - {cron: '{{ $CRON }}', active: '{{ x }}', day_or: "
		    "'{{ y }}'}\n");

		CHECK(l->rc == 0);
		unload(l);
	}

	TEST("schedule and schedules together are an error") {
		CHECK(fails("deployments:\n- name: a\n  schedule: {cron: '* * "
		    "* * "
		    "*'}\n  schedules: []\n",
		    "prefect.yaml:3:13: deployments[0].schedule: both "
		    "'schedule' "
		    "and 'schedules' are present; use only 'schedules'"));
	}

	TEST("the deprecated schedule becomes schedules") {
		CHECK(schedules_are("deployments:\n- name: a\n  schedule: "
		    "{cron: "
		    "'0 0 * * *', timezone: Europe/Paris}\n", NULL,
		    "[{\"schedule\":{\"cron\":\"0 0 * * *\",\"timezone\":"
		    "\"Europe/Paris\",\"day_or\":true},\"active\":true,"
		    "\"max_scheduled_runs\":null,\"parameters\":{},"
		    "\"slug\":null,"
		    "\"replaces\":null}]"));
		CHECK(schedules_are("deployments: [{name: a, schedule: {}}]",
		    NULL, "[]"));
	}

	TEST("cron schedule body") {
		CHECK(schedules_are("deployments:\n- name: a\n  schedules:\n"
		    "  - cron: '0 * * * *'\n    day_or: 'false'\n"
		    "    active: 'yes'\n    slug: hourly\n"
		    "    parameters: {x: 1}\n", "2024-01-01T00:00:00Z",
		    "[{\"schedule\":{\"cron\":\"0 * * * *\",\"timezone\":null,"
		    "\"day_or\":false},\"active\":true,\"max_scheduled_runs\":"
		    "null,\"parameters\":{\"x\":1},\"slug\":\"hourly\","
		    "\"replaces\":null}]"));
	}

	TEST("interval schedule body, seconds as a float") {
		CHECK(schedules_are("deployments:\n- name: a\n  schedules:\n"
		    "  - interval: 600\n    anchor_date: '2024-01-01'\n"
		    "    timezone: America/New_York\n    replaces: old\n",
		    NULL, "[{\"schedule\":{\"interval\":600,\"anchor_date\":"
		    "\"2024-01-01T00:00:00Z\","
		    "\"timezone\":\"America/New_York\"},"
		    "\"active\":true,\"max_scheduled_runs\":null,"
		    "\"parameters\":"
		    "{},\"slug\":null,\"replaces\":\"old\"}]"));
		CHECK(schedules_are("deployments: [{name: a, schedules: "
		    "[{interval: PT1M}]}]", "2026-01-01T00:00:00Z",
		    "[{\"schedule\":{\"interval\":60,\"anchor_date\":"
		    "\"2026-01-01T00:00:00Z\",\"timezone\":\"UTC\"},\"active\":"
		    "true,\"max_scheduled_runs\":null,\"parameters\":{},"
		    "\"slug\":"
		    "null,\"replaces\":null}]"));
	}

	TEST("interval accepts seconds, ISO 8601 and HH:MM:SS") {
		struct loaded	*l = load("deployments:\n- name: a\n  "
		    "schedules:\n"
		    "  - {interval: 600}\n  - {interval: 1.5}\n"
		    "  - {interval: PT10M}\n  - {interval: '01:02:03'}\n"
		    "  - {interval: P1DT2H}\n  - {interval: '1 day, "
		    "00:00:01'}\n");
		const cJSON	*s;
		double		 want[] = { 600, 1.5, 600, 3723, 93600, 86401 };
		int		 i = 0;

		s = cJSON_GetObjectItem(prefect_yaml_deployment(l->py,
		    0)->config, "schedules");
		for (const cJSON *c = s->child; c != NULL; c = c->next, i++)
			CHECK(cJSON_GetObjectItem(c, "interval")->valuedouble ==
			    want[i]);
		CHECK(i == 6);
		unload(l);
	}

	TEST("prefect_yaml_duration follows pydantic's timedelta") {
		static const struct { const char *s; double d; } ok[] = {
			{ "PT10M", 600 }, { "P1W", 604800 },
			{ "P1Y", 31536000 }, { "P1M", 2592000 },
			{ "PT1.5S", 1.5 }, { "1:02:03", 3723 },
			{ "02:03", 7380 }, { "25:00:00", 90000 },
			{ "1d", 86400 }, { "-PT1M", -60 }, { "P1DT", 86400 },
			{ "P1.5D", 129600 }, { "01:02:03.5", 3723.5 },
			{ "+PT1M", 60 },
		};
		static const char *const bad[] = { "600", "pt10m", "PT10m",
			"PT", "P", "00:60:00", " PT1M", "1e3", "", "abc" };
		double	 d;

		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
			CHECK(prefect_yaml_duration(ok[i].s, &d) == 0 &&
			    d == ok[i].d);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK(prefect_yaml_duration(bad[i], &d) == -1);
	}

	TEST("anchor_date is normalised as pendulum parses it") {
		CHECK(schedules_are("deployments:\n- name: a\n  schedules:\n"
		    "  - {interval: 60, anchor_date: "
		    "'2024-01-01T10:00:00+02:00'}\n"
		    "  - {interval: 60, anchor_date: '2024-01-01 "
		    "10:00:00.123Z'}\n"
		    "  - {interval: 60, anchor_date: '20240101T100000'}\n"
		    "  - {interval: 60, anchor_date: "
		    "'2024-01-01T10:00:00-0530'}\n",
		    NULL,
		    "[{\"schedule\":{\"interval\":60,"
		    "\"anchor_date\":\"2024-01-01T"
		    "10:00:00+02:00\",\"timezone\":\"UTC\"},\"active\":true,"
		    "\"max_scheduled_runs\":null,\"parameters\":{},"
		    "\"slug\":null,"
		    "\"replaces\":null},{\"schedule\":{\"interval\":60,"
		    "\"anchor_date\":\"2024-01-01T10:00:00.123000Z\","
		    "\"timezone\":"
		    "\"UTC\"},\"active\":true,\"max_scheduled_runs\":null,"
		    "\"parameters\":{},\"slug\":null,\"replaces\":null},"
		    "{\"schedule\":{\"interval\":60,"
		    "\"anchor_date\":\"2024-01-01T"
		    "10:00:00Z\",\"timezone\":\"UTC\"},\"active\":true,"
		    "\"max_scheduled_runs\":null,\"parameters\":{},"
		    "\"slug\":null,"
		    "\"replaces\":null},{\"schedule\":{\"interval\":60,"
		    "\"anchor_date\":\"2024-01-01T10:00:00-05:30\","
		    "\"timezone\":"
		    "\"UTC\"},\"active\":true,\"max_scheduled_runs\":null,"
		    "\"parameters\":{},\"slug\":null,\"replaces\":null}]"));
	}

	TEST("rrule schedule body, plain and JSON forms") {
		CHECK(schedules_are("deployments:\n- name: a\n  schedules:\n"
		    "  - {rrule: 'FREQ=DAILY', active: false}\n"
		    "  - rrule: '{\"rrule\": \"FREQ=WEEKLY\", \"timezone\": "
		    "\"Europe/Oslo\"}'\n", NULL,
		    "[{\"schedule\":{\"rrule\":\"FREQ=DAILY\","
		    "\"timezone\":\"UTC\"},"
		    "\"active\":false,\"max_scheduled_runs\":null,"
		    "\"parameters\":"
		    "{},\"slug\":null,\"replaces\":null},"
		    "{\"schedule\":{\"rrule\":"
		    "\"FREQ=WEEKLY\",\"timezone\":\"Europe/Oslo\"},"
		    "\"active\":true,"
		    "\"max_scheduled_runs\":null,\"parameters\":{},"
		    "\"slug\":null,"
		    "\"replaces\":null}]"));
	}

	TEST("templated values are checked when the body is built") {
		cJSON	*item = cJSON_Parse("{\"cron\": \"* * * * *\", "
			    "\"active\": \"maybe\"}"), *out = NULL;
		char	 err[256];

		CHECK(prefect_yaml_schedule(item, NULL, &out, err,
		    sizeof(err)) == -1);
		CHECK_STR(err, "active must be able to be parsed as a boolean");
		cJSON_Delete(item);
		item = cJSON_Parse("{\"timezone\": \"UTC\"}");
		CHECK(prefect_yaml_schedule(item, NULL, &out, err,
		    sizeof(err)) == -1);
		CHECK_STR(err, "unknown schedule type: exactly one of cron, "
		    "interval, rrule is required");
		cJSON_Delete(item);
	}

	TEST("schedules absent or null give no schedules") {
		CHECK(schedules_are("deployments: [{name: a}]", NULL, "[]"));
		CHECK(schedules_are("deployments: [{name: a, schedules: null}]",
		    NULL, "[]"));
	}

	TEST("concurrency bodies: plain limit and options") {
		struct loaded	*l = load("deployments:\n"
		    "- {name: a, concurrency_limit: 2}\n"
		    "- {name: b, concurrency_limit: {limit: 3, "
		    "collision_strategy:"
		    " CANCEL_NEW, grace_period_seconds: 120}}\n"
		    "- {name: c, concurrency_limit: {collision_strategy: "
		    "ENQUEUE}}"
		    "\n- {name: d}\n");
		const char	*want[][2] = {
			{ "2", NULL },
			{ "3", "{\"collision_strategy\":\"CANCEL_NEW\","
			    "\"grace_period_seconds\":120}" },
			{ "null", "{\"collision_strategy\":\"ENQUEUE\"}" },
			{ "null", NULL },
		};

		for (size_t i = 0; i < 4; i++) {
			cJSON	*lim, *opt;

			CHECK(prefect_yaml_concurrency(prefect_yaml_deployment(
			    l->py, i)->config, &lim, &opt, NULL, 0) == 0);
			CHECK(json_is(lim, want[i][0]));
			CHECK(want[i][1] ? json_is(opt, want[i][1]) :
			    opt == NULL);
			cJSON_Delete(lim);
			cJSON_Delete(opt);
		}
		unload(l);
	}

	TEST("steps: a single step mapping is wrapped in a list") {
		CHECK(steps_are("pull:\n  prefect.deployments.steps."
		    "set_working_directory: {directory: /app}\n"
		    "deployments: [{name: a}]\n", 0,
		    "[]|[]|steps|[{\"prefect.deployments.steps."
		    "set_working_directory\":{\"directory\":\"/app\"}}]"));
	}

	TEST("steps: deployment sections override the top level") {
		const char *y = "build: [{a.b: {x: 1}}]\npush: [{p.q: {}}]\n"
		    "pull: [{t.pull: {}}]\ndeployments:\n- {name: d1}\n"
		    "- {name: d2, build: null, push: null, pull: null}\n"
		    "- {name: d3, build: [], push: [], pull: []}\n"
		    "- {name: d4, build: {}, push: {}, pull: {}}\n"
		    "- {name: d5, build: {c.d: {}}, push: [{e.f: {}}], "
		    "pull: {g.h: {}}}\n";

		CHECK(steps_are(y, 0, "[{\"a.b\":{\"x\":1}}]|[{\"p.q\":{}}]|"
		    "steps|[{\"t.pull\":{}}]"));
		/* build: null hides the top level; push and pull do not. */
		CHECK(steps_are(y, 1, "[]|[{\"p.q\":{}}]|steps|"
		    "[{\"t.pull\":{}}]"));
		/* pull: [] means no pull steps; push: [] still inherits. */
		CHECK(steps_are(y, 2, "[]|[{\"p.q\":{}}]|none|[]"));
		CHECK(steps_are(y, 3, "[]|[{\"p.q\":{}}]|steps|"
		    "[{\"t.pull\":{}}]"));
		CHECK(steps_are(y, 4, "[{\"c.d\":{}}]|[{\"e.f\":{}}]|steps|"
		    "[{\"g.h\":{}}]"));
	}

	TEST("steps: top-level pull: [] and deployment pull: null") {
		const char *y = "pull: []\ndeployments:\n- {name: d1}\n"
		    "- {name: d2, pull: null}\n- {name: d3, pull: [{x.y: "
		    "{}}]}\n";

		CHECK(steps_are(y, 0, "[]|[]|none|[]"));
		/* An explicit null is not [], so Prefect generates the
		 * default pull step even though the top level said []. */
		CHECK(steps_are(y, 1, "[]|[]|default|[]"));
		CHECK(steps_are(y, 2, "[]|[]|steps|[{\"x.y\":{}}]"));
	}

	TEST("steps: nothing configured means Prefect's default pull") {
		CHECK(steps_are("pull: null\nbuild: {}\ndeployments:\n"
		    "- {name: d1}\n", 0, "[]|[]|default|[]"));
		CHECK(steps_are("pull: {}\ndeployments:\n- {name: d1, pull: "
		    "{}}\n",
		    0, "[]|[]|default|[]"));
		CHECK(steps_are("pull: null\ndeployments:\n- {name: d2, pull: "
		    "[]}"
		    "\n", 0, "[]|[]|none|[]"));
	}

	TEST("the anchors example from Prefect's docs") {
		struct loaded	*l = load(
		    "definitions:\n"
		    "  work_pools:\n"
		    "    docker: &docker\n"
		    "      name: my-docker-work-pool\n"
		    "      job_variables: {image: '{{ build-image.image }}'}\n"
		    "  schedules:\n"
		    "    every_ten_minutes: &every_10_minutes\n"
		    "      interval: 600\n"
		    "  actions:\n"
		    "    docker_build: &docker_build\n"
		    "      - "
		    "prefect_docker.deployments.steps.build_docker_image:"
		    " &cfg\n"
		    "          id: build-image\n"
		    "          image_name: my-example-image\n"
		    "          dockerfile: auto\n"
		    "deployments:\n"
		    "  - name: deployment-1\n"
		    "    entrypoint: flows/hello.py:my_flow\n"
		    "    schedule: *every_10_minutes\n"
		    "    work_pool: *docker\n"
		    "    build: *docker_build\n"
		    "  - name: deployment-2\n"
		    "    entrypoint: flows/goodbye.py:my_other_flow\n"
		    "    work_pool: *docker\n"
		    "    build:\n"
		    "      - "
		    "prefect_docker.deployments.steps.build_docker_image:\n"
		    "          <<: *cfg\n"
		    "          dockerfile: Dockerfile\n");
		const struct pf_deployment *d;

		CHECK(l->rc == 0 && l->warn.n == 0);
		d = prefect_yaml_deployment(l->py, 0);
		CHECK(json_is(cJSON_GetObjectItem(d->config, "schedules"),
		    "[{\"interval\":600}]"));
		CHECK_STR(d->work_pool_name, "my-docker-work-pool");
		d = prefect_yaml_deployment(l->py, 1);
		CHECK(json_is(d->build_steps, "[{\"prefect_docker.deployments."
		    "steps.build_docker_image\":{\"id\":\"build-image\","
		    "\"image_name\":\"my-example-image\",\"dockerfile\":"
		    "\"Dockerfile\"}}]"));
		CHECK(d->pull_mode == PF_PULL_DEFAULT);
		unload(l);
	}

	TEST("warnings: unknown keys Prefect ignores") {
		CHECK(warns("foo: 1\n", "prefect.yaml:1:1: unknown top-level "
		    "key 'foo' is ignored"));
		CHECK(warns("deployments:\n- name: a\n  bogus: 1\n",
		    "prefect.yaml:3:3: deployments[0]: unknown deployment key "
		    "'bogus' is ignored"));
		CHECK(warns("deployments:\n- name: a\n  work_pool:\n"
		    "    name: p\n    variables: {}\n",
		    "prefect.yaml:5:5: deployments[0].work_pool: unknown "
		    "work_pool key 'variables' is ignored"));
	}

	TEST("definitions holds anchors without a warning") {
		struct loaded *l = load("definitions: {x: &x 1}\n"
		    "deployments: [{name: a, parameters: {v: *x}}]\n");

		CHECK(l->rc == 0 && l->warn.n == 0);
		unload(l);
	}

	TEST("warnings: settings that do nothing") {
		CHECK(warns("deployments:\n- name: a\n  schedules:\n"
		    "  - {cron: '* * * * *', anchor_date: '2024-01-01'}\n",
		    "prefect.yaml:4:25: deployments[0].schedules[0]: "
		    "anchor_date "
		    "only applies to interval schedules and is ignored"));
		CHECK(warns("deployments:\n- name: a\n  schedules:\n"
		    "  - {interval: 10, day_or: true}\n",
		    "prefect.yaml:4:20: deployments[0].schedules[0]: day_or "
		    "only "
		    "applies to cron schedules and is ignored"));
		CHECK(warns("pull:\n- {}\n", "prefect.yaml:2:3: pull[0]: empty "
		    "step is skipped"));
		CHECK(warns("deployments: [{name: a}, {name: a}]",
		    "prefect.yaml:1:27: deployments[1]: deployment name 'a' is "
		    "also used by deployments[0]"));
	}

	TEST("an entrypoint is required to deploy") {
		struct loaded	*l = load("deployments:\n- name: a\n- name: b\n"
		    "  entrypoint: f.py:f\n");
		char		 err[256];

		CHECK(prefect_yaml_check_deployable(l->py,
		    prefect_yaml_deployment(l->py, 0), err, sizeof(err)) == -1);
		CHECK_STR(err, "prefect.yaml:2:3: deployments[0]: an "
		    "entrypoint "
		    "is required to deploy (flows/<file>.c:<function>)");
		CHECK(prefect_yaml_check_deployable(l->py,
		    prefect_yaml_deployment(l->py, 1), err, sizeof(err)) == 0);
		unload(l);
	}

	TEST("triggers must be a list of mappings") {
		CHECK(fails("deployments: [{name: a, triggers: {}}]",
		    "prefect.yaml:1:35: deployments[0].triggers: must be a "
		    "list"));
		CHECK(fails("deployments: [{name: a, triggers: [1]}]",
		    "prefect.yaml:1:36: deployments[0].triggers[0]: must be a "
		    "mapping"));
	}

	return t_done();
}
