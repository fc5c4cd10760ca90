/*
 * steps.c: normalize and load of pf/flow.h's loading API: every
 * extracted package is normalized, every normalized package loaded,
 * oldest first; a package another run left behind is finished here.
 *
 * Exactly once: a package moves to the next stage only after its work
 * is durable (normalize: jobs synced, then the rename; load: the
 * destination's commit, which includes the _dlt_loads row, then the
 * rename). A run that dies after the commit and before the rename
 * leaves a normalized package whose load id is already in _dlt_loads:
 * the next load finds it there and only moves it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "config/cfg.h"
#include "load/jsonl.h"
#include "load/loader.h"
#include "load/normalize.h"
#include "load/package.h"
#include "load/snowpipe.h"
#include "sdk/pipeline.h"
#include "load/state.h"
#include "sdk/run.h"

#define PF_EXPORT __attribute__((visibility("default")))

static int
exists(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0;
}

/* Tables of the package's schema missing from the pipeline's (a run
   that died after extract but before saving elsewhere). */
static void
merge_schema(pf_pipeline *p, const char *pkg)
{
	char		 err[256], *path = xasprintf("%s/schema.json", pkg);
	char		*text = read_file_max(path, 64u << 20, NULL, err,
	    sizeof(err));
	cJSON		*doc = text != NULL ? cJSON_Parse(text) : NULL;
	struct ld_schema *s = doc != NULL ? ld_schema_from_json(doc, err,
	    sizeof(err)) : NULL;

	for (size_t i = 0; s != NULL && i < s->ntables; i++) {
		struct ld_table	*from = s->tables[i], *to;

		if (from->parent != NULL)
			continue;
		to = ld_schema_add_table(p->schema, from->name, NULL,
		    from->disposition);
		if (to->resource == NULL && from->resource != NULL)
			to->resource = xstrdup(from->resource);
		if (to->max_nesting < 0)
			to->max_nesting = from->max_nesting;
		for (size_t j = 0; j < from->ncols; j++)
			if (ld_table_column(to, from->cols[j]->name) == NULL)
				ld_table_add_column(to, from->cols[j]->name,
				    from->cols[j]->type, from->cols[j]->hints);
	}
	ld_schema_free(s);
	cJSON_Delete(doc);
	free(text);
	free(path);
}

