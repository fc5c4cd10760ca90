/*
 * handoff.c: the worker's reads handed to its flow-run process in a
 * memfd (handoff.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/util.h"
#include "prefect/contract.h"
#include "prefect/handoff.h"

#define HANDOFF_NAME	"pfagent-handoff"
#define HANDOFF_MAX	(64u << 20)

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t	w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
handoff_create(const cJSON *flow_run, const cJSON *deployment, char *err,
    size_t errlen)
{
	char	 slot[HANDOFF_FINAL_LEN] = { 0 }, *text;
	cJSON	*o = cJSON_CreateObject();
	int	 fd;

	/* References: the run's own objects are printed, not copied. */
	cJSON_AddItemReferenceToObject(o, "flow_run", (cJSON *)flow_run);
	if (deployment != NULL)
		cJSON_AddItemReferenceToObject(o, "deployment",
		    (cJSON *)deployment);
	text = json_print(o);
	cJSON_Delete(o);
	if ((fd = memfd_create(HANDOFF_NAME, MFD_CLOEXEC)) == -1) {
		free(text);
		return errorf(err, errlen, "memfd_create: %s",
		    strerror(errno));
	}
	if (write_all(fd, slot, sizeof(slot)) == -1 ||
	    write_all(fd, text, strlen(text)) == -1) {
		errorf(err, errlen, "writing the handoff: %s", strerror(errno));
		close(fd);
		fd = -1;
	}
	free(text);
	return fd;
}

/* The descriptor is the worker's memfd (not one a user happened to pass). */
static int
is_handoff(int fd)
{
	char	 path[64], target[128];
	ssize_t	 n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((n = readlink(path, target, sizeof(target) - 1)) <= 0)
		return 0;
	target[n] = '\0';
	return strncmp(target, "/memfd:" HANDOFF_NAME,
	    strlen("/memfd:" HANDOFF_NAME)) == 0;
}

int
handoff_take(const char *flow_run_id, cJSON **flow_run, cJSON **deployment,
    int *fdp)
{
	const char	*v = getenv(PF_ENV_HANDOFF);
	struct stat	 st;
	cJSON		*o = NULL, *run, *dep;
	char		*text = NULL;
	ssize_t		 n;
	int		 fd;

	*flow_run = *deployment = NULL;
	*fdp = -1;
	if (v == NULL)
		return -1;
	fd = atoi(v);
	/* Not for what this process starts (a flow's own programs). */
	unsetenv(PF_ENV_HANDOFF);
	if (fd < 3 || !is_handoff(fd))
		return -1;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fstat(fd, &st) == -1 || st.st_size <= HANDOFF_FINAL_LEN ||
	    (size_t)st.st_size > HANDOFF_MAX)
		goto fail;
	text = xmalloc((size_t)st.st_size - HANDOFF_FINAL_LEN + 1);
	n = pread(fd, text, (size_t)st.st_size - HANDOFF_FINAL_LEN,
	    HANDOFF_FINAL_LEN);
	if (n != st.st_size - HANDOFF_FINAL_LEN)
		goto fail;
	text[n] = '\0';
	if ((o = cJSON_Parse(text)) == NULL ||
	    !cJSON_IsObject(run = cJSON_GetObjectItemCaseSensitive(o,
	    "flow_run")) || json_str(run, "id") == NULL ||
	    strcmp(json_str(run, "id"), flow_run_id) != 0)
		goto fail;
	*flow_run = cJSON_DetachItemViaPointer(o, run);
	if ((dep = cJSON_GetObjectItemCaseSensitive(o, "deployment")) != NULL)
		*deployment = cJSON_DetachItemViaPointer(o, dep);
	cJSON_Delete(o);
	free(text);
	*fdp = fd;
	return 0;
fail:
	cJSON_Delete(o);
	free(text);
	close(fd);
	return -1;
}

void
handoff_set_final(int fd, const char *type)
{
	char	slot[HANDOFF_FINAL_LEN] = { 0 };

	if (fd < 0 || type == NULL)
		return;
	strlcpy_(slot, type, sizeof(slot));
	if (pwrite(fd, slot, sizeof(slot), 0) != (ssize_t)sizeof(slot)) {
		/* the worker reads the run instead */
	}
}

void
handoff_final(int fd, char out[HANDOFF_FINAL_LEN])
{
	if (fd < 0 || pread(fd, out, HANDOFF_FINAL_LEN, 0) !=
	    HANDOFF_FINAL_LEN)
		out[0] = '\0';
	out[HANDOFF_FINAL_LEN - 1] = '\0';
}
