/*
 * journal.c: durable records of claimed flow runs (journal.h).
 *
 * Why one small file per run rather than an append-only log: a record
 * changes twice (claim, spawn) and then goes away, so a file per run is
 * replaced atomically by rename and dropped by unlink, with nothing to
 * compact; the flock on each file makes its owner the live worker that
 * holds it, so workers sharing a state directory never take each other's
 * runs; and a damaged file costs that one record, never the others.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "worker/journal.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define RECORD_MAX	65536

void
jrec_init(struct jrec *j, const char *id, const char *name,
    const char *api_url)
{
	memset(j, 0, sizeof(*j));
	strlcpy_(j->id, id, sizeof(j->id));
	j->name = xstrdup(name ? name : id);
	j->api_url = xstrdup(api_url ? api_url : "");
	j->lock_fd = -1;
}

void
jrec_cleanup(struct jrec *j)
{
	if (j->lock_fd != -1)
		close(j->lock_fd);
	free(j->name);
	free(j->api_url);
	free(j->workdir);
	free(j->infra);
	memset(j, 0, sizeof(*j));
	j->lock_fd = -1;
}

static char *
runs_dir(const char *state_dir)
{
	return xasprintf("%s/runs", state_dir);
}

static void
fsync_dir(const char *dir)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if (fsync(fd) == -1)
		log_warn("fsync %s", dir);
	close(fd);
}

static char *
jrec_text(const struct jrec *j)
{
	cJSON	*o = cJSON_CreateObject();
	char	*s;

	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "flow_run_id", j->id);
	cJSON_AddStringToObject(o, "name", j->name);
	cJSON_AddStringToObject(o, "api_url", j->api_url);
	cJSON_AddStringToObject(o, "claim_transition_id", j->claim_tid);
	cJSON_AddStringToObject(o, "submit_transition_id", j->submit_tid);
	cJSON_AddNumberToObject(o, "pid", (double)j->pid);
	cJSON_AddNumberToObject(o, "start_time", (double)j->start_time);
	cJSON_AddStringToObject(o, "boot_id", j->boot_id);
	if (j->workdir != NULL)
		cJSON_AddStringToObject(o, "workdir", j->workdir);
	if (j->infra != NULL)
		cJSON_AddStringToObject(o, "infrastructure_pid", j->infra);
	cJSON_AddBoolToObject(o, "workdir_is_temp", j->workdir_is_temp);
	s = json_print(o);
	cJSON_Delete(o);
	return s;
}

static int
write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t	w = write(fd, s, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int
journal_write(const char *state_dir, struct jrec *j, char *err,
    size_t errlen)
{
	char	*dir = runs_dir(state_dir), *text = jrec_text(j);
	char	*path = xasprintf("%s/%s", dir, j->id);
	char	*tmp = xasprintf("%s/.%s.tmp.%d", dir, j->id, (int)getpid());
	int	 fd = -1, rc = -1;

	if (mkdir_p(dir, 0700) == -1) {
		errorf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		errorf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	/* Locked before it has its name: no moment without an owner. */
	if (flock(fd, LOCK_EX) == -1 ||
	    write_all(fd, text, strlen(text)) == -1 || fsync(fd) == -1 ||
	    rename(tmp, path) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	fsync_dir(dir);
	if (j->lock_fd != -1)
		close(j->lock_fd);	/* the replaced inode's lock */
	j->lock_fd = fd;		/* now owned by the record */
	fd = -1;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(text);
	free(path);
	free(tmp);
	free(dir);
	return rc;
}

void
journal_remove(const char *state_dir, struct jrec *j)
{
	char	*dir = runs_dir(state_dir);
	char	*path = xasprintf("%s/%s", dir, j->id);

	if (j->lock_fd != -1) {
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("journal: %s", path);
		else
			fsync_dir(dir);
		close(j->lock_fd);
		j->lock_fd = -1;
	}
	free(path);
	free(dir);
}

static int
copy_str(const cJSON *o, const char *key, char *dst, size_t n, int required)
{
	const char	*v = json_str(o, key);

	if (v == NULL)
		return required ? -1 : 0;
	if (strlen(v) >= n)
		return -1;
	strlcpy_(dst, v, n);
	return 0;
}

int
jrec_parse(struct jrec *j, const char *text, char *err, size_t errlen)
{
	cJSON		*o = cJSON_Parse(text);
	const char	*name, *api, *wd;
	double		 pid, start;
	int		 rc = -1;

	memset(j, 0, sizeof(*j));
	j->lock_fd = -1;
	if (!cJSON_IsObject(o)) {
		errorf(err, errlen, "not a JSON object");
		goto out;
	}
	if (json_num(o, "version", 0) != 1) {
		errorf(err, errlen, "unknown version");
		goto out;
	}
	pid = json_num(o, "pid", -1);
	start = json_num(o, "start_time", -1);
	name = json_str(o, "name");
	api = json_str(o, "api_url");
	wd = json_str(o, "workdir");
	if (copy_str(o, "flow_run_id", j->id, sizeof(j->id), 1) == -1 ||
	    j->id[0] == '\0' || strchr(j->id, '/') != NULL ||
	    copy_str(o, "claim_transition_id", j->claim_tid,
	    sizeof(j->claim_tid), 0) == -1 ||
	    copy_str(o, "submit_transition_id", j->submit_tid,
	    sizeof(j->submit_tid), 0) == -1 ||
	    copy_str(o, "boot_id", j->boot_id, sizeof(j->boot_id), 0) == -1 ||
	    api == NULL || pid < 0 || pid > 4194304 || pid != (pid_t)pid ||
	    start < 0 || start > 9e15) {
		errorf(err, errlen, "missing or bad fields");
		goto out;
	}
	j->pid = (pid_t)pid;
	j->start_time = (unsigned long long)start;
	j->name = xstrdup(name ? name : j->id);
	j->api_url = xstrdup(api);
	j->workdir = wd ? xstrdup(wd) : NULL;
	if ((wd = json_str(o, "infrastructure_pid")) != NULL &&
	    strstr(wd, "::") != NULL)
		j->infra = xstrdup(wd);
	j->workdir_is_temp = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "workdir_is_temp"));
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

