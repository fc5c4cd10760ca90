/*
 * test_http_source.c: the HTTP source helper (pf_http_* of pf/flow.h)
 * against a scripted HTTP server on a loopback socket (a thread here):
 * retries on 429/5xx/lost connections and their limit, no retry on
 * 401 or once items were handed over, errors naming the request with
 * the secret masked, bodies that are not JSON, streaming, pagination
 * by Link header, cursor and page number, and the URL helpers.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "sdk/logship.h"
#include "common/log.h"
#include "common/util.h"
#include "config/cfg.h"
#include "sdk/http_source.h"
#include "sdk/run.h"
#include "t.h"

#define APP_ID	"0123456789abcdef0123456789abcdef"

/* ------------------------------------------------ a scripted server */

struct reply {
	int		 status;
	const char	*headers;	/* extra lines, each ending \r\n */
	const char	*body;
	long		 length;	/* Content-Length; 0: the body's */
	int		 silent;	/* never answer (kept open) */
};

static struct {
	int		 fd, port;
	pthread_t	 th;
	struct reply	 script[16];
	int		 n;
	int		 served;
	char		 requests[16][512];	/* request lines */
	int		 silent_fds[16];
	int		 nsilent;
} srv;

static void *
serve(void *arg)
{
	(void)arg;
	for (int i = 0; i < srv.n; i++) {
		const struct reply	*r = &srv.script[i];
		char			 req[4096], *head;
		size_t			 got = 0;
		ssize_t			 k;
		int			 c = accept(srv.fd, NULL, NULL);

		if (c == -1)
			break;
		while (got < sizeof(req) - 1 && (k = read(c, req + got,
		    sizeof(req) - 1 - got)) > 0) {
			got += (size_t)k;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		req[got] = '\0';
		snprintf(srv.requests[i], sizeof(srv.requests[i]), "%.*s",
		    (int)strcspn(req, "\r"), req);
		srv.served = i + 1;
		if (r->silent) {
			srv.silent_fds[srv.nsilent++] = c;
			continue;
		}
		head = xasprintf("HTTP/1.1 %d X\r\nContent-Length: %ld\r\n"
		    "Connection: close\r\n%s\r\n", r->status, r->length ?
		    r->length : (long)strlen(r->body), r->headers ?
		    r->headers : "");
		/* A client that gave up makes the writes fail: fine. */
		if (send(c, head, strlen(head), MSG_NOSIGNAL) > 0)
			(void)!send(c, r->body, strlen(r->body), MSG_NOSIGNAL);
		free(head);
		close(c);
	}
	return NULL;
}

static void
server_start(const struct reply *script, int n)
{
	struct sockaddr_in	a = { .sin_family = AF_INET };
	socklen_t		len = sizeof(a);
	int			one = 1;

	memset(&srv, 0, sizeof(srv));
	memcpy(srv.script, script, (size_t)n * sizeof(*script));
	srv.n = n;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(srv.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(srv.fd, 16) == -1 ||
	    getsockname(srv.fd, (struct sockaddr *)&a, &len) == -1)
		fatal("test server");
	srv.port = ntohs(a.sin_port);
	pthread_create(&srv.th, NULL, serve, NULL);
}

/* Waits for the script's end; returns the requests served. */
static int
server_stop(void)
{
	shutdown(srv.fd, SHUT_RDWR);
	pthread_join(srv.th, NULL);
	close(srv.fd);
	for (int i = 0; i < srv.nsilent; i++)
		close(srv.silent_fds[i]);
	return srv.served;
}

static char *
url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", srv.port, path);
}

/* ------------------------------------------------------ a flow run */

static pf_run	run;
static char	root[64];

