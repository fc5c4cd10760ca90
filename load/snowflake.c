/*
 * snowflake.c: the Snowflake destination (load/destination.h) over
 * Snowflake's REST protocol (snowflake/session.h), as dlt's snowflake
 * destination (dlt/destinations/impl/snowflake) makes its tables:
 * identifiers upper-cased and quoted, its type mapping, the staging
 * dataset <DATASET>_STAGING, DDL before a package's transaction (DDL
 * commits in Snowflake) and the rest of the package in one
 * transaction.
 *
 * A job file is loaded as dlt loads it, PUT into the table's stage and
 * COPY INTO the table (snowflake/stage.h moves the bytes), when the
 * server stages: it lists CLIENT_STAGE_ARRAY_BINDING_THRESHOLD (the
 * parameter Snowflake's drivers read before staging binds) above 0. A
 * server that does not (fakesnow) gets the rows as array-bound
 * multi-row INSERTs. destination.<name>.load_method ("stage", "insert")
 * overrides the choice.
 *
 * Credentials are dlt's SnowflakeCredentials
 * (load/snowflake_credentials.h); no message out of here holds a
 * password, key or token, and the server is named as
 * snowflake://user:***@host/database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/log.h"
#include "common/util.h"
#include "config/cfg.h"
#include "load/destination.h"
#include "load/snowflake_credentials.h"
#include "load/snowflake_sql.h"
#include "load/sql.h"
#include "snowflake/session.h"
#include "snowflake/stage.h"

/*
 * Rows of one array-bound INSERT: Snowflake's drivers send up to
 * 65280 bound values inline (CLIENT_STAGE_ARRAY_BINDING_THRESHOLD's
 * default) and stage the rest; and a server that runs the rows one by
 * one (fakesnow: ~30 rows/s) must answer one request well within the
 * client's 300 s without a byte, so at most 1000 rows.
 */
#define INSERT_VALUES	65280
#define INSERT_ROWS	1000
#define INSERT_BYTES	(8u << 20)

enum method { AUTO, STAGE, INSERT };

struct snow {
	struct ld_dest		 base;
	struct sf_session	*s;
	char			*name;		/* the destination's */
	char			*location;	/* snowflake://u:***@h/db */
	char			*secrets[2];	/* to mask in messages */
	enum method		 method;
};

/* dlt's SnowflakeTypeMapper and capabilities (factory.py). */
static const struct ld_dialect snowflake_dialect = {
	.type_names = {
		[LD_TEXT] = "VARCHAR",
		[LD_BIGINT] = "NUMBER(19,0)",
		[LD_DOUBLE] = "FLOAT",
		[LD_BOOL] = "BOOLEAN",
		/* use_timestamp_tz is false by default: LTZ */
		[LD_TIMESTAMP] = "TIMESTAMP_LTZ",
		[LD_DATE] = "DATE",
		[LD_TIME] = "TIME",
		[LD_DECIMAL] = "DECIMAL",
		[LD_WEI] = "DECIMAL",
		[LD_BINARY] = "BINARY",
		[LD_JSON] = "VARIANT",
	},
	.type_formats = {
		[LD_TEXT] = "VARCHAR(%d)",
		[LD_TIMESTAMP] = "TIMESTAMP_LTZ(%d)",
		[LD_TIME] = "TIME(%d)",
		[LD_DECIMAL] = "NUMBER(%d,%d)",
		[LD_WEI] = "NUMBER(%d,%d)",
	},
	.naive_timestamp = "TIMESTAMP_NTZ",
	.naive_timestamp_format = "TIMESTAMP_NTZ(%d)",
	.decimal_precision = 38,
	.decimal_scale = 9,
	.wei_precision = 38,
	.wei_scale = 0,
	.max_identifier_length = 255,
	.truncate = "TRUNCATE TABLE",
	.unique_attr = NULL,		/* create_indexes is false */
	.upper_case = 1,
	.backslash_escapes = 1,
	.ddl_commits = 1,
	.dedup_order_by = "(SELECT NULL)",
};

