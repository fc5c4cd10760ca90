/*
 * logship.c: the flow run's log queue and its shipping thread.
 *
 * Lines keep their order: the thread takes the head of the queue as one
 * batch (at most Prefect's 4 MB batch size), sends it (retrying through
 * an API outage), then takes the next. A line longer than Prefect's
 * MAX_LOG_SIZE is truncated as Prefect does.
 *
 * While the API is away lines pile up, so what is held (queued or being
 * sent) is bounded by PFAGENT_LOG_BUFFER_LINES and _BYTES. A line beyond
 * the bound is dropped, not an older one, so what is kept stays in
 * order; the next line kept is preceded by one saying how many were
 * dropped there ("N log lines were dropped while the API was
 * unreachable"), stamped with the time of the first of them. A batch
 * given up after the retry deadline is reported the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "prefect/api.h"
#include "prefect/contract.h"
#include "prefect/logspool.h"
#include "sdk/logship.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "common/pyfmt.h"
#include "common/redact.h"

#define BATCH_INTERVAL_MS	2000
#define MAX_LOG_SIZE		1000000
#define BATCH_MAX_BYTES		LOGS_BATCH_MAX_BYTES
#define ENTRY_OVERHEAD		200		/* JSON around a message */
#define DEFAULT_MAX_LINES	100000
#define DEFAULT_MAX_BYTES	(32u << 20)
/*
 * A full buffer makes the flow wait for the API (back-pressure), unless
 * the batch being sent has failed and been retried for this long: then
 * the API is away and newer lines are dropped rather than the flow
 * stopped. A slow but answering API is waited for.
 */
#define STALLED_SEND_MS		10000
#define SPOOL_END		"_spool_end"	/* never sent */

struct logship {
	const struct http_settings	*http;
	char				*flow_run_id;
	char				*flow_run_name;
	pthread_t			 thread;
	pthread_mutex_t			 mu;
	pthread_cond_t			 wake;
	pthread_cond_t			 drained;
	cJSON				*queue;		/* array of LogCreate */
	size_t				 held_lines;	/* queued or in flight */
	size_t				 held_bytes;
	size_t				 max_lines, max_bytes;
	unsigned long			 pushed, sent;	/* sequence numbers */
	unsigned long			 dropping;	/* since the last kept */
	char				 drop_ts[32];	/* the first of them */
	int				 flush_wanted;
	int				 stopping;
	int				 threshold;	/* lowest level kept */
	struct redact			*redact;	/* secrets to mask */
	struct logspool			*spool;		/* NULL: none */
	int64_t				 send_started;	/* 0: idle */
	int64_t				 last_us;	/* newest line's time */
	int				 send_failing;	/* it was retried */
	int				 hurry;		/* the buffer is full */
	int				 stderr_saved;	/* -1: not wrapped */
	pthread_t			 raw_thread;
	/*
	 * Closed: nothing is sent until gate(gate_arg) says the run is
	 * ours (asked before the first send) or logship_open says so; a
	 * run found not ours has its lines dropped (logship_discard).
	 */
	int				 gated;
	int				 discarding;
	int				(*gate)(void *);
	void				*gate_arg;
};

/*
 * PREFECT_LOGGING_LEVEL, as Prefect's loggers honour it: lines below it
 * are neither printed nor shipped. Default INFO.
 */
static int
threshold_from_env(void)
{
	static const struct { const char *name; int level; } names[] = {
		{ "DEBUG", PF_LEVEL_DEBUG }, { "INFO", PF_LEVEL_INFO },
		{ "WARNING", PF_LEVEL_WARNING }, { "ERROR", PF_LEVEL_ERROR },
		{ "CRITICAL", PF_LEVEL_CRITICAL },
	};
	const char	*v = getenv("PREFECT_LOGGING_LEVEL");

	for (size_t i = 0; v != NULL && i < sizeof(names) / sizeof(*names);
	    i++)
		if (strcasecmp(v, names[i].name) == 0)
			return names[i].level;
	return PF_LEVEL_INFO;
}

static const char *
level_name(int level)
{
	if (level >= 50)
		return "CRITICAL";
	if (level >= 40)
		return "ERROR";
	if (level >= 30)
		return "WARNING";
	if (level >= 20)
		return "INFO";
	return "DEBUG";
}

