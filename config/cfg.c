/*
 * cfg.c: the resolver object: its providers in dlt's order, the
 * process-wide instance, the record of secret values and masking.
 * The lookup itself is in resolve.c, coercion in coerce.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/provider.h"
#include "common/log.h"
#include "common/util.h"

#define MASK	"****"

static pthread_mutex_t	 process_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cfg	*process_cfg;

/* dlt's top-level sections (configuration/specs/known_sections.py). */
static const char *const known_sections[] = {
	"sources", "destination", "destinations", "pipelines", "datasets",
	"load", "normalize", "extract", "schema", "providers", "data_writer",
	"dbt_package_runner", "dbt_cloud", "dashboard", "workspace", "jobs",
	"runtime", NULL
};

/*
 * Field names dlt's built-in credentials declare secret
 * (TSecretStrValue): ConnectionStringCredentials.password,
 * AwsCredentials.aws_secret_access_key/aws_session_token, Snowflake's
 * private_key(_passphrase), OAuth client_secret/refresh_token, and the
 * native "credentials" value; plus the usual api_key/token names that
 * sources declare with dlt.secrets.value.
 */
static const char *const secret_names[] = {
	"password", "private_key", "private_key_passphrase",
	"aws_secret_access_key", "aws_session_token", "client_secret",
	"refresh_token", "access_token", "api_key", "api_token", "token",
	"secret", "credentials", "auth_token", "app_id", NULL
};

int
cfg_key_looks_secret(const char *key)
{
	for (size_t i = 0; secret_names[i] != NULL; i++)
		if (strcmp(key, secret_names[i]) == 0)
			return 1;
	return 0;
}

void
provider_base_cleanup(struct cfg_provider *p)
{
	for (size_t i = 0; i < p->nlocs; i++) {
		free((char *)p->locs[i].path);
		free((char *)p->locs[i].profile);
	}
	free(p->locs);
	free(p->note);
}

/* The four (or two) files of one provider, in precedence order. */
static size_t
toml_paths(const struct cfg_workspace *ws, const char *file, char *out[4])
{
	size_t	n = 0;

	if (ws->active)
		out[n++] = xasprintf("%s/%s.%s", ws->settings_dir,
		    ws->profile, file);
	out[n++] = xasprintf("%s/%s", ws->settings_dir, file);
	if (ws->active)
		out[n++] = xasprintf("%s/%s.%s", ws->global_dir, ws->profile,
		    file);
	out[n++] = xasprintf("%s/%s", ws->global_dir, file);
	return n;
}

static int
add_settings(struct cfg *c, const char *file, int secrets, char *err,
    size_t errlen)
{
	char			*paths[4];
	size_t			 n = toml_paths(&c->ws, file, paths);
	struct cfg_provider	*p;

	p = settings_provider_new(file, secrets, (const char *const *)paths,
	    n, c->ws.profile, c->ws.global_dir, err, errlen);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	if (p == NULL)
		return -1;
	c->prov[c->nprov++] = p;
	return 0;
}

/* An optional string setting, or NULL (caller frees). */
static char *
setting(struct cfg *c, const char *sections, const char *spec,
    const char *key)
{
	struct cfg_field f = { sections, key, spec, NULL, NULL, CFG_STR,
	    CFG_OPTIONAL | CFG_NO_VAULT, NULL };
	struct cfg_value v;
	char		 err[256], *s = NULL;

	if (cfg_resolve(c, &f, &v, err, sizeof(err)) == 0 && v.value != NULL)
		s = xstrdup(v.value->valuestring);
	cfg_value_cleanup(&v);
	return s;
}

struct cfg *
cfg_new(const struct cfg_opts *opts, char *err, size_t errlen)
{
	static const struct cfg_opts none;
	pthread_mutexattr_t	 attr;
	struct cfg		*c = xcalloc(1, sizeof(*c));
	struct cfg_field	 enable = { NULL, "enable_aws_secrets",
	    "providers", NULL, NULL, CFG_BOOL, CFG_NO_VAULT, "false" };
	struct cfg_value	 v;
	char			*name, *wd, *ld;

	if (opts == NULL)
		opts = &none;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (ws_open(&c->ws, opts->run_dir, opts->global_dir, opts->profile,
	    err, errlen) == -1)
		goto fail;
	if (opts->data_home != NULL) {
		c->ws.data_home = xstrdup(opts->data_home);
		ws_set_settings(&c->ws, NULL, NULL, NULL);
	}
	c->prov[c->nprov++] = env_provider_new(opts->secrets_dir);
	if (add_settings(c, "secrets.toml", 1, err, errlen) == -1 ||
	    add_settings(c, "config.toml", 0, err, errlen) == -1)
		goto fail;
	/* [workspace.settings], as WorkspaceConfiguration resolves it. */
	if (c->ws.active) {
		name = setting(c, "workspace", "settings", "name");
		wd = setting(c, "workspace", "settings", "working_dir");
		ld = setting(c, "workspace", "settings", "local_dir");
		ws_set_settings(&c->ws, name, wd, ld);
		free(name);
		free(wd);
		free(ld);
	}
	/* The vault is an "extra" provider, enabled by configuration. */
	if (!opts->no_vault) {
		if (cfg_resolve(c, &enable, &v, err, errlen) == -1)
			goto fail;
		if (cJSON_IsTrue(v.value)) {
			struct cfg_provider *p = vault_provider_new(c, err,
			    errlen);

			if (p == NULL) {
				cfg_value_cleanup(&v);
				goto fail;
			}
			c->prov[c->nprov++] = p;
		}
		cfg_value_cleanup(&v);
	}
	return c;
fail:
	cfg_free(c);
	return NULL;
}

