/*
 * entrypoint.c: from "flows/hello.c:hello" to the flow declaration in
 * build/flows/hello.so.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/entrypoint.h"

static int
is_identifier(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static int
path_ok(const char *p, size_t n)
{
	if (n == 0 || p[0] == '/')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			return 0;
		/* No ".." component: the module stays in the checkout. */
		if (c == '.' && i + 1 < n && p[i + 1] == '.' &&
		    (i == 0 || p[i - 1] == '/') &&
		    (i + 2 == n || p[i + 2] == '/'))
			return 0;
	}
	return 1;
}

int
entrypoint_parse(const char *text, struct entrypoint *ep, char *err,
    size_t errlen)
{
	const char	*colon;
	size_t		 flen;

	memset(ep, 0, sizeof(*ep));
	if (text == NULL || *text == '\0') {
		snprintf(err, errlen, "the deployment has no entrypoint");
		return -1;
	}
	if ((colon = strrchr(text, ':')) == NULL) {
		snprintf(err, errlen, "entrypoint '%.200s' must look like "
		    "flows/<file>.c:<function>", text);
		return -1;
	}
	flen = (size_t)(colon - text);
	if (flen < 3 || strncmp(colon - 2, ".c", 2) != 0 ||
	    !path_ok(text, flen)) {
		snprintf(err, errlen, "entrypoint '%.200s': '%.*s' is not a "
		    "relative path to a .c file", text, (int)flen > 200 ? 200 :
		    (int)flen, text);
		return -1;
	}
	if (!is_identifier(colon + 1) || strlen(colon + 1) > 200) {
		snprintf(err, errlen, "entrypoint '%.200s': '%.200s' is not a "
		    "C function name", text, colon + 1);
		return -1;
	}
	if ((ep->file = strndup(text, flen)) == NULL ||
	    (ep->function = strdup(colon + 1)) == NULL ||
	    asprintf(&ep->module, "build/%.*s.so", (int)flen - 2, text) == -1) {
		ep->module = NULL;
		entrypoint_cleanup(ep);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void
entrypoint_cleanup(struct entrypoint *ep)
{
	free(ep->file);
	free(ep->function);
	free(ep->module);
	memset(ep, 0, sizeof(*ep));
}

int
entrypoint_load(const struct entrypoint *ep, const pf_flow_def **out,
    char *err, size_t errlen)
{
	void			*h;
	char			 sym[256], *path;
	const pf_flow_def	*def;

	if (access(ep->module, R_OK) == -1) {
		snprintf(err, errlen, "entrypoint '%s:%s': module %s not found "
		    "(is %s in the repository and built with make?)", ep->file,
		    ep->function, ep->module, ep->file);
		return -1;
	}
	/* dlopen needs a path with a slash to skip the library search. */
	if (asprintf(&path, "./%s", ep->module) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	free(path);
	if (h == NULL) {
		snprintf(err, errlen, "entrypoint '%s:%s': cannot load %s: %s",
		    ep->file, ep->function, ep->module, dlerror());
		return -1;
	}
	snprintf(sym, sizeof(sym), "pf_flow__%s", ep->function);
	if ((def = dlsym(h, sym)) == NULL) {
		snprintf(err, errlen, "entrypoint '%s:%s': %s declares no flow "
		    "'%s' (expected PF_FLOW(%s, ...))", ep->file, ep->function,
		    ep->file, ep->function, ep->function);
		return -1;
	}
	if (def->abi != PF_ABI_VERSION || def->fn == NULL) {
		snprintf(err, errlen, "entrypoint '%s:%s': built for flow ABI "
		    "%d, this pfagent speaks %d; rebuild it", ep->file,
		    ep->function, def->abi, PF_ABI_VERSION);
		return -1;
	}
	*out = def;
	return 0;
}