/*
 * Prefect's console format: flow_run_fmt or task_run_fmt by logger name
 * (PrefectFormatter), the run's name as Python's %r shows it. One
 * write, so lines of concurrent threads do not interleave. With
 * PFAGENT_LOG_FORMAT=json, a JSON object like the agent's own lines.
 */
static void
console(struct logship *ls, const char *logger, int level, const char *msg,
    const char *task_run_name)
{
	char		 name[600], *line;
	struct timespec	 ts;
	struct tm	 tm;
	int		 task;

	task = task_run_name != NULL &&
	    strcmp(logger, "prefect.task_runs") == 0;
	if (log_json()) {
		const char *fields[] = { "flow_run_id", ls->flow_run_id,
		    "flow_run_name", ls->flow_run_name, "task_run_name",
		    task ? task_run_name : NULL, NULL };

		log_json_write(level_name(level), logger, msg, fields);
		return;
	}
	sdk_pyrepr(name, sizeof(name), task ? task_run_name :
	    ls->flow_run_name);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	line = xasprintf("%02d:%02d:%02d.%03ld | %-7s | %s run %s - %s\n",
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	    level_name(level), task ? "Task" : "Flow", name, msg);
	if (write(log_out(), line, strlen(line)) < 0) {
		/* a closed stderr must not stop the flow */
	}
	free(line);
}

/* The count of a message's bytes as the bound sees it. */
static size_t
entry_bytes(const cJSON *entry)
{
	const char	*m = json_str(entry, "message");

	return (m ? strlen(m) : 0) + ENTRY_OVERHEAD;
}

/* The line that stands for dropped ones, where they were (locked). */
static cJSON *
drop_notice(struct logship *ls, unsigned long n, const char *ts)
{
	char	*msg = xasprintf("%lu log line%s dropped while the API was "
	    "unreachable", n, n == 1 ? " was" : "s were");
	cJSON	*e = api_log_entry("prefect.flow_runs", PF_LEVEL_WARNING, msg,
	    ls->flow_run_id, NULL);

	cJSON_ReplaceItemInObjectCaseSensitive(e, "timestamp",
	    cJSON_CreateString(ts));
	free(msg);
	return e;
}

/* Queues the notice for lines dropped since the last kept one (locked). */
static void
note_dropped(struct logship *ls)
{
	cJSON	*e;

	if (ls->dropping == 0)
		return;
	e = drop_notice(ls, ls->dropping, ls->drop_ts);
	ls->held_lines++;
	ls->held_bytes += entry_bytes(e);
	ls->pushed++;
	cJSON_AddItemToArray(ls->queue, e);
	ls->dropping = 0;
}

/* http_call_look's hook before each retry: the API is failing us. */
static int
note_retry(void *arg)
{
	struct logship	*ls = arg;

	pthread_mutex_lock(&ls->mu);
	ls->send_failing = 1;
	pthread_mutex_unlock(&ls->mu);
	return 0;
}

static void
send_batch(struct logship *ls, cJSON *batch)
{
	struct http_resp	r;
	enum retry_class	rc;
	char			*body = json_print(batch), ts[32];
	int			 n = cJSON_GetArraySize(batch);
	cJSON			*e;

	rc = http_call_look(ls->http, &retry_patient, "POST", "/logs/", body,
	    note_retry, ls, &r);
	if (rc != RETRY_OK) {
		const char *first = json_str(cJSON_GetArrayItem(batch, 0),
		    "timestamp");

		log_warnx("flow run %s: %d log line(s) not delivered: %s",
		    ls->flow_run_id, n, r.status ? "HTTP error" : r.error);
		/* Said where they were: ahead of everything queued since. */
		strlcpy_(ts, first ? first : "", sizeof(ts));
		if (ts[0] == '\0')
			iso8601_now(ts, 0);
		pthread_mutex_lock(&ls->mu);
		e = drop_notice(ls, (unsigned long)n, ts);
		ls->held_lines++;
		ls->held_bytes += entry_bytes(e);
		ls->pushed++;
		cJSON_InsertItemInArray(ls->queue, 0, e);
		pthread_mutex_unlock(&ls->mu);
	}
	http_resp_cleanup(&r);
	free(body);
}

