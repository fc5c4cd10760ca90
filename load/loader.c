/*
 * loader.c: one package into a SQL destination, in one transaction
 * (load/loader.h).
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "load/loader.h"
#include "load/package.h"
#include "load/schema.h"
#include "load/sql.h"
#include "load/state.h"

#define ENGINE_VERSION	11

struct loading {
	struct ld_dest		*d;
	const struct ld_dialect	*dl;
	const char		*dataset;
	char			*staging;
	const char		*load_id;
	struct ld_schema	*schema;
	cJSON			*existing;	/* {ds: {t: [cols]}} */
	struct ld_load_result	*out;
	char			*err;
	size_t			 errlen;
};

/*
 * fmt with each {name} an identifier in the dialect's case and each %s
 * the next of the NULL-terminated arguments (taken as they are).
 */
static char *
sqlf(const struct ld_dialect *dl, const char *fmt, ...)
{
	struct buf	 out;
	va_list		 ap;
	const char	*arg;

	buf_init(&out, (size_t)-1);
	va_start(ap, fmt);
	for (const char *p = fmt; *p != '\0'; p++) {
		size_t	 len;
		char	*name, *id;

		if (p[0] == '%' && p[1] == 's') {
			arg = va_arg(ap, const char *);
			buf_printf(&out, "%s", arg != NULL ? arg : "");
			p++;
		} else if (*p == '{') {
			len = strcspn(p + 1, "}");
			name = xasprintf("%.*s", (int)len, p + 1);
			id = ld_sql_ident(dl, name);
			buf_printf(&out, "%s", id);
			free(name);
			free(id);
			p += len + (p[len + 1] == '}');
		} else
			buf_append(&out, p, 1);
	}
	va_end(ap);
	return buf_steal(&out);
}

static int
exec(struct loading *l, char *sql)
{
	int	rc = l->d->ops->exec(l->d, sql, l->err, l->errlen);

	free(sql);
	return rc;
}

/* ------------------------------------------------ existing tables */

static int
existing_row(void *arg, size_t n, const char *const *v)
{
	cJSON	*ex = arg, *ds, *t;

	if (n < 3 || v[0] == NULL || v[1] == NULL || v[2] == NULL)
		return 0;
	if ((ds = cJSON_GetObjectItem(ex, v[0])) == NULL)
		ds = cJSON_AddObjectToObject(ex, v[0]);
	if ((t = cJSON_GetObjectItem(ds, v[1])) == NULL)
		t = cJSON_AddArrayToObject(ds, v[1]);
	cJSON_AddItemToArray(t, cJSON_CreateString(v[2]));
	return 0;
}

/* A name as the destination stores it, as a literal. */
static char *
name_literal(struct loading *l, const char *name)
{
	char	*n = ld_sql_name(l->dl, name), *lit = ld_sql_literal(l->dl, n);

	free(n);
	return lit;
}

static int
read_existing(struct loading *l)
{
	char	*a = name_literal(l, l->dataset);
	char	*b = name_literal(l, l->staging);
	char	*sql = xasprintf("SELECT table_schema, table_name, "
	    "column_name FROM information_schema.columns WHERE "
	    "table_schema IN (%s, %s)", a, b);
	int	 rc;

	cJSON_Delete(l->existing);
	l->existing = cJSON_CreateObject();
	rc = l->d->ops->query(l->d, sql, existing_row, l->existing, l->err,
	    l->errlen);
	free(a);
	free(b);
	free(sql);
	return rc;
}

/* Names are stored in the destination's case (dlt's casefold). */
static const cJSON *
existing_cols(struct loading *l, const char *dataset, const char *table)
{
	char		*ds = ld_sql_name(l->dl, dataset);
	char		*t = ld_sql_name(l->dl, table);
	const cJSON	*cols;

	cols = cJSON_GetObjectItem(cJSON_GetObjectItem(l->existing, ds), t);
	free(ds);
	free(t);
	return cols;
}

