/*
 * schema.c: dlt's schema model (load/schema.h): tables and columns with
 * their hints, dlt's JSON document and its version hash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "load/schema.h"
#include "load/state.h"

#define ENGINE_VERSION	11	/* dlt's SCHEMA_ENGINE_VERSION */

static const char *const type_names[LD_NTYPES] = {
	"text", "bigint", "double", "bool", "timestamp", "date", "time",
	"decimal", "wei", "binary", "json"
};

const char *
ld_type_name(enum ld_type t)
{
	return (unsigned)t < LD_NTYPES ? type_names[t] : "text";
}

int
ld_type_parse(const char *name)
{
	for (int i = 0; name != NULL && i < LD_NTYPES; i++)
		if (strcmp(type_names[i], name) == 0)
			return i;
	if (name != NULL && strcmp(name, "complex") == 0)
		return LD_JSON;		/* dlt's old name */
	return -1;
}

const char *
ld_disposition_name(enum ld_disposition d)
{
	static const char *const names[] = {
		"append", "replace", "merge", "skip"
	};

	return (unsigned)d < 4 ? names[d] : "append";
}

/* ------------------------------------------- name -> column index */

struct index {
	size_t		  cap;		/* power of two */
	struct ld_column **slots;
};

static void
index_put(struct index *ix, struct ld_column *c)
{
	size_t	i = (size_t)hash_fnv1a(c->name, strlen(c->name)) &
	    (ix->cap - 1);

	while (ix->slots[i] != NULL)
		i = (i + 1) & (ix->cap - 1);
	ix->slots[i] = c;
}

static void
index_rebuild(struct ld_table *t)
{
	struct index	*ix = t->index;
	size_t		 cap = 16;

	while (cap < t->ncols * 2 + 2)
		cap *= 2;
	if (ix == NULL)
		ix = t->index = xcalloc(1, sizeof(*ix));
	free(ix->slots);
	ix->cap = cap;
	ix->slots = xcalloc(cap, sizeof(*ix->slots));
	for (size_t i = 0; i < t->ncols; i++)
		index_put(ix, t->cols[i]);
}

struct ld_column *
ld_table_column(const struct ld_table *t, const char *name)
{
	const struct index *ix = t->index;
	size_t	i;

	if (ix == NULL)
		return NULL;
	i = (size_t)hash_fnv1a(name, strlen(name)) & (ix->cap - 1);
	for (; ix->slots[i] != NULL; i = (i + 1) & (ix->cap - 1))
		if (strcmp(ix->slots[i]->name, name) == 0)
			return ix->slots[i];
	return NULL;
}

struct ld_column *
ld_table_add_column(struct ld_table *t, const char *name, enum ld_type type,
    int hints)
{
	struct ld_column *c = xcalloc(1, sizeof(*c));

	c->name = xstrdup(name);
	c->type = type;
	c->hints = hints;
	if (t->ncols == t->capcols) {
		t->capcols = t->capcols ? t->capcols * 2 : 16;
		t->cols = xrealloc(t->cols, t->capcols * sizeof(*t->cols));
	}
	t->cols[t->ncols++] = c;
	if (t->index == NULL ||
	    t->ncols * 2 + 2 > ((struct index *)t->index)->cap)
		index_rebuild(t);
	else
		index_put(t->index, c);
	return c;
}

/* --------------------------------------------------------- tables */

struct ld_table *
ld_schema_table(const struct ld_schema *s, const char *name)
{
	for (size_t i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i]->name, name) == 0)
			return s->tables[i];
	return NULL;
}

struct ld_table *
ld_schema_add_table(struct ld_schema *s, const char *name,
    const char *parent, enum ld_disposition d)
{
	struct ld_table	*t = ld_schema_table(s, name);

	if (t != NULL)
		return t;
	t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->parent = parent != NULL ? xstrdup(parent) : NULL;
	t->disposition = d;
	t->max_nesting = -1;
	if (s->ntables == s->captables) {
		s->captables = s->captables ? s->captables * 2 : 8;
		s->tables = xrealloc(s->tables,
		    s->captables * sizeof(*s->tables));
	}
	s->tables[s->ntables++] = t;
	return t;
}

const struct ld_table *
ld_schema_root(const struct ld_schema *s, const struct ld_table *t)
{
	while (t != NULL && t->parent != NULL)
		t = ld_schema_table(s, t->parent);
	return t;
}

