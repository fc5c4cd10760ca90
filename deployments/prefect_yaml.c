/*
 * prefect_yaml.c: load a prefect.yaml into its deployments.
 *
 * prefect_yaml_check.c validates the document with Prefect 3's rules
 * and gives each deployment a normalised config; here each deployment
 * gets the build/push/pull steps _run_single_deploy would run, and the
 * loaded file answers questions about its deployments.  The schedules
 * and concurrency options sent to the API are made by
 * prefect_yaml_body.c, durations and dates read by prefect_yaml_time.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "deployments/prefect_yaml_int.h"

struct prefect_yaml {
	const struct ydoc	*doc;
	char			*file;
	const char		*name;
	const char		*version;
	cJSON			*bag;	/* per deployment: config and steps */
	cJSON			*top;	/* top-level build, push, pull */
	struct pf_deployment	*deps;
	size_t			 n;
};

/* ----------------------------------------------------- effective steps */

static int
nonempty(const cJSON *n)
{
	return cJSON_IsArray(n) && n->child != NULL;
}

static cJSON *
copy_or_empty(const cJSON *n)
{
	return nonempty(n) ? cJSON_Duplicate(n, 1) : cJSON_CreateArray();
}

/*
 * _run_single_deploy's choices: a deployment's build (even null) hides
 * the top-level one; an empty push falls back to the top-level push;
 * pull: [] means none, an empty or null pull falls back to the top
 * level and then to Prefect's generated default.
 */
static enum pf_pull_mode
effective_steps(struct vctx *v, const cJSON *dep, const cJSON *top,
    cJSON *bag)
{
	const cJSON	*dv = get(dep, "pull"), *tv = get(top, "pull");
	const cJSON	*eff = dv ? dv : tv, *pick = NULL;
	const cJSON	*b = get(dep, "build") ? get(dep, "build") :
			    get(top, "build");
	const cJSON	*p = get(dep, "push");
	enum pf_pull_mode mode = PF_PULL_DEFAULT;

	pyaml_put(v, bag, "build", copy_or_empty(b));
	pyaml_put(v, bag, "push", copy_or_empty(nonempty(p) ? p : get(top,
	    "push")));
	if (cJSON_IsArray(eff) && eff->child == NULL)
		mode = PF_PULL_NONE;
	else if (nonempty(eff))
		pick = eff;
	else if (nonempty(tv))
		pick = tv;
	if (pick != NULL)
		mode = PF_PULL_STEPS;
	pyaml_put(v, bag, "pull", copy_or_empty(pick));
	return mode;
}

/* -------------------------------------------------------------- loading */

static const char *
str_of(const cJSON *obj, const char *key)
{
	const cJSON *n = get(obj, key);

	return cJSON_IsString(n) ? n->valuestring : NULL;
}

static void
fill_deployment(struct vctx *v, struct pf_deployment *d, size_t i,
    const cJSON *node, cJSON *bag, const cJSON *top)
{
	const cJSON	*cfg = get(bag, "config"), *wp = get(cfg, "work_pool");

	d->index = i;
	d->node = node;
	d->config = cfg;
	d->name = str_of(cfg, "name");
	d->entrypoint = str_of(cfg, "entrypoint");
	d->flow_name = str_of(cfg, "flow_name");
	d->version = str_of(cfg, "version");
	d->version_type = str_of(cfg, "version_type");
	d->description = str_of(cfg, "description");
	d->work_pool_name = str_of(wp, "name");
	d->work_queue_name = str_of(wp, "work_queue_name");
	d->pull_mode = effective_steps(v, cfg, top, bag);
	d->build_steps = get(bag, "build");
	d->push_steps = get(bag, "push");
	d->pull_steps = get(bag, "pull");
}

/* Validates every deployment into py->bag; returns the list or NULL. */
static const cJSON *
check_deployments(struct vctx *v, const cJSON *root, struct prefect_yaml *py)
{
	const cJSON	*list = get(root, "deployments");
	char		 p[64];
	size_t		 i = 0;

	if (list == NULL)
		return NULL;
	if (!cJSON_IsArray(list)) {
		pyaml_err(v, list, "deployments", "must be a list");
		return NULL;
	}
	for (const cJSON *d = list->child; d != NULL; d = d->next, i++) {
		cJSON	*bag = cJSON_CreateObject(), *cfg;

		cfg = pyaml_check_deployment(v, d, pyaml_idx(p, sizeof(p),
		    "deployments", i));
		if (cfg != NULL)
			pyaml_put(v, bag, "config", cfg);
		if (bag == NULL || !cJSON_AddItemToArray(py->bag, bag)) {
			cJSON_Delete(bag);
			v->oom = 1;
		}
	}
	return list;
}

