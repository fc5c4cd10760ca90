/*
 * http.h: the Prefect API's HTTP settings and transfers (libcurl).
 *
 * A transfer is set up by http_xfer_init and then performed either
 * blocking (http_request, http_call: the executor and the CLI) or by the
 * agent's event loop through curl-multi (worker/request.c). Credentials
 * travel only in headers, never in URLs or error texts.
 */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <curl/curl.h>

#include "common/retry.h"
#include "common/util.h"

struct http_settings {
	char	*api_url;	/* PREFECT_API_URL without trailing '/' */
	char	*auth_header;	/* "Authorization: ..." or NULL (secret) */
	char	*ca_file;	/* PREFECT_API_SSL_CERT_FILE */
	int	 insecure;	/* PREFECT_API_TLS_INSECURE_SKIP_VERIFY */
	long	 timeout_ms;	/* PREFECT_API_REQUEST_TIMEOUT */
};

/* Reads Prefect's variables; fails when PREFECT_API_URL is missing. */
int	http_settings_from_env(struct http_settings *, char *err,
	    size_t errlen);
void	http_settings_cleanup(struct http_settings *);
/*
 * "" or, when PREFECT_API_URL has no /api segment in its path (Prefect
 * serves its API under /api), a parenthesised hint saying so: for the
 * message of a request the URL's server did not understand.
 */
const char *http_api_url_hint(const struct http_settings *);

struct http_resp {
	long	 status;	/* 0: the request never got an answer */
	char	*body;		/* NUL-terminated, owned; may be empty */
	size_t	 len;
	double	 retry_after;	/* seconds from Retry-After, or -1 */
	char	 error[256];	/* transport error (status 0), or
				   "HTTP 502 from host:port" */
};

void	http_resp_cleanup(struct http_resp *);

struct http_xfer {
	CURL			*easy;
	struct curl_slist	*headers;
	char			*req_body;
	struct buf		 body;
	double			 retry_after;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* path is relative to the API URL ("/flow_runs/ID"); body may be NULL. */
int	http_xfer_init(struct http_xfer *, const struct http_settings *,
	    const char *method, const char *path, const char *body);
/* Moves the outcome of a finished transfer into resp. */
void	http_xfer_result(struct http_xfer *, CURLcode, struct http_resp *);
void	http_xfer_cleanup(struct http_xfer *);

/* One blocking attempt. Returns the class of the result. */
enum retry_class http_request(const struct http_settings *,
	    const char *method, const char *path, const char *body,
	    struct http_resp *);
/* Blocking, retried per policy while the result is RETRY_AGAIN. */
enum retry_class http_call(const struct http_settings *,
	    const struct retry_policy *, const char *method, const char *path,
	    const char *body, struct http_resp *);
/*
 * http_call for requests that must not be resent blindly: before each
 * retry, look(arg) checks whether the lost attempt took effect; when it
 * returns 1 the call ends with RETRY_SETTLED (resp then holds no answer).
 */
enum retry_class http_call_look(const struct http_settings *,
	    const struct retry_policy *, const char *method, const char *path,
	    const char *body, int (*look)(void *), void *arg,
	    struct http_resp *);

/* Percent-encodes one path segment (caller frees). */
char	*http_escape(const char *);

#endif
