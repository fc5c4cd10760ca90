/*
 * prefect_yaml_check.c: validate a prefect.yaml, deployment by deployment.
 *
 * The rules are Prefect 3's: PrefectYamlModel and DeploymentConfig for
 * types (pydantic lax mode: "yes" is a bool, "3" an int, but 3 is not a
 * string), _handle_deprecated_schedule_fields for `schedule`, and
 * _run_single_deploy for which build/push/pull steps apply.  Checks that
 * Prefect only makes when it registers or runs a deployment (one key per
 * step, one schedule kind, a parsable interval, concurrency options)
 * are made here so they come with a file position.  Unknown keys are
 * ignored, as Prefect does, but reported as warnings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "deployments/prefect_yaml_int.h"

static const char *const top_keys[] = {
	"name", "prefect-version", "build", "push", "pull", "deployments",
	"definitions", NULL
};

static const char *const deployment_keys[] = {
	"name", "version", "version_type", "tags", "description", "schedule",
	"schedules", "paused", "concurrency_limit", "flow_name", "entrypoint",
	"parameters", "enforce_parameter_schema", "build", "push", "pull",
	"work_pool", "triggers", "sla", NULL
};

static const char *const work_pool_keys[] = {
	"name", "work_queue_name", "job_variables", NULL
};

static const char *const concurrency_keys[] = {
	"limit", "collision_strategy", "grace_period_seconds", NULL
};

static const char *const schedule_keys[] = {
	"cron", "interval", "rrule", "timezone", "anchor_date", "active",
	"parameters", "slug", "replaces", "day_or", NULL
};

/* ------------------------------------------------------------- helpers */

/* Adds a copy (or item itself, when owned) to obj, tracking OOM. */
void
pyaml_put(struct vctx *v, cJSON *obj, const char *key, cJSON *item)
{
	if (item == NULL || obj == NULL ||
	    !cJSON_AddItemToObject(obj, key, item)) {
		cJSON_Delete(item);
		v->oom = 1;
	}
}

static void
put_copy(struct vctx *v, cJSON *obj, const char *key, const cJSON *item)
{
	pyaml_put(v, obj, key, cJSON_Duplicate(item, 1));
}

static int
is_templated(const char *s)
{
	return s != NULL && strstr(s, "{{") != NULL;
}

/* A str field: strings only, and not a YAML timestamp. */
static int
str_ok(struct vctx *v, const cJSON *n, const char *path)
{
	if (cJSON_IsString(n) &&
	    !(ydoc_flags(v->doc, n) & YDOC_NODE_TIMESTAMP))
		return 1;
	if (cJSON_IsString(n))
		pyaml_err(v, n, path,
		    "must be a string; quote the date so YAML "
		    "does not read it as a timestamp");
	else
		pyaml_err(v, n, path, "must be a string");
	return 0;
}

/* Optional[str]: copied into norm when valid. */
static void
opt_str(struct vctx *v, const cJSON *obj, const char *key, const char *path,
    cJSON *norm)
{
	const cJSON	*n = get(obj, key);
	char		 p[256];

	if (n == NULL)
		return;
	if (cJSON_IsNull(n) || str_ok(v, n, pyaml_sub(p, sizeof(p), path, key)))
		put_copy(v, norm, key, n);
}

/* pydantic's lax bool; -1 when n cannot be one. */
int
pyaml_lax_bool(const cJSON *n, int *b)
{
	static const char *const t[] = { "1", "on", "t", "true", "y", "yes" };
	static const char *const f[] = { "0", "off", "f", "false", "n", "no" };

	if (cJSON_IsBool(n))
		return *b = cJSON_IsTrue(n), 0;
	if (cJSON_IsNumber(n) && (n->valuedouble == 0 ||
	    n->valuedouble == 1))
		return *b = n->valuedouble == 1, 0;
	if (!cJSON_IsString(n))
		return -1;
	for (size_t i = 0; i < 6; i++) {
		if (strcasecmp(n->valuestring, t[i]) == 0)
			return *b = 1, 0;
		if (strcasecmp(n->valuestring, f[i]) == 0)
			return *b = 0, 0;
	}
	return -1;
}

