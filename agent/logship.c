/*
 * logship.c: the flow run's log queue and its shipping thread.
 *
 * Lines keep their order: the thread takes the whole queue as one batch,
 * sends it (retrying through an API outage), then takes the next. A line
 * longer than Prefect's MAX_LOG_SIZE is truncated as Prefect does.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "agent/api.h"
#include "agent/logship.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "sdk/pyfmt.h"
#include "sdk/redact.h"

#define BATCH_INTERVAL_MS	2000
#define MAX_LOG_SIZE		1000000
#define QUEUE_MAX_BYTES		(32u << 20)

struct logship {
	const struct http_settings	*http;
	char				*flow_run_id;
	char				*flow_run_name;
	pthread_t			 thread;
	pthread_mutex_t			 mu;
	pthread_cond_t			 wake;
	pthread_cond_t			 drained;
	cJSON				*queue;		/* array of LogCreate */
	size_t				 queued_bytes;
	unsigned long			 pushed, sent;	/* sequence numbers */
	unsigned long			 dropped;
	int				 flush_wanted;
	int				 stopping;
	int				 threshold;	/* lowest level kept */
	struct redact			*redact;	/* secrets to mask */
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
 * (PrefectFormatter), the run's name as Python's %r shows it.
 */
/*
 * Prefect's console format: flow_run_fmt or task_run_fmt by logger name
 * (PrefectFormatter), the run's name as Python's %r shows it. One
 * write, so lines of concurrent threads do not interleave.
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
	sdk_pyrepr(name, sizeof(name), task ? task_run_name :
	    ls->flow_run_name);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	line = xasprintf("%02d:%02d:%02d.%03ld | %-7s | %s run %s - %s\n",
	    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	    level_name(level), task ? "Task" : "Flow", name, msg);
	if (write(STDERR_FILENO, line, strlen(line)) < 0) {
		/* a closed stderr must not stop the flow */
	}
	free(line);
}

static void
send_batch(struct logship *ls, cJSON *batch)
{
	struct http_resp	r;
	enum retry_class	rc;
	char			*body = json_print(batch);

	rc = http_call(ls->http, &retry_patient, "POST", "/logs/", body, &r);
	if (rc != RETRY_OK) {
		pthread_mutex_lock(&ls->mu);
		ls->dropped += (unsigned long)cJSON_GetArraySize(batch);
		pthread_mutex_unlock(&ls->mu);
		log_warnx("flow run %s: %d log line(s) not delivered: %s",
		    ls->flow_run_id, cJSON_GetArraySize(batch),
		    r.status ? "HTTP error" : r.error);
	}
	http_resp_cleanup(&r);
	free(body);
}

static void *
ship(void *arg)
{
	struct logship	*ls = arg;

	pthread_mutex_lock(&ls->mu);
	for (;;) {
		cJSON		*batch;
		unsigned long	 upto;

		while (cJSON_GetArraySize(ls->queue) == 0 && !ls->stopping) {
			pthread_cond_broadcast(&ls->drained);
			pthread_cond_wait(&ls->wake, &ls->mu);
		}
		if (cJSON_GetArraySize(ls->queue) == 0 && ls->stopping)
			break;
		if (!ls->flush_wanted && !ls->stopping) {
			struct timespec	deadline;

			clock_gettime(CLOCK_REALTIME, &deadline);
			deadline.tv_sec += BATCH_INTERVAL_MS / 1000;
			pthread_cond_timedwait(&ls->wake, &ls->mu, &deadline);
		}
		batch = ls->queue;
		ls->queue = cJSON_CreateArray();
		ls->queued_bytes = 0;
		upto = ls->pushed;
		ls->flush_wanted = 0;
		pthread_mutex_unlock(&ls->mu);
		send_batch(ls, batch);
		cJSON_Delete(batch);
		pthread_mutex_lock(&ls->mu);
		ls->sent = upto;
		pthread_cond_broadcast(&ls->drained);
	}
	pthread_cond_broadcast(&ls->drained);
	pthread_mutex_unlock(&ls->mu);
	return NULL;
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
	ls->redact = redact_new();
	pthread_mutex_init(&ls->mu, NULL);
	pthread_cond_init(&ls->wake, NULL);
	pthread_cond_init(&ls->drained, NULL);
	if (http != NULL && pthread_create(&ls->thread, NULL, ship, ls) != 0)
		fatalx("cannot start the log shipping thread");
	return ls;
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
	if (ls->queued_bytes + len > QUEUE_MAX_BYTES) {
		ls->dropped++;
		cJSON_Delete(entry);
	} else {
		cJSON_AddItemToArray(ls->queue, entry);
		ls->queued_bytes += len + 200;
		ls->pushed++;
		pthread_cond_signal(&ls->wake);
	}
	pthread_mutex_unlock(&ls->mu);
	free(masked);
}

void
logship_secret(struct logship *ls, const char *value)
{
	if (ls != NULL)
		redact_add(ls->redact, value);
}

void
logship_secret_hook(const char *value, void *payload)
{
	logship_secret(payload, value);
}

char *
logship_mask(struct logship *ls, const char *text)
{
	if (text == NULL)
		return NULL;
	return ls != NULL ? redact_text(ls->redact, text) : xstrdup(text);
}

void
logship_flush(struct logship *ls)
{
	if (ls->http == NULL)
		return;
	pthread_mutex_lock(&ls->mu);
	unsigned long want = ls->pushed;
	ls->flush_wanted = 1;
	pthread_cond_signal(&ls->wake);
	while (ls->sent < want)
		pthread_cond_wait(&ls->drained, &ls->mu);
	pthread_mutex_unlock(&ls->mu);
}

void
logship_stop(struct logship *ls)
{
	if (ls == NULL)
		return;
	if (ls->http != NULL) {
		pthread_mutex_lock(&ls->mu);
		ls->stopping = 1;
		pthread_cond_signal(&ls->wake);
		pthread_mutex_unlock(&ls->mu);
		pthread_join(ls->thread, NULL);
	}
	pthread_mutex_destroy(&ls->mu);
	pthread_cond_destroy(&ls->wake);
	pthread_cond_destroy(&ls->drained);
	cJSON_Delete(ls->queue);
	redact_free(ls->redact);
	free(ls->flow_run_id);
	free(ls->flow_run_name);
	free(ls);
}
