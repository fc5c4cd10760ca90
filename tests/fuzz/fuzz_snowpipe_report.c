/* fuzz_snowpipe_report.c: Snowpipe's insertReport / loadHistoryScan. */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "load/snowpipe.h"
#include "common/util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ld_snowpipe_report	 rep = { 0 };
	char				*s = fuzz_cstr(data, size), *next;

	if (s == NULL)
		return 0;
	rep.f = xcalloc(2, sizeof(*rep.f));
	rep.f[0].path = xstrdup("rates/1.2.abc.jsonl.gz");
	rep.f[1].path = xstrdup("rates/x");
	rep.n = 2;
	if (ld_snowpipe_parse_report(s, &rep, &next) == 0)
		free(next);
	ld_snowpipe_report_cleanup(&rep);
	free(s);
	return 0;
}
