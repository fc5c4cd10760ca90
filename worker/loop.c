/*
 * loop.c: timers, descriptors and curl-multi transfers in one thread.
 *
 * Callbacks may add or remove timers, descriptors and transfers; the
 * loop copies what it is about to dispatch and re-checks registration,
 * so a watcher removed by an earlier callback is never called.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "worker/loop.h"
#include "common/log.h"
#include "common/util.h"

struct loop_timer {
	struct loop_timer	*next;
	int64_t			 due;
	loop_timer_fn		 fn;
	void			*arg;
};

struct watcher {
	int		 fd;
	short		 events;
	loop_fd_fn	 fn;
	void		*arg;
};

struct xfer_done {
	loop_xfer_fn	 fn;
	void		*arg;
};

struct loop {
	CURLM			*multi;
	struct loop_timer	*timers;	/* sorted by due */
	struct watcher		*watchers;
	int			 nwatchers, capwatchers;
	int			 stop;
};

struct loop *
loop_new(void)
{
	struct loop	*l = xcalloc(1, sizeof(*l));

	if ((l->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	/* Reuse connections to the API; Prefect's client keeps 16. */
	curl_multi_setopt(l->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
	return l;
}

void
loop_free(struct loop *l)
{
	struct loop_timer	*t, *next;

	if (l == NULL)
		return;
	for (t = l->timers; t != NULL; t = next) {
		next = t->next;
		free(t);
	}
	free(l->watchers);
	curl_multi_cleanup(l->multi);
	free(l);
}

struct loop_timer *
loop_timer_add(struct loop *l, int64_t delay_ms, loop_timer_fn fn, void *arg)
{
	struct loop_timer	*t = xcalloc(1, sizeof(*t)), **pp;

	t->due = now_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->fn = fn;
	t->arg = arg;
	for (pp = &l->timers; *pp != NULL && (*pp)->due <= t->due;
	    pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t;
}

void
loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	for (struct loop_timer **pp = &l->timers; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
}

void
loop_fd_add(struct loop *l, int fd, short events, loop_fd_fn fn, void *arg)
{
	if (l->nwatchers == l->capwatchers) {
		l->capwatchers = l->capwatchers ? l->capwatchers * 2 : 16;
		l->watchers = xrealloc(l->watchers,
		    (size_t)l->capwatchers * sizeof(*l->watchers));
	}
	l->watchers[l->nwatchers++] = (struct watcher){ fd, events, fn, arg };
}

void
loop_fd_del(struct loop *l, int fd)
{
	for (int i = 0; i < l->nwatchers; i++)
		if (l->watchers[i].fd == fd) {
			l->watchers[i] = l->watchers[--l->nwatchers];
			return;
		}
}

void
loop_xfer_add(struct loop *l, CURL *easy, loop_xfer_fn fn, void *arg)
{
	struct xfer_done	*d = xmalloc(sizeof(*d));

	d->fn = fn;
	d->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, d);
	if (curl_multi_add_handle(l->multi, easy) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
	curl_multi_wakeup(l->multi);
}

static void
finish_xfers(struct loop *l)
{
	CURLMsg	*m;
	int	 left, running;

	curl_multi_perform(l->multi, &running);
	while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
		struct xfer_done	*d = NULL;
		CURL			*easy = m->easy_handle;
		CURLcode		 cc = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&d);
		curl_multi_remove_handle(l->multi, easy);
		if (d != NULL) {
			d->fn(cc, d->arg);	/* may free easy */
			free(d);
		}
	}
}

static void
dispatch_fds(struct loop *l, struct curl_waitfd *w, int n)
{
	for (int i = 0; i < n; i++) {
		if (w[i].revents == 0)
			continue;
		/* Re-find it: an earlier callback may have removed it. */
		for (int j = 0; j < l->nwatchers; j++)
			if (l->watchers[j].fd == (int)w[i].fd) {
				struct watcher c = l->watchers[j];

				c.fn(c.fd, (short)w[i].revents, c.arg);
				break;
			}
	}
}

static void
run_timers(struct loop *l)
{
	int64_t	now = now_ms();

	while (l->timers != NULL && l->timers->due <= now && !l->stop) {
		struct loop_timer	*t = l->timers;

		l->timers = t->next;
		t->fn(t->arg);
		free(t);
	}
}

void
loop_run(struct loop *l)
{
	struct curl_waitfd	*w = NULL;
	int			 capw = 0;

	l->stop = 0;
	while (!l->stop) {
		int	timeout = 1000, n = l->nwatchers;

		if (l->timers != NULL) {
			int64_t d = l->timers->due - now_ms();

			timeout = d < 0 ? 0 : d < timeout ? (int)d : timeout;
		}
		if (n > capw) {
			capw = n * 2;
			w = xrealloc(w, (size_t)capw * sizeof(*w));
		}
		for (int i = 0; i < n; i++) {
			w[i].fd = l->watchers[i].fd;
			w[i].events = l->watchers[i].events;
			w[i].revents = 0;
		}
		if (curl_multi_poll(l->multi, w, (unsigned)n, timeout, NULL) !=
		    CURLM_OK)
			log_warnx("curl_multi_poll failed");
		finish_xfers(l);
		dispatch_fds(l, w, n);
		run_timers(l);
	}
	free(w);
}
