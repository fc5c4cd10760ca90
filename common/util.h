/*
 * util.h: allocation wrappers, a bounded growable buffer, clocks, ids.
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

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char	*xvasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/*
 * A growable byte buffer with a hard cap. buf_init cannot fail; appends
 * past the cap fail with -1 and leave the buffer as it was.
 */
struct buf {
	char	*data;		/* always NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 cap;		/* allocated */
	size_t	 max;		/* hard maximum length */
};

void	 buf_init(struct buf *, size_t max);
void	 buf_cleanup(struct buf *);
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Hands the string to the caller (who frees it) and empties the buffer. */
char	*buf_steal(struct buf *);

/* Milliseconds on the monotonic clock. */
int64_t	 now_ms(void);
/* Current UTC time as ISO-8601 with milliseconds, plus an offset. */
void	 iso8601_now(char out[32], double offset_seconds);
/*
 * An ISO 8601 date-time as the API prints it ("...T12:00:00.123+00:00"
 * or "Z") in epoch seconds; -1 when it is not one.
 */
int	 iso8601_parse(const char *, double *out);
/* Days in month m (1-12) of year y, proleptic Gregorian. */
int	 month_days(int y, int m);
/* A fresh random UUID (version 4), lower-case text. */
void	 uuid4(char out[37]);
/* Uniform random double in [0, 1). */
double	 random_unit(void);
/* Sleeps ms milliseconds, resuming after signals. */
void	 sleep_ms(int64_t ms);

/*
 * Formats an error message into err (may be NULL) and returns -1, so a
 * failure reads `return errorf(err, errlen, "no %s", what);`.
 */
int	 errorf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

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
/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t	 strlcpy_(char *dst, const char *src, size_t size);

#endif
