/*
 * snowflake/url.h: where a session's requests go, from dlt's `host`
 * credential and the optional `protocol`, and the account name its
 * login and key-pair JWT carry.
 *
 *   "xy12345.eu-west-1"
 *	-> https://xy12345.eu-west-1.snowflakecomputing.com
 *   "orgname-accountname.snowflakecomputing.com"	-> taken as is
 *   "127.0.0.1:8080" with protocol "http"	-> http://127.0.0.1:8080
 *
 * An account identifier gets Snowflake's domain (".cn" for the China
 * regions, as the Python connector does); a name already ending in
 * snowflakecomputing.<tld>, one with a :port, an IP address and
 * "localhost" are hosts as they stand.
 */
#ifndef SNOWFLAKE_URL_H
#define SNOWFLAKE_URL_H

#include <stddef.h>

#include "common/buf.h"

struct sf_url {
	char	*base;	/* "https://host" or "http://host:port" */
	char	*account;	/* ACCOUNT_NAME, as the connector has it */
};

int	sf_url_parse(const char *host, const char *protocol, struct sf_url *,
	    char *err, size_t errlen);
void	sf_url_cleanup(struct sf_url *);

/*
 * The account as a key-pair JWT names it: upper-cased, cut at the first
 * '.' (at the first '-' for a ".global" name), as the connector does.
 * Caller frees.
 */
char	*sf_jwt_account(const char *account);

/* Appends "?key=value" or "&key=value", the value percent-encoded; a
 * NULL value appends nothing. */
void	sf_url_param(struct buf *, const char *key, const char *value);

#endif
