/*
 * s3.c: PutObject, multipart upload, GetObject, ListObjectsV2 and
 * DeleteObjects over SigV4 (aws/s3.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aws/s3.h"
#include "aws/awshttp.h"
#include "aws/sigv4.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/retry.h"
#include "common/util.h"

#define ANSWER_MAX	(256u << 20)	/* GetObject of a state file */
#define PART_MIN	(5u << 20)	/* S3's smallest part but the last */
#define DELETE_BATCH	1000

/* Waits between attempts: 200 ms doubling to 5 s, 2 min in all. */
static const struct retry_policy s3_retry = { 200, 5000, 120000 };

struct s3_resp {
	long		 status;	/* 0: no answer */
	struct buf	 body;
	char		*etag;
	char		 error[256];
};

static void
resp_cleanup(struct s3_resp *r)
{
	buf_cleanup(&r->body);
	free(r->etag);
	memset(r, 0, sizeof(*r));
}

void
s3_client_init(struct s3_client *c, const char *endpoint, const char *region,
    const struct aws_creds *creds)
{
	memset(c, 0, sizeof(*c));
	c->region = xstrdup(region != NULL && *region ? region : "us-east-1");
	if (endpoint != NULL && *endpoint) {
		size_t	n = strlen(endpoint);

		while (n > 0 && endpoint[n - 1] == '/')
			n--;
		c->endpoint = xasprintf("%.*s", (int)n, endpoint);
	} else
		c->endpoint = xasprintf("https://s3.%s.amazonaws.com",
		    c->region);
	c->creds = creds;
}

void
s3_client_cleanup(struct s3_client *c)
{
	free(c->endpoint);
	free(c->region);
	memset(c, 0, sizeof(*c));
}

int
s3_parse_url(const char *url, char **bucket, char **prefix)
{
	const char	*b, *s;
	size_t		 n;

	*bucket = *prefix = NULL;
	if (strncasecmp(url, "s3://", 5) != 0)
		return -1;
	b = url + 5;
	s = b + strcspn(b, "/");
	if (s == b)
		return -1;
	*bucket = xasprintf("%.*s", (int)(s - b), b);
	while (*s == '/')
		s++;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	*prefix = xasprintf("%.*s", (int)n, s);
	return 0;
}

/* ------------------------------------------------------------ XML */

static void
xml_decode(struct buf *out, const char *s, size_t n)
{
	static const struct { const char *e; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};

	for (size_t i = 0; i < n; i++) {
		size_t	k, el;

		if (s[i] != '&') {
			buf_append(out, s + i, 1);
			continue;
		}
		for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
			el = strlen(ents[k].e);
			if (n - i >= el && memcmp(s + i, ents[k].e, el) == 0)
				break;
		}
		if (k < sizeof(ents) / sizeof(ents[0])) {
			buf_append(out, &ents[k].c, 1);
			i += strlen(ents[k].e) - 1;
		} else if (n - i > 3 && s[i + 1] == '#') {
			/* &#13; &#x0D;: keys may hold control bytes. */
			char		 *end;
			unsigned long	  v;
			size_t		  semi = i + 2;

			while (semi < n && s[semi] != ';')
				semi++;
			if (semi >= n || semi - i > 10) {
				buf_append(out, "&", 1);
				continue;
			}
			v = s[i + 2] == 'x' ? strtoul(s + i + 3, &end, 16) :
			    strtoul(s + i + 2, &end, 10);
			if (end != s + semi || v == 0 || v > 0x7f) {
				buf_append(out, "&", 1);
				continue;
			}
			buf_append(out, &(char){ (char)v }, 1);
			i = semi;
		} else
			buf_append(out, "&", 1);
	}
}

