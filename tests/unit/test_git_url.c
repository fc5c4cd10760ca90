/*
 * test_git_url.c: deployments/repo_url, repository URLs and the
 * credentials offered to them (Prefect 3.8.8's provider rules), without
 * any repository or network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "git/url.h"
#include "t.h"

static char	 err[512];

static int
has(const char *s, const char *sub)
{
	return s != NULL && strstr(s, sub) != NULL;
}

static void
test_parse(void)
{
	static const struct {
		const char		*in, *url, *host;
		enum repo_url_kind	 kind;
		const char		*user, *pass;
	} ok[] = {
		{ "https://github.com/o/r.git", "https://github.com/o/r.git",
		  "github.com", REPO_URL_HTTP, NULL, NULL },
		{ "HTTP://Host:8080/o/r", "http://Host:8080/o/r",
		  "host:8080", REPO_URL_HTTP, NULL, NULL },
		{ "https://u:p%40ss@host/o/r.git", "https://host/o/r.git",
		  "host", REPO_URL_HTTP, "u", "p@ss" },
		{ "https://T@host/o/r.git", "https://host/o/r.git", "host",
		  REPO_URL_HTTP, "T", "" },
		{ "git://u:p@host/r", "git://host/r", "host", REPO_URL_GIT,
		  "u", "p" },
		{ "ssh://git:secret@host/o/r.git", "ssh://git@host/o/r.git",
		  "host", REPO_URL_SSH, NULL, NULL },
		{ "git+ssh://host/r", "git+ssh://host/r", "host",
		  REPO_URL_SSH, NULL, NULL },
		{ "git@GitHub.com:o/r.git", "git@GitHub.com:o/r.git",
		  "github.com", REPO_URL_SSH, NULL, NULL },
		{ "file:///srv/r.git", "file:///srv/r.git", NULL,
		  REPO_URL_LOCAL, NULL, NULL },
		{ "/srv/r.git", "/srv/r.git", NULL, REPO_URL_LOCAL, NULL,
		  NULL },
	};
	static const struct {
		const char *in, *want;
	} bad[] = {
		{ "ftp://host/r.git", "unsupported scheme 'ftp'" },
		{ "https:///r.git", "no host" },
		{ "https://u:p@/r.git", "no host" },
		{ "@:r.git", "no host" },
		{ "file://", "no path" },
		{ "https://host/r.git\n", "control characters" },
	};
	struct repo_url	 u;
	char		*cwd, *want;

	TEST("URLs: kind, host, and user:pass@ moved out of http ones") {
		for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
			CHECK(repo_url_parse(ok[i].in, &u, err,
			    sizeof(err)) == 0);
			CHECK_STR(u.url, ok[i].url);
			if (ok[i].host == NULL)
				CHECK(u.host == NULL);
			else
				CHECK_STR(u.host, ok[i].host);
			CHECK(u.kind == ok[i].kind);
			if (ok[i].user == NULL)
				CHECK(u.embedded.user == NULL &&
				    u.embedded.pass == NULL);
			else {
				CHECK_STR(u.embedded.user, ok[i].user);
				CHECK_STR(u.embedded.pass, ok[i].pass);
			}
			repo_url_cleanup(&u);
		}
	}
	TEST("URLs: a relative path is made absolute") {
		cwd = getcwd(NULL, 0);
		want = xasprintf("%s/dir/x:y", cwd);
		CHECK(repo_url_parse("dir/x:y", &u, err, sizeof(err)) == 0);
		CHECK(u.kind == REPO_URL_LOCAL);
		CHECK_STR(u.url, want);
		repo_url_cleanup(&u);
		free(want);
		free(cwd);
	}
	TEST("URLs: bad ones are named, and leave nothing to free") {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			CHECK(repo_url_parse(bad[i].in, &u, err,
			    sizeof(err)) == -1);
			if (!has(err, bad[i].want))
				printf("#   case %zu: \"%s\"\n", i, err);
			CHECK(has(err, bad[i].want));
			CHECK(u.url == NULL && u.host == NULL &&
			    u.embedded.user == NULL);
			repo_url_cleanup(&u);
		}
	}
}

static void
test_relative(void)
{
	static const struct {
		const char *base, *rel, *want;
	} cv[] = {
		{ "https://h/o/r.git", "../s.git", "https://h/o/s.git" },
		{ "https://h/o/r.git/", "../s.git", "https://h/o/s.git" },
		{ "https://h/o/r.git", "./s", "https://h/o/r.git/s" },
		{ "https://h/o/r.git", "../../x/s.git", "https://h/x/s.git" },
		{ "https://h/r.git", "../../s.git", NULL },
		{ "git@h:o/r.git", "../s.git", "git@h:o/s.git" },
		{ "git@h:r.git", "../s.git", "git@h:s.git" },
		{ "git@h:r.git", "../../s.git", NULL },
		{ "/srv/a/r", "../s", "/srv/a/s" },
		{ "/srv", "../../s", NULL },
		{ "https://h/o/r.git", "https://other/s.git",
		  "https://other/s.git" },
	};
	char	*got;

	TEST("submodule URLs relative to the superproject's, as git does") {
		for (size_t i = 0; i < sizeof(cv) / sizeof(cv[0]); i++) {
			got = repo_url_resolve_relative(cv[i].base, cv[i].rel);
			if (cv[i].want == NULL)
				CHECK(got == NULL);
			else
				CHECK_STR(got, cv[i].want);
			free(got);
		}
	}
}

/*
 * Parses url and resolves its credentials into *c; *secret may point
 * into *u or *cj, which the caller frees after looking at it.
 */
