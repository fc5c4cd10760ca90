/* test_command.c: the argv of a run's process (worker/command.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "worker/worker.h"
#include "deployments/shell_step.h"
#include "t.h"
#include "t_files.h"

#define RUN_ID	"0b5e0c9e-0000-4000-8000-000000000001"

static void
put_exe(const char *root, const char *rel, const char *text)
{
	char	*path = xasprintf("%s/%s", root, rel);

	t_put(root, rel, text);
	chmod(path, 0755);
	free(path);
}

/* argv for the deployment (JSON) and command, in env; NULL with err. */
static char **
argv_of(const char *deployment, const char *command, char *const *env,
    char *err, size_t errlen)
{
	struct jobconf	 jc;
	cJSON		*dep = cJSON_Parse(deployment);
	char		**argv;

	memset(&jc, 0, sizeof(jc));
	jc.command = (char *)command;
	argv = command_argv(RUN_ID, &jc, dep, "/opt/pfagent", env, err,
	    errlen);
	cJSON_Delete(dep);
	return argv;
}

int
main(void)
{
	char	 root[] = "/tmp/pf-command-XXXXXX", err[512], **argv;
	char	*path_env, *no_prefect, *env_path, cmd[128];

	if (mkdtemp(root) == NULL)
		return 1;
	put_exe(root, "venv/bin/prefect", "#!/srv/venv/bin/python3\nimport sys\n");
	put_exe(root, "env/bin/prefect", "#!/usr/bin/env python3 -u\n");
	put_exe(root, "long/bin/prefect", "#!/bin/sh\n'''exec' "
	    "\"/srv/a long path/python\" \"$0\" \"$@\"\n' '''\n");
	put_exe(root, "bin/prefect", "\177ELF");
	put_exe(root, "tools/run-it", "#!/bin/sh\n");
	put_exe(root, "sh/prefect", "#!/bin/sh\nexec /opt/py -m prefect\n");
	t_put(root, "plain/prefect", "#!/srv/py\n");	/* not executable */
	path_env = xasprintf("PATH=%s/plain:%s/venv/bin:%s/tools", root, root,
	    root);
	no_prefect = xasprintf("PATH=%s/tools", root);
	{
		char *const env[] = { path_env, NULL };
		char *const env2[] = { no_prefect, NULL };

		TEST("a .c entrypoint, no command: pfagent execute") {
			argv = argv_of("{\"entrypoint\":\"flows/hello.c:hello\"}",
			    NULL, env, err, sizeof(err));
			CHECK(argv != NULL);
			CHECK_STR(argv[0], "/opt/pfagent");
			CHECK_STR(argv[1], "execute");
			CHECK(argv[2] == NULL);
			shell_words_free(argv);
			argv = argv_of("{}", NULL, env, err, sizeof(err));
			CHECK(argv != NULL && strcmp(argv[1], "execute") == 0);
			shell_words_free(argv);
		}
		TEST("a .py entrypoint: the engine, by prefect's Python") {
			argv = argv_of("{\"entrypoint\":\"bench/hello_flow.py:"
			    "hello\"}", NULL, env, err, sizeof(err));
			CHECK(argv != NULL);
			CHECK_STR(argv[0], "/srv/venv/bin/python3");
			CHECK_STR(argv[1], "-m");
			CHECK_STR(argv[2], "prefect.engine");
			CHECK(argv[3] == NULL);
			shell_words_free(argv);
		}
		TEST("a .py entrypoint, no prefect on PATH: said so") {
			argv = argv_of("{\"entrypoint\":\"a/b.py:f\"}", NULL,
			    env2, err, sizeof(err));
			CHECK(argv == NULL);
			CHECK_STR(err, "Flow run " RUN_ID " has a Python "
			    "entrypoint and no 'prefect' command was found on "
			    "PATH: install Prefect in the worker's image or set "
			    "the deployment's job variable `command`");
		}
		TEST("a command set: its words, argv[0] in the child's PATH") {
			argv = argv_of("{\"entrypoint\":\"a/b.py:f\"}",
			    "run-it --name 'a b' \"c \\\"d\\\"\" e\\ f ''", env,
			    err, sizeof(err));
			CHECK(argv != NULL);
			CHECK(strstr(argv[0], "/tools/run-it") != NULL);
			CHECK_STR(argv[1], "--name");
			CHECK_STR(argv[2], "a b");
			CHECK_STR(argv[3], "c \"d\"");
			CHECK_STR(argv[4], "e f");
			CHECK_STR(argv[5], "");
			CHECK(argv[6] == NULL);
			shell_words_free(argv);
			argv = argv_of("{}", "/bin/sh -c 'exit 3'", env, err,
			    sizeof(err));
			CHECK(argv != NULL);
			CHECK_STR(argv[0], "/bin/sh");
			CHECK_STR(argv[2], "exit 3");
			shell_words_free(argv);
		}
		TEST("a command's errors: quoting, nothing, not found") {
			CHECK(argv_of("{}", "run-it 'a", env, err,
			    sizeof(err)) == NULL);
			CHECK(strstr(err, "ValueError: No closing quotation") !=
			    NULL);
			CHECK(argv_of("{}", "  ", env, err, sizeof(err)) == NULL);
			CHECK(argv_of("{}", "no-such-cmd x", env, err,
			    sizeof(err)) == NULL);
			CHECK(strstr(err, "FileNotFoundError: [Errno 2] No such "
			    "file or directory: 'no-such-cmd'") != NULL);
		}
	}
	TEST("prefect's interpreter: env with an argument, pip's sh form, "
	    "not a script, a shell wrapper") {
		env_path = xasprintf("PATH=%s/env/bin", root);
		{
			char *const env[] = { env_path, NULL };

			argv = argv_of("{\"entrypoint\":\"f.py:f\"}", NULL, env,
			    err, sizeof(err));
			CHECK(argv != NULL);
			CHECK_STR(argv[0], "/usr/bin/env");
			CHECK_STR(argv[1], "python3 -u");
			CHECK_STR(argv[2], "-m");
			shell_words_free(argv);
		}
		free(env_path);
		env_path = xasprintf("PATH=%s/long/bin", root);
		{
			char *const env[] = { env_path, NULL };

			argv = argv_of("{\"entrypoint\":\"f.py:f\"}", NULL, env,
			    err, sizeof(err));
			CHECK(argv != NULL);
			CHECK_STR(argv[0], "/srv/a long path/python");
			CHECK_STR(argv[1], "-m");
			CHECK_STR(argv[2], "prefect.engine");
			CHECK(argv[3] == NULL);
			shell_words_free(argv);
		}
		free(env_path);
		env_path = xasprintf("PATH=%s/bin", root);
		{
			char *const env[] = { env_path, NULL };

			CHECK(argv_of("{\"entrypoint\":\"f.py:f\"}", NULL, env,
			    err, sizeof(err)) == NULL);
			CHECK(strstr(err, "names no Python to run it") != NULL);
		}
		free(env_path);
		env_path = xasprintf("PATH=%s/sh", root);
		{
			char *const env[] = { env_path, NULL };

			CHECK(argv_of("{\"entrypoint\":\"f.py:f\"}", NULL, env,
			    err, sizeof(err)) == NULL);
			CHECK(strstr(err, "is run by /bin/sh, not a Python") !=
			    NULL);
		}
		free(env_path);
	}
	free(path_env);
	free(no_prefect);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return t_done();
}
