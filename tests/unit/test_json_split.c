/* test_json_split.c: streaming the items of a JSON container. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "sdk/json_split.h"
#include "t.h"

#define BIG	(1u << 20)

struct got {
	struct buf	 out;	/* "key=item;" per item, compact JSON */
	int		 stop_after;
	int		 raw;	/* the items' texts instead */
};

static int
collect(cJSON *item, const char *raw, size_t len, void *payload)
{
	struct got	*g = payload;
	char		*text = cJSON_PrintUnformatted(item);

	if (item->string != NULL)
		buf_printf(&g->out, "%s=", item->string);
	if (g->raw)
		buf_printf(&g->out, "%.*s|", (int)len, raw);
	else
		buf_printf(&g->out, "%s;", text);
	free(text);
	return g->stop_after > 0 && --g->stop_after == 0;
}

/*
 * Splits text under path, fed in chunks of chunk bytes (0: whole).
 * Returns the items as "item;item;", "ERR:<message>" or "STOP"; *rest
 * (if given) gets the rest, compact.
 */
static char *
split(const char *path, const char *text, size_t chunk, size_t max,
    char **rest)
{
	struct json_split	*s = json_split_new(path, max, max);
	struct got		 g = { .stop_after = 0 };
	size_t			 len = strlen(text), off = 0;
	int			 rc = 0;
	char			*r;

	buf_init(&g.out, BIG);
	if (chunk == 0)
		chunk = len ? len : 1;
	while (rc == 0 && off < len) {
		size_t n = len - off < chunk ? len - off : chunk;

		rc = json_split_feed(s, text + off, n, collect, &g);
		off += n;
	}
	if (rc == 0)
		rc = json_split_finish(s);
	if (rc == JSON_SPLIT_ERROR)
		r = xasprintf("ERR:%s", json_split_error(s));
	else
		r = buf_steal(&g.out);
	if (rest != NULL)
		*rest = rc == 0 ?
		    cJSON_PrintUnformatted(json_split_rest(s)) : NULL;
	buf_cleanup(&g.out);
	json_split_free(s);
	return r;
}

/* The same answer whatever the chunk size. */
static int
same_in_any_chunks(const char *path, const char *text, const char *want)
{
	size_t	len = strlen(text);
	int	ok = 1;

	for (size_t c = 0; c <= len + 1; c++) {
		char *got = split(path, text, c, BIG, NULL);

		if (strcmp(got, want) != 0) {
			printf("#   chunk %zu: %s\n", c, got);
			ok = 0;
		}
		free(got);
	}
	return ok;
}