static int
creds(const char *url, const char *token, const char *json,
    struct repo_url *u, cJSON **cj, struct repo_creds *c, const char **secret)
{
	memset(c, 0, sizeof(*c));
	*cj = NULL;
	if (repo_url_parse(url, u, err, sizeof(err)) == -1)
		return -2;
	if (json != NULL && (*cj = cJSON_Parse(json)) == NULL) {
		printf("#   bad JSON in the test: %s\n", json);
		return -2;
	}
	return repo_creds_resolve(u, token, *cj, c, secret, err, sizeof(err));
}

static void
test_creds(void)
{
	static const struct {
		const char *url, *token, *json, *user, *pass, *secret;
	} cv[] = {
		{ "https://github.com/o/r.git", "T", NULL, "T", "", "T" },
		{ "https://github.com/o/r.git", NULL, "{\"token\": \"T\"}",
		  "T", "", "T" },
		{ "https://gitlab.com/o/r.git", "T", NULL, "oauth2", "T",
		  "T" },
		{ "https://gitlab.com/o/r.git", "oauth2:T", NULL, "oauth2",
		  "T", "T" },
		{ "https://gitlab.example.com/o/r.git", NULL,
		  "{\"token\": \"deploy:T:x\"}", "deploy", "T:x", "T:x" },
		{ "https://bitbucket.org/o/r.git", NULL,
		  "{\"token\": \"T\"}", "x-token-auth", "T", "T" },
		{ "https://bitbucket.org/o/r.git", NULL,
		  "{\"password\": \"me:T\"}", "me", "T", "T" },
		{ "https://bitbucketserver.corp/o/r.git", NULL,
		  "{\"token\": \"me:T\"}", "me", "T", "T" },
		{ "https://host/o/r.git", NULL, "{\"username\": \"u\", "
		  "\"password\": \"T\", \"url\": \"x\"}", "u", "T", "T" },
		{ "https://host/o/r.git", NULL, "{\"access_token\": \"A\", "
		  "\"token\": \"T\"}", "A", "", "A" },
		{ "https://u:p%40ss@host/o/r.git", NULL, NULL, "u", "p@ss",
		  NULL },
		{ "https://T@host/o/r.git", NULL, NULL, "T", "", "T" },
		{ "https://u:p@host/o/r.git", "T", NULL, "T", "", "T" },
		{ "https://u:p@host/o/r.git", "", "{}", "u", "p", NULL },
		{ "git@github.com:o/r.git", "T", NULL, NULL, NULL, NULL },
		{ "ssh://git@host/o/r.git", NULL, "{\"token\": \"T\"}", NULL,
		  NULL, NULL },
		{ "https://host/o/r.git", NULL, NULL, NULL, NULL, NULL },
		{ "https://host/o/r.git", "", "{}", NULL, NULL, NULL },
	};
	static const struct {
		const char *url, *token, *json, *want;
	} bad[] = {
		{ "https://h/r.git", NULL, "{\"username\": \"u\"}",
		  "username is provided" },
		{ "https://h/r.git", NULL, "{\"url\": \"u\"}",
		  "Please provide a `token`" },
		{ "https://h/r.git", NULL, "{\"token\": 7}",
		  "credentials.token must be a string" },
		{ "https://bitbucketserver.example/r.git", "t", NULL,
		  "BitBucket Server" },
	};
	struct repo_url		 u;
	struct repo_creds	 c;
	cJSON			*cj;
	const char		*secret;
	int			 rc;

	TEST("credentials: Prefect's provider rules, as user and password") {
		for (size_t i = 0; i < sizeof(cv) / sizeof(cv[0]); i++) {
			rc = creds(cv[i].url, cv[i].token, cv[i].json, &u,
			    &cj, &c, &secret);
			if (rc != 0)
				printf("#   case %zu: %d \"%s\"\n", i, rc, err);
			CHECK(rc == 0);
			if (cv[i].user == NULL)
				CHECK(c.user == NULL && c.pass == NULL);
			else {
				CHECK_STR(c.user, cv[i].user);
				CHECK_STR(c.pass, cv[i].pass);
			}
			if (cv[i].secret == NULL)
				CHECK(secret == NULL);
			else
				CHECK_STR(secret, cv[i].secret);
			repo_creds_cleanup(&c);
			repo_url_cleanup(&u);
			cJSON_Delete(cj);
		}
	}
	TEST("credentials: missing or malformed ones, in Prefect's words") {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			rc = creds(bad[i].url, bad[i].token, bad[i].json,
			    &u, &cj, &c, &secret);
			if (rc != -1 || !has(err, bad[i].want))
				printf("#   case %zu: %d \"%s\"\n", i, rc, err);
			CHECK(rc == -1 && has(err, bad[i].want));
			CHECK(c.user == NULL && c.pass == NULL);
			repo_creds_cleanup(&c);
			repo_url_cleanup(&u);
			cJSON_Delete(cj);
		}
	}
}

static void
test_scrub(void)
{
	const char	*secrets[] = { NULL, "", "tok", "p@ss" };
	char		 msg[64];

	TEST("scrub: every secret masked, truncated to the buffer") {
		strlcpy_(msg, "tok at 'https://h' (tok, p@ss)", sizeof(msg));
		repo_creds_scrub(msg, sizeof(msg), secrets, 4);
		CHECK_STR(msg, "*** at 'https://h' (***, ***)");
		strlcpy_(msg, "a tok", sizeof(msg));
		repo_creds_scrub(msg, 4, secrets, 4);
		CHECK_STR(msg, "a *");
		repo_creds_scrub(NULL, 0, secrets, 4);
	}
}

int
main(void)
{
	test_parse();
	test_relative();
	test_creds();
	test_scrub();
	return t_done();
}
