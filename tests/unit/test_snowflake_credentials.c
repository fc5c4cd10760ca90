/*
 * test_snowflake_credentials.c: dlt's SnowflakeCredentials
 * (load/snowflake_credentials.c): the snowflake:// connection string
 * with dlt's query parameters, the table form through a real resolver
 * over a temporary project, dlt's defaults and checks, pfagent's
 * protocol and host:port, a private key from a path, and every secret
 * recorded and never printed (the key's forms are snowflake/jwt.c's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "config/cfg.h"
#include "load/snowflake_credentials.h"
#include "t.h"
#include "t_files.h"

static char	root[64];

static struct cfg *
resolver(void)
{
	struct cfg_opts	 o = { root, NULL, NULL, NULL, 1, NULL };
	char		 err[4096], *global = xasprintf("%s/home/.dlt", root);
	struct cfg	*c;

	o.global_dir = global;
	if ((c = cfg_new(&o, err, sizeof(err))) == NULL)
		printf("# cfg_new: %s\n", err);
	free(global);
	return c;
}

static int
has(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

static int
is_secret(struct cfg *cfg, const char *value)
{
	size_t	  n;
	char	**sv = cfg_secret_values(cfg, &n);
	int	  found = 0;

	for (size_t i = 0; i < n; i++)
		found |= strcmp(sv[i], value) == 0;
	cfg_strv_free(sv);
	return found;
}

static void
test_parse(void)
{
	struct sfc_credentials	 c;
	char			 err[512], *loc;

	TEST("dlt's connection string: account, database, query fields") {
		memset(&c, 0, sizeof(c));
		CHECK(sfc_url_parse("snowflake://loader:s3cr%40t@kgiotue-wn98412"
		    "/DLT_DATA?warehouse=COMPUTE_WH&role=DLT_LOADER_ROLE&"
		    "authenticator=snowflake&other=x", &c, err,
		    sizeof(err)) == 0);
		CHECK_STR(c.username, "loader");
		CHECK_STR(c.password, "s3cr@t");
		CHECK_STR(c.host, "kgiotue-wn98412");
		CHECK_STR(c.database, "DLT_DATA");
		CHECK_STR(c.warehouse, "COMPUTE_WH");
		CHECK_STR(c.role, "DLT_LOADER_ROLE");
		CHECK_STR(c.authenticator, "snowflake");
		CHECK(c.port == 0 && c.protocol == NULL);
		loc = sfc_credentials_location(&c);
		CHECK_STR(loc, "snowflake://loader:***@kgiotue-wn98412/DLT_DATA");
		free(loc);
		sfc_credentials_cleanup(&c);
	}
	TEST("a loopback peer: host with a port, protocol in the query") {
		memset(&c, 0, sizeof(c));
		CHECK(sfc_url_parse("snowflake://u:p@127.0.0.1:8085/DB?"
		    "protocol=http", &c, err, sizeof(err)) == 0);
		CHECK_STR(c.host, "127.0.0.1");
		CHECK(c.port == 8085);
		CHECK_STR(c.protocol, "http");
		loc = sfc_credentials_location(&c);
		CHECK_STR(loc, "snowflake://u:***@127.0.0.1:8085/DB");
		free(loc);
		sfc_credentials_cleanup(&c);
	}
	TEST("not a connection string: dlt's text, never the value") {
		memset(&c, 0, sizeof(c));
		CHECK(sfc_url_parse("nonsense-secret", &c, err,
		    sizeof(err)) == -1);
		CHECK(has(err, "snowflake://username:password@host:port/"
		    "database"));
		CHECK(!has(err, "nonsense-secret"));
		sfc_credentials_cleanup(&c);
	}
}

static void
test_private_key(void)
{
	const char	*pem = "-----BEGIN PRIVATE KEY-----\nMIIEvAIBADAN\n"
	    "-----END PRIVATE KEY-----\n";
	char		 err[512], *toml;

	TEST("private_key_path is read, and the key is a secret") {
		struct sfc_credentials	 c;
		struct cfg		*cfg;

		t_put(root, "key.pem", pem);
		toml = xasprintf("[destination.warehouse.credentials]\n"
		    "database = \"DB\"\nhost = \"acc\"\nusername = \"svc\"\n"
		    "private_key_path = \"%s/key.pem\"\n", root);
		t_put(root, ".dlt/secrets.toml", toml);
		free(toml);
		cfg = resolver();
		CHECK(sfc_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    sizeof(err)) == 0);
		CHECK_STR(c.private_key, pem);
		CHECK_STR(c.authenticator, "snowflake_jwt");
		CHECK(is_secret(cfg, pem));
		sfc_credentials_cleanup(&c);
		cfg_free(cfg);
	}
	TEST("a private_key_path that cannot be read: dlt's message") {
		struct sfc_credentials	 c;
		struct cfg		*cfg;

		t_put(root, ".dlt/secrets.toml",
		    "[destination.warehouse.credentials]\n"
		    "database = \"DB\"\nhost = \"acc\"\nusername = \"svc\"\n"
		    "private_key_path = \"/nonexistent/key.p8\"\n");
		cfg = resolver();
		CHECK(sfc_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    sizeof(err)) == -1);
		CHECK_STR(err, "Make sure that `private_key` in dlt recognized "
		    "format is at `/nonexistent/key.p8`. Note that binary "
		    "formats are not supported");
		cfg_free(cfg);
	}
}

static void
test_resolve(void)
{
	struct sfc_credentials	 c;
	struct cfg		*cfg;
	char			*err = xmalloc(16384);

	TEST("the seed's table: fields, dlt's defaults, password secret") {
		t_put(root, ".dlt/secrets.toml",
		    "[destination.warehouse.credentials]\n"
		    "database = \"DLT\"\nwarehouse = \"LOADING\"\n"
		    "role = \"SVC_DLT\"\nusername = \"SVC_DLT\"\n"
		    "password = \" pw-sf-1 \"\n"
		    "host = \"orgname-accountname.snowflakecomputing.com\"\n");
		cfg = resolver();
		CHECK(sfc_credentials_resolve(cfg, "warehouse", "p", &c, err,
		    16384) == 0);
		CHECK_STR(c.database, "DLT");
		CHECK_STR(c.warehouse, "LOADING");
		CHECK_STR(c.role, "SVC_DLT");
		CHECK_STR(c.password, "pw-sf-1");
		CHECK_STR(c.host, "orgname-accountname.snowflakecomputing.com");
		CHECK_STR(c.authenticator, "snowflake");
		CHECK_STR(c.protocol, "https");
		CHECK_STR(c.application, "dltHub_dlt");
		CHECK_STR(c.session_timezone, "UTC");
		CHECK(is_secret(cfg, "pw-sf-1"));
		sfc_credentials_cleanup(&c);
		cfg_free(cfg);
	}
	TEST("a connection string, the password from the environment") {
		t_put(root, ".dlt/secrets.toml", "[destination.warehouse]\n"
		    "credentials = \"snowflake://svc@acc/DB?warehouse=W\"\n");
		setenv("DESTINATION__WAREHOUSE__CREDENTIALS__PASSWORD",
		    "env-pw-sf", 1);
		setenv("DESTINATION__WAREHOUSE__CREDENTIALS__PROTOCOL", "HTTP",
		    1);
		setenv("DESTINATION__WAREHOUSE__CREDENTIALS__PORT", "9000", 1);
		cfg = resolver();
		CHECK(sfc_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == 0);
		CHECK_STR(c.password, "env-pw-sf");
		CHECK_STR(c.warehouse, "W");
		CHECK_STR(c.protocol, "http");
		CHECK(c.port == 9000);
		sfc_credentials_cleanup(&c);
		cfg_free(cfg);
		unsetenv("DESTINATION__WAREHOUSE__CREDENTIALS__PASSWORD");
		unsetenv("DESTINATION__WAREHOUSE__CREDENTIALS__PROTOCOL");
		unsetenv("DESTINATION__WAREHOUSE__CREDENTIALS__PORT");
	}
	TEST("a missing host: where it was looked for, no values") {
		t_put(root, ".dlt/secrets.toml",
		    "[destination.warehouse.credentials]\n"
		    "database = \"DB\"\nusername = \"u\"\n"
		    "password = \"pw-hidden-sf\"\n");
		cfg = resolver();
		CHECK(sfc_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == -1);
		CHECK(has(err, "`host`"));
		CHECK(has(err, "DESTINATION__WAREHOUSE__CREDENTIALS__HOST"));
		CHECK(!has(err, "pw-hidden-sf"));
		cfg_free(cfg);
	}
	TEST("password login without a password: dlt's message") {
		t_put(root, ".dlt/secrets.toml",
		    "[destination.warehouse.credentials]\n"
		    "database = \"DB\"\nusername = \"u\"\nhost = \"acc\"\n");
		cfg = resolver();
		CHECK(sfc_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == -1);
		CHECK_STR(err, "`SnowflakeCredentials` requires `username` and "
		    "`password` to be specified when using `snowflake` "
		    "(username/password) authentication.");
		cfg_free(cfg);
	}
	TEST("an authenticator or protocol pfagent does not speak") {
		t_put(root, ".dlt/secrets.toml",
		    "[destination.warehouse.credentials]\n"
		    "database = \"DB\"\nusername = \"u\"\nhost = \"acc\"\n"
		    "password = \"pw\"\nauthenticator = \"externalbrowser\"\n");
		cfg = resolver();
		CHECK(sfc_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == -1);
		CHECK(has(err, "authenticator `externalbrowser`"));
		cfg_free(cfg);
		t_put(root, ".dlt/secrets.toml",
		    "[destination.warehouse.credentials]\n"
		    "database = \"DB\"\nusername = \"u\"\nhost = \"acc\"\n"
		    "password = \"pw\"\nprotocol = \"ftp\"\n");
		cfg = resolver();
		CHECK(sfc_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == -1);
		CHECK(has(err, "protocol `ftp`"));
		cfg_free(cfg);
	}
	TEST("a connection string that does not parse: not shown") {
		t_put(root, ".dlt/secrets.toml", "[destination.warehouse]\n"
		    "credentials = \"oops-secret-sf\"\n");
		cfg = resolver();
		CHECK(sfc_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == -1);
		CHECK(has(err, "`SnowflakeCredentials` cannot parse the "
		    "configuration value provided"));
		CHECK(!has(err, "oops-secret-sf"));
		cfg_free(cfg);
	}
	free(err);
}

int
main(void)
{
	char	 tmpl[] = "/tmp/pfagent-sfcred-XXXXXX";
	char	*cmd;

	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(root, sizeof(root), "%s", tmpl);
	unsetenv("WORKSPACE__PROFILE");
	unsetenv("DLT_PROJECT_DIR");
	unsetenv("DLT_DATA_DIR");
	unsetenv("DLT_CONFIG_FOLDER");
	test_parse();
	test_private_key();
	test_resolve();
	cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
	free(cmd);
	return t_done();
}
