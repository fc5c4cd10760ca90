/*
 * postgres.c: the PostgreSQL destination (load/destination.h) over
 * libpq, as dlt's postgres destination (dlt/destinations/impl/postgres):
 * its types, search_path set to the dataset at connect time, and job
 * files bulk-loaded with COPY ... FROM STDIN in the loader's
 * transaction. Credentials are dlt's PostgresCredentials
 * (load/postgres_credentials.h). The password is handed to libpq only;
 * every message out of here has it masked, and names the server as
 * postgresql://user:***@host:port/database.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/log.h"
#include "common/util.h"
#include "load/destination.h"
#include "load/postgres_credentials.h"
#include "load/sql.h"

/* COPY data is sent in chunks of about this size. */
#define COPY_CHUNK	(256u << 10)
#define BUF_UNLIMITED	((size_t)-1 >> 1)


struct pg_dest {
	struct ld_dest	 base;
	PGconn		*conn;
	char		*password;	/* to mask in messages */
	char		*location;	/* postgresql://user:***@host:port/db */
};

/* dlt's PostgresTypeMapper.sct_to_unbound_dbt and capabilities. */
static const struct ld_dialect postgres_dialect = {
	.type_names = {
		[LD_TEXT] = "varchar",
		[LD_BIGINT] = "bigint",
		[LD_DOUBLE] = "double precision",
		[LD_BOOL] = "boolean",
		[LD_TIMESTAMP] = "timestamp with time zone",
		[LD_DATE] = "date",
		[LD_TIME] = "time without time zone",
		[LD_DECIMAL] = "numeric",
		[LD_WEI] = "numeric",
		[LD_BINARY] = "bytea",
		[LD_JSON] = "jsonb",
	},
	.type_formats = {
		[LD_TEXT] = "varchar(%d)",
		[LD_TIMESTAMP] = "timestamp (%d) with time zone",
		[LD_TIME] = "time (%d) without time zone",
		[LD_DECIMAL] = "numeric(%d,%d)",
		[LD_WEI] = "numeric(%d,%d)",
	},
	.naive_timestamp = "timestamp without time zone",
	.decimal_precision = 38,
	.decimal_scale = 9,
	.wei_precision = 76,
	.wei_scale = 38,
	.max_identifier_length = 63,
	.truncate = "TRUNCATE TABLE",
	.unique_attr = "UNIQUE",	/* create_indexes defaults to true */
};

/*
 * A libpq message as one text: trailing newline dropped, the password
 * masked (libpq does not print it, but a server message could echo it).
 */
static void
pg_message(const struct pg_dest *d, const char *msg, char *err, size_t errlen)
{
	char	*s = xstrdup(msg != NULL ? msg : "unknown error"), *p;
	size_t	 n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	if (d->password != NULL && *d->password != '\0') {
		size_t	 pl = strlen(d->password);

		while ((p = strstr(s, d->password)) != NULL) {
			memset(p, '*', 3);
			memmove(p + 3, p + pl, strlen(p + pl) + 1);
		}
	}
	errorf(err, errlen, "%s", s);
	free(s);
}

/* NOTICEs (e.g. "schema ... already exists, skipping") go to debug. */
static void
quiet_notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("postgres: %.*s", (int)strcspn(message, "\n"), message);
}

/* -csearch_path="dataset",public with libpq's option escapes. */
static char *
search_path_option(const char *dataset, const char *timezone)
{
	struct buf	 b;
	const char	*s;

	buf_init(&b, 4096);
	buf_printf(&b, "-csearch_path=\"");
	for (s = dataset; *s != '\0'; s++) {
		if (*s == '"')
			buf_printf(&b, "\"\"");
		else if (*s == ' ' || *s == '\\')
			buf_printf(&b, "\\%c", *s);
		else
			buf_printf(&b, "%c", *s);
	}
	buf_printf(&b, "\",public");
	/* dlt's session_timezone: a startup option, as dlt sets it. */
	if (timezone != NULL)
		buf_printf(&b, " -ctimezone=%s", timezone);
	return buf_steal(&b);
}

