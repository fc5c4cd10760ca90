/*
 * repo_url.h: the repository URL of a git_clone step, and the user name
 * and password offered to it, by Prefect 3.8.8's provider rules.
 *
 * Tokens never enter URLs.  The credential-free URL is what libgit2 is
 * given, what the cache hashes into a mirror's path and stores in its
 * config, and what log lines and errors quote; a token in it would be
 * written to all of those, and the same repository reached with a new
 * token would get a second mirror.  So user:password@ is cut out of an
 * http URL when it is parsed, and every credential, from the URL, from
 * access_token or from a credentials block, ends up as a struct
 * repo_creds that reaches libgit2 through its credential callback only.
 * repo_creds_scrub masks what might still slip into a message (a
 * server's answer quoting the token, say).
 *
 * Plain string work: no libgit2, no network, no files (but getcwd(3)
 * for a relative local path).
 */
#ifndef GIT_URL_H
#define GIT_URL_H

#include <stddef.h>

#include <cjson/cJSON.h>

enum repo_url_kind {
	REPO_URL_HTTP,		/* http://, https:// */
	REPO_URL_SSH,		/* ssh://, git+ssh://, [user@]host:path */
	REPO_URL_GIT,		/* git:// */
	REPO_URL_LOCAL		/* file:// or a path, made absolute */
};

struct repo_creds {
	char	*user;		/* NULL: none */
	char	*pass;		/* "" when the token is the user name */
};

/*
 * A repository URL as libgit2 sees it: without user:pass@ (http).
 * host is NULL for a local repository.
 */
struct repo_url {
	char			*url;
	char			*host;		/* lower-case host[:port] */
	enum repo_url_kind	 kind;
	struct repo_creds	 embedded;	/* user:pass@ of the URL */
};

/*
 * Parses a repository URL: scheme URLs (https, http, ssh, git, file),
 * scp-like [user@]host:path (ssh), or a local path (made absolute).
 * Percent-encoded user:pass@ of an http or git URL moves, decoded, to
 * out->embedded; an ssh URL keeps its user and drops its password.
 * Returns 0, or -1 with err (bad URL, unsupported scheme).  *out is
 * always initialised; release it with repo_url_cleanup either way.
 */
int	 repo_url_parse(const char *in, struct repo_url *out, char *err,
	    size_t errlen);
/* Frees the strings and zeroes *u.  Safe on a zeroed struct. */
void	 repo_url_cleanup(struct repo_url *u);

/*
 * A submodule URL as git resolves it: "./x" and "../x" are relative to
 * the superproject's URL base (each "../" drops one path component),
 * anything else is returned as it is.  A new string, or NULL when rel
 * climbs above the host or the root.
 */
char	*repo_url_resolve_relative(const char *base, const char *rel);

/*
 * Prefect's _format_token_from_credentials, as a user and password
 * instead of URL text, for the repository u.  The token is
 * access_token, or else credentials' (a credentials block's data)
 * access_token, token or password; with credentials' username it gives
 * username:token, otherwise the host decides: GitHub and others
 * <token> with no password, GitLab oauth2:<token>, Bitbucket
 * x-token-auth:<token>, and a token "user:secret" is split where the
 * provider allows it (Bitbucket Server requires it).  With neither,
 * the URL's own user:pass@ is used.  Only http URLs get a token: ssh
 * and git URLs are left as they are, as Prefect leaves them.
 *
 * access_token "" and credentials {} count as absent (falsy, as in
 * Python); given both, access_token wins (repo_clone_step rejects that
 * earlier).  Returns 0 with *out (user NULL when nothing is offered)
 * and *secret, the text to mask in messages (borrowed from the inputs
 * or *out, NULL when none), or -1 with err in Prefect's words.  *out
 * is always initialised; release it with repo_creds_cleanup either way.
 */
int	 repo_creds_resolve(const struct repo_url *u, const char *access_token,
	    const cJSON *credentials, struct repo_creds *out,
	    const char **secret, char *err, size_t errlen);
/* Frees the strings and NULLs them.  Safe on a zeroed struct. */
void	 repo_creds_cleanup(struct repo_creds *c);

/*
 * Replaces every occurrence of each of the n secrets (NULL and ""
 * entries are skipped) in the string msg, of size msglen, with "***",
 * truncating to msglen.  msg may be NULL.
 */
void	 repo_creds_scrub(char *msg, size_t msglen,
	    const char *const *secrets, size_t n);

#endif
