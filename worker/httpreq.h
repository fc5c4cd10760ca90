/*
 * httpreq.h: the HTTP/1.x request head parser of the health server.
 * Its input comes from the network, so it is bounded (HTTPREQ_MAX bytes),
 * allocates nothing and is fuzzed (tests/fuzz/fuzz_httpreq.c).
 */
#ifndef WORKER_HTTPREQ_H
#define WORKER_HTTPREQ_H

#include <stddef.h>

/* Longest request head accepted (request line and headers). */
#define HTTPREQ_MAX	8192

enum httpreq_rc {
	HTTPREQ_MORE,	/* no complete head yet: read more */
	HTTPREQ_DONE,	/* a complete, valid head */
	HTTPREQ_BAD	/* invalid: answer status and close */
};

struct httpreq {
	char	method[16];
	char	path[256];	/* the target up to '?', percent-encoded */
	int	minor;		/* HTTP/1.minor */
	int	status;		/* HTTPREQ_BAD: 400, 414, 431, 501 or 505 */
	size_t	head_len;	/* HTTPREQ_DONE: bytes of the head */
};

/*
 * Parses the start of buf. A request with a body (Content-Length other
 * than 0, or Transfer-Encoding) is refused with 400: the server only
 * answers GET and HEAD.
 */
enum httpreq_rc httpreq_parse(struct httpreq *, const char *buf, size_t len);

#endif
