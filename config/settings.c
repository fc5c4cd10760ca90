/*
 * settings.c: dlt's "secrets.toml" and "config.toml" providers
 * (providers/toml.py SettingsTomlProvider, _workspace/providers.py).
 * The files are given in precedence order (<profile>.secrets.toml,
 * secrets.toml, then the same in the global dir); missing ones are
 * skipped, the rest merged key by key with the earlier file winning and
 * tables merged recursively. Keys are case-sensitive; a dotted key and
 * a table path are the same (the TOML reader builds the same tree).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/provider.h"
#include "config/toml.h"
#include "common/log.h"
#include "common/util.h"

struct settings_provider {
	struct cfg_provider	 base;
	cJSON			*doc;		/* merged */
	cJSON			**docs;		/* per file, precedence order */
	char			**doc_paths;
	size_t			 ndocs;
};

const cJSON *
doc_lookup(const cJSON *doc, const struct cfg_probe *p)
{
	const cJSON	*node = doc;

	if (p->pipeline != NULL && *p->pipeline != '\0')
		node = cJSON_GetObjectItemCaseSensitive(node, p->pipeline);
	for (size_t i = 0; node != NULL && i < p->npath; i++) {
		if (*p->path[i] == '\0')
			continue;
		node = cJSON_IsObject(node) ?
		    cJSON_GetObjectItemCaseSensitive(node, p->path[i]) : NULL;
	}
	if (node == NULL || !cJSON_IsObject(node))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(node, p->key);
}

int
doc_merge(cJSON *dst, const cJSON *src)
{
	const cJSON	*s;

	cJSON_ArrayForEach(s, src) {
		cJSON	*d = cJSON_GetObjectItemCaseSensitive(dst, s->string);
		cJSON	*copy;

		if (d != NULL && cJSON_IsObject(d) && cJSON_IsObject(s)) {
			if (doc_merge(d, s) == -1)
				return -1;
			continue;
		}
		if ((copy = cJSON_Duplicate(s, 1)) == NULL)
			return -1;
		if (d != NULL)
			cJSON_ReplaceItemViaPointer(dst, d, copy);
		else
			cJSON_AddItemToObject(dst, s->string, copy);
	}
	return 0;
}

static int
settings_get(struct cfg_provider *p, const struct cfg_probe *probe,
    cJSON **out, char **spelled, char **location, char *err, size_t errlen)
{
	struct settings_provider	*s = (struct settings_provider *)p;
	const cJSON			*v;

	(void)err;
	(void)errlen;
	*out = NULL;
	*location = NULL;
	*spelled = provider_key_name(probe, ".", 0);
	if ((v = doc_lookup(s->doc, probe)) == NULL)
		return 0;
	if ((*out = cJSON_Duplicate(v, 1)) == NULL)
		return -1;
	/* The value came from the first file that holds the path. */
	for (size_t i = 0; i < s->ndocs; i++)
		if (doc_lookup(s->docs[i], probe) != NULL) {
			*location = xstrdup(s->doc_paths[i]);
			break;
		}
	return 1;
}

static const cJSON *
settings_doc(struct cfg_provider *p)
{
	return ((struct settings_provider *)p)->doc;
}

static void
settings_free(struct cfg_provider *p)
{
	struct settings_provider	*s = (struct settings_provider *)p;

	cJSON_Delete(s->doc);
	for (size_t i = 0; i < s->ndocs; i++) {
		cJSON_Delete(s->docs[i]);
		free(s->doc_paths[i]);
	}
	free(s->docs);
	free(s->doc_paths);
	provider_base_cleanup(p);
	free(s);
}

static int
is_file(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void
read_error(const char *name, const char *const *paths, size_t n,
    const char *path, const char *msg, char *err, size_t errlen)
{
	struct buf	b;

	buf_init(&b, 4096);
	buf_printf(&b, "A problem encountered when loading %s from paths [",
	    name);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s'%s'", i ? ", " : "", paths[i]);
	buf_printf(&b, "]:\n%s:%s", path, msg);
	errorf(err, errlen, "%s", b.data != NULL ? b.data : "");
	buf_cleanup(&b);
}

static void
set_location(struct cfg_location *l, const char *path, int present,
    const char *profile, const char *global_dir)
{
	const char	*base = strrchr(path, '/');
	size_t		 gl = global_dir != NULL ? strlen(global_dir) : 0;

	base = base != NULL ? base + 1 : path;
	l->path = xstrdup(path);
	l->present = present;
	l->global = gl > 0 && strncmp(path, global_dir, gl) == 0 &&
	    path[gl] == '/';
	if (profile != NULL && strncmp(base, profile, strlen(profile)) == 0 &&
	    base[strlen(profile)] == '.')
		l->profile = xstrdup(profile);
}

struct cfg_provider *
settings_provider_new(const char *name, int secrets,
    const char *const *paths, size_t npaths, const char *profile,
    const char *global_dir, char *err, size_t errlen)
{
	struct settings_provider	*s = xcalloc(1, sizeof(*s));
	struct toml_error		 te;

	s->base.name = name;
	s->base.supports_secrets = secrets;
	s->base.secret_source = secrets;
	s->base.get = settings_get;
	s->base.free = settings_free;
	s->base.doc = settings_doc;
	s->base.locs = xcalloc(npaths ? npaths : 1, sizeof(*s->base.locs));
	s->base.nlocs = npaths;
	s->docs = xcalloc(npaths ? npaths : 1, sizeof(*s->docs));
	s->doc_paths = xcalloc(npaths ? npaths : 1, sizeof(*s->doc_paths));
	if ((s->doc = cJSON_CreateObject()) == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < npaths; i++) {
		int	present = is_file(paths[i]);

		set_location(&s->base.locs[i], paths[i], present, profile,
		    global_dir);
		if (!present)
			continue;
		if ((s->docs[s->ndocs] = toml_parse_file(paths[i], &te)) ==
		    NULL) {
			read_error(name, paths, npaths, paths[i], te.msg, err,
			    errlen);
			settings_free(&s->base);
			return NULL;
		}
		s->doc_paths[s->ndocs++] = xstrdup(paths[i]);
	}
	/* Lowest precedence first, so each later merge wins. */
	for (size_t i = s->ndocs; i-- > 0;)
		if (doc_merge(s->doc, s->docs[i]) == -1)
			fatalx("out of memory");
	s->base.is_empty = s->doc->child == NULL;
	return &s->base;
}
