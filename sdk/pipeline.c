/*
 * pipeline.c: the loading API of pf/pipeline.h (pf_pipeline_*,
 * pf_resource_*): a pipeline's working directory, extract (items into
 * an extracted package with the state), normalize and load of the
 * packages on disk (load/package.h), oldest first.
 *
 * Where files go, as dlt's workspace: the pipeline's working directory
 * is <data_dir>/pipelines/<name> (.dlt/state/<profile>/pipelines/<name>
 * here, the profile's working data), a DuckDB file is in the profile's
 * local data directory (load/duckdb.c).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "config/cfg.h"
#include "load/destination.h"
#include "load/jsonv.h"
#include "load/loader.h"
#include "load/naming.h"
#include "load/normalize.h"
#include "load/package.h"
#include "load/schema.h"
#include "load/state.h"
#include "sdk/run.h"
#include "sdk/pipeline.h"

#define PF_EXPORT __attribute__((visibility("default")))
int
ld_pipeline_fail(pf_pipeline *p, const char *fmt, ...)
{
	va_list	ap;

	if (p->error != NULL)
		return sdk_error_set(p->error);
	va_start(ap, fmt);
	p->error = xvasprintf(fmt, ap);
	va_end(ap);
	pf_log_error(p->run, "%s", p->error);
	return sdk_error_set(p->error);
}

int
ld_pipeline_failed(const pf_pipeline *p)
{
	if (p == NULL)		/* a failed open's message stays */
		return 1;
	if (p->error != NULL)
		return sdk_error_set(p->error), 1;
	return 0;
}

/* ------------------------------------------------------ opening */

static char *
config_text(pf_run *run, const char *dotted, int flags)
{
	struct cfg_value v = { 0 };
	char		 err[256];
	char		*out = NULL;

	if (run->cfg != NULL && cfg_get(run->cfg, dotted, flags | CFG_OPTIONAL
	    | CFG_NO_VAULT, &v, err, sizeof(err)) == 0 &&
	    cfg_value_str(&v) != NULL)
		out = xstrdup(cfg_value_str(&v));
	cfg_value_cleanup(&v);
	return out;
}

/* destination.<name>.destination_type, else the name itself. */
static int
resolve_destination(pf_pipeline *p)
{
	char	*key = xasprintf("destination.%s.destination_type",
	    p->dest_name);

	p->dest_type = config_text(p->run, key, CFG_EXACT);
	free(key);
	if (p->dest_type == NULL)
		p->dest_type = xstrdup(p->dest_name);
	if ((p->ops = ld_dest_find(p->dest_type)) == NULL)
		return ld_pipeline_fail(p, "Destination '%s' (type '%s') is "
		    "not one pfagent can load: configure destination.%s."
		    "destination_type as duckdb, postgres or snowflake",
		    p->dest_name, p->dest_type, p->dest_name);
	return PF_OK;
}

static int
read_local(pf_pipeline *p)
{
	char	 err[512];
	char	*path, *text;
	cJSON	*doc;
	int	 fresh;

	path = xasprintf("%s/schemas/%s.schema.json", p->root, p->name);
	text = read_file_max(path, 64u << 20, NULL, err, sizeof(err));
	if (text != NULL) {
		doc = cJSON_Parse(text);
		p->schema = doc != NULL ? ld_schema_from_json(doc, err,
		    sizeof(err)) : NULL;
		cJSON_Delete(doc);
		free(text);
		if (p->schema == NULL) {
			ld_pipeline_fail(p, "%s: not a schema", path);
			free(path);
			return PF_ERROR;
		}
	} else
		p->schema = ld_schema_new(p->name);
	free(path);
	path = xasprintf("%s/state.json", p->root);
	fresh = access(path, F_OK) != 0;
	p->state = ld_state_read(path, p->name, err, sizeof(err));
	free(path);
	if (p->state == NULL)
		return ld_pipeline_fail(p, "%s", err);
	return fresh ? ld_pipeline_restore(p) : PF_OK;
}

/* Half-built packages of a run that died: made again from their source. */
static void
remove_partial(pf_pipeline *p)
{
	char	*dir = xasprintf("%s/%s", p->root, LD_EXTRACTED);
	DIR	*d = opendir(dir);
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0) {
			char	*path = xasprintf("%s/%s", dir, e->d_name);

			ld_rm_rf(path);
			free(path);
		}
	if (d != NULL)
		closedir(d);
	free(dir);
	dir = xasprintf("%s/%s", p->root, LD_NEW);
	ld_rm_rf(dir);
	free(dir);
}

