/*
 * pf/sql.h: reading a PostgreSQL table into a resource, as dlt's
 * sql_table (dlt.sources.sql_database) does with its defaults: the
 * table is reflected as reflection_level "full" does (each column's dlt
 * type, nullability, the primary key), so the warehouse gets dlt's
 * types; rows are read through a server-side cursor, chunk_size rows at
 * a time, and written to disk as they come.
 *
 *	if (pf_sql_table(p, &(pf_sql_table_def)PF_SQL_TABLE_DEF_INIT(
 *	    .credentials = "sources.clever_cloud", .table = "products",
 *	    .write_disposition = PF_MERGE, .incremental = "updated_at"),
 *	    &rows) != PF_OK)
 *		return pf_fail(run, "%s", pf_last_error());
 *
 * Credentials: the fields of dlt's PostgresCredentials (host, port,
 * database, username, password, connect_timeout, ...) under the
 * section named, e.g. SOURCES__CLEVER_CLOUD__PASSWORD or
 * [sources.clever_cloud], or a connection string under
 * "<section>.credentials" (postgresql://user:password@host:port/db);
 * the password is masked everywhere.
 *
 * Incremental: as dlt.sources.incremental(column) with max: the query
 * is filtered "WHERE column >= last value" (the last value from the
 * pipeline state, pf_resource_cursor), rows on the boundary that were
 * loaded before (same primary key) are skipped, and the largest value
 * read is stored by the next extract. A NULL cursor value fails, as
 * dlt's default on_cursor_value_missing "raise".
 *
 * Errors: PF_ERROR, and pf_last_error() (the pipeline's error) names
 * the section, the table and the server
 * (postgresql://user:***@host:port/db) with PostgreSQL's words.
 */
#ifndef PF_SQL_H
#define PF_SQL_H

#include <pf/flow.h>
#include <pf/pipeline.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PF_SQL_TABLE_DEF_VERSION	1

typedef struct pf_sql_table_def {
	unsigned int		 version;	/* PF_SQL_TABLE_DEF_VERSION */
	const char		*credentials;	/* configuration section */
	const char		*schema;	/* NULL: "public" */
	const char		*table;		/* also the resource's name */
	pf_write_disposition	 write_disposition;
	const char		*primary_key;	/* NULL: the table's own */
	const char		*incremental;	/* cursor column, or NULL */
	const char		*initial_value_json; /* NULL: every row */
	long			 chunk_size;	/* 0: dlt's 50000 */
} pf_sql_table_def;

#define PF_SQL_TABLE_DEF_INIT(...) \
	{ .version = PF_SQL_TABLE_DEF_VERSION, __VA_ARGS__ }

/** Reads the table into resource def->table of p; *rows (may be NULL)
 *  gets the rows read. */
int	 pf_sql_table(pf_pipeline *p, const pf_sql_table_def *def,
	    long long *rows);

#ifdef __cplusplus
}
#endif

#endif