/* The names of a table's existing columns, hashed: a set. */
struct names {
	const char	**slot;
	size_t		  cap;
};

static void
names_init(struct names *ns, const cJSON *cols)
{
	const cJSON	*c;
	size_t		 n = (size_t)cJSON_GetArraySize(cols);

	for (ns->cap = 16; ns->cap < n * 2 + 2; ns->cap *= 2)
		;
	ns->slot = xcalloc(ns->cap, sizeof(*ns->slot));
	cJSON_ArrayForEach(c, cols) {
		size_t	i = (size_t)hash_fnv1a(c->valuestring,
		    strlen(c->valuestring)) & (ns->cap - 1);

		while (ns->slot[i] != NULL)
			i = (i + 1) & (ns->cap - 1);
		ns->slot[i] = c->valuestring;
	}
}

static int
names_has(const struct names *ns, const char *name)
{
	size_t	i = (size_t)hash_fnv1a(name, strlen(name)) & (ns->cap - 1);

	for (; ns->slot[i] != NULL; i = (i + 1) & (ns->cap - 1))
		if (strcmp(ns->slot[i], name) == 0)
			return 1;
	return 0;
}

/* Whether the destination has a column, named as its dialect names it. */
static int
has_col(struct loading *l, const struct names *have, const char *name)
{
	char	*n = ld_sql_name(l->dl, name);
	int	 found = names_has(have, n);

	free(n);
	return found;
}

static int
complete_cols(const struct ld_table *t)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (!(t->cols[i]->hints & LD_INCOMPLETE))
			return 1;
	return 0;
}

/* Creates the table, or adds its missing columns, in dataset. */
static int
sync_table(struct loading *l, const char *dataset, struct ld_table *t)
{
	const cJSON	*cols = existing_cols(l, dataset, t->name);
	struct ld_table	 missing = *t;
	struct names	 have;
	int		 rc = 0;

	if (!complete_cols(t))
		return 0;
	if (cols == NULL)
		return exec(l, ld_sql_table_ddl(l->dl, dataset, t, 0));
	/* The columns the destination lacks, as a table to add from. */
	missing.cols = xcalloc(t->ncols + 1, sizeof(*missing.cols));
	missing.ncols = 1;	/* from 1: ALTER, never CREATE */
	names_init(&have, cols);
	for (size_t i = 0; i < t->ncols; i++)
		if (!(t->cols[i]->hints & LD_INCOMPLETE) &&
		    !has_col(l, &have, t->cols[i]->name))
			missing.cols[missing.ncols++] = t->cols[i];
	free(have.slot);
	if (missing.ncols > 1)
		rc = exec(l, ld_sql_table_ddl(l->dl, dataset, &missing, 1));
	free(missing.cols);
	return rc;
}

/* ----------------------------------------------------------- jobs */

void
ld_load_result_count(struct ld_load_result *o, const char *table,
    long long rows)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->t[i].table, table) == 0) {
			o->t[i].rows += rows;
			return;
		}
	o->t = xrealloc(o->t, (o->n + 1) * sizeof(*o->t));
	o->t[o->n].table = xstrdup(table);
	o->t[o->n++].rows = rows;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The package's job files (new_jobs/<table>.<id>.<n>.jsonl), sorted. */
static char **
job_files(const char *pkg_dir, size_t *n)
{
	char		*dir = xasprintf("%s/new_jobs", pkg_dir);
	DIR		*d = opendir(dir);
	struct dirent	*e;
	char		**v = xcalloc(1, sizeof(*v));

	*n = 0;
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t	len = strlen(e->d_name);

		if (e->d_name[0] == '.' || len < 6 ||
		    strcmp(e->d_name + len - 6, ".jsonl") != 0)
			continue;
		v = xrealloc(v, (*n + 2) * sizeof(*v));
		v[(*n)++] = xasprintf("%s/%s", dir, e->d_name);
		v[*n] = NULL;
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	qsort(v, *n, sizeof(*v), by_name);
	return v;
}

