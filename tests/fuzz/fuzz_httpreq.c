/* fuzz_httpreq.c: request heads from anyone who reaches --health-port. */
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "worker/httpreq.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpreq	rq, again;
	const char	*s = (const char *)data;

	switch (httpreq_parse(&rq, s, size)) {
	case HTTPREQ_DONE:
		if (rq.head_len == 0 || rq.head_len > size ||
		    rq.head_len > HTTPREQ_MAX || rq.path[0] != '/' ||
		    rq.method[0] == '\0' || rq.minor < 0 || rq.minor > 9)
			abort();
		/* The server parses growing prefixes: they must agree. */
		if (httpreq_parse(&again, s, rq.head_len) != HTTPREQ_DONE ||
		    again.head_len != rq.head_len ||
		    strcmp(again.path, rq.path) != 0)
			abort();
		if (httpreq_parse(&again, s, rq.head_len - 1) != HTTPREQ_MORE)
			abort();
		break;
	case HTTPREQ_BAD:
		if (rq.status < 400 || rq.status > 505)
			abort();
		break;
	case HTTPREQ_MORE:
		if (size >= HTTPREQ_MAX)
			abort();
		break;
	}
	return 0;
}
