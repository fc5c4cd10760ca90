/*
 * cfg.h: configuration and secrets for flows, resolved the dlt way.
 *
 * One resolver (struct cfg) per process holds dlt's providers, in its
 * order (dlt/common/configuration/resolve.py, _workspace_context.py,
 * specs/config_providers_context.py):
 *
 *   1. Environment Variables  SOURCES__OPEN_EXCHANGE_RATES__API_KEY
 *                             (+ Docker/K8s files in /run/secrets for
 *                             secret fields)
 *   2. secrets.toml           .dlt/<profile>.secrets.toml, .dlt/secrets.toml,
 *                             ~/.dlt/<profile>.secrets.toml,
 *                             ~/.dlt/secrets.toml
 *   3. config.toml            the same four config.toml files; may not
 *                             hold a secret field
 *   4. AWS Secrets Manager    when providers.enable_aws_secrets is true:
 *                             the [providers.aws_secrets.secret_map] of
 *                             sections to secret names (JSON or plain
 *                             strings), then dlt's own secret names
 *                             ("dlt/sources/<name>" TOML fragments);
 *                             each secret fetched once per process
 *   5. the field's default
 *
 * Profile files exist only in workspace mode (.dlt/.workspace, see
 * workspace.h). A field is looked up first with the pipeline name as
 * the outermost section (every provider, every path), then without it;
 * within a pass every path of a provider is tried, most specific first,
 * before the next provider. Paths drop the rightmost section one at a
 * time; a spec section ("credentials") is kept on every path; "sources"
 * fields also try sources.<name> third (dlt's compact layout).
 *
 * Values from secret fields, secrets.toml and Secrets Manager are
 * "secret": shown as "****" and recorded for log redaction
 * (cfg_secret_values). The resolver is thread-safe: one lock.
 */
#ifndef CONFIG_CFG_H
#define CONFIG_CFG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "config/workspace.h"

struct cfg;

/* Target types, coerced as dlt's deserialize_value()/auto_cast(). */
enum cfg_type {
	CFG_ANY,	/* the provider's value as is (env: a string) */
	CFG_AUTO,	/* dlt.config["k"]: strings become bool, int, float,
			   JSON list/dict when they parse, else stay text */
	CFG_STR,
	CFG_INT,	/* "0x1F" and " 42 " accepted, as dlt */
	CFG_FLOAT,
	CFG_BOOL,	/* yes/true/t/y/1, no/false/f/n/0, any case */
	CFG_JSON	/* an object or an array; text is parsed as JSON */
};

#define CFG_SECRET	0x01	/* a secret field: never from config.toml */
#define CFG_OPTIONAL	0x02	/* missing without default is not an error */
#define CFG_EXACT	0x04	/* dlt.config["a.b"]: this path only */
#define CFG_NO_VAULT	0x08	/* skip network providers (Secrets Manager) */
#define CFG_SECRETS_ONLY 0x10	/* dlt.secrets[...]: secret providers only */

/* One field to resolve, e.g. sources.open_exchange_rates.api_key. */
struct cfg_field {
	const char	*sections;	/* dotted: "sources.oxr"; NULL or
					   "" for none */
	const char	*key;		/* "api_key" */
	const char	*spec_section;	/* innermost section never dropped
					   (dlt's __section__), or NULL */
	const char	*pipeline;	/* pipeline name for the scoped pass */
	const char	*spec;		/* name in messages; NULL: sections */
	enum cfg_type	 type;
	int		 flags;		/* CFG_* */
	const char	*def;		/* default, as text coerced to type;
					   NULL: required */
};

/* A resolved value; cfg_value_cleanup() frees it. */
struct cfg_value {
	cJSON		*value;		/* NULL when missing (CFG_OPTIONAL);
					   integers carry exact text in
					   valuestring, see config/toml.h */
	const char	*provider;	/* "Environment Variables",
					   "secrets.toml", "config.toml",
					   "AWS Secrets Manager", "default" */
	char		*key;		/* as spelled for it: "SOURCES__X__K",
					   "sources.x.k", "dlt/x:k" */
	char		*location;	/* file or secret name, or NULL */
	int		 secret;	/* print masked */
};

struct cfg_opts {
	const char	*run_dir;	/* NULL: $DLT_PROJECT_DIR or the cwd */
	const char	*global_dir;	/* NULL: ~/.dlt (dlt's rule) */
	const char	*profile;	/* explicit; beats WORKSPACE__PROFILE */
	const char	*secrets_dir;	/* NULL: /run/secrets */
	int		 no_vault;	/* never set up Secrets Manager */
	const char	*data_home;	/* absolute: local data and pipeline
					   state here, not under the run dir
					   (see workspace.h); NULL: dlt's */
};

/*
 * Finds the workspace and profile and reads every TOML file (no network:
 * Secrets Manager is contacted at its first lookup). NULL with err set
 * on a TOML syntax error ("A problem encountered when loading
 * config.toml from paths [...]") or a bad profile name.
 */
