/*
 * pull_steps.c: the step runner and the steps' dispatch table.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/redact.h"
#include "common/util.h"
#include "deployments/pull_steps.h"
#include "deployments/shell_step.h"

typedef int (*step_fn)(const cJSON *inputs, const struct pull_env *,
    struct pull_result *, cJSON **outputs, char *err, size_t errlen);

static int
set_working_directory(const cJSON *inputs, const struct pull_env *env,
    struct pull_result *res, cJSON **outputs, char *err, size_t errlen)
{
	const cJSON	*dir = cJSON_GetObjectItemCaseSensitive(inputs,
	    "directory"), *k;
	char		 cwd[PATH_MAX];

	(void)env;
	(void)res;
	cJSON_ArrayForEach(k, inputs)
		if (strcmp(k->string, "directory") != 0)
			return errorf(err, errlen, "set_working_directory got "
			    "an unexpected keyword argument '%s'", k->string);
	if (!cJSON_IsString(dir))
		return errorf(err, errlen, "set_working_directory needs "
		    "'directory' (a string)");
	if (chdir(dir->valuestring) == -1)
		return errorf(err, errlen, "cannot change into '%s': %s",
		    dir->valuestring, strerror(errno));
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return errorf(err, errlen, "getcwd: %s", strerror(errno));
	*outputs = cJSON_CreateObject();
	cJSON_AddStringToObject(*outputs, "directory", cwd);
	return 0;
}

static int
step_git_clone(const cJSON *inputs, const struct pull_env *env,
    struct pull_result *res, cJSON **outputs, char *err, size_t errlen)
{
	struct repo_lease lease;

	if (repo_clone_step(env->git, inputs, env->log, env->log_arg, &lease,
	    outputs, err, errlen) == -1)
		return -1;
	res->leases = xrealloc(res->leases, (res->nleases + 1) *
	    sizeof(*res->leases));
	res->leases[res->nleases++] = lease;
	return 0;
}

static int
run_shell_script(const cJSON *inputs, const struct pull_env *env,
    struct pull_result *res, cJSON **outputs, char *err, size_t errlen)
{
	(void)res;
	return shell_step_run(inputs, env->secrets, outputs, err, errlen);
}

/* Every name under which Prefect 3 exports the steps pfagent runs. */
static const struct {
	const char	*fqn;
	step_fn		 fn;
} steps_table[] = {
	{ "prefect.deployments.steps.git_clone", step_git_clone },
	{ "prefect.deployments.steps.pull.git_clone", step_git_clone },
	{ "prefect.deployments.steps.set_working_directory",
	    set_working_directory },
	{ "prefect.deployments.steps.pull.set_working_directory",
	    set_working_directory },
	{ "prefect.deployments.steps.run_shell_script", run_shell_script },
	{ "prefect.deployments.steps.utility.run_shell_script",
	    run_shell_script },
};

static step_fn
lookup(const char *fqn)
{
	for (size_t i = 0; i < sizeof(steps_table) / sizeof(*steps_table);
	    i++)
		if (strcmp(steps_table[i].fqn, fqn) == 0)
			return steps_table[i].fn;
	return NULL;
}

int
pull_step_known(const char *fqn)
{
	return fqn != NULL && lookup(fqn) != NULL;
}

/* Every string in v becomes a secret to mask. */
static void
note_secrets(struct redact *secrets, const cJSON *v)
{
	const cJSON	*c;

	if (cJSON_IsString(v))
		redact_add(secrets, v->valuestring);
	cJSON_ArrayForEach(c, v)
		note_secrets(secrets, c);
}

/* The caller's block lookups, noting what they return as secrets. */
static int
noting_block(const char *slug, const char *name, cJSON **out, char *err,
    size_t errlen, void *payload)
{
	const struct pull_env	*env = payload;
	int			 rc;

	rc = env->resolver->block(slug, name, out, err, errlen,
	    env->resolver->payload);
	if (rc == 0)
		note_secrets(env->secrets, *out);
	return rc;
}

static int
noting_block_by_id(const char *id, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	const struct pull_env	*env = payload;
	int			 rc;

	rc = env->resolver->block_by_id(id, out, err, errlen,
	    env->resolver->payload);
	if (rc == 0)
		note_secrets(env->secrets, *out);
	return rc;
}

static int
same_variable(const char *name, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	const struct pull_env	*env = payload;

	return env->resolver->variable(name, out, err, errlen,
	    env->resolver->payload);
}

/* env's resolver, with block values noted in env->secrets when set. */
static struct template_resolver
step_resolver(const struct pull_env *env)
{
	struct template_resolver r = { 0 };

	if (env->resolver == NULL)
		return r;
	r = *env->resolver;
	if (env->secrets != NULL) {
		r.block = r.block ? noting_block : NULL;
		r.block_by_id = r.block_by_id ? noting_block_by_id : NULL;
		r.variable = r.variable ? same_variable : NULL;
		r.payload = (void *)env;
	}
	return r;
}

