/*
 * test_config.c: the resolver (config/cfg.h), one test per dlt rule.
 * Each test builds a workspace in a temporary directory, sets the
 * environment it needs and removes it again.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"
#include "common/util.h"
#include "t.h"
#include "t_files.h"

static char	root[64];
static char	errbuf[16384];

/* A fresh workspace: .dlt/.workspace, no other file. */
static void
fresh(int workspace)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/.dlt %s/home", root, root);
	if (system(cmd) != 0)
		abort();
	t_put(root, ".dlt/.keep", "");
	if (workspace)
		t_put(root, ".dlt/.workspace", "");
}

static struct cfg *
open_cfg(const char *profile)
{
	struct cfg_opts	 o = { root, NULL, profile, NULL, 0, NULL };
	char		*global = xasprintf("%s/home/.dlt", root);
	struct cfg	*c;

	o.global_dir = global;
	c = cfg_new(&o, errbuf, sizeof(errbuf));
	free(global);
	return c;
}

/* Resolves sections.key; returns the value's text or NULL (caller frees). */
static char *
get(struct cfg *c, const char *sections, const char *key,
    const char *pipeline, int flags, const char **provider)
{
	struct cfg_field f = { sections, key, NULL, pipeline, NULL, CFG_ANY,
	    flags, NULL };
	struct cfg_value v;
	char		*s = NULL;

	if (cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == 0 &&
	    v.value != NULL) {
		s = cfg_value_text(&v, 1);
		if (provider != NULL)
			*provider = v.provider;
	}
	cfg_value_cleanup(&v);
	return s;
}

static int
check_get(struct cfg *c, const char *sections, const char *key,
    const char *pipeline, const char *want, const char *want_provider)
{
	const char	*prov = NULL;
	char		*v = get(c, sections, key, pipeline, 0, &prov);
	int		 ok = v != NULL && strcmp(v, want) == 0 &&
	    (want_provider == NULL || (prov && !strcmp(prov, want_provider)));

	if (!ok)
		printf("#   got %s from %s, want %s from %s\n", v ? v : "NULL",
		    prov ? prov : "-", want,
		    want_provider ? want_provider : "-");
	free(v);
	return ok;
}

static void
test_precedence(void)
{
	struct cfg	*c;

	TEST("env beats secrets.toml beats config.toml") {
		fresh(1);
		t_put(root, ".dlt/config.toml", "[sources.s]\nbase_url = \"cfg\"\n");
		t_put(root, ".dlt/secrets.toml", "[sources.s]\nbase_url = \"sec\"\n");
		setenv("SOURCES__S__BASE_URL", "env", 1);
		c = open_cfg(NULL);
		CHECK(c != NULL);
		CHECK(check_get(c, "sources.s", "base_url", NULL, "env",
		    "Environment Variables"));
		unsetenv("SOURCES__S__BASE_URL");
		CHECK(check_get(c, "sources.s", "base_url", NULL, "sec",
		    "secrets.toml"));
		cfg_free(c);
		t_drop(root, ".dlt/secrets.toml");
		c = open_cfg(NULL);
		CHECK(check_get(c, "sources.s", "base_url", NULL, "cfg",
		    "config.toml"));
		cfg_free(c);
	}
	TEST("a profile file beats the plain file, key by key") {
		fresh(1);
		t_put(root, ".dlt/config.toml", "[destination.warehouse]\n"
		    "destination_type = \"duckdb\"\ndataset = \"plain\"\n");
		t_put(root, ".dlt/prod.config.toml", "[destination.warehouse]\n"
		    "destination_type = \"snowflake\"\n");
		c = open_cfg("prod");
		CHECK(check_get(c, "destination.warehouse", "destination_type",
		    NULL, "snowflake", "config.toml"));
		CHECK(check_get(c, "destination.warehouse", "dataset", NULL,
		    "plain", NULL));
		cfg_free(c);
		c = open_cfg("dev");	/* prod's file is not dev's */
		CHECK(check_get(c, "destination.warehouse", "destination_type",
		    NULL, "duckdb", NULL));
		cfg_free(c);
	}
	TEST("profile files are ignored outside workspace mode") {
		fresh(0);
		t_put(root, ".dlt/config.toml", "[a]\nprofile_k = \"plain\"\n");
		t_put(root, ".dlt/dev.config.toml", "[a]\nprofile_k = \"dev\"\n");
		c = open_cfg(NULL);
		CHECK(check_get(c, "a", "profile_k", NULL, "plain", NULL));
		CHECK(cfg_workspace(c)->profile == NULL);
		cfg_free(c);
	}
}

