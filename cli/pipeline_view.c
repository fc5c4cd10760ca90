/*
 * pipeline_view.c: the read-only commands of `pfagent pipeline`, as dlt
 * 1.31's (dlt/_workspace/cli/_pipeline_command.py): --list-pipelines,
 * schema, load-package, failed-jobs, trace and show, over the working
 * directory the runtime keeps (load/package.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "cli/pipeline_int.h"
#include "common/util.h"
#include "config/cfg.h"
#include "load/destination.h"
#include "load/package.h"
#include "load/sql.h"

/* ------------------------------------------------ --list-pipelines */

struct listed {
	char	*name;
	time_t	 when;		/* 0: never */
};

static int
newest_first(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* pendulum's diff_for_humans, in the past. */
static void
ago(time_t when, char *out, size_t n)
{
	static const struct { long s; const char *unit; } u[] = {
		{ 365L * 86400, "year" }, { 30L * 86400, "month" },
		{ 7L * 86400, "week" }, { 86400, "day" }, { 3600, "hour" },
		{ 60, "minute" }, { 1, "second" } };
	long	 d = (long)(time(NULL) - when);

	if (d < 10) {
		snprintf(out, n, "a few seconds ago");
		return;
	}
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (d >= u[i].s) {
			long	k = d / u[i].s;

			snprintf(out, n, "%ld %s%s ago", k, u[i].unit,
			    k == 1 ? "" : "s");
			return;
		}
}

int
pl_list_cmd(const char *pipelines_dir)
{
	struct dirent	**ents;
	struct listed	 *v;
	int		  k = scandir(pipelines_dir, &ents, NULL, alphasort);
	size_t		  n = 0;

	v = xcalloc(k > 0 ? (size_t)k : 1, sizeof(*v));
	for (int i = 0; i < k; i++) {
		char		*path = xasprintf("%s/%s", pipelines_dir,
		    ents[i]->d_name), *st;
		struct stat	 sb;

		if (ents[i]->d_name[0] != '.' && stat(path, &sb) == 0 &&
		    S_ISDIR(sb.st_mode)) {
			/* The last run: its state, which every run writes. */
			st = xasprintf("%s/state.json", path);
			v[n].name = xstrdup(ents[i]->d_name);
			v[n++].when = stat(st, &sb) == 0 ? sb.st_mtime : 0;
			free(st);
		}
		free(path);
		free(ents[i]);
	}
	if (k > 0)
		free(ents);
	qsort(v, n, sizeof(*v), newest_first);
	if (n == 0)
		printf("No pipelines found in %s\n", pipelines_dir);
	else
		printf("%zu pipelines found in %s\n", n, pipelines_dir);
	for (size_t i = 0; i < n; i++) {
		char		 when[64], date[32];
		struct tm	 tm;

		if (v[i].when == 0)
			printf("%s (last run: never)\n", v[i].name);
		else {
			gmtime_r(&v[i].when, &tm);
			strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
			ago(v[i].when, when, sizeof(when));
			printf("%s (last run: %s (%s))\n", v[i].name, when,
			    date);
		}
		free(v[i].name);
	}
	free(v);
	return 0;
}

/* ----------------------------------------------------------- schema */

/* Schema.to_dict(remove_defaults=True)'s keys, in its order. */
static cJSON *
schema_export(const cJSON *stored)
{
	static const char *const keys[] = { "version", "version_hash",
	    "engine_version", "name", "tables", "settings", "normalizers",
	    "previous_hashes", "description", NULL };
	cJSON	*out = cJSON_CreateObject(), *t, *c;

	for (size_t i = 0; keys[i] != NULL; i++) {
		const cJSON *v = cJSON_GetObjectItem(stored, keys[i]);

		if (v != NULL)
			cJSON_AddItemToObject(out, keys[i],
			    cJSON_Duplicate(v, 1));
	}
	/* remove_defaults: the names repeated inside tables and columns */
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(out, "tables")) {
		cJSON_DeleteItemFromObject(t, "name");
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(t, "columns"))
			cJSON_DeleteItemFromObject(c, "name");
	}
	return out;
}

