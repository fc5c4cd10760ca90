/*
 * vault.c: the "AWS Secrets Manager" provider, enabled with
 * providers.enable_aws_secrets = true (dlt's ConfigProvidersConfiguration)
 * and configured under [providers.aws_secrets]:
 *
 *   secret_map           our addition (the data team's SECRET_MAP): a
 *                        table of dotted section paths to secret names.
 *                        "sources.open_exchange_rates" = "dlt/oxr" answers
 *                        every key of that section from the secret's JSON
 *                        object (a plain-string secret answers the key
 *                        "value"); "sources.x.api_key" = "dlt/key" answers
 *                        that one key with the whole secret. A section
 *                        scoped by a pipeline is a different path
 *                        ("p.sources.x"). Mapped sections answer any field,
 *                        secret or not; they never fall through.
 *   secret_name_prefix   dlt's own names for everything else ("dlt/"):
 *   only_secrets         as dlt's VaultDocProvider, for secret fields
 *   only_toml_fragments  only (defaults true, true), the TOML (or JSON)
 *                        documents <prefix>dlt_secrets_toml,
 *                        <prefix>sources, <prefix>sources/<name>,
 *                        <prefix>destination, <prefix>destination/<name>
 *                        (and pipeline-scoped ones) are merged into one
 *                        document, then the key is looked up there
 *   credentials          dlt's AwsCredentials: aws_access_key_id,
 *                        aws_secret_access_key, aws_session_token,
 *                        profile_name, region_name, endpoint_url; else
 *                        the AWS chain (aws/credentials.h)
 *
 * Nothing is fetched before the first lookup that reaches this
 * provider; every secret is fetched at most once per resolver (found or
 * not found; errors are not remembered). Without any AWS credentials
 * the provider answers "not found" and says why in the missing-value
 * message, so a laptop without AWS falls back to secrets.toml quietly.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "config/provider.h"
#include "config/toml.h"
#include "aws/credentials.h"
#include "aws/secretsmanager.h"
#include "common/log.h"
#include "common/util.h"

#define NAME		"AWS Secrets Manager"
#define SECRETS_TOML_KEY "dlt_secrets_toml"

struct fetched {
	char	*name;
	char	*text;		/* NULL: not found */
};

struct vault {
	struct cfg_provider	 base;
	struct cfg		*c;
	char			*prefix;
	int			 only_secrets, only_fragments;
	cJSON			*map;
	int			 ready, unavailable;
	struct aws_creds	 creds;
	char			*region, *endpoint, *profile;
	struct fetched		*cache;
	size_t			 ncache, capcache;
	char			**looked;	/* native keys asked, dlt's
						   _vault_lookups */
	size_t			 nlooked, caplooked;
	cJSON			*doc;		/* native fragments, merged */
};

static char *
setting(struct cfg *c, const char *sections, const char *spec,
    const char *key, int flags, const char *def)
{
	struct cfg_field f = { sections, key, spec, NULL, NULL, CFG_STR,
	    CFG_OPTIONAL | CFG_NO_VAULT | flags, def };
	struct cfg_value v;
	char		 err[256], *s = NULL;

	if (cfg_resolve(c, &f, &v, err, sizeof(err)) == 0 &&
	    cJSON_IsString(v.value))
		s = xstrdup(v.value->valuestring);
	cfg_value_cleanup(&v);
	return s;
}

static int
flag(struct cfg *c, const char *key, int *out, char *err, size_t errlen)
{
	struct cfg_field f = { "providers", key, "aws_secrets", NULL, NULL,
	    CFG_BOOL, CFG_NO_VAULT, "true" };
	struct cfg_value v;

	if (cfg_resolve(c, &f, &v, err, errlen) == -1)
		return -1;
	*out = cJSON_IsTrue(v.value);
	cfg_value_cleanup(&v);
	return 0;
}

static void
note(struct vault *v, const char *what)
{
	char	*n = xstrdup(what), *joined;

	if (v->base.note == NULL) {
		v->base.note = n;
		return;
	}
	joined = xasprintf("%s; %s", v->base.note, n);
	free(v->base.note);
	free(n);
	v->base.note = joined;
}

