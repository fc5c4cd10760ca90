/* fuzz_journal.c: run records read back from the state directory. */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "worker/journal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jrec	 j;
	char		 err[200], *s = fuzz_cstr(data, size);

	if (s == NULL)
		return 0;
	if (jrec_parse(&j, s, err, sizeof(err)) == 0)
		jrec_cleanup(&j);
	free(s);
	return 0;
}
