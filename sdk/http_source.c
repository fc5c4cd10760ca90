/*
 * http_source.c: the HTTP source helper of pf/http.h (pf_http_*): GETs
 * of a JSON API through libcurl, retried as dlt's requests helper
 * retries (429, 5xx, timeouts and lost connections; dlt's [runtime]
 * request_* settings) with common/retry.c's backoff, paginated by the
 * flow's hook, and streamed through sdk/json_split.c so a large body is
 * handed over item by item.
 *
 * A page whose items have started to reach the flow is never retried:
 * the flow would get them twice. Errors are values kept in the handle,
 * one line naming the request as shown (secret parameters as ****),
 * the status and the API's own words; the flow decides and fails.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "sdk/logship.h"
#include "common/log.h"
#include "common/retry.h"
#include "common/util.h"
#include "config/cfg.h"
#include "sdk/http_source.h"
#include "sdk/json_split.h"
#include "sdk/run.h"

#define PF_EXPORT __attribute__((visibility("default")))

#define BODY_MAX	(64u << 20)	/* pf_http_get_json's whole body */
#define ITEM_MAX	(64u << 20)	/* one streamed item */
#define REST_MAX	(16u << 20)	/* a streamed body besides its items */
#define ERROR_BODY_MAX	(64u << 10)	/* what is read of an error's body */

struct pf_http {
	pf_run			*run;
	CURL			*easy;		/* kept: connections are reused */
	char			*base;		/* scheme://host/path, as sent */
	char			*shown;		/* the same without user info */
	struct http_query	 query;
	char			*url_error;	/* a bad URL, for the next get */
	char			*settings_error; /* a bad [runtime] setting */
	pf_http_next_fn		 next;
	void			*next_payload;
	char			*error;

	/* dlt's [runtime] settings. */
	double			 timeout;	/* request_timeout, seconds */
	int			 max_attempts;	/* request_max_attempts */
	double			 backoff;	/* request_backoff_factor */
	double			 max_delay;	/* request_max_retry_delay */
};

/* One attempt at one page. */
struct attempt {
	pf_http			*h;
	char			*url;		/* as sent */
	char			*shown;		/* as shown */
	long			 status;
	CURLcode		 code;
	double			 retry_after;	/* seconds, or -1 */
	char			*link_next;
	struct buf		 body;		/* get_json's, or an error's */
	struct json_split	*split;		/* get_items' */
	pf_http_item_fn		 fn;
	void			*payload;
	size_t			 items;
	int			 split_rc;	/* what stopped the transfer */
	int			 too_big;
	char			 curl_error[CURL_ERROR_SIZE];
};

