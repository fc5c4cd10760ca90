/*
 * deploy_target.c: a deployment of prefect.yaml made into what Prefect
 * 3.8.8's _run_single_deploy (prefect/cli/deploy/_core.py) would send:
 * templated config, flow module, DeploymentCreate body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli/deploy/target.h"
#include "sdk/module.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "sdk/run.h"

#define SET_WORKDIR	"prefect.deployments.steps.set_working_directory"

/* ---------------------------------------------------------- templating */

/*
 * _run_single_deploy's templating: blocks, variables and $ENV over the
 * config, then the (empty) step outputs with unresolved placeholders
 * removed, {{ ctx.* }} kept for the worker, schedules on their own.
 * Steps are not taken from here: pull steps keep their references for
 * run time and build/push steps are refused, so they are not resolved.
 */
int
deploy_target_template(struct deploy_target *t,
    const struct template_resolver *r, const cJSON *values, char *err,
    size_t errlen)
{
	static const char *const ctx[] = { "ctx.", NULL };
	static const char *const unused[] = { "build", "push", "pull",
	    "triggers", "sla" };
	struct template_opts	 opts = { ctx, NULL };
	cJSON			*raw, *cfg = NULL, *sched = NULL, *out = NULL;
	cJSON			*s = NULL;
	int			 rc = -1;

	raw = cJSON_Duplicate(t->d->config, 1);
	for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(raw, unused[i]);
	if (template_deploy_config(raw, r, NULL, &cfg, err, errlen) == -1)
		goto out;
	sched = cJSON_DetachItemFromObjectCaseSensitive(cfg, "schedules");
	if (template_apply_values(cfg, values, 1, &opts, &out, err,
	    errlen) == -1)
		goto out;
	if (out == NULL)
		out = cJSON_CreateObject();
	if (sched != NULL && !cJSON_IsNull(sched)) {
		if (template_apply_values(sched, NULL, 1, NULL, &s, err,
		    errlen) == -1)
			goto out;
		cJSON_AddItemToObject(out, "schedules", s ? s :
		    cJSON_CreateArray());
	}
	t->cfg = out;			/* now owned by the target */
	out = NULL;
	t->name = json_str(t->cfg, "name");
	if (t->name == NULL || t->name[0] == '\0')
		errorf(err, errlen, "the deployment name is empty after "
		    "templating");
	else
		rc = 0;
out:
	cJSON_Delete(raw);
	cJSON_Delete(cfg);
	cJSON_Delete(sched);
	cJSON_Delete(out);
	return rc;
}

/*
 * The name as the server will hold it: RunnerDeployment turns "x.py"
 * into Path("x.py").stem, and the server refuses the characters of
 * Prefect's BANNED_CHARACTERS (prefect/types/names.py) in a name.
 */
int
deploy_target_check_name(struct deploy_target *t, char *err, size_t errlen)
{
	const char	*n = t->name, *base, *bad;
	size_t		 len = strlen(n);
	char		*stem;

	if (len > 3 && strcmp(n + len - 3, ".py") == 0) {
		base = strrchr(n, '/') ? strrchr(n, '/') + 1 : n;
		if (strlen(base) > 3) {
			stem = xasprintf("%.*s", (int)(strlen(base) - 3), base);
			cJSON_ReplaceItemInObjectCaseSensitive(t->cfg, "name",
			    cJSON_CreateString(stem));
			free(stem);
			t->name = n = json_str(t->cfg, "name");
		}
	}
	if ((bad = strpbrk(n, "/%&><")) != NULL)
		return errorf(err, errlen, "the deployment name '%s' contains "
		    "'%c': Prefect refuses the characters / %% & > < in a "
		    "name", n, *bad);
	return 0;
}

/* ---------------------------------------------------------- the module */

/*
 * Hex MD5 of a file, as Prefect's file_hash(): a flow's version when
 * none is given. NULL when it cannot be read.
 */
static char *
file_md5(const char *path)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 md[EVP_MAX_MD_SIZE], chunk[8192];
	unsigned int	 mdlen = 0;
	EVP_MD_CTX	*ctx;
	FILE		*f;
	size_t		 n;
	char		*out = NULL;
	int		 ok;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("out of memory hashing %s", path);
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	while (ok && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ok = EVP_DigestUpdate(ctx, chunk, n);
	if (ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, &mdlen)) {
		out = xmalloc(2 * mdlen + 1);
		for (unsigned int i = 0; i < mdlen; i++) {
			out[2 * i] = hex[md[i] >> 4];
			out[2 * i + 1] = hex[md[i] & 0xf];
		}
		out[2 * mdlen] = '\0';
	}
	EVP_MD_CTX_free(ctx);
	fclose(f);
	return out;
}

