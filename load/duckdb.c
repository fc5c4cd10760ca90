/*
 * duckdb.c: the DuckDB destination (load/destination.h), on the
 * official libduckdb.so that `scripts/setup duckdb` fetches. The
 * library is opened with dlopen at first use, not linked: a worker
 * that never loads DuckDB keeps its small footprint.
 *
 * Where the library is: $PFAGENT_LIBDUCKDB, else third_party/duckdb/
 * next to the running binary's repository (build/pfagent,
 * build/san/pfagent) or under the current directory, else the dynamic
 * linker's search path.
 *
 * The database is the file dlt's duckdb destination uses for a named
 * destination in a workspace: <local_dir>/<destination name>.duckdb,
 * or destination.<name>.credentials (a path; relative ones are under
 * the local dir). Job files are loaded inside the loader's
 * transaction with read_json, typed by the table's columns, which
 * parses and stores on all of DuckDB's threads; a table wider than
 * WIDE columns through DuckDB's appender instead, since read_json's
 * binding is quadratic in the width (40k columns: 2 minutes).
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* duckdb.h declares some functions without prototypes. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include "duckdb.h"
#pragma GCC diagnostic pop

#include "common/util.h"
#include "config/cfg.h"
#include "load/destination.h"
#include "load/coerce.h"
#include "load/jsonv.h"
#include "load/sql.h"

#define LIB_NAME	"libduckdb.so"

static struct {
	void		*handle;
	duckdb_state	(*open_ext)(const char *, duckdb_database *,
			    duckdb_config, char **);
	void		(*close)(duckdb_database *);
	duckdb_state	(*connect)(duckdb_database, duckdb_connection *);
	void		(*disconnect)(duckdb_connection *);
	duckdb_state	(*query)(duckdb_connection, const char *,
			    duckdb_result *);
	void		(*destroy_result)(duckdb_result *);
	idx_t		(*column_count)(duckdb_result *);
	idx_t		(*row_count)(duckdb_result *);
	idx_t		(*rows_changed)(duckdb_result *);
	const char	*(*result_error)(duckdb_result *);
	duckdb_error_type (*result_error_type)(duckdb_result *);
	char		*(*value_varchar)(duckdb_result *, idx_t, idx_t);
	bool		(*value_is_null)(duckdb_result *, idx_t, idx_t);
	void		(*free)(void *);
	duckdb_state	(*appender_create)(duckdb_connection, const char *,
			    const char *, duckdb_appender *);
	idx_t		(*appender_column_count)(duckdb_appender);
	duckdb_state	(*table_description_create)(duckdb_connection,
			    const char *, const char *,
			    duckdb_table_description *);
	void		(*table_description_destroy)(
			    duckdb_table_description *);
	char		*(*table_description_get_column_name)(
			    duckdb_table_description, idx_t);
	duckdb_state	(*appender_close)(duckdb_appender);
	duckdb_state	(*appender_destroy)(duckdb_appender *);
	const char	*(*appender_error)(duckdb_appender);
	duckdb_state	(*append_data_chunk)(duckdb_appender,
			    duckdb_data_chunk);
	duckdb_logical_type (*create_logical_type)(duckdb_type);
	void		(*destroy_logical_type)(duckdb_logical_type *);
	duckdb_data_chunk (*create_data_chunk)(duckdb_logical_type *, idx_t);
	void		(*destroy_data_chunk)(duckdb_data_chunk *);
	void		(*data_chunk_reset)(duckdb_data_chunk);
	void		(*data_chunk_set_size)(duckdb_data_chunk, idx_t);
	duckdb_vector	(*data_chunk_get_vector)(duckdb_data_chunk, idx_t);
	void		*(*vector_get_data)(duckdb_vector);
	void		(*vector_ensure_validity_writable)(duckdb_vector);
	uint64_t	*(*vector_get_validity)(duckdb_vector);
	void		(*vector_assign_string_element_len)(duckdb_vector, idx_t,
			    const char *, idx_t);
	idx_t		(*vector_size)(void);
} api;

struct duck {
	struct ld_dest		base;
	duckdb_error_type	etype;		/* of the last failure */
	duckdb_database		db;
	duckdb_connection	con;
	char			*path;
};

