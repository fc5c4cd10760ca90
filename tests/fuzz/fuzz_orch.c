/* fuzz_orch.c: orchestration answers from the network. */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "prefect/api.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct orch_result	 o;
	char			 err[200], *s = fuzz_cstr(data, size);

	if (s == NULL)
		return 0;
	if (api_parse_orch(s, &o, err, sizeof(err)) == 0)
		api_orch_adopt_own(&o, "x");
	free(s);
	return 0;
}
