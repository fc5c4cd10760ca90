/*
 * json_split.c: streaming the items of one JSON container (json_split.h).
 *
 * Two modes. Outside the container the lexer only follows strings,
 * nesting and, on the way down the path, which key a value belongs to;
 * every byte goes to the rest. Inside it, it cuts items: an item starts
 * at its first byte and ends at a ',' or the closing bracket at the
 * container's own level, outside strings; its bytes are collected and
 * parsed by cJSON, which also judges whether they are valid.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "sdk/json_split.h"

#define MAX_KEYS	16
#define KEY_MAX		256	/* a longer key never matches the path */

enum inside {
	IN_NONE,	/* outside the container */
	IN_FIRST,	/* after '[' or '{': an item or the end */
	IN_NEXT,	/* after ',': an item (an object: a key) */
	IN_KEY,		/* an object member's key */
	IN_COLON,	/* after the key */
	IN_VALUE,	/* after ':' */
	IN_ITEM		/* collecting an item */
};

struct json_split {
	char		*keys[MAX_KEYS];
	int		 nkeys;		/* the container is at depth nkeys+1 */

	/* Outside: depth, strings, and per level down the path. */
	int		 depth;		/* open containers */
	int		 in_str, esc;
	int		 started;	/* the top-level value began */
	int		 ended;		/* ... and closed */
	int		 is_obj[MAX_KEYS + 1];
	int		 want_key[MAX_KEYS + 1];
	int		 on_path[MAX_KEYS + 1];
	int		 key_hit[MAX_KEYS + 1];	/* last key is the path's */
	int		 capturing;	/* this string is a key on the path */
	char		 key[KEY_MAX];
	size_t		 keylen;
	int		 key_long;

	/* Inside the container. */
	enum inside	 in;
	int		 found, done;	/* met it; closed it */
	char		 kind;		/* '[' or '{' */
	int		 item_depth;	/* nesting inside the item */
	int		 item_str, item_esc;
	struct buf	 item;
	struct buf	 item_key;	/* raw, between the quotes */

	struct buf	 rest;
	cJSON		*rest_json;
	size_t		 pos;		/* bytes fed */
	size_t		 items;
	int		 failed;
	char		 error[256];
};

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
fail(struct json_split *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct json_split *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	verrorf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->failed = 1;
	return JSON_SPLIT_ERROR;
}

/* The container's name in messages. */
static void
where(const struct json_split *s, char *out, size_t outlen)
{
	size_t	n = 0;

	if (s->nkeys == 0) {
		snprintf(out, outlen, "the top-level %s",
		    s->kind == '{' ? "object" : "array");
		return;
	}
	n = (size_t)snprintf(out, outlen, "'");
	for (int i = 0; i < s->nkeys && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s",
		    i ? "." : "", s->keys[i]);
	if (n < outlen)
		snprintf(out + n, outlen - n, "'");
}

/* A byte as messages show it: '<' or byte 0x00. */
static const char *
shown(char c, char out[16])
{
	if (c > ' ' && c < 0x7f)
		snprintf(out, 16, "'%c'", c);
	else
		snprintf(out, 16, "byte 0x%02x", (unsigned char)c);
	return out;
}

/* One byte into a buffer: the common case without a call. */
static int
put(struct buf *b, char c)
{
	if (b->data != NULL && b->len + 1 < b->cap && b->len < b->max) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return 0;
	}
	return buf_append(b, &c, 1);
}

struct json_split *
json_split_new(const char *path, size_t max_item, size_t max_rest)
{
	struct json_split	*s;
	const char		*p = path, *dot;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	buf_init(&s->item, max_item);
	buf_init(&s->item_key, max_item);
	buf_init(&s->rest, max_rest);
	while (p != NULL && *p != '\0') {
		size_t	n;

		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || s->nkeys == MAX_KEYS ||
		    (s->keys[s->nkeys] = strndup(p, n)) == NULL) {
			json_split_free(s);
			return NULL;
		}
		s->nkeys++;
		p = dot ? dot + 1 : NULL;
		if (p != NULL && *p == '\0') {		/* "a." */
			json_split_free(s);
			return NULL;
		}
	}
	return s;
}

void
json_split_free(struct json_split *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->nkeys; i++)
		free(s->keys[i]);
	buf_cleanup(&s->item);
	buf_cleanup(&s->item_key);
	buf_cleanup(&s->rest);
	cJSON_Delete(s->rest_json);
	free(s);
}

/* Empties a buffer for the next item, keeping a modest allocation. */
static void
reset(struct buf *b)
{
	if (b->cap > (1u << 20))
		buf_cleanup(b);
	else if (b->data != NULL) {
		b->len = 0;
		b->data[0] = '\0';
	}
}