/* err with every secret of d masked (the server may echo a value). */
static void
mask(const struct snow *d, char *err)
{
	char	*p;

	for (size_t i = 0; i < 2; i++) {
		const char	*sec = d->secrets[i];
		size_t		 n = sec != NULL ? strlen(sec) : 0;

		while (n > 0 && (p = strstr(err, sec)) != NULL) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + n, strlen(p + n) + 1);
		}
	}
}

/* ----------------------------------------------------------- open */

static char *
config_text(struct cfg *cfg, const char *dest, const char *key)
{
	struct cfg_field f = { 0 };
	struct cfg_value v;
	char		 err[1024], *sections = xasprintf("destination.%s",
	    dest), *out = NULL;

	f.sections = sections;
	f.key = key;
	f.type = CFG_STR;
	f.flags = CFG_OPTIONAL | CFG_NO_VAULT;
	if (cfg_resolve(cfg, &f, &v, err, sizeof(err)) == 0) {
		if (cfg_value_str(&v) != NULL)
			out = xstrdup(cfg_value_str(&v));
		cfg_value_cleanup(&v);
	}
	free(sections);
	return out;
}

static int
load_method(struct snow *d, struct cfg *cfg, char *err, size_t errlen)
{
	char	*m = config_text(cfg, d->name, "load_method");
	int	 rc = 0;

	if (m == NULL || strcasecmp(m, "auto") == 0)
		d->method = AUTO;
	else if (strcasecmp(m, "stage") == 0)
		d->method = STAGE;
	else if (strcasecmp(m, "insert") == 0)
		d->method = INSERT;
	else
		rc = errorf(err, errlen, "destination.%s.load_method `%s` is "
		    "none of auto, stage, insert", d->name, m);
	free(m);
	return rc;
}

static int
sn_open(const struct ld_dest_config *c, struct ld_dest **out, char *err,
    size_t errlen)
{
	struct sfc_credentials	 cr;
	struct sf_conf		 conf = { 0 };
	struct snow		*d;
	char			*host, *schema;

	*out = NULL;
	if (sfc_credentials_resolve(c->cfg, c->name, c->pipeline, &cr, err,
	    errlen) == -1)
		return -1;
	d = xcalloc(1, sizeof(*d));
	d->base.ops = &ld_snowflake_ops;
	d->name = xstrdup(c->name);
	d->location = sfc_credentials_location(&cr);
	d->secrets[0] = cr.password ? xstrdup(cr.password) : NULL;
	d->secrets[1] = cr.private_key_passphrase ?
	    xstrdup(cr.private_key_passphrase) : NULL;
	if (load_method(d, c->cfg, err, errlen) == -1) {
		sfc_credentials_cleanup(&cr);
		ld_snowflake_ops.close(&d->base);
		return -1;
	}
	host = cr.port != 0 ? xasprintf("%s:%d", cr.host, cr.port) :
	    xstrdup(cr.host);
	/* dlt logs in with the dataset as the schema (the connector's
	   schema=fully_qualified_dataset_name()). */
	schema = ld_sql_name(&snowflake_dialect, c->dataset ? c->dataset : "");
	conf.host = host;
	conf.protocol = cr.protocol;
	conf.user = cr.username;
	conf.password = cr.password;
	conf.authenticator = cr.authenticator;
	conf.private_key = cr.private_key;
	conf.private_key_passphrase = cr.private_key_passphrase;
	conf.database = cr.database;
	conf.schema = *schema ? schema : NULL;
	conf.warehouse = cr.warehouse;
	conf.role = cr.role;
	conf.timezone = cr.session_timezone;
	d->s = sf_open(&conf, err, errlen);
	free(host);
	free(schema);
	sfc_credentials_cleanup(&cr);
	if (d->s == NULL) {
		char	*msg = xstrdup(err);

		mask(d, msg);
		errorf(err, errlen, "%s (destination %s at %s)", msg, c->name,
		    d->location);
		free(msg);
		ld_snowflake_ops.close(&d->base);
		return -1;
	}
	*out = &d->base;
	return 0;
}

static void
sn_close(struct ld_dest *base)
{
	struct snow	*d = (struct snow *)base;

	if (d == NULL)
		return;
	if (d->s != NULL)
		sf_close(d->s);
	for (size_t i = 0; i < 2; i++) {
		if (d->secrets[i] != NULL)
			OPENSSL_cleanse(d->secrets[i], strlen(d->secrets[i]));
		free(d->secrets[i]);
	}
	free(d->name);
	free(d->location);
	free(d);
}

