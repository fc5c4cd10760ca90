/*
 * provider.h: the configuration providers behind cfg.h (internal to
 * config/). A provider answers one probe: a key under a path of
 * sections, optionally scoped by a pipeline name, as dlt's
 * ConfigProvider.get_value() does; the resolver decides the order.
 */
#ifndef CONFIG_PROVIDER_H
#define CONFIG_PROVIDER_H

#include <pthread.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "config/cfg.h"
#include "config/workspace.h"

#define CFG_MAX_PROVIDERS	4
#define CFG_MAX_SECTIONS	32
#define CFG_MAX_PATH		(CFG_MAX_SECTIONS + 2)

/* The resolver: one per process (cfg_process), or per test. */
struct cfg {
	pthread_mutex_t		 lock;		/* recursive: providers resolve
						   their own settings */
	struct cfg_workspace	 ws;
	struct cfg_provider	*prov[CFG_MAX_PROVIDERS];
	size_t			 nprov;
	char			**secrets;	/* values seen, each once */
	size_t			 nsecrets, capsecrets;
	void			(*hook)(const char *, void *);
	void			*hook_arg;
};

struct cfg_probe {
	const char		*pipeline;	/* NULL: unscoped */
	const char *const	*path;		/* sections, outermost first */
	size_t			 npath;
	const char		*key;
	int			 secret;	/* the field is secret */
};

/*
 * One probe. Returns 1 with *out a new item (caller frees) and
 * *location set (or NULL), 0 when the provider has no value, -1 on an
 * error (err set). *spelled always gets the key as this provider
 * spells it (caller frees), also when not found.
 */
struct cfg_provider;
typedef int	 provider_get_fn(struct cfg_provider *,
		    const struct cfg_probe *, cJSON **out, char **spelled,
		    char **location, char *err, size_t errlen);

struct cfg_provider {
	const char		*name;		/* dlt's name, for traces */
	int			 supports_secrets;
	int			 secret_source;	/* every value is masked */
	int			 network;	/* skipped with CFG_NO_VAULT */
	int			 is_empty;	/* skipped, not traced */
	struct cfg_location	*locs;
	size_t			 nlocs;
	char			*note;		/* for messages, or NULL */
	provider_get_fn		*get;
	void			(*free)(struct cfg_provider *);
	/* Top-level keys of its document, for cfg_known_keys. */
	const cJSON		*(*doc)(struct cfg_provider *);
};

/* Frees the common part; the provider's free() calls it last. */
void	 provider_base_cleanup(struct cfg_provider *);

/* env.c: SECTION__KEY variables; secret files under secrets_dir. */
struct cfg_provider *env_provider_new(const char *secrets_dir);
/* Joins pipeline, path and key with sep, skipping empty parts. */
char	*provider_key_name(const struct cfg_probe *, const char *sep,
	    int upper);

/*
 * settings.c: a TOML provider over files in precedence order, merged
 * key by key (dlt's SettingsTomlProvider). profile marks profile files
 * in locations; global_dir marks global ones. NULL on a syntax error.
 */
struct cfg_provider *settings_provider_new(const char *name, int secrets,
	    const char *const *paths, size_t npaths, const char *profile,
	    const char *global_dir, char *err, size_t errlen);
/* The item at pipeline.path.key in doc, or NULL (dlt's doc walk). */
const cJSON *doc_lookup(const cJSON *doc, const struct cfg_probe *);
/* Merges src into dst, src winning; tables merge recursively. */
int	 doc_merge(cJSON *dst, const cJSON *src);

/*
 * vault.c: AWS Secrets Manager. Reads [providers.aws_secrets] through
 * c now (no network); resolves AWS credentials and region through c
 * at the first lookup. NULL with err set on a bad setting.
 */
struct cfg_provider *vault_provider_new(struct cfg *c, char *err,
	    size_t errlen);

/* cfg.c: records a secret value and its string leaves. */
void	 cfg_note_secret(struct cfg *, const cJSON *value);
void	 cfg_note_secret_text(struct cfg *, const char *value);

/* coerce.c: Python's repr() of a float (caller frees). */
char	*cfg_float_text(double);
/*
 * coerce.c: marks integral numbers of a tree parsed from JSON as
 * integers (toml.h convention), as Python's json module reads them.
 */
void	 cfg_json_mark_ints(cJSON *);

#endif