/* Takes up to one batch's worth from the head of the queue (locked). */
static cJSON *
take_batch(struct logship *ls, size_t *lines, size_t *bytes, double *end)
{
	cJSON	*batch = cJSON_CreateArray();

	*lines = *bytes = 0;
	while (cJSON_GetArraySize(ls->queue) > 0) {
		cJSON	*e = ls->queue->child;
		size_t	 b = entry_bytes(e);
		cJSON	*at;

		if (*lines > 0 && *bytes + b > BATCH_MAX_BYTES)
			break;
		if ((at = cJSON_DetachItemFromObjectCaseSensitive(e,
		    SPOOL_END)) != NULL) {
			if (at->valuedouble > *end)
				*end = at->valuedouble;
			cJSON_Delete(at);
		}
		cJSON_AddItemToArray(batch,
		    cJSON_DetachItemViaPointer(ls->queue, e));
		(*lines)++;
		*bytes += b;
	}
	return batch;
}

/*
 * Waits out the batch interval from the first line of a batch: lines
 * that come meanwhile go with it. A full batch, a flow waiting for
 * room, a flush or the stop end the wait (locked).
 */
static void
batch_wait(struct logship *ls)
{
	struct timespec	deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += BATCH_INTERVAL_MS / 1000;
	while (!ls->flush_wanted && !ls->stopping && !ls->hurry &&
	    ls->held_bytes < BATCH_MAX_BYTES && pthread_cond_timedwait(
	    &ls->wake, &ls->mu, &deadline) != ETIMEDOUT)
		;
}

/* Drops what is queued: the run is not ours (locked). */
static void
drop_queue(struct logship *ls)
{
	cJSON_Delete(ls->queue);
	ls->queue = cJSON_CreateArray();
	ls->sent = ls->pushed;
	ls->held_lines = ls->held_bytes = 0;
	ls->dropping = 0;
	pthread_cond_broadcast(&ls->drained);
}

/*
 * The run is not ours: its lines go nowhere, not even to the spool the
 * worker would send after a crash (locked).
 */
static void
discard_locked(struct logship *ls)
{
	ls->gated = 0;
	ls->discarding = 1;
	while (ls->send_started != 0)
		pthread_cond_wait(&ls->drained, &ls->mu);
	drop_queue(ls);
	logspool_close(ls->spool, 1);
	ls->spool = NULL;
}

/* Asks the gate before the first send (locked; unlocked meanwhile). */
static void
pass_gate(struct logship *ls)
{
	int	ours;

	if (!ls->gated || ls->gate == NULL)
		return;
	pthread_mutex_unlock(&ls->mu);
	ours = ls->gate(ls->gate_arg);
	pthread_mutex_lock(&ls->mu);
	if (!ls->gated)
		return;		/* opened or discarded meanwhile */
	ls->gated = 0;
	if (!ours)
		discard_locked(ls);
}

static void *
ship(void *arg)
{
	struct logship	*ls = arg;

	pthread_mutex_lock(&ls->mu);
	for (;;) {
		cJSON		*batch;
		size_t		 lines, bytes;
		double		 end = 0;

		while ((cJSON_GetArraySize(ls->queue) == 0 || (ls->gated &&
		    ls->gate == NULL)) && !ls->stopping) {
			pthread_cond_broadcast(&ls->drained);
			pthread_cond_wait(&ls->wake, &ls->mu);
		}
		if (cJSON_GetArraySize(ls->queue) == 0 && ls->stopping)
			break;
		batch_wait(ls);
		pass_gate(ls);
		if (ls->discarding || ls->gated) {
			drop_queue(ls);	/* never proved ours: not sent */
			if (ls->stopping)
				break;
			continue;
		}
		batch = take_batch(ls, &lines, &bytes, &end);
		if (cJSON_GetArraySize(ls->queue) == 0)
			ls->flush_wanted = 0;
		ls->hurry = 0;
		ls->send_started = now_ms();
		pthread_mutex_unlock(&ls->mu);
		if (ls->spool != NULL && end > 0)
			logspool_sending(ls->spool, (off_t)end);
		send_batch(ls, batch);
		cJSON_Delete(batch);
		/* Sent, or reported lost: either way not the worker's to send. */
		if (ls->spool != NULL && end > 0)
			logspool_sent(ls->spool, (off_t)end);
		pthread_mutex_lock(&ls->mu);
		ls->send_started = 0;
		ls->send_failing = 0;
		ls->held_lines -= lines;
		ls->held_bytes -= bytes;
		ls->sent += lines;
		pthread_cond_broadcast(&ls->drained);
	}
	pthread_cond_broadcast(&ls->drained);
	pthread_mutex_unlock(&ls->mu);
	return NULL;
}

