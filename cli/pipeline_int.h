/*
 * pipeline_int.h: what the files of `pfagent pipeline` share
 * (cli/pipeline.c: parsing, sync, info; pipeline_drop.c: drop,
 * drop-pending-packages; pipeline_view.c: the read-only commands).
 * Not installed.
 */
#ifndef CLI_PIPELINE_INT_H
#define CLI_PIPELINE_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct cfg;
struct cfg_workspace;
struct ld_dest;
struct ld_dest_ops;

#define PL_ERR_MAX	(64u << 10)

struct popts {
	const char	*name, *op, *destination, *dataset, *profile;
	const char	*schema, *format;
	int		 yes, non_interactive, verbose;
	int		 drop_all, state_only;
	const char	**args;		/* the operation's positionals */
	size_t		 nargs;
	const char	**state_paths;
	size_t		 nstate_paths;
};

/* A destination connection, as sync makes it. */
struct sync_ctx {
	const struct popts		*o;
	struct cfg			*cfg;
	const struct cfg_workspace	*ws;
	const char			*workdir;
	struct ld_dest			*d;
	const struct ld_dest_ops	*ops;
	char				*err;	/* PL_ERR_MAX */
};

/* dlt's fmt.confirm: -y accepts, no terminal picks the default. */
/*
 * The job files in <pkg>/<sub>, sorted, without dot files and dlt's
 * .exception files: names, or with paths set, <pkg>/<sub>/<name>.
 * A NULL-terminated array of *n strings the caller frees.
 */
/* What a pipeline's state names: destination, dataset, default schema
 * (each NULL when absent; they point into state). */
void	 pl_state_names(const cJSON *state, const char **dest,
	    const char **dataset, const char **schema);
char	**pl_jobs(const char *pkg, const char *sub, int paths, size_t *n);
int	 pl_confirm(const struct popts *, const char *text, int def);
/* Connects to the named destination: 0, or -1 with x->err. */
int	 pl_connect(struct sync_ctx *x, const char *dest, const char *dataset);
/* Writes a file through a temporary one and a rename. */
int	 pl_write_text(const char *path, const char *text, char *err,
	    size_t errlen);
/* str() of a JSON value as Python prints it (into out). */
void	 pl_py_str(const cJSON *v, char *out, size_t n);
/* Python's repr of a list of strings: ['a', 'b'] (caller frees). */
char	*pl_py_list(const char *const *v, size_t n);
/* A JSON document from a file, NULL when absent or not JSON. */
cJSON	*pl_read_json(const char *path);
/* `snowpipe ddl` (pipeline_snowpipe.c). */
int	 pl_snowpipe_cmd(const struct popts *, struct cfg *, const char *dir,
	    const char *workdir);
/* dlt's CannotRestorePipelineException text and exit status (254). */
int	 pl_not_found(const struct popts *, const char *workdir);

int	 pl_drop_cmd(const struct popts *, struct cfg *,
	    const char *pipelines_dir, const char *workdir);
int	 pl_drop_pending_cmd(const struct popts *, struct cfg *,
	    const char *pipelines_dir, const char *workdir);
int	 pl_list_cmd(const char *pipelines_dir);
int	 pl_schema_cmd(const struct popts *, const char *pipelines_dir,
	    const char *workdir);
int	 pl_load_package_cmd(const struct popts *, const char *pipelines_dir,
	    const char *workdir);
int	 pl_failed_jobs_cmd(const struct popts *, const char *pipelines_dir,
	    const char *workdir);
int	 pl_trace_cmd(const struct popts *, const char *pipelines_dir,
	    const char *workdir);
int	 pl_show_cmd(const struct popts *, struct cfg *,
	    const char *pipelines_dir, const char *workdir);

#endif
