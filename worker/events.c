/*
 * events.c: the /events/out subscription, as Prefect's own subscriber
 * (events/clients.py, PrefectEventSubscriber) does it: the "prefect"
 * subprotocol, the auth message, one filter message with occurred.until
 * far in the future, de-duplication by event id, and on reconnect a
 * backfill from the last event seen minus a minute.
 *
 * libwebsockets runs in this module's thread: Debian's build has no
 * external-poll support and resolves names with a blocking
 * getaddrinfo, so it cannot share the agent's curl_multi_poll loop.
 * The thread owns the lws context and connection; the loop owns the
 * rest. They share only the message queue (under mu) and a pipe: the
 * thread writes one byte when the queue turns non-empty, the loop
 * drains both.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/crypto.h>

#include "worker/events.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

#define RX_MAX		(4u << 20)	/* Prefect caps an event at 1.5 MB */
#define SEEN_MAX	1024		/* event ids remembered for de-dup */
#define BACKOFF_BASE_MS	1000
#define BACKOFF_CAP_MS	30000
#define STABLE_MS	60000		/* a connection this old resets backoff */
#define REPLAY_SECONDS	60		/* backfill overlap, as Prefect's */
#define UNTIL_SECONDS	(365.0 * 86400)

enum ws_state { WS_IDLE, WS_CONNECTING, WS_AUTH, WS_FILTER, WS_LIVE };

struct qmsg {
	struct qmsg		*next;
	enum events_kind	 kind;
	cJSON			*event;
	char			*text;
	double			 retry_seconds;
};

struct events {
	/* Set before the thread starts, read-only afterwards. */
	struct loop		*loop;
	events_fn		 fn;
	void			*arg;
	char			*host, *host_header, *path;
	int			 port, tls, insecure;
	char			*ca_file;
	char			*token;		/* secret; NULL: none */
	char			**names;
	char			*any_resource;
	int			 pipe[2];
	pthread_t		 thread;
	int			 thread_started;

	/* Shared, under mu. */
	pthread_mutex_t		 mu;
	struct qmsg		*head, **tail;
	int			 signalled;	/* a byte is in the pipe */
	struct lws_context	*ctx;		/* for lws_cancel_service */
	atomic_int		 stop;

	/* The thread's own. */
	struct lws		*wsi;
	enum ws_state		 state;
	int			 wrote;		/* this state's message is sent */
	struct buf		 rx;
	lws_sorted_usec_list_t	 sul;		/* the next connection attempt */
	lws_sorted_usec_list_t	 ka;		/* the next keepalive check */
	int64_t			 ping_ms;	/* between our PINGs */
	int			 unanswered;	/* PINGs sent since a frame came */
	int			 ping_due;	/* a PING waits for writeable */
	int			 attempt;
	int64_t			 live_since;
	double			 since;		/* epoch seconds; 0: now - 1 min */
	char			 close_text[160];
	char			 seen[SEEN_MAX][40];
	int			 seen_next;
};

/*
 * Keepalive is ours, not lws' validity checks: lws 4.1 writes its own
 * PING's payload into the buffer holding the PONG it owes the server, so
 * when both fall due together (each minute with Prefect's 20 s pings and
 * a 30 s validity ping) the server gets a PONG with the wrong payload and
 * closes the stream 20 s later (1011 keepalive ping timeout). So lws only
 * answers the server's pings (this policy, all zero, turns its checks
 * off) and the thread sends its own PINGs from the writeable callback,
 * after any PONG lws owes, and hangs up on a server that answered none
 * of the last HANGUP_PINGS (nor sent anything else since).
 */
static const lws_retry_bo_t idle_policy;
#define PING_SECONDS	30		/* PFAGENT_EVENTS_PING_SECONDS */
#define HANGUP_PINGS	2		/* unanswered in a row: hang up */

/* --- pure helpers --- */