int
main(void)
{
	char	*r, *rest;

	TEST("items of a top-level array, in chunks of every size") {
		CHECK(same_in_any_chunks("",
		    " [ {\"a\": 1, \"b\": [1, {\"c\": \"]\"}]}, 2 ,\"x,]\\\"\","
		    "true, null, -1.5e3, [], {} ] ",
		    "{\"a\":1,\"b\":[1,{\"c\":\"]\"}]};2;\"x,]\\\"\";true;"
		    "null;-1500;[];{};"));
	}
	TEST("an array under a key; the rest keeps the other fields") {
		r = split("data", "{\"page\": 1, \"data\": [{\"id\": 1}, "
		    "{\"id\": 2}], \"next\": \"c2\"}", 3, BIG, &rest);
		CHECK_STR(r, "{\"id\":1};{\"id\":2};");
		CHECK_STR(rest, "{\"page\":1,\"data\":[],\"next\":\"c2\"}");
		free(r);
		free(rest);
	}
	TEST("a path two keys deep, other keys and values ignored") {
		CHECK(same_in_any_chunks("result.items",
		    "{\"items\": [0], \"result\": {\"x\": \"items\", "
		    "\"other\": {\"items\": [9]}, \"items\": [1, 2]}}",
		    "1;2;"));
	}
	TEST("members of an object, keys decoded") {
		CHECK(same_in_any_chunks("",
		    "{\"AED\":\"United Arab Emirates Dirham\", "
		    "\"a\\\"b\" : {\"n\": [1]}, \"\\u00e9\": null}",
		    "AED=\"United Arab Emirates Dirham\";a\"b={\"n\":[1]};"
		    "\xc3\xa9=null;"));
	}
	TEST("empty containers give no items") {
		CHECK(same_in_any_chunks("", "[]", ""));
		CHECK(same_in_any_chunks("", " { } ", ""));
		CHECK(same_in_any_chunks("d", "{\"d\": []}", ""));
	}
	TEST("the first container at the path is streamed, a second is rest") {
		r = split("d", "{\"d\": [1], \"d\": [2]}", 0, BIG, &rest);
		CHECK_STR(r, "1;");
		CHECK_STR(rest, "{\"d\":[],\"d\":[2]}");
		free(r);
		free(rest);
	}
	TEST("a body that is not JSON") {
		r = split("", "<html><body>Bad gateway</body></html>", 0,
		    BIG, NULL);
		CHECK_STR(r, "ERR:the response is not a JSON object or "
		    "array: it starts with '<'");
		free(r);
		r = split("", "", 0, BIG, NULL);
		CHECK_STR(r, "ERR:the response is empty");
		free(r);
		r = split("data", "{\"data\": [1], \"x\": tru}", 0, BIG,
		    NULL);
		CHECK_STR(r, "ERR:the response is not valid JSON");
		free(r);
	}
	TEST("a cut-off body") {
		CHECK(same_in_any_chunks("", "[1, 2",
		    "ERR:the response ends early: the JSON text is cut off "
		    "after 5 bytes"));
		CHECK(same_in_any_chunks("", "[\"a]",
		    "ERR:the response ends early: the JSON text is cut off "
		    "after 4 bytes"));
	}
	TEST("bad items name the item and the container") {
		r = split("", "[1, 2 3]", 0, BIG, NULL);
		CHECK_STR(r, "ERR:item 2 of the top-level array is not valid "
		    "JSON (it ends at byte 7)");
		free(r);
		r = split("", "[1,]", 0, BIG, NULL);
		CHECK_STR(r, "ERR:unexpected ']' in the top-level array at "
		    "byte 3");
		free(r);
		r = split("", "[,1]", 0, BIG, NULL);
		CHECK_STR(r, "ERR:unexpected ',' in the top-level array at "
		    "byte 1");
		free(r);
		r = split("a.b", "{\"a\": {\"b\": {\"k\" 1}}}", 0, BIG, NULL);
		CHECK_STR(r, "ERR:unexpected '1' in 'a.b' at byte 17");
		free(r);
		r = split("", "[{\"a\": 1}}", 0, BIG, NULL);
		CHECK_STR(r, "ERR:unexpected '}' in the top-level array at "
		    "byte 9");
		free(r);
	}
	TEST("no container at the path") {
		r = split("data", "{\"error\": true, \"data\": 5}", 0, BIG,
		    NULL);
		CHECK_STR(r, "ERR:the response has no array or object at "
		    "'data'");
		free(r);
		r = split("data", "[{\"data\": [1]}]", 0, BIG, NULL);
		CHECK_STR(r, "ERR:the response has no array or object at "
		    "'data'");
		free(r);
	}
	TEST("data after the value, unbalanced brackets") {
		r = split("", "[1] [2]", 0, BIG, NULL);
		CHECK_STR(r, "ERR:unexpected '[' after the JSON value at "
		    "byte 4");
		free(r);
		r = split("d", "{\"x\": 1}}", 0, BIG, NULL);
		CHECK_STR(r, "ERR:unexpected '}' after the JSON value at "
		    "byte 8");
		free(r);
	}
	TEST("sizes are capped") {
		r = split("", "[\"0123456789\", 1]", 0, 8, NULL);
		CHECK_STR(r, "ERR:item 1 is larger than 8 bytes");
		free(r);
		r = split("d", "{\"x\": \"0123456789\", \"d\": []}", 0, 8,
		    NULL);
		CHECK_STR(r, "ERR:the response's fields besides the items "
		    "exceed 8 bytes");
		free(r);
	}
	TEST("deep nesting is an error, not a crash") {
		size_t	 n = 5000;
		char	*deep = xmalloc(2 * n + 3);

		deep[0] = '[';
		memset(deep + 1, '[', n);
		memset(deep + 1 + n, ']', n);
		strcpy(deep + 1 + 2 * n, "]");
		r = split("", deep, 0, BIG, NULL);
		CHECK(strncmp(r, "ERR:item 1 of the top-level array", 33) == 0);
		free(r);
		free(deep);
	}
	TEST("the callback can stop the split") {
		struct json_split	*s = json_split_new("", BIG, BIG);
		struct got		 g = { .stop_after = 2 };

		buf_init(&g.out, BIG);
		CHECK(json_split_feed(s, "[1,2,3]", 7, collect, &g) ==
		    JSON_SPLIT_STOPPED);
		CHECK_STR(g.out.data, "1;2;");
		CHECK(json_split_items(s) == 2);
		CHECK(json_split_feed(s, "", 0, collect, &g) ==
		    JSON_SPLIT_ERROR);
		buf_cleanup(&g.out);
		json_split_free(s);
	}
	TEST("each item's text, exactly as received") {
		struct json_split	*sp = json_split_new("d", BIG, BIG);
		struct got		 g = { .raw = 1 };
		const char		*text = "{\"d\": { \"a\" : 1.0 ,\n"
		    "\"b\":12345678901234567890\t, \"c\" : [ 1 , \"x\" ]\r\n}}";

		buf_init(&g.out, BIG);
		for (size_t i = 0; text[i] != '\0'; i++)
			CHECK(json_split_feed(sp, text + i, 1, collect, &g) ==
			    0);
		CHECK(json_split_finish(sp) == 0);
		CHECK_STR(g.out.data, "a=1.0|b=12345678901234567890|"
		    "c=[ 1 , \"x\" ]|");
		buf_cleanup(&g.out);
		json_split_free(sp);
	}
	TEST("bad paths are refused") {
		CHECK(json_split_new("a..b", 1, 1) == NULL);
		CHECK(json_split_new("a.", 1, 1) == NULL);
		CHECK(json_split_new(".a", 1, 1) == NULL);
		CHECK(json_split_new("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", 1,
		    1) == NULL);
	}
	return t_done();
}
