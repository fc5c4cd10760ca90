/*
 * git_clone.h: the prefect.deployments.steps.git_clone pull step, through
 * libgit2, with a local cache shared by every flow run of the machine.
 *
 * Cache layout under repo_cache.root (see git/cache.h):
 *
 *   mirrors/<sha256 of the URL>.git   a bare mirror per repository URL
 *   mirrors/<sha256 of the URL>.lock  flock: exclusive while fetching
 *   trees/<commit>[-<variant>]        a checked-out tree per commit
 *   trees/<commit>[-<variant>].lock   flock: shared while leased; holds
 *                                     the tree's size, mtime = last use
 *   tmp/                              checkouts in progress, deletions
 *
 * The URL hashed and stored is always the credential-free one.  <variant>
 * is 12 hex digits of a hash of include_submodules and the sparse
 * directories.  A tree is checked out into tmp/ and renamed into place,
 * so a tree either is complete or does not exist; concurrent runs of the
 * same commit race harmlessly (the loser drops its copy).
 *
 * Trees have no .git at all: nothing in them can hold a credential or
 * point back at the mirror, and a flow cannot fetch or commit by
 * accident.  A flow that needs its commit has it in lease->commit.  A
 * tree is shared by every run of its commit, so a flow that writes
 * into its working directory writes into the cache (as it would into
 * Prefect's reused clone directory); dlt's data is kept elsewhere
 * (executor/workdata.h).
 *
 * Which commit: a full commit_sha whose tree exists is leased without
 * opening the mirror or the network.  Otherwise the mirror is consulted
 * and fetched only when the commit is missing.  A branch (or, with
 * neither, the default branch, as git clone picks it) is resolved by
 * one ref listing; a tag name works as with git clone --branch.
 * Credentials (git/url.h) go through libgit2's credential
 * callback only, never into a URL, a log line, an error or a file;
 * with submodules they are offered only to the parent repository's
 * host.  Submodules on file:// or local paths are followed only when
 * the parent is itself local.
 *
 * Runs in the executor (it blocks and may sleep between retries).
 * clone_directory_name is accepted for compatibility and only logged:
 * the tree's place is the cache's.
 */
#ifndef GIT_CLONE_H
#define GIT_CLONE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct repo_cache {
	const char	*root;		/* created if missing */
	uint64_t	 max_bytes;	/* LRU bound on trees + mirrors; 0: none */
};

/* A tree in use: its shared lock keeps clean-up from removing it. */
struct repo_lease {
	char	*directory;	/* absolute path of the checked-out tree */
	char	*commit;	/* 40-hex commit checked out */
	char	*url;		/* the repository, credential-free: what
				   stays the same from commit to commit */
	int	 lock_fd;	/* -1 when none */
};

/* Where the step's log lines go; level is a PF_LEVEL_* of common/log.h. */
typedef void	(*repo_log_fn)(void *arg, int level, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * Runs git_clone with its (already templated) inputs, exactly the keyword
 * arguments of Prefect's git_clone: repository, branch, commit_sha,
 * include_submodules, access_token, credentials (a dict, e.g. a
 * GitHubCredentials block's data {"token": ...}), directories,
 * clone_directory_name. Validates them as Prefect does (access_token and
 * credentials together -> error; branch and commit_sha together -> error;
 * branch starting with '-' -> error; commit_sha 4..64 hex; unknown keys ->
 * error naming the key). On success returns 0, fills *lease and sets
 * *outputs to a new object {"directory": "<lease->directory>"}.
 * On failure returns -1 with a message that names the cause (bad URL,
 * authentication failed, branch 'x' not found, commit not found, disk full
 * "no space left on device"...) and NEVER contains the token.
 *
 * Network failures are retried as Prefect does (3 attempts, 1 s to 10 s
 * apart); authentication failures and missing branches or commits are
 * not.  log may be NULL.  The lease outlives the call: release it with
 * repo_lease_release once the flow is done with the tree.
 */
int	repo_clone_step(const struct repo_cache *, const cJSON *inputs,
	    repo_log_fn log, void *log_arg, struct repo_lease *lease,
	    cJSON **outputs, char *err, size_t errlen);
/*
 * Drops the lock and frees the strings.  Safe twice, and on a lease that
 * repo_clone_step failed to fill (it sets lock_fd to -1 first).
 */
void	repo_lease_release(struct repo_lease *);

#endif