static int
normalize_file(pf_pipeline *p, struct ld_normalizer *n, const char *path,
    const char *table)
{
	FILE			*f = fopen(path, "r");
	struct jl_reader	*r = NULL;
	const struct jv		*item;
	char			 err[1024];
	size_t			 lineno = 0;
	int			 k, rc = PF_OK;

	if (f == NULL || (r = jl_open(f, err, sizeof(err))) == NULL) {
		rc = ld_pipeline_fail(p, "cannot read %s: %s", path,
		    f == NULL ? strerror(errno) : err);
		goto out;
	}
	while ((k = jl_next(r, &item, &lineno, err, sizeof(err))) > 0 &&
	    (k = ld_norm_value(n, table, item, err, sizeof(err))) == 0)
		;
	if (k < 0)
		rc = ld_pipeline_fail(p, "normalize: %s:%zu: %s", path, lineno,
		    err);
out:
	jl_close(r);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
normalize_jobs(pf_pipeline *p, struct ld_normalizer *n, const char *pkg)
{
	char		*dir = xasprintf("%s/new_jobs", pkg);
	DIR		*d = opendir(dir);
	struct dirent	*e;
	int		 rc = PF_OK;

	while (rc == PF_OK && d != NULL && (e = readdir(d)) != NULL) {
		char	*path, *table;

		if (e->d_name[0] == '.' || strchr(e->d_name, '.') == NULL)
			continue;
		table = strndup(e->d_name, strcspn(e->d_name, "."));
		path = xasprintf("%s/%s", dir, e->d_name);
		rc = normalize_file(p, n, path, table);
		free(path);
		free(table);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	return rc;
}

static int
write_package_files(pf_pipeline *p, const char *from, const char *to)
{
	char	 err[512], *src, *dst, *text;
	cJSON	*doc = ld_schema_to_json(p->schema);
	int	 rc;

	dst = xasprintf("%s/schema.json", to);
	text = cJSON_Print(doc);
	rc = ld_write_file(dst, text, strlen(text), err, sizeof(err));
	free(dst);
	free(text);
	cJSON_Delete(doc);
	src = xasprintf("%s/load_package_state.json", from);
	if (rc == 0 && (text = read_file_max(src, 1u << 20, NULL, err,
	    sizeof(err))) != NULL) {
		dst = xasprintf("%s/load_package_state.json", to);
		rc = ld_write_file(dst, text, strlen(text), err, sizeof(err));
		free(dst);
		free(text);
	}
	free(src);
	return rc < 0 ? ld_pipeline_fail(p, "%s", err) : PF_OK;
}

static int
normalize_package(pf_pipeline *p, const char *id)
{
	char			*src, *tmp, *dst, *loaded, *jobs, err[512];
	struct ld_normalizer	*n = NULL;
	int			 rc = PF_ERROR;

	src = ld_pkg_dir(p->root, LD_EXTRACTED, id);
	tmp = ld_pkg_dir(p->root, LD_NEW, id);
	dst = ld_pkg_dir(p->root, LD_NORMALIZED, id);
	loaded = ld_pkg_dir(p->root, LD_LOADED, id);
	jobs = xasprintf("%s/new_jobs", tmp);
	if (exists(dst) || exists(loaded)) {
		/* Died after the move, before removing the source. */
		ld_rm_rf(src);
		rc = PF_OK;
		goto out;
	}
	merge_schema(p, src);
	ld_rm_rf(tmp);
	if (ld_mkdirs(jobs, err, sizeof(err)) < 0) {
		ld_pipeline_fail(p, "%s", err);
		goto out;
	}
	n = ld_norm_new(p->schema, id, jobs,
	    p->ops->dialect->max_identifier_length);
	if (normalize_jobs(p, n, src) != PF_OK)
		goto out;
	if (ld_norm_finish(n, err, sizeof(err)) < 0) {
		ld_pipeline_fail(p, "%s", err);
		goto out;
	}
	ld_schema_bump(p->schema);
	if (write_package_files(p, src, tmp) != PF_OK ||
	    ld_pipeline_save_schema(p) != PF_OK)
		goto out;
	if (ld_pkg_move(tmp, dst, err, sizeof(err)) < 0) {
		ld_pipeline_fail(p, "%s", err);
		goto out;
	}
	ld_rm_rf(src);
	pf_log_info(p->run, "Normalized load package %s", id);
	rc = PF_OK;
out:
	ld_norm_free(n);
	free(src);
	free(tmp);
	free(dst);
	free(loaded);
	free(jobs);
	return rc;
}

PF_EXPORT int
pf_pipeline_normalize(pf_pipeline *p)
{
	char	**ids;
	int	  rc = PF_OK;

	if (ld_pipeline_failed(p))
		return PF_ERROR;
	ids = ld_pkg_list(p->root, LD_EXTRACTED, NULL);
	for (size_t i = 0; rc == PF_OK && ids[i] != NULL; i++)
		rc = normalize_package(p, ids[i]);
	ld_strv_free(ids);
	return rc;
}

/* ----------------------------------------------------------- load */

int
ld_pipeline_connect(pf_pipeline *p)
{
	struct ld_dest_config	c = { 0 };
	char			err[1024];

	if (p->dest != NULL)
		return PF_OK;
	c.name = p->dest_name;
	c.type = p->dest_type;
	c.pipeline = p->name;
	c.dataset = p->dataset;
	c.cfg = p->run->cfg;
	c.local_dir = p->local_dir;
	if (p->ops->open(&c, &p->dest, err, sizeof(err)) < 0)
		return ld_pipeline_fail(p, "destination %s: %s", p->dest_name,
		    err);
	return PF_OK;
}

static void
add_info(pf_pipeline *p, const char *id, const struct ld_load_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		cJSON	*row = cJSON_CreateObject();

		cJSON_AddStringToObject(row, "load_id", id);
		cJSON_AddStringToObject(row, "table_name", r->t[i].table);
		cJSON_AddNumberToObject(row, "row_count",
		    (double)r->t[i].rows);
		cJSON_AddItemToArray(p->info, row);
		pf_log_info(p->run, "Loaded %lld rows into %s.%s (load %s)",
		    r->t[i].rows, p->dataset, r->t[i].table, id);
	}
}

static void
add_landed(pf_pipeline *p, const struct ld_load_result *r)
{
	if (p->landed == NULL)
		p->landed = cJSON_CreateArray();
	for (size_t i = 0; i < r->nfiles; i++) {
		cJSON	*f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "table", r->files[i].table);
		cJSON_AddStringToObject(f, "file", r->files[i].path);
		cJSON_AddNumberToObject(f, "rows", (double)r->files[i].rows);
		cJSON_AddItemToArray(p->landed, f);
	}
}

