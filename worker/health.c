/*
 * health.c: /health, /live and /metrics on a small HTTP/1.1 server in
 * the loop. One request per connection (the answer says
 * "Connection: close"), at most MAX_CONNS at once, each closed after
 * CONN_TIMEOUT_MS: a slow or hostile client costs one descriptor for a
 * few seconds, never the loop's time.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker/worker.h"
#include "worker/health.h"
#include "worker/httpreq.h"
#include "worker/metrics.h"
#include "common/log.h"
#include "common/util.h"

#define MAX_CONNS	 32
#define CONN_TIMEOUT_MS	 10000
#define TICK_MS		 1000
#define LOOP_STALE_MS	 5000

struct conn {
	struct conn		*next;
	struct health		*h;
	int			 fd;
	char			 in[HTTPREQ_MAX];
	size_t			 inlen;
	char			*out;
	size_t			 outlen, outoff;
	struct loop_timer	*timer;
};

struct health {
	struct agent		*agent;
	int			 fd;
	struct conn		*conns;
	int			 nconns;
	struct loop_timer	*tick;
	struct loop_timer	*rest;	/* accept paused: out of descriptors */
};

/* The loop's single thread is the only one to touch these. */
static int64_t	last_tick, last_heartbeat, last_poll;

void
health_heartbeat_ok(void)
{
	last_heartbeat = now_ms();
}

void
health_poll_ok(void)
{
	last_poll = now_ms();
}

/* An interval's success is stale after two missed ones and 10 s more. */
static int64_t
stale_ms(double interval_seconds)
{
	return (int64_t)(interval_seconds * 2000) + 10000;
}

static void
check(struct buf *b, int *ready, const char *name, int64_t last,
    int64_t limit, int64_t now)
{
	if (last == 0) {
		buf_printf(b, "%s\"%s\":\"no success yet\"", *ready ? "" : ",",
		    name);
		*ready = 0;
	} else if (now - last > limit) {
		buf_printf(b, "%s\"%s\":\"last success %.1f s ago, stale after "
		    "%.1f s\"", *ready ? "" : ",", name,
		    (double)(now - last) / 1000, (double)limit / 1000);
		*ready = 0;
	}
}

int
health_ready(const struct agent *a, char **checks)
{
	struct buf	b;
	int64_t		now = now_ms();
	int		ready = 1;

	buf_init(&b, 4096);
	buf_append(&b, "{", 1);
	check(&b, &ready, "loop", last_tick, LOOP_STALE_MS, now);
	check(&b, &ready, "heartbeat", last_heartbeat,
	    stale_ms(a->conf.heartbeat_seconds), now);
	check(&b, &ready, "poll", last_poll, stale_ms(a->conf.query_seconds),
	    now);
	if (a->stopping) {
		buf_printf(&b, "%s\"stopping\":\"the worker is shutting "
		    "down\"", ready ? "" : ",");
		ready = 0;
	}
	buf_append(&b, "}", 1);
	if (checks != NULL)
		*checks = buf_steal(&b);
	buf_cleanup(&b);
	return ready;
}

static void
on_tick(void *arg)
{
	struct health	*h = arg;

	last_tick = now_ms();
	h->tick = loop_timer_add(h->agent->loop, TICK_MS, on_tick, h);
}

/* --- answers --- */

static void
respond(struct conn *c, int status, const char *type, const char *body,
    int head_only, const char *extra)
{
	const char	*reason;

	switch (status) {
	case 200: reason = "OK"; break;
	case 400: reason = "Bad Request"; break;
	case 404: reason = "Not Found"; break;
	case 405: reason = "Method Not Allowed"; break;
	case 414: reason = "URI Too Long"; break;
	case 431: reason = "Request Header Fields Too Large"; break;
	case 501: reason = "Not Implemented"; break;
	case 503: reason = "Service Unavailable"; break;
	case 505: reason = "HTTP Version Not Supported"; break;
	default: reason = "Error"; break;
	}
	free(c->out);
	c->out = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%s"
	    "Connection: close\r\n\r\n%s", status, reason, type, strlen(body),
	    extra ? extra : "", head_only ? "" : body);
	c->outlen = strlen(c->out);
	c->outoff = 0;
}

static void
route(struct conn *c, const struct httpreq *rq)
{
	struct agent	*a = c->h->agent;
	int		 head = strcmp(rq->method, "HEAD") == 0;
	const char	*json = "application/json";

	if (!head && strcmp(rq->method, "GET") != 0) {
		respond(c, 405, json, "{\"message\":\"Method Not Allowed\"}",
		    0, "Allow: GET, HEAD\r\n");
	} else if (strcmp(rq->path, "/health") == 0) {
		char	*checks, *body;
		int	 ready = health_ready(a, &checks);

		body = ready ? xstrdup("{\"message\":\"OK\"}") :
		    xasprintf("{\"message\":\"Worker may be "
		    "unresponsive at this time\",\"failed\":%s}", checks);
		respond(c, ready ? 200 : 503, json, body, head, NULL);
		free(body);
		free(checks);
	} else if (strcmp(rq->path, "/live") == 0) {
		int	live = now_ms() - last_tick <= LOOP_STALE_MS;

		respond(c, live ? 200 : 503, json, live ? "{\"message\":\"OK\"}"
		    : "{\"message\":\"the event loop is not turning\"}", head,
		    NULL);
	} else if (strcmp(rq->path, "/metrics") == 0) {
		struct metrics_gauges	g = { a->slots_used, a->events_up,
		    health_ready(a, NULL), PFAGENT_VERSION, a->conf.pool,
		    a->conf.name };
		struct buf		b;

		buf_init(&b, 1 << 20);
		if (metrics_render(&b, &g) == -1)
			log_warnx("health: /metrics larger than 1 MiB, cut");
		respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
		    b.data ? b.data : "", head, NULL);
		buf_cleanup(&b);
	} else
		respond(c, 404, json, "{\"detail\":\"Not Found\"}", head, NULL);
}