static char *
table_of_job(const char *path)
{
	const char	*base = strrchr(path, '/') + 1;
	const char	*dot = strchr(base, '.');

	return dot != NULL ? strndup(base, (size_t)(dot - base)) :
	    xstrdup(base);
}

static int
has_primary_key(const struct ld_table *t)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (t->cols[i]->hints & LD_PRIMARY_KEY)
			return 1;
	return 0;
}

/* Where a table's rows go: staging for a keyed merge. */
static int
via_staging(const struct ld_schema *s, const struct ld_table *t)
{
	const struct ld_table *root = ld_schema_root(s, t);

	return root != NULL && root->disposition == LD_MERGE &&
	    has_primary_key(root);
}

static int
load_jobs(struct loading *l, char **jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char		*name = table_of_job(jobs[i]), *q;
		struct ld_table	*t = ld_schema_table(l->schema, name);
		long long	 rows = 0;
		int		 rc;

		free(l->out->job);
		l->out->job = xstrdup(strrchr(jobs[i], '/') + 1);
		if (t == NULL) {
			/* A damaged package: no retry mends it. */
			l->d->terminal = 1;
			errorf(l->err, l->errlen, "job %s: table %s is not in "
			    "the package's schema", jobs[i], name);
			free(name);
			return -1;
		}
		q = ld_sql_qualified(l->dl, via_staging(l->schema, t) ?
		    l->staging : l->dataset, t->name);
		rc = l->d->ops->copy_job(l->d, q, t, jobs[i], &rows, l->err,
		    l->errlen);
		free(q);
		free(name);
		if (rc < 0)
			return -1;
		ld_load_result_count(l->out, t->name, rows);
	}
	free(l->out->job);
	l->out->job = NULL;
	return 0;
}

/* Roots (of disposition d) that have jobs in this package. */
static int
root_in_package(struct loading *l, const struct ld_table *root)
{
	for (size_t i = 0; i < l->out->n; i++) {
		const struct ld_table *t = ld_schema_table(l->schema,
		    l->out->t[i].table);

		if (t != NULL && ld_schema_root(l->schema, t) == root)
			return 1;
	}
	return 0;
}

/* The root followed by its descendants, in schema order. */
static const struct ld_table **
table_chain(struct loading *l, const struct ld_table *root, size_t *n)
{
	const struct ld_table **v = xcalloc(l->schema->ntables + 1,
	    sizeof(*v));

	*n = 0;
	v[(*n)++] = root;
	for (size_t i = 0; i < l->schema->ntables; i++) {
		const struct ld_table *t = l->schema->tables[i];

		if (t != root && ld_schema_root(l->schema, t) == root &&
		    complete_cols(t))
			v[(*n)++] = t;
	}
	return v;
}

static int
truncate_chain(struct loading *l, const char *dataset,
    const struct ld_table *root)
{
	size_t			 n;
	const struct ld_table	**chain = table_chain(l, root, &n);
	int			 rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		char	*q = ld_sql_qualified(l->dl, dataset, chain[i]->name);

		rc = exec(l, xasprintf("%s %s", l->dl->truncate, q));
		free(q);
	}
	free(chain);
	return rc;
}

/* replace: the tables of replaced resources are emptied first. */
static int
prepare_dispositions(struct loading *l, char **jobs, size_t njobs)
{
	for (size_t i = 0; i < njobs; i++) {
		char			*name = table_of_job(jobs[i]);
		const struct ld_table	*t;

		t = ld_schema_table(l->schema, name);
		free(name);
		if (t != NULL)
			ld_load_result_count(l->out, t->name, 0);
	}
	for (size_t i = 0; i < l->schema->ntables; i++) {
		const struct ld_table *t = l->schema->tables[i];

		if (t->parent != NULL || !root_in_package(l, t))
			continue;
		if (t->disposition == LD_REPLACE &&
		    truncate_chain(l, l->dataset, t) < 0)
			return -1;
		if (via_staging(l->schema, t) &&
		    truncate_chain(l, l->staging, t) < 0)
			return -1;
	}
	return 0;
}

