/*
 * ecs.c: ECS actions and the EC2 subnet lookup, signed (see ecs.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/ecs.h"
#include "common/json.h"
#include "common/util.h"

#define ECS_TARGET	"AmazonEC2ContainerServiceV20141113."
#define LOGS_TARGET	"Logs_20140328."
#define JSON_TYPE	"application/x-amz-json-1.1"
#define FORM_TYPE	"application/x-www-form-urlencoded; charset=utf-8"

/* The service's error: "Action: Code: message (HTTP n)". */
static void
answer_error(const char *action, const struct awshttp_resp *r, char *err,
    size_t errlen)
{
	char	*code, *msg;

	if (r->status == 0) {
		errorf(err, errlen, "%s: %s", action, r->error);
		return;
	}
	aws_answer_error(r->body, r->len, r->error_type, &code, &msg);
	errorf(err, errlen, "%s: %s%s%s (HTTP %ld)", action,
	    code ? code : "error", msg ? ": " : "", msg ? msg : "", r->status);
	free(code);
	free(msg);
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
	if (aws_signed_post(c, service, JSON_TYPE, target, body, &r, err, errlen) == -1)
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
	if (aws_signed_post(c, "ec2", FORM_TYPE, NULL, body, &r, err, errlen) == -1)
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
