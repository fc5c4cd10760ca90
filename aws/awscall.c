/*
 * awscall.c: the signed POST with its retries, and the error an answer
 * carries (see awscall.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "aws/awscall.h"
#include "aws/sigv4.h"
#include "common/json.h"
#include "common/retry.h"
#include "common/util.h"

#define ATTEMPTS	3

char *
aws_endpoint_url(const char *given, const char *service_id)
{
	char		 name[64];
	const char	*v = given;

	snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", service_id);
	if (v == NULL || *v == '\0')
		v = getenv(name);
	if (v == NULL || *v == '\0')
		v = getenv("AWS_ENDPOINT_URL");
	return v != NULL && *v != '\0' ? xstrdup(v) : NULL;
}

struct signed_req {
	char	*url;
	char	*hdr[8];	/* "Name: value", NULL-terminated */
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

/* A POST to the service's endpoint, signed for SigV4 header auth. */
static int
sign_post(const struct aws_client *c, const char *service,
    const char *ctype, const char *target, const char *body,
    struct signed_req *out, char *err, size_t errlen)
{
	struct sigv4_header	 h[3];
	struct sigv4_request	 rq;
	struct sigv4_creds	 cr;
	struct sigv4_params	 pa;
	char			 date[17], *authz = NULL, *authority, *host,
				*path, *base;
	int			 https, n = 0, nh = 0, rc = -1;

	memset(out, 0, sizeof(*out));
	base = c->endpoint != NULL ? xstrdup(c->endpoint) :
	    xasprintf("https://%s.%s.amazonaws.com", service, c->region);
	if (awshttp_split_url(base, &https, &authority, &host, &path) == -1) {
		free(base);
		return errorf(err, errlen, "endpoint URL is not an http(s) "
		    "URL");
	}
	if (sigv4_amz_date(time(NULL), date) == -1) {
		errorf(err, errlen, "the clock is out of range");
		goto out;
	}
	h[nh++] = (struct sigv4_header){ "host", authority };
	h[nh++] = (struct sigv4_header){ "content-type", ctype };
	if (target != NULL)
		h[nh++] = (struct sigv4_header){ "x-amz-target", target };
	rq = (struct sigv4_request){ "POST", path, NULL, h, (size_t)nh, body,
	    strlen(body), NULL };
	cr = (struct sigv4_creds){ c->creds->access_key, c->creds->secret_key,
	    c->creds->session_token };
	pa = (struct sigv4_params){ c->region, service, date, 1, 0 };
	if (sigv4_sign(&rq, &cr, &pa, &authz, NULL, NULL, err, errlen) == -1)
		goto out;
	out->url = xasprintf("%s://%s%s", https ? "https" : "http", authority,
	    path);
	out->hdr[n++] = xasprintf("Host: %s", authority);
	out->hdr[n++] = xasprintf("Content-Type: %s", ctype);
	if (target != NULL)
		out->hdr[n++] = xasprintf("X-Amz-Target: %s", target);
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

int
aws_signed_post(const struct aws_client *c, const char *service, const char *ctype,
    const char *target, const char *body, struct awshttp_resp *r, char *err,
    size_t errlen)
{
	struct signed_req	s;

	memset(r, 0, sizeof(*r));
	for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
		awshttp_resp_cleanup(r);
		if (sign_post(c, service, ctype, target, body, &s, err,
		    errlen) == -1)
			return -1;
		awshttp_do("POST", s.url, (const char *const *)s.hdr, body,
		    c->timeout_ms > 0 ? c->timeout_ms : 10000, r);
		signed_req_cleanup(&s);
		if (!retryable(r) || attempt == ATTEMPTS)
			break;
		sleep_ms(retry_delay_ms(&retry_quick, attempt, -1));
	}
	return 0;
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

void
aws_answer_error(const char *body, size_t len, const char *error_type,
    char **code, char **message)
{
	cJSON		*j = len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
	const char	*s;

	*code = *message = NULL;
	if (cJSON_IsObject(j)) {
		if ((s = json_str(j, "__type")) != NULL)
			*code = bare_code(s);
		if ((s = json_str(j, "message")) != NULL ||
		    (s = json_str(j, "Message")) != NULL)
			*message = xstrdup(s);
	} else if (len > 0) {
		cJSON	*c = aws_xml_values(body, len, "Code");
		cJSON	*m = aws_xml_values(body, len, "Message");

		if (cJSON_GetArraySize(c) > 0)
			*code = bare_code(cJSON_GetArrayItem(c, 0)->valuestring);
		if (cJSON_GetArraySize(m) > 0)
			*message = xstrdup(
			    cJSON_GetArrayItem(m, 0)->valuestring);
		cJSON_Delete(c);
		cJSON_Delete(m);
	}
	cJSON_Delete(j);
	if (*code == NULL && error_type != NULL && *error_type != '\0')
		*code = bare_code(error_type);
}

cJSON *
aws_xml_values(const char *xml, size_t len, const char *tag)
{
	cJSON		*arr = cJSON_CreateArray();
	char		 open[64], close[64];
	const char	*p = xml, *end = xml + len, *s, *e;
	size_t		 ol, cl;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	ol = strlen(open);
	cl = strlen(close);
	while (p != NULL && p + ol <= end) {
		for (s = p; s + ol <= end && memcmp(s, open, ol) != 0; s++)
			;
		if (s + ol > end)
			break;
		s += ol;
		for (e = s; e + cl <= end && memcmp(e, close, cl) != 0; e++)
			;
		if (e + cl > end)
			break;
		char *v = xasprintf("%.*s", (int)(e - s), s);
		cJSON_AddItemToArray(arr, cJSON_CreateString(v));
		free(v);
		p = e + cl;
	}
	return arr;
}
