/*
 * rest.c: Snowflake's REST exchanges over libcurl, retried as the
 * Python connector retries them (network.py): a dropped connection, a
 * 5xx, 307/308, 408, 429 and an answer that does not parse, with capped
 * backoff and the URL unchanged but for the retry parameters and a
 * fresh request_guid. Unlike the connector, 400, 403 and 405 are final:
 * asking again what the server refused as malformed or forbidden only
 * delays the run's failure by the whole deadline.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/retry.h"
#include "common/util.h"
#include "snowflake/rest.h"
#include "snowflake/url.h"

#define ANSWER_MAX	(256u << 20)	/* a larger answer is an error */
#define DOWNLOAD_TRIES	10	/* the connector's MAX_DOWNLOAD_RETRY */
#define STALL_S		300L	/* no byte for this long: dropped */

/* The connector's backoff: 1 s doubling up to 16 s, with jitter. */
#define BACKOFF_BASE_MS	1000
#define BACKOFF_CAP_MS	16000

struct attempt {
	long		 status;	/* 0: no answer */
	struct buf	 body;
	char		 error[CURL_ERROR_SIZE];
};

void
sf_rest_init(struct sf_rest *r, const char *base)
{
	memset(r, 0, sizeof(*r));
	r->base = xstrdup(base);
	if ((r->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	r->deadline_ms = 300000;
}

void
sf_rest_cleanup(struct sf_rest *r)
{
	if (r->easy != NULL)
		curl_easy_cleanup(r->easy);
	free(r->base);
	memset(r, 0, sizeof(*r));
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;

	return buf_append(b, p, size * n) == -1 ? 0 : size * n;
}

/* One exchange; a->status 0 and a->error when there was no answer. */
static void
perform(struct sf_rest *r, const char *method, const char *url,
    struct curl_slist *headers, const unsigned char *body, size_t bodylen,
    long timeout_ms, struct attempt *a)
{
	CURL		*e = r->easy;
	const char	*ca = getenv("SSL_CERT_FILE");
	CURLcode	 cc;

	memset(a, 0, sizeof(*a));
	buf_init(&a->body, ANSWER_MAX);
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 60000L);
	/* A long query answers 333333 within a minute: silence is a drop. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, STALL_S);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "pfagent/" PFAGENT_VERSION);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &a->body);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->error);
	/* A private CA (a TLS-inspecting proxy), named as OpenSSL reads it. */
	if (ca != NULL && *ca != '\0')
		curl_easy_setopt(e, CURLOPT_CAINFO, ca);
	if (body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)bodylen);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
	}
	cc = curl_easy_perform(e);
	if (cc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &a->status);
	else if (cc == CURLE_WRITE_ERROR)
		errorf(a->error, sizeof(a->error), "answer larger than %u "
		    "bytes", ANSWER_MAX);
	else if (a->error[0] == '\0')
		errorf(a->error, sizeof(a->error), "%s",
		    curl_easy_strerror(cc));
	a->status = cc == CURLE_OK ? a->status : -(long)cc;
	/* Drop the handle's pointers to our stack and headers. */
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
}

/* Transport failures worth another attempt (not TLS trust, not size). */
static int
transient(long status)
{
	switch ((CURLcode)-status) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_WRITE_ERROR:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return 0;
	default:
		return 1;
	}
}

static int
retryable_status(long s)
{
	return s >= 500 || s == 307 || s == 308 || s == 408 || s == 429;
}

/* "host:port" of the base URL, for messages. */
static const char *
where(const struct sf_rest *r)
{
	const char	*p = strstr(r->base, "://");

	return p != NULL ? p + 3 : r->base;
}

static struct curl_slist *
request_headers(const struct sf_req *q)
{
	struct curl_slist	*h = NULL;
	struct buf		 auth;

	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, q->accept != NULL ? q->accept :
	    "Accept: application/json");
	if (q->body != NULL || q->rebody != NULL)
		h = curl_slist_append(h, "Content-Encoding: gzip");
	if (q->token != NULL) {
		buf_init(&auth, 1u << 16);
		buf_printf(&auth, "Authorization: Snowflake Token=\"%s\"",
		    q->token);
		h = curl_slist_append(h, auth.data);
		OPENSSL_cleanse(auth.data, auth.len);
		buf_cleanup(&auth);
	}
	return curl_slist_append(h, "Expect:");
}