/* Always a handle: a failed one has p->error (last error set). */
static pf_pipeline *
open_pipeline(pf_run *run, const char *name, const char *dest,
    const char *dataset)
{
	pf_pipeline			*p = xcalloc(1, sizeof(*p));
	const struct cfg_workspace	*ws;
	char				 err[512];

	p->run = run;
	p->name = xstrdup(name != NULL ? name : "");
	p->dest_name = xstrdup(dest != NULL ? dest : "");
	p->dataset = dataset != NULL ? xstrdup(dataset) :
	    xasprintf("%s_dataset", p->name);
	p->info = cJSON_CreateArray();
	buf_init(&p->line, (size_t)-1);
	if (p->name[0] == '\0' || strchr(p->name, '/') != NULL ||
	    p->name[0] == '.') {
		ld_pipeline_fail(p, "pipeline name '%s' is not usable as a "
		    "directory name", p->name);
		return p;
	}
	if (run->cfg == NULL) {
		ld_pipeline_fail(p, "no configuration for pipeline %s: %s",
		    p->name, run->cfg_error != NULL ? run->cfg_error :
		    "no resolver");
		return p;
	}
	ws = cfg_workspace(run->cfg);
	p->root = xasprintf("%s/pipelines/%s", ws->data_dir, p->name);
	p->local_dir = xstrdup(ws->local_dir);
	if (resolve_destination(p) != PF_OK)
		return p;
	if (ld_mkdirs(p->root, err, sizeof(err)) < 0) {
		ld_pipeline_fail(p, "%s", err);
		return p;
	}
	if (read_local(p) != PF_OK)
		return p;
	remove_partial(p);
	return p;
}

PF_EXPORT pf_pipeline *
pf_pipeline_open(pf_run *run, const char *name, const char *dest,
    const char *dataset)
{
	pf_pipeline	*p = open_pipeline(run, name, dest, dataset);

	if (p->error == NULL)
		return p;
	pf_pipeline_close(p);
	return NULL;
}

PF_EXPORT void
pf_pipeline_close(pf_pipeline *p)
{
	struct pf_resource *r, *next;

	if (p == NULL)
		return;
	for (r = p->resources; r != NULL; r = next) {
		next = r->next;
		if (r->f != NULL)
			fclose(r->f);
		free(r->name);
		free(r->table);
		free(r->cursor_path);
		free(r->cursor_text);
		free(r->state_text);
		cJSON_Delete(r->cursor_last);
		free(r);
	}
	if (p->extract_dir != NULL)
		ld_rm_rf(p->extract_dir);	/* items never sealed */
	if (p->dest != NULL)
		p->dest->ops->close(p->dest);
	ld_schema_free(p->schema);
	cJSON_Delete(p->state);
	cJSON_Delete(p->info);
	jv_arena_free(&p->arena);
	buf_cleanup(&p->line);
	free(p->info_text);
	free(p->extract_dir);
	free(p->name);
	free(p->dest_name);
	free(p->dest_type);
	free(p->dataset);
	free(p->root);
	free(p->local_dir);
	free(p->error);
	free(p);
}

/* ---------------------------------------------------- resources */

static int
add_primary_key(pf_pipeline *p, struct ld_table *t, const char *keys)
{
	const char	*k = keys;

	while (*k) {
		size_t			 len = strcspn(k, ",");
		char			*name = ld_normalize_path(k, len,
		    p->ops->dialect->max_identifier_length);
		struct ld_column	*c;

		if (name == NULL || name[0] == '\0') {
			free(name);
			return ld_pipeline_fail(p, "resource %s: empty name "
			    "in primary_key '%s'", t->resource, keys);
		}
		if ((c = ld_table_column(t, name)) == NULL)
			c = ld_table_add_column(t, name, LD_TEXT,
			    LD_INCOMPLETE);
		c->hints = (c->hints | LD_PRIMARY_KEY) &
		    ~(LD_NULLABLE | LD_UNSAID);
		free(name);
		k += len;
		if (*k == ',')
			k++;
	}
	return PF_OK;
}