/* dlt's json.dumps(pretty=True): orjson, two spaces. */
static void
json_pretty(const cJSON *v, int depth)
{
	const cJSON	*it;
	char		*text;

	if ((cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child != NULL) {
		int	obj = cJSON_IsObject(v);

		printf("%c\n", obj ? '{' : '[');
		cJSON_ArrayForEach(it, v) {
			printf("%*s", (depth + 1) * 2, "");
			if (obj) {
				cJSON	*k = cJSON_CreateString(it->string);

				text = cJSON_PrintUnformatted(k);
				printf("%s: ", text);
				free(text);
				cJSON_Delete(k);
			}
			json_pretty(it, depth + 1);
			printf("%s\n", it->next != NULL ? "," : "");
		}
		printf("%*s%c", depth * 2, "", obj ? '}' : ']');
		return;
	}
	text = cJSON_PrintUnformatted(v);
	printf("%s", text);
	free(text);
}

/* A string PyYAML would read back as something else: quoted. */
static int
needs_quotes(const char *s)
{
	static const char *const words[] = { "true", "false", "yes", "no",
	    "on", "off", "null", "~", "y", "n", NULL };
	char	*end;

	if (s[0] == '\0')
		return 1;
	for (size_t i = 0; words[i] != NULL; i++)
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	strtod(s, &end);
	return *end == '\0';
}

static int
yaml_node(yaml_emitter_t *e, const cJSON *v)
{
	yaml_event_t	 ev;
	const cJSON	*it;
	char		 num[64];
	const char	*text;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
		int	obj = cJSON_IsObject(v);

		if (obj)
			yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
			    v->child == NULL ? YAML_FLOW_MAPPING_STYLE :
			    YAML_BLOCK_MAPPING_STYLE);
		else
			yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
			    v->child == NULL ? YAML_FLOW_SEQUENCE_STYLE :
			    YAML_BLOCK_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return -1;
		cJSON_ArrayForEach(it, v) {
			if (obj) {
				yaml_scalar_event_initialize(&ev, NULL, NULL,
				    (yaml_char_t *)it->string, -1, 1, 1,
				    needs_quotes(it->string) ?
				    YAML_SINGLE_QUOTED_SCALAR_STYLE :
				    YAML_ANY_SCALAR_STYLE);
				if (!yaml_emitter_emit(e, &ev))
					return -1;
			}
			if (yaml_node(e, it) < 0)
				return -1;
		}
		if (obj)
			yaml_mapping_end_event_initialize(&ev);
		else
			yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev) ? 0 : -1;
	}
	if (cJSON_IsString(v)) {
		text = v->valuestring;
		if (needs_quotes(text))
			style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
	} else if (cJSON_IsBool(v))
		text = cJSON_IsTrue(v) ? "true" : "false";
	else if (cJSON_IsNull(v))
		text = "null";
	else {
		if (v->valuedouble == (double)(long long)v->valuedouble)
			snprintf(num, sizeof(num), "%lld",
			    (long long)v->valuedouble);
		else
			snprintf(num, sizeof(num), "%.17g", v->valuedouble);
		text = num;
	}
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, -1,
	    1, 1, style);
	return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

static int
yaml_out(void *arg, unsigned char *buffer, size_t size)
{
	(void)arg;
	return fwrite(buffer, 1, size, stdout) == size;
}

/* PyYAML's dump(default_flow_style=False, sort_keys=False). */
static int
yaml_print(const cJSON *doc)
{
	yaml_emitter_t	 e;
	yaml_event_t	 ev;
	int		 rc = -1;

	yaml_emitter_initialize(&e);
	yaml_emitter_set_output(&e, yaml_out, NULL);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, 80);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (!yaml_emitter_emit(&e, &ev))
		goto out;
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	if (!yaml_emitter_emit(&e, &ev) || yaml_node(&e, doc) < 0)
		goto out;
	yaml_document_end_event_initialize(&ev, 1);
	if (!yaml_emitter_emit(&e, &ev))
		goto out;
	yaml_stream_end_event_initialize(&ev);
	rc = yaml_emitter_emit(&e, &ev) ? 0 : -1;
