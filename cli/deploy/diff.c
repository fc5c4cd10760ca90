/*
 * deploy_diff.c: the deployment of a prefect.yaml against the server's.
 *
 * Prefect's deploy sends everything every time; pfagent sends only what
 * differs, because every PATCH deletes the deployment's future
 * auto-scheduled runs and a PATCH with schedules replaces them with new
 * ids unless all carry slugs. So "the same" means the same once the
 * server has stored it: defaults filled in, a DTSTART prefixed to a
 * rule, an anchor date printed in its own format, the limit moved to a
 * global concurrency limit, ids added to schedules.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/deploy/diff.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"

static int
same_str(const cJSON *a, const cJSON *b)
{
	int	an = a == NULL || cJSON_IsNull(a), bn = b == NULL ||
		    cJSON_IsNull(b);

	if (an || bn)
		return an && bn;
	return cJSON_IsString(a) && cJSON_IsString(b) &&
	    strcmp(a->valuestring, b->valuestring) == 0;
}

static const cJSON *
get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* The server prefixes a DTSTART when the rule has none. */
static int
same_rrule(const char *want, const char *have)
{
	const char	*nl;

	if (want == NULL || have == NULL)
		return want == have;
	if (strcmp(want, have) == 0)
		return 1;
	return strcasestr(want, "DTSTART") == NULL &&
	    strncmp(have, "DTSTART:", 8) == 0 &&
	    (nl = strchr(have, '\n')) != NULL && strcmp(nl + 1, want) == 0;
}

/* Two schedule bodies; an anchor the file did not give is the server's. */
static int
same_schedule(const cJSON *w, const cJSON *h)
{
	const cJSON	*wa, *ha, *wd, *hd;
	double		 a, b;

	if (!same_str(get(w, "timezone"), get(h, "timezone")))
		return 0;
	if (get(w, "cron") != NULL) {
		wd = get(w, "day_or");
		hd = get(h, "day_or");
		return same_str(get(w, "cron"), get(h, "cron")) &&
		    (wd == NULL || cJSON_IsTrue(wd)) ==
		    (hd == NULL || cJSON_IsTrue(hd));
	}
	if (get(w, "rrule") != NULL)
		return same_rrule(json_str(w, "rrule"), json_str(h, "rrule"));
	wa = get(w, "interval");
	ha = get(h, "interval");
	if (!cJSON_IsNumber(wa) || !cJSON_IsNumber(ha) ||
	    fabs(wa->valuedouble - ha->valuedouble) > 1e-6)
		return 0;
	if (get(w, "anchor_date") == NULL)
		return 1;
	return iso8601_parse(json_str(w, "anchor_date"), &a) == 0 &&
	    iso8601_parse(json_str(h, "anchor_date"), &b) == 0 &&
	    fabs(a - b) < 1e-3;
}

/*
 * A schedule of the file against one of the server (ids ignored). A key
 * the server's schedules lack (3.0's lack slug and parameters) is one it
 * cannot store, so it cannot differ.
 */
int
deploy_same_schedule(const cJSON *w, const cJSON *h)
{
	const cJSON	*wp = get(w, "parameters"), *hp = get(h, "parameters");
	int		 wempty = wp == NULL || cJSON_IsNull(wp) ||
			    wp->child == NULL;
	int		 hempty = hp == NULL || cJSON_IsNull(hp) ||
			    hp->child == NULL;

	return cJSON_IsTrue(get(w, "active")) == cJSON_IsTrue(get(h,
	    "active")) && (get(h, "slug") == NULL ||
	    same_str(get(w, "slug"), get(h, "slug"))) &&
	    (hp == NULL || (wempty && hempty) || cJSON_Compare(wp, hp, 1)) &&
	    same_schedule(get(w, "schedule"), get(h, "schedule"));
}

int
deploy_has_schedule(const cJSON *w, const cJSON *list)
{
	const cJSON	*h;

	cJSON_ArrayForEach(h, list)
		if (deploy_same_schedule(w, h))
			return 1;
	return 0;
}

