/*
 * module.c: from "flows/hello.c:hello" to the flow declaration in
 * build/flows/hello.so, building the module when it is missing or stale.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk/module.h"
#include "sdk/run.h"
#include "common/spawn.h"
#include "common/util.h"

static int
is_identifier(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static int
path_ok(const char *p, size_t n)
{
	if (n == 0 || p[0] == '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
		/* No ".." component: the module stays in the checkout. */
		if (c == '.' && i + 1 < n && p[i + 1] == '.' &&
		    (i == 0 || p[i - 1] == '/') &&
		    (i + 2 == n || p[i + 2] == '/'))
			return 0;
	}
	return 1;
}

int
entrypoint_parse(const char *text, struct entrypoint *ep, char *err,
    size_t errlen)
{
	const char	*colon;
	size_t		 flen;

	memset(ep, 0, sizeof(*ep));
	if (text == NULL || *text == '\0') {
		errorf(err, errlen, "the deployment has no entrypoint");
		return -1;
	}
	if ((colon = strrchr(text, ':')) == NULL) {
		errorf(err, errlen, "entrypoint '%.200s' must look like "
		    "flows/<file>.c:<function>", text);
		return -1;
	}
	flen = (size_t)(colon - text);
	if (flen < 3 || strncmp(colon - 2, ".c", 2) != 0 ||
	    !path_ok(text, flen)) {
		errorf(err, errlen, "entrypoint '%.200s': '%.*s' is not a "
		    "relative path to a .c file", text, (int)flen > 200 ? 200 :
		    (int)flen, text);
		return -1;
	}
	if (!is_identifier(colon + 1) || strlen(colon + 1) > 200) {
		errorf(err, errlen, "entrypoint '%.200s': '%.200s' is not a "
		    "C function name", text, colon + 1);
		return -1;
	}
	if ((ep->file = strndup(text, flen)) == NULL ||
	    (ep->function = strdup(colon + 1)) == NULL ||
	    asprintf(&ep->module, "build/%.*s.so", (int)flen - 2, text) == -1) {
		ep->module = NULL;
		entrypoint_cleanup(ep);
		errorf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
entrypoint_cleanup(struct entrypoint *ep)
{
	free(ep->file);
	free(ep->function);
	free(ep->module);
	memset(ep, 0, sizeof(*ep));
}

int
entrypoint_load(const struct entrypoint *ep, const pf_flow_def **out,
    char *err, size_t errlen)
{
	void			*h;
	char			 sym[256], why[300], *path;
	const pf_flow_def	*def;

	if (access(ep->module, R_OK) == -1) {
		errorf(err, errlen, "entrypoint '%s:%s': module %s not found "
		    "(is %s in the repository and built with make?)", ep->file,
		    ep->function, ep->module, ep->file);
		return -1;
	}
	/* dlopen needs a path with a slash to skip the library search. */
	if (asprintf(&path, "./%s", ep->module) == -1) {
		errorf(err, errlen, "out of memory");
		return -1;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	free(path);
	if (h == NULL) {
		errorf(err, errlen, "entrypoint '%s:%s': cannot load %s: %s",
		    ep->file, ep->function, ep->module, dlerror());
		return -1;
	}
	snprintf(sym, sizeof(sym), "pf_flow__%s", ep->function);
	if ((def = dlsym(h, sym)) == NULL) {
		errorf(err, errlen, "entrypoint '%s:%s': %s declares no flow "
		    "'%s' (expected PF_FLOW(%s, ...))", ep->file, ep->function,
		    ep->file, ep->function, ep->function);
		return -1;
	}
	if (sdk_flow_def_check(def, why, sizeof(why)) == -1)
		return errorf(err, errlen, "entrypoint '%s:%s': %s (rebuild %s "
		    "from %s)", ep->file, ep->function, why, ep->module,
		    ep->file);
	*out = def;
	return 0;
}

int
sdk_flow_def_check(const pf_flow_def *def, char *err, size_t errlen)
{
	char	why[200];

	/* abi is the first field in every ABI: readable whatever built
	   the module. */
	if (def->abi != PF_ABI_VERSION)
		return errorf(err, errlen, "the module was built for flow ABI "
		    "%u, this pfagent speaks flow ABI %u", def->abi,
		    PF_ABI_VERSION);
	if (def->fn == NULL)
		return errorf(err, errlen, "the flow declaration has no "
		    "function");
	for (const pf_param_def *p = def->params; p != NULL && p->name != NULL;
	    p++)
		if (sdk_def_version("pf_param_def", p->version,
		    PF_PARAM_DEF_VERSION, "PF_PARAM_DEF_INIT", why,
		    sizeof(why)) == -1)
			return errorf(err, errlen, "parameter '%.100s': %s",
			    p->name, why);
	return 0;
}

/* A module newer than its source needs no build. */
static int
module_fresh(const struct entrypoint *ep)
{
	struct stat	so, c;

	return stat(ep->module, &so) == 0 && stat(ep->file, &c) == 0 &&
	    (so.st_mtim.tv_sec > c.st_mtim.tv_sec ||
	    (so.st_mtim.tv_sec == c.st_mtim.tv_sec &&
	    so.st_mtim.tv_nsec >= c.st_mtim.tv_nsec));
}

/*
 * The flow SDK's include directory, or NULL: $PFAGENT_INCLUDE_DIR, else
 * the nearest include/ with pf/flow.h above pfagent's own directory
 * (/usr/local/bin -> /usr/local/include, build/san -> include).
 */
static char *
sdk_include_dir(void)
{
	const char	*env = getenv("PFAGENT_INCLUDE_DIR");
	char		 dir[PATH_MAX], *slash, *hdr;
	ssize_t		 n;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	if ((n = readlink("/proc/self/exe", dir, sizeof(dir) - 1)) <= 0)
		return NULL;
	dir[n] = '\0';
	for (int up = 0; up < 3 && (slash = strrchr(dir, '/')) != NULL;
	    up++) {
		*slash = '\0';
		hdr = xasprintf("%s/include/pf/flow.h", dir);
		if (access(hdr, R_OK) == 0) {
			free(hdr);
			return xasprintf("%s/include", dir);
		}
		free(hdr);
	}
	return NULL;
}

/* Whether name=value is one a build needs; nothing else reaches make,
 * cc or ld (the flow's secrets are in our environment). */
static int
build_var(const char *e)
{
	static const char *const keep[] = { "PATH=", "HOME=", "USER=",
	    "LOGNAME=", "LANG=", "LC_", "TZ=", "TMPDIR=", "CC=", "CFLAGS=",
	    "CPPFLAGS=", "LDFLAGS=", "LDLIBS=", "PKG_CONFIG_PATH=",
	    "PKG_CONFIG_LIBDIR=", "PFAGENT_INCLUDE_DIR=", NULL };

	for (const char *const *k = keep; *k != NULL; k++)
		if (strncmp(e, *k, strlen(*k)) == 0)
			return 1;
	return 0;
}

/*
 * Runs argv in a clean environment (build_var). Returns the wait status
 * with *output holding what it wrote to stderr (the compiler's
 * warnings) on success, everything it wrote otherwise; or -1 with err
 * when it could not start.
 */
static int
run_capture(char *const argv[], char **output, char *err, size_t errlen)
{
	extern char	**environ;
	struct buf	 out, errb;
	char		**env;
	size_t		  n = 0;
	int		  status, rc;

	for (char **e = environ; *e; e++)
		n++;
	env = xcalloc(n + 1, sizeof(char *));
	n = 0;
	for (char **e = environ; *e; e++)
		if (build_var(*e))
			env[n++] = *e;
	buf_init(&out, 256 * 1024);
	buf_init(&errb, 256 * 1024);
	rc = spawn_capture(argv, NULL, env, &out, &errb, 0, NULL, &status);
	free(env);
	if (rc != 0) {
		buf_cleanup(&out);
		buf_cleanup(&errb);
		return errorf(err, errlen, "cannot run %s: %s", argv[0],
		    strerror(rc));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		(void)buf_append(&out, errb.data ? errb.data : "", errb.len);
		*output = buf_steal(&out);
		buf_cleanup(&errb);
	} else {
		*output = buf_steal(&errb);
		buf_cleanup(&out);
	}
	return status;
}

int
entrypoint_build(const struct entrypoint *ep, char **output, char *err,
    size_t errlen)
{
	char	*dir, *lock, *sdk = NULL, *inc = NULL, *cc;
	int	 lockfd, status, rc = -1;

	*output = NULL;
	if (access(ep->file, R_OK) == -1)
		return errorf(err, errlen, "entrypoint '%s:%s': no such file "
		    "%s in the flow's directory", ep->file, ep->function,
		    ep->file);
	dir = xstrdup(ep->module);
	*strrchr(dir, '/') = '\0';
	if (mkdir_p(dir, 0755) == -1 && module_fresh(ep)) {
		free(dir);	/* read-only checkout, module built before */
		return 0;
	} else if (mkdir_p(dir, 0755) == -1) {
		errorf(err, errlen, "cannot create %s: %s", dir,
		    strerror(errno));
		free(dir);
		return -1;
	}
	lock = xasprintf("%s/.%s.lock", dir, strrchr(ep->module, '/') + 1);
	free(dir);
	if ((lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1 &&
	    module_fresh(ep)) {
		rc = 0;		/* read-only checkout, module built before */
		goto out;
	}
	if (lockfd == -1 || flock(lockfd, LOCK_EX) == -1) {
		errorf(err, errlen, "cannot lock %s: %s", lock,
		    strerror(errno));
		goto out;
	}
	/* Looked at under the lock only: a module another run is building
	 * already exists, newer than its source, but is not whole yet. */
	if (module_fresh(ep)) {
		rc = 0;
		goto out;
	}
	if (access("Makefile", R_OK) == 0) {
		/* WERROR= : a user's warning must not fail the run (this
		 * repository's Makefile keeps -Werror for its own make). */
		char *const argv[] = { "make", "--no-print-directory",
		    "WERROR=", ep->module, NULL };

		status = run_capture(argv, output, err, errlen);
	} else if ((sdk = sdk_include_dir()) == NULL) {
		errorf(err, errlen, "cannot build %s: the flow SDK header "
		    "pf/flow.h is not installed (set PFAGENT_INCLUDE_DIR)",
		    ep->module);
		goto out;
	} else {
		cc = getenv("CC");
		inc = xasprintf("-I%s", sdk);
		/* -D_GNU_SOURCE as this repository's Makefile: its flows
		   (getline, ssize_t, ...) build the same either way. */
		char *const argv[] = { cc && *cc ? cc : "cc", "-std=c11",
		    "-D_GNU_SOURCE", "-Wall", "-Wextra", "-O2", "-g", "-fPIC",
		    "-shared", inc, "-o", ep->module, ep->file, NULL };

		status = run_capture(argv, output, err, errlen);
	}
	if (status == -1)
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    access(ep->module, R_OK) == -1) {
		errorf(err, errlen, "entrypoint '%s:%s': building %s failed "
		    "(exit status %d)", ep->file, ep->function, ep->module,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto out;
	}
	rc = 0;
out:
	if (lockfd != -1)
		close(lockfd);
	free(lock);
	free(sdk);
	free(inc);
	return rc;
}
