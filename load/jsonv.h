/*
 * load/jsonv.h: a JSON reader for data items, as Python's json module
 * reads them for dlt: integers stay integers (however large: their text
 * is kept), "1.0" stays a float, object keys keep their order (a later
 * duplicate key replaces the earlier value, as a dict). Values live in
 * an arena that is reset between items, so parsing a million rows
 * allocates almost nothing.
 *
 * Also the writer of JSON fragments the job files are made of.
 */
#ifndef LOAD_JSONV_H
#define LOAD_JSONV_H

#include <stddef.h>

#include "common/util.h"

enum jv_kind {
	JV_NULL,
	JV_BOOL,
	JV_INT,		/* fits int64: i */
	JV_BIGINT,	/* an integer beyond int64: text only */
	JV_FLOAT,	/* d, and its text */
	JV_STRING,	/* s, len (decoded UTF-8, may hold NULs) */
	JV_ARRAY,
	JV_OBJECT
};

struct jv {
	enum jv_kind	 kind;
	int		 b;
	long long	 i;
	double		 d;
	const char	*s;		/* strings; numbers: their text */
	size_t		 len;
	/* Objects and arrays: their text in the input (borrowed). */
	const char	*raw;
	size_t		 rawlen;
	/* Members of an object or an array, in order. */
	struct jv	*first, *last;
	size_t		 n;
	/* As a member: its key and the next member. */
	const char	*key;
	size_t		 keylen;
	struct jv	*next;
};

/* An arena: blocks freed all at once. */
struct jv_arena {
	struct jv_block	*blocks;
	size_t		 used;		/* in the newest block */
};

void	 jv_arena_reset(struct jv_arena *);	/* keeps one block */
void	 jv_arena_free(struct jv_arena *);
void	*jv_alloc(struct jv_arena *, size_t);

/* Deepest nesting accepted (Python's own limit is about this). */
#define JV_MAX_DEPTH	512

/*
 * Parses one JSON text (surrounding whitespace allowed). NULL with err
 * saying what is wrong and at which byte; text that is not UTF-8 as
 * Python decodes it (lone surrogates, escaped or encoded, included) is
 * refused in orjson's words: "str is not valid UTF-8: surrogates not
 * allowed (at byte N)".
 */
struct jv *jv_parse(struct jv_arena *, const char *text, size_t len,
	    char *err, size_t errlen);

/* The double of a JSON number's text (all of s); -1 when it is none. */
int	 jv_number(const char *s, size_t len, double *out);

/* An object's member by key, or NULL. */
struct jv *jv_get(const struct jv *obj, const char *key);

/* Appends v as compact JSON; -1 when the buffer is full. */
int	 jv_write(struct buf *, const struct jv *v);
/* Appends s (len bytes) as a JSON string literal. */
int	 jv_write_string(struct buf *, const char *s, size_t len);

#endif