/* ------------------------------------------------------ statements */

/* One statement; err names it (its kind and table, not its values). */
static int
run(struct snow *d, const char *stmt, const struct sf_bind *binds,
    size_t nbinds, struct sf_result *res, char *err, size_t errlen)
{
	char	*what, *msg;

	if (sf_query(d->s, stmt, binds, nbinds, res, err, errlen) == 0)
		return 0;
	what = sfq_describe(stmt);
	msg = xstrdup(err);
	mask(d, msg);
	errorf(err, errlen, "%s: %s", what, msg);
	free(what);
	free(msg);
	return -1;
}

struct exec_arg {
	struct snow	*d;
	char		*err;
	size_t		 errlen;
};

static int
exec_one(void *arg, const char *stmt)
{
	struct exec_arg	*x = arg;
	int		 begin = strcasecmp(stmt, "BEGIN TRANSACTION") == 0;
	int		 commit = strcasecmp(stmt, "COMMIT") == 0;
	int		 rc;

	/*
	 * While the transaction is open a lost session fails the statement
	 * instead of running it in a new one, outside the transaction,
	 * where it would commit by itself. A ROLLBACK may go anywhere.
	 */
	if (begin || strcasecmp(stmt, "ROLLBACK") == 0)
		sf_in_transaction(x->d->s, begin);
	rc = run(x->d, stmt, NULL, 0, NULL, x->err, x->errlen);
	if ((begin && rc < 0) || commit)
		sf_in_transaction(x->d->s, 0);
	return rc < 0 ? -1 : 0;
}

/* Snowflake runs one statement per request (fakesnow too). */
static int
sn_exec(struct ld_dest *base, const char *sql, char *err, size_t errlen)
{
	struct exec_arg	 x = { (struct snow *)base, err, errlen };

	return sfq_split(sql, exec_one, &x) != 0 ? -1 : 0;
}

static int
sn_query(struct ld_dest *base, const char *sql, ld_row_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct snow	 *d = (struct snow *)base;
	struct sf_result  res;
	const cJSON	 *row, *cell, *col;
	const char	**types;
	char		**vals;
	size_t		  ncols;
	int		  rc;

	if ((rc = run(d, sql, NULL, 0, &res, err, errlen)) < 0) {
		sf_result_free(&res);
		return -1;
	}
	ncols = (size_t)cJSON_GetArraySize(res.rowtype);
	types = xcalloc(ncols + 1, sizeof(*types));
	vals = xcalloc(ncols + 1, sizeof(*vals));
	for (size_t i = 0; i < ncols; i++) {
		col = cJSON_GetArrayItem(res.rowtype, (int)i);
		cell = cJSON_GetObjectItem(col, "type");
		types[i] = cJSON_IsString(cell) ? cell->valuestring : "text";
	}
	cJSON_ArrayForEach(row, res.rows) {
		size_t	k = 0, stop;

		cJSON_ArrayForEach(cell, row)
			if (k < ncols) {
				vals[k] = sfq_render(types[k],
				    cJSON_IsString(cell) ? cell->valuestring :
				    NULL);
				k++;
			}
		stop = (size_t)fn(arg, k, (const char *const *)vals);
		for (size_t i = 0; i < k; i++) {
			free(vals[i]);
			vals[i] = NULL;
		}
		if (stop)
			break;
	}
	free(types);
	free(vals);
	sf_result_free(&res);
	return 0;
}

/* ------------------------------------------------- choosing a method */

static int
threshold_row(void *arg, size_t n, const char *const *v)
{
	/* SHOW PARAMETERS: key, value, default, level, ... */
	if (n > 1 && v[1] != NULL)
		*(long long *)arg = strtoll(v[1], NULL, 10);
	return 1;
}

/*
 * Whether the server stages: the parameter Snowflake's drivers read
 * before they stage bound arrays, above 0. fakesnow lists only the
 * parameters it implements, and not this one: no staging there.
 */
