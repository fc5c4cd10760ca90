/*
 * load/naming.h: dlt's snake_case naming convention
 * (dlt/common/normalizers/naming/snake_case.py, naming.py): how keys of
 * data items become table and column names.
 *
 * Differences from dlt: only ASCII whitespace is stripped and only
 * ASCII digits count as digits (Python's str.strip and \d know all of
 * Unicode's); other non-ASCII characters become "_" as in dlt.
 */
#ifndef LOAD_NAMING_H
#define LOAD_NAMING_H

#include <stddef.h>

/* The path separator of nested names ("parent__child"). */
#define LD_PATH_SEP	"__"

/*
 * normalize_identifier: strip, reduce the alphabet (+ * -> x, - -> _,
 * @ -> a, | -> l, other runs -> _), break camelCase, lower-case, "_"
 * before a leading digit, trailing "_" -> "x", "__+" -> "_", then
 * shortened to max_length (0: no limit) with dlt's hash tag. NULL for
 * a blank identifier. Caller frees.
 */
char	*ld_normalize_identifier(const char *ident, size_t len,
	    size_t max_length);
/*
 * normalize_path: each "__"-separated part normalized, joined with
 * "__", the whole shortened. "" for a path of separators only.
 */
char	*ld_normalize_path(const char *path, size_t len, size_t max_length);
/*
 * shorten_fragments: parts joined with "__" and shortened, as dlt
 * names nested tables and variant columns. Caller frees.
 */
char	*ld_make_path(const char *a, const char *b, size_t max_length);
/* shorten_identifier: the tag is computed from original. */
char	*ld_shorten(const char *normalized, const char *original,
	    size_t max_length);

#endif