/* pydantic's lax int: 3, 3.0, true, "3", " 1_000 ", "3.0". */
int
pyaml_lax_int(const cJSON *n, long long *out)
{
	const char	*s;
	long long	 v = 0;
	int		 neg = 0, digits = 0;

	if (cJSON_IsBool(n))
		return *out = cJSON_IsTrue(n), 0;
	if (cJSON_IsNumber(n))
		return n->valuedouble == floor(n->valuedouble) &&
		    fabs(n->valuedouble) < 9.2e18 ?
		    (*out = (long long)n->valuedouble, 0) : -1;
	if (!cJSON_IsString(n))
		return -1;
	s = n->valuestring + strspn(n->valuestring, " \t\n\r");
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; (*s >= '0' && *s <= '9') || (*s == '_' && digits); s++) {
		if (*s == '_')
			continue;
		if (v > 99999999999999999LL)
			return -1;
		v = v * 10 + (*s - '0');
		digits++;
	}
	if (*s == '.')
		for (s++; *s == '0'; s++)
			;
	s += strspn(s, " \t\n\r");
	if (!digits || *s != '\0')
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/* Optional[bool], coerced into norm. */
static void
opt_bool(struct vctx *v, const cJSON *obj, const char *key, const char *path,
    cJSON *norm)
{
	const cJSON	*n = get(obj, key);
	char		 p[256];
	int		 b;

	if (n == NULL)
		return;
	if (cJSON_IsNull(n))
		pyaml_put(v, norm, key, cJSON_CreateNull());
	else if (pyaml_lax_bool(n, &b) == 0)
		pyaml_put(v, norm, key, cJSON_CreateBool(b));
	else
		pyaml_err(v, n, pyaml_sub(p, sizeof(p), path, key),
		    "must be a boolean");
}

/* Dict[str, Any]: a mapping whose keys were strings in the YAML. */
static int
str_map_ok(struct vctx *v, const cJSON *n, const char *path)
{
	char	 p[256];
	int	 ok = 1;

	if (!cJSON_IsObject(n)) {
		pyaml_err(v, n, path, "must be a mapping");
		return 0;
	}
	for (const cJSON *c = n->child; c != NULL; c = c->next) {
		if (ydoc_flags(v->doc, c) & YDOC_NODE_KEY_NONSTR) {
			pyaml_err_key(v, c, pyaml_sub(p, sizeof(p), path,
			    c->string),
			    "keys must be strings");
			ok = 0;
		}
	}
	return ok;
}

static void
warn_unknown(struct vctx *v, const cJSON *obj, const char *path,
    const char *const *known, const char *what)
{
	for (const cJSON *c = obj->child; c != NULL; c = c->next) {
		size_t	 i;

		for (i = 0; known[i] != NULL; i++)
			if (strcmp(c->string, known[i]) == 0)
				break;
		if (known[i] == NULL)
			pyaml_warn(v, c, path, "unknown %s key '%s' is ignored",
			    what, c->string);
	}
}

/* --------------------------------------------------------------- steps */

static void
check_step(struct vctx *v, const cJSON *step, const char *path)
{
	const cJSON	*fn;
	char		 p[256];

	if (!cJSON_IsObject(step)) {
		pyaml_err(v, step, path, "a step must be a mapping");
		return;
	}
	if ((fn = step->child) == NULL) {
		pyaml_warn(v, step, path, "empty step is skipped");
		return;
	}
	if (fn->next != NULL) {
		pyaml_err(v, step, path,
		    "a step must have exactly one key (the "
		    "function to run), found %d", cJSON_GetArraySize(step));
		return;
	}
	pyaml_sub(p, sizeof(p), path, fn->string);
	if (ydoc_flags(v->doc, fn) & YDOC_NODE_KEY_NONSTR)
		pyaml_err_key(v, fn, p, "the step name must be a string");
	else if (strchr(fn->string, '.') == NULL &&
	    strchr(fn->string, ':') == NULL)
		pyaml_err_key(v, fn, p,
		    "the step name must be a fully qualified "
		    "function name such as prefect.deployments.steps."
		    "git_clone");
	if (!cJSON_IsObject(fn))
		pyaml_err(v, fn, p, "step inputs must be a mapping");
	else
		str_map_ok(v, fn, p);
}

/*
 * build/push/pull: null, a list of steps, or one step mapping (wrapped
 * into a list; an empty mapping is kept as is, as Prefect does).
 * Returns the normalised copy, or NULL after reporting an error.
 */