/* A positive whole number from the environment, else def. */
static size_t
env_size(const char *name, size_t def)
{
	const char	*v = getenv(name);
	char		*end;
	unsigned long long n;

	if (v == NULL || *v == '\0')
		return def;
	n = strtoull(v, &end, 10);
	if (*end != '\0' || n == 0 || v[0] == '-') {
		log_warnx("%s: '%s' is not a positive whole number; using %zu",
		    name, v, def);
		return def;
	}
	return (size_t)n;
}

struct logship *
logship_start(const struct http_settings *http, const char *flow_run_id,
    const char *flow_run_name)
{
	struct logship	*ls = xcalloc(1, sizeof(*ls));

	ls->http = http;
	ls->flow_run_id = xstrdup(flow_run_id);
	ls->flow_run_name = xstrdup(flow_run_name);
	ls->queue = cJSON_CreateArray();
	ls->threshold = threshold_from_env();
	ls->max_lines = env_size("PFAGENT_LOG_BUFFER_LINES", DEFAULT_MAX_LINES);
	ls->max_bytes = env_size("PFAGENT_LOG_BUFFER_BYTES", DEFAULT_MAX_BYTES);
	ls->redact = redact_new();
	ls->stderr_saved = -1;
	log_set_run(flow_run_id, flow_run_name);
	pthread_mutex_init(&ls->mu, NULL);
	pthread_cond_init(&ls->wake, NULL);
	pthread_cond_init(&ls->drained, NULL);
	if (http != NULL) {
		char	 err[300];

		/* Without a worker's state dir (pfagent run): no spool. */
		if (getenv(PF_ENV_STATE_DIR) != NULL &&
		    (ls->spool = logspool_open(getenv(PF_ENV_STATE_DIR),
		    flow_run_id, err, sizeof(err))) == NULL)
			log_warnx("log spool: %s; lines queued when the process "
			    "dies are lost", err);
		if (pthread_create(&ls->thread, NULL, ship, ls) != 0)
			fatalx("cannot start the log shipping thread");
	}
	return ls;
}

/*
 * The line's time, to the microsecond and always after the one before
 * (locked): Prefect orders a run's logs by timestamp alone, so lines
 * pushed in the same instant would otherwise come back in any order.
 */
static void
stamp(struct logship *ls, cJSON *entry)
{
	int64_t	 us = realtime_us();
	char	 ts[32];

	if (us <= ls->last_us)
		us = ls->last_us + 1;
	ls->last_us = us;
	iso8601_us(us, ts);
	cJSON_ReplaceItemInObjectCaseSensitive(entry, "timestamp",
	    cJSON_CreateString(ts));
}

/*
 * Whether a line of len bytes may be decided now (locked): there is
 * room, or there will be none soon (the API is away, or we are
 * stopping). Otherwise waits a while for the shipper and says 0.
 */
static int
room_or_give_up(struct logship *ls, size_t len)
{
	struct timespec	 deadline;

	if (ls->held_lines + 1 <= ls->max_lines &&
	    ls->held_bytes + len + ENTRY_OVERHEAD <= ls->max_bytes)
		return 1;
	if (ls->stopping || (ls->send_started != 0 && ls->send_failing &&
	    now_ms() - ls->send_started > STALLED_SEND_MS))
		return 1;
	ls->hurry = 1;
	pthread_cond_signal(&ls->wake);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	pthread_cond_timedwait(&ls->drained, &ls->mu, &deadline);
	return 0;
}

/*
 * The line on disk before it is queued (locked, so in queue order), its
 * end offset kept in the entry until take_batch removes it.
 */
static void
spool_line(struct logship *ls, cJSON *entry)
{
	char	*text;
	off_t	 end;

	if (ls->spool == NULL)
		return;
	text = json_print(entry);
	if (logspool_append(ls->spool, text, &end) == 0)
		cJSON_AddNumberToObject(entry, SPOOL_END, (double)end);
	free(text);
}