/* Candidates for the library, most specific first. */
static int
try_open(const char *path, char *why, size_t whylen)
{
	if (path == NULL || (api.handle = dlopen(path, RTLD_NOW |
	    RTLD_LOCAL)) == NULL) {
		if (path != NULL && why[0] == '\0' && access(path, F_OK) == 0)
			errorf(why, whylen, "%s", dlerror());
		return -1;
	}
	return 0;
}

static int
load_library(char *err, size_t errlen)
{
	static const char *const rel[] = {
		"/../third_party/duckdb/" LIB_NAME,
		"/../../third_party/duckdb/" LIB_NAME,
		"/" LIB_NAME,
	};
	char	 exe[PATH_MAX], *dir, why[512] = "", path[PATH_MAX + 64];
	const char *env = getenv("PFAGENT_LIBDUCKDB");
	ssize_t	 n;

	if (api.handle != NULL)
		return 0;
	if (env != NULL && env[0] != '\0') {
		if (try_open(env, why, sizeof(why)) < 0)
			return errorf(err, errlen, "cannot load DuckDB from "
			    "PFAGENT_LIBDUCKDB=%s: %s", env, dlerror());
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			if ((dir = strrchr(exe, '/')) != NULL)
				*dir = '\0';
			for (size_t i = 0; api.handle == NULL &&
			    i < sizeof(rel) / sizeof(rel[0]); i++) {
				snprintf(path, sizeof(path), "%s%s", exe,
				    rel[i]);
				try_open(path, why, sizeof(why));
			}
		}
		if (api.handle == NULL)
			try_open("third_party/duckdb/" LIB_NAME, why,
			    sizeof(why));
		if (api.handle == NULL)
			try_open(LIB_NAME, why, sizeof(why));
		if (api.handle == NULL)
			return errorf(err, errlen, "DuckDB library %s not "
			    "found%s%s: run `scripts/setup duckdb` in the "
			    "pfagent repository, or set PFAGENT_LIBDUCKDB to "
			    "its path", LIB_NAME, why[0] ? ": " : "", why);
	}
#define SYM(f, name) \
	if ((*(void **)&api.f = dlsym(api.handle, name)) == NULL) \
		return errorf(err, errlen, "DuckDB library lacks %s", name)
	SYM(open_ext, "duckdb_open_ext");
	SYM(close, "duckdb_close");
	SYM(connect, "duckdb_connect");
	SYM(disconnect, "duckdb_disconnect");
	SYM(query, "duckdb_query");
	SYM(destroy_result, "duckdb_destroy_result");
	SYM(column_count, "duckdb_column_count");
	SYM(row_count, "duckdb_row_count");
	SYM(rows_changed, "duckdb_rows_changed");
	SYM(result_error, "duckdb_result_error");
	SYM(result_error_type, "duckdb_result_error_type");
	SYM(value_varchar, "duckdb_value_varchar");
	SYM(value_is_null, "duckdb_value_is_null");
	SYM(free, "duckdb_free");
	SYM(appender_create, "duckdb_appender_create");
	SYM(appender_column_count, "duckdb_appender_column_count");
	SYM(table_description_create, "duckdb_table_description_create");
	SYM(table_description_destroy, "duckdb_table_description_destroy");
	SYM(table_description_get_column_name,
	    "duckdb_table_description_get_column_name");
	SYM(appender_close, "duckdb_appender_close");
	SYM(appender_destroy, "duckdb_appender_destroy");
	SYM(appender_error, "duckdb_appender_error");
	SYM(append_data_chunk, "duckdb_append_data_chunk");
	SYM(create_logical_type, "duckdb_create_logical_type");
	SYM(destroy_logical_type, "duckdb_destroy_logical_type");
	SYM(create_data_chunk, "duckdb_create_data_chunk");
	SYM(destroy_data_chunk, "duckdb_destroy_data_chunk");
	SYM(data_chunk_reset, "duckdb_data_chunk_reset");
	SYM(data_chunk_set_size, "duckdb_data_chunk_set_size");
	SYM(data_chunk_get_vector, "duckdb_data_chunk_get_vector");
	SYM(vector_get_data, "duckdb_vector_get_data");
	SYM(vector_ensure_validity_writable,
	    "duckdb_vector_ensure_validity_writable");
	SYM(vector_get_validity, "duckdb_vector_get_validity");
	SYM(vector_assign_string_element_len,
	    "duckdb_vector_assign_string_element_len");
	SYM(vector_size, "duckdb_vector_size");
