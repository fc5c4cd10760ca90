/*
 * clone_int.h: what the parts of the git_clone step share.
 *
 *   clone.c     the step: inputs, retries, the tree leased per attempt
 *   fetch.c     the remote (credentials, ls-remote, fetch) and the
 *                   URL's mirror in the cache: open, lock, find the commit
 *   checkout.c  a commit's tree (sparse when asked) and its submodules
 */
#ifndef GIT_CLONE_INT_H
#define GIT_CLONE_INT_H

#include <sys/stat.h>

#include <stddef.h>

#include <git2.h>

#include "git/cache.h"
#include "git/clone.h"
#include "git/url.h"

#define MAX_SECRETS		4

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

/* One call of repo_clone_step. */
struct pull {
	const struct repo_cache	*cache;
	char			*root;		/* absolute */
	struct args		 a;
	struct repo_url		 u;
	struct repo_creds	 cr;		/* offered to u's host */
	struct strv		 dirs;		/* sparse, normalised */
	char			 variant[13];	/* "" when none */
	const char		*secrets[MAX_SECRETS];
	repo_log_fn		 log;
	void			*log_arg;
	int			 retryable;	/* the network failed */
	int			 added;		/* the cache grew */
	int			 contacted;	/* a remote answered */
	int			 asked_creds;	/* and wanted credentials */
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

/* Payload of the credential callback (fetch.c). */
struct remote_ctx;

static inline int
is_dir(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* clone.c */

/* Logs through the step's callback, when it has one. */
void	clone_say(struct pull *p, int level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	clone_strv_add(struct strv *s, char *str);
int	clone_strv_has(const struct strv *s, const char *str);
void	clone_strv_free(struct strv *s);
void	clone_links_free(struct links *l);

/* fetch.c */

int	clone_git_fail(struct pull *p, const struct remote_ctx *r, int code,
	    const char *doing, const char *url, char *err, size_t errlen);
void	clone_mirror_close(struct mirror *m);
void	clone_mirror_abandon(struct mirror *m);
int	clone_mirror_open(struct pull *p, const struct repo_url *u,
	    struct mirror *m, char *err, size_t errlen);
int	clone_ensure_commit(struct pull *p, struct mirror *m,
	    const struct repo_url *u, const struct repo_creds *cr,
	    const char *sha, git_oid *out, char *err, size_t errlen);
int	clone_resolve(struct pull *p, struct mirror *m, git_oid *out,
	    char *err, size_t errlen);
/*
 * Repositories behind a login: whether the mirror's server asked for
 * credentials; after talking to it, remember whether it did (and that
 * these credentials passed); before serving its cached content, prove
 * the credentials (a ref listing, skipped for a minute after one).
 */
int	clone_mirror_private(const char *mirror);
void	clone_note_access(struct pull *p, const char *mirror,
	    const struct repo_creds *cr);
int	clone_prove_access(struct pull *p, const char *mirror,
	    const struct repo_url *u, const struct repo_creds *cr, char *err,
	    size_t errlen);

/* checkout.c */

int	clone_checkout(struct pull *p, git_repository *repo,
	    const git_oid *commit, const char *url, const char *dir,
	    int sparse, struct links *links, char *err, size_t errlen);
int	clone_submodules(struct pull *p, const struct repo_url *parent,
	    const struct repo_creds *pcr, const char *dir, struct links *links,
	    int depth, char *err, size_t errlen);

#endif
