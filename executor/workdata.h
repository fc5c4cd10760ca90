/*
 * workdata.h: where a deployed run keeps its local data (DuckDB files,
 * pipeline state and load packages) when its code is a checkout in the
 * git cache.
 */
#ifndef EXECUTOR_WORKDATA_H
#define EXECUTOR_WORKDATA_H

#include "deployments/pull_steps.h"

/*
 * The current directory's data home: NULL unless it is inside a tree
 * leased by a git_clone step, else
 * <state_dir>/workspaces/<repository name>-<12 hex> (caller frees),
 * the hex from the repository's credential-free URL and the directory's
 * path inside the tree. So every commit of a repository, and every
 * deployment of it, shares one place, as they share a clone's .dlt/ on
 * a laptop; the git cache's trimming never reaches it.
 */
char	*exec_data_home(const struct pull_result *, const char *state_dir);

#endif
