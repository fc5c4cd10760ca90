/*
 * deploy.c: `pfagent deploy`, Prefect 3.8.8's `prefect deploy`
 * (prefect/cli/deploy/_core.py) for C flows: the command line, the
 * choice of deployments, and each one taken through its steps:
 *
 *   template the config, build and load the flow module, make the
 *   body Prefect would send                          deploy_target.c
 *   check the work pool, read the server's deployment   deploy_api.c
 *     none: create it                                   deploy_api.c
 *     else: compare field by field                     deploy_diff.c
 *           and PATCH what differs, or nothing at all   deploy_api.c
 *   say what was (or would be) done                    deploy_show.c
 *
 * Writes are kept to what changed because every PATCH deletes the
 * deployment's future auto-scheduled runs, and a PATCH (or POST) with
 * schedules replaces them with new ids unless all carry slugs.
 * Values that came from blocks are treated as secrets: never printed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/deploy/deploy.h"
#include "cli/deploy/api.h"
#include "cli/deploy/diff.h"
#include "cli/deploy/options.h"
#include "cli/deploy/show.h"
#include "cli/deploy/target.h"
#include "common/http.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "deployments/pull_steps.h"
#include "deployments/refs.h"
#include "deployments/template.h"

struct deploy {
	struct http_settings	 http;
	struct template_resolver api;	/* refs_resolver(&http) */
	struct template_resolver r;	/* api, noting what blocks return */
	struct deploy_secrets	 secrets;
	struct deploy_server	 server;	/* &http, &secrets */
	struct deploy_file	 f;
	const char		*file;
	char			*cwd;		/* the project, absolute */
	int			 dry_run;
	/* The deployment the command line makes, and its --job-variable
	 * values, which Prefect also templates into the config. */
	struct pf_deployment	*derived;
	const cJSON		*step_values;
};

enum outcome {
	OUT_CREATED, OUT_UPDATED, OUT_UNCHANGED, OUT_FAILED,
	OUT_WOULD_CREATE, OUT_WOULD_UPDATE, OUT__N
};

/* ------------------------------------------------ blocks and variables */

/* The API's block lookups, remembering what they return as secrets. */
static int
secret_block(const char *slug, const char *name, cJSON **out, char *err,
    size_t errlen, void *payload)
{
	struct deploy	*dp = payload;
	int		 rc;

	rc = dp->api.block(slug, name, out, err, errlen, dp->api.payload);
	if (rc == 0)
		deploy_secrets_add(&dp->secrets, *out);
	return rc;
}

static int
secret_block_by_id(const char *id, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	struct deploy	*dp = payload;
	int		 rc;

	rc = dp->api.block_by_id(id, out, err, errlen, dp->api.payload);
	if (rc == 0)
		deploy_secrets_add(&dp->secrets, *out);
	return rc;
}

static int
variable(const char *name, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	struct deploy	*dp = payload;

	return dp->api.variable(name, out, err, errlen, dp->api.payload);
}

/* ------------------------------------------------------------ the file */

int
deploy_file_load(struct deploy_file *f, const char *file, char *err,
    size_t errlen)
{
	struct ydoc_error	yerr;

	memset(f, 0, sizeof(*f));
	if ((f->doc = ydoc_load_file(file, &yerr)) == NULL) {
		if (yerr.line > 0)
			return errorf(err, errlen, "%s:%d:%d: %s", file,
			    yerr.line, yerr.col, yerr.msg);
		return errorf(err, errlen, "%s: %s", file, yerr.msg);
	}
	return prefect_yaml_load(f->doc, file, &f->py, &f->warn, err,
	    errlen);
}

void
deploy_file_cleanup(struct deploy_file *f)
{
	prefect_yaml_free(f->py);
	prefect_yaml_msgs_free(&f->warn);
	ydoc_free(f->doc);
	memset(f, 0, sizeof(*f));
}

/* "file:line:col: " of node in the yaml, or "file: ". */
static const char *
where(const struct deploy *dp, const cJSON *node, char *buf, size_t len)
{
	int	line, col;

	if (node == NULL)		/* from the command line */
		buf[0] = '\0';
	else if (ydoc_pos(dp->f.doc, node, &line, &col) == 0)
		snprintf(buf, len, "%s:%d:%d: ", dp->file, line, col);
	else
		snprintf(buf, len, "%s: ", dp->file);
	return buf;
}

