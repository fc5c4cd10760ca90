/*
 * load/sql.h: the SQL that every SQL destination shares, generated from
 * its dialect (load/destination.h), as dlt's SqlJobClient and
 * SqlMergeFollowupJob write it. Every function returns a malloc'd
 * statement (caller frees), or NULL when out of memory.
 */
#ifndef LOAD_SQL_H
#define LOAD_SQL_H

#include "load/destination.h"

/*
 * Every function takes the dialect (NULL: names as they are, quotes
 * doubled only), which decides the case of identifiers and how
 * literals escape.
 */

/* The name as the destination stores it (dialect's case), unquoted. */
char	*ld_sql_name(const struct ld_dialect *, const char *name);
/* "name" in the dialect's case, embedded quotes doubled. */
char	*ld_sql_ident(const struct ld_dialect *, const char *name);
/* 'text' with embedded quotes (and, where escapes, backslashes)
   doubled. */
char	*ld_sql_literal(const struct ld_dialect *, const char *text);
/* "dataset"."table". */
char	*ld_sql_qualified(const struct ld_dialect *, const char *dataset,
	    const char *table);

/* The column's type as the dialect names it ("DECIMAL(38,9)"). */
char	*ld_sql_type(const struct ld_dialect *, const struct ld_column *);

/* CREATE SCHEMA IF NOT EXISTS "dataset". */
char	*ld_sql_create_dataset(const struct ld_dialect *,
	    const char *dataset);
/*
 * CREATE TABLE for every column of t, or ALTER TABLE ... ADD COLUMN for
 * columns [from, ncols) when from > 0 (one statement per column, joined
 * with ";\n"). NOT NULL where the column is not nullable, as dlt.
 */
char	*ld_sql_table_ddl(const struct ld_dialect *, const char *dataset,
	    const struct ld_table *t, size_t from);

/*
 * dlt's delete-insert merge of a root table and its child tables from
 * the staging dataset: delete the rows whose primary key is in staging
 * (children by _dlt_root_id), insert staging's rows deduplicated on the
 * primary key, children of kept rows only (those of the roots this
 * load, load_id, inserted). tables: the root first, then its children;
 * n of them; staging holds the same tables with this load's rows.
 */
char	*ld_sql_merge(const struct ld_dialect *, const char *dataset,
	    const char *staging,
	    const struct ld_table *const *tables, size_t n,
	    const char *load_id);

#endif
