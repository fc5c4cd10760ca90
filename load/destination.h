/*
 * load/destination.h: what a SQL destination (DuckDB, PostgreSQL,
 * Snowflake) must
 * provide to the loader, and the SQL they share.
 *
 * The loader (load/loader.c) does everything dlt's SqlJobClient does
 * with generic SQL written in one place (load/sql.c) from a dialect:
 * it creates the dataset (a schema) and the staging dataset
 * (<dataset>_staging), reads the stored schema from _dlt_version and
 * the existing columns from information_schema, adds tables and
 * columns, runs each table's job with its write disposition (append;
 * replace: delete then insert; merge: dlt's delete-insert through the
 * staging table), and writes the _dlt_pipeline_state, _dlt_version and
 * _dlt_loads rows, all of one load package inside one transaction, so
 * a package is either wholly in the destination or not at all. A
 * destination therefore only connects, runs SQL, answers queries as
 * text and bulk-loads one job file into one table.
 *
 * Writing a destination: fill a struct ld_dest_ops (its open makes a
 * struct that begins with struct ld_dest) and add it to ld_dest_find()
 * in load/destination.c.
 */
#ifndef LOAD_DESTINATION_H
#define LOAD_DESTINATION_H

#include <stddef.h>

#include "load/schema.h"

struct cfg;
struct ld_load_result;

/* Everything a destination may need to connect. */
struct ld_dest_config {
	const char	*name;		/* destination: "warehouse" */
	const char	*type;		/* its type: "duckdb", "postgres" */
	const char	*pipeline;	/* config's pipeline-scoped pass */
	const char	*dataset;	/* the dataset (schema) to load */
	/* The process's resolver: read destination.<name>.credentials
	   (the whole connection string, or its fields) with cfg_resolve,
	   CFG_SECRET for password. */
	struct cfg	*cfg;
	/* The profile's locally loaded data (DuckDB's file is
	   <local_dir>/<name>.duckdb). */
	const char	*local_dir;
};

/*
 * How a destination spells SQL. The shared generator (load/sql.h) uses
 * nothing else, so a new SQL destination is mostly a new dialect.
 */
struct ld_dialect {
	/* dlt's sct_to_unbound_dbt: "VARCHAR", "BIGINT", ... */
	const char	*type_names[LD_NTYPES];
	/*
	 * dlt's sct_to_dbt: the type with a precision (and scale), e.g.
	 * "varchar(%d)", "DECIMAL(%d,%d)"; NULL where the destination
	 * ignores precision. decimal and wei always use theirs, with the
	 * defaults below when the column has none.
	 */
	const char	*type_formats[LD_NTYPES];
	/* A timestamp without time zone (dlt's timezone=False), and with
	   a precision ("TIMESTAMP_NTZ(%d)"; NULL: type_formats'). */
	const char	*naive_timestamp;
	const char	*naive_timestamp_format;
	int		 decimal_precision, decimal_scale;
	int		 wei_precision, wei_scale;
	/* Longest identifier; longer names are shortened as dlt does. */
	size_t		 max_identifier_length;
	/* "TRUNCATE TABLE" or "DELETE FROM" for replace. */
	const char	*truncate;
	/* Written after the type of a column with the unique hint (dlt's
	   create_indexes: postgres "UNIQUE"), or NULL. */
	const char	*unique_attr;
	/* dlt's casefold_identifier str.upper (Snowflake, where unquoted
	   names are upper case): every identifier is written and looked
	   up upper-cased; 0 keeps names as they are. */
	int		 upper_case;
	/* Backslash is an escape in string literals (Snowflake): doubled
	   in every literal, as dlt's escape_snowflake_literal. */
	int		 backslash_escapes;
	/* DDL commits an open transaction (Snowflake): the loader creates,
	   alters and drops tables before a package's transaction, which
	   then holds its DML only. */
	int		 ddl_commits;
	/* dlt's default_order_by for the merge's ROW_NUMBER(), where the
	   destination requires one (Snowflake: "(SELECT NULL)"), or NULL. */
	const char	*dedup_order_by;
};

