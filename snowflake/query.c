/*
 * query.c: one statement over /queries/v1/query-request, as the
 * connector runs it (connection.py cmd_query, network.py
 * _post_request): one requestId for all its attempts, so that Snowflake
 * runs a retried statement once; a session the server turned away
 * revived and the statement asked again; "in progress" answers polled
 * at their getResultUrl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "snowflake/login.h"
#include "snowflake/query.h"
#include "snowflake/result.h"
#include "snowflake/session.h"
#include "snowflake/url.h"

#define REVIVES		2	/* logins again within one statement */
#define POLL_MAX_MS	1000	/* longest wait between polls */

/* ANY: the connector's type for a lone null (converter.py). */
static const char *const bind_types[] = { "FIXED", "REAL", "TEXT",
    "BOOLEAN", "DATE", "TIME", "TIMESTAMP_NTZ", "TIMESTAMP_LTZ",
    "TIMESTAMP_TZ", "BINARY", "ANY", NULL };

static int
known_type(const char *t)
{
	for (size_t i = 0; bind_types[i] != NULL; i++)
		if (strcmp(t, bind_types[i]) == 0)
			return 1;
	return 0;
}

static cJSON *
value(const char *v)
{
	return v != NULL ? cJSON_CreateString(v) : cJSON_CreateNull();
}

/* Rows of the statement: 1, or the common length of its arrays. */
static int
rows_of(const struct sf_bind *b, size_t n, size_t *rows, char *err,
    size_t errlen)
{
	*rows = 1;
	for (size_t i = 0; i < n; i++) {
		if (b[i].type == NULL || !known_type(b[i].type))
			return errorf(err, errlen, "bind %zu: type %s is not "
			    "one of Snowflake's bind types", i + 1,
			    b[i].type ? b[i].type : "(none)");
		if (b[i].nvalues == 0 || b[i].values == NULL)
			return errorf(err, errlen, "bind %zu has no value",
			    i + 1);
		if (b[i].nvalues > 1 && *rows == 1)
			*rows = b[i].nvalues;
	}
	for (size_t i = 0; i < n; i++)
		if (b[i].nvalues != *rows)
			return errorf(err, errlen, "bind %zu has %zu values, "
			    "others %zu: an array bind has one value per row",
			    i + 1, b[i].nvalues, *rows);
	return 0;
}

char *
sf_query_body(const char *sql, const struct sf_bind *binds, size_t nbinds,
    long long sequence, int64_t submitted_ms, char *err, size_t errlen)
{
	cJSON	*root, *bindings, *one, *arr;
	char	 key[24], *text;
	size_t	 rows;

	if (nbinds > 0 && rows_of(binds, nbinds, &rows, err, errlen) == -1)
		return NULL;
	root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "sqlText", sql);
	cJSON_AddBoolToObject(root, "asyncExec", 0);
	cJSON_AddNumberToObject(root, "sequenceId", (double)sequence);
	cJSON_AddNumberToObject(root, "querySubmissionTime",
	    (double)submitted_ms);
	if (nbinds > 0) {
		bindings = cJSON_AddObjectToObject(root, "bindings");
		for (size_t i = 0; i < nbinds; i++) {
			snprintf(key, sizeof(key), "%zu", i + 1);
			one = cJSON_AddObjectToObject(bindings, key);
			cJSON_AddStringToObject(one, "type", binds[i].type);
			if (rows == 1) {
				cJSON_AddItemToObject(one, "value",
				    value(binds[i].values[0]));
				continue;
			}
			arr = cJSON_AddArrayToObject(one, "value");
			for (size_t r = 0; r < rows; r++)
				cJSON_AddItemToArray(arr,
				    value(binds[i].values[r]));
		}
	}
	text = json_print(root);
	cJSON_Delete(root);
	return text;
}

/*
 * Sends q (its token the session's current one); a session the server
 * turned away is revived and q sent again, unchanged. *ans is the
 * answer, successful or not.
 */
