/*
 * options.c: `pfagent deploy`'s command line, as `prefect deploy` reads
 * its own (flags, short forms, repeatable ones) and turns its options
 * into a deployment config (_apply_cli_options_to_deploy_config in
 * prefect/cli/deploy/_config.py).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli/deploy/options.h"
#include "common/json.h"
#include "common/util.h"

/* --params-file: a parameters file is small. */
#define PARAMS_FILE_MAX	(4 * 1024 * 1024)

static const struct {
	const char	*flag, *alias;
	size_t		 off;
} strings[] = {
	{ "--prefect-file", NULL, offsetof(struct deploy_opts, file) },
	{ "--description", "-d", offsetof(struct deploy_opts, description) },
	{ "--version", NULL, offsetof(struct deploy_opts, version) },
	{ "--version-type", NULL, offsetof(struct deploy_opts,
	    version_type) },
	{ "--pool", "-p", offsetof(struct deploy_opts, pool) },
	{ "--work-queue", "-q", offsetof(struct deploy_opts, queue) },
	{ "--concurrency-limit", NULL, offsetof(struct deploy_opts,
	    concurrency_limit) },
	{ "--collision-strategy", NULL, offsetof(struct deploy_opts,
	    collision_strategy) },
	{ "--anchor-date", NULL, offsetof(struct deploy_opts, anchor_date) },
	{ "--timezone", NULL, offsetof(struct deploy_opts, timezone) },
	{ "--params", NULL, offsetof(struct deploy_opts, params) },
	{ "--params-file", NULL, offsetof(struct deploy_opts, params_file) },
};

static const struct {
	const char	*flag, *alias;
	size_t		 off;
} lists[] = {
	{ "--name", "-n", offsetof(struct deploy_opts, names) },
	{ "--tag", "-t", offsetof(struct deploy_opts, tags) },
	{ "--job-variable", NULL, offsetof(struct deploy_opts,
	    job_variables) },
	{ "--cron", NULL, offsetof(struct deploy_opts, cron) },
	{ "--interval", NULL, offsetof(struct deploy_opts, interval) },
	{ "--rrule", NULL, offsetof(struct deploy_opts, rrule) },
	{ "--param", NULL, offsetof(struct deploy_opts, param) },
};

void
deploy_opts_usage(FILE *f)
{
	fprintf(f, "usage: pfagent deploy [--all | --name NAME ...] "
	    "[--prefect-file PATH] [--dry-run]\n"
	    "       pfagent deploy ENTRYPOINT --name NAME --pool POOL "
	    "[OPTION ...]\n\n"
	    "Creates or updates deployments on the server of PREFECT_API_URL "
	    "as 'prefect\ndeploy' does, from the project root (the current "
	    "directory: entrypoints are\nrelative to it). Each flow module is "
	    "built and loaded for its name and\nparameter schema. A "
	    "deployment that matches is left untouched; otherwise\nonly the "
	    "fields that differ are sent.\n\n"
	    "  --all                  every deployment of the file\n"
	    "  --name, -n NAME        a deployment: NAME or FLOW/NAME, '*' "
	    "matches any text;\n"
	    "                         repeat for several (one deployment in "
	    "the file needs none)\n"
	    "  --prefect-file PATH    the deployments file (default "
	    "prefect.yaml)\n"
	    "  --dry-run              show what would be created or changed; "
	    "write nothing\n\n"
	    "The options below make one deployment: the file's deployment "
	    "that is chosen\n(the only one, or the one --name names) with "
	    "them applied, or a new one from\nthe command line with the "
	    "file's top-level pull steps. With several\ndeployments chosen "
	    "they are ignored, as by prefect deploy.\n"
	    "  ENTRYPOINT             flows/<file>.c:<function>\n"
	    "  --pool, -p POOL        the work pool\n"
	    "  --work-queue, -q QUEUE the pool's queue\n"
	    "  --cron CRON, --interval SECONDS, --rrule RRULE\n"
	    "                         a schedule each; repeatable, added to "
	    "the file's\n"
	    "  --anchor-date DATE     for every interval schedule\n"
	    "  --timezone TZ          for every schedule\n"
	    "  --param K=V            a parameter (V read as JSON when it "
	    "parses, else text)\n"
	    "  --params JSON          the parameters as a JSON object\n"
	    "  --params-file FILE     the parameters from a JSON file\n"
	    "  --tag, -t TAG          repeatable; replaces the file's tags\n"
	    "  --job-variable K=V     or a JSON object; repeatable; replaces "
	    "the file's\n"
	    "  --description, -d D, --version V, --version-type T\n"
	    "  --concurrency-limit N [--collision-strategy ENQUEUE|"
	    "CANCEL_NEW]\n"
	    "  --no-enforce-parameter-schema\n\n"
	    "exit status: 0 done, 1 a deployment failed (the others are "
	    "still deployed),\n2 bad usage, an unreadable file or no API.\n");
}

