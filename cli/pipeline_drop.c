/*
 * pipeline_drop.c: `pfagent pipeline NAME drop` and
 * `drop-pending-packages`, the two commands that change data, as dlt
 * 1.31's (dlt/_workspace/cli/_pipeline_command_helpers.py drop_pipeline
 * and abort_packages, dlt/pipeline/drop.py, helpers.py, abort.py).
 *
 * drop is a load of its own, as dlt's: a package with the new schema
 * (the tables gone, the version bumped), the new state (the resources'
 * state reset) and load_package_state.json's dropped_tables goes to
 * load/normalized, the local state and schema are replaced, then the
 * loader drops the tables and stores schema, state and the _dlt_loads
 * row in one transaction. A failed load takes the package away and puts
 * the old state and schema back; a crash before it leaves the package
 * pending, and the next run loads it first, dropping the tables then.
 *
 * drop-pending-packages is what dlt 1.31 made of it, abort-packages: the
 * oldest normalized package is kept in load/loaded with its jobs moved
 * to failed_jobs (so failed-jobs shows them), every other pending
 * package is deleted, and the state and schema go back to the last ones
 * the destination stored, which are those of the point where the oldest
 * pending package started (dlt keeps a local snapshot instead). The
 * destination is read before anything is deleted: unreachable, nothing
 * changes.
 */
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/pipeline_int.h"
#include "common/clock.h"
#include "common/util.h"
#include "config/cfg.h"
#include "load/destination.h"
#include "load/loader.h"
#include "load/normalize.h"
#include "load/package.h"
#include "load/schema.h"
#include "load/state.h"

/* A list of names, as dlt's info lists. */
struct names {
	const char	**v;
	size_t		  n;
};

static void
names_add(struct names *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = s;
}

static void
names_print(const char *label, const struct names *l)
{
	char	*text = pl_py_list(l->v, l->n);

	printf("%s: %s\n", label, text);
	free(text);
}

struct drop {
	const struct popts	*o;
	cJSON			*state;		/* new state */
	cJSON			*schema;	/* new schema document */
	cJSON			*dropped;	/* [{name}] with data */
	char			*schema_name;
	struct names		 tables, with_data, resources;
	struct names		 res_states;	/* owned */
	struct names		 paths;		/* "source.key", owned */
	struct names		 warnings;	/* owned */
};

/* dlt's simple regex: "re:<regex>" matched at the start, else exact. */
static int
matches(const struct popts *o, const char *name)
{
	if (o->drop_all)
		return 1;
	for (size_t i = 0; i < o->nargs; i++) {
		const char	*p = o->args[i];
		regex_t		 re;
		regmatch_t	 m;
		int		 ok;

		if (strncmp(p, "re:", 3) != 0) {
			if (strcmp(p, name) == 0)
				return 1;
			continue;
		}
		if (regcomp(&re, p + 3, REG_EXTENDED) != 0)
			continue;
		ok = regexec(&re, name, 1, &m, 0) == 0 && m.rm_so == 0;
		regfree(&re);
		if (ok)
			return 1;
	}
	return 0;
}

static int
is_dlt_table(const char *name)
{
	return strncmp(name, "_dlt", 4) == 0;
}

/* A table that reached the destination: dlt's seen-data, else (a
   schema from a pfagent that did not record it) a complete column,
   which the loader makes. */
static int
seen_data(const cJSON *t)
{
	const cJSON	*c;

	if (cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(t,
	    "x-normalizer"), "seen-data")))
		return 1;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(t, "columns"))
		if (cJSON_IsString(cJSON_GetObjectItem(c, "data_type")))
			return 1;
	return 0;
}

/* get_nested_tables: the table, then its children, depth first. */
static void
nested(const cJSON *tables, const cJSON *t, struct names *out)
{
	const cJSON	*c;

	names_add(out, t->string);
	cJSON_ArrayForEach(c, tables) {
		const cJSON *parent = cJSON_GetObjectItem(c, "parent");

		if (cJSON_IsString(parent) && !strcmp(parent->valuestring,
		    t->string))
			nested(tables, c, out);
	}
}