void
cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nprov; i++)
		c->prov[i]->free(c->prov[i]);
	for (size_t i = 0; i < c->nsecrets; i++)
		free(c->secrets[i]);
	free(c->secrets);
	ws_cleanup(&c->ws);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct cfg *
cfg_process(char *err, size_t errlen)
{
	return cfg_process_open(NULL, err, errlen);
}

struct cfg *
cfg_process_open(const struct cfg_opts *opts, char *err, size_t errlen)
{
	struct cfg	*c;

	pthread_mutex_lock(&process_lock);
	if (process_cfg == NULL)
		process_cfg = cfg_new(opts, err, errlen);
	c = process_cfg;
	pthread_mutex_unlock(&process_lock);
	return c;
}

void
cfg_process_free(void)
{
	pthread_mutex_lock(&process_lock);
	cfg_free(process_cfg);
	process_cfg = NULL;
	pthread_mutex_unlock(&process_lock);
}

const struct cfg_workspace *
cfg_workspace(const struct cfg *c)
{
	return &c->ws;
}

void
cfg_note_secret_text(struct cfg *c, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nsecrets; i++)
		if (strcmp(c->secrets[i], s) == 0)
			goto out;
	if (c->nsecrets == c->capsecrets) {
		c->capsecrets = c->capsecrets ? 2 * c->capsecrets : 8;
		c->secrets = xrealloc(c->secrets,
		    c->capsecrets * sizeof(*c->secrets));
	}
	c->secrets[c->nsecrets++] = xstrdup(s);
	if (c->hook != NULL)
		c->hook(s, c->hook_arg);
out:
	pthread_mutex_unlock(&c->lock);
}

void
cfg_note_secret(struct cfg *c, const cJSON *v)
{
	const cJSON	*it;

	if (cJSON_IsString(v))
		cfg_note_secret_text(c, v->valuestring);
	else if (cJSON_IsObject(v) || cJSON_IsArray(v))
		cJSON_ArrayForEach(it, v)
			cfg_note_secret(c, it);
}

