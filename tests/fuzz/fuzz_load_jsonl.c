/*
 * fuzz_load_jsonl.c: load/jsonl.c over any bytes. The lines it reads
 * ahead must be the lines getline reads, each parsed as jv_parse parses
 * it alone: the same items (as compact JSON), the same first bad line
 * and the same message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "load/jsonl.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static FILE *
file_of(const uint8_t *data, size_t size)
{
	FILE	*f = tmpfile();

	if (f != NULL) {
		fwrite(data, 1, size, f);
		rewind(f);
	}
	return f;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE			*f = file_of(data, size), *g;
	struct jl_reader	*r;
	struct jv_arena		 a = { 0 };
	struct buf		 got, want;
	const struct jv		*v;
	char			 err[512], err2[512], *line = NULL;
	size_t			 lineno, cap = 0, n = 0;
	ssize_t			 len;
	int			 rc;

	if (f == NULL || (g = file_of(data, size)) == NULL ||
	    (r = jl_open(f, err, sizeof(err))) == NULL)
		abort();
	buf_init(&got, (size_t)-1);
	buf_init(&want, (size_t)-1);
	while ((rc = jl_next(r, &v, &lineno, err, sizeof(err))) > 0) {
		if (lineno != ++n)
			abort();
		jv_write(&got, v);
		buf_append(&got, "\n", 1);
	}
	for (size_t k = 1; (len = getline(&line, &cap, g)) > 0; k++) {
		jv_arena_reset(&a);
		if ((v = jv_parse(&a, line, (size_t)len, err2,
		    sizeof(err2))) == NULL) {
			if (rc != -1 || lineno != k || strcmp(err, err2) != 0)
				abort();
			break;
		}
		jv_write(&want, v);
		buf_append(&want, "\n", 1);
	}
	if (len <= 0 && rc != 0)
		abort();
	if (got.len != want.len || (got.len > 0 &&
	    memcmp(got.data, want.data, got.len) != 0))
		abort();
	jl_close(r);
	fclose(f);
	fclose(g);
	free(line);
	jv_arena_free(&a);
	buf_cleanup(&got);
	buf_cleanup(&want);
	return 0;
}
