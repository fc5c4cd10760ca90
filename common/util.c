/*
 * util.c: allocation wrappers, errors as values, random ids and files
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

uint64_t
hash_fnv1a(const char *s, size_t len)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

size_t
digits_of(char *out, long long i)
{
	char	tmp[24];
	size_t	n = 0, k = 0;

	do {
		tmp[n++] = (char)('0' + i % 10);
		i /= 10;
	} while (i > 0);
	while (n > 0)
		out[k++] = tmp[--n];
	return k;
}

int
verrorf(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err != NULL && errlen > 0)
		vsnprintf(err, errlen, fmt, ap);
	return -1;
}

int
errorf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	verrorf(err, errlen, fmt, ap);
	va_end(ap);
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

char *
exe_sibling(const char *name)
{
	char	*self = realpath("/proc/self/exe", NULL), *slash, *path;

	if (self == NULL || (slash = strrchr(self, '/')) == NULL) {
		free(self);
		return NULL;
	}
	*slash = '\0';
	path = xasprintf("%s/%s", self, name);
	free(self);
	return path;
}
