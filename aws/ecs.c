/*
 * ecs.c: ECS actions and the EC2 subnet lookup, signed (see ecs.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "aws/awshttp.h"
#include "aws/ecs.h"
#include "aws/sigv4.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/retry.h"
#include "common/util.h"

#define ATTEMPTS	3
#define ECS_TARGET	"AmazonEC2ContainerServiceV20141113."
#define LOGS_TARGET	"Logs_20140328."
#define JSON_TYPE	"application/x-amz-json-1.1"
#define FORM_TYPE	"application/x-www-form-urlencoded; charset=utf-8"

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

/* Signed per attempt: the date is part of the signature. */
static int
post(const struct aws_client *c, const char *service, const char *ctype,
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

/* The service's error: "Code: message (HTTP n)". */
static void
answer_error(const char *action, const struct awshttp_resp *r, char *err,
    size_t errlen)
{
	cJSON		*j = r->body ? cJSON_ParseWithLength(r->body, r->len) :
			    NULL;
	char		*code = NULL, *msg = NULL;
	const char	*s;

	if (r->status == 0) {
		errorf(err, errlen, "%s: %s", action, r->error);
		cJSON_Delete(j);
		return;
	}
	if (cJSON_IsObject(j)) {
		if ((s = json_str(j, "__type")) != NULL)
			code = bare_code(s);
		if ((s = json_str(j, "message")) != NULL ||
		    (s = json_str(j, "Message")) != NULL)
			msg = xstrdup(s);
	} else if (r->body != NULL) {
		cJSON *c = aws_xml_values(r->body, r->len, "Code");
		cJSON *m = aws_xml_values(r->body, r->len, "Message");

		if (cJSON_GetArraySize(c) > 0)
			code = bare_code(cJSON_GetArrayItem(c, 0)->valuestring);
		if (cJSON_GetArraySize(m) > 0)
			msg = xstrdup(cJSON_GetArrayItem(m, 0)->valuestring);
		cJSON_Delete(c);
		cJSON_Delete(m);
	}
	if (code == NULL && r->error_type != NULL)
		code = bare_code(r->error_type);
	errorf(err, errlen, "%s: %s%s%s (HTTP %ld)", action,
	    code ? code : "error", msg ? ": " : "", msg ? msg : "", r->status);
	free(code);
	free(msg);
	cJSON_Delete(j);
}

/* One JSON 1.1 action of service (X-Amz-Target: prefix + action). */
static int
json_call(const struct aws_client *c, const char *service, const char *prefix,
    const char *action, const cJSON *request, cJSON **answer, char *err,
    size_t errlen)
{
	struct awshttp_resp	 r;
	char			*body = json_print(request);
	char			*target = xasprintf("%s%s", prefix, action);
	int			 rc = -1;

	*answer = NULL;
	if (post(c, service, JSON_TYPE, target, body, &r, err, errlen) == -1)
		goto out;
	if (r.status != 200) {
		answer_error(action, &r, err, errlen);
		goto out;
	}
	if ((*answer = cJSON_ParseWithLength(r.body, r.len)) == NULL ||
	    !cJSON_IsObject(*answer)) {
		cJSON_Delete(*answer);
		*answer = NULL;
		errorf(err, errlen, "%s: the answer is not a JSON object",
		    action);
		goto out;
	}
	rc = 0;
out:
	awshttp_resp_cleanup(&r);
	free(body);
	free(target);
	return rc;
}

int
ecs_call(const struct aws_client *c, const char *action, const cJSON *request,
    cJSON **answer, char *err, size_t errlen)
{
	return json_call(c, "ecs", ECS_TARGET, action, request, answer, err,
	    errlen);
}

int
logs_get_events(const struct aws_client *c, const char *group,
    const char *stream, const char *token, cJSON **answer, char *err,
    size_t errlen)
{
	cJSON	*req = json_strings("logGroupName", group, "logStreamName",
	    stream, NULL);
	int	 rc;

	if (token != NULL)
		cJSON_AddStringToObject(req, "nextToken", token);
	cJSON_AddBoolToObject(req, "startFromHead", 1);
	rc = json_call(c, "logs", LOGS_TARGET, "GetLogEvents", req, answer,
	    err, errlen);
	cJSON_Delete(req);
	/* The awslogs driver makes the stream with the first line. */
	if (rc == -1 && strstr(err, ": ResourceNotFoundException") != NULL)
		rc = 1;
	return rc;
}

/* One EC2 query action; the XML answer's values of tag. */
static int
ec2_values(const struct aws_client *c, const char *action, const char *params,
    const char *tag, cJSON **values, char *err, size_t errlen)
{
	struct awshttp_resp	 r;
	char			*body = xasprintf("Action=%s&Version=2016-11-15%s",
	    action, params);
	int			 rc = -1;

	*values = NULL;
	if (post(c, "ec2", FORM_TYPE, NULL, body, &r, err, errlen) == -1)
		goto out;
	if (r.status != 200) {
		answer_error(action, &r, err, errlen);
		goto out;
	}
	*values = aws_xml_values(r.body ? r.body : "", r.len, tag);
	rc = 0;
out:
	awshttp_resp_cleanup(&r);
	free(body);
	return rc;
}

static int
url_safe(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

int
ec2_vpc_subnets(const struct aws_client *c, const char *vpc_id,
    char **found_vpc, cJSON **subnets, char *err, size_t errlen)
{
	cJSON		*vpcs = NULL;
	char		*params, *what;
	int		 rc = -1;

	*subnets = NULL;
	*found_vpc = NULL;
	if (vpc_id != NULL && !url_safe(vpc_id))
		return errorf(err, errlen, "vpc_id '%s' is not a VPC id",
		    vpc_id);
	what = vpc_id ? xasprintf("VPC with ID %s", vpc_id) :
	    xstrdup("the default VPC");
	params = vpc_id ? xasprintf("&VpcId.1=%s", vpc_id) :
	    xstrdup("&Filter.1.Name=isDefault&Filter.1.Value.1=true");
	if (ec2_values(c, "DescribeVpcs", params, "vpcId", &vpcs, err,
	    errlen) == -1)
		goto out;
	if (cJSON_GetArraySize(vpcs) == 0) {
		errorf(err, errlen, "Failed to find %s. Network configuration "
		    "cannot be inferred. %s", what, vpc_id ? "Check that the "
		    "VPC exists in the current region." : "Pass an explicit "
		    "`vpc_id` or configure a default VPC.");
		goto out;
	}
	*found_vpc = xstrdup(cJSON_GetArrayItem(vpcs, 0)->valuestring);
	free(params);
	params = xasprintf("&Filter.1.Name=vpc-id&Filter.1.Value.1=%s",
	    *found_vpc);
	if (ec2_values(c, "DescribeSubnets", params, "subnetId", subnets, err,
	    errlen) == -1)
		goto out;
	if (cJSON_GetArraySize(*subnets) == 0) {
		errorf(err, errlen, "Failed to find subnets for %s. Network "
		    "configuration cannot be inferred.", what);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		cJSON_Delete(*subnets);
		*subnets = NULL;
		free(*found_vpc);
		*found_vpc = NULL;
	}
	cJSON_Delete(vpcs);
	free(params);
	free(what);
	return rc;
}