/*
 * load.auto_abort_on_terminal_error, as dlt's loader reads it. Default
 * true here (dlt's is false: it keeps such a package and fails on it
 * every run, until `pipeline NAME drop-pending-packages`).
 */
static int
auto_abort(pf_pipeline *p)
{
	struct cfg_field f = { "load", "auto_abort_on_terminal_error", NULL,
	    NULL, NULL, CFG_BOOL, CFG_OPTIONAL | CFG_NO_VAULT, NULL };
	struct cfg_value v;
	char		 err[512];
	int		 on = 1;

	if (p->run->cfg != NULL && cfg_resolve(p->run->cfg, &f, &v, err,
	    sizeof(err)) == 0) {
		if (cJSON_IsBool(v.value))
			on = cJSON_IsTrue(v.value);
		cfg_value_cleanup(&v);
	}
	return on;
}

/*
 * dlt's abort of a package that failed terminally: its jobs to
 * failed_jobs with why, the package to loaded, the packages after it
 * deleted, and the local state and schema back to the destination's,
 * so the next run extracts again what the package held and loads.
 */
static int
abort_package(pf_pipeline *p, const char *id, const char *job,
    const char *why)
{
	char	  err[1024], **ids;
	int	  rc;

	rc = ld_pkg_abort(p->root, id, job, why, "job interrupted by package "
	    "abort", err, sizeof(err));
	for (int stage = 0; rc == 0 && stage < 2; stage++) {
		const char *where = stage ? LD_EXTRACTED : LD_NORMALIZED;

		ids = ld_pkg_list(p->root, where, NULL);
		for (size_t i = 0; ids[i] != NULL; i++) {
			char	*dir = ld_pkg_dir(p->root, where, ids[i]);

			ld_rm_rf(dir);
			free(dir);
		}
		ld_strv_free(ids);
	}
	if (rc == 0)
		rc = ld_rewind(p->dest, p->root, p->dataset, p->name, p->name,
		    err, sizeof(err));
	if (rc < 0)
		pf_log_error(p->run, "cannot abort load package %s: %s", id,
		    err);
	else
		pf_log_warning(p->run, "Load package %s was aborted; its jobs "
		    "and why are in `pfagent pipeline %s failed-jobs`", id,
		    p->name);
	return rc;
}

/* The job id of a job file name, as dlt's: table.file_id.format. */
static char *
job_id(const char *file)
{
	const char	*fmt = strrchr(file, '.');
	const char	*retry = fmt != NULL ? fmt - 1 : NULL;

	while (retry != NULL && retry > file && *retry != '.')
		retry--;
	if (fmt == NULL || retry == NULL || retry == file)
		return xstrdup(file);
	return xasprintf("%.*s%s", (int)(retry - file), file, fmt);
}

/*
 * A package that failed to load: left for the next run (a transient
 * error), or one that will fail again (terminal) aborted, unless
 * load.auto_abort_on_terminal_error is false, with dlt's messages.
 */
static int
load_failed(pf_pipeline *p, const char *id, int terminal, const char *job,
    const char *err)
{
	char	*jid = job != NULL ? job_id(job) : NULL;
	int	 ret;

	if (!terminal)
		ret = ld_pipeline_fail(p, "load of package %s into %s failed: "
		    "%s", id, p->dest_name, err);
	else if (auto_abort(p) && abort_package(p, id, job, err) == 0)
		ret = ld_pipeline_fail(p, "Pipeline execution failed at `step="
		    "load` when processing package with `load_id=%s` with "
		    "exception:\n\n<class 'dlt.load.exceptions."
		    "LoadClientJobFailed'>\nJob with `job_id=%s` and `load_id="
		    "%s` failed terminally with message: %s. The package is "
		    "aborted and cannot be retried.", id, jid != NULL ? jid :
		    "(none)", id, err);
	else
		ret = ld_pipeline_fail(p, "Pipeline execution failed at `step="
		    "load` when processing package with `load_id=%s` with "
		    "exception:\n\n<class 'dlt.load.exceptions."
		    "LoadClientJobTerminalRetry'>\nJob with `job_id=%s` and "
		    "`load_id=%s` failed terminally with message: %s. The job "
		    "has been queued for retry and the package remains pending. "
		    "Run the pipeline again to retry, or `pfagent pipeline %s "
		    "drop-pending-packages` to abort the package.", id,
		    jid != NULL ? jid : "(none)", id, err, p->name);
	free(jid);
	return ret;
}