static void
set_error(pf_http *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records the failure, masked like everything else the run shows. */
static void
set_error(pf_http *h, const char *fmt, ...)
{
	va_list	 ap;

	free(h->error);
	va_start(ap, fmt);
	h->error = logship_vmask(h->run->logs, fmt, ap);
	va_end(ap);
	sdk_error_set(h->error);
}

/*
 * One [runtime] setting, resolved as pf_config_* resolves it (the
 * pipeline's section first); dlt's default when unset. A value of the
 * wrong type, or below min (at or below it when above is set), is an
 * error naming the key and its provider.
 */
static int
setting(pf_http *h, const char *key, enum cfg_type type, double min,
    int above, double *v, char *err, size_t errlen)
{
	struct cfg_field f = { "runtime", key, NULL, h->run->pipeline, NULL,
	    type, CFG_OPTIONAL, NULL };
	struct cfg_value val;
	char		 why[128];
	int		 rc = 0;

	if (cfg_resolve(h->run->cfg, &f, &val, err, errlen) == -1)
		return -1;
	if (val.value != NULL) {
		*v = val.value->valuedouble;
		if (*v < min || (above && *v == min)) {
			snprintf(why, sizeof(why), "Configured value for field "
			    "`%s` must be %s %g", key, above ? "greater than" :
			    "at least", min);
			rc = cfg_value_error(&val, why, err, errlen);
		}
	}
	cfg_value_cleanup(&val);
	return rc;
}

/* dlt's [runtime] request_* settings, checked before any request. */
static void
read_settings(pf_http *h)
{
	char	 err[1024];
	double	 attempts = 5;

	h->timeout = 60;
	h->backoff = 1;
	h->max_delay = 300;
	if (h->run->cfg != NULL &&		/* else dlt's defaults */
	    (setting(h, "request_timeout", CFG_FLOAT, 0, 1, &h->timeout,
	    err, sizeof(err)) == -1 ||
	    setting(h, "request_max_attempts", CFG_INT, 1, 0, &attempts,
	    err, sizeof(err)) == -1 ||
	    setting(h, "request_backoff_factor", CFG_FLOAT, 0, 0,
	    &h->backoff, err, sizeof(err)) == -1 ||
	    setting(h, "request_max_retry_delay", CFG_FLOAT, 0, 0,
	    &h->max_delay, err, sizeof(err)) == -1))
		h->settings_error = logship_mask(h->run->logs, err);
	h->max_attempts = attempts > INT_MAX ? INT_MAX : (int)attempts;
}

PF_EXPORT pf_http *
pf_http_new(pf_run *run, const char *url)
{
	pf_http	*h = xcalloc(1, sizeof(*h));

	h->run = run;
	read_settings(h);
	pf_http_set_url(h, url);
	return h;
}

PF_EXPORT void
pf_http_free(pf_http *h)
{
	if (h == NULL)
		return;
	if (h->easy != NULL)
		curl_easy_cleanup(h->easy);
	free(h->base);
	free(h->shown);
	http_query_free(&h->query);
	free(h->url_error);
	free(h->settings_error);
	free(h->error);
	free(h);
}

PF_EXPORT int
pf_http_set_url(pf_http *h, const char *url)
{
	char	err[128], *base, *shown;

	if (http_url_split(url, h->base, &base, &shown, &h->query, err,
	    sizeof(err)) == -1) {
		free(h->url_error);
		/* Quoted only when it cannot hold a secret (query, user). */
		if (url != NULL && strpbrk(url, "?@") == NULL)
			h->url_error = xasprintf("'%.200s' is %s", url, err);
		else
			h->url_error = xstrdup(err);
		return PF_ERROR;
	}
	free(h->base);
	free(h->shown);
	h->base = base;
	h->shown = shown;
	free(h->url_error);
	h->url_error = NULL;
	return PF_OK;
}

PF_EXPORT int
pf_http_param(pf_http *h, const char *name, const char *value)
{
	if (name == NULL || name[0] == '\0')
		return PF_ERROR;
	http_query_set(&h->query, name, value, 0);
	return PF_OK;
}

PF_EXPORT int
pf_http_secret_param(pf_http *h, const char *name, const char *value)
{
	char	*escaped;

	if (name == NULL || name[0] == '\0')
		return PF_ERROR;
	if (value != NULL) {
		/* Masked as given and as it travels in a URL. */
		logship_secret(h->run->logs, value);
		if ((escaped = curl_easy_escape(NULL, value, 0)) != NULL) {
			logship_secret(h->run->logs, escaped);
			curl_free(escaped);
		}
	}
	http_query_set(&h->query, name, value, 1);
	return PF_OK;
}

PF_EXPORT void
pf_http_paginate(pf_http *h, pf_http_next_fn next, void *payload)
{
	h->next = next;
	h->next_payload = payload;
}

/* ---------------------------------------------------------- one try */

static int
on_item(cJSON *item, const char *text, size_t len, void *arg)
{
	struct attempt	*a = arg;
	pf_http_item	 it = { item->string, (const pf_json *)(void *)item,
	    text, len };

	a->items++;
	return a->fn(a->h->run, &it, a->payload) == PF_OK ? 0 : 1;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct attempt	*a = arg;
	size_t		 len = size * n;

	if (a->status == 0)
		curl_easy_getinfo(a->h->easy, CURLINFO_RESPONSE_CODE,
		    &a->status);
	if (a->status < 200 || a->status > 299) {
		/* The start of an error's body is enough to quote it. */
		buf_append(&a->body, data, len);
		return len;
	}
	if (a->split == NULL) {
		if (buf_append(&a->body, data, len) == -1) {
			a->too_big = 1;
			return 0;
		}
		return len;
	}
	if ((a->split_rc = json_split_feed(a->split, data, len, on_item,
	    a)) != 0)
		return 0;		/* ends the transfer */
	return len;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct attempt	*a = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return pf_stopped(a->h->run) ? 1 : 0;
}

/* A response header's value (the last one of its name), or NULL. */
static const char *
header(CURL *easy, const char *name)
{
	struct curl_header	*hd;

	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &hd) !=
	    CURLHE_OK)
		return NULL;
	return hd->value;
}