out:
	yaml_emitter_delete(&e);
	return rc;
}

static cJSON *
read_state(const char *workdir)
{
	char	*path = xasprintf("%s/state.json", workdir);
	cJSON	*s = pl_read_json(path);

	free(path);
	return s;
}

int
pl_schema_cmd(const struct popts *o, const char *pipelines_dir,
    const char *workdir)
{
	cJSON		*state = read_state(workdir), *doc = NULL, *out;
	const char	*name;
	char		*path;
	int		 rc = 0;

	if (state == NULL)
		return pl_not_found(o, workdir);
	if (o->format != NULL && strcmp(o->format, "yaml") != 0 &&
	    strcmp(o->format, "json") != 0) {
		fprintf(stderr, "pfagent pipeline schema: --format: invalid "
		    "choice: '%s' (choose from 'json', 'yaml')\n", o->format);
		cJSON_Delete(state);
		return 2;
	}
	printf("Found pipeline %s in %s\n", o->name, pipelines_dir);
	name = cJSON_GetStringValue(cJSON_GetObjectItem(state,
	    "default_schema_name"));
	if (name != NULL) {
		path = xasprintf("%s/schemas/%s.schema.json", workdir, name);
		doc = pl_read_json(path);
		free(path);
	}
	if (doc == NULL) {
		printf("WARNING: Pipeline does not have a default schema\n");
		cJSON_Delete(state);
		return 0;
	}
	printf("Found schema with name %s\n", name);
	out = schema_export(doc);
	if (o->format != NULL && strcmp(o->format, "json") == 0) {
		json_pretty(out, 0);
		printf("\n");
	} else {
		rc = yaml_print(out) < 0 ? 255 : 0;
		printf("\n");	/* dlt echoes the dump with a newline */
	}
	cJSON_Delete(out);
	cJSON_Delete(doc);
	cJSON_Delete(state);
	return rc;
}

/* ----------------------------------------------------- load-package */

/* The stage a package is in, and its directory; NULL when nowhere. */
static const char *
find_package(const char *workdir, const char *id, char **dir)
{
	static const char *const stages[] = { LD_EXTRACTED, LD_NORMALIZED,
	    LD_LOADED, NULL };
	struct stat	 sb;

	for (size_t i = 0; stages[i] != NULL; i++) {
		*dir = ld_pkg_dir(workdir, stages[i], id);
		if (stat(*dir, &sb) == 0)
			return stages[i];
		free(*dir);
	}
	*dir = NULL;
	return NULL;
}

/* dlt's package state names. */
static const char *
package_state(const char *stage, const char *dir)
{
	char		*p = xasprintf("%s/package_aborted.json", dir);
	struct stat	 sb;
	int		 aborted = stat(p, &sb) == 0;

	free(p);
	if (!strcmp(stage, LD_EXTRACTED))
		return "extracted";
	if (!strcmp(stage, LD_NORMALIZED))
		return "normalized";
	return aborted ? "aborted" : "loaded";
}


/* <table>.<file_id>.<retry>.<format>: the parts dlt prints. */
static void
job_parts(const char *path, char *table, char *id, char *fmt, size_t n)
{
	const char	*base = strrchr(path, '/') + 1;
	char		 copy[512];
	char		*parts[4] = { 0 }, *save = NULL, *tok;
	size_t		 k = 0;

	snprintf(copy, sizeof(copy), "%s", base);
	for (tok = strtok_r(copy, ".", &save); tok != NULL && k < 4;
	    tok = strtok_r(NULL, ".", &save))
		parts[k++] = tok;
	snprintf(table, n, "%s", parts[0] ? parts[0] : base);
	snprintf(id, n, "%s", parts[1] ? parts[1] : "");
	snprintf(fmt, n, "%s", parts[3] ? parts[3] : "");
}

