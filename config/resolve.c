/*
 * resolve.c: the lookup of one field through the providers, as dlt's
 * _resolve_single_value() and resolve_single_provider_value()
 * (dlt/common/configuration/resolve.py):
 *
 *   paths   the field's sections, then with the rightmost one dropped,
 *           down to none; the spec section (e.g. "credentials") is
 *           appended to every path; for sources.<section>.<name> with
 *           section != name, sources.<name> is inserted third
 *           (_build_section_lookup_paths, COMPACT_LAYOUT_SECTIONS)
 *   passes  with a pipeline name: <pipeline>.<path>.<key> for every
 *           provider and path, then the same without it
 *   order   inside a pass, every path of a provider before the next
 *           provider; the first value found wins
 *   secrets a provider that cannot hold secrets (config.toml) is asked
 *           anyway and a value found there is an error
 *           (ValueNotSecretException); it leaves no trace otherwise
 *
 * Every probe is recorded, so a missing value is reported with each
 * (provider, key) tried, in order, as ConfigFieldMissingException does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/provider.h"
#include "common/util.h"

#define MAX_SECTIONS	CFG_MAX_SECTIONS
#define MSG_MAX		(64u << 10)

struct trace {
	const char	*provider;
	char		*key;
};

struct lookup {
	struct cfg		*c;
	const struct cfg_field	*f;
	const char		*sec[MAX_SECTIONS];
	size_t			 nsec;
	const char		*paths[MAX_SECTIONS + 2][MAX_SECTIONS + 1];
	size_t			 plen[MAX_SECTIONS + 2];
	size_t			 npaths;
	struct trace		*traces;
	size_t			 ntraces, captraces;
};

static void
trace_add(struct lookup *l, const char *provider, char *key)
{
	if (l->ntraces == l->captraces) {
		l->captraces = l->captraces ? 2 * l->captraces : 16;
		l->traces = xrealloc(l->traces,
		    l->captraces * sizeof(*l->traces));
	}
	l->traces[l->ntraces].provider = provider;
	l->traces[l->ntraces++].key = key;	/* now owned by the lookup */
}

static int
same_path(const struct lookup *l, size_t i, const char *const *p, size_t n)
{
	if (l->plen[i] != n)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (strcmp(l->paths[i][k], p[k]) != 0)
			return 0;
	return 1;
}

/* dlt's _build_section_lookup_paths(), most specific first. */
static void
build_paths(struct lookup *l)
{
	const char	*spec = l->f->spec_section;
	const char	*compact[MAX_SECTIONS + 1];
	size_t		 ns = l->nsec, n;

	if (spec != NULL && *spec == '\0')
		spec = NULL;
	for (;;) {
		n = 0;
		for (size_t k = 0; k < ns; k++)
			l->paths[l->npaths][n++] = l->sec[k];
		if (spec != NULL)
			l->paths[l->npaths][n++] = spec;
		l->plen[l->npaths++] = n;
		if (ns == 0 || (l->f->flags & CFG_EXACT))
			break;
		ns--;
	}
	if ((l->f->flags & CFG_EXACT) || l->nsec < 3 ||
	    strcmp(l->sec[0], "sources") != 0 ||
	    strcmp(l->sec[1], l->sec[2]) == 0)
		return;
	n = 0;
	compact[n++] = l->sec[0];
	compact[n++] = l->sec[2];
	if (spec != NULL)
		compact[n++] = spec;
	for (size_t i = 0; i < l->npaths; i++)
		if (same_path(l, i, compact, n))
			return;
	/* Inserted at index 2: always the third candidate. */
	for (size_t i = l->npaths; i > 2; i--) {
		memcpy(l->paths[i], l->paths[i - 1], sizeof(l->paths[i]));
		l->plen[i] = l->plen[i - 1];
	}
	memcpy(l->paths[2], compact, n * sizeof(compact[0]));
	l->plen[2] = n;
	l->npaths++;
}

/*
 * One pass over the providers. Returns 1 found (out filled), 0 not
 * found, -1 error.
 */
