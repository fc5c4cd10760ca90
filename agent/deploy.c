/*
 * deploy.c: `pfagent deploy`, Prefect 3.8.8's `prefect deploy`
 * (prefect/cli/deploy/_core.py) for C flows. Per deployment:
 *
 *   template the config (blocks, variables, $ENV; Prefect's order)
 *   build and load the flow module: flow name, parameter schema
 *   GET /work_pools/{pool}                        must exist
 *   GET /deployments/name/{flow}/{name}
 *     404: POST /flows/, POST /deployments/       create
 *     200: compare field by field; PATCH /deployments/{id} with the
 *          fields that differ, or nothing at all when none do
 *
 * Writes are kept to what changed because every PATCH deletes the
 * deployment's future auto-scheduled runs, and a PATCH (or POST) with
 * schedules replaces them with new ids unless all carry slugs.
 * Values that came from blocks are treated as secrets: never printed.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "agent/deploy.h"
#include "agent/entrypoint.h"
#include "common/http.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "deployments/refs.h"
#include "deployments/template.h"
#include "sdk/run.h"

#define SET_WORKDIR	"prefect.deployments.steps.set_working_directory"
#define SHOW_MAX	300		/* longest value shown by --dry-run */

/* A CLI waits out a restarting or busy (SQLite 503) server a while. */
static const struct retry_policy deploy_retry = { 250, 4000, 60000 };

/* Strings that came from block documents: never printed. */
struct secrets {
	char	**v;
	size_t	  n;
};

struct deploy {
	struct http_settings	 http;
	struct template_resolver api;	/* refs_resolver(&http) */
	struct template_resolver r;	/* api, noting what blocks return */
	struct secrets		 secrets;
	struct deploy_file	 f;
	const char		*file;
	char			*cwd;		/* the project, absolute */
	int			 dry_run;
};

enum outcome {
	OUT_CREATED, OUT_UPDATED, OUT_UNCHANGED, OUT_FAILED,
	OUT_WOULD_CREATE, OUT_WOULD_UPDATE, OUT__N
};

/* One deployment on its way to the server. */
struct target {
	const struct pf_deployment *d;
	const pf_flow_def *def;
	const char	*name;		/* templated, in cfg */
	char		*flow;		/* from the module */
	char		*source_md5;	/* of the flow's file: its version */
	cJSON		*cfg;		/* templated config */
	cJSON		*spec;		/* DeploymentCreate without flow_id */
	int		 has_paused;	/* else paused is left as it is */
	int		 has_schedules;	/* else schedules are left alone */
	char		*default_queue;	/* id of the pool's default queue */
	cJSON		*current;	/* the server's deployment, or NULL */
	char		*build_output;	/* compiler messages of a failure */
};

/* ------------------------------------------------------------ secrets */

static void
secrets_add(struct secrets *s, const cJSON *v)
{
	const cJSON	*c;

	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->v[i], v->valuestring) == 0)
				return;
		s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
		s->v[s->n++] = xstrdup(v->valuestring);
		return;
	}
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		for (c = v->child; c != NULL; c = c->next)
			secrets_add(s, c);
}

static void
secrets_free(struct secrets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		OPENSSL_cleanse(s->v[i], strlen(s->v[i]));
		free(s->v[i]);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* Whether a string in v holds a secret. */
static int
has_secret(const struct secrets *s, const cJSON *v)
{
	const cJSON	*c;

	if (cJSON_IsString(v)) {
		for (size_t i = 0; i < s->n; i++)
			if (strstr(v->valuestring, s->v[i]) != NULL)
				return 1;
		return 0;
	}
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		for (c = v->child; c != NULL; c = c->next)
			if (has_secret(s, c))
				return 1;
	return 0;
}

/* Whether v refers to a block ({{ prefect.blocks... }} or $ref). */
static int
has_block_ref(const cJSON *v)
{
	struct template_match	 m;
	const cJSON		*c;
	size_t			 len, pos = 0;

	if (cJSON_IsString(v)) {
		len = strlen(v->valuestring);
		while (template_next(v->valuestring, len, pos, &m)) {
			if (m.kind == TEMPLATE_BLOCK)
				return 1;
			pos = m.start + m.len;
		}
		return 0;
	}
	if (cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "$ref"))
		return 1;
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		for (c = v->child; c != NULL; c = c->next)
			if (has_block_ref(c))
				return 1;
	return 0;
}

/* text with every secret replaced by "***"; caller frees. */
static char *
redact(const struct secrets *s, const char *text)
{
	struct buf	 b;
	const char	*p = text, *hit, *first;
	size_t		 flen = 0;

	buf_init(&b, SIZE_MAX / 2);
	for (;;) {
		first = NULL;
		for (size_t i = 0; i < s->n; i++)
			if ((hit = strstr(p, s->v[i])) != NULL &&
			    (first == NULL || hit < first)) {
				first = hit;
				flen = strlen(s->v[i]);
			}
		if (first == NULL)
			break;
		(void)buf_append(&b, p, (size_t)(first - p));
		(void)buf_append(&b, "***", 3);
		p = first + flen;
	}
	(void)buf_append(&b, p, strlen(p));
	return buf_steal(&b);
}

/* The API's block lookups, remembering what they return as secrets. */
static int
secret_block(const char *slug, const char *name, cJSON **out, char *err,
    size_t errlen, void *payload)
{
	struct deploy	*dp = payload;
	int		 rc;

	rc = dp->api.block(slug, name, out, err, errlen, dp->api.payload);
	if (rc == 0)
		secrets_add(&dp->secrets, *out);
	return rc;
}

static int
secret_block_by_id(const char *id, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	struct deploy	*dp = payload;
	int		 rc;

	rc = dp->api.block_by_id(id, out, err, errlen, dp->api.payload);
	if (rc == 0)
		secrets_add(&dp->secrets, *out);
	return rc;
}

static int
variable(const char *name, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	struct deploy	*dp = payload;

	return dp->api.variable(name, out, err, errlen, dp->api.payload);
}

/* ---------------------------------------------------------------- API */

/* The "detail" of an error answer, secrets masked; caller frees. */
static char *
answer_detail(const struct deploy *dp, const char *body)
{
	cJSON		*j = cJSON_Parse(body ? body : "");
	const cJSON	*d = cJSON_GetObjectItemCaseSensitive(j, "detail");
	char		*text, *out;

	if (cJSON_IsString(d))
		text = xstrdup(d->valuestring);
	else if (d != NULL)
		text = json_print(d);
	else
		text = xasprintf("%.500s", body ? body : "");
	cJSON_Delete(j);
	out = redact(&dp->secrets, text);
	free(text);
	return out;
}

/*
 * One API call, retried through outages. Returns the status of a final
 * answer: 2xx with the parsed body in *out (when out is not NULL and
 * there is one), 4xx with the server's detail in err. Returns -1 with
 * err when there is no usable answer.
 */