static int
pg_open(const struct ld_dest_config *c, struct ld_dest **out, char *err,
    size_t errlen)
{
	struct pg_credentials	 cr;
	struct pg_dest		*d;
	char			*options;

	*out = NULL;
	if (pg_credentials_resolve(c->cfg, c->name, c->pipeline, &cr, err,
	    errlen) == -1)
		return -1;
	options = search_path_option(c->dataset != NULL ? c->dataset : "",
	    cr.session_timezone);
	d = xcalloc(1, sizeof(*d));
	d->base.ops = &ld_postgres_ops;
	d->password = xstrdup(cr.password);
	d->location = pg_credentials_location(&cr);
	d->conn = pg_connect(&cr, options);
	free(options);
	pg_credentials_cleanup(&cr);
	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK) {
		char	*msg = xmalloc(errlen);

		pg_message(d, d->conn != NULL ? PQerrorMessage(d->conn) :
		    "out of memory", msg, errlen);
		errorf(err, errlen, "%s (destination %s at %s)", msg, c->name,
		    d->location);
		free(msg);
		ld_postgres_ops.close(&d->base);
		return -1;
	}
	PQsetNoticeProcessor(d->conn, quiet_notice, NULL);
	*out = &d->base;
	return 0;
}

static void
pg_close(struct ld_dest *base)
{
	struct pg_dest	*d = (struct pg_dest *)base;

	if (d == NULL)
		return;
	if (d->conn != NULL)
		PQfinish(d->conn);
	if (d->password != NULL) {
		memset(d->password, 0, strlen(d->password));
		free(d->password);
	}
	free(d->location);
	free(d);
}

/*
 * dlt's terminal errors of PostgreSQL (psycopg2's DataError, IntegrityError
 * and ProgrammingError: SQLSTATE classes 22, 23 and 42, but for the
 * syntax errors and undefined functions dlt retries; an undefined schema,
 * 3F000): the data or the schema, not the server's state.
 */
static int
is_terminal(const char *state)
{
	if (state == NULL || strlen(state) != 5)
		return 0;
	if (strcmp(state, "42601") == 0 || strcmp(state, "42883") == 0)
		return 0;
	return strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
	    strncmp(state, "42", 2) == 0 || strcmp(state, "3F000") == 0;
}

/* The result's error, or 0 when its status is one of ok1/ok2. */
static int
check(struct pg_dest *d, PGresult *r, ExecStatusType ok1,
    ExecStatusType ok2, char *err, size_t errlen)
{
	ExecStatusType	 st = r != NULL ? PQresultStatus(r) :
	    PGRES_FATAL_ERROR;

	if (st == ok1 || st == ok2)
		return 0;
	d->base.terminal = r != NULL &&
	    is_terminal(PQresultErrorField(r, PG_DIAG_SQLSTATE));
	pg_message(d, r != NULL && *PQresultErrorMessage(r) != '\0' ?
	    PQresultErrorMessage(r) : PQerrorMessage(d->conn), err, errlen);
	return -1;
}

static int
pg_exec(struct ld_dest *base, const char *sql, char *err, size_t errlen)
{
	struct pg_dest	*d = (struct pg_dest *)base;
	PGresult	*r = PQexec(d->conn, sql);
	int		 rc;

	rc = check(d, r, PGRES_COMMAND_OK, PGRES_TUPLES_OK, err, errlen);
	PQclear(r);
	return rc;
}

static int
pg_query(struct ld_dest *base, const char *sql, ld_row_fn fn, void *arg,
    char *err, size_t errlen)
{
	struct pg_dest	*d = (struct pg_dest *)base;
	PGresult	*r = PQexec(d->conn, sql);
	const char	**row = NULL;
	int		 rc, ncols;

	if ((rc = check(d, r, PGRES_TUPLES_OK, PGRES_TUPLES_OK, err,
	    errlen)) == 0) {
		ncols = PQnfields(r);
		row = xcalloc((size_t)ncols + 1, sizeof(*row));
		for (int i = 0; i < PQntuples(r); i++) {
			for (int k = 0; k < ncols; k++)
				row[k] = PQgetisnull(r, i, k) ? NULL :
				    PQgetvalue(r, i, k);
			if (fn(arg, (size_t)ncols, row) != 0)
				break;
		}
	}
	free(row);
	PQclear(r);
	return rc;
}

