/*
 * test_snowflake_arrow.c: Snowflake's Arrow results as JSON rowsets.
 *
 * The streams in tests/unit/data/arrow/ were made by pyarrow (gen.py)
 * and by fakesnow itself (gen_fakesnow.py); each NAME.json holds the
 * rowtype and the rows Snowflake's JSON rowset would carry, or a part
 * of the error. Every good stream is also cut short at every byte, and
 * some have each byte set to four values: the reader must refuse or read
 * them, never read outside them (the sanitizer and valgrind runs watch).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "snowflake/arrow.h"
#include "t.h"

#define DIR_	"tests/unit/data/arrow"

struct fixture {
	char	*name;
	uint8_t	*data;
	size_t	 len;
	cJSON	*doc;		/* {"rowtype", "rows" | "error"} */
};

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct fixture *)a)->name,
	    ((const struct fixture *)b)->name);
}

/* Every NAME.json with its NAME.arrow, sorted by name. */
static struct fixture *
load_fixtures(size_t *n)
{
	struct fixture	*fx = NULL;
	DIR		*d = opendir(DIR_);
	struct dirent	*e;
	char		 err[256];

	*n = 0;
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t	 l = strlen(e->d_name);
		char	*path, *text;

		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
			continue;
		fx = xrealloc(fx, (*n + 1) * sizeof(*fx));
		fx[*n].name = xasprintf("%.*s", (int)(l - 5), e->d_name);
		path = xasprintf(DIR_ "/%s.json", fx[*n].name);
		text = read_file_max(path, 1 << 20, NULL, err, sizeof(err));
		fx[*n].doc = text ? cJSON_Parse(text) : NULL;
		free(text);
		free(path);
		path = xasprintf(DIR_ "/%s.arrow", fx[*n].name);
		fx[*n].data = (uint8_t *)read_file_max(path, 1 << 20,
		    &fx[*n].len, err, sizeof(err));
		free(path);
		(*n)++;
	}
	if (d != NULL)
		closedir(d);
	qsort(fx, *n, sizeof(*fx), by_name);
	return fx;
}

static const cJSON *
rowtype_of(const struct fixture *f)
{
	const cJSON	*rt = cJSON_GetObjectItem(f->doc, "rowtype");

	return cJSON_IsArray(rt) ? rt : NULL;
}

/* Runs the reader into rows that already hold one item, as a caller's
 * earlier chunk would; checks what an error leaves and what rows hold. */
static long
run(const uint8_t *data, size_t len, const cJSON *rowtype, cJSON **got,
    char *err, size_t errlen)
{
	cJSON	*rows = cJSON_CreateArray();
	long	 n;

	cJSON_AddItemToArray(rows, cJSON_CreateString("earlier"));
	err[0] = '\0';
	n = arrow_to_rowset(data, len, rowtype, rows, err, errlen);
	if (n < 0) {
		CHECK(n == -1);
		CHECK(err[0] != '\0');
		CHECK(cJSON_GetArraySize(rows) == 1);
	} else {
		CHECK(cJSON_GetArraySize(rows) == n + 1);
	}
	/* Without the sentinel, what the stream gave. */
	cJSON_DeleteItemFromArray(rows, 0);
	*got = rows;
	return n;
}

/* The first row where got and want differ, printed. */
static void
show_diff(const cJSON *got, const cJSON *want)
{
	const cJSON	*g = got->child, *w = want->child;

	for (int i = 0; g != NULL || w != NULL; i++) {
		if (g == NULL || w == NULL || !cJSON_Compare(g, w, 1)) {
			char	*gs = g ? cJSON_PrintUnformatted(g) : NULL;
			char	*ws = w ? cJSON_PrintUnformatted(w) : NULL;

			printf("#   row %d: got %s\n#   want %s\n", i,
			    gs ? gs : "(none)", ws ? ws : "(none)");
			free(gs);
			free(ws);
			return;
		}
		g = g->next;
		w = w->next;
	}
}

static void
check_fixture(const struct fixture *f)
{
	const cJSON	*want = cJSON_GetObjectItem(f->doc, "rows");
	const cJSON	*error = cJSON_GetObjectItem(f->doc, "error");
	cJSON		*got;
	char		 err[512];
	long		 n;

	n = run(f->data, f->len, rowtype_of(f), &got, err, sizeof(err));
	if (cJSON_IsString(error)) {
		CHECK(n == -1);
		CHECK(strstr(err, error->valuestring) != NULL);
		CHECK(strstr(err, "at byte ") != NULL);
		if (strstr(err, error->valuestring) == NULL ||
		    strstr(err, "at byte ") == NULL)
			printf("#   got \"%s\", want \"%s\" at byte\n", err,
			    error->valuestring);
	} else {
		CHECK(n == cJSON_GetArraySize(want));
		CHECK(cJSON_Compare(got, want, 1));
		if (n < 0)
			printf("#   %s\n", err);
		else if (!cJSON_Compare(got, want, 1))
			show_diff(got, want);
	}
	cJSON_Delete(got);
}

