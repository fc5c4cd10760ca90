/*
 * awshttp.h: one blocking HTTP exchange for the AWS clients (the ECS
 * credentials endpoint, Secrets Manager), through libcurl. Bodies are
 * bounded; transport errors come back as status 0 with a message that
 * never holds request headers (they carry credentials).
 */
#ifndef AWS_AWSHTTP_H
#define AWS_AWSHTTP_H

#include <stddef.h>

struct awshttp_resp {
	long	 status;	/* 0: no answer */
	char	*body;		/* NUL-terminated, owned */
	size_t	 len;
	char	*error_type;	/* X-Amzn-ErrorType up to ':', or NULL */
	char	 error[256];	/* transport error when status is 0 */
};

/*
 * headers is a NULL-terminated list of "Name: value" lines; body may be
 * NULL. timeout_ms bounds the whole exchange. Only http and https.
 */
void	awshttp_do(const char *method, const char *url,
	    const char *const *headers, const char *body, long timeout_ms,
	    struct awshttp_resp *out);
void	awshttp_resp_cleanup(struct awshttp_resp *);

/*
 * Splits an http(s) URL: *authority gets "host[:port]" as sent in Host
 * (lower-case scheme dropped, userinfo refused), *host the host alone
 * (brackets removed for IPv6), *path the path ("/" when empty, query
 * excluded). Returns 0, or -1 for anything else. Caller frees outs.
 */
int	awshttp_split_url(const char *url, int *https, char **authority,
	    char **host, char **path);

#endif
