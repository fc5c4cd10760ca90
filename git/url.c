/*
 * url.c: repository URLs and their credentials (why they are kept
 * apart in repo_url.h).
 *
 * Follows Prefect 3.8.8 (runner/storage.py's GitRepository) for the
 * provider rules, and git for scp-like URLs and relative submodule URLs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "git/url.h"

/* --------------------------------------------------------------- URLs */

static char *
lower(const char *s, size_t n)
{
	char	*out = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return out;
}

void
repo_creds_cleanup(struct repo_creds *c)
{
	free(c->user);
	free(c->pass);
	c->user = c->pass = NULL;
}

void
repo_url_cleanup(struct repo_url *u)
{
	free(u->url);
	free(u->host);
	repo_creds_cleanup(&u->embedded);
	memset(u, 0, sizeof(*u));
}

/* scheme://[user[:pass]@]host[:port]/path */
static int
parse_scheme(const char *in, const char *sep, struct repo_url *u, char *err,
    size_t errlen)
{
	char		*scheme = lower(in, (size_t)(sep - in));
	const char	*auth = sep + 3, *end, *at, *colon;
	size_t		 alen;
	int		 rc = -1;

	if (strcmp(scheme, "file") == 0) {
		if (auth[0] == '\0') {
			errorf(err, errlen, "bad repository URL '%s': no path",
			    in);
			goto out;
		}
		u->kind = REPO_URL_LOCAL;
		u->url = xstrdup(in);
		rc = 0;
		goto out;
	}
	if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)
		u->kind = REPO_URL_HTTP;
	else if (strcmp(scheme, "ssh") == 0 || strcmp(scheme, "git+ssh") == 0 ||
	    strcmp(scheme, "ssh+git") == 0)
		u->kind = REPO_URL_SSH;
	else if (strcmp(scheme, "git") == 0)
		u->kind = REPO_URL_GIT;
	else {
		errorf(err, errlen, "bad repository URL '%s': unsupported "
		    "scheme '%s' (use https, http, ssh, git or file)", in,
		    scheme);
		goto out;
	}
	end = auth + strcspn(auth, "/?#");
	alen = (size_t)(end - auth);
	at = memrchr(auth, '@', alen);
	if ((at ? end - (at + 1) : end - auth) == 0) {
		errorf(err, errlen, "bad repository URL '%s': no host", in);
		goto out;
	}
	if (at != NULL && u->kind != REPO_URL_SSH) {
		/* Credentials in the URL: used, never stored. */
		colon = memchr(auth, ':', (size_t)(at - auth));
		u->embedded.user = url_unquote(auth, (size_t)((colon ? colon :
		    at) - auth), 0);
		u->embedded.pass = colon ? url_unquote(colon + 1,
		    (size_t)(at - colon - 1), 0) : xstrdup("");
		u->url = xasprintf("%s://%s", scheme, at + 1);
	} else if (at != NULL && (colon = memchr(auth, ':',
	    (size_t)(at - auth))) != NULL) {
		/* ssh://user:password@: keep the user, drop the password. */
		u->url = xasprintf("%s://%.*s%s", scheme, (int)(colon - auth),
		    auth, at);
	} else
		u->url = xasprintf("%s://%s", scheme, auth);
	at = at ? at + 1 : auth;
	u->host = lower(at, (size_t)(end - at));
	rc = 0;
out:
	free(scheme);
	return rc;
}

