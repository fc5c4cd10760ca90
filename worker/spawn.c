/*
 * proc.c: starting a flow run's process in its own process group, and
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
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "worker/worker.h"
#include "common/log.h"
#include "common/util.h"

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

/* The run's limits (job variables), set before exec. */
static int
set_limits(const struct proc_spec *s)
{
	struct rlimit	rl;

	/*
	 * RLIMIT_DATA rather than RLIMIT_AS: it counts what the flow
	 * allocates (heap, private writable mappings), not the address
	 * space every thread stack and malloc arena reserves.
	 */
	if (s->memory_mb > 0) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)s->memory_mb << 20;
		if (setrlimit(RLIMIT_DATA, &rl) == -1)
			return -1;
	}
	/* SIGXCPU at the limit, SIGKILL a few seconds of CPU later. */
	if (s->cpu_seconds > 0) {
		rl.rlim_cur = (rlim_t)s->cpu_seconds;
		rl.rlim_max = (rlim_t)s->cpu_seconds + 5;
		if (setrlimit(RLIMIT_CPU, &rl) == -1)
			return -1;
	}
	return 0;
}

static void __attribute__((noreturn))
child(const struct proc_spec *s, int report_fd, int go_fd)
{
	sigset_t	 none;
	int		 devnull, err;
	char		 go = 0;
	ssize_t		 n;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	/* Nothing of the agent's (sockets, pidfds) leaks into the flow. */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	/* The one that does goes where the child looks: the pipes move
	 * out of its way first. */
	if (s->pass_fd >= 0) {
		if (report_fd <= s->pass_as)
			report_fd = fcntl(report_fd, F_DUPFD_CLOEXEC,
			    s->pass_as + 1);
		if (go_fd <= s->pass_as)
			go_fd = fcntl(go_fd, F_DUPFD_CLOEXEC, s->pass_as + 1);
		if (s->pass_fd == s->pass_as)
			fcntl(s->pass_as, F_SETFD, 0);
		else if (dup2(s->pass_fd, s->pass_as) == -1)
			goto fail;
	}
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDIN_FILENO);
		if (!s->stream_output) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	if (chdir(s->cwd) == -1 || set_limits(s) == -1)
		goto fail;
	/*
	 * Exec only once the parent says so (it journals our pid first): a
	 * parent that died before that closes the pipe, and we never run.
	 */
	while ((n = read(go_fd, &go, 1)) == -1 && errno == EINTR)
		;
	if (n != 1 || go != 'g')
		_exit(127);
	execve(s->argv[0], s->argv, s->env);
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
	int	 p[2], g[2], child_errno = 0, pidfd;
	ssize_t	 n;
	pid_t	 pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		errorf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(g, O_CLOEXEC) == -1) {
		errorf(err, errlen, "pipe: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if ((pid = fork()) == -1) {
		errorf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		close(g[0]);
		close(g[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		close(g[1]);
		child(s, p[1], g[0]);
	}
	close(p[1]);
	close(g[0]);
	/* Also set here: no race with a signal sent right after fork. */
	setpgid(pid, pid);
	if (s->started != NULL)
		s->started(pid, s->started_arg);
	if (write(g[1], "g", 1) != 1 && errno != EPIPE)
		log_warn("releasing process %d", (int)pid);
	close(g[1]);
	while ((n = read(p[0], &child_errno, sizeof(child_errno))) == -1 &&
	    errno == EINTR)
		;
	close(p[0]);
	if (n == sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		errorf(err, errlen, "cannot start %s in %s: %s",
		    s->argv[0], s->cwd, strerror(child_errno));
		return -1;
	}
	/* -1 is fine: the caller then polls waitpid instead. */
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) != -1)
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	*pid_out = pid;
	*pidfd_out = pidfd;
	return 0;
}