static int
load_package(pf_pipeline *p, const char *id)
{
	char			*src, *dst;
	char			 err[4096], *done;
	struct ld_load_result	 r;
	int			 rc = PF_ERROR, lrc;

	src = ld_pkg_dir(p->root, LD_NORMALIZED, id);
	dst = ld_pkg_dir(p->root, LD_LOADED, id);
	if ((lrc = ld_load_package(p->dest, p->dataset, src, id, &r, err,
	    sizeof(err))) < 0) {
		load_failed(p, id, lrc == LD_TERMINAL, r.job, err);
		ld_load_result_cleanup(&r);
		goto out;
	}
	if (r.already)
		pf_log_info(p->run, "Load package %s is already in %s.%s; "
		    "not loaded again", id, p->dataset, "_dlt_loads");
	add_info(p, id, &r);
	add_landed(p, &r);
	ld_load_result_cleanup(&r);
	if (ld_pkg_move(src, dst, err, sizeof(err)) < 0) {
		ld_pipeline_fail(p, "%s", err);
		goto out;
	}
	done = xasprintf("%s/package_completed.json", dst);
	ld_write_file(done, "{}", 2, err, sizeof(err));
	free(done);
	rc = PF_OK;
out:
	free(src);
	free(dst);
	return rc;
}

PF_EXPORT int
pf_pipeline_load(pf_pipeline *p)
{
	char	**ids;
	size_t	  n;
	int	  rc = PF_OK;

	if (ld_pipeline_failed(p))
		return PF_ERROR;
	cJSON_Delete(p->info);
	p->info = cJSON_CreateArray();
	ids = ld_pkg_list(p->root, LD_NORMALIZED, &n);
	if (n > 0)
		rc = ld_pipeline_connect(p);
	for (size_t i = 0; rc == PF_OK && i < n; i++)
		rc = load_package(p, ids[i]);
	ld_strv_free(ids);
	return rc;
}

PF_EXPORT const char *
pf_pipeline_load_info(pf_pipeline *p)
{
	cJSON		*all;
	const cJSON	*row;

	if (p == NULL)
		return "[]";
	free(p->info_text);
	all = cJSON_Duplicate(p->info, 1);
	/* A lake: the files landed, or what Snowpipe made of them. */
	if (cJSON_GetArraySize(p->ingested) == 0)
		cJSON_ArrayForEach(row, p->landed) {
			cJSON	*r = cJSON_CreateObject();

			cJSON_AddStringToObject(r, "table_name",
			    cJSON_GetStringValue(cJSON_GetObjectItem(row,
			    "table")));
			cJSON_AddStringToObject(r, "file", cJSON_GetStringValue(
			    cJSON_GetObjectItem(row, "file")));
			cJSON_AddItemToArray(all, r);
		}
	cJSON_ArrayForEach(row, p->ingested)
		cJSON_AddItemToArray(all, cJSON_Duplicate(row, 1));
	p->info_text = cJSON_PrintUnformatted(all);
	cJSON_Delete(all);
	return p->info_text;
}

PF_EXPORT long long
pf_pipeline_rows(const pf_pipeline *p, const char *table)
{
	const cJSON	*row;
	long long	 n = 0;

	if (p == NULL || table == NULL)
		return 0;
	cJSON_ArrayForEach(row, p->info)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(row,
		    "table_name")), table) == 0)
			n += (long long)cJSON_GetNumberValue(
			    cJSON_GetObjectItem(row, "row_count"));
	return n;
}

/*
 * A working directory without state (a new machine, a wiped disk):
 * the state and schema come back from the destination, as dlt's
 * restore_from_destination, so incremental cursors go on.
 */
