/*
 * clone.c: prefect.deployments.steps.git_clone through libgit2.
 *
 * Follows Prefect 3.8.8 (deployments/steps/pull.py, runner/storage.py's
 * GitRepository) for the inputs, their validation, sparse directories
 * in cone mode and the retries; the cache (git_clone.h, repo_cache.h)
 * replaces its clone-per-directory.  The URL and the credentials, by
 * Prefect's provider rules, come from repo_url.h; the remote and the
 * URL's mirror are fetch.c's, the checkout checkout.c's (their
 * shared types in clone_int.h).  This file has the step itself.
 *
 *   inputs -> args -> url + creds -+- pinned tree cached? -> lease
 *                                  +- mirror (locked) -> commit (ls-remote,
 *                                     fetch if missing) -> checkout into
 *                                     tmp/ -> submodules -> trees/ -> lease
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/retry.h"
#include "common/util.h"
#include "git/clone_int.h"

#define PULL_ATTEMPTS		3	/* Prefect's max_attempts */

/* Prefect retries 1 s, then 2 s, capped at 10 s. */
static const struct retry_policy pull_retry = { 1000, 10000, 0 };

/* ------------------------------------------------------------ helpers */

void
clone_say(struct pull *p, int level, const char *fmt, ...)
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

void
clone_strv_add(struct strv *s, char *str)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = str;		/* now owned by s */
}

int
clone_strv_has(const struct strv *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return 1;
	return 0;
}

void
clone_strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void
clone_links_free(struct links *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
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
			clone_strv_free(out);	/* the whole tree */
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
		if (clone_strv_has(out, n))
			free(n);
		else
			clone_strv_add(out, n);
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

/* --------------------------------------------------------------- step */

static char *
tree_name(const char *hex, const char *variant)
{
	return *variant ? xasprintf("%s-%s", hex, variant) : xstrdup(hex);
}

/*
 * Whether the cached tree of a pinned commit may be served without the
 * mirror: 1 when the URL's mirror is known and public or the caller's
 * credentials pass its server; 0 when the URL has no mirror (the tree
 * came from another URL: take the mirror's way, which asks the server);
 * -1 when the credentials are refused.
 */
static int
cached_tree_allowed(struct pull *p, char *err, size_t errlen)
{
	char	*mirror, *lock;
	int	 rc = 0;

	gitcache_mirror_paths(p->root, p->u.url, &mirror, &lock);
	if (is_dir(mirror))
		rc = clone_prove_access(p, mirror, &p->u, &p->cr, err,
		    errlen) == -1 ? -1 : 1;
	free(mirror);
	free(lock);
	return rc;
}

/*
 * One attempt: lease the tree of the wanted commit, making it first when
 * needed.  Sets p->retryable when a new attempt could succeed.
 */
static int
pull_once(struct pull *p, struct repo_lease *lease, char *err, size_t errlen)
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
		if (r == 1 && (r = cached_tree_allowed(p, err, errlen)) == -1)
			goto out;
		if (r == 1)
			goto leased;
		close(fd);
		fd = -1;
		free(name);
		name = NULL;
	}
	if (clone_mirror_open(p, &p->u, &m, err, errlen) == -1)
		goto out;
	keep = xstrdup(m.path);
	if (clone_resolve(p, &m, &commit, err, errlen) == -1)
		goto out;
	clone_note_access(p, m.path, &p->cr);
	git_oid_tostr(hex, sizeof(hex), &commit);
	name = tree_name(hex, p->variant);
	if ((r = gitcache_tree_lock(p->root, name, &fd, err, errlen)) == -1)
		goto out;
	if (r == 0) {
		if (gitcache_tmpdir(p->root, &tmp, &tmpfd, err, errlen) == -1 ||
		    clone_checkout(p, m.repo, &commit, p->u.url, tmp,
		    p->dirs.n > 0,
		    p->a.include_submodules ? &links : NULL, err, errlen) == -1)
			goto out;
		clone_mirror_close(&m);	/* submodules lock their own */
		if (clone_submodules(p, &p->u, &p->cr, tmp, &links, 1, err,
		    errlen) == -1 || gitcache_tree_publish(p->root, tmp, name,
		    fd, err, errlen) == -1)
			goto out;
		free(tmp);
		tmp = NULL;
		p->added = 1;
		how = "Checked out";
	}
leased:
	clone_mirror_close(&m);
	lease->directory = xasprintf("%s/trees/%s", p->root, name);
	lease->commit = xstrdup(hex);
	lease->url = xstrdup(p->u.url);
	lease->lock_fd = fd;		/* now owned by the lease */
	fd = -1;
	clone_say(p, PF_LEVEL_INFO, "%s commit %s of '%s'%s%s%s: %s", how, hex,
	    p->u.url, p->a.branch ? " (branch '" : "",
	    p->a.branch ? p->a.branch : "", p->a.branch ? "')" : "",
	    lease->directory);
	if (p->added)
		gitcache_trim(p->root, p->cache->max_bytes, name, keep, p->log,
		    p->log_arg);
	rc = 0;
out:
	clone_mirror_abandon(&m);
	if (tmp != NULL)
		(void)gitcache_rm_rf(tmp);
	if (tmpfd != -1)
		close(tmpfd);
	if (fd != -1)
		close(fd);
	clone_links_free(&links);
	free(tmp);
	free(name);
	free(keep);
	return rc;
}

int
repo_clone_step(const struct repo_cache *cache, const cJSON *inputs,
    repo_log_fn log, void *log_arg, struct repo_lease *lease,
    cJSON **outputs, char *err, size_t errlen)
{
	struct pull	 p;
	const char	*tok = NULL;
	int64_t		 delay;
	int		 rc = -1, attempt, inited = 0;

	lease->directory = lease->commit = lease->url = NULL;
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
	    repo_url_parse(p.a.repository, &p.u, err, errlen) == -1 ||
	    repo_creds_resolve(&p.u, p.a.access_token, p.a.credentials,
	    &p.cr, &tok, err, errlen) == -1)
		goto out;
	p.secrets[0] = tok;
	p.secrets[1] = p.cr.pass;
	p.secrets[2] = p.u.embedded.pass;
	p.secrets[3] = p.a.access_token;
	make_variant(&p);
	if (p.a.clone_directory_name != NULL)
		clone_say(&p, PF_LEVEL_DEBUG,
		    "clone_directory_name '%s' is not used: "
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
		repo_creds_scrub(err, errlen, p.secrets, MAX_SECRETS);
		delay = retry_delay_ms(&pull_retry, attempt, 0);
		clone_say(&p, PF_LEVEL_WARNING,
		    "Attempt %d of function 'git_clone' "
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
		repo_creds_scrub(err, errlen, p.secrets, MAX_SECRETS);
	free(p.root);
	repo_url_cleanup(&p.u);
	repo_creds_cleanup(&p.cr);
	clone_strv_free(&p.dirs);
	return rc;
}

void
repo_lease_release(struct repo_lease *l)
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
	free(l->url);
	l->directory = l->commit = l->url = NULL;
}
