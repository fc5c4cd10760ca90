/*
 * jobfile.c: reading a normalized job file row by row (ld_job_read of
 * load/destination.h), for destinations that bulk-load text (COPY).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "load/destination.h"
#include "load/jsonv.h"

/* The text of one value for a column (NULL for null). */
static const char *
value_text(struct buf *b, const struct jv *v, size_t *len)
{
	b->len = 0;
	switch (v->kind) {
	case JV_NULL:
		return NULL;
	case JV_BOOL:
		*len = v->b ? 4 : 5;
		return v->b ? "true" : "false";
	case JV_STRING:
		*len = v->len;
		return v->s;
	case JV_INT:
	case JV_BIGINT:
	case JV_FLOAT:
		*len = v->len;
		return v->s;
	default:
		if (jv_write(b, v) < 0)
			return NULL;
		*len = b->len;
		return b->data;
	}
}

int
ld_job_read(const char *path, const struct ld_table *t, ld_job_row_fn fn,
    void *arg, char *err, size_t errlen)
{
	FILE		 *f = fopen(path, "r");
	char		 *line = NULL, perr[256];
	size_t		  cap = 0, lineno = 0;
	ssize_t		  n;
	struct jv_arena	  arena = { 0 };
	const char	**vals = xcalloc(t->ncols + 1, sizeof(*vals));
	size_t		 *lens = xcalloc(t->ncols + 1, sizeof(*lens));
	struct buf	 *bufs = xcalloc(t->ncols + 1, sizeof(*bufs));
	int		  rc = 0;

	if (f == NULL) {
		rc = errorf(err, errlen, "cannot read job file %s: %m", path);
		goto out;
	}
	for (size_t i = 0; i < t->ncols; i++)
		buf_init(&bufs[i], (size_t)-1);
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		const struct jv	*row;

		lineno++;
		jv_arena_reset(&arena);
		row = jv_parse(&arena, line, (size_t)n, perr, sizeof(perr));
		if (row == NULL || row->kind != JV_OBJECT) {
			rc = errorf(err, errlen, "%s:%zu: %s", path, lineno,
			    row == NULL ? perr : "not an object");
			break;
		}
		for (size_t i = 0; i < t->ncols; i++) {
			const struct jv	*v;

			v = jv_get(row, t->cols[i]->name);

			lens[i] = 0;
			vals[i] = v == NULL ? NULL :
			    value_text(&bufs[i], v, &lens[i]);
		}
		if (fn(arg, t, vals, lens, err, errlen) != 0)
			rc = -1;
	}
	for (size_t i = 0; i < t->ncols; i++)
		buf_cleanup(&bufs[i]);
	fclose(f);
out:
	free(line);
	free(vals);
	free(lens);
	free(bufs);
	jv_arena_free(&arena);
	return rc;
}
