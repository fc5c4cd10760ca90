/*
 * fuzz_json_split.c: sdk/json_split.c over any bytes. The first byte
 * picks the path and a chunk size; the rest is the response. Checks
 * that feeding it whole and in chunks gives the same answer (items,
 * rest, error), and, for the top-level container, the same items as
 * cJSON parsing the whole text when that succeeds.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "sdk/json_split.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX	(1u << 16)

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Collects an item; its text must be the item, trimmed. */
static int
add(cJSON *item, const char *raw, size_t len, void *payload)
{
	struct buf	*out = payload;
	char		*text = cJSON_PrintUnformatted(item), *again;
	cJSON		*copy;

	if (text == NULL || raw == NULL || len == 0 || raw[len] != '\0' ||
	    is_ws(raw[0]) || is_ws(raw[len - 1]))
		abort();
	copy = cJSON_ParseWithLengthOpts(raw, len + 1, NULL, 1);
	again = cJSON_PrintUnformatted(copy);
	if (again == NULL || strcmp(again, text) != 0)
		abort();
	free(again);
	cJSON_Delete(copy);
	buf_printf(out, "%s=%s\n", item->string ? item->string : "",
	    text);
	free(text);
	return 0;
}

/* The whole outcome as one text. */
static char *
run(const char *path, const char *text, size_t len, size_t chunk,
    int *ok)
{
	struct json_split	*s = json_split_new(path, MAX, MAX);
	struct buf		 out;
	size_t			 off = 0;
	int			 rc = 0;
	char			*rest;

	if (s == NULL)
		abort();
	buf_init(&out, 64u << 20);
	while (rc == 0 && off < len) {
		size_t n = len - off < chunk ? len - off : chunk;

		rc = json_split_feed(s, text + off, n, add, &out);
		off += n;
	}
	if (rc == 0)
		rc = json_split_finish(s);
	*ok = rc == 0;
	if (rc == 0) {
		rest = cJSON_PrintUnformatted(json_split_rest(s));
		buf_printf(&out, "rest %s", rest);
		free(rest);
	} else {
		if (json_split_error(s)[0] == '\0')
			abort();
		buf_printf(&out, "error %s", json_split_error(s));
	}
	json_split_free(s);
	return buf_steal(&out);
}

/* The items cJSON finds in the whole text, as run() prints them. */
static char *
reference(const char *text, size_t len)
{
	cJSON		*doc, *it;
	struct buf	 out;

	doc = cJSON_ParseWithLengthOpts(text, len + 1, NULL, 1);
	if (doc == NULL || !(cJSON_IsArray(doc) || cJSON_IsObject(doc))) {
		cJSON_Delete(doc);
		return NULL;
	}
	buf_init(&out, 64u << 20);
	cJSON_ArrayForEach(it, doc) {
		char	*t = cJSON_PrintUnformatted(it);

		add(it, t, strlen(t), &out);
		free(t);
	}
	cJSON_Delete(doc);
	return buf_steal(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "", "data", "a.b", "rates" };
	const char	*path;
	char		*text, *whole, *pieces, *ref;
	size_t		 len, chunk;
	int		 ok, ok2;

	if (size < 1)
		return 0;
	path = paths[data[0] & 3];
	chunk = (size_t)(data[0] >> 2) + 1;
	if ((text = fuzz_cstr(data + 1, size - 1)) == NULL)
		return 0;
	len = size - 1;
	whole = run(path, text, len, len ? len : 1, &ok);
	pieces = run(path, text, len, chunk, &ok2);
	if (ok != ok2 || strcmp(whole, pieces) != 0)
		abort();
	/* A top-level split that worked agrees with cJSON on the items. */
	if (path[0] == '\0' && ok && (ref = reference(text, len)) != NULL) {
		if (strncmp(whole, ref, strlen(ref)) != 0 ||
		    strncmp(whole + strlen(ref), "rest ", 5) != 0)
			abort();
		free(ref);
	}
	free(whole);
	free(pieces);
	free(text);
	return 0;
}