#undef SYM
	return 0;
}

/* The database file, as dlt's DuckDbCredentials places it. */
static char *
database_path(const struct ld_dest_config *c, char *err, size_t errlen)
{
	struct cfg_field f = { 0 };
	struct cfg_value v = { 0 };
	const char	*given = NULL;
	char		*path, *sections;

	sections = xasprintf("destination.%s", c->name);
	f.sections = sections;
	f.key = "credentials";
	f.pipeline = c->pipeline;
	f.type = CFG_ANY;
	f.flags = CFG_OPTIONAL | CFG_NO_VAULT;
	if (c->cfg != NULL && cfg_resolve(c->cfg, &f, &v, err, errlen) < 0) {
		free(sections);
		return NULL;
	}
	free(sections);
	if (cJSON_IsString(v.value))
		given = v.value->valuestring;
	else if (cJSON_IsObject(v.value) && cJSON_IsString(
	    cJSON_GetObjectItem(v.value, "database")))
		given = cJSON_GetObjectItem(v.value, "database")->valuestring;
	if (given != NULL && strncmp(given, "duckdb:///", 10) == 0)
		given += 10;
	if (given != NULL && strcmp(given, ":memory:") == 0) {
		cfg_value_cleanup(&v);
		errorf(err, errlen, "destination %s: a DuckDB database in "
		    "memory (:memory:) is not supported, as in dlt", c->name);
		return NULL;
	}
	if (given == NULL || given[0] == '\0')
		path = xasprintf("%s/%s.duckdb", c->local_dir, c->name);
	else if (given[0] == '/')
		path = xstrdup(given);
	else
		path = xasprintf("%s/%s", c->local_dir, given);
	cfg_value_cleanup(&v);
	return path;
}

static int
duck_open(const struct ld_dest_config *c, struct ld_dest **out, char *err,
    size_t errlen)
{
	struct duck	*d;
	char		*open_err = NULL, *path, *slash;

	if (load_library(err, errlen) < 0)
		return -1;
	if ((path = database_path(c, err, errlen)) == NULL)
		return -1;
	if ((slash = strrchr(path, '/')) != NULL && slash != path) {
		*slash = '\0';
		mkdir_p(path, 0755);
		*slash = '/';
	}
	d = xcalloc(1, sizeof(*d));
	d->base.ops = &ld_duckdb_ops;
	d->path = path;
	if (api.open_ext(path, &d->db, NULL, &open_err) != DuckDBSuccess) {
		errorf(err, errlen, "cannot open DuckDB database %s: %s", path,
		    open_err != NULL ? open_err : "unknown error");
		api.free(open_err);
		free(path);
		free(d);
		return -1;
	}
	if (api.connect(d->db, &d->con) != DuckDBSuccess) {
		errorf(err, errlen, "cannot connect to DuckDB database %s",
		    path);
		api.close(&d->db);
		free(path);
		free(d);
		return -1;
	}
	*out = &d->base;
	return 0;
}

