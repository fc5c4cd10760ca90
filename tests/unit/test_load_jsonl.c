/*
 * test_load_jsonl.c: JSON lines read ahead (load/jsonl.c): every item in
 * order with its line number, across batches, past a line longer than a
 * batch, without a final newline; the first bad line ends the file
 * after every item before it, with its number.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "load/jsonl.h"
#include "t.h"

/* A file of text, rewound. */
static FILE *
file_of(const char *text, size_t len)
{
	FILE	*f = tmpfile();

	fwrite(text, 1, len, f);
	rewind(f);
	return f;
}

/* Reads f to the end: items seen, and the last call's result. */
static size_t
drain(FILE *f, int *rc, size_t *lineno, char *err, size_t errlen,
    int (*check)(const struct jv *, size_t))
{
	struct jl_reader	*r = jl_open(f, err, errlen);
	const struct jv		*v;
	size_t			 n = 0, ok = 1;

	while ((*rc = jl_next(r, &v, lineno, err, errlen)) > 0) {
		n++;
		ok &= check == NULL || check(v, *lineno);
	}
	jl_close(r);
	fclose(f);
	return ok ? n : 0;
}

/* Item k (line k) is {"i": k}. */
static int
numbered(const struct jv *v, size_t lineno)
{
	const struct jv	*i = jv_get(v, "i");

	return i != NULL && i->kind == JV_INT && i->i == (long long)lineno;
}

int
main(void)
{
	struct buf	 b;
	char		 err[256];
	size_t		 lineno = 0, n;
	int		 rc;

	buf_init(&b, (size_t)-1);
	TEST("a hundred thousand lines, in order, numbered") {
		for (int i = 1; i <= 100000; i++)
			buf_printf(&b, "{\"i\": %d, \"pad\": \"%0*d\"}\n", i,
			    i % 50, 0);
		n = drain(file_of(b.data, b.len), &rc, &lineno, err,
		    sizeof(err), numbered);
		CHECK(n == 100000);
		CHECK(rc == 0);
	}
	TEST("a line longer than a batch, and no final newline") {
		buf_truncate(&b, 0);
		buf_printf(&b, "{\"i\": 1}\n{\"i\": 2, \"s\": \"");
		for (int i = 0; i < 1000000; i++)
			buf_append(&b, "x", 1);
		buf_printf(&b, "\"}\n{\"i\": 3}");
		n = drain(file_of(b.data, b.len), &rc, &lineno, err,
		    sizeof(err), numbered);
		CHECK(n == 3);
		CHECK(rc == 0);
	}
	TEST("long lines one after another (the rest of one read carried)") {
		buf_truncate(&b, 0);
		for (int i = 1; i <= 6; i++) {
			buf_printf(&b, "{\"i\": %d, \"s\": \"", i);
			for (int k = 0; k < 700000 * i; k++)
				buf_append(&b, "y", 1);
			buf_printf(&b, "\"}\n");
		}
		n = drain(file_of(b.data, b.len), &rc, &lineno, err,
		    sizeof(err), numbered);
		CHECK(n == 6);
		CHECK(rc == 0);
	}
	TEST("the first bad line ends it, after the items before it") {
		buf_truncate(&b, 0);
		for (int i = 1; i <= 30000; i++)
			buf_printf(&b, i == 25000 ? "{\"i\": %d,}\n" :
			    "{\"i\": %d}\n", i);
		n = drain(file_of(b.data, b.len), &rc, &lineno, err,
		    sizeof(err), numbered);
		CHECK(n == 24999);
		CHECK(rc == -1);
		CHECK(lineno == 25000);
		CHECK(strstr(err, "byte") != NULL);
	}
	TEST("an empty line is a bad line, as to json.loads") {
		n = drain(file_of("{\"i\": 1}\n\n{\"i\": 3}\n", 19), &rc,
		    &lineno, err, sizeof(err), numbered);
		CHECK(n == 1);
		CHECK(rc == -1 && lineno == 2);
	}
	TEST("an empty file has no items") {
		n = drain(file_of("", 0), &rc, &lineno, err, sizeof(err), NULL);
		CHECK(n == 0 && rc == 0);
	}
	buf_cleanup(&b);
	return t_done();
}
