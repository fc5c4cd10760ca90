/* fuzz_entrypoint.c: entrypoint text from the API. */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "sdk/module.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct entrypoint	 ep;
	char			 err[300], *s = fuzz_cstr(data, size);

	if (s == NULL)
		return 0;
	if (entrypoint_parse(s, &ep, err, sizeof(err)) == 0)
		entrypoint_cleanup(&ep);
	free(s);
	return 0;
}
