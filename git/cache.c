/*
 * cache.c: the git cache's files and locks (rules in repo_cache.h).
 *
 * Walks directories with openat/fdopendir rather than nftw(3), whose
 * callback has no argument and would need global state.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "common/util.h"
#include "git/cache.h"

/* tmp/ entries younger than this may be between mkdir and flock. */
#define DEBRIS_AGE_S	60

static void
say(repo_log_fn log, void *arg, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
say(repo_log_fn log, void *arg, int level, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	if (log == NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	log(arg, level, "%s", msg);
	free(msg);
}

void
gitcache_sha256(const void *data, size_t len, char out[65])
{
	unsigned char	 md[32];
	unsigned int	 n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		fatalx("SHA-256 failed");	/* OpenSSL itself is broken */
	for (unsigned int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int
gitcache_open(const char *root, char **out, char *err, size_t errlen)
{
	static const char *const sub[] = { "mirrors", "trees", "tmp" };
	char	*abs, *p;

	*out = NULL;
	if (root == NULL || *root == '\0')
		return errorf(err, errlen, "the git cache has no root folder");
	if (mkdir_p(root, 0755) == -1)
		return errorf(err, errlen, "cannot create the git cache %s: %s",
		    root, strerror(errno));
	if ((abs = realpath(root, NULL)) == NULL)
		return errorf(err, errlen, "git cache %s: %s", root,
		    strerror(errno));
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		p = xasprintf("%s/%s", abs, sub[i]);
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			errorf(err, errlen, "cannot create %s: %s", p,
			    strerror(errno));
			free(p);
			free(abs);
			return -1;
		}
		free(p);
	}
	*out = abs;
	return 0;
}

int
gitcache_lock(const char *path, int op)
{
	struct stat	 a, b;
	int		 fd, e;

	for (;;) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd == -1)
			return -1;
		while (flock(fd, op) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		/*
		 * Whoever removes a tree or mirror unlinks its lock while
		 * holding it: a lock won on such an orphan guards nothing,
		 * so start again on the current file.
		 */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
}

void
gitcache_mirror_paths(const char *root, const char *url, char **repo,
    char **lock)
{
	char	 h[65];

	gitcache_sha256(url, strlen(url), h);
	*repo = xasprintf("%s/mirrors/%s.git", root, h);
	*lock = xasprintf("%s/mirrors/%s.lock", root, h);
}

static int
is_dir(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
gitcache_tree_lock(const char *root, const char *name, int *fd, char *err,
    size_t errlen)
{
	char	*lock, *tree;
	int	 exists;

	lock = xasprintf("%s/trees/%s.lock", root, name);
	if ((*fd = gitcache_lock(lock, LOCK_SH)) == -1) {
		errorf(err, errlen, "cannot lock %s: %s", lock,
		    strerror(errno));
		free(lock);
		return -1;
	}
	free(lock);
	tree = xasprintf("%s/trees/%s", root, name);
	exists = is_dir(tree);
	free(tree);
	if (exists)
		(void)futimens(*fd, NULL);	/* last used: now */
	return exists;
}

int
gitcache_tmpdir(const char *root, char **path, int *fd, char *err,
    size_t errlen)
{
	char	 id[37];
	char	*p;

	uuid4(id);
	p = xasprintf("%s/tmp/%s", root, id);
	if (mkdir(p, 0755) == -1) {
		errorf(err, errlen, "cannot create %s: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	if ((*fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    flock(*fd, LOCK_EX) == -1) {
		errorf(err, errlen, "cannot lock %s: %s", p, strerror(errno));
		if (*fd != -1)
			close(*fd);
		(void)rmdir(p);
		free(p);
		return -1;
	}
	*path = p;
	return 0;
}

/* ------------------------------------------------------------ walking */

/* Allocated bytes under dirfd/name, not following symlinks. */
static uint64_t
du_at(int at, const char *name)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	uint64_t	 n;
	int		 fd;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	n = (uint64_t)st.st_blocks * 512;
	if (!S_ISDIR(st.st_mode))
		return n;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return n;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		n += du_at(dirfd(d), de->d_name);
	}
	closedir(d);
	return n;
}

static int
rm_at(int at, const char *name)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	int		 fd, rc = 0, e = 0;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(at, name, 0) == -1 && errno != ENOENT)
			return -1;
		return 0;
	}
	/* A flow may have left a directory without write permission. */
	if ((st.st_mode & 0700) != 0700)
		(void)fchmodat(at, name, st.st_mode | 0700, 0);
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		e = errno;
		if (fd != -1)
			close(fd);
		errno = e;
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_at(dirfd(d), de->d_name) == -1 && rc == 0) {
			rc = -1;
			e = errno;
		}
	}
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) == -1 && errno != ENOENT &&
	    rc == 0) {
		rc = -1;
		e = errno;
	}
	errno = e;
	return rc;
}