static enum method
pick_method(struct snow *d, char *err, size_t errlen)
{
	long long	 threshold = 0;

	if (d->method != AUTO)
		return d->method;
	if (sn_query(&d->base, "SHOW PARAMETERS LIKE "
	    "'CLIENT_STAGE_ARRAY_BINDING_THRESHOLD' IN SESSION",
	    threshold_row, &threshold, err, errlen) < 0)
		return AUTO;
	d->method = threshold > 0 ? STAGE : INSERT;
	log_info("snowflake: loading job files into %s by %s", d->location,
	    d->method == STAGE ? "PUT and COPY INTO (the table's stage)" :
	    "array-bound INSERT (the server does not stage)");
	return d->method;
}

/* --------------------------------------------------- INSERT method */

struct batch {
	struct snow		 *d;
	const struct ld_table	 *t;
	char			 *sql;		/* sfq_insert's */
	size_t			  ncols, *col;	/* t's complete columns */
	char			***vals;	/* [column][row] */
	size_t			  nrows, cap, max_rows, bytes;
	long long		  rows;
	struct buf		  conv;
};

static void
batch_clear(struct batch *b)
{
	for (size_t k = 0; k < b->ncols; k++)
		for (size_t r = 0; r < b->nrows; r++) {
			free(b->vals[k][r]);
			b->vals[k][r] = NULL;
		}
	b->nrows = 0;
	b->bytes = 0;
}

static int
batch_flush(struct batch *b, char *err, size_t errlen)
{
	struct sf_bind	*binds;
	int		 rc;

	if (b->nrows == 0)
		return 0;
	binds = xcalloc(b->ncols, sizeof(*binds));
	for (size_t k = 0; k < b->ncols; k++) {
		/* Text, cast by the server: fakesnow cannot take a typed
		   NULL, and the text forms are what COPY reads too. */
		binds[k].type = "TEXT";
		binds[k].values = (const char *const *)b->vals[k];
		binds[k].nvalues = b->nrows;
	}
	rc = run(b->d, b->sql, binds, b->ncols, NULL, err, errlen);
	free(binds);
	if (rc == 0)
		b->rows += (long long)b->nrows;
	batch_clear(b);
	return rc;
}

static int
batch_row(void *arg, const struct ld_table *t, const char *const *values,
    const size_t *lengths, char *err, size_t errlen)
{
	struct batch	*b = arg;

	if (b->nrows == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		for (size_t k = 0; k < b->ncols; k++)
			b->vals[k] = xrealloc(b->vals[k], b->cap *
			    sizeof(**b->vals));
	}
	for (size_t k = 0; k < b->ncols; k++) {
		size_t			 i = b->col[k];
		const struct ld_column	*c = t->cols[i];

		if (values[i] == NULL) {
			b->vals[k][b->nrows] = NULL;
			continue;
		}
		b->conv.len = 0;
		if (sfq_bind_value(&b->conv, c, values[i], lengths[i]) < 0)
			return errorf(err, errlen, "column %s of table %s: a "
			    "value that is not a %s", c->name, t->name,
			    ld_type_name(c->type));
		b->vals[k][b->nrows] = xasprintf("%.*s", (int)b->conv.len,
		    b->conv.data ? b->conv.data : "");
		b->bytes += b->conv.len + 8;
	}
	b->nrows++;
	if (b->nrows >= b->max_rows || b->bytes >= INSERT_BYTES)
		return batch_flush(b, err, errlen);
	return 0;
}

static int
insert_job(struct snow *d, const char *qualified, const struct ld_table *t,
    const char *path, long long *rows, char *err, size_t errlen)
{
	struct batch	 b = { 0 };
	int		 rc;

	b.d = d;
	b.t = t;
	b.col = xcalloc(t->ncols + 1, sizeof(*b.col));
	b.vals = xcalloc(t->ncols + 1, sizeof(*b.vals));
	buf_init(&b.conv, (size_t)-1);
	for (size_t i = 0; i < t->ncols; i++)
		if (!(t->cols[i]->hints & LD_INCOMPLETE))
			b.col[b.ncols++] = i;
	b.sql = sfq_insert(qualified, t);
	b.max_rows = b.ncols > 0 ? INSERT_VALUES / b.ncols : 1;
	if (b.max_rows > INSERT_ROWS)
		b.max_rows = INSERT_ROWS;
	if (b.max_rows == 0)
		b.max_rows = 1;
	rc = ld_job_read(path, t, batch_row, &b, err, errlen);
	if (rc == 0)
		rc = batch_flush(&b, err, errlen);
	batch_clear(&b);
	*rows = b.rows;
	for (size_t k = 0; k < b.ncols; k++)
		free(b.vals[k]);
	free(b.vals);
	free(b.col);
	free(b.sql);
	buf_cleanup(&b.conv);
	return rc;
}