/* Builds and loads the module: the flow's name and declaration. */
int
deploy_target_load_flow(struct deploy_target *t, char *err, size_t errlen)
{
	struct entrypoint	 ep;
	const char		*text = json_str(t->cfg, "entrypoint");
	char			*output = NULL;
	int			 rc = -1;

	memset(&ep, 0, sizeof(ep));
	if (text == NULL || text[0] == '\0')
		return errorf(err, errlen, "an entrypoint is required "
		    "(flows/<file>.c:<function>)");
	if (entrypoint_parse(text, &ep, err, errlen) == -1)
		goto out;
	if (entrypoint_build(&ep, &output, err, errlen) == -1) {
		t->build_output = output;	/* shown with the error */
		output = NULL;
		goto out;
	}
	if (entrypoint_load(&ep, &t->def, err, errlen) == -1)
		goto out;
	t->flow = xstrdup(t->def->name ? t->def->name : ep.function);
	t->source_md5 = file_md5(ep.file);
	rc = 0;
out:
	free(output);
	entrypoint_cleanup(&ep);
	return rc;
}

/* ------------------------------------------------------- parameters */

/* "key = value: why", the value cut short. */
static int
param_error(const char *path, const cJSON *v, const char *why, int strict,
    char *err, size_t errlen)
{
	char	*text = json_print(v);
	int	 cut = strlen(text) > 60;

	errorf(err, errlen, "%s = %.60s%s: %s (%s)", path, text, cut ? "..." :
	    "", why, strict ? "the server checks each run's parameters "
	    "against the flow's schema: enforce_parameter_schema is on" :
	    "each run would fail: the flow coerces its parameters so");
	free(text);
	return -1;
}

/* One parameters mapping; sets bad_key to the key that fails. */
static int
check_param_map(struct deploy_target *t, const cJSON *params,
    const char *label, int strict, char *err, size_t errlen)
{
	const cJSON	*p;
	char		 why[512], path[512];

	cJSON_ArrayForEach(p, params) {
		if (sdk_param_check(t->def, p->string, p, strict, why,
		    sizeof(why)) == 0)
			continue;
		t->bad_key = p->string;
		snprintf(path, sizeof(path), "%s.%s", label, p->string);
		return param_error(path, p, why, strict, err, errlen);
	}
	return 0;
}

/*
 * The parameters of the deployment and of its schedules, each checked
 * against the flow's declaration before anything is sent: Prefect
 * would take them and fail every run.
 */
int
deploy_target_check_params(struct deploy_target *t, char *err,
    size_t errlen)
{
	const cJSON	*v, *s;
	char		 label[64];
	int		 strict, i = 0;

	v = cJSON_GetObjectItemCaseSensitive(t->cfg, "enforce_parameter_schema");
	strict = cJSON_IsBool(v) ? cJSON_IsTrue(v) : 1;
	t->bad_schedule = -1;
	if (check_param_map(t, json_obj(t->cfg, "parameters"), "parameters",
	    strict, err, errlen) == -1)
		return -1;
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(t->cfg,
	    "schedules")) {
		snprintf(label, sizeof(label), "schedules[%d].parameters", i);
		if (check_param_map(t, json_obj(s, "parameters"), label,
		    strict, err, errlen) == -1) {
			t->bad_schedule = i;
			return -1;
		}
		i++;
	}
	return 0;
}

/* --------------------------------------------------------------- spec */

static cJSON *
str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* The effective pull steps, as _run_single_deploy stores them. */
static cJSON *
pull_steps(const struct deploy_target *t, const char *cwd,
    const cJSON *job_variables, char *err, size_t errlen)
{
	const cJSON	*image;
	cJSON		*steps = NULL, *step, *args;

	switch (t->d->pull_mode) {
	case PF_PULL_NONE:
		return cJSON_CreateArray();
	case PF_PULL_STEPS:
		/* Only $ENV of this shell is substituted, as in Prefect. */
		if (template_apply_values(t->d->pull_steps, NULL, 0, NULL,
		    &steps, err, errlen) == -1)
			return NULL;
		return steps ? steps : cJSON_CreateArray();
	case PF_PULL_DEFAULT:
		break;
	}
	/* A custom image does not hold this directory: Prefect's default. */
	image = cJSON_GetObjectItemCaseSensitive(job_variables, "image");
	if (cJSON_IsString(image) && image->valuestring[0] != '\0')
		fprintf(stderr, "pfagent deploy: warning: deployment '%s': "
		    "using the default working directory '/opt/prefect' of "
		    "the image; add a set_working_directory pull step if the "
		    "flow is elsewhere\n", t->name);
	steps = cJSON_CreateArray();
	step = cJSON_CreateObject();
	args = cJSON_AddObjectToObject(step, SET_WORKDIR);
	cJSON_AddStringToObject(args, "directory",
	    cJSON_IsString(image) && image->valuestring[0] != '\0' ?
	    "/opt/prefect" : cwd);
	cJSON_AddItemToArray(steps, step);
	return steps;
}

/* A list of non-empty strings, as Prefect's ListOfNonEmptyStrings. */
static int
tags_ok(const cJSON *tags)
{
	const cJSON	*c;

	if (!cJSON_IsArray(tags))
		return 0;
	for (c = tags->child; c != NULL; c = c->next)
		if (!cJSON_IsString(c) || c->valuestring[0] == '\0')
			return 0;
	return 1;
}