static void
table_free(struct ld_table *t)
{
	struct index	*ix = t->index;

	for (size_t i = 0; i < t->ncols; i++) {
		free(t->cols[i]->name);
		free(t->cols[i]->description);
		free(t->cols[i]);
	}
	free(t->cols);
	if (ix != NULL)
		free(ix->slots);
	free(ix);
	free(t->description);
	free(t->file_format);
	free(t->name);
	free(t->parent);
	free(t->resource);
	free(t);
}

void
ld_describe(struct ld_table *t, struct ld_column *col, const char *text)
{
	char	**to = col != NULL ? &col->description : &t->description;

	free(*to);
	*to = text != NULL ? xstrdup(text) : NULL;
}

/* A column of a system table, described as dlt describes it. */
static struct ld_column *
sys_column(struct ld_table *t, const char *name, enum ld_type type,
    int hints, const char *text)
{
	struct ld_column *c = ld_table_add_column(t, name, type, hints);

	ld_describe(t, c, text);
	return c;
}

/* dlt's version_table() and loads_table(). */
static void
add_system_tables(struct ld_schema *s)
{
	struct ld_table	*t;

	t = ld_schema_add_table(s, "_dlt_version", NULL, LD_SKIP);
	t->resource = xstrdup("_dlt_version");
	ld_describe(t, NULL, "Created by DLT. Tracks schema updates");
	sys_column(t, "version", LD_BIGINT, 0, "Numeric version of the "
	    "schema, incremented on each schema change");
	sys_column(t, "engine_version", LD_BIGINT, 0, "Version of the dlt "
	    "schema engine that created this schema");
	sys_column(t, "inserted_at", LD_TIMESTAMP, 0, "Timestamp when this "
	    "schema version was stored");
	sys_column(t, "schema_name", LD_TEXT, 0, "Name of the schema");
	sys_column(t, "version_hash", LD_TEXT, 0, "Unique hash of the schema "
	    "content, used to detect changes");
	sys_column(t, "schema", LD_TEXT, 0, "JSON representation of the "
	    "complete schema definition");
	t = ld_schema_add_table(s, "_dlt_loads", NULL, LD_SKIP);
	t->resource = xstrdup("_dlt_loads");
	ld_describe(t, NULL, "Created by DLT. Tracks completed loads");
	sys_column(t, "load_id", LD_TEXT, 0, "Unique identifier of the load "
	    "operation")->precision = 64;
	sys_column(t, "schema_name", LD_TEXT, LD_NULLABLE, "Name of the "
	    "schema associated with this load");
	sys_column(t, "status", LD_BIGINT, 0, "Status of the load operation "
	    "(0 = success)");
	sys_column(t, "inserted_at", LD_TIMESTAMP, 0, "Timestamp when the "
	    "load was completed");
	sys_column(t, "schema_version_hash", LD_TEXT, LD_NULLABLE, "Hash of "
	    "the schema version used during this load");
}

struct ld_schema *
ld_schema_new(const char *name)
{
	struct ld_schema *s = xcalloc(1, sizeof(*s));

	s->name = xstrdup(name);
	s->version = 1;
	add_system_tables(s);
	return s;
}

void
ld_schema_free(struct ld_schema *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ntables; i++)
		table_free(s->tables[i]);
	for (size_t i = 0; i < s->nprevious; i++)
		free(s->previous_hashes[i]);
	free(s->previous_hashes);
	free(s->tables);
	free(s->version_hash);
	free(s->name);
	free(s);
}

/* ------------------------------------------------------ documents */

static const struct {
	int		 flag;
	const char	*name;
} hint_names[] = {
	{ LD_PRIMARY_KEY, "primary_key" },
	{ LD_UNIQUE, "unique" },
	{ LD_ROW_KEY, "row_key" },
	{ LD_PARENT_KEY, "parent_key" },
	{ LD_ROOT_KEY, "root_key" },
	{ LD_MERGE_KEY, "merge_key" },
	{ LD_VARIANT, "variant" },
	{ LD_INCREMENTAL, "incremental" },
};