static void
push(struct deploy_list *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = s;
}

static int
is(const char *a, const char *flag, const char *alias)
{
	return strcmp(a, flag) == 0 || (alias && strcmp(a, alias) == 0);
}

/* One option with its value (--flag VALUE or --flag=VALUE): 1 taken,
 * 0 not this kind, -1 without a value. */
static int
take_value(struct deploy_opts *o, int argc, char **argv, int *i)
{
	const char	*a = argv[*i], *eq = strchr(a, '='), *val;
	char		 flag[64];
	size_t		 k;

	snprintf(flag, sizeof(flag), "%.*s", eq && a[1] == '-' ?
	    (int)(eq - a) : (int)strlen(a), a);
	val = eq && a[1] == '-' ? eq + 1 : NULL;
	for (k = 0; k < sizeof(strings) / sizeof(*strings); k++)
		if (is(flag, strings[k].flag, strings[k].alias))
			break;
	if (k < sizeof(strings) / sizeof(*strings)) {
		if (val == NULL && (val = *i + 1 < argc ? argv[++*i] : NULL) ==
		    NULL)
			return -1;
		*(const char **)((char *)o + strings[k].off) = val;
		return 1;
	}
	for (k = 0; k < sizeof(lists) / sizeof(*lists); k++)
		if (is(flag, lists[k].flag, lists[k].alias)) {
			if (val == NULL && (val = *i + 1 < argc ?
			    argv[++*i] : NULL) == NULL)
				return -1;
			push((struct deploy_list *)((char *)o + lists[k].off),
			    val);
			return 1;
		}
	return 0;
}

int
deploy_opts_parse(int argc, char **argv, struct deploy_opts *o)
{
	int	 r;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (is(a, "--help", "-h")) {
			deploy_opts_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--all"))
			o->all = 1;
		else if (!strcmp(a, "--dry-run"))
			o->dry_run = 1;
		else if (!strcmp(a, "--no-enforce-parameter-schema"))
			o->no_enforce = 1;
		else if (!strcmp(a, "--enforce-parameter-schema"))
			o->no_enforce = 0;
		else if ((r = take_value(o, argc, argv, &i)) == -1) {
			fprintf(stderr, "pfagent deploy: %s needs a value\n", a);
			return 2;
		} else if (r == 0 && a[0] != '-' && o->entrypoint == NULL)
			o->entrypoint = a;
		else if (r == 0) {
			fprintf(stderr, "pfagent deploy: unexpected '%s' (see "
			    "pfagent deploy --help)\n", a);
			return 2;
		}
	}
	if (o->all && o->names.n > 0) {
		fprintf(stderr, "pfagent deploy: use --all or --name, not "
		    "both\n");
		return 2;
	}
	return -1;
}

void
deploy_opts_cleanup(struct deploy_opts *o)
{
	struct deploy_list *l[] = { &o->names, &o->tags, &o->job_variables,
	    &o->cron, &o->interval, &o->rrule, &o->param };

	for (size_t i = 0; i < sizeof(l) / sizeof(*l); i++)
		free(l[i]->v);
	memset(o, 0, sizeof(*o));
}

