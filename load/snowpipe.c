/*
 * snowpipe.c: Snowpipe's REST API, insertFiles then insertReport, with a
 * key-pair JWT (load/snowpipe.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "aws/awshttp.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/retry.h"
#include "common/util.h"
#include "config/cfg.h"
#include "load/snowpipe.h"
#include "snowflake/jwt.h"

#define ATTEMPTS	6

struct ld_snowpipe {
	char		*mode, *pipe, *table, *account, *user, *base;
	EVP_PKEY	*key;
	long long	 timeout_s;
};

static const struct retry_policy pipe_retry = { 500, 5000, 60000 };

static char *
opt(struct cfg *cfg, const char *dest, const char *key, int flags,
    char *err, size_t errlen, int *failed)
{
	struct cfg_value v;
	char		*dotted, *s = NULL;

	dotted = xasprintf("destination.%s.snowpipe.%s", dest, key);
	if (cfg_get(cfg, dotted, flags | CFG_OPTIONAL, &v, err, errlen) ==
	    -1) {
		*failed = 1;
		free(dotted);
		return NULL;
	}
	free(dotted);
	if (cfg_value_str(&v) != NULL && *cfg_value_str(&v))
		s = xstrdup(cfg_value_str(&v));
	else if (v.value != NULL && !cJSON_IsNull(v.value))
		s = cfg_value_text(&v, 1);
	cfg_value_cleanup(&v);
	return s;
}

static void
free_secret(char *s)
{
	if (s != NULL)
		OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static int
check_keys(struct ld_snowpipe *sp, const char *dest, const char *pk,
    char *err, size_t errlen)
{
	if (strcmp(sp->mode, "rest") != 0 &&
	    strcmp(sp->mode, "auto_ingest") != 0)
		return errorf(err, errlen, "destination.%s.snowpipe.mode `%s` "
		    "is neither rest nor auto_ingest", dest, sp->mode);
	if (sp->table == NULL)
		return errorf(err, errlen, "destination.%s.snowpipe.table is "
		    "not set: the table whose files the pipe copies", dest);
	if (sp->account == NULL || sp->user == NULL || pk == NULL)
		return errorf(err, errlen, "destination.%s.snowpipe needs "
		    "account, user and private_key (the key-pair user that "
		    "hands files to the pipe or reads its load history)", dest);
	return 0;
}

int
ld_snowpipe_open(struct cfg *cfg, const char *dest, const char *pipeline,
    struct ld_snowpipe **out, char *err, size_t errlen)
{
	struct ld_snowpipe	*sp;
	char			*pk, *pass, *host, *proto, *timeout;
	int			 failed = 0, rc = 0;

	(void)pipeline;
	*out = NULL;
	sp = xcalloc(1, sizeof(*sp));
	sp->pipe = opt(cfg, dest, "pipe", 0, err, errlen, &failed);
	if (failed || sp->pipe == NULL) {
		ld_snowpipe_close(sp);
		return failed ? -1 : 0;
	}
	sp->mode = opt(cfg, dest, "mode", 0, err, errlen, &failed);
	sp->table = opt(cfg, dest, "table", 0, err, errlen, &failed);
	sp->account = opt(cfg, dest, "account", 0, err, errlen, &failed);
	sp->user = opt(cfg, dest, "user", 0, err, errlen, &failed);
	pk = opt(cfg, dest, "private_key", CFG_SECRET, err, errlen, &failed);
	pass = opt(cfg, dest, "private_key_passphrase", CFG_SECRET, err,
	    errlen, &failed);
	host = opt(cfg, dest, "host", 0, err, errlen, &failed);
	proto = opt(cfg, dest, "protocol", 0, err, errlen, &failed);
	timeout = opt(cfg, dest, "timeout", 0, err, errlen, &failed);
	if (sp->mode == NULL)
		sp->mode = xstrdup("rest");
	sp->timeout_s = timeout != NULL ? atoll(timeout) : 600;
	if (failed || check_keys(sp, dest, pk, err, errlen) == -1)
		rc = -1;
	else {
		sp->base = host != NULL ? xasprintf("%s://%s", proto ? proto :
		    "https", host) : xasprintf("%s://%s.snowflakecomputing.com",
		    proto ? proto : "https", sp->account);
		if ((sp->key = sf_key_load(pk, pass, err, errlen)) == NULL)
			rc = -1;
	}
	free_secret(pk);
	free_secret(pass);
	free(host);
	free(proto);
	free(timeout);
	if (rc == -1)
		ld_snowpipe_close(sp);
	else
		*out = sp;
	return rc;
}

void
ld_snowpipe_close(struct ld_snowpipe *sp)
{
	if (sp == NULL)
		return;
	free(sp->mode);
	free(sp->pipe);
	free(sp->table);
	free(sp->account);
	free(sp->user);
	free(sp->base);
	EVP_PKEY_free(sp->key);
	free(sp);
}

const char *
ld_snowpipe_table(const struct ld_snowpipe *sp)
{
	return sp->table;
}

const char *
ld_snowpipe_mode(const struct ld_snowpipe *sp)
{
	return sp->mode;
}

void
ld_snowpipe_report_cleanup(struct ld_snowpipe_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->f[i].path);
		free(r->f[i].status);
		free(r->f[i].error);
	}
	free(r->f);
	memset(r, 0, sizeof(*r));
}

int
ld_snowpipe_parse_report(const char *body, struct ld_snowpipe_report *rep,
    char **next)
{
	cJSON		*doc = cJSON_Parse(body);
	const cJSON	*f;
	const char	*mark;

	*next = NULL;
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return -1;
	}
	if ((mark = cJSON_GetStringValue(cJSON_GetObjectItem(doc,
	    "nextBeginMark"))) != NULL)
		*next = xstrdup(mark);
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(doc, "files")) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(f,
		    "path"));
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(f,
		    "status"));
		const char *fe = cJSON_GetStringValue(cJSON_GetObjectItem(f,
		    "firstError"));
		const cJSON *rows = cJSON_GetObjectItem(f, "rowsInserted");

		for (size_t i = 0; path != NULL && st != NULL && i < rep->n;
		    i++) {
			if (strcmp(rep->f[i].path, path) != 0)
				continue;
			free(rep->f[i].status);
			rep->f[i].status = xstrdup(st);
			rep->f[i].rows = cJSON_IsNumber(rows) ?
			    (long long)rows->valuedouble : 0;
			free(rep->f[i].error);
			rep->f[i].error = fe != NULL ? xstrdup(fe) : NULL;
		}
	}
	cJSON_Delete(doc);
	return 0;
}

/* ------------------------------------------------------- requests */