static void
warn_duplicates(struct vctx *v, const struct prefect_yaml *py)
{
	char	 p[64];

	for (size_t i = 0; i < py->n; i++)
		for (size_t j = 0; j < i; j++)
			if (py->deps[i].name && py->deps[j].name &&
			    strcmp(py->deps[i].name, py->deps[j].name) == 0) {
				pyaml_warn(v, get(py->deps[i].node, "name"),
				    pyaml_idx(p, sizeof(p), "deployments", i),
				    "deployment name '%s' is also used by "
				    "deployments[%zu]", py->deps[i].name, j);
				break;
			}
}

static int
build_deployments(struct vctx *v, struct prefect_yaml *py,
    const cJSON *list, const cJSON *top)
{
	size_t		 n = (size_t)cJSON_GetArraySize(py->bag), i = 0;
	const cJSON	*d = list ? list->child : NULL;

	if (n > 0 && (py->deps = calloc(n, sizeof(*py->deps))) == NULL)
		return -1;
	for (cJSON *bag = py->bag->child; bag != NULL && d != NULL;
	    bag = bag->next, d = d->next, i++)
		fill_deployment(v, &py->deps[i], i, d, bag, top);
	py->n = i;
	warn_duplicates(v, py);
	return v->oom ? -1 : 0;
}

static void
finish_errors(struct vctx *v, char *err, size_t errlen)
{
	if (v->oom)
		errorf(err, errlen, "%s: out of memory", v->file);
	else
		errorf(err, errlen, "%s",
		    v->errs.data ? v->errs.data : "invalid file");
}

int
prefect_yaml_load(const struct ydoc *doc, const char *file,
    struct prefect_yaml **out, struct pf_msgs *warn, char *err,
    size_t errlen)
{
	struct vctx		 v = { .doc = doc,
				    .file = file ? file : "prefect.yaml",
				    .warn = warn };
	const cJSON		*root = ydoc_root(doc), *list = NULL;
	struct prefect_yaml	*py;
	cJSON			*top = cJSON_CreateObject();

	*out = NULL;
	buf_init(&v.errs, SIZE_MAX);
	if ((py = calloc(1, sizeof(*py))) == NULL || top == NULL ||
	    (py->file = strdup(v.file)) == NULL ||
	    (py->bag = cJSON_CreateArray()) == NULL)
		v.oom = 1;
	else if (cJSON_IsNull(root))
		pyaml_warn(&v, root, "", "the file is empty");
	else if (!cJSON_IsObject(root))
		pyaml_err(&v, root, "", "the file must be a mapping");
	else {
		pyaml_check_top(&v, root, top);
		list = check_deployments(&v, root, py);
	}
	if (v.nerr == 0 && !v.oom && build_deployments(&v, py, list, top))
		v.oom = 1;
	if (v.nerr > 0 || v.oom) {
		finish_errors(&v, err, errlen);
		buf_cleanup(&v.errs);
		cJSON_Delete(top);
		prefect_yaml_free(py);
		return -1;
	}
	py->doc = doc;
	py->name = str_of(root, "name");
	py->version = str_of(root, "prefect-version");
	py->top = top;
	*out = py;
	return 0;
}

void
prefect_yaml_free(struct prefect_yaml *py)
{
	if (py == NULL)
		return;
	cJSON_Delete(py->bag);
	cJSON_Delete(py->top);
	free(py->deps);
	free(py->file);
	free(py);
}

const char *
prefect_yaml_name(const struct prefect_yaml *py)
{
	return py->name;
}

const char *
prefect_yaml_prefect_version(const struct prefect_yaml *py)
{
	return py->version;
}

size_t
prefect_yaml_count(const struct prefect_yaml *py)
{
	return py->n;
}

const struct pf_deployment *
prefect_yaml_deployment(const struct prefect_yaml *py, size_t i)
{
	return i < py->n ? &py->deps[i] : NULL;
}

const struct pf_deployment *
prefect_yaml_find(const struct prefect_yaml *py, const char *name)
{
	for (size_t i = 0; i < py->n; i++)
		if (py->deps[i].name && strcmp(py->deps[i].name, name) == 0)
			return &py->deps[i];
	return NULL;
}

int
prefect_yaml_check_deployable(const struct prefect_yaml *py,
    const struct pf_deployment *d, char *err, size_t errlen)
{
	struct vctx	 v = { .doc = py->doc, .file = py->file };
	char		 p[64];
	int		 rc = 0;

	buf_init(&v.errs, SIZE_MAX);
	pyaml_idx(p, sizeof(p), "deployments", d->index);
	if (d->name == NULL || d->name[0] == '\0')
		pyaml_err(&v, d->node, p, "a deployment name is required");
	if (d->entrypoint == NULL || d->entrypoint[0] == '\0')
		pyaml_err(&v, d->node, p, "an entrypoint is required to deploy "
		    "(flows/<file>.c:<function>)");
	if (v.nerr > 0) {
		finish_errors(&v, err, errlen);
		rc = -1;
	}
	buf_cleanup(&v.errs);
	return rc;
}


/* ---------------------------------------------------- derived configs */

