/*
 * fuzz_config_key.c: untrusted names and values through the resolver:
 * the first line is a dotted key (sections, pipeline prefixes and env
 * variable names are built from it), the second a value set in the
 * environment under that key's name, the first byte picks the type and
 * flags. Resolution may fail, never crash; missing-value messages are
 * built for every odd key.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct cfg	*c;

static char *
env_name(const char *pipeline, const char *dotted)
{
	size_t	 n = strlen(dotted) * 2 + (pipeline ? strlen(pipeline) : 0)
	    + 4;
	char	*e = malloc(n), *w = e;

	if (e == NULL)
		return NULL;
	if (pipeline != NULL)
		for (const char *p = pipeline; *p; p++)
			*w++ = (char)toupper((unsigned char)*p);
	if (pipeline != NULL)
		*w++ = '_', *w++ = '_';
	for (const char *p = dotted; *p; p++) {
		if (*p == '.')
			*w++ = '_', *w++ = '_';
		else
			*w++ = (char)toupper((unsigned char)*p);
	}
	*w = '\0';
	return e;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_opts		 o = { "/nonexistent-fuzz", "/nonexistent-g",
	    NULL, "/nonexistent-s", 1, NULL };
	struct cfg_field	 f;
	struct cfg_value	 v;
	char			 err[4096], *s, *nl, *dot, *name, *m;
	const char		*val = NULL;

	if (c == NULL && (c = cfg_new(&o, err, sizeof(err))) == NULL)
		abort();
	if (size == 0 || (s = fuzz_cstr(data, size)) == NULL)
		return 0;
	if ((nl = strchr(s + 1, '\n')) != NULL) {
		*nl = '\0';
		val = nl + 1;
	}
	memset(&f, 0, sizeof(f));
	f.type = (enum cfg_type)(data[0] % 7);
	f.flags = (data[0] >> 3) & (CFG_SECRET | CFG_OPTIONAL | CFG_EXACT);
	f.pipeline = (data[0] & 0x80) ? "pipe" : NULL;
	if ((dot = strrchr(s + 1, '.')) != NULL) {
		*dot = '\0';
		f.sections = s + 1;
		f.key = dot + 1;
	} else
		f.key = s + 1;
	name = NULL;
	if (val != NULL && dot != NULL) {
		*dot = '.';
		if ((name = env_name(f.pipeline, s + 1)) != NULL &&
		    *name != '\0' && strchr(name, '=') == NULL)
			setenv(name, val, 1);
		*dot = '\0';
	}
	if (cfg_resolve(c, &f, &v, err, sizeof(err)) == 0) {
		free(cfg_value_text(&v, data[0] & 1));
		cfg_value_cleanup(&v);
	}
	m = cfg_mask(c, s + 1);
	free(m);
	if (name != NULL) {
		if (*name != '\0' && strchr(name, '=') == NULL)
			unsetenv(name);
		free(name);
	}
	free(s);
	return 0;
}
