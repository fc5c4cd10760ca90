/*
 * http_url.c: URLs, query parameters and error words for the HTTP
 * source helper (http_source.h). URLs are parsed and resolved by
 * libcurl's URL API; parameters are kept decoded and encoded again
 * when the URL is put together, so a secret's value can be replaced
 * by **** in the URL that is shown, and nowhere else.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "common/log.h"
#include "common/util.h"
#include "sdk/http_source.h"
#include "common/redact.h"

void
http_query_free(struct http_query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->v[i].name);
		free(q->v[i].value);
	}
	free(q->v);
	q->v = NULL;
	q->n = 0;
}

void
http_query_set(struct http_query *q, const char *name, const char *value,
    int secret)
{
	size_t	i;

	for (i = 0; i < q->n && strcmp(q->v[i].name, name) != 0; i++)
		;
	if (value == NULL) {
		if (i == q->n)
			return;
		free(q->v[i].name);
		free(q->v[i].value);
		memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) *
		    sizeof(q->v[0]));
		q->n--;
		return;
	}
	if (i == q->n) {
		q->v = xrealloc(q->v, (q->n + 1) * sizeof(q->v[0]));
		q->v[i].name = xstrdup(name);
		q->v[i].value = NULL;
		q->v[i].secret = 0;
		q->n++;
	}
	free(q->v[i].value);
	q->v[i].value = xstrdup(value);
	q->v[i].secret |= secret;
}

/* A form-encoded component ('+' is a space), decoded. Caller frees. */
static char *
decode(const char *s, size_t len)
{
	char	*copy = xmalloc(len + 1), *out, *dec;

	for (size_t i = 0; i < len; i++)
		copy[i] = s[i] == '+' ? ' ' : s[i];
	copy[len] = '\0';
	dec = curl_easy_unescape(NULL, copy, (int)len, NULL);
	free(copy);
	if (dec == NULL)
		return xstrdup("");
	out = xstrdup(dec);
	curl_free(dec);
	return out;
}

/* name=value&... (encoded) into q. */
static void
query_parse(struct http_query *q, const char *query)
{
	const char	*p = query;

	while (p != NULL && *p != '\0') {
		const char	*amp = strchr(p, '&'), *eq;
		size_t		 len = amp ? (size_t)(amp - p) : strlen(p);
		char		*name, *value;

		eq = memchr(p, '=', len);
		name = decode(p, eq ? (size_t)(eq - p) : len);
		value = eq ? decode(eq + 1, len - (size_t)(eq + 1 - p)) :
		    xstrdup("");
		if (name[0] != '\0')
			http_query_set(q, name, value, 0);
		free(name);
		free(value);
		p = amp ? amp + 1 : NULL;
	}
}

/* An URL part, or NULL. Caller frees. */
static char *
part(CURLU *u, CURLUPart what)
{
	char	*s = NULL, *out;

	if (curl_url_get(u, what, &s, 0) != CURLUE_OK || s == NULL)
		return NULL;
	out = xstrdup(s);
	curl_free(s);
	return out;
}

int
http_url_split(const char *url, const char *base, char **out_base,
    char **out_shown, struct http_query *q, char *err, size_t errlen)
{
	CURLU	*u = curl_url();
	char	*scheme = NULL, *query = NULL;
	int	 rc = -1;

	*out_base = *out_shown = NULL;
	if (u == NULL)
		return errorf(err, errlen, "out of memory");
	/* The URL itself is never quoted: it may hold a secret. */
	if (base != NULL && curl_url_set(u, CURLUPART_URL, base, 0) !=
	    CURLUE_OK) {
		errorf(err, errlen, "the request's URL is not valid");
		goto out;
	}
	if (url == NULL || curl_url_set(u, CURLUPART_URL, url, 0) !=
	    CURLUE_OK) {
		errorf(err, errlen, "not a valid absolute URL");
		goto out;
	}
	scheme = part(u, CURLUPART_SCHEME);
	if (scheme == NULL || (strcmp(scheme, "http") != 0 &&
	    strcmp(scheme, "https") != 0)) {
		errorf(err, errlen, "not an http or https URL");
		goto out;
	}
	query = part(u, CURLUPART_QUERY);
	curl_url_set(u, CURLUPART_QUERY, NULL, 0);
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	*out_base = part(u, CURLUPART_URL);
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	*out_shown = part(u, CURLUPART_URL);
	if (*out_base == NULL || *out_shown == NULL) {
		free(*out_base);
		free(*out_shown);
		*out_base = *out_shown = NULL;
		errorf(err, errlen, "not a valid absolute URL");
		goto out;
	}
	query_parse(q, query);
	rc = 0;
out:
	free(scheme);
	free(query);
	curl_url_cleanup(u);
	return rc;
}

static void
append_escaped(struct buf *b, const char *s)
{
	char	*e = curl_easy_escape(NULL, s, 0);

	if (e == NULL)
		fatalx("out of memory");
	buf_append(b, e, strlen(e));
	curl_free(e);
}