void
logship_push(struct logship *ls, const char *logger, int level,
    const char *message, const char *task_run_id, const char *task_run_name)
{
	char	*masked, *msg;
	cJSON	*entry;
	size_t	 len;

	if (level < ls->threshold)
		return;
	/* Masked first, so a cut line cannot keep part of a secret. */
	msg = masked = redact_text(ls->redact, message);
	console(ls, logger, level, msg, task_run_name);
	if (ls->http == NULL) {
		free(masked);
		return;
	}
	if ((len = strlen(msg)) > MAX_LOG_SIZE) {
		msg[MAX_LOG_SIZE - 15] = '\0';
		msg = xasprintf("%s... [truncated]", masked);
		free(masked);
		masked = msg;
		len = MAX_LOG_SIZE;
	}
	entry = api_log_entry(logger, level, msg, ls->flow_run_id,
	    task_run_id);
	pthread_mutex_lock(&ls->mu);
	stamp(ls, entry);
	while (!ls->discarding && !room_or_give_up(ls, len))
		;
	if (ls->discarding)
		cJSON_Delete(entry);	/* not our run: nowhere to go */
	else if (ls->held_lines + 1 > ls->max_lines ||
	    ls->held_bytes + len + ENTRY_OVERHEAD > ls->max_bytes) {
		if (ls->dropping++ == 0)
			strlcpy_(ls->drop_ts, json_str(entry, "timestamp"),
			    sizeof(ls->drop_ts));
		cJSON_Delete(entry);
	} else {
		note_dropped(ls);
		spool_line(ls, entry);
		cJSON_AddItemToArray(ls->queue, entry);
		ls->held_lines++;
		ls->held_bytes += len + ENTRY_OVERHEAD;
		ls->pushed++;
		pthread_cond_signal(&ls->wake);
	}
	pthread_mutex_unlock(&ls->mu);
	free(masked);
}

/*
 * What the flow (or a library, or a program it runs) writes to stderr
 * itself bypasses the masking, and with JSON logs would break the
 * stream: stderr becomes a pipe, and a thread writes each line, masked,
 * to where stderr went before (as a JSON object with the run's fields
 * when the logs are JSON). Our own lines go there directly.
 */
struct raw_reader {
	struct logship	*ls;
	int		 fd;
};

/* Writes the first len bytes of pending as one line and drops them. */
static void
raw_line(struct raw_reader *rr, struct buf *pending, size_t len, int nl)
{
	char		*line = strndup(pending->data, len);
	char		*masked = line ? redact_text(rr->ls->redact, line) : NULL;
	const char	*fields[] = { "flow_run_id", rr->ls->flow_run_id,
	    "flow_run_name", rr->ls->flow_run_name, "stream", "stderr", NULL };

	if (masked != NULL && log_json())
		log_json_write("INFO", "stderr", masked, fields);
	else if (masked != NULL) {
		size_t	 n = strlen(masked);

		masked[n] = '\n';	/* strlen + 1 bytes are ours */
		if (write(log_out(), masked, n + 1) < 0) {
			/* a closed stderr must not stop the flow */
		}
		masked[n] = '\0';
	}
	free(masked);
	free(line);
	len += nl;
	memmove(pending->data, pending->data + len, pending->len - len);
	buf_truncate(pending, pending->len - len);
}

static void *
read_raw(void *arg)
{
	struct raw_reader *rr = arg;
	struct buf	 pending;
	char		 chunk[4096], *nl;
	ssize_t		 n;

	buf_init(&pending, 1u << 20);
	do {
		if ((n = read(rr->fd, chunk, sizeof(chunk))) > 0)
			(void)buf_append(&pending, chunk, (size_t)n);
		while (pending.len > 0 && (nl = memchr(pending.data, '\n',
		    pending.len)) != NULL)
			raw_line(rr, &pending, (size_t)(nl - pending.data), 1);
		/* A line too long to hold, or the last one without newline. */
		if (pending.len >= 64 * 1024 || (n == 0 && pending.len > 0))
			raw_line(rr, &pending, pending.len, 0);
	} while (n > 0 || (n == -1 && errno == EINTR));
	buf_cleanup(&pending);
	close(rr->fd);
	free(rr);
	return NULL;
}

