/*
 * loop.h: the agent's single event loop. It waits in curl_multi_poll on
 * the API transfers plus registered descriptors (signalfd, child pidfds,
 * later the websocket), then runs due timers. Nothing in the agent
 * blocks outside this wait.
 */
#ifndef WORKER_LOOP_H
#define WORKER_LOOP_H

#include <stdint.h>

#include <curl/curl.h>

struct loop;
struct loop_timer;

typedef void	(*loop_timer_fn)(void *arg);
typedef void	(*loop_fd_fn)(int fd, short revents, void *arg);
typedef void	(*loop_xfer_fn)(CURLcode, void *arg);

struct loop	*loop_new(void);
void		 loop_free(struct loop *);

/* One-shot timer; the handle is valid until it fires or is cancelled. */
struct loop_timer *loop_timer_add(struct loop *, int64_t delay_ms,
		    loop_timer_fn, void *arg);
void		 loop_timer_cancel(struct loop *, struct loop_timer *);

/* Watches fd for events (POLLIN...) until loop_fd_del. */
void		 loop_fd_add(struct loop *, int fd, short events, loop_fd_fn,
		    void *arg);
void		 loop_fd_del(struct loop *, int fd);

/* Performs easy in the loop; done runs once it finishes. */
void		 loop_xfer_add(struct loop *, CURL *easy, loop_xfer_fn done,
		    void *arg);

/* Runs until loop_stop. */
void		 loop_run(struct loop *);
void		 loop_stop(struct loop *);

#endif
