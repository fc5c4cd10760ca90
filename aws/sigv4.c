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
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "aws/sigv4.h"

#define ALGO		"AWS4-HMAC-SHA256"
#define MAX_EXPIRES	604800L	/* seven days, the AWS limit */

/* A growable NUL-terminated string; an allocation failure sticks. */
struct sb {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

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

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
sb_add(struct sb *b, const void *s, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->oom)
		return;
	if (b->p == NULL || n >= b->cap - b->len) {
		if (n > SIZE_MAX / 4 - b->len) {
			b->oom = 1;
			return;
		}
		ncap = (b->len + n + 1) * 2;
		if (ncap < 64)
			ncap = 64;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void
sb_ch(struct sb *b, char c)
{
	sb_add(b, &c, 1);
}

/* Appends each string argument up to a NULL. */
static void
sb_cat(struct sb *b, ...)
{
	va_list		 ap;
	const char	*s;

	va_start(ap, b);
	while ((s = va_arg(ap, const char *)) != NULL)
		sb_str(b, s);
	va_end(ap);
}

/* Hands over the string (never NULL unless out of memory). */
static char *
sb_take(struct sb *b)
{
	char	*p;

	sb_add(b, "", 0);
	if (b->oom) {
		free(b->p);
		p = NULL;
	} else
		p = b->p;
	memset(b, 0, sizeof(*b));
	return p;
}

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
sb_enc(struct sb *b, const char *s, size_t n, int keep_slash, int keep_esc)
{
	static const char	 up[] = "0123456789ABCDEF";
	char			 e[3] = { '%', 0, 0 };
	unsigned char		 c;

	for (size_t i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/'))
			sb_ch(b, (char)c);
		else if (keep_esc && is_escape(s, i, n)) {
			e[1] = up[hexval((unsigned char)s[i + 1])];
			e[2] = up[hexval((unsigned char)s[i + 2])];
			sb_add(b, e, 3);
			i += 2;
		} else {
			e[1] = up[c >> 4];
			e[2] = up[c & 15];
			sb_add(b, e, 3);
		}
	}
}

/* Appends s[0..n) percent-decoded; a malformed escape stays literal. */
static void
sb_dec(struct sb *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (is_escape(s, i, n)) {
			sb_ch(b, (char)(hexval((unsigned char)s[i + 1]) << 4 |
			    hexval((unsigned char)s[i + 2])));
			i += 2;
		} else
			sb_ch(b, s[i]);
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
	struct sb	b = { 0 };

	sb_enc(&b, in, strlen(in), !encode_slash, 0);
	*out = sb_take(&b);
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
canonical_uri(struct sb *b, const char *path, int normalize)
{
	struct sb	 n = { 0 };
	const char	*s, *e;
	size_t		 seglen;

	if (path == NULL || *path == '\0')
		path = "/";
	if (!normalize) {
		sb_enc(b, path, strlen(path), 1, 1);
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
			while (n.len > 0 && n.p[n.len - 1] != '/')
				n.len--;
			if (n.len > 0)
				n.len--;
			continue;
		}
		sb_ch(&n, '/');
		sb_add(&n, s, seglen);
	}
	if (n.len == 0 || path[strlen(path) - 1] == '/')
		sb_ch(&n, '/');
	if (!n.oom)
		sb_enc(b, n.p, n.len, 1, 0);
	else
		b->oom = 1;
	free(n.p);
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
	struct sb	b = { 0 };

	for (; *s != '\0'; s++)
		sb_ch(&b, *s >= 'A' && *s <= 'Z' ? (char)(*s + 32) : *s);
	return sb_take(&b);
}

/* Trims blanks at both ends and collapses inner runs to one space. */
static char *
trim_dup(const char *s)
{
	struct sb	b = { 0 };
	int		blank = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t') {
			blank = 1;
			continue;
		}
		if (blank)
			sb_ch(&b, ' ');
		blank = 0;
		sb_ch(&b, *s);
	}
	return sb_take(&b);
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
    size_t nextra, struct sb *ch, struct sb *sh, char *err, size_t errlen)
{
	struct hdr	*h;
	const char	*name, *value;
	size_t		 n = 0, i;
	int		 rc = -1;

	if (req->nheaders > (SIZE_MAX - 8) / sizeof(*h) - nextra ||
	    (req->nheaders > 0 && req->headers == NULL)) {
		seterr(err, errlen, "bad header list");
		return -1;
	}
	if ((h = calloc(req->nheaders + nextra + 1, sizeof(*h))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
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
				seterr(err, errlen, "bad header %zu", i);
			else
				seterr(err, errlen, "bad %s value", name);
			goto out;
		}
		h[n].idx = i;
		h[n].name = lower_dup(name);
		h[n].value = trim_dup(value);
		if (h[n++].name == NULL || h[n - 1].value == NULL) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
	}
	if (!has_header(h, n, "host")) {
		seterr(err, errlen, "no host header");
		goto out;
	}
	qsort(h, n, sizeof(*h), hdr_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0) {
			sb_ch(ch, ',');
		} else {
			if (i > 0) {
				sb_ch(ch, '\n');
				sb_ch(sh, ';');
			}
			sb_str(ch, h[i].name);
			sb_ch(ch, ':');
			sb_str(sh, h[i].name);
		}
		sb_str(ch, h[i].value);
	}
	sb_ch(ch, '\n');
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
    struct sb *out, char *err, size_t errlen)
{
	struct qparam	*q;
	struct sb	 tmp = { 0 }, kv = { 0 };
	const char	*s, *e, *eq;
	size_t		 n = 0, max = nextra + 1, i;
	int		 rc = -1;

