/*
 * http.c: libcurl transfers to the Prefect API with the headers Prefect's
 * own client sends, TLS settings from Prefect's variables, and a bounded
 * response buffer.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/http.h"
#include "common/log.h"
#include "common/util.h"

#define RESPONSE_MAX	(64u << 20)	/* a larger answer is an error */
#define API_VERSION	"0.8.4"

static int
truthy(const char *v)
{
	return v != NULL && (strcasecmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcasecmp(v, "on") == 0);
}

int
http_settings_from_env(struct http_settings *s, char *err, size_t errlen)
{
	const char	*url = getenv("PREFECT_API_URL");
	const char	*auth = getenv("PREFECT_API_AUTH_STRING");
	const char	*key = getenv("PREFECT_API_KEY");
	const char	*ca = getenv("PREFECT_API_SSL_CERT_FILE");
	const char	*timeout = getenv("PREFECT_API_REQUEST_TIMEOUT");
	size_t		 n;

	memset(s, 0, sizeof(*s));
	if (url == NULL || *url == '\0')
		return errorf(err, errlen, "PREFECT_API_URL is not set "
		    "(for a local server: http://127.0.0.1:4200/api)");
	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0)
		return errorf(err, errlen, "PREFECT_API_URL must start with "
		    "http:// or https://");
	s->api_url = xstrdup(url);
	n = strlen(s->api_url);
	while (n > 0 && s->api_url[n - 1] == '/')
		s->api_url[--n] = '\0';
	/* Prefect sends Basic when both are set. */
	if (auth != NULL && *auth != '\0') {
		size_t	 alen = strlen(auth);
		char	*b64 = xmalloc(4 * ((alen + 2) / 3) + 1);

		EVP_EncodeBlock((unsigned char *)b64,
		    (const unsigned char *)auth, (int)alen);
		s->auth_header = xasprintf("Authorization: Basic %s", b64);
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	} else if (key != NULL && *key != '\0')
		s->auth_header = xasprintf("Authorization: Bearer %s", key);
	if (ca != NULL && *ca != '\0')
		s->ca_file = xstrdup(ca);
	s->insecure = truthy(getenv("PREFECT_API_TLS_INSECURE_SKIP_VERIFY"));
	s->timeout_ms = 60000;
	if (timeout != NULL && atof(timeout) > 0)
		s->timeout_ms = (long)(atof(timeout) * 1000);
	return 0;
}

const char *
http_api_url_hint(const struct http_settings *s)
{
	const char	*p = strstr(s->api_url, "://");

	for (p = p ? strchr(p + 3, '/') : NULL; p != NULL;
	    p = strchr(p + 1, '/'))
		if (strncmp(p, "/api", 4) == 0 && (p[4] == '\0' || p[4] == '/'))
			return "";
	return " (PREFECT_API_URL has no /api in its path: a Prefect server "
	    "serves its API under /api, as in http://127.0.0.1:4200/api)";
}

void
http_settings_cleanup(struct http_settings *s)
{
	free(s->api_url);
	if (s->auth_header != NULL) {
		OPENSSL_cleanse(s->auth_header, strlen(s->auth_header));
		free(s->auth_header);
	}
	free(s->ca_file);
	memset(s, 0, sizeof(*s));
}

void
http_resp_cleanup(struct http_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct http_xfer	*x = arg;

	if (buf_append(&x->body, p, size * n) == -1)
		return 0;	/* aborts the transfer: too large */
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 len = size * n;

	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		char	tmp[64];
		size_t	vl = len - 12 < sizeof(tmp) - 1 ? len - 12 :
		    sizeof(tmp) - 1;

		memcpy(tmp, p + 12, vl);
		tmp[vl] = '\0';
		/* Only the delta-seconds form; an HTTP date falls back. */
		if (isdigit((unsigned char)tmp[strspn(tmp, " ")]))
			x->retry_after = atof(tmp);
	}
	return len;
}