static void
test_pipeline_and_sections(void)
{
	struct cfg	*c;

	TEST("a pipeline-prefixed key beats the unprefixed one") {
		fresh(1);
		t_put(root, ".dlt/secrets.toml", "[sources.s]\ns_token = \"plain\"\n"
		    "[p1.sources.s]\ns_token = \"p1\"\n");
		c = open_cfg(NULL);
		CHECK(check_get(c, "sources.s", "s_token", "p1", "p1", NULL));
		CHECK(check_get(c, "sources.s", "s_token", "p2", "plain",
		    NULL));
		CHECK(check_get(c, "sources.s", "s_token", NULL, "plain",
		    NULL));
		/* Any scoped value beats any unscoped one, env included. */
		setenv("SOURCES__S__S_TOKEN", "env", 1);
		CHECK(check_get(c, "sources.s", "s_token", "p1", "p1",
		    "secrets.toml"));
		setenv("P1__S_TOKEN", "bare", 1);
		CHECK(check_get(c, "sources.s", "s_token", "p1", "bare",
		    "Environment Variables"));
		unsetenv("P1__S_TOKEN");
		unsetenv("SOURCES__S__S_TOKEN");
		cfg_free(c);
	}
	TEST("section fallback: the rightmost section is dropped") {
		fresh(1);
		t_put(root, ".dlt/config.toml", "[sources]\ns_limit = 5\n");
		c = open_cfg(NULL);
		CHECK(check_get(c, "sources.s.r", "s_limit", NULL, "5", NULL));
		cfg_free(c);
		t_put(root, ".dlt/config.toml", "s_limit = 7\n");
		c = open_cfg(NULL);
		CHECK(check_get(c, "sources.s.r", "s_limit", NULL, "7", NULL));
		cfg_free(c);
	}
	TEST("every path of one provider before the next provider") {
		struct cfg_field f = { "destination.pg", "password",
		    "credentials", NULL, NULL, CFG_STR, CFG_SECRET, NULL };
		struct cfg_value v;

		fresh(1);
		t_put(root, ".dlt/secrets.toml", "[destination.pg.credentials]\n"
		    "password = \"file\"\n");
		setenv("CREDENTIALS__PASSWORD", "short-env", 1);
		c = open_cfg(NULL);
		CHECK(cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == 0);
		CHECK_STR(cfg_value_str(&v), "short-env");
		CHECK_STR(v.key, "CREDENTIALS__PASSWORD");
		cfg_value_cleanup(&v);
		unsetenv("CREDENTIALS__PASSWORD");
		CHECK(cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == 0);
		CHECK_STR(cfg_value_str(&v), "file");
		CHECK_STR(v.key, "destination.pg.credentials.password");
		cfg_value_cleanup(&v);
		cfg_free(c);
	}
	TEST("compact sources path is the third candidate") {
		struct cfg_field f = { "sources.notion.notion_databases",
		    "api_key", NULL, NULL, NULL, CFG_STR, CFG_SECRET, NULL };
		struct cfg_value v;
		const char	*want = "  (Environment Variables, "
		    "SOURCES__NOTION__NOTION_DATABASES__API_KEY)\n"
		    "  (Environment Variables, SOURCES__NOTION__API_KEY)\n"
		    "  (Environment Variables, "
		    "SOURCES__NOTION_DATABASES__API_KEY)\n"
		    "  (Environment Variables, SOURCES__API_KEY)\n"
		    "  (Environment Variables, API_KEY)\n";

		fresh(1);
		c = open_cfg(NULL);
		CHECK(cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == -1);
		CHECK(strstr(errbuf, want) != NULL);
		cfg_free(c);
	}
}

static int	hooked;

static void
hook(const char *value, void *arg)
{
	(void)arg;
	hooked += strcmp(value, "k-secret") == 0;
}