int
ld_pipeline_restore(pf_pipeline *p)
{
	char		 err[4096], *state = NULL, *schema = NULL;
	cJSON		*doc, *local;
	struct ld_schema *s;

	if (ld_pipeline_connect(p) != PF_OK)
		return PF_ERROR;
	if (ld_restore(p->dest, p->dataset, p->name, p->name, &state, &schema,
	    err, sizeof(err)) < 0)
		return ld_pipeline_fail(p, "cannot read the state of pipeline "
		    "%s from %s: %s", p->name, p->dest_name, err);
	if (schema != NULL && (doc = cJSON_Parse(schema)) != NULL) {
		if ((s = ld_schema_from_json(doc, err, sizeof(err))) != NULL) {
			ld_schema_free(p->schema);
			p->schema = s;
		}
		cJSON_Delete(doc);
	}
	if (state != NULL && (doc = ld_state_decompress(state)) != NULL) {
		/* _local is never synced: this machine's stays. */
		local = cJSON_DetachItemFromObject(p->state, "_local");
		cJSON_Delete(p->state);
		p->state = doc;
		cJSON_DeleteItemFromObject(p->state, "_local");
		cJSON_AddItemToObject(p->state, "_local", local);
		cJSON_AddStringToObject(local, "_last_extracted_hash",
		    cJSON_GetStringValue(cJSON_GetObjectItem(p->state,
		    "_version_hash")) ? cJSON_GetStringValue(
		    cJSON_GetObjectItem(p->state, "_version_hash")) : "");
		pf_log_info(p->run, "Restored the state of pipeline %s from "
		    "%s.%s", p->name, p->dataset, "_dlt_pipeline_state");
	}
	free(state);
	free(schema);
	return PF_OK;
}

static int
normalize_task(pf_run *run, void *arg)
{
	pf_pipeline	*p = arg;

	if (pf_pipeline_normalize(p) != PF_OK)
		return pf_fail(run, "%s", p->error);
	return PF_OK;
}

static int
load_task(pf_run *run, void *arg)
{
	pf_pipeline	*p = arg;

	if (pf_pipeline_load(p) != PF_OK)
		return pf_fail(run, "%s", p->error);
	return PF_OK;
}

/*
 * The files the run landed in the lake, of the table the destination's
 * Snowpipe copies, handed to it; what it ingested joins the load info.
 */
PF_EXPORT int
pf_pipeline_snowpipe(pf_pipeline *p)
{
	struct ld_snowpipe		*sp = NULL;
	struct ld_snowpipe_report	 rep;
	const cJSON			*f;
	char				 err[4096], **paths;
	size_t				 n = 0;
	int				 rc;

	if (ld_pipeline_failed(p))
		return PF_ERROR;
	if (ld_snowpipe_open(p->run->cfg, p->dest_name, p->name, &sp, err,
	    sizeof(err)) == -1)
		return ld_pipeline_fail(p, "%s", err);
	if (sp == NULL)
		return PF_OK;
	paths = xcalloc((size_t)cJSON_GetArraySize(p->landed) + 1,
	    sizeof(*paths));
	cJSON_ArrayForEach(f, p->landed)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f,
		    "table")), ld_snowpipe_table(sp)) == 0)
			paths[n++] = cJSON_GetStringValue(cJSON_GetObjectItem(f,
			    "file"));
	pf_log_info(p->run, "Handing %zu file(s) of %s to Snowpipe (%s)", n,
	    ld_snowpipe_table(sp), ld_snowpipe_mode(sp));
	rc = ld_snowpipe_ingest(sp, (const char *const *)paths, n, &rep, err,
	    sizeof(err));
	for (size_t i = 0; i < rep.n; i++) {
		cJSON	*row = cJSON_CreateObject();

		cJSON_AddStringToObject(row, "table_name",
		    ld_snowpipe_table(sp));
		cJSON_AddStringToObject(row, "file", rep.f[i].path);
		cJSON_AddStringToObject(row, "snowpipe_status",
		    rep.f[i].status ? rep.f[i].status : "not reported");
		cJSON_AddNumberToObject(row, "rows_ingested",
		    (double)rep.f[i].rows);
		cJSON_AddItemToArray(p->ingested, row);
		pf_log_info(p->run, "Snowpipe: %s %s, %lld rows", rep.f[i].path,
		    rep.f[i].status ? rep.f[i].status : "not reported",
		    rep.f[i].rows);
	}
	ld_snowpipe_report_cleanup(&rep);
	ld_snowpipe_close(sp);
	free(paths);
	return rc == -1 ? ld_pipeline_fail(p, "%s", err) : PF_OK;
}

