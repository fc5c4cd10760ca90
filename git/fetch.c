/*
 * fetch.c: the remote and the URL's mirror, for git_clone.
 *
 * Tokens reach libgit2 through the credential callback only.  libgit2's
 * errors are classified here: only a failing network lets the step try
 * again.  The mirror of a credential-free URL lives in the cache,
 * locked while it is used; a commit is fetched only when missing.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <fcntl.h>
#include <time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/log.h"
#include "common/util.h"
#include "git/clone_int.h"

/* Payload of the credential callback, per remote operation. */
struct remote_ctx {
	const struct repo_url	*u;
	const struct repo_creds	*cr;
	int			 userpass_tried, agent_tried, username_tried;
	int			 auth_failed;
	size_t			 received_bytes;	/* of the pack */
	int			 asked;		/* the server wanted credentials */
};

/* ---------------------------------------------------- libgit2 remotes */

/*
 * The pack's size as it arrives: git_remote_stats() after the fetch
 * says 0 bytes once the indexer is done, so the last progress counts.
 */
static int
progress_cb(const git_indexer_progress *st, void *payload)
{
	struct remote_ctx	*r = payload;

	if (st->received_bytes > r->received_bytes)
		r->received_bytes = st->received_bytes;
	return 0;
}

static int
cred_cb(git_credential **out, const char *url, const char *user_from_url,
    unsigned int allowed, void *payload)
{
	struct remote_ctx	*r = payload;
	const char		*user = user_from_url ? user_from_url : "git";

	(void)url;
	r->asked = 1;
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
remote_setup(struct remote_ctx *r, const struct repo_url *u,
    const struct repo_creds *cr, git_remote_callbacks *cb,
    git_proxy_options *po)
{
	static const struct repo_creds none;

	memset(r, 0, sizeof(*r));
	r->u = u;
	r->cr = cr ? cr : &none;
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = cred_cb;
	cb->transfer_progress = progress_cb;
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
is_network(const struct repo_url *u, int klass, int status, const char *msg)
{
	static const char *const sock[] = { "failed to connect",
	    "failed to resolve address", "failed to send", "failed to recv",
	    "timed out", "unexpected EOF", "early EOF", "Connection reset",
	    NULL };

	if (u->kind == REPO_URL_LOCAL)
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
int
clone_git_fail(struct pull *p, const struct remote_ctx *r, int code,
    const char *doing, const char *url, char *err, size_t errlen)
{
	const git_error	*e = git_error_last();
	const char	*msg = e && e->message ? e->message : "unknown error";
	int		 klass = e ? e->klass : GIT_ERROR_NONE;
	int		 status = http_status(msg), enospc = errno == ENOSPC;

	p->retryable = 0;
	if (r != NULL && (r->auth_failed || code == GIT_EAUTH ||
	    status == 401 || status == 403)) {
		if (r->cr->user == NULL && r->u->kind == REPO_URL_HTTP)
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
	    klass != GIT_ERROR_NET) || (r->u->kind == REPO_URL_LOCAL &&
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
ls_remote(struct pull *p, const struct repo_url *u, const struct repo_creds *cr,
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
		clone_git_fail(p, &r, code, "listing the branches of", u->url,
		    err, errlen);
		goto out;
	}
	p->contacted = 1;
	p->asked_creds |= r.asked;
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
fetch(struct pull *p, git_repository *repo, const struct repo_url *u,
    const struct repo_creds *cr, const char *oid, char *err, size_t errlen)
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
		clone_git_fail(p, &r, code, "fetching", u->url, err, errlen);
		git_remote_free(remote);
		return -1;
	}
	p->contacted = 1;
	p->asked_creds |= r.asked;
	st = git_remote_stats(remote);
	human_bytes(r.received_bytes > st->received_bytes ? r.received_bytes :
	    st->received_bytes, size, sizeof(size));
	if (st->received_objects > 0) {
		p->added = 1;
		clone_say(p, PF_LEVEL_INFO, "Fetched %u objects (%s) from '%s'",
		    st->received_objects, size, u->url);
	} else
		clone_say(p, PF_LEVEL_DEBUG, "Fetched nothing new from '%s'",
		    u->url);
	git_remote_free(remote);
	return 0;
}

/* ------------------------------------------------------------ mirrors */

void
clone_mirror_close(struct mirror *m)
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
void
clone_mirror_abandon(struct mirror *m)
{
	if (m->repo != NULL && m->fresh &&
	    git_repository_is_empty(m->repo) == 1) {
		git_repository_free(m->repo);
		m->repo = NULL;
		if (gitcache_rm_rf(m->path) == 0)
			(void)unlink(m->lock);	/* still ours: we hold it */
	}
	clone_mirror_close(m);
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
		clone_git_fail(p, NULL, -1, "creating the mirror of", url, err,
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
int
clone_mirror_open(struct pull *p, const struct repo_url *u, struct mirror *m,
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
		clone_say(p, PF_LEVEL_WARNING, "The cached mirror of '%s' is "
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
		clone_git_fail(p, NULL, -1, "opening the mirror of", u->url,
		    err, errlen);
		goto fail;
	}
	m->fresh = 1;
	p->added = 1;
	return 0;
fail:
	clone_mirror_close(m);
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
int
clone_ensure_commit(struct pull *p, struct mirror *m, const struct repo_url *u,
    const struct repo_creds *cr, const char *sha, git_oid *out, char *err,
    size_t errlen)
{
	int	 r;

	if ((r = find_commit(m->repo, sha, out, err, errlen)) == 0)
		return clone_prove_access(p, m->path, u, cr, err, errlen);
	if (r == -1)
		return -1;
	clone_say(p, PF_LEVEL_INFO, "%s '%s' to find commit %s", m->fresh ?
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
int
clone_resolve(struct pull *p, struct mirror *m, git_oid *out, char *err,
    size_t errlen)
{
	git_reference	*ref = NULL;
	git_object	*tip = NULL;
	git_oid		 oid;
	char		 hex[GIT_OID_HEXSZ + 1], *name = NULL;
	const char	*what = p->a.branch ? p->a.branch : "default branch";
	int		 r;

	if (p->a.commit_sha != NULL)
		return clone_ensure_commit(p, m, &p->u, &p->cr, p->a.commit_sha,
		    out, err, errlen);
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
	clone_say(p, PF_LEVEL_DEBUG, "'%s' %s is at %s", p->u.url, name ? name :
	    what, hex);
	if (have_commit(m->repo, &oid, out)) {
		free(name);
		return 0;
	}
	clone_say(p, PF_LEVEL_INFO, "%s '%s' (%s at %.12s)", m->fresh ?
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

/* ------------------------------------------- repositories behind a login */

/*
 * A mirror fetched from a server that asked for credentials is marked,
 * so that serving what it holds without the network (a pinned commit)
 * first proves the caller's credentials with a ref listing. A listing
 * that passed is remembered for ACCESS_PROOF_SECONDS under an HMAC of
 * the credentials (keyed per mirror, never the secret itself), so a
 * burst of runs costs one request.
 */
#define ACCESS_DIR		"pfagent-access"
#define ACCESS_PROOF_SECONDS	60

static char *
access_file(const char *mirror, const char *name)
{
	return xasprintf("%s/" ACCESS_DIR "/%s", mirror, name);
}

/* The mirror's HMAC key, made on first use; 0 or -1. */
static int
access_key(const char *mirror, unsigned char key[32])
{
	char	*dir = xasprintf("%s/" ACCESS_DIR, mirror);
	char	*path = access_file(mirror, "key");
	int	 fd, rc = -1;

	(void)mkdir(dir, 0700);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 && errno == ENOENT) {
		unsigned char	 fresh[32];

		if (getrandom(fresh, sizeof(fresh), 0) == sizeof(fresh) &&
		    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600)) != -1) {
			rc = write(fd, fresh, sizeof(fresh)) ==
			    (ssize_t)sizeof(fresh) ? 0 : -1;
			memcpy(key, fresh, sizeof(fresh));
			OPENSSL_cleanse(fresh, sizeof(fresh));
			close(fd);
			goto out;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);	/* lost a race */
	}
	if (fd != -1) {
		rc = read(fd, key, 32) == 32 ? 0 : -1;
		close(fd);
	}
out:
	free(path);
	free(dir);
	return rc;
}

/* The proof file of these credentials, or NULL. */
static char *
access_proof(const char *mirror, const struct repo_creds *cr)
{
	unsigned char	 key[32], mac[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0;
	char		 hex[2 * EVP_MAX_MD_SIZE + 1];
	const char	*user = cr->user ? cr->user : "";
	const char	*pass = cr->pass ? cr->pass : "";
	size_t		 ul = strlen(user), pl = strlen(pass);
	unsigned char	*msg;

	if (access_key(mirror, key) == -1)
		return NULL;
	msg = xmalloc(ul + pl + 2);
	memcpy(msg, user, ul + 1);
	memcpy(msg + ul + 1, pass, pl + 1);
	HMAC(EVP_sha256(), key, sizeof(key), msg, ul + pl + 2, mac, &n);
	OPENSSL_cleanse(msg, ul + pl + 2);
	OPENSSL_cleanse(key, sizeof(key));
	free(msg);
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return access_file(mirror, hex);
}

static void
touch(const char *path)
{
	int	 fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	if (fd != -1) {
		(void)futimens(fd, NULL);
		close(fd);
	}
}

int
clone_mirror_private(const char *mirror)
{
	char	*mark = access_file(mirror, "needs-credentials");
	int	 yes = access(mark, F_OK) == 0;

	free(mark);
	return yes;
}

void
clone_note_access(struct pull *p, const char *mirror,
    const struct repo_creds *cr)
{
	char	*mark, *proof;

	if (!p->contacted)
		return;			/* served from the mirror alone */
	mark = access_file(mirror, "needs-credentials");
	if (!p->asked_creds)
		(void)unlink(mark);	/* public (again) */
	else if ((proof = access_proof(mirror, cr)) != NULL) {
		touch(mark);
		touch(proof);
		free(proof);
	}
	free(mark);
}

int
clone_prove_access(struct pull *p, const char *mirror,
    const struct repo_url *u, const struct repo_creds *cr, char *err,
    size_t errlen)
{
	struct stat	 st;
	git_oid		 head;
	char		*proof, *ref = NULL;
	int		 rc;

	if (!clone_mirror_private(mirror))
		return 0;
	if ((proof = access_proof(mirror, cr)) != NULL &&
	    stat(proof, &st) == 0 &&
	    time(NULL) - st.st_mtime < ACCESS_PROOF_SECONDS &&
	    time(NULL) >= st.st_mtime) {
		free(proof);
		return 0;
	}
	clone_say(p, PF_LEVEL_DEBUG, "'%s' needs credentials: checking "
	    "them before using its cached commit", u->url);
	rc = ls_remote(p, u, cr, NULL, &head, &ref, err, errlen);
	free(ref);
	if (rc != -1 && proof != NULL)
		touch(proof);
	free(proof);
	return rc == -1 ? -1 : 0;
}