static char *
attempt_url(const struct sf_rest *r, const struct sf_req *q, int retry,
    int64_t start_ms, long reason)
{
	struct buf	u;
	char		id[37], n[32];

	buf_init(&u, 1u << 20);
	buf_printf(&u, "%s%s", r->base, q->path);
	if (q->retry_params && retry > 0) {
		snprintf(n, sizeof(n), "%lld", (long long)start_ms);
		sf_url_param(&u, "clientStartTime", n);
		snprintf(n, sizeof(n), "%d", retry);
		sf_url_param(&u, "retryCount", n);
		snprintf(n, sizeof(n), "%ld", reason);
		sf_url_param(&u, "retryReason", n);
	}
	uuid4(id);
	sf_url_param(&u, "request_guid", id);
	return buf_steal(&u);
}

/*
 * What one attempt came to: 1 done (*out set), 0 retry (why in err),
 * -1 final (err).
 */
static int
judge(const struct sf_rest *r, struct attempt *a, cJSON **out, char *err,
    size_t errlen)
{
	cJSON	*j = NULL;

	if (a->status < 0) {
		errorf(err, errlen, "no answer from %s: %s", where(r),
		    a->error);
		return transient(a->status) ? 0 : -1;
	}
	if (a->body.data != NULL)
		j = cJSON_ParseWithLength(a->body.data, a->body.len);
	if (j != NULL && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = NULL;
	}
	if (a->status == 200 && j != NULL) {
		*out = j;
		return 1;
	}
	if (a->status == 200 || retryable_status(a->status)) {
		cJSON_Delete(j);
		if (a->status == 200)
			errorf(err, errlen, "an answer from %s that is not a "
			    "JSON object", where(r));
		else
			errorf(err, errlen, "HTTP %ld from %s", a->status,
			    where(r));
		return 0;
	}
	/* Snowflake's own error answers (a session gone: 401, 390104). */
	if (j != NULL && (cJSON_GetObjectItem(j, "code") != NULL ||
	    cJSON_GetObjectItem(j, "success") != NULL)) {
		*out = j;
		return 1;
	}
	cJSON_Delete(j);
	if (a->status == 403)
		return errorf(err, errlen, "HTTP 403 from %s: is the account "
		    "in host right?", where(r));
	return errorf(err, errlen, "HTTP %ld from %s", a->status, where(r));
}

/* A body may hold a password or a JWT: wiped before it is freed. */
static void
free_secret(char *body, unsigned char *gz, size_t gzlen)
{
	if (body != NULL)
		OPENSSL_cleanse(body, strlen(body));
	free(body);
	if (gz != NULL)
		OPENSSL_cleanse(gz, gzlen);
	free(gz);
}

int
sf_rest_call(struct sf_rest *r, const struct sf_req *q, cJSON **out,
    char *err, size_t errlen)
{
	struct retry_policy	 p = { BACKOFF_BASE_MS, BACKOFF_CAP_MS,
				    q->deadline_ms ? q->deadline_ms :
				    r->deadline_ms };
	struct curl_slist	*h = request_headers(q);
	struct attempt		 a;
	unsigned char		*gz = NULL;
	size_t			 gzlen = 0;
	char			*body = NULL, *url;
	int64_t			 start = now_ms();
	int64_t			 wall = realtime_us() / 1000;
	long			 reason = 0;
	int			 verdict;

	*out = NULL;
	if (q->body != NULL)
		gz = sf_gzip(q->body, strlen(q->body), &gzlen);
	for (int retry = 0;; retry++) {
		int64_t	wait;

		if (q->rebody != NULL) {
			free_secret(body, gz, gzlen);
			gz = NULL;
			body = NULL;
			if ((body = q->rebody(q->arg, err, errlen)) == NULL) {
				verdict = -1;
				break;
			}
			gz = sf_gzip(body, strlen(body), &gzlen);
		}
		url = attempt_url(r, q, retry, wall, reason);
		log_debug("snowflake: %s %s", q->method, q->path);
		perform(r, q->method, url, h, gz, gzlen, q->timeout_ms, &a);
		free(url);
		verdict = judge(r, &a, out, err, errlen);
		reason = a.status > 0 ? a.status : 0;
		buf_cleanup(&a.body);
		if (verdict != 0)
			break;
		wait = retry_delay_ms(&p, retry + 1, -1);
		if (p.deadline_ms < 0 ||
		    now_ms() + wait - start > p.deadline_ms) {
			size_t	n = strlen(err);

			snprintf(err + n, errlen - n, " (gave up after %d "
			    "attempts in %lld s)", retry + 1,
			    (long long)(now_ms() - start) / 1000);
			verdict = -1;
			break;
		}
		log_info("snowflake: %s; retry %d of %.*s in %.1f s", err,
		    retry + 1, (int)strcspn(q->path, "?"), q->path,
		    (double)wait / 1000);
		sleep_ms(wait);
	}
	free_secret(body, gz, gzlen);
	curl_slist_free_all(h);
	return verdict == 1 ? 0 : -1;
}