int
events_ws_target(const char *api_url, char **host, int *port, char **path,
    int *tls, char *err, size_t errlen)
{
	const char	*p, *h, *slash, *colon;
	size_t		 hl;
	char		*end;
	long		 pn;

	if (strncmp(api_url, "https://", 8) == 0) {
		*tls = 1;
		p = api_url + 8;
	} else if (strncmp(api_url, "http://", 7) == 0) {
		*tls = 0;
		p = api_url + 7;
	} else
		return errorf(err, errlen, "API URL %s is not http(s)", api_url);
	h = p;
	slash = strchr(p, '/');
	hl = slash ? (size_t)(slash - p) : strlen(p);
	if (memchr(h, '@', hl) != NULL)
		return errorf(err, errlen, "API URL with credentials");
	/* [v6]:port or host:port */
	if (*h == '[') {
		const char *rb = memchr(h, ']', hl);

		if (rb == NULL)
			return errorf(err, errlen, "bad IPv6 address in API URL");
		colon = rb + 1 < h + hl && rb[1] == ':' ? rb + 1 : NULL;
		*host = xasprintf("%.*s", (int)(rb - h - 1), h + 1);
	} else {
		colon = memchr(h, ':', hl);
		*host = xasprintf("%.*s", (int)(colon ? (size_t)(colon - h) : hl),
		    h);
	}
	*port = *tls ? 443 : 80;
	if (colon != NULL) {
		errno = 0;
		pn = strtol(colon + 1, &end, 10);
		if (errno || end != h + hl || pn < 1 || pn > 65535) {
			free(*host);
			*host = NULL;
			return errorf(err, errlen, "bad port in API URL");
		}
		*port = (int)pn;
	}
	if (**host == '\0') {
		free(*host);
		*host = NULL;
		return errorf(err, errlen, "no host in API URL");
	}
	*path = xasprintf("%s/events/out", slash ? slash : "");
	return 0;
}

char *
events_filter_message(const struct events_spec *spec, const char *since,
    const char *until)
{
	cJSON	*root = cJSON_CreateObject(), *f, *o, *names, *ids;
	char	*s;

	cJSON_AddStringToObject(root, "type", "filter");
	f = cJSON_AddObjectToObject(root, "filter");
	o = cJSON_AddObjectToObject(f, "occurred");
	cJSON_AddStringToObject(o, "since", since);
	/* The server's default until is "now": nothing new would arrive. */
	cJSON_AddStringToObject(o, "until", until);
	names = cJSON_AddArrayToObject(cJSON_AddObjectToObject(f, "event"),
	    "name");
	for (const char *const *n = spec->names; n && *n; n++)
		cJSON_AddItemToArray(names, cJSON_CreateString(*n));
	if (spec->any_resource != NULL) {
		ids = cJSON_AddArrayToObject(cJSON_AddObjectToObject(f,
		    "any_resource"), "id");
		cJSON_AddItemToArray(ids, cJSON_CreateString(
		    spec->any_resource));
	}
	s = json_print(root);
	cJSON_Delete(root);
	return s;
}

const char *
events_flow_run_id(const cJSON *event)
{
	const char	*id = json_str(json_obj(event, "resource"),
	    "prefect.resource.id");
	static const char prefix[] = "prefect.flow-run.";

	if (id == NULL || strncmp(id, prefix, sizeof(prefix) - 1) != 0 ||
	    id[sizeof(prefix) - 1] == '\0')
		return NULL;
	return id + sizeof(prefix) - 1;
}

const char *
events_related_name(const cJSON *event, const char *role)
{
	const cJSON	*rel = cJSON_GetObjectItemCaseSensitive(event,
	    "related"), *r;
	const char	*rr;

	cJSON_ArrayForEach(r, rel) {
		rr = json_str(r, "prefect.resource.role");
		if (rr != NULL && strcmp(rr, role) == 0)
			return json_str(r, "prefect.resource.name");
	}
	return NULL;
}

static int
digits(const char **p, int n, int *out)
{
	int	v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return 0;
}