/* The first string under n that contains needle. */
static const cJSON *
find_text(const cJSON *n, const char *needle)
{
	const cJSON	*c, *hit;

	if (cJSON_IsString(n))
		return strstr(n->valuestring, needle) ? n : NULL;
	if (cJSON_IsArray(n) || cJSON_IsObject(n))
		for (c = n->child; c != NULL; c = c->next)
			if ((hit = find_text(c, needle)) != NULL)
				return hit;
	return NULL;
}

/* Where a templating error's '{{ ... }}' reference is written. */
static const cJSON *
reference_node(const struct pf_deployment *d, const char *err)
{
	const char	*a = strstr(err, "'{{"), *b;
	const cJSON	*hit = NULL;
	char		*ref;

	if (a == NULL || (b = strstr(a, "}}'")) == NULL)
		return d->node;
	ref = xasprintf("%.*s", (int)(b + 2 - (a + 1)), a + 1);
	hit = find_text(d->node, ref);
	free(ref);
	return hit ? hit : d->node;
}

/* The raw node at key (and sub) of a deployment, or the deployment. */
static const cJSON *
node_at(const struct pf_deployment *d, const char *key, const char *sub)
{
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(d->node, key);

	if (n != NULL && sub != NULL)
		n = cJSON_GetObjectItemCaseSensitive(n, sub);
	return n ? n : d->node;
}

/* Where the parameter that failed its check is written. */
static const cJSON *
param_node(const struct deploy_target *t)
{
	const cJSON	*n = t->d->node;

	if (n != NULL && t->bad_schedule >= 0)
		n = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(n,
		    "schedules"), t->bad_schedule);
	n = cJSON_GetObjectItemCaseSensitive(n, "parameters");
	n = cJSON_GetObjectItemCaseSensitive(n, t->bad_key);
	return n ? n : node_at(t->d, "parameters", NULL);
}

/* --------------------------------------------------------- one target */

/* Whether key of o is a list or mapping with something in it. */
static int
nonempty(const cJSON *o, const char *key)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, key)) > 0;
}

static enum outcome
failed(const struct deploy *dp, const struct deploy_target *t,
    const cJSON *node, const char *msg)
{
	char	pos[PATH_MAX + 64], *safe;

	safe = deploy_secrets_redact(&dp->secrets, msg);
	fprintf(stderr, "pfagent deploy: %sdeployment '%s': %s\n",
	    where(dp, node, pos, sizeof(pos)), t->name ? t->name :
	    t->d->name, safe);
	if (t->build_output != NULL && t->build_output[0] != '\0')
		fprintf(stderr, "%s%s", t->build_output,
		    t->build_output[strlen(t->build_output) - 1] == '\n' ?
		    "" : "\n");
	free(safe);
	return OUT_FAILED;
}

/* The written pull step i of d: its own list, else the file's. */
static const cJSON *
pull_step_node(const struct deploy *dp, const struct pf_deployment *d,
    int i)
{
	const cJSON	*n = NULL;

	if (d->node != NULL)
		n = cJSON_GetObjectItemCaseSensitive(d->node, "pull");
	if ((n == NULL || cJSON_IsNull(n)) && dp->f.doc != NULL)
		n = cJSON_GetObjectItemCaseSensitive(ydoc_root(dp->f.doc),
		    "pull");
	if (cJSON_IsObject(n))		/* one step, not in a list */
		return i == 0 ? n : NULL;
	return cJSON_GetArrayItem(n, i);
}

/*
 * A pull step the worker would refuse when the run starts (a Python
 * step, or a mapping of more than one step) is refused now instead.
 */
static int
check_pull_steps(struct deploy *dp, const struct deploy_target *t)
{
	const struct pf_deployment	*d = t->d;
	const cJSON			*step, *node;
	char				 err[1024];
	int				 i = -1;

	if (d->pull_mode != PF_PULL_STEPS)
		return 0;
	cJSON_ArrayForEach(step, d->pull_steps) {
		i++;
		if (!cJSON_IsObject(step) || step->child == NULL)
			continue;
		if (step->child->next != NULL)
			errorf(err, sizeof(err), "pull step %d has more than "
			    "one step name ('%s', '%s'): write one step per "
			    "list item", i + 1, step->child->string,
			    step->child->next->string);
		else if (!pull_step_known(step->child->string))
			errorf(err, sizeof(err), "pull step %d '%s' cannot "
			    "run: it is a Python step; %s", i + 1,
			    step->child->string, PULL_STEPS_KNOWN);
		else
			continue;
		node = pull_step_node(dp, d, i);
		failed(dp, t, node ? node : node_at(d, "pull", NULL), err);
		return -1;
	}
	return 0;
}

