/*
 * config_cmd.c: `pfagent profile`, `pfagent workspace` and `pfagent
 * config`. The output follows dlt 1.31's CLI where dlt has the command
 * (dlt/_workspace/cli/dlthub/_profile_command.py and
 * _local_workspace_command.py: `dlthub profile`, `dlthub profile list`,
 * `dlthub local profile use`, `dlthub local info`, `dlthub local clean`);
 * `workspace show` prints what dlt's dashboard would show as text, and
 * `config get` is ours. Secret values print as "****" unless
 * --show-secrets is given.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/config.h"
#include "config/cfg.h"
#include "config/workspace.h"
#include "common/log.h"
#include "common/util.h"

#define ERRMAX	(32u << 10)

struct opts {
	int		 verbose, yes, skip_local, show_secrets, secret;
	int		 exact, value_only;
	const char	*profile, *pipeline, *type;
	const char	*pos[16];
	int		 npos;
};

static int
parse(const char *cmd, int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		const char	*a = argv[i];

		if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			o->verbose++;
		else if (!strcmp(a, "-y") || !strcmp(a, "--yes"))
			o->yes = 1;
		else if (!strcmp(a, "--skip-local-data-dir"))
			o->skip_local = 1;
		else if (!strcmp(a, "--show-secrets"))
			o->show_secrets = 1;
		else if (!strcmp(a, "--secret"))
			o->secret = 1;
		else if (!strcmp(a, "--exact"))
			o->exact = 1;
		else if (!strcmp(a, "--value"))
			o->value_only = 1;
		else if ((!strcmp(a, "--profile") || !strcmp(a, "--pipeline") ||
		    !strcmp(a, "--type")) && i + 1 < argc) {
			const char **dst = a[2] == 't' ? &o->type :
			    a[4] == 'o' ? &o->profile : &o->pipeline;

			*dst = argv[++i];
		} else if (a[0] == '-' || o->npos == 16) {
			fprintf(stderr, "pfagent %s: unexpected '%s' (see "
			    "pfagent %s --help)\n", cmd, a, cmd);
			return -1;
		} else
			o->pos[o->npos++] = a;
	}
	return 0;
}

/* The agent log (stderr) at $PFAGENT_LOG_LEVEL, as `pfagent start`. */
static void
log_from_env(void)
{
	const char	*v = getenv("PFAGENT_LOG_LEVEL");
	enum log_level	 lvl;

	if (v != NULL && log_level_parse(v, &lvl) == 0)
		log_init(lvl, "");
}

static int
wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ||
		    !strcmp(argv[i], "help"))
			return 1;
	return 0;
}

/* The resolver, or NULL with the reason printed. */
static struct cfg *
open_cfg(const char *cmd, const struct opts *o, int need_workspace)
{
	struct cfg_opts	 co;
	struct cfg	*c;
	char		*err = xmalloc(ERRMAX);

	memset(&co, 0, sizeof(co));
	co.profile = o->profile;
	if ((c = cfg_new(&co, err, ERRMAX)) == NULL)
		fprintf(stderr, "pfagent %s: %s\n", cmd, err);
	else if (need_workspace && !cfg_workspace(c)->active) {
		const struct cfg_workspace *ws = cfg_workspace(c);

		/* dlt's WorkspaceRunContextNotAvailable. */
		fprintf(stderr, "pfagent %s: Workspace could not be found in "
		    "`%s` (`%s`). To enable workspace, create an empty file "
		    "with the name `.workspace` in `.dlt` settings folder.\n",
		    cmd, ws->run_dir, ws->run_dir);
		cfg_free(c);
		c = NULL;
	}
	free(err);
	return c;
}

static const char *
rel(const struct cfg_workspace *ws, const char *path)
{
	size_t	n = strlen(ws->run_dir);

	if (strncmp(path, ws->run_dir, n) == 0 && path[n] == '/')
		return path + n + 1;
	return path;
}

