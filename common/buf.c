/*
 * buf.c: the one string builder, a growable byte buffer with a hard cap,
 * and a bounded string copy. A leaf: the logger builds its lines here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->failed = 0;
}

void
buf_cleanup(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

int
buf_append_grow(struct buf *b, const void *p, size_t n)
{
	size_t	 want;
	char	*nd;

	if (n > b->max || b->len > b->max - n) {
		b->failed = 1;
		return -1;
	}
	want = b->len + n + 1;
	if (want > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;

		while (ncap < want)
			ncap *= 2;
		if ((nd = realloc(b->data, ncap)) == NULL) {
			b->failed = 1;
			return -1;
		}
		b->data = nd;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return -1;
	}
	rc = buf_append(b, s, (size_t)n);
	free(s);
	return rc;
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

char *
buf_steal(struct buf *b)
{
	char	*s = b->data;

	if (s == NULL)
		s = calloc(1, 1);
	if (s == NULL)
		abort();	/* as x* would, without the logger */
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
	return s;
}

char *
buf_finish(struct buf *b)
{
	if (b->failed) {
		buf_cleanup(b);
		return NULL;
	}
	return buf_steal(b);
}

size_t
strlcpy_(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