static void
open_run(void)
{
	static volatile sig_atomic_t no_stop;
	struct cfg_opts	 o = { root, NULL, NULL, NULL, 1, NULL };
	char		 err[1024];

	strcpy(root, "/tmp/test_http_source.XXXXXX");
	if (mkdtemp(root) == NULL)
		fatal("mkdtemp");
	/* dlt's [runtime] settings, from the environment: quick retries. */
	setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01", 1);
	setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3", 1);
	setenv("RUNTIME__REQUEST_TIMEOUT", "1", 1);
	memset(&run, 0, sizeof(run));
	sdk_run_init(&run);
	run.id = "11111111-2222-4333-8444-555555555555";
	run.name = "unit";
	run.stop = &no_stop;
	run.logs = logship_start(NULL, run.id, run.name);
	if ((run.cfg = cfg_new(&o, err, sizeof(err))) == NULL)
		fatalx("cfg_new: %s", err);
}

static void
close_run(void)
{
	sdk_run_destroy(&run);
	cfg_free(run.cfg);
	logship_stop(run.logs);
	rmdir(root);
}

struct items {
	struct buf	 out;
	int		 refuse_at;	/* fail on this item (1-based) */
	int		 n;
};

static int
add(pf_run *r, const pf_http_item *item, void *payload)
{
	struct items	*it = payload;
	char		*text = cJSON_PrintUnformatted(
	    (const cJSON *)(const void *)item->value);	/* pf_json is one */

	if (item->key != NULL)
		buf_printf(&it->out, "%s=", item->key);
	buf_printf(&it->out, "%s;", text);
	if (strlen(item->json) != item->len)
		buf_printf(&it->out, "(bad length)");
	free(text);
	if (++it->n == it->refuse_at)
		return pf_fail(r, "no room for item %d", it->n);
	return PF_OK;
}

/* Runs get_items on the scripted server; returns the items, or ERR. */
static char *
get(const char *path, const struct reply *script, int n,
    pf_http_next_fn next, void *next_payload, int *served)
{
	struct items	 it = { .refuse_at = 0 };
	char		*u, *r;
	pf_http		*h;

	server_start(script, n);
	u = url("/api/x.json?b=2");
	buf_init(&it.out, 1 << 20);
	h = pf_http_new(&run, u);
	pf_http_secret_param(h, "app_id", APP_ID);
	pf_http_paginate(h, next, next_payload);
	if (pf_http_get_items(h, path, add, &it) == PF_OK)
		r = buf_steal(&it.out);
	else
		r = xasprintf("ERR:%s", pf_last_error());
	*served = server_stop();
	pf_http_free(h);
	buf_cleanup(&it.out);
	free(u);
	return r;
}

static int
has(const char *hay, const char *needle)
{
	if (hay != NULL && strstr(hay, needle) != NULL)
		return 1;
	printf("#   no \"%s\" in \"%s\"\n", needle, hay ? hay : "(null)");
	return 0;
}

/* ------------------------------------------------- pagination hooks */

static int
next_by_link(pf_http *h, const pf_http_page *page, void *payload)
{
	(void)payload;
	return page->link_next != NULL &&
	    pf_http_set_url(h, page->link_next) == PF_OK;
}

static int
next_by_cursor(pf_http *h, const pf_http_page *page, void *payload)
{
	const char	*c = pf_json_string(pf_json_get(page->rest,
	    "next_cursor"));

	(void)payload;
	if (c == NULL)
		return 0;
	return pf_http_param(h, "cursor", c) == PF_OK;
}

static int
next_by_number(pf_http *h, const pf_http_page *page, void *payload)
{
	char	n[16];

	(void)payload;
	if (page->items == 0)
		return 0;
	snprintf(n, sizeof(n), "%d", page->number + 1);
	return pf_http_param(h, "page", n) == PF_OK;
}

static int
next_same(pf_http *h, const pf_http_page *page, void *payload)
{
	(void)h, (void)page, (void)payload;
	return 1;
}