int
gitcache_rm_rf(const char *path)
{
	return rm_at(AT_FDCWD, path);
}

uint64_t
gitcache_usage(const char *root)
{
	char		*p;
	uint64_t	 n;

	p = xasprintf("%s/trees", root);
	n = du_at(AT_FDCWD, p);
	free(p);
	p = xasprintf("%s/mirrors", root);
	n += du_at(AT_FDCWD, p);
	free(p);
	return n;
}

/* ------------------------------------------------------- publication */

int
gitcache_tree_publish(const char *root, const char *tmp, const char *name,
    int lock_fd, char *err, size_t errlen)
{
	char		*tree, num[32];
	uint64_t	 size;
	int		 n, rc = 0;

	size = du_at(AT_FDCWD, tmp);
	tree = xasprintf("%s/trees/%s", root, name);
	if (rename(tmp, tree) == -1) {
		if (errno == EEXIST || errno == ENOTEMPTY) {
			/* Another run of this commit won the race. */
			(void)gitcache_rm_rf(tmp);
		} else
			rc = errorf(err, errlen, "cannot move the checkout to "
			    "%s: %s", tree, strerror(errno));
	}
	free(tree);
	if (rc == 0) {
		n = snprintf(num, sizeof(num), "%llu\n",
		    (unsigned long long)size);
		if (pwrite(lock_fd, num, (size_t)n, 0) == n)
			(void)ftruncate(lock_fd, n);
		(void)futimens(lock_fd, NULL);
	}
	return rc;
}

int
gitcache_mirror_publish(const char *tmp, const char *repo, char *err,
    size_t errlen)
{
	if (rename(tmp, repo) == -1)
		return errorf(err, errlen, "cannot move the new mirror to %s: "
		    "%s", repo, strerror(errno));
	return 0;
}

/* ----------------------------------------------------------- clean-up */

struct entry {
	char		*path;		/* tree or mirror */
	char		*lock;
	char		*name;		/* trees/<name> or mirrors/<name> */
	uint64_t	 size;
	struct timespec	 used;
};

/* The size a tree's lock file recorded at publication, else 0. */
static uint64_t
recorded_size(const char *lock)
{
	char	 buf[32];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(lock, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

/* Appends the entries of root/sub (trees or mirrors) to *v. */
static void
list_entries(const char *root, const char *sub, struct entry **v,
    size_t *n, size_t *cap)
{
	struct dirent	*de;
	struct stat	 st;
	struct entry	*e;
	DIR		*d;
	char		*dir, *suffix;
	int		 trees = strcmp(sub, "trees") == 0;

	dir = xasprintf("%s/%s", root, sub);
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		suffix = strrchr(de->d_name, '.');
		if (trees ? suffix != NULL && strcmp(suffix, ".lock") == 0 :
		    suffix == NULL || strcmp(suffix, ".git") != 0)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 32;
			*v = xrealloc(*v, *cap * sizeof(**v));
		}
		e = &(*v)[(*n)++];
		memset(e, 0, sizeof(*e));
		e->name = xstrdup(de->d_name);
		e->path = xasprintf("%s/%s", dir, de->d_name);
		if (trees)
			e->lock = xasprintf("%s.lock", e->path);
		else
			e->lock = xasprintf("%s/%.*s.lock", dir,
			    (int)(suffix - de->d_name), de->d_name);
		if (stat(e->lock, &st) == 0)
			e->used = st.st_mtim;
		/* Trees do not change: trust the size noted when made. */
		if (!trees || (e->size = recorded_size(e->lock)) == 0)
			e->size = du_at(AT_FDCWD, e->path);
	}
	closedir(d);
	free(dir);
}

static int
by_use(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	if (x->used.tv_nsec != y->used.tv_nsec)
		return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
	return strcmp(x->path, y->path);
}

