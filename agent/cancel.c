/*
 * cancel.c: finding the runs to cancel, and the cancel-intent marker.
 *
 * The event stream brings prefect.flow-run.Cancelling at once. Polling
 * is the fallback Prefect's FlowRunCancellingObserver uses when its
 * websocket fails: POST /flow_runs/filter for CANCELLING among the ids
 * in flight, here every --cancellation-poll-seconds
 * (PREFECT_WORKER_CANCELLATION_POLL_SECONDS) while the stream is down
 * (or off) and, as a safety net for a lost event, every
 * CANCEL_POLL_UP_MS while it is up. Both end in run_cancel(), which is
 * idempotent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/cancel.h"
#include "agent/request.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define CANCEL_POLL_UP_MS	60000

char *
cancel_intent_path(const char *state_dir, const char *flow_run_id)
{
	return xasprintf("%s/cancel/%s", state_dir, flow_run_id);
}

static int
intent_write(const char *state_dir, const char *flow_run_id,
    const char *text, char *err, size_t errlen)
{
	char	*dir = xasprintf("%s/cancel", state_dir);
	char	*path = cancel_intent_path(state_dir, flow_run_id);
	int	 fd, rc = -1;
	size_t	 n = strlen(text);

	if (mkdir_p(dir, 0700) == -1) {
		errorf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		goto out;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > 0 && write(fd, text, n) != (ssize_t)n) {
		errorf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	free(path);
	free(dir);
	return rc;
}

int
cancel_intent_write(const char *state_dir, const char *flow_run_id,
    char *err, size_t errlen)
{
	return intent_write(state_dir, flow_run_id, "", err, errlen);
}

int
shutdown_intent_write(const char *state_dir, const char *flow_run_id,
    const char *message, char *err, size_t errlen)
{
	return intent_write(state_dir, flow_run_id, message, err, errlen);
}

int
shutdown_intent_read(const char *state_dir, const char *flow_run_id,
    char *message, size_t len)
{
	char	*path;
	int	 fd;
	ssize_t	 n = 0;

	if (len == 0 || state_dir == NULL || flow_run_id == NULL ||
	    *state_dir == '\0' || strchr(flow_run_id, '/') != NULL)
		return 0;
	path = cancel_intent_path(state_dir, flow_run_id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, message, len - 1);
		close(fd);
	}
	free(path);
	message[n > 0 ? n : 0] = '\0';
	return n > 0;
}

void
cancel_intent_remove(const char *state_dir, const char *flow_run_id)
{
	char	*path = cancel_intent_path(state_dir, flow_run_id);

	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("%s", path);
	free(path);
}

int
cancel_intent_present(const char *state_dir, const char *flow_run_id)
{
	char	*path;
	int	 yes;

	if (state_dir == NULL || flow_run_id == NULL || *state_dir == '\0' ||
	    strchr(flow_run_id, '/') != NULL)
		return 0;
	path = cancel_intent_path(state_dir, flow_run_id);
	yes = access(path, F_OK) == 0;
	free(path);
	return yes;
}

/* --- polling --- */

static void	cancel_poll(void *);

void
cancel_poll_schedule(struct agent *a)
{
	int64_t	every = a->events_up ? CANCEL_POLL_UP_MS :
	    (int64_t)(a->conf.cancel_poll_seconds * 1000);

	if (a->cancel_timer != NULL)
		loop_timer_cancel(a->loop, a->cancel_timer);
	a->cancel_timer = NULL;
	if (a->stop_now)
		return;
	/* ±10 %: workers started together do not poll together. */
	a->cancel_timer = loop_timer_add(a->loop,
	    (int64_t)(every * (0.9 + 0.2 * random_unit())), cancel_poll, a);
}

void
cancel_poll_stop(struct agent *a)
{
	if (a->cancel_timer != NULL)
		loop_timer_cancel(a->loop, a->cancel_timer);
	a->cancel_timer = NULL;
}

static void
on_cancelling(struct http_resp *r, enum retry_class rc, void *arg)
{
	struct agent	*a = arg;
	cJSON		*list, *item;
	char		 err[200];

	a->cancel_busy = 0;
	if (rc == RETRY_AUTH) {
		worker_fatal_auth(a, "polling for cancelled flow runs");
		return;
	}
	if (rc != RETRY_OK || (list = json_parse_answer(r->body, 1, err,
	    sizeof(err))) == NULL) {
		log_debug("polling for cancelled flow runs: %s", rc ==
		    RETRY_OK ? err : r->status ? "server error" : r->error);
		worker_maybe_done(a);
		return;
	}
	cJSON_ArrayForEach(item, list) {
		const char *id = json_str(item, "id");

		if (id != NULL) {
			log_info("flow run %s: found Cancelling by polling",
			    id);
			run_cancel(a, id);
		}
	}
	cJSON_Delete(list);
	worker_maybe_done(a);
}

static void
cancel_poll(void *arg)
{
	struct agent	*a = arg;
	cJSON		*ids, *body;
	char		*s;
	int		 n;

	a->cancel_timer = NULL;
	cancel_poll_schedule(a);
	if (a->cancel_busy || a->stop_now)
		return;
	ids = run_in_flight_ids(a);
	if ((n = cJSON_GetArraySize(ids)) == 0) {
		cJSON_Delete(ids);
		return;
	}
	body = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(cJSON_AddObjectToObject(
	    body, "flow_runs"), "id"), "any_", ids);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(
	    cJSON_AddObjectToObject(cJSON_GetObjectItem(body, "flow_runs"),
	    "state"), "type"), "any_"), cJSON_CreateString("CANCELLING"));
	cJSON_AddNumberToObject(body, "limit", n < 200 ? n : 200);
	s = json_print(body);
	cJSON_Delete(body);
	a->cancel_busy = 1;
	request_send(a->loop, &a->http, &retry_quick, "POST",
	    "/flow_runs/filter", s, on_cancelling, a);
	free(s);
}

void
cancel_on_event(struct agent *a, const char *flow_run_id)
{
	if (run_is_known(a, flow_run_id))
		run_cancel(a, flow_run_id);
}
