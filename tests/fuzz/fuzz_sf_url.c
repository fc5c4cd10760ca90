/* fuzz_sf_url.c: dlt's Snowflake host (and protocol after a newline). */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "snowflake/url.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_url	 u;
	struct buf	 b;
	char		 err[300], *s = fuzz_cstr(data, size), *proto, *acct;

	if (s == NULL)
		return 0;
	if ((proto = strchr(s, '\n')) != NULL)
		*proto++ = '\0';
	if (sf_url_parse(s, proto, &u, err, sizeof(err)) == 0) {
		acct = sf_jwt_account(u.account);
		free(acct);
		sf_url_cleanup(&u);
	}
	buf_init(&b, 1 << 20);
	buf_puts(&b, "/p");
	sf_url_param(&b, "k", s);
	buf_cleanup(&b);
	free(s);
	return 0;
}
