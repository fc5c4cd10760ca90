/*
 * metrics.c: counters, one histogram and their Prometheus text form.
 * Names carry the pfagent_ prefix, counters end in _total and the
 * histogram has cumulative _bucket lines, then _sum and _count, as the
 * exposition format wants.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "worker/metrics.h"

/* Seconds from a run's expected start to its claim. */
static const double pickup_bounds[] = { 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120,
    300, 600 };
#define NBOUNDS (sizeof(pickup_bounds) / sizeof(pickup_bounds[0]))

static const char *const final_states[] = { "completed", "failed", "crashed",
    "cancelled" };
#define NFINAL (sizeof(final_states) / sizeof(final_states[0]))

static const char *const error_kinds[] = { "transport", "timeout",
    "http_4xx", "http_5xx" };
#define NKINDS (sizeof(error_kinds) / sizeof(error_kinds[0]))

static struct {
	unsigned long long	claimed, started;
	unsigned long long	finished[NFINAL];
	unsigned long long	api_errors[NKINDS];
	unsigned long long	pickup_buckets[NBOUNDS];	/* not cumulative */
	unsigned long long	pickup_count;
	double			pickup_sum;
} m;

void
metrics_reset(void)
{
	memset(&m, 0, sizeof(m));
}

void
metrics_run_claimed(const char *expected_start, const char *created)
{
	struct timespec	now;
	double		t, pickup_seconds;

	m.claimed++;
	if (iso8601_parse(expected_start, &t) == -1 &&
	    iso8601_parse(created, &t) == -1)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	pickup_seconds = (double)now.tv_sec + now.tv_nsec / 1e9 - t;
	if (pickup_seconds < 0)
		pickup_seconds = 0;
	m.pickup_count++;
	m.pickup_sum += pickup_seconds;
	for (size_t i = 0; i < NBOUNDS; i++)
		if (pickup_seconds <= pickup_bounds[i]) {
			m.pickup_buckets[i]++;
			break;
		}
}

void
metrics_run_started(void)
{
	m.started++;
}

void
metrics_run_finished(const char *state_type)
{
	for (size_t i = 0; state_type != NULL && i < NFINAL; i++)
		if (strcasecmp(state_type, final_states[i]) == 0)
			m.finished[i]++;
}

void
metrics_api_error(long status, int timed_out)
{
	size_t	k;

	if (status == 0)
		k = timed_out ? 1 : 0;
	else if (status >= 500)
		k = 3;
	else if (status >= 400)
		k = 2;
	else
		return;
	m.api_errors[k]++;
}

/* A label value: backslash, double quote and newline escaped. */
static int
label(struct buf *out, const char *v)
{
	int	rc = 0;

	for (const char *p = v ? v : ""; *p != '\0' && rc == 0; p++) {
		if (*p == '\\')
			rc = buf_append(out, "\\\\", 2);
		else if (*p == '"')
			rc = buf_append(out, "\\\"", 2);
		else if (*p == '\n')
			rc = buf_append(out, "\\n", 2);
		else
			rc = buf_append(out, p, 1);
	}
	return rc;
}

static int
head(struct buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

int
metrics_render(struct buf *out, const struct metrics_gauges *g)
{
	unsigned long long	cum = 0;
	int			rc = 0;

	rc |= head(out, "pfagent_info", "gauge",
	    "Version of the agent and the pool it serves.");
	rc |= buf_printf(out, "pfagent_info{version=\"");
	rc |= label(out, g->version);
	rc |= buf_printf(out, "\",pool=\"");
	rc |= label(out, g->pool);
	rc |= buf_printf(out, "\",worker=\"");
	rc |= label(out, g->worker);
	rc |= buf_printf(out, "\"} 1\n");

	rc |= head(out, "pfagent_ready", "gauge", "1 when the last heartbeat "
	    "and poll succeeded recently (what /health reports).");
	rc |= buf_printf(out, "pfagent_ready %d\n", g->ready ? 1 : 0);

	rc |= head(out, "pfagent_flow_runs_claimed_total", "counter",
	    "Flow runs this worker claimed (moved to Pending).");
	rc |= buf_printf(out, "pfagent_flow_runs_claimed_total %llu\n",
	    m.claimed);
	rc |= head(out, "pfagent_flow_runs_started_total", "counter",
	    "Flow-run processes started.");
	rc |= buf_printf(out, "pfagent_flow_runs_started_total %llu\n",
	    m.started);
	rc |= head(out, "pfagent_flow_runs_finished_total", "counter",
	    "Claimed flow runs over, by final state as the API records it.");
	for (size_t i = 0; i < NFINAL; i++)
		rc |= buf_printf(out, "pfagent_flow_runs_finished_total"
		    "{state=\"%s\"} %llu\n", final_states[i], m.finished[i]);
	rc |= head(out, "pfagent_flow_runs_in_flight", "gauge",
	    "Flow runs claimed and not yet over.");
	rc |= buf_printf(out, "pfagent_flow_runs_in_flight %d\n", g->in_flight);

	rc |= head(out, "pfagent_flow_run_pickup_latency_seconds", "histogram",
	    "Seconds from a flow run's expected start time to its claim.");
	for (size_t i = 0; i < NBOUNDS; i++) {
		cum += m.pickup_buckets[i];
		rc |= buf_printf(out, "pfagent_flow_run_pickup_latency_seconds_"
		    "bucket{le=\"%g\"} %llu\n", pickup_bounds[i], cum);
	}
	rc |= buf_printf(out, "pfagent_flow_run_pickup_latency_seconds_bucket"
	    "{le=\"+Inf\"} %llu\n", m.pickup_count);
	rc |= buf_printf(out, "pfagent_flow_run_pickup_latency_seconds_sum "
	    "%.6f\n", m.pickup_sum);
	rc |= buf_printf(out, "pfagent_flow_run_pickup_latency_seconds_count "
	    "%llu\n", m.pickup_count);

	rc |= head(out, "pfagent_api_errors_total", "counter",
	    "Failed Prefect API attempts (retries included), by kind.");
	for (size_t i = 0; i < NKINDS; i++)
		rc |= buf_printf(out, "pfagent_api_errors_total{kind=\"%s\"} "
		    "%llu\n", error_kinds[i], m.api_errors[i]);

	rc |= head(out, "pfagent_events_connected", "gauge",
	    "1 while the event stream (websocket) is connected.");
	rc |= buf_printf(out, "pfagent_events_connected %d\n",
	    g->events_connected ? 1 : 0);
	return rc ? -1 : 0;
}