static long
api(const struct deploy *dp, const char *method, const char *path,
    const cJSON *body, cJSON **out, char *err, size_t errlen)
{
	struct http_resp	 r;
	enum retry_class	 rc;
	char			*text = body ? json_print(body) : NULL, *msg;
	long			 status = -1;

	if (out != NULL)
		*out = NULL;
	rc = http_call(&dp->http, &deploy_retry, method, path, text, &r);
	free(text);
	switch (rc) {
	case RETRY_OK:
		status = r.status;
		if (out != NULL && r.len > 0 &&
		    (*out = cJSON_Parse(r.body)) == NULL) {
			errorf(err, errlen, "%s %s: the answer is not JSON",
			    method, path);
			status = -1;
		}
		break;
	case RETRY_ANSWER:
		status = r.status;
		msg = answer_detail(dp, r.body);
		errorf(err, errlen, "%s", msg);
		free(msg);
		break;
	case RETRY_AUTH:
		errorf(err, errlen, "the API refused the credentials (HTTP "
		    "%ld): check PREFECT_API_KEY or PREFECT_API_AUTH_STRING",
		    r.status);
		break;
	default:
		if (r.status != 0)
			errorf(err, errlen, "%s %s: HTTP %ld", method, path,
			    r.status);
		else
			errorf(err, errlen, "%s %s: %s", method, path,
			    r.error);
		break;
	}
	http_resp_cleanup(&r);
	return status;
}

/* ------------------------------------------------------------ the file */

int
deploy_file_load(struct deploy_file *f, const char *file, char *err,
    size_t errlen)
{
	struct yaml_error	yerr;

	memset(f, 0, sizeof(*f));
	if ((f->doc = yaml_doc_load_file(file, &yerr)) == NULL) {
		if (yerr.line > 0)
			return errorf(err, errlen, "%s:%d:%d: %s", file,
			    yerr.line, yerr.col, yerr.msg);
		return errorf(err, errlen, "%s: %s", file, yerr.msg);
	}
	return prefect_yaml_load(f->doc, file, &f->py, &f->warn, err,
	    errlen);
}

void
deploy_file_cleanup(struct deploy_file *f)
{
	prefect_yaml_free(f->py);
	prefect_yaml_msgs_free(&f->warn);
	yaml_doc_free(f->doc);
	memset(f, 0, sizeof(*f));
}

/* "file:line:col: " of node in the yaml, or "file: ". */
static const char *
where(const struct deploy *dp, const cJSON *node, char *buf, size_t len)
{
	int	line, col;

	if (node != NULL && yaml_doc_pos(dp->f.doc, node, &line, &col) == 0)
		snprintf(buf, len, "%s:%d:%d: ", dp->file, line, col);
	else
		snprintf(buf, len, "%s: ", dp->file);
	return buf;
}

/* The first string under n that contains needle. */
static const cJSON *
find_text(const cJSON *n, const char *needle)
{
	const cJSON	*c, *hit;

	if (cJSON_IsString(n))
		return strstr(n->valuestring, needle) ? n : NULL;
	if (cJSON_IsArray(n) || cJSON_IsObject(n))
		for (c = n->child; c != NULL; c = c->next)
			if ((hit = find_text(c, needle)) != NULL)
				return hit;
	return NULL;
}

/* Where a templating error's '{{ ... }}' reference is written. */
static const cJSON *
reference_node(const struct pf_deployment *d, const char *err)
{
	const char	*a = strstr(err, "'{{"), *b;
	const cJSON	*hit = NULL;
	char		*ref;

	if (a == NULL || (b = strstr(a, "}}'")) == NULL)
		return d->node;
	ref = xasprintf("%.*s", (int)(b + 2 - (a + 1)), a + 1);
	hit = find_text(d->node, ref);
	free(ref);
	return hit ? hit : d->node;
}

/* The raw node at key (and sub) of a deployment, or the deployment. */
static const cJSON *
node_at(const struct pf_deployment *d, const char *key, const char *sub)
{
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(d->node, key);

	if (n != NULL && sub != NULL)
		n = cJSON_GetObjectItemCaseSensitive(n, sub);
	return n ? n : d->node;
}

/* ---------------------------------------------------------- templating */

/*
 * _run_single_deploy's templating: blocks, variables and $ENV over the
 * config, then the (empty) step outputs with unresolved placeholders
 * removed, {{ ctx.* }} kept for the worker, schedules on their own.
 * Steps are not taken from here: pull steps keep their references for
 * run time and build/push steps are refused, so they are not resolved.
 */
static int
template_target(struct deploy *dp, struct target *t, char *err,
    size_t errlen)
{
	static const char *const ctx[] = { "ctx.", NULL };
	static const char *const unused[] = { "build", "push", "pull",
	    "triggers", "sla" };
	struct template_opts	 opts = { ctx, NULL };
	cJSON			*raw, *cfg = NULL, *sched = NULL, *out = NULL;
	cJSON			*s = NULL;
	int			 rc = -1;

	raw = cJSON_Duplicate(t->d->config, 1);
	for (size_t i = 0; i < sizeof(unused) / sizeof(unused[0]); i++)
		cJSON_DeleteItemFromObjectCaseSensitive(raw, unused[i]);
	if (template_deploy_config(raw, &dp->r, NULL, &cfg, err, errlen) == -1)
		goto out;
	sched = cJSON_DetachItemFromObjectCaseSensitive(cfg, "schedules");
	if (template_apply_values(cfg, NULL, 1, &opts, &out, err,
	    errlen) == -1)
		goto out;
	if (out == NULL)
		out = cJSON_CreateObject();
	if (sched != NULL && !cJSON_IsNull(sched)) {
		if (template_apply_values(sched, NULL, 1, NULL, &s, err,
		    errlen) == -1)
			goto out;
		cJSON_AddItemToObject(out, "schedules", s ? s :
		    cJSON_CreateArray());
	}
	t->cfg = out;			/* now owned by the target */
	out = NULL;
	t->name = json_str(t->cfg, "name");
	if (t->name == NULL || t->name[0] == '\0')
		errorf(err, errlen, "the deployment name is empty after "
		    "templating");
	else
		rc = 0;
out:
	cJSON_Delete(raw);
	cJSON_Delete(cfg);
	cJSON_Delete(sched);
	cJSON_Delete(out);
	return rc;
}

/* ---------------------------------------------------------- the module */

/*
 * Hex MD5 of a file, as Prefect's file_hash(): a flow's version when
 * none is given. NULL when it cannot be read.
 */
static char *
file_md5(const char *path)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 md[EVP_MAX_MD_SIZE], chunk[8192];
	unsigned int	 mdlen = 0;
	EVP_MD_CTX	*ctx;
	FILE		*f;
	size_t		 n;
	char		*out = NULL;
	int		 ok;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("out of memory hashing %s", path);
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	while (ok && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ok = EVP_DigestUpdate(ctx, chunk, n);
	if (ok && !ferror(f) && EVP_DigestFinal_ex(ctx, md, &mdlen)) {
		out = xmalloc(2 * mdlen + 1);
		for (unsigned int i = 0; i < mdlen; i++) {
			out[2 * i] = hex[md[i] >> 4];
			out[2 * i + 1] = hex[md[i] & 0xf];
		}
		out[2 * mdlen] = '\0';
	}
	EVP_MD_CTX_free(ctx);
	fclose(f);
	return out;
}

