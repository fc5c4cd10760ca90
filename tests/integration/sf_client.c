/*
 * sf_client.c: drives snowflake/session.h for the integration tests
 * (test_snowflake_session.py), one command per line, so a test can act
 * on the peer between two statements.
 *
 * The session's settings come from the environment: SF_HOST,
 * SF_PROTOCOL, SF_USER, SF_PASSWORD, SF_AUTHENTICATOR, SF_PRIVATE_KEY
 * (or SF_PRIVATE_KEY_FILE), SF_PRIVATE_KEY_PASSPHRASE, SF_DATABASE,
 * SF_SCHEMA, SF_WAREHOUSE, SF_ROLE, SF_TIMEZONE; SF_LOG=debug logs
 * every request. It logs in, prints {"ok": true} (or {"ok": false,
 * "error": ...} and exits 1), then reads JSON lines on stdin:
 *
 *   {"sql": "...", "binds": [{"type": "FIXED", "values": ["1", null]}]}
 *   {"heartbeat": true}
 *
 * and answers each with one line: {"ok": true, "rowtype": [...],
 * "rows": [...], "changed": N, "query_id": "..."} or {"ok": false,
 * "error": "..."}. End of input closes the session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "common/log.h"
#include "common/util.h"
#include "snowflake/session.h"

#define LINE_MAX_BYTES	(64u << 20)

static void
answer(int ok, const char *error, struct sf_result *res)
{
	cJSON	*a = cJSON_CreateObject();
	char	*text;

	cJSON_AddBoolToObject(a, "ok", ok);
	if (error != NULL)
		cJSON_AddStringToObject(a, "error", error);
	if (res != NULL && ok) {
		cJSON_AddItemToObject(a, "rowtype", res->rowtype);
		cJSON_AddItemToObject(a, "rows", res->rows);
		cJSON_AddNumberToObject(a, "changed", (double)res->changed);
		cJSON_AddStringToObject(a, "query_id", res->query_id);
		res->rowtype = res->rows = NULL;
	}
	text = cJSON_PrintUnformatted(a);
	printf("%s\n", text);
	fflush(stdout);
	free(text);
	cJSON_Delete(a);
}

/* binds from the command's "binds"; the strings stay in cmd. */
static struct sf_bind *
binds_of(const cJSON *cmd, size_t *n)
{
	const cJSON	*list = cJSON_GetObjectItem(cmd, "binds"), *b, *v;
	struct sf_bind	*out;
	size_t		 i = 0;

	*n = (size_t)cJSON_GetArraySize(list);
	out = xcalloc(*n + 1, sizeof(*out));
	cJSON_ArrayForEach(b, list) {
		const cJSON	*vals = cJSON_GetObjectItem(b, "values");
		const char	**vs;
		size_t		  k = 0;

		vs = xcalloc((size_t)cJSON_GetArraySize(vals) + 1,
		    sizeof(*vs));
		cJSON_ArrayForEach(v, vals)
			vs[k++] = cJSON_IsString(v) ? v->valuestring : NULL;
		out[i].type = cJSON_GetStringValue(cJSON_GetObjectItem(b,
		    "type"));
		out[i].values = vs;
		out[i++].nvalues = k;
	}
	return out;
}

static void
run(struct sf_session *s, const cJSON *cmd)
{
	struct sf_result	 res;
	struct sf_bind		*binds;
	const char		*sql;
	char			 err[1024];
	size_t			 n;

	sql = cJSON_GetStringValue(cJSON_GetObjectItem(cmd, "sql"));
	if (cJSON_IsTrue(cJSON_GetObjectItem(cmd, "heartbeat"))) {
		if (sf_heartbeat(s, err, sizeof(err)) == 0)
			answer(1, NULL, NULL);
		else
			answer(0, err, NULL);
		return;
	}
	if (sql == NULL) {
		answer(0, "a command is {\"sql\": ...} or {\"heartbeat\": "
		    "true}", NULL);
		return;
	}
	binds = binds_of(cmd, &n);
	if (sf_query(s, sql, binds, n, &res, err, sizeof(err)) == 0)
		answer(1, NULL, &res);
	else
		answer(0, err, NULL);
	sf_result_free(&res);
	for (size_t i = 0; i < n; i++)
		free((void *)binds[i].values);
	free(binds);
}

static const char *
env(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

int
main(void)
{
	struct sf_conf		 c = { 0 };
	struct sf_session	*s;
	char			 err[1024], *key = NULL, *line = NULL;
	size_t			 cap = 0;
	ssize_t			 len;

	log_init(env("SF_LOG") && strcmp(env("SF_LOG"), "debug") == 0 ?
	    LOG_LVL_DEBUG : LOG_LVL_INFO, "[sf_client]");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c.host = env("SF_HOST");
	c.protocol = env("SF_PROTOCOL");
	c.user = env("SF_USER");
	c.password = env("SF_PASSWORD");
	c.authenticator = env("SF_AUTHENTICATOR");
	c.private_key = env("SF_PRIVATE_KEY");
	if (c.private_key == NULL && env("SF_PRIVATE_KEY_FILE") != NULL &&
	    (c.private_key = key = read_file_max(env("SF_PRIVATE_KEY_FILE"),
	    1 << 16, NULL, err, sizeof(err))) == NULL) {
		answer(0, err, NULL);
		return 1;
	}
	c.private_key_passphrase = env("SF_PRIVATE_KEY_PASSPHRASE");
	c.database = env("SF_DATABASE");
	c.schema = env("SF_SCHEMA");
	c.warehouse = env("SF_WAREHOUSE");
	c.role = env("SF_ROLE");
	c.timezone = env("SF_TIMEZONE");
	s = sf_open(&c, err, sizeof(err));
	free(key);
	if (s == NULL) {
		answer(0, err, NULL);
		curl_global_cleanup();
		return 1;
	}
	answer(1, NULL, NULL);
	while ((len = getline(&line, &cap, stdin)) > 0) {
		cJSON	*cmd;

		if ((size_t)len > LINE_MAX_BYTES ||
		    (cmd = cJSON_Parse(line)) == NULL) {
			answer(0, "a command line is one JSON object", NULL);
			continue;
		}
		run(s, cmd);
		cJSON_Delete(cmd);
	}
	free(line);
	sf_close(s);
	curl_global_cleanup();
	return 0;
}
