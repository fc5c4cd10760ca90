/*
 * load/schema.h: dlt's schema model (dlt/common/schema/schema.py,
 * typing.py): tables with their columns, data types and hints, the
 * version and its hash, and the JSON document dlt stores in
 * schemas/<name>.schema.json and in _dlt_version.schema.
 *
 * A schema is owned by whoever made it; tables and columns are owned by
 * the schema and keep their addresses (arrays of pointers), so the
 * normalizer may hold them across rows.
 */
#ifndef LOAD_SCHEMA_H
#define LOAD_SCHEMA_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* dlt's data types (TDataType), in no particular order. */
enum ld_type {
	LD_TEXT,
	LD_BIGINT,
	LD_DOUBLE,
	LD_BOOL,
	LD_TIMESTAMP,
	LD_DATE,
	LD_TIME,
	LD_DECIMAL,
	LD_WEI,
	LD_BINARY,
	LD_JSON,
	LD_NTYPES
};

/* "text", "bigint", ...; the type for a name, or -1. */
const char	*ld_type_name(enum ld_type);
int		 ld_type_parse(const char *name);

enum ld_disposition {
	LD_APPEND,
	LD_REPLACE,
	LD_MERGE,
	LD_SKIP		/* system tables */
};
const char	*ld_disposition_name(enum ld_disposition);

/* Column hints, as dlt names them in the schema document. */
#define LD_NULLABLE	0x001
#define LD_PRIMARY_KEY	0x002
#define LD_UNIQUE	0x004
#define LD_ROW_KEY	0x008	/* _dlt_id */
#define LD_PARENT_KEY	0x010	/* _dlt_parent_id */
#define LD_ROOT_KEY	0x020	/* _dlt_root_id */
#define LD_MERGE_KEY	0x040
#define LD_VARIANT	0x080	/* a col__v_<type> column */
#define LD_HINTED	0x100	/* type given by the resource */
#define LD_INCOMPLETE	0x200	/* a hint without a type yet (dlt's
				   incomplete column): not in the tables */
#define LD_NAIVE	0x400	/* a timestamp without time zone (dlt's
				   "timezone": false) */
#define LD_TZ		0x800	/* "timezone": true, said (a source's) */
#define LD_INCREMENTAL	0x1000	/* an incremental's cursor */
#define LD_UNSAID	0x2000	/* no "nullable" in the document: a
				   hint that did not say it (dlt's
				   {"name", "incremental"}, or a typed
				   column hint), until data types it */

struct ld_column {
	char		*name;
	enum ld_type	 type;
	int		 hints;		/* LD_* above */
	int		 precision;	/* 0: none */
	int		 scale;
	char		*description;	/* dlt's, or NULL */
};

struct ld_table {
	char			*name;
	char			*parent;	/* NULL for a root table */
	char			*resource;	/* roots: the resource */
	enum ld_disposition	 disposition;	/* children: root's */
	int			 max_nesting;	/* root tables: dlt's
						   x-normalizer.max_nesting,
						   -1 when not set */
	int			 seen_data;	/* x-normalizer.seen-data:
						   rows were normalized */
	char			*description;	/* dlt's system tables */
	char			*file_format;	/* "preferred", or NULL */
	struct ld_column	**cols;
	size_t			 ncols, capcols;
	/* Columns [0, nstored) are known to the destination; loading
	   adds the rest and moves nstored up. */
	size_t			 nstored;
	void			*index;		/* name: column */
};

struct ld_schema {
	char			*name;		/* the pipeline's */
	long long		 version;
	char			*version_hash;
	char			**previous_hashes; /* newest first */
	size_t			 nprevious;
	struct ld_table		**tables;	/* in creation order */
	size_t			 ntables, captables;
};

/* A new schema with dlt's system tables (_dlt_version, _dlt_loads). */
struct ld_schema *ld_schema_new(const char *name);
void		  ld_schema_free(struct ld_schema *);

struct ld_table	 *ld_schema_table(const struct ld_schema *,
		    const char *name);
/* Finds or adds a table (parent NULL for a root table). */
struct ld_table	 *ld_schema_add_table(struct ld_schema *,
		    const char *name, const char *parent,
		    enum ld_disposition);
struct ld_column *ld_table_column(const struct ld_table *, const char *name);
/* Appends a column (the name must be new). */
struct ld_column *ld_table_add_column(struct ld_table *, const char *name,
		    enum ld_type, int hints);
/* The root table of a child table (itself for a root). */
const struct ld_table *ld_schema_root(const struct ld_schema *,
		    const struct ld_table *);

/*
 * dlt's version bump: recomputes the content hash (sha3-256 of the
 * canonical document without version fields, base64) and, when it
 * changed, increments version and puts the old hash first in
 * previous_hashes (unless it is there already; ten at most). A first
 * hash is version 1. Returns 1 when it changed, 0 when not.
 */
int		  ld_schema_bump(struct ld_schema *);
/*
 * The same without a new version: how dlt's first extract links the
 * schema of the declared tables to the one with its state table
 * (replace_schema_content(link_to_replaced_schema=True)).
 */
int		  ld_schema_link(struct ld_schema *);
/* Sets a column's (or with col NULL, a table's) description. */
void		  ld_describe(struct ld_table *, struct ld_column *col,
		    const char *text);

/* The schema as dlt's JSON document (caller frees). */
cJSON		 *ld_schema_to_json(const struct ld_schema *);
/* Reads a document written by ld_schema_to_json or by dlt. */
struct ld_schema *ld_schema_from_json(const cJSON *, char *err, size_t);

#endif
