/* test_retry.c: which answers are retried, and how long we wait. */
#include "common/retry.h"
#include "t.h"

int
main(void)
{
	TEST("classification") {
		CHECK(retry_classify(0) == RETRY_AGAIN);
		CHECK(retry_classify(200) == RETRY_OK);
		CHECK(retry_classify(204) == RETRY_OK);
		CHECK(retry_classify(401) == RETRY_AUTH);
		CHECK(retry_classify(403) == RETRY_AUTH);
		CHECK(retry_classify(404) == RETRY_ANSWER);
		CHECK(retry_classify(409) == RETRY_ANSWER);
		CHECK(retry_classify(422) == RETRY_ANSWER);
		CHECK(retry_classify(429) == RETRY_AGAIN);
		CHECK(retry_classify(500) == RETRY_AGAIN);
		CHECK(retry_classify(502) == RETRY_AGAIN);
		CHECK(retry_classify(503) == RETRY_AGAIN);
	}
	TEST("backoff grows, is capped, and is jittered") {
		for (int i = 0; i < 200; i++) {
			int64_t d1 = retry_delay_ms(&retry_patient, 1, -1);
			int64_t d9 = retry_delay_ms(&retry_patient, 9, -1);

			CHECK(d1 >= 250 && d1 <= 500);
			CHECK(d9 >= 7500 && d9 <= 15000);
		}
	}
	TEST("Retry-After wins, within reason") {
		CHECK(retry_delay_ms(&retry_patient, 1, 7) == 7000);
		CHECK(retry_delay_ms(&retry_quick, 1, 3600) == 8000);
	}
	return t_done();
}
