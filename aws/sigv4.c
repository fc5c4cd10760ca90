/*
 * sigv4.c: AWS Signature Version 4 (AWS4-HMAC-SHA256) signing.
 *
 * Each call builds the canonical request (method, canonical URI, sorted
 * and re-encoded query, lowercased and merged headers, payload hash),
 * hashes it into the string to sign, derives the signing key from the
 * secret through the date/region/service/aws4_request HMAC chain and
 * signs. OpenSSL provides SHA-256 and HMAC; every intermediate string is
 * a small growable buffer that is freed before returning, and key
 * material is wiped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "aws/sigv4.h"
#include "common/buf.h"
#include "common/util.h"

#define ALGO		"AWS4-HMAC-SHA256"
#define MAX_EXPIRES	604800L	/* seven days, the AWS limit */

/*
 * The builders have no cap of their own (only memory bounds them); a
 * refused append is remembered in the buffer and reported at the end.
 */
#define SB_MAX		(SIZE_MAX / 4)

struct hdr {
	char	*name;		/* lowercased */
	char	*value;		/* trimmed, blanks collapsed */
	size_t	 idx;		/* input order, for stable sorting */
};

struct qparam {
	char	*kv;		/* "key=value", both encoded */
	size_t	 klen;
};

static const char hexdig[] = "0123456789abcdef";

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
is_escape(const char *s, size_t i, size_t n)
{
	return s[i] == '%' && i + 2 < n &&
	    hexval((unsigned char)s[i + 1]) >= 0 &&
	    hexval((unsigned char)s[i + 2]) >= 0;
}

/*
 * Appends s[0..n) percent-encoded; keep_esc leaves valid %XX escapes
 * alone (upper-cased) so an already encoded S3 path is not encoded twice.
 */
static void
enc_append(struct buf *b, const char *s, size_t n, int keep_slash, int keep_esc)
{
	static const char	 up[] = "0123456789ABCDEF";
	char			 e[3] = { '%', 0, 0 };
	unsigned char		 c;

	for (size_t i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/'))
			buf_putc(b, (char)c);
		else if (keep_esc && is_escape(s, i, n)) {
			e[1] = up[hexval((unsigned char)s[i + 1])];
			e[2] = up[hexval((unsigned char)s[i + 2])];
			buf_append(b, e, 3);
			i += 2;
		} else {
			e[1] = up[c >> 4];
			e[2] = up[c & 15];
			buf_append(b, e, 3);
		}
	}
}

/* Appends s[0..n) percent-decoded; a malformed escape stays literal. */
static void
dec_append(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (is_escape(s, i, n)) {
			buf_putc(b, (char)(hexval((unsigned char)s[i + 1]) << 4 |
			    hexval((unsigned char)s[i + 2])));
			i += 2;
		} else
			buf_putc(b, s[i]);
	}
}

static void
hexify(const unsigned char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(len ? data : "", len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen != 32)
		return -1;
	hexify(md, 32, out);
	return 0;
}

int
sigv4_amz_date(time_t t, char out[17])
{
	struct tm	tm;

	out[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 + 1000 ||
	    tm.tm_year > 9999 - 1900)
		return -1;
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
sigv4_uri_encode(const char *in, int encode_slash, char **out)
{
	struct buf	b;

	buf_init(&b, SB_MAX);
	enc_append(&b, in, strlen(in), !encode_slash, 0);
	*out = buf_finish(&b);
	return *out == NULL ? -1 : 0;
}

static int
hmac(const void *key, size_t klen, const char *msg, size_t mlen,
    unsigned char out[32])
{
	unsigned int	outlen = 0;

	if (klen > INT32_MAX || HMAC(EVP_sha256(), key, (int)klen,
	    (const unsigned char *)msg, mlen, out, &outlen) == NULL ||
	    outlen != 32)
		return -1;
	return 0;
}

/* kSigning = HMAC chain over date, region, service, "aws4_request". */
static int
signature(const char *secret, const char *date8, const char *region,
    const char *service, const char *sts, char out[65])
{
	size_t		 klen = 4 + strlen(secret);
	char		*k;
	unsigned char	 a[32], b[32];
	int		 rc = -1;

	if ((k = malloc(klen + 1)) == NULL)
		return -1;
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret, klen - 4);
	if (hmac(k, klen, date8, 8, a) == 0 &&
	    hmac(a, 32, region, strlen(region), b) == 0 &&
	    hmac(b, 32, service, strlen(service), a) == 0 &&
	    hmac(a, 32, "aws4_request", 12, b) == 0 &&
	    hmac(b, 32, sts, strlen(sts), a) == 0) {
		hexify(a, 32, out);
		rc = 0;
	}
	OPENSSL_cleanse(k, klen);
	free(k);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	return rc;
}