/* Refuses a deployment pfagent cannot deploy (-1, said on stderr) and
 * warns about what it would ignore. */
static int
check_deployable(struct deploy *dp, const struct deploy_target *t)
{
	const struct pf_deployment	*d = t->d;
	const cJSON			*v;
	char				 err[4096];

	if (d != dp->derived && prefect_yaml_check_deployable(dp->f.py, d,
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent deploy: %s\n", err);
		return -1;
	}
	/* pfagent runs no build or push step: refuse rather than skip. */
	v = cJSON_GetArraySize(d->build_steps) > 0 ? d->build_steps :
	    d->push_steps;
	if (cJSON_GetArraySize(v) > 0 && v->child->child != NULL) {
		errorf(err, sizeof(err), "%s step '%s' cannot run: pfagent "
		    "deploy runs no build or push steps (remove them, or "
		    "build before deploying)", v == d->build_steps ? "build" :
		    "push", v->child->child->string);
		failed(dp, t, node_at(d, v == d->build_steps ? "build" :
		    "push", NULL), err);
		return -1;
	}
	if (check_pull_steps(dp, t) == -1)
		return -1;
	if (nonempty(d->config, "triggers") || nonempty(d->config, "sla"))
		fprintf(stderr, "pfagent deploy: warning: deployment '%s': "
		    "triggers and sla are not applied by pfagent deploy\n",
		    d->name);
	return 0;
}

/* Takes the target up to the comparison: templated, its flow module
 * built and loaded, the body made, the pool checked and the server's
 * deployment read (t->current, NULL when there is none). -1 when a
 * step failed, said with where in the file it comes from. */
static int
prepare_target(struct deploy *dp, struct deploy_target *t)
{
	const struct pf_deployment	*d = t->d;
	const cJSON			*node;
	char				 err[4096];

	if (deploy_target_template(t, &dp->r, dp->step_values, err,
	    sizeof(err)) == -1)
		node = reference_node(d, err);
	else if (deploy_target_check_name(t, err, sizeof(err)) == -1)
		node = node_at(d, "name", NULL);
	else if (deploy_target_load_flow(t, err, sizeof(err)) == -1)
		node = node_at(d, "entrypoint", NULL);
	else if (deploy_target_check_params(t, err, sizeof(err)) == -1)
		node = param_node(t);
	else if (deploy_target_build_spec(t, dp->cwd, err, sizeof(err)) == -1)
		node = d->node;
	else if (deploy_api_pool(&dp->server, t, err, sizeof(err)) == -1)
		node = node_at(d, "work_pool", "name");
	else if (deploy_api_read(&dp->server, t, err, sizeof(err)) == -1)
		node = d->node;
	else
		return 0;
	failed(dp, t, node, err);
	return -1;
}

/* A deployment the server does not have: create it, or say it would. */
static enum outcome
create_new(struct deploy *dp, const struct deploy_target *t,
    const struct deploy_pair *p)
{
	char		 err[4096], *id = NULL;
	enum outcome	 o;

	if (dp->dry_run) {
		printf("Deployment '%s/%s' would be created\n", t->flow,
		    t->name);
		deploy_show_spec(p, &dp->secrets);
		o = OUT_WOULD_CREATE;
	} else if (deploy_api_create(&dp->server, t, &id, err,
	    sizeof(err)) == -1)
		o = failed(dp, t, t->d->node, err);
	else {
		printf("Deployment '%s/%s' created (id %s)\n", t->flow,
		    t->name, id);
		o = OUT_CREATED;
	}
	free(id);
	return o;
}

/* A deployment the server has: PATCH the fields that differ, or say
 * which would change, or that none does. */
static enum outcome
update_existing(struct deploy *dp, const struct deploy_target *t,
    const struct deploy_pair *p)
{
	struct deploy_change	 c[DEPLOY_NFIELDS];
	char			 err[4096], *names;
	enum outcome		 o;
	size_t			 n;

	n = deploy_diff(p, c);
	names = deploy_show_names(c, n);
	if (n == 0) {
		printf("Deployment '%s/%s' unchanged: no changes (id %s)\n",
		    t->flow, t->name, json_str(t->current, "id"));
		o = OUT_UNCHANGED;
	} else if (dp->dry_run) {
		printf("Deployment '%s/%s' would be updated: %s (id %s)\n",
		    t->flow, t->name, names, json_str(t->current, "id"));
		for (size_t i = 0; i < n; i++)
			deploy_show_change(p, &c[i], &dp->secrets);
		o = OUT_WOULD_UPDATE;
	} else if (deploy_api_update(&dp->server, t, c, n, err,
	    sizeof(err)) == -1)
		o = failed(dp, t, t->d->node, err);
	else {
		printf("Deployment '%s/%s' updated: %s (id %s)\n", t->flow,
		    t->name, names, json_str(t->current, "id"));
		o = OUT_UPDATED;
	}
	free(names);
	deploy_changes_free(c, n);
	return o;
}

static enum outcome
deploy_one(struct deploy *dp, const struct pf_deployment *d)
{
	struct deploy_target	 t;
	struct deploy_pair	 p;
	enum outcome		 o;

	memset(&t, 0, sizeof(t));
	t.d = d;
	if (check_deployable(dp, &t) == -1)
		return OUT_FAILED;
	if (prepare_target(dp, &t) == -1)
		o = OUT_FAILED;
	else {
		p = deploy_target_pair(&t);
		o = t.current == NULL ? create_new(dp, &t, &p) :
		    update_existing(dp, &t, &p);
	}
	fflush(stdout);
	deploy_target_cleanup(&t);
	return o;
}

/* ----------------------------------------------------------- selection */

/* fnmatch with '*' only, as prefect deploy --name patterns. */
static int
wildcard(const char *p, const char *s)
{
	if (*p == '\0')
		return *s == '\0';
	if (*p == '*')
		return wildcard(p + 1, s) ||
		    (*s != '\0' && wildcard(p, s + 1));
	return *p == *s && wildcard(p + 1, s + 1);
}

/* NAME or FLOW/NAME; FLOW is the entrypoint's function, '-' as '_'. */
static int
matches(const struct pf_deployment *d, const char *pattern)
{
	const char	*slash = strchr(pattern, '/'), *fn;
	char		*flow, *want;
	int		 ok;

	if (d->name == NULL)
		return 0;
	if (slash == NULL)
		return wildcard(pattern, d->name);
	if (!wildcard(slash + 1, d->name) || d->entrypoint == NULL)
		return 0;
	fn = strrchr(d->entrypoint, ':');
	flow = xstrdup(fn ? fn + 1 : d->entrypoint);
	want = xasprintf("%.*s", (int)(slash - pattern), pattern);
	for (char *p = flow; *p; p++)
		if (*p == '-')
			*p = '_';
	for (char *p = want; *p; p++)
		if (*p == '-')
			*p = '_';
	ok = wildcard(want, flow);
	free(flow);
	free(want);
	return ok;
}

static void
list_deployments(const struct prefect_yaml *py)
{
	const struct pf_deployment	*d;

	for (size_t i = 0; i < prefect_yaml_count(py); i++) {
		d = prefect_yaml_deployment(py, i);
		fprintf(stderr, "  %s (%s)\n", d->name ? d->name : "(no name)",
		    d->entrypoint ? d->entrypoint : "no entrypoint");
	}
}

/*
 * Marks the deployments to deploy in pick[]. Returns the number of
 * names that matched nothing, or -1 when nothing can be deployed.
 */
static int
select_deployments(const struct deploy *dp, const char **names, size_t nnames,
    int all, char *pick)
{
	const struct prefect_yaml	*py = dp->f.py;
	const struct pf_deployment	*d;
	size_t				 n = prefect_yaml_count(py);
	int				 missing = 0, any = 0, hit;

	if (n == 0) {
		fprintf(stderr, "pfagent deploy: %s has no deployments\n",
		    dp->file);
		return -1;
	}
	if (!all && nnames == 0) {
		if (n == 1) {
			pick[0] = 1;
			return 0;
		}
		fprintf(stderr, "pfagent deploy: %s has %zu deployments; "
		    "choose with --name NAME or --all:\n", dp->file, n);
		list_deployments(py);
		return -1;
	}
	for (size_t i = 0; all && i < n; i++) {
		d = prefect_yaml_deployment(py, i);
		/* The model has warned about unnamed ones: skipped. */
		if (d->name != NULL && d->name[0] != '\0')
			pick[i] = any = 1;
	}
	for (size_t k = 0; k < nnames; k++) {
		hit = 0;
		for (size_t i = 0; i < n; i++)
			if (matches(prefect_yaml_deployment(py, i), names[k]))
				pick[i] = hit = any = 1;
		if (!hit) {
			fprintf(stderr, "pfagent deploy: %s has no deployment "
			    "'%s'\n", dp->file, names[k]);
			missing++;
		}
	}
	if (!any) {
		fprintf(stderr, "pfagent deploy: nothing to deploy; %s has:\n",
		    dp->file);
		list_deployments(py);
		return -1;
	}
	return missing;
}

/* ---------------------------------------------- from the command line */

/*
 * The names given, a pattern ('*') replaced by the file's deployments
 * it matches (_parse_name_from_pattern). Caller frees the array.
 */
static const char **
expand_names(const struct deploy *dp, const struct deploy_list *names,
    size_t *n)
{
	const struct pf_deployment	*d;
	const char			**v;
	size_t				 count;

	count = dp->f.py ? prefect_yaml_count(dp->f.py) : 0;
	v = xcalloc(names->n * (count + 1) + 1, sizeof(*v));
	*n = 0;
	for (size_t k = 0; k < names->n; k++) {
		if (strchr(names->v[k], '*') == NULL) {
			v[(*n)++] = names->v[k];
			continue;
		}
		for (size_t i = 0; i < count; i++) {
			d = prefect_yaml_deployment(dp->f.py, i);
			if (d->entrypoint && matches(d, names->v[k]))
				v[(*n)++] = d->name;
		}
	}
	return v;
}

/*
 * _pick_deploy_configs without a terminal: the one deployment the
 * options apply to (*base, NULL for a new one: returns 1), or several
 * for which they are ignored (pick[]: returns 0), or -1 (said).
 */
static int
pick_for_options(struct deploy *dp, const char **names, size_t n, int all,
    char *pick, const struct pf_deployment **base)
{
	size_t	count = dp->f.py ? prefect_yaml_count(dp->f.py) : 0, hits = 0;

	*base = NULL;
	if (count == 0)
		return 1;
	if (count == 1 && n <= 1) {
		*base = prefect_yaml_deployment(dp->f.py, 0);
		return 1;
	}
	if (n == 0)		/* --all, or the error of no choice */
		return select_deployments(dp, names, n, all, pick) == -1 ?
		    -1 : 0;
	for (size_t i = 0; i < count; i++) {
		const struct pf_deployment *d = prefect_yaml_deployment(
		    dp->f.py, i);

		for (size_t k = 0; k < n; k++)
			if (matches(d, names[k])) {
				pick[i] = 1;
				*base = d;
				hits++;
				break;
			}
	}
	if (hits > 1)
		return 0;
	if (hits == 0)
		fprintf(stderr, "pfagent deploy: warning: %s has no deployment "
		    "'%s': the command line makes a new one\n", dp->file,
		    names[0]);
	return 1;
}

/* Prefect's checks of the deployment the command line makes. */
static int
check_derived(const struct pf_deployment *d, char *err, size_t errlen)
{
	if (d->entrypoint == NULL || d->entrypoint[0] == '\0')
		return errorf(err, errlen, "an entrypoint must be given: "
		    "pfagent deploy flows/<file>.c:<function> --name NAME "
		    "--pool POOL, or in %s", "prefect.yaml");
	if (d->name == NULL || d->name[0] == '\0')
		return errorf(err, errlen, "a deployment name must be given "
		    "(--name NAME)");
	return 0;
}

/*
 * The one deployment of base (or none) and the options, counted in
 * count; -1 (said) when the options themselves are wrong.
 */
static int
deploy_derived(struct deploy *dp, const struct deploy_opts *o,
    const char **names, size_t n, const struct pf_deployment *base,
    size_t count[OUT__N])
{
	struct pf_overrides	 ov = { NULL, o->anchor_date, o->timezone,
				    "command line" };
	const char		*name = n == 1 ? names[0] : NULL;
	cJSON			*cfg, *overrides = NULL;
	char			 err[8192];
	int			 rc = -1;

	if (name != NULL && strchr(name, '/') != NULL)
		name = strchr(name, '/') + 1;
	if ((cfg = deploy_opts_config(o, name, &overrides, err,
	    sizeof(err))) != NULL) {
		ov.config = cfg;
		if (prefect_yaml_derive(dp->f.py, base, &ov, &dp->derived, err,
		    sizeof(err)) == 0 && check_derived(dp->derived, err,
		    sizeof(err)) == 0) {
			dp->step_values = overrides;
			count[deploy_one(dp, dp->derived)]++;
			rc = 0;
		}
	}
	if (rc == -1)
		fprintf(stderr, "pfagent deploy: %s\n", err);
	dp->step_values = NULL;
	prefect_yaml_derived_free(dp->derived);
	dp->derived = NULL;
	cJSON_Delete(overrides);
	cJSON_Delete(cfg);
	return rc;
}

/* ------------------------------------------------------------- command */

/* Reads the file; a missing one is no error when options make the
 * deployment (prefect deploy goes on without it). -1: said. */
static int
load_file(struct deploy *dp, const struct deploy_opts *o)
{
	char	err[8192];

	if (deploy_opts_any(o) && access(dp->file, F_OK) == -1 &&
	    errno == ENOENT) {
		if (o->file != NULL)
			fprintf(stderr, "pfagent deploy: warning: %s does not "
			    "exist: the command line makes the deployment\n",
			    dp->file);
		return 0;
	}
	if (deploy_file_load(&dp->f, dp->file, err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent deploy: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < dp->f.warn.n; i++)
		fprintf(stderr, "pfagent deploy: warning: %s\n",
		    dp->f.warn.v[i]);
	return 0;
}

/* Deploys what the command line chose; counts the outcomes. -1: said. */
static int
deploy_chosen(struct deploy *dp, const struct deploy_opts *o, char *pick,
    size_t count[OUT__N])
{
	const struct pf_deployment	*base = NULL;
	const char			**names;
	size_t				 n;
	int				 rc = 0, single = 0;

	names = expand_names(dp, &o->names, &n);
	if (deploy_opts_any(o)) {
		if ((single = pick_for_options(dp, names, n, o->all, pick,
		    &base)) == 0)
			fprintf(stderr, "pfagent deploy: warning: options of "
			    "the deployment are ignored when deploying "
			    "several\n");
	} else
		rc = select_deployments(dp, o->names.v, o->names.n, o->all,
		    pick);
	if (single == 1 && deploy_derived(dp, o, names, n, base, count) == -1)
		single = -1;
	else if (single == 0 && rc != -1)
		for (size_t i = 0; i < prefect_yaml_count(dp->f.py); i++)
			if (pick[i])
				count[deploy_one(dp, prefect_yaml_deployment(
				    dp->f.py, i))]++;
	free(names);
	return single == -1 ? -1 : rc;
}

int
deploy_main(int argc, char **argv)
{
	struct deploy		 dp;
	struct deploy_opts	 o;
	char			 err[8192], *pick = NULL;
	size_t			 count[OUT__N] = { 0 };
	int			 rc, missing;

	memset(&dp, 0, sizeof(dp));
	if ((rc = deploy_opts_parse(argc, argv, &o)) != -1)
		goto out;
	dp.file = o.file ? o.file : "prefect.yaml";
	dp.dry_run = o.dry_run;
	rc = 2;
	log_init(LOG_LVL_WARN, "");
	if (http_settings_from_env(&dp.http, err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent deploy: %s; deploying needs the API, "
		    "and so does --dry-run, to compare with what is "
		    "deployed\n", err);
		goto out;
	}
	dp.api = refs_resolver(&dp.http);
	dp.r = (struct template_resolver){ secret_block, secret_block_by_id,
	    variable, &dp };
	dp.server = (struct deploy_server){ &dp.http, &dp.secrets };
	if ((dp.cwd = realpath(".", NULL)) == NULL)
		fatal("realpath .");
	if (load_file(&dp, &o) == -1)
		goto out;
	pick = xcalloc((dp.f.py ? prefect_yaml_count(dp.f.py) : 0) + 1, 1);
	if ((missing = deploy_chosen(&dp, &o, pick, count)) == -1)
		goto out;
	if (dp.dry_run)
		printf("Dry run, nothing written: %zu would be created, %zu "
		    "would be updated, %zu unchanged, %zu failed\n",
		    count[OUT_WOULD_CREATE], count[OUT_WOULD_UPDATE],
		    count[OUT_UNCHANGED], count[OUT_FAILED]);
	else
		printf("%zu created, %zu updated, %zu unchanged, %zu "
		    "failed\n", count[OUT_CREATED], count[OUT_UPDATED],
		    count[OUT_UNCHANGED], count[OUT_FAILED]);
	rc = count[OUT_FAILED] > 0 || missing > 0 ? 1 : 0;
out:
	free(pick);
	free(dp.cwd);
	deploy_opts_cleanup(&o);
	deploy_file_cleanup(&dp.f);
	deploy_secrets_cleanup(&dp.secrets);
	http_settings_cleanup(&dp.http);
	return rc;
}