char *
s3_xml_text(const char *xml, size_t len, const char *tag, size_t *from)
{
	char		 open[80], close_[80];
	const char	*a, *b, *end = xml + len;
	size_t		 ol, cl;
	struct buf	 out;

	ol = (size_t)snprintf(open, sizeof(open), "<%s>", tag);
	cl = (size_t)snprintf(close_, sizeof(close_), "</%s>", tag);
	if (ol >= sizeof(open) || cl >= sizeof(close_))
		return NULL;
	a = xml + (from != NULL ? *from : 0);
	if (a > end || (a = memmem(a, (size_t)(end - a), open, ol)) == NULL)
		return NULL;
	a += ol;
	if ((b = memmem(a, (size_t)(end - a), close_, cl)) == NULL)
		return NULL;
	if (from != NULL)
		*from = (size_t)(b + cl - xml);
	buf_init(&out, (size_t)-1);
	xml_decode(&out, a, (size_t)(b - a));
	return out.data != NULL ? buf_steal(&out) : xstrdup("");
}

int
s3_parse_list(const char *xml, size_t len, char ***keys, size_t *n,
    char **token)
{
	size_t	 at = 0;
	char	*k, *trunc;

	*token = NULL;
	while ((k = s3_xml_text(xml, len, "Key", &at)) != NULL) {
		*keys = xrealloc(*keys, (*n + 2) * sizeof(**keys));
		(*keys)[(*n)++] = k;
		(*keys)[*n] = NULL;
	}
	trunc = s3_xml_text(xml, len, "IsTruncated", NULL);
	if (trunc != NULL && strcmp(trunc, "true") == 0) {
		*token = s3_xml_text(xml, len, "NextContinuationToken", NULL);
		if (*token == NULL || **token == '\0') {
			free(trunc);
			free(*token);
			*token = NULL;
			return -1;	/* truncated without a way on */
		}
	}
	free(trunc);
	return 0;
}

/* -------------------------------------------------------- exchange */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct s3_resp	*r = arg;

	return buf_append(&r->body, p, size * n) == -1 ? 0 : size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct s3_resp	*r = arg;
	size_t		 len = size * n, k = 5, e;

	if (len > 5 && strncasecmp(p, "etag:", 5) == 0) {
		while (k < len && (p[k] == ' ' || p[k] == '\t'))
			k++;
		for (e = len; e > k && (p[e - 1] == '\r' || p[e - 1] == '\n' ||
		    p[e - 1] == ' '); e--)
			;
		free(r->etag);
		r->etag = xasprintf("%.*s", (int)(e - k), p + k);
	}
	return len;
}

struct upload {
	const unsigned char	*data;
	size_t			 len, at;
};

static size_t
on_read(char *p, size_t size, size_t n, void *arg)
{
	struct upload	*u = arg;
	size_t		 k = size * n;

	if (k > u->len - u->at)
		k = u->len - u->at;
	memcpy(p, u->data + u->at, k);
	u->at += k;
	return k;
}

static void
perform(const struct s3_client *c, const char *method, const char *url,
    struct curl_slist *h, const void *body, size_t len, struct s3_resp *r)
{
	struct upload	 u = { body, len, 0 };
	char		 errbuf[CURL_ERROR_SIZE] = "";
	CURL		*easy;
	CURLcode	 cc;

	buf_init(&r->body, ANSWER_MAX);
	if ((easy = curl_easy_init()) == NULL) {
		errorf(r->error, sizeof(r->error), "curl_easy_init");
		return;
	}
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
	    c->timeout_ms > 0 ? c->timeout_ms : 60000L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "pfagent/" PFAGENT_VERSION);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(easy, CURLOPT_READDATA, &u);
		curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)len);
	}
	cc = curl_easy_perform(easy);
	if (cc == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
	else
		errorf(r->error, sizeof(r->error), "%s",
		    errbuf[0] ? errbuf : curl_easy_strerror(cc));
	curl_easy_cleanup(easy);
}

static void
content_md5(const void *data, size_t len, char out[32])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

struct call {
	const char	*op;		/* "PutObject", for messages */
	const char	*method, *bucket, *key, *query;
	const void	*body;
	size_t		 len;
	int		 md5;		/* send Content-MD5 */
	const char	*content_type;
};

