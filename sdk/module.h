/*
 * entrypoint.h: Prefect-style entrypoints for C flows.
 *
 *   flows/hello.c:hello  ->  module build/flows/hello.so (relative to the
 *                            working directory), symbol pf_flow__hello
 *
 * The text comes from the API, so it is parsed strictly: a relative path
 * without "..", ending in .c, then ':' and a C identifier.
 */
#ifndef SDK_MODULE_H
#define SDK_MODULE_H

#include <stddef.h>

#include "pf/flow.h"

struct entrypoint {
	char	*file;		/* flows/hello.c */
	char	*function;	/* hello */
	char	*module;	/* build/flows/hello.so */
};

int	entrypoint_parse(const char *text, struct entrypoint *, char *err,
	    size_t errlen);
void	entrypoint_cleanup(struct entrypoint *);
/*
 * Makes sure the module is built, in the current directory (a checkout):
 * kept when it is newer than its source, else built by
 * `make WERROR= <module>` when a Makefile is there, else by the default
 * compile line
 *   $CC -std=c11 -Wall -Wextra -O2 -g -fPIC -shared -I<sdk> -o <module>
 *   <file>
 * where <sdk> is $PFAGENT_INCLUDE_DIR or the nearest include/ above
 * pfagent's directory (docs/flows.md). The build sees only the
 * environment a build needs (PATH, HOME, locale, TMPDIR, CC, CFLAGS and
 * the like, PFAGENT_INCLUDE_DIR), none of the flow's secrets. Concurrent
 * builds in one tree take turns through a lock file. *output (caller
 * frees; NULL when nothing was built) gets the build's warnings (its
 * stderr, "" when none); on failure err names the cause and *output
 * holds all the build printed.
 */
int	entrypoint_build(const struct entrypoint *, char **output, char *err,
	    size_t errlen);
/*
 * Loads the module (from the current directory) and finds the flow. The
 * handle stays open for the life of the process.
 */
int	entrypoint_load(const struct entrypoint *, const pf_flow_def **,
	    char *err, size_t errlen);
/*
 * Whether pfagent can run a loaded flow declaration: its ABI (the
 * module's), its function, its parameters' versions. 0, or -1 with err.
 */
int	sdk_flow_def_check(const pf_flow_def *, char *err, size_t errlen);

#endif
