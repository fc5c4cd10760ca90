/*
 * test_sf_url.c: snowflake/url.h: the host forms dlt and the seed use
 * (an account identifier, orgname-accountname.snowflakecomputing.com),
 * host:port and the protocol for private links and loopback peers, the
 * account name the login sends, and query parameters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "snowflake/url.h"
#include "t.h"

static void
check(const char *host, const char *protocol, const char *base,
    const char *account)
{
	struct sf_url	u;
	char		err[256] = "";
	int		rc;

	rc = sf_url_parse(host, protocol, &u, err, sizeof(err));

	CHECK(rc == 0);
	if (rc == 0) {
		CHECK_STR(u.base, base);
		CHECK_STR(u.account, account);
		sf_url_cleanup(&u);
	} else
		printf("#   %s: %s\n", host, err);
}

static void
refused(const char *host, const char *protocol, const char *want)
{
	struct sf_url	u;
	char		err[256] = "";

	CHECK(sf_url_parse(host, protocol, &u, err, sizeof(err)) == -1);
	CHECK(strstr(err, want) != NULL);
	if (strstr(err, want) == NULL)
		printf("#   %s: %s\n", host ? host : "(null)", err);
}

int
main(void)
{
	TEST("an account identifier gets Snowflake's domain") {
		check("xy12345.eu-west-1", NULL,
		    "https://xy12345.eu-west-1.snowflakecomputing.com",
		    "xy12345");
		check("xy12345", "https",
		    "https://xy12345.snowflakecomputing.com", "xy12345");
		check("myorg-myaccount", NULL,
		    "https://myorg-myaccount.snowflakecomputing.com",
		    "myorg-myaccount");
		check("xy12345.us-east-2.aws", "HTTPS",
		    "https://xy12345.us-east-2.aws.snowflakecomputing.com",
		    "xy12345");
	}
	TEST("China regions get the .cn domain, as the connector does") {
		check("xy12345.cn-north-1", NULL,
		    "https://xy12345.cn-north-1.snowflakecomputing.cn",
		    "xy12345");
	}
	TEST("a full Snowflake host is taken as it stands") {
		check("orgname-accountname.snowflakecomputing.com", NULL,
		    "https://orgname-accountname.snowflakecomputing.com",
		    "orgname-accountname");
		check("XY12345.eu-west-1.privatelink.snowflakecomputing.com",
		    NULL, "https://XY12345.eu-west-1.privatelink."
		    "snowflakecomputing.com", "XY12345");
		check("xy-12.global.snowflakecomputing.com", NULL,
		    "https://xy-12.global.snowflakecomputing.com", "xy");
	}
	TEST("host:port and protocol http, for private links and peers") {
		check("127.0.0.1:8080", "http", "http://127.0.0.1:8080",
		    "127.0.0.1");
		check("acct.privatelink.snowflakecomputing.com:8443", NULL,
		    "https://acct.privatelink.snowflakecomputing.com:8443",
		    "acct");
		check("proxy.internal:443", NULL, "https://proxy.internal:443",
		    "proxy");
		check("localhost", "http", "http://localhost", "localhost");
		check("[::1]:9000", "http", "http://[::1]:9000", "::1");
		check("10.0.0.5", NULL, "https://10.0.0.5", "10.0.0.5");
	}
	TEST("bad hosts and protocols: refused with a reason") {
		refused(NULL, NULL, "host is missing");
		refused("", NULL, "host is missing");
		refused("https://xy12345.snowflakecomputing.com", NULL,
		    "not a URL");
		refused("xy12345", "ftp", "protocol must be https or http");
		refused("a b", NULL, "is not allowed");
		refused("host:0", NULL, "port 1 to 65535");
		refused("host:65536", NULL, "port 1 to 65535");
		refused("host:", NULL, "port 1 to 65535");
		refused("a:1:2", NULL, "port 1 to 65535");
		refused("[::1", NULL, "no ']'");
		refused(":1", NULL, "is not host[:port]");
		refused("xy..eu", NULL, "neither an account identifier");
	}
	TEST("query parameters: ? then &, values percent-encoded, NULL none") {
		struct buf	b;

		buf_init(&b, 4096);
		buf_puts(&b, "/session/v1/login-request");
		sf_url_param(&b, "request_id", "r-1");
		sf_url_param(&b, "databaseName", "my db&x=1");
		sf_url_param(&b, "schemaName", NULL);
		sf_url_param(&b, "roleName", "Rôle");
		CHECK_STR(b.data, "/session/v1/login-request?request_id=r-1"
		    "&databaseName=my%20db%26x%3D1&roleName=R%C3%B4le");
		buf_cleanup(&b);
	}
	return t_done();
}