/* An unset {{ $VAR }} or missing variable becomes "" as in Prefect, with
 * the warning Prefect gives when asked to (warn_on_notset). */
static void
warn_notset(const char *placeholder, void *arg)
{
	const struct pull_env	*env = arg;

	env->log(env->log_arg, PF_LEVEL_WARNING, "Value for placeholder '%s' "
	    "not found in provided values. Please ensure that the "
	    "placeholder is spelled correctly and that the corresponding "
	    "value is provided.", placeholder);
}

/* Adds out's keys to res->outputs (and all of out under id). */
static void
merge_outputs(struct pull_result *res, const char *id, const cJSON *out)
{
	const cJSON	*o;

	if (id != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(res->outputs, id);
		cJSON_AddItemToObject(res->outputs, id,
		    cJSON_Duplicate(out, 1));
	}
	cJSON_ArrayForEach(o, out) {
		cJSON_DeleteItemFromObjectCaseSensitive(res->outputs,
		    o->string);
		cJSON_AddItemToObject(res->outputs, o->string,
		    cJSON_Duplicate(o, 1));
	}
}

static int
run_step(const cJSON *step, const struct pull_env *env,
    struct pull_result *res, char *err, size_t errlen)
{
	const char	*fqn = step->child->string, *short_name;
	struct template_resolver resolver = step_resolver(env);
	cJSON		*raw, *inputs = NULL, *out = NULL;
	step_fn		 fn;
	char		 cause[2048];
	int		 rc = -1;

	short_name = strrchr(fqn, '.') ? strrchr(fqn, '.') + 1 : fqn;
	env->log(env->log_arg, PF_LEVEL_INFO, "Executing deployment step: %s",
	    short_name);
	raw = cJSON_IsObject(step->child) ? cJSON_Duplicate(step->child, 1) :
	    cJSON_CreateObject();
	if (step->child->next != NULL) {
		errorf(cause, sizeof(cause), "Step has unexpected additional "
		    "keys: %s", step->child->next->string);
	} else if (!cJSON_IsObject(step->child) &&
	    !cJSON_IsNull(step->child)) {
		errorf(cause, sizeof(cause), "the step's inputs must be a "
		    "mapping");
	} else if ((fn = lookup(fqn)) == NULL) {
		errorf(cause, sizeof(cause), "'%s' is a Python step; %s", fqn,
		    PULL_STEPS_KNOWN);
	} else {
		cJSON	*id_item = cJSON_DetachItemFromObjectCaseSensitive(raw,
		    "id");

		cJSON_DeleteItemFromObjectCaseSensitive(raw, "requires");
		if (template_step_inputs(raw, res->outputs, &resolver,
		    NULL, warn_notset, (void *)env, &inputs, cause,
		    sizeof(cause)) == 0 &&
		    fn(inputs ? inputs : raw, env, res, &out, cause,
		    sizeof(cause)) == 0) {
			if (cJSON_IsObject(out))
				merge_outputs(res, cJSON_GetStringValue(
				    id_item), out);
			env->log(env->log_arg, PF_LEVEL_INFO, "Deployment "
			    "step '%s' completed successfully", short_name);
			rc = 0;
		}
		cJSON_Delete(id_item);
	}
	if (rc == -1)
		errorf(err, errlen, "Encountered error while running %s: %s",
		    fqn, cause);
	cJSON_Delete(raw);
	cJSON_Delete(inputs);
	cJSON_Delete(out);
	return rc;
}

int
pull_steps_run(const cJSON *steps, const struct pull_env *env,
    struct pull_result *res, char *err, size_t errlen)
{
	const cJSON	*step, *dir;

	memset(res, 0, sizeof(*res));
	res->outputs = cJSON_CreateObject();
	if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) == 0)
		return 0;
	env->log(env->log_arg, PF_LEVEL_INFO, "Running %d deployment pull "
	    "step(s)", cJSON_GetArraySize(steps));
	cJSON_ArrayForEach(step, steps) {
		if (!cJSON_IsObject(step))
			return errorf(err, errlen, "a pull step must be a "
			    "mapping of one step name to its inputs");
		if (step->child == NULL)	/* Prefect skips empty steps */
			continue;
		if (run_step(step, env, res, err, errlen) == -1)
			return -1;
	}
	env->log(env->log_arg, PF_LEVEL_INFO, "All deployment steps completed "
	    "successfully");
	dir = cJSON_GetObjectItemCaseSensitive(res->outputs, "directory");
	if (cJSON_IsString(dir) && *dir->valuestring != '\0' &&
	    chdir(dir->valuestring) == -1)
		return errorf(err, errlen, "cannot change into the pull steps' "
		    "directory '%s': %s", dir->valuestring, strerror(errno));
	return 0;
}

void
pull_result_cleanup(struct pull_result *res)
{
	for (size_t i = 0; i < res->nleases; i++)
		repo_lease_release(&res->leases[i]);
	free(res->leases);
	cJSON_Delete(res->outputs);
	memset(res, 0, sizeof(*res));
}