int
deploy_opts_any(const struct deploy_opts *o)
{
	return o->entrypoint || o->description || o->version ||
	    o->version_type || o->pool || o->queue || o->concurrency_limit ||
	    o->anchor_date || o->timezone || o->params || o->params_file ||
	    o->tags.n || o->job_variables.n || o->cron.n || o->interval.n ||
	    o->rrule.n || o->param.n;
}

/* ------------------------------------------------------------ values */

/* A whole decimal integer, as cyclopts reads an int option. */
static int
integer(const char *s, long long *out)
{
	char	*end;

	if (*s == '\0')
		return -1;
	*out = strtoll(s, &end, 10);
	return *end == '\0' ? 0 : -1;
}

/* --param K=V ...: V as JSON when it parses, else as text. */
static int
param_options(const struct deploy_opts *o, cJSON *params, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < o->param.n; i++) {
		const char	*kv = o->param.v[i], *eq = strchr(kv, '=');
		char		*key;
		cJSON		*v;

		if (eq == NULL || eq == kv)
			return errorf(err, errlen, "--param needs K=V, got "
			    "'%s'", kv);
		if ((v = cJSON_Parse(eq + 1)) == NULL)
			v = cJSON_CreateString(eq + 1);
		key = xasprintf("%.*s", (int)(eq - kv), kv);
		cJSON_DeleteItemFromObjectCaseSensitive(params, key);
		cJSON_AddItemToObject(params, key, v);
		free(key);
	}
	return 0;
}

/* The parameters of --param, --params or --params-file (one kind). */
static cJSON *
parameters(const struct deploy_opts *o, char *err, size_t errlen)
{
	cJSON	*p;
	char	*text, what[4200];

	if (!!o->param.n + !!o->params + !!o->params_file > 1) {
		errorf(err, errlen, "use one of --param, --params and "
		    "--params-file");
		return NULL;
	}
	if (o->params != NULL)
		return json_parse_object_at(o->params, "--params", err,
		    errlen);
	if (o->params_file != NULL) {
		if ((text = read_file_max(o->params_file, PARAMS_FILE_MAX,
		    NULL, err, errlen)) == NULL)
			return NULL;
		snprintf(what, sizeof(what), "--params-file %s",
		    o->params_file);
		p = json_parse_object_at(text, what, err, errlen);
		free(text);
		return p;
	}
	p = cJSON_CreateObject();
	if (param_options(o, p, err, errlen) == -1) {
		cJSON_Delete(p);
		return NULL;
	}
	return p;
}

/* --job-variable K=V (V as text) or a JSON object, later ones win. */
static cJSON *
job_variables(const struct deploy_opts *o, char *err, size_t errlen)
{
	cJSON	*jv = cJSON_CreateObject(), *j, *e;
	char	*key;

	for (size_t i = 0; i < o->job_variables.n; i++) {
		const char *s = o->job_variables.v[i], *eq = strchr(s, '=');

		if (eq != NULL) {
			key = xasprintf("%.*s", (int)(eq - s), s);
			cJSON_DeleteItemFromObjectCaseSensitive(jv, key);
			cJSON_AddStringToObject(jv, key, eq + 1);
			free(key);
			continue;
		}
		if ((j = json_parse_object_at(s, "--job-variable", err,
		    errlen)) == NULL) {
			cJSON_Delete(jv);
			return NULL;
		}
		while ((e = j->child) != NULL) {
			cJSON_DetachItemViaPointer(j, e);
			cJSON_DeleteItemFromObjectCaseSensitive(jv, e->string);
			cJSON_AddItemToObject(jv, e->string, e);
		}
		cJSON_Delete(j);
	}
	return jv;
}

