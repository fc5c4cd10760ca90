/*
 * t_files.h: files for unit tests under a temporary root directory.
 *
 *	t_put(root, ".dlt/config.toml", "[a]\nb = 1\n");
 *	t_drop(root, ".dlt/config.toml");
 */
#ifndef TESTS_T_FILES_H
#define TESTS_T_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

/* Writes root/rel, making its folders. */
static inline void
t_put(const char *root, const char *rel, const char *text)
{
	char	*path = xasprintf("%s/%s", root, rel), *slash;
	FILE	*f;

	slash = strrchr(path, '/');
	*slash = '\0';
	mkdir_p(path, 0755);
	*slash = '/';
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(path);
}

static inline void
t_drop(const char *root, const char *rel)
{
	char	*path = xasprintf("%s/%s", root, rel);

	unlink(path);
	free(path);
}

#endif