static int
merge_all(struct loading *l)
{
	for (size_t i = 0; i < l->schema->ntables; i++) {
		const struct ld_table	*t = l->schema->tables[i];
		const struct ld_table	**chain;
		size_t			  n;
		int			  rc;

		if (t->parent != NULL || !via_staging(l->schema, t) ||
		    !root_in_package(l, t))
			continue;
		chain = table_chain(l, t, &n);
		rc = exec(l, ld_sql_merge(l->dl, l->dataset, l->staging,
		    (const struct ld_table *const *)chain, n, l->load_id));
		free(chain);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------- system tables */

static int
found_row(void *arg, size_t n, const char *const *v)
{
	(void)n;
	(void)v;
	*(int *)arg = 1;
	return 1;
}

static int
exists(struct loading *l, char *sql, int *found)
{
	int	rc;

	*found = 0;
	rc = l->d->ops->query(l->d, sql, found_row, found, l->err, l->errlen);
	free(sql);
	return rc;
}

static int
store_version(struct loading *l, const char *now)
{
	char	*q = ld_sql_qualified(l->dl, l->dataset, "_dlt_version");
	char	*name = ld_sql_literal(l->dl, l->schema->name);
	char	*hash = ld_sql_literal(l->dl, l->schema->version_hash);
	cJSON	*doc = ld_schema_to_json(l->schema);
	char	*text = cJSON_PrintUnformatted(doc);
	char	*lit = ld_sql_literal(l->dl, text);
	char	*version = xasprintf("%lld, %d, '%s'", l->schema->version,
	    ENGINE_VERSION, now);
	int	 found = 0, rc;

	rc = exists(l, sqlf(l->dl, "SELECT 1 FROM %s WHERE {version_hash} = "
	    "%s AND {schema_name} = %s", q, hash, name, NULL), &found);
	if (rc == 0 && !found)
		rc = exec(l, sqlf(l->dl, "INSERT INTO %s ({version}, "
		    "{engine_version}, {inserted_at}, {schema_name}, "
		    "{version_hash}, {schema}) VALUES (%s, %s, %s, %s)", q,
		    version, name, hash, lit, NULL));
	free(version);
	free(q);
	free(name);
	free(hash);
	free(text);
	free(lit);
	cJSON_Delete(doc);
	return rc;
}

static int
store_load(struct loading *l, const char *now)
{
	char	*q = ld_sql_qualified(l->dl, l->dataset, "_dlt_loads");
	char	*id = ld_sql_literal(l->dl, l->load_id);
	char	*name = ld_sql_literal(l->dl, l->schema->name);
	char	*hash = ld_sql_literal(l->dl, l->schema->version_hash);
	int	 rc;

	rc = exec(l, sqlf(l->dl, "INSERT INTO %s ({load_id}, {schema_name}, "
	    "{status}, {inserted_at}, {schema_version_hash}) VALUES (%s, %s, "
	    "0, '%s', %s)", q, id, name, now, hash, NULL));
	free(q);
	free(id);
	free(name);
	free(hash);
	return rc;
}

static int
already_loaded(struct loading *l, int *found)
{
	char	*q, *id;
	int	 rc;

	*found = 0;
	if (existing_cols(l, l->dataset, "_dlt_loads") == NULL)
		return 0;
	q = ld_sql_qualified(l->dl, l->dataset, "_dlt_loads");
	id = ld_sql_literal(l->dl, l->load_id);
	rc = exists(l, sqlf(l->dl, "SELECT 1 FROM %s WHERE {load_id} = %s", q,
	    id, NULL), found);
	free(q);
	free(id);
	return rc;
}

/* ----------------------------------------------------------- drop */

/*
 * dlt's dropped_tables of load_package_state.json (`pipeline drop`):
 * the tables go, in the dataset and its staging, and so do the schema's
 * stored versions (dlt's drop_tables(delete_schema=True)), so the
 * version this package stores is the only one a restore can find.
 */
static int
drop_tables(struct loading *l, const char *pkg_dir)
{
	char		 err[256], *path, *text;
	cJSON		*st;
	const cJSON	*t, *name;
	int		 rc = 0;

	path = xasprintf("%s/load_package_state.json", pkg_dir);
	text = read_file_max(path, 16u << 20, NULL, err, sizeof(err));
	free(path);
	st = text != NULL ? cJSON_Parse(text) : NULL;
	free(text);
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(st, "dropped_tables")) {
		name = cJSON_GetObjectItem(t, "name");
		if (!cJSON_IsString(name))
			continue;
		for (int staging = 0; staging < 2 && rc == 0; staging++) {
			const char *ds = staging ? l->staging : l->dataset;
			char	   *q;

			if (existing_cols(l, ds, name->valuestring) == NULL)
				continue;
			q = ld_sql_qualified(l->dl, ds, name->valuestring);
			rc = exec(l, xasprintf("DROP TABLE %s", q));
			free(q);
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && cJSON_GetArraySize(cJSON_GetObjectItem(st,
	    "dropped_tables")) > 0 && existing_cols(l, l->dataset,
	    "_dlt_version") != NULL) {
		char	*q = ld_sql_qualified(l->dl, l->dataset, "_dlt_version");
		char	*sn = ld_sql_literal(l->dl, l->schema->name);

		rc = exec(l, sqlf(l->dl, "DELETE FROM %s WHERE {schema_name} = "
		    "%s", q, sn, NULL));
		free(q);
		free(sn);
	}
	cJSON_Delete(st);
	return rc;
}

/* ----------------------------------------------------------- load */

struct ld_schema *
ld_load_read_schema(const char *pkg_dir, char *err, size_t errlen)
{
	char			*path, *text;
	cJSON			*doc;
	struct ld_schema	*s = NULL;

	path = xasprintf("%s/schema.json", pkg_dir);
	text = read_file_max(path, 64u << 20, NULL, err, errlen);
	free(path);
	if (text == NULL)
		return NULL;
	if ((doc = cJSON_Parse(text)) == NULL)
		errorf(err, errlen, "%s/schema.json is not JSON", pkg_dir);
	else
		s = ld_schema_from_json(doc, err, errlen);
	cJSON_Delete(doc);
	free(text);
	return s;
}

/*
 * The package's DDL: its datasets, the tables `pipeline drop` dropped,
 * new tables and columns.
 */
static int
sync_schema(struct loading *l, const char *pkg_dir)
{
	int	 needs_staging = 0;

	for (size_t i = 0; i < l->schema->ntables; i++)
		if (l->schema->tables[i]->parent == NULL &&
		    via_staging(l->schema, l->schema->tables[i]))
			needs_staging = 1;
	if (exec(l, ld_sql_create_dataset(l->dl, l->dataset)) < 0 ||
	    (needs_staging && exec(l, ld_sql_create_dataset(l->dl,
	    l->staging)) < 0) || drop_tables(l, pkg_dir) < 0)
		return -1;
	for (size_t i = 0; i < l->schema->ntables; i++) {
		struct ld_table	*t = l->schema->tables[i];

		if (sync_table(l, l->dataset, t) < 0 ||
		    (via_staging(l->schema, t) &&
		    sync_table(l, l->staging, t) < 0))
			return -1;
	}
	return 0;
}

/* The package's rows and its _dlt_version and _dlt_loads rows. */
static int
load_data(struct loading *l, const char *pkg_dir)
{
	char	**jobs, now[32];
	size_t	  njobs;
	int	  rc = -1;

	jobs = job_files(pkg_dir, &njobs);
	iso8601_now(now, 0);
	if (prepare_dispositions(l, jobs, njobs) == 0 &&
	    load_jobs(l, jobs, njobs) == 0 && merge_all(l) == 0 &&
	    store_version(l, now) == 0 && store_load(l, now) == 0)
		rc = 0;
	ld_strv_free(jobs);
	return rc;
}

int
ld_load_package(struct ld_dest *d, const char *dataset, const char *pkg_dir,
    const char *load_id, struct ld_load_result *out, char *err,
    size_t errlen)
{
	struct loading	l = { 0 };
	int		found = 0, rc = -1;

	if (d->ops->load_package != NULL)
		return d->ops->load_package(d, dataset, pkg_dir, load_id, out,
		    err, errlen);
	memset(out, 0, sizeof(*out));
	d->terminal = 0;
	l.d = d;
	l.dl = d->ops->dialect;
	l.dataset = dataset;
	l.staging = xasprintf("%s_staging", dataset);
	l.load_id = load_id;
	l.out = out;
	l.err = err;
	l.errlen = errlen;
	if ((l.schema = ld_load_read_schema(pkg_dir, err, errlen)) == NULL) {
		d->terminal = 1;	/* a damaged package */
		goto out;
	}
	if (read_existing(&l) < 0 || already_loaded(&l, &found) < 0)
		goto out;
	if (found) {
		out->already = 1;
		rc = 0;
		goto out;
	}
	/* Where DDL would commit the transaction, it comes first: a
	   package that fails later leaves tables that a retry reuses. */
	if (l.dl->ddl_commits && sync_schema(&l, pkg_dir) < 0)
		goto out;
	if (exec(&l, xstrdup("BEGIN TRANSACTION")) < 0)
		goto out;
	if ((!l.dl->ddl_commits && sync_schema(&l, pkg_dir) < 0) ||
	    load_data(&l, pkg_dir) < 0) {
		char	ignored[256];

		d->ops->exec(d, "ROLLBACK", ignored, sizeof(ignored));
		goto out;
	}
	rc = exec(&l, xstrdup("COMMIT"));
out:
	if (rc < 0) {
		char	*job = out->job;

		out->job = NULL;
		ld_load_result_cleanup(out);
		out->job = job;
		if (d->terminal)
			rc = LD_TERMINAL;
	}
	ld_schema_free(l.schema);
	cJSON_Delete(l.existing);
	free(l.staging);
	return rc;
}

void
ld_load_result_cleanup(struct ld_load_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->t[i].table);
	free(r->t);
	free(r->job);
	r->t = NULL;
	r->n = 0;
	r->job = NULL;
	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].table);
		free(r->files[i].path);
	}
	free(r->files);
	r->files = NULL;
	r->nfiles = 0;
}