int
repo_url_parse(const char *in, struct repo_url *u, char *err, size_t errlen)
{
	const char	*sep, *colon, *slash, *at;
	char		*cwd;

	memset(u, 0, sizeof(*u));
	for (const char *s = in; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return errorf(err, errlen, "bad repository URL: it "
			    "contains control characters");
	if ((sep = strstr(in, "://")) != NULL && sep > in &&
	    strcspn(in, "/:") == (size_t)(sep - in))
		return parse_scheme(in, sep, u, err, errlen);
	colon = strchr(in, ':');
	slash = strchr(in, '/');
	if (colon != NULL && colon > in && (slash == NULL || colon < slash)) {
		at = memrchr(in, '@', (size_t)(colon - in));
		if ((at ? colon - (at + 1) : colon - in) == 0)
			return errorf(err, errlen, "bad repository URL '%s': "
			    "no host", in);
		u->kind = REPO_URL_SSH;
		u->url = xstrdup(in);
		at = at ? at + 1 : in;
		u->host = lower(at, (size_t)(colon - at));
		return 0;
	}
	u->kind = REPO_URL_LOCAL;
	if (in[0] == '/')
		u->url = xstrdup(in);
	else {
		if ((cwd = getcwd(NULL, 0)) == NULL)
			return errorf(err, errlen, "cannot resolve '%s': %s",
			    in, strerror(errno));
		u->url = xasprintf("%s/%s", cwd, in);
		free(cwd);
	}
	return 0;
}

char *
repo_url_resolve_relative(const char *base, const char *rel)
{
	const char	*sep = "/", *p;
	char		*b, *s, *out;
	size_t		 floor = 0, n;

	if (strncmp(rel, "./", 2) != 0 && strncmp(rel, "../", 3) != 0)
		return xstrdup(rel);
	b = xstrdup(base);
	while ((n = strlen(b)) > 1 && b[n - 1] == '/')
		b[n - 1] = '\0';
	if ((p = strstr(b, "://")) != NULL)
		floor = (size_t)(p + 3 - b) + strcspn(p + 3, "/");
	else if ((p = strchr(b, ':')) != NULL && b[0] != '/')
		floor = (size_t)(p - b);	/* scp-like host:path */
	for (;;) {
		if (strncmp(rel, "./", 2) == 0)
			rel += 2;
		else if (strncmp(rel, "../", 3) == 0) {
			rel += 3;
			s = strrchr(b, '/');
			if (s != NULL && (size_t)(s - b) >= floor &&
			    (floor > 0 || s > b || b[0] == '/'))
				*s = '\0';
			else if (floor > 0 && b[floor] == ':' && *sep) {
				b[floor + 1] = '\0';	/* host:repo -> host: */
				sep = "";
			} else {
				free(b);
				return NULL;
			}
		} else
			break;
	}
	out = xasprintf("%s%s%s", b, sep, rel);
	free(b);
	return out;
}

/* -------------------------------------------------------- credentials */

int
repo_creds_resolve(const struct repo_url *u, const char *access_token,
    const cJSON *credentials, struct repo_creds *c, const char **secret,
    char *err, size_t errlen)
{
	const char	*user = NULL, *tok = NULL, *sep;
	static const char *const tok_keys[] = { "access_token", "token",
	    "password" };

	memset(c, 0, sizeof(*c));
	*secret = NULL;
	/* Falsy in Python, so Prefect ignores them. */
	if (access_token != NULL && *access_token == '\0')
		access_token = NULL;
	if (credentials != NULL && credentials->child == NULL)
		credentials = NULL;
	if (access_token != NULL)
		tok = access_token;
	else if (credentials != NULL) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(
		    credentials, "username");

		if (cJSON_IsString(v) && *v->valuestring)
			user = v->valuestring;
		for (size_t i = 0; i < 3 && tok == NULL; i++) {
			v = cJSON_GetObjectItemCaseSensitive(credentials,
			    tok_keys[i]);
			if (v != NULL && !cJSON_IsNull(v) &&
			    !cJSON_IsString(v))
				return errorf(err, errlen, "git_clone: "
				    "credentials.%s must be a string",
				    tok_keys[i]);
			if (cJSON_IsString(v) && *v->valuestring)
				tok = v->valuestring;
		}
		if (user != NULL && tok == NULL)
			return errorf(err, errlen, "If a username is provided, "
			    "an access token or password must also be "
			    "provided.");
		if (tok == NULL)
			return errorf(err, errlen, "Please provide a `token` "
			    "or `password` in your Credentials block to clone "
			    "a repo.");
	} else if (u->embedded.user != NULL) {
		c->user = xstrdup(u->embedded.user);
		c->pass = xstrdup(u->embedded.pass);
		*secret = *c->pass ? NULL : c->user;
		return 0;
	}
	if (tok == NULL || u->kind != REPO_URL_HTTP)
		return 0;	/* Prefect passes ssh URLs as they are */
	*secret = tok;
	if (user != NULL) {
		c->user = xstrdup(user);
		c->pass = xstrdup(tok);
		return 0;
	}
	sep = strchr(tok, ':');
	if (strstr(u->host, "bitbucketserver") != NULL) {
		if (sep == NULL)
			return errorf(err, errlen, "Please provide a "
			    "`username` and a `password` or `token` in your "
			    "BitBucketCredentials block to clone a repo from "
			    "BitBucket Server.");
	} else if (strstr(u->host, "bitbucket") != NULL) {
		if (sep == NULL)
			c->user = xstrdup("x-token-auth");
	} else if (strstr(u->host, "gitlab") != NULL) {
		if (sep == NULL)
			c->user = xstrdup("oauth2");
	} else {
		/* GitHub and others: https://<token>@host, no password. */
		c->user = xstrdup(tok);
		c->pass = xstrdup("");
		return 0;
	}
	if (c->user != NULL)
		c->pass = xstrdup(tok);
	else {
		c->user = xasprintf("%.*s", (int)(sep - tok), tok);
		c->pass = xstrdup(sep + 1);
		*secret = c->pass;
	}
	return 0;
}

void
repo_creds_scrub(char *msg, size_t msglen, const char *const *secrets,
    size_t n)
{
	struct buf	 b;
	const char	*s, *hit;
	size_t		 len;

	if (msg == NULL || msglen == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (secrets[i] == NULL || (len = strlen(secrets[i])) == 0 ||
		    strstr(msg, secrets[i]) == NULL)
			continue;
		buf_init(&b, SIZE_MAX);
		for (s = msg; (hit = strstr(s, secrets[i])) != NULL;
		    s = hit + len) {
			(void)buf_append(&b, s, (size_t)(hit - s));
			(void)buf_append(&b, "***", 3);
		}
		(void)buf_append(&b, s, strlen(s));
		strlcpy_(msg, b.data, msglen);
		buf_cleanup(&b);
	}
}