static void
print_profile_section(const struct cfg_workspace *ws)
{
	struct ws_profile_info	*v;
	size_t			 n, shown = 0;

	printf("Settings for profile %s:\n", ws->profile);
	printf("  Pipelines and other working data: %s\n", ws->data_dir);
	printf("  Locally loaded data: %s\n", ws->local_dir);
	if (ws->pinned != NULL && strcmp(ws->pinned, ws->profile) == 0)
		printf("  Profile is pinned\n");
	if (ws_profiles(ws, &v, &n) == -1)
		return;
	printf("Profiles with configs or pipelines: ");
	for (size_t i = 0; i < n; i++)
		if (v[i].configured)
			printf("%s%s", shown++ ? ", " : "", v[i].name);
	printf("\n");
	free(v);
}

static void
print_providers(struct cfg *c, int verbose)
{
	struct cfg_provider_info	pi;
	size_t				missing = 0;

	printf("found configuration in following locations:\n");
	for (size_t i = 0; i < cfg_provider_count(c); i++) {
		cfg_provider_info(c, i, &pi);
		printf("* %s\n", pi.name);
		for (size_t k = 0; k < pi.nlocs; k++) {
			const struct cfg_location	*l = &pi.locs[k];
			char				 tag[128] = "";

			if (!l->present && !verbose) {
				missing++;
				continue;
			}
			if (l->global || l->profile != NULL || !l->present)
				snprintf(tag, sizeof(tag), " (%s%s%s%s%s%s)",
				    l->global ? "global" : "",
				    l->global && l->profile ? ", " : "",
				    l->profile ? "profile: " : "",
				    l->profile ? l->profile : "",
				    (l->global || l->profile) && !l->present ?
				    ", " : "", l->present ? "" : "not found");
			printf("    %s%s\n", l->path, tag);
		}
		if (pi.is_empty)
			printf("    provider is empty\n");
		if (pi.note != NULL)
			printf("    %s\n", pi.note);
	}
	if (!verbose && missing > 0)
		printf("%zu location(s) were probed but not found. Use -v to "
		    "see details.\n", missing);
}

/* dlt's list_pipelines(): folders under <data dir>/pipelines. */
static void
print_pipelines(const struct cfg_workspace *ws, int verbose)
{
	char		*dir = xasprintf("%s/pipelines", ws->data_dir);
	DIR		*d;
	struct dirent	*e;
	size_t		 n = 0;

	for (int pass = 0; pass < 2; pass++) {
		if ((d = opendir(dir)) == NULL)
			break;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (pass == 0)
				n++;
			else
				printf("%s\n", e->d_name);
		}
		closedir(d);
		if (pass == 0 && n > 0 && !verbose) {
			printf("%zu pipelines found in %s. Use -v to see the "
			    "full list.\n", n, dir);
			break;
		}
		if (pass == 0 && n > 0)
			printf("%zu pipelines found in %s\n", n, dir);
		if (n == 0)
			break;
	}
	if (n == 0)
		printf("No pipelines found in %s\n", dir);
	free(dir);
}

static void
usage_profile(void)
{
	printf("usage: pfagent profile [info [-v] | list | NAME pin | pin | "
	    "use NAME]\n\n"
	    "Shows and pins the dlt workspace profile (the workspace needs "
	    ".dlt/.workspace).\n"
	    "The active profile is WORKSPACE__PROFILE, else the one pinned in "
	    ".dlt/profile-name,\nelse dev; `rm .dlt/profile-name` unpins.\n\n"
	    "  (none), info   the active profile: its directories and the "
	    "configured profiles\n"
	    "  list           dev, prod, tests, access (and a pinned custom "
	    "one), the active\n"
	    "                 one marked (current)\n"
	    "  NAME pin       pin NAME for every command and flow run here "
	    "(also: use NAME)\n"
	    "  pin            show the pinned profile\n");
}

static int
profile_list(const struct cfg_workspace *ws)
{
	struct ws_profile_info	*v;
	size_t			 n;

	if (ws_profiles(ws, &v, &n) == -1)
		return 1;
	printf("Available profiles:\n");
	for (size_t i = 0; i < n; i++)
		printf("* %s%s%s%s - %s\n", v[i].name,
		    v[i].current ? " (current)" : "",
		    v[i].local ? " (local)" : "",
		    v[i].configured ? " (configured)" : "", v[i].description);
	free(v);
	return 0;
}

