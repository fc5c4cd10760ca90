/*
 * proc.c: starting the flow-run executor in its own process group, and
 * naming how it ended. The child learns nothing from the agent but its
 * environment; an exec failure comes back through a CLOEXEC pipe so it
 * is told apart from a flow that exits 127.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "agent/agent.h"
#include "common/log.h"
#include "common/util.h"

int
proc_status_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return -WTERMSIG(wstatus);	/* as Python's returncode */
	return -1;
}

static size_t
env_key_len(const char *kv)
{
	const char	*eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

char **
proc_env_build(char *const *additions)
{
	extern char	**environ;
	size_t		  n = 0, m = 0;
	char		**env;

	for (char **e = environ; *e; e++)
		n++;
	for (char *const *a = additions; a && *a; a++)
		n++;
	env = xcalloc(n + 1, sizeof(char *));
	for (char **e = environ; *e; e++)
		env[m++] = xstrdup(*e);
	for (char *const *a = additions; a && *a; a++) {
		size_t	k = env_key_len(*a), i;

		for (i = 0; i < m; i++)
			if (env_key_len(env[i]) == k &&
			    strncmp(env[i], *a, k) == 0)
				break;
		if (i < m)
			free(env[i]);
		else
			m++;
		env[i] = xstrdup(*a);
	}
	env[m] = NULL;
	return env;
}

void
proc_env_free(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

static void __attribute__((noreturn))
child(const struct proc_spec *s, int report_fd)
{
	sigset_t	 none;
	int		 devnull, err;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	/* Nothing of the agent's (sockets, pidfds) leaks into the flow. */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDIN_FILENO);
		if (!s->stream_output) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	if (chdir(s->cwd) == -1)
		goto fail;
	if (s->command != NULL) {
		char *const argv[] = { "/bin/sh", "-c", (char *)s->command,
		    NULL };

		execve("/bin/sh", argv, s->env);
	} else {
		char *const argv[] = { (char *)s->exe, "execute", NULL };

		execve(s->exe, argv, s->env);
	}
fail:
	err = errno;
	if (write(report_fd, &err, sizeof(err)) < 0) {
		/* the parent sees a plain exit 127 */
	}
	_exit(127);
}

int
proc_spawn(const struct proc_spec *s, pid_t *pid_out, int *pidfd_out,
    char *err, size_t errlen)
{
	int	 p[2], child_errno = 0, pidfd;
	ssize_t	 n;
	pid_t	 pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		child(s, p[1]);
	}
	close(p[1]);
	/* Also set here: no race with a signal sent right after fork. */
	setpgid(pid, pid);
	while ((n = read(p[0], &child_errno, sizeof(child_errno))) == -1 &&
	    errno == EINTR)
		;
	close(p[0]);
	if (n == sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		snprintf(err, errlen, "cannot start %s in %s: %s",
		    s->command ? "/bin/sh" : s->exe, s->cwd,
		    strerror(child_errno));
		return -1;
	}
	/* -1 is fine: the caller then polls waitpid instead. */
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) != -1)
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	*pid_out = pid;
	*pidfd_out = pidfd;
	return 0;
}