/* --- connections --- */

static void
conn_close(struct conn *c)
{
	struct health	*h = c->h;

	for (struct conn **pp = &h->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	h->nconns--;
	loop_fd_del(h->agent->loop, c->fd);
	if (c->timer != NULL)
		loop_timer_cancel(h->agent->loop, c->timer);
	close(c->fd);
	free(c->out);
	free(c);
}

static void
conn_timeout(void *arg)
{
	struct conn	*c = arg;

	c->timer = NULL;
	conn_close(c);
}

static void
conn_write(int fd, short revents, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	(void)fd; (void)revents;
	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;		/* POLLOUT brings us back */
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->outoff += (size_t)n;
	}
	/* All sent: the client sees the end of the answer, then EOF. */
	shutdown(c->fd, SHUT_WR);
	conn_close(c);
}

static void
conn_read(int fd, short revents, void *arg)
{
	struct conn	*c = arg;
	struct httpreq	 rq;
	ssize_t		 n;

	(void)fd;
	if (c->inlen == sizeof(c->in))
		n = 0;		/* unreachable: a full head is DONE or BAD */
	else
		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (revents & (POLLERR | POLLNVAL))) {
		conn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	switch (httpreq_parse(&rq, c->in, c->inlen)) {
	case HTTPREQ_MORE:
		return;
	case HTTPREQ_BAD:
		respond(c, rq.status, "application/json",
		    "{\"message\":\"bad request\"}", 0, NULL);
		break;
	case HTTPREQ_DONE:
		route(c, &rq);
		break;
	}
	loop_fd_del(c->h->agent->loop, c->fd);
	loop_fd_add(c->h->agent->loop, c->fd, POLLOUT, conn_write, c);
	conn_write(c->fd, POLLOUT, c);
}

static void	on_accept(int, short, void *);

static void
resume_accept(void *arg)
{
	struct health	*h = arg;

	h->rest = NULL;
	loop_fd_add(h->agent->loop, h->fd, POLLIN, on_accept, h);
}

static void
on_accept(int fd, short revents, void *arg)
{
	struct health	*h = arg;
	int		 cfd;

	(void)revents;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		struct conn	*c;

		if (h->nconns >= MAX_CONNS) {
			close(cfd);	/* full: the client retries */
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->h = h;
		c->fd = cfd;
		c->next = h->conns;
		h->conns = c;
		h->nconns++;
		c->timer = loop_timer_add(h->agent->loop, CONN_TIMEOUT_MS,
		    conn_timeout, c);
		loop_fd_add(h->agent->loop, cfd, POLLIN, conn_read, c);
	}
	if (errno == EMFILE || errno == ENFILE) {
		/* The socket stays readable: rest a second, do not spin. */
		log_warn("health: accept");
		loop_fd_del(h->agent->loop, fd);
		h->rest = loop_timer_add(h->agent->loop, 1000, resume_accept,
		    h);
	} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR && errno != ECONNABORTED)
		log_warn("health: accept");
}

static int
listen_on(const char *address, int port, char *err, size_t errlen)
{
	struct addrinfo	 hints = { 0 }, *res = NULL;
	char		 service[16];
	int		 fd = -1, on = 1, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%d", port);
	/* Numeric or local names only: this runs once, before the loop. */
	if ((rc = getaddrinfo(address, service, &hints, &res)) != 0)
		return errorf(err, errlen, "--health-address '%s': %s",
		    address, gai_strerror(rc));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) == -1 || bind(fd, res->ai_addr, res->ai_addrlen) ==
	    -1 || listen(fd, 64) == -1) {
		errorf(err, errlen, "cannot listen on %s port %d: %s",
		    address, port, strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

struct health *
health_start(struct agent *a, const char *address, int port, char *err,
    size_t errlen)
{
	struct health	*h;
	int		 fd;

	if ((fd = listen_on(address, port, err, errlen)) == -1)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->agent = a;
	h->fd = fd;
	loop_fd_add(a->loop, fd, POLLIN, on_accept, h);
	on_tick(h);
	log_info("health: serving /health, /live and /metrics on %s port %d",
	    address, port);
	return h;
}

void
health_stop(struct health *h)
{
	if (h == NULL)
		return;
	while (h->conns != NULL)
		conn_close(h->conns);
	loop_fd_del(h->agent->loop, h->fd);
	close(h->fd);
	if (h->tick != NULL)
		loop_timer_cancel(h->agent->loop, h->tick);
	if (h->rest != NULL)
		loop_timer_cancel(h->agent->loop, h->rest);
	free(h);
}
