/*
 * awscall.h: the one request shape Secrets Manager, ECS, CloudWatch Logs
 * (JSON 1.1) and EC2 (query) share: a POST to the service's endpoint,
 * signed with SigV4 per attempt (the date is part of the signature) and
 * tried three times on transport errors, 5xx and throttling; and the
 * error code and message their answers carry. S3 signs REST calls of
 * its own shape (aws/s3.h). Blocking, one exchange bounded by timeout_ms.
 */
#ifndef AWS_AWSCALL_H
#define AWS_AWSCALL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "aws/awshttp.h"
#include "aws/credentials.h"

struct aws_client {
	const char		*region;	/* required */
	const char		*endpoint;	/* NULL: https://<service>.
						   <region>.amazonaws.com */
	const struct aws_creds	*creds;
	long			 timeout_ms;	/* 0: 10 s */
};

/*
 * A service's endpoint as boto3 finds it: given (a client's endpoint_url)
 * first, then AWS_ENDPOINT_URL_<service_id> (botocore's service id, upper
 * case, spaces as underscores: "ECS", "EC2", "CLOUDWATCH_LOGS",
 * "SECRETS_MANAGER"), then AWS_ENDPOINT_URL. NULL: AWS's own. Caller
 * frees.
 */
char	*aws_endpoint_url(const char *given, const char *service_id);

/*
 * POSTs body (Content-Type ctype, X-Amz-Target target unless NULL) to
 * service. 0 with *out the last attempt's answer (caller cleans it up;
 * status 0 when nothing answered), or -1 with err when it cannot be
 * signed (never key material).
 */
int	aws_signed_post(const struct aws_client *, const char *service,
	    const char *ctype, const char *target, const char *body,
	    struct awshttp_resp *out, char *err, size_t errlen);

/*
 * The error of a non-200 answer: *code from the JSON "__type", XML
 * <Code> or X-Amzn-ErrorType (namespace and URL suffix dropped), and
 * *message from "message"/"Message" or <Message>; each NULL when the
 * answer has none (caller frees). Fuzzable.
 */
void	aws_answer_error(const char *body, size_t len, const char *error_type,
	    char **code, char **message);

/* The values of every <tag>...</tag> in an XML text, in order (fuzzable). */
cJSON	*aws_xml_values(const char *xml, size_t len, const char *tag);

#endif