/* group_tables_by_resource over the data tables, then reversed. */
static void
plan_tables(struct drop *d, const cJSON *tables)
{
	const cJSON	*t, *res;
	struct names	 all = { 0 };

	cJSON_ArrayForEach(t, tables) {
		res = cJSON_GetObjectItem(t, "resource");
		if (is_dlt_table(t->string) || !cJSON_IsString(res) ||
		    !matches(d->o, res->valuestring))
			continue;
		size_t	i;

		for (i = 0; i < d->resources.n; i++)
			if (!strcmp(d->resources.v[i], res->valuestring))
				break;
		if (i == d->resources.n)
			names_add(&d->resources, res->valuestring);
		nested(tables, t, &all);
	}
	for (size_t i = all.n; i-- > 0;) {
		const cJSON *tt = cJSON_GetObjectItem(tables, all.v[i]);

		names_add(&d->tables, all.v[i]);
		if (seen_data(tt)) {
			cJSON	*one = cJSON_CreateObject();

			names_add(&d->with_data, all.v[i]);
			cJSON_AddStringToObject(one, "name", all.v[i]);
			cJSON_AddItemToArray(d->dropped, one);
		}
	}
	free(all.v);
}

/* The resource states and source keys to reset (_create_modified_state). */
static void
plan_state(struct drop *d)
{
	cJSON	*src = cJSON_GetObjectItem(cJSON_GetObjectItem(d->state,
	    "sources"), d->schema_name);
	cJSON	*res = cJSON_GetObjectItem(src, "resources"), *it;
	int	 any = d->o->drop_all || d->o->nargs > 0;

	if (src == NULL)
		return;
	for (it = res != NULL ? res->child : NULL; any && it != NULL;) {
		cJSON	*next = it->next;

		if (matches(d->o, it->string)) {
			names_add(&d->res_states, xstrdup(it->string));
			cJSON_Delete(cJSON_DetachItemViaPointer(res, it));
		}
		it = next;
	}
	/* Top-level keys of the source state (dlt takes JSON paths). */
	for (size_t i = 0; i < d->o->nstate_paths; i++) {
		const char	*k = d->o->state_paths[i];

		if (strcmp(k, "resources") != 0 &&
		    cJSON_GetObjectItem(src, k) != NULL) {
			cJSON_DeleteItemFromObject(src, k);
			names_add(&d->paths, xasprintf("%s.%s",
			    d->schema_name, k));
		} else
			names_add(&d->warnings, xasprintf("State paths ['%s'] "
			    "did not select any paths in source %s", k,
			    d->schema_name));
	}
}

static int
load_local(struct drop *d, const char *workdir)
{
	char		*path = xasprintf("%s/state.json", workdir);
	const char	*def;

	d->state = pl_read_json(path);
	free(path);
	if (d->state == NULL)
		return -1;
	def = cJSON_GetStringValue(cJSON_GetObjectItem(d->state,
	    "default_schema_name"));
	d->schema_name = xstrdup(d->o->schema ? d->o->schema : def ? def :
	    "");
	path = xasprintf("%s/schemas/%s.schema.json", workdir, d->schema_name);
	d->schema = pl_read_json(path);
	free(path);
	return 0;
}

static void
drop_free(struct drop *d)
{
	cJSON_Delete(d->state);
	cJSON_Delete(d->schema);
	cJSON_Delete(d->dropped);
	free(d->schema_name);
	free(d->tables.v);
	free(d->with_data.v);
	free(d->resources.v);
	for (size_t i = 0; i < d->res_states.n; i++)
		free((char *)d->res_states.v[i]);
	free(d->res_states.v);
	for (size_t i = 0; i < d->paths.n; i++)
		free((char *)d->paths.v[i]);
	free(d->paths.v);
	for (size_t i = 0; i < d->warnings.n; i++)
		free((char *)d->warnings.v[i]);
	free(d->warnings.v);
}

static int
has_pending(const char *workdir)
{
	size_t	 a, b;
	char	**x = ld_pkg_list(workdir, LD_EXTRACTED, &a);
	char	**y = ld_pkg_list(workdir, LD_NORMALIZED, &b);

	ld_strv_free(x);
	ld_strv_free(y);
	return a + b > 0;
}