static cJSON *
column_json(const struct ld_column *c)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", c->name);
	if (!(c->hints & LD_INCOMPLETE))
		cJSON_AddStringToObject(o, "data_type",
		    ld_type_name(c->type));
	if (!(c->hints & LD_UNSAID))
		cJSON_AddBoolToObject(o, "nullable",
		    (c->hints & LD_NULLABLE) != 0);
	if (c->precision > 0)
		cJSON_AddNumberToObject(o, "precision", c->precision);
	if (c->scale > 0)
		cJSON_AddNumberToObject(o, "scale", c->scale);
	if (c->hints & (LD_NAIVE | LD_TZ))
		cJSON_AddBoolToObject(o, "timezone", !(c->hints & LD_NAIVE));
	for (size_t i = 0; i < sizeof(hint_names) / sizeof(hint_names[0]);
	    i++)
		if (c->hints & hint_names[i].flag)
			cJSON_AddTrueToObject(o, hint_names[i].name);
	if (c->description != NULL)
		cJSON_AddStringToObject(o, "description", c->description);
	return o;
}

static cJSON *
table_json(const struct ld_table *t)
{
	cJSON	*o = cJSON_CreateObject(), *cols;

	cJSON_AddStringToObject(o, "name", t->name);
	cols = cJSON_AddObjectToObject(o, "columns");
	for (size_t i = 0; i < t->ncols; i++)
		cJSON_AddItemToObject(cols, t->cols[i]->name,
		    column_json(t->cols[i]));
	if (t->parent != NULL)
		cJSON_AddStringToObject(o, "parent", t->parent);
	else
		cJSON_AddStringToObject(o, "write_disposition",
		    ld_disposition_name(t->disposition));
	if (t->file_format != NULL)
		cJSON_AddStringToObject(o, "file_format", t->file_format);
	if (t->resource != NULL)
		cJSON_AddStringToObject(o, "resource", t->resource);
	if (t->description != NULL)
		cJSON_AddStringToObject(o, "description", t->description);
	if (t->max_nesting >= 0 || t->seen_data) {
		cJSON	*x = cJSON_AddObjectToObject(o, "x-normalizer");

		if (t->max_nesting >= 0)
			cJSON_AddNumberToObject(x, "max_nesting",
			    t->max_nesting);
		if (t->seen_data)
			cJSON_AddTrueToObject(x, "seen-data");
	}
	return o;
}

/* dlt's settings and normalizers of a default schema. */
static void
add_settings(cJSON *doc, const struct ld_schema *s)
{
	static const char settings[] =
	    "{\"detections\":[\"iso_timestamp\"],\"default_hints\":{"
	    "\"not_null\":[\"_dlt_id\",\"_dlt_root_id\",\"_dlt_parent_id\","
	    "\"_dlt_list_idx\",\"_dlt_load_id\"],\"parent_key\":"
	    "[\"_dlt_parent_id\"],\"root_key\":[\"_dlt_root_id\"],"
	    "\"unique\":[\"_dlt_id\"],\"row_key\":[\"_dlt_id\"]}}";
	cJSON	*norm, *json, *tables = NULL;

	cJSON_AddItemToObject(doc, "settings", cJSON_Parse(settings));
	norm = cJSON_AddObjectToObject(doc, "normalizers");
	cJSON_AddStringToObject(norm, "names", "snake_case");
	json = cJSON_AddObjectToObject(norm, "json");
	cJSON_AddStringToObject(json, "module",
	    "dlt.common.normalizers.json.relational");
	/* Root tables whose children carry _dlt_root_id (merge). */
	for (size_t i = 0; i < s->ntables; i++) {
		const struct ld_table *t = s->tables[i];
		cJSON	*m;

		if (t->parent != NULL || t->disposition != LD_MERGE)
			continue;
		if (tables == NULL) {
			cJSON	*c;

			c = cJSON_AddObjectToObject(json, "config");
			c = cJSON_AddObjectToObject(c, "propagation");
			tables = cJSON_AddObjectToObject(c, "tables");
		}
		m = cJSON_AddObjectToObject(tables, t->name);
		cJSON_AddStringToObject(m, "_dlt_id", "_dlt_root_id");
	}
}

static cJSON *
doc_without_versions(const struct ld_schema *s)
{
	cJSON	*doc = cJSON_CreateObject(), *tables;

	cJSON_AddNumberToObject(doc, "engine_version", ENGINE_VERSION);
	cJSON_AddStringToObject(doc, "name", s->name);
	tables = cJSON_AddObjectToObject(doc, "tables");
	for (size_t i = 0; i < s->ntables; i++)
		cJSON_AddItemToObject(tables, s->tables[i]->name,
		    table_json(s->tables[i]));
	add_settings(doc, s);
	return doc;
}