/* One call with a fresh JWT, retried on 5xx, 429 and no answer. */
static int
pipe_call(struct ld_snowpipe *sp, const char *method, const char *url,
    const char *body, struct awshttp_resp *r, char *err, size_t errlen)
{
	for (int attempt = 1; ; attempt++) {
		char	*jwt, *hdr[5];

		jwt = sf_jwt(sp->key, sp->account, sp->user,
		    (int64_t)time(NULL), SF_JWT_LIFETIME, err, errlen);
		if (jwt == NULL)
			return -1;
		hdr[0] = xasprintf("Authorization: Bearer %s", jwt);
		hdr[1] = xstrdup("X-Snowflake-Authorization-Token-Type: "
		    "KEYPAIR_JWT");
		hdr[2] = xstrdup("Content-Type: application/json");
		hdr[3] = xstrdup("Accept: application/json");
		hdr[4] = NULL;
		awshttp_do(method, url, (const char *const *)hdr, body, 30000,
		    r);
		OPENSSL_cleanse(hdr[0], strlen(hdr[0]));
		for (int i = 0; i < 4; i++)
			free(hdr[i]);
		free_secret(jwt);
		if (!(r->status == 0 || r->status >= 500 || r->status == 429) ||
		    attempt >= ATTEMPTS)
			break;
		awshttp_resp_cleanup(r);
		sleep_ms(retry_delay_ms(&pipe_retry, attempt, -1));
	}
	if (r->status == 0)
		return errorf(err, errlen, "%s", r->error);
	if (r->status != 200) {
		cJSON		*doc = cJSON_Parse(r->body);
		const char	*msg = cJSON_GetStringValue(
		    cJSON_GetObjectItem(doc, "message"));
		const char	*code = cJSON_GetStringValue(
		    cJSON_GetObjectItem(doc, "code"));

		errorf(err, errlen, "HTTP %ld%s%s%s%s", r->status,
		    code ? " " : "", code ? code : "", msg ? ": " : "",
		    msg ? msg : "");
		cJSON_Delete(doc);
		return -1;
	}
	return 0;
}