/* RFC 3986 dot-segment removal plus AWS's collapsing of empty segments. */
static void
canonical_uri(struct buf *b, const char *path, int normalize)
{
	struct buf	 n;
	const char	*s, *e;
	size_t		 seglen, keep;

	buf_init(&n, SB_MAX);
	if (path == NULL || *path == '\0')
		path = "/";
	if (!normalize) {
		enc_append(b, path, strlen(path), 1, 1);
		return;
	}
	for (s = path; *s != '\0'; s = *e ? e + 1 : e) {
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		seglen = (size_t)(e - s);
		if (seglen == 0 || (seglen == 1 && s[0] == '.'))
			continue;
		if (seglen == 2 && s[0] == '.' && s[1] == '.') {
			/* drop the last "/segment" */
			keep = n.len;
			while (keep > 0 && n.data[keep - 1] != '/')
				keep--;
			buf_truncate(&n, keep > 0 ? keep - 1 : 0);
			continue;
		}
		buf_putc(&n, '/');
		buf_append(&n, s, seglen);
	}
	if (n.len == 0 || path[strlen(path) - 1] == '/')
		buf_putc(&n, '/');
	if (!n.failed)
		enc_append(b, n.data, n.len, 1, 0);
	else
		b->failed = 1;
	buf_cleanup(&n);
}

static int
hdr_cmp(const void *a, const void *b)
{
	const struct hdr	*x = a, *y = b;
	int			 c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
qparam_cmp(const void *a, const void *b)
{
	const struct qparam	*x = a, *y = b;
	int			 c;

	c = memcmp(x->kv, y->kv, x->klen < y->klen ? x->klen : y->klen);
	if (c != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return strcmp(x->kv + x->klen, y->kv + y->klen);
}

static char *
lower_dup(const char *s)
{
	struct buf	b;

	buf_init(&b, SB_MAX);
	for (; *s != '\0'; s++)
		buf_putc(&b, *s >= 'A' && *s <= 'Z' ? (char)(*s + 32) : *s);
	return buf_finish(&b);
}

/* Trims blanks at both ends and collapses inner runs to one space. */
static char *
trim_dup(const char *s)
{
	struct buf	b;
	int		blank = 0;

	buf_init(&b, SB_MAX);
	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t') {
			blank = 1;
			continue;
		}
		if (blank)
			buf_putc(&b, ' ');
		blank = 0;
		buf_putc(&b, *s);
	}
	return buf_finish(&b);
}

/* Non-empty, printable ASCII, no blanks and none of the bad bytes. */
static int
is_token(const char *s, const char *bad)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f ||
		    strchr(bad, *s) != NULL)
			return 0;
	return 1;
}

