/*
 * session.c: a Snowflake session's life: the login request as the
 * Python connector sends it (auth/_auth.py, auth/keypair.py), renewal
 * with the master token, heartbeats, and the session's deletion.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "snowflake/jwt.h"
#include "snowflake/login.h"
#include "snowflake/session.h"
#include "snowflake/url.h"

#define LOGIN_DEADLINE_MS	120000	/* the connector's login_timeout */
#define CLOSE_TIMEOUT_MS	5000	/* the connector's, deleting */

static char *
dup_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

static void
free_secret(char **s)
{
	if (*s != NULL) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* The connector's CLIENT_ENVIRONMENT, the fields that apply to us. */
static cJSON *
client_environment(void)
{
	struct utsname	 u;
	cJSON		*env = cJSON_CreateObject();
	char		*v;

	cJSON_AddStringToObject(env, "APPLICATION", "pfagent");
	if (uname(&u) == 0) {
		cJSON_AddStringToObject(env, "OS", u.sysname);
		v = xasprintf("%s-%s-%s", u.sysname, u.release, u.machine);
		cJSON_AddStringToObject(env, "OS_VERSION", v);
		free(v);
	}
	cJSON_AddNumberToObject(env, "LOGIN_TIMEOUT",
	    LOGIN_DEADLINE_MS / 1000);
	return env;
}

/* The login request's body, with a fresh JWT for a key-pair login. */
static char *
login_body(void *arg, char *err, size_t errlen)
{
	struct sf_session	*s = arg;
	cJSON			*root, *data, *params, *secret;
	char			*jwt = NULL, *text;

	if (s->key != NULL && (jwt = sf_jwt(s->key, s->account, s->user,
	    realtime_us() / 1000000, SF_JWT_LIFETIME, err, errlen)) == NULL)
		return NULL;
	root = cJSON_CreateObject();
	data = cJSON_AddObjectToObject(root, "data");
	cJSON_AddStringToObject(data, "CLIENT_APP_ID", "pfagent");
	cJSON_AddStringToObject(data, "CLIENT_APP_VERSION", PFAGENT_VERSION);
	cJSON_AddStringToObject(data, "ACCOUNT_NAME", s->account);
	cJSON_AddStringToObject(data, "LOGIN_NAME", s->user);
	cJSON_AddItemToObject(data, "CLIENT_ENVIRONMENT",
	    client_environment());
	if (jwt != NULL) {
		cJSON_AddStringToObject(data, "AUTHENTICATOR", "SNOWFLAKE_JWT");
		cJSON_AddStringToObject(data, "TOKEN", jwt);
		OPENSSL_cleanse(jwt, strlen(jwt));
		free(jwt);
	} else
		cJSON_AddStringToObject(data, "PASSWORD", s->password);
	params = cJSON_AddObjectToObject(data, "SESSION_PARAMETERS");
	/* We send our own heartbeats (sf_heartbeat), when a load needs. */
	cJSON_AddBoolToObject(params, "CLIENT_SESSION_KEEP_ALIVE", 0);
	if (s->timezone != NULL)
		cJSON_AddStringToObject(params, "TIMEZONE", s->timezone);
	text = json_print(root);
	/* The password or the JWT is in the tree's strings too. */
	secret = cJSON_GetObjectItem(data, s->key ? "TOKEN" : "PASSWORD");
	OPENSSL_cleanse(secret->valuestring, strlen(secret->valuestring));
	cJSON_Delete(root);
	return text;
}

static void
set_tokens(struct sf_session *s, const cJSON *data, const char *tkey)
{
	const char	*t = json_str(data, tkey);
	const char	*m = json_str(data, "masterToken");

	free_secret(&s->token);
	s->token = xstrdup(t);
	if (m != NULL) {
		free_secret(&s->master_token);
		s->master_token = xstrdup(m);
	}
}

int
sf_login(struct sf_session *s, char *err, size_t errlen)
{
	struct sf_req	 q = { 0 };
	struct buf	 path;
	cJSON		*ans = NULL;
	const cJSON	*data;
	char		 id[37], e[512];
	int		 rc;

	uuid4(id);
	buf_init(&path, 1u << 16);
	buf_puts(&path, "/session/v1/login-request");
	sf_url_param(&path, "request_id", id);
	sf_url_param(&path, "databaseName", s->database);
	sf_url_param(&path, "schemaName", s->schema);
	sf_url_param(&path, "warehouse", s->warehouse);
	sf_url_param(&path, "roleName", s->role);
	q.method = "POST";
	q.path = path.data;
	q.accept = "Accept: application/snowflake";
	q.rebody = login_body;
	q.arg = s;
	q.deadline_ms = LOGIN_DEADLINE_MS;
	rc = sf_rest_call(&s->rest, &q, &ans, e, sizeof(e));
	buf_cleanup(&path);
	if (rc == -1)
		return errorf(err, errlen, "login as %s to %s: %s", s->user,
		    s->host, e);
	data = json_obj(ans, "data");
	if (!cJSON_IsTrue(cJSON_GetObjectItem(ans, "success"))) {
		sf_answer_error(ans, e, sizeof(e));
		cJSON_Delete(ans);
		return errorf(err, errlen, "login as %s to %s failed: %s",
		    s->user, s->host, e);
	}
	if (json_str(data, "token") == NULL) {
		cJSON_Delete(ans);
		return errorf(err, errlen, "login as %s to %s: the answer "
		    "holds no session token", s->user, s->host);
	}
	set_tokens(s, data, "token");
	log_debug("snowflake: logged in to %s as %s", s->host, s->user);
	cJSON_Delete(ans);
	return 0;
}

const char *
sf_answer_code(const cJSON *answer, char buf[16])
{
	const cJSON	*c = cJSON_GetObjectItem(answer, "code");

	buf[0] = '\0';
	if (cJSON_IsString(c))
		snprintf(buf, 16, "%s", c->valuestring);
	else if (cJSON_IsNumber(c))
		snprintf(buf, 16, "%06.0f", c->valuedouble);
	return buf;
}

int
sf_session_gone(const char *code)
{
	/*
	 * 390112 session expired (the connector renews it); 390104 log in
	 * again, 390111 session gone, 390113-390115 master token missing,
	 * expired or invalid: the connector's ReauthenticationRequest set.
	 */
	static const char *const gone[] = { "390104", "390110", "390111",
	    "390112", "390113", "390114", "390115", NULL };

	for (size_t i = 0; gone[i] != NULL; i++)
		if (strcmp(code, gone[i]) == 0)
			return 1;
	return 0;
}

/* /session/token-request: a new session token for the master token. */
static int
renew(struct sf_session *s, char *err, size_t errlen)
{
	struct sf_req	 q = { 0 };
	struct buf	 path;
	cJSON		*body, *ans = NULL;
	char		*text, id[37];
	int		 rc = -1;

	uuid4(id);
	buf_init(&path, 4096);
	buf_puts(&path, "/session/token-request");
	sf_url_param(&path, "requestId", id);
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "oldSessionToken", s->token);
	cJSON_AddStringToObject(body, "requestType", "RENEW");
	text = json_print(body);
	OPENSSL_cleanse(cJSON_GetObjectItem(body, "oldSessionToken")->
	    valuestring, strlen(s->token));
	cJSON_Delete(body);
	q.method = "POST";
	q.path = path.data;
	q.token = s->master_token;
	q.body = text;
	if (sf_rest_call(&s->rest, &q, &ans, err, errlen) == 0) {
		if (cJSON_IsTrue(cJSON_GetObjectItem(ans, "success")) &&
		    json_str(json_obj(ans, "data"), "sessionToken") != NULL) {
			set_tokens(s, json_obj(ans, "data"), "sessionToken");
			rc = 0;
		} else
			sf_answer_error(ans, err, errlen);
	}
	cJSON_Delete(ans);
	free_secret(&text);
	buf_cleanup(&path);
	return rc;
}

