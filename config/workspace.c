/*
 * workspace.c: the run context of dlt's workspace: run and settings
 * dirs, the active profile and the profile's directories. The rules and
 * their sources are in workspace.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/workspace.h"
#include "common/util.h"

struct builtin {
	const char	*name;
	const char	*description;
};

/* dlt/_workspace/profile.py BUILT_IN_PROFILES, in its order. */
static const struct builtin builtins[] = {
	{ "dev", "dev profile, workspace default" },
	{ "prod", "production profile, assumed by pipelines deployed in "
	  "Runtime" },
	{ "tests", "profile assumed when running tests" },
	{ "access", "production profile, assumed by interactive notebooks in "
	  "Runtime, typically with limited access rights" },
};
#define NBUILTINS	(sizeof(builtins) / sizeof(builtins[0]))

static int
is_dir(const char *p)
{
	struct stat	st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
is_file(const char *p)
{
	struct stat	st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* dlt's is_folder_writable: the folder exists and takes a new file. */
static int
folder_writable(const char *dir)
{
	char	*tmpl;
	int	 fd;

	if (!is_dir(dir))
		return 0;
	tmpl = xasprintf("%s/.pfagent-probe-XXXXXX", dir);
	if ((fd = mkstemp(tmpl)) != -1) {
		close(fd);
		unlink(tmpl);
	}
	free(tmpl);
	return fd != -1;
}

static const char *
tmp_dir(void)
{
	const char	*t = getenv("TMPDIR");

	return t != NULL && *t == '/' ? t : "/tmp";
}

char *
ws_global_dir_for(uid_t euid, const char *home, const char *xdg)
{
	char	*dot;
	int	 have_dot;

	if (euid == 0)
		return xstrdup("/var/dlt");
	if (home == NULL || *home == '\0' || !folder_writable(home))
		return xasprintf("%s/dlt", tmp_dir());
	dot = xasprintf("%s/.dlt", home);
	have_dot = is_dir(dot);
	if (xdg != NULL && !have_dot) {
		free(dot);
		return xasprintf("%s/dlt", xdg);
	}
	return dot;
}

char *
ws_global_dir(void)
{
	return ws_global_dir_for(geteuid(), getenv("HOME"),
	    getenv("XDG_DATA_HOME"));
}

int
ws_profile_name_ok(const char *p)
{
	size_t	n;

	if (p == NULL || (n = strlen(p)) == 0 || n > 64)
		return 0;
	return strspn(p, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

const char *
ws_profile_description(const char *p)
{
	for (size_t i = 0; i < NBUILTINS; i++)
		if (strcmp(builtins[i].name, p) == 0)
			return builtins[i].description;
	return "custom profile";
}

int
ws_profile_is_local(const char *p)
{
	return strcmp(p, "dev") == 0 || strcmp(p, "tests") == 0;
}

char *
ws_read_pin(const char *settings_dir)
{
	char	*path = xasprintf("%s/%s", settings_dir, WS_PIN_FILE);
	char	 line[256], *s, *e;
	FILE	*f;

	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return NULL;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	/* Python's str.strip(): whitespace at both ends. */
	for (s = line; *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' ||
	    *s == '\f' || *s == '\v'; s++)
		;
	e = s + strlen(s);
	while (e > s && strchr(" \t\r\n\f\v", e[-1]) != NULL)
		*--e = '\0';
	return *s != '\0' ? xstrdup(s) : NULL;
}

static char *
absolute(const char *dir)
{
	char	*cwd, *abs;

	if (dir[0] == '/')
		return xstrdup(dir);
	if ((cwd = getcwd(NULL, 0)) == NULL)
		return NULL;
	abs = strcmp(dir, ".") == 0 ? xstrdup(cwd) :
	    xasprintf("%s/%s", cwd, dir);
	free(cwd);
	return abs;
}

/* dlt's default_name(): the folder's basename, "_dlt" for "/". */
static char *
default_name(const char *run_dir)
{
	const char	*e = run_dir + strlen(run_dir), *b;

	while (e > run_dir && e[-1] == '/')
		e--;
	for (b = e; b > run_dir && b[-1] != '/'; b--)
		;
	if (b == e)
		return xstrdup("_dlt");
	return xasprintf("%.*s", (int)(e - b), b);
}

int
ws_open(struct cfg_workspace *ws, const char *run_dir,
    const char *global_dir, const char *profile, char *err, size_t errlen)
{
	const char	*env = getenv("WORKSPACE__PROFILE");
	const char	*folder = getenv("DLT_CONFIG_FOLDER");
	char		*flag;

	memset(ws, 0, sizeof(*ws));
	if (run_dir == NULL && (run_dir = getenv("DLT_PROJECT_DIR")) == NULL)
		run_dir = ".";
	if ((ws->run_dir = absolute(run_dir)) == NULL)
		return errorf(err, errlen, "cannot find the current directory: "
		    "%s", strerror(errno));
	ws->settings_dir = xasprintf("%s/%s", ws->run_dir,
	    folder != NULL && *folder != '\0' ? folder : ".dlt");
	ws->global_dir = global_dir != NULL ? xstrdup(global_dir) :
	    ws_global_dir();
	ws->pinned = ws_read_pin(ws->settings_dir);
	flag = xasprintf("%s/%s", ws->settings_dir, WS_FLAG_FILE);
	ws->active = is_file(flag);
	free(flag);
	if (ws->active) {
		/* An empty value counts as unset, as Python's `or` does. */
		if (profile != NULL && *profile != '\0') {
			ws->profile = xstrdup(profile);
			ws->profile_from = WS_FROM_EXPLICIT;
		} else if (env != NULL && *env != '\0') {
			ws->profile = xstrdup(env);
			ws->profile_from = WS_FROM_ENV;
		} else if (ws->pinned != NULL) {
			ws->profile = xstrdup(ws->pinned);
			ws->profile_from = WS_FROM_PIN;
		} else {
			ws->profile = xstrdup(WS_DEFAULT_PROFILE);
			ws->profile_from = WS_FROM_DEFAULT;
		}
		if (!ws_profile_name_ok(ws->profile)) {
			errorf(err, errlen, "profile name '%s' (from %s) may "
			    "only hold letters, digits, '_' and '-'",
			    ws->profile, ws->profile_from == WS_FROM_ENV ?
			    "WORKSPACE__PROFILE" : ws->profile_from ==
			    WS_FROM_PIN ? ".dlt/" WS_PIN_FILE : "--profile");
			ws_cleanup(ws);
			return -1;
		}
	}
	ws_set_settings(ws, NULL, NULL, NULL);
	return 0;
}

/* dlt's default_working_dir(): under .dlt, or the temp dir if read-only. */
static char *
default_dir(const struct cfg_workspace *ws, const char *folder)
{
	if (ws->data_home != NULL)
		return xasprintf("%s/%s/%s", ws->data_home, folder,
		    ws->profile);
	if (!folder_writable(ws->settings_dir))
		return xasprintf("%s/dlt/%s/%s/%s", tmp_dir(), folder,
		    ws->name, ws->profile);
	return xasprintf("%s/%s/%s", ws->settings_dir, folder, ws->profile);
}

static char *
env_or(const char *var, char *otherwise)
{
	const char	*v = getenv(var);

	if (v == NULL)
		return otherwise;
	free(otherwise);
	return xstrdup(v);
}

static char *
under_run_dir(const struct cfg_workspace *ws, const char *dir)
{
	return dir[0] == '/' ? xstrdup(dir) : xasprintf("%s/%s",
	    ws->data_home != NULL ? ws->data_home : ws->run_dir, dir);
}

void
ws_set_settings(struct cfg_workspace *ws, const char *name,
    const char *working_dir, const char *local_dir)
{
	free(ws->name);
	free(ws->data_dir);
	free(ws->local_dir);
	ws->name = name != NULL && *name != '\0' ? xstrdup(name) :
	    default_name(ws->run_dir);
	if (!ws->active) {
		/* dlt's plain RunContext: the global dir and the run dir. */
		ws->data_dir = env_or("DLT_DATA_DIR", xstrdup(ws->global_dir));
		ws->local_dir = env_or("DLT_LOCAL_DIR", xstrdup(
		    ws->data_home != NULL ? ws->data_home : ws->run_dir));
		return;
	}
	ws->data_dir = env_or("DLT_DATA_DIR", working_dir != NULL &&
	    *working_dir != '\0' ? under_run_dir(ws, working_dir) :
	    default_dir(ws, "state"));
	ws->local_dir = env_or("DLT_LOCAL_DIR", local_dir != NULL &&
	    *local_dir != '\0' ? under_run_dir(ws, local_dir) :
	    default_dir(ws, "data"));
}

void
ws_cleanup(struct cfg_workspace *ws)
{
	free(ws->run_dir);
	free(ws->settings_dir);
	free(ws->global_dir);
	free(ws->name);
	free(ws->profile);
	free(ws->pinned);
	free(ws->data_dir);
	free(ws->local_dir);
	free(ws->data_home);
	memset(ws, 0, sizeof(*ws));
}

/* A <profile>.secrets.toml or <profile>.config.toml here or globally. */
static int
has_profile_files(const struct cfg_workspace *ws, const char *p)
{
	const char	*dirs[2] = { ws->settings_dir, ws->global_dir };
	const char	*files[2] = { "secrets.toml", "config.toml" };
	int		 found = 0;

	for (int d = 0; d < 2 && !found; d++)
		for (int f = 0; f < 2 && !found; f++) {
			char *path = xasprintf("%s/%s.%s", dirs[d], p,
			    files[f]);

			found = is_file(path);
			free(path);
		}
	return found;
}

static int
dir_nonempty(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 found = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL)
		found = strcmp(e->d_name, ".") != 0 &&
		    strcmp(e->d_name, "..") != 0;
	closedir(d);
	return found;
}

/*
 * Pipelines in the profile's default working dir; dlt only looks when
 * the current data dir has the default layout.
 */
static int
has_pipelines(const struct cfg_workspace *ws, const char *p)
{
	struct cfg_workspace	 other = *ws;
	char			*mine, *wd, *dir;
	int			 found = 0;

	mine = default_dir(ws, "state");
	if (strcmp(mine, ws->data_dir) == 0) {
		other.profile = (char *)p;	/* read only, not freed */
		wd = default_dir(&other, "state");
		dir = xasprintf("%s/pipelines", wd);
		found = dir_nonempty(dir);
		free(dir);
		free(wd);
	}
	free(mine);
	return found;
}

int
ws_profiles(const struct cfg_workspace *ws, struct ws_profile_info **out,
    size_t *n)
{
	struct ws_profile_info	*v;
	size_t			 k = 0;

	*out = NULL;
	*n = 0;
	if (!ws->active)
		return -1;
	v = xcalloc(NBUILTINS + 1, sizeof(*v));
	for (size_t i = 0; i < NBUILTINS; i++)
		v[k++].name = builtins[i].name;
	if (ws->pinned != NULL &&
	    strcmp(ws_profile_description(ws->pinned), "custom profile") == 0)
		v[k++].name = ws->pinned;
	for (size_t i = 0; i < k; i++) {
		v[i].description = ws_profile_description(v[i].name);
		v[i].current = strcmp(v[i].name, ws->profile) == 0;
		v[i].pinned = ws->pinned != NULL &&
		    strcmp(v[i].name, ws->pinned) == 0;
		v[i].local = ws_profile_is_local(v[i].name);
		v[i].configured = v[i].current || v[i].pinned ||
		    has_profile_files(ws, v[i].name) ||
		    has_pipelines(ws, v[i].name);
	}
	*out = v;
	*n = k;
	return 0;
}

int
ws_pin(const struct cfg_workspace *ws, const char *profile, char *err,
    size_t errlen)
{
	char	*path, *tmp;
	FILE	*f;
	int	 rc = -1;

	if (!ws_profile_name_ok(profile))
		return errorf(err, errlen, "profile name '%s' may only hold "
		    "letters, digits, '_' and '-'", profile);
	path = xasprintf("%s/%s", ws->settings_dir, WS_PIN_FILE);
	tmp = xasprintf("%s.tmp", path);
	/* Written aside and renamed, so a reader sees old or new. */
	if ((f = fopen(tmp, "w")) == NULL) {
		errorf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fputs(profile, f) == EOF || fclose(f) == EOF) {
		errorf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(path);
	return rc;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

/* dlt's _may_safe_delete_local(): never the roots, never outside. */
static int
safe_to_delete(const struct cfg_workspace *ws, const char *dir, char *err,
    size_t errlen)
{
	size_t	n = strlen(ws->run_dir);

	if (strcmp(dir, ws->run_dir) == 0 ||
	    strcmp(dir, ws->settings_dir) == 0)
		return errorf(err, errlen, "`%s` is the run dir or the "
		    "settings dir and cannot be deleted", dir);
	if (strncmp(dir, ws->run_dir, n) != 0 || dir[n] != '/' ||
	    strstr(dir + n, "/../") != NULL ||
	    strcmp(dir + strlen(dir) - 3, "/..") == 0)
		return errorf(err, errlen, "`%s` is not within run dir "
		    "(workspace root) and cannot be deleted", dir);
	return 0;
}

int
ws_wipe_dir(const struct cfg_workspace *ws, const char *dir, char *err,
    size_t errlen)
{
	if (safe_to_delete(ws, dir, err, errlen) == -1)
		return -1;
	if (is_dir(dir) && nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return errorf(err, errlen, "deleting %s: %s", dir,
		    strerror(errno));
	if (mkdir_p(dir, 0755) == -1)
		return errorf(err, errlen, "mkdir %s: %s", dir,
		    strerror(errno));
	return 0;
}