static void
duck_close(struct ld_dest *base)
{
	struct duck	*d = (struct duck *)base;

	if (d == NULL)
		return;
	api.disconnect(&d->con);
	api.close(&d->db);
	free(d->path);
	free(d);
}

/*
 * dlt's terminal errors of DuckDB (duckdb sql_client's
 * _make_database_exception): what the data or the schema make fail
 * (DataError, IntegrityError, ProgrammingError, NotImplemented). I/O,
 * memory, transactions, parsing and input errors are transient there.
 */
static int
is_terminal(duckdb_error_type t)
{
	switch (t) {
	case DUCKDB_ERROR_OUT_OF_RANGE:
	case DUCKDB_ERROR_CONVERSION:
	case DUCKDB_ERROR_UNKNOWN_TYPE:
	case DUCKDB_ERROR_DECIMAL:
	case DUCKDB_ERROR_MISMATCH_TYPE:
	case DUCKDB_ERROR_DIVIDE_BY_ZERO:
	case DUCKDB_ERROR_INVALID_TYPE:
	case DUCKDB_ERROR_NOT_IMPLEMENTED:
	case DUCKDB_ERROR_CATALOG:
	case DUCKDB_ERROR_BINDER:
	case DUCKDB_ERROR_CONSTRAINT:
	case DUCKDB_ERROR_DEPENDENCY:
		return 1;
	default:
		return 0;
	}
}

static int
run(struct duck *d, const char *sql, duckdb_result *r, char *err,
    size_t errlen)
{
	if (api.query(d->con, sql, r) != DuckDBSuccess) {
		d->etype = api.result_error_type(r);
		d->base.terminal = is_terminal(d->etype);
		errorf(err, errlen, "DuckDB %s: %s", d->path,
		    api.result_error(r) != NULL ? api.result_error(r) :
		    "query failed");
		api.destroy_result(r);
		return -1;
	}
	return 0;
}

static int
duck_exec(struct ld_dest *base, const char *sql, char *err, size_t errlen)
{
	duckdb_result	r;

	if (run((struct duck *)base, sql, &r, err, errlen) < 0)
		return -1;
	api.destroy_result(&r);
	return 0;
}

static int
duck_query(struct ld_dest *base, const char *sql, ld_row_fn fn, void *arg,
    char *err, size_t errlen)
{
	duckdb_result	 r;
	idx_t		 rows, cols;
	char		**vals;
	int		 stop = 0;

	if (run((struct duck *)base, sql, &r, err, errlen) < 0)
		return -1;
	rows = api.row_count(&r);
	cols = api.column_count(&r);
	vals = xcalloc(cols + 1, sizeof(*vals));
	for (idx_t i = 0; i < rows && !stop; i++) {
		for (idx_t c = 0; c < cols; c++)
			vals[c] = api.value_is_null(&r, c, i) ? NULL :
			    api.value_varchar(&r, c, i);
		stop = fn(arg, (size_t)cols, (const char *const *)vals);
		for (idx_t c = 0; c < cols; c++)
			api.free(vals[c]);
	}
	free(vals);
	api.destroy_result(&r);
	return 0;
}

/* ------------------------------------------------------ appending */

/*
 * A wide table's job goes in through DuckDB's appender, a data chunk of
 * the table's columns at a time, read here: bigint, double, bool and
 * timestamps converted here, the other types cast by DuckDB from text.
 * The chunk holds fewer rows the wider it is (a page of memory per
 * column at least).
 */
#define WIDE	1024	/* columns */

/* How a column's values go into a chunk. */
enum conv { C_TEXT, C_BIGINT, C_DOUBLE, C_BOOL, C_TS };

struct chunk_col {
	duckdb_vector	 vec;
	void		*data;
	uint64_t	*valid;
};

struct chunk {
	duckdb_data_chunk	 dc;
	struct chunk_col	*cols;
	idx_t			 n;		/* rows */
};

