/*
 * spawn.c: one child process with its output captured, for the module
 * build (sdk/module.c) and run_shell_script (deployments/).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/redact.h"
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

/* Streams to fd what pending holds up to its last newline (all of it
 * at the end or when it grew past a line's worth), secrets masked. */
static void
stream_masked(int fd, struct buf *pending, struct redact *mask, int all)
{
	char	*nl, *line, *masked;
	size_t	 n;

	if (pending->data == NULL)
		return;
	nl = memrchr(pending->data, '\n', pending->len);
	if (all || pending->len > 64 * 1024)
		n = pending->len;
	else if (nl != NULL)
		n = (size_t)(nl - pending->data) + 1;
	else
		return;
	line = strndup(pending->data, n);
	masked = line ? redact_text(mask, line) : NULL;
	if (masked != NULL)
		(void)!write(fd, masked, strlen(masked));
	free(masked);
	free(line);
	memmove(pending->data, pending->data + n, pending->len - n);
	buf_truncate(pending, pending->len - n);
}

/* Reads both pipes to EOF, into the sinks and, when stream, to 1 and 2
 * (whole lines, masked, when mask is set). */
static void
drain(int out_fd, int err_fd, struct buf *out, struct buf *errb, int stream,
    struct redact *mask)
{
	struct pollfd	pfd[2] = {
		{ .fd = out_fd, .events = POLLIN },
		{ .fd = err_fd, .events = POLLIN },
	};
	struct buf	*sink[2] = { out, errb }, pending[2];
	char		 chunk[8192];

	buf_init(&pending[0], SIZE_MAX);
	buf_init(&pending[1], SIZE_MAX);
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
			if (stream && mask == NULL)
				(void)!write(i + 1, chunk, (size_t)n);
			else if (stream) {
				(void)buf_append(&pending[i], chunk,
				    (size_t)n);
				stream_masked(i + 1, &pending[i], mask, 0);
			}
		}
	}
	for (int i = 0; i < 2; i++) {
		if (stream && mask != NULL)
			stream_masked(i + 1, &pending[i], mask, 1);
		buf_cleanup(&pending[i]);
	}
}

int
spawn_capture(char *const argv[], const char *dir, char *const envp[],
    struct buf *out, struct buf *errb, int stream, struct redact *mask,
    int *status)
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
	drain(o[0], e[0], out, errb, stream, mask);
	while (waitpid(pid, status, 0) == -1 && errno == EINTR)
		;
	return 0;
}