/* With the field metadata alone (no rowtype), the same rows. */
static void
check_without_rowtype(const struct fixture *f)
{
	const cJSON	*want = cJSON_GetObjectItem(f->doc, "rows");
	cJSON		*got;
	char		 err[512];

	if (!cJSON_IsArray(want) || strncmp(f->name, "rowtype_", 8) == 0)
		return;
	CHECK(run(f->data, f->len, NULL, &got, err, sizeof(err)) >= 0);
	CHECK(cJSON_Compare(got, want, 1));
	cJSON_Delete(got);
}

/* Every prefix is refused, or read as the messages it holds whole. */
static void
check_prefixes(const struct fixture *f)
{
	long	want = cJSON_GetArraySize(cJSON_GetObjectItem(f->doc, "rows"));

	for (size_t len = 0; len < f->len; len++) {
		uint8_t	*cut = xmalloc(len ? len : 1);
		cJSON	*got;
		char	 err[512];
		long	 n;

		memcpy(cut, f->data, len);
		n = run(cut, len, rowtype_of(f), &got, err, sizeof(err));
		CHECK(n <= want);
		cJSON_Delete(got);
		free(cut);
	}
}

/* Each byte set to a few values: refused or read, rows well formed. */
static void
check_mutations(const struct fixture *f)
{
	static const int	vals[] = { 0x00, 0xFF, -1, -2 };
	uint8_t			*m = xmalloc(f->len);
	int			 ncols = -1;

	for (size_t i = 0; i < f->len; i++)
		for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
			const cJSON	*row;
			cJSON		*got;
			char		 err[512];

			memcpy(m, f->data, f->len);
			/* -1, -2: its lowest or highest bit flipped. */
			m[i] = vals[k] >= 0 ? (uint8_t)vals[k] :
			    (uint8_t)(m[i] ^ (vals[k] == -1 ? 0x01 : 0x80));
			if (run(m, f->len, rowtype_of(f), &got, err,
			    sizeof(err)) > 0) {
				ncols = cJSON_GetArraySize(got->child);
				cJSON_ArrayForEach(row, got)
					CHECK(cJSON_GetArraySize(row) == ncols);
			}
			cJSON_Delete(got);
		}
	free(m);
}

static int
has(const char *const *names, const char *name)
{
	for (; *names != NULL; names++)
		if (strcmp(*names, name) == 0)
			return 1;
	return 0;
}

int
main(void)
{
	static const char *const mutate[] = { "multi_batch", "timestamp_tz",
	    "fixed_decimal", "binary", "fakesnow_select", NULL };
	struct fixture	*fx;
	size_t		 n, ngood = 0;
	char		 err[256];
	cJSON		*rows;

	fx = load_fixtures(&n);
	TEST("the fixtures are there") {
		CHECK(n >= 50);
		for (size_t i = 0; i < n; i++) {
			if (fx[i].doc == NULL || (fx[i].data == NULL &&
			    fx[i].len != 0))
				printf("#   %s: unreadable\n", fx[i].name);
			CHECK(fx[i].doc != NULL);
			ngood += cJSON_GetObjectItem(fx[i].doc, "rows") != NULL;
		}
		CHECK(ngood >= 20);
	}
	for (size_t i = 0; i < n; i++) {
		char	*name = xasprintf("%s", fx[i].name);

		TEST(name) {
			check_fixture(&fx[i]);
			check_without_rowtype(&fx[i]);
		}
		free(name);
	}
	TEST("every prefix of every good stream is refused or read whole") {
		for (size_t i = 0; i < n; i++)
			if (cJSON_GetObjectItem(fx[i].doc, "rows") != NULL)
				check_prefixes(&fx[i]);
	}
	TEST("every byte of some streams mutated: refused or read") {
		for (size_t i = 0; i < n; i++)
			if (has(mutate, fx[i].name))
				check_mutations(&fx[i]);
	}
	TEST("bad arguments are refused") {
		rows = cJSON_CreateObject();
		CHECK(arrow_to_rowset("", 0, NULL, rows, err,
		    sizeof(err)) == -1);
		cJSON_Delete(rows);
		rows = cJSON_CreateArray();
		CHECK(arrow_to_rowset(NULL, 4, NULL, rows, err,
		    sizeof(err)) == -1);
		CHECK(arrow_to_rowset("", 0, rows, rows, err,
		    sizeof(err)) == 0);
		CHECK(arrow_to_rowset(NULL, 0, NULL, rows, NULL, 0) == 0);
		cJSON_Delete(rows);
	}
	for (size_t i = 0; i < n; i++) {
		free(fx[i].name);
		free(fx[i].data);
		cJSON_Delete(fx[i].doc);
	}
	free(fx);
	return t_done();
}
