/*
 * json_split.h: the items of one array (or the members of one object)
 * of a JSON text, handed over one by one while the text streams in, so
 * a large API response is never held whole.
 *
 * The container is named by a path of object keys: "" is the top-level
 * value itself, "data" the value of the top-level key "data",
 * "result.items" one level deeper (keys compared as spelled in the
 * text). A small lexer finds where each item begins and ends (strings,
 * escapes and nesting), then cJSON parses that item alone; everything
 * else, the "rest" (the document with the streamed container emptied:
 * {"data":[],"next":"..."}), is kept, bounded, and parsed at the end,
 * so cursors and totals are there for pagination. The first container
 * found at the path is streamed; a later one with the same key is rest.
 *
 * Untrusted input: sizes are capped and errors are values with a
 * message naming the byte offset. Fuzzed by tests/fuzz/fuzz_json_split.c.
 */
#ifndef SDK_JSON_SPLIT_H
#define SDK_JSON_SPLIT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* json_split_feed's answers besides 0. */
#define JSON_SPLIT_ERROR	(-1)	/* not JSON, truncated, too large */
#define JSON_SPLIT_STOPPED	1	/* the item callback said stop */

struct json_split;

/*
 * One item, parsed, and its text as received (text[len] is NUL), both
 * borrowed for the call; an object member has its key in item->string.
 * Returns 0 to go on; anything else stops the split.
 */
typedef int (*json_split_fn)(cJSON *item, const char *text, size_t len,
	    void *payload);

/*
 * max_item bounds one item's text, max_rest the rest's. Returns NULL
 * for a path of more than 16 keys or an empty key. Caller frees.
 */
struct json_split *json_split_new(const char *path, size_t max_item,
		    size_t max_rest);
void		 json_split_free(struct json_split *);
/*
 * Feeds the next len bytes, calling fn for every item completed.
 * Returns 0, JSON_SPLIT_ERROR (json_split_error says what and where;
 * the splitter then refuses more input) or JSON_SPLIT_STOPPED.
 */
int		 json_split_feed(struct json_split *, const char *data,
		    size_t len, json_split_fn fn, void *payload);
/*
 * The end of the text: 0 when it was one complete JSON value with a
 * container at the path, else JSON_SPLIT_ERROR.
 */
int		 json_split_finish(struct json_split *);
/* After a good finish: the rest (borrowed), e.g. {"data":[],"page":2}. */
const cJSON	*json_split_rest(const struct json_split *);
const char	*json_split_error(const struct json_split *);
/* Items handed over so far. */
size_t		 json_split_items(const struct json_split *);

#endif