/* Headers for one attempt, signed now (the date is signed). */
static struct curl_slist *
sign_call(const struct s3_client *c, const struct call *k, const char *path,
    char **url, char *err, size_t errlen)
{
	struct sigv4_header	 h[4];
	struct sigv4_request	 rq;
	struct sigv4_creds	 cr;
	struct sigv4_params	 pa;
	struct curl_slist	*sl = NULL;
	char			 date[17], sha[65], md5[32], *authz = NULL,
				*authority, *host, *base_path, *line;
	int			 https, nh = 0;

	*url = NULL;
	if (awshttp_split_url(c->endpoint, &https, &authority, &host,
	    &base_path) == -1) {
		errorf(err, errlen, "endpoint_url is not an http(s) URL");
		return NULL;
	}
	free(host);
	free(base_path);
	if (sigv4_amz_date(time(NULL), date) == -1 ||
	    sigv4_sha256_hex(k->body != NULL ? k->body : "", k->len,
	    sha) == -1) {
		free(authority);
		errorf(err, errlen, "cannot sign: clock or hash");
		return NULL;
	}
	h[nh++] = (struct sigv4_header){ "host", authority };
	if (k->md5) {
		content_md5(k->body, k->len, md5);
		h[nh++] = (struct sigv4_header){ "content-md5", md5 };
	}
	if (k->content_type != NULL)
		h[nh++] = (struct sigv4_header){ "content-type",
		    k->content_type };
	rq = (struct sigv4_request){ k->method, path, k->query, h,
	    (size_t)nh, k->body, k->len, sha };
	cr = (struct sigv4_creds){ c->creds->access_key,
	    c->creds->secret_key, c->creds->session_token };
	pa = (struct sigv4_params){ c->region, "s3", date, 0, 1 };
	if (sigv4_sign(&rq, &cr, &pa, &authz, NULL, NULL, err, errlen) == -1) {
		free(authority);
		return NULL;
	}
	*url = xasprintf("%s%s%s%s", c->endpoint, path, k->query ? "?" : "",
	    k->query ? k->query : "");
	for (int i = 1; i < nh; i++) {
		line = xasprintf("%s: %s", h[i].name, h[i].value);
		sl = curl_slist_append(sl, line);
		free(line);
	}
	line = xasprintf("x-amz-date: %s", date);
	sl = curl_slist_append(sl, line);
	free(line);
	line = xasprintf("x-amz-content-sha256: %s", sha);
	sl = curl_slist_append(sl, line);
	free(line);
	if (c->creds->session_token != NULL) {
		line = xasprintf("x-amz-security-token: %s",
		    c->creds->session_token);
		sl = curl_slist_append(sl, line);
		OPENSSL_cleanse(line, strlen(line));
		free(line);
	}
	line = xasprintf("Authorization: %s", authz);
	sl = curl_slist_append(sl, line);
	OPENSSL_cleanse(line, strlen(line));
	free(line);
	sl = curl_slist_append(sl, "Expect:");
	if (k->body == NULL)
		sl = curl_slist_append(sl, "Content-Type:");
	free(authz);
	free(authority);
	return sl;
}

static int
retryable(const struct s3_resp *r)
{
	/* As the AWS SDKs: 501 and the like are answers, not hiccups. */
	return r->status == 0 || r->status == 500 || r->status == 502 ||
	    r->status == 503 || r->status == 504 || r->status == 429;
}

/* The request's path: /bucket/key, the key encoded once. */
static char *
call_path(const struct call *k)
{
	char	*enc = NULL, *p;

	if (k->key == NULL)
		return xasprintf("/%s", k->bucket);
	if (sigv4_uri_encode(k->key, 0, &enc) == -1)
		return NULL;
	p = xasprintf("/%s/%s", k->bucket, enc);
	free(enc);
	return p;
}

/*
 * One call, retried. 0 with *r holding the final answer (any status),
 * or -1 with err (no answer, or the request could not be signed).
 */