struct append {
	struct duck		*d;
	duckdb_appender		 app;
	size_t			 ncols;		/* the table's, in DuckDB */
	long			*at;		/* each one's index in t, or -1 */
	enum conv		*conv;
	struct chunk		 chunk;
	idx_t			 max;		/* rows per chunk */
	long long		 rows;		/* read */
	const char		*path;
	const struct ld_table	*t;
};

/* "ds"."table" back into its two names (ld_sql_qualified's form). */
static int
unquote(const char **p, char **out)
{
	struct buf	b;
	const char	*s = *p;

	if (*s++ != '"')
		return -1;
	buf_init(&b, (size_t)-1);
	buf_append(&b, "", 0);
	for (;;) {
		if (*s == '\0') {
			buf_cleanup(&b);
			return -1;
		}
		if (*s == '"' && s[1] != '"')
			break;
		buf_append(&b, s, 1);
		s += *s == '"' ? 2 : 1;
	}
	*p = s + 1;
	*out = buf_steal(&b);
	return 0;
}

static enum conv
conv_of(const struct ld_column *c, duckdb_type *type)
{
	switch (c->type) {
	case LD_BIGINT:
		*type = DUCKDB_TYPE_BIGINT;
		return C_BIGINT;
	case LD_DOUBLE:
		*type = DUCKDB_TYPE_DOUBLE;
		return C_DOUBLE;
	case LD_BOOL:
		*type = DUCKDB_TYPE_BOOLEAN;
		return C_BOOL;
	case LD_TIMESTAMP:
		*type = (c->hints & LD_NAIVE) ? DUCKDB_TYPE_TIMESTAMP :
		    DUCKDB_TYPE_TIMESTAMP_TZ;
		return C_TS;
	default:
		/* DuckDB casts the text: decimal, date, time, json, ... */
		*type = DUCKDB_TYPE_VARCHAR;
		return C_TEXT;
	}
}

/* A chunk emptied: its vectors, every value null until set. */
static void
chunk_begin(struct append *a, struct chunk *ch)
{
	ch->n = 0;
	api.data_chunk_reset(ch->dc);
	for (size_t i = 0; i < a->ncols; i++) {
		struct chunk_col *c = &ch->cols[i];

		c->vec = api.data_chunk_get_vector(ch->dc, i);
		c->data = api.vector_get_data(c->vec);
		api.vector_ensure_validity_writable(c->vec);
		c->valid = api.vector_get_validity(c->vec);
		memset(c->valid, 0, (a->max + 63) / 64 * sizeof(uint64_t));
	}
}

