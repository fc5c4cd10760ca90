/* fuzz_postgres_url.c: a postgres connection string (dlt's make_url). */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "load/postgres_credentials.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pg_credentials	 c;
	char			 err[300], *s = fuzz_cstr(data, size), *loc;

	if (s == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	if (pg_url_parse(s, &c, err, sizeof(err)) == 0) {
		loc = pg_credentials_location(&c);
		free(loc);
	}
	pg_credentials_cleanup(&c);
	free(s);
	return 0;
}