/* Builds and loads the module: the flow's name and declaration. */
static int
load_flow(struct target *t, char *err, size_t errlen)
{
	struct entrypoint	 ep;
	const char		*text = json_str(t->cfg, "entrypoint");
	char			*output = NULL;
	int			 rc = -1;

	memset(&ep, 0, sizeof(ep));
	if (text == NULL || text[0] == '\0')
		return errorf(err, errlen, "an entrypoint is required "
		    "(flows/<file>.c:<function>)");
	if (entrypoint_parse(text, &ep, err, errlen) == -1)
		goto out;
	if (entrypoint_build(&ep, &output, err, errlen) == -1) {
		t->build_output = output;	/* shown with the error */
		output = NULL;
		goto out;
	}
	if (entrypoint_load(&ep, &t->def, err, errlen) == -1)
		goto out;
	t->flow = xstrdup(t->def->name ? t->def->name : ep.function);
	t->source_md5 = file_md5(ep.file);
	rc = 0;
out:
	free(output);
	entrypoint_cleanup(&ep);
	return rc;
}

/* --------------------------------------------------------------- spec */

static cJSON *
str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* The effective pull steps, as _run_single_deploy stores them. */
static cJSON *
pull_steps(const struct deploy *dp, const struct target *t,
    const cJSON *job_variables, char *err, size_t errlen)
{
	const cJSON	*image;
	cJSON		*steps = NULL, *step, *args;

	switch (t->d->pull_mode) {
	case PF_PULL_NONE:
		return cJSON_CreateArray();
	case PF_PULL_STEPS:
		/* Only $ENV of this shell is substituted, as in Prefect. */
		if (template_apply_values(t->d->pull_steps, NULL, 0, NULL,
		    &steps, err, errlen) == -1)
			return NULL;
		return steps ? steps : cJSON_CreateArray();
	case PF_PULL_DEFAULT:
		break;
	}
	/* A custom image does not hold this directory: Prefect's default. */
	image = cJSON_GetObjectItemCaseSensitive(job_variables, "image");
	if (cJSON_IsString(image) && image->valuestring[0] != '\0')
		fprintf(stderr, "pfagent deploy: warning: deployment '%s': "
		    "using the default working directory '/opt/prefect' of "
		    "the image; add a set_working_directory pull step if the "
		    "flow is elsewhere\n", t->name);
	steps = cJSON_CreateArray();
	step = cJSON_CreateObject();
	args = cJSON_AddObjectToObject(step, SET_WORKDIR);
	cJSON_AddStringToObject(args, "directory",
	    cJSON_IsString(image) && image->valuestring[0] != '\0' ?
	    "/opt/prefect" : dp->cwd);
	cJSON_AddItemToArray(steps, step);
	return steps;
}

/* A list of non-empty strings, as Prefect's ListOfNonEmptyStrings. */
static int
tags_ok(const cJSON *tags)
{
	const cJSON	*c;

	if (!cJSON_IsArray(tags))
		return 0;
	for (c = tags->child; c != NULL; c = c->next)
		if (!cJSON_IsString(c) || c->valuestring[0] == '\0')
			return 0;
	return 1;
}

/* What Prefect would send to create the deployment (no flow_id yet). */
static int
build_spec(const struct deploy *dp, struct target *t, char *err,
    size_t errlen)
{
	const cJSON	*cfg = t->cfg, *wp = json_obj(cfg, "work_pool");
	const cJSON	*v, *jv = json_obj(wp, "job_variables");
	const char	*version = json_str(cfg, "version");
	const char	*desc = json_str(cfg, "description");
	const char	*queue;
	cJSON		*s, *lim, *opts, *sched, *pull;

	v = cJSON_GetObjectItemCaseSensitive(wp, "work_queue_name");
	if (v != NULL && !cJSON_IsNull(v) && !cJSON_IsString(v))
		return errorf(err, errlen, "work_pool.work_queue_name must "
		    "be a string");
	queue = cJSON_IsString(v) && v->valuestring[0] ? v->valuestring :
	    NULL;
	v = cJSON_GetObjectItemCaseSensitive(cfg, "tags");
	if (v != NULL && !cJSON_IsNull(v) && !tags_ok(v))
		return errorf(err, errlen, "tags must be a list of non-empty "
		    "strings");
	if ((v = cJSON_GetObjectItemCaseSensitive(cfg, "parameters")) !=
	    NULL && !cJSON_IsNull(v) && !cJSON_IsObject(v))
		return errorf(err, errlen, "parameters must be a mapping");
	if (prefect_yaml_concurrency(cfg, &lim, &opts, err, errlen) == -1)
		return -1;
	sched = NULL;
	v = cJSON_GetObjectItemCaseSensitive(cfg, "schedules");
	if (v != NULL && !cJSON_IsNull(v) && prefect_yaml_schedules(cfg,
	    NULL, &sched, err, errlen) == -1) {
		cJSON_Delete(lim);
		cJSON_Delete(opts);
		return -1;
	}
	if ((pull = pull_steps(dp, t, jv, err, errlen)) == NULL) {
		cJSON_Delete(lim);
		cJSON_Delete(opts);
		cJSON_Delete(sched);
		return -1;
	}

	s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "name", t->name);
	/* The file's, else the flow's, else Python's default: its hash. */
	if (version == NULL || version[0] == '\0')
		version = t->def->version && t->def->version[0] ?
		    t->def->version : t->source_md5;
	cJSON_AddItemToObject(s, "version", str_or_null(version));
	cJSON_AddItemToObject(s, "description", str_or_null(desc && *desc ?
	    desc : t->def->description));
	v = cJSON_GetObjectItemCaseSensitive(cfg, "paused");
	t->has_paused = cJSON_IsBool(v);
	cJSON_AddBoolToObject(s, "paused", cJSON_IsTrue(v));
	v = cJSON_GetObjectItemCaseSensitive(cfg, "tags");
	cJSON_AddItemToObject(s, "tags", cJSON_IsArray(v) ?
	    cJSON_Duplicate(v, 1) : cJSON_CreateArray());
	v = json_obj(cfg, "parameters");
	cJSON_AddItemToObject(s, "parameters", v ? cJSON_Duplicate(v, 1) :
	    cJSON_CreateObject());
	cJSON_AddItemToObject(s, "parameter_openapi_schema",
	    sdk_params_schema(t->def));
	/* RunnerDeployment's default when the file says nothing. */
	v = cJSON_GetObjectItemCaseSensitive(cfg, "enforce_parameter_schema");
	cJSON_AddBoolToObject(s, "enforce_parameter_schema",
	    cJSON_IsBool(v) ? cJSON_IsTrue(v) : 1);
	cJSON_AddStringToObject(s, "entrypoint", json_str(cfg, "entrypoint"));
	cJSON_AddItemToObject(s, "pull_steps", pull);
	cJSON_AddStringToObject(s, "work_pool_name", json_str(wp, "name"));
	cJSON_AddItemToObject(s, "work_queue_name", str_or_null(queue));
	cJSON_AddItemToObject(s, "job_variables", jv ? cJSON_Duplicate(jv, 1) :
	    cJSON_CreateObject());
	cJSON_AddItemToObject(s, "concurrency_limit", lim);
	cJSON_AddItemToObject(s, "concurrency_options", opts ? opts :
	    cJSON_CreateNull());
	t->has_schedules = sched != NULL;
	cJSON_AddItemToObject(s, "schedules", sched ? sched :
	    cJSON_CreateArray());
	t->spec = s;
	return 0;
}