char *
http_url_join(const char *base, const struct http_query *q, int shown)
{
	struct buf	b;

	buf_init(&b, SIZE_MAX / 2);
	buf_append(&b, base, strlen(base));
	for (size_t i = 0; i < q->n; i++) {
		buf_append(&b, i ? "&" : "?", 1);
		append_escaped(&b, q->v[i].name);
		buf_append(&b, "=", 1);
		if (shown && q->v[i].secret)
			buf_append(&b, REDACT_MASK, strlen(REDACT_MASK));
		else
			append_escaped(&b, q->v[i].value);
	}
	return buf_steal(&b);
}

/* Does the rel value (a space-separated list, maybe quoted) say next? */
static int
rel_is_next(const char *v, size_t len)
{
	size_t	i = 0;

	while (i < len) {
		size_t	start;

		while (i < len && (v[i] == ' ' || v[i] == '"'))
			i++;
		start = i;
		while (i < len && v[i] != ' ' && v[i] != '"')
			i++;
		if (i - start == 4 && strncasecmp(v + start, "next", 4) == 0)
			return 1;
	}
	return 0;
}

/* One link's parameters, from p to its end; sets *next. Returns the end. */
static const char *
link_params(const char *p, int *next)
{
	while (*p != '\0' && *p != ',') {
		const char	*name, *val;
		size_t		 nlen, vlen;
		int		 quoted;

		while (*p == ';' || *p == ' ' || *p == '\t')
			p++;
		name = p;
		while (*p != '\0' && *p != '=' && *p != ';' && *p != ',')
			p++;
		nlen = (size_t)(p - name);
		while (nlen > 0 && (name[nlen - 1] == ' ' ||
		    name[nlen - 1] == '\t'))
			nlen--;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		quoted = *p == '"';
		val = p += quoted;
		while (*p != '\0' && (quoted ? *p != '"' :
		    (*p != ';' && *p != ',')))
			p++;
		vlen = (size_t)(p - val);
		if (quoted && *p == '"')
			p++;
		if (nlen == 3 && strncasecmp(name, "rel", 3) == 0 &&
		    rel_is_next(val, vlen))
			*next = 1;
	}
	return p;
}

char *
http_link_next(const char *link, const char *url)
{
	const char	*p = link;

	while (p != NULL && *p != '\0') {
		const char	*lt, *gt;
		int		 next = 0;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if ((lt = strchr(p, '<')) == NULL ||
		    (gt = strchr(lt, '>')) == NULL)
			return NULL;
		p = link_params(gt + 1, &next);
		if (next) {
			CURLU	*u = curl_url();
			char	*target = xasprintf("%.*s",
				    (int)(gt - lt - 1), lt + 1), *out = NULL;

			if (u != NULL && (url == NULL || curl_url_set(u,
			    CURLUPART_URL, url, 0) == CURLUE_OK) &&
			    curl_url_set(u, CURLUPART_URL, target, 0) ==
			    CURLUE_OK)
				out = part(u, CURLUPART_URL);
			curl_url_cleanup(u);
			free(target);
			return out;
		}
	}
	return NULL;
}

/* A string field of obj, or NULL. */
static const char *
field(const cJSON *obj, const char *name)
{
	const cJSON	*it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(it) && it->valuestring[0] != '\0' ?
	    it->valuestring : NULL;
}

/* The first line of a text body, printable, at most 200 bytes. */
static char *
first_line(const char *body, size_t len)
{
	struct buf	b;
	size_t		i = 0;

	while (i < len && isspace((unsigned char)body[i]))
		i++;
	buf_init(&b, 200);
	for (; i < len && body[i] != '\n' && body[i] != '\r'; i++) {
		char	c = (unsigned char)body[i] < ' ' ? ' ' : body[i];

		if (buf_append(&b, &c, 1) == -1)
			break;
	}
	if (b.len == 0) {
		buf_cleanup(&b);
		return NULL;
	}
	return buf_steal(&b);
}

char *
http_api_error(const char *body, size_t len)
{
	static const char *const names[] = { "message", "error", "detail",
	    "description", "error_description", "title", NULL };
	cJSON		*doc;
	const cJSON	*err;
	const char	*msg, *desc;
	char		*out = NULL;

	if (body == NULL || len == 0)
		return NULL;
	doc = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return first_line(body, len);
	}
	/* OXR: {"error": true, "message": "invalid_app_id", "description": ...} */
	if ((msg = field(doc, "message")) != NULL &&
	    (desc = field(doc, "description")) != NULL)
		out = xasprintf("%s: %s", msg, desc);
	/* {"error": {"message": ...}}, as Google's and others. */
	err = cJSON_GetObjectItemCaseSensitive(doc, "error");
	if (out == NULL && cJSON_IsObject(err) &&
	    (msg = field(err, "message")) != NULL)
		out = xstrdup(msg);
	for (int i = 0; out == NULL && names[i] != NULL; i++)
		if ((msg = field(doc, names[i])) != NULL)
			out = xstrdup(msg);
	cJSON_Delete(doc);
	return out != NULL ? out : first_line(body, len);
}
