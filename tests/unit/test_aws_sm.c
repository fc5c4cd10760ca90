/*
 * test_aws_sm.c: Secrets Manager answers as AWS and moto give them
 * (aws/secretsmanager.h), classified by error code, URL splitting for
 * endpoints (aws/awshttp.h), and each service's endpoint as boto3 finds
 * it (aws/awscall.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/awshttp.h"
#include "aws/secretsmanager.h"
#include "t.h"

static enum sm_result
parse(long status, const char *type, const char *body, struct sm_answer *a)
{
	return sm_parse_answer(status, type, body, strlen(body), a);
}

static void
test_answers(void)
{
	struct sm_answer	a;

	TEST("200: SecretString, or SecretBinary when it is text") {
		CHECK(parse(200, NULL, "{\"ARN\":\"arn\",\"Name\":\"n\","
		    "\"SecretString\":\"{\\\"api_key\\\":\\\"k\\\"}\"}", &a) ==
		    SM_FOUND);
		CHECK_STR(a.secret, "{\"api_key\":\"k\"}");
		sm_answer_cleanup(&a);
		CHECK(parse(200, NULL, "{\"SecretBinary\":\"aMOpbGxv\"}", &a) ==
		    SM_FOUND);
		CHECK_STR(a.secret, "h\xc3\xa9llo");
		sm_answer_cleanup(&a);
		CHECK(parse(200, NULL, "{\"SecretBinary\":\"/wA=\"}", &a) ==
		    SM_NOT_FOUND);
		sm_answer_cleanup(&a);
		CHECK(parse(200, NULL, "<html>", &a) == SM_ERROR);
		sm_answer_cleanup(&a);
	}
	TEST("not found: AWS 400 and moto 404 with the same __type") {
		CHECK(parse(400, NULL, "{\"__type\":\"com.amazonaws."
		    "secretsmanager#ResourceNotFoundException\","
		    "\"Message\":\"gone\"}", &a) == SM_NOT_FOUND);
		CHECK_STR(a.code, "ResourceNotFoundException");
		sm_answer_cleanup(&a);
		CHECK(parse(404, "ResourceNotFoundException", "{\"__type\": "
		    "\"ResourceNotFoundException\", \"message\": \"Secrets "
		    "Manager can't find the specified secret.\"}", &a) ==
		    SM_NOT_FOUND);
		CHECK_STR(a.message, "Secrets Manager can't find the specified "
		    "secret.");
		sm_answer_cleanup(&a);
	}
	TEST("moto's XML errors: a bad signature is an error") {
		CHECK(parse(403, NULL, "<ErrorResponse><Errors><Error><Code>"
		    "SignatureDoesNotMatch</Code><Message>The request "
		    "signature "
		    "we calculated does not match</Message><Type>Sender</Type>"
		    "</Error></Errors></ErrorResponse>", &a) == SM_ERROR);
		CHECK_STR(a.code, "SignatureDoesNotMatch");
		sm_answer_cleanup(&a);
		CHECK(parse(400, NULL,
		    "{\"__type\":\"InvalidSignatureException\"}", &a) ==
		    SM_ERROR);
		sm_answer_cleanup(&a);
	}
	TEST("dlt's skipped codes (warning, treated as missing)") {
		CHECK(parse(400, NULL, "{\"__type\":\"AccessDeniedException\"}",
		    &a) == SM_SKIPPED);
		sm_answer_cleanup(&a);
		CHECK(parse(403, NULL, "<E><Code>InvalidClientTokenId</Code>"
		    "</E>", &a) == SM_SKIPPED);
		sm_answer_cleanup(&a);
		CHECK(parse(400, NULL, "{\"__type\":\"DecryptionFailure\"}",
		    &a) == SM_SKIPPED);
		sm_answer_cleanup(&a);
	}
	TEST("the error header, and bodies with nothing to go by") {
		CHECK(parse(400, "UnrecognizedClientException", "", &a) ==
		    SM_SKIPPED);
		sm_answer_cleanup(&a);
		CHECK(parse(502, NULL, "bad gateway", &a) == SM_ERROR);
		CHECK_STR(a.code, "HTTP502");
		sm_answer_cleanup(&a);
	}
}

static void
test_urls(void)
{
	char	*auth, *host, *path;
	int	 https;

	TEST("endpoint URLs: authority as sent in Host, host, path") {
		CHECK(awshttp_split_url("http://127.0.0.1:5000", &https, &auth,
		    &host, &path) == 0);
		CHECK(!https);
		CHECK_STR(auth, "127.0.0.1:5000");
		CHECK_STR(host, "127.0.0.1");
		CHECK_STR(path, "/");
		free(auth);
		free(host);
		free(path);
		CHECK(awshttp_split_url("https://[::1]:8443/sm?x=1", &https,
		    &auth, &host, &path) == 0);
		CHECK(https);
		CHECK_STR(host, "::1");
		CHECK_STR(path, "/sm");
		free(auth);
		free(host);
		free(path);
		CHECK(awshttp_split_url("https://u:p@h/", &https, &auth, &host,
		    &path) == -1);
		CHECK(awshttp_split_url("file:///x", &https, &auth, &host,
		    &path) == -1);
		CHECK(awshttp_split_url("http://", &https, &auth, &host,
		    &path) == -1);
	}
}

static void
test_endpoints(void)
{
	char	*e;

	TEST("endpoints: given, then AWS_ENDPOINT_URL_<service id>, then "
	    "AWS_ENDPOINT_URL") {
		unsetenv("AWS_ENDPOINT_URL");
		unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS");
		CHECK(aws_endpoint_url(NULL, "CLOUDWATCH_LOGS") == NULL);
		setenv("AWS_ENDPOINT_URL", "http://all", 1);
		e = aws_endpoint_url("", "CLOUDWATCH_LOGS");
		CHECK_STR(e, "http://all");
		free(e);
		setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://logs", 1);
		e = aws_endpoint_url(NULL, "CLOUDWATCH_LOGS");
		CHECK_STR(e, "http://logs");
		free(e);
		e = aws_endpoint_url(NULL, "ECS");
		CHECK_STR(e, "http://all");
		free(e);
		e = aws_endpoint_url("http://given", "CLOUDWATCH_LOGS");
		CHECK_STR(e, "http://given");
		free(e);
		unsetenv("AWS_ENDPOINT_URL");
		unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS");
	}
}

int
main(void)
{
	test_answers();
	test_urls();
	test_endpoints();
	return t_done();
}