/* ----------------------------------------------------------- the pool */

static int
check_pool(const struct deploy *dp, struct target *t, char *err,
    size_t errlen)
{
	const char	*pool = json_str(t->spec, "work_pool_name");
	const char	*type, *q;
	char		*path, *e;
	cJSON		*wp = NULL;
	long		 st;
	int		 rc = -1;

	if (pool == NULL || pool[0] == '\0')
		return errorf(err, errlen, "a work pool is required: set "
		    "work_pool.name");
	e = http_escape(pool);
	path = xasprintf("/work_pools/%s", e);
	st = api(dp, "GET", path, NULL, &wp, err, errlen);
	if (st == 404)
		errorf(err, errlen, "work pool '%s' does not exist, so no "
		    "worker could pick up this deployment's runs: create it "
		    "(pfagent start --pool %s creates it) or fix "
		    "work_pool.name", pool, pool);
	else if (st != 200)
		;	/* err says why */
	else if ((type = json_str(wp, "type")) != NULL &&
	    strcmp(type, "prefect-agent") == 0)
		errorf(err, errlen, "work pool '%s' is of type "
		    "'prefect-agent', which cannot run deployments of a "
		    "prefect.yaml", pool);
	else {
		q = json_str(wp, "default_queue_id");
		t->default_queue = q ? xstrdup(q) : NULL;
		rc = 0;
	}
	cJSON_Delete(wp);
	free(path);
	free(e);
	return rc;
}

/* ---------------------------------------------------------- comparing */

static int
same_str(const cJSON *a, const cJSON *b)
{
	int	an = a == NULL || cJSON_IsNull(a), bn = b == NULL ||
		    cJSON_IsNull(b);

	if (an || bn)
		return an && bn;
	return cJSON_IsString(a) && cJSON_IsString(b) &&
	    strcmp(a->valuestring, b->valuestring) == 0;
}

static const cJSON *
get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* An ISO 8601 date-time as the API prints it, in epoch seconds. */
static int
instant(const char *s, double *out)
{
	struct tm	 tm;
	const char	*p;
	char		*e;
	double		 frac = 0;
	int		 h, m, off = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || (p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		frac = strtod(p, &e);
		p = e;
	}
	if (*p == 'Z')
		p++;
	else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &h,
	    &m) == 2) {
		off = (h * 60 + m) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	}
	if (*p != '\0')
		return -1;
	*out = (double)timegm(&tm) + frac - off;
	return 0;
}

/* The server prefixes a DTSTART when the rule has none. */
static int
same_rrule(const char *want, const char *have)
{
	const char	*nl;

	if (want == NULL || have == NULL)
		return want == have;
	if (strcmp(want, have) == 0)
		return 1;
	return strcasestr(want, "DTSTART") == NULL &&
	    strncmp(have, "DTSTART:", 8) == 0 &&
	    (nl = strchr(have, '\n')) != NULL && strcmp(nl + 1, want) == 0;
}

/* Two schedule bodies; an anchor the file did not give is the server's. */
static int
same_schedule(const cJSON *w, const cJSON *h)
{
	const cJSON	*wa, *ha, *wd, *hd;
	double		 a, b;

	if (!same_str(get(w, "timezone"), get(h, "timezone")))
		return 0;
	if (get(w, "cron") != NULL) {
		wd = get(w, "day_or");
		hd = get(h, "day_or");
		return same_str(get(w, "cron"), get(h, "cron")) &&
		    (wd == NULL || cJSON_IsTrue(wd)) ==
		    (hd == NULL || cJSON_IsTrue(hd));
	}
	if (get(w, "rrule") != NULL)
		return same_rrule(json_str(w, "rrule"), json_str(h, "rrule"));
	wa = get(w, "interval");
	ha = get(h, "interval");
	if (!cJSON_IsNumber(wa) || !cJSON_IsNumber(ha) ||
	    fabs(wa->valuedouble - ha->valuedouble) > 1e-6)
		return 0;
	if (get(w, "anchor_date") == NULL)
		return 1;
	return instant(json_str(w, "anchor_date"), &a) == 0 &&
	    instant(json_str(h, "anchor_date"), &b) == 0 &&
	    fabs(a - b) < 1e-3;
}

/* A schedule of the file against one of the server (ids ignored). */
static int
same_item(const cJSON *w, const cJSON *h)
{
	const cJSON	*wp = get(w, "parameters"), *hp = get(h, "parameters");
	int		 wempty = wp == NULL || cJSON_IsNull(wp) ||
			    wp->child == NULL;
	int		 hempty = hp == NULL || cJSON_IsNull(hp) ||
			    hp->child == NULL;

	return cJSON_IsTrue(get(w, "active")) == cJSON_IsTrue(get(h,
	    "active")) && same_str(get(w, "slug"), get(h, "slug")) &&
	    ((wempty && hempty) || cJSON_Compare(wp, hp, 1)) &&
	    same_schedule(get(w, "schedule"), get(h, "schedule"));
}

static int
has_same_item(const cJSON *w, const cJSON *list)
{
	const cJSON	*h;

	cJSON_ArrayForEach(h, list)
		if (same_item(w, h))
			return 1;
	return 0;
}

/* The same schedules, in any order. */
static int
same_schedules(const cJSON *want, const cJSON *have)
{
	int	 n = cJSON_GetArraySize(want), k = 0, found, ok = 1;
	char	*used;
	const cJSON *w, *h;

	if (n != cJSON_GetArraySize(have))
		return 0;
	used = xcalloc((size_t)n + 1, 1);
	cJSON_ArrayForEach(w, want) {
		found = 0;
		k = 0;
		cJSON_ArrayForEach(h, have) {
			if (!used[k] && same_item(w, h)) {
				used[k] = found = 1;
				break;
			}
			k++;
		}
		if (!found) {
			ok = 0;
			break;
		}
	}
	free(used);
	return ok;
}

/* A schedule as --dry-run shows it: what is compared. */
static cJSON *
shown_schedules(const cJSON *list)
{
	cJSON		*out = cJSON_CreateArray(), *o;
	const cJSON	*s;
	static const char *const keys[] = { "schedule", "active",
	    "parameters", "slug" };

	cJSON_ArrayForEach(s, list) {
		o = cJSON_CreateObject();
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (get(s, keys[i]) != NULL)
				cJSON_AddItemToObject(o, keys[i],
				    cJSON_Duplicate(get(s, keys[i]), 1));
		cJSON_AddItemToArray(out, o);
	}
	return out;
}

/* The server's value of key, null as the empty value of the spec's. */
static cJSON *
have_plain(const struct target *t, const char *key)
{
	const cJSON	*v = get(t->current, key), *want = get(t->spec, key);

	if (v == NULL || cJSON_IsNull(v)) {
		if (cJSON_IsArray(want))
			return cJSON_CreateArray();
		if (cJSON_IsObject(want))
			return cJSON_CreateObject();
		return cJSON_CreateNull();
	}
	return cJSON_Duplicate(v, 1);
}

