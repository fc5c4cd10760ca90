/*
 * secretsmanager.c: GetSecretValue, signed and classified (see
 * secretsmanager.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aws/awshttp.h"
#include "aws/secretsmanager.h"
#include "aws/sigv4.h"
#include "common/json.h"
#include "common/retry.h"
#include "common/util.h"

#define ATTEMPTS	3
#define TARGET		"secretsmanager.GetSecretValue"
#define CONTENT_TYPE	"application/x-amz-json-1.1"

static const char *const skipped_codes[] = {
	"AccessDeniedException", "UnrecognizedClientException",
	"InvalidRequestException", "ValidationException",
	"InvalidParameterException", "DecryptionFailure",
	"AccessDenied", "InvalidClientTokenId", NULL
};

void
sm_answer_cleanup(struct sm_answer *a)
{
	if (a->secret != NULL) {
		OPENSSL_cleanse(a->secret, strlen(a->secret));
		free(a->secret);
	}
	free(a->code);
	free(a->message);
	memset(a, 0, sizeof(*a));
}

static int
utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t	k;

		if (s[i] < 0x80) {
			if (s[i] == 0)
				return 0;	/* would cut a C string */
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0 && s[i] >= 0xc2)
			k = 1;
		else if ((s[i] & 0xf0) == 0xe0)
			k = 2;
		else if ((s[i] & 0xf8) == 0xf0 && s[i] <= 0xf4)
			k = 3;
		else
			return 0;
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

static void
cleanse_field(cJSON *j, const char *name)
{
	cJSON	*it = cJSON_GetObjectItemCaseSensitive(j, name);

	if (cJSON_IsString(it))
		OPENSSL_cleanse(it->valuestring, strlen(it->valuestring));
}

