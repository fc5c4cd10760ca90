/*
 * url.c: a session's base URL and account name from dlt's `host`.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/util.h"
#include "snowflake/url.h"

#define DOMAIN	".snowflakecomputing."

/* snowflakecomputing.<tld>[.<tld>] at the end, as the connector's
 * _SNOWFLAKE_HOST_SUFFIX_REGEX has it. */
static int
snowflake_host(const char *name, size_t len)
{
	const char	*p = NULL;

	for (const char *q = name; (q = strcasestr(q, DOMAIN)) != NULL &&
	    (size_t)(q - name) < len; q++)
		p = q;
	if (p == NULL)
		return 0;
	p += strlen(DOMAIN);
	if ((size_t)(p - name) >= len)
		return 0;
	for (; (size_t)(p - name) < len; p++)
		if (!isalpha((unsigned char)*p) && *p != '.')
			return 0;
	return 1;
}

static int
ip_or_localhost(const char *name)
{
	unsigned char	a[16];

	return strcasecmp(name, "localhost") == 0 ||
	    inet_pton(AF_INET, name, a) == 1 ||
	    inet_pton(AF_INET6, name, a) == 1;
}

/* Labels of letters, digits, '_' and '-', as the connector validates. */
static int
account_identifier(const char *s)
{
	size_t	label = 0;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '_' ||
		    *s == '-')
			label++;
		else
			return 0;
	}
	return label > 0;
}

/* The connector's parse_account: the first label, less a ".global"
 * name's trailing "-<id>". */
static char *
account_of(const char *name)
{
	size_t		 n = strcspn(name, ".");
	const char	*dash;

	if (strncasecmp(name + n, ".global", 7) == 0 &&
	    (name[n + 7] == '\0' || name[n + 7] == '.')) {
		for (dash = name + n; dash > name && dash[-1] != '-'; dash--)
			;
		if (dash > name)
			n = (size_t)(dash - 1 - name);
	}
	return xasprintf("%.*s", (int)n, name);
}

/* Splits "name[:port]" or "[v6]:port"; *port NULL when absent. */
static int
split_port(const char *host, char **name, char **port, char *err,
    size_t errlen)
{
	const char	*colon, *end;

	*name = *port = NULL;
	if (host[0] == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return errorf(err, errlen, "host %s: no ']'", host);
		*name = xasprintf("%.*s", (int)(end - host - 1), host + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL && end[1] != '\0')
			goto bad;
	} else if ((colon = strchr(host, ':')) != NULL) {
		if (strchr(colon + 1, ':') != NULL)
			goto bad;
		*name = xasprintf("%.*s", (int)(colon - host), host);
	} else
		*name = xstrdup(host);
	if (colon != NULL) {
		long	p = 0;

		for (const char *q = colon + 1; *q != '\0'; q++)
			if (!isdigit((unsigned char)*q) || (p = p * 10 +
			    (*q - '0')) > 65535)
				goto bad;
		if (colon[1] == '\0' || p == 0)
			goto bad;
		*port = xstrdup(colon + 1);
	}
	if (**name == '\0')
		goto bad;
	return 0;
bad:
	free(*name);
	free(*port);
	*name = *port = NULL;
	return errorf(err, errlen, "host %s is not host[:port] (port 1 to "
	    "65535)", host);
}

int
sf_url_parse(const char *host, const char *protocol, struct sf_url *u,
    char *err, size_t errlen)
{
	const char	*scheme = "https";
	char		*name, *port, *full;
	int		 v6;

	memset(u, 0, sizeof(*u));
	if (protocol != NULL && *protocol != '\0') {
		if (strcasecmp(protocol, "http") == 0)
			scheme = "http";
		else if (strcasecmp(protocol, "https") != 0)
			return errorf(err, errlen, "protocol must be https or "
			    "http, not %s", protocol);
	}
	if (host == NULL || *host == '\0')
		return errorf(err, errlen, "host is missing: the account "
		    "identifier (xy12345.eu-west-1 or orgname-accountname)");
	if (strstr(host, "://") != NULL)
		return errorf(err, errlen, "host is an account identifier "
		    "or host name, not a URL: %s (the scheme goes in "
		    "protocol)", host);
	for (const char *q = host; *q != '\0'; q++)
		if (!isalnum((unsigned char)*q) && strchr("-._:[]", *q) == NULL)
			return errorf(err, errlen, "host %s: character '%c' "
			    "is not allowed", host, *q);
	if (split_port(host, &name, &port, err, errlen) == -1)
		return -1;
	if (port != NULL || ip_or_localhost(name) ||
	    snowflake_host(name, strlen(name)))
		full = xstrdup(name);
	else if (account_identifier(name)) {
		const char	*dot = strchr(name, '.');

		full = xasprintf("%s" DOMAIN "%s", name, dot != NULL &&
		    strncasecmp(dot + 1, "cn-", 3) == 0 ? "cn" : "com");
	} else {
		errorf(err, errlen, "host %s is neither an account "
		    "identifier nor a host name", host);
		free(name);
		free(port);
		return -1;
	}
	v6 = strchr(full, ':') != NULL;
	u->base = xasprintf("%s://%s%s%s%s%s", scheme, v6 ? "[" : "", full,
	    v6 ? "]" : "", port ? ":" : "", port ? port : "");
	u->account = ip_or_localhost(name) ? xstrdup(name) : account_of(name);
	free(full);
	free(name);
	free(port);
	return 0;
}

void
sf_url_cleanup(struct sf_url *u)
{
	free(u->base);
	free(u->account);
	memset(u, 0, sizeof(*u));
}

char *
sf_jwt_account(const char *account)
{
	char	*a;
	size_t	 n;

	n = strcspn(account, strstr(account, ".global") ? "-" : ".");
	a = xasprintf("%.*s", (int)n, account);
	for (char *p = a; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return a;
}

void
sf_url_param(struct buf *b, const char *key, const char *value)
{
	char	*e;

	if (value == NULL)
		return;
	if ((e = curl_easy_escape(NULL, value, 0)) == NULL)
		fatalx("out of memory escaping a URL");
	buf_printf(b, "%c%s=%s", strchr(b->data ? b->data : "", '?') ?
	    '&' : '?', key, e);
	curl_free(e);
}