static int
snowpipe_task(pf_run *run, void *arg)
{
	pf_pipeline	*p = arg;

	if (pf_pipeline_snowpipe(p) != PF_OK)
		return pf_fail(run, "%s", p->error);
	return PF_OK;
}

PF_TASK(snowpipe, .description = "the landed files -> Snowpipe");
PF_TASK(extract, .description = "the source -> a load package");
PF_TASK(normalize, .description = "dlt's relational normalizer");
PF_TASK(load, .description = "the package -> the warehouse");

struct extract_call {
	const pf_pipeline_def	*def;
	pf_pipeline		*p;
	void			*arg;
};

static int
extract_task(pf_run *run, void *arg)
{
	struct extract_call	*c = arg;

	return c->def->extract_fn(run, c->p, c->arg);
}

PF_EXPORT int
pf_pipeline_has_snowpipe(pf_pipeline *p)
{
	struct cfg_value v;
	char		*dotted, err[1024];
	int		 yes = 0;

	if (p == NULL || p->ops == NULL ||
	    strcmp(p->ops->type, "filesystem") != 0)
		return 0;
	dotted = xasprintf("destination.%s.snowpipe.pipe", p->dest_name);
	if (cfg_get(p->run->cfg, dotted, CFG_OPTIONAL, &v, err,
	    sizeof(err)) == 0) {
		yes = v.value != NULL && !cJSON_IsNull(v.value);
		cfg_value_cleanup(&v);
	}
	free(dotted);
	return yes;
}

/* The task chain on an open pipeline; the flow's failure on the way. */
static int
run_tasks(pf_run *run, const pf_pipeline_def *def, pf_pipeline *p,
    void *arg)
{
	struct extract_call	 c = { def, p, arg };
	pf_task			*t;

	t = pf_task_run(run, def->extract != NULL ? def->extract : &extract,
	    extract_task, &c, NULL);
	if (pf_task_ok(t) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	t = pf_task_run(run, &normalize, normalize_task, p, PF_UPSTREAM(t));
	if (pf_task_ok(t) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	t = pf_task_run(run, &load, load_task, p, PF_UPSTREAM(t));
	if (pf_task_ok(t) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	if (pf_pipeline_has_snowpipe(p)) {
		t = pf_task_run(run, &snowpipe, snowpipe_task, p,
		    PF_UPSTREAM(t));
		if (pf_task_ok(t) != PF_OK)
			return pf_fail(run, "%s", pf_last_error());
	}
	if (def->artifact_key == NULL)
		return PF_OK;
	return pf_artifact_table(run, def->artifact_key,
	    pf_pipeline_load_info(p), def->artifact_description);
}

PF_EXPORT int
pf_pipeline_run(pf_run *run, const pf_pipeline_def *def, void *arg)
{
	pf_pipeline	*p;
	char		 err[256], *scope;
	int		 rc;

	if (def != NULL && sdk_def_version("pf_pipeline_def", def->version,
	    PF_PIPELINE_DEF_VERSION, "PF_PIPELINE_DEF_INIT", err,
	    sizeof(err)) == -1)
		return pf_fail(run, "pf_pipeline_run: %s", err);
	if (def == NULL || def->extract_fn == NULL)
		return pf_fail(run, "pf_pipeline_run: a pipeline needs a "
		    "definition with an extract_fn");
	/* Values are looked up under the pipeline's name first, as in
	   dlt, while it runs. */
	scope = run->pipeline != NULL ? xstrdup(run->pipeline) : NULL;
	pf_config_pipeline(run, def->name);
	if ((p = pf_pipeline_open(run, def->name, def->destination,
	    def->dataset)) == NULL)
		rc = pf_fail(run, "%s", pf_last_error());
	else
		rc = run_tasks(run, def, p, arg);
	pf_pipeline_close(p);
	pf_config_pipeline(run, scope);
	free(scope);
	return rc;
}