/*
 * Locks path if no live worker holds it and it is still the file of that
 * name (not replaced or removed meanwhile): the locked fd, else -1.
 */
static int
lock_orphan(const char *path)
{
	struct stat	a, b;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1 || fstat(fd, &a) == -1 ||
	    stat(path, &b) == -1 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev || !S_ISREG(a.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *
read_fd(int fd, char *err, size_t errlen)
{
	struct buf	b;
	char		chunk[4096];
	ssize_t		n;

	buf_init(&b, RECORD_MAX);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || buf_append(&b, chunk, (size_t)n) == -1) {
			if (n == -1)
				errorf(err, errlen, "%s", strerror(errno));
			else
				errorf(err, errlen, "larger than %d bytes",
				    RECORD_MAX);
			buf_cleanup(&b);
			return NULL;
		}
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* One directory entry; 1 if a record was handed out. */
static int
scan_entry(const char *dir, const char *name, journal_fn fn, void *arg)
{
	char		*path = xasprintf("%s/%s", dir, name), *text = NULL;
	char		 err[200];
	struct jrec	*j = NULL;
	int		 fd, given = 0;

	if ((fd = lock_orphan(path)) == -1)
		goto out;		/* a live worker's, or gone */
	if (name[0] == '.') {
		/* A temp file its dead writer never renamed. */
		if (strstr(name, ".tmp.") != NULL)
			unlink(path);
		goto out;
	}
	j = xcalloc(1, sizeof(*j));
	if ((text = read_fd(fd, err, sizeof(err))) == NULL ||
	    jrec_parse(j, text, err, sizeof(err)) == -1 ||
	    (strcmp(j->id, name) != 0 && errorf(err, sizeof(err),
	    "names flow run %s", j->id))) {
		log_warnx("journal: %s is not a valid run record (%s); "
		    "skipped and left in place", path, err);
		jrec_cleanup(j);
		goto out;
	}
	j->lock_fd = fd;	/* now owned by the record */
	fd = -1;
	fn(j, arg);		/* now owned by fn */
	j = NULL;
	given = 1;
out:
	if (fd != -1)
		close(fd);
	free(j);
	free(text);
	free(path);
	return given;
}

int
journal_scan(const char *state_dir, journal_fn fn, void *arg, char *err,
    size_t errlen)
{
	char		*dir = runs_dir(state_dir);
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL) {
		int	missing = errno == ENOENT;

		if (!missing)
			errorf(err, errlen, "%s: %s", dir, strerror(errno));
		free(dir);
		return missing ? 0 : -1;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n += scan_entry(dir, e->d_name, fn, arg);
	closedir(d);
	free(dir);
	return n;
}

int
proc_identity(pid_t pid, unsigned long long *start_time, char boot_id[40])
{
	char		 path[64], buf[1024], *p;
	unsigned long long st = 0;
	ssize_t		 n;
	int		 fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The name (field 2) may hold spaces and ')': skip to the last. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return -1;
	p += 2;
	/* Field 3 is the state: a zombie has exited. */
	if (*p == 'Z' || *p == 'X')
		return -1;
	for (field = 3; field < 22 && p != NULL; field++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p == NULL || sscanf(p, "%llu", &st) != 1)
		return -1;
	*start_time = st;
	boot_id[0] = '\0';
	if ((fd = open("/proc/sys/kernel/random/boot_id",
	    O_RDONLY | O_CLOEXEC)) != -1) {
		if ((n = read(fd, boot_id, 39)) > 0) {
			boot_id[n] = '\0';
			boot_id[strcspn(boot_id, "\n")] = '\0';
		} else
			boot_id[0] = '\0';
		close(fd);
	}
	return 0;
}

int
jrec_process_alive(const struct jrec *j)
{
	unsigned long long	st;
	char			boot[40];

	if (j->pid <= 0 || proc_identity(j->pid, &st, boot) == -1)
		return 0;
	return st == j->start_time && strcmp(boot, j->boot_id) == 0;
}

int
proc_group_alive(pid_t pgid)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[64], buf[512], *p, state;
	int		 fd, pgrp, alive = 0;
	ssize_t		 n;

	if (pgid <= 0 || kill(-pgid, 0) == -1)
		return 0;		/* no member at all */
	if ((d = opendir("/proc")) == NULL)
		return 1;
	while (!alive && (e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* Fields after the name: state, ppid, pgrp. */
		if ((p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 1, " %c %*d %d", &state, &pgrp) == 2 &&
		    pgrp == pgid && state != 'Z' && state != 'X')
			alive = 1;
	}
	closedir(d);
	return alive;
}
