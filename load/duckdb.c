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
 * transaction with COPY ... FROM (FORMAT json), typed by the table's
 * columns, which parses and stores on all of DuckDB's threads, keeping
 * no order among the rows.
 */
#include <dlfcn.h>
#include <limits.h>
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
#include "load/sql.h"

#define LIB_NAME	"libduckdb.so"
#define WIDE		1000	/* columns: a wide table */

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

static int	duck_exec(struct ld_dest *, const char *, char *, size_t);
static void	duck_close(struct ld_dest *);

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
	/* A load's rows keep no order (dlt's merge keeps an arbitrary
	   one of duplicate keys too); keeping the file's costs COPY a
	   third of its time (1M records: 4.8 -> 3.3 s). */
	if (duck_exec(&d->base, "SET preserve_insertion_order = false", err,
	    errlen) < 0) {
		duck_close(&d->base);
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

/*
 * COPY ... FROM the job file, typed by the table's own columns: DuckDB
 * parses and stores on all its threads. Not INSERT ... SELECT FROM
 * read_json: its columns argument binds in time quadratic in the width
 * (40k columns: 2 minutes), and the maximum_object_size a row of a wide
 * table needs slows every read (1M records: 5.2 s against 4.5 s); COPY
 * needs neither (4.0 s).
 */
static int
duck_copy_job(struct ld_dest *base, const char *qualified,
    const struct ld_table *t, const char *path, long long *rows, char *err,
    size_t errlen)
{
	const struct ld_dialect *dl = ld_duckdb_ops.dialect;
	struct buf	 sql;
	duckdb_result	 r;
	char		*lit = ld_sql_literal(dl, path);

	/* A wide table's checkpoint holds every column's buffers per
	   thread: one thread from here to the connection's close (peak
	   at 10k, 40k, 100k columns: 1.1, 1.5, 2.3 GiB against 1.2, 1.6,
	   2.8; load 4.0, 16.4, 31.7 s against 2.6, 13.3, 37.6). */
	if (t->ncols > WIDE && duck_exec(base, "SET threads = 1", err,
	    errlen) < 0)
		return -1;
	buf_init(&sql, (size_t)-1);
	buf_printf(&sql, "COPY %s (", qualified);
	for (size_t i = 0, n = 0; i < t->ncols; i++) {
		char	*id;

		if (t->cols[i]->hints & LD_INCOMPLETE)
			continue;
		id = ld_sql_ident(dl, t->cols[i]->name);
		buf_printf(&sql, "%s%s", n++ ? ", " : "", id);
		free(id);
	}
	buf_printf(&sql, ") FROM %s (FORMAT json)", lit);
	free(lit);
	if (run((struct duck *)base, sql.data, &r, err, errlen) < 0) {
		/* "JSON transform error" (a value its column cannot take)
		   and "Malformed JSON" (a damaged job) are invalid input to
		   DuckDB: here, the data's, for good. */
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
