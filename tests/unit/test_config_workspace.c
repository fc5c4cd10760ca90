/*
 * test_config_workspace.c: dlt's workspace run context
 * (config/workspace.h): profile selection, the profile's directories,
 * the pin file, the profile list and safe cleaning.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/cfg.h"
#include "config/workspace.h"
#include "common/util.h"
#include "t.h"
#include "t_files.h"

static char	root[64];
static char	err[1024];

static int
exists(const char *rel)
{
	char		*path = xasprintf("%s/%s", root, rel);
	struct stat	 st;
	int		 rc = stat(path, &st) == 0;

	free(path);
	return rc;
}

static const char *
profile_of(const char *explicit)
{
	static char		 name[64];
	struct cfg_workspace	 ws;

	if (ws_open(&ws, root, "/nonexistent-global", explicit, err,
	    sizeof(err)) == -1)
		return "error";
	snprintf(name, sizeof(name), "%s",
	    ws.profile ? ws.profile : "(none)");
	ws_cleanup(&ws);
	return name;
}

static void
test_selection(void)
{
	TEST("no .dlt/.workspace: classic mode, no profile") {
		t_put(root, ".dlt/config.toml", "");
		CHECK_STR(profile_of(NULL), "(none)");
	}
	TEST("profile selection: explicit > WORKSPACE__PROFILE > pin > dev") {
		t_put(root, ".dlt/.workspace", "");
		CHECK_STR(profile_of(NULL), "dev");
		t_put(root, ".dlt/profile-name", "  tests \nignored\n");
		CHECK_STR(profile_of(NULL), "tests");
		setenv("WORKSPACE__PROFILE", "prod", 1);
		CHECK_STR(profile_of(NULL), "prod");
		CHECK_STR(profile_of("access"), "access");
		setenv("WORKSPACE__PROFILE", "", 1);	/* empty: unset */
		CHECK_STR(profile_of(NULL), "tests");
		unsetenv("WORKSPACE__PROFILE");
		t_put(root, ".dlt/profile-name", "\n");
		CHECK_STR(profile_of(NULL), "dev");
	}
	TEST("a profile name that is not a file name is refused") {
		setenv("WORKSPACE__PROFILE", "../prod", 1);
		CHECK_STR(profile_of(NULL), "error");
		CHECK(strstr(err, "WORKSPACE__PROFILE") != NULL);
		unsetenv("WORKSPACE__PROFILE");
	}
}

static void
test_dirs(void)
{
	struct cfg_workspace	 ws;
	struct cfg		*c;
	struct cfg_opts		 o = { NULL, "/nonexistent-global", "prod",
	    NULL, 1, NULL };
	char			*want;

	TEST("a profile's data: .dlt/state/<profile>, .dlt/data/<profile>") {
		CHECK(ws_open(&ws, root, "/g", "prod", err, sizeof(err)) == 0);
		want = xasprintf("%s/.dlt/state/prod", root);
		CHECK_STR(ws.data_dir, want);
		free(want);
		want = xasprintf("%s/.dlt/data/prod", root);
		CHECK_STR(ws.local_dir, want);
		free(want);
		ws_cleanup(&ws);
	}
	TEST("[workspace.settings] and DLT_DATA_DIR move them") {
		t_put(root, ".dlt/prod.config.toml", "[workspace.settings]\n"
		    "local_dir = \"_local/prod\"\nname = \"wsname\"\n");
		o.run_dir = root;
		setenv("DLT_DATA_DIR", "/elsewhere", 1);
		c = cfg_new(&o, err, sizeof(err));
		CHECK(c != NULL);
		want = xasprintf("%s/_local/prod", root);
		CHECK_STR(cfg_workspace(c)->local_dir, want);
		free(want);
		CHECK_STR(cfg_workspace(c)->data_dir, "/elsewhere");
		CHECK_STR(cfg_workspace(c)->name, "wsname");
		unsetenv("DLT_DATA_DIR");
		cfg_free(c);
		t_drop(root, ".dlt/prod.config.toml");
	}
	TEST("a data home (a checkout's) takes what lives under the run dir") {
		o.run_dir = root;
		o.data_home = "/var/home-of-data";
		c = cfg_new(&o, err, sizeof(err));
		CHECK(c != NULL);
		CHECK_STR(cfg_workspace(c)->data_dir,
		    "/var/home-of-data/state/prod");
		CHECK_STR(cfg_workspace(c)->local_dir,
		    "/var/home-of-data/data/prod");
		cfg_free(c);
		/* Relative settings go under it; absolute ones and the
		   variables are kept. */
		t_put(root, ".dlt/prod.config.toml", "[workspace.settings]\n"
		    "local_dir = \"_local/prod\"\nworking_dir = \"/abs/wd\"\n");
		c = cfg_new(&o, err, sizeof(err));
		CHECK(c != NULL);
		CHECK_STR(cfg_workspace(c)->local_dir,
		    "/var/home-of-data/_local/prod");
		CHECK_STR(cfg_workspace(c)->data_dir, "/abs/wd");
		cfg_free(c);
		setenv("DLT_LOCAL_DIR", "/loc", 1);
		c = cfg_new(&o, err, sizeof(err));
		CHECK(c != NULL);
		CHECK_STR(cfg_workspace(c)->local_dir, "/loc");
		cfg_free(c);
		unsetenv("DLT_LOCAL_DIR");
		t_drop(root, ".dlt/prod.config.toml");
		/* Outside workspace mode: local data in the data home,
		   pipelines in the global dir, as dlt's. */
		t_drop(root, ".dlt/.workspace");
		c = cfg_new(&o, err, sizeof(err));
		CHECK(c != NULL);
		CHECK_STR(cfg_workspace(c)->local_dir, "/var/home-of-data");
		CHECK_STR(cfg_workspace(c)->data_dir, "/nonexistent-global");
		cfg_free(c);
		t_put(root, ".dlt/.workspace", "");
		o.data_home = NULL;
	}
}

