/*
 * http_source.h: the parts of the HTTP source helper (pf_http_* of
 * pf/flow.h) that need no network, shared by sdk/http_source.c and the
 * unit tests: query parameters with their secrets, the URL as sent and
 * as shown (secrets as ****, no user info), the Link header's next page,
 * an API's own error words (sdk/http_url.c), and the retry waits
 * (sdk/http_source.c).
 */
#ifndef SDK_HTTP_SOURCE_H
#define SDK_HTTP_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct http_param {
	char	*name;
	char	*value;		/* decoded */
	int	 secret;
};

struct http_query {
	struct http_param	*v;
	size_t			 n;
};

void	 http_query_free(struct http_query *);
/*
 * Sets name to value (NULL removes it), in place when present. A
 * parameter once secret stays secret.
 */
void	 http_query_set(struct http_query *, const char *name,
	    const char *value, int secret);

/*
 * Splits an absolute http(s) URL (relative ones resolved against base,
 * when given) into *out_base (scheme, host, path: what is sent),
 * *out_shown (the same without user info: what is shown) and its query,
 * merged into q as http_query_set does. Returns 0, or -1 with err.
 */
int	 http_url_split(const char *url, const char *base, char **out_base,
	    char **out_shown, struct http_query *q, char *err, size_t errlen);
/* base?name=value&...; shown: secret values as ****. Caller frees. */
char	*http_url_join(const char *base, const struct http_query *q,
	    int shown);
/*
 * The rel="next" target of a Link header's value (RFC 8288, several
 * links separated by commas, rel may list several types), resolved
 * against url; NULL when there is none. Caller frees.
 */
char	*http_link_next(const char *link, const char *url);
/*
 * An API's own description of an error from its body: OXR's
 * "invalid_app_id: Invalid App ID provided ...", else "message",
 * "error", "detail" or "description" fields, else the body's first
 * line of text (at most 200 bytes). NULL for an empty body. Caller frees.
 */
char	*http_api_error(const char *body, size_t len);

/* http_source.c */
/*
 * A Retry-After value in seconds from now: delta-seconds or an HTTP
 * date (past dates give 0), as dlt reads it; -1 for none or garbage.
 */
double	 http_retry_after(const char *value, time_t now);
/*
 * The wait before retry number attempt (1 = the first retry), dlt's
 * request_backoff_factor and request_max_retry_delay (seconds) given:
 * common/retry.c's jittered doubling or Retry-After, at most max_delay.
 */
int64_t	 http_retry_wait_ms(double backoff, double max_delay, int attempt,
	    double retry_after);

#endif