static char *
job_exception(const char *path)
{
	char	 err[128], *p = xasprintf("%s.exception", path);
	char	*text = read_file_max(p, 1u << 20, NULL, err, sizeof(err));

	free(p);
	return text;
}

static void
print_jobs(const char *dir, const char *sub, const char *state, int verbose)
{
	size_t		 n;
	char		**v = pl_jobs(dir, sub, 1, &n);
	struct stat	 sb;

	if (n > 0)
		printf("Jobs details:\n");
	for (size_t i = 0; i < n; i++) {
		char	 table[256], id[256], fmt[64], *exc;

		job_parts(v[i], table, id, fmt, sizeof(table));
		printf("Job: %s, table: %s\n", strrchr(v[i], '/') + 1, table);
		printf("  %s %s\n", state, fmt);
		if (verbose && stat(v[i], &sb) == 0)
			printf("  size: %lld bytes\n", (long long)sb.st_size);
		if ((exc = job_exception(v[i])) != NULL) {
			printf("  %s\n", exc);
			free(exc);
		}
	}
	ld_strv_free(v);
}

static char *
newest_package(const char *workdir)
{
	static const char *const stages[] = { LD_EXTRACTED, LD_NORMALIZED,
	    LD_LOADED, NULL };
	char	*id = NULL;

	/* dlt: the newest extracted, else normalized, else loaded */
	for (size_t i = 0; stages[i] != NULL && id == NULL; i++) {
		size_t	 n;
		char	**v = ld_pkg_list(workdir, stages[i], &n);

		if (n > 0)
			id = xstrdup(v[n - 1]);
		ld_strv_free(v);
	}
	return id;
}

int
pl_load_package_cmd(const struct popts *o, const char *pipelines_dir,
    const char *workdir)
{
	cJSON		*state = read_state(workdir);
	char		*id, *dir = NULL;
	const char	*stage, *pkg_state;

	if (state == NULL)
		return pl_not_found(o, workdir);
	cJSON_Delete(state);
	printf("Found pipeline %s in %s\n", o->name, pipelines_dir);
	id = o->nargs > 0 ? xstrdup(o->args[0]) : newest_package(workdir);
	if (id == NULL) {
		fprintf(stderr, "ERROR: There are no load packages for that "
		    "pipeline\n");
		return 255;
	}
	if ((stage = find_package(workdir, id, &dir)) == NULL) {
		fprintf(stderr, "ERROR: Package with load id %s could not be "
		    "found\n", id);
		free(id);
		return 255;
	}
	pkg_state = package_state(stage, dir);
	printf("Package %s found in %s\n", id, dir);
	printf("The package with load id %s for schema %s is in %s state. "
	    "It updated schema for 0 tables.\n", id, o->name, pkg_state);
	if (!strcmp(stage, LD_LOADED)) {
		print_jobs(dir, "new_jobs", "completed_jobs", o->verbose);
		print_jobs(dir, "completed_jobs", "completed_jobs",
		    o->verbose);
		print_jobs(dir, "failed_jobs", "failed_jobs", o->verbose);
	} else
		print_jobs(dir, "new_jobs", "new_jobs", o->verbose);
	free(dir);
	free(id);
	return 0;
}

/* ------------------------------------------------------ failed-jobs */

