/*
 * git_clone.c: prefect.deployments.steps.git_clone through libgit2.
 *
 * Follows Prefect 3.8.8 (deployments/steps/pull.py, runner/storage.py's
 * GitRepository) for the inputs, their validation, sparse directories
 * in cone mode and the retries; the cache (git_clone.h, git_cache.h)
 * replaces its clone-per-directory.  The URL and the credentials, by
 * Prefect's provider rules, come from git_url.h.
 *
 *   inputs -> args -> url + creds -+- pinned tree cached? -> lease
 *                                  +- mirror (locked) -> commit (ls-remote,
 *                                     fetch if missing) -> checkout into
 *                                     tmp/ -> submodules -> trees/ -> lease
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "common/log.h"
#include "common/retry.h"
#include "common/util.h"
#include "deployments/git_cache.h"
#include "deployments/git_clone.h"
#include "deployments/git_url.h"

#define PULL_ATTEMPTS		3	/* Prefect's max_attempts */
#define SUBMODULE_DEPTH		8
#define MAX_SECRETS		4

/* Prefect retries 1 s, then 2 s, capped at 10 s. */
static const struct retry_policy pull_retry = { 1000, 10000, 0 };

/* The step's inputs, validated; strings borrowed from the cJSON. */
struct args {
	const char	*repository, *branch, *commit_sha, *access_token;
	const char	*clone_directory_name;
	const cJSON	*credentials, *directories;
	int		 include_submodules;
};

struct strv {
	char	**v;
	size_t	 n, cap;
};

/* One call of git_clone_step. */
struct pull {
	const struct git_cache	*cache;
	char			*root;		/* absolute */
	struct args		 a;
	struct git_url		 u;
	struct git_creds	 cr;		/* offered to u's host */
	struct strv		 dirs;		/* sparse, normalised */
	char			 variant[13];	/* "" when none */
	const char		*secrets[MAX_SECRETS];
	git_log_fn		 log;
	void			*log_arg;
	int			 retryable;	/* the network failed */
	int			 added;		/* the cache grew */
};

/* Payload of the credential callback, per remote operation. */
struct remote_ctx {
	const struct git_url	*u;
	const struct git_creds	*cr;
	int			 userpass_tried, agent_tried, username_tried;
	int			 auth_failed;
};

struct mirror {
	char		*path, *lock;
	int		 fd;
	git_repository	*repo;
	int		 fresh;		/* created by this call */
};

/* A submodule's place in its parent's tree. */
struct gitlink {
	char	*path;
	git_oid	 oid;
};

struct links {
	struct gitlink	*v;
	size_t		 n, cap;
};

static void
say(struct pull *p, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct pull *p, int level, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	if (p->log == NULL)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	p->log(p->log_arg, level, "%s", msg);
	free(msg);
}

static void
strv_add(struct strv *s, char *str)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = str;		/* now owned by s */
}

static int
strv_has(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return 1;
	return 0;
}

