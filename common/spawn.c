/*
 * spawn.c: one child process with its output captured, for the module
 * build (sdk/module.c) and run_shell_script (deployments/).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/spawn.h"

int
proc_status_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return -WTERMSIG(wstatus);	/* as Python's returncode */
	return -1;
}

/* Reads both pipes to EOF, into the sinks and, when stream, to 1 and 2. */
static void
drain(int out_fd, int err_fd, struct buf *out, struct buf *errb, int stream)
{
	struct pollfd	pfd[2] = {
		{ .fd = out_fd, .events = POLLIN },
		{ .fd = err_fd, .events = POLLIN },
	};
	struct buf	*sink[2] = { out, errb };
	char		 chunk[8192];

	while (pfd[0].fd != -1 || pfd[1].fd != -1) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t	n;

			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				continue;
			}
			(void)buf_append(sink[i], chunk, (size_t)n);
			if (stream)
				(void)!write(i + 1, chunk, (size_t)n);
		}
	}
}

int
spawn_capture(char *const argv[], const char *dir, char *const envp[],
    struct buf *out, struct buf *errb, int stream, int *status)
{
	posix_spawn_file_actions_t fa;
	int		 o[2], e[2], rc;
	pid_t		 pid;

	if (pipe2(o, O_CLOEXEC) == -1)
		return errno;
	if (pipe2(e, O_CLOEXEC) == -1) {
		rc = errno;
		close(o[0]);
		close(o[1]);
		return rc;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, e[1], 2);
	if (dir != NULL)
		posix_spawn_file_actions_addchdir_np(&fa, dir);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(o[1]);
	close(e[1]);
	if (rc != 0) {
		close(o[0]);
		close(e[0]);
		return rc;
	}
	drain(o[0], e[0], out, errb, stream);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
	return 0;
}