/* Credentials and region, at the first lookup. */
static int
get_ready(struct vault *v, char *err, size_t errlen)
{
	const char		*sec = "providers.aws_secrets";
	struct aws_creds_config	 cc;
	char			*ak, *sk, *tok, *region, *ep, e2[512];
	int			 rc;

	if (v->ready && !aws_creds_stale(&v->creds, time(NULL)))
		return 0;
	aws_creds_cleanup(&v->creds);
	ak = setting(v->c, sec, "credentials", "aws_access_key_id", 0, NULL);
	sk = setting(v->c, sec, "credentials", "aws_secret_access_key",
	    CFG_SECRET, NULL);
	tok = setting(v->c, sec, "credentials", "aws_session_token",
	    CFG_SECRET, NULL);
	free(v->profile);
	v->profile = setting(v->c, sec, "credentials", "profile_name", 0,
	    NULL);
	region = setting(v->c, sec, "credentials", "region_name", 0, NULL);
	ep = setting(v->c, sec, "credentials", "endpoint_url", 0, NULL);
	cc = (struct aws_creds_config){ ak, sk, tok, v->profile };
	rc = aws_creds_resolve(&cc, &v->creds, e2, sizeof(e2));
	free(ak);
	free(sk);
	free(tok);
	v->ready = 1;
	if (rc == 1) {
		v->unavailable = 1;
		note(v, "not asked: no AWS credentials");
		rc = 0;
		goto out;
	}
	if (rc == -1) {
		v->ready = 0;
		errorf(err, errlen, "%s: %s", NAME, e2);
		goto out;
	}
	log_debug("%s: AWS credentials from %s", NAME, v->creds.source);
	cfg_note_secret_text(v->c, v->creds.secret_key);
	cfg_note_secret_text(v->c, v->creds.session_token);
	free(v->region);
	if ((v->region = aws_region_resolve(region, v->profile)) == NULL) {
		v->ready = 0;
		rc = errorf(err, errlen, "%s: AWS region could not be "
		    "determined. Set `region_name` in "
		    "`providers.aws_secrets.credentials`, the "
		    "`AWS_DEFAULT_REGION` environment variable or in your AWS "
		    "profile.", NAME);
		goto out;
	}
	free(v->endpoint);
	v->endpoint = aws_endpoint_url(ep, "SECRETS_MANAGER");
out:
	free(region);
	free(ep);
	return rc;
}

/* One secret, fetched at most once: 1 found (*text borrowed), 0 not. */
static int
fetch(struct vault *v, const char *name, const char **text, char *err,
    size_t errlen)
{
	struct aws_client	 cl;
	struct sm_answer	 a;
	enum sm_result		 r;
	char			 e2[1024], *masked;

	*text = NULL;
	for (size_t i = 0; i < v->ncache; i++)
		if (strcmp(v->cache[i].name, name) == 0)
			return (*text = v->cache[i].text) != NULL;
	if (get_ready(v, err, errlen) == -1)
		return -1;
	if (v->unavailable)
		return 0;
	cl = (struct aws_client){ v->region, v->endpoint, &v->creds, 0 };
	log_debug("Vault provider %s will make a request for %s", NAME, name);
	r = sm_get_secret_value(&cl, name, &a, e2, sizeof(e2));
	if (r == SM_ERROR) {
		/* The service's words may quote anything: mask secrets. */
		masked = cfg_mask(v->c, e2);
		errorf(err, errlen, "%s: %s (credentials from %s)", NAME,
		    masked, v->creds.source);
		free(masked);
		sm_answer_cleanup(&a);
		return -1;
	}
	if (r == SM_SKIPPED) {
		masked = cfg_mask(v->c, e2);
		log_warnx("%s: %s", NAME, masked);
		note(v, masked);
		free(masked);
	}
	if (v->ncache == v->capcache) {
		v->capcache = v->capcache ? 2 * v->capcache : 8;
		v->cache = xrealloc(v->cache, v->capcache * sizeof(*v->cache));
	}
	v->cache[v->ncache].name = xstrdup(name);
	v->cache[v->ncache].text = a.secret;	/* now owned by the cache */
	a.secret = NULL;
	if (v->cache[v->ncache].text != NULL)
		cfg_note_secret_text(v->c, v->cache[v->ncache].text);
	sm_answer_cleanup(&a);
	return (*text = v->cache[v->ncache++].text) != NULL;
}