/* An integer's text (as a job line has it), or -1. */
static int
text_int(const char *s, size_t n, int64_t *out)
{
	unsigned long long u = 0;
	size_t		 i = s[0] == '-';
	unsigned long long lim = i ? (1ULL << 63) : (1ULL << 63) - 1;

	if (n == i || n - i > 19)
		return -1;
	for (; i < n; i++) {
		unsigned	d = (unsigned)(s[i] - '0');

		if (d > 9 || u > (lim - d) / 10)
			return -1;
		u = u * 10 + d;
	}
	*out = s[0] == '-' ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

static int
set_value(struct append *a, struct chunk *ch, size_t col, const char *v,
    size_t n, char *err, size_t errlen)
{
	struct chunk_col *c = &ch->cols[col];
	idx_t		  k = ch->n;
	long long	  us;

	switch (a->conv[col]) {
	case C_BIGINT:
		if (text_int(v, n, &((int64_t *)c->data)[k]) < 0)
			goto bad;
		break;
	case C_DOUBLE:
		if (jv_number(v, n, &((double *)c->data)[k]) < 0)
			goto bad;
		break;
	case C_BOOL:
		if (n == 4 && memcmp(v, "true", 4) == 0)
			((bool *)c->data)[k] = true;
		else if (n == 5 && memcmp(v, "false", 5) == 0)
			((bool *)c->data)[k] = false;
		else
			goto bad;
		break;
	case C_TS:
		if (ld_parse_iso(v, n, &us) == 0)
			goto bad;
		((int64_t *)c->data)[k] = us;
		break;
	default:
		api.vector_assign_string_element_len(c->vec, k, v, n);
	}
	c->valid[k / 64] |= 1ULL << (k % 64);
	return 0;
bad:
	a->d->base.terminal = 1;
	return errorf(err, errlen, "%s: row %lld: column `%s` (%s): '%.*s' "
	    "is not a value of its type", a->path, a->rows + 1,
	    a->t->cols[a->at[col]]->name,
	    ld_type_name(a->t->cols[a->at[col]]->type),
	    n > 64 ? 64 : (int)n, v);
}

static int
append_chunk(struct append *a, struct chunk *ch, char *err, size_t errlen)
{
	long long	first = a->rows - (long long)ch->n + 1;

	if (ch->n == 0)
		return 0;
	api.data_chunk_set_size(ch->dc, ch->n);
	if (api.append_data_chunk(a->app, ch->dc) != DuckDBSuccess) {
		/* The appender fails on values its casts refuse: the
		   data's. */
		a->d->base.terminal = 1;
		return errorf(err, errlen, "DuckDB %s: rows %lld to %lld of "
		    "%s: %s", a->d->path, first, first + (long long)ch->n - 1,
		    a->path, api.appender_error(a->app) != NULL ?
		    api.appender_error(a->app) : "not appended");
	}
	chunk_begin(a, ch);
	return 0;
}

static int
append_row(void *arg, const struct ld_table *t, const char *const *values,
    const size_t *lengths, char *err, size_t errlen)
{
	struct append	*a = arg;
	struct chunk	*ch = &a->chunk;

	(void)t;
	for (size_t i = 0; i < a->ncols; i++) {
		long	at = a->at[i];

		if (at >= 0 && values[at] != NULL && set_value(a, ch, i,
		    values[at], lengths[at], err, errlen) < 0)
			return -1;
	}
	ch->n++;
	a->rows++;
	return ch->n == a->max ? append_chunk(a, ch, err, errlen) : 0;
}

/* t's columns sorted by address, to find a column's index. */
struct colidx {
	const struct ld_column	*c;
	long			 i;
};

static int
by_address(const void *a, const void *b)
{
	uintptr_t	x = (uintptr_t)((const struct colidx *)a)->c;
	uintptr_t	y = (uintptr_t)((const struct colidx *)b)->c;

	return x < y ? -1 : x > y;
}

/* A column of t by name, as its index in t, or -1. */
static long
column_at(const struct ld_table *t, const struct colidx *v,
    const char *name)
{
	struct colidx	 key = { ld_table_column(t, name), 0 };
	struct colidx	*hit;

	if (key.c == NULL)
		return -1;
	hit = bsearch(&key, v, t->ncols, sizeof(*v), by_address);
	return hit != NULL ? hit->i : -1;
}

/*
 * Each column of the table in DuckDB (whose order may differ from the
 * schema's): its index in t and how its values are written. Naming
 * them to the appender one by one (its active column list) would
 * rebuild its chunk each time, quadratic in the width.
 */
static int
map_columns(struct duck *d, struct append *a, const char *schema,
    const char *table, duckdb_logical_type *types)
{
	duckdb_table_description desc = NULL;
	struct colidx		*byaddr;
	const struct ld_table	*t = a->t;

	if (api.table_description_create(d->con, schema, table, &desc) !=
	    DuckDBSuccess) {
		api.table_description_destroy(&desc);
		return -1;
	}
	byaddr = xcalloc(t->ncols + 1, sizeof(*byaddr));
	for (size_t i = 0; i < t->ncols; i++)
		byaddr[i] = (struct colidx){ t->cols[i], (long)i };
	qsort(byaddr, t->ncols, sizeof(*byaddr), by_address);
	for (size_t i = 0; i < a->ncols; i++) {
		char		*name = api.table_description_get_column_name(
		    desc, i);
		duckdb_type	 type = DUCKDB_TYPE_VARCHAR;
		long		 at = name != NULL ? column_at(t, byaddr,
		    name) : -1;

		api.free(name);
		/* A column the package does not fill stays null. */
		if (at >= 0 && (t->cols[at]->hints & LD_INCOMPLETE))
			at = -1;
		a->at[i] = at;
		a->conv[i] = at >= 0 ? conv_of(t->cols[at], &type) : C_TEXT;
		types[i] = api.create_logical_type(type);
	}
	free(byaddr);
	api.table_description_destroy(&desc);
	return 0;
}

/* The appender on the job's table and two chunks of its columns. */
static int
append_open(struct duck *d, struct append *a, const char *qualified,
    char *err, size_t errlen)
{
	const char		*p = qualified;
	char			*schema = NULL, *table = NULL;
	duckdb_logical_type	*types = NULL;
	int			 rc = 0;

	if (unquote(&p, &schema) < 0 || *p++ != '.' ||
	    unquote(&p, &table) < 0) {
		free(schema);
		return errorf(err, errlen, "bad table name %s", qualified);
	}
	if (api.appender_create(d->con, schema, table, &a->app) !=
	    DuckDBSuccess)
		rc = -1;
	else {
		a->ncols = (size_t)api.appender_column_count(a->app);
		a->at = xcalloc(a->ncols + 1, sizeof(*a->at));
		a->conv = xcalloc(a->ncols + 1, sizeof(*a->conv));
		types = xcalloc(a->ncols + 1, sizeof(*types));
		rc = map_columns(d, a, schema, table, types);
	}
	free(schema);
	free(table);
	if (rc < 0) {
		free(types);
		return errorf(err, errlen, "DuckDB %s: cannot append to %s: %s",
		    d->path, qualified, a->app != NULL &&
		    api.appender_error(a->app) != NULL ?
		    api.appender_error(a->app) : "no such table");
	}
	/* A wide table's chunks hold fewer rows: bounded memory. */
	a->max = api.vector_size();
	while (a->max > 1 && a->max * (a->ncols + 1) > (1u << 19))
		a->max /= 2;
	a->chunk.dc = api.create_data_chunk(types, a->ncols);
	a->chunk.cols = xcalloc(a->ncols + 1, sizeof(*a->chunk.cols));
	chunk_begin(a, &a->chunk);
	for (size_t i = 0; i < a->ncols; i++)
		api.destroy_logical_type(&types[i]);
	free(types);
	return 0;
}

static int
copy_append(struct ld_dest *base, const char *qualified,
    const struct ld_table *t, const char *path, long long *rows, char *err,
    size_t errlen)
{
	struct duck	*d = (struct duck *)base;
	struct append	 a = { .d = d, .path = path, .t = t };
	int		 rc;

	*rows = 0;
	if ((rc = append_open(d, &a, qualified, err, errlen)) == 0)
		rc = ld_job_read(path, t, append_row, &a, err, errlen);
	if (rc == 0)
		rc = append_chunk(&a, &a.chunk, err, errlen);
	if (rc == 0 && api.appender_close(a.app) != DuckDBSuccess)
		rc = errorf(err, errlen, "DuckDB %s: cannot append %s: %s",
		    d->path, path, api.appender_error(a.app) != NULL ?
		    api.appender_error(a.app) : "unknown error");
	if (a.chunk.dc != NULL)
		api.destroy_data_chunk(&a.chunk.dc);
	free(a.chunk.cols);
	if (a.app != NULL)
		api.appender_destroy(&a.app);
	free(a.at);
	free(a.conv);
	*rows = rc == 0 ? a.rows : 0;
	return rc;
}

/* INSERT ... SELECT FROM read_json: DuckDB parses and stores in parallel. */
static int
copy_read_json(struct ld_dest *base, const char *qualified,
    const struct ld_table *t, const char *path, long long *rows, char *err,
    size_t errlen)
{
	const struct ld_dialect *dl = ld_duckdb_ops.dialect;
	struct buf	 sql, cols, types;
	duckdb_result	 r;
	char		*lit = ld_sql_literal(dl, path);

	buf_init(&sql, (size_t)-1);
	buf_init(&cols, (size_t)-1);
	buf_init(&types, (size_t)-1);
	for (size_t i = 0; i < t->ncols; i++) {
		const struct ld_column *c = t->cols[i];
		char	*id, *name, *type;

		if (c->hints & LD_INCOMPLETE)
			continue;
		id = ld_sql_ident(dl, c->name);
		name = ld_sql_literal(dl, c->name);
		type = ld_sql_type(dl, c);
		buf_printf(&cols, "%s%s", cols.len ? ", " : "", id);
		buf_printf(&types, "%s%s: '%s'", types.len ? ", " : "", name,
		    type);
		free(id);
		free(name);
		free(type);
	}
	buf_printf(&sql, "INSERT INTO %s (%s) SELECT %s FROM read_json(%s, "
	    "format = 'newline_delimited', columns = {%s}, "
	    "maximum_object_size = 1073741824)", qualified, cols.data,
	    cols.data, lit, types.data);
	free(lit);
	buf_cleanup(&cols);
	buf_cleanup(&types);
	if (run((struct duck *)base, sql.data, &r, err, errlen) < 0) {
		/* read_json's "JSON transform error" (a value its column
		   cannot take) and "Malformed JSON" (a damaged job) are
		   invalid input to DuckDB: here, the data's, for good. */
		if (((struct duck *)base)->etype == DUCKDB_ERROR_INVALID_INPUT)
			base->terminal = 1;
		buf_cleanup(&sql);
		return -1;
	}
	buf_cleanup(&sql);
	*rows = (long long)api.rows_changed(&r);
	api.destroy_result(&r);
	return 0;
}

static int
duck_copy_job(struct ld_dest *base, const char *qualified,
    const struct ld_table *t, const char *path, long long *rows, char *err,
    size_t errlen)
{
	return (t->ncols > WIDE ? copy_append : copy_read_json)(base,
	    qualified, t, path, rows, err, errlen);
}

/* dlt's duckdb type mapper (dlt/destinations/impl/duckdb/factory.py). */
static const struct ld_dialect dialect_of_duckdb = {
	.type_names = {
		[LD_TEXT] = "VARCHAR",
		[LD_BIGINT] = "BIGINT",
		[LD_DOUBLE] = "DOUBLE",
		[LD_BOOL] = "BOOLEAN",
		[LD_TIMESTAMP] = "TIMESTAMP WITH TIME ZONE",
		[LD_DATE] = "DATE",
		[LD_TIME] = "TIME",
		[LD_DECIMAL] = "DECIMAL",
		[LD_WEI] = "DECIMAL",
		[LD_BINARY] = "BLOB",
		[LD_JSON] = "JSON",
	},
	.type_formats = {
		[LD_DECIMAL] = "DECIMAL(%d,%d)",
		[LD_WEI] = "DECIMAL(%d,%d)",
	},
	.naive_timestamp = "TIMESTAMP",
	.decimal_precision = 38,
	.decimal_scale = 9,
	.wei_precision = 38,
	.wei_scale = 0,
	.max_identifier_length = 65536,
	.truncate = "TRUNCATE TABLE",
};

const struct ld_dest_ops ld_duckdb_ops = {
	.type = "duckdb",
	.dialect = &dialect_of_duckdb,
	.open = duck_open,
	.close = duck_close,
	.exec = duck_exec,
	.query = duck_query,
	.copy_job = duck_copy_job,
};
