/*
 * events.h: the agent's subscription to Prefect's event stream, a
 * websocket to /events/out (libwebsockets) served by a thread of its
 * own. What the thread receives reaches the agent's loop through a pipe
 * the loop watches; callbacks run in the loop, never in the thread.
 *
 *   events thread                                  the loop
 *   connect ws(s)://API/events/out ("prefect")
 *   {"type":"auth","token":…} -> auth_success
 *   {"type":"filter", since … until +1 year} ---- EVENTS_UP ---->
 *   {"type":"event"}, new id -------------------- EVENTS_EVENT -->
 *   closed, refused, timed out ------------------ EVENTS_DOWN --->
 *     reconnect after capped backoff with jitter, re-subscribing
 *     from the last event seen minus a minute
 *
 * The thread never touches the agent's state, and the loop never
 * touches libwebsockets: see docs/architecture.md for why.
 */
#ifndef WORKER_EVENTS_H
#define WORKER_EVENTS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "worker/loop.h"
#include "common/http.h"

struct events;

enum events_kind {
	EVENTS_UP,		/* subscribed: events flow from now on */
	EVENTS_DOWN,		/* not subscribed (an attempt failed or closed) */
	EVENTS_EVENT		/* an event not seen before */
};

struct events_msg {
	enum events_kind	 kind;
	const cJSON		*event;	/* EVENTS_EVENT, borrowed for the call */
	const char		*text;	/* EVENTS_UP/DOWN: what happened */
	double			 retry_seconds;	/* EVENTS_DOWN: next attempt */
};

typedef void	(*events_fn)(const struct events_msg *, void *arg);

struct events_spec {
	const char *const	*names;		/* event names, NULL-terminated */
	const char		*any_resource;	/* e.g. prefect.work-pool.<id> */
};

/*
 * Starts the thread. TLS and the API URL come from http; the token of
 * the auth message is PREFECT_API_AUTH_STRING (raw), else
 * PREFECT_API_KEY. fn runs in l's loop. Fails only on a bad URL or when
 * no thread or pipe can be made.
 */
struct events	*events_start(struct loop *l, const struct http_settings *http,
		    const struct events_spec *, events_fn fn, void *arg,
		    char *err, size_t errlen);
/* Stops and joins the thread; pending messages are dropped. NULL is ok. */
void		 events_stop(struct events *);

/* --- pure helpers, shared with the unit tests --- */

/*
 * Splits the API URL into the websocket's pieces, as Prefect derives
 * it: http -> ws, https -> wss, path + "/events/out". Caller frees
 * *host and *path.
 */
int	 events_ws_target(const char *api_url, char **host, int *port,
	    char **path, int *tls, char *err, size_t errlen);
/* The subscription message (caller frees). since/until are ISO-8601. */
char	*events_filter_message(const struct events_spec *, const char *since,
	    const char *until);
/* "prefect.flow-run.<id>" of the event's resource -> <id>, else NULL. */
const char *events_flow_run_id(const cJSON *event);
/* prefect.resource.name of the related resource with that role. */
const char *events_related_name(const cJSON *event, const char *role);
/* ISO-8601 with Z or +hh:mm -> seconds since the epoch; -1 if not one. */
int	 events_time_parse(const char *, double *out);

#endif