/* What Prefect would send to create the deployment (no flow_id yet). */
int
deploy_target_build_spec(struct deploy_target *t, const char *cwd, char *err,
    size_t errlen)
{
	const cJSON	*cfg = t->cfg, *wp = json_obj(cfg, "work_pool");
	const cJSON	*v, *jv = json_obj(wp, "job_variables");
	const char	*version = json_str(cfg, "version");
	const char	*desc = json_str(cfg, "description");
	const char	*queue;
	cJSON		*s, *lim, *opts, *sched, *pull;

	v = cJSON_GetObjectItemCaseSensitive(wp, "work_queue_name");
	if (v != NULL && !cJSON_IsNull(v) && !cJSON_IsString(v))
		return errorf(err, errlen, "work_pool.work_queue_name must "
		    "be a string");
	queue = cJSON_IsString(v) && v->valuestring[0] ? v->valuestring :
	    NULL;
	v = cJSON_GetObjectItemCaseSensitive(cfg, "tags");
	if (v != NULL && !cJSON_IsNull(v) && !tags_ok(v))
		return errorf(err, errlen, "tags must be a list of non-empty "
		    "strings");
	if ((v = cJSON_GetObjectItemCaseSensitive(cfg, "parameters")) !=
	    NULL && !cJSON_IsNull(v) && !cJSON_IsObject(v))
		return errorf(err, errlen, "parameters must be a mapping");
	if (prefect_yaml_concurrency(cfg, &lim, &opts, err, errlen) == -1)
		return -1;
	sched = NULL;
	v = cJSON_GetObjectItemCaseSensitive(cfg, "schedules");
	if (v != NULL && !cJSON_IsNull(v) && prefect_yaml_schedules(cfg,
	    NULL, &sched, err, errlen) == -1) {
		cJSON_Delete(lim);
		cJSON_Delete(opts);
		return -1;
	}
	if ((pull = pull_steps(t, cwd, jv, err, errlen)) == NULL) {
		cJSON_Delete(lim);
		cJSON_Delete(opts);
		cJSON_Delete(sched);
		return -1;
	}

	s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "name", t->name);
	/* The file's, else the flow's, else Python's default: its hash. */
	if (version == NULL || version[0] == '\0')
		version = t->def->version && t->def->version[0] ?
		    t->def->version : t->source_md5;
	cJSON_AddItemToObject(s, "version", str_or_null(version));
	cJSON_AddItemToObject(s, "description", str_or_null(desc && *desc ?
	    desc : t->def->description));
	v = cJSON_GetObjectItemCaseSensitive(cfg, "paused");
	t->has_paused = cJSON_IsBool(v);
	cJSON_AddBoolToObject(s, "paused", cJSON_IsTrue(v));
	v = cJSON_GetObjectItemCaseSensitive(cfg, "tags");
	cJSON_AddItemToObject(s, "tags", cJSON_IsArray(v) ?
	    cJSON_Duplicate(v, 1) : cJSON_CreateArray());
	v = json_obj(cfg, "parameters");
	cJSON_AddItemToObject(s, "parameters", v ? cJSON_Duplicate(v, 1) :
	    cJSON_CreateObject());
	cJSON_AddItemToObject(s, "parameter_openapi_schema",
	    sdk_params_schema(t->def));
	/* RunnerDeployment's default when the file says nothing. */
	v = cJSON_GetObjectItemCaseSensitive(cfg, "enforce_parameter_schema");
	cJSON_AddBoolToObject(s, "enforce_parameter_schema",
	    cJSON_IsBool(v) ? cJSON_IsTrue(v) : 1);
	cJSON_AddStringToObject(s, "entrypoint", json_str(cfg, "entrypoint"));
	cJSON_AddItemToObject(s, "pull_steps", pull);
	cJSON_AddStringToObject(s, "work_pool_name", json_str(wp, "name"));
	cJSON_AddItemToObject(s, "work_queue_name", str_or_null(queue));
	cJSON_AddItemToObject(s, "job_variables", jv ? cJSON_Duplicate(jv, 1) :
	    cJSON_CreateObject());
	cJSON_AddItemToObject(s, "concurrency_limit", lim);
	cJSON_AddItemToObject(s, "concurrency_options", opts ? opts :
	    cJSON_CreateNull());
	t->has_schedules = sched != NULL;
	cJSON_AddItemToObject(s, "schedules", sched ? sched :
	    cJSON_CreateArray());
	t->spec = s;
	return 0;
}

/* ---------------------------------------------------------- the target */

struct deploy_pair
deploy_target_pair(const struct deploy_target *t)
{
	struct deploy_pair	p = {
		.config = t->d->config,
		.spec = t->spec,
		.current = t->current,
		.default_queue = t->default_queue,
		.has_paused = t->has_paused,
		.has_schedules = t->has_schedules,
	};

	return p;
}

void
deploy_target_cleanup(struct deploy_target *t)
{
	cJSON_Delete(t->cfg);
	cJSON_Delete(t->spec);
	cJSON_Delete(t->current);
	free(t->flow);
	free(t->source_md5);
	free(t->default_queue);
	free(t->build_output);
	memset(t, 0, sizeof(*t));
}