/* Parses a NUL-terminated text, which must be one value and nothing more. */
static cJSON *
parse_whole(const struct buf *b)
{
	if (b->data == NULL)
		return NULL;
	return cJSON_ParseWithLengthOpts(b->data, b->len + 1, NULL, 1);
}

/* The collected item is complete: parse it and hand it over. */
static int
emit(struct json_split *s, json_split_fn fn, void *payload)
{
	char	 name[128];
	cJSON	*item, *key = NULL;
	int	 rc;

	if ((item = parse_whole(&s->item)) == NULL) {
		where(s, name, sizeof(name));
		return fail(s, "item %zu of %s is not valid JSON "
		    "(it ends at byte %zu)", s->items + 1, name, s->pos);
	}
	if (s->kind == '{') {
		/* The key, decoded as the JSON string it is. */
		if (put(&s->item_key, '"') == -1 ||
		    (key = parse_whole(&s->item_key)) == NULL ||
		    !cJSON_IsString(key)) {
			cJSON_Delete(key);
			cJSON_Delete(item);
			where(s, name, sizeof(name));
			return fail(s, "key of member %zu of %s is not a valid "
			    "JSON string", s->items + 1, name);
		}
		item->string = key->valuestring;	/* now owned by item */
		key->valuestring = NULL;
		cJSON_Delete(key);
	}
	/* The text as received, without the whitespace before the comma. */
	while (s->item.len > 0 && is_ws(s->item.data[s->item.len - 1]))
		s->item.data[--s->item.len] = '\0';
	s->items++;
	rc = fn(item, s->item.data, s->item.len, payload);
	cJSON_Delete(item);
	reset(&s->item);
	reset(&s->item_key);
	if (rc != 0) {
		errorf(s->error, sizeof(s->error),
		    "stopped by the item callback");
		return JSON_SPLIT_STOPPED;
	}
	return 0;
}

/* A bracket opens a container at depth s->depth (already counted). */
static void
opened(struct json_split *s, char c)
{
	int	d = s->depth, on;

	if (d > s->nkeys + 1 || s->found)
		return;
	on = d == 1 || (s->on_path[d - 1] && s->is_obj[d - 1] &&
	    !s->want_key[d - 1] && s->key_hit[d - 1]);
	if (d == s->nkeys + 1) {
		if (on) {
			s->found = 1;
			s->kind = c;
			s->in = IN_FIRST;
		}
		return;
	}
	s->on_path[d] = on;
	s->is_obj[d] = c == '{';
	s->want_key[d] = c == '{';
	s->key_hit[d] = 0;
}

/* One byte outside the container. */
static int
outside(struct json_split *s, char c)
{
	char	ch[16];
	int	d = s->depth;

	if (put(&s->rest, c) == -1)
		return fail(s, "the response's fields besides the items "
		    "exceed %zu bytes", s->rest.max);
	if (s->in_str) {
		if (s->esc)
			s->esc = 0;
		else if (c == '\\')
			s->esc = 1;
		else if (c == '"') {
			s->in_str = 0;
			if (s->capturing)
				s->key_hit[d] = !s->key_long &&
				    s->keylen == strlen(s->keys[d - 1]) &&
				    memcmp(s->key, s->keys[d - 1],
				    s->keylen) == 0;
			s->capturing = 0;
			return 0;
		}
		if (s->capturing) {
			if (s->keylen < KEY_MAX)
				s->key[s->keylen++] = c;
			else
				s->key_long = 1;
		}
		return 0;
	}
	if (is_ws(c))
		return 0;
	if (s->ended)
		return fail(s, "unexpected %s after the JSON value at "
		    "byte %zu", shown(c, ch), s->pos);
	if (!s->started) {
		if (c != '{' && c != '[')
			return fail(s, "the response is not a JSON object "
			    "or array: it starts with %s", shown(c, ch));
		s->started = 1;
	}
	switch (c) {
	case '"':
		s->in_str = 1;
		s->capturing = d >= 1 && d <= s->nkeys && s->on_path[d] &&
		    s->is_obj[d] && s->want_key[d];
		s->keylen = 0;
		s->key_long = 0;
		break;
	case ':':
		if (d >= 1 && d <= s->nkeys)
			s->want_key[d] = 0;
		break;
	case ',':
		if (d >= 1 && d <= s->nkeys) {
			s->want_key[d] = s->is_obj[d];
			s->key_hit[d] = 0;
		}
		break;
	case '{':
	case '[':
		s->depth++;
		opened(s, c);
		break;
	case '}':
	case ']':
		if (--s->depth < 0)
			return fail(s, "unexpected %s at byte %zu",
			    shown(c, ch), s->pos);
		if (s->depth == 0)
			s->ended = 1;
		break;
	}
	return 0;
}