static int
strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* generate_version_hash: sha3-256 of the sorted document, then the
   table names (sorted) each followed by its column names in order. */
static char *
version_hash(const struct ld_schema *s)
{
	cJSON		*doc = doc_without_versions(s);
	char		*text, **names, *out;
	unsigned char	 md[32], b64[48];
	unsigned int	 mdlen;
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();

	ld_json_sort(doc);
	text = cJSON_PrintUnformatted(doc);
	EVP_DigestInit_ex(ctx, EVP_sha3_256(), NULL);
	EVP_DigestUpdate(ctx, text, strlen(text));
	names = xcalloc(s->ntables + 1, sizeof(*names));
	for (size_t i = 0; i < s->ntables; i++)
		names[i] = s->tables[i]->name;
	qsort(names, s->ntables, sizeof(*names), strcmp_ptr);
	for (size_t i = 0; i < s->ntables; i++) {
		const struct ld_table *t = ld_schema_table(s, names[i]);

		EVP_DigestUpdate(ctx, t->name, strlen(t->name));
		for (size_t j = 0; j < t->ncols; j++)
			EVP_DigestUpdate(ctx, t->cols[j]->name,
			    strlen(t->cols[j]->name));
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	EVP_EncodeBlock(b64, md, (int)mdlen);
	out = xstrdup((char *)b64);
	free(names);
	free(text);
	cJSON_Delete(doc);
	return out;
}

/* dlt's store_prev_hash: first, once, ten at most. Takes h. */
static void
store_prev_hash(struct ld_schema *s, char *h)
{
	for (size_t i = 0; i < s->nprevious; i++)
		if (strcmp(s->previous_hashes[i], h) == 0) {
			free(h);
			return;
		}
	s->previous_hashes = xrealloc(s->previous_hashes,
	    (s->nprevious + 1) * sizeof(char *));
	memmove(s->previous_hashes + 1, s->previous_hashes,
	    s->nprevious * sizeof(char *));
	s->previous_hashes[0] = h;
	if (++s->nprevious > 10)
		free(s->previous_hashes[--s->nprevious]);
}

static int
rehash(struct ld_schema *s, int new_version)
{
	char	*h = version_hash(s);

	if (s->version_hash != NULL && strcmp(s->version_hash, h) == 0) {
		free(h);
		return 0;
	}
	if (s->version_hash != NULL) {
		s->version += new_version;
		store_prev_hash(s, s->version_hash);
	} else if (s->version < 1)
		s->version = 1;
	s->version_hash = h;
	return 1;
}

int
ld_schema_bump(struct ld_schema *s)
{
	return rehash(s, 1);
}

int
ld_schema_link(struct ld_schema *s)
{
	return rehash(s, 0);
}

cJSON *
ld_schema_to_json(const struct ld_schema *s)
{
	cJSON	*doc = doc_without_versions(s), *prev;

	cJSON_AddNumberToObject(doc, "version", (double)s->version);
	cJSON_AddStringToObject(doc, "version_hash",
	    s->version_hash != NULL ? s->version_hash : "");
	prev = cJSON_AddArrayToObject(doc, "previous_hashes");
	for (size_t i = 0; i < s->nprevious; i++)
		cJSON_AddItemToArray(prev,
		    cJSON_CreateString(s->previous_hashes[i]));
	return doc;
}

static int
column_from_json(struct ld_table *t, const cJSON *c, char *err, size_t n)
{
	const cJSON	*name = cJSON_GetObjectItem(c, "name");
	const cJSON	*type = cJSON_GetObjectItem(c, "data_type");
	const cJSON	*nullable = cJSON_GetObjectItem(c, "nullable");
	struct ld_column *col;
	int		 ty, hints = 0;

	if (!cJSON_IsString(name))
		return errorf(err, n, "table %s: a column without a name",
		    t->name);
	if (!cJSON_IsString(type))
		hints |= LD_INCOMPLETE;
	if ((ty = ld_type_parse(cJSON_GetStringValue(type))) < 0)
		ty = LD_TEXT;
	if (nullable == NULL || cJSON_IsTrue(nullable))
		hints |= LD_NULLABLE;
	if (nullable == NULL)
		hints |= LD_UNSAID;
	if (cJSON_IsFalse(cJSON_GetObjectItem(c, "timezone")))
		hints |= LD_NAIVE;
	else if (cJSON_IsTrue(cJSON_GetObjectItem(c, "timezone")))
		hints |= LD_TZ;
	for (size_t i = 0; i < sizeof(hint_names) / sizeof(hint_names[0]);
	    i++)
		if (cJSON_IsTrue(cJSON_GetObjectItem(c, hint_names[i].name)))
			hints |= hint_names[i].flag;
	if (ld_table_column(t, name->valuestring) != NULL)
		return 0;
	col = ld_table_add_column(t, name->valuestring, (enum ld_type)ty,
	    hints);
	if (cJSON_IsString(cJSON_GetObjectItem(c, "description")))
		ld_describe(t, col, cJSON_GetObjectItem(c,
		    "description")->valuestring);
	if (cJSON_IsNumber(cJSON_GetObjectItem(c, "precision")))
		col->precision = cJSON_GetObjectItem(c, "precision")->valueint;
	if (cJSON_IsNumber(cJSON_GetObjectItem(c, "scale")))
		col->scale = cJSON_GetObjectItem(c, "scale")->valueint;
	return 0;
}

static enum ld_disposition
disposition_parse(const char *s)
{
	for (int d = LD_APPEND; d <= LD_SKIP; d++)
		if (s != NULL && strcmp(s, ld_disposition_name(d)) == 0)
			return d;
	return LD_APPEND;
}

struct ld_schema *
ld_schema_from_json(const cJSON *doc, char *err, size_t n)
{
	const cJSON	*name = cJSON_GetObjectItem(doc, "name"), *t, *c;
	const cJSON	*hash = cJSON_GetObjectItem(doc, "version_hash");
	struct ld_schema *s;

	if (!cJSON_IsString(name)) {
		errorf(err, n, "a schema document without a name");
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->name = xstrdup(name->valuestring);
	s->version = (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItem(doc, "version"));
	if (cJSON_IsString(hash) && hash->valuestring[0] != '\0')
		s->version_hash = xstrdup(hash->valuestring);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "previous_hashes"))
		if (cJSON_IsString(c) && s->nprevious < 10) {
			s->previous_hashes = xrealloc(s->previous_hashes,
			    (s->nprevious + 1) * sizeof(char *));
			s->previous_hashes[s->nprevious++] =
			    xstrdup(c->valuestring);
		}
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(doc, "tables")) {
		const cJSON	*parent = cJSON_GetObjectItem(t, "parent");
		const cJSON	*res = cJSON_GetObjectItem(t, "resource");
		struct ld_table	*tab = ld_schema_add_table(s, t->string,
		    cJSON_IsString(parent) ? parent->valuestring : NULL,
		    disposition_parse(cJSON_GetStringValue(
		    cJSON_GetObjectItem(t, "write_disposition"))));

		const cJSON	*x = cJSON_GetObjectItem(t, "x-normalizer");
		const cJSON	*nest = cJSON_GetObjectItem(x, "max_nesting");
		const cJSON	*desc = cJSON_GetObjectItem(t, "description");
		const cJSON	*ff = cJSON_GetObjectItem(t, "file_format");

		if (cJSON_IsString(res) && tab->resource == NULL)
			tab->resource = xstrdup(res->valuestring);
		if (cJSON_IsNumber(nest))
			tab->max_nesting = nest->valueint;
		tab->seen_data = cJSON_IsTrue(cJSON_GetObjectItem(x,
		    "seen-data"));
		if (cJSON_IsString(desc))
			ld_describe(tab, NULL, desc->valuestring);
		if (cJSON_IsString(ff) && tab->file_format == NULL)
			tab->file_format = xstrdup(ff->valuestring);
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(t, "columns"))
			if (column_from_json(tab, c, err, n) < 0) {
				ld_schema_free(s);
				return NULL;
			}
	}
	/* Child tables take their root's disposition. */
	for (size_t i = 0; i < s->ntables; i++)
		if (s->tables[i]->parent != NULL) {
			const struct ld_table *r = ld_schema_root(s,
			    s->tables[i]);

			if (r != NULL)
				s->tables[i]->disposition = r->disposition;
		}
	if (ld_schema_table(s, "_dlt_version") == NULL)
		add_system_tables(s);
	return s;
}