static void
test_secrets(void)
{
	struct cfg	*c;
	char		*v;

	TEST("a secret field in config.toml is refused, clearly") {
		fresh(1);
		t_put(root, ".dlt/config.toml", "[sources.s]\npassword = \"pw-123\"\n"
		    "s_user = \"u\"\n");
		c = open_cfg(NULL);
		v = get(c, "sources.s", "password", NULL, CFG_SECRET, NULL);
		CHECK(v == NULL);
		CHECK(strstr(errbuf, "Provider `config.toml` cannot hold secret"
		    " values but key `sources.s.password` with secret value is "
		    "present") != NULL);
		CHECK(strstr(errbuf, "pw-123") == NULL);
		free(v);
		/* The same key is fine as a plain config value. */
		CHECK(check_get(c, "sources.s", "s_user", NULL, "u", NULL));
		cfg_free(c);
	}
	TEST("secret values are recorded, masked and hooked") {
		char	**sv, *m;
		size_t	  n;

		fresh(1);
		t_put(root, ".dlt/secrets.toml", "[sources.s]\napi_key = \"k-secret\"\n"
		    "[sources.s.credentials]\nuser = \"alice-in-secrets\"\n");
		t_put(root, ".dlt/config.toml",
		    "[sources.s]\ns_base = \"public-url\"\n");
		c = open_cfg(NULL);
		cfg_set_secret_hook(c, hook, NULL);
		free(get(c, "sources.s", "api_key", NULL, CFG_SECRET, NULL));
		free(get(c, "sources.s", "api_key", NULL, CFG_SECRET, NULL));
		CHECK(hooked == 1);	/* once per value */
		free(get(c, "sources.s", "s_base", NULL, 0, NULL));
		free(get(c, "sources.s", "credentials", NULL, CFG_SECRET,
		    NULL));
		sv = cfg_secret_values(c, &n);
		CHECK(n == 2);
		CHECK(n == 2 && strcmp(sv[0], "alice-in-secrets") == 0);
		CHECK(n == 2 && strcmp(sv[1], "k-secret") == 0);
		cfg_strv_free(sv);
		m = cfg_mask(c, "key=k-secret url=public-url");
		CHECK_STR(m, "key=**** url=public-url");
		free(m);
		cfg_free(c);
	}
	TEST("Docker/Kubernetes secret files, for secret fields only") {
		struct cfg_opts	 o = { NULL, NULL, NULL, NULL, 0, NULL };
		char		*dir = xasprintf("%s/run-secrets", root);
		char		*gd = xasprintf("%s/home/.dlt", root);

		fresh(1);
		t_put(root, "run-secrets/sources--s--api-key", "from-file\n");
		o.run_dir = root;
		o.global_dir = gd;
		o.secrets_dir = dir;
		unsetenv("SOURCES__S__API_KEY");
		c = cfg_new(&o, errbuf, sizeof(errbuf));
		v = get(c, "sources.s", "api_key", NULL, CFG_SECRET, NULL);
		CHECK_STR(v, "from-file\n");
		CHECK(getenv("SOURCES__S__API_KEY") == NULL);
		free(v);
		CHECK(get(c, "sources.s", "api_key", NULL, 0, NULL) == NULL);
		cfg_free(c);
		free(dir);
		free(gd);
	}
}