int
events_time_parse(const char *s, double *out)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, oh, om, sign;
	double		 frac = 0, scale = 0.1;
	const char	*p = s;
	time_t		 t;

	if (s == NULL || digits(&p, 4, &y) || *p++ != '-' ||
	    digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d) ||
	    (*p != 'T' && *p != ' ') || !*p++ || digits(&p, 2, &h) ||
	    *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &sec))
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || (t = timegm(&tm)) == (time_t)-1)
		return -1;
	if (*p == 'Z' && p[1] == '\0') {
		*out = (double)t + frac;
		return 0;
	}
	sign = *p == '-' ? -1 : 1;
	if ((*p != '+' && *p != '-') || (p++, digits(&p, 2, &oh)) ||
	    *p++ != ':' || digits(&p, 2, &om) || *p != '\0')
		return -1;
	*out = (double)t + frac - sign * (oh * 3600.0 + om * 60.0);
	return 0;
}

/* --- the queue between the thread and the loop --- */

static void
push(struct events *e, enum events_kind kind, cJSON *event, const char *text,
    double retry_seconds)
{
	struct qmsg	*m = xcalloc(1, sizeof(*m));

	m->kind = kind;
	m->event = event;		/* now owned by the queue */
	m->text = text ? xstrdup(text) : NULL;
	m->retry_seconds = retry_seconds;
	pthread_mutex_lock(&e->mu);
	*e->tail = m;
	e->tail = &m->next;
	if (!e->signalled) {
		e->signalled = 1;
		if (write(e->pipe[1], "e", 1) < 0) {
			/* non-blocking: a full pipe already wakes the loop */
		}
	}
	pthread_mutex_unlock(&e->mu);
}

static void
qmsg_free(struct qmsg *m)
{
	cJSON_Delete(m->event);
	free(m->text);
	free(m);
}

static void
on_pipe(int fd, short revents, void *arg)
{
	struct events	*e = arg;
	struct qmsg	*list, *next;
	char		 drain[64];

	(void)revents;
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&e->mu);
	list = e->head;
	e->head = NULL;
	e->tail = &e->head;
	e->signalled = 0;
	pthread_mutex_unlock(&e->mu);
	for (; list != NULL; list = next) {
		struct events_msg msg = { list->kind, list->event, list->text,
		    list->retry_seconds };

		next = list->next;
		e->fn(&msg, e->arg);
		qmsg_free(list);
	}
}

/* --- the thread: one connection at a time --- */

static void	connect_now(lws_sorted_usec_list_t *);

static void
went_down(struct events *e, const char *why)
{
	int64_t	 wait;
	double	 f = 0.5 + 0.5 * random_unit();

	if (e->state == WS_IDLE)
		return;		/* already counted (error, then close) */
	if (e->state == WS_LIVE && now_ms() - e->live_since >= STABLE_MS)
		e->attempt = 0;
	e->state = WS_IDLE;
	e->wsi = NULL;
	buf_cleanup(&e->rx);
	buf_init(&e->rx, RX_MAX);
	wait = BACKOFF_BASE_MS << (e->attempt < 5 ? e->attempt : 5);
	if (wait > BACKOFF_CAP_MS)
		wait = BACKOFF_CAP_MS;
	wait = (int64_t)((double)wait * f);	/* jitter: 50-100 % */
	e->attempt++;
	push(e, EVENTS_DOWN, NULL, why, (double)wait / 1000);
	/* Not while the context is being destroyed (stop set first). */
	if (!atomic_load(&e->stop) && e->ctx != NULL)
		lws_sul_schedule(e->ctx, 0, &e->sul,
		    connect_now, wait * LWS_US_PER_MS);
}

/* Every ping_ms while connected: a PING, or the hang-up of a server
 * that left the last HANGUP_PINGS unanswered. */
