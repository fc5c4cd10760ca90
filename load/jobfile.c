/*
 * jobfile.c: reading a normalized job file row by row (ld_job_read of
 * load/destination.h), for destinations that bulk-load text (COPY:
 * PostgreSQL) or bind it (Snowflake's INSERT).
 *
 * Linear in the width of the rows: a key is matched to its column by
 * the column it named at the same position of the previous line (one
 * memcmp: the normalizer writes a table's keys in a steady order), else
 * by a hash of the column names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "load/destination.h"
#include "load/jsonv.h"

/* Column names of a table by name: open addressing, index + 1. */
struct colmap {
	const struct ld_table	*t;
	size_t			*lens;		/* of the names */
	size_t			*slot;
	size_t			 cap;
	size_t			*at;		/* by key position: index + 1 */
	size_t			 nat;
};

static void
colmap_init(struct colmap *m, const struct ld_table *t)
{
	m->t = t;
	m->lens = xcalloc(t->ncols + 1, sizeof(*m->lens));
	for (m->cap = 16; m->cap < t->ncols * 2 + 2; m->cap *= 2)
		;
	m->slot = xcalloc(m->cap, sizeof(*m->slot));
	for (size_t i = 0; i < t->ncols; i++) {
		size_t	h;

		m->lens[i] = strlen(t->cols[i]->name);
		h = (size_t)hash_fnv1a(t->cols[i]->name, m->lens[i]) &
		    (m->cap - 1);
		while (m->slot[h] != 0)
			h = (h + 1) & (m->cap - 1);
		m->slot[h] = i + 1;
	}
	m->at = NULL;
	m->nat = 0;
}

static void
colmap_free(struct colmap *m)
{
	free(m->lens);
	free(m->slot);
	free(m->at);
}

static int
is_col(const struct colmap *m, size_t i, const char *key, size_t len)
{
	return m->lens[i] == len && memcmp(m->t->cols[i]->name, key, len) == 0;
}

/* The column of the key at position pos of a line, or -1. */
static long
colmap_find(struct colmap *m, size_t pos, const char *key, size_t len)
{
	size_t	h, i;

	if (pos < m->nat && m->at[pos] != 0 && is_col(m, m->at[pos] - 1, key,
	    len))
		return (long)(m->at[pos] - 1);
	h = (size_t)hash_fnv1a(key, len) & (m->cap - 1);
	for (; (i = m->slot[h]) != 0; h = (h + 1) & (m->cap - 1))
		if (is_col(m, i - 1, key, len))
			break;
	if (i == 0)
		return -1;
	if (pos >= m->nat) {
		size_t	cap = m->nat ? m->nat : 16;

		while (cap <= pos)
			cap *= 2;
		m->at = xrealloc(m->at, cap * sizeof(*m->at));
		memset(m->at + m->nat, 0, (cap - m->nat) * sizeof(*m->at));
		m->nat = cap;
	}
	m->at[pos] = i;
	return (long)(i - 1);
}

/* The text of one value for a column (NULL for null). */
static const char *
value_text(const struct jv *v, size_t *len)
{
	switch (v->kind) {
	case JV_NULL:
		return NULL;
	case JV_BOOL:
		*len = v->b ? 4 : 5;
		return v->b ? "true" : "false";
	case JV_ARRAY:
	case JV_OBJECT:
		/* A job line is compact JSON already: its own text. */
		*len = v->rawlen;
		return v->raw;
	default:
		*len = v->len;
		return v->s;
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
	struct colmap	  map;
	const char	**vals = xcalloc(t->ncols + 1, sizeof(*vals));
	size_t		 *lens = xcalloc(t->ncols + 1, sizeof(*lens));
	int		  rc = 0;

	colmap_init(&map, t);
	if (f == NULL) {
		rc = errorf(err, errlen, "cannot read job file %s: %m", path);
		goto out;
	}
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		const struct jv	*row;
		size_t		 pos = 0;

		lineno++;
		jv_arena_reset(&arena);
		row = jv_parse(&arena, line, (size_t)n, perr, sizeof(perr));
		if (row == NULL || row->kind != JV_OBJECT) {
			rc = errorf(err, errlen, "%s:%zu: %s", path, lineno,
			    row == NULL ? perr : "not an object");
			break;
		}
		memset(vals, 0, t->ncols * sizeof(*vals));
		for (const struct jv *m = row->first; m != NULL;
		    m = m->next, pos++) {
			long	c = colmap_find(&map, pos, m->key, m->keylen);

			if (c >= 0)
				vals[c] = value_text(m, &lens[c]);
		}
		for (size_t i = 0; i < t->ncols; i++)
			if (vals[i] == NULL)
				lens[i] = 0;
		if (fn(arg, t, vals, lens, err, errlen) != 0)
			rc = -1;
	}
	fclose(f);
out:
	colmap_free(&map);
	free(line);
	free(vals);
	free(lens);
	jv_arena_free(&arena);
	return rc;
}