double
http_retry_after(const char *v, time_t now)
{
	char	*end;
	long	 secs;
	time_t	 when;

	if (v == NULL)
		return -1;
	secs = strtol(v, &end, 10);
	if (end != v && *end == '\0' && secs >= 0)
		return (double)secs;
	if ((when = curl_getdate(v, NULL)) == -1)
		return -1;
	return when > now ? (double)(when - now) : 0;
}

int64_t
http_retry_wait_ms(double backoff, double max_delay, int attempt,
    double retry_after)
{
	struct retry_policy	pol = { (int64_t)(backoff * 1000),
				    (int64_t)(max_delay * 1000), 0 };
	int64_t			wait = retry_delay_ms(&pol, attempt,
				    retry_after);

	return wait > pol.cap_ms ? pol.cap_ms : wait;
}

/* The next page's link among every Link header of the response. */
static char *
link_next(CURL *easy, const char *url)
{
	struct curl_header	*hd;
	size_t			 i = 0;
	char			*next = NULL;

	while (next == NULL && curl_easy_header(easy, "Link", i++,
	    CURLH_HEADER, -1, &hd) == CURLHE_OK)
		next = http_link_next(hd->value, url);
	return next;
}

static void
attempt_cleanup(struct attempt *a)
{
	free(a->url);
	free(a->shown);
	free(a->link_next);
	buf_cleanup(&a->body);
	json_split_free(a->split);
	memset(a, 0, sizeof(*a));
}

/* Sets up and performs one GET; the outcome stays in a. */
static void
perform(pf_http *h, struct attempt *a, const char *path)
{
	struct curl_slist	*headers = NULL;
	long			 t = (long)(h->timeout + 0.999);

	a->url = http_url_join(h->base, &h->query, 0);
	a->shown = http_url_join(h->shown, &h->query, 1);
	a->retry_after = -1;
	buf_init(&a->body, path == NULL ? BODY_MAX : ERROR_BODY_MAX);
	if (path != NULL && (a->split = json_split_new(path, ITEM_MAX,
	    REST_MAX)) == NULL)
		fatalx("out of memory");
	if (h->easy == NULL && (h->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_reset(h->easy);
	headers = curl_slist_append(headers, "Accept: application/json");
	curl_easy_setopt(h->easy, CURLOPT_URL, a->url);
	curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h->easy, CURLOPT_USERAGENT,
	    "pfagent/" PFAGENT_VERSION);
	curl_easy_setopt(h->easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h->easy, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
	/* requests' timeout: to connect, and between bytes received. */
	curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(h->timeout * 1000));
	curl_easy_setopt(h->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h->easy, CURLOPT_LOW_SPEED_TIME, t > 0 ? t : 1L);
	curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(h->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h->easy, CURLOPT_XFERINFODATA, a);
	curl_easy_setopt(h->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h->easy, CURLOPT_ERRORBUFFER, a->curl_error);
	a->code = curl_easy_perform(h->easy);
	curl_slist_free_all(headers);
	if (a->status == 0)
		curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE,
		    &a->status);
	if (a->status != 0) {
		a->retry_after = http_retry_after(header(h->easy,
		    "Retry-After"), time(NULL));
		a->link_next = link_next(h->easy, a->url);
	}
}

