/*
 * fuzz_sf_dest.c: the Snowflake destination's text (load/snowflake_sql.c)
 * over any bytes: the first line a column type, the rest an answer's
 * value (rendered), SQL (split, described), a qualified name (its stage
 * folder) and a job file's binary value (its hex bind).
 */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "load/snowflake_sql.h"

static int
count(void *arg, const char *stmt)
{
	(*(size_t *)arg) += strlen(stmt) > 0;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ld_column c = { .name = "c", .type = LD_BINARY };
	struct buf	 b;
	char		*s = fuzz_cstr(data, size), *rest, *out;
	size_t		 n = 0;

	if (s == NULL)
		return 0;
	if ((rest = strchr(s, '\n')) != NULL)
		*rest++ = '\0';
	else
		rest = s;
	free(sfq_render(s, rest));
	sfq_split(rest, count, &n);
	free(sfq_describe(rest));
	free(sfq_stage_folder(rest, "1796602000.3662317"));
	if ((out = sfq_stage_folder("\"DS\".\"T\"", rest)) != NULL) {
		free(sfq_put(rest, out));
		free(sfq_copy("\"DS\".\"T\"", out, rest));
		free(out);
	}
	buf_init(&b, 1 << 20);
	sfq_bind_value(&b, &c, rest, strlen(rest));
	buf_cleanup(&b);
	free(s);
	return 0;
}
