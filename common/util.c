/*
 * util.c: allocation wrappers, bounded buffers, clocks and random ids
 * shared by the agent, the executor and the flow SDK.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

void *
xmalloc(size_t n)
{
	void	*p = malloc(n ? n : 1);

	if (p == NULL)
		fatalx("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatalx("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void	*p = realloc(old, n ? n : 1);

	if (p == NULL)
		fatalx("out of memory reallocating %zu bytes", n);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p = strdup(s);

	if (p == NULL)
		fatalx("out of memory copying a string");
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char	*p;

	if (vasprintf(&p, fmt, ap) == -1)
		fatalx("out of memory formatting a string");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_cleanup(struct buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	size_t	 want;
	char	*nd;

	if (n > b->max || b->len > b->max - n)
		return -1;
	want = b->len + n + 1;
	if (want > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;

		while (ncap < want)
			ncap *= 2;
		if ((nd = realloc(b->data, ncap)) == NULL)
			return -1;
		b->data = nd;
		b->cap = ncap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
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
	if (n < 0)
		return -1;
	rc = buf_append(b, s, (size_t)n);
	free(s);
	return rc;
}

char *
buf_steal(struct buf *b)
{
	char	*s = b->data;

	if (s == NULL)
		s = xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
iso8601_now(char out[32], double offset_seconds)
{
	struct timespec	 ts;
	struct tm	 tm;
	int64_t		 ms;
	time_t		 secs;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	    (int64_t)(offset_seconds * 1000);
	secs = (time_t)(ms / 1000);
	char		 tmp[80];

	gmtime_r(&secs, &tm);
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	strlcpy_(out, tmp, 32);
}

int
month_days(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

int
iso8601_parse(const char *s, double *out)
{
	struct tm	 tm;
	const char	*p;
	char		*e;
	double		 frac = 0;
	int		 h, m, off = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		frac = strtod(p, &e);
		p = e;
	}
	if (*p == 'Z')
		p++;
	else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &h,
	    &m) == 2) {
		off = (h * 60 + m) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	}
	if (*p != '\0')
		return -1;
	*out = (double)timegm(&tm) + frac - off;
	return 0;
}

static void
random_bytes(void *p, size_t n)
{
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		r = getrandom((char *)p + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fatal("getrandom");
		}
		got += (size_t)r;
	}
}

void
uuid4(char out[37])
{
	unsigned char	b[16];

	random_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	    b[10], b[11], b[12], b[13], b[14], b[15]);
}

double
random_unit(void)
{
	uint64_t	v;

	random_bytes(&v, sizeof(v));
	return (double)(v >> 11) / (double)(1ULL << 53);
}

void
sleep_ms(int64_t ms)
{
	struct timespec	ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
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

int
errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

char *
read_file_max(const char *path, size_t max, size_t *len, char *err,
    size_t errlen)
{
	FILE	*f;
	char	*text = NULL;
	size_t	 n = 0, cap = 0, got;
	int	 failed;

	if ((f = fopen(path, "rb")) == NULL) {
		errorf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	/* Reads one byte past max to tell "exactly max" from "larger". */
	do {
		if (n == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			text = xrealloc(text, cap + 1);
		}
		got = fread(text + n, 1, cap - n, f);
		n += got;
	} while (got > 0 && n <= max);
	failed = ferror(f);
	fclose(f);
	if (failed || n > max) {
		if (failed)
			errorf(err, errlen, "read error");
		else
			errorf(err, errlen, "file too large (limit %zu bytes)",
			    max);
		free(text);
		return NULL;
	}
	text[n] = '\0';
	if (len != NULL)
		*len = n;
	return text;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *
url_unquote(const char *s, size_t n, int plus)
{
	char	*out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			*o++ = (char)(hexval((unsigned char)s[i + 1]) * 16 +
			    hexval((unsigned char)s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+')
			*o++ = ' ';
		else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

int
mkdir_p(const char *path, mode_t mode)
{
	char	*p = xstrdup(path), *s;
	int	 rc = 0;

	for (s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			rc = -1;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

char *
state_dir_default(void)
{
	const char	*v;

	if ((v = getenv("PFAGENT_STATE_DIR")) != NULL && *v == '/')
		return xstrdup(v);
	if ((v = getenv("XDG_STATE_HOME")) != NULL && *v == '/')
		return xasprintf("%s/pfagent", v);
	if ((v = getenv("HOME")) != NULL && *v == '/')
		return xasprintf("%s/.local/state/pfagent", v);
	return xasprintf("/tmp/pfagent-%u", (unsigned)getuid());
}

char *
str_strip(const char *s)
{
	const char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return xasprintf("%.*s", (int)(e - s), s);
}
