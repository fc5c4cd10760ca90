/* fuzz_git_url.c: a git_clone step's repository URL and token (API). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tests/fuzz/fuzz.h"
#include "deployments/git_url.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct git_url	 u;
	struct git_creds c;
	const char	*secret;
	char		 err[300], *s = fuzz_cstr(data, size), *rel, *nl;

	if (s == NULL)
		return 0;
	/* First line: the URL; the rest: a token, or a relative URL. */
	if ((nl = strchr(s, '\n')) != NULL)
		*nl++ = '\0';
	if (git_url_parse(s, &u, err, sizeof(err)) == 0) {
		if (git_creds_resolve(&u, nl, NULL, &c, &secret, err,
		    sizeof(err)) == 0)
			git_creds_cleanup(&c);
		if (nl != NULL && (rel = git_url_resolve_relative(u.url,
		    nl)) != NULL)
			free(rel);
	}
	git_url_cleanup(&u);
	git_creds_scrub(err, sizeof(err), (const char *const *)&nl,
	    nl != NULL);
	free(s);
	return 0;
}