/* The state row of the package, normalized into its new_jobs. */
static int
state_job(struct ld_schema *s, cJSON *state, const char *id,
    const char *jobs, const struct ld_dest_ops *ops, char *err)
{
	struct ld_normalizer	*n;
	cJSON			*row = cJSON_CreateObject(), *local;
	char			*text, *packed, now[32];
	const char		*hash;
	int			 rc;

	hash = ld_state_bump(state);
	local = cJSON_GetObjectItem(state, "_local");
	iso8601_now(now, 0);
	cJSON_DeleteItemFromObject(local, "_last_extracted_hash");
	cJSON_AddStringToObject(local, "_last_extracted_hash", hash);
	cJSON_DeleteItemFromObject(local, "_last_extracted_at");
	cJSON_AddStringToObject(local, "_last_extracted_at", now);
	packed = ld_state_compress(state);
	cJSON_AddNumberToObject(row, "version", cJSON_GetNumberValue(
	    cJSON_GetObjectItem(state, "_state_version")));
	cJSON_AddNumberToObject(row, "engine_version", LD_STATE_ENGINE_VERSION);
	cJSON_AddStringToObject(row, "pipeline_name", cJSON_GetStringValue(
	    cJSON_GetObjectItem(state, "pipeline_name")));
	cJSON_AddStringToObject(row, "state", packed);
	cJSON_AddStringToObject(row, "created_at", now);
	cJSON_AddStringToObject(row, "version_hash", hash);
	cJSON_AddStringToObject(row, "_dlt_load_id", id);
	text = cJSON_PrintUnformatted(row);
	n = ld_norm_new(s, id, jobs, ops->dialect->max_identifier_length);
	rc = ld_norm_item(n, "_dlt_pipeline_state", text, strlen(text), err,
	    PL_ERR_MAX);
	if (rc == 0)
		rc = ld_norm_finish(n, err, PL_ERR_MAX);
	ld_norm_free(n);
	free(text);
	free(packed);
	cJSON_Delete(row);
	return rc;
}

static int
write_json(const char *path, const cJSON *doc, int pretty, char *err)
{
	char	*text = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
	int	 rc = ld_write_file(path, text, strlen(text), err, PL_ERR_MAX);

	free(text);
	return rc;
}

/* The drop package in load/normalized/<id>: schema, state row, drops. */
static int
make_package(struct drop *d, struct sync_ctx *x, const char *id,
    struct ld_schema **out)
{
	char			*tmp = ld_pkg_dir(x->workdir, LD_NEW, id);
	char			*dst = ld_pkg_dir(x->workdir, LD_NORMALIZED, id);
	char			*jobs = xasprintf("%s/new_jobs", tmp), *path;
	struct ld_schema	*s;
	cJSON			*doc, *lps;
	int			 rc = -1;

	for (size_t i = 0; i < d->tables.n && !d->o->state_only; i++)
		cJSON_DeleteItemFromObject(cJSON_GetObjectItem(d->schema,
		    "tables"), d->tables.v[i]);
	if ((s = ld_schema_from_json(d->schema, x->err, PL_ERR_MAX)) == NULL ||
	    ld_mkdirs(jobs, x->err, PL_ERR_MAX) < 0 ||
	    state_job(s, d->state, id, jobs, x->ops, x->err) < 0)
		goto out;
	ld_schema_bump(s);
	doc = ld_schema_to_json(s);
	path = xasprintf("%s/schema.json", tmp);
	rc = write_json(path, doc, 1, x->err);
	free(path);
	cJSON_Delete(doc);
	lps = cJSON_CreateObject();
	cJSON_AddNumberToObject(lps, "_state_version", 1);
	cJSON_AddNumberToObject(lps, "_state_engine_version", 1);
	if (!d->o->state_only && cJSON_GetArraySize(d->dropped) > 0)
		cJSON_AddItemReferenceToObject(lps, "dropped_tables",
		    d->dropped);
	path = xasprintf("%s/load_package_state.json", tmp);
	if (rc == 0)
		rc = write_json(path, lps, 0, x->err);
	free(path);
	cJSON_Delete(lps);
	if (rc == 0)
		rc = ld_pkg_move(tmp, dst, x->err, PL_ERR_MAX);
out:
	if (rc < 0) {
		ld_rm_rf(tmp);
		ld_schema_free(s);
		s = NULL;
	}
	*out = s;
	free(tmp);
	free(dst);
	free(jobs);
	return rc;
}

