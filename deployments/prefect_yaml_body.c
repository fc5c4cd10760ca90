/*
 * prefect_yaml_body.c: a (templated) deployment config's schedules and
 * concurrency options as the API's request bodies take them.
 *
 * Prefect checks these only when it registers a deployment, after
 * templating, so errors here have no file position: the caller names
 * the deployment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "deployments/prefect_yaml_int.h"

/* ------------------------------------------------------- request bodies */

/* Adds item to obj, or frees it. */
static void
add(cJSON *obj, const char *key, cJSON *item)
{
	if (obj == NULL || item == NULL ||
	    !cJSON_AddItemToObject(obj, key, item))
		cJSON_Delete(item);
}

/* obj if it holds all n members, else NULL after freeing it. */
static cJSON *
complete(cJSON *obj, int n, char *err, size_t errlen)
{
	if (obj != NULL && cJSON_GetArraySize(obj) == n)
		return obj;
	cJSON_Delete(obj);
	errorf(err, errlen, "out of memory");
	return NULL;
}

static const char *
opt_string(const cJSON *item, const char *key)
{
	const cJSON	*n = get(item, key);

	return cJSON_IsString(n) && n->valuestring[0] ? n->valuestring : NULL;
}

static cJSON *
str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* A set Union[bool, str] field as a bool; -1 when it is not one. */
static int
field_bool(const cJSON *item, const char *key, int dflt, int *out)
{
	const cJSON	*n = get(item, key);

	*out = dflt;
	if (n == NULL || cJSON_IsNull(n))
		return 0;
	return pyaml_lax_bool(n, out);
}

static cJSON *
cron_schedule(const cJSON *item, const char *cron, char *err,
    size_t errlen)
{
	const char	*why;
	cJSON		*s;
	int		 day_or;

	if (!pyaml_cron_ok(cron, &why))
		return errorf(err, errlen, "%s: \"%s\"", why, cron), NULL;
	if (field_bool(item, "day_or", 1, &day_or) == -1)
		return errorf(err, errlen, "day_or must be a boolean"), NULL;
	s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "cron", cron);
	add(s, "timezone", str_or_null(opt_string(item, "timezone")));
	cJSON_AddBoolToObject(s, "day_or", day_or);
	return complete(s, 3, err, errlen);
}

static cJSON *
interval_schedule(const cJSON *item, const char *default_anchor, char *err,
    size_t errlen)
{
	const char	*anchor = opt_string(item, "anchor_date");
	const char	*tz = opt_string(item, "timezone");
	char		 norm[64];
	double		 secs;
	cJSON		*s, *num;

	if (pyaml_interval_secs(get(item, "interval"), &secs) == -1)
		return errorf(err, errlen, "invalid interval"), NULL;
	if (secs <= 0)
		return errorf(err, errlen, "interval must be greater than zero"),
		    NULL;
	if (anchor != NULL && pyaml_normalize_anchor(anchor, norm,
	    sizeof(norm)))
		return errorf(err, errlen, "anchor_date is not an ISO 8601 "
		    "date-time: \"%s\"", anchor), NULL;
	s = cJSON_CreateObject();
	if ((num = cJSON_CreateNumber(secs)) != NULL)
		num->type |= YDOC_CJSON_FLOAT;
	add(s, "interval", num);
	if (anchor != NULL || default_anchor != NULL)
		cJSON_AddStringToObject(s, "anchor_date",
		    anchor ? norm : default_anchor);
	cJSON_AddStringToObject(s, "timezone", tz ? tz : "UTC");
	return complete(s, anchor || default_anchor ? 3 : 2, err, errlen);
}

/* rrule may also be a JSON RRuleSchedule {"rrule": ..., "timezone": ..}. */
static cJSON *
rrule_schedule(const cJSON *item, const char *rrule, char *err,
    size_t errlen)
{
	const char	*tz = opt_string(item, "timezone");
	cJSON		*j = cJSON_Parse(rrule), *s;
	const cJSON	*r = NULL, *t = NULL;

	if (cJSON_IsObject(j)) {
		r = get(j, "rrule");
		t = get(j, "timezone");
		if (!cJSON_IsString(r) || (t && !cJSON_IsNull(t) &&
		    !cJSON_IsString(t))) {
			cJSON_Delete(j);
			return errorf(err, errlen, "rrule JSON must have a "
			    "string \"rrule\""), NULL;
		}
		rrule = r->valuestring;
		if (tz == NULL && cJSON_IsString(t))
			tz = t->valuestring;
	}
	if (strlen(rrule) > MAX_RRULE) {
		cJSON_Delete(j);
		return errorf(err, errlen, "rrule is longer than %d characters",
		    MAX_RRULE), NULL;
	}
	s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "rrule", rrule);
	cJSON_AddStringToObject(s, "timezone", tz ? tz : "UTC");
	cJSON_Delete(j);
	return complete(s, 2, err, errlen);
}