/* One COPY in progress: rows in COPY's text format, sent in chunks. */
struct copy {
	struct pg_dest	*d;
	struct buf	 b;
};

static int
copy_flush(struct copy *cp, char *err, size_t errlen)
{
	if (cp->b.len == 0)
		return 0;
	if (PQputCopyData(cp->d->conn, cp->b.data, (int)cp->b.len) != 1) {
		pg_message(cp->d, PQerrorMessage(cp->d->conn), err, errlen);
		return -1;
	}
	cp->b.len = 0;
	cp->b.data[0] = '\0';
	return 0;
}

/*
 * COPY text format: \N for NULL; backslash, tab, newline escaped; NUL
 * dropped, as dlt's SQL_ESCAPE_DICT does (text cannot hold it).
 */
static int
copy_row(void *arg, const struct ld_table *t, const char *const *values,
    const size_t *lengths, char *err, size_t errlen)
{
	struct copy	*cp = arg;
	struct buf	*b = &cp->b;

	for (size_t k = 0; k < t->ncols; k++) {
		const char	*v = values[k], *run;
		size_t		 n = lengths[k];

		if (k > 0)
			buf_append(b, "\t", 1);
		if (v == NULL) {
			buf_append(b, "\\N", 2);
			continue;
		}
		run = v;
		for (size_t i = 0; i < n; i++) {
			const char	*esc = v[i] == '\\' ? "\\\\" :
			    v[i] == '\t' ? "\\t" : v[i] == '\n' ? "\\n" :
			    v[i] == '\r' ? "\\r" : v[i] == '\0' ? "" : NULL;

			if (esc == NULL)
				continue;
			buf_append(b, run, (size_t)(v + i - run));
			buf_append(b, esc, strlen(esc));
			run = v + i + 1;
		}
		buf_append(b, run, (size_t)(v + n - run));
	}
	if (buf_append(b, "\n", 1) == -1)
		return errorf(err, errlen, "out of memory buffering COPY data");
	return b->len >= COPY_CHUNK ? copy_flush(cp, err, errlen) : 0;
}

static int
pg_copy_job(struct ld_dest *base, const char *qualified_table,
    const struct ld_table *t, const char *path, long long *rows,
    char *err, size_t errlen)
{
	struct pg_dest	*d = (struct pg_dest *)base;
	struct copy	 cp = { .d = d };
	struct buf	 sql;
	PGresult	*r;
	int		 rc;

	*rows = 0;
	buf_init(&sql, BUF_UNLIMITED);
	buf_printf(&sql, "COPY %s (", qualified_table);
	for (size_t k = 0; k < t->ncols; k++) {
		char	*ident = ld_sql_ident(&postgres_dialect,
		    t->cols[k]->name);

		buf_printf(&sql, "%s%s", k ? ", " : "", ident);
		free(ident);
	}
	buf_printf(&sql, ") FROM STDIN");
	r = PQexec(d->conn, sql.data);
	buf_cleanup(&sql);
	rc = check(d, r, PGRES_COPY_IN, PGRES_COPY_IN, err, errlen);
	PQclear(r);
	if (rc == -1)
		return -1;
	buf_init(&cp.b, BUF_UNLIMITED);
	rc = ld_job_read(path, t, copy_row, &cp, err, errlen);
	if (rc == 0)
		rc = copy_flush(&cp, err, errlen);
	buf_cleanup(&cp.b);
	/* On an error the server is told to drop what it got. */
	if (PQputCopyEnd(d->conn, rc == 0 ? NULL : "job file not loaded") != 1
	    && rc == 0) {
		pg_message(d, PQerrorMessage(d->conn), err, errlen);
		rc = -1;
	}
	while ((r = PQgetResult(d->conn)) != NULL) {
		if (rc == 0 && check(d, r, PGRES_COMMAND_OK, PGRES_COMMAND_OK,
		    err, errlen) == -1)
			rc = -1;
		else if (rc == 0)
			*rows = strtoll(PQcmdTuples(r), NULL, 10);
		PQclear(r);
	}
	return rc;
}

const struct ld_dest_ops ld_postgres_ops = {
	.type = "postgres",
	.dialect = &postgres_dialect,
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.query = pg_query,
	.copy_job = pg_copy_job,
};
