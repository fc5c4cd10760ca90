/*
 * test_aws_credentials.c: the AWS credential chain and region
 * (aws/credentials.h), without network: the container endpoint's
 * answer and URL rules are tested here, its HTTP exchange in
 * tests/integration/test_config.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "common/util.h"
#include "t.h"
#include "t_files.h"

static char	home[64];
static char	err[1024];

static const char *const vars[] = {
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
	"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_REGION",
	"AWS_DEFAULT_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", NULL
};

static void
clean_env(void)
{
	for (size_t i = 0; vars[i] != NULL; i++)
		unsetenv(vars[i]);
	setenv("HOME", home, 1);
}

static void
test_chain(void)
{
	struct aws_creds	 c;
	struct aws_creds_config	 cc = { NULL, NULL, NULL, NULL };

	TEST("no credentials anywhere: 1, and the places tried") {
		clean_env();
		CHECK(aws_creds_resolve(&cc, &c, err, sizeof(err)) == 1);
		CHECK(strstr(err, "no AWS credentials found") != NULL);
		CHECK(strstr(err, "AWS_ACCESS_KEY_ID") != NULL);
		CHECK(strstr(err, "/.aws/credentials") != NULL);
	}
	TEST("the environment, with a session token") {
		clean_env();
		setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
		setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
		setenv("AWS_SESSION_TOKEN", "env-token", 1);
		CHECK(aws_creds_resolve(&cc, &c, err, sizeof(err)) == 0);
		CHECK_STR(c.access_key, "AKIDENV");
		CHECK_STR(c.secret_key, "env-secret");
		CHECK_STR(c.session_token, "env-token");
		CHECK(strstr(c.source, "environment") != NULL);
		aws_creds_cleanup(&c);
	}
	TEST("partial environment keys are an error naming the variable") {
		clean_env();
		setenv("AWS_SECRET_ACCESS_KEY", "only-secret", 1);
		CHECK(aws_creds_resolve(&cc, &c, err, sizeof(err)) == -1);
		CHECK(strstr(err, "missing: AWS_ACCESS_KEY_ID") != NULL);
		CHECK(strstr(err, "only-secret") == NULL);
	}
	TEST("configured keys beat the environment") {
		struct aws_creds_config k = { "AKIDCONF", "conf-secret", NULL,
		    NULL };

		clean_env();
		setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
		setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
		CHECK(aws_creds_resolve(&k, &c, err, sizeof(err)) == 0);
		CHECK_STR(c.access_key, "AKIDCONF");
		CHECK(c.session_token == NULL);
		aws_creds_cleanup(&c);
	}
	TEST("~/.aws/credentials profiles: AWS_PROFILE, then default") {
		clean_env();
		t_put(home, ".aws/credentials", "# comment\n[default]\n"
		    "aws_access_key_id = AKIDDEF\n"
		    "aws_secret_access_key = def-secret\n\n"
		    "[ci]\nAWS_ACCESS_KEY_ID=AKIDCI\n"
		    "aws_secret_access_key=ci-secret\n"
		    "aws_session_token = ci-token\n");
		CHECK(aws_creds_resolve(&cc, &c, err, sizeof(err)) == 0);
		CHECK_STR(c.access_key, "AKIDDEF");
		CHECK(strstr(c.source, "[default]") != NULL);
		aws_creds_cleanup(&c);
		setenv("AWS_PROFILE", "ci", 1);
		CHECK(aws_creds_resolve(&cc, &c, err, sizeof(err)) == 0);
		CHECK_STR(c.access_key, "AKIDCI");
		CHECK_STR(c.session_token, "ci-token");
		aws_creds_cleanup(&c);
	}
	TEST("an explicit profile skips the environment (botocore)") {
		struct aws_creds_config p = { NULL, NULL, NULL, "ci" };

		setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
		setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
		CHECK(aws_creds_resolve(&p, &c, err, sizeof(err)) == 0);
		CHECK_STR(c.access_key, "AKIDCI");
		aws_creds_cleanup(&c);
		clean_env();
	}
	TEST("AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE profiles") {
		char	*path = xasprintf("%s/other-creds", home);

		clean_env();
		t_put(home, "other-creds", "[x]\naws_access_key_id = AKIDX\n");
		setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
		setenv("AWS_PROFILE", "x", 1);
		CHECK(aws_creds_resolve(&cc, &c, err, sizeof(err)) == -1);
		CHECK(strstr(err, "partial credentials") != NULL);
		t_put(home, "other-creds", "");
		t_put(home, ".aws/config", "[profile x]\naws_access_key_id = AKIDCFG\n"
		    "aws_secret_access_key = cfg-secret\nregion = eu-west-2\n");
		CHECK(aws_creds_resolve(&cc, &c, err, sizeof(err)) == 0);
		CHECK_STR(c.access_key, "AKIDCFG");
		aws_creds_cleanup(&c);
		free(path);
		clean_env();
	}
}

static void
test_container(void)
{
	struct aws_creds	 c;
	char			*url, *auth, *path;

	TEST("the container endpoint's documented JSON answer") {
		const char	*ok = "{\"AccessKeyId\":\"ASIAX\","
		    "\"SecretAccessKey\":\"s3cr3t\",\"Token\":\"tok\","
		    "\"Expiration\":\"2030-01-02T03:04:05Z\","
		    "\"RoleArn\":\"r\"}";

		CHECK(aws_creds_parse_container(ok, strlen(ok), &c, err,
		    sizeof(err)) == 0);
		CHECK_STR(c.access_key, "ASIAX");
		CHECK_STR(c.secret_key, "s3cr3t");
		CHECK_STR(c.session_token, "tok");
		CHECK(c.expiration == 1893553445);
		CHECK(aws_creds_stale(&c, 1893553445 - 10));
		CHECK(!aws_creds_stale(&c, 1893553445 - 3600));
		aws_creds_cleanup(&c);
		CHECK(aws_creds_parse_container("{\"AccessKeyId\":\"A\"}", 20,
		    &c, err, sizeof(err)) == -1);
		CHECK(strstr(err, "SecretAccessKey") != NULL);
		CHECK(aws_creds_parse_container("[]", 2, &c, err,
		    sizeof(err)) == -1);
		CHECK(aws_creds_parse_container("{\"AccessKeyId\":\"A\","
		    "\"SecretAccessKey\":\"hidden\",\"Expiration\":\"soon\"}",
		    60, &c, err, sizeof(err)) == -1);
		CHECK(strstr(err, "hidden") == NULL);
	}
	TEST("RELATIVE_URI goes to 169.254.170.2") {
		clean_env();
		CHECK(aws_container_endpoint(&url, &auth, err,
		    sizeof(err)) == 1);
		setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/creds/x",
		    1);
		CHECK(aws_container_endpoint(&url, &auth, err,
		    sizeof(err)) == 0);
		CHECK_STR(url, "http://169.254.170.2/v2/creds/x");
		CHECK(auth == NULL);
		free(url);
		clean_env();
	}
	TEST("FULL_URI: https, or http to loopback and ECS/EKS hosts") {
		static const char *const good[] = {
			"http://127.0.0.1:9/c", "http://localhost/c",
			"http://[::1]:80/c", "http://169.254.170.23/v1",
			"http://[fd00:ec2::23]/c", "https://creds.example/c",
			NULL };
		static const char *const bad[] = {
			"http://10.0.0.1/c", "http://example.com/c",
			"ftp://127.0.0.1/c", "http://user@127.0.0.1/c", NULL };

		clean_env();
		for (size_t i = 0; good[i] != NULL; i++) {
			setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", good[i],
			    1);
			CHECK(aws_container_endpoint(&url, &auth, err,
			    sizeof(err)) == 0);
			free(url);
		}
		for (size_t i = 0; bad[i] != NULL; i++) {
			setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad[i], 1);
			CHECK(aws_container_endpoint(&url, &auth, err,
			    sizeof(err)) == -1);
		}
	}
	TEST("the authorization token: file first, trimmed, one line") {
		setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
		    "http://127.0.0.1:9/c", 1);
		setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-tok", 1);
		CHECK(aws_container_endpoint(&url, &auth, err,
		    sizeof(err)) == 0);
		CHECK_STR(auth, "env-tok");
		free(url);
		free(auth);
		t_put(home, "tok", "file-tok\n");
		path = xasprintf("%s/tok", home);
		setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
		CHECK(aws_container_endpoint(&url, &auth, err,
		    sizeof(err)) == 0);
		CHECK_STR(auth, "file-tok");
		free(url);
		free(auth);
		t_put(home, "tok", "a\nb\n");
		CHECK(aws_container_endpoint(&url, &auth, err,
		    sizeof(err)) == -1);
		CHECK(strstr(err, "legal header value") != NULL);
		free(path);
		clean_env();
	}
}

static void
test_region(void)
{
	char	*r;

	TEST("region: configured, AWS_REGION, AWS_DEFAULT_REGION, profile") {
		clean_env();
		t_put(home, ".aws/config", "[default]\nregion = ap-south-1\n"
		    "[profile p]\nregion = sa-east-1\n");
		r = aws_region_resolve(NULL, NULL);
		CHECK_STR(r, "ap-south-1");
		free(r);
		r = aws_region_resolve(NULL, "p");
		CHECK_STR(r, "sa-east-1");
		free(r);
		setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
		r = aws_region_resolve(NULL, NULL);
		CHECK_STR(r, "eu-central-1");
		free(r);
		setenv("AWS_REGION", "us-west-2", 1);
		r = aws_region_resolve(NULL, NULL);
		CHECK_STR(r, "us-west-2");
		free(r);
		r = aws_region_resolve("eu-west-2", NULL);
		CHECK_STR(r, "eu-west-2");
		free(r);
		clean_env();
	}
	TEST("times: Z, fractions and offsets") {
		time_t	t;

		CHECK(aws_parse_time("1970-01-01T00:01:00Z", &t) == 0 &&
		    t == 60);
		CHECK(aws_parse_time("1970-01-01T01:00:00.123+01:00", &t) ==
		    0 && t == 0);
		CHECK(aws_parse_time("yesterday", &t) == -1);
	}
}

int
main(void)
{
	char	tmpl[] = "/tmp/test-aws-XXXXXX", cmd[128];

	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(home, sizeof(home), "%s", tmpl);
	test_chain();
	test_container();
	test_region();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
	if (system(cmd) != 0)
		return 1;
	return t_done();
}
