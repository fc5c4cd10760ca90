/*
 * credentials.c: the AWS credential chain and region (see
 * credentials.h). Key material is copied only into struct aws_creds
 * and wiped when it is cleaned up.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "aws/awshttp.h"
#include "aws/credentials.h"
#include "common/json.h"
#include "common/util.h"

#define FILE_MAX		(1u << 20)
#define ECS_HOST		"http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS	2000
#define CONTAINER_ATTEMPTS	3

static void
wipe_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
aws_creds_cleanup(struct aws_creds *c)
{
	wipe_free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->session_token);
	memset(c, 0, sizeof(*c));
}

int
aws_creds_stale(const struct aws_creds *c, time_t now)
{
	return c->expiration != 0 && c->expiration - 300 <= now;
}

static const char *
nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* A small text file; NULL when absent, unreadable or too large. */
static char *
read_file(const char *path)
{
	return read_file_max(path, FILE_MAX, NULL, NULL, 0);
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

char *
aws_ini_get(const char *text, const char *section, const char *key)
{
	char	*copy = xstrdup(text), *line, *next, *val = NULL;
	int	 in = 0;

	for (line = copy; line != NULL && val == NULL; line = next) {
		char	*l, *eq;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		/* Indented lines continue a nested value: not ours. */
		if (*line == ' ' || *line == '\t')
			continue;
		l = trim(line);
		if (*l == '\0' || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char	*end = strrchr(l, ']');

			if (end != NULL) {
				*end = '\0';
				in = strcmp(trim(l + 1), section) == 0;
			}
			continue;
		}
		if (!in || (eq = strpbrk(l, "=:")) == NULL)
			continue;
		*eq = '\0';
		for (char *k = l; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		if (strcmp(trim(l), key) == 0)
			val = xstrdup(trim(eq + 1));
	}
	OPENSSL_cleanse(copy, strlen(text));
	free(copy);
	return val;
}

static char *
home_file(const char *env, const char *rel)
{
	const char	*v = getenv(env), *home = getenv("HOME");

	if (nonempty(v) != NULL) {
		if (v[0] == '~' && v[1] == '/' && home != NULL)
			return xasprintf("%s%s", home, v + 1);
		return xstrdup(v);
	}
	return home != NULL ? xasprintf("%s/%s", home, rel) : NULL;
}

static const char *
profile_name(const char *configured)
{
	const char	*p;

	if (nonempty(configured) != NULL)
		return configured;
	if ((p = nonempty(getenv("AWS_PROFILE"))) != NULL)
		return p;
	if ((p = nonempty(getenv("AWS_DEFAULT_PROFILE"))) != NULL)
		return p;
	return "default";
}

/*
 * Credentials of a profile in an INI file: 0 found, 1 not there, -1
 * incomplete. The config file names sections "profile NAME".
 */
static int
from_ini(const char *path, const char *profile, int config_file,
    struct aws_creds *out, char *err, size_t errlen)
{
	char	*text, *section, *ak, *sk, *tok;
	int	 rc = 1;

	if (path == NULL || (text = read_file(path)) == NULL)
		return 1;
	section = config_file && strcmp(profile, "default") != 0 ?
	    xasprintf("profile %s", profile) : xstrdup(profile);
	ak = aws_ini_get(text, section, "aws_access_key_id");
	sk = aws_ini_get(text, section, "aws_secret_access_key");
	tok = aws_ini_get(text, section, "aws_session_token");
	if (ak != NULL && sk != NULL) {
		out->access_key = ak;
		out->secret_key = sk;
		out->session_token = tok;
		ak = sk = tok = NULL;	/* now owned by out */
		snprintf(out->source, sizeof(out->source), "%s [%s]", path,
		    section);
		rc = 0;
	} else if (ak != NULL || sk != NULL) {
		errorf(err, errlen, "%s [%s]: partial credentials, missing %s",
		    path, section, ak == NULL ? "aws_access_key_id" :
		    "aws_secret_access_key");
		rc = -1;
	}
	wipe_free(ak);
	wipe_free(sk);
	wipe_free(tok);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	free(section);
	return rc;
}

int
aws_parse_time(const char *s, time_t *out)
{
	struct tm	 tm;
	const char	*r;
	long		 off = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (r = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*r == '.')
		for (r++; isdigit((unsigned char)*r); r++)
			;
	if (*r == 'Z' || *r == 'z')
		r++;
	else if ((*r == '+' || *r == '-') && isdigit((unsigned char)r[1]) &&
	    isdigit((unsigned char)r[2]) && r[3] == ':' &&
	    isdigit((unsigned char)r[4]) && isdigit((unsigned char)r[5])) {
		off = ((r[1] - '0') * 10 + (r[2] - '0')) * 3600 +
		    ((r[4] - '0') * 10 + (r[5] - '0')) * 60;
		if (*r == '+')
			off = -off;
		r += 6;
	}
	if (*r != '\0')
		return -1;
	*out = timegm(&tm) + off;
	return 0;
}

int
aws_creds_parse_container(const char *body, size_t len,
    struct aws_creds *out, char *err, size_t errlen)
{
	cJSON		*j;
	const char	*ak, *sk, *tok, *exp;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	if ((j = cJSON_ParseWithLength(body, len)) == NULL ||
	    !cJSON_IsObject(j)) {
		errorf(err, errlen, "the answer is not a JSON object");
		goto out;
	}
	ak = json_str(j, "AccessKeyId");
	sk = json_str(j, "SecretAccessKey");
	tok = json_str(j, "Token");
	exp = json_str(j, "Expiration");
	if (nonempty(ak) == NULL || nonempty(sk) == NULL) {
		errorf(err, errlen, "the answer has no %s",
		    nonempty(ak) == NULL ? "AccessKeyId" : "SecretAccessKey");
		goto out;
	}
	if (exp != NULL && aws_parse_time(exp, &out->expiration) == -1) {
		errorf(err, errlen, "the answer's Expiration is not a time");
		goto out;
	}
	out->access_key = xstrdup(ak);
	out->secret_key = xstrdup(sk);
	out->session_token = nonempty(tok) != NULL ? xstrdup(tok) : NULL;
	rc = 0;
out:
	if (j != NULL) {
		/* The parsed copy holds the secret too. */
		cJSON	*it = cJSON_GetObjectItemCaseSensitive(j,
		    "SecretAccessKey");

		if (cJSON_IsString(it))
			OPENSSL_cleanse(it->valuestring,
			    strlen(it->valuestring));
		cJSON_Delete(j);
	}
	return rc;
}

/* botocore's allowed hosts for an http FULL_URI: loopback or ECS/EKS. */
static int
host_allowed(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127 ||
		    strcmp(host, "169.254.170.2") == 0 ||
		    strcmp(host, "169.254.170.23") == 0;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		static const unsigned char eks[16] = { 0xfd, 0, 0x0e, 0xc2,
		    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23 };

		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    memcmp(&a6, eks, 16) == 0;
	}
	return 0;
}

static char *
auth_token(char *err, size_t errlen, int *bad)
{
	const char	*file = nonempty(getenv(
	    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
	char		*tok = NULL, *t;

	*bad = 0;
	if (file != NULL) {
		if ((tok = read_file(file)) == NULL) {
			*bad = 1;
			errorf(err, errlen, "cannot read "
			    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s", file);
			return NULL;
		}
	} else if (nonempty(getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")))
		tok = xstrdup(getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
	if (tok == NULL)
		return NULL;
	t = xstrdup(trim(tok));
	wipe_free(tok);
	if (strpbrk(t, "\r\n") != NULL) {
		*bad = 1;
		errorf(err, errlen, "the container authorization token is not "
		    "a legal header value");
		wipe_free(t);
		return NULL;
	}
	return t;
}

int
aws_container_endpoint(char **url, char **authorization, char *err,
    size_t errlen)
{
	const char	*rel = nonempty(getenv(
	    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"));
	const char	*full = nonempty(getenv(
	    "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
	char		*auth, *tok_host, *host, *path;
	int		 https, bad;

	*url = *authorization = NULL;
	if (rel != NULL)
		*url = xasprintf("%s%s%s", ECS_HOST, rel[0] == '/' ? "" : "/",
		    rel);
	else if (full != NULL) {
		if (awshttp_split_url(full, &https, &tok_host, &host,
		    &path) == -1)
			return errorf(err, errlen, "AWS_CONTAINER_CREDENTIALS_"
			    "FULL_URI is not an http(s) URL");
		bad = !https && !host_allowed(host);
		free(tok_host);
		free(host);
		free(path);
		if (bad)
			return errorf(err, errlen, "AWS_CONTAINER_CREDENTIALS_"
			    "FULL_URI must use https or a loopback or ECS/EKS "
			    "container host");
		*url = xstrdup(full);
	} else
		return 1;
	if ((auth = auth_token(err, errlen, &bad)) == NULL && bad) {
		free(*url);
		*url = NULL;
		return -1;
	}
	*authorization = auth;
	return 0;
}

/* "scheme://host/path", without query or userinfo, for messages. */
static char *
url_for_messages(const char *url)
{
	size_t	n = strcspn(url, "?#");

	return xasprintf("%.*s", (int)n, url);
}

static int
from_container(struct aws_creds *out, char *err, size_t errlen)
{
	struct awshttp_resp	 r;
	const char		*hdr[3] = { "Accept: application/json", NULL,
	    NULL };
	char			*url, *auth, *auth_hdr = NULL, *shown, e2[160];
	int			 rc, attempt;

	if ((rc = aws_container_endpoint(&url, &auth, err, errlen)) != 0)
		return rc;
	if (auth != NULL)
		hdr[1] = auth_hdr = xasprintf("Authorization: %s", auth);
	shown = url_for_messages(url);
	memset(&r, 0, sizeof(r));
	/* Transient failures are retried, as the SDKs do (3 attempts). */
	for (attempt = 1; attempt <= CONTAINER_ATTEMPTS; attempt++) {
		awshttp_resp_cleanup(&r);
		awshttp_do("GET", url, hdr, NULL, CONTAINER_TIMEOUT_MS, &r);
		if (r.status != 0 && r.status < 500 && r.status != 429)
			break;
		if (attempt < CONTAINER_ATTEMPTS)
			sleep_ms(100 * attempt);
	}
	if (r.status == 0)
		rc = errorf(err, errlen, "container credentials endpoint %s: "
		    "%s", shown, r.error);
	else if (r.status != 200)
		rc = errorf(err, errlen, "container credentials endpoint %s "
		    "answered HTTP %ld", shown, r.status);
	else if (aws_creds_parse_container(r.body, r.len, out, e2,
	    sizeof(e2)) == -1)
		rc = errorf(err, errlen, "container credentials endpoint %s: "
		    "%s", shown, e2);
	else {
		snprintf(out->source, sizeof(out->source), "container "
		    "credentials endpoint %s", shown);
		rc = 0;
	}
	if (r.body != NULL)
		OPENSSL_cleanse(r.body, r.len);
	awshttp_resp_cleanup(&r);
	wipe_free(auth);
	wipe_free(auth_hdr);
	free(shown);
	free(url);
	return rc;
}

static int
from_env(struct aws_creds *out, char *err, size_t errlen)
{
	const char	*ak = nonempty(getenv("AWS_ACCESS_KEY_ID"));
	const char	*sk = nonempty(getenv("AWS_SECRET_ACCESS_KEY"));
	const char	*tok = nonempty(getenv("AWS_SESSION_TOKEN"));

	if (tok == NULL)
		tok = nonempty(getenv("AWS_SECURITY_TOKEN"));
	if (ak == NULL && sk == NULL)
		return 1;
	if (ak == NULL || sk == NULL)
		return errorf(err, errlen, "partial credentials found in the "
		    "environment, missing: %s", ak == NULL ?
		    "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY");
	out->access_key = xstrdup(ak);
	out->secret_key = xstrdup(sk);
	out->session_token = tok != NULL ? xstrdup(tok) : NULL;
	snprintf(out->source, sizeof(out->source), "environment "
	    "(AWS_ACCESS_KEY_ID)");
	return 0;
}

int
aws_creds_resolve(const struct aws_creds_config *cc, struct aws_creds *out,
    char *err, size_t errlen)
{
	static const struct aws_creds_config none;
	const char	*profile;
	char		*cred_file, *conf_file;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (cc == NULL)
		cc = &none;
	if (nonempty(cc->access_key) != NULL &&
	    nonempty(cc->secret_key) != NULL) {
		out->access_key = xstrdup(cc->access_key);
		out->secret_key = xstrdup(cc->secret_key);
		out->session_token = nonempty(cc->session_token) != NULL ?
		    xstrdup(cc->session_token) : NULL;
		snprintf(out->source, sizeof(out->source), "configuration");
		return 0;
	}
	/* An explicit profile negates the environment (botocore). */
	if (nonempty(cc->profile) == NULL &&
	    (rc = from_env(out, err, errlen)) != 1)
		return rc;
	profile = profile_name(cc->profile);
	cred_file = home_file("AWS_SHARED_CREDENTIALS_FILE",
	    ".aws/credentials");
	conf_file = home_file("AWS_CONFIG_FILE", ".aws/config");
	if ((rc = from_ini(cred_file, profile, 0, out, err, errlen)) == 1 &&
	    (rc = from_ini(conf_file, profile, 1, out, err, errlen)) == 1 &&
	    (rc = from_container(out, err, errlen)) == 1)
		errorf(err, errlen, "no AWS credentials found (looked in: "
		    "%sthe shared credentials file %s [%s], the config file "
		    "%s, the container credentials endpoint "
		    "(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI unset))",
		    nonempty(cc->profile) == NULL ? "the environment "
		    "(AWS_ACCESS_KEY_ID), " : "", cred_file ? cred_file : "-",
		    profile, conf_file ? conf_file : "-");
	free(cred_file);
	free(conf_file);
	if (rc != 0)
		aws_creds_cleanup(out);
	return rc;
}

char *
aws_region_resolve(const char *configured, const char *profile)
{
	const char	*v;
	char		*conf_file, *text, *section, *region = NULL;

	if (nonempty(configured) != NULL)
		return xstrdup(configured);
	if ((v = nonempty(getenv("AWS_REGION"))) != NULL ||
	    (v = nonempty(getenv("AWS_DEFAULT_REGION"))) != NULL)
		return xstrdup(v);
	profile = profile_name(profile);
	conf_file = home_file("AWS_CONFIG_FILE", ".aws/config");
	if (conf_file != NULL && (text = read_file(conf_file)) != NULL) {
		section = strcmp(profile, "default") != 0 ?
		    xasprintf("profile %s", profile) : xstrdup(profile);
		region = aws_ini_get(text, section, "region");
		free(section);
		free(text);
	}
	free(conf_file);
	if (region != NULL && *region == '\0') {
		free(region);
		region = NULL;
	}
	return region;
}
