/*
 * logship.h: a flow run's logs, batched to POST /logs/ by a background
 * thread every two seconds (PREFECT_LOGGING_TO_API_BATCH_INTERVAL), and
 * echoed to stderr as Prefect's console handler prints them. The queue
 * is bounded; lines that do not fit are counted and reported.
 */
#ifndef AGENT_LOGSHIP_H
#define AGENT_LOGSHIP_H

#include "common/http.h"

struct logship;

/* http may be NULL: console only (local runs without an API). */
struct logship	*logship_start(const struct http_settings *http,
		    const char *flow_run_id, const char *flow_run_name);
/* Thread-safe. task_run_id may be NULL. */
void		 logship_push(struct logship *, const char *logger, int level,
		    const char *message, const char *task_run_id);
/* Blocks until everything queued so far was sent or given up. */
void		 logship_flush(struct logship *);
/* Flushes, stops the thread and frees. */
void		 logship_stop(struct logship *);

#endif