int
http_xfer_init(struct http_xfer *x, const struct http_settings *s,
    const char *method, const char *path, const char *body)
{
	char	*url;

	memset(x, 0, sizeof(*x));
	buf_init(&x->body, RESPONSE_MAX);
	x->retry_after = -1;
	if ((x->easy = curl_easy_init()) == NULL)
		return -1;
	url = xasprintf("%s%s", s->api_url, path);
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(x->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "pfagent/" PFAGENT_VERSION);
	curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (s->ca_file != NULL)
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, s->ca_file);
	if (s->insecure) {
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	x->headers = curl_slist_append(x->headers,
	    "X-PREFECT-API-VERSION: " API_VERSION);
	x->headers = curl_slist_append(x->headers, "Accept: application/json");
	if (s->auth_header != NULL)
		x->headers = curl_slist_append(x->headers, s->auth_header);
	if (body != NULL) {
		x->req_body = xstrdup(body);
		x->headers = curl_slist_append(x->headers,
		    "Content-Type: application/json");
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->req_body);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE,
		    (long)strlen(x->req_body));
	}
	/* No "Expect: 100-continue" round trip on large log batches. */
	x->headers = curl_slist_append(x->headers, "Expect:");
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	return 0;
}

/* "HTTP 502 from host:port": what answered, for the messages. */
static void
status_error(struct http_xfer *x, struct http_resp *r)
{
	char	*url = NULL, *host = NULL, *port = NULL;
	CURLU	*u = curl_url();

	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
	if (u != NULL && url != NULL &&
	    curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
		(void)curl_url_get(u, CURLUPART_HOST, &host, 0),
		(void)curl_url_get(u, CURLUPART_PORT, &port, 0);
	errorf(r->error, sizeof(r->error), "HTTP %ld from %s%s%s", r->status,
	    host ? host : "the API", port ? ":" : "", port ? port : "");
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
}

void
http_xfer_result(struct http_xfer *x, CURLcode cc, struct http_resp *r)
{
	memset(r, 0, sizeof(*r));
	r->retry_after = x->retry_after;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
		if (r->status >= 400)
			status_error(x, r);
	} else {
		r->status = 0;
		if (cc == CURLE_WRITE_ERROR)
			errorf(r->error, sizeof(r->error),
			    "response larger than %u bytes", RESPONSE_MAX);
		else
			errorf(r->error, sizeof(r->error), "%s",
			    x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
	}
	r->len = x->body.len;
	r->body = buf_steal(&x->body);
}

void
http_xfer_cleanup(struct http_xfer *x)
{
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	free(x->req_body);
	buf_cleanup(&x->body);
	memset(x, 0, sizeof(*x));
}

enum retry_class
http_request(const struct http_settings *s, const char *method,
    const char *path, const char *body, struct http_resp *r)
{
	struct http_xfer	x;
	CURLcode		cc;
	int64_t			t0 = realtime_us();

	if (http_xfer_init(&x, s, method, path, body) == -1) {
		memset(r, 0, sizeof(*r));
		errorf(r->error, sizeof(r->error), "cannot create a transfer");
		r->body = xstrdup("");
		return RETRY_AGAIN;
	}
	cc = curl_easy_perform(x.easy);
	http_xfer_result(&x, cc, r);
	http_xfer_cleanup(&x);
	log_debug("api %s %s: %ld in %.1f ms", method, path, r->status,
	    (double)(realtime_us() - t0) / 1000);
	return retry_classify(r->status);
}

enum retry_class
http_call(const struct http_settings *s, const struct retry_policy *p,
    const char *method, const char *path, const char *body,
    struct http_resp *r)
{
	return http_call_look(s, p, method, path, body, NULL, NULL, r);
}

enum retry_class
http_call_look(const struct http_settings *s, const struct retry_policy *p,
    const char *method, const char *path, const char *body,
    int (*look)(void *), void *arg, struct http_resp *r)
{
	int64_t			start = now_ms();
	enum retry_class	rc;

	for (int attempt = 1;; attempt++) {
		int64_t	wait;

		rc = http_request(s, method, path, body, r);
		if (rc != RETRY_AGAIN)
			return rc;
		wait = retry_delay_ms(p, attempt, r->retry_after);
		if (p->deadline_ms < 0 || (p->deadline_ms > 0 &&
		    now_ms() + wait - start > p->deadline_ms))
			return rc;
		if (attempt == 1 || attempt % 10 == 0) {
			if (r->status)
				log_warnx("%s %s: HTTP %ld; retrying", method,
				    path, r->status);
			else
				log_warnx("%s %s: %s; retrying", method, path,
				    r->error);
		}
		http_resp_cleanup(r);
		sleep_ms(wait);
		if (look != NULL && look(arg)) {
			memset(r, 0, sizeof(*r));
			r->body = xstrdup("");
			return RETRY_SETTLED;
		}
	}
}

char *
http_escape(const char *s)
{
	char	*e = curl_easy_escape(NULL, s, 0);
	char	*out;

	if (e == NULL)
		fatalx("out of memory escaping a URL");
	out = xstrdup(e);
	curl_free(e);
	return out;
}