/* No queue in the file means the pool's default queue. */
static cJSON *
have_queue(const struct target *t, const char *key)
{
	const char	*id = json_str(t->current, "work_queue_id");

	if (cJSON_IsNull(get(t->spec, key)) && id != NULL &&
	    t->default_queue != NULL && strcmp(id, t->default_queue) == 0)
		return cJSON_CreateNull();
	return have_plain(t, key);
}

/* The limit lives in global_concurrency_limit since 3.1. */
static cJSON *
have_limit(const struct target *t, const char *key)
{
	const cJSON	*g = json_obj(t->current, "global_concurrency_limit");
	const cJSON	*v = get(g, "limit");

	if (!cJSON_IsNumber(v))
		v = get(t->current, key);
	return cJSON_IsNumber(v) ? cJSON_CreateNumber(v->valuedouble) :
	    cJSON_CreateNull();
}

static cJSON *
have_options(const struct target *t, const char *key)
{
	const cJSON	*o = json_obj(t->current, key), *g;
	cJSON		*out;

	if (o == NULL)
		return cJSON_CreateNull();
	out = cJSON_CreateObject();
	cJSON_AddItemToObject(out, "collision_strategy",
	    cJSON_Duplicate(get(o, "collision_strategy"), 1));
	if (cJSON_IsNumber(g = get(o, "grace_period_seconds")))
		cJSON_AddNumberToObject(out, "grace_period_seconds",
		    g->valuedouble);
	return out;
}

static cJSON *
have_schedules(const struct target *t, const char *key)
{
	return shown_schedules(get(t->current, key));
}

static const struct field {
	const char	*key;		/* in the API's deployment objects */
	const char	*src, *sub;	/* in the config; NULL: not from it */
	cJSON		*(*have)(const struct target *, const char *);
} fields[] = {
	{ "version",		"version", NULL,		have_plain },
	{ "description",	"description", NULL,		have_plain },
	{ "paused",		"paused", NULL,			have_plain },
	{ "tags",		"tags", NULL,			have_plain },
	{ "parameters",		"parameters", NULL,		have_plain },
	{ "parameter_openapi_schema", NULL, NULL,		have_plain },
	{ "enforce_parameter_schema", NULL, NULL,		have_plain },
	{ "entrypoint",		"entrypoint", NULL,		have_plain },
	{ "pull_steps",		NULL, NULL,			have_plain },
	{ "work_pool_name",	"work_pool", "name",		have_plain },
	{ "work_queue_name",	"work_pool", "work_queue_name",	have_queue },
	{ "job_variables",	"work_pool", "job_variables",	have_plain },
	{ "concurrency_limit",	"concurrency_limit", NULL,	have_limit },
	{ "concurrency_options", "concurrency_limit", NULL,	have_options },
	{ "schedules",		"schedules", NULL,		have_schedules },
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

/* The raw config's node for a field, to see whether it uses a block. */
static const cJSON *
source_of(const struct target *t, const struct field *f)
{
	const cJSON	*n;

	if (f->src == NULL)
		return NULL;
	n = get(t->d->config, f->src);
	return f->sub ? get(n, f->sub) : n;
}

struct change {
	const struct field	*f;
	cJSON			*old, *new;	/* as shown */
	int			 hidden;	/* comes from a block */
};

/* The fields where the server differs from the spec. */
static size_t
diff(const struct deploy *dp, const struct target *t, struct change *out)
{
	const struct field	*f;
	const cJSON		*want, *src;
	cJSON			*have;
	size_t			 n = 0;
	int			 same;

	for (f = fields; f < fields + NFIELDS; f++) {
		if ((strcmp(f->key, "paused") == 0 && !t->has_paused) ||
		    (strcmp(f->key, "schedules") == 0 && !t->has_schedules))
			continue;
		want = get(t->spec, f->key);
		have = f->have(t, f->key);
		if (strcmp(f->key, "schedules") == 0)
			same = same_schedules(want, get(t->current, f->key));
		else
			same = cJSON_Compare(want, have, 1);
		if (same) {
			cJSON_Delete(have);
			continue;
		}
		src = source_of(t, f);
		out[n].f = f;
		out[n].old = have;
		out[n].new = strcmp(f->key, "schedules") == 0 ?
		    shown_schedules(want) : cJSON_Duplicate(want, 1);
		out[n].hidden = has_block_ref(src) ||
		    has_secret(&dp->secrets, out[n].new) ||
		    has_secret(&dp->secrets, have);
		n++;
	}
	return n;
}

static void
changes_free(struct change *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cJSON_Delete(c[i].old);
		cJSON_Delete(c[i].new);
	}
}

/* "a, b, c" of the changed fields; caller frees. */
static char *
change_names(const struct change *c, size_t n)
{
	struct buf	b;

	buf_init(&b, 4096);
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(&b, "%s%s", i ? ", " : "", c[i].f->key);
	return buf_steal(&b);
}

/* Compact JSON, cut at SHOW_MAX; caller frees. */
static char *
shown(const cJSON *v)
{
	char	*s = json_print(v), *out;

	if (strlen(s) <= SHOW_MAX)
		return s;
	out = xasprintf("%.*s...", SHOW_MAX, s);
	free(s);
	return out;
}

/* A schedule on one line: cron "0 6 * * *" Europe/Paris, slug x. */
static char *
schedule_text(const cJSON *item)
{
	const cJSON	*s = get(item, "schedule"), *v;
	const char	*tz = json_str(s, "timezone"), *slug;
	struct buf	 b;
	char		*j;

	buf_init(&b, 64 * 1024);
	if ((v = get(s, "cron")) != NULL || (v = get(s, "rrule")) != NULL) {
		j = json_print(v);
		(void)buf_printf(&b, "%s %s", v->string, j);
		free(j);
	} else {
		(void)buf_printf(&b, "every %g s",
		    json_num(s, "interval", 0));
		if (json_str(s, "anchor_date") != NULL)
			(void)buf_printf(&b, " from %s",
			    json_str(s, "anchor_date"));
	}
	if (tz != NULL)
		(void)buf_printf(&b, " %s", tz);
	if (!cJSON_IsTrue(get(item, "active")))
		(void)buf_printf(&b, ", inactive");
	if (cJSON_IsObject(v = get(item, "parameters")) && v->child != NULL) {
		j = json_print(v);
		(void)buf_printf(&b, ", parameters %s", j);
		free(j);
	}
	if ((slug = json_str(item, "slug")) != NULL)
		(void)buf_printf(&b, ", slug %s", slug);
	return buf_steal(&b);
}

/* The schedules of one list that the other does not have. */
static void
print_schedules(const cJSON *old, const cJSON *new)
{
	const cJSON	*s, *o;
	char		*text;
	int		 found;

	cJSON_ArrayForEach(o, old) {
		found = 0;
		cJSON_ArrayForEach(s, new)
			found |= same_item(s, o);
		if (!found) {
			text = schedule_text(o);
			printf("      - %s\n", text);
			free(text);
		}
	}
	cJSON_ArrayForEach(s, new)
		if (!has_same_item(s, old)) {
			text = schedule_text(s);
			printf("      + %s\n", text);
			free(text);
		}
}

