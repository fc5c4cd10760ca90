/*
 * env.c: dlt's "Environment Variables" provider
 * (dlt/common/configuration/providers/environ.py). A key is the
 * pipeline name, the sections and the key joined by "__" and upper-cased:
 * SOURCES__OPEN_EXCHANGE_RATES__API_KEY. For a secret field the Docker /
 * Kubernetes secret file /run/secrets/<name> (the name lower-cased, '_'
 * as '-'; inside a directory of that name for Kubernetes) comes first,
 * returned unstripped. dlt also copies it into os.environ for forked
 * children; we do not: setenv() while other threads (libcurl's proxy
 * lookups, flow tasks) call getenv() is a data race in C.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/provider.h"
#include "common/util.h"

#define SECRET_FILE_MAX	(1u << 20)

struct env_provider {
	struct cfg_provider	 base;
	char			*secrets_dir;
};

char *
provider_key_name(const struct cfg_probe *p, const char *sep, int upper)
{
	struct buf	b;
	char		*s;

	buf_init(&b, (size_t)-1);
	if (p->pipeline != NULL && *p->pipeline != '\0')
		buf_printf(&b, "%s", p->pipeline);
	for (size_t i = 0; i < p->npath; i++)
		if (*p->path[i] != '\0')
			buf_printf(&b, "%s%s", b.len ? sep : "", p->path[i]);
	buf_printf(&b, "%s%s", b.len ? sep : "", p->key);
	s = buf_steal(&b);
	/* Python's str.upper() on the ASCII names dlt expects. */
	if (upper)
		for (char *q = s; *q; q++)
			*q = (char)toupper((unsigned char)*q);
	return s;
}

static char *
secret_file(const struct env_provider *e, const char *env_key, char **where)
{
	char		*name = xstrdup(env_key), *path, *v;
	struct stat	 st;

	for (char *q = name; *q; q++)
		*q = *q == '_' ? '-' : (char)tolower((unsigned char)*q);
	path = xasprintf("%s/%s", e->secrets_dir, name);
	/* Kubernetes mounts a directory holding a file of that name. */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		char	*in = xasprintf("%s/%s", path, name);

		free(path);
		path = in;
	}
	if ((v = read_file_max(path, SECRET_FILE_MAX, NULL, NULL, 0)) != NULL)
		*where = path;		/* now owned by the caller */
	else
		free(path);
	free(name);
	return v;
}

static int
env_get(struct cfg_provider *p, const struct cfg_probe *probe, cJSON **out,
    char **spelled, char **location, char *err, size_t errlen)
{
	struct env_provider	*e = (struct env_provider *)p;
	const char		*v;
	char			*key, *file;

	(void)err;
	(void)errlen;
	*out = NULL;
	*location = NULL;
	*spelled = key = provider_key_name(probe, "__", 1);
	if (probe->secret && (file = secret_file(e, key, location)) != NULL) {
		*out = cJSON_CreateString(file);
		free(file);
		return *out != NULL ? 1 : -1;
	}
	if ((v = getenv(key)) == NULL)
		return 0;
	*out = cJSON_CreateString(v);
	return *out != NULL ? 1 : -1;
}

static void
env_free(struct cfg_provider *p)
{
	struct env_provider	*e = (struct env_provider *)p;

	free(e->secrets_dir);
	provider_base_cleanup(p);
	free(e);
}

struct cfg_provider *
env_provider_new(const char *secrets_dir)
{
	extern char		**environ;
	struct env_provider	 *e = xcalloc(1, sizeof(*e));

	e->base.name = "Environment Variables";
	e->base.supports_secrets = 1;
	e->base.is_empty = environ == NULL || environ[0] == NULL;
	e->base.get = env_get;
	e->base.free = env_free;
	e->secrets_dir = xstrdup(secrets_dir != NULL ? secrets_dir :
	    "/run/secrets");
	return &e->base;
}