/* --cron, --interval and --rrule, each a schedule of its own. */
static int
schedules(const struct deploy_opts *o, cJSON *cfg, char *err, size_t errlen)
{
	const struct deploy_list *kinds[] = { &o->cron, &o->interval,
	    &o->rrule };
	static const char *const names[] = { "cron", "interval", "rrule" };
	cJSON		*list, *s;
	long long	 secs;

	if (o->cron.n + o->interval.n + o->rrule.n == 0)
		return 0;
	list = cJSON_AddArrayToObject(cfg, "schedules");
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < kinds[k]->n; i++) {
			s = cJSON_CreateObject();
			cJSON_AddItemToArray(list, s);
			if (k != 1) {
				cJSON_AddStringToObject(s, names[k],
				    kinds[k]->v[i]);
				continue;
			}
			if (integer(kinds[k]->v[i], &secs) == -1)
				return errorf(err, errlen, "--interval needs "
				    "a whole number of seconds, got '%s'",
				    kinds[k]->v[i]);
			cJSON_AddNumberToObject(s, names[k], (double)secs);
		}
	return 0;
}

/* --concurrency-limit, with --collision-strategy as its options. */
static int
concurrency(const struct deploy_opts *o, cJSON *cfg, char *err,
    size_t errlen)
{
	long long	 n;
	cJSON		*c;

	if (o->concurrency_limit == NULL)
		return 0;
	if (integer(o->concurrency_limit, &n) == -1)
		return errorf(err, errlen, "--concurrency-limit needs an "
		    "integer, got '%s'", o->concurrency_limit);
	if (o->collision_strategy == NULL) {
		cJSON_AddNumberToObject(cfg, "concurrency_limit", (double)n);
		return 0;
	}
	c = cJSON_AddObjectToObject(cfg, "concurrency_limit");
	cJSON_AddNumberToObject(c, "limit", (double)n);
	cJSON_AddStringToObject(c, "collision_strategy",
	    o->collision_strategy);
	return 0;
}

static void
add_str(cJSON *o, const char *key, const char *v)
{
	if (v != NULL)
		cJSON_AddStringToObject(o, key, v);
}

cJSON *
deploy_opts_config(const struct deploy_opts *o, const char *name,
    cJSON **overrides, char *err, size_t errlen)
{
	cJSON	*cfg = cJSON_CreateObject(), *wp, *p = NULL, *jv = NULL;

	*overrides = NULL;
	add_str(cfg, "name", name);
	add_str(cfg, "entrypoint", o->entrypoint);
	add_str(cfg, "description", o->description);
	add_str(cfg, "version", o->version);
	add_str(cfg, "version_type", o->version_type);
	if (o->tags.n > 0)
		cJSON_AddItemToObject(cfg, "tags",
		    cJSON_CreateStringArray(o->tags.v, (int)o->tags.n));
	if (o->no_enforce)
		cJSON_AddFalseToObject(cfg, "enforce_parameter_schema");
	if (concurrency(o, cfg, err, errlen) == -1 ||
	    schedules(o, cfg, err, errlen) == -1 ||
	    (p = parameters(o, err, errlen)) == NULL ||
	    (jv = job_variables(o, err, errlen)) == NULL) {
		cJSON_Delete(p);
		cJSON_Delete(cfg);
		return NULL;
	}
	if (p->child != NULL)
		cJSON_AddItemToObject(cfg, "parameters", p);
	else
		cJSON_Delete(p);
	/* Empty ones count as not given, as in Prefect. */
	if ((o->pool && *o->pool) || (o->queue && *o->queue) || jv->child) {
		wp = cJSON_AddObjectToObject(cfg, "work_pool");
		add_str(wp, "name", o->pool && *o->pool ? o->pool : NULL);
		add_str(wp, "work_queue_name", o->queue && *o->queue ?
		    o->queue : NULL);
		if (jv->child)
			cJSON_AddItemToObject(wp, "job_variables",
			    cJSON_Duplicate(jv, 1));
	}
	*overrides = jv;
	return cfg;
}
