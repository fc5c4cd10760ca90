/*
 * load/loader.h: loading one normalized package into a SQL destination,
 * as dlt's load step does, in one transaction (load/destination.h has
 * the whole sequence).
 */
#ifndef LOAD_LOADER_H
#define LOAD_LOADER_H

#include <stddef.h>

#include "load/destination.h"

/* Rows loaded per table by one package. */
struct ld_table_rows {
	char		*table;
	long long	 rows;
};

/* A data file a filesystem destination landed. */
struct ld_landed_file {
	char		*table;
	char		*path;		/* under the dataset: the layout's */
	long long	 rows;
};

struct ld_load_result {
	struct ld_table_rows	*t;
	size_t			 n;
	int			 already;	/* in _dlt_loads: skipped */
	struct ld_landed_file	*files;		/* filesystem only */
	size_t			 nfiles;
	/* On failure: the job being loaded (its file name), if one was. */
	char			*job;
};

/* ld_load_package's failure that loading again will not mend. */
#define LD_TERMINAL	(-2)

/*
 * Loads the package in pkg_dir (schema.json and the jsonl jobs in
 * new_jobs) with id load_id into dataset. A package whose load id is
 * already in _dlt_loads is not loaded again (a run that died after the
 * commit). Returns 0, or with err (the transaction rolled back) -1 when
 * another try may succeed (dlt's transient errors: connection, I/O) and
 * LD_TERMINAL when it cannot (dlt's terminal ones: data the destination
 * refuses, a damaged package). out->job is then set when a job failed;
 * ld_load_result_cleanup frees it.
 */
int	ld_load_package(struct ld_dest *d, const char *dataset,
	    const char *pkg_dir, const char *load_id,
	    struct ld_load_result *out, char *err, size_t errlen);
void	ld_load_result_cleanup(struct ld_load_result *);
/* Adds rows to a table's count in the result (a new entry at first). */
void	ld_load_result_count(struct ld_load_result *, const char *table,
	    long long rows);

/*
 * dlt's restore_from_destination: the newest pipeline state of a
 * completed load (compressed, as stored) and the newest schema
 * document of schema_name in the dataset; each NULL when there is
 * none. Caller frees both. -1 with err when the queries fail.
 */
int	ld_restore(struct ld_dest *d, const char *dataset,
	    const char *pipeline, const char *schema_name, char **state,
	    char **schema, char *err, size_t errlen);

/* The package's schema.json (NULL with err). */
struct ld_schema *ld_load_read_schema(const char *pkg_dir, char *err,
	    size_t errlen);

/*
 * After an abort: the working directory's state.json and the schema
 * file of schema rewound to the newest the destination holds (of a
 * completed load), or removed when it holds none.
 */
int	ld_rewind(struct ld_dest *d, const char *root, const char *dataset,
	    const char *pipeline, const char *schema, char *err,
	    size_t errlen);

#endif
