/*
 * request.c: one API request in flight on the loop, with its retries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/metrics.h"
#include "worker/request.h"
#include "common/log.h"
#include "common/util.h"

struct request {
	struct loop			*loop;
	const struct http_settings	*http;
	const struct retry_policy	*policy;
	char				*method, *path, *body;
	request_done_fn			 done;
	void				*arg;
	struct http_xfer		 xfer;
	int				 attempt;
	int64_t				 started;
	int64_t				 attempt_started;	/* µs, for the trace */
};

static void	attempt(void *);

/* The agent has one loop, so one counter serves it. */
static int	outstanding;

int
request_outstanding(void)
{
	return outstanding;
}

static void
request_free(struct request *r)
{
	free(r->method);
	free(r->path);
	free(r->body);
	free(r);
	outstanding--;
}

static void
finish(struct request *r, struct http_resp *resp, enum retry_class rc)
{
	if (r->done != NULL)
		r->done(resp, rc, r->arg);
	else if (rc != RETRY_OK)
		log_warnx("%s %s: %s (HTTP %ld) %s", r->method, r->path,
		    retry_class_name(rc), resp->status, resp->error);
	http_resp_cleanup(resp);
	request_free(r);
}

static void
on_done(CURLcode cc, void *arg)
{
	struct request		*r = arg;
	struct http_resp	 resp;
	enum retry_class	 rc;
	int64_t			 wait;

	http_xfer_result(&r->xfer, cc, &resp);
	http_xfer_cleanup(&r->xfer);
	/* One line per attempt: the trace of docs/benchmarks.md. */
	log_debug("api %s %s: %ld in %.1f ms", r->method, r->path, resp.status,
	    (double)(realtime_us() - r->attempt_started) / 1000);
	metrics_api_error(resp.status, cc == CURLE_OPERATION_TIMEDOUT);
	rc = retry_classify(resp.status);
	if (rc != RETRY_AGAIN) {
		finish(r, &resp, rc);
		return;
	}
	wait = retry_delay_ms(r->policy, r->attempt, resp.retry_after);
	if (r->policy->deadline_ms < 0 || (r->policy->deadline_ms > 0 &&
	    now_ms() + wait - r->started > r->policy->deadline_ms)) {
		finish(r, &resp, rc);
		return;
	}
	if (r->attempt == 1)
		log_debug("%s %s: %s; retrying in %lld ms", r->method, r->path,
		    resp.error,
		    (long long)wait);
	http_resp_cleanup(&resp);
	loop_timer_add(r->loop, wait, attempt, r);
}

static void
attempt(void *arg)
{
	struct request	*r = arg;

	r->attempt++;
	r->attempt_started = realtime_us();
	if (http_xfer_init(&r->xfer, r->http, r->method, r->path,
	    r->body) == -1) {
		struct http_resp resp = { .body = NULL };

		errorf(resp.error, sizeof(resp.error),
		    "cannot create a transfer");
		http_xfer_cleanup(&r->xfer);
		finish(r, &resp, RETRY_AGAIN);
		return;
	}
	loop_xfer_add(r->loop, r->xfer.easy, on_done, r);
}

void
request_send(struct loop *l, const struct http_settings *http,
    const struct retry_policy *policy, const char *method, const char *path,
    const char *body, request_done_fn done, void *arg)
{
	struct request	*r = xcalloc(1, sizeof(*r));

	r->loop = l;
	r->http = http;
	r->policy = policy;
	r->method = xstrdup(method);
	r->path = xstrdup(path);
	r->body = body ? xstrdup(body) : NULL;
	r->done = done;
	r->arg = arg;
	r->started = now_ms();
	outstanding++;
	attempt(r);
}