static int
look(struct lookup *l, const char *pipeline, struct cfg_value *out,
    cJSON **raw, char *err, size_t errlen)
{
	int	secret = (l->f->flags & CFG_SECRET) != 0;

	for (size_t i = 0; i < l->c->nprov; i++) {
		struct cfg_provider	*p = l->c->prov[i];
		int			 cant_hold;

		if (p->is_empty || (p->network && (l->f->flags &
		    CFG_NO_VAULT)) || ((l->f->flags & CFG_SECRETS_ONLY) &&
		    !p->supports_secrets))
			continue;
		cant_hold = !p->supports_secrets && secret;
		for (size_t k = 0; k < l->npaths; k++) {
			struct cfg_probe pr = { pipeline, l->paths[k],
			    l->plen[k], l->f->key, secret };
			char	*spelled = NULL, *loc = NULL;
			cJSON	*v = NULL;
			int	 rc;

			rc = p->get(p, &pr, &v, &spelled, &loc, err, errlen);
			if (rc == -1) {
				free(spelled);
				return -1;
			}
			if (rc == 1 && cant_hold) {
				errorf(err, errlen, "Provider `%s` cannot hold "
				    "secret values but key `%s` with secret "
				    "value is present (in %s: move it to a "
				    "secrets.toml file or an environment "
				    "variable)", p->name, spelled,
				    loc != NULL ? loc : p->name);
				cJSON_Delete(v);
				free(spelled);
				free(loc);
				return -1;
			}
			if (rc == 1) {
				out->provider = p->name;
				out->key = spelled;
				out->location = loc;
				out->secret = secret || p->secret_source;
				trace_add(l, p->name, xstrdup(spelled));
				*raw = v;
				return 1;
			}
			if (!cant_hold)
				trace_add(l, p->name, spelled);
			else
				free(spelled);
		}
	}
	return 0;
}

static void
provider_lines(struct buf *b, const struct cfg_provider *p)
{
	size_t	present = 0;

	for (size_t i = 0; i < p->nlocs; i++)
		present += p->locs[i].present != 0;
	if (present > 0) {
		buf_printf(b, "Provider `%s` loaded values from locations:\n",
		    p->name);
		for (size_t i = 0; i < p->nlocs; i++)
			if (p->locs[i].present)
				buf_printf(b, "\t- %s\n", p->locs[i].path);
	}
	if (present < p->nlocs) {
		buf_printf(b, "Provider `%s` probed but not found the following"
		    " locations:\n", p->name);
		for (size_t i = 0; i < p->nlocs; i++)
			if (!p->locs[i].present)
				buf_printf(b, "\t- %s\n", p->locs[i].path);
	}
	if (p->is_empty)
		buf_printf(b, "WARNING: provider `%s` is empty. Locations "
		    "(i.e., files) are missing or empty.\n", p->name);
	if (p->note != NULL)
		buf_printf(b, "NOTE: provider `%s`: %s\n", p->name, p->note);
}

/* dlt's ConfigFieldMissingException text, for one field. */
static void
missing_message(const struct lookup *l, char *err, size_t errlen)
{
	const struct cfg_field	*f = l->f;
	struct buf		 b;

	buf_init(&b, MSG_MAX);
	buf_printf(&b, "Missing 1 field(s) in configuration `%s`: `%s`\n",
	    f->spec != NULL ? f->spec : f->sections != NULL &&
	    *f->sections != '\0' ? f->sections : "BaseConfiguration",
	    f->key);
	for (size_t i = 0; i < l->ntraces; i++) {
		if (i == 0)
			buf_printf(&b, "for field `%s` the following (config "
			    "provider, key) were tried in order:\n", f->key);
		buf_printf(&b, "  (%s, %s)\n", l->traces[i].provider,
		    l->traces[i].key);
	}
	if (l->c->ws.active)
		buf_printf(&b, "\nActive profile: `%s`\n", l->c->ws.profile);
	for (size_t i = 0; i < l->c->nprov; i++)
		provider_lines(&b, l->c->prov[i]);
	buf_printf(&b, "\nLearn more: https://dlthub.com/docs/general-usage/"
	    "credentials/");
	errorf(err, errlen, "%s", b.data != NULL ? b.data : "");
	buf_cleanup(&b);
}