/* Starts collecting an item whose first byte is c. */
static int
item_begin(struct json_split *s, char c)
{
	s->in = IN_ITEM;
	s->item_depth = (c == '{' || c == '[');
	s->item_str = c == '"';
	s->item_esc = 0;
	return 0;
}

/* The container's closing bracket. */
static int
closed(struct json_split *s, char c)
{
	char	name[128], ch[16];

	if (c != (s->kind == '[' ? ']' : '}')) {
		where(s, name, sizeof(name));
		return fail(s, "unexpected %s in %s at byte %zu",
		    shown(c, ch), name, s->pos);
	}
	s->in = IN_NONE;
	s->done = 1;
	s->in_str = 0;
	return outside(s, c);
}

static int
collect(struct json_split *s, char c)
{
	if (put(&s->item, c) == -1)
		return fail(s, "item %zu is larger than %zu bytes",
		    s->items + 1, s->item.max);
	return 0;
}

/* One byte inside the container. */
static int
inside(struct json_split *s, char c, json_split_fn fn, void *payload)
{
	char	name[128], ch[16];
	int	rc;

	switch (s->in) {
	case IN_FIRST:
	case IN_NEXT:
		if (is_ws(c))
			return 0;
		if ((c == ']' || c == '}') && s->in == IN_FIRST)
			return closed(s, c);
		if (s->kind == '{') {
			if (c != '"')
				break;
			s->in = IN_KEY;
			s->item_esc = 0;
			return buf_append(&s->item_key, "\"", 1) == -1 ?
			    fail(s, "key %zu is too long", s->items + 1) : 0;
		}
		if (c == ',' || c == ']' || c == '}')
			break;
		item_begin(s, c);
		return collect(s, c);
	case IN_KEY:
		if (put(&s->item_key, c) == -1)
			return fail(s, "key %zu is too long", s->items + 1);
		if (s->item_esc)
			s->item_esc = 0;
		else if (c == '\\')
			s->item_esc = 1;
		else if (c == '"') {
			s->item_key.data[--s->item_key.len] = '\0';
			s->in = IN_COLON;
		}
		return 0;
	case IN_COLON:
		if (is_ws(c))
			return 0;
		if (c != ':')
			break;
		s->in = IN_VALUE;
		return 0;
	case IN_VALUE:
		if (is_ws(c))
			return 0;
		if (c == ',' || c == ']' || c == '}')
			break;
		item_begin(s, c);
		return collect(s, c);
	case IN_ITEM:
		if (s->item_str) {
			if (s->item_esc)
				s->item_esc = 0;
			else if (c == '\\')
				s->item_esc = 1;
			else if (c == '"')
				s->item_str = 0;
			return collect(s, c);
		}
		if (s->item_depth == 0 && (c == ',' || c == ']' ||
		    c == '}')) {
			if ((rc = emit(s, fn, payload)) != 0)
				return rc;
			if (c != ',')
				return closed(s, c);
			s->in = IN_NEXT;
			return 0;
		}
		if (c == '"')
			s->item_str = 1;
		else if (c == '{' || c == '[')
			s->item_depth++;
		else if (c == '}' || c == ']')
			s->item_depth--;
		return collect(s, c);
	case IN_NONE:
		break;
	}
	where(s, name, sizeof(name));
	return fail(s, "unexpected %s in %s at byte %zu", shown(c, ch), name,
	    s->pos);
}

int
json_split_feed(struct json_split *s, const char *data, size_t len,
    json_split_fn fn, void *payload)
{
	int	rc;

	if (s->failed)
		return JSON_SPLIT_ERROR;
	for (size_t i = 0; i < len; i++, s->pos++) {
		if (s->in != IN_NONE)
			rc = inside(s, data[i], fn, payload);
		else
			rc = outside(s, data[i]);
		if (rc != 0) {
			s->failed = 1;	/* no more input after either */
			return rc;
		}
	}
	return 0;
}

int
json_split_finish(struct json_split *s)
{
	char	name[128];

	if (s->failed)
		return JSON_SPLIT_ERROR;
	if (!s->started)
		return fail(s, "the response is empty");
	if (!s->ended || s->in != IN_NONE)
		return fail(s, "the response ends early: the JSON text is "
		    "cut off after %zu bytes", s->pos);
	if ((s->rest_json = parse_whole(&s->rest)) == NULL)
		return fail(s, "the response is not valid JSON");
	if (!s->found) {
		s->kind = '[';
		where(s, name, sizeof(name));
		if (s->nkeys == 0)
			snprintf(name, sizeof(name), "the top level");
		return fail(s, "the response has no array or object at %s",
		    name);
	}
	return 0;
}

const cJSON *
json_split_rest(const struct json_split *s)
{
	return s->rest_json;
}

const char *
json_split_error(const struct json_split *s)
{
	return s->error;
}

size_t
json_split_items(const struct json_split *s)
{
	return s->items;
}