/* ------------------------------------------------------- restore */

struct restore {
	char	*state, *schema;
};

static int
first_row(void *arg, size_t n, const char *const *v)
{
	char	**out = arg;

	if (n > 0 && v[0] != NULL && *out == NULL)
		*out = xstrdup(v[0]);
	return 1;
}

int
ld_restore(struct ld_dest *d, const char *dataset, const char *pipeline,
    const char *schema_name, char **state, char **schema, char *err,
    size_t errlen)
{
	struct loading	 l = { 0 };
	char		*ps, *lt, *vt, *name, *sname, *sql;
	int		 rc = 0;

	if (d->ops->restore != NULL)
		return d->ops->restore(d, dataset, pipeline, schema_name,
		    state, schema, err, errlen);
	*state = *schema = NULL;
	l.d = d;
	l.dl = d->ops->dialect;
	l.dataset = dataset;
	l.staging = xasprintf("%s_staging", dataset);
	l.err = err;
	l.errlen = errlen;
	if (read_existing(&l) < 0) {
		free(l.staging);
		return -1;
	}
	ps = ld_sql_qualified(l.dl, dataset, "_dlt_pipeline_state");
	lt = ld_sql_qualified(l.dl, dataset, "_dlt_loads");
	vt = ld_sql_qualified(l.dl, dataset, "_dlt_version");
	name = ld_sql_literal(l.dl, pipeline);
	sname = ld_sql_literal(l.dl, schema_name);
	/* dlt's state query: the newest state of a completed load. */
	if (existing_cols(&l, dataset, "_dlt_pipeline_state") != NULL &&
	    existing_cols(&l, dataset, "_dlt_loads") != NULL) {
		sql = sqlf(l.dl, "SELECT s.{state} FROM %s AS s JOIN %s "
		    "AS l ON l.{load_id} = s.{_dlt_load_id} WHERE "
		    "s.{pipeline_name} = %s AND l.{status} = 0 ORDER BY "
		    "l.{load_id} DESC LIMIT 1", ps, lt, name, NULL);
		rc = d->ops->query(d, sql, first_row, state, err, errlen);
		free(sql);
	}
	if (rc == 0 && existing_cols(&l, dataset, "_dlt_version") != NULL) {
		sql = sqlf(l.dl, "SELECT {schema} FROM %s WHERE "
		    "{schema_name} = %s ORDER BY {inserted_at} DESC LIMIT 1",
		    vt, sname, NULL);
		rc = d->ops->query(d, sql, first_row, schema, err, errlen);
		free(sql);
	}
	free(ps);
	free(lt);
	free(vt);
	free(name);
	free(sname);
	free(l.staging);
	cJSON_Delete(l.existing);
	return rc;
}