struct cfg	*cfg_new(const struct cfg_opts *, char *err, size_t errlen);
void		 cfg_free(struct cfg *);

/*
 * The process's resolver, made on first use with default options (so
 * flows, the executor and the CLI share one cache and one secret list).
 * NULL with err set when cfg_new fails; a later call tries again.
 */
struct cfg	*cfg_process(char *err, size_t errlen);
/* The same, made with opts when it does not exist yet (the executor). */
struct cfg	*cfg_process_open(const struct cfg_opts *opts, char *err,
		    size_t errlen);
void		 cfg_process_free(void);

/*
 * Resolves one field. Returns 0 with *out filled (from a provider or
 * the default; with CFG_OPTIONAL out->value may be NULL), or -1 with
 * err set: a missing required value (dlt's message: every (provider,
 * key) tried in order, the active profile, the files loaded and
 * probed; give 8 KiB), a secret found in config.toml, a value that
 * cannot be coerced, or a Secrets Manager failure. May block on the
 * network the first time Secrets Manager is asked for a secret.
 */
int	 cfg_resolve(struct cfg *, const struct cfg_field *,
	    struct cfg_value *out, char *err, size_t errlen);
/* cfg_resolve of a dotted "section.key" with dlt.config["k"] casting. */
int	 cfg_get(struct cfg *, const char *dotted, int flags,
	    struct cfg_value *out, char *err, size_t errlen);
void	 cfg_value_cleanup(struct cfg_value *);

/*
 * A value that is no good: err gets why, then where the value came
 * from, "(provider: Environment Variables, key: RUNTIME__REQUEST_TIMEOUT)"
 * (", location: <file>" for a file or a secret). Never the value
 * itself. Returns -1. Every typed setting that a coercion or a range
 * check refuses is reported this way.
 */
int	 cfg_value_error(const struct cfg_value *, const char *why, char *err,
	    size_t errlen);
/* Borrowed text of a string value, or NULL. */
const char *cfg_value_str(const struct cfg_value *);
/* 0 and *out for an integer value, else -1. */
int	 cfg_value_int(const struct cfg_value *, long long *out);
/*
 * The value as one line for display: strings as is, numbers and
 * booleans as TOML writes them, tables and lists as JSON; "****" when
 * secret unless show_secrets. Caller frees.
 */
char	*cfg_value_text(const struct cfg_value *, int show_secrets);

/*
 * Coerces a raw provider value (toml.h tree item, or a string from the
 * environment or a vault) to type; *out is a new item (caller frees).
 * On failure err gets dlt's "Configured value for field `key` cannot be
 * coerced into type `int`" (the value is never shown).
 */
int	 cfg_coerce(const cJSON *raw, enum cfg_type, const char *key,
	    cJSON **out, char *err, size_t errlen);

/*
 * Secret values resolved so far, for redacting flow logs: every
 * string value of a secret field or from a secret provider (including
 * the AWS keys Secrets Manager was called with), each once, longest
 * first. Returns a NULL-terminated malloc'd copy (free it with
 * cfg_strv_free); *n gets the count. Thread-safe.
 */
char	**cfg_secret_values(struct cfg *, size_t *n);
void	  cfg_strv_free(char **);
/*
 * Calls fn(value, payload) for every secret value from now on, as it
 * is resolved (under the resolver's lock: fn must not call back into
 * it). One hook; NULL removes it.
 */
void	  cfg_set_secret_hook(struct cfg *,
	    void (*fn)(const char *value, void *payload), void *payload);
/* A copy of text with every known secret value replaced by "****". */
char	 *cfg_mask(struct cfg *, const char *text);

/* Names dlt's built-in specs mark secret (password, api_key, ...). */
int	  cfg_key_looks_secret(const char *key);

/* The run context: workspace mode, profile, directories. */
const struct cfg_workspace *cfg_workspace(const struct cfg *);

/* One place a provider reads from, for workspace info and messages. */
struct cfg_location {
	const char	*path;
	int		 present;
	int		 global;	/* in the global dir */
	const char	*profile;	/* a profile file: the profile */
};

struct cfg_provider_info {
	const char			*name;
	int				 is_empty;
	int				 secrets;	/* may hold secrets */
	const struct cfg_location	*locs;
	size_t				 nlocs;
	const char			*note;	/* e.g. vault state, or NULL */
};

size_t	 cfg_provider_count(const struct cfg *);
void	 cfg_provider_info(const struct cfg *, size_t i,
	    struct cfg_provider_info *out);

/*
 * Every key set in the TOML files and every environment variable under
 * one of dlt's known sections, dotted ("sources.x.api_key"), in file
 * order, each once. NULL-terminated (cfg_strv_free).
 */
char	**cfg_known_keys(struct cfg *, size_t *n);

#endif