/* Local state and schema replaced by the new ones (old: to put back). */
static int
save_local(const char *workdir, const char *schema_name, const cJSON *state,
    const cJSON *schema, char *err)
{
	char	*sp = xasprintf("%s/state.json", workdir);
	char	*cp = xasprintf("%s/schemas/%s.schema.json", workdir,
	    schema_name);
	int	 rc;

	rc = write_json(cp, schema, 1, err);
	if (rc == 0)
		rc = write_json(sp, state, 0, err);
	free(sp);
	free(cp);
	return rc;
}

static int
load_failed(const char *what, const char *err)
{
	fprintf(stderr, "Pipeline execution failed at `step=%s` with "
	    "exception:\n\n%s\n", what, err);
	return 255;
}

/* dlt's pipeline_drop.__call__ once confirmed. */
static int
apply_drop(struct drop *d, struct cfg *cfg, const char *workdir)
{
	struct sync_ctx		 x = { d->o, cfg, cfg_workspace(cfg), workdir,
	    NULL, NULL, NULL };
	struct ld_load_result	 r = { 0 };
	struct ld_schema	*s = NULL;
	cJSON			*old_state = NULL, *old_schema = NULL, *doc;
	char			*path, *pkg = NULL, *done, id[32];
	const char		*dest, *dataset;
	int			 rc = 255;

	x.err = xmalloc(PL_ERR_MAX);
	dest = cJSON_GetStringValue(cJSON_GetObjectItem(d->state,
	    "destination_name"));
	dataset = cJSON_GetStringValue(cJSON_GetObjectItem(d->state,
	    "dataset_name"));
	if (dest == NULL || dataset == NULL) {
		rc = load_failed("sync", "the pipeline's state names no "
		    "destination or dataset");
		goto out;
	}
	if (pl_connect(&x, dest, dataset) < 0) {
		rc = load_failed("sync", x.err);
		goto out;
	}
	path = xasprintf("%s/state.json", workdir);
	old_state = pl_read_json(path);
	free(path);
	old_schema = cJSON_Duplicate(d->schema, 1);
	ld_load_id_new(id);
	if (make_package(d, &x, id, &s) < 0) {
		rc = load_failed("extract", x.err);
		goto out;
	}
	pkg = ld_pkg_dir(workdir, LD_NORMALIZED, id);
	doc = ld_schema_to_json(s);
	if (save_local(workdir, d->schema_name, d->state, doc, x.err) < 0 ||
	    ld_load_package(x.d, dataset, pkg, id, &r, x.err,
	    PL_ERR_MAX) < 0) {
		char	ignored[256];

		/* dlt: pending packages deleted, schema and state back */
		ld_rm_rf(pkg);
		save_local(workdir, d->schema_name, old_state, old_schema,
		    ignored);
		cJSON_Delete(doc);
		ld_load_result_cleanup(&r);
		rc = load_failed("load", x.err);
		goto out;
	}
	cJSON_Delete(doc);
	ld_load_result_cleanup(&r);
	path = ld_pkg_dir(workdir, LD_LOADED, id);
	if (ld_pkg_move(pkg, path, x.err, PL_ERR_MAX) == 0) {
		done = xasprintf("%s/package_completed.json", path);
		ld_write_file(done, "{}", 2, x.err, PL_ERR_MAX);
		free(done);
	}
	free(path);
	rc = 0;
out:
	if (x.d != NULL)
		x.ops->close(x.d);
	ld_schema_free(s);
	cJSON_Delete(old_state);
	cJSON_Delete(old_schema);
	free(pkg);
	free(x.err);
	return rc;
}

