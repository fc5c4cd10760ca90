/*
 * workspace.h: dlt's workspace run context: where the settings live,
 * which profile is active and where a profile keeps its files.
 *
 * As dlt 1.31 (dlt/_workspace/_plugins.py, _workspace_context.py,
 * profile.py, run_context.py): the run dir is $DLT_PROJECT_DIR or the
 * current directory; workspace mode is on when <run_dir>/.dlt/.workspace
 * exists; the profile is the explicit one, else $WORKSPACE__PROFILE,
 * else the first line of .dlt/profile-name, else "dev"; a profile keeps
 * pipeline working data in .dlt/state/<profile> and locally loaded data
 * in .dlt/data/<profile> (dlt's [workspace.settings] working_dir and
 * local_dir, $DLT_DATA_DIR and $DLT_LOCAL_DIR override them).
 *
 * A run dir that is a checkout in the git cache (a deployed run) is
 * thrown away with its commit, so the resolver's data_home option
 * moves what dlt keeps under the run dir there: the profile's
 * directories become <data_home>/state/<profile> and
 * <data_home>/data/<profile>, relative working_dir and local_dir are
 * taken under data_home, and outside workspace mode local_dir is
 * data_home itself. Absolute settings and the variables are kept.
 *
 * Nothing here reads configuration values: the resolver (cfg.h) sets
 * the directories once [workspace.settings] is resolved.
 */
#ifndef CONFIG_WORKSPACE_H
#define CONFIG_WORKSPACE_H

#include <stddef.h>
#include <sys/types.h>

#define WS_DEFAULT_PROFILE	"dev"
#define WS_PIN_FILE		"profile-name"
#define WS_FLAG_FILE		".workspace"

enum ws_profile_from {
	WS_FROM_NONE,		/* not a workspace: no profile */
	WS_FROM_EXPLICIT,	/* given by the caller (--profile) */
	WS_FROM_ENV,		/* WORKSPACE__PROFILE */
	WS_FROM_PIN,		/* .dlt/profile-name */
	WS_FROM_DEFAULT		/* dev */
};

struct cfg_workspace {
	int			 active;	/* .dlt/.workspace exists */
	char			*run_dir;	/* absolute */
	char			*settings_dir;	/* run_dir/.dlt */
	char			*global_dir;	/* ~/.dlt, /var/dlt, ... */
	char			*name;		/* run dir's basename */
	char			*profile;	/* NULL when not active */
	enum ws_profile_from	 profile_from;
	char			*pinned;	/* the pin file's, or NULL */
	char			*data_dir;	/* pipelines, state */
	char			*local_dir;	/* locally loaded data */
	char			*data_home;	/* instead of the run dir for
						   data, or NULL */
};

/*
 * Finds the run context. run_dir and global_dir may be NULL for dlt's
 * defaults; profile is the explicit one or NULL. Fails on an unusable
 * profile name (see ws_profile_name_ok) or when no directory is known.
 */
int	 ws_open(struct cfg_workspace *, const char *run_dir,
	    const char *global_dir, const char *profile, char *err,
	    size_t errlen);
void	 ws_cleanup(struct cfg_workspace *);
/*
 * Sets name, data_dir and local_dir from [workspace.settings] (each may
 * be NULL for the default; directories relative to the run dir, or to
 * data_home when it is set).
 */
void	 ws_set_settings(struct cfg_workspace *, const char *name,
	    const char *working_dir, const char *local_dir);

/* dlt's global settings dir for this process (caller frees). */
char	*ws_global_dir(void);
/*
 * The same rule with its inputs given, for tests: root uses /var/dlt; a
 * missing or unwritable home /tmp/dlt; $XDG_DATA_HOME/dlt when set and
 * ~/.dlt does not exist; else ~/.dlt. Caller frees.
 */
char	*ws_global_dir_for(uid_t euid, const char *home, const char *xdg);

/*
 * Profile names become file and directory names, so only [A-Za-z0-9_-]
 * (1..64 characters) are accepted; dlt itself does not check.
 */
int	 ws_profile_name_ok(const char *);
/* dlt's description of a built-in profile, or "custom profile". */
const char *ws_profile_description(const char *);
/* dev and tests are local profiles (never synced to dltHub). */
int	 ws_profile_is_local(const char *);

struct ws_profile_info {
	const char	*name;		/* borrowed from the list */
	const char	*description;
	int		 current, pinned, configured, local;
};
/*
 * The built-in profiles plus a pinned custom one, in dlt's order, with
 * dlt's markers: configured = current, pinned, has a <profile>.*.toml
 * file here or in the global dir, or has pipelines in its default
 * working dir. *out is malloc'd (caller frees); names are borrowed
 * from the workspace and static strings.
 */
int	 ws_profiles(const struct cfg_workspace *, struct ws_profile_info **out,
	    size_t *n);

/* Writes .dlt/profile-name (no newline, as dlt). */
int	 ws_pin(const struct cfg_workspace *, const char *profile, char *err,
	    size_t errlen);
/* The first line of a pin file, stripped; NULL when absent or empty. */
char	*ws_read_pin(const char *settings_dir);

/*
 * Deletes one of the profile's directories (its contents, then the
 * directory, recreated empty as dlt does). Refuses the run dir, the
 * settings dir and anything outside the run dir.
 */
int	 ws_wipe_dir(const struct cfg_workspace *, const char *dir, char *err,
	    size_t errlen);

#endif