static void
print_change(const struct change *c)
{
	char	*a, *b;

	if (c->hidden) {
		printf("    %s: changed (not shown: it comes from a block)\n",
		    c->f->key);
		return;
	}
	if (strcmp(c->f->key, "schedules") == 0) {
		printf("    schedules:\n");
		print_schedules(c->old, c->new);
		return;
	}
	a = shown(c->old);
	b = shown(c->new);
	printf("    %s: %s -> %s\n", c->f->key, a, b);
	free(a);
	free(b);
}

/* What a create would send, field by field, secrets masked. */
static void
print_spec(const struct deploy *dp, const struct target *t)
{
	const struct field	*f;
	const cJSON		*v, *src;
	char			*s;

	for (f = fields; f < fields + NFIELDS; f++) {
		if (strcmp(f->key, "paused") == 0 && !t->has_paused)
			continue;
		v = get(t->spec, f->key);
		src = source_of(t, f);
		if (has_block_ref(src) || has_secret(&dp->secrets, v)) {
			printf("    %s: (not shown: it comes from a block)\n",
			    f->key);
			continue;
		}
		s = shown(v);
		printf("    %s: %s\n", f->key, s);
		free(s);
	}
}

/* ------------------------------------------------------------ writing */

static int
create(const struct deploy *dp, struct target *t, char **id, char *err,
    size_t errlen)
{
	cJSON		*body, *flow = NULL, *dep = NULL;
	const char	*fid, *did;
	long		 st;
	int		 rc = -1;

	body = json_strings("name", t->flow, NULL);
	st = api(dp, "POST", "/flows/", body, &flow, err, errlen);
	cJSON_Delete(body);
	if (st != 200 && st != 201)
		goto out;
	if ((fid = json_str(flow, "id")) == NULL) {
		errorf(err, errlen, "POST /flows/: the answer has no id");
		goto out;
	}
	body = cJSON_Duplicate(t->spec, 1);
	cJSON_AddStringToObject(body, "flow_id", fid);
	cJSON_AddNullToObject(body, "path");
	cJSON_AddNullToObject(body, "storage_document_id");
	cJSON_AddNullToObject(body, "infrastructure_document_id");
	st = api(dp, "POST", "/deployments/", body, &dep, err, errlen);
	cJSON_Delete(body);
	if (st != 200 && st != 201)
		goto out;
	if ((did = json_str(dep, "id")) == NULL) {
		errorf(err, errlen, "POST /deployments/: the answer has no "
		    "id");
		goto out;
	}
	*id = xstrdup(did);
	rc = 0;
out:
	cJSON_Delete(flow);
	cJSON_Delete(dep);
	return rc;
}

static int
all_slugged(const cJSON *list)
{
	const cJSON	*s;

	cJSON_ArrayForEach(s, list)
		if (!cJSON_IsString(get(s, "slug")))
			return 0;
	return 1;
}

static int
slug_in(const char *slug, const cJSON *list, const char *key)
{
	const cJSON	*s;
	const char	*v;

	cJSON_ArrayForEach(s, list)
		if ((v = json_str(s, key)) != NULL && strcmp(v, slug) == 0)
			return 1;
	return 0;
}

/*
 * How to make the server's schedules the file's (the server's PATCH
 * rules, prefect/server/api/deployments.py): when both sides have slugs
 * throughout, the server updates by slug in place, keeping ids, and
 * leaves unnamed ones alone, so only the new or changed ones are sent
 * and the dropped ones deleted after. Otherwise a PATCH replaces all of
 * them; slugged ones on the server would make it refuse (422), so they
 * are deleted first.
 */
static void
plan_schedules(const cJSON *want, const cJSON *have, cJSON **send,
    cJSON **drop, int *drop_first)
{
	const cJSON	*s;
	const char	*slug, *id;

	*send = NULL;
	*drop = cJSON_CreateArray();
	*drop_first = 0;
	if (all_slugged(want) && cJSON_GetArraySize(have) > 0 &&
	    all_slugged(have)) {
		cJSON_ArrayForEach(s, want)
			if (!has_same_item(s, have)) {
				if (*send == NULL)
					*send = cJSON_CreateArray();
				cJSON_AddItemToArray(*send,
				    cJSON_Duplicate(s, 1));
			}
		cJSON_ArrayForEach(s, have)
			if ((slug = json_str(s, "slug")) != NULL &&
			    (id = json_str(s, "id")) != NULL &&
			    !slug_in(slug, want, "slug") &&
			    !slug_in(slug, want, "replaces"))
				cJSON_AddItemToArray(*drop,
				    cJSON_CreateString(id));
		return;
	}
	*send = cJSON_Duplicate(want, 1);
	if (cJSON_GetArraySize(have) > 0 && all_slugged(have)) {
		cJSON_ArrayForEach(s, have)
			if ((id = json_str(s, "id")) != NULL)
				cJSON_AddItemToArray(*drop,
				    cJSON_CreateString(id));
		*drop_first = 1;
	}
}

static int
drop_schedules(const struct deploy *dp, const char *dep_id,
    const cJSON *ids, char *err, size_t errlen)
{
	const cJSON	*id;
	char		*path, *e;
	long		 st;

	cJSON_ArrayForEach(id, ids) {
		e = http_escape(id->valuestring);
		path = xasprintf("/deployments/%s/schedules/%s", dep_id, e);
		st = api(dp, "DELETE", path, NULL, NULL, err, errlen);
		free(path);
		free(e);
		if (st != 204 && st != 200 && st != 404)	/* 404: gone */
			return -1;
	}
	return 0;
}