static int
call(struct s3_client *c, const struct call *k, struct s3_resp *r,
    char *err, size_t errlen)
{
	int	 attempts = c->attempts > 0 ? c->attempts : 8;
	char	*path = call_path(k), *url;

	memset(r, 0, sizeof(*r));
	if (path == NULL)
		return errorf(err, errlen, "out of memory");
	for (int attempt = 1; ; attempt++) {
		struct curl_slist *h;

		resp_cleanup(r);
		if ((h = sign_call(c, k, path, &url, err, errlen)) == NULL) {
			free(path);
			return -1;
		}
		perform(c, k->method, url, h, k->body, k->len, r);
		curl_slist_free_all(h);
		free(url);
		if (!retryable(r) || attempt >= attempts)
			break;
		c->retries++;
		sleep_ms(retry_delay_ms(&s3_retry, attempt, -1));
	}
	free(path);
	if (r->status == 0)
		return errorf(err, errlen, "%s s3://%s/%s: %s", k->op,
		    k->bucket, k->key ? k->key : "", r->error);
	return 0;
}

/* S3's error answer: "Code: Message (HTTP n)". */
static int
s3_error(const struct call *k, const struct s3_resp *r, char *err,
    size_t errlen)
{
	char	*code = s3_xml_text(r->body.data ? r->body.data : "",
	    r->body.len, "Code", NULL);
	char	*msg = s3_xml_text(r->body.data ? r->body.data : "",
	    r->body.len, "Message", NULL);

	errorf(err, errlen, "%s s3://%s/%s: %s%s%s (HTTP %ld)", k->op,
	    k->bucket, k->key ? k->key : "", code ? code : "no error code",
	    msg ? ": " : "", msg ? msg : "", r->status);
	free(code);
	free(msg);
	return -1;
}

/* ------------------------------------------------------ operations */

int
s3_put(struct s3_client *c, const char *bucket, const char *key,
    const void *data, size_t len, char *err, size_t errlen)
{
	struct call	k = { "PutObject", "PUT", bucket, key, NULL,
	    data != NULL ? data : "", len, 1, "application/octet-stream" };
	struct s3_resp	r;
	int		rc = 0;

	if (call(c, &k, &r, err, errlen) == -1)
		rc = -1;
	else if (r.status != 200)
		rc = s3_error(&k, &r, err, errlen);
	resp_cleanup(&r);
	return rc;
}

static void
abort_upload(struct s3_client *c, const char *bucket, const char *key,
    const char *query)
{
	struct call	k = { "AbortMultipartUpload", "DELETE", bucket, key,
	    query, NULL, 0, 0, NULL };
	struct s3_resp	r;
	char		ignored[256];

	if (call(c, &k, &r, ignored, sizeof(ignored)) == 0)
		resp_cleanup(&r);
}