static int
split_sections(struct lookup *l, char *copy, char *err, size_t errlen)
{
	char	*s = copy, *dot;

	while (s != NULL && *s != '\0') {
		if ((dot = strchr(s, '.')) != NULL)
			*dot = '\0';
		/* Empty names are skipped, as dlt's get_key_name does. */
		if (*s != '\0') {
			if (l->nsec == MAX_SECTIONS)
				return errorf(err, errlen, "more than %d "
				    "sections in `%s`", MAX_SECTIONS,
				    l->f->sections);
			l->sec[l->nsec++] = s;
		}
		s = dot != NULL ? dot + 1 : NULL;
	}
	return 0;
}

static int
finish(struct lookup *l, cJSON *raw, struct cfg_value *out, char *err,
    size_t errlen)
{
	char	 why[512];

	if (cfg_coerce(raw, l->f->type, l->f->key, &out->value, why,
	    sizeof(why)) == -1)
		return cfg_value_error(out, why, err, errlen);
	if (out->secret)
		cfg_note_secret(l->c, out->value);
	return 0;
}

int
cfg_resolve(struct cfg *c, const struct cfg_field *f, struct cfg_value *out,
    char *err, size_t errlen)
{
	struct lookup	 l;
	char		*copy;
	cJSON		*raw = NULL;
	int		 rc = -1, found = 0;

	memset(out, 0, sizeof(*out));
	if (f->key == NULL || *f->key == '\0')
		return errorf(err, errlen, "no key to look up");
	memset(&l, 0, sizeof(l));
	l.c = c;
	l.f = f;
	copy = xstrdup(f->sections != NULL ? f->sections : "");
	pthread_mutex_lock(&c->lock);
	if (split_sections(&l, copy, err, errlen) == -1)
		goto out;
	build_paths(&l);
	if (f->pipeline != NULL && *f->pipeline != '\0' &&
	    !(f->flags & CFG_EXACT) &&
	    (found = look(&l, f->pipeline, out, &raw, err, errlen)) == -1)
		goto out;
	if (!found && (found = look(&l, NULL, out, &raw, err, errlen)) == -1)
		goto out;
	if (found) {
		rc = finish(&l, raw, out, err, errlen);
		goto out;
	}
	if (f->def != NULL) {
		cJSON	*d = cJSON_CreateString(f->def);

		out->provider = "default";
		out->key = xstrdup(f->key);
		out->secret = (f->flags & CFG_SECRET) != 0;
		rc = d != NULL ? finish(&l, d, out, err, errlen) : -1;
		cJSON_Delete(d);
		goto out;
	}
	if (f->flags & CFG_OPTIONAL) {
		rc = 0;
		goto out;
	}
	missing_message(&l, err, errlen);
out:
	pthread_mutex_unlock(&c->lock);
	if (rc == -1)
		cfg_value_cleanup(out);
	cJSON_Delete(raw);
	for (size_t i = 0; i < l.ntraces; i++)
		free(l.traces[i].key);
	free(l.traces);
	free(copy);
	return rc;
}

int
cfg_get(struct cfg *c, const char *dotted, int flags, struct cfg_value *out,
    char *err, size_t errlen)
{
	struct cfg_field	 f;
	char			*sections = xstrdup(dotted), *dot;
	int			 rc;

	memset(&f, 0, sizeof(f));
	if ((dot = strrchr(sections, '.')) != NULL) {
		*dot = '\0';
		f.key = dot + 1;
		f.sections = sections;
	} else
		f.key = sections;
	f.type = CFG_AUTO;
	f.flags = flags;
	rc = cfg_resolve(c, &f, out, err, errlen);
	free(sections);
	return rc;
}

void
cfg_value_cleanup(struct cfg_value *v)
{
	cJSON_Delete(v->value);
	free(v->key);
	free(v->location);
	memset(v, 0, sizeof(*v));
}