/* Sends what differs: the changed fields in one PATCH, schedules aside. */
static int
update(const struct deploy *dp, const struct target *t,
    const struct change *c, size_t n, char *err, size_t errlen)
{
	const char	*id = json_str(t->current, "id");
	cJSON		*body = cJSON_CreateObject(), *send = NULL;
	cJSON		*drop = NULL;
	char		*e = http_escape(id), *path;
	int		 first = 0, fields_changed = 0, rc = -1;
	long		 st;

	path = xasprintf("/deployments/%s", e);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(c[i].f->key, "schedules") == 0) {
			plan_schedules(get(t->spec, "schedules"),
			    get(t->current, "schedules"), &send, &drop,
			    &first);
			continue;
		}
		fields_changed = 1;
		cJSON_AddItemToObject(body, c[i].f->key,
		    cJSON_Duplicate(get(t->spec, c[i].f->key), 1));
	}
	/*
	 * The pool always goes with its queue: a pool alone moves the
	 * deployment to the pool's default queue, a queue alone to a
	 * queue outside any pool. With the pool, the server also checks
	 * the job variables against its schema.
	 */
	cJSON_DeleteItemFromObjectCaseSensitive(body, "work_pool_name");
	cJSON_DeleteItemFromObjectCaseSensitive(body, "work_queue_name");
	cJSON_AddItemToObject(body, "work_pool_name",
	    cJSON_Duplicate(get(t->spec, "work_pool_name"), 1));
	cJSON_AddItemToObject(body, "work_queue_name",
	    cJSON_Duplicate(get(t->spec, "work_queue_name"), 1));
	if (send != NULL) {
		cJSON_AddItemToObject(body, "schedules", send);
		send = NULL;
	}
	if (first && drop_schedules(dp, e, drop, err, errlen) == -1)
		goto out;
	if (fields_changed || get(body, "schedules") != NULL) {
		st = api(dp, "PATCH", path, body, NULL, err, errlen);
		if (st != 204 && st != 200)
			goto out;
	}
	if (!first && drop_schedules(dp, e, drop, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	cJSON_Delete(body);
	cJSON_Delete(send);
	cJSON_Delete(drop);
	free(path);
	free(e);
	return rc;
}

/* --------------------------------------------------------- one target */

static void
target_cleanup(struct target *t)
{
	cJSON_Delete(t->cfg);
	cJSON_Delete(t->spec);
	cJSON_Delete(t->current);
	free(t->flow);
	free(t->source_md5);
	free(t->default_queue);
	free(t->build_output);
	memset(t, 0, sizeof(*t));
}

static enum outcome
failed(const struct deploy *dp, const struct target *t, const cJSON *node,
    const char *msg)
{
	char	pos[PATH_MAX + 64], *safe = redact(&dp->secrets, msg);

	fprintf(stderr, "pfagent deploy: %sdeployment '%s': %s\n",
	    where(dp, node, pos, sizeof(pos)), t->name ? t->name :
	    t->d->name, safe);
	if (t->build_output != NULL && t->build_output[0] != '\0')
		fprintf(stderr, "%s%s", t->build_output,
		    t->build_output[strlen(t->build_output) - 1] == '\n' ?
		    "" : "\n");
	free(safe);
	return OUT_FAILED;
}

static int
read_current(const struct deploy *dp, struct target *t, char *err,
    size_t errlen)
{
	char	*f = http_escape(t->flow), *n = http_escape(t->name), *path;
	long	 st;

	path = xasprintf("/deployments/name/%s/%s", f, n);
	st = api(dp, "GET", path, NULL, &t->current, err, errlen);
	free(path);
	free(f);
	free(n);
	if (st == 404) {
		cJSON_Delete(t->current);
		t->current = NULL;
		return 0;
	}
	if (st == 200 && json_str(t->current, "id") == NULL)
		return errorf(err, errlen, "the deployment read from the API "
		    "has no id");
	return st == 200 ? 0 : -1;
}

static enum outcome
deploy_one(struct deploy *dp, const struct pf_deployment *d)
{
	struct target	 t;
	struct change	 c[NFIELDS];
	char		 err[4096], *names, *id = NULL;
	const cJSON	*v;
	enum outcome	 o;
	size_t		 n;

	memset(&t, 0, sizeof(t));
	t.d = d;
	if (prefect_yaml_check_deployable(dp->f.py, d, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "pfagent deploy: %s\n", err);
		return OUT_FAILED;
	}
	/* pfagent runs no build or push step: refuse rather than skip. */
	v = cJSON_GetArraySize(d->build_steps) > 0 ? d->build_steps :
	    d->push_steps;
	if (cJSON_GetArraySize(v) > 0 && v->child->child != NULL) {
		snprintf(err, sizeof(err), "%s step '%s' cannot run: pfagent "
		    "deploy runs no build or push steps (remove them, or "
		    "build before deploying)", v == d->build_steps ? "build" :
		    "push", v->child->child->string);
		return failed(dp, &t, node_at(d, v == d->build_steps ?
		    "build" : "push", NULL), err);
	}
	if (cJSON_GetArraySize(get(d->config, "triggers")) > 0 ||
	    cJSON_GetArraySize(get(d->config, "sla")) > 0)
		fprintf(stderr, "pfagent deploy: warning: deployment '%s': "
		    "triggers and sla are not applied by pfagent deploy\n",
		    d->name);
	if (template_target(dp, &t, err, sizeof(err)) == -1) {
		o = failed(dp, &t, reference_node(d, err), err);
		goto out;
	}
	if (load_flow(&t, err, sizeof(err)) == -1) {
		o = failed(dp, &t, node_at(d, "entrypoint", NULL), err);
		goto out;
	}
	if (build_spec(dp, &t, err, sizeof(err)) == -1) {
		o = failed(dp, &t, d->node, err);
		goto out;
	}
	if (check_pool(dp, &t, err, sizeof(err)) == -1) {
		o = failed(dp, &t, node_at(d, "work_pool", "name"), err);
		goto out;
	}
	if (read_current(dp, &t, err, sizeof(err)) == -1) {
		o = failed(dp, &t, d->node, err);
		goto out;
	}
	if (t.current == NULL) {
		if (dp->dry_run) {
			printf("Deployment '%s/%s' would be created\n", t.flow,
			    t.name);
			print_spec(dp, &t);
			o = OUT_WOULD_CREATE;
		} else if (create(dp, &t, &id, err, sizeof(err)) == -1)
			o = failed(dp, &t, d->node, err);
		else {
			printf("Deployment '%s/%s' created (id %s)\n", t.flow,
			    t.name, id);
			o = OUT_CREATED;
		}
		goto out;
	}
	n = diff(dp, &t, c);
	names = change_names(c, n);
	if (n == 0) {
		printf("Deployment '%s/%s' unchanged: no changes (id %s)\n",
		    t.flow, t.name, json_str(t.current, "id"));
		o = OUT_UNCHANGED;
	} else if (dp->dry_run) {
		printf("Deployment '%s/%s' would be updated: %s (id %s)\n",
		    t.flow, t.name, names, json_str(t.current, "id"));
		for (size_t i = 0; i < n; i++)
			print_change(&c[i]);
		o = OUT_WOULD_UPDATE;
	} else if (update(dp, &t, c, n, err, sizeof(err)) == -1)
		o = failed(dp, &t, d->node, err);
	else {
		printf("Deployment '%s/%s' updated: %s (id %s)\n", t.flow,
		    t.name, names, json_str(t.current, "id"));
		o = OUT_UPDATED;
	}
	free(names);
	changes_free(c, n);
out:
	fflush(stdout);
	free(id);
	target_cleanup(&t);
	return o;
}

/* ----------------------------------------------------------- selection */

/* fnmatch with '*' only, as prefect deploy --name patterns. */
static int
wildcard(const char *p, const char *s)
{
	if (*p == '\0')
		return *s == '\0';
	if (*p == '*')
		return wildcard(p + 1, s) ||
		    (*s != '\0' && wildcard(p, s + 1));
	return *p == *s && wildcard(p + 1, s + 1);
}

/* NAME or FLOW/NAME; FLOW is the entrypoint's function, '-' as '_'. */
static int
matches(const struct pf_deployment *d, const char *pattern)
{
	const char	*slash = strchr(pattern, '/'), *fn;
	char		*flow, *want;
	int		 ok;

	if (d->name == NULL)
		return 0;
	if (slash == NULL)
		return wildcard(pattern, d->name);
	if (!wildcard(slash + 1, d->name) || d->entrypoint == NULL)
		return 0;
	fn = strrchr(d->entrypoint, ':');
	flow = xstrdup(fn ? fn + 1 : d->entrypoint);
	want = xasprintf("%.*s", (int)(slash - pattern), pattern);
	for (char *p = flow; *p; p++)
		if (*p == '-')
			*p = '_';
	for (char *p = want; *p; p++)
		if (*p == '-')
			*p = '_';
	ok = wildcard(want, flow);
	free(flow);
	free(want);
	return ok;
}

static void
list_deployments(const struct prefect_yaml *py)
{
	const struct pf_deployment	*d;

	for (size_t i = 0; i < prefect_yaml_count(py); i++) {
		d = prefect_yaml_deployment(py, i);
		fprintf(stderr, "  %s (%s)\n", d->name ? d->name : "(no name)",
		    d->entrypoint ? d->entrypoint : "no entrypoint");
	}
}

/*
 * Marks the deployments to deploy in pick[]. Returns the number of
 * names that matched nothing, or -1 when nothing can be deployed.
 */
static int
select_deployments(const struct deploy *dp, char **names, size_t nnames,
    int all, char *pick)
{
	const struct prefect_yaml	*py = dp->f.py;
	const struct pf_deployment	*d;
	size_t				 n = prefect_yaml_count(py);
	int				 missing = 0, any = 0, hit;

	if (n == 0) {
		fprintf(stderr, "pfagent deploy: %s has no deployments\n",
		    dp->file);
		return -1;
	}
	if (!all && nnames == 0) {
		if (n == 1) {
			pick[0] = 1;
			return 0;
		}
		fprintf(stderr, "pfagent deploy: %s has %zu deployments; "
		    "choose with --name NAME or --all:\n", dp->file, n);
		list_deployments(py);
		return -1;
	}
	for (size_t i = 0; all && i < n; i++) {
		d = prefect_yaml_deployment(py, i);
		/* The model has warned about unnamed ones: skipped. */
		if (d->name != NULL && d->name[0] != '\0')
			pick[i] = any = 1;
	}
	for (size_t k = 0; k < nnames; k++) {
		hit = 0;
		for (size_t i = 0; i < n; i++)
			if (matches(prefect_yaml_deployment(py, i), names[k]))
				pick[i] = hit = any = 1;
		if (!hit) {
			fprintf(stderr, "pfagent deploy: %s has no deployment "
			    "'%s'\n", dp->file, names[k]);
			missing++;
		}
	}
	if (!any) {
		fprintf(stderr, "pfagent deploy: nothing to deploy; %s has:\n",
		    dp->file);
		list_deployments(py);
		return -1;
	}
	return missing;
}

/* ------------------------------------------------------------- command */

static void
usage_deploy(FILE *f)
{
	fprintf(f, "usage: pfagent deploy [--all | --name NAME ...] "
	    "[--prefect-file PATH] [--dry-run]\n\n"
	    "Creates or updates the deployments of prefect.yaml on the "
	    "server of\nPREFECT_API_URL, as 'prefect deploy' does, from the "
	    "project root (the\ncurrent directory: entrypoints are relative "
	    "to it). Each flow module is\nbuilt and loaded for its name and "
	    "parameter schema. A deployment that\nmatches the file is left "
	    "untouched; otherwise only the fields that differ\nare sent.\n\n"
	    "  --all               every deployment of the file\n"
	    "  --name, -n NAME     a deployment: NAME or FLOW/NAME, '*' "
	    "matches any text;\n"
	    "                      repeat for several (one deployment in "
	    "the file needs none)\n"
	    "  --prefect-file PATH the deployments file (default "
	    "prefect.yaml)\n"
	    "  --dry-run           show what would be created or changed; "
	    "write nothing\n\n"
	    "exit status: 0 done, 1 a deployment failed (the others are "
	    "still deployed),\n2 bad usage, an unreadable file or no API.\n");
}

static int
parse_args(int argc, char **argv, struct deploy *dp, int *all,
    char ***names, size_t *nnames)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage_deploy(stdout);
			return 0;
		} else if (!strcmp(a, "--all"))
			*all = 1;
		else if (!strcmp(a, "--dry-run"))
			dp->dry_run = 1;
		else if ((!strcmp(a, "--name") || !strcmp(a, "-n")) &&
		    i + 1 < argc) {
			*names = xrealloc(*names, (*nnames + 1) *
			    sizeof(**names));
			(*names)[(*nnames)++] = argv[++i];
		} else if (!strcmp(a, "--prefect-file") && i + 1 < argc)
			dp->file = argv[++i];
		else {
			fprintf(stderr, "pfagent deploy: unexpected '%s' (see "
			    "pfagent deploy --help)\n", a);
			return 2;
		}
	}
	if (*all && *nnames > 0) {
		fprintf(stderr, "pfagent deploy: use --all or --name, not "
		    "both\n");
		return 2;
	}
	return -1;
}