	for (s = query ? query : ""; *s != '\0'; s++)
		if (*s == '&' && max < SIZE_MAX / sizeof(*q))
			max++;
	if ((q = calloc(max, sizeof(*q))) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	for (s = query ? query : ""; *s != '\0'; s = *e ? e + 1 : e) {
		if ((e = strchr(s, '&')) == NULL)
			e = s + strlen(s);
		if (e == s)
			continue;
		if ((eq = memchr(s, '=', (size_t)(e - s))) == NULL)
			eq = e;
		tmp.len = 0;
		sb_dec(&tmp, s, (size_t)(eq - s));
		sb_enc(&kv, tmp.p, tmp.len, 0, 0);
		q[n].klen = kv.len;
		sb_ch(&kv, '=');
		tmp.len = 0;
		if (eq < e)
			sb_dec(&tmp, eq + 1, (size_t)(e - eq - 1));
		sb_enc(&kv, tmp.p, tmp.len, 0, 0);
		if (tmp.oom || (q[n++].kv = sb_take(&kv)) == NULL) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < nextra; i++) {
		if (extra[2 * i + 1] == NULL)
			continue;
		sb_str(&kv, extra[2 * i]);
		q[n].klen = kv.len;
		sb_ch(&kv, '=');
		sb_enc(&kv, extra[2 * i + 1], strlen(extra[2 * i + 1]), 0, 0);
		if ((q[n++].kv = sb_take(&kv)) == NULL) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
	}
	qsort(q, n, sizeof(*q), qparam_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			sb_ch(out, '&');
		sb_str(out, q[i].kv);
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(q[i].kv);
	free(q);
	free(tmp.p);
	free(kv.p);
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
	struct sb	 cr = { 0 }, sh = { 0 }, ch = { 0 }, q = { 0 };
	struct sb	 sts = { 0 }, cred = { 0 }, res = { 0 };
	const char	*payload, *scope;
	char		 body_hash[65], cr_hash[65], sig[65];
	char		 date8[9], exp[24];
	char		*o[3] = { NULL, NULL, NULL };
	int		 rc = -1;

	*out_main = NULL;
	if (out_cr != NULL)
		*out_cr = NULL;
	if (out_sts != NULL)
		*out_sts = NULL;
	if (req == NULL || creds == NULL || p == NULL ||
	    !is_token(req->method, "") ||
	    (req->body == NULL && req->body_len > 0)) {
		seterr(err, errlen, "bad request, method or body");
		return -1;
	}
	if (!is_token(creds->access_key, "/,;=") ||
	    creds->secret_key == NULL || *creds->secret_key == '\0') {
		seterr(err, errlen, "missing or bad access key or secret key");
		return -1;
	}
	if (!is_token(p->region, "/") || !is_token(p->service, "/") ||
	    !valid_date(p->amz_date)) {
		seterr(err, errlen, "bad region, service or amz_date");
		return -1;
	}
	if (presign && (expires < 1 || expires > MAX_EXPIRES)) {
		seterr(err, errlen, "expiry %ld not in 1..%ld", expires,
		    MAX_EXPIRES);
		return -1;
	}
	if ((payload = req->payload_hash) == NULL) {
		if (sigv4_sha256_hex(req->body, req->body_len,
		    body_hash) != 0) {
			seterr(err, errlen, "sha256 failed");
			return -1;
		}
		payload = body_hash;
	}
	memcpy(date8, p->amz_date, 8);
	date8[8] = '\0';
	snprintf(exp, sizeof(exp), "%ld", expires);
	sb_cat(&cred, creds->access_key, "/", date8, "/", p->region, "/",
	    p->service, "/aws4_request", (char *)NULL);
	scope = cred.oom ? NULL : cred.p + strlen(creds->access_key) + 1;

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
			"X-Amz-Credential", presign ? cred.p : NULL,
			"X-Amz-Date", presign ? p->amz_date : NULL,
			"X-Amz-Expires", presign ? exp : NULL,
			"X-Amz-Security-Token",
			presign ? creds->session_token : NULL,
			"X-Amz-SignedHeaders", presign ? sh.p : NULL,
		};

		if (canonical_query(req->query, qx, 6, &q, err, errlen) != 0)
			goto out;
	}
	sb_cat(&cr, req->method, "\n", (char *)NULL);
	canonical_uri(&cr, req->path, p->normalize_path);
	sb_ch(&cr, '\n');
	sb_cat(&cr, q.p ? q.p : "", "\n", ch.p ? ch.p : "", "\n",
	    sh.p ? sh.p : "", "\n", payload, (char *)NULL);
	if (cr.oom || cred.oom || ch.oom || sh.oom || q.oom ||
	    sigv4_sha256_hex(cr.p, cr.len, cr_hash) != 0) {
		seterr(err, errlen, "out of memory or sha256 failed");
		goto out;
	}
	sb_cat(&sts, ALGO "\n", p->amz_date, "\n", scope, "\n", cr_hash,
	    (char *)NULL);
	if (sts.oom || signature(creds->secret_key, date8, p->region,
	    p->service, sts.p, sig) != 0) {
		seterr(err, errlen, "signing failed");
		goto out;
	}
	if (presign)
		sb_cat(&res, q.p, q.len ? "&" : "", "X-Amz-Signature=", sig,
		    (char *)NULL);
	else
		sb_cat(&res, ALGO " Credential=", cred.p, ", SignedHeaders=",
		    sh.p, ", Signature=", sig, (char *)NULL);
	o[0] = sb_take(&res);
	o[1] = out_cr ? sb_take(&cr) : NULL;
	o[2] = out_sts ? sb_take(&sts) : NULL;
	if (o[0] == NULL || (out_cr && o[1] == NULL) ||
	    (out_sts && o[2] == NULL)) {
		seterr(err, errlen, "out of memory");
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
	free(cr.p);
	free(sh.p);
	free(ch.p);
	free(q.p);
	free(sts.p);
	free(cred.p);
	free(res.p);
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
