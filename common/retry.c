/*
 * retry.c: classification of API results and backoff schedules.
 */
#include "common/retry.h"
#include "common/util.h"

const struct retry_policy retry_quick = { 250, 2000, 10000 };
const struct retry_policy retry_patient = { 500, 15000, 15 * 60 * 1000 };
const struct retry_policy retry_never = { 0, 0, -1 };
/* Prefect's client: 5 retries, 2^n s apart (PREFECT_CLIENT_MAX_RETRIES). */
const struct retry_policy retry_client = { 2000, 32000, 62000 };

enum retry_class
retry_classify(long status)
{
	if (status == 0)
		return RETRY_AGAIN;		/* transport error */
	if (status >= 200 && status < 300)
		return RETRY_OK;
	if (status == 401 || status == 403)
		return RETRY_AUTH;
	if (status == 408 || status == 429 || status >= 500)
		return RETRY_AGAIN;
	return RETRY_ANSWER;
}

int64_t
retry_delay_ms(const struct retry_policy *p, int attempt,
    double retry_after_seconds)
{
	int64_t	d = p->base_ms;

	if (retry_after_seconds > 0) {
		d = (int64_t)(retry_after_seconds * 1000);
		return d > p->cap_ms * 4 ? p->cap_ms * 4 : d;
	}
	for (int i = 1; i < attempt && d < p->cap_ms; i++)
		d *= 2;
	if (d > p->cap_ms)
		d = p->cap_ms;
	/* Full jitter on the upper half spreads agents that failed together. */
	return d / 2 + (int64_t)(random_unit() * (double)(d / 2));
}

const char *
retry_class_name(enum retry_class c)
{
	switch (c) {
	case RETRY_OK:
		return "ok";
	case RETRY_ANSWER:
		return "answer";
	case RETRY_AGAIN:
		return "retryable";
	case RETRY_AUTH:
		return "unauthorized";
	case RETRY_SETTLED:
		return "settled";
	}
	return "?";
}
