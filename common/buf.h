/*
 * buf.h: the one string builder of pfagent, and a bounded string copy.
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stddef.h>
#include <string.h>

/*
 * A growable byte buffer with a hard cap. buf_init cannot fail; appends
 * past the cap fail with -1 and leave the buffer as it was. A refused
 * append is also remembered in failed, so a builder that appends in many
 * places can check once, at buf_finish.
 */
struct buf {
	char	*data;		/* always NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 cap;		/* allocated */
	size_t	 max;		/* hard maximum length */
	int	 failed;	/* an append was refused (cap or memory) */
};

void	 buf_init(struct buf *, size_t max);
void	 buf_cleanup(struct buf *);
/* buf_append when the bytes do not fit what is allocated. */
int	 buf_append_grow(struct buf *, const void *, size_t);
int	 buf_puts(struct buf *, const char *);
int	 buf_putc(struct buf *, char);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Inline: the normalizer appends a few bytes at a time, millions of
   times (1M records: 4% of its time was the call). */
static inline int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n >= b->cap - b->len || n > b->max - b->len)
		return buf_append_grow(b, p, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* Shortens to len bytes (no-op if already shorter). */
void	 buf_truncate(struct buf *, size_t len);
/* Hands the string to the caller (who frees it) and empties the buffer. */
char	*buf_steal(struct buf *);
/* As buf_steal, or NULL (and the buffer freed) if an append was refused. */
char	*buf_finish(struct buf *);

/* Copies at most size-1 bytes and always terminates; returns strlen(src). */
size_t	 strlcpy_(char *dst, const char *src, size_t size);

#endif