static int
longest_first(const void *a, const void *b)
{
	size_t	la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

char **
cfg_secret_values(struct cfg *c, size_t *n)
{
	char	**v;
	size_t	  k;

	pthread_mutex_lock(&c->lock);
	v = xcalloc(c->nsecrets + 1, sizeof(*v));
	for (size_t i = 0; i < c->nsecrets; i++)
		v[i] = xstrdup(c->secrets[i]);
	if (n != NULL)
		*n = c->nsecrets;
	k = c->nsecrets;
	pthread_mutex_unlock(&c->lock);
	qsort(v, k, sizeof(*v), longest_first);
	return v;
}

void
cfg_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
cfg_set_secret_hook(struct cfg *c, void (*fn)(const char *, void *),
    void *payload)
{
	pthread_mutex_lock(&c->lock);
	c->hook = fn;
	c->hook_arg = payload;
	pthread_mutex_unlock(&c->lock);
}

char *
cfg_mask(struct cfg *c, const char *text)
{
	size_t		 n;
	char		**sv = cfg_secret_values(c, &n);
	struct buf	 b;
	const char	*p = text;

	buf_init(&b, (size_t)-1);
	while (*p != '\0') {
		size_t	k;

		for (k = 0; k < n; k++)
			if (strncmp(p, sv[k], strlen(sv[k])) == 0)
				break;
		if (k < n) {
			buf_append(&b, MASK, strlen(MASK));
			p += strlen(sv[k]);
		} else
			buf_append(&b, p++, 1);
	}
	cfg_strv_free(sv);
	return b.data != NULL ? buf_steal(&b) : xstrdup("");
}

int
cfg_value_error(const struct cfg_value *v, const char *why, char *err,
    size_t errlen)
{
	char	*w = xstrdup(why);	/* why may be err itself */

	errorf(err, errlen, "%s (provider: %s, key: %s%s%s)", w,
	    v->provider != NULL ? v->provider : "unknown",
	    v->key != NULL ? v->key : "?", v->location != NULL ?
	    ", location: " : "", v->location != NULL ? v->location : "");
	free(w);
	return -1;
}

const char *
cfg_value_str(const struct cfg_value *v)
{
	return cJSON_IsString(v->value) ? v->value->valuestring : NULL;
}

int
cfg_value_int(const struct cfg_value *v, long long *out)
{
	char		*end;
	long long	 x;

	if (!cJSON_IsNumber(v->value) || v->value->valuestring == NULL)
		return -1;
	x = strtoll(v->value->valuestring, &end, 10);
	if (*end != '\0')
		return -1;
	*out = x;
	return 0;
}

char *
cfg_value_text(const struct cfg_value *v, int show_secrets)
{
	const cJSON	*j = v->value;
	char		*s;

	if (j == NULL)
		return xstrdup("");
	if (v->secret && !show_secrets)
		return xstrdup(MASK);
	if (cJSON_IsString(j))
		return xstrdup(j->valuestring);
	if (cJSON_IsNumber(j))
		return j->valuestring != NULL ? xstrdup(j->valuestring) :
		    cfg_float_text(j->valuedouble);
	if (cJSON_IsBool(j))
		return xstrdup(cJSON_IsTrue(j) ? "true" : "false");
	return (s = cJSON_PrintUnformatted(j)) != NULL ? s : xstrdup("");
}

size_t
cfg_provider_count(const struct cfg *c)
{
	return c->nprov;
}

void
cfg_provider_info(const struct cfg *c, size_t i,
    struct cfg_provider_info *out)
{
	const struct cfg_provider	*p = c->prov[i];

	out->name = p->name;
	out->is_empty = p->is_empty;
	out->secrets = p->supports_secrets;
	out->locs = p->locs;
	out->nlocs = p->nlocs;
	out->note = p->note;
}

struct keyset {
	char	**v;
	size_t	  n, cap;
};

static void
keyset_add(struct keyset *ks, const char *k)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->v[i], k) == 0)
			return;
	if (ks->n + 1 >= ks->cap) {
		ks->cap = ks->cap ? 2 * ks->cap : 32;
		ks->v = xrealloc(ks->v, ks->cap * sizeof(*ks->v));
	}
	ks->v[ks->n++] = xstrdup(k);
	ks->v[ks->n] = NULL;
}

/* Leaves of a TOML tree as dotted keys; arrays are leaves. */
static void
doc_keys(struct keyset *ks, const cJSON *node, const char *prefix)
{
	const cJSON	*it;

	cJSON_ArrayForEach(it, node) {
		char	*k = *prefix ? xasprintf("%s.%s", prefix, it->string) :
		    xstrdup(it->string);

		if (cJSON_IsObject(it) && it->child != NULL)
			doc_keys(ks, it, k);
		else
			keyset_add(ks, k);
		free(k);
	}
}

/* SOURCES__X__API_KEY -> sources.x.api_key, for dlt's sections only. */
static void
env_keys(struct keyset *ks)
{
	extern char	**environ;

	for (char **e = environ; e != NULL && *e != NULL; e++) {
		const char	*eq = strchr(*e, '='), *sep = strstr(*e, "__");
		char		*k, *w;

		if (eq == NULL || sep == NULL || sep > eq)
			continue;
		k = xasprintf("%.*s", (int)(eq - *e), *e);
		for (w = k; *w; w++)
			*w = (char)(*w >= 'A' && *w <= 'Z' ? *w + 32 : *w);
		for (size_t i = 0; known_sections[i] != NULL; i++) {
			size_t	n = strlen(known_sections[i]);

			if (strncmp(k, known_sections[i], n) == 0 &&
			    strncmp(k + n, "__", 2) == 0) {
				char	*d = k, *r = k;

				/* "__" separates sections; "_" stays. */
				while (*r) {
					if (r[0] == '_' && r[1] == '_') {
						*d++ = '.';
						r += 2;
					} else
						*d++ = *r++;
				}
				*d = '\0';
				keyset_add(ks, k);
				break;
			}
		}
		free(k);
	}
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
cfg_known_keys(struct cfg *c, size_t *n)
{
	struct keyset	ks = { NULL, 0, 0 };

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nprov; i++)
		if (c->prov[i]->doc != NULL)
			doc_keys(&ks, c->prov[i]->doc(c->prov[i]), "");
	env_keys(&ks);
	pthread_mutex_unlock(&c->lock);
	if (ks.v == NULL)
		ks.v = xcalloc(1, sizeof(*ks.v));
	qsort(ks.v, ks.n, sizeof(*ks.v), by_name);
	if (n != NULL)
		*n = ks.n;
	return ks.v;
}