/* The same schedules, in any order. */
static int
same_schedules(const cJSON *want, const cJSON *have)
{
	int	 n = cJSON_GetArraySize(want), k = 0, found, ok = 1;
	char	*used;
	const cJSON *w, *h;

	if (n != cJSON_GetArraySize(have))
		return 0;
	used = xcalloc((size_t)n + 1, 1);
	cJSON_ArrayForEach(w, want) {
		found = 0;
		k = 0;
		cJSON_ArrayForEach(h, have) {
			if (!used[k] && deploy_same_schedule(w, h)) {
				used[k] = found = 1;
				break;
			}
			k++;
		}
		if (!found) {
			ok = 0;
			break;
		}
	}
	free(used);
	return ok;
}

/* A schedule as --dry-run shows it: what is compared. */
static cJSON *
shown_schedules(const cJSON *list)
{
	cJSON		*out = cJSON_CreateArray(), *o;
	const cJSON	*s;
	static const char *const keys[] = { "schedule", "active",
	    "parameters", "slug" };

	cJSON_ArrayForEach(s, list) {
		o = cJSON_CreateObject();
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (get(s, keys[i]) != NULL)
				cJSON_AddItemToObject(o, keys[i],
				    cJSON_Duplicate(get(s, keys[i]), 1));
		cJSON_AddItemToArray(out, o);
	}
	return out;
}

/* The server's value of key, null as the empty value of the spec's. */
static cJSON *
have_plain(const struct deploy_pair *p, const char *key)
{
	const cJSON	*v = get(p->current, key), *want = get(p->spec, key);

	if (v == NULL || cJSON_IsNull(v)) {
		if (cJSON_IsArray(want))
			return cJSON_CreateArray();
		if (cJSON_IsObject(want))
			return cJSON_CreateObject();
		return cJSON_CreateNull();
	}
	return cJSON_Duplicate(v, 1);
}

/* No queue in the file means the pool's default queue. By name: servers
 * before 3.6 send no work_queue_id. */
static cJSON *
have_queue(const struct deploy_pair *p, const char *key)
{
	const char	*name = json_str(p->current, key);

	if (cJSON_IsNull(get(p->spec, key)) && name != NULL &&
	    p->default_queue != NULL && strcmp(name, p->default_queue) == 0)
		return cJSON_CreateNull();
	return have_plain(p, key);
}

/* The limit lives in global_concurrency_limit since 3.1. */
static cJSON *
have_limit(const struct deploy_pair *p, const char *key)
{
	const cJSON	*g = json_obj(p->current, "global_concurrency_limit");
	const cJSON	*v = get(g, "limit");

	if (!cJSON_IsNumber(v))
		v = get(p->current, key);
	return cJSON_IsNumber(v) ? cJSON_CreateNumber(v->valuedouble) :
	    cJSON_CreateNull();
}

/* Options without a grace_period_seconds (3.4 and older) cannot store
 * the file's, so it is not a difference. */
static cJSON *
have_options(const struct deploy_pair *p, const char *key)
{
	const cJSON	*o = json_obj(p->current, key), *g;
	cJSON		*out;

	if (o == NULL)
		return cJSON_CreateNull();
	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "collision_strategy",
	    cJSON_Duplicate(get(o, "collision_strategy"), 1));
	if ((g = get(o, "grace_period_seconds")) == NULL)
		g = get(json_obj(p->spec, key), "grace_period_seconds");
	if (cJSON_IsNumber(g))
		cJSON_AddNumberToObject(out, "grace_period_seconds",
		    g->valuedouble);
	return out;
}

static cJSON *
have_schedules(const struct deploy_pair *p, const char *key)
{
	return shown_schedules(get(p->current, key));
}

