/*
 * logspool.c: the log spool of prefect/logspool.h. Lines are appended
 * with one write(2) each and never synced: the page cache outlives the
 * process that crashed, which is what the spool is for (a machine that
 * dies takes the worker with it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "prefect/logspool.h"

#define SPOOL_DIR	"logs"
#define SENT_WIDTH	20		/* the offset, zero-padded */

struct logspool {
	int	 fd, sent_fd;
	off_t	 end, sent, sending;
	char	*path, *sent_path;
};

static int
valid_id(const char *id)
{
	return id != NULL && *id != '\0' && strchr(id, '/') == NULL &&
	    strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

static void
paths(const char *state_dir, const char *id, char **spool, char **sent)
{
	*spool = xasprintf("%s/" SPOOL_DIR "/%s.jsonl", state_dir, id);
	*sent = xasprintf("%s/" SPOOL_DIR "/%s.sent", state_dir, id);
}

struct logspool *
logspool_open(const char *state_dir, const char *flow_run_id, char *err,
    size_t errlen)
{
	struct logspool	*s;
	char		*dir;
	struct stat	 st;

	if (state_dir == NULL || *state_dir == '\0' || !valid_id(flow_run_id)) {
		errorf(err, errlen, "no state dir or run id for the log spool");
		return NULL;
	}
	dir = xasprintf("%s/" SPOOL_DIR, state_dir);
	if (mkdir_p(dir, 0700) == -1) {
		errorf(err, errlen, "%s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	free(dir);
	s = xcalloc(1, sizeof(*s));
	paths(state_dir, flow_run_id, &s->path, &s->sent_path);
	/* Appended to: a re-executed executor goes on from its first image. */
	s->fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	s->sent_fd = open(s->sent_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd == -1 || s->sent_fd == -1 || fstat(s->fd, &st) == -1) {
		errorf(err, errlen, "%s: %s", s->path, strerror(errno));
		logspool_close(s, 1);
		return NULL;
	}
	s->end = s->sent = s->sending = st.st_size;
	return s;
}

int
logspool_append(struct logspool *s, const char *json, off_t *end)
{
	size_t		 n = strlen(json);
	struct iovec	 v[2] = { { (void *)json, n }, { "\n", 1 } };

	/* One writev: a single append, however long the line. */
	if (writev(s->fd, v, 2) != (ssize_t)(n + 1))
		return -1;
	s->end += (off_t)(n + 1);
	*end = s->end;
	return 0;
}

/* Both offsets in one small write at offset 0: read whole or as was. */
static void
write_offsets(struct logspool *s)
{
	char	 text[2 * SENT_WIDTH + 3];

	snprintf(text, sizeof(text), "%0*lld %0*lld\n", SENT_WIDTH,
	    (long long)s->sent, SENT_WIDTH, (long long)s->sending);
	if (pwrite(s->sent_fd, text, 2 * SENT_WIDTH + 2, 0) !=
	    2 * SENT_WIDTH + 2) {
		/* the worker then sends some lines twice: no loss */
	}
}

void
logspool_sending(struct logspool *s, off_t end)
{
	s->sending = end;
	write_offsets(s);
}

void
logspool_sent(struct logspool *s, off_t end)
{
	s->sent = s->sending = end;
	write_offsets(s);
}

void
logspool_close(struct logspool *s, int remove)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	if (s->sent_fd != -1)
		close(s->sent_fd);
	if (remove) {
		(void)unlink(s->path);
		(void)unlink(s->sent_path);
	}
	free(s->path);
	free(s->sent_path);
	free(s);
}

/* The sent and sending offsets; both 0 when unknown. */
static void
read_offsets(const char *path, off_t *sent, off_t *sending)
{
	char	 text[2 * SENT_WIDTH + 3];
	int	 fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t	 n = fd == -1 ? -1 : read(fd, text, 2 * SENT_WIDTH + 2);

	if (fd != -1)
		close(fd);
	*sent = *sending = 0;
	if (n != 2 * SENT_WIDTH + 2)
		return;
	text[2 * SENT_WIDTH + 1] = '\0';
	*sent = (off_t)strtoll(text, NULL, 10);
	*sending = (off_t)strtoll(text + SENT_WIDTH + 1, NULL, 10);
	if (*sending < *sent)
		*sending = *sent;
}

/* The spool past the sent offset (only what was not sent is read). */
static char *
read_from(const char *path, off_t from, size_t *len)
{
	int	 fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf b;
	char	 chunk[65536];
	ssize_t	 n;

	*len = 0;
	if (fd == -1)
		return NULL;
	if (lseek(fd, from, SEEK_SET) == -1) {
		close(fd);
		return NULL;
	}
	buf_init(&b, SIZE_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)n) == -1)
			break;
	close(fd);
	*len = b.len;
	return buf_steal(&b);
}

/* Closes the array of the current body and starts a new one. */
static void
end_body(struct buf *b, char ***out, size_t *n)
{
	if (b->len <= 1)
		return;
	buf_append(b, "]", 1);
	*out = xrealloc(*out, (*n + 2) * sizeof(char *));
	(*out)[(*n)++] = buf_steal(b);
	(*out)[*n] = NULL;
	buf_init(b, SIZE_MAX);
	buf_append(b, "[", 1);
}

void
logspool_take(const char *state_dir, const char *flow_run_id,
    size_t max_bytes, struct logspool_rest *rest)
{
	char		*spool, *sent, *text, **out = NULL;
	size_t		 len = 0, n = 0;
	off_t		 from, sending;
	struct buf	 b;

	rest->unsure = NULL;
	rest->bodies = NULL;
	if (state_dir == NULL || !valid_id(flow_run_id))
		return;
	paths(state_dir, flow_run_id, &spool, &sent);
	read_offsets(sent, &from, &sending);
	text = read_from(spool, from, &len);
	(void)unlink(spool);
	(void)unlink(sent);
	free(spool);
	free(sent);
	if (text == NULL || len == 0) {
		free(text);
		return;
	}
	buf_init(&b, SIZE_MAX);
	buf_append(&b, "[", 1);
	for (char *line = text, *nl; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;		/* a torn last line: left out */
		if (nl == line)
			continue;
		if (from + (line - text) < sending) {
			cJSON *e = cJSON_ParseWithLength(line,
			    (size_t)(nl - line));

			if (e == NULL)
				continue;
			if (rest->unsure == NULL)
				rest->unsure = cJSON_CreateArray();
			cJSON_AddItemToArray(rest->unsure, e);
			continue;
		}
		if (b.len > 1 && b.len + (size_t)(nl - line) + 2 > max_bytes)
			end_body(&b, &out, &n);
		if (b.len > 1)
			buf_append(&b, ",", 1);
		buf_append(&b, line, (size_t)(nl - line));
	}
	end_body(&b, &out, &n);
	buf_cleanup(&b);
	free(text);
	rest->bodies = out;
}

void
logspool_rest_free(struct logspool_rest *rest)
{
	for (char **p = rest->bodies; p != NULL && *p != NULL; p++)
		free(*p);
	free(rest->bodies);
	cJSON_Delete(rest->unsure);
	rest->bodies = NULL;
	rest->unsure = NULL;
}
