/*
 * fuzz_load_normalize.c: libFuzzer entry for the loading runtime's
 * untrusted input, data items: the JSON reader (load/jsonv.c) and the
 * relational normalizer (load/normalize.c). The first byte picks
 * max_nesting and the write disposition; the rest, split at newlines,
 * are items of one root table, normalized into job files in a
 * temporary directory that is removed again. Every job line written
 * must parse back as a JSON object (the loader reads them).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load/jsonv.h"
#include "load/normalize.h"
#include "load/package.h"
#include "load/schema.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_file(const char *path, struct jv_arena *a)
{
	char	*line = NULL, err[128];
	size_t	 cap = 0;
	ssize_t	 n;
	FILE	*f = fopen(path, "r");

	while (f != NULL && (n = getline(&line, &cap, f)) > 0) {
		struct jv	*v;

		jv_arena_reset(a);
		v = jv_parse(a, line, (size_t)n, err, sizeof(err));
		if (v == NULL || v->kind != JV_OBJECT)
			abort();
	}
	free(line);
	if (f != NULL)
		fclose(f);
}

static void
check_jobs(const char *dir)
{
	DIR		*d = opendir(dir);
	struct dirent	*e;
	struct jv_arena	 a = { 0 };
	char		 path[512];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		check_file(path, &a);
	}
	if (d != NULL)
		closedir(d);
	jv_arena_free(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			 dir[] = "/tmp/fuzz_load.XXXXXX", err[512];
	struct ld_schema	*s;
	struct ld_table		*t;
	struct ld_normalizer	*n;
	const char		*p, *end;

	if (size < 1 || mkdtemp(dir) == NULL)
		return 0;
	s = ld_schema_new("fuzz");
	t = ld_schema_add_table(s, "items", NULL,
	    (data[0] & 0x80) ? LD_MERGE : LD_APPEND);
	t->max_nesting = (data[0] & 0x7) == 7 ? -1 : data[0] & 0x7;
	n = ld_norm_new(s, "1.0", dir, (data[0] & 0x40) ? 20 : 0);
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while (p < end) {
		const char	*nl = memchr(p, '\n', (size_t)(end - p));
		size_t		 len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (ld_norm_item(n, "items", p, len, err, sizeof(err)) < 0 &&
		    err[0] == '\0')
			abort();	/* a failure always says why */
		p += len + 1;
	}
	ld_norm_finish(n, err, sizeof(err));
	ld_norm_free(n);
	check_jobs(dir);
	ld_schema_bump(s);
	ld_schema_free(s);
	ld_rm_rf(dir);
	return 0;
}
