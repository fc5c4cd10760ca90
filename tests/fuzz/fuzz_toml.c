/*
 * fuzz_toml.c: libFuzzer entry for config/toml.c.  Every input is
 * parsed; a tree that comes back is also queried and freed, so leaks
 * and out-of-bounds reads in either path show up under ASan.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "config/toml.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
walk(const cJSON *it)
{
	long long	v;

	for (; it != NULL; it = it->next) {
		if (toml_type_of(it) == TOML_INTEGER &&
		    toml_get_int64(it, &v) != 0)
			abort();
		walk(it->child);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error	 err;
	cJSON			*root;

	root = toml_parse((const char *)data, size, &err);
	if (root == NULL && (err.line < 0 || err.msg[0] == '\0'))
		abort();
	walk(root);
	cJSON_Delete(root);
	return 0;
}
