/*
 * intent.c: the intent marker, <state dir>/cancel/<flow run id>, that
 * tells a flow-run process why the SIGTERM it gets was sent (see
 * prefect/contract.h). Written by the worker, read by the executor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "prefect/contract.h"

char *
cancel_intent_path(const char *state_dir, const char *flow_run_id)
{
	return xasprintf("%s/" PF_INTENT_DIR "/%s", state_dir, flow_run_id);
}

static int
intent_write(const char *state_dir, const char *flow_run_id,
    const char *text, char *err, size_t errlen)
{
	char	*dir = xasprintf("%s/" PF_INTENT_DIR, state_dir);
	char	*path = cancel_intent_path(state_dir, flow_run_id);
	int	 fd, rc = -1;
	size_t	 n = strlen(text);

	if (mkdir_p(dir, 0700) == -1) {
		errorf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > 0 && write(fd, text, n) != (ssize_t)n) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	free(path);
	free(dir);
	return rc;
}

int
cancel_intent_write(const char *state_dir, const char *flow_run_id,
    char *err, size_t errlen)
{
	return intent_write(state_dir, flow_run_id, "", err, errlen);
}

int
shutdown_intent_write(const char *state_dir, const char *flow_run_id,
    const char *message, char *err, size_t errlen)
{
	return intent_write(state_dir, flow_run_id, message, err, errlen);
}

int
shutdown_intent_read(const char *state_dir, const char *flow_run_id,
    char *message, size_t len)
{
	char	*path;
	int	 fd;
	ssize_t	 n = 0;

	if (len == 0 || state_dir == NULL || flow_run_id == NULL ||
	    *state_dir == '\0' || strchr(flow_run_id, '/') != NULL)
		return 0;
	path = cancel_intent_path(state_dir, flow_run_id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, message, len - 1);
		close(fd);
	}
	free(path);
	message[n > 0 ? n : 0] = '\0';
	return n > 0;
}

void
cancel_intent_remove(const char *state_dir, const char *flow_run_id)
{
	char	*path = cancel_intent_path(state_dir, flow_run_id);

	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("%s", path);
	free(path);
}

int
cancel_intent_present(const char *state_dir, const char *flow_run_id)
{
	char	*path;
	int	 yes;

	if (state_dir == NULL || flow_run_id == NULL || *state_dir == '\0' ||
	    strchr(flow_run_id, '/') != NULL)
		return 0;
	path = cancel_intent_path(state_dir, flow_run_id);
	yes = access(path, F_OK) == 0;
	free(path);
	return yes;
}
