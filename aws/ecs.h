/*
 * ecs.h: the ECS API (JSON 1.1: POST /, X-Amz-Target:
 * AmazonEC2ContainerServiceV20141113.<Action>) and the two EC2 queries
 * prefect-aws's ECS worker makes to find a VPC's subnets (DescribeVpcs,
 * DescribeSubnets: the query protocol, XML answers), signed with SigV4
 * (aws/sigv4.h), and CloudWatch Logs' GetLogEvents for stream_output
 * (the same JSON 1.1 call), each through aws/awscall.h.
 */
#ifndef AWS_ECS_H
#define AWS_ECS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "aws/awscall.h"

/*
 * Calls an ECS action with a JSON request body. 0 with *answer the
 * parsed JSON answer (caller deletes), or -1 with err "Action: Code:
 * message (HTTP n)" (never key material). Transport errors, 5xx and
 * throttling are tried three times.
 */
int	ecs_call(const struct aws_client *, const char *action,
	    const cJSON *request, cJSON **answer, char *err, size_t errlen);

/*
 * CloudWatch Logs GetLogEvents (JSON 1.1, X-Amz-Target
 * Logs_20140328.GetLogEvents, service "logs") from the stream's head, or
 * from token (an answer's nextForwardToken). 0 with *answer (caller
 * deletes: events[], nextForwardToken); 1 when the group or stream does
 * not exist (yet); -1 with err as ecs_call's.
 */
int	logs_get_events(const struct aws_client *, const char *group,
	    const char *stream, const char *token, cJSON **answer, char *err,
	    size_t errlen);

/*
 * The subnet ids of a VPC as prefect-aws finds them: vpc_id NULL means
 * the default VPC (DescribeVpcs isDefault=true). 0 with *subnets a JSON
 * array of strings (caller deletes); -1 with err, in prefect-aws's
 * words when the VPC or its subnets are missing.
 */
int	ec2_vpc_subnets(const struct aws_client *, const char *vpc_id,
	    char **found_vpc, cJSON **subnets, char *err, size_t errlen);

#endif
