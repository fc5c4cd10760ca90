/*
 * jobconf.c: the process job configuration of one flow run, resolved the
 * way Prefect's BaseJobConfiguration.from_template_and_values does it:
 *
 *   variables = schema defaults <- deployment job_variables
 *               <- flow run job_variables      (env merged key by key)
 *   job_configuration: templated by deployments/template.c as Prefect's
 *   apply_values ("{{ x }}" alone -> the raw value, or the key dropped
 *   when x has none; inside a longer string -> text, or "").
 *   memory (MiB, as Prefect's ECS worker names it) and cpu_limit_seconds
 *   are read from the variables: pfagent's per-run limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker.h"
#include "common/json.h"
#include "common/util.h"
#include "deployments/template.h"

/* Expands "env.FOO": "x" into {"env": {"FOO": "x"}}, merging env. */
static void
overlay(cJSON *vars, const cJSON *values)
{
	const cJSON	*v;

	if (!cJSON_IsObject(values))
		return;
	cJSON_ArrayForEach(v, values) {
		const char	*key = v->string, *dot = strchr(key, '.');
		char		*head;
		cJSON		*dst;

		if (dot != NULL) {
			head = xstrdup(key);
			head[dot - key] = '\0';
			dst = cJSON_GetObjectItemCaseSensitive(vars, head);
			if (!cJSON_IsObject(dst)) {
				cJSON_DeleteItemFromObjectCaseSensitive(vars,
				    head);
				dst = cJSON_AddObjectToObject(vars, head);
			}
			cJSON_DeleteItemFromObjectCaseSensitive(dst, dot + 1);
			cJSON_AddItemToObject(dst, dot + 1,
			    cJSON_Duplicate(v, 1));
			free(head);
			continue;
		}
		dst = cJSON_GetObjectItemCaseSensitive(vars, key);
		if (strcmp(key, "env") == 0 && cJSON_IsObject(dst) &&
		    cJSON_IsObject(v)) {
			const cJSON *e;

			cJSON_ArrayForEach(e, v) {
				cJSON_DeleteItemFromObjectCaseSensitive(dst,
				    e->string);
				cJSON_AddItemToObject(dst, e->string,
				    cJSON_Duplicate(e, 1));
			}
			continue;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(vars, key);
		cJSON_AddItemToObject(vars, key, cJSON_Duplicate(v, 1));
	}
}

static cJSON *
variables_of(const cJSON *tmpl, const cJSON *deployment,
    const cJSON *flow_run)
{
	cJSON		*vars = cJSON_CreateObject();
	const cJSON	*props = json_obj(json_obj(tmpl, "variables"),
	    "properties"), *p;

	cJSON_ArrayForEach(p, props) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "default");

		if (d != NULL && !cJSON_IsNull(d))
			cJSON_AddItemToObject(vars, p->string,
			    cJSON_Duplicate(d, 1));
	}
	overlay(vars, json_obj(deployment, "job_variables"));
	overlay(vars, json_obj(flow_run, "job_variables"));
	return vars;
}

static char *
scalar_text(const cJSON *v)
{
	if (v == NULL || cJSON_IsNull(v))
		return xstrdup("");
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	return json_print(v);
}

static int
env_of(struct jobconf *jc, const cJSON *env, char *err, size_t errlen)
{
	const cJSON	*e;
	size_t		 n = 0;

	if (env != NULL && !cJSON_IsObject(env)) {
		errorf(err, errlen, "job variable 'env' must be an object");
		return -1;
	}
	jc->env = xcalloc((size_t)cJSON_GetArraySize(env) + 1, sizeof(char *));
	cJSON_ArrayForEach(e, env) {
		char	*v;

		if (cJSON_IsNull(e))
			continue;	/* null drops the key, as in Prefect */
		if (strchr(e->string, '=') != NULL || *e->string == '\0') {
			errorf(err, errlen, "environment variable name '%s' "
			    "is not valid", e->string);
			return -1;
		}
		v = scalar_text(e);
		jc->env[n++] = xasprintf("%s=%s", e->string, v);
		free(v);
	}
	return 0;
}

/*
 * A per-run limit from the job variables (not templated: Prefect's
 * process template has no such fields, so they are read from the merged
 * variables): a whole number from 1 up, or absent/null for none.
 */
static int
limit_of(const cJSON *vars, const char *key, const char *unit, long *out,
    char *err, size_t errlen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(vars, key);
	char		*text;

	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v) && v->valuedouble >= 1 &&
	    v->valuedouble <= 1e9 && v->valuedouble == (long)v->valuedouble) {
		*out = (long)v->valuedouble;
		return 0;
	}
	text = json_print(v);
	errorf(err, errlen, "job variable '%s' must be a whole number of %s "
	    "from 1 to 1000000000, not %.60s", key, unit, text);
	free(text);
	return -1;
}

cJSON *
jobconf_render(const cJSON *tmpl, const cJSON *deployment,
    const cJSON *flow_run, char *err, size_t errlen)
{
	cJSON	*vars = variables_of(tmpl, deployment, flow_run), *cfg;

	if (template_apply_values(json_obj(tmpl, "job_configuration"), vars,
	    1, NULL, &cfg, err, errlen) == -1)
		cfg = NULL;
	cJSON_Delete(vars);
	return cfg;
}

int
jobconf_resolve(struct jobconf *jc, const cJSON *tmpl, const cJSON *deployment,
    const cJSON *flow_run, char *err, size_t errlen)
{
	cJSON		*vars, *cfg;
	const cJSON	*v;
	int		 rc = -1;

	memset(jc, 0, sizeof(*jc));
	vars = variables_of(tmpl, deployment, flow_run);
	/* Prefect's apply_values, with unset values removed. */
	if (template_apply_values(json_obj(tmpl, "job_configuration"), vars,
	    1, NULL, &cfg, err, errlen) == -1) {
		cfg = NULL;
		goto out;
	}
	if (env_of(jc, cJSON_GetObjectItemCaseSensitive(cfg, "env"), err,
	    errlen) == -1)
		goto out;
	if (limit_of(vars, "memory", "MiB", &jc->memory_mb, err,
	    errlen) == -1 || limit_of(vars, "cpu_limit_seconds", "seconds",
	    &jc->cpu_seconds, err, errlen) == -1)
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(cfg, "working_dir");
	if (cJSON_IsString(v) && *v->valuestring)
		jc->working_dir = xstrdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(cfg, "command");
	if (cJSON_IsString(v) && *v->valuestring)
		jc->command = xstrdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(cfg, "stream_output");
	jc->stream_output = v == NULL || !cJSON_IsFalse(v);
	rc = 0;
out:
	cJSON_Delete(vars);
	cJSON_Delete(cfg);
	return rc;
}

void
jobconf_cleanup(struct jobconf *jc)
{
	for (char **e = jc->env; e && *e; e++)
		free(*e);
	free(jc->env);
	free(jc->working_dir);
	free(jc->command);
	memset(jc, 0, sizeof(*jc));
}