/* One open connection; a destination's own struct begins with it. */
struct ld_dest {
	const struct ld_dest_ops	*ops;
	/*
	 * Set by the destination when a call fails for a reason retrying
	 * will not mend (dlt's terminal errors: a value the column cannot
	 * take, a constraint, an unknown table or column), left 0 when it
	 * may (connection, I/O, a busy server). The loader clears it; a
	 * destination that never sets it has every failure retried.
	 */
	int				 terminal;
};

/*
 * A query's row: values as text in SQL's own rendering (NULL for SQL
 * NULL). Return 0 to go on, non-zero to stop the query (not an error).
 */
typedef int (*ld_row_fn)(void *arg, size_t ncols,
    const char *const *values);

struct ld_dest_ops {
	const char		*type;		/* "duckdb" */
	const struct ld_dialect	*dialect;

	/*
	 * Connects (DuckDB: opens or creates the file). Credentials from
	 * c->cfg; on failure err names what and where, never a secret.
	 */
	int	(*open)(const struct ld_dest_config *c, struct ld_dest **out,
		    char *err, size_t errlen);
	void	(*close)(struct ld_dest *);

	/* Runs statements that return no rows (BEGIN, DDL, DML). */
	int	(*exec)(struct ld_dest *, const char *sql, char *err,
		    size_t errlen);
	/* Runs one query, calling fn for each row. */
	int	(*query)(struct ld_dest *, const char *sql, ld_row_fn fn,
		    void *arg, char *err, size_t errlen);

	/*
	 * Appends every row of a normalized job file (jsonl: one object a
	 * line, keys are column names, see ld_job_read) to table
	 * qualified_table (already quoted: "dataset"."table"), whose
	 * columns are t's. *rows gets the count. Runs inside the loader's
	 * transaction: it must not commit.
	 */
	int	(*copy_job)(struct ld_dest *, const char *qualified_table,
		    const struct ld_table *t, const char *path,
		    long long *rows, char *err, size_t errlen);

	/*
	 * A destination that is not SQL (the filesystem) loads a whole
	 * package and restores state itself: ld_load_package and
	 * ld_restore (load/loader.h) hand over to these when set. NULL
	 * for SQL destinations.
	 */
	int	(*load_package)(struct ld_dest *, const char *dataset,
		    const char *pkg_dir, const char *load_id,
		    struct ld_load_result *out, char *err, size_t errlen);
	int	(*restore)(struct ld_dest *, const char *dataset,
		    const char *pipeline, const char *schema_name,
		    char **state, char **schema, char *err, size_t errlen);
};

/* Each destination's ops, in its own file (load/duckdb.c, ...). */
extern const struct ld_dest_ops ld_duckdb_ops;
extern const struct ld_dest_ops ld_postgres_ops;
extern const struct ld_dest_ops ld_snowflake_ops;
extern const struct ld_dest_ops ld_filesystem_ops;

/* The destination of a type ("duckdb", "postgres", "snowflake",
   "filesystem"), or NULL. */
const struct ld_dest_ops *ld_dest_find(const char *type);

/*
 * Reads a normalized job file row by row for copy_job: fn gets, for
 * each line, one value per column of t in t's order, as text ready for
 * a COPY or a bind (NULL: null; bool "true"/"false"; bigint and
 * double as JSON wrote them; timestamp ISO 8601 with its offset; json
 * as compact JSON text), and the column types. Stops at fn's non-zero
 * return (an error: its message in err). Returns 0 or -1 with err
 * naming the file and line.
 */
typedef int (*ld_job_row_fn)(void *arg, const struct ld_table *t,
    const char *const *values, const size_t *lengths, char *err,
    size_t errlen);
int	ld_job_read(const char *path, const struct ld_table *t,
	    ld_job_row_fn fn, void *arg, char *err, size_t errlen);

#endif
