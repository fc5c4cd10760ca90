/*
 * workdata.c: a deployed run's data home (workdata.h). A tree in the
 * git cache belongs to one commit and is deleted when the cache is
 * trimmed; what dlt keeps under the run dir would go with it, and a new
 * commit would start from an empty warehouse. The resolver puts it
 * under the data home instead (config/workspace.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "executor/workdata.h"
#include "git/cache.h"

/* "https://host/org/data-pipelines.git" -> "data-pipelines". */
static char *
repo_name(const char *url)
{
	const char	*e = url + strlen(url), *b;
	char		*name;
	size_t		 n;

	while (e > url && e[-1] == '/')
		e--;
	if (e - url > 4 && strncmp(e - 4, ".git", 4) == 0)
		e -= 4;
	for (b = e; b > url && b[-1] != '/' && b[-1] != ':'; b--)
		;
	n = (size_t)(e - b) > 40 ? 40 : (size_t)(e - b);
	if (n == 0)
		return xstrdup("repository");
	name = xasprintf("%.*s", (int)n, b);
	for (char *p = name; *p; p++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", *p) == NULL)
			*p = '_';
	if (name[0] == '.')
		name[0] = '_';
	return name;
}

char *
exec_data_home(const struct pull_result *pulled, const char *state_dir)
{
	char	*cwd, *home = NULL;

	if ((cwd = getcwd(NULL, 0)) == NULL)
		return NULL;
	for (size_t i = 0; home == NULL && i < pulled->nleases; i++) {
		const struct repo_lease	*l = &pulled->leases[i];
		char			*tree, *key, *name, hash[65];
		size_t			 n;

		if (l->directory == NULL || l->url == NULL ||
		    (tree = realpath(l->directory, NULL)) == NULL)
			continue;
		n = strlen(tree);
		if (strncmp(cwd, tree, n) == 0 && (cwd[n] == '\0' ||
		    cwd[n] == '/')) {
			key = xasprintf("%s\n%s", l->url, cwd + n);
			gitcache_sha256(key, strlen(key), hash);
			name = repo_name(l->url);
			home = xasprintf("%s/workspaces/%s-%.12s", state_dir,
			    name, hash);
			free(name);
			free(key);
		}
		free(tree);
	}
	free(cwd);
	return home;
}