static void
test_pin_and_list(void)
{
	struct cfg_workspace	 ws;
	struct ws_profile_info	*v;
	size_t			 n;

	TEST("pin writes .dlt/profile-name; the list marks profiles") {
		t_put(root, ".dlt/.workspace", "");
		t_drop(root, ".dlt/profile-name");
		t_put(root, ".dlt/access.secrets.toml", "");
		CHECK(ws_open(&ws, root, "/g", NULL, err, sizeof(err)) == 0);
		CHECK(ws_pin(&ws, "prod", err, sizeof(err)) == 0);
		ws_cleanup(&ws);
		CHECK(ws_open(&ws, root, "/g", NULL, err, sizeof(err)) == 0);
		CHECK_STR(ws.profile, "prod");
		CHECK(ws_profiles(&ws, &v, &n) == 0 && n == 4);
		CHECK(n == 4 && !strcmp(v[0].name, "dev") && v[0].local &&
		    !v[0].current && !v[0].configured);
		CHECK(n == 4 && !strcmp(v[1].name, "prod") && v[1].current &&
		    v[1].pinned && v[1].configured && !v[1].local);
		CHECK(n == 4 && !strcmp(v[2].name, "tests") && v[2].local);
		CHECK(n == 4 && !strcmp(v[3].name, "access") &&
		    v[3].configured);
		CHECK(n == 4 && strcmp(v[3].description, "production profile, "
		    "assumed by interactive notebooks in Runtime, typically "
		    "with limited access rights") == 0);
		free(v);
		CHECK(ws_pin(&ws, "my-own", err, sizeof(err)) == 0);
		ws_cleanup(&ws);
		CHECK(ws_open(&ws, root, "/g", NULL, err, sizeof(err)) == 0);
		CHECK(ws_profiles(&ws, &v, &n) == 0 && n == 5);
		CHECK(n == 5 && !strcmp(v[4].name, "my-own") &&
		    !strcmp(v[4].description, "custom profile"));
		free(v);
		CHECK(ws_pin(&ws, "a/b", err, sizeof(err)) == -1);
		ws_cleanup(&ws);
		t_drop(root, ".dlt/profile-name");
	}
}

static void
test_clean(void)
{
	struct cfg_workspace	ws;

	TEST("wiping a profile's dir leaves it empty, others untouched") {
		t_put(root, ".dlt/data/dev/warehouse.duckdb", "x");
		t_put(root, ".dlt/state/dev/pipelines/p/state.json", "{}");
		t_put(root, ".dlt/data/prod/keep", "x");
		CHECK(ws_open(&ws, root, "/g", "dev", err, sizeof(err)) == 0);
		CHECK(ws_wipe_dir(&ws, ws.local_dir, err, sizeof(err)) == 0);
		CHECK(ws_wipe_dir(&ws, ws.data_dir, err, sizeof(err)) == 0);
		CHECK(exists(".dlt/data/dev") &&
		    !exists(".dlt/data/dev/warehouse.duckdb"));
		CHECK(!exists(".dlt/state/dev/pipelines"));
		CHECK(exists(".dlt/data/prod/keep"));
		CHECK(ws_wipe_dir(&ws, ws.run_dir, err, sizeof(err)) == -1);
		CHECK(ws_wipe_dir(&ws, ws.settings_dir, err,
		    sizeof(err)) == -1);
		CHECK(ws_wipe_dir(&ws, "/tmp", err, sizeof(err)) == -1);
		CHECK(strstr(err, "not within run dir") != NULL);
		ws_cleanup(&ws);
	}
}

int
main(void)
{
	char	tmpl[] = "/tmp/test-ws-XXXXXX", cmd[128];

	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(root, sizeof(root), "%s", tmpl);
	unsetenv("WORKSPACE__PROFILE");
	unsetenv("DLT_PROJECT_DIR");
	unsetenv("DLT_DATA_DIR");
	unsetenv("DLT_LOCAL_DIR");
	test_selection();
	test_dirs();
	test_pin_and_list();
	test_clean();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		return 1;
	return t_done();
}