/* Inflates a gzip member; NULL when it is not one or too large. */
static char *
gunzip(const unsigned char *in, size_t len, size_t *outlen)
{
	z_stream	 z;
	struct buf	 b;
	unsigned char	 chunk[1u << 16];
	int		 rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return NULL;
	buf_init(&b, ANSWER_MAX);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		rc = inflate(&z, Z_NO_FLUSH);
		if ((rc != Z_OK && rc != Z_STREAM_END) || buf_append(&b, chunk,
		    sizeof(chunk) - z.avail_out) == -1) {
			inflateEnd(&z);
			buf_cleanup(&b);
			return NULL;
		}
	} while (rc != Z_STREAM_END && (z.avail_in > 0 || z.avail_out == 0));
	inflateEnd(&z);
	if (rc != Z_STREAM_END) {
		buf_cleanup(&b);
		return NULL;
	}
	*outlen = b.len;
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}

char *
sf_rest_download(struct sf_rest *r, const char *url,
    const char *const *headers, size_t *len, char *err, size_t errlen)
{
	struct retry_policy	 p = { BACKOFF_BASE_MS, BACKOFF_CAP_MS, 0 };
	struct curl_slist	*h = NULL;
	struct attempt		 a;
	char			*data = NULL;

	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	for (int n = 1;; n++) {
		perform(r, "GET", url, h, NULL, 0, 0, &a);
		if (a.status == 200) {
			*len = a.body.len;
			data = a.body.data != NULL ? buf_steal(&a.body) :
			    xstrdup("");
			break;
		}
		/* The URL is presigned: its host only, never the URL. */
		if (a.status < 0)
			errorf(err, errlen, "result chunk download: %s",
			    a.error);
		else
			errorf(err, errlen, "result chunk download: HTTP %ld",
			    a.status);
		buf_cleanup(&a.body);
		if (n == DOWNLOAD_TRIES || (a.status < 0 ?
		    !transient(a.status) : !retryable_status(a.status)))
			break;
		log_info("snowflake: %s; retry %d", err, n);
		sleep_ms(retry_delay_ms(&p, n, -1));
	}
	curl_slist_free_all(h);
	/* Cloud storage may serve a gzip object without saying so. */
	if (data != NULL && *len >= 2 && (unsigned char)data[0] == 0x1f &&
	    (unsigned char)data[1] == 0x8b) {
		char	*plain = gunzip((unsigned char *)data, *len, len);

		free(data);
		if ((data = plain) == NULL)
			errorf(err, errlen, "result chunk: a damaged gzip "
			    "stream or larger than %u bytes", ANSWER_MAX);
	}
	return data;
}

unsigned char *
sf_gzip(const void *data, size_t len, size_t *outlen)
{
	z_stream	 z;
	unsigned char	*out;
	size_t		 cap;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		fatalx("deflateInit2 failed");
	cap = deflateBound(&z, (uLong)len) + 32;
	out = xmalloc(cap);
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		fatalx("deflate failed");
	*outlen = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

unsigned char *
sf_unbase64(const char *s, size_t n, size_t *outlen)
{
	unsigned char	*out;
	int		 r;

	if (n % 4 != 0 || n > (size_t)INT32_MAX)
		return NULL;
	out = xmalloc(n / 4 * 3 + 1);
	if ((r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n)) < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (size_t k = n; k > 0 && r > 0 && s[k - 1] == '='; k--)
		r--;
	*outlen = (size_t)r;
	return out;
}
