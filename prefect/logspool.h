/*
 * logspool.h: a flow run's log lines on disk until Prefect has them, so
 * that lines written before the flow-run process crashes still arrive.
 *
 * The executor's log shipper appends each line it queues (a LogCreate
 * object, one JSON text per line) to <state dir>/logs/<run id>.jsonl and
 * records, after each batch Prefect accepted, how far it got
 * (<run id>.sent). A run that ends normally removes both. When the
 * process dies first (a segfault, abort(), exit() in a flow, SIGKILL),
 * the worker takes the lines past that point and sends them.
 */
#ifndef PREFECT_LOGSPOOL_H
#define PREFECT_LOGSPOOL_H

#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

/* Prefect's batch size for POST /logs/. */
#define LOGS_BATCH_MAX_BYTES	4000000

struct logspool;

/* NULL with err when the spool cannot be made (the run goes on without). */
struct logspool	*logspool_open(const char *state_dir, const char *flow_run_id,
		    char *err, size_t errlen);
/* Appends one line (no newline in it); *end is the spool's offset after. */
int		 logspool_append(struct logspool *, const char *json,
		    off_t *end);
/* The lines up to end are being sent: they may land even if we die. */
void		 logspool_sending(struct logspool *, off_t end);
/* Everything up to end is with Prefect (or reported lost). */
void		 logspool_sent(struct logspool *, off_t end);
/* Closes; remove: the run ended normally, drop the files. */
void		 logspool_close(struct logspool *, int remove);

/*
 * The worker's side, for a dead process: the lines it did not send, and
 * the spool's files removed. unsure: the batch that was in flight when
 * it died (a JSON array of LogCreate, NULL when none), which Prefect may
 * or may not have; bodies: the lines after it as POST /logs/ bodies of
 * at most max_bytes (NULL-terminated, NULL when none).
 */
struct logspool_rest {
	cJSON	*unsure;
	char	**bodies;
};
void		 logspool_take(const char *state_dir, const char *flow_run_id,
		    size_t max_bytes, struct logspool_rest *);
void		 logspool_rest_free(struct logspool_rest *);

#endif