/*
 * The local state and schema rewound to the destination's (dlt's
 * restore after an abort); none there (never loaded): both go, and the
 * next run starts afresh.
 */
int
ld_rewind(struct ld_dest *d, const char *root, const char *dataset,
    const char *pipeline, const char *schema, char *err, size_t errlen)
{
	char	*packed = NULL, *doc = NULL, *sp, *cp, *text;
	cJSON	*state = NULL, *old, *local;
	int	 rc = 0;

	if (ld_restore(d, dataset, pipeline, schema, &packed, &doc, err,
	    errlen) < 0)
		return -1;
	sp = xasprintf("%s/state.json", root);
	cp = xasprintf("%s/schemas/%s.schema.json", root, schema);
	if (packed != NULL && (state = ld_state_decompress(packed)) != NULL) {
		text = read_file_max(sp, 64u << 20, NULL, NULL, 0);
		old = text != NULL ? cJSON_Parse(text) : NULL;
		free(text);
		/* _local is this machine's; the extracted hash is the
		   restored one, so an unchanged state is not loaded again */
		local = cJSON_DetachItemFromObject(old, "_local");
		if (local == NULL)
			local = cJSON_CreateObject();
		cJSON_DeleteItemFromObject(local, "_last_extracted_hash");
		cJSON_AddStringToObject(local, "_last_extracted_hash",
		    cJSON_GetStringValue(cJSON_GetObjectItem(state,
		    "_version_hash")) ? cJSON_GetStringValue(
		    cJSON_GetObjectItem(state, "_version_hash")) : "");
		cJSON_DeleteItemFromObject(state, "_local");
		cJSON_AddItemToObject(state, "_local", local);
		cJSON_Delete(old);
		text = cJSON_PrintUnformatted(state);
		rc = ld_write_file(sp, text, strlen(text), err, errlen);
		free(text);
	} else
		remove(sp);
	if (rc == 0 && doc != NULL)
		rc = ld_write_file(cp, doc, strlen(doc), err, errlen);
	else if (rc == 0)
		remove(cp);
	cJSON_Delete(state);
	free(packed);
	free(doc);
	free(sp);
	free(cp);
	return rc;
}
