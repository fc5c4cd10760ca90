/*
 * health.h: the worker's HTTP endpoint (--health-port), served from the
 * event loop: a listening socket and its connections are descriptors of
 * the loop, so there is no thread and nothing here can block it.
 *
 *   GET /health    200 {"message":"OK"} when ready, else 503 naming the
 *                  failed checks (Prefect's worker webserver's path and
 *                  statuses): the loop turned within 5 s, the last
 *                  heartbeat and the last poll succeeded recently, the
 *                  worker is not stopping
 *   GET /live      200 while the loop turns (liveness only: an API
 *                  outage does not make it fail)
 *   GET /metrics   Prometheus text format 0.0.4 (metrics.c)
 */
#ifndef WORKER_HEALTH_H
#define WORKER_HEALTH_H

#include <stddef.h>

struct agent;
struct health;

/* Listens on address:port; NULL with a message when it cannot. */
struct health	*health_start(struct agent *, const char *address, int port,
		    char *err, size_t errlen);
void		 health_stop(struct health *);

/* Successes the readiness check looks at (worker.c). */
void		 health_heartbeat_ok(void);
void		 health_poll_ok(void);

/*
 * The readiness verdict: 1 ready, 0 not, with the failed checks as a
 * JSON object in checks (caller frees) when checks is not NULL.
 */
int		 health_ready(const struct agent *, char **checks);

#endif