enum outcome { DONE, RETRY, FAIL };

/*
 * Transport errors are retried as requests' ConnectionError and
 * Timeout are by dlt, except those no retry can mend.
 */
static int
hopeless(CURLcode code)
{
	switch (code) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_OUT_OF_MEMORY:
		return 1;
	default:
		return 0;
	}
}

/* What the attempt came to; a message in *msg unless DONE. */
static enum outcome
judge(pf_http *h, struct attempt *a, char **msg)
{
	const char	*ctype = NULL;
	char		*words;

	*msg = NULL;
	if (a->code == CURLE_ABORTED_BY_CALLBACK || pf_stopped(h->run)) {
		*msg = xstrdup("stopped: the run is stopping");
		return FAIL;
	}
	if (a->status != 0)
		ctype = header(h->easy, "Content-Type");
	if (a->split_rc == JSON_SPLIT_STOPPED) {
		*msg = xasprintf("item %zu: %s", a->items,
		    h->run->error != NULL ? h->run->error :
		    "the item handler failed");
		return FAIL;
	}
	if (a->split_rc == JSON_SPLIT_ERROR) {
		*msg = xasprintf("HTTP %ld: %s%s%s%s", a->status,
		    json_split_error(a->split), ctype ? " (Content-Type: " :
		    "", ctype ? ctype : "", ctype ? ")" : "");
		return FAIL;
	}
	if (a->too_big) {
		*msg = xasprintf("HTTP %ld: the response is larger than "
		    "%zu bytes", a->status, a->body.max);
		return FAIL;
	}
	if (a->code != CURLE_OK) {
		*msg = xstrdup(a->curl_error[0] ? a->curl_error :
		    curl_easy_strerror(a->code));
		return hopeless(a->code) ? FAIL : RETRY;
	}
	if (a->status < 200 || a->status > 299) {
		words = http_api_error(a->body.data, a->body.len);
		*msg = xasprintf("HTTP %ld%s%s", a->status, words ? ": " :
		    "", words ? words : "");
		free(words);
		return retry_classify(a->status) == RETRY_AGAIN ? RETRY :
		    FAIL;
	}
	if (a->split != NULL && json_split_finish(a->split) != 0) {
		*msg = xasprintf("HTTP %ld: %s%s%s%s", a->status,
		    json_split_error(a->split), ctype ? " (Content-Type: " :
		    "", ctype ? ctype : "", ctype ? ")" : "");
		return FAIL;
	}
	return DONE;
}

/*
 * One page, retried as dlt's requests helper does; on success a holds
 * the answer. path: stream its items, NULL: keep the whole body.
 */
static int
fetch(pf_http *h, struct attempt *a, const char *path, pf_http_item_fn fn,
    void *payload)
{
	enum outcome	 o;
	char		*msg;

	for (int n = 1;; n++) {
		int64_t	delay;

		memset(a, 0, sizeof(*a));
		a->h = h;
		a->fn = fn;
		a->payload = payload;
		perform(h, a, path);
		if ((o = judge(h, a, &msg)) == DONE)
			return PF_OK;
		/* Items already handed over must not come twice. */
		if (o == FAIL || n >= h->max_attempts || a->items > 0) {
			if (n > 1)
				set_error(h, "GET %s: %s (gave up after %d "
				    "attempts)", a->shown, msg, n);
			else
				set_error(h, "GET %s: %s", a->shown, msg);
			break;
		}
		delay = http_retry_wait_ms(h->backoff, h->max_delay, n,
		    a->retry_after);
		pf_log_warning(h->run, "GET %s: %s; retrying in %.1f s "
		    "(attempt %d of %d)", a->shown, msg,
		    (double)delay / 1000, n + 1, h->max_attempts);
		free(msg);
		attempt_cleanup(a);
		if (pf_sleep(h->run, (double)delay / 1000) != PF_OK) {
			msg = NULL;
			set_error(h, "GET %s: stopped: the run is stopping",
			    h->shown);
			return PF_ERROR;
		}
	}
	free(msg);
	attempt_cleanup(a);
	return PF_ERROR;
}

