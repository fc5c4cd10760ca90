/* fuzz_git_url.c: a git_clone step's repository URL and token (API). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tests/fuzz/fuzz.h"
#include "git/url.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct repo_url	 u;
	struct repo_creds c;
	const char	*secret;
	char		 err[300], *s = fuzz_cstr(data, size), *rel, *nl;

	if (s == NULL)
		return 0;
	/* First line: the URL; the rest: a token, or a relative URL. */
	if ((nl = strchr(s, '\n')) != NULL)
		*nl++ = '\0';
	if (repo_url_parse(s, &u, err, sizeof(err)) == 0) {
		if (repo_creds_resolve(&u, nl, NULL, &c, &secret, err,
		    sizeof(err)) == 0)
			repo_creds_cleanup(&c);
		if (nl != NULL && (rel = repo_url_resolve_relative(u.url,
		    nl)) != NULL)
			free(rel);
	}
	repo_url_cleanup(&u);
	repo_creds_scrub(err, sizeof(err), (const char *const *)&nl,
	    nl != NULL);
	free(s);
	return 0;
}
