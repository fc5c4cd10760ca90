/*
 * test_postgres_credentials.c: dlt's PostgresCredentials
 * (load/postgres_credentials.c): connection strings parsed as
 * SQLAlchemy's make_url, the table form and the mixed form resolved
 * through a real resolver over a temporary project, dlt's defaults,
 * its messages for a bad string and for missing fields, the password
 * recorded as a secret and never in the printed location.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "config/cfg.h"
#include "load/postgres_credentials.h"
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

static void
test_parse(void)
{
	struct pg_credentials	 c;
	char			 err[512], *loc;

	TEST("a full connection string") {
		memset(&c, 0, sizeof(c));
		CHECK(pg_url_parse("postgresql://loader:s3cr%40t@db.example:"
		    "6543/dlt_data?connect_timeout=5&sslmode=require", &c, err,
		    sizeof(err)) == 0);
		CHECK_STR(c.username, "loader");
		CHECK_STR(c.password, "s3cr@t");
		CHECK_STR(c.host, "db.example");
		CHECK(c.port == 6543);
		CHECK_STR(c.database, "dlt_data");
		CHECK(c.connect_timeout == 5);
		CHECK(c.nparams == 1);
		CHECK(c.nparams == 1 && !strcmp(c.params[0].key, "sslmode") &&
		    !strcmp(c.params[0].value, "require"));
		loc = pg_credentials_location(&c);
		CHECK_STR(loc, "postgresql://loader:***@db.example:6543/"
		    "dlt_data");
		free(loc);
		pg_credentials_cleanup(&c);
	}
	TEST("a partial string leaves fields unset") {
		memset(&c, 0, sizeof(c));
		CHECK(pg_url_parse("postgresql://loader@localhost/dlt_data",
		    &c, err, sizeof(err)) == 0);
		CHECK_STR(c.username, "loader");
		CHECK(c.password == NULL);
		CHECK(c.port == 0);
		CHECK_STR(c.host, "localhost");
		pg_credentials_cleanup(&c);
	}
	TEST("regex backtracking: '@' in the user, '/' in the password") {
		memset(&c, 0, sizeof(c));
		CHECK(pg_url_parse("postgres://a@b@h/d", &c, err,
		    sizeof(err)) == 0);
		CHECK_STR(c.username, "a@b");
		CHECK_STR(c.host, "h");
		pg_credentials_cleanup(&c);
		memset(&c, 0, sizeof(c));
		CHECK(pg_url_parse("postgresql://u:p/w?x@h:1/d", &c, err,
		    sizeof(err)) == 0);
		CHECK_STR(c.username, "u");
		CHECK_STR(c.password, "p/w?x");
		CHECK_STR(c.host, "h");
		CHECK(c.port == 1);
		pg_credentials_cleanup(&c);
	}
	TEST("an IPv6 host in brackets, printed back in brackets") {
		memset(&c, 0, sizeof(c));
		CHECK(pg_url_parse("postgresql://u:p@[::1]:5433/d", &c, err,
		    sizeof(err)) == 0);
		CHECK_STR(c.host, "::1");
		CHECK(c.port == 5433);
		loc = pg_credentials_location(&c);
		CHECK_STR(loc, "postgresql://u:***@[::1]:5433/d");
		free(loc);
		pg_credentials_cleanup(&c);
	}
	TEST("not a connection string: dlt's text, not the value") {
		memset(&c, 0, sizeof(c));
		CHECK(pg_url_parse("nonsense-secret", &c, err,
		    sizeof(err)) == -1);
		CHECK(has(err, "postgresql://username:password@host:port/"
		    "database"));
		CHECK(!has(err, "nonsense-secret"));
		pg_credentials_cleanup(&c);
		memset(&c, 0, sizeof(c));
		CHECK(pg_url_parse("postgresql://u:p@h:port/d", &c, err,
		    sizeof(err)) == -1);
		pg_credentials_cleanup(&c);
	}
}

static void
test_resolve(void)
{
	struct pg_credentials	 c;
	struct cfg		*cfg;
	char			*err = xmalloc(16384), **sv;
	size_t			 n;
	int			 masked;

	TEST("a connection string in secrets.toml, port from the string") {
		t_put(root, ".dlt/secrets.toml", "[destination.warehouse]\n"
		    "credentials = \"postgresql://loader:pw-abc123@h:6000/db\"\n");
		cfg = resolver();
		CHECK(pg_credentials_resolve(cfg, "warehouse", "p", &c, err,
		    16384) == 0);
		CHECK_STR(c.password, "pw-abc123");
		CHECK(c.port == 6000);
		CHECK(c.connect_timeout == 15);
		sv = cfg_secret_values(cfg, &n);
		masked = 0;
		for (size_t i = 0; i < n; i++)
			masked |= strcmp(sv[i], "pw-abc123") == 0;
		CHECK(masked);
		cfg_strv_free(sv);
		pg_credentials_cleanup(&c);
		cfg_free(cfg);
	}
	TEST("a string without password, the password from the env") {
		t_put(root, ".dlt/secrets.toml", "[destination.warehouse]\n"
		    "credentials = \"postgresql://loader@h/db\"\n");
		setenv("DESTINATION__WAREHOUSE__CREDENTIALS__PASSWORD",
		    "  env-pw-xyz \n", 1);
		cfg = resolver();
		CHECK(pg_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == 0);
		CHECK_STR(c.password, "env-pw-xyz");
		CHECK(c.port == 5432);
		pg_credentials_cleanup(&c);
		cfg_free(cfg);
		unsetenv("DESTINATION__WAREHOUSE__CREDENTIALS__PASSWORD");
	}
	TEST("what the string sets wins over a separate key") {
		t_put(root, ".dlt/secrets.toml", "[destination.warehouse]\n"
		    "credentials = \"postgresql://loader:a1b2c3d4@h/db\"\n");
		setenv("DESTINATION__WAREHOUSE__CREDENTIALS__HOST", "other", 1);
		cfg = resolver();
		CHECK(pg_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == 0);
		CHECK_STR(c.host, "h");
		pg_credentials_cleanup(&c);
		cfg_free(cfg);
		unsetenv("DESTINATION__WAREHOUSE__CREDENTIALS__HOST");
	}
	TEST("the table form with connect_timeout and a pipeline pass") {
		t_put(root, ".dlt/secrets.toml", "[destination.warehouse.credentials]\n"
		    "database = \"db\"\nusername = \"u\"\npassword = \"pw-t1\"\n"
		    "host = \"h\"\nport = 7000\nconnect_timeout = 3\n"
		    "[pipe.destination.warehouse.credentials]\n"
		    "database = \"db_of_pipe\"\n");
		cfg = resolver();
		CHECK(pg_credentials_resolve(cfg, "warehouse", "pipe", &c, err,
		    16384) == 0);
		CHECK_STR(c.database, "db_of_pipe");
		CHECK_STR(c.username, "u");
		CHECK(c.port == 7000);
		CHECK(c.connect_timeout == 3);
		pg_credentials_cleanup(&c);
		cfg_free(cfg);
	}
	TEST("a port or timeout that is no whole number in range fails") {
		t_put(root, ".dlt/secrets.toml", "[destination.warehouse.credentials]\n"
		    "database = \"db\"\nusername = \"u\"\npassword = \"pw-t2\"\n"
		    "host = \"h\"\n");
		setenv("DESTINATION__WAREHOUSE__CREDENTIALS__PORT", "70000", 1);
		cfg = resolver();
		CHECK(pg_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == -1);
		CHECK_STR(err, "Configured value for field `port` must be a "
		    "whole number from 1 to 65535 (provider: Environment "
		    "Variables, key: DESTINATION__WAREHOUSE__CREDENTIALS__PORT)");
		pg_credentials_cleanup(&c);
		cfg_free(cfg);
		setenv("DESTINATION__WAREHOUSE__CREDENTIALS__PORT", "5432", 1);
		setenv("DESTINATION__WAREHOUSE__CREDENTIALS__CONNECT_TIMEOUT",
		    "soon", 1);
		cfg = resolver();
		CHECK(pg_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == -1);
		CHECK_STR(err, "Configured value for field `connect_timeout` "
		    "cannot be coerced into type `<class 'int'>` (provider: "
		    "Environment Variables, key: "
		    "DESTINATION__WAREHOUSE__CREDENTIALS__CONNECT_TIMEOUT)");
		pg_credentials_cleanup(&c);
		cfg_free(cfg);
		unsetenv("DESTINATION__WAREHOUSE__CREDENTIALS__PORT");
		unsetenv("DESTINATION__WAREHOUSE__CREDENTIALS__CONNECT_TIMEOUT");
	}
	TEST("missing fields: dlt's message listing each, no values") {
		t_put(root, ".dlt/secrets.toml", "[destination.warehouse.credentials]\n"
		    "username = \"u\"\npassword = \"pw-hidden-9\"\n");
		cfg = resolver();
		CHECK(pg_credentials_resolve(cfg, "warehouse", "pgp", &c, err,
		    16384) == -1);
		CHECK(has(err, "Missing 1 field(s) in configuration "
		    "`PostgresClientConfiguration`: `credentials`\nfield "
		    "`credentials` is itself a configuration "
		    "`PostgresCredentials` with missing field(s): `database`, "
		    "`host`\n  for field `database` the following (config "
		    "provider, key) were tried in order:\n    (Environment "
		    "Variables, PGP__DESTINATION__WAREHOUSE__CREDENTIALS__"
		    "DATABASE)\n"));
		CHECK(has(err, "  for field `host` the following"));
		CHECK(has(err, "(Environment Variables, "
		    "CREDENTIALS__HOST)\n"));
		CHECK(has(err, "Learn more: https://dlthub.com/docs/"));
		CHECK(!has(err, "pw-hidden-9"));
		cfg_free(cfg);
	}
	TEST("a value that is no connection string: InvalidNativeValue") {
		t_put(root, ".dlt/secrets.toml", "[destination.warehouse]\n"
		    "credentials = \"nonsense-pw-123\"\n");
		cfg = resolver();
		CHECK(pg_credentials_resolve(cfg, "warehouse", NULL, &c, err,
		    16384) == -1);
		CHECK_STR(err, "`PostgresCredentials` cannot parse the "
		    "configuration value provided. The value is of type `str` "
		    "and comes from the sections `('credentials',)` Value may "
		    "be a secret and is not shown. Details:  The expected "
		    "representation for `PostgresCredentials` is a standard "
		    "database connection string with the following format: "
		    "`postgresql://username:password@host:port/database`");
		cfg_free(cfg);
	}
	TEST("a source's section holds the fields (sources.clever_cloud)") {
		t_put(root, ".dlt/secrets.toml", "[sources.clever_cloud]\n"
		    "host = \"pg.example\"\nport = 6543\ndatabase = \"shop\"\n"
		    "username = \"reader\"\npassword = \" pw-src-77 \"\n");
		cfg = resolver();
		CHECK(pg_credentials_resolve_source(cfg, "sources.clever_cloud",
		    "products", &c, err, 16384) == 0);
		CHECK_STR(c.host, "pg.example");
		CHECK(c.port == 6543);
		CHECK_STR(c.database, "shop");
		CHECK_STR(c.password, "pw-src-77");
		sv = cfg_secret_values(cfg, &n);
		masked = 0;
		for (size_t i = 0; i < n; i++)
			masked |= strcmp(sv[i], "pw-src-77") == 0;
		CHECK(masked);
		cfg_strv_free(sv);
		pg_credentials_cleanup(&c);
		cfg_free(cfg);
	}
	TEST("a source's connection string under <section>.credentials") {
		t_put(root, ".dlt/secrets.toml", "[sources.clever_cloud]\n"
		    "credentials = \"postgresql://r:pw-cs-1@h:7000/db\"\n");
		cfg = resolver();
		CHECK(pg_credentials_resolve_source(cfg, "sources.clever_cloud",
		    NULL, &c, err, 16384) == 0);
		CHECK_STR(c.username, "r");
		CHECK(c.port == 7000);
		pg_credentials_cleanup(&c);
		cfg_free(cfg);
	}
	TEST("a source's missing field: dlt's message for it, no values") {
		t_put(root, ".dlt/secrets.toml", "[sources.clever_cloud]\n"
		    "host = \"h\"\nusername = \"u\"\npassword = \"pw-s-2\"\n");
		cfg = resolver();
		CHECK(pg_credentials_resolve_source(cfg, "sources.clever_cloud",
		    "products", &c, err, 16384) == -1);
		CHECK(has(err, "`database`"));
		CHECK(has(err, "PRODUCTS__SOURCES__CLEVER_CLOUD__DATABASE"));
		CHECK(has(err, "SOURCES__CLEVER_CLOUD__DATABASE"));
		CHECK(!has(err, "pw-s-2"));
		cfg_free(cfg);
	}
	free(err);
}

int
main(void)
{
	char	 tmpl[] = "/tmp/pfagent-pgcred-XXXXXX";
	char	*cmd;

	if (mkdtemp(tmpl) == NULL)
		return 1;
	strlcpy_(root, tmpl, sizeof(root));
	unsetenv("WORKSPACE__PROFILE");
	unsetenv("DLT_PROJECT_DIR");
	unsetenv("DLT_DATA_DIR");
	unsetenv("DLT_CONFIG_FOLDER");
	test_parse();
	test_resolve();
	cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
	free(cmd);
	return t_done();
}
