/*
 * package.c: load packages on disk (load/package.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "load/package.h"
#include "common/pyfmt.h"

void
ld_load_id_new(char out[32])
{
	static double	 last;
	struct timespec	 ts;
	double		 now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	/* Strictly increasing within the process, as dlt's. */
	if (now <= last)
		now = nextafter(last, INFINITY);
	last = now;
	sdk_pyfloat(out, 32, now);
}

char *
ld_pkg_dir(const char *root, const char *stage, const char *load_id)
{
	return xasprintf("%s/%s/%s", root, stage, load_id);
}

static int
by_number(const void *a, const void *b)
{
	double	x = strtod(*(char *const *)a, NULL);
	double	y = strtod(*(char *const *)b, NULL);

	return x < y ? -1 : x > y ? 1 : strcmp(*(char *const *)a,
	    *(char *const *)b);
}

char **
ld_pkg_list(const char *root, const char *stage, size_t *n)
{
	char		*dir = xasprintf("%s/%s", root, stage);
	DIR		*d = opendir(dir);
	struct dirent	*e;
	char		**v = xcalloc(1, sizeof(*v));
	size_t		 k = 0;

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		v = xrealloc(v, (k + 2) * sizeof(*v));
		v[k++] = xstrdup(e->d_name);
		v[k] = NULL;
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	qsort(v, k, sizeof(*v), by_number);
	if (n != NULL)
		*n = k;
	return v;
}

void
ld_strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static int
fsync_path(const char *path, int dir)
{
	int	fd, rc;

	fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
sync_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return fsync_path(path, flag == FTW_D || flag == FTW_DP) < 0 ? -1 : 0;
}

static int
sync_parent(const char *path)
{
	char	*copy = xstrdup(path);
	int	 rc = fsync_path(dirname(copy), 1);

	free(copy);
	return rc;
}

int
ld_mkdirs(const char *path, char *err, size_t errlen)
{
	if (mkdir_p(path, 0755) < 0)
		return errorf(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
	return 0;
}

int
ld_pkg_move(const char *from, const char *to, char *err, size_t errlen)
{
	char	*parent = xstrdup(to);
	int	 rc;

	rc = ld_mkdirs(dirname(parent), err, errlen);
	free(parent);
	if (rc < 0)
		return -1;
	if (nftw(from, sync_one, 16, FTW_PHYS) != 0)
		return errorf(err, errlen, "cannot sync %s: %s", from,
		    strerror(errno));
	if (rename(from, to) < 0)
		return errorf(err, errlen, "cannot move %s to %s: %s", from,
		    to, strerror(errno));
	if (sync_parent(to) < 0 || sync_parent(from) < 0)
		return errorf(err, errlen, "cannot sync %s: %s", to,
		    strerror(errno));
	return 0;
}

int
ld_write_file(const char *path, const char *data, size_t len, char *err,
    size_t errlen)
{
	char	*tmp = xasprintf("%s.tmp", path);
	FILE	*f = fopen(tmp, "w");
	int	 ok;

	if (f == NULL) {
		errorf(err, errlen, "cannot create %s: %s", tmp,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	ok = fwrite(data, 1, len, f) == len && fflush(f) == 0 &&
	    fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		errorf(err, errlen, "cannot write %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	sync_parent(path);
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 &&
	    errno != ENOENT ? -1 : 0;
}

int
ld_rm_rf(const char *path)
{
	struct stat	st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * dlt's abort of a package: its jobs go to failed_jobs, each with its
 * <job>.exception (why for the job named failed, else other), and the
 * package, marked package_aborted.json, to loaded: it is reported, and
 * never loaded again.
 */
int
ld_pkg_abort(const char *root, const char *load_id, const char *failed,
    const char *why, const char *other, char *err, size_t errlen)
{
	char		*src = ld_pkg_dir(root, LD_NORMALIZED, load_id);
	char		*dst = ld_pkg_dir(root, LD_LOADED, load_id);
	char		*jobs = xasprintf("%s/new_jobs", src);
	char		*out = xasprintf("%s/failed_jobs", src), *path;
	DIR		*d;
	struct dirent	*e;
	int		 rc = ld_mkdirs(out, err, errlen);

	d = rc == 0 ? opendir(jobs) : NULL;
	while (rc == 0 && d != NULL && (e = readdir(d)) != NULL) {
		const char	*msg = failed != NULL &&
		    strcmp(e->d_name, failed) == 0 ? why : other;
		char		*from, *to, *exc;

		if (e->d_name[0] == '.')
			continue;
		from = xasprintf("%s/%s", jobs, e->d_name);
		to = xasprintf("%s/%s", out, e->d_name);
		exc = xasprintf("%s/%s.exception", out, e->d_name);
		if (rename(from, to) != 0)
			rc = errorf(err, errlen, "cannot move %s: %m", from);
		else
			rc = ld_write_file(exc, msg, strlen(msg), err, errlen);
		free(from);
		free(to);
		free(exc);
	}
	if (d != NULL)
		closedir(d);
	path = xasprintf("%s/package_aborted.json", src);
	if (rc == 0)
		rc = ld_write_file(path, "{}", 2, err, errlen);
	if (rc == 0)
		rc = ld_pkg_move(src, dst, err, errlen);
	free(path);
	free(out);
	free(jobs);
	free(src);
	free(dst);
	return rc;
}
