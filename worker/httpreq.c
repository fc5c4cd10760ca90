/*
 * httpreq.c: a strict HTTP/1.x request head parser (RFC 9112), enough
 * for GET /health: request line, header fields checked for syntax and
 * otherwise ignored. Lines end in CRLF; a bare LF is accepted too, as
 * most servers do.
 */
#include <string.h>
#include <strings.h>

#include "worker/httpreq.h"

static enum httpreq_rc
bad(struct httpreq *rq, int status)
{
	rq->status = status;
	return HTTPREQ_BAD;
}

/* RFC 9110 tchar. */
static int
is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible ASCII, as a request target may hold. */
static int
is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* The end of the line starting at p (its '\n'), or NULL. */
static const char *
line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

/* The line [p, nl) without its CR. */
static size_t
line_len(const char *p, const char *nl)
{
	size_t	n = (size_t)(nl - p);

	return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
}

static enum httpreq_rc
request_line(struct httpreq *rq, const char *p, size_t n)
{
	const char	*sp1, *sp2, *end = p + n, *q;
	size_t		 mlen, tlen;

	if ((sp1 = memchr(p, ' ', n)) == NULL)
		return bad(rq, 400);
	if ((sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL)
		return bad(rq, 400);
	mlen = (size_t)(sp1 - p);
	if (mlen == 0)
		return bad(rq, 400);
	for (q = p; q < sp1; q++)
		if (!is_tchar((unsigned char)*q))
			return bad(rq, 400);
	if (mlen >= sizeof(rq->method))
		return bad(rq, 501);
	memcpy(rq->method, p, mlen);
	rq->method[mlen] = '\0';

	/* Origin form only: "/path[?query]". */
	tlen = (size_t)(sp2 - sp1 - 1);
	if (tlen == 0 || sp1[1] != '/')
		return bad(rq, 400);
	for (q = sp1 + 1; q < sp2; q++)
		if (!is_vchar((unsigned char)*q))
			return bad(rq, 400);
	if ((q = memchr(sp1 + 1, '?', tlen)) != NULL)
		tlen = (size_t)(q - sp1 - 1);
	if (tlen >= sizeof(rq->path))
		return bad(rq, 414);
	memcpy(rq->path, sp1 + 1, tlen);
	rq->path[tlen] = '\0';

	/* "HTTP/1.0" or "HTTP/1.1"; another major version is 505. */
	q = sp2 + 1;
	if (end - q != 8 || strncmp(q, "HTTP/", 5) != 0 ||
	    q[5] < '0' || q[5] > '9' || q[6] != '.' || q[7] < '0' || q[7] > '9')
		return bad(rq, 400);
	if (q[5] != '1')
		return bad(rq, 505);
	rq->minor = q[7] - '0';
	return HTTPREQ_DONE;
}

/* One "name: value" field; a request with a body is refused. */
static enum httpreq_rc
header_field(struct httpreq *rq, const char *p, size_t n)
{
	const char	*colon = memchr(p, ':', n), *v, *end = p + n;
	size_t		 nlen;

	if (colon == NULL || colon == p)
		return bad(rq, 400);
	for (const char *q = p; q < colon; q++)
		if (!is_tchar((unsigned char)*q))
			return bad(rq, 400);	/* also "name :" (9112 5.1) */
	for (v = colon + 1; v < end; v++) {
		unsigned char c = (unsigned char)*v;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return bad(rq, 400);
	}
	nlen = (size_t)(colon - p);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	if (nlen == 17 && strncasecmp(p, "transfer-encoding", 17) == 0)
		return bad(rq, 400);
	if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
		for (; v < end && *v == '0'; v++)
			;
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (v != end)
			return bad(rq, 400);
	}
	return HTTPREQ_DONE;
}

enum httpreq_rc
httpreq_parse(struct httpreq *rq, const char *buf, size_t len)
{
	const char	*p = buf, *end, *nl;
	enum httpreq_rc	 rc;
	int		 first = 1;

	memset(rq, 0, sizeof(*rq));
	if (len > HTTPREQ_MAX)
		len = HTTPREQ_MAX;
	end = buf + len;
	/* RFC 9112 2.2: ignore empty lines before the request line. */
	while (p < end && (*p == '\r' || *p == '\n')) {
		if (*p == '\r' && (p + 1 == end || p[1] != '\n'))
			break;
		p += *p == '\r' ? 2 : 1;
	}
	for (;;) {
		size_t	n;

		if ((nl = line_end(p, end)) == NULL)
			return len == HTTPREQ_MAX ? bad(rq, 431) : HTTPREQ_MORE;
		n = line_len(p, nl);
		if (memchr(p, '\r', n) != NULL || memchr(p, '\0', n) != NULL)
			return bad(rq, 400);
		if (first) {
			if ((rc = request_line(rq, p, n)) != HTTPREQ_DONE)
				return rc;
			first = 0;
		} else if (n == 0) {
			rq->head_len = (size_t)(nl + 1 - buf);
			return HTTPREQ_DONE;
		} else if (*p == ' ' || *p == '\t')
			return bad(rq, 400);	/* obsolete line folding */
		else if ((rc = header_field(rq, p, n)) != HTTPREQ_DONE)
			return rc;
		p = nl + 1;
	}
}
