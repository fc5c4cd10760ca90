/*
 * util.h: allocation wrappers, errors as values, ids, files. It includes
 * buf.h (the string builder) and clock.h, which the logger uses too.
 *
 * The x* allocators abort with a log line on OOM: a daemon that cannot
 * allocate is not trustworthy and its supervisor restarts it. Parsers of
 * untrusted input use plain malloc and report -1 instead.
 */
#ifndef COMMON_UTIL_H
#define COMMON_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/clock.h"

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char	*xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* A fresh random UUID (version 4), lower-case text. */
void	 uuid4(char out[37]);
/* Uniform random double in [0, 1). */
double	 random_unit(void);
/* FNV-1a of s[0, len), for the hash tables' slots. */
uint64_t hash_fnv1a(const char *s, size_t len);
/* The decimal digits of i >= 0 into out (no NUL); their count. */
size_t	 digits_of(char *out, long long i);

/*
 * Formats an error message into err (may be NULL) and returns -1, so a
 * failure reads `return errorf(err, errlen, "no %s", what);`.
 */
int	 errorf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* errorf for a setter of its own that adds to it (a position, a flag). */
int	 verrorf(char *err, size_t errlen, const char *fmt, va_list)
	    __attribute__((format(printf, 3, 0)));

/*
 * $PFAGENT_STATE_DIR, else $XDG_STATE_HOME/pfagent, else
 * ~/.local/state/pfagent, else /tmp/pfagent-<uid>. Caller frees.
 */
char	*state_dir_default(void);
/* Python's str.strip() of ASCII whitespace, as a new string. */
char	*str_strip(const char *s);
/*
 * Reads a whole file of at most max bytes into a NUL-terminated string
 * (*len, if given, excludes the NUL). NULL with a message in err when it
 * cannot be read or is larger than max. Caller frees.
 */
char	*read_file_max(const char *path, size_t max, size_t *len,
	    char *err, size_t errlen);
/* Python's urllib.parse.unquote (plus: unquote_plus) of s[0, n): %XX
 * escapes decoded, malformed ones kept. Caller frees. */
char	*url_unquote(const char *s, size_t n, int plus);
/* mkdir -p; returns 0 or -1 with errno. */
int	 mkdir_p(const char *path, mode_t mode);
/* The path of name in this executable's directory, or NULL. Caller frees. */
char	*exe_sibling(const char *name);

#endif