/* Uploads the parts of f; *xml gets CompleteMultipartUpload's body. */
static int
upload_parts(struct s3_client *c, const char *bucket, const char *key,
    const char *upload_id, FILE *f, struct buf *xml, char *err,
    size_t errlen)
{
	size_t		 part = c->part_size >= PART_MIN ? c->part_size :
	    (8u << 20);
	unsigned char	*chunk = xmalloc(part);
	char		*enc_id = NULL;
	int		 rc = 0;

	sigv4_uri_encode(upload_id, 1, &enc_id);
	buf_printf(xml, "<CompleteMultipartUpload>");
	for (int no = 1; rc == 0; no++) {
		size_t		 n = fread(chunk, 1, part, f);
		char		*q, *etag;
		struct call	 k;
		struct s3_resp	 r;

		if (n == 0 && no > 1)
			break;
		q = xasprintf("partNumber=%d&uploadId=%s", no, enc_id);
		k = (struct call){ "UploadPart", "PUT", bucket, key, q, chunk,
		    n, 1, NULL };
		if (call(c, &k, &r, err, errlen) == -1)
			rc = -1;
		else if (r.status != 200)
			rc = s3_error(&k, &r, err, errlen);
		else if (r.etag == NULL)
			rc = errorf(err, errlen, "UploadPart s3://%s/%s: no "
			    "ETag in the answer", bucket, key);
		else {
			etag = r.etag;
			buf_printf(xml, "<Part><PartNumber>%d</PartNumber>"
			    "<ETag>%s</ETag></Part>", no, etag);
		}
		resp_cleanup(&r);
		free(q);
		if (n < part)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = errorf(err, errlen, "reading the file for s3://%s/%s "
		    "failed", bucket, key);
	buf_printf(xml, "</CompleteMultipartUpload>");
	free(enc_id);
	free(chunk);
	return rc;
}

static int
multipart(struct s3_client *c, const char *bucket, const char *key, FILE *f,
    char *err, size_t errlen)
{
	struct call	 k = { "CreateMultipartUpload", "POST", bucket, key,
	    "uploads=", NULL, 0, 0, "application/octet-stream" };
	struct s3_resp	 r;
	struct buf	 xml;
	char		*id, *enc = NULL, *q;
	int		 rc = -1;

	if (call(c, &k, &r, err, errlen) == -1)
		return -1;
	if (r.status != 200) {
		s3_error(&k, &r, err, errlen);
		resp_cleanup(&r);
		return -1;
	}
	id = s3_xml_text(r.body.data ? r.body.data : "", r.body.len,
	    "UploadId", NULL);
	resp_cleanup(&r);
	if (id == NULL)
		return errorf(err, errlen, "CreateMultipartUpload s3://%s/%s: "
		    "no UploadId in the answer", bucket, key);
	c->multipart_uploads++;
	sigv4_uri_encode(id, 1, &enc);
	q = xasprintf("uploadId=%s", enc);
	buf_init(&xml, (size_t)-1);
	if (upload_parts(c, bucket, key, id, f, &xml, err, errlen) == 0) {
		k = (struct call){ "CompleteMultipartUpload", "POST", bucket,
		    key, q, xml.data, xml.len, 1, "application/xml" };
		if (call(c, &k, &r, err, errlen) == 0) {
			/* A 200 may still carry an <Error> (S3 docs). */
			if (r.status != 200 || (r.body.data != NULL &&
			    strstr(r.body.data, "<Error>") != NULL))
				s3_error(&k, &r, err, errlen);
			else
				rc = 0;
			resp_cleanup(&r);
		}
	}
	if (rc == -1)
		abort_upload(c, bucket, key, q);
	buf_cleanup(&xml);
	free(q);
	free(enc);
	free(id);
	return rc;
}

int
s3_put_file(struct s3_client *c, const char *bucket, const char *key,
    const char *path, char *err, size_t errlen)
{
	size_t		 part = c->part_size >= PART_MIN ? c->part_size :
	    (8u << 20), len;
	struct stat	 st;
	FILE		*f;
	char		*data;
	int		 rc;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) == -1) {
		if (f != NULL)
			fclose(f);
		return errorf(err, errlen, "%s: %s", path, strerror(errno));
	}
	if ((size_t)st.st_size > part) {
		rc = multipart(c, bucket, key, f, err, errlen);
		fclose(f);
		return rc;
	}
	fclose(f);
	if ((data = read_file_max(path, part, &len, err, errlen)) == NULL)
		return -1;
	rc = s3_put(c, bucket, key, data, len, err, errlen);
	free(data);
	return rc;
}

int
s3_get(struct s3_client *c, const char *bucket, const char *key,
    char **data, size_t *len, char *err, size_t errlen)
{
	struct call	k = { "GetObject", "GET", bucket, key, NULL, NULL, 0, 0,
	    NULL };
	struct s3_resp	r;
	int		rc = 0;

	*data = NULL;
	*len = 0;
	if (call(c, &k, &r, err, errlen) == -1)
		return -1;
	if (r.status == 404)
		rc = 1;
	else if (r.status != 200)
		rc = s3_error(&k, &r, err, errlen);
	else {
		*len = r.body.len;
		*data = r.body.data != NULL ? buf_steal(&r.body) : xstrdup("");
	}
	resp_cleanup(&r);
	return rc;
}

