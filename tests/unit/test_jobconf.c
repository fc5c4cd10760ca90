/* test_jobconf.c: job variables over the process base job template. */
#include <string.h>

#include "worker/worker.h"
#include "prefect/api.h"
#include "t.h"

static const char *
env_get(const struct jobconf *jc, const char *key)
{
	size_t	n = strlen(key);

	for (char **e = jc->env; e && *e; e++)
		if (strncmp(*e, key, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int
main(void)
{
	cJSON	*tmpl = api_process_base_job_template();
	char	 err[200];

	TEST("defaults: no working dir, no command, stream output on") {
		struct jobconf jc;

		CHECK(jobconf_resolve(&jc, tmpl, NULL, NULL, err,
		    sizeof(err)) == 0);
		CHECK(jc.working_dir == NULL);
		CHECK(jc.command == NULL);
		CHECK(jc.stream_output == 1);
		CHECK(jc.env != NULL && jc.env[0] == NULL);
		jobconf_cleanup(&jc);
	}
	TEST("flow run job variables beat the deployment's; env merges") {
		struct jobconf	 jc;
		cJSON		*dep = cJSON_Parse("{\"job_variables\":{"
		    "\"working_dir\":\"/srv/a\",\"env\":{\"A\":\"1\","
		    "\"B\":\"2\"},\"stream_output\":false}}");
		cJSON		*fr = cJSON_Parse("{\"job_variables\":{"
		    "\"working_dir\":\"/srv/b\",\"env\":{\"B\":\"3\","
		    "\"C\":null},\"env.D\":\"4\"}}");

		CHECK(jobconf_resolve(&jc, tmpl, dep, fr, err,
		    sizeof(err)) == 0);
		CHECK_STR(jc.working_dir, "/srv/b");
		CHECK_STR(env_get(&jc, "A"), "1");
		CHECK_STR(env_get(&jc, "B"), "3");
		CHECK(env_get(&jc, "C") == NULL);
		CHECK_STR(env_get(&jc, "D"), "4");
		CHECK(jc.stream_output == 0);
		jobconf_cleanup(&jc);
		cJSON_Delete(dep);
		cJSON_Delete(fr);
	}
	TEST("embedded placeholders become text; unknown ones empty") {
		struct jobconf	 jc;
		cJSON		*t = cJSON_Parse("{\"job_configuration\":{"
		    "\"working_dir\":\"/data/{{ team }}/{{ nope }}x\","
		    "\"command\":\"{{ command }}\"},\"variables\":{"
		    "\"properties\":{\"team\":{\"default\":\"etl\"}}}}");

		CHECK(jobconf_resolve(&jc, t, NULL, NULL, err,
		    sizeof(err)) == 0);
		CHECK_STR(jc.working_dir, "/data/etl/x");
		CHECK(jc.command == NULL);
		jobconf_cleanup(&jc);
		cJSON_Delete(t);
	}
	TEST("a bad env is an error, not a crash") {
		struct jobconf	 jc;
		cJSON		*fr = cJSON_Parse("{\"job_variables\":{"
		    "\"env\":[1,2]}}");

		CHECK(jobconf_resolve(&jc, tmpl, NULL, fr, err,
		    sizeof(err)) == -1);
		CHECK(strstr(err, "env") != NULL);
		jobconf_cleanup(&jc);
		cJSON_Delete(fr);
	}
	cJSON_Delete(tmpl);
	return t_done();
}