/* A secret that is a JSON object, parsed; NULL otherwise. */
static cJSON *
json_object(const char *text)
{
	cJSON	*j = cJSON_Parse(text);

	if (j != NULL && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	cfg_json_mark_ints(j);
	return j;
}

static char *
joined_path(const struct cfg_probe *p, const char *key)
{
	struct cfg_probe	 q = *p;

	if (key != NULL) {
		q.key = key;
		return provider_key_name(&q, ".", 0);
	}
	/* The sections alone: drop the key from the joined name. */
	q.key = "";
	{
		char	*s = provider_key_name(&q, ".", 0);
		size_t	 n = strlen(s);

		if (n > 0 && s[n - 1] == '.')
			s[n - 1] = '\0';
		return s;
	}
}

/*
 * The secret_map: -1 error, 0 not mapped, 1 mapped and found, 2 mapped
 * but without this key.
 */
static int
from_map(struct vault *v, const struct cfg_probe *p, cJSON **out,
    char **spelled, char **location, char *err, size_t errlen)
{
	char		*sect = joined_path(p, NULL), *full = joined_path(p,
	    p->key);
	const cJSON	*m;
	const char	*text;
	cJSON		*obj, *it;
	int		 rc = 0, whole;

	whole = cJSON_IsString(m = cJSON_GetObjectItemCaseSensitive(v->map,
	    full));
	if (!whole && !cJSON_IsString(m = cJSON_GetObjectItemCaseSensitive(
	    v->map, sect)))
		goto out;
	free(*spelled);
	*spelled = whole ? xstrdup(m->valuestring) :
	    xasprintf("%s:%s", m->valuestring, p->key);
	if ((rc = fetch(v, m->valuestring, &text, err, errlen)) <= 0) {
		rc = rc == -1 ? -1 : 2;
		goto out;
	}
	obj = json_object(text);
	if (whole)
		*out = obj != NULL ? obj : cJSON_CreateString(text);
	else {
		it = obj != NULL ? cJSON_DetachItemFromObjectCaseSensitive(obj,
		    p->key) : strcmp(p->key, "value") == 0 ?
		    cJSON_CreateString(text) : NULL;
		cJSON_Delete(obj);
		*out = it;
	}
	rc = *out != NULL ? 1 : 2;
	if (rc == 1)
		*location = xstrdup(m->valuestring);
out:
	free(sect);
	free(full);
	return rc;
}

/* dlt's normalize_key(): punctuation but '-' and '_' and blanks go. */
static char *
normalize_key(const char *s)
{
	char	*o = xstrdup(s), *w = o;

	for (; *s; s++)
		if (!(ispunct((unsigned char)*s) && *s != '-' && *s != '_') &&
		    !isspace((unsigned char)*s))
			*w++ = *s;
	*w = '\0';
	return o;
}

/* AwsSecretsManagerProvider.get_key_name(): normalized, '/' joined. */
static char *
native_name(const char *key, const char *const *sections, size_t n)
{
	struct buf	 b;
	char		*k;

	buf_init(&b, (size_t)-1);
	for (size_t i = 0; i < n; i++) {
		char	*s;

		if (sections[i] == NULL || *sections[i] == '\0')
			continue;
		s = normalize_key(sections[i]);
		buf_printf(&b, "%s%s", b.len ? "/" : "", s);
		free(s);
	}
	k = normalize_key(key);
	buf_printf(&b, "%s%s", b.len ? "/" : "", k);
	free(k);
	return buf_steal(&b);
}

static int
looked(struct vault *v, const char *fk)
{
	for (size_t i = 0; i < v->nlooked; i++)
		if (strcmp(v->looked[i], fk) == 0)
			return 1;
	return 0;
}

/* A TOML document, else a JSON object; NULL for a plain value. */
static cJSON *
fragment(const char *text)
{
	cJSON	*j;

	if ((j = toml_parse(text, strlen(text), NULL)) != NULL)
		return j;
	return json_object(text);
}

/* dlt's set_fragment(): documents merge at the root, values go to key. */
static void
set_fragment(struct vault *v, const char *key, const char *text,
    const char *const *sections, size_t n)
{
	cJSON	*frag = fragment(text), *node, *raw, *val;
	char	 err[64];

	if (frag != NULL) {
		if (key == NULL) {
			cJSON_Delete(v->doc);
			v->doc = frag;
			return;
		}
		doc_merge(v->doc, frag);
		cJSON_Delete(frag);
		return;
	}
	if (key == NULL || *key == '\0')
		return;
	node = v->doc;
	for (size_t i = 0; i < n; i++) {
		cJSON	*next = cJSON_GetObjectItemCaseSensitive(node,
		    sections[i]);

		if (next == NULL)
			next = cJSON_AddObjectToObject(node, sections[i]);
		if (!cJSON_IsObject(next))
			return;
		node = next;
	}
	raw = cJSON_CreateString(text);
	if (cfg_coerce(raw, CFG_AUTO, key, &val, err, sizeof(err)) == 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(node, key);
		cJSON_AddItemToObject(node, key, val);
	}
	cJSON_Delete(raw);
}

/* dlt's _update_from_vault(). */
static int
update(struct vault *v, const char *fk, const char *key,
    const char *const *sections, size_t n, char *err, size_t errlen)
{
	const char	*text;
	char		*name;
	int		 rc;

	if (looked(v, fk))
		return 0;
	name = xasprintf("%s%s", v->prefix, fk);
	rc = fetch(v, name, &text, err, errlen);
	free(name);
	if (rc == -1)
		return -1;
	if (v->nlooked == v->caplooked) {
		v->caplooked = v->caplooked ? 2 * v->caplooked : 8;
		v->looked = xrealloc(v->looked,
		    v->caplooked * sizeof(*v->looked));
	}
	v->looked[v->nlooked++] = xstrdup(fk);
	if (rc == 1)
		set_fragment(v, key, text, sections, n);
	return 0;
}

/* dlt's _load_fragments(): sources/destination documents. */
static int
load_fragments(struct vault *v, const struct cfg_probe *p, char *err,
    size_t errlen)
{
	static const char *const known[] = { "sources", "destination" };
	const char	*full[CFG_MAX_PATH + 2];
	char		*fk;
	size_t		 n;
	int		 rc = 0;

	if (p->pipeline != NULL) {
		fk = native_name(SECRETS_TOML_KEY, &p->pipeline, 1);
		rc = update(v, fk, "", NULL, 0, err, errlen);
		free(fk);
		if (rc == -1)
			return -1;
	}
	for (size_t k = 0; k < 2; k++)
		for (int scoped = 0; scoped < 2; scoped++) {
			size_t	idx;

			if (scoped && p->pipeline == NULL)
				continue;
			n = 0;
			if (scoped)
				full[n++] = p->pipeline;
			for (size_t i = 0; i < p->npath && n < CFG_MAX_PATH;
			    i++)
				full[n++] = p->path[i];
			full[n++] = p->key;
			for (idx = 0; idx < n; idx++)
				if (strcmp(full[idx], known[k]) == 0)
					break;
			/* The section, then the name after it if any. */
			for (size_t at = idx; at < n && at <= idx + 1; at++) {
				fk = native_name(full[at], full, at);
				rc = update(v, fk, full[at], full, at, err,
				    errlen);
				free(fk);
				if (rc == -1 || at == n - 1)
					break;
			}
			if (rc == -1)
				return -1;
		}
	return 0;
}

static int
native(struct vault *v, const struct cfg_probe *p, cJSON **out, char *err,
    size_t errlen)
{
	const cJSON	*hit;
	char		*fk;

	if (update(v, SECRETS_TOML_KEY, NULL, NULL, 0, err, errlen) == -1)
		return -1;
	if ((hit = doc_lookup(v->doc, p)) == NULL &&
	    (!v->only_secrets || p->secret)) {
		if (load_fragments(v, p, err, errlen) == -1)
			return -1;
		if ((hit = doc_lookup(v->doc, p)) == NULL &&
		    !v->only_fragments) {
			const char	*sec[CFG_MAX_PATH + 1];
			size_t		 n = 0;

			if (p->pipeline != NULL)
				sec[n++] = p->pipeline;
			for (size_t i = 0; i < p->npath && n < CFG_MAX_PATH;
			    i++)
				sec[n++] = p->path[i];
			fk = native_name(p->key, sec, n);
			if (update(v, fk, p->key, sec, n, err, errlen) == -1) {
				free(fk);
				return -1;
			}
			free(fk);
			hit = doc_lookup(v->doc, p);
		}
	}
	if (hit == NULL)
		return 0;
	return (*out = cJSON_Duplicate(hit, 1)) != NULL ? 1 : -1;
}

static int
vault_get(struct cfg_provider *bp, const struct cfg_probe *p, cJSON **out,
    char **spelled, char **location, char *err, size_t errlen)
{
	struct vault	*v = (struct vault *)bp;
	const char	*sec[CFG_MAX_PATH + 1];
	size_t		 n = 0;
	int		 rc;

	*out = NULL;
	*location = NULL;
	if (p->pipeline != NULL)
		sec[n++] = p->pipeline;
	for (size_t i = 0; i < p->npath && n < CFG_MAX_PATH; i++)
		sec[n++] = p->path[i];
	*spelled = native_name(p->key, sec, n);
	if (v->map != NULL &&
	    (rc = from_map(v, p, out, spelled, location, err, errlen)) != 0)
		return rc == 2 ? 0 : rc;
	if (get_ready(v, err, errlen) == -1)
		return -1;
	if (v->unavailable)
		return 0;
	return native(v, p, out, err, errlen);
}

static void
vault_free(struct cfg_provider *bp)
{
	struct vault	*v = (struct vault *)bp;

	for (size_t i = 0; i < v->ncache; i++) {
		free(v->cache[i].name);
		if (v->cache[i].text != NULL) {
			OPENSSL_cleanse(v->cache[i].text,
			    strlen(v->cache[i].text));
			free(v->cache[i].text);
		}
	}
	free(v->cache);
	for (size_t i = 0; i < v->nlooked; i++)
		free(v->looked[i]);
	free(v->looked);
	cJSON_Delete(v->doc);
	cJSON_Delete(v->map);
	aws_creds_cleanup(&v->creds);
	free(v->prefix);
	free(v->region);
	free(v->endpoint);
	free(v->profile);
	provider_base_cleanup(bp);
	free(v);
}

static int
read_map(struct vault *v, char *err, size_t errlen)
{
	struct cfg_field f = { "providers", "secret_map", "aws_secrets", NULL,
	    NULL, CFG_JSON, CFG_OPTIONAL | CFG_NO_VAULT, NULL };
	struct cfg_value val;
	const cJSON	*it;

	if (cfg_resolve(v->c, &f, &val, err, errlen) == -1)
		return -1;
	v->map = val.value;		/* now owned by the vault */
	val.value = NULL;
	cfg_value_cleanup(&val);
	if (v->map != NULL && !cJSON_IsObject(v->map))
		return errorf(err, errlen, "providers.aws_secrets.secret_map "
		    "must be a table of sections to secret names");
	cJSON_ArrayForEach(it, v->map)
		if (!cJSON_IsString(it) || *it->valuestring == '\0')
			return errorf(err, errlen, "providers.aws_secrets."
			    "secret_map: `%s` must name a secret", it->string);
	return 0;
}

struct cfg_provider *
vault_provider_new(struct cfg *c, char *err, size_t errlen)
{
	struct vault	*v = xcalloc(1, sizeof(*v));

	v->base.name = NAME;
	v->base.supports_secrets = 1;
	v->base.secret_source = 1;
	v->base.network = 1;
	v->base.get = vault_get;
	v->base.free = vault_free;
	v->c = c;
	if ((v->doc = cJSON_CreateObject()) == NULL)
		fatalx("out of memory");
	v->prefix = setting(c, "providers", "aws_secrets",
	    "secret_name_prefix", 0, "dlt/");
	if (v->prefix == NULL)
		v->prefix = xstrdup("");
	if (flag(c, "only_secrets", &v->only_secrets, err, errlen) == -1 ||
	    flag(c, "only_toml_fragments", &v->only_fragments, err,
	    errlen) == -1 || read_map(v, err, errlen) == -1) {
		vault_free(&v->base);
		return NULL;
	}
	return &v->base;
}