static void
test_missing(void)
{
	struct cfg_field f = { "sources.s", "api_key", NULL, "p", "S",
	    CFG_STR, CFG_SECRET, NULL };
	struct cfg_value v;
	struct cfg	*c;
	const char	*want = "Missing 1 field(s) in configuration `S`: "
	    "`api_key`\n"
	    "for field `api_key` the following (config provider, key) were "
	    "tried in order:\n"
	    "  (Environment Variables, P__SOURCES__S__API_KEY)\n"
	    "  (Environment Variables, P__SOURCES__API_KEY)\n"
	    "  (Environment Variables, P__API_KEY)\n"
	    "  (secrets.toml, p.sources.s.api_key)\n"
	    "  (secrets.toml, p.sources.api_key)\n"
	    "  (secrets.toml, p.api_key)\n"
	    "  (Environment Variables, SOURCES__S__API_KEY)\n"
	    "  (Environment Variables, SOURCES__API_KEY)\n"
	    "  (Environment Variables, API_KEY)\n"
	    "  (secrets.toml, sources.s.api_key)\n"
	    "  (secrets.toml, sources.api_key)\n"
	    "  (secrets.toml, api_key)\n"
	    "\nActive profile: `prod`\n"
	    "Provider `secrets.toml` loaded values from locations:\n";

	TEST("a missing value lists every place looked, in order, and the "
	    "profile") {
		fresh(1);
		t_put(root, ".dlt/secrets.toml", "[other]\nx = 1\n");
		c = open_cfg("prod");
		CHECK(cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == -1);
		CHECK(strncmp(errbuf, want, strlen(want)) == 0);
		CHECK(strstr(errbuf, "Provider `secrets.toml` probed but not "
		    "found the following locations:\n\t- ") != NULL);
		CHECK(strstr(errbuf, "/.dlt/prod.secrets.toml\n") != NULL);
		CHECK(strstr(errbuf, "/home/.dlt/secrets.toml\n") != NULL);
		CHECK(strstr(errbuf, "WARNING: provider `config.toml` is "
		    "empty. Locations (i.e., files) are missing or empty.\n") !=
		    NULL);
		cfg_free(c);
	}
	TEST("defaults and optional fields") {
		struct cfg_field d = { "a", "n_default", NULL, NULL, NULL,
		    CFG_INT, 0, "12" };
		long long	 n = 0;

		fresh(1);
		c = open_cfg(NULL);
		CHECK(cfg_resolve(c, &d, &v, errbuf, sizeof(errbuf)) == 0);
		CHECK(cfg_value_int(&v, &n) == 0 && n == 12);
		CHECK_STR(v.provider, "default");
		cfg_value_cleanup(&v);
		d.def = NULL;
		d.flags = CFG_OPTIONAL;
		CHECK(cfg_resolve(c, &d, &v, errbuf, sizeof(errbuf)) == 0);
		CHECK(v.value == NULL);
		cfg_free(c);
	}
	TEST("a TOML syntax error names the provider and the file") {
		fresh(1);
		t_put(root, ".dlt/config.toml", "[a\n");
		c = open_cfg(NULL);
		CHECK(c == NULL);
		CHECK(strstr(errbuf, "A problem encountered when loading "
		    "config.toml from paths [") != NULL);
		CHECK(strstr(errbuf, "/.dlt/config.toml:1:") != NULL);
	}
}

static int
typed(struct cfg *c, const char *env, enum cfg_type t, const char *want)
{
	struct cfg_field f = { "typed", "typed_value", NULL, NULL, NULL, t, 0,
	    NULL };
	struct cfg_value v;
	char		*s = NULL;
	int		 ok;

	setenv("TYPED__TYPED_VALUE", env, 1);
	if (cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == 0)
		s = cfg_value_text(&v, 1);
	ok = want == NULL ? s == NULL : s != NULL && !strcmp(s, want);
	if (!ok)
		printf("#   '%s' -> %s, want %s\n", env, s ? s : "error",
		    want ? want : "error");
	cfg_value_cleanup(&v);
	free(s);
	unsetenv("TYPED__TYPED_VALUE");
	return ok;
}

