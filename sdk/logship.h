/*
 * logship.h: a flow run's logs, batched to POST /logs/ by a background
 * thread every two seconds (PREFECT_LOGGING_TO_API_BATCH_INTERVAL), and
 * echoed to stderr as Prefect's console handler prints them, secrets
 * masked. The queue is bounded; lines that do not fit are counted and
 * reported.
 */
#ifndef SDK_LOGSHIP_H
#define SDK_LOGSHIP_H

#include <stdarg.h>

#include "common/http.h"

struct logship;

/* http may be NULL: console only (local runs without an API). */
struct logship	*logship_start(const struct http_settings *http,
		    const char *flow_run_id, const char *flow_run_name);
/*
 * Thread-safe. task_run_id and task_run_name may be NULL (a line of the
 * flow run); on the console a line of logger prefect.task_runs reads
 * "Task run 'extract-0' - ...", any other "Flow run 'name' - ...", as
 * Prefect's formatter prints them.
 */
void		 logship_push(struct logship *, const char *logger, int level,
		    const char *message, const char *task_run_id,
		    const char *task_run_name);
/*
 * Secret values to mask (common/redact.h) in every line pushed from now on,
 * on the console and to Prefect alike: this is the one point every line
 * of the run passes. Thread-safe.
 */
void		 logship_secret(struct logship *, const char *value);
/* The set itself (thread-safe), for masking elsewhere (pull steps). */
struct redact	*logship_redact(struct logship *);
/* The same as a hook for cfg_set_secret_hook(): payload is the logship. */
void		 logship_secret_hook(const char *value, void *payload);
/*
 * text with the known secrets masked, for what leaves the executor by
 * another way (state messages, artifacts). Caller frees; NULL for NULL;
 * a plain copy without a logship.
 */
char		*logship_mask(struct logship *, const char *text);
/*
 * stderr becomes a pipe whose lines (the flow's own fprintf, a
 * library's, a program's it runs) are written masked, and as JSON
 * objects of the run with PFAGENT_LOG_FORMAT=json. logship_stop puts
 * stderr back.
 */
void		 logship_wrap_stderr(struct logship *);
/* stderr as it was (before an exec: the pipe's reader does not survive it). */
void		 logship_unwrap_stderr(struct logship *);
/* The same for a message still to be formatted. */
char		*logship_vmask(struct logship *, const char *fmt, va_list ap)
		    __attribute__((format(printf, 2, 0)));
/*
 * Nothing is sent until the run is known to be ours: gate(arg) is asked
 * (from the shipping thread) before the first send, unless
 * logship_open() came first; when it says 0, every line is dropped, as
 * after logship_discard(). So a flow-run process that finds its run
 * taken by another worker leaves no line in it.
 */
void		 logship_gate(struct logship *, int (*gate)(void *), void *arg);
void		 logship_open(struct logship *);
/* The run is not ours: what is queued and what comes is dropped. */
void		 logship_discard(struct logship *);
/* Blocks until everything queued so far was sent or given up. */
void		 logship_flush(struct logship *);
/* Flushes, stops the thread and frees. */
void		 logship_stop(struct logship *);

#endif