static int
insert_files(struct ld_snowpipe *sp, const char *const *paths, size_t n,
    char *err, size_t errlen)
{
	cJSON			*doc = cJSON_CreateObject(), *files;
	char			 id[37], *body, *url;
	struct awshttp_resp	 r;
	int			 rc;

	files = cJSON_AddArrayToObject(doc, "files");
	for (size_t i = 0; i < n; i++) {
		cJSON *f = cJSON_CreateObject();

		cJSON_AddStringToObject(f, "path", paths[i]);
		cJSON_AddItemToArray(files, f);
	}
	body = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	uuid4(id);
	url = xasprintf("%s/v1/data/pipes/%s/insertFiles?requestId=%s",
	    sp->base, sp->pipe, id);
	rc = pipe_call(sp, "POST", url, body, &r, err, errlen);
	if (rc == -1) {
		char	why[512];

		snprintf(why, sizeof(why), "%s", err);
		errorf(err, errlen, "Snowpipe insertFiles %s: %s", sp->pipe,
		    why);
	}
	awshttp_resp_cleanup(&r);
	free(url);
	free(body);
	return rc;
}

/* Files not LOADED yet: 1 while some are pending, 0 when all are done. */
static int
pending(const struct ld_snowpipe_report *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		if (rep->f[i].status == NULL ||
		    strcmp(rep->f[i].status, "LOAD_IN_PROGRESS") == 0)
			return 1;
	return 0;
}

static int
outcome(struct ld_snowpipe *sp, const struct ld_snowpipe_report *rep,
    int timed_out, char *err, size_t errlen)
{
	struct buf	b;
	int		bad = 0;

	buf_init(&b, 4096);
	for (size_t i = 0; i < rep->n; i++) {
		const struct ld_snowpipe_file *f = &rep->f[i];

		if (f->status != NULL && strcmp(f->status, "LOADED") == 0)
			continue;
		buf_printf(&b, "%s%s (%s%s%s)", bad++ ? ", " : "", f->path,
		    f->status ? f->status : "not reported",
		    f->error ? ": " : "", f->error ? f->error : "");
	}
	if (bad)
		errorf(err, errlen, "Snowpipe %s %s: %s", sp->pipe,
		    timed_out ? "did not report within the timeout" :
		    "did not load", b.data);
	buf_cleanup(&b);
	return bad ? -1 : 0;
}

int
ld_snowpipe_ingest(struct ld_snowpipe *sp, const char *const *paths,
    size_t n, struct ld_snowpipe_report *rep, char *err, size_t errlen)
{
	char	*mark = NULL, id[37], since[32];
	int64_t	 deadline, wait = 500;
	int	 rc = 0, auto_ingest;

	memset(rep, 0, sizeof(*rep));
	rep->f = xcalloc(n + 1, sizeof(*rep->f));
	for (size_t i = 0; i < n; i++)
		rep->f[rep->n++].path = xstrdup(paths[i]);
	if (n == 0)
		return 0;
	auto_ingest = strcmp(sp->mode, "auto_ingest") == 0;
	/* The bucket's notifications feed an auto-ingest pipe: its load
	   history from a little before now tells what became of them. */
	iso8601_now(since, -600);
	if (!auto_ingest && insert_files(sp, paths, n, err, errlen) == -1)
		return -1;
	deadline = now_ms() + sp->timeout_s * 1000;
	while (rc == 0 && pending(rep) && now_ms() < deadline) {
		struct awshttp_resp	 r;
		char			*url, *next = NULL;

		sleep_ms(wait);
		wait = wait < 4000 ? wait * 2 : 5000;
		uuid4(id);
		if (auto_ingest)
			url = xasprintf("%s/v1/data/pipes/%s/loadHistoryScan?"
			    "requestId=%s&startTimeInclusive=%s", sp->base,
			    sp->pipe, id, since);
		else if (mark != NULL)
			url = xasprintf("%s/v1/data/pipes/%s/insertReport?"
			    "requestId=%s&beginMark=%s", sp->base, sp->pipe, id,
			    mark);
		else
			url = xasprintf("%s/v1/data/pipes/%s/insertReport?"
			    "requestId=%s", sp->base, sp->pipe, id);
		if (pipe_call(sp, "GET", url, NULL, &r, err, errlen) == -1)
			rc = -1;
		else if (ld_snowpipe_parse_report(r.body, rep, &next) == -1)
			rc = errorf(err, errlen, "Snowpipe %s %s: the answer "
			    "is not JSON", auto_ingest ? "loadHistoryScan" :
			    "insertReport", sp->pipe);
		else if (next != NULL) {
			free(mark);
			mark = next;
		}
		awshttp_resp_cleanup(&r);
		free(url);
	}
	free(mark);
	if (rc == -1)
		return -1;
	return outcome(sp, rep, pending(rep), err, errlen);
}
