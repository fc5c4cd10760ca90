/*
 * awshttp.c: blocking libcurl exchanges for the AWS clients. The caller
 * builds and signs the headers; this file only moves bytes, bounds the
 * answer and picks out X-Amzn-ErrorType.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "aws/awshttp.h"
#include "common/util.h"

#define BODY_MAX	(1u << 20)	/* secrets are at most 64 KiB */

struct xfer {
	struct buf	 body;
	char		*error_type;
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;

	if (buf_append(&x->body, p, size * n) == -1)
		return 0;
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer	*x = arg;
	size_t		 len = size * n, k, e;

	if (len > 17 && strncasecmp(p, "x-amzn-errortype:", 17) == 0) {
		k = 17;
		while (k < len && (p[k] == ' ' || p[k] == '\t'))
			k++;
		for (e = k; e < len && p[e] != ':' && p[e] != '\r' &&
		    p[e] != '\n'; e++)
			;
		free(x->error_type);
		x->error_type = xasprintf("%.*s", (int)(e - k), p + k);
	}
	return len;
}

void
awshttp_do(const char *method, const char *url, const char *const *headers,
    const char *body, long timeout_ms, struct awshttp_resp *out)
{
	struct curl_slist	*h = NULL;
	struct xfer		 x;
	char			 errbuf[CURL_ERROR_SIZE] = "";
	CURL			*easy;
	CURLcode		 cc;

	memset(out, 0, sizeof(*out));
	memset(&x, 0, sizeof(x));
	buf_init(&x.body, BODY_MAX);
	if ((easy = curl_easy_init()) == NULL) {
		errorf(out->error, sizeof(out->error), "curl_easy_init");
		return;
	}
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout_ms < 5000 ? timeout_ms : 5000L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "pfagent/" PFAGENT_VERSION);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	if (body != NULL) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(body));
	}
	cc = curl_easy_perform(easy);
	if (cc == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &out->status);
	else if (cc == CURLE_WRITE_ERROR)
		errorf(out->error, sizeof(out->error), "answer larger than "
		    "%u bytes", BODY_MAX);
	else
		errorf(out->error, sizeof(out->error), "%s",
		    errbuf[0] ? errbuf : curl_easy_strerror(cc));
	out->len = x.body.len;
	out->body = x.body.data != NULL ? buf_steal(&x.body) : xstrdup("");
	out->error_type = x.error_type;
	curl_slist_free_all(h);
	curl_easy_cleanup(easy);
}

void
awshttp_resp_cleanup(struct awshttp_resp *r)
{
	free(r->body);
	free(r->error_type);
	memset(r, 0, sizeof(*r));
}

int
awshttp_split_url(const char *url, int *https, char **authority,
    char **host, char **path)
{
	const char	*a, *e, *h, *he;

	*authority = *host = *path = NULL;
	if (strncasecmp(url, "https://", 8) == 0) {
		*https = 1;
		a = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		*https = 0;
		a = url + 7;
	} else
		return -1;
	e = a + strcspn(a, "/?#");
	if (e == a || memchr(a, '@', (size_t)(e - a)) != NULL)
		return -1;
	for (const char *q = a; q < e; q++)
		if (!isgraph((unsigned char)*q))
			return -1;
	h = a;
	if (*h == '[') {
		if ((he = memchr(h, ']', (size_t)(e - h))) == NULL)
			return -1;
		h++;
	} else if ((he = memchr(h, ':', (size_t)(e - h))) == NULL)
		he = e;
	if (he == h)
		return -1;
	*authority = xasprintf("%.*s", (int)(e - a), a);
	*host = xasprintf("%.*s", (int)(he - h), h);
	if (*e == '/')
		*path = xasprintf("%.*s", (int)strcspn(e, "?#"), e);
	else
		*path = xstrdup("/");
	return 0;
}