static cJSON *
check_steps(struct vctx *v, const cJSON *n, const char *path)
{
	cJSON	*list, *c;
	char	 p[256];
	size_t	 i = 0;

	if (cJSON_IsObject(n) && n->child != NULL) {
		check_step(v, n, pyaml_idx(p, sizeof(p), path, 0));
		list = cJSON_CreateArray();
		c = cJSON_Duplicate(n, 1);
		if (c == NULL || !cJSON_AddItemToArray(list, c)) {
			cJSON_Delete(c);
			cJSON_Delete(list);
			v->oom = 1;
			return NULL;
		}
		return list;
	}
	if (!cJSON_IsNull(n) && !cJSON_IsObject(n) && !cJSON_IsArray(n)) {
		pyaml_err(v, n, path,
		    "must be a list of steps or a single step " "mapping");
		return NULL;
	}
	for (const cJSON *s = n->child; s != NULL; s = s->next, i++)
		check_step(v, s, pyaml_idx(p, sizeof(p), path, i));
	if ((c = cJSON_Duplicate(n, 1)) == NULL)
		v->oom = 1;
	return c;
}

static void
opt_steps(struct vctx *v, const cJSON *obj, const char *key,
    const char *path, cJSON *norm)
{
	const cJSON	*n = get(obj, key);
	char		 p[256];
	cJSON		*c;

	if (n == NULL)
		return;
	if ((c = check_steps(v, n, pyaml_sub(p, sizeof(p), path, key))) != NULL)
		pyaml_put(v, norm, key, c);
}

/* ----------------------------------------------------------- schedules */

/* Union[bool, str] fields: active, day_or.  Numbers 0/1 become bools. */
static void
bool_or_str(struct vctx *v, const cJSON *item, const char *key,
    const char *path, cJSON *norm)
{
	const cJSON	*n = get(item, key);
	char		 p[256];
	int		 b;

	if (n == NULL)
		return;
	pyaml_sub(p, sizeof(p), path, key);
	if (cJSON_IsNull(n) || cJSON_IsBool(n))
		put_copy(v, norm, key, n);
	else if (cJSON_IsString(n)) {
		if (!is_templated(n->valuestring) && pyaml_lax_bool(n,
		    &b) == -1)
			pyaml_err(v, n, p, "must be a boolean");
		put_copy(v, norm, key, n);
	} else if (pyaml_lax_bool(n, &b) == 0)
		pyaml_put(v, norm, key, cJSON_CreateBool(b));
	else
		pyaml_err(v, n, p, "must be a boolean");
}

static const char *
schedule_kind(const cJSON *item)
{
	const char	*kinds[] = { "cron", "interval", "rrule" }, *k = NULL;
	int		 n = 0;

	for (size_t i = 0; i < 3; i++) {
		const cJSON *c = get(item, kinds[i]);

		if (c != NULL && !cJSON_IsNull(c)) {
			k = kinds[i];
			n++;
		}
	}
	return n == 1 ? k : NULL;
}

static void
check_interval(struct vctx *v, const cJSON *n, const char *path,
    cJSON *norm)
{
	char	 p[256];
	double	 secs;
	cJSON	*num;

	pyaml_sub(p, sizeof(p), path, "interval");
	if (pyaml_interval_secs(n, &secs) == -1) {
		pyaml_err(v, n, p, "must be a number of seconds, an ISO 8601 "
		    "duration (PT10M) or HH:MM:SS");
		return;
	}
	if (secs <= 0) {
		pyaml_err(v, n, p, "must be greater than zero");
		return;
	}
	if ((num = cJSON_CreateNumber(secs)) != NULL)
		num->type |= YDOC_CJSON_FLOAT;
	pyaml_put(v, norm, "interval", num);
}

static void
check_schedule_string(struct vctx *v, const cJSON *item, const char *kind,
    const char *path)
{
	const cJSON	*n = get(item, kind);
	char		 p[256];
	const char	*why;

	pyaml_sub(p, sizeof(p), path, kind);
	if (!cJSON_IsString(n) || is_templated(n->valuestring))
		return;
	if (n->valuestring[0] == '\0')
		pyaml_err(v, n, p, "must not be empty");
	else if (strcmp(kind, "cron") == 0 && !pyaml_cron_ok(n->valuestring,
	    &why))
		pyaml_err(v, n, p, "%s: \"%s\"", why, n->valuestring);
	else if (strcmp(kind, "rrule") == 0 &&
	    strlen(n->valuestring) > MAX_RRULE)
		pyaml_err(v, n, p, "is longer than %d characters", MAX_RRULE);
}

