/*
 * command.c: what a flow run's process runs, chosen as Prefect's process
 * worker chooses it (prefect/workers/process.py):
 *
 *   job `command` set      -> its words (shlex.split, no shell), as
 *                             Prefect's command_from_string
 *   entrypoint "f.py:flow" -> Prefect's engine, `python -m prefect.engine`,
 *                             the Python being the one that runs the
 *                             `prefect` command found on PATH
 *   otherwise              -> `pfagent execute` (the C executor)
 *
 * A bare argv[0] is searched in the PATH of the child's environment, as
 * Python's subprocess does. Not `prefect flow-run execute`: it starts the
 * engine in a session of its own, out of the reach of the SIGKILL the
 * worker sends to the run's process group.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "worker/worker.h"
#include "common/json.h"
#include "common/util.h"
#include "deployments/shell_step.h"

static const char *
env_value(char *const *env, const char *key)
{
	size_t	n = strlen(key);

	for (char *const *e = env; e && *e; e++)
		if (strncmp(*e, key, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* name in env's PATH (os.defpath without one); NULL if nowhere. */
char *
command_lookup(const char *name, char *const *env)
{
	const char	*path = env_value(env, "PATH"), *p, *end;
	struct stat	 st;

	if (strchr(name, '/') != NULL)
		return xstrdup(name);
	for (p = path ? path : "/bin:/usr/bin"; ; p = end + 1) {
		char	*full;

		end = strchrnul(p, ':');
		full = xasprintf("%.*s%s%s", (int)(end - p), p,
		    end > p ? "/" : "", name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(full, X_OK) == 0)
			return full;
		free(full);
		if (*end == '\0')
			return NULL;
	}
}

/*
 * The interpreter line of the script at path: "#!/py" or "#!/env python3"
 * (one argument, as Linux passes it), or pip's form for long paths,
 * "#!/bin/sh" then "'''exec' "/py" "$0" "$@"". NULL words if none.
 */
static char **
interpreter_of(const char *path)
{
	char	 line[2][512], *nl, **words;
	FILE	*f = fopen(path, "r");
	int	 n = 0;

	if (f == NULL)
		return NULL;
	while (n < 2 && fgets(line[n], sizeof(line[n]), f) != NULL) {
		if ((nl = strchr(line[n], '\n')) != NULL)
			*nl = '\0';
		n++;
	}
	fclose(f);
	if (n == 0 || strncmp(line[0], "#!", 2) != 0)
		return NULL;
	if (n == 2 && strncmp(line[1], "'''exec' ", 9) == 0 &&
	    (words = shell_split(line[1] + 9, NULL, 0)) != NULL) {
		/* Keep the interpreter only ("$0" "$@" follow). */
		for (char **w = words + (words[0] != NULL); *w; w++) {
			free(*w);
			*w = NULL;
		}
		return words;
	}
	words = xcalloc(3, sizeof(char *));
	nl = line[0] + 2 + strspn(line[0] + 2, " \t");
	words[0] = xasprintf("%.*s", (int)strcspn(nl, " \t"), nl);
	nl += strlen(words[0]);
	nl += strspn(nl, " \t");
	if (*nl != '\0')
		words[1] = xstrdup(nl);
	return words;
}

int
has_python_entrypoint(const cJSON *deployment)
{
	const char	*ep = json_str(deployment, "entrypoint"), *colon;
	size_t		 n;

	if (ep == NULL)
		return 0;
	colon = strrchr(ep, ':');
	n = colon ? (size_t)(colon - ep) : strlen(ep);
	return n >= 3 && strncmp(ep + n - 3, ".py", 3) == 0;
}

/* A wrapper script's shell must not be handed -m prefect.engine. */
static int
names_python(const char *interpreter)
{
	const char	*base = strrchr(interpreter, '/');

	base = base ? base + 1 : interpreter;
	return strstr(base, "python") != NULL || strstr(base, "pypy") != NULL;
}

/* Prefect's engine run by the Python of the `prefect` on PATH. */
static char **
engine_argv(const char *run_id, char *const *env, char *err, size_t errlen)
{
	char	*prefect = command_lookup("prefect", env), **argv;
	size_t	 n;

	if (prefect == NULL) {
		errorf(err, errlen, "Flow run %s has a Python entrypoint and "
		    "no 'prefect' command was found on PATH: install Prefect "
		    "in the worker's image or set the deployment's job "
		    "variable `command`", run_id);
		return NULL;
	}
	if ((argv = interpreter_of(prefect)) == NULL || argv[0] == NULL ||
	    *argv[0] != '/') {
		errorf(err, errlen, "Flow run %s has a Python entrypoint and "
		    "the 'prefect' command at %s names no Python to run it: "
		    "set the deployment's job variable `command`", run_id,
		    prefect);
		shell_words_free(argv);
		free(prefect);
		return NULL;
	}
	free(prefect);
	n = argv[1] != NULL ? 2 : 1;
	if (!names_python(argv[n - 1])) {
		errorf(err, errlen, "Flow run %s has a Python entrypoint and "
		    "the 'prefect' command on PATH is run by %s, not a "
		    "Python: set the deployment's job variable `command`",
		    run_id, argv[n - 1]);
		shell_words_free(argv);
		return NULL;
	}
	argv = xrealloc(argv, (n + 3) * sizeof(char *));
	argv[n] = xstrdup("-m");
	argv[n + 1] = xstrdup("prefect.engine");
	argv[n + 2] = NULL;
	return argv;
}

char **
command_argv(const char *run_id, const struct jobconf *jc,
    const cJSON *deployment, const char *exe, char *const *env, char *err,
    size_t errlen)
{
	char	**argv, *path, e[256];

	if (jc->command == NULL && has_python_entrypoint(deployment))
		return engine_argv(run_id, env, err, errlen);
	if (jc->command == NULL) {
		argv = xcalloc(3, sizeof(char *));
		argv[0] = xstrdup(exe);
		argv[1] = xstrdup("execute");
		return argv;
	}
	if ((argv = shell_split(jc->command, e, sizeof(e))) == NULL) {
		errorf(err, errlen, "Failed to submit flow run to "
		    "infrastructure: ValueError: %s", e);
		return NULL;
	}
	if (argv[0] == NULL) {
		errorf(err, errlen, "Failed to submit flow run to "
		    "infrastructure: ValueError: job variable `command` has "
		    "no words");
		shell_words_free(argv);
		return NULL;
	}
	if ((path = command_lookup(argv[0], env)) == NULL) {
		errorf(err, errlen, "Failed to submit flow run to "
		    "infrastructure: FileNotFoundError: [Errno 2] No such "
		    "file or directory: '%s'", argv[0]);
		shell_words_free(argv);
		return NULL;
	}
	free(argv[0]);
	argv[0] = path;
	return argv;
}
