/* test_httpreq.c: the health server's request head parser. */
#include <string.h>

#include "worker/httpreq.h"
#include "t.h"

static enum httpreq_rc
parse(struct httpreq *rq, const char *s)
{
	return httpreq_parse(rq, s, strlen(s));
}

static int
status_of(const char *s)
{
	struct httpreq	rq;

	return parse(&rq, s) == HTTPREQ_BAD ? rq.status : 0;
}

int
main(void)
{
	struct httpreq	rq;
	char		big[HTTPREQ_MAX + 100];

	TEST("a curl request: method, path without query, head length") {
		const char *s = "GET /metrics?x=1 HTTP/1.1\r\nHost: a:1\r\n"
		    "Accept: */*\r\n\r\nextra";

		CHECK(parse(&rq, s) == HTTPREQ_DONE);
		CHECK_STR(rq.method, "GET");
		CHECK_STR(rq.path, "/metrics");
		CHECK(rq.minor == 1);
		CHECK(rq.head_len == strlen(s) - 5);
	}
	TEST("bare LF line ends and leading empty lines are accepted") {
		CHECK(parse(&rq, "\r\n\nHEAD /live HTTP/1.0\n\n") ==
		    HTTPREQ_DONE);
		CHECK_STR(rq.method, "HEAD");
		CHECK(rq.minor == 0);
	}
	TEST("an incomplete head asks for more") {
		CHECK(parse(&rq, "") == HTTPREQ_MORE);
		CHECK(parse(&rq, "GET /health HTT") == HTTPREQ_MORE);
		CHECK(parse(&rq, "GET /health HTTP/1.1\r\nHost: a\r\n") ==
		    HTTPREQ_MORE);
	}
	TEST("a bad request line is refused as soon as it is complete") {
		CHECK(status_of("GARBAGE\r\n") == 400);
		CHECK(status_of("GET /health\r\n") == 400);
		CHECK(status_of("GET  /health HTTP/1.1\r\n") == 400);
		CHECK(status_of("GET http://x/ HTTP/1.1\r\n") == 400);
		CHECK(status_of("GET /a b HTTP/1.1\r\n") == 400);
		CHECK(status_of("G(T / HTTP/1.1\r\n") == 400);
		CHECK(status_of("GET / HTTP/1.10\r\n") == 400);
		CHECK(status_of("GET / HTTP/2.0\r\n") == 505);
		CHECK(status_of("VERYLONGMETHODNAME / HTTP/1.1\r\n") == 501);
	}
	TEST("header syntax: names are tokens, no folding, no bare CR") {
		CHECK(status_of("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n") == 400);
		CHECK(status_of("GET / HTTP/1.1\r\nName : x\r\n\r\n") == 400);
		CHECK(status_of("GET / HTTP/1.1\r\n: x\r\n\r\n") == 400);
		CHECK(status_of("GET / HTTP/1.1\r\nnocolon\r\n\r\n") == 400);
		CHECK(status_of("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n") == 400);
		CHECK(status_of("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n") == 400);
		CHECK(status_of("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n") == 400);
	}
	TEST("a NUL byte anywhere in the head is refused") {
		CHECK(httpreq_parse(&rq, "GET /h\0x HTTP/1.1\r\n\r\n", 21) ==
		    HTTPREQ_BAD);
		CHECK(rq.status == 400);
	}
	TEST("requests with a body are refused; Content-Length: 0 is fine") {
		CHECK(status_of("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n")
		    == 400);
		CHECK(status_of("GET / HTTP/1.1\r\nTransfer-Encoding: chunked"
		    "\r\n\r\n") == 400);
		CHECK(parse(&rq, "GET / HTTP/1.1\r\ncontent-length: 0 \r\n\r\n")
		    == HTTPREQ_DONE);
	}
	TEST("too long: target 414, head 431") {
		memset(big, 'a', sizeof(big));
		memcpy(big, "GET /", 5);
		memcpy(big + 300, " HTTP/1.1\r\n\r\n", 13);
		CHECK(httpreq_parse(&rq, big, 313) == HTTPREQ_BAD);
		CHECK(rq.status == 414);
		memset(big, 'a', sizeof(big));
		memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
		CHECK(httpreq_parse(&rq, big, sizeof(big)) == HTTPREQ_BAD);
		CHECK(rq.status == 431);
		CHECK(httpreq_parse(&rq, big, HTTPREQ_MAX - 1) == HTTPREQ_MORE);
	}
	return t_done();
}