int
pl_failed_jobs_cmd(const struct popts *o, const char *pipelines_dir,
    const char *workdir)
{
	cJSON	*state = read_state(workdir);
	size_t	 nl, nn;
	char	**loaded, **norm;

	if (state == NULL)
		return pl_not_found(o, workdir);
	cJSON_Delete(state);
	printf("Found pipeline %s in %s\n", o->name, pipelines_dir);
	loaded = ld_pkg_list(workdir, LD_LOADED, &nl);
	norm = ld_pkg_list(workdir, LD_NORMALIZED, &nn);
	for (size_t i = 0; i < nl + nn; i++) {
		const char *id = i < nl ? loaded[i] : norm[i - nl];
		char	   *dir = ld_pkg_dir(workdir, i < nl ? LD_LOADED :
		    LD_NORMALIZED, id);
		size_t	    n;
		char	  **v = pl_jobs(dir, "failed_jobs", 1, &n);

		printf("Checking failed jobs in load id '%s'\n", id);
		if (n == 0)
			printf("No failed jobs found\n");
		for (size_t j = 0; j < n; j++) {
			char	 table[256], fid[256], fmt[64], *exc;

			job_parts(v[j], table, fid, fmt, sizeof(table));
			printf("JOB: %s(%s)\n", fid, table);
			printf("JOB file type: %s\n", fmt);
			printf("JOB file path: %s\n", v[j]);
			exc = job_exception(v[j]);
			printf("%s\n\n", exc != NULL ? exc : "");
			free(exc);
		}
		ld_strv_free(v);
		free(dir);
	}
	ld_strv_free(loaded);
	ld_strv_free(norm);
	return 0;
}

/* ------------------------------------------------------------ trace */

int
pl_trace_cmd(const struct popts *o, const char *pipelines_dir,
    const char *workdir)
{
	cJSON	*state = read_state(workdir);

	if (state == NULL)
		return pl_not_found(o, workdir);
	cJSON_Delete(state);
	printf("Found pipeline %s in %s\n", o->name, pipelines_dir);
	printf("WARNING: Pipeline does not have last run trace.\n");
	return 0;
}

/* ------------------------------------------------------------- show */

static int
count_row(void *arg, size_t n, const char *const *v)
{
	(void)n;
	printf("  %s: %s\n", (const char *)arg, v[0] != NULL ? v[0] : "0");
	return 0;
}

/*
 * dlt opens its dashboard; without one, what it shows first: the
 * dataset's tables with their row counts, read from the destination.
 */
int
pl_show_cmd(const struct popts *o, struct cfg *cfg, const char *pipelines_dir,
    const char *workdir)
{
	struct sync_ctx	 x = { o, cfg, cfg_workspace(cfg), workdir, NULL, NULL,
	    NULL };
	cJSON		*state = read_state(workdir), *schema = NULL;
	const cJSON	*t;
	const char	*dest, *dataset, *name;
	char		*path;
	int		 rc = 0;

	if (state == NULL)
		return pl_not_found(o, workdir);
	printf("Found pipeline %s in %s\n", o->name, pipelines_dir);
	pl_state_names(state, &dest, &dataset, &name);
	path = xasprintf("%s/schemas/%s.schema.json", workdir, name ? name :
	    "");
	schema = pl_read_json(path);
	free(path);
	x.err = xmalloc(PL_ERR_MAX);
	if (dest == NULL || dataset == NULL || schema == NULL) {
		printf("WARNING: Pipeline does not have a default schema\n");
		goto out;
	}
	if (pl_connect(&x, dest, dataset) < 0) {
		fprintf(stderr, "%s\n", x.err);
		rc = 255;
		goto out;
	}
	printf("Tables in dataset %s in destination %s (the dashboard of "
	    "`dlt pipeline show` is not available; see also info and "
	    "schema):\n", dataset, dest);
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(schema, "tables")) {
		char	*q = ld_sql_qualified(x.ops->dialect, dataset,
		    t->string);
		char	*sql = xasprintf("SELECT count(*) FROM %s", q);

		if (x.ops->query(x.d, sql, count_row, t->string, x.err,
		    PL_ERR_MAX) < 0)
			printf("  %s: not in the destination\n", t->string);
		free(sql);
		free(q);
	}
out:
	if (x.d != NULL)
		x.ops->close(x.d);
	cJSON_Delete(schema);
	cJSON_Delete(state);
	free(x.err);
	return rc;
}