/*
 * Removes an entry nobody holds: 0 done, 1 busy, -1 failed (errno).  It
 * is renamed into tmp/ first, so it vanishes at once and whole, and is
 * deleted there under an flock that keeps the debris sweep away.
 */
static int
evict(const char *root, const struct entry *e)
{
	char	 id[37];
	char	*dead;
	int	 fd, dfd, rc = 0, saved;

	if ((fd = gitcache_lock(e->lock, LOCK_EX | LOCK_NB)) == -1)
		return errno == EWOULDBLOCK ? 1 : -1;
	uuid4(id);
	dead = xasprintf("%s/tmp/%s", root, id);
	dfd = open(e->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd != -1)
		(void)flock(dfd, LOCK_EX);
	if (rename(e->path, dead) == -1 && errno != ENOENT)
		rc = -1;
	saved = errno;
	if (rc == 0)
		(void)unlink(e->lock);
	close(fd);
	if (rc == 0 && gitcache_rm_rf(dead) == -1) {
		saved = errno;
		rc = -1;
	}
	if (dfd != -1)
		close(dfd);
	free(dead);
	errno = saved;
	return rc;
}

/* Removes the lock files of trees that do not exist (failed runs). */
static void
sweep_locks(const char *root)
{
	struct dirent	*de;
	DIR		*d;
	char		*dir, *lock, *tree;
	size_t		 n;
	int		 fd;

	dir = xasprintf("%s/trees", root);
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if ((n = strlen(de->d_name)) <= 5 ||
		    strcmp(de->d_name + n - 5, ".lock") != 0)
			continue;
		lock = xasprintf("%s/%s", dir, de->d_name);
		tree = xasprintf("%s/%.*s", dir, (int)(n - 5), de->d_name);
		if (!is_dir(tree) && (fd = gitcache_lock(lock,
		    LOCK_EX | LOCK_NB)) != -1) {
			if (!is_dir(tree))
				(void)unlink(lock);
			close(fd);
		}
		free(lock);
		free(tree);
	}
	closedir(d);
	free(dir);
}

/* Removes tmp/ entries older than a minute that nobody holds. */
static void
sweep_tmp(const char *root)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		*dir, *p;
	time_t		 now = time(NULL);
	int		 fd;

	dir = xasprintf("%s/tmp", root);
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(p, &st) == 0 && now - st.st_ctim.tv_sec >
		    DEBRIS_AGE_S) {
			fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd != -1 && flock(fd, LOCK_EX | LOCK_NB) == 0)
				(void)gitcache_rm_rf(p);
			if (fd != -1)
				close(fd);
		}
		free(p);
	}
	closedir(d);
	free(dir);
}

void
gitcache_trim(const char *root, uint64_t max_bytes, const char *keep_tree,
    const char *keep_mirror, repo_log_fn log, void *log_arg)
{
	struct entry	*v = NULL;
	size_t		 n = 0, cap = 0, i;
	uint64_t	 total = 0;
	int		 r;

	sweep_tmp(root);
	sweep_locks(root);
	if (max_bytes == 0)
		return;
	list_entries(root, "trees", &v, &n, &cap);
	list_entries(root, "mirrors", &v, &n, &cap);
	for (i = 0; i < n; i++)
		total += v[i].size;
	if (n > 1)
		qsort(v, n, sizeof(*v), by_use);
	for (i = 0; i < n && total > max_bytes; i++) {
		if ((keep_tree && strcmp(v[i].name, keep_tree) == 0) ||
		    (keep_mirror && strcmp(v[i].path, keep_mirror) == 0))
			continue;
		if ((r = evict(root, &v[i])) == 0) {
			total -= v[i].size < total ? v[i].size : total;
			say(log, log_arg, PF_LEVEL_DEBUG, "Removed %s from the "
			    "git cache (least recently used, %llu bytes)",
			    v[i].path, (unsigned long long)v[i].size);
		} else if (r == -1)
			say(log, log_arg, PF_LEVEL_WARNING, "Cannot remove %s "
			    "from the git cache: %s", v[i].path,
			    strerror(errno));
	}
	if (total > max_bytes)
		say(log, log_arg, PF_LEVEL_WARNING, "The git cache holds %llu "
		    "bytes, over its bound of %llu: the rest is in use",
		    (unsigned long long)total, (unsigned long long)max_bytes);
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].lock);
		free(v[i].name);
	}
	free(v);
}
