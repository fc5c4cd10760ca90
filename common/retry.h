/*
 * retry.h: one place decides which API results are worth retrying and
 * how long to wait: capped exponential backoff with jitter, honouring
 * Retry-After.
 */
#ifndef COMMON_RETRY_H
#define COMMON_RETRY_H

#include <stdint.h>

enum retry_class {
	RETRY_OK,	/* 2xx */
	RETRY_ANSWER,	/* a final answer the caller interprets (404, 409, 422) */
	RETRY_AGAIN,	/* transport error, 408, 429, 5xx */
	RETRY_AUTH,	/* 401/403: retrying cannot help, stop */
	RETRY_SETTLED	/* a look before a retry found the outcome (http.h) */
};

struct retry_policy {
	int64_t	base_ms;	/* first wait */
	int64_t	cap_ms;		/* longest single wait */
	int64_t	deadline_ms;	/* give up after this long in total; 0 = never,
				   -1 = no retries at all */
};

/* One attempt only: for calls whose retry needs a look first (claims). */
extern const struct retry_policy retry_never;

/* Short waits, for calls the caller will simply repeat later. */
extern const struct retry_policy retry_quick;
/* For state proposals and logs: ride out a long API outage. */
extern const struct retry_policy retry_patient;
/* A command a person waits on: gives up as Prefect's client does. */
extern const struct retry_policy retry_client;

enum retry_class retry_classify(long status);
/* Wait before attempt number `attempt` (1 = first retry). */
int64_t	retry_delay_ms(const struct retry_policy *, int attempt,
	    double retry_after_seconds);
const char *retry_class_name(enum retry_class);

#endif
