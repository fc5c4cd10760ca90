/*
 * snowflake/rest.h: the HTTP exchanges of a Snowflake session, through
 * one libcurl handle (its connections kept alive): JSON requests to the
 * account's host with the connector's headers, gzip-compressed bodies,
 * and retries of what the connector retries, with backoff; and the
 * downloads of result chunks from cloud storage.
 *
 * The session token travels only in the Authorization header: never in
 * a URL, a log line or an error message.
 */
#ifndef SNOWFLAKE_REST_H
#define SNOWFLAKE_REST_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

struct sf_rest {
	char	*base;		/* "https://host[:port]" */
	CURL	*easy;
	int64_t	 deadline_ms;	/* a request's retries stop after */
};

struct sf_req {
	const char	*method;	/* "POST" or "GET" */
	const char	*path;		/* and query: no secret in it */
	const char	*token;		/* Authorization, or NULL */
	const char	*body;		/* JSON text, or NULL */
	const char	*accept;	/* "Accept: ..."; NULL: JSON */
	int64_t		 deadline_ms;	/* 0: the rest's, -1: none */
	long		 timeout_ms;	/* per attempt; 0: none */
	/* A query: retries add clientStartTime, retryCount and
	 * retryReason to the URL, as the connector does. */
	int		 retry_params;
	/* Instead of body, builds it before each attempt (a login's
	 * fresh JWT); NULL with err fails the call. */
	char		*(*rebody)(void *arg, char *err, size_t errlen);
	void		*arg;
};

void	sf_rest_init(struct sf_rest *, const char *base);
void	sf_rest_cleanup(struct sf_rest *);

/*
 * Sends req and parses its JSON answer into *out (the whole object:
 * success, code, message, data). A dropped connection, a 5xx, 408, 429
 * and an answer that is not JSON are retried with the same URL (and so
 * the same requestId) until the deadline. Returns 0, or -1 with err for
 * any other HTTP status or when the retries ran out.
 */
int	sf_rest_call(struct sf_rest *, const struct sf_req *, cJSON **out,
	    char *err, size_t errlen);

/*
 * GETs a result chunk from url with headers (a NULL-terminated list of
 * "Name: value", which may hold the result's key: never logged), retried
 * as the connector retries a download, and gunzips it when it is gzip.
 * Returns the bytes (caller frees, *len their size) or NULL with err.
 */
char	*sf_rest_download(struct sf_rest *, const char *url,
	    const char *const *headers, size_t *len, char *err,
	    size_t errlen);

/*
 * Decodes standard base64 (no whitespace) of s[0, n); NULL when it is
 * not base64. Caller frees, *outlen the size.
 */
unsigned char	*sf_unbase64(const char *s, size_t n, size_t *outlen);

/* gzip of data[0, len) (caller frees, *outlen its size). */
unsigned char	*sf_gzip(const void *data, size_t len, size_t *outlen);

#endif
