/*
 * repo_cache.h: the on-disk cache behind git_clone (layout in
 * git_clone.h): directories, flock-based locks, atomic publication of
 * checked-out trees, and the LRU clean-up.  Knows nothing of libgit2.
 *
 * Locking rules, which make every step safe across processes:
 *   - a tree is used only under a shared lock on its .lock file, and
 *     removed only under an exclusive, non-blocking one (busy trees are
 *     skipped, never waited for);
 *   - a mirror is read or written only under an exclusive lock on its
 *     .lock file; clean-up takes it non-blocking too;
 *   - whoever removes a tree or mirror unlinks its .lock while holding
 *     it, and gitcache_lock notices a lock file replaced while it
 *     waited, so no two processes ever hold "the same" lock on
 *     different files;
 *   - anything in tmp/ that no process holds an flock on, and that is
 *     older than a minute, is debris of a crash and is removed.
 */
#ifndef GIT_CACHE_H
#define GIT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "git/clone.h"

/*
 * Creates root and its mirrors/, trees/ and tmp/ folders as needed.
 * Returns 0 and the absolute root in *out (caller frees), or -1.
 */
int	 gitcache_open(const char *root, char **out, char *err,
	    size_t errlen);

/*
 * Opens (creating) a lock file and flock(2)s it with op (LOCK_SH,
 * LOCK_EX, optionally | LOCK_NB).  Returns the descriptor, or -1 with
 * errno (EWOULDBLOCK when LOCK_NB and busy).
 */
int	 gitcache_lock(const char *path, int op);

/* Lower-case hex SHA-256 of data. */
void	 gitcache_sha256(const void *data, size_t len, char out[65]);

/*
 * The bare mirror of url (already credential-free) and its lock file,
 * both new strings the caller frees.
 */
void	 gitcache_mirror_paths(const char *root, const char *url,
	    char **repo, char **lock);

/*
 * Takes a shared lock on trees/<name>.lock and marks the tree used.
 * Returns 1 when the tree exists, 0 when it does not (the lock is held
 * either way: the caller may create the tree), -1 with err.  *fd is
 * the lock's descriptor on 0 and 1.
 */
int	 gitcache_tree_lock(const char *root, const char *name, int *fd,
	    char *err, size_t errlen);

/*
 * Makes a fresh directory under tmp/ and holds an exclusive flock on it
 * (*fd) so the debris sweep leaves it alone.  *path is new.
 */
int	 gitcache_tmpdir(const char *root, char **path, int *fd, char *err,
	    size_t errlen);

/*
 * Renames the finished checkout tmp to trees/<name> and records its size
 * in the lock file (lock_fd, held shared by the caller).  When another
 * process published the same tree first, tmp is removed and theirs kept;
 * both count as success.
 */
int	 gitcache_tree_publish(const char *root, const char *tmp,
	    const char *name, int lock_fd, char *err, size_t errlen);

/*
 * Renames a finished bare repository tmp to repo (the caller holds the
 * mirror lock, so nobody else can have created it meanwhile).
 */
int	 gitcache_mirror_publish(const char *tmp, const char *repo,
	    char *err, size_t errlen);

/*
 * Sweeps tmp/ of crash debris and, when max_bytes is not 0, removes the
 * least recently used trees and mirrors that no process holds until
 * trees + mirrors take at most max_bytes.  keep_tree (a tree name) and
 * keep_mirror (a mirror path) are never removed; either may be NULL.
 * Failures to remove are logged, not returned: clean-up is best effort.
 */
void	 gitcache_trim(const char *root, uint64_t max_bytes,
	    const char *keep_tree, const char *keep_mirror, repo_log_fn log,
	    void *log_arg);

/* Bytes on disk taken by trees/ and mirrors/ (allocated blocks). */
uint64_t gitcache_usage(const char *root);

/* rm -rf; 0, or -1 with errno.  A missing path is not an error. */
int	 gitcache_rm_rf(const char *path);

#endif