static cJSON *
schedule_of(const cJSON *item, const char *default_anchor, char *err,
    size_t errlen)
{
	const cJSON	*iv = get(item, "interval");
	const char	*cron = opt_string(item, "cron");
	const char	*rrule = opt_string(item, "rrule");

	if (cron != NULL)
		return cron_schedule(item, cron, err, errlen);
	if (iv != NULL && !cJSON_IsNull(iv) && !(cJSON_IsNumber(iv) &&
	    iv->valuedouble == 0) && !(cJSON_IsString(iv) &&
	    iv->valuestring[0] == '\0') && !cJSON_IsFalse(iv))
		return interval_schedule(item, default_anchor, err, errlen);
	if (rrule != NULL)
		return rrule_schedule(item, rrule, err, errlen);
	errorf(err, errlen, "unknown schedule type: exactly one of cron, "
	    "interval, rrule is required");
	return NULL;
}

int
prefect_yaml_schedule(const cJSON *item, const char *default_anchor,
    cJSON **out, char *err, size_t errlen)
{
	const cJSON	*params = get(item, "parameters");
	cJSON		*body, *sched;
	int		 active;

	*out = NULL;
	if (!cJSON_IsObject(item))
		return errorf(err, errlen, "a schedule must be a mapping");
	if (field_bool(item, "active", 1, &active) == -1)
		return errorf(err, errlen, "active must be able to be parsed as "
		    "a boolean");
	if (params != NULL && !cJSON_IsNull(params) && !cJSON_IsObject(params))
		return errorf(err, errlen, "schedule parameters must be a "
		    "mapping");
	if ((sched = schedule_of(item, default_anchor, err, errlen)) == NULL)
		return -1;
	body = cJSON_CreateObject();
	add(body, "schedule", sched);
	cJSON_AddBoolToObject(body, "active", active);
	cJSON_AddNullToObject(body, "max_scheduled_runs");
	add(body, "parameters", cJSON_IsObject(params) ?
	    cJSON_Duplicate(params, 1) : cJSON_CreateObject());
	add(body, "slug", str_or_null(opt_string(item, "slug")));
	add(body, "replaces", str_or_null(opt_string(item, "replaces")));
	*out = complete(body, 6, err, errlen);
	return *out ? 0 : -1;
}

int
prefect_yaml_schedules(const cJSON *config, const char *default_anchor,
    cJSON **out, char *err, size_t errlen)
{
	const cJSON	*list = get(config, "schedules");
	char		 msg[256];
	int		 i = 0;

	*out = NULL;
	if (list != NULL && !cJSON_IsNull(list) && !cJSON_IsArray(list))
		return errorf(err, errlen, "schedules must be a list");
	if ((*out = cJSON_CreateArray()) == NULL)
		return errorf(err, errlen, "out of memory");
	for (const cJSON *s = list ? list->child : NULL; s; s = s->next, i++) {
		cJSON	*body;

		if (prefect_yaml_schedule(s, default_anchor, &body, msg,
		    sizeof(msg)) == -1 || !cJSON_AddItemToArray(*out, body)) {
			errorf(err, errlen, "schedules[%d]: %s", i, msg);
			cJSON_Delete(*out);
			*out = NULL;
			return -1;
		}
	}
	return 0;
}

static int
concurrency_options(const cJSON *spec, cJSON **options, char *err,
    size_t errlen)
{
	const cJSON	*cs = get(spec, "collision_strategy");
	const cJSON	*g = get(spec, "grace_period_seconds");
	long long	 x = 0;

	if (!cJSON_IsString(cs) || !pyaml_strategy_ok(cs->valuestring))
		return errorf(err, errlen, "concurrency_limit.collision_strategy "
		    "must be ENQUEUE or CANCEL_NEW");
	if (g != NULL && !cJSON_IsNull(g) && (pyaml_lax_int(g,
	    &x) == -1 || x < 60 || x > 86400))
		return errorf(err, errlen, "concurrency_limit.grace_period_"
		    "seconds must be an integer between 60 and 86400");
	*options = cJSON_CreateObject();
	cJSON_AddStringToObject(*options, "collision_strategy",
	    cs->valuestring);
	if (g != NULL && !cJSON_IsNull(g))
		cJSON_AddNumberToObject(*options, "grace_period_seconds",
		    (double)x);
	*options = complete(*options, g && !cJSON_IsNull(g) ? 2 : 1, err,
	    errlen);
	return *options ? 0 : -1;
}

int
prefect_yaml_concurrency(const cJSON *config, cJSON **limit, cJSON **options,
    char *err, size_t errlen)
{
	const cJSON	*n = get(config, "concurrency_limit"), *lim = n;
	long long	 x;

	*limit = *options = NULL;
	if (cJSON_IsObject(n)) {
		if (concurrency_options(n, options, err, errlen) == -1)
			return -1;
		lim = get(n, "limit");
	}
	if (lim == NULL || cJSON_IsNull(lim))
		*limit = cJSON_CreateNull();
	else if (pyaml_lax_int(lim, &x) == 0)
		*limit = cJSON_CreateNumber((double)x);
	else {
		cJSON_Delete(*options);
		*options = NULL;
		return errorf(err, errlen, "concurrency_limit must be an "
		    "integer");
	}
	if (*limit == NULL) {
		cJSON_Delete(*options);
		*options = NULL;
		return errorf(err, errlen, "out of memory");
	}
	return 0;
}