/* SecretBinary is base64; NULL unless it decodes to UTF-8 text. */
static char *
decode_binary(const char *b64)
{
	size_t		 n = strlen(b64), pad = 0;
	unsigned char	*out;
	int		 len;

	if (n == 0 || n % 4 != 0 || n > (1u << 20))
		return NULL;
	out = xmalloc(n / 4 * 3 + 1);
	if ((len = EVP_DecodeBlock(out, (const unsigned char *)b64,
	    (int)n)) < 0) {
		free(out);
		return NULL;
	}
	pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
	len -= (int)pad;
	if (!utf8_ok(out, (size_t)len)) {
		OPENSSL_cleanse(out, (size_t)len);
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return (char *)out;
}

/* Text between <tag> and </tag> in body, or NULL. */
static char *
xml_text(const char *body, size_t len, const char *tag)
{
	char		 open[32], close[32];
	const char	*s, *e, *end = body + len;
	size_t		 ol;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	ol = strlen(open);
	for (s = body; s + ol <= end; s++)
		if (memcmp(s, open, ol) == 0)
			break;
	if (s + ol > end)
		return NULL;
	s += ol;
	for (e = s; e + strlen(close) <= end; e++)
		if (memcmp(e, close, strlen(close)) == 0)
			return xasprintf("%.*s", (int)(e - s), s);
	return NULL;
}

/* "com.amazonaws...#Code" or "Code:http://..." -> "Code". */
static char *
bare_code(const char *t)
{
	const char	*h = strrchr(t, '#');

	if (h != NULL)
		t = h + 1;
	return xasprintf("%.*s", (int)strcspn(t, ":"), t);
}

static enum sm_result
classify(const char *code)
{
	if (code == NULL)
		return SM_ERROR;
	if (strcmp(code, "ResourceNotFoundException") == 0)
		return SM_NOT_FOUND;
	for (size_t i = 0; skipped_codes[i] != NULL; i++)
		if (strcmp(code, skipped_codes[i]) == 0)
			return SM_SKIPPED;
	return SM_ERROR;
}

enum sm_result
sm_parse_answer(long status, const char *error_type, const char *body,
    size_t len, struct sm_answer *out)
{
	cJSON		*j;
	const char	*s;

	memset(out, 0, sizeof(*out));
	out->status = status;
	j = len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
	if (status == 200) {
		enum sm_result	r = SM_NOT_FOUND;

		if ((s = json_str(j, "SecretString")) != NULL) {
			out->secret = xstrdup(s);
			r = SM_FOUND;
		} else if ((s = json_str(j, "SecretBinary")) != NULL &&
		    (out->secret = decode_binary(s)) != NULL)
			r = SM_FOUND;
		else if (j == NULL || !cJSON_IsObject(j)) {
			out->code = xstrdup("InvalidAnswer");
			out->message = xstrdup("the answer is not a JSON "
			    "object");
			r = SM_ERROR;
		}
		cleanse_field(j, "SecretString");
		cleanse_field(j, "SecretBinary");
		cJSON_Delete(j);
		return r;
	}
	if (cJSON_IsObject(j)) {
		if ((s = json_str(j, "__type")) != NULL)
			out->code = bare_code(s);
		if ((s = json_str(j, "message")) != NULL ||
		    (s = json_str(j, "Message")) != NULL)
			out->message = xstrdup(s);
	} else if (body != NULL) {
		char	*c = xml_text(body, len, "Code");

		if (c != NULL) {
			out->code = bare_code(c);
			free(c);
		}
		out->message = xml_text(body, len, "Message");
	}
	cJSON_Delete(j);
	if (out->code == NULL && error_type != NULL && *error_type != '\0')
		out->code = bare_code(error_type);
	if (out->code == NULL)
		out->code = xasprintf("HTTP%ld", status);
	return classify(out->code);
}

struct signed_req {
	char	*url;
	char	*hdr[7];	/* "Name: value", NULL-terminated */
};

static void
signed_req_cleanup(struct signed_req *s)
{
	free(s->url);
	for (size_t i = 0; s->hdr[i] != NULL; i++) {
		OPENSSL_cleanse(s->hdr[i], strlen(s->hdr[i]));
		free(s->hdr[i]);
	}
	memset(s, 0, sizeof(*s));
}

static int
sign(const struct sm_client *c, const char *body, struct signed_req *out,
    char *err, size_t errlen)
{
	struct sigv4_header	 h[3];
	struct sigv4_request	 rq;
	struct sigv4_creds	 cr;
	struct sigv4_params	 pa;
	char			 date[17], *authz = NULL, *authority, *host,
				*path, *base;
	int			 https, n = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	base = c->endpoint != NULL ? xstrdup(c->endpoint) :
	    xasprintf("https://secretsmanager.%s.amazonaws.com", c->region);
	if (awshttp_split_url(base, &https, &authority, &host, &path) == -1) {
		free(base);
		return errorf(err, errlen, "endpoint_url is not an http(s) "
		    "URL");
	}
	if (sigv4_amz_date(time(NULL), date) == -1) {
		errorf(err, errlen, "the clock is out of range");
		goto out;
	}
	h[0] = (struct sigv4_header){ "host", authority };
	h[1] = (struct sigv4_header){ "content-type", CONTENT_TYPE };
	h[2] = (struct sigv4_header){ "x-amz-target", TARGET };
	rq = (struct sigv4_request){ "POST", path, NULL, h, 3, body,
	    strlen(body), NULL };
	cr = (struct sigv4_creds){ c->creds->access_key, c->creds->secret_key,
	    c->creds->session_token };
	pa = (struct sigv4_params){ c->region, "secretsmanager", date, 1, 0 };
	if (sigv4_sign(&rq, &cr, &pa, &authz, NULL, NULL, err, errlen) == -1)
		goto out;
	out->url = xasprintf("%s://%s%s", https ? "https" : "http", authority,
	    path);
	out->hdr[n++] = xasprintf("Host: %s", authority);
	out->hdr[n++] = xstrdup("Content-Type: " CONTENT_TYPE);
	out->hdr[n++] = xstrdup("X-Amz-Target: " TARGET);
	out->hdr[n++] = xasprintf("X-Amz-Date: %s", date);
	if (c->creds->session_token != NULL)
		out->hdr[n++] = xasprintf("X-Amz-Security-Token: %s",
		    c->creds->session_token);
	out->hdr[n++] = xasprintf("Authorization: %s", authz);
	rc = 0;
out:
	free(authz);
	free(authority);
	free(host);
	free(path);
	free(base);
	return rc;
}

static int
retryable(const struct awshttp_resp *r)
{
	if (r->status == 0 || r->status >= 500 || r->status == 429)
		return 1;
	return r->error_type != NULL &&
	    strcmp(r->error_type, "ThrottlingException") == 0;
}

enum sm_result
sm_get_secret_value(const struct sm_client *c, const char *secret_id,
    struct sm_answer *out, char *err, size_t errlen)
{
	struct awshttp_resp	 r;
	struct signed_req	 s;
	cJSON			*req;
	char			*body;
	enum sm_result		 res = SM_ERROR;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	req = json_strings("SecretId", secret_id, NULL);
	body = json_print(req);
	cJSON_Delete(req);
	for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
		awshttp_resp_cleanup(&r);
		/* Signed per attempt: the date is part of the signature. */
		if (sign(c, body, &s, err, errlen) == -1)
			goto out;
		awshttp_do("POST", s.url, (const char *const *)s.hdr, body,
		    c->timeout_ms > 0 ? c->timeout_ms : 10000, &r);
		signed_req_cleanup(&s);
		if (!retryable(&r) || attempt == ATTEMPTS)
			break;
		sleep_ms(retry_delay_ms(&retry_quick, attempt, -1));
	}
	if (r.status == 0) {
		errorf(err, errlen, "GetSecretValue %s: %s", secret_id,
		    r.error);
		goto out;
	}
	res = sm_parse_answer(r.status, r.error_type, r.body, r.len, out);
	if (res == SM_SKIPPED || res == SM_ERROR)
		errorf(err, errlen, "GetSecretValue %s: %s%s%s (HTTP %ld)",
		    secret_id, out->code, out->message ? ": " : "",
		    out->message ? out->message : "", r.status);
out:
	if (r.body != NULL)
		OPENSSL_cleanse(r.body, r.len);
	awshttp_resp_cleanup(&r);
	free(body);
	return res;
}