int
sf_session_revive(struct sf_session *s, const char *code, char *err,
    size_t errlen)
{
	char	e[512];

	if (strcmp(code, "390112") == 0 && s->master_token != NULL) {
		if (renew(s, e, sizeof(e)) == 0) {
			log_info("snowflake: session on %s renewed", s->host);
			return 0;
		}
		if (s->in_transaction)
			return errorf(err, errlen, "the session on %s expired "
			    "in an open transaction and cannot be renewed (%s)",
			    s->host, e);
		log_info("snowflake: cannot renew the session on %s (%s): "
		    "logging in again", s->host, e);
	} else if (s->in_transaction)
		return errorf(err, errlen, "the session on %s is gone "
		    "(Snowflake %s) and its open transaction with it: the "
		    "statement is not run again in a new session", s->host,
		    code);
	else
		log_info("snowflake: session on %s gone (%s): logging in "
		    "again", s->host, code);
	return sf_login(s, err, errlen);
}

/* A message's own "002003 (42S02): " prefix (fakesnow writes one). */
static const char *
strip_code(const char *msg, const char *code)
{
	size_t	n = strlen(code);

	if (n > 0 && strncmp(msg, code, n) == 0) {
		const char	*p = msg + n, *end;

		if (p[0] == ' ' && p[1] == '(' && (end = strstr(p, "): ")))
			return end + 3;
		if (p[0] == ':' && p[1] == ' ')
			return p + 2;
	}
	return msg;
}