static void
strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void
links_free(struct links *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
is_dir(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ------------------------------------------------------------- inputs */

static const char *const known_keys[] = {
	"repository", "branch", "commit_sha", "include_submodules",
	"access_token", "credentials", "directories", "clone_directory_name",
	NULL
};

/*
 * An optional string input: absent, null and "" (falsy in Python, so
 * Prefect ignores it) all give NULL.
 */
static int
opt_string(const cJSON *in, const char *key, const char **out, char *err,
    size_t errlen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(in, key);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return errorf(err, errlen, "git_clone: %s must be a string",
		    key);
	if (*v->valuestring != '\0')
		*out = v->valuestring;
	return 0;
}

static int
valid_sha(const char *s)
{
	size_t	 n = strlen(s);

	if (n < 4 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
parse_args(const cJSON *in, struct args *a, char *err, size_t errlen)
{
	const cJSON	*v;
	size_t		 i;

	memset(a, 0, sizeof(*a));
	if (!cJSON_IsObject(in))
		return errorf(err, errlen, "git_clone: the step's inputs must "
		    "be a mapping");
	for (v = in->child; v != NULL; v = v->next) {
		for (i = 0; known_keys[i] != NULL; i++)
			if (strcmp(v->string, known_keys[i]) == 0)
				break;
		if (known_keys[i] == NULL)
			return errorf(err, errlen, "git_clone() got an "
			    "unexpected keyword argument '%s'", v->string);
	}
	v = cJSON_GetObjectItemCaseSensitive(in, "repository");
	if (v == NULL || cJSON_IsNull(v))
		return errorf(err, errlen, "git_clone() missing 1 required "
		    "positional argument: 'repository'");
	if (!cJSON_IsString(v) || *v->valuestring == '\0')
		return errorf(err, errlen, "git_clone: repository must be a "
		    "non-empty string");
	a->repository = v->valuestring;
	if (opt_string(in, "branch", &a->branch, err, errlen) == -1 ||
	    opt_string(in, "commit_sha", &a->commit_sha, err, errlen) == -1 ||
	    opt_string(in, "access_token", &a->access_token, err,
	    errlen) == -1 ||
	    opt_string(in, "clone_directory_name", &a->clone_directory_name,
	    err, errlen) == -1)
		return -1;

	v = cJSON_GetObjectItemCaseSensitive(in, "include_submodules");
	if (v != NULL && !cJSON_IsNull(v) && !cJSON_IsBool(v))
		return errorf(err, errlen, "git_clone: include_submodules "
		    "must be true or false");
	a->include_submodules = cJSON_IsTrue(v);

	v = cJSON_GetObjectItemCaseSensitive(in, "credentials");
	if (v != NULL && !cJSON_IsNull(v) && !cJSON_IsObject(v))
		return errorf(err, errlen, "git_clone: credentials must be a "
		    "mapping, such as a credentials block's data");
	if (cJSON_IsObject(v) && v->child != NULL)
		a->credentials = v;	/* {} is falsy: no credentials */

	v = cJSON_GetObjectItemCaseSensitive(in, "directories");
	if (v != NULL && !cJSON_IsNull(v)) {
		const cJSON *d;

		if (!cJSON_IsArray(v))
			return errorf(err, errlen, "git_clone: directories "
			    "must be a list of strings");
		cJSON_ArrayForEach(d, v)
			if (!cJSON_IsString(d))
				return errorf(err, errlen, "git_clone: "
				    "directories must be a list of strings");
		if (v->child != NULL)
			a->directories = v;
	}

	/* Prefect's checks, in its order and words. */
	if (a->access_token && a->credentials)
		return errorf(err, errlen, "Please provide either an access "
		    "token or credentials but not both.");
	if (a->branch && a->commit_sha)
		return errorf(err, errlen, "Cannot provide both a branch and a "
		    "commit SHA. Please provide only one.");
	if (a->branch && a->branch[0] == '-')
		return errorf(err, errlen, "Branch names cannot start with "
		    "'-'.");
	if (a->commit_sha && !valid_sha(a->commit_sha))
		return errorf(err, errlen, "Invalid commit SHA: '%s'. Expected "
		    "a hexadecimal Git commit SHA (4-64 characters). If you "
		    "are trying to specify a branch or tag name, use the "
		    "'branch' parameter instead.", a->commit_sha);
	return 0;
}

/*
 * Sparse directories as git sparse-checkout (cone mode) normalises
 * them: no leading or trailing slashes.  "" or "." means everything.
 */
static int
parse_dirs(const cJSON *dirs, struct strv *out, char *err, size_t errlen)
{
	const cJSON	*d;
	const char	*s, *e;
	char		*n;

	cJSON_ArrayForEach(d, dirs) {
		for (s = d->valuestring; *s == '/' || (s[0] == '.' &&
		    s[1] == '/'); s += *s == '/' ? 1 : 2)
			;
		e = s + strlen(s);
		while (e > s && e[-1] == '/')
			e--;
		if (e == s || (e - s == 1 && *s == '.')) {
			strv_free(out);		/* the whole tree */
			return 0;
		}
		n = xasprintf("%.*s", (int)(e - s), s);
		if (strcmp(n, "..") == 0 || strncmp(n, "../", 3) == 0 ||
		    strstr(n, "/../") != NULL || (strlen(n) > 2 &&
		    strcmp(n + strlen(n) - 3, "/..") == 0)) {
			errorf(err, errlen, "git_clone: directory '%s' is "
			    "outside the repository", d->valuestring);
			free(n);
			return -1;
		}
		if (strv_has(out, n))
			free(n);
		else
			strv_add(out, n);
	}
	return 0;
}

/* Tree name suffix for include_submodules and the sparse directories. */
static void
make_variant(struct pull *p)
{
	struct buf	 b;
	char		 h[65];
	size_t		 i, j;
	char		*t;

	p->variant[0] = '\0';
	if (!p->a.include_submodules && p->dirs.n == 0)
		return;
	/* Sorted, so the same set in another order is the same tree. */
	for (i = 1; i < p->dirs.n; i++)
		for (j = i; j > 0 && strcmp(p->dirs.v[j - 1],
		    p->dirs.v[j]) > 0; j--) {
			t = p->dirs.v[j];
			p->dirs.v[j] = p->dirs.v[j - 1];
			p->dirs.v[j - 1] = t;
		}
	buf_init(&b, SIZE_MAX);
	(void)buf_printf(&b, "submodules=%d\n", p->a.include_submodules);
	for (i = 0; i < p->dirs.n; i++)
		(void)buf_printf(&b, "dir=%s\n", p->dirs.v[i]);
	gitcache_sha256(b.data, b.len, h);
	buf_cleanup(&b);
	memcpy(p->variant, h, 12);
	p->variant[12] = '\0';
}

/* ---------------------------------------------------- libgit2 remotes */

static int
cred_cb(git_credential **out, const char *url, const char *user_from_url,
    unsigned int allowed, void *payload)
{
	struct remote_ctx	*r = payload;
	const char		*user = user_from_url ? user_from_url : "git";

	(void)url;
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) &&
	    r->cr->user != NULL && !r->userpass_tried) {
		r->userpass_tried = 1;
		return git_credential_userpass_plaintext_new(out, r->cr->user,
		    r->cr->pass ? r->cr->pass : "");
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !r->agent_tried) {
		r->agent_tried = 1;
		return git_credential_ssh_key_from_agent(out, user);
	}
	if ((allowed & GIT_CREDENTIAL_USERNAME) && !r->username_tried) {
		r->username_tried = 1;
		return git_credential_username_new(out, user);
	}
	/* Refused once already, or nothing to offer: stop asking. */
	r->auth_failed = 1;
	git_error_set_str(GIT_ERROR_NET, "authentication failed");
	return GIT_EAUTH;
}

static void
remote_setup(struct remote_ctx *r, const struct git_url *u,
    const struct git_creds *cr, git_remote_callbacks *cb, git_proxy_options *po)
{
	static const struct git_creds none;

	memset(r, 0, sizeof(*r));
	r->u = u;
	r->cr = cr ? cr : &none;
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = cred_cb;
	cb->payload = r;
	git_proxy_options_init(po, GIT_PROXY_OPTIONS_VERSION);
	po->type = GIT_PROXY_AUTO;	/* http.proxy, https_proxy... */
}

/* The HTTP status in a libgit2 message, or 0. */
static int
http_status(const char *msg)
{
	const char	*s = strstr(msg, "status code: ");

	return s ? atoi(s + 13) : 0;
}

/*
 * Whether a failed remote operation may succeed if tried again: socket
 * errors (libgit2 reports refused connections as OS errors), ssh, and
 * HTTP answers that say "later".
 */
static int
is_network(const struct git_url *u, int klass, int status, const char *msg)
{
	static const char *const sock[] = { "failed to connect",
	    "failed to resolve address", "failed to send", "failed to recv",
	    "timed out", "unexpected EOF", "early EOF", "Connection reset",
	    NULL };

	if (u->kind == GIT_URL_LOCAL)
		return 0;
	if (klass == GIT_ERROR_NET || klass == GIT_ERROR_SSH)
		return 1;
	if (klass == GIT_ERROR_HTTP)
		return status == 0 || status >= 500 || status == 408 ||
		    status == 429;
	for (size_t i = 0; sock[i] != NULL; i++)
		if (strcasestr(msg, sock[i]) != NULL)
			return 1;
	return 0;
}

/*
 * Turns libgit2's last error (code) while `doing` url into err, and
 * decides whether the retry loop may try again: only the network.
 */
static int
git_fail(struct pull *p, const struct remote_ctx *r, int code,
    const char *doing, const char *url, char *err, size_t errlen)
{
	const git_error	*e = git_error_last();
	const char	*msg = e && e->message ? e->message : "unknown error";
	int		 klass = e ? e->klass : GIT_ERROR_NONE;
	int		 status = http_status(msg), enospc = errno == ENOSPC;

	p->retryable = 0;
	if (r != NULL && (r->auth_failed || code == GIT_EAUTH ||
	    status == 401 || status == 403)) {
		if (r->cr->user == NULL && r->u->kind == GIT_URL_HTTP)
			return errorf(err, errlen, "authentication failed for "
			    "'%s': it needs credentials (access_token or "
			    "credentials) and none were given", url);
		return errorf(err, errlen, "authentication failed for '%s'. "
		    "Hint: Check that your credentials or access token are "
		    "correct and not expired.", url);
	}
	if (enospc || strcasestr(msg, "no space left on device") != NULL)
		return errorf(err, errlen, "no space left on device while %s "
		    "'%s'", doing, url);
	if (r != NULL && (status == 404 || (code == GIT_ENOTFOUND &&
	    klass != GIT_ERROR_NET) || (r->u->kind == GIT_URL_LOCAL &&
	    strstr(msg, "failed to resolve path") != NULL)))
		return errorf(err, errlen, "repository '%s' not found (%s). "
		    "Hint: Verify the repository URL and that you have "
		    "access to it.", url, msg);
	p->retryable = r != NULL && is_network(r->u, klass, status, msg);
	return errorf(err, errlen, "%s '%s': %s", doing, url, msg);
}

/*
 * One ref listing (git ls-remote) to learn where branch points, or
 * HEAD when branch is NULL; a tag name works too, as with git clone
 * --branch.  Returns 0 with *out, 1 when there is no such branch, -1.
 * *ref (new, may stay NULL) names the ref found.
 */
static int
ls_remote(struct pull *p, const struct git_url *u, const struct git_creds *cr,
    const char *branch, git_oid *out, char **ref, char *err, size_t errlen)
{
	const git_remote_head	**heads;
	git_remote_callbacks	 cb;
	git_proxy_options	 po;
	struct remote_ctx	 r;
	git_remote		*remote = NULL;
	char			*want[3] = { NULL, NULL, NULL };
	size_t			 n, i, k;
	int			 rc = -1, code;

	*ref = NULL;
	remote_setup(&r, u, cr, &cb, &po);
	errno = 0;
	if ((code = git_remote_create_detached(&remote, u->url)) < 0 ||
	    (code = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, &po,
	    NULL)) < 0 || (code = git_remote_ls(&heads, &n, remote)) < 0) {
		git_fail(p, &r, code, "listing the branches of", u->url, err,
		    errlen);
		goto out;
	}
	if (branch == NULL)
		want[0] = xstrdup("HEAD");
	else {
		want[0] = xasprintf("refs/heads/%s", branch);
		want[1] = xasprintf("refs/tags/%s^{}", branch);
		want[2] = xasprintf("refs/tags/%s", branch);
	}
	rc = 1;
	for (k = 0; k < 3 && want[k] != NULL && rc == 1; k++)
		for (i = 0; i < n; i++) {
			if (strcmp(heads[i]->name, want[k]) != 0)
				continue;
			git_oid_cpy(out, &heads[i]->oid);
			if (branch == NULL && heads[i]->symref_target)
				*ref = xstrdup(heads[i]->symref_target);
			else if (branch != NULL)
				*ref = xstrdup(k == 0 ? want[0] : want[2]);
			rc = 0;
			break;
		}
out:
	if (remote != NULL) {
		git_remote_disconnect(remote);
		git_remote_free(remote);
	}
	for (k = 0; k < 3; k++)
		free(want[k]);
	return rc;
}

static void
human_bytes(size_t n, char *out, size_t len)
{
	if (n >= 1024 * 1024)
		snprintf(out, len, "%.1f MiB", (double)n / (1024 * 1024));
	else
		snprintf(out, len, "%.1f KiB", (double)n / 1024);
}

/*
 * Fetches every branch and tag of u into the mirror, as git fetch
 * --prune would for a mirror; with oid, fetches just that object (for
 * a commit no branch or tag reaches, when the server allows it).
 */
static int
fetch(struct pull *p, git_repository *repo, const struct git_url *u,
    const struct git_creds *cr, const char *oid, char *err, size_t errlen)
{
	char			*all[] = { "+refs/heads/*:refs/heads/*",
				    "+refs/tags/*:refs/tags/*" };
	char			*one[1] = { (char *)oid };
	git_strarray		 specs = { oid ? one : all, oid ? 1 : 2 };
	git_fetch_options	 fo;
	git_remote_create_options ro;
	git_remote		*remote = NULL;
	struct remote_ctx	 r;
	const git_indexer_progress *st;
	char			 size[32];
	int			 code;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	/*
	 * In-memory remote; the URL fetched is the URL hashed (no
	 * insteadOf rewriting, whose regex matching leaks in libgit2 1.5).
	 */
	ro.repository = repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
	    GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	remote_setup(&r, u, cr, &fo.callbacks, &fo.proxy_opts);
	fo.prune = oid ? GIT_FETCH_NO_PRUNE : GIT_FETCH_PRUNE;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	errno = 0;
	if ((code = git_remote_create_with_opts(&remote, u->url, &ro)) < 0 ||
	    (code = git_remote_fetch(remote, &specs, &fo, "fetch")) < 0) {
		git_fail(p, &r, code, "fetching", u->url, err, errlen);
		git_remote_free(remote);
		return -1;
	}
	st = git_remote_stats(remote);
	human_bytes(st->received_bytes, size, sizeof(size));
	if (st->received_objects > 0) {
		p->added = 1;
		say(p, PF_LEVEL_INFO, "Fetched %u objects (%s) from '%s'",
		    st->received_objects, size, u->url);
	} else
		say(p, PF_LEVEL_DEBUG, "Fetched nothing new from '%s'", u->url);
	git_remote_free(remote);
	return 0;
}

/* ------------------------------------------------------------ mirrors */

static void
mirror_close(struct mirror *m)
{
	git_repository_free(m->repo);
	m->repo = NULL;
	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
	free(m->path);
	free(m->lock);
	m->path = m->lock = NULL;
}

/*
 * Closes a mirror after a failure, removing it when this call made it
 * and it is still empty (a wrong URL leaves nothing behind).
 */
static void
mirror_abandon(struct mirror *m)
{
	if (m->repo != NULL && m->fresh &&
	    git_repository_is_empty(m->repo) == 1) {
		git_repository_free(m->repo);
		m->repo = NULL;
		if (gitcache_rm_rf(m->path) == 0)
			(void)unlink(m->lock);	/* still ours: we hold it */
	}
	mirror_close(m);
}

/* A new bare repository in tmp/, renamed into place under the lock. */
static int
mirror_create(struct pull *p, const struct mirror *m, const char *url,
    char *err, size_t errlen)
{
	git_repository_init_options	 io;
	git_repository			*repo = NULL;
	git_config			*cfg = NULL;
	char				*tmp = NULL;
	int				 fd = -1, rc = -1;

	if (gitcache_tmpdir(p->root, &tmp, &fd, err, errlen) == -1)
		return -1;
	git_repository_init_options_init(&io,
	    GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	io.flags = GIT_REPOSITORY_INIT_BARE;
	errno = 0;
	/*
	 * origin only tells a person which URL this is a mirror of (and
	 * lets git fetch origin work by hand); fetches never read it.
	 */
	if (git_repository_init_ext(&repo, tmp, &io) < 0 ||
	    git_repository_config(&cfg, repo) < 0 ||
	    git_config_set_string(cfg, "remote.origin.url", url) < 0 ||
	    git_config_set_string(cfg, "remote.origin.fetch",
	    "+refs/heads/*:refs/heads/*") < 0 ||
	    git_config_set_string(cfg, "remote.origin.tagOpt", "--tags") < 0) {
		git_fail(p, NULL, -1, "creating the mirror of", url, err,
		    errlen);
		goto out;
	}
	git_config_free(cfg);
	cfg = NULL;
	git_repository_free(repo);
	repo = NULL;
	rc = gitcache_mirror_publish(tmp, m->path, err, errlen);
out:
	git_config_free(cfg);
	git_repository_free(repo);
	if (rc == -1)
		(void)gitcache_rm_rf(tmp);
	close(fd);
	free(tmp);
	return rc;
}

/*
 * Opens the mirror of u under its exclusive lock, creating it when
 * missing (or unreadable).  On failure the mirror is closed.
 */
static int
mirror_open(struct pull *p, const struct git_url *u, struct mirror *m,
    char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	gitcache_mirror_paths(p->root, u->url, &m->path, &m->lock);
	if ((m->fd = gitcache_lock(m->lock, LOCK_EX)) == -1) {
		errorf(err, errlen, "cannot lock %s: %s", m->lock,
		    strerror(errno));
		goto fail;
	}
	(void)futimens(m->fd, NULL);	/* last used: now */
	if (is_dir(m->path) &&
	    git_repository_open_bare(&m->repo, m->path) == 0)
		return 0;
	if (is_dir(m->path)) {
		say(p, PF_LEVEL_WARNING, "The cached mirror of '%s' is "
		    "unreadable (%s); making it again", u->url,
		    git_error_last() ? git_error_last()->message : "?");
		if (gitcache_rm_rf(m->path) == -1) {
			errorf(err, errlen, "cannot remove %s: %s", m->path,
			    strerror(errno));
			goto fail;
		}
	}
	if (mirror_create(p, m, u->url, err, errlen) == -1)
		goto fail;
	if (git_repository_open_bare(&m->repo, m->path) < 0) {
		git_fail(p, NULL, -1, "opening the mirror of", u->url, err,
		    errlen);
		goto fail;
	}
	m->fresh = 1;
	p->added = 1;
	return 0;
fail:
	mirror_close(m);
	return -1;
}

/*
 * Looks commit_sha (4 to 64 hex digits) up in the mirror, peeled to a
 * commit.  Returns 0 with *out, 1 when absent, -1 (ambiguous, not a
 * commit).
 */
static int
find_commit(git_repository *repo, const char *sha, git_oid *out, char *err,
    size_t errlen)
{
	git_object	*obj = NULL, *c = NULL;
	git_oid		 oid;
	size_t		 len = strlen(sha);
	int		 code;

	if (len > GIT_OID_HEXSZ || git_oid_fromstrn(&oid, sha, len) < 0)
		return 1;	/* SHA-256 ids: libgit2 1.5 has none */
	code = git_object_lookup_prefix(&obj, repo, &oid, len, GIT_OBJECT_ANY);
	if (code == GIT_ENOTFOUND)
		return 1;
	if (code == GIT_EAMBIGUOUS)
		return errorf(err, errlen, "commit SHA '%s' is ambiguous: give "
		    "more digits", sha);
	if (code < 0)
		return errorf(err, errlen, "looking up commit '%s': %s", sha,
		    git_error_last() ? git_error_last()->message : "?");
	code = git_object_peel(&c, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (code < 0)
		return errorf(err, errlen, "'%s' is not a commit", sha);
	git_oid_cpy(out, git_object_id(c));
	git_object_free(c);
	return 0;
}

/* Whether the mirror has oid, peeled to its commit into *out. */
static int
have_commit(git_repository *repo, const git_oid *oid, git_oid *out)
{
	git_object	*obj = NULL, *c = NULL;
	int		 ok;

	if (git_object_lookup(&obj, repo, oid, GIT_OBJECT_ANY) < 0)
		return 0;
	ok = git_object_peel(&c, obj, GIT_OBJECT_COMMIT) == 0;
	if (ok)
		git_oid_cpy(out, git_object_id(c));
	git_object_free(c);
	git_object_free(obj);
	return ok;
}

/*
 * Makes sure sha is in the mirror, fetching branches and tags when it is
 * not, then the object itself.  Returns 0 with *out, -1 (err names the
 * commit when it cannot be found).
 */
static int
ensure_commit(struct pull *p, struct mirror *m, const struct git_url *u,
    const struct git_creds *cr, const char *sha, git_oid *out, char *err,
    size_t errlen)
{
	int	 r;

	if ((r = find_commit(m->repo, sha, out, err, errlen)) != 1)
		return r;
	say(p, PF_LEVEL_INFO, "%s '%s' to find commit %s", m->fresh ?
	    "Cloning repository" : "Fetching", u->url, sha);
	if (fetch(p, m->repo, u, cr, NULL, err, errlen) == -1)
		return -1;
	if ((r = find_commit(m->repo, sha, out, err, errlen)) != 1)
		return r;
	/* Unreachable from any ref: some servers give it by its id. */
	if (strlen(sha) == GIT_OID_HEXSZ && fetch(p, m->repo, u, cr, sha,
	    err, errlen) == 0 && (r = find_commit(m->repo, sha, out, err,
	    errlen)) != 1)
		return r;
	p->retryable = 0;
	return errorf(err, errlen, "commit '%s' not found in '%s'", sha,
	    u->url);
}

/*
 * The commit this call checks out: commit_sha, or the branch (default
 * branch) as the remote has it now.  Network only when needed.
 */
static int
resolve(struct pull *p, struct mirror *m, git_oid *out, char *err,
    size_t errlen)
{
	git_reference	*ref = NULL;
	git_object	*tip = NULL;
	git_oid		 oid;
	char		 hex[GIT_OID_HEXSZ + 1], *name = NULL;
	const char	*what = p->a.branch ? p->a.branch : "default branch";
	int		 r;

	if (p->a.commit_sha != NULL)
		return ensure_commit(p, m, &p->u, &p->cr, p->a.commit_sha, out,
		    err, errlen);
	if ((r = ls_remote(p, &p->u, &p->cr, p->a.branch, &oid, &name, err,
	    errlen)) == -1)
		return -1;
	if (r == 1) {
		if (p->a.branch == NULL)
			return errorf(err, errlen, "repository '%s' is empty: "
			    "it has no default branch", p->u.url);
		return errorf(err, errlen, "branch '%s' not found in '%s'",
		    p->a.branch, p->u.url);
	}
	git_oid_tostr(hex, sizeof(hex), &oid);
	say(p, PF_LEVEL_DEBUG, "'%s' %s is at %s", p->u.url, name ? name :
	    what, hex);
	if (have_commit(m->repo, &oid, out)) {
		free(name);
		return 0;
	}
	say(p, PF_LEVEL_INFO, "%s '%s' (%s at %.12s)", m->fresh ?
	    "Cloning repository" : "Fetching", p->u.url, what, hex);
	if (fetch(p, m->repo, &p->u, &p->cr, NULL, err, errlen) == -1) {
		free(name);
		return -1;
	}
	r = have_commit(m->repo, &oid, out);
	/* The branch moved (force-push) between the listing and the fetch. */
	if (!r && name != NULL && git_reference_lookup(&ref, m->repo,
	    name) == 0 && git_reference_peel(&tip, ref,
	    GIT_OBJECT_COMMIT) == 0)
		r = have_commit(m->repo, git_object_id(tip), out);
	git_object_free(tip);
	git_reference_free(ref);
	free(name);
	if (!r)
		return errorf(err, errlen, "commit %s of %s not found in '%s' "
		    "after fetching it", hex, what, p->u.url);
	return 0;
}

/* ----------------------------------------------------------- checkout */

/* The entries of tree that are not directories, as prefix + name. */
static void
add_files(const git_tree *tree, const char *prefix, struct strv *out)
{
	const git_tree_entry	*e;
	size_t			 n = git_tree_entrycount(tree);

	for (size_t i = 0; i < n; i++) {
		e = git_tree_entry_byindex(tree, i);
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			strv_add(out, xasprintf("%s%s", prefix,
			    git_tree_entry_name(e)));
	}
}

/*
 * git sparse-checkout's cone mode as literal pathspecs: each directory
 * with everything below it, plus the files directly in the root and in
 * every parent of a listed directory (so prefect.yaml and
 * requirements.txt at the top are always there, as with Prefect).
 */
static void
sparse_paths(struct pull *p, git_repository *repo, const git_tree *root,
    const char *hex, struct strv *out)
{
	git_tree_entry	*e;
	git_tree	*sub;
	struct strv	 seen = { 0 };
	const char	*d, *s;
	char		*parent;

	add_files(root, "", out);
	for (size_t i = 0; i < p->dirs.n; i++) {
		d = p->dirs.v[i];
		if (git_tree_entry_bypath(&e, root, d) != 0)
			say(p, PF_LEVEL_WARNING, "Directory '%s' is not in "
			    "commit %.12s", d, hex);
		else
			git_tree_entry_free(e);
		strv_add(out, xstrdup(d));
		for (s = strchr(d, '/'); s != NULL; s = strchr(s + 1, '/')) {
			parent = xasprintf("%.*s", (int)(s - d), d);
			if (strv_has(&seen, parent)) {
				free(parent);
				continue;
			}
			if (git_tree_entry_bypath(&e, root, parent) == 0) {
				if (git_tree_entry_type(e) == GIT_OBJECT_TREE &&
				    git_tree_lookup(&sub, repo,
				    git_tree_entry_id(e)) == 0) {
					char *pre = xasprintf("%s/", parent);

					add_files(sub, pre, out);
					free(pre);
					git_tree_free(sub);
				}
				git_tree_entry_free(e);
			}
			strv_add(&seen, parent);
		}
	}
	strv_free(&seen);
}

/* Whether path is one of paths or below one (literal pathspecs). */
static int
in_paths(const struct strv *paths, const char *path)
{
	size_t	 n;

	for (size_t i = 0; i < paths->n; i++) {
		n = strlen(paths->v[i]);
		if (strncmp(path, paths->v[i], n) == 0 &&
		    (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

/*
 * Takes the gitlinks out of idx: libgit2 cannot check them out without
 * a working tree (it looks for the submodule's repository there).  The
 * ones inside the sparse paths (all when paths is NULL) go to links.
 */
static int
take_gitlinks(git_index *idx, const struct strv *paths, struct links *links)
{
	const git_index_entry	*e;
	char			*path;

	for (size_t i = git_index_entrycount(idx); i-- > 0;) {
		e = git_index_get_byindex(idx, i);
		if (e == NULL || (e->mode & 0170000) != GIT_FILEMODE_COMMIT)
			continue;
		path = xstrdup(e->path);
		if (paths == NULL || in_paths(paths, path)) {
			if (links->n == links->cap) {
				links->cap = links->cap ? links->cap * 2 : 8;
				links->v = xrealloc(links->v, links->cap *
				    sizeof(*links->v));
			}
			links->v[links->n].path = xstrdup(path);
			git_oid_cpy(&links->v[links->n].oid, &e->id);
			links->n++;
		}
		if (git_index_remove(idx, path, 0) < 0) {
			free(path);
			return -1;
		}
		free(path);
	}
	return 0;
}

/*
 * Writes the files of commit into dir: no .git, and the mirror's index
 * neither read nor written (checkout goes from an in-memory index, over
 * an empty baseline), so checkouts of one mirror never step on each
 * other.  Sparse when directories were given.  Submodules get empty
 * folders; their gitlinks go to links unless it is NULL.
 */
static int
checkout(struct pull *p, git_repository *repo, const git_oid *commit,
    const char *url, const char *dir, int sparse, struct links *links,
    char *err, size_t errlen)
{
	git_checkout_options	 co;
	git_commit		*c = NULL;
	git_tree		*t = NULL;
	git_index		*empty = NULL, *idx = NULL;
	struct strv		 paths = { 0 };
	struct links		 found = { 0 };
	char			 hex[GIT_OID_HEXSZ + 1], *doing;
	int			 rc = -1;

	git_oid_tostr(hex, sizeof(hex), commit);
	doing = xasprintf("checking out commit %s of", hex);
	errno = 0;
	if (git_commit_lookup(&c, repo, commit) < 0 ||
	    git_commit_tree(&t, c) < 0 || git_index_new(&empty) < 0 ||
	    git_index_new(&idx) < 0 || git_index_read_tree(idx, t) < 0)
		goto fail;
	if (sparse)
		sparse_paths(p, repo, t, hex, &paths);
	if (take_gitlinks(idx, sparse ? &paths : NULL, &found) == -1)
		goto fail;
	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = GIT_CHECKOUT_FORCE |
	    GIT_CHECKOUT_DONT_UPDATE_INDEX | GIT_CHECKOUT_DONT_WRITE_INDEX;
	co.target_directory = dir;
	co.baseline_index = empty;
	if (sparse) {
		co.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
		co.paths.strings = paths.v;
		co.paths.count = paths.n;
	}
	/* No paths at all would mean every path to libgit2. */
	if ((!sparse || paths.n > 0) &&
	    git_checkout_index(repo, idx, &co) < 0)
		goto fail;
	for (size_t i = 0; i < found.n; i++) {
		/* git leaves an empty folder for a submodule. */
		char	*sub = xasprintf("%s/%s", dir, found.v[i].path);
		int	 made = mkdir_p(sub, 0755);

		free(sub);
		if (made == -1) {
			errorf(err, errlen, "%s '%s': cannot create %s: %s",
			    doing, url, found.v[i].path, strerror(errno));
			goto out;
		}
	}
	if (links != NULL) {
		*links = found;		/* now owned by the caller */
		memset(&found, 0, sizeof(found));
	}
	rc = 0;
	goto out;
fail:
	git_fail(p, NULL, -1, doing, url, err, errlen);
out:
	links_free(&found);
	strv_free(&paths);
	git_index_free(idx);
	git_index_free(empty);
	git_tree_free(t);
	git_commit_free(c);
	free(doing);
	return rc;
}

/* --------------------------------------------------------- submodules */

/* The url of the submodule at path in .gitmodules, or NULL. */
static char *
submodule_url(git_config *cfg, const char *path)
{
	git_config_iterator	*it = NULL;
	git_config_entry	*e;
	git_buf			 val = { 0 };
	char			*key = NULL, *url = NULL;

	size_t			 n;

	/* Not a glob iterator: libgit2 1.5 leaks its regex matches. */
	if (git_config_iterator_new(&it, cfg) < 0)
		return NULL;
	while (key == NULL && git_config_next(&e, it) == 0) {
		n = strlen(e->name);
		if (strncmp(e->name, "submodule.", 10) == 0 && n > 15 &&
		    strcmp(e->name + n - 5, ".path") == 0 && e->value &&
		    strcmp(e->value, path) == 0)
			key = xasprintf("%.*s.url", (int)(n - 5), e->name);
	}
	git_config_iterator_free(it);
	if (key != NULL && git_config_get_string_buf(&val, cfg, key) == 0)
		url = xstrdup(val.ptr);
	git_buf_dispose(&val);
	free(key);
	return url;
}

static int	submodules(struct pull *, const struct git_url *,
		    const struct git_creds *, const char *, struct links *, int,
		    char *, size_t);

/* Checks out one gitlink into dir from the submodule's own mirror. */
static int
submodule(struct pull *p, const struct git_url *parent,
    const struct git_creds *pcr, const struct gitlink *l, const char *raw,
    const char *dir, int depth, char *err, size_t errlen)
{
	struct mirror		 m = { .fd = -1 };
	struct links		 links = { 0 };
	struct git_url		 u;
	const struct git_creds	*cr = NULL;
	git_oid			 commit;
	char			 hex[GIT_OID_HEXSZ + 1], *abs;
	int			 rc = -1;

	memset(&u, 0, sizeof(u));
	if ((abs = git_url_resolve_relative(parent->url, raw)) == NULL)
		return errorf(err, errlen, "submodule '%s': cannot resolve "
		    "its URL '%s' against '%s'", l->path, raw, parent->url);
	if (git_url_parse(abs, &u, err, errlen) == -1)
		goto out;
	/* A remote repository must not make us read local ones. */
	if (u.kind == GIT_URL_LOCAL && parent->kind != GIT_URL_LOCAL) {
		errorf(err, errlen, "submodule '%s' has the local URL '%s', "
		    "allowed only when the repository itself is local",
		    l->path, u.url);
		goto out;
	}
	/* The parent's credentials go to the parent's host only. */
	if (u.embedded.user != NULL)
		cr = &u.embedded;
	else if (u.kind == GIT_URL_HTTP && parent->kind == GIT_URL_HTTP &&
	    strcmp(u.host, parent->host) == 0)
		cr = pcr;
	git_oid_tostr(hex, sizeof(hex), &l->oid);
	if (mirror_open(p, &u, &m, err, errlen) == -1 ||
	    ensure_commit(p, &m, &u, cr, hex, &commit, err, errlen) == -1 ||
	    checkout(p, m.repo, &commit, u.url, dir, 0, &links, err,
	    errlen) == -1)
		goto out;
	mirror_close(&m);
	say(p, PF_LEVEL_INFO, "Checked out submodule '%s' at commit %s of "
	    "'%s'", l->path, hex, u.url);
	rc = submodules(p, &u, cr, dir, &links, depth + 1, err, errlen);
out:
	mirror_abandon(&m);
	links_free(&links);
	git_url_cleanup(&u);
	free(abs);
	return rc;
}

/*
 * Checks out every submodule of the tree just written into dir (its
 * gitlinks are links) at its gitlink commit, recursively, as git clone
 * --recurse-submodules does.  Gitlinks left out by a sparse checkout
 * have no directory and are skipped.
 */
static int
submodules(struct pull *p, const struct git_url *parent,
    const struct git_creds *pcr, const char *dir, struct links *links,
    int depth, char *err, size_t errlen)
{
	git_config	*cfg = NULL;
	char		*gm, *sub, *url;
	int		 rc = 0;

	if (links->n == 0)
		return 0;
	if (depth > SUBMODULE_DEPTH)
		return errorf(err, errlen, "submodules of '%s' are nested "
		    "deeper than %d levels", parent->url, SUBMODULE_DEPTH);
	gm = xasprintf("%s/.gitmodules", dir);
	if (access(gm, F_OK) == -1) {
		say(p, PF_LEVEL_WARNING, "'%s' has gitlinks but no "
		    ".gitmodules: its submodules are left out", parent->url);
		free(gm);
		return 0;
	}
	if (git_config_open_ondisk(&cfg, gm) < 0) {
		errorf(err, errlen, "cannot read .gitmodules of '%s': %s",
		    parent->url, git_error_last() ? git_error_last()->message :
		    "?");
		free(gm);
		return -1;
	}
	for (size_t i = 0; i < links->n && rc == 0; i++) {
		sub = xasprintf("%s/%s", dir, links->v[i].path);
		if (!is_dir(sub))
			;	/* outside the sparse directories */
		else if ((url = submodule_url(cfg, links->v[i].path)) == NULL)
			rc = errorf(err, errlen, "No url found for submodule "
			    "path '%s' in .gitmodules of '%s'",
			    links->v[i].path, parent->url);
		else {
			rc = submodule(p, parent, pcr, &links->v[i], url, sub,
			    depth, err, errlen);
			free(url);
		}
		free(sub);
	}
	git_config_free(cfg);
	free(gm);
	return rc;
}

/* --------------------------------------------------------------- step */

static char *
tree_name(const char *hex, const char *variant)
{
	return *variant ? xasprintf("%s-%s", hex, variant) : xstrdup(hex);
}

/*
 * One attempt: lease the tree of the wanted commit, making it first when
 * needed.  Sets p->retryable when a new attempt could succeed.
 */
static int
pull_once(struct pull *p, struct git_lease *lease, char *err, size_t errlen)
{
	struct mirror	 m = { .fd = -1 };
	struct links	 links = { 0 };
	git_oid		 commit;
	char		 hex[GIT_OID_HEXSZ + 1], *name = NULL, *tmp = NULL;
	char		*keep = NULL;
	const char	*how = "Using the cached tree of";
	int		 fd = -1, tmpfd = -1, rc = -1, r;

	p->retryable = p->added = 0;
	/* A pinned commit already checked out: no mirror, no network. */
	if (p->a.commit_sha && strlen(p->a.commit_sha) == GIT_OID_HEXSZ) {
		for (size_t i = 0; i <= GIT_OID_HEXSZ; i++)
			hex[i] = (char)tolower((unsigned char)
			    p->a.commit_sha[i]);
		name = tree_name(hex, p->variant);
		if ((r = gitcache_tree_lock(p->root, name, &fd, err,
		    errlen)) == -1)
			goto out;
		if (r == 1)
			goto leased;
		close(fd);
		fd = -1;
		free(name);
		name = NULL;
	}
	if (mirror_open(p, &p->u, &m, err, errlen) == -1)
		goto out;
	keep = xstrdup(m.path);
	if (resolve(p, &m, &commit, err, errlen) == -1)
		goto out;
	git_oid_tostr(hex, sizeof(hex), &commit);
	name = tree_name(hex, p->variant);
	if ((r = gitcache_tree_lock(p->root, name, &fd, err, errlen)) == -1)
		goto out;
	if (r == 0) {
		if (gitcache_tmpdir(p->root, &tmp, &tmpfd, err, errlen) == -1 ||
		    checkout(p, m.repo, &commit, p->u.url, tmp, p->dirs.n > 0,
		    p->a.include_submodules ? &links : NULL, err, errlen) == -1)
			goto out;
		mirror_close(&m);	/* submodules lock their own */
		if (submodules(p, &p->u, &p->cr, tmp, &links, 1, err,
		    errlen) == -1 || gitcache_tree_publish(p->root, tmp, name,
		    fd, err, errlen) == -1)
			goto out;
		free(tmp);
		tmp = NULL;
		p->added = 1;
		how = "Checked out";
	}
leased:
	mirror_close(&m);
	lease->directory = xasprintf("%s/trees/%s", p->root, name);
	lease->commit = xstrdup(hex);
	lease->lock_fd = fd;		/* now owned by the lease */
	fd = -1;
	say(p, PF_LEVEL_INFO, "%s commit %s of '%s'%s%s%s: %s", how, hex,
	    p->u.url, p->a.branch ? " (branch '" : "",
	    p->a.branch ? p->a.branch : "", p->a.branch ? "')" : "",
	    lease->directory);
	if (p->added)
		gitcache_trim(p->root, p->cache->max_bytes, name, keep, p->log,
		    p->log_arg);
	rc = 0;
out:
	mirror_abandon(&m);
	if (tmp != NULL)
		(void)gitcache_rm_rf(tmp);
	if (tmpfd != -1)
		close(tmpfd);
	if (fd != -1)
		close(fd);
	links_free(&links);
	free(tmp);
	free(name);
	free(keep);
	return rc;
}

int
git_clone_step(const struct git_cache *cache, const cJSON *inputs,
    git_log_fn log, void *log_arg, struct git_lease *lease,
    cJSON **outputs, char *err, size_t errlen)
{
	struct pull	 p;
	const char	*tok = NULL;
	int64_t		 delay;
	int		 rc = -1, attempt, inited = 0;

	lease->directory = lease->commit = NULL;
	lease->lock_fd = -1;
	*outputs = NULL;
	if (err != NULL && errlen > 0)
		*err = '\0';
	memset(&p, 0, sizeof(p));
	p.cache = cache;
	p.log = log;
	p.log_arg = log_arg;
	if (cache == NULL || cache->root == NULL) {
		errorf(err, errlen, "git_clone: no git cache configured");
		goto out;
	}
	if (parse_args(inputs, &p.a, err, errlen) == -1 ||
	    (p.a.directories != NULL && parse_dirs(p.a.directories, &p.dirs,
	    err, errlen) == -1) ||
	    git_url_parse(p.a.repository, &p.u, err, errlen) == -1 ||
	    git_creds_resolve(&p.u, p.a.access_token, p.a.credentials,
	    &p.cr, &tok, err, errlen) == -1)
		goto out;
	p.secrets[0] = tok;
	p.secrets[1] = p.cr.pass;
	p.secrets[2] = p.u.embedded.pass;
	p.secrets[3] = p.a.access_token;
	make_variant(&p);
	if (p.a.clone_directory_name != NULL)
		say(&p, PF_LEVEL_DEBUG, "clone_directory_name '%s' is not used: "
		    "the tree lives in the git cache",
		    p.a.clone_directory_name);
	if (gitcache_open(cache->root, &p.root, err, errlen) == -1)
		goto out;
	git_libgit2_init();
	inited = 1;
	for (attempt = 1; ; attempt++) {
		rc = pull_once(&p, lease, err, errlen);
		if (rc == 0 || !p.retryable || attempt == PULL_ATTEMPTS)
			break;
		git_creds_scrub(err, errlen, p.secrets, MAX_SECRETS);
		delay = retry_delay_ms(&pull_retry, attempt, 0);
		say(&p, PF_LEVEL_WARNING, "Attempt %d of function 'git_clone' "
		    "failed with RuntimeError: %s. Retrying in %.2f "
		    "seconds...", attempt, err ? err : "",
		    (double)delay / 1000);
		sleep_ms(delay);
	}
	if (rc == 0) {
		if ((*outputs = cJSON_CreateObject()) == NULL ||
		    cJSON_AddStringToObject(*outputs, "directory",
		    lease->directory) == NULL)
			fatalx("out of memory");
	}
out:
	if (inited)
		git_libgit2_shutdown();
	if (rc == -1 && err != NULL && strcasestr(err,
	    "no space left on device") != NULL &&
	    strncmp(err, "no space left on device", 23) != 0) {
		char *orig = xstrdup(err);

		errorf(err, errlen, "no space left on device while cloning "
		    "'%s': %s", p.u.url ? p.u.url : "?", orig);
		free(orig);
	}
	if (rc == -1)
		git_creds_scrub(err, errlen, p.secrets, MAX_SECRETS);
	free(p.root);
	git_url_cleanup(&p.u);
	git_creds_cleanup(&p.cr);
	strv_free(&p.dirs);
	return rc;
}

void
git_lease_release(struct git_lease *l)
{
	if (l == NULL)
		return;
	if (l->lock_fd >= 0) {
		(void)futimens(l->lock_fd, NULL);	/* used until now */
		close(l->lock_fd);
	}
	l->lock_fd = -1;
	free(l->directory);
	free(l->commit);
	l->directory = l->commit = NULL;
}