static int
add_column_hints(pf_pipeline *p, struct ld_table *t, const char *json)
{
	cJSON	*doc = cJSON_Parse(json), *c;

	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return ld_pipeline_fail(p, "resource %s: columns_json is not "
		    "a JSON object", t->resource);
	}
	cJSON_ArrayForEach(c, doc) {
		const char	 *type = cJSON_GetStringValue(
		    cJSON_GetObjectItem(c, "data_type"));
		char		 *name = ld_normalize_path(c->string,
		    strlen(c->string), p->ops->dialect->max_identifier_length);
		struct ld_column *col;
		int		  ty = ld_type_parse(type);

		if (name == NULL || (type != NULL && ty < 0)) {
			free(name);
			cJSON_Delete(doc);
			return ld_pipeline_fail(p, "resource %s: column '%s' "
			    "has an unknown data_type '%s'", t->resource,
			    c->string, type != NULL ? type : "");
		}
		if ((col = ld_table_column(t, name)) == NULL)
			col = ld_table_add_column(t, name, LD_TEXT,
			    LD_NULLABLE | LD_INCOMPLETE);
		if (ty >= 0) {
			col->type = (enum ld_type)ty;
			col->hints = (col->hints & ~LD_INCOMPLETE) | LD_HINTED;
		}
		/* dlt writes "nullable" only when a hint or the data says
		   it: a typed hint without it leaves it out for good. */
		if (cJSON_GetObjectItem(c, "nullable") == NULL)
			col->hints |= LD_UNSAID;
		else
			col->hints &= ~LD_UNSAID;
		if (cJSON_IsFalse(cJSON_GetObjectItem(c, "nullable")))
			col->hints &= ~LD_NULLABLE;
		if (cJSON_IsFalse(cJSON_GetObjectItem(c, "timezone")))
			col->hints |= LD_NAIVE;
		else if (cJSON_IsTrue(cJSON_GetObjectItem(c, "timezone")))
			col->hints |= LD_TZ;
		if (cJSON_IsNumber(cJSON_GetObjectItem(c, "precision")))
			col->precision = cJSON_GetObjectItem(c,
			    "precision")->valueint;
		if (cJSON_IsNumber(cJSON_GetObjectItem(c, "scale")))
			col->scale = cJSON_GetObjectItem(c, "scale")->valueint;
		if (cJSON_IsTrue(cJSON_GetObjectItem(c, "primary_key")))
			col->hints = (col->hints | LD_PRIMARY_KEY) &
			    ~(LD_NULLABLE | LD_UNSAID);
		free(name);
	}
	cJSON_Delete(doc);
	return PF_OK;
}

/*
 * 0 in the definition: normalize.max_table_nesting, else dlt's 1000
 * (*out -1). A value that is no whole number >= 0 fails the pipeline,
 * naming the key and its provider.
 */
static int
nesting_of(pf_pipeline *p, const pf_resource_def *def, int *out)
{
	struct cfg_field f = { "normalize", "max_table_nesting", NULL, NULL,
	    NULL, CFG_INT, CFG_OPTIONAL | CFG_NO_VAULT, NULL };
	struct cfg_value v;
	char		 err[1024];
	long long	 n = -1;

	*out = def->max_table_nesting == PF_NESTING_NONE ? 0 :
	    def->max_table_nesting;
	if (def->max_table_nesting == PF_NESTING_NONE ||
	    def->max_table_nesting > 0)
		return PF_OK;
	if (cfg_resolve(p->run->cfg, &f, &v, err, sizeof(err)) == -1 ||
	    (v.value != NULL && (cfg_value_int(&v, &n) == -1 || n < 0 ||
	    n > INT_MAX) && cfg_value_error(&v, "Configured value for field "
	    "`max_table_nesting` must be a whole number from 0 to 2147483647",
	    err, sizeof(err)) == -1)) {
		cfg_value_cleanup(&v);
		return ld_pipeline_fail(p, "%s", err);
	}
	cfg_value_cleanup(&v);
	*out = (int)n;
	return PF_OK;
}