static void
keepalive(lws_sorted_usec_list_t *sul)
{
	struct events	*e = lws_container_of(sul, struct events, ka);

	if (e->wsi == NULL || e->state == WS_IDLE || e->state == WS_CONNECTING)
		return;
	if (e->unanswered >= HANGUP_PINGS) {
		snprintf(e->close_text, sizeof(e->close_text), "no answer to "
		    "%d pings in %.0f s", e->unanswered,
		    (double)e->ping_ms * e->unanswered / 1000);
		lws_set_timeout(e->wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
		return;
	}
	e->ping_due = 1;
	lws_callback_on_writable(e->wsi);
	lws_sul_schedule(e->ctx, 0, &e->ka, keepalive,
	    e->ping_ms * LWS_US_PER_MS);
}

static int
send_ping(struct events *e, struct lws *wsi)
{
	unsigned char	b[LWS_PRE + 1];

	e->ping_due = 0;
	e->unanswered++;
	if (lws_write(wsi, b + LWS_PRE, 0, LWS_WRITE_PING) < 0) {
		snprintf(e->close_text, sizeof(e->close_text),
		    "cannot send to the event stream");
		return -1;
	}
	return 0;
}

static void
send_text(struct events *e, struct lws *wsi, char *text)
{
	size_t		 n = strlen(text);
	unsigned char	*b = xmalloc(LWS_PRE + n);

	memcpy(b + LWS_PRE, text, n);
	if (lws_write(wsi, b + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
		snprintf(e->close_text, sizeof(e->close_text),
		    "cannot send to the event stream");
	OPENSSL_cleanse(b, LWS_PRE + n);
	free(b);
}

static void
send_next(struct events *e, struct lws *wsi)
{
	char	*msg, since[32], until[32];
	double	 now = (double)time(NULL);
	cJSON	*auth;
	struct events_spec spec = { (const char *const *)e->names,
	    e->any_resource };

	if (e->wrote)
		return;
	e->wrote = 1;
	if (e->state == WS_AUTH) {
		auth = cJSON_CreateObject();
		cJSON_AddStringToObject(auth, "type", "auth");
		if (e->token != NULL)
			cJSON_AddStringToObject(auth, "token", e->token);
		else
			cJSON_AddNullToObject(auth, "token");
		msg = json_print(auth);
		cJSON_Delete(auth);
		send_text(e, wsi, msg);
		OPENSSL_cleanse(msg, strlen(msg));
		free(msg);
		return;
	}
	if (e->state != WS_FILTER)
		return;
	if (e->since == 0)
		e->since = now - REPLAY_SECONDS;
	iso8601_now(since, e->since - now);
	iso8601_now(until, UNTIL_SECONDS);
	msg = events_filter_message(&spec, since, until);
	send_text(e, wsi, msg);
	free(msg);
	e->state = WS_LIVE;
	e->live_since = now_ms();
	msg = xasprintf("subscribed to %s%s:%d%s (backfill since %s)",
	    e->tls ? "wss://" : "ws://", e->host, e->port, e->path, since);
	push(e, EVENTS_UP, NULL, msg, 0);
	free(msg);
}

static int
seen_before(struct events *e, const char *id)
{
	for (int i = 0; i < SEEN_MAX; i++)
		if (strcmp(e->seen[i], id) == 0)
			return 1;
	strlcpy_(e->seen[e->seen_next], id, sizeof(e->seen[0]));
	e->seen_next = (e->seen_next + 1) % SEEN_MAX;
	return 0;
}

static void
on_message(struct events *e, struct lws *wsi)
{
	cJSON		*m, *ev;
	const char	*type, *id;
	double		 t;
	char		 err[128];

	if ((m = json_parse_answer(e->rx.data ? e->rx.data : "", 0, err,
	    sizeof(err))) == NULL) {
		log_debug("events: unreadable message: %s", err);
		return;
	}
	type = json_str(m, "type");
	if (e->state == WS_AUTH && type && strcmp(type, "auth_success") == 0) {
		e->state = WS_FILTER;
		e->wrote = 0;
		lws_callback_on_writable(wsi);
	} else if (e->state == WS_LIVE && type && strcmp(type, "event") == 0 &&
	    (id = json_str(json_obj(m, "event"), "id")) != NULL &&
	    !seen_before(e, id)) {
		ev = cJSON_DetachItemFromObjectCaseSensitive(m, "event");
		/* Re-subscribe from here on (minus the overlap). */
		if (events_time_parse(json_str(ev, "occurred"), &t) == 0 &&
		    t - REPLAY_SECONDS > e->since)
			e->since = t - REPLAY_SECONDS;
		push(e, EVENTS_EVENT, ev, NULL, 0);	/* now the queue's */
	}
	cJSON_Delete(m);
}

static void
on_peer_close(struct events *e, const unsigned char *in, size_t len)
{
	unsigned	code;

	if (len < 2)
		return;
	code = (unsigned)in[0] << 8 | in[1];
	snprintf(e->close_text, sizeof(e->close_text), "closed by the server "
	    "(%u%s%.*s)%s", code, len > 2 ? " " : "", (int)(len - 2 > 100 ?
	    100 : len - 2), (const char *)in + 2, code == 1008 ? ": check "
	    "PREFECT_API_AUTH_STRING or PREFECT_API_KEY" : "");
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct events	*e = lws_context_user(lws_get_context(wsi));
	char		 why[256];

	(void)user;
	if (e == NULL)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		errorf(why, sizeof(why), "cannot connect: %s",
		    in ? (const char *)in : "connection error");
		went_down(e, why);
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		e->state = WS_AUTH;
		e->wrote = 0;
		e->close_text[0] = '\0';
		e->unanswered = e->ping_due = 0;
		lws_sul_schedule(e->ctx, 0, &e->ka, keepalive,
		    e->ping_ms * LWS_US_PER_MS);
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		/* One write per callback: the PING first, then the rest. */
		if (e->ping_due) {
			if (send_ping(e, wsi) == -1)
				return -1;
			if (!e->wrote)
				lws_callback_on_writable(wsi);
			break;
		}
		send_next(e, wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		log_debug("events: pong");
		e->unanswered = 0;
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		e->unanswered = 0;
		if (buf_append(&e->rx, in, len) == -1) {
			snprintf(e->close_text, sizeof(e->close_text),
			    "message over %u bytes", RX_MAX);
			return -1;
		}
		if (lws_is_final_fragment(wsi) &&
		    lws_remaining_packet_payload(wsi) == 0) {
			on_message(e, wsi);
			buf_cleanup(&e->rx);
			buf_init(&e->rx, RX_MAX);
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		on_peer_close(e, in, len);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		went_down(e, e->close_text[0] ? e->close_text :
		    "connection closed");
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ "prefect", ws_callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
connect_now(lws_sorted_usec_list_t *sul)
{
	struct events			*e = lws_container_of(sul,
	    struct events, sul);
	struct lws_client_connect_info	 ci;

	if (atomic_load(&e->stop))
		return;
	memset(&ci, 0, sizeof(ci));
	ci.context = e->ctx;
	ci.address = e->host;
	ci.port = e->port;
	ci.path = e->path;
	ci.host = e->host_header;
	ci.origin = e->host_header;
	ci.protocol = "prefect";
	ci.local_protocol_name = "prefect";
	ci.retry_and_idle_policy = &idle_policy;
	ci.pwsi = &e->wsi;
	if (e->tls) {
		ci.ssl_connection = LCCSCF_USE_SSL;
		if (e->insecure)
			ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
			    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
			    LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
	}
	e->state = WS_CONNECTING;
	e->close_text[0] = '\0';
	/* NULL: the error callback may or may not have run; went_down
	 * counts one failure either way. */
	if (lws_client_connect_via_info(&ci) == NULL)
		went_down(e, "cannot connect: connection setup failed");
}

static void
events_log_lws(int level, const char *line)
{
	size_t	n = strlen(line);

	(void)level;
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_debug("events: [lws] %.*s", (int)n, line);
}

static void *
events_thread(void *arg)
{
	struct events			*e = arg;
	struct lws_context_creation_info info;
	struct lws_context		*ctx;

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	info.user = e;
	/*
	 * A TLS context (OpenSSL initialised, the CA store loaded: ~4 MiB
	 * resident) only for wss://; a plain ws:// stream needs none.
	 */
	info.options = e->tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
	/* As curl with CAINFO: the bundle replaces the system's. */
	if (e->tls && e->ca_file != NULL) {
		info.client_ssl_ca_filepath = e->ca_file;
		info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	}
	info.connect_timeout_secs = 20;
	info.timeout_secs = 20;
	info.retry_and_idle_policy = &idle_policy;
	if ((ctx = lws_create_context(&info)) == NULL) {
		push(e, EVENTS_DOWN, NULL, "cannot create a websocket context",
		    -1);
		return NULL;
	}
	pthread_mutex_lock(&e->mu);
	e->ctx = ctx;
	pthread_mutex_unlock(&e->mu);
	connect_now(&e->sul);
	while (!atomic_load(&e->stop))
		if (lws_service(ctx, 0) < 0)
			break;
	pthread_mutex_lock(&e->mu);
	e->ctx = NULL;
	pthread_mutex_unlock(&e->mu);
	lws_context_destroy(ctx);
	return NULL;
}

/* --- the loop's side --- */

static void
events_free(struct events *e)
{
	struct qmsg	*m, *next;

	for (m = e->head; m != NULL; m = next) {
		next = m->next;
		qmsg_free(m);
	}
	if (e->pipe[0] != -1) {
		loop_fd_del(e->loop, e->pipe[0]);
		close(e->pipe[0]);
		close(e->pipe[1]);
	}
	if (e->token != NULL) {
		OPENSSL_cleanse(e->token, strlen(e->token));
		free(e->token);
	}
	for (char **n = e->names; n && *n; n++)
		free(*n);
	free(e->names);
	free(e->any_resource);
	free(e->host);
	free(e->host_header);
	free(e->path);
	free(e->ca_file);
	buf_cleanup(&e->rx);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

static int64_t
ping_ms(void)
{
	const char	*v = getenv("PFAGENT_EVENTS_PING_SECONDS");
	char		*end;
	double		 d;

	if (v != NULL && *v && (d = strtod(v, &end)) >= 0.1 && d <= 3600 &&
	    *end == '\0')
		return (int64_t)(d * 1000);
	return PING_SECONDS * 1000;
}

struct events *
events_start(struct loop *l, const struct http_settings *http,
    const struct events_spec *spec, events_fn fn, void *arg, char *err,
    size_t errlen)
{
	struct events	*e = xcalloc(1, sizeof(*e));
	const char	*auth = getenv("PREFECT_API_AUTH_STRING");
	const char	*key = getenv("PREFECT_API_KEY");
	size_t		 n = 0;

	e->loop = l;
	e->fn = fn;
	e->arg = arg;
	e->ping_ms = ping_ms();
	e->pipe[0] = e->pipe[1] = -1;
	pthread_mutex_init(&e->mu, NULL);
	e->tail = &e->head;
	buf_init(&e->rx, RX_MAX);
	if (events_ws_target(http->api_url, &e->host, &e->port, &e->path,
	    &e->tls, err, errlen) == -1)
		goto fail;
	e->host_header = strchr(e->host, ':') != NULL ?
	    xasprintf("[%s]:%d", e->host, e->port) :
	    xasprintf("%s:%d", e->host, e->port);
	e->insecure = http->insecure;
	e->ca_file = http->ca_file ? xstrdup(http->ca_file) : NULL;
	/* Prefect's subscriber: the raw auth string, else the key. */
	if (auth != NULL && *auth != '\0')
		e->token = xstrdup(auth);
	else if (key != NULL && *key != '\0')
		e->token = xstrdup(key);
	for (const char *const *p = spec->names; p && *p; p++)
		n++;
	e->names = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		e->names[i] = xstrdup(spec->names[i]);
	e->any_resource = spec->any_resource ? xstrdup(spec->any_resource) :
	    NULL;
	if (pipe2(e->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		e->pipe[0] = e->pipe[1] = -1;
		errorf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	loop_fd_add(l, e->pipe[0], POLLIN, on_pipe, e);
	lws_set_log_level(log_threshold <= LOG_LVL_DEBUG ? LLL_ERR | LLL_WARN :
	    0, events_log_lws);
	if (pthread_create(&e->thread, NULL, events_thread, e) != 0) {
		errorf(err, errlen, "cannot start the events thread");
		goto fail;
	}
	e->thread_started = 1;
	return e;
fail:
	events_free(e);
	return NULL;
}

void
events_stop(struct events *e)
{
	if (e == NULL)
		return;
	atomic_store(&e->stop, 1);
	pthread_mutex_lock(&e->mu);
	if (e->ctx != NULL)
		lws_cancel_service(e->ctx);
	pthread_mutex_unlock(&e->mu);
	if (e->thread_started)
		pthread_join(e->thread, NULL);
	events_free(e);
}