/* ---------------------------------------------------- STAGE method */

/* The package's load id: the folder above new_jobs/ of the job. */
static char *
load_id_of(const char *path)
{
	const char	*end = strstr(path, "/new_jobs/"), *start;

	if (end == NULL)
		return xstrdup("load");
	for (start = end; start > path && start[-1] != '/'; start--)
		;
	return xasprintf("%.*s", (int)(end - start), start);
}

/* COPY's answer: rows_loaded per file; a file skipped is an error. */
static int
copied(const struct sf_result *res, const char *table, long long *rows,
    char *err, size_t errlen)
{
	const cJSON	*col, *row;
	int		 status = -1, loaded = -1, i = 0;

	cJSON_ArrayForEach(col, res->rowtype) {
		const cJSON	*n = cJSON_GetObjectItem(col, "name");

		if (cJSON_IsString(n) && strcasecmp(n->valuestring,
		    "status") == 0)
			status = i;
		if (cJSON_IsString(n) && strcasecmp(n->valuestring,
		    "rows_loaded") == 0)
			loaded = i;
		i++;
	}
	cJSON_ArrayForEach(row, res->rows) {
		const cJSON	*st = cJSON_GetArrayItem(row, status);
		const cJSON	*n = cJSON_GetArrayItem(row, loaded);

		if (cJSON_IsString(st) && strcasecmp(st->valuestring,
		    "LOADED") != 0)
			return errorf(err, errlen, "COPY INTO %s: the file was "
			    "not loaded (%s): its rows would be missing",
			    table, st->valuestring);
		if (cJSON_IsString(n))
			*rows += strtoll(n->valuestring, NULL, 10);
	}
	return 0;
}

static int
stage_job(struct snow *d, const char *qualified, const struct ld_table *t,
    const char *path, long long *rows, char *err, size_t errlen)
{
	char			*id = load_id_of(path), *folder, *sql;
	struct sf_result	 res;
	int			 rc = -1;

	if ((folder = sfq_stage_folder(qualified, id)) == NULL) {
		free(id);
		return errorf(err, errlen, "table %s: no stage for %s", t->name,
		    qualified);
	}
	sql = sfq_put(path, folder);
	rc = run(d, sql, NULL, 0, &res, err, errlen);
	free(sql);
	if (rc == 0 && (rc = sf_stage_upload(res.data, path, err,
	    errlen)) < 0)
		mask(d, err);
	sf_result_free(&res);
	if (rc == 0) {
		sql = sfq_copy(qualified, folder, path);
		if ((rc = run(d, sql, NULL, 0, &res, err, errlen)) == 0)
			rc = copied(&res, qualified, rows, err, errlen);
		sf_result_free(&res);
		free(sql);
	}
	free(folder);
	free(id);
	return rc;
}

static int
sn_copy_job(struct ld_dest *base, const char *qualified,
    const struct ld_table *t, const char *path, long long *rows, char *err,
    size_t errlen)
{
	struct snow	*d = (struct snow *)base;

	*rows = 0;
	switch (pick_method(d, err, errlen)) {
	case STAGE:
		return stage_job(d, qualified, t, path, rows, err, errlen);
	case INSERT:
		return insert_job(d, qualified, t, path, rows, err, errlen);
	default:
		return -1;
	}
}

const struct ld_dest_ops ld_snowflake_ops = {
	.type = "snowflake",
	.dialect = &snowflake_dialect,
	.open = sn_open,
	.close = sn_close,
	.exec = sn_exec,
	.query = sn_query,
	.copy_job = sn_copy_job,
};