/* A deployment not written as such: owns its config and steps. */
struct derived {
	struct pf_deployment	 d;	/* first: freed through it */
	cJSON			*bag;
};

/* Sets key of obj to item (owned), replacing what was there. */
static void
put_over(struct vctx *v, cJSON *obj, const char *key, cJSON *item)
{
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	pyaml_put(v, obj, key, item);
}

/* The work pool: name and queue replaced; job variables, when given,
 * replace the config's (Prefect resets them before its update). */
static void
merge_work_pool(struct vctx *v, cJSON *cfg, const cJSON *o)
{
	cJSON	*wp = cJSON_GetObjectItemCaseSensitive(cfg, "work_pool");

	if (!cJSON_IsObject(wp)) {
		put_over(v, cfg, "work_pool", cJSON_CreateObject());
		wp = cJSON_GetObjectItemCaseSensitive(cfg, "work_pool");
	}
	for (const cJSON *c = o ? o->child : NULL; c != NULL; c = c->next)
		if (wp != NULL)
			put_over(v, wp, c->string, cJSON_Duplicate(c, 1));
}

/* _apply_cli_options_to_deploy_config over a normalised config. */
static void
merge_options(struct vctx *v, cJSON *cfg, const cJSON *opts)
{
	cJSON	*into;

	for (const cJSON *c = opts->child; c != NULL; c = c->next) {
		into = cJSON_GetObjectItemCaseSensitive(cfg, c->string);
		if (strcmp(c->string, "work_pool") == 0)
			merge_work_pool(v, cfg, c);
		else if ((strcmp(c->string, "schedules") == 0 &&
		    cJSON_IsArray(into)) || (strcmp(c->string,
		    "parameters") == 0 && cJSON_IsObject(into))) {
			/* Schedules are added, parameters updated. */
			for (const cJSON *e = c->child; e; e = e->next) {
				if (e->string == NULL) {
					cJSON_AddItemToArray(into,
					    cJSON_Duplicate(e, 1));
					continue;
				}
				cJSON_DeleteItemFromObjectCaseSensitive(into,
				    e->string);
				cJSON_AddItemToObject(into, e->string,
				    cJSON_Duplicate(e, 1));
			}
		} else
			put_over(v, cfg, c->string, cJSON_Duplicate(c, 1));
	}
}

/* --anchor-date and --timezone reach the config's schedules too. */
static void
schedule_options(struct vctx *v, cJSON *cfg, const struct pf_overrides *o)
{
	cJSON	*s;
	char	 buf[64];

	if (o->anchor_date != NULL && pyaml_normalize_anchor(o->anchor_date,
	    buf, sizeof(buf)) == -1)
		pyaml_err(v, NULL, "--anchor-date", "is not an ISO 8601 "
		    "date-time: \"%s\"", o->anchor_date);
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(cfg,
	    "schedules")) {
		const cJSON *iv = cJSON_GetObjectItemCaseSensitive(s,
		    "interval");

		if (o->anchor_date && iv != NULL && !cJSON_IsNull(iv))
			put_over(v, s, "anchor_date",
			    cJSON_CreateString(o->anchor_date));
		if (o->timezone)
			put_over(v, s, "timezone",
			    cJSON_CreateString(o->timezone));
	}
}

int
prefect_yaml_derive(const struct prefect_yaml *py,
    const struct pf_deployment *base, const struct pf_overrides *o,
    struct pf_deployment **out, char *err, size_t errlen)
{
	struct vctx	 v = { .file = o->label };
	struct derived	*dv = xcalloc(1, sizeof(*dv));
	cJSON		*opts, *cfg, *empty = cJSON_CreateObject();
	const cJSON	*top = py ? py->top : empty;

	*out = NULL;
	buf_init(&v.errs, SIZE_MAX);
	dv->bag = cJSON_CreateObject();
	cfg = base ? cJSON_Duplicate(base->config, 1) : cJSON_CreateObject();
	if ((opts = pyaml_check_deployment(&v, o->config, "")) != NULL)
		merge_options(&v, cfg, opts);
	cJSON_Delete(opts);
	schedule_options(&v, cfg, o);
	pyaml_put(&v, dv->bag, "config", cfg);
	if (v.nerr == 0 && !v.oom) {
		fill_deployment(&v, &dv->d, base ? base->index : 0,
		    base ? base->node : NULL, dv->bag, top);
	}
	cJSON_Delete(empty);
	if (v.nerr > 0 || v.oom) {
		finish_errors(&v, err, errlen);
		buf_cleanup(&v.errs);
		prefect_yaml_derived_free(&dv->d);
		return -1;
	}
	buf_cleanup(&v.errs);
	*out = &dv->d;
	return 0;
}

void
prefect_yaml_derived_free(struct pf_deployment *d)
{
	struct derived	*dv = (struct derived *)d;

	if (dv == NULL)
		return;
	cJSON_Delete(dv->bag);
	free(dv);
}