/* Extras that only mean something for one kind are ignored by Prefect. */
static void
check_schedule_extras(struct vctx *v, const cJSON *item, const char *kind,
    const char *path)
{
	const cJSON	*a = get(item, "anchor_date"), *d = get(item, "day_or");
	char		 p[256], buf[64];

	if (a != NULL && !cJSON_IsNull(a) && strcmp(kind, "interval") != 0)
		pyaml_warn(v, a, path, "anchor_date only applies to interval "
		    "schedules and is ignored");
	else if (cJSON_IsString(a) && !is_templated(a->valuestring) &&
	    a->valuestring[0] != '\0' &&
	    pyaml_normalize_anchor(a->valuestring, buf, sizeof(buf)) == -1)
		pyaml_err(v, a, pyaml_sub(p, sizeof(p), path, "anchor_date"),
		    "is not an " "ISO 8601 date-time: \"%s\"", a->valuestring);
	if (d != NULL && !cJSON_IsNull(d) && strcmp(kind, "cron") != 0)
		pyaml_warn(v, d, path,
		    "day_or only applies to cron schedules and " "is ignored");
}

static cJSON *
check_schedule(struct vctx *v, const cJSON *item, const char *path)
{
	static const char *const strs[] = { "cron", "rrule", "timezone",
	    "anchor_date", "slug", "replaces" };
	const cJSON	*params;
	const char	*kind;
	cJSON		*norm;
	char		 p[256];

	if (!cJSON_IsObject(item)) {
		pyaml_err(v, item, path, "a schedule must be a mapping");
		return NULL;
	}
	if ((norm = cJSON_CreateObject()) == NULL)
		return v->oom = 1, NULL;
	for (const cJSON *c = item->child; c != NULL; c = c->next) {
		size_t i;

		for (i = 0; schedule_keys[i] && strcmp(c->string,
		    schedule_keys[i]); i++)
			;
		if (schedule_keys[i] == NULL)
			pyaml_err_key(v, c, pyaml_sub(p, sizeof(p), path,
			    c->string),
			    "unknown schedule key");
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		opt_str(v, item, strs[i], path, norm);
	if (get(item, "interval") && !cJSON_IsNull(get(item, "interval")))
		check_interval(v, get(item, "interval"), path, norm);
	bool_or_str(v, item, "active", path, norm);
	bool_or_str(v, item, "day_or", path, norm);
	if ((params = get(item, "parameters")) != NULL &&
	    str_map_ok(v, params, pyaml_sub(p, sizeof(p), path, "parameters")))
		put_copy(v, norm, "parameters", params);
	if ((kind = schedule_kind(item)) == NULL)
		pyaml_err(v, item, path,
		    "exactly one of cron, interval, rrule is " "required");
	else {
		check_schedule_string(v, item, kind, path);
		check_schedule_extras(v, item, kind, path);
	}
	return norm;
}

/* schedules (list) and the deprecated single schedule. */
static void
check_schedules(struct vctx *v, const cJSON *dep, const char *path,
    cJSON *norm)
{
	const cJSON	*one = get(dep, "schedule");
	const cJSON	*list = get(dep, "schedules");
	cJSON		*out;
	char		 p[256], q[256];
	size_t		 i = 0;

	if (one != NULL && !cJSON_IsNull(one) && !cJSON_IsObject(one))
		pyaml_err(v, one, pyaml_sub(p, sizeof(p), path, "schedule"),
		    "a schedule must be a mapping");
	if (cJSON_IsObject(one) && one->child != NULL && list != NULL) {
		pyaml_err(v, one, pyaml_sub(p, sizeof(p), path, "schedule"),
		    "both 'schedule' and 'schedules' are present; use only "
		    "'schedules'");
		return;
	}
	if (cJSON_IsObject(one) && one->child != NULL) {
		cJSON *c = check_schedule(v, one, pyaml_sub(p, sizeof(p), path,
		    "schedule"));

		out = cJSON_CreateArray();
		if (c != NULL && !cJSON_AddItemToArray(out, c)) {
			cJSON_Delete(c);
			v->oom = 1;
		}
		pyaml_put(v, norm, "schedules", out);
		return;
	}
	if (list == NULL)
		return;
	pyaml_sub(p, sizeof(p), path, "schedules");
	if (cJSON_IsNull(list)) {
		pyaml_put(v, norm, "schedules", cJSON_CreateNull());
		return;
	}
	if (!cJSON_IsArray(list)) {
		pyaml_err(v, list, p, "must be a list of schedules");
		return;
	}
	out = cJSON_CreateArray();
	for (const cJSON *s = list->child; s != NULL; s = s->next, i++) {
		cJSON *c = check_schedule(v, s, pyaml_idx(q, sizeof(q), p, i));

		if (c != NULL && !cJSON_AddItemToArray(out, c)) {
			cJSON_Delete(c);
			v->oom = 1;
		}
	}
	pyaml_put(v, norm, "schedules", out);
}

/* ------------------------------------------------------ other sections */

int
pyaml_strategy_ok(const char *s)
{
	return strcmp(s, "ENQUEUE") == 0 || strcmp(s, "CANCEL_NEW") == 0;
}

static void
check_concurrency_spec(struct vctx *v, const cJSON *n, const char *path,
    cJSON *norm)
{
	const cJSON	*lim = get(n, "limit"), *cs;
	const cJSON	*grace = get(n, "grace_period_seconds");
	long long	 x;
	char		 p[256];

	warn_unknown(v, n, path, concurrency_keys, "concurrency_limit");
	if (lim != NULL && cJSON_IsNull(lim))
		pyaml_put(v, norm, "limit", cJSON_CreateNull());
	else if (lim != NULL && pyaml_lax_int(lim, &x) == 0)
		pyaml_put(v, norm, "limit", cJSON_CreateNumber((double)x));
	else if (lim != NULL)
		pyaml_err(v, lim, pyaml_sub(p, sizeof(p), path, "limit"),
		    "must be an integer");
	cs = get(n, "collision_strategy");
	pyaml_sub(p, sizeof(p), path, "collision_strategy");
	if (cs == NULL || cJSON_IsNull(cs))
		pyaml_err(v, n, path,
		    "collision_strategy is required (ENQUEUE or "
		    "CANCEL_NEW)");
	else if (str_ok(v, cs, p) && !is_templated(cs->valuestring) &&
	    !pyaml_strategy_ok(cs->valuestring))
		pyaml_err(v, cs, p, "must be ENQUEUE or CANCEL_NEW");
	else if (cJSON_IsString(cs))
		put_copy(v, norm, "collision_strategy", cs);
	pyaml_sub(p, sizeof(p), path, "grace_period_seconds");
	if (grace == NULL || cJSON_IsNull(grace))
		return;
	if (pyaml_lax_int(grace, &x) == -1)
		pyaml_err(v, grace, p, "must be an integer");
	else if (x < 60 || x > 86400)
		pyaml_err(v, grace, p, "must be between 60 and 86400");
	else
		pyaml_put(v, norm, "grace_period_seconds",
		    cJSON_CreateNumber((double)x));
}

static void
check_concurrency(struct vctx *v, const cJSON *dep, const char *path,
    cJSON *norm)
{
	const cJSON	*n = get(dep, "concurrency_limit");
	char		 p[256];
	long long	 x;
	cJSON		*spec;

	if (n == NULL)
		return;
	pyaml_sub(p, sizeof(p), path, "concurrency_limit");
	if (cJSON_IsNull(n))
		pyaml_put(v, norm, "concurrency_limit", cJSON_CreateNull());
	else if (cJSON_IsObject(n)) {
		spec = cJSON_CreateObject();
		check_concurrency_spec(v, n, p, spec);
		pyaml_put(v, norm, "concurrency_limit", spec);
	} else if (pyaml_lax_int(n, &x) == 0)
		pyaml_put(v, norm, "concurrency_limit",
		    cJSON_CreateNumber((double)x));
	else
		pyaml_err(v, n, p,
		    "must be an integer or a mapping with limit, "
		    "collision_strategy and grace_period_seconds");
}

static void
check_work_pool(struct vctx *v, const cJSON *dep, const char *path,
    cJSON *norm)
{
	const cJSON	*n = get(dep, "work_pool"), *jv;
	char		 p[256], q[256];
	cJSON		*wp;

	if (n == NULL)
		return;
	pyaml_sub(p, sizeof(p), path, "work_pool");
	if (cJSON_IsNull(n)) {
		pyaml_put(v, norm, "work_pool", cJSON_CreateNull());
		return;
	}
	if (!cJSON_IsObject(n)) {
		pyaml_err(v, n, p, "must be a mapping");
		return;
	}
	warn_unknown(v, n, p, work_pool_keys, "work_pool");
	wp = cJSON_CreateObject();
	opt_str(v, n, "name", p, wp);
	opt_str(v, n, "work_queue_name", p, wp);
	if ((jv = get(n, "job_variables")) != NULL &&
	    str_map_ok(v, jv, pyaml_sub(q, sizeof(q), p, "job_variables")))
		put_copy(v, wp, "job_variables", jv);
	pyaml_put(v, norm, "work_pool", wp);
}

static void
check_tags(struct vctx *v, const cJSON *dep, const char *path, cJSON *norm)
{
	const cJSON	*n = get(dep, "tags");
	char		 p[256];

	if (n == NULL)
		return;
	pyaml_sub(p, sizeof(p), path, "tags");
	if (cJSON_IsNull(n) || cJSON_IsArray(n) ||
	    (cJSON_IsString(n) && str_ok(v, n, p)))
		put_copy(v, norm, "tags", n);
	else if (!cJSON_IsString(n))
		pyaml_err(v, n, p, "must be a list or a templated string");
}

/* A list of mappings (triggers) or a list (sla), or null. */
static void
opt_list(struct vctx *v, const cJSON *dep, const char *key, int maps,
    const char *path, cJSON *norm)
{
	const cJSON	*n = get(dep, key);
	char		 p[256], q[256];
	size_t		 i = 0;

	if (n == NULL)
		return;
	pyaml_sub(p, sizeof(p), path, key);
	if (!cJSON_IsNull(n) && !cJSON_IsArray(n)) {
		pyaml_err(v, n, p, "must be a list");
		return;
	}
	for (const cJSON *c = n->child; maps && c != NULL; c = c->next, i++)
		if (!cJSON_IsObject(c))
			pyaml_err(v, c, pyaml_idx(q, sizeof(q), p, i),
			    "must be a mapping");
	put_copy(v, norm, key, n);
}

/* ----------------------------------------------------------- deployment */

cJSON *
pyaml_check_deployment(struct vctx *v, const cJSON *dep, const char *path)
{
	static const char *const strs[] = { "name", "version", "version_type",
	    "description", "flow_name", "entrypoint" };
	const cJSON	*n;
	cJSON		*norm;
	char		 p[256];

	if (!cJSON_IsObject(dep)) {
		pyaml_err(v, dep, path, "a deployment must be a mapping");
		return NULL;
	}
	if ((norm = cJSON_CreateObject()) == NULL)
		return v->oom = 1, NULL;
	warn_unknown(v, dep, path, deployment_keys, "deployment");
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		opt_str(v, dep, strs[i], path, norm);
	/* prefect init writes "name: null"; prefect deploy skips those. */
	n = get(dep, "name");
	if (n == NULL || cJSON_IsNull(n) || (cJSON_IsString(n) &&
	    n->valuestring[0] == '\0'))
		pyaml_warn(v, n ? n : dep, path,
		    "deployment has no name; prefect "
		    "deploy skips it unless a name is given");
	check_tags(v, dep, path, norm);
	check_schedules(v, dep, path, norm);
	opt_bool(v, dep, "paused", path, norm);
	opt_bool(v, dep, "enforce_parameter_schema", path, norm);
	check_concurrency(v, dep, path, norm);
	if ((n = get(dep, "parameters")) != NULL &&
	    str_map_ok(v, n, pyaml_sub(p, sizeof(p), path, "parameters")))
		put_copy(v, norm, "parameters", n);
	opt_steps(v, dep, "build", path, norm);
	opt_steps(v, dep, "push", path, norm);
	opt_steps(v, dep, "pull", path, norm);
	check_work_pool(v, dep, path, norm);
	opt_list(v, dep, "triggers", 1, path, norm);
	opt_list(v, dep, "sla", 0, path, norm);
	return norm;
}

void
pyaml_check_top(struct vctx *v, const cJSON *root, cJSON *top)
{
	opt_str(v, root, "name", "", top);
	opt_str(v, root, "prefect-version", "", top);
	opt_steps(v, root, "build", "", top);
	opt_steps(v, root, "push", "", top);
	opt_steps(v, root, "pull", "", top);
	warn_unknown(v, root, "", top_keys, "top-level");
}