void
logship_wrap_stderr(struct logship *ls)
{
	struct raw_reader *rr;
	int		 p[2], saved;

	if (ls == NULL || ls->stderr_saved != -1 ||
	    pipe2(p, O_CLOEXEC) == -1)
		return;
	if ((saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) == -1) {
		close(p[0]);
		close(p[1]);
		return;
	}
	rr = xcalloc(1, sizeof(*rr));
	rr->ls = ls;
	rr->fd = p[0];
	log_set_out(saved);
	if (dup2(p[1], STDERR_FILENO) == -1 ||
	    pthread_create(&ls->raw_thread, NULL, read_raw, rr) != 0) {
		(void)dup2(saved, STDERR_FILENO);
		log_set_out(STDERR_FILENO);
		close(saved);
		close(p[0]);
		free(rr);
	} else
		ls->stderr_saved = saved;
	close(p[1]);
}

void
logship_unwrap_stderr(struct logship *ls)
{
	if (ls == NULL || ls->stderr_saved == -1)
		return;
	(void)dup2(ls->stderr_saved, STDERR_FILENO);
	log_set_out(STDERR_FILENO);
}

void
logship_secret(struct logship *ls, const char *value)
{
	if (ls != NULL)
		redact_add(ls->redact, value);
}

struct redact *
logship_redact(struct logship *ls)
{
	return ls != NULL ? ls->redact : NULL;
}

void
logship_secret_hook(const char *value, void *payload)
{
	logship_secret(payload, value);
}

char *
logship_vmask(struct logship *ls, const char *fmt, va_list ap)
{
	char	*text = xvasprintf(fmt, ap);
	char	*masked = logship_mask(ls, text);

	free(text);
	return masked;
}

char *
logship_mask(struct logship *ls, const char *text)
{
	if (text == NULL)
		return NULL;
	return ls != NULL ? redact_text(ls->redact, text) : xstrdup(text);
}

void
logship_gate(struct logship *ls, int (*gate)(void *), void *arg)
{
	if (ls == NULL || ls->http == NULL)
		return;
	pthread_mutex_lock(&ls->mu);
	ls->gated = 1;
	ls->gate = gate;
	ls->gate_arg = arg;
	pthread_mutex_unlock(&ls->mu);
}

void
logship_open(struct logship *ls)
{
	if (ls == NULL || ls->http == NULL)
		return;
	pthread_mutex_lock(&ls->mu);
	if (!ls->discarding) {
		ls->gated = 0;
		pthread_cond_signal(&ls->wake);
	}
	pthread_mutex_unlock(&ls->mu);
}

void
logship_discard(struct logship *ls)
{
	if (ls == NULL || ls->http == NULL)
		return;
	pthread_mutex_lock(&ls->mu);
	discard_locked(ls);
	pthread_mutex_unlock(&ls->mu);
}

void
logship_flush(struct logship *ls)
{
	if (ls->http == NULL)
		return;
	pthread_mutex_lock(&ls->mu);
	note_dropped(ls);	/* before the final state, in its place */
	unsigned long want = ls->pushed;
	ls->flush_wanted = 1;
	pthread_cond_signal(&ls->wake);
	while (ls->sent < want && !ls->discarding)
		pthread_cond_wait(&ls->drained, &ls->mu);
	pthread_mutex_unlock(&ls->mu);
}

void
logship_stop(struct logship *ls)
{
	struct timespec	 until;

	if (ls == NULL)
		return;
	if (ls->http != NULL) {
		pthread_mutex_lock(&ls->mu);
		note_dropped(ls);
		ls->stopping = 1;
		pthread_cond_signal(&ls->wake);
		pthread_mutex_unlock(&ls->mu);
		pthread_join(ls->thread, NULL);
	}
	/* stderr back: the pipe's last writer goes, its reader drains. */
	if (ls->stderr_saved != -1) {
		logship_unwrap_stderr(ls);
		close(ls->stderr_saved);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 2;
		/* A program the flow left running may hold the pipe: then the
		 * reader keeps the logship, and the process ends anyway. */
		if (pthread_timedjoin_np(ls->raw_thread, NULL, &until) != 0)
			return;
	}
	pthread_mutex_destroy(&ls->mu);
	pthread_cond_destroy(&ls->wake);
	pthread_cond_destroy(&ls->drained);
	cJSON_Delete(ls->queue);
	/* Everything was sent or reported: the worker has nothing to add. */
	logspool_close(ls->spool, 1);
	redact_free(ls->redact);
	free(ls->flow_run_id);
	free(ls->flow_run_name);
	free(ls);
}