static const struct deploy_field fields[] = {
	{ "version",		"version", NULL,		have_plain },
	{ "description",	"description", NULL,		have_plain },
	{ "paused",		"paused", NULL,			have_plain },
	{ "tags",		"tags", NULL,			have_plain },
	{ "parameters",		"parameters", NULL,		have_plain },
	{ "parameter_openapi_schema", NULL, NULL,		have_plain },
	{ "enforce_parameter_schema", NULL, NULL,		have_plain },
	{ "entrypoint",		"entrypoint", NULL,		have_plain },
	{ "pull_steps",		NULL, NULL,			have_plain },
	{ "work_pool_name",	"work_pool", "name",		have_plain },
	{ "work_queue_name",	"work_pool", "work_queue_name",	have_queue },
	{ "job_variables",	"work_pool", "job_variables",	have_plain },
	{ "concurrency_limit",	"concurrency_limit", NULL,	have_limit },
	{ "concurrency_options", "concurrency_limit", NULL,	have_options },
	{ "schedules",		"schedules", NULL,		have_schedules },
};
/* A field added to the table must be counted in DEPLOY_NFIELDS. */
_Static_assert(sizeof(fields) / sizeof(fields[0]) == DEPLOY_NFIELDS,
    "DEPLOY_NFIELDS is not the number of fields");
const struct deploy_field *const deploy_fields = fields;

/* The raw config's node for a field, to see whether it uses a block. */
const cJSON *
deploy_field_source(const struct deploy_field *f, const cJSON *config)
{
	const cJSON	*n;

	if (f->src == NULL)
		return NULL;
	n = get(config, f->src);
	return f->sub ? get(n, f->sub) : n;
}

/* The fields where the server differs from the spec. */
size_t
deploy_diff(const struct deploy_pair *p, struct deploy_change *out)
{
	const struct deploy_field *f;
	const cJSON		*want;
	cJSON			*have;
	size_t			 n = 0;
	int			 same;

	for (f = fields; f < fields + DEPLOY_NFIELDS; f++) {
		if ((strcmp(f->key, "paused") == 0 && !p->has_paused) ||
		    (strcmp(f->key, "schedules") == 0 && !p->has_schedules))
			continue;
		/* A field the server's deployments lack (concurrency_options
		 * on 3.0.0) is one it cannot store. */
		if (get(p->current, f->key) == NULL)
			continue;
		want = get(p->spec, f->key);
		have = f->have(p, f->key);
		if (strcmp(f->key, "schedules") == 0)
			same = same_schedules(want, get(p->current, f->key));
		else
			same = cJSON_Compare(want, have, 1);
		if (same) {
			cJSON_Delete(have);
			continue;
		}
		out[n].f = f;
		out[n].old = have;
		out[n].new = strcmp(f->key, "schedules") == 0 ?
		    shown_schedules(want) : cJSON_Duplicate(want, 1);
		n++;
	}
	return n;
}

void
deploy_changes_free(struct deploy_change *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cJSON_Delete(c[i].old);
		cJSON_Delete(c[i].new);
	}
}

static int
all_slugged(const cJSON *list)
{
	const cJSON	*s;

	cJSON_ArrayForEach(s, list)
		if (!cJSON_IsString(get(s, "slug")))
			return 0;
	return 1;
}

static int
slug_in(const char *slug, const cJSON *list, const char *key)
{
	const cJSON	*s;
	const char	*v;

	cJSON_ArrayForEach(s, list)
		if ((v = json_str(s, key)) != NULL && strcmp(v, slug) == 0)
			return 1;
	return 0;
}

/*
 * How to make the server's schedules the file's (the server's PATCH
 * rules, prefect/server/api/deployments.py): when both sides have slugs
 * throughout, the server updates by slug in place, keeping ids, and
 * leaves unnamed ones alone, so only the new or changed ones are sent
 * and the dropped ones deleted after. Otherwise a PATCH replaces all of
 * them; slugged ones on the server would make it refuse (422), so they
 * are deleted first.
 */