static void
test_types(void)
{
	struct cfg	*c;

	TEST("typed values: text from the environment is coerced as dlt") {
		fresh(1);
		c = open_cfg(NULL);
		CHECK(typed(c, " 42 ", CFG_INT, "42"));
		CHECK(typed(c, "0x1F", CFG_INT, "31"));
		CHECK(typed(c, "1_000", CFG_INT, "1000"));
		CHECK(typed(c, "4.5", CFG_INT, NULL));
		CHECK(typed(c, "2.5", CFG_FLOAT, "2.5"));
		CHECK(typed(c, "3", CFG_FLOAT, "3.0"));
		CHECK(typed(c, "Yes", CFG_BOOL, "true"));
		CHECK(typed(c, "f", CFG_BOOL, "false"));
		CHECK(typed(c, "maybe", CFG_BOOL, NULL));
		CHECK(strstr(errbuf, "Configured value for field `typed_value` "
		    "cannot be coerced into type `<class 'bool'>` (provider: "
		    "Environment Variables, key: TYPED__TYPED_VALUE)") != NULL);
		CHECK(strstr(errbuf, "maybe") == NULL);
		CHECK(typed(c, "{\"use_ssl\": true}", CFG_JSON,
		    "{\"use_ssl\":true}"));
		CHECK(typed(c, "[\"a\",1]", CFG_JSON, "[\"a\",1]"));
		CHECK(typed(c, "\"text\"", CFG_JSON, NULL));
		CHECK(typed(c, "TRUE", CFG_AUTO, "true"));
		CHECK(typed(c, "17", CFG_AUTO, "17"));
		CHECK(typed(c, "1.5", CFG_AUTO, "1.5"));
		CHECK(typed(c, "[1, 2]", CFG_AUTO, "[1,2]"));
		CHECK(typed(c, "yes", CFG_AUTO, "yes"));
		cfg_free(c);
	}
	TEST("typed values: TOML keeps its types, tables are dicts") {
		struct cfg_field f = { "n", "big_int", NULL, NULL, NULL,
		    CFG_INT, 0, NULL };
		struct cfg_value v;
		long long	 n = 0;

		fresh(1);
		t_put(root, ".dlt/config.toml", "[normalize]\nmax_table_nesting = 1\n"
		    "[n]\nbig_int = 9007199254740993\nsmall_int = 5\n"
		    "flag_bool = true\n[n.table]\na = 1\n");
		c = open_cfg(NULL);
		CHECK(cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == 0);
		CHECK(cfg_value_int(&v, &n) == 0 && n == 9007199254740993LL);
		cfg_value_cleanup(&v);
		f.key = "small_int";
		f.type = CFG_STR;
		CHECK(cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == 0);
		CHECK_STR(cfg_value_str(&v), "5");
		cfg_value_cleanup(&v);
		f.key = "flag_bool";
		CHECK(cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == 0);
		CHECK_STR(cfg_value_str(&v), "True");
		cfg_value_cleanup(&v);
		f.key = "table";
		f.type = CFG_JSON;
		CHECK(cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == 0);
		CHECK(cJSON_IsObject(v.value));
		cfg_value_cleanup(&v);
		f.type = CFG_INT;
		CHECK(cfg_resolve(c, &f, &v, errbuf, sizeof(errbuf)) == -1);
		CHECK(check_get(c, "normalize", "max_table_nesting", NULL, "1",
		    "config.toml"));
		cfg_free(c);
	}
}

static void
test_global(void)
{
	struct cfg	*c;
	char		*home = xasprintf("%s/home", root), *g;

	TEST("~/.dlt: the global dir by dlt's rule") {
		fresh(1);
		mkdir_p(home, 0755);
		g = ws_global_dir_for(1000, home, NULL);
		CHECK(g != NULL && strncmp(g, home, strlen(home)) == 0 &&
		    strcmp(g + strlen(home), "/.dlt") == 0);
		free(g);
		g = ws_global_dir_for(0, home, NULL);
		CHECK_STR(g, "/var/dlt");
		free(g);
		g = ws_global_dir_for(1000, home, "/xdg");
		CHECK_STR(g, "/xdg/dlt");	/* no ~/.dlt yet */
		free(g);
	}
	TEST("~/.dlt files sit under the project's, key by key") {
		fresh(1);
		t_put(root, "home/.dlt/config.toml", "[a]\ng_x = \"global\"\n"
		    "g_y = \"global\"\n");
		t_put(root, "home/.dlt/dev.config.toml", "[a]\ng_z = \"global-dev\"\n");
		t_put(root, "home/.dlt/secrets.toml", "[a]\ng_token = \"g-tok\"\n");
		t_put(root, ".dlt/config.toml", "[a]\ng_x = \"project\"\n");
		c = open_cfg(NULL);
		CHECK(check_get(c, "a", "g_x", NULL, "project", NULL));
		CHECK(check_get(c, "a", "g_y", NULL, "global", "config.toml"));
		CHECK(check_get(c, "a", "g_z", NULL, "global-dev", NULL));
		CHECK(check_get(c, "a", "g_token", NULL, "g-tok",
		    "secrets.toml"));
		cfg_free(c);
	}
	free(home);
}

int
main(void)
{
	char	tmpl[] = "/tmp/test-config-XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(root, sizeof(root), "%s", tmpl);
	unsetenv("WORKSPACE__PROFILE");
	unsetenv("DLT_PROJECT_DIR");
	unsetenv("DLT_DATA_DIR");
	unsetenv("DLT_LOCAL_DIR");
	unsetenv("DLT_CONFIG_FOLDER");
	test_precedence();
	test_pipeline_and_sections();
	test_secrets();
	test_missing();
	test_types();
	test_global();
	{
		char	cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		if (system(cmd) != 0)
			return 1;
	}
	return t_done();
}
