/*
 * refs.c: template_resolver callbacks over the Prefect API:
 *   blocks      GET /block_types/slug/{slug}/block_documents/name/{name}
 *               ?include_secrets=true  -> "data"
 *   by id       GET /block_documents/{id}?include_secrets=true -> "data"
 *   variables   GET /variables/name/{name} -> "value"
 */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"
#include "deployments/refs.h"

/*
 * GETs path and moves the answer's field out into *out. Returns 0, 1 on
 * 404, -1 with err (what names the reference, never its value).
 */
static int
fetch_field(const struct http_settings *http, const char *path,
    const char *field, const char *what, cJSON **out, char *err,
    size_t errlen)
{
	struct http_resp r = {0};
	enum retry_class rc;
	cJSON		*doc, *v;
	int		 ret = -1;

	*out = NULL;
	rc = http_call(http, &retry_quick, "GET", path, NULL, &r);
	if (rc == RETRY_ANSWER && r.status == 404) {
		http_resp_cleanup(&r);
		return 1;
	}
	if (rc != RETRY_OK) {
		if (r.status == 0)
			errorf(err, errlen, "cannot read %s: %s", what,
			    r.error);
		else
			errorf(err, errlen, "cannot read %s: the API "
			    "answered %ld", what, r.status);
		http_resp_cleanup(&r);
		return -1;
	}
	doc = json_parse_answer(r.body, 0, NULL, 0);
	http_resp_cleanup(&r);
	if (doc == NULL || (v = cJSON_DetachItemFromObjectCaseSensitive(doc,
	    field)) == NULL) {
		errorf(err, errlen, "cannot read %s: the API's answer has no "
		    "\"%s\"", what, field);
	} else {
		*out = v;
		ret = 0;
	}
	cJSON_Delete(doc);
	return ret;
}

static int
block(const char *slug, const char *name, cJSON **out, char *err,
    size_t errlen, void *payload)
{
	char	*s = http_escape(slug), *n = http_escape(name);
	char	*path = xasprintf("/block_types/slug/%s/block_documents/name/"
	    "%s?include_secrets=true", s, n);
	char	*what = xasprintf("block '%s/%s'", slug, name);
	int	 rc = fetch_field(payload, path, "data", what, out, err,
	    errlen);

	free(s);
	free(n);
	free(path);
	free(what);
	return rc;
}

static int
block_by_id(const char *id, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	char	*i = http_escape(id);
	char	*path = xasprintf("/block_documents/%s?include_secrets=true",
	    i);
	char	*what = xasprintf("block document %s", id);
	int	 rc = fetch_field(payload, path, "data", what, out, err,
	    errlen);

	free(i);
	free(path);
	free(what);
	return rc;
}

static int
variable(const char *name, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	char	*n = http_escape(name);
	char	*path = xasprintf("/variables/name/%s", n);
	char	*what = xasprintf("variable '%s'", name);
	int	 rc = fetch_field(payload, path, "value", what, out, err,
	    errlen);

	free(n);
	free(path);
	free(what);
	return rc;
}

struct template_resolver
refs_resolver(const struct http_settings *http)
{
	struct template_resolver r = {
		.block = block,
		.block_by_id = block_by_id,
		.variable = variable,
		.payload = (void *)http,
	};

	return r;
}