int
sf_answer_error(const cJSON *answer, char *err, size_t errlen)
{
	const cJSON	*data = json_obj(answer, "data");
	const char	*msg = json_str(answer, "message");
	const char	*state = json_str(data, "sqlState");
	const char	*qid = json_str(data, "queryId");
	char		 code[16];

	sf_answer_code(answer, code);
	if (msg == NULL)
		msg = json_str(data, "errorMessage");
	if (msg == NULL)
		msg = "(no message)";
	return errorf(err, errlen, "Snowflake error %s%s%s%s: %s%s%s%s",
	    *code ? code : "(no code)", state ? " (" : "", state ? state : "",
	    state ? ")" : "", strip_code(msg, code), qid ? " (query " : "",
	    qid ? qid : "", qid ? ")" : "");
}

static void
session_free(struct sf_session *s)
{
	sf_rest_cleanup(&s->rest);
	free(s->host);
	free(s->account);
	free(s->user);
	free_secret(&s->password);
	EVP_PKEY_free(s->key);
	free(s->database);
	free(s->schema);
	free(s->warehouse);
	free(s->role);
	free(s->timezone);
	free_secret(&s->token);
	free_secret(&s->master_token);
	free(s);
}

/* Which login the credentials ask for, as the connector decides. */
static int
pick_login(struct sf_session *s, const struct sf_conf *c, char *err,
    size_t errlen)
{
	const char	*a = c->authenticator;

	if (c->user == NULL || *c->user == '\0')
		return errorf(err, errlen, "username is missing");
	if (c->private_key != NULL && *c->private_key != '\0') {
		if ((s->key = sf_key_load(c->private_key,
		    c->private_key_passphrase, err, errlen)) == NULL)
			return -1;
		return 0;
	}
	if (a != NULL && *a != '\0' && strcasecmp(a, "snowflake") != 0) {
		if (strcasecmp(a, "snowflake_jwt") == 0)
			return errorf(err, errlen, "authenticator "
			    "snowflake_jwt needs private_key");
		return errorf(err, errlen, "authenticator %s is not "
		    "supported (snowflake: password, snowflake_jwt: key "
		    "pair)", a);
	}
	if (c->password == NULL || *c->password == '\0')
		return errorf(err, errlen, "password is missing (or give "
		    "private_key for a key-pair login)");
	s->password = xstrdup(c->password);
	return 0;
}

struct sf_session *
sf_open(const struct sf_conf *c, char *err, size_t errlen)
{
	struct sf_session	*s = xcalloc(1, sizeof(*s));
	struct sf_url		 u;

	if (sf_url_parse(c->host, c->protocol, &u, err, errlen) == -1) {
		free(s);
		return NULL;
	}
	sf_rest_init(&s->rest, u.base);
	s->host = xstrdup(strstr(u.base, "://") + 3);
	s->account = u.account;
	u.account = NULL;
	sf_url_cleanup(&u);
	s->user = dup_or_null(c->user);
	s->database = dup_or_null(c->database);
	s->schema = dup_or_null(c->schema);
	s->warehouse = dup_or_null(c->warehouse);
	s->role = dup_or_null(c->role);
	s->timezone = dup_or_null(c->timezone);
	if (pick_login(s, c, err, errlen) == -1 ||
	    sf_login(s, err, errlen) == -1) {
		session_free(s);
		return NULL;
	}
	return s;
}

int
sf_heartbeat(struct sf_session *s, char *err, size_t errlen)
{
	struct sf_req	 q = { 0 };
	struct buf	 path;
	cJSON		*ans = NULL;
	char		 id[37], code[16];
	int		 rc = -1;

	for (int tries = 0; tries < 2; tries++) {
		uuid4(id);
		buf_init(&path, 4096);
		buf_puts(&path, "/session/heartbeat");
		sf_url_param(&path, "requestId", id);
		q.method = "POST";
		q.path = path.data;
		q.token = s->token;
		rc = sf_rest_call(&s->rest, &q, &ans, err, errlen);
		buf_cleanup(&path);
		if (rc == -1)
			return -1;
		if (cJSON_IsTrue(cJSON_GetObjectItem(ans, "success")))
			break;
		rc = -1;
		if (tries > 0 || !sf_session_gone(sf_answer_code(ans, code))) {
			sf_answer_error(ans, err, errlen);
			break;
		}
		cJSON_Delete(ans);
		ans = NULL;
		if (sf_session_revive(s, code, err, errlen) == -1)
			return -1;
	}
	cJSON_Delete(ans);
	return rc;
}

void
sf_in_transaction(struct sf_session *s, int open)
{
	s->in_transaction = open;
}

void
sf_close(struct sf_session *s)
{
	struct sf_req	 q = { 0 };
	cJSON		*ans = NULL;
	char		 e[512];

	if (s == NULL)
		return;
	q.method = "POST";
	q.path = "/session?delete=true";
	q.token = s->token;
	q.body = "{}";
	q.deadline_ms = -1;
	q.timeout_ms = CLOSE_TIMEOUT_MS;
	if (sf_rest_call(&s->rest, &q, &ans, e, sizeof(e)) == -1)
		log_debug("snowflake: deleting the session: %s", e);
	cJSON_Delete(ans);
	session_free(s);
}