static int
ask(struct sf_session *s, struct sf_req *q, cJSON **ans, char *err,
    size_t errlen)
{
	char	code[16];

	for (int revived = 0;; revived++) {
		q->token = s->token;
		if (sf_rest_call(&s->rest, q, ans, err, errlen) == -1)
			return -1;
		if (cJSON_IsTrue(cJSON_GetObjectItem(*ans, "success")) ||
		    revived == REVIVES ||
		    !sf_session_gone(sf_answer_code(*ans, code)))
			return 0;
		cJSON_Delete(*ans);
		*ans = NULL;
		if (sf_session_revive(s, code, err, errlen) == -1)
			return -1;
	}
}

static int
in_progress(const cJSON *ans)
{
	char	code[16];

	sf_answer_code(ans, code);
	return strcmp(code, "333333") == 0 || strcmp(code, "333334") == 0;
}

/* Polls a running statement's getResultUrl until it has an answer. */
static int
poll(struct sf_session *s, cJSON **ans, char *err, size_t errlen)
{
	struct sf_req	 q = { 0 };
	int64_t		 wait = 0;
	char		*path;
	const char	*url;

	while (in_progress(*ans)) {
		url = json_str(json_obj(*ans, "data"), "getResultUrl");
		if (url == NULL || url[0] != '/')
			return errorf(err, errlen, "a statement in progress "
			    "without a getResultUrl path");
		path = xstrdup(url);
		cJSON_Delete(*ans);
		*ans = NULL;
		/* Snowflake holds a poll up to ~45 s; a peer may not. */
		sleep_ms(wait);
		wait = wait == 0 ? 50 : wait * 2 > POLL_MAX_MS ? POLL_MAX_MS :
		    wait * 2;
		q.method = "GET";
		q.path = path;
		q.accept = "Accept: application/snowflake";
		if (ask(s, &q, ans, err, errlen) == -1) {
			free(path);
			return -1;
		}
		free(path);
	}
	return 0;
}

int
sf_query(struct sf_session *s, const char *sql, const struct sf_bind *binds,
    size_t nbinds, struct sf_result *res, char *err, size_t errlen)
{
	struct sf_result	 own;
	struct sf_req		 q = { 0 };
	struct buf		 path;
	cJSON			*ans = NULL;
	char			*body, id[37];
	int			 rc;

	if (res == NULL)
		res = &own;
	memset(res, 0, sizeof(*res));
	if ((body = sf_query_body(sql, binds, nbinds, s->sequence + 1,
	    realtime_us() / 1000, err, errlen)) == NULL)
		return -1;
	s->sequence++;
	uuid4(id);
	buf_init(&path, 4096);
	buf_puts(&path, "/queries/v1/query-request");
	sf_url_param(&path, "requestId", id);
	q.method = "POST";
	q.path = path.data;
	q.body = body;
	q.accept = "Accept: application/snowflake";
	q.retry_params = 1;
	rc = ask(s, &q, &ans, err, errlen);
	/* Binds may carry data worth keeping private. */
	OPENSSL_cleanse(body, strlen(body));
	free(body);
	buf_cleanup(&path);
	if (rc == 0)
		rc = poll(s, &ans, err, errlen);
	if (rc == 0 && !cJSON_IsTrue(cJSON_GetObjectItem(ans, "success")))
		rc = sf_answer_error(ans, err, errlen);
	else if (rc == 0)
		rc = sf_result_read(&s->rest, json_obj(ans, "data"), res, err,
		    errlen);
	/* PUT and GET: what the file transfer needs (snowflake/stage.h). */
	if (rc == 0 && cJSON_GetObjectItem(json_obj(ans, "data"),
	    "stageInfo") != NULL)
		res->data = cJSON_Duplicate(json_obj(ans, "data"), 1);
	cJSON_Delete(ans);
	if (res == &own)
		sf_result_free(&own);
	return rc;
}

void
sf_result_free(struct sf_result *r)
{
	if (r == NULL)
		return;
	cJSON_Delete(r->rowtype);
	cJSON_Delete(r->rows);
	cJSON_Delete(r->data);
	memset(r, 0, sizeof(*r));
}
