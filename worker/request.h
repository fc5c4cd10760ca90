/*
 * request.h: asynchronous Prefect API requests on the event loop, retried
 * with backoff by timers while the answer is retryable (retry.c).
 */
#ifndef WORKER_REQUEST_H
#define WORKER_REQUEST_H

#include "worker/loop.h"
#include "common/http.h"

/*
 * Called once with the final answer: RETRY_AGAIN only when the policy's
 * deadline passed. resp is borrowed for the call.
 */
typedef void	(*request_done_fn)(struct http_resp *, enum retry_class,
		    void *arg);

/* method/path/body are copied. done may be NULL (fire and forget). */
void	request_send(struct loop *, const struct http_settings *,
	    const struct retry_policy *, const char *method, const char *path,
	    const char *body, request_done_fn done, void *arg);

/* Requests not yet finished, retries waiting on a timer included. */
int	request_outstanding(void);

#endif