int
deploy_main(int argc, char **argv)
{
	struct deploy	 dp;
	char		 err[8192], **names = NULL, *pick = NULL;
	size_t		 nnames = 0, count[OUT__N] = { 0 };
	int		 all = 0, rc, missing;

	memset(&dp, 0, sizeof(dp));
	dp.file = "prefect.yaml";
	if ((rc = parse_args(argc, argv, &dp, &all, &names, &nnames)) != -1)
		goto out;
	rc = 2;
	log_init(LOG_LVL_WARN, "");
	if (http_settings_from_env(&dp.http, err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent deploy: %s; deploying needs the API, "
		    "and so does --dry-run, to compare with what is "
		    "deployed\n", err);
		goto out;
	}
	dp.api = refs_resolver(&dp.http);
	dp.r = (struct template_resolver){ secret_block, secret_block_by_id,
	    variable, &dp };
	if ((dp.cwd = realpath(".", NULL)) == NULL)
		fatal("realpath .");
	if (deploy_file_load(&dp.f, dp.file, err, sizeof(err)) == -1) {
		fprintf(stderr, "pfagent deploy: %s\n", err);
		goto out;
	}
	for (size_t i = 0; i < dp.f.warn.n; i++)
		fprintf(stderr, "pfagent deploy: warning: %s\n",
		    dp.f.warn.v[i]);
	pick = xcalloc(prefect_yaml_count(dp.f.py) + 1, 1);
	if ((missing = select_deployments(&dp, names, nnames, all, pick)) ==
	    -1)
		goto out;
	for (size_t i = 0; i < prefect_yaml_count(dp.f.py); i++)
		if (pick[i])
			count[deploy_one(&dp, prefect_yaml_deployment(dp.f.py,
			    i))]++;
	if (dp.dry_run)
		printf("Dry run, nothing written: %zu would be created, %zu "
		    "would be updated, %zu unchanged, %zu failed\n",
		    count[OUT_WOULD_CREATE], count[OUT_WOULD_UPDATE],
		    count[OUT_UNCHANGED], count[OUT_FAILED]);
	else
		printf("%zu created, %zu updated, %zu unchanged, %zu "
		    "failed\n", count[OUT_CREATED], count[OUT_UPDATED],
		    count[OUT_UNCHANGED], count[OUT_FAILED]);
	rc = count[OUT_FAILED] > 0 || missing > 0 ? 1 : 0;
out:
	free(pick);
	free(names);
	free(dp.cwd);
	deploy_file_cleanup(&dp.f);
	secrets_free(&dp.secrets);
	http_settings_cleanup(&dp.http);
	return rc;
}