int
s3_list(struct s3_client *c, const char *bucket, const char *prefix,
    char ***keys, size_t *n, char *err, size_t errlen)
{
	char	*token = NULL, *enc_prefix = NULL;
	int	 rc = 0;

	*keys = xcalloc(1, sizeof(**keys));
	*n = 0;
	sigv4_uri_encode(prefix, 1, &enc_prefix);
	do {
		char		*enc_token = NULL, *q;
		struct call	 k;
		struct s3_resp	 r;

		if (token != NULL)
			sigv4_uri_encode(token, 1, &enc_token);
		q = token != NULL ? xasprintf("continuation-token=%s&"
		    "list-type=2&prefix=%s", enc_token, enc_prefix) :
		    xasprintf("list-type=2&prefix=%s", enc_prefix);
		free(enc_token);
		free(token);
		token = NULL;
		k = (struct call){ "ListObjectsV2", "GET", bucket, NULL, q,
		    NULL, 0, 0, NULL };
		if (call(c, &k, &r, err, errlen) == -1)
			rc = -1;
		else if (r.status != 200)
			rc = s3_error(&k, &r, err, errlen);
		else if (s3_parse_list(r.body.data ? r.body.data : "",
		    r.body.len, keys, n, &token) == -1)
			rc = errorf(err, errlen, "ListObjectsV2 s3://%s/%s: "
			    "a truncated answer without a continuation token",
			    bucket, prefix);
		resp_cleanup(&r);
		free(q);
	} while (rc == 0 && token != NULL);
	free(token);
	free(enc_prefix);
	if (rc == -1) {
		for (size_t i = 0; i < *n; i++)
			free((*keys)[i]);
		free(*keys);
		*keys = NULL;
		*n = 0;
	}
	return rc;
}

static void
xml_escape(struct buf *b, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '&': buf_printf(b, "&amp;"); break;
		case '<': buf_printf(b, "&lt;"); break;
		case '>': buf_printf(b, "&gt;"); break;
		case '"': buf_printf(b, "&quot;"); break;
		case '\'': buf_printf(b, "&apos;"); break;
		default: buf_append(b, s, 1);
		}
}

int
s3_delete(struct s3_client *c, const char *bucket, const char *const *keys,
    size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i += DELETE_BATCH) {
		struct buf	 xml;
		struct call	 k;
		struct s3_resp	 r;
		char		*bad;
		int		 rc = 0;

		buf_init(&xml, (size_t)-1);
		buf_printf(&xml, "<Delete><Quiet>true</Quiet>");
		for (size_t j = i; j < n && j < i + DELETE_BATCH; j++) {
			buf_printf(&xml, "<Object><Key>");
			xml_escape(&xml, keys[j]);
			buf_printf(&xml, "</Key></Object>");
		}
		buf_printf(&xml, "</Delete>");
		k = (struct call){ "DeleteObjects", "POST", bucket, NULL,
		    "delete=", xml.data,
		    xml.len, 1, "application/xml" };
		if (call(c, &k, &r, err, errlen) == -1)
			rc = -1;
		else if (r.status != 200)
			rc = s3_error(&k, &r, err, errlen);
		else if (r.body.data != NULL && (bad = s3_xml_text(r.body.data,
		    r.body.len, "Error", NULL)) != NULL) {
			char *key = s3_xml_text(bad, strlen(bad), "Key", NULL);
			char *code = s3_xml_text(bad, strlen(bad), "Code",
			    NULL);

			rc = errorf(err, errlen, "DeleteObjects s3://%s/%s: %s",
			    bucket, key ? key : "?", code ? code : "failed");
			free(key);
			free(code);
			free(bad);
		}
		resp_cleanup(&r);
		buf_cleanup(&xml);
		if (rc == -1)
			return -1;
	}
	return 0;
}