static int
profile_pin(const struct cfg_workspace *ws, const char *name)
{
	char	err[256];

	if (name == NULL) {
		if (ws->pinned != NULL)
			printf("Currently pinned profile is: %s. To unpin "
			    "remove %s/%s file.\n", ws->pinned,
			    rel(ws, ws->settings_dir), WS_PIN_FILE);
		else
			printf("No pinned profile.\n");
		return 0;
	}
	if (!ws_profile_name_ok(name)) {
		fprintf(stderr, "pfagent profile: profile name '%s' may only "
		    "hold letters, digits, '_' and '-'\n", name);
		return 2;
	}
	printf("Will pin the profile %s to current Workspace.\n", name);
	if (ws_pin(ws, name, err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent profile: %s\n", err);
		return 1;
	}
	return 0;
}

int
profile_main(int argc, char **argv)
{
	struct opts			 o;
	struct cfg			*c;
	const struct cfg_workspace	*ws;
	const char			*a0, *a1;
	int				 rc = 2;

	log_from_env();
	if (wants_help(argc, argv)) {
		usage_profile();
		return 0;
	}
	if (parse("profile", argc, argv, &o) == -1)
		return 2;
	if ((c = open_cfg("profile", &o, 1)) == NULL)
		return 1;
	ws = cfg_workspace(c);
	a0 = o.npos > 0 ? o.pos[0] : NULL;
	a1 = o.npos > 1 ? o.pos[1] : NULL;
	if (o.npos > 2)
		fprintf(stderr, "pfagent profile: too many arguments\n");
	else if (a0 == NULL || (!strcmp(a0, "info") && a1 == NULL)) {
		print_profile_section(ws);
		if (o.verbose) {
			printf("\n");
			print_providers(c, o.verbose);
		}
		rc = 0;
	} else if (!strcmp(a0, "list") && a1 == NULL)
		rc = profile_list(ws);
	else if (!strcmp(a0, "pin") && a1 == NULL)
		rc = profile_pin(ws, NULL);
	else if (!strcmp(a0, "use") && a1 != NULL)
		rc = profile_pin(ws, a1);
	else if (a1 != NULL && !strcmp(a1, "pin"))
		rc = profile_pin(ws, a0);
	else
		fprintf(stderr, "pfagent profile: unknown command '%s' (see "
		    "pfagent profile --help)\n", a0);
	cfg_free(c);
	return rc;
}

static void
usage_workspace(void)
{
	printf("usage: pfagent workspace [info [-v] | show [--show-secrets] | "
	    "clean [--yes]\n"
	    "                         [--skip-local-data-dir]] "
	    "[--profile NAME]\n\n"
	    "  (none), info   the workspace, the active profile and where "
	    "configuration was\n"
	    "                 found (-v: also the places probed but missing)\n"
	    "  show           the same, every place probed, and the resolved "
	    "configuration,\n"
	    "                 secrets masked (--show-secrets shows them)\n"
	    "  clean          delete the active profile's locally loaded data "
	    "and pipeline\n"
	    "                 working folders after confirmation (--yes: "
	    "without asking);\n"
	    "                 other profiles and remote destinations are not "
	    "touched\n");
}

static void
print_workspace(struct cfg *c, int verbose)
{
	const struct cfg_workspace	*ws = cfg_workspace(c);

	if (ws->active)
		printf("Workspace %s:\n", ws->name);
	printf("Workspace dir: %s\n", ws->run_dir);
	printf("Settings dir: %s\n", ws->settings_dir);
	if (ws->active) {
		printf("\n");
		print_profile_section(ws);
	}
	printf("\n");
	print_providers(c, verbose);
	if (ws->active) {
		printf("\n");
		print_pipelines(ws, verbose);
	}
}

/* One key of `workspace show`: its exact value and where it is from. */
static void
show_key(struct cfg *c, const char *key, int show_secrets)
{
	struct cfg_value	 v;
	char			*err = xmalloc(ERRMAX), *text;
	const char		*leaf = strrchr(key, '.');
	int			 flags;

	leaf = leaf != NULL ? leaf + 1 : key;
	flags = CFG_EXACT | CFG_NO_VAULT | CFG_OPTIONAL;
	if (cfg_key_looks_secret(leaf))
		flags |= CFG_SECRET;
	if (cfg_get(c, key, flags, &v, err, ERRMAX) == -1)
		printf("  %s: %s\n", key, err);
	else if (v.value != NULL) {
		text = cfg_value_text(&v, show_secrets);
		printf("  %s = %s  (%s%s%s)\n", key, text, v.provider,
		    v.location ? ": " : "", v.location ? v.location : "");
		free(text);
	}
	cfg_value_cleanup(&v);
	free(err);
}

static void
show_vault(struct cfg *c)
{
	struct cfg_value	v;
	const cJSON		*it;
	char			err[256];
	int			on = 0;

	for (size_t i = 0; i < cfg_provider_count(c); i++) {
		struct cfg_provider_info pi;

		cfg_provider_info(c, i, &pi);
		on |= strcmp(pi.name, "AWS Secrets Manager") == 0;
	}
	printf("\nAWS Secrets Manager: %s\n", on ? "enabled (secrets are "
	    "fetched when a flow asks, not here)" : "disabled "
	    "(providers.enable_aws_secrets)");
	if (cfg_get(c, "providers.aws_secrets.secret_map", CFG_EXACT |
	    CFG_NO_VAULT | CFG_OPTIONAL, &v, err, sizeof(err)) == 0 &&
	    cJSON_IsObject(v.value)) {
		cJSON_ArrayForEach(it, v.value)
			if (cJSON_IsString(it))
				printf("  %s -> %s\n", it->string,
				    it->valuestring);
	}
	cfg_value_cleanup(&v);
}

static int
workspace_show(struct cfg *c, int show_secrets)
{
	size_t	  n;
	char	**keys;

	print_workspace(c, 1);
	printf("\nResolved configuration (%s):\n", show_secrets ?
	    "secrets shown" : "secrets masked");
	keys = cfg_known_keys(c, &n);
	for (size_t i = 0; i < n; i++)
		show_key(c, keys[i], show_secrets);
	if (n == 0)
		printf("  (nothing configured)\n");
	cfg_strv_free(keys);
	show_vault(c);
	return 0;
}

static int
confirm(const struct opts *o)
{
	char	line[32];

	printf("Do you want to proceed? [y/N]: ");
	fflush(stdout);
	if (o->yes) {
		printf("y\n");
		return 1;
	}
	/* As dlt: without a terminal the default (No) is taken. */
	if (!isatty(STDIN_FILENO)) {
		printf("\nNot confirmed (no terminal; use --yes): nothing "
		    "deleted.\n");
		return 0;
	}
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

static int
workspace_clean(struct cfg *c, const struct opts *o)
{
	const struct cfg_workspace	*ws = cfg_workspace(c);
	const char			*dirs[2];
	const char			*what[2];
	char				 err[512];
	int				 n = 0;

	printf("Local pipelines data will be removed. Remote destinations are "
	    "not affected.\n");
	if (!o->skip_local) {
		dirs[n] = ws->local_dir;
		what[n++] = "locally loaded data";
	}
	dirs[n] = ws->data_dir;
	what[n++] = "pipeline working folders";
	printf("The following dirs will be deleted:\n");
	for (int i = 0; i < n; i++)
		printf("- %s (%s)\n", rel(ws, dirs[i]), what[i]);
	if (!confirm(o))
		return 0;
	for (int i = 0; i < n; i++) {
		printf("Deleting %s\n", rel(ws, dirs[i]));
		if (ws_wipe_dir(ws, dirs[i], err, sizeof(err)) == -1) {
			fprintf(stderr, "pfagent workspace clean: %s\n", err);
			return 1;
		}
	}
	return 0;
}

int
workspace_main(int argc, char **argv)
{
	struct opts	 o;
	struct cfg	*c;
	const char	*a0;
	int		 rc = 2;

	log_from_env();
	if (wants_help(argc, argv)) {
		usage_workspace();
		return 0;
	}
	if (parse("workspace", argc, argv, &o) == -1)
		return 2;
	a0 = o.npos > 0 ? o.pos[0] : "info";
	if (o.npos > 1 || (strcmp(a0, "info") && strcmp(a0, "show") &&
	    strcmp(a0, "clean"))) {
		fprintf(stderr, "pfagent workspace: unknown command '%s' (see "
		    "pfagent workspace --help)\n", o.pos[o.npos - 1]);
		return 2;
	}
	if ((c = open_cfg("workspace", &o, !strcmp(a0, "clean"))) == NULL)
		return 1;
	if (!strcmp(a0, "info")) {
		print_workspace(c, o.verbose);
		rc = 0;
	} else if (!strcmp(a0, "show"))
		rc = workspace_show(c, o.show_secrets);
	else
		rc = workspace_clean(c, &o);
	cfg_free(c);
	return rc;
}

static void
usage_config(void)
{
	printf("usage: pfagent config get SECTION.KEY... [--pipeline NAME] "
	    "[--secret] [--type T]\n"
	    "                         [--exact] [--show-secrets] [--value] "
	    "[--profile NAME]\n\n"
	    "Resolves one value as a flow would, the dlt way: environment "
	    "(SECTION__KEY),\nsecrets.toml, config.toml (profile files first), "
	    "AWS Secrets Manager, with\nthe pipeline-scoped pass first and "
	    "section fallback, and prints it with the\nprovider it came "
	    "from. A missing value lists every place looked, in order.\n\n"
	    "  --pipeline NAME   look up NAME.SECTION.KEY first\n"
	    "  --secret          a secret field (implied for password, "
	    "api_key, token, ...):\n"
	    "                    refused from config.toml, masked\n"
	    "  --type T          str, int, float, bool or json (default: "
	    "dlt.config casting)\n"
	    "  --exact           this path only, as dlt.config[\"a.b\"]\n"
	    "  --show-secrets    print secret values\n"
	    "  --value           print the value only\n");
}

static int
type_of(const char *t, enum cfg_type *out)
{
	static const struct { const char *n; enum cfg_type t; } m[] = {
		{ "str", CFG_STR }, { "int", CFG_INT }, { "float", CFG_FLOAT },
		{ "bool", CFG_BOOL }, { "json", CFG_JSON },
		{ "auto", CFG_AUTO },
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (!strcmp(t, m[i].n))
			return *out = m[i].t, 0;
	return -1;
}

static int
config_get(struct cfg *c, const struct opts *o, const char *dotted)
{
	struct cfg_field	 f;
	struct cfg_value	 v;
	char			*sections = xstrdup(dotted), *dot, *text;
	char			*err = xmalloc(ERRMAX);
	int			 rc = 1;

	memset(&f, 0, sizeof(f));
	f.type = CFG_AUTO;
	if (o->type != NULL && type_of(o->type, &f.type) == -1) {
		fprintf(stderr, "pfagent config: --type: one of str, int, "
		    "float, bool, json\n");
		rc = 2;
		goto out;
	}
	if ((dot = strrchr(sections, '.')) != NULL) {
		*dot = '\0';
		f.sections = sections;
		f.key = dot + 1;
	} else
		f.key = sections;
	f.pipeline = o->pipeline;
	f.flags = (o->exact ? CFG_EXACT : 0) |
	    (o->secret || cfg_key_looks_secret(f.key) ? CFG_SECRET : 0);
	if (cfg_resolve(c, &f, &v, err, ERRMAX) == -1) {
		text = cfg_mask(c, err);
		fprintf(stderr, "pfagent config: %s\n", text);
		free(text);
		goto out;
	}
	text = cfg_value_text(&v, o->show_secrets);
	if (o->value_only)
		printf("%s\n", text);
	else {
		printf("%s = %s\n", dotted, text);
		printf("provider: %s, key: %s%s%s\n", v.provider, v.key,
		    v.location ? ", location: " : "",
		    v.location ? v.location : "");
	}
	free(text);
	cfg_value_cleanup(&v);
	rc = 0;
out:
	free(err);
	free(sections);
	return rc;
}

int
config_main(int argc, char **argv)
{
	struct opts	 o;
	struct cfg	*c;
	int		 rc = 0;

	log_from_env();
	if (wants_help(argc, argv)) {
		usage_config();
		return 0;
	}
	if (parse("config", argc, argv, &o) == -1)
		return 2;
	if (o.npos < 2 || strcmp(o.pos[0], "get") != 0) {
		fprintf(stderr, "pfagent config: usage: pfagent config get "
		    "SECTION.KEY... (see pfagent config --help)\n");
		return 2;
	}
	if ((c = open_cfg("config", &o, 0)) == NULL)
		return 1;
	/* Several keys share one resolver: each secret is fetched once. */
	for (int i = 1; i < o.npos && rc == 0; i++)
		rc = config_get(c, &o, o.pos[i]);
	cfg_free(c);
	return rc;
}
