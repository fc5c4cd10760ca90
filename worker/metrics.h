/*
 * metrics.h: the worker's counters, rendered for Prometheus (text
 * exposition format 0.0.4) by the health server. One worker per process
 * and one thread touches them (the loop's), so they are plain statics.
 */
#ifndef WORKER_METRICS_H
#define WORKER_METRICS_H

#include "common/util.h"

/*
 * A run claimed: the pickup latency is measured from its
 * expected_start_time, else its created time (API timestamps, NULL when
 * missing); a run claimed ahead of time counts as 0.
 */
void	metrics_run_claimed(const char *expected_start, const char *created);
/* A flow-run process started. */
void	metrics_run_started(void);
/* A run over, in its final state type (COMPLETED, FAILED, ...). */
void	metrics_run_finished(const char *state_type);
/*
 * One failed API attempt: status 0 is a transport error (timed_out:
 * the request timeout), else an HTTP error status.
 */
void	metrics_api_error(long status, int timed_out);

/* What the worker knows at rendering time. */
struct metrics_gauges {
	int		 in_flight;
	int		 events_connected;
	int		 ready;
	const char	*version;
	const char	*pool;
	const char	*worker;
};

/* Appends the exposition to out; -1 when out's cap is reached. */
int	metrics_render(struct buf *out, const struct metrics_gauges *);
/* Back to zero (unit tests). */
void	metrics_reset(void);

#endif
