/*
 * toml_int.h: what the parts of the TOML reader share.
 *
 *   toml_lex.c     errors, UTF-8, whitespace and comments, strings, keys
 *   toml_scalar.c  numbers, date-times and the integer items
 *   toml.c         tables, arrays, inline tables, headers: the document
 */
#ifndef CONFIG_TOML_INT_H
#define CONFIG_TOML_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "config/toml.h"

struct parser {
	const char		*start, *p, *end;
	cJSON			*root;
	cJSON			*cur;	/* the table being filled */
	int			 depth;	/* of the next value */
	int			 cur_depth; /* of cur's values */
	int			 failed;
	struct toml_error	*err;
};

struct keys {
	char	**v;
	int	  n, cap;
};

/* The next byte, or -1 at the end of the text. */
static inline int
peek(const struct parser *ps)
{
	return ps->p < ps->end ? (unsigned char)*ps->p : -1;
}

static inline int
is_digit(int c, int base)
{
	if (base == 16)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F');
	return c >= '0' && c < '0' + base;
}

/* toml_lex.c */

/* Records the first error (at byte at, about key when not NULL); -1. */
int	lex_fail(struct parser *ps, const char *at, const char *msg,
	    const char *key);
int	lex_oom(struct parser *ps);
/* The first byte that is not valid UTF-8, or NULL. */
const char	*lex_utf8_bad(const char *s, const char *end);
void	lex_skip_ws(struct parser *ps);
int	lex_newline(struct parser *ps);
int	lex_comment(struct parser *ps);
int	lex_skip_all(struct parser *ps);
int	lex_end_of_line(struct parser *ps);
int	lex_string(struct parser *ps, struct buf *b, int ml_ok);
void	lex_keys_free(struct keys *k);
int	lex_key(struct parser *ps, struct keys *k);

/* toml_scalar.c */

/* The number or date-time at ps->p, or NULL after lex_fail(). */
cJSON	*toml_scalar_number(struct parser *ps);
cJSON	*toml_scalar_datetime(struct parser *ps);

#endif