static void
print_plan(const struct drop *d, const char *dest, const char *dataset)
{
	printf("About to drop the following data in dataset %s in "
	    "destination %s:\n", dataset, dest);
	printf("Selected schema: %s\n", d->schema_name);
	names_print("Selected resource(s)", &d->resources);
	names_print("Table(s) to drop", &d->tables);
	names_print("\twith data in destination", &d->with_data);
	names_print("Resource(s) state to reset", &d->res_states);
	names_print("Source state path(s) to reset", &d->paths);
	for (size_t i = 0; i < d->warnings.n; i++)
		printf("WARNING: %s\n", d->warnings.v[i]);
}

/* long: dlt's drop_pipeline, one step after the other */
int
pl_drop_cmd(const struct popts *o, struct cfg *cfg, const char *pipelines_dir,
    const char *workdir)
{
	struct drop	 d = { 0 };
	const cJSON	*tables;
	int		 rc = 0;

	d.o = o;
	d.dropped = cJSON_CreateArray();
	if (load_local(&d, workdir) < 0) {
		drop_free(&d);
		return pl_not_found(o, workdir);
	}
	printf("Found pipeline %s in %s\n", o->name, pipelines_dir);
	if (d.schema == NULL) {
		/* dlt's PipelineNeverRan */
		fprintf(stderr, "Pipeline %s in %s has no schema %s: it never "
		    "ran, or the schema is not in its working directory\n",
		    o->name, pipelines_dir, d.schema_name);
		drop_free(&d);
		return 255;
	}
	tables = cJSON_GetObjectItem(d.schema, "tables");
	if (o->drop_all || o->nargs > 0)
		plan_tables(&d, tables);
	plan_state(&d);
	if ((o->drop_all || o->nargs > 0) && d.resources.n == 0) {
		struct names	 all = { 0 };
		const cJSON	*t, *res;
		char		*a, *b;

		cJSON_ArrayForEach(t, tables) {
			res = cJSON_GetObjectItem(t, "resource");
			if (!is_dlt_table(t->string) && cJSON_IsString(res))
				names_add(&all, res->valuestring);
		}
		/* dlt prints the set it made of them */
		a = pl_py_list(o->args, o->nargs);
		a[0] = '{';
		a[strlen(a) - 1] = '}';
		b = pl_py_list(all.v, all.n);
		names_add(&d.warnings, xasprintf("Specified resource(s) %s did "
		    "not select any table(s) in schema %s. Possible resources "
		    "are: %s", a, d.schema_name, b));
		free(a);
		free(b);
		free(all.v);
	}
	if (o->state_only) {
		d.tables.n = d.with_data.n = d.resources.n = 0;
	}
	if (d.tables.n == 0 && d.paths.n == 0 && d.res_states.n == 0) {
		printf("Could not select any resources to drop and no "
		    "resource/source state to reset. Use the command below to "
		    "inspect the pipeline:\npfagent pipeline -v %s info\n",
		    o->name);
		if (d.warnings.n > 0) {
			printf("Additional warnings are available\n");
			for (size_t i = 0; i < d.warnings.n; i++)
				printf("WARNING: %s\n", d.warnings.v[i]);
		}
		drop_free(&d);
		return 0;
	}
	print_plan(&d, cJSON_GetStringValue(cJSON_GetObjectItem(d.state,
	    "destination_name")), cJSON_GetStringValue(cJSON_GetObjectItem(
	    d.state, "dataset_name")));
	if (pl_confirm(o, "Do you want to apply these changes?", 0)) {
		if (has_pending(workdir)) {
			fprintf(stderr, "Operation failed because pipeline with "
			    "`pipeline_name=%s` and `pipelines_dir=%s` contains "
			    "pending extracted files or load packages. Use "
			    "`pfagent pipeline %s sync` to reset the local state "
			    "then run this operation again.\n", o->name,
			    pipelines_dir, o->name);
			rc = 255;
		} else
			rc = apply_drop(&d, cfg, workdir);
	}
	drop_free(&d);
	return rc;
}

/* ------------------------------------------ drop-pending-packages */