int
main(void)
{
	static const char oxr401[] = "{\"error\": true, \"status\": 401, "
	    "\"message\": \"invalid_app_id\", \"description\": \"Invalid "
	    "App ID provided - please sign up at "
	    "https://openexchangerates.org/signup, or contact "
	    "support@openexchangerates.org.\"}";
	static const char oxr429[] = "{\"error\": true, \"status\": 429, "
	    "\"message\": \"too_many_requests\", \"description\": \"Slow "
	    "down.\"}";
	char	*r, *u, *want;
	int	 served;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	open_run();

	TEST("items of a page, the secret in the request only") {
		r = get("data", (struct reply[]){
		    { 200, NULL, "{\"data\": [{\"id\": 1}, {\"id\": 2}]}", 0,
		    0 } }, 1, NULL, NULL, &served);
		CHECK_STR(r, "{\"id\":1};{\"id\":2};");
		CHECK(served == 1);
		CHECK(has(srv.requests[0], "GET /api/x.json?b=2&app_id="
		    APP_ID " HTTP/1.1"));
		free(r);
	}
	TEST("429 and 5xx are retried, Retry-After honoured") {
		r = get("", (struct reply[]){
		    { 429, "Retry-After: 0\r\n", oxr429, 0, 0 },
		    { 502, NULL, "<html>Bad gateway</html>", 0, 0 },
		    { 200, NULL, "[1, 2]", 0, 0 } }, 3, NULL, NULL, &served);
		CHECK_STR(r, "1;2;");
		CHECK(served == 3);
		free(r);
	}
	TEST("retries end after request_max_attempts, naming the request") {
		r = get("", (struct reply[]){
		    { 429, NULL, oxr429, 0, 0 }, { 429, NULL, oxr429, 0, 0 },
		    { 429, NULL, oxr429, 0, 0 } }, 3, NULL, NULL, &served);
		u = url("/api/x.json?b=2&app_id=****");
		want = xasprintf("ERR:GET %s: HTTP 429: too_many_requests: "
		    "Slow down. (gave up after 3 attempts)", u);
		CHECK_STR(r, want);
		CHECK(served == 3);
		CHECK(strstr(r, APP_ID) == NULL);
		free(want);
		free(u);
		free(r);
	}
	TEST("401 is not retried; the API's own words are quoted") {
		r = get("", (struct reply[]){ { 401, NULL, oxr401, 0, 0 } },
		    1, NULL, NULL, &served);
		u = url("/api/x.json?b=2&app_id=****");
		want = xasprintf("ERR:GET %s: HTTP 401: invalid_app_id: "
		    "Invalid App ID provided - please sign up at "
		    "https://openexchangerates.org/signup, or contact "
		    "support@openexchangerates.org.", u);
		CHECK_STR(r, want);
		CHECK(served == 1);
		free(want);
		free(u);
		free(r);
	}
	TEST("a body that is not JSON is an error, not retried") {
		r = get("", (struct reply[]){ { 200,
		    "Content-Type: text/html\r\n", "<html>maintenance</html>",
		    0, 0 } }, 1, NULL, NULL, &served);
		CHECK(has(r, ".json?b=2&app_id=****: HTTP 200: the response "
		    "is not a JSON object or array: it starts with '<' "
		    "(Content-Type: text/html)"));
		CHECK(served == 1);
		free(r);
		r = get("data", (struct reply[]){ { 200, NULL,
		    "{\"data\": [1], \"x\": nul}", 0, 0 } }, 1, NULL, NULL,
		    &served);
		CHECK(has(r, "HTTP 200: the response is not valid JSON"));
		free(r);
	}
	TEST("a connection lost before any item is retried") {
		r = get("", (struct reply[]){ { 200, NULL, "[{\"a\"", 100, 0 },
		    { 200, NULL, "[3]", 0, 0 } }, 2, NULL, NULL, &served);
		CHECK_STR(r, "3;");
		CHECK(served == 2);
		free(r);
	}
	TEST("... but not once items were handed over") {
		r = get("", (struct reply[]){ { 200, NULL, "[1, 2, ", 100, 0 },
		    { 200, NULL, "[1, 2, 3]", 0, 0 } }, 2, NULL, NULL,
		    &served);
		CHECK(has(r, "ERR:GET "));
		CHECK(has(r, "app_id=****: transfer closed with"));
		CHECK(served == 1);
		free(r);
	}
	TEST("a timeout (request_timeout without a byte) is retried") {
		r = get("", (struct reply[]){ { 200, NULL, "[]", 0, 1 },
		    { 200, NULL, "[7]", 0, 0 } }, 2, NULL, NULL, &served);
		CHECK_STR(r, "7;");
		free(r);
		r = get("", (struct reply[]){ { 200, NULL, "[]", 0, 1 },
		    { 200, NULL, "[]", 0, 1 }, { 200, NULL, "[]", 0, 1 } }, 3,
		    NULL, NULL, &served);
		CHECK(has(r, "app_id=****: Operation too slow. Less than 1 "
		    "bytes/sec transferred the last 1 seconds (gave up after 3 "
		    "attempts)"));
		free(r);
	}
	TEST("a refused item stops the page with the flow's words") {
		struct items	 it = { .refuse_at = 2 };
		pf_http		*h;

		server_start((struct reply[]){ { 200, NULL, "[1, 2, 3]", 0,
		    0 } }, 1);
		u = url("/x");
		buf_init(&it.out, 1024);
		h = pf_http_new(&run, u);
		CHECK(pf_http_get_items(h, "", add, &it) == PF_ERROR);
		CHECK(has(pf_last_error(), "/x: item 2: no room for item 2"));
		CHECK(it.n == 2);
		server_stop();
		pf_http_free(h);
		buf_cleanup(&it.out);
		free(run.error);
		run.error = NULL;
		free(u);
	}
	TEST("pagination by Link header (a relative link)") {
		r = get("", (struct reply[]){ { 200, "Link: "
		    "<https://elsewhere.example/api/x.json?page=1>; "
		    "rel=\"prev\", </api/x.json?page=3&b=2>; rel=\"next "
		    "last\"\r\n", "[1]", 0, 0 },
		    { 200, NULL, "[2]", 0, 0 } }, 2, next_by_link, NULL,
		    &served);
		CHECK_STR(r, "1;2;");
		CHECK(has(srv.requests[1], "GET /api/x.json?b=2&app_id=" APP_ID
		    "&page=3 HTTP/1.1"));
		free(r);
	}
	TEST("pagination by cursor, in the rest of the body") {
		r = get("data", (struct reply[]){
		    { 200, NULL, "{\"data\": [1], \"next_cursor\": \"c 2\"}",
		    0, 0 },
		    { 200, NULL, "{\"data\": [2], \"next_cursor\": null}", 0,
		    0 } }, 2, next_by_cursor, NULL, &served);
		CHECK_STR(r, "1;2;");
		CHECK(has(srv.requests[1], "&cursor=c%202 HTTP/1.1"));
		free(r);
	}
	TEST("pagination by page number, until a page is empty") {
		r = get("", (struct reply[]){ { 200, NULL, "[1]", 0, 0 },
		    { 200, NULL, "[2]", 0, 0 }, { 200, NULL, "[]", 0, 0 } },
		    3, next_by_number, NULL, &served);
		CHECK_STR(r, "1;2;");
		CHECK(served == 3);
		CHECK(has(srv.requests[2], "&page=3 HTTP/1.1"));
		free(r);
	}
	TEST("a hook asking for the same page again is stopped") {
		r = get("", (struct reply[]){ { 200, NULL, "[1]", 0, 0 } }, 1,
		    next_same, NULL, &served);
		CHECK(has(r, "app_id=****: the pagination hook asked for "
		    "page 1 again"));
		free(r);
	}
	TEST("members of an object; pf_http_get_json") {
		pf_json	*doc;
		pf_http	*h;

		r = get("", (struct reply[]){ { 200, NULL,
		    "{\"EUR\": \"Euro\", \"USD\": \"US Dollar\"}", 0, 0 } }, 1,
		    NULL, NULL, &served);
		CHECK_STR(r, "EUR=\"Euro\";USD=\"US Dollar\";");
		free(r);
		server_start((struct reply[]){ { 200, NULL, "{\"a\": [1]}", 0,
		    0 }, { 200, NULL, "nope", 0, 0 } }, 2);
		u = url("/j");
		h = pf_http_new(&run, u);
		CHECK(pf_http_get_json(h, &doc) == PF_OK);
		CHECK(pf_json_kind(pf_json_get(doc, "a")) == PF_JSON_ARRAY);
		CHECK(pf_json_number(pf_json_first(pf_json_get(doc, "a"))) ==
		    1);
		CHECK_STR(pf_json_key(pf_json_first(doc)), "a");
		pf_json_free(doc);
		CHECK(pf_http_get_json(h, &doc) == PF_ERROR && doc == NULL);
		CHECK(has(pf_last_error(), "/j: HTTP 200: the response is "
		    "not valid JSON"));
		server_stop();
		pf_http_free(h);
		free(u);
	}
	TEST("a bad URL is reported by the get") {
		pf_http	*h = pf_http_new(&run, "ftp://example.com/x");
		pf_json	*doc;

		CHECK(pf_http_get_json(h, &doc) == PF_ERROR);
		CHECK_STR(pf_last_error(), "GET (no URL): "
		    "'ftp://example.com/x' is not an http or https URL");
		pf_http_free(h);
	}
	TEST("a bad [runtime] setting fails the get before any request") {
		setenv("RUNTIME__REQUEST_TIMEOUT", "[1,2]", 1);
		r = get("", (struct reply[]){ { 200, NULL, "[1]", 0, 0 } }, 1,
		    NULL, NULL, &served);
		u = url("/api/x.json?b=2&app_id=****");
		want = xasprintf("ERR:GET %s: not sent: Configured value for "
		    "field `request_timeout` cannot be coerced into type "
		    "`<class 'float'>` (provider: Environment Variables, key: "
		    "RUNTIME__REQUEST_TIMEOUT)", u);
		CHECK_STR(r, want);
		CHECK(served == 0);
		free(want);
		free(r);
		free(u);
		setenv("RUNTIME__REQUEST_TIMEOUT", "1", 1);
		setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "0", 1);
		r = get("", (struct reply[]){ { 200, NULL, "[1]", 0, 0 } }, 1,
		    NULL, NULL, &served);
		u = url("/api/x.json?b=2&app_id=****");
		want = xasprintf("ERR:GET %s: not sent: Configured value for "
		    "field `request_max_attempts` must be at least 1 "
		    "(provider: Environment Variables, key: "
		    "RUNTIME__REQUEST_MAX_ATTEMPTS)", u);
		CHECK_STR(r, want);
		CHECK(served == 0);
		free(want);
		free(r);
		free(u);
		setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3", 1);
	}
	TEST("the secret is masked in the run's texts") {
		char	*m = logship_mask(run.logs, "x " APP_ID " y");

		CHECK_STR(m, "x **** y");
		free(m);
	}

	TEST("URLs: query merged and encoded, user info and secrets hidden") {
		struct http_query	 q = { 0 };
		char			 err[128], *base, *shown, *s;

		http_query_set(&q, "app_id", "s3cret", 1);
		CHECK(http_url_split("https://u:pw@h.example/a/b?x=1+2&y=%2F&"
		    "app_id=other#frag", NULL, &base, &shown, &q, err,
		    sizeof(err)) == 0);
		CHECK_STR(base, "https://u:pw@h.example/a/b");
		CHECK_STR(shown, "https://h.example/a/b");
		s = http_url_join(base, &q, 0);
		CHECK_STR(s, "https://u:pw@h.example/a/b?app_id=other&x=1%202&"
		    "y=%2F");
		free(s);
		s = http_url_join(shown, &q, 1);
		CHECK_STR(s, "https://h.example/a/b?app_id=****&x=1%202&y=%2F");
		free(s);
		free(base);
		free(shown);
		CHECK(http_url_split("../c?z=", "https://h.example/a/b", &base,
		    &shown, &q, err, sizeof(err)) == 0);
		CHECK_STR(base, "https://h.example/c");
		http_query_set(&q, "x", NULL, 0);
		s = http_url_join(base, &q, 0);
		CHECK_STR(s, "https://h.example/c?app_id=other&y=%2F&z=");
		free(s);
		free(base);
		free(shown);
		CHECK(http_url_split("/no-scheme", NULL, &base, &shown, &q,
		    err, sizeof(err)) == -1);
		CHECK_STR(err, "not a valid absolute URL");
		http_query_free(&q);
	}
	TEST("Link headers") {
		char *s = http_link_next("<https://a.example/p?page=2>; "
		    "rel=\"next\"", NULL);

		CHECK_STR(s, "https://a.example/p?page=2");
		free(s);
		s = http_link_next("<https://a.example/1>; rel=prev; "
		    "title=\"a, b\", <https://a.example/3>;rel=\"last\", "
		    "<?page=2>; rel=\"next\"", "https://a.example/p?page=1");
		CHECK_STR(s, "https://a.example/p?page=2");
		free(s);
		CHECK(http_link_next("<https://a.example/1>; rel=\"prev\"",
		    NULL) == NULL);
		CHECK(http_link_next("garbage", NULL) == NULL);
		CHECK(http_link_next("<unclosed; rel=next", NULL) == NULL);
	}
	TEST("Retry-After: seconds or an HTTP date") {
		time_t	now = curl_getdate("Sun, 06 Nov 1994 08:49:37 GMT",
			    NULL);

		CHECK(http_retry_after("120", now) == 120);
		CHECK(http_retry_after("0", now) == 0);
		CHECK(http_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now) ==
		    120);
		CHECK(http_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) ==
		    0);
		CHECK(http_retry_after("soon", now) == -1);
		CHECK(http_retry_after("-5", now) == -1);
		CHECK(http_retry_after(NULL, now) == -1);
	}
	TEST("retry waits: doubling, jittered, capped; Retry-After wins") {
		for (int i = 0; i < 200; i++) {
			int64_t w1 = http_retry_wait_ms(1, 300, 1, -1);
			int64_t w3 = http_retry_wait_ms(1, 300, 3, -1);
			int64_t w20 = http_retry_wait_ms(1, 300, 20, -1);

			/* dlt's 1, 2, 4 s ... with jitter on the upper half */
			CHECK(w1 >= 500 && w1 <= 1000);
			CHECK(w3 >= 2000 && w3 <= 4000);
			CHECK(w20 >= 150000 && w20 <= 300000);
		}
		CHECK(http_retry_wait_ms(1, 300, 1, 7) == 7000);
		CHECK(http_retry_wait_ms(1, 300, 4, 7) == 7000);
		/* a Retry-After beyond request_max_retry_delay waits that */
		CHECK(http_retry_wait_ms(1, 300, 1, 3600) == 300000);
		CHECK(http_retry_wait_ms(0, 300, 3, -1) == 0);
	}
	TEST("an API's own error words") {
		const char	*quota = "{\"error\": {\"message\": \"quota\"}}";
		char		*s = http_api_error(quota, strlen(quota));

		CHECK_STR(s, "quota");
		free(s);
		s = http_api_error("{\"detail\": \"Not found\"}", 23);
		CHECK_STR(s, "Not found");
		free(s);
		s = http_api_error("\n  upstream timed out\nmore", 26);
		CHECK_STR(s, "upstream timed out");
		free(s);
		CHECK(http_api_error("", 0) == NULL);
	}
	close_run();
	curl_global_cleanup();
	return t_done();
}