PF_EXPORT pf_resource *
pf_resource_add(pf_pipeline *p, const pf_resource_def *def)
{
	struct pf_resource	*r;
	struct ld_table		*t;
	char			*table;
	int			 nesting;
	static const enum ld_disposition disp[] = {
		LD_APPEND, LD_REPLACE, LD_MERGE
	};

	char			 err[256];

	if (ld_pipeline_failed(p))
		return NULL;
	if (def != NULL && sdk_def_version("pf_resource_def", def->version,
	    PF_RESOURCE_DEF_VERSION, "PF_RESOURCE_DEF_INIT", err,
	    sizeof(err)) == -1) {
		ld_pipeline_fail(p, "pf_resource_add: %s", err);
		return NULL;
	}
	if (def == NULL || def->name == NULL || (unsigned)def->write_disposition
	    > PF_MERGE) {
		ld_pipeline_fail(p, "pf_resource_add: a resource needs a name "
		    "and a write disposition");
		return NULL;
	}
	if (nesting_of(p, def, &nesting) != PF_OK)
		return NULL;
	table = ld_normalize_path(def->name, strlen(def->name),
	    p->ops->dialect->max_identifier_length);
	if (table == NULL || table[0] == '\0') {
		free(table);
		ld_pipeline_fail(p, "resource name '%s' makes no table name",
		    def->name);
		return NULL;
	}
	t = ld_schema_add_table(p->schema, table, NULL,
	    disp[def->write_disposition]);
	t->disposition = disp[def->write_disposition];
	t->max_nesting = nesting;
	/* dlt's resource hints replace the table's x-normalizer whole: a
	   declared max_nesting drops seen-data (back at normalize). */
	if (nesting >= 0)
		t->seen_data = 0;
	free(t->resource);
	t->resource = xstrdup(def->name);
	/* Column hints first, then the key: dlt's column order. */
	if ((def->columns_json != NULL &&
	    add_column_hints(p, t, def->columns_json) != PF_OK) ||
	    (def->primary_key != NULL &&
	    add_primary_key(p, t, def->primary_key) != PF_OK)) {
		free(table);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->p = p;
	r->name = xstrdup(def->name);
	r->table = table;
	r->next = p->resources;
	p->resources = r;
	return r;
}

cJSON *
ld_resource_state(pf_resource *r)
{
	return ld_state_resource(r->p->state, r->p->name, r->name);
}

PF_EXPORT const char *
pf_resource_state(pf_resource *r)
{
	if (r == NULL || ld_pipeline_failed(r->p))
		return NULL;
	free(r->state_text);
	r->state_text = cJSON_PrintUnformatted(ld_resource_state(r));
	return r->state_text;
}

PF_EXPORT int
pf_resource_set_state(pf_resource *r, const char *json)
{
	cJSON	*doc, *sources, *src, *res;

	if (r == NULL || ld_pipeline_failed(r->p))
		return PF_ERROR;
	if (json == NULL || !cJSON_IsObject(doc = cJSON_Parse(json))) {
		if (json != NULL)
			cJSON_Delete(doc);
		return ld_pipeline_fail(r->p, "resource %s: the state must be "
		    "a JSON object", r->name);
	}
	/* Where ld_state_resource finds it, made on the way there. */
	ld_resource_state(r);
	sources = cJSON_GetObjectItem(r->p->state, "sources");
	src = cJSON_GetObjectItem(sources, r->p->name);
	res = cJSON_GetObjectItem(src, "resources");
	cJSON_ReplaceItemInObjectCaseSensitive(res, r->name, doc);
	return PF_OK;
}

/*
 * dlt's incremental column hint: the cursor's column is marked
 * "incremental" in the schema, named (incomplete, with nothing else
 * said of it) when no item made it yet. A path into nested values
 * names no column, as dlt's get_cursor_column_name.
 */
static void
mark_incremental(struct pf_resource *r, const char *path)
{
	struct ld_table		*t = ld_schema_table(r->p->schema, r->table);
	struct ld_column	*c;
	char			*name;

	if (t == NULL || path[strcspn(path, ".[]*$")] != '\0')
		return;
	name = ld_normalize_path(path, strlen(path),
	    r->p->ops->dialect->max_identifier_length);
	if (name != NULL && name[0] != '\0') {
		if ((c = ld_table_column(t, name)) == NULL)
			ld_table_add_column(t, name, LD_TEXT, LD_INCOMPLETE |
			    LD_NULLABLE | LD_UNSAID | LD_INCREMENTAL);
		else
			c->hints |= LD_INCREMENTAL;
	}
	free(name);
}

PF_EXPORT const char *
pf_resource_cursor(pf_resource *r, const char *cursor_path,
    const char *initial_json)
{
	cJSON	*inc, *cur, *last;

	if (r == NULL || ld_pipeline_failed(r->p))
		return NULL;
	if (cursor_path == NULL) {
		sdk_error_set("pf_resource_cursor: no cursor path");
		return NULL;
	}
	inc = cJSON_GetObjectItem(ld_resource_state(r), "incremental");
	if (inc == NULL)
		inc = cJSON_AddObjectToObject(ld_resource_state(r),
		    "incremental");
	if ((cur = cJSON_GetObjectItem(inc, cursor_path)) == NULL) {
		cur = cJSON_AddObjectToObject(inc, cursor_path);
		cJSON_AddItemToObject(cur, "initial_value", initial_json ?
		    cJSON_Parse(initial_json) : cJSON_CreateNull());
		cJSON_AddItemToObject(cur, "last_value", initial_json ?
		    cJSON_Parse(initial_json) : cJSON_CreateNull());
		cJSON_AddArrayToObject(cur, "unique_hashes");
	}
	free(r->cursor_path);
	r->cursor_path = xstrdup(cursor_path);
	mark_incremental(r, cursor_path);
	last = cJSON_GetObjectItem(cur, "last_value");
	free(r->cursor_text);
	r->cursor_text = last == NULL || cJSON_IsNull(last) ? NULL :
	    cJSON_PrintUnformatted(last);
	return r->cursor_text;
}

/* -------------------------------------------------------- extract */

static char *
random_file_id(void)
{
	unsigned char	id[5];

	while (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		;
	return xasprintf("%02x%02x%02x%02x%02x", id[0], id[1], id[2], id[3],
	    id[4]);
}

/* The extract's hidden package directory, made at the first item. */
static int
open_extract(pf_pipeline *p)
{
	char	 err[512], *jobs;

	if (p->extract_dir != NULL)
		return PF_OK;
	ld_load_id_new(p->load_id);
	p->extract_dir = xasprintf("%s/%s/.%s", p->root, LD_EXTRACTED,
	    p->load_id);
	jobs = xasprintf("%s/new_jobs", p->extract_dir);
	if (ld_mkdirs(jobs, err, sizeof(err)) < 0) {
		free(jobs);
		return ld_pipeline_fail(p, "%s", err);
	}
	free(jobs);
	return PF_OK;
}

static FILE *
extract_file(pf_pipeline *p, const char *table)
{
	char	*id, *path;
	FILE	*f;

	if (open_extract(p) != PF_OK)
		return NULL;
	id = random_file_id();
	path = xasprintf("%s/new_jobs/%s.%s.0.typed-jsonl", p->extract_dir,
	    table, id);
	if ((f = fopen(path, "w")) == NULL)
		ld_pipeline_fail(p, "cannot create %s: %s", path,
		    strerror(errno));
	else
		setvbuf(f, NULL, _IOFBF, 1 << 16);
	free(id);
	free(path);
	return f;
}

/* The larger of two cursor values (max), numbers or strings. */
static int
cursor_greater(const struct jv *v, const cJSON *than)
{
	if (than == NULL || cJSON_IsNull(than))
		return 1;
	if ((v->kind == JV_INT || v->kind == JV_FLOAT) && cJSON_IsNumber(than))
		return (v->kind == JV_INT ? (double)v->i : v->d) >
		    than->valuedouble;
	if (v->kind == JV_STRING && cJSON_IsString(than))
		return strcmp(v->s, than->valuestring) > 0;
	return 0;
}

static void
track_cursor(struct pf_resource *r, const struct jv *item)
{
	const struct jv	*v = jv_get(item, r->cursor_path);
	struct buf	 b;

	if (v == NULL || v->kind == JV_NULL || !cursor_greater(v,
	    r->cursor_last))
		return;
	buf_init(&b, (size_t)-1);
	jv_write(&b, v);
	cJSON_Delete(r->cursor_last);
	r->cursor_last = cJSON_Parse(b.data);
	buf_cleanup(&b);
}

static int
write_item(struct pf_resource *r, const struct jv *item)
{
	pf_pipeline	*p = r->p;

	if (r->f == NULL && (r->f = extract_file(p, r->table)) == NULL)
		return PF_ERROR;
	if (r->cursor_path != NULL && item->kind == JV_OBJECT)
		track_cursor(r, item);
	p->line.len = 0;
	if (item->raw != NULL) {
		/* The item's own text, on one line: outside strings only
		   whitespace can be a line break. */
		buf_append(&p->line, item->raw, item->rawlen);
		for (size_t i = 0; i < p->line.len; i++)
			if (p->line.data[i] == '\n' || p->line.data[i] == '\r')
				p->line.data[i] = ' ';
	} else
		jv_write(&p->line, item);
	buf_append(&p->line, "\n", 1);
	if (fwrite(p->line.data, 1, p->line.len, r->f) != p->line.len)
		return ld_pipeline_fail(p, "cannot write the items of %s: %s",
		    r->name, strerror(errno));
	return PF_OK;
}

/* The first integer beyond 64 bits in v, or NULL. */
static const struct jv *
big_int(const struct jv *v)
{
	const struct jv	*hit = NULL;

	if (v->kind == JV_BIGINT)
		return v;
	if (v->kind == JV_ARRAY || v->kind == JV_OBJECT)
		for (const struct jv *m = v->first; m != NULL && hit == NULL;
		    m = m->next)
			hit = big_int(m);
	return hit;
}

/*
 * What dlt's extract refuses (orjson writes its items): integers beyond
 * 64 bits and text that is no UTF-8 (lone surrogates), in its words,
 * with where the item and the value are. Failing here, nothing reaches
 * a package: no later run meets it again.
 */
static int
refuse(struct pf_resource *r, const char *why, size_t at)
{
	pf_pipeline	*p = r->p;

	open_extract(p);
	return ld_pipeline_fail(p, "Pipeline execution failed at `step="
	    "extract` when processing package with `load_id=%s` with "
	    "exception:\n\n<class 'TypeError'>\n%s (resource `%s`, item "
	    "%lld, at byte %zu of it)", p->load_id, why, r->name, r->items,
	    at);
}

PF_EXPORT int
pf_resource_item_json(pf_resource *r, const char *json, long len)
{
	pf_pipeline	*p;
	struct jv	*item;
	const struct jv	*big;
	char		 err[256];
	size_t		 n, at;

	if (r == NULL || ld_pipeline_failed(r->p))
		return PF_ERROR;
	if (json == NULL)
		return sdk_error_set("pf_resource_item_json: no item");
	p = r->p;
	n = len < 0 ? strlen(json) : (size_t)len;
	jv_arena_reset(&p->arena);
	item = jv_parse(&p->arena, json, n, err, sizeof(err));
	r->items++;
	if (item == NULL && sscanf(err, "str is not valid UTF-8: %*[^(](at "
	    "byte %zu)", &at) == 1) {
		*strrchr(err, '(') = '\0';
		err[strlen(err) - 1] = '\0';
		return refuse(r, err, at);
	}
	if (item == NULL)
		return ld_pipeline_fail(p, "resource %s: an item is not JSON: "
		    "%s", r->name, err);
	if ((big = big_int(item)) != NULL)
		return refuse(r, "Integer exceeds 64-bit range",
		    (size_t)(big->s - json));
	/* dlt skips None: a null item (or one in a list of them) is none. */
	if (item->kind == JV_NULL)
		return PF_OK;
	if (item->kind != JV_ARRAY)
		return write_item(r, item);
	for (const struct jv *m = item->first; m != NULL; m = m->next)
		if (m->kind != JV_NULL && write_item(r, m) != PF_OK)
			return PF_ERROR;
	return PF_OK;
}

PF_EXPORT int
pf_resource_item(pf_resource *r, const pf_json *item)
{
	char	*text;
	int	 rc;

	if (r == NULL || ld_pipeline_failed(r->p))
		return PF_ERROR;
	if (item == NULL)
		return sdk_error_set("pf_resource_item: no item");
	if ((text = cJSON_PrintUnformatted((const cJSON *)(const void *)
	    item)) == NULL)
		return ld_pipeline_fail(r->p, "resource %s: an item cannot be "
		    "printed", r->name);
	rc = pf_resource_item_json(r, text, -1);
	free(text);
	return rc;
}

/* dlt's pipeline_state_table(): the columns of the state rows. */
static void
state_table(pf_pipeline *p)
{
	struct ld_table	*t;

	if (ld_schema_table(p->schema, "_dlt_pipeline_state") != NULL)
		return;
	static const struct {
		const char	*name;
		enum ld_type	 type;
		int		 hints;
		const char	*text;
	} cols[] = {
		{ "version", LD_BIGINT, 0,
		    "Numeric version of the pipeline state" },
		{ "engine_version", LD_BIGINT, 0,
		    "Version of the dlt state engine" },
		{ "pipeline_name", LD_TEXT, 0,
		    "Name of the pipeline this state belongs to" },
		{ "state", LD_TEXT, 0,
		    "Compressed JSON representation of the pipeline state" },
		{ "created_at", LD_TIMESTAMP, 0,
		    "Timestamp when this state was created" },
		{ "version_hash", LD_TEXT, LD_NULLABLE,
		    "Hash of the state content, used to detect changes" },
		{ "_dlt_load_id", LD_TEXT, 0,
		    "Load identifier linking this row to its load operation" },
	};
	struct ld_column *c = NULL;

	t = ld_schema_add_table(p->schema, "_dlt_pipeline_state", NULL,
	    LD_APPEND);
	t->resource = xstrdup("_dlt_pipeline_state");
	/* dlt's pipeline_state_table() has a description too, which its
	   state resource does not carry into the schema. */
	t->file_format = xstrdup("preferred");
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		c = ld_table_add_column(t, cols[i].name, cols[i].type,
		    LD_HINTED | cols[i].hints);
		ld_describe(t, c, cols[i].text);
	}
	c->precision = 64;
}

/* The pipeline-level keys dlt keeps in the state. */
static void
state_set(cJSON *s, const char *key, cJSON *v)
{
	cJSON_DeleteItemFromObject(s, key);
	cJSON_AddItemToObject(s, key, v);
}

static void
fill_state(pf_pipeline *p)
{
	cJSON	*names = cJSON_CreateArray();
	char	*type = xasprintf("dlt.destinations.%s", p->dest_type);

	cJSON_AddItemToArray(names, cJSON_CreateString(p->name));
	state_set(p->state, "pipeline_name", cJSON_CreateString(p->name));
	state_set(p->state, "schema_names", names);
	state_set(p->state, "default_schema_name", cJSON_CreateString(p->name));
	state_set(p->state, "dataset_name", cJSON_CreateString(p->dataset));
	state_set(p->state, "destination_type", cJSON_CreateString(type));
	state_set(p->state, "destination_name",
	    cJSON_CreateString(p->dest_name));
	free(type);
}

/* The state row, when the state changed since it was last extracted. */
static int
extract_state(pf_pipeline *p, int *wrote)
{
	cJSON		*local, *row;
	const char	*hash, *last;
	char		*text, *compressed, now[32];
	FILE		*f;
	int		 rc = PF_OK;

	*wrote = 0;
	local = cJSON_GetObjectItem(p->state, "_local");
	for (struct pf_resource *r = p->resources; r != NULL; r = r->next)
		if (r->cursor_path != NULL && r->cursor_last != NULL) {
			cJSON *cur = cJSON_GetObjectItem(cJSON_GetObjectItem(
			    ld_resource_state(r), "incremental"),
			    r->cursor_path);

			cJSON_DeleteItemFromObject(cur, "last_value");
			cJSON_AddItemToObject(cur, "last_value",
			    cJSON_Duplicate(r->cursor_last, 1));
		}
	fill_state(p);
	hash = ld_state_bump(p->state);
	last = cJSON_GetStringValue(cJSON_GetObjectItem(local,
	    "_last_extracted_hash"));
	if (last != NULL && strcmp(last, hash) == 0)
		return PF_OK;
	if (open_extract(p) != PF_OK)
		return PF_ERROR;
	state_table(p);
	iso8601_now(now, 0);
	compressed = ld_state_compress(p->state);
	row = cJSON_CreateObject();
	cJSON_AddNumberToObject(row, "version", cJSON_GetNumberValue(
	    cJSON_GetObjectItem(p->state, "_state_version")));
	cJSON_AddNumberToObject(row, "engine_version", 4);
	cJSON_AddStringToObject(row, "pipeline_name", p->name);
	cJSON_AddStringToObject(row, "state", compressed);
	cJSON_AddStringToObject(row, "created_at", now);
	cJSON_AddStringToObject(row, "version_hash", hash);
	cJSON_AddStringToObject(row, "_dlt_load_id", p->load_id);
	text = cJSON_PrintUnformatted(row);
	if ((f = extract_file(p, "_dlt_pipeline_state")) == NULL)
		rc = PF_ERROR;
	else {
		if (fprintf(f, "%s\n", text) < 0 || fclose(f) != 0)
			rc = ld_pipeline_fail(p, "cannot write the state: %s",
			    strerror(errno));
	}
	cJSON_DeleteItemFromObject(local, "_last_extracted_hash");
	cJSON_AddStringToObject(local, "_last_extracted_hash", hash);
	cJSON_DeleteItemFromObject(local, "_last_extracted_at");
	cJSON_AddStringToObject(local, "_last_extracted_at", now);
	*wrote = 1;
	free(text);
	free(compressed);
	cJSON_Delete(row);
	return rc;
}

int
ld_pipeline_save_schema(pf_pipeline *p)
{
	char	 err[512], *dir = xasprintf("%s/schemas", p->root), *path;
	cJSON	*doc;
	char	*text;
	int	 rc;

	/* Versions as dlt counts them: one for the declared tables, one
	   for each normalize that changes them. */
	ld_schema_bump(p->schema);
	doc = ld_schema_to_json(p->schema);
	text = cJSON_Print(doc);
	path = xasprintf("%s/%s.schema.json", dir, p->name);
	rc = ld_mkdirs(dir, err, sizeof(err)) < 0 ? -1 :
	    ld_write_file(path, text, strlen(text), err, sizeof(err));
	free(dir);
	free(path);
	free(text);
	cJSON_Delete(doc);
	return rc < 0 ? ld_pipeline_fail(p, "%s", err) : PF_OK;
}

static int
save_state(pf_pipeline *p)
{
	char	 err[512], *path = xasprintf("%s/state.json", p->root);
	char	*text = cJSON_PrintUnformatted(p->state);
	int	 rc;

	rc = ld_write_file(path, text, strlen(text), err, sizeof(err));
	free(path);
	free(text);
	return rc < 0 ? ld_pipeline_fail(p, "%s", err) : PF_OK;
}

/* The package's schema and state files, then its rename into view. */
static int
seal_extract(pf_pipeline *p)
{
	char	 err[512], now[32], *path, *text, *final;
	cJSON	*doc = ld_schema_to_json(p->schema), *st;
	int	 rc;

	for (struct pf_resource *r = p->resources; r != NULL; r = r->next)
		if (r->f != NULL) {
			int	bad = fflush(r->f) != 0 || fclose(r->f) != 0;

			r->f = NULL;
			if (bad)
				return ld_pipeline_fail(p, "cannot write the "
				    "items of %s: %s", r->name,
				    strerror(errno));
		}
	path = xasprintf("%s/schema.json", p->extract_dir);
	text = cJSON_Print(doc);
	rc = ld_write_file(path, text, strlen(text), err, sizeof(err));
	free(path);
	free(text);
	cJSON_Delete(doc);
	iso8601_now(now, 0);
	st = cJSON_CreateObject();
	cJSON_AddNumberToObject(st, "_state_version", 1);
	cJSON_AddNumberToObject(st, "_state_engine_version", 1);
	cJSON_AddStringToObject(st, "created_at", now);
	path = xasprintf("%s/load_package_state.json", p->extract_dir);
	text = cJSON_PrintUnformatted(st);
	if (rc == 0)
		rc = ld_write_file(path, text, strlen(text), err, sizeof(err));
	free(path);
	free(text);
	cJSON_Delete(st);
	final = xasprintf("%s/%s/%s", p->root, LD_EXTRACTED, p->load_id);
	if (rc == 0)
		rc = ld_pkg_move(p->extract_dir, final, err, sizeof(err));
	free(final);
	if (rc < 0)
		return ld_pipeline_fail(p, "%s", err);
	free(p->extract_dir);
	p->extract_dir = NULL;
	return PF_OK;
}

PF_EXPORT int
pf_pipeline_extract(pf_pipeline *p)
{
	int	wrote_state, had_items, fresh;

	if (ld_pipeline_failed(p))
		return PF_ERROR;
	/* The body already failed (its configuration): nothing is sealed,
	   so no later run loads what this one extracted. */
	if (p->run->cfg_failures > 0)
		return ld_pipeline_fail(p, "pipeline %s: nothing extracted: %s",
		    p->name, p->run->error != NULL ? p->run->error :
		    "the configuration of this step failed");
	had_items = p->extract_dir != NULL;
	/* A first schema as dlt versions it: the declared tables are
	   version 1, and the one with the state's table is linked to it
	   (their hash first in previous_hashes), still version 1. */
	fresh = p->schema->version_hash == NULL;
	if (fresh)
		ld_schema_bump(p->schema);
	if (extract_state(p, &wrote_state) != PF_OK)
		return PF_ERROR;
	if (fresh)
		ld_schema_link(p->schema);
	if (!had_items && !wrote_state) {
		pf_log_info(p->run, "Extract: no new items for pipeline %s",
		    p->name);
		return ld_pipeline_save_schema(p);
	}
	/* The schema first: a package is never newer than it. */
	if (ld_pipeline_save_schema(p) != PF_OK || seal_extract(p) != PF_OK)
		return PF_ERROR;
	pf_log_info(p->run, "Extracted load package %s of pipeline %s",
	    p->load_id, p->name);
	for (struct pf_resource *r = p->resources; r != NULL; r = r->next) {
		cJSON_Delete(r->cursor_last);
		r->cursor_last = NULL;
	}
	p->load_id[0] = '\0';
	return save_state(p);
}