void
deploy_plan_schedules(const cJSON *want, const cJSON *have, cJSON **send,
    cJSON **drop, int *drop_first)
{
	const cJSON	*s;
	const char	*slug, *id;

	*send = NULL;
	*drop = cJSON_CreateArray();
	*drop_first = 0;
	if (all_slugged(want) && cJSON_GetArraySize(have) > 0 &&
	    all_slugged(have)) {
		cJSON_ArrayForEach(s, want)
			if (!deploy_has_schedule(s, have)) {
				if (*send == NULL)
					*send = cJSON_CreateArray();
				cJSON_AddItemToArray(*send,
				    cJSON_Duplicate(s, 1));
			}
		cJSON_ArrayForEach(s, have)
			if ((slug = json_str(s, "slug")) != NULL &&
			    (id = json_str(s, "id")) != NULL &&
			    !slug_in(slug, want, "slug") &&
			    !slug_in(slug, want, "replaces"))
				cJSON_AddItemToArray(*drop,
				    cJSON_CreateString(id));
		return;
	}
	*send = cJSON_Duplicate(want, 1);
	if (cJSON_GetArraySize(have) > 0 && all_slugged(have)) {
		cJSON_ArrayForEach(s, have)
			if ((id = json_str(s, "id")) != NULL)
				cJSON_AddItemToArray(*drop,
				    cJSON_CreateString(id));
		*drop_first = 1;
	}
}

/* The node at loc[from..] under root, and its parent. */
static cJSON *
node_at_loc(cJSON *root, const cJSON *loc, int from, cJSON **parent)
{
	cJSON	*n = root;
	int	 i = 0;
	const cJSON *k;

	*parent = NULL;
	cJSON_ArrayForEach(k, loc) {
		if (i++ < from)
			continue;
		*parent = n;
		if (cJSON_IsString(k))
			n = cJSON_GetObjectItemCaseSensitive(n, k->valuestring);
		else if (cJSON_IsNumber(k) && cJSON_IsArray(n))
			n = cJSON_GetArrayItem(n, k->valueint);
		else
			n = NULL;
		if (n == NULL)
			return NULL;
	}
	return *parent ? n : NULL;
}

/* "schedules[0].slug" for ["body", "schedules", 0, "slug"]. */
static char *
loc_name(const cJSON *loc)
{
	struct buf	 b;
	const cJSON	*k;
	int		 i = 0;

	buf_init(&b, 1024);
	cJSON_ArrayForEach(k, loc) {
		if (i++ == 0)
			continue;
		if (cJSON_IsNumber(k))
			buf_printf(&b, "[%d]", k->valueint);
		else if (cJSON_IsString(k))
			buf_printf(&b, "%s%s", i > 2 ? "." : "",
			    k->valuestring);
	}
	return buf_steal(&b);
}

static int
empty_value(const cJSON *v)
{
	return cJSON_IsNull(v) || ((cJSON_IsObject(v) || cJSON_IsArray(v)) &&
	    v->child == NULL);
}

int
deploy_drop_refused(cJSON *body, const cJSON *answer, cJSON *lost)
{
	const cJSON	*list, *e, *loc, *first, *last;
	cJSON		*node, *parent;
	const char	*type;
	char		*name;
	int		 n = 0;

	list = get(answer, "exception_detail");	/* Prefect's handler */
	if (!cJSON_IsArray(list))
		list = get(answer, "detail");		/* FastAPI's */
	cJSON_ArrayForEach(e, list) {
		type = json_str(e, "type");
		loc = get(e, "loc");
		first = cJSON_GetArrayItem(loc, 0);
		last = cJSON_GetArrayItem(loc, cJSON_GetArraySize(loc) - 1);
		if (type == NULL || strcmp(type, "extra_forbidden") != 0 ||
		    !cJSON_IsString(first) ||
		    strcmp(first->valuestring, "body") != 0 ||
		    !cJSON_IsString(last) ||
		    (node = node_at_loc(body, loc, 1, &parent)) == NULL ||
		    !cJSON_IsObject(parent))
			continue;
		if (!empty_value(node)) {
			name = loc_name(loc);
			cJSON_AddItemToArray(lost, cJSON_CreateString(name));
			free(name);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(parent,
		    last->valuestring);
		n++;
	}
	return n;
}
