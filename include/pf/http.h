/*
 * pf/http.h: reading a JSON API, as dlt's requests helper does: GET with
 * query parameters; retries on 429, 5xx, timeouts and lost connections
 * with capped exponential backoff and jitter, honouring Retry-After,
 * from dlt's [runtime] settings (request_timeout 60 s,
 * request_max_attempts 5, request_backoff_factor 1 s,
 * request_max_retry_delay 300 s); one pagination hook for every style
 * (Link header, cursor, page number); large responses streamed item by
 * item, never held whole.
 *
 *	pf_http *h = pf_http_new(run, "https://openexchangerates.org/api/"
 *	    "currencies.json");
 *	pf_http_secret_param(h, "app_id", app_id);
 *	if (pf_http_get_items(h, "", add_currency, resource) != PF_OK)
 *		rc = pf_fail(run, "%s", pf_last_error());
 *	pf_http_free(h);
 *
 * Errors: PF_ERROR, and pf_last_error() names the request (method and
 * URL, secret parameters shown as ****), the HTTP status and the API's
 * own words ("GET https://.../currencies.json?app_id=****: HTTP 401:
 * invalid_app_id: Invalid App ID provided ..."); a body that is not JSON
 * is an error too. Secret parameter values are added to the run's
 * masked secrets, so they show in no log line, state message or
 * artifact. Retries are logged as warnings. A stopping run (timeout,
 * cancellation) ends a transfer and a backoff wait early. Not
 * thread-safe: one pf_http per thread.
 */
#ifndef PF_HTTP_H
#define PF_HTTP_H

#include <stddef.h>

#include <pf/flow.h>
#include <pf/json.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_http pf_http;

/** One page's answer, for the pagination hook. Borrowed. */
typedef struct pf_http_page {
	int		 number;	/* 1 for the first page */
	long		 status;
	const char	*url;		/* as requested, secrets masked */
	const char	*link_next;	/* the Link header's rel="next" URL
					   (resolved), or NULL */
	const pf_json	*rest;		/* the body without the streamed
					   items: {"data":[],"next":"c2"} */
	size_t		 items;		/* items on this page */
} pf_http_page;

/**
 * One item of the streamed array or object, borrowed for the call. Its
 * text is what the API sent, so pf_resource_item_json(r, item->json,
 * item->len) loads its numbers exactly as dlt reads them (1.0 a double,
 * 12345678901234567890 whole); value is the same parsed, whose numbers
 * are doubles.
 */
typedef struct pf_http_item {
	const char	*key;		/* an object member's key, else NULL */
	const pf_json	*value;
	const char	*json;		/* NUL-terminated */
	size_t		 len;
} pf_http_item;

/**
 * Gets each item (keep what it needs: the item is freed after the call).
 * Returns PF_OK to go on; PF_ERROR stops (say why with pf_fail).
 */
typedef int (*pf_http_item_fn)(pf_run *run, const pf_http_item *item,
	    void *payload);

/**
 * The pagination hook, called after each page: set up the next request
 * on h (pf_http_set_url(h, page->link_next); pf_http_param(h, "cursor",
 * ...); pf_http_param(h, "page", "3")) and return 1 to fetch it, 0 when
 * this was the last page, PF_ERROR to fail (say why with pf_fail).
 */
typedef int (*pf_http_next_fn)(pf_http *h, const pf_http_page *page,
	    void *payload);

/**
 * A request for url (its query, if any, becomes parameters). Always
 * returns a handle (NULL only when out of memory); a bad URL is
 * reported by the first get. Free it with pf_http_free().
 */
pf_http		*pf_http_new(pf_run *run, const char *url);
void		 pf_http_free(pf_http *h);
/** Sets (or with value NULL removes) a query parameter. */
int		 pf_http_param(pf_http *h, const char *name,
		    const char *value);
/** The same for a secret (app_id, api_key): masked everywhere. */
int		 pf_http_secret_param(pf_http *h, const char *name,
		    const char *value);
/**
 * Points h at another URL (a next page's link, relative ones resolved
 * against the current URL); its query parameters replace those of the
 * same name, others (a secret app_id) stay.
 */
int		 pf_http_set_url(pf_http *h, const char *url);
/** The hook for pf_http_get_items() (NULL: one page only). */
void		 pf_http_paginate(pf_http *h, pf_http_next_fn next,
		    void *payload);

/**
 * One GET (no pagination); *out gets the parsed body (at most 64 MiB),
 * which the caller frees with pf_json_free.
 */
int		 pf_http_get_json(pf_http *h, pf_json **out);
/**
 * GETs page after page, handing fn each item of the array or object at
 * path in every body as it streams in: "" the top level, "data" the
 * top-level key data, "result.items" deeper. A page is retried only
 * while none of its items was handed over. Returns PF_OK or PF_ERROR.
 */
int		 pf_http_get_items(pf_http *h, const char *path,
		    pf_http_item_fn fn, void *payload);

#ifdef __cplusplus
}
#endif

#endif