/* A get may start: the URL is good. */
static int
ready(pf_http *h)
{
	free(h->error);
	h->error = NULL;
	if (h->url_error == NULL && h->settings_error != NULL) {
		char	*shown = http_url_join(h->shown, &h->query, 1);

		set_error(h, "GET %s: not sent: %s", shown,
		    h->settings_error);
		free(shown);
		return PF_ERROR;
	}
	if (h->url_error == NULL)
		return PF_OK;
	set_error(h, "GET %s: %s", h->shown ? h->shown : "(no URL)",
	    h->url_error);
	return PF_ERROR;
}

PF_EXPORT int
pf_http_get_json(pf_http *h, pf_json **out)
{
	struct attempt	 a;
	cJSON		*doc = NULL;

	*out = NULL;
	if (ready(h) != PF_OK || fetch(h, &a, NULL, NULL, NULL) != PF_OK)
		return PF_ERROR;
	if (a.body.data == NULL ||
	    (doc = cJSON_ParseWithLengthOpts(a.body.data, a.body.len + 1,
	    NULL, 1)) == NULL) {
		const char *ctype = header(h->easy, "Content-Type");

		set_error(h, "GET %s: HTTP %ld: the response is %s%s%s%s",
		    a.shown, a.status, a.body.len ? "not valid JSON" :
		    "empty", ctype ? " (Content-Type: " : "",
		    ctype ? ctype : "", ctype ? ")" : "");
		attempt_cleanup(&a);
		return PF_ERROR;
	}
	attempt_cleanup(&a);
	*out = (pf_json *)(void *)doc;
	return PF_OK;
}

PF_EXPORT int
pf_http_get_items(pf_http *h, const char *path, pf_http_item_fn fn,
    void *payload)
{
	struct attempt	 a;
	char		*last = NULL, *now;
	int		 rc = PF_ERROR, more;

	if (ready(h) != PF_OK)
		return PF_ERROR;
	for (int page = 1;; page++) {
		if (fetch(h, &a, path != NULL ? path : "", fn, payload) !=
		    PF_OK)
			break;
		if (h->next == NULL) {
			rc = PF_OK;
			attempt_cleanup(&a);
			break;
		}
		more = h->next(h, &(pf_http_page){ page, a.status, a.shown,
		    a.link_next, (const pf_json *)(const void *)
		    json_split_rest(a.split), a.items },
		    h->next_payload);
		free(last);
		last = a.url;		/* now owned here */
		a.url = NULL;
		if (more == 1 && h->url_error != NULL)
			set_error(h, "GET %s: next page: %s", a.shown,
			    h->url_error);
		else if (more < 0)
			set_error(h, "GET %s: the pagination hook failed "
			    "after page %d%s%s", a.shown, page,
			    h->run->error ? ": " : "",
			    h->run->error ? h->run->error : "");
		attempt_cleanup(&a);
		if (more == 0)
			rc = PF_OK;
		if (more != 1 || h->url_error != NULL)
			break;
		/* The same request again would never end. */
		now = http_url_join(h->base, &h->query, 0);
		if (strcmp(now, last) == 0) {
			free(now);
			now = http_url_join(h->shown, &h->query, 1);
			set_error(h, "GET %s: the pagination hook asked for "
			    "page %d again", now, page);
			free(now);
			break;
		}
		free(now);
	}
	free(last);
	return rc;
}