static void
print_abort_plan(const char *workdir, char **norm, size_t nn, char **ext,
    size_t ne)
{
	if (nn > 0) {
		char	*pkg = ld_pkg_dir(workdir, LD_NORMALIZED, norm[0]);
		size_t	 nj;
		char	**jobs = pl_jobs(pkg, "new_jobs", 0, &nj);

		printf("Load package %s will be aborted:\n", norm[0]);
		if (nj > 0)
			printf("  jobs to mark as failed:\n");
		for (size_t i = 0; i < nj; i++)
			printf("    * %s\n", jobs[i]);
		ld_strv_free(jobs);
		free(pkg);
	}
	if (nn > 1) {
		printf("\nNormalized packages to delete::\n");
		for (size_t i = 1; i < nn; i++)
			printf("* %s\n", norm[i]);
	}
	if (ne > 0) {
		printf("Extracted packages to delete: ");
		for (size_t i = 0; i < ne; i++)
			printf("%s%s", i ? ", " : "", ext[i]);
		printf("\n");
	}
	printf("\nAfter aborting, local pipeline state and schemas will be "
	    "restored to the point at which the oldest aborted package "
	    "started.\n");
}

int
pl_drop_pending_cmd(const struct popts *o, struct cfg *cfg,
    const char *pipelines_dir, const char *workdir)
{
	struct sync_ctx	 x = { o, cfg, cfg_workspace(cfg), workdir, NULL, NULL,
	    NULL };
	char		*path = xasprintf("%s/state.json", workdir);
	cJSON		*state = pl_read_json(path);
	char		**norm = NULL, **ext = NULL;
	size_t		 nn = 0, ne = 0;
	const char	*dest, *dataset, *schema;
	int		 rc = 0;

	free(path);
	if (state == NULL)
		return pl_not_found(o, workdir);
	x.err = xmalloc(PL_ERR_MAX);
	printf("Found pipeline %s in %s\n", o->name, pipelines_dir);
	if (!strcmp(o->op, "drop-pending-packages"))
		printf("WARNING: drop-pending-packages is deprecated and now "
		    "aborts packages. Use `pfagent pipeline %s abort-packages` "
		    "instead.\n", o->name);
	norm = ld_pkg_list(workdir, LD_NORMALIZED, &nn);
	ext = ld_pkg_list(workdir, LD_EXTRACTED, &ne);
	if (nn + ne == 0) {
		printf("No pending packages found. Nothing to abort.\n");
		goto out;
	}
	print_abort_plan(workdir, norm, nn, ext, ne);
	if (!pl_confirm(o, "Proceed?", 0))
		goto out;
	pl_state_names(state, &dest, &dataset, &schema);
	if (dest == NULL || dataset == NULL || schema == NULL) {
		rc = load_failed("sync", "the pipeline's state names no "
		    "destination, dataset or schema");
		goto out;
	}
	/* The destination first: unreachable, nothing is changed. */
	if (pl_connect(&x, dest, dataset) < 0 || ld_rewind(x.d, workdir,
	    dataset, o->name, schema, x.err, PL_ERR_MAX) < 0) {
		rc = load_failed("sync", x.err);
		goto out;
	}
	for (size_t i = 0; i < ne; i++) {
		char *p = ld_pkg_dir(workdir, LD_EXTRACTED, ext[i]);

		ld_rm_rf(p);
		free(p);
	}
	for (size_t i = 1; i < nn; i++) {
		char *p = ld_pkg_dir(workdir, LD_NORMALIZED, norm[i]);

		ld_rm_rf(p);
		free(p);
	}
	if (nn > 0 && ld_pkg_abort(workdir, norm[0], NULL, NULL, "Aborted by "
	    "pfagent pipeline drop-pending-packages: the package was not "
	    "loaded", x.err, PL_ERR_MAX) < 0) {
		rc = load_failed("load", x.err);
		goto out;
	}
	printf("Done. Packages aborted, local state and schemas restored to "
	    "the point before the aborted load.\n");
out:
	if (x.d != NULL)
		x.ops->close(x.d);
	ld_strv_free(norm);
	ld_strv_free(ext);
	cJSON_Delete(state);
	free(x.err);
	return rc;
}