static int
has_header(const struct hdr *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(h[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * Appends "name:v1,v2\n" lines to ch and "name;name" to sh, with the
 * request's headers plus the extra (name, value) pairs not already there.
 */
static int
canonical_headers(const struct sigv4_request *req, const char *const *extra,
    size_t nextra, struct buf *ch, struct buf *sh, char *err, size_t errlen)
{
	struct hdr	*h;
	const char	*name, *value;
	size_t		 n = 0, i;
	int		 rc = -1;

	if (req->nheaders > (SIZE_MAX - 8) / sizeof(*h) - nextra ||
	    (req->nheaders > 0 && req->headers == NULL))
		return errorf(err, errlen, "bad header list");
	if ((h = calloc(req->nheaders + nextra + 1, sizeof(*h))) == NULL)
		return errorf(err, errlen, "out of memory");
	for (i = 0; i < req->nheaders + nextra; i++) {
		if (i < req->nheaders) {
			name = req->headers[i].name;
			value = req->headers[i].value;
		} else {
			name = extra[2 * (i - req->nheaders)];
			value = extra[2 * (i - req->nheaders) + 1];
			if (value == NULL || has_header(h, n, name))
				continue;
		}
		if (!is_token(name, ":") || value == NULL ||
		    strpbrk(value, "\r\n") != NULL) {
			if (i < req->nheaders)
				errorf(err, errlen, "bad header %zu", i);
			else
				errorf(err, errlen, "bad %s value", name);
			goto out;
		}
		h[n].idx = i;
		h[n].name = lower_dup(name);
		h[n].value = trim_dup(value);
		if (h[n++].name == NULL || h[n - 1].value == NULL) {
			errorf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (!has_header(h, n, "host")) {
		errorf(err, errlen, "no host header");
		goto out;
	}
	qsort(h, n, sizeof(*h), hdr_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
			buf_putc(ch, ',');
		} else {
			if (i > 0) {
				buf_putc(ch, '\n');
				buf_putc(sh, ';');
			}
			buf_puts(ch, h[i].name);
			buf_putc(ch, ':');
			buf_puts(sh, h[i].name);
		}
		buf_puts(ch, h[i].value);
	}
	buf_putc(ch, '\n');
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	return rc;
}

/*
 * Appends the sorted "k=v&k=v" query: the request's parameters decoded
 * and re-encoded, plus the extra (key, value) pairs (NULL value: none).
 */
static int
canonical_query(const char *query, const char *const *extra, size_t nextra,
    struct buf *out, char *err, size_t errlen)
{
	struct qparam	*q;
	struct buf	 tmp, kv;
	const char	*s, *e, *eq;
	size_t		 n = 0, max = nextra + 1, i;
	int		 rc = -1;

	buf_init(&tmp, SB_MAX);
	buf_init(&kv, SB_MAX);
	for (s = query ? query : ""; *s != '\0'; s++)
		if (*s == '&' && max < SIZE_MAX / sizeof(*q))
			max++;
	if ((q = calloc(max, sizeof(*q))) == NULL)
		return errorf(err, errlen, "out of memory");
	for (s = query ? query : ""; *s != '\0'; s = *e ? e + 1 : e) {
		if ((e = strchr(s, '&')) == NULL)
			e = s + strlen(s);
		if (e == s)
			continue;
		if ((eq = memchr(s, '=', (size_t)(e - s))) == NULL)
			eq = e;
		buf_truncate(&tmp, 0);
		dec_append(&tmp, s, (size_t)(eq - s));
		enc_append(&kv, tmp.data, tmp.len, 0, 0);
		q[n].klen = kv.len;
		buf_putc(&kv, '=');
		buf_truncate(&tmp, 0);
		if (eq < e)
			dec_append(&tmp, eq + 1, (size_t)(e - eq - 1));
		enc_append(&kv, tmp.data, tmp.len, 0, 0);
		if (tmp.failed || (q[n++].kv = buf_finish(&kv)) == NULL) {
			errorf(err, errlen, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < nextra; i++) {
		if (extra[2 * i + 1] == NULL)
			continue;
		buf_puts(&kv, extra[2 * i]);
		q[n].klen = kv.len;
		buf_putc(&kv, '=');
		enc_append(&kv, extra[2 * i + 1], strlen(extra[2 * i + 1]), 0, 0);
		if ((q[n++].kv = buf_finish(&kv)) == NULL) {
			errorf(err, errlen, "out of memory");
			goto out;
		}
	}
	qsort(q, n, sizeof(*q), qparam_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(out, '&');
		buf_puts(out, q[i].kv);
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(q[i].kv);
	free(q);
	buf_cleanup(&tmp);
	buf_cleanup(&kv);
	return rc;
}

static int
valid_date(const char *d)
{
	if (d == NULL || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return 0;
	return 1;
}

/* Both entry points: header signing, or presigning for expires seconds. */
static int
sign(const struct sigv4_request *req, const struct sigv4_creds *creds,
    const struct sigv4_params *p, int presign, long expires,
    char **out_main, char **out_cr, char **out_sts, char *err, size_t errlen)
{
	struct buf	 cr, sh, ch, q, sts, cred, res;
	const char	*payload, *scope;
	char		 body_hash[65], cr_hash[65], sig[65];
	char		 date8[9], exp[24];
	char		*o[3] = { NULL, NULL, NULL };
	int		 rc = -1;

	buf_init(&cr, SB_MAX);
	buf_init(&sh, SB_MAX);
	buf_init(&ch, SB_MAX);
	buf_init(&q, SB_MAX);
	buf_init(&sts, SB_MAX);
	buf_init(&cred, SB_MAX);
	buf_init(&res, SB_MAX);
	*out_main = NULL;
	if (out_cr != NULL)
		*out_cr = NULL;
	if (out_sts != NULL)
		*out_sts = NULL;
	if (req == NULL || creds == NULL || p == NULL ||
	    !is_token(req->method, "") ||
	    (req->body == NULL && req->body_len > 0))
		return errorf(err, errlen, "bad request, method or body");
	if (!is_token(creds->access_key, "/,;=") ||
	    creds->secret_key == NULL || *creds->secret_key == '\0')
		return errorf(err, errlen, "missing or bad access key or secret key");
	if (!is_token(p->region, "/") || !is_token(p->service, "/") ||
	    !valid_date(p->amz_date))
		return errorf(err, errlen, "bad region, service or amz_date");
	if (presign && (expires < 1 || expires > MAX_EXPIRES))
		return errorf(err, errlen, "expiry %ld not in 1..%ld", expires,
		    MAX_EXPIRES);
	if ((payload = req->payload_hash) == NULL) {
		if (sigv4_sha256_hex(req->body, req->body_len,
		    body_hash) != 0)
			return errorf(err, errlen, "sha256 failed");
		payload = body_hash;
	}
	memcpy(date8, p->amz_date, 8);
	date8[8] = '\0';
	snprintf(exp, sizeof(exp), "%ld", expires);
	buf_printf(&cred, "%s/%s/%s/%s/aws4_request", creds->access_key, date8,
	    p->region, p->service);
	scope = cred.failed ? NULL : cred.data + strlen(creds->access_key) + 1;

	/* the extras are signed on top of the request's headers and query */
	{
		const char	*hx[] = {
			"x-amz-date", presign ? NULL : p->amz_date,
			"x-amz-security-token",
			presign ? NULL : creds->session_token,
			"x-amz-content-sha256",
			presign || !p->sign_body_header ? NULL : payload,
		};

		if (canonical_headers(req, hx, 3, &ch, &sh, err, errlen) != 0)
			goto out;
	}
	{
		const char	*qx[] = {
			"X-Amz-Algorithm", presign ? ALGO : NULL,
			"X-Amz-Credential", presign ? cred.data : NULL,
			"X-Amz-Date", presign ? p->amz_date : NULL,
			"X-Amz-Expires", presign ? exp : NULL,
			"X-Amz-Security-Token",
			presign ? creds->session_token : NULL,
			"X-Amz-SignedHeaders", presign ? sh.data : NULL,
		};

		if (canonical_query(req->query, qx, 6, &q, err, errlen) != 0)
			goto out;
	}
	buf_printf(&cr, "%s\n", req->method);
	canonical_uri(&cr, req->path, p->normalize_path);
	buf_putc(&cr, '\n');
	buf_printf(&cr, "%s\n%s\n%s\n%s", q.data ? q.data : "",
	    ch.data ? ch.data : "", sh.data ? sh.data : "", payload);
	if (cr.failed || cred.failed || ch.failed || sh.failed || q.failed ||
	    sigv4_sha256_hex(cr.data, cr.len, cr_hash) != 0) {
		errorf(err, errlen, "out of memory or sha256 failed");
		goto out;
	}
	buf_printf(&sts, ALGO "\n%s\n%s\n%s", p->amz_date, scope, cr_hash);
	if (sts.failed || signature(creds->secret_key, date8, p->region,
	    p->service, sts.data, sig) != 0) {
		errorf(err, errlen, "signing failed");
		goto out;
	}
	if (presign)
		buf_printf(&res, "%s%sX-Amz-Signature=%s",
		    q.data ? q.data : "", q.len ? "&" : "", sig);
	else
		buf_printf(&res, ALGO " Credential=%s, SignedHeaders=%s, "
		    "Signature=%s", cred.data, sh.data ? sh.data : "", sig);
	o[0] = buf_finish(&res);
	o[1] = out_cr ? buf_finish(&cr) : NULL;
	o[2] = out_sts ? buf_finish(&sts) : NULL;
	if (o[0] == NULL || (out_cr && o[1] == NULL) ||
	    (out_sts && o[2] == NULL)) {
		errorf(err, errlen, "out of memory");
		for (int i = 0; i < 3; i++)
			free(o[i]);
		goto out;
	}
	*out_main = o[0];
	if (out_cr != NULL)
		*out_cr = o[1];
	if (out_sts != NULL)
		*out_sts = o[2];
	rc = 0;
out:
	buf_cleanup(&cr);
	buf_cleanup(&sh);
	buf_cleanup(&ch);
	buf_cleanup(&q);
	buf_cleanup(&sts);
	buf_cleanup(&cred);
	buf_cleanup(&res);
	return rc;
}

int
sigv4_sign(const struct sigv4_request *req, const struct sigv4_creds *creds,
    const struct sigv4_params *p, char **out_authorization,
    char **out_canonical_request, char **out_string_to_sign,
    char *err, size_t errlen)
{
	return sign(req, creds, p, 0, 0, out_authorization,
	    out_canonical_request, out_string_to_sign, err, errlen);
}

int
sigv4_presign(const struct sigv4_request *req,
    const struct sigv4_creds *creds, const struct sigv4_params *p,
    long expires, char **out_query,
    char **out_canonical_request, char **out_string_to_sign,
    char *err, size_t errlen)
{
	return sign(req, creds, p, 1, expires, out_query,
	    out_canonical_request, out_string_to_sign, err, errlen);
}
