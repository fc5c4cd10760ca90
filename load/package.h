/*
 * load/package.h: load packages on disk, laid out as dlt lays them out
 * under a pipeline's working directory (dlt/common/storages/
 * normalize_storage.py, load_storage.py, load_package.py):
 *
 *   <pipeline>/normalize/extracted/<load_id>/new_jobs/
 *                                          <table>.<id>.0.typed-jsonl
 *   <pipeline>/load/new/<load_id>/         being normalized
 *   <pipeline>/load/normalized/<load_id>/  new_jobs/<table>.<id>.0.jsonl,
 *                                          schema.json,
 *                                          load_package_state.json
 *   <pipeline>/load/loaded/<load_id>/      completed_jobs/...,
 *                                          package_completed.json
 *
 * A package moves between stages by rename(2) of its directory, made
 * durable (fsync of the files and of both parents), so after a crash
 * it is in exactly one stage, complete; a half-built package only ever
 * exists under a name starting with "." and is removed by the next run.
 */
#ifndef LOAD_PACKAGE_H
#define LOAD_PACKAGE_H

#include <stddef.h>

#define LD_EXTRACTED	"normalize/extracted"
#define LD_NEW		"load/new"
#define LD_NORMALIZED	"load/normalized"
#define LD_LOADED	"load/loaded"

/* A new load id: Python's str(time.time()), always increasing. */
void	 ld_load_id_new(char out[32]);

/* <root>/<stage>/<load_id> (caller frees). */
char	*ld_pkg_dir(const char *root, const char *stage,
	    const char *load_id);

/*
 * The load ids in a stage, oldest first (as numbers), skipping
 * half-built ones ("." names). NULL-terminated; free with
 * ld_strv_free. *n gets the count.
 */
char	**ld_pkg_list(const char *root, const char *stage, size_t *n);
void	  ld_strv_free(char **);

/*
 * Moves a package from one directory to another (parents created),
 * durably: the tree's files are synced first, then both parents.
 */
int	 ld_pkg_move(const char *from, const char *to, char *err,
	    size_t errlen);

/*
 * Aborts the normalized package load_id as dlt does: its jobs to
 * failed_jobs with a <job>.exception each (why for the job named
 * failed, other for the rest), then the package to loaded, marked
 * package_aborted.json.
 */
int	 ld_pkg_abort(const char *root, const char *load_id,
	    const char *failed, const char *why, const char *other,
	    char *err, size_t errlen);

/* Writes a file durably (temporary file, fsync, rename). */
int	 ld_write_file(const char *path, const char *data, size_t len,
	    char *err, size_t errlen);

/* rm -rf; 0 when gone (or never there). */
int	 ld_rm_rf(const char *path);

/* mkdir -p with an error message naming the path. */
int	 ld_mkdirs(const char *path, char *err, size_t errlen);

#endif
