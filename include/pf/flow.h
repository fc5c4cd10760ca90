/*
 * pf/flow.h: the one header a flow author includes.
 *
 * A flow module is a C file compiled to a shared object; pfagent loads it
 * and calls the function its entrypoint names (flows/hello.c:hello ->
 * build/flows/hello.so, symbol declared by PF_FLOW(hello, ...)). See
 * docs/flows.md for a complete example.
 *
 *	#include <pf/flow.h>
 *
 *	static const pf_param_def params[] = {
 *		PF_PARAM_STRING("name", "world", "Who to greet"),
 *		PF_PARAM_END
 *	};
 *
 *	static int
 *	hello(pf_run *run)
 *	{
 *		pf_log_info(run, "Hello, %s!", pf_param_string(run, "name"));
 *		return PF_OK;
 *	}
 *
 *	PF_FLOW(hello, .description = "Greets someone", .params = params);
 *
 * Ownership: every pointer pfagent hands out is borrowed and valid until
 * the flow function returns. Nothing here is thread-safe unless it says so.
 */
#ifndef PF_FLOW_H
#define PF_FLOW_H

#include <stddef.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PF_ABI_VERSION	1

/** Return codes. */
#define PF_OK		0
#define PF_ERROR	(-1)

/** An opaque handle on the flow run being executed. */
typedef struct pf_run pf_run;

/** Parameter types, as Prefect's parameter schema names them. */
typedef enum pf_param_type {
	PF_PARAM_TYPE_STRING,
	PF_PARAM_TYPE_INTEGER,
	PF_PARAM_TYPE_NUMBER,
	PF_PARAM_TYPE_BOOLEAN,
	PF_PARAM_TYPE_OBJECT,
	PF_PARAM_TYPE_ARRAY
} pf_param_type;

/** One declared parameter. default_json is JSON text, NULL for none. */
typedef struct pf_param_def {
	const char	*name;
	pf_param_type	 type;
	const char	*default_json;
	int		 required;
	const char	*description;
} pf_param_def;

#define PF_PARAM_STRING(n, def, desc) \
	{ (n), PF_PARAM_TYPE_STRING, "\"" def "\"", 0, (desc) }
#define PF_PARAM_INT(n, def, desc) \
	{ (n), PF_PARAM_TYPE_INTEGER, #def, 0, (desc) }
#define PF_PARAM_NUMBER(n, def, desc) \
	{ (n), PF_PARAM_TYPE_NUMBER, #def, 0, (desc) }
#define PF_PARAM_BOOL(n, def, desc) \
	{ (n), PF_PARAM_TYPE_BOOLEAN, (def) ? "true" : "false", 0, (desc) }
#define PF_PARAM_REQUIRED(n, type, desc) \
	{ (n), (type), NULL, 1, (desc) }
#define PF_PARAM_END	{ NULL, PF_PARAM_TYPE_STRING, NULL, 0, NULL }

typedef int (*pf_flow_fn)(pf_run *run);

/** A flow's declaration; PF_FLOW fills it. */
typedef struct pf_flow_def {
	int			 abi;		/* PF_ABI_VERSION */
	pf_flow_fn		 fn;
	const char		*name;		/* default: the function's */
	const char		*description;
	const char		*version;
	const pf_param_def	*params;	/* ends with PF_PARAM_END */
	int			 retries;
	double			 retry_delay_seconds;
	double			 timeout_seconds;	/* 0: none */
} pf_flow_def;

/**
 * Declares function fn as a flow; the other fields of pf_flow_def may
 * follow as designated initializers.
 */
#define PF_FLOW(fn_, ...) \
	__attribute__((visibility("default"))) \
	const pf_flow_def pf_flow__##fn_ = { \
		.abi = PF_ABI_VERSION, .fn = (fn_), __VA_ARGS__ }

/**
 * Parameters, validated against the declaration before the run is
 * proposed Running (bad ones end it Failed, as Prefect's engine does).
 */
const char	*pf_param_string(pf_run *run, const char *name);
long long	 pf_param_int(pf_run *run, const char *name);
double		 pf_param_number(pf_run *run, const char *name);
int		 pf_param_bool(pf_run *run, const char *name);
/** The parameter as JSON text (objects, arrays), or NULL. */
const char	*pf_param_json(pf_run *run, const char *name);

/**
 * Log lines, at Prefect's levels, into the run's logs and on the console
 * (inside a task, the task run's), secrets masked. Thread-safe.
 */
void	pf_log_debug(pf_run *run, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	pf_log_info(pf_run *run, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	pf_log_warning(pf_run *run, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	pf_log_error(pf_run *run, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	pf_log_critical(pf_run *run, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/**
 * Records why the flow (inside a task's body: the task) failed and
 * returns PF_ERROR, so a flow can end with
 * `return pf_fail(run, "no rows for %s", day);`. The text becomes the
 * run's state message, secrets masked.
 */
int	pf_fail(pf_run *run, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/** The flow run's id and name, as Prefect shows them. */
const char	*pf_run_id(pf_run *run);
const char	*pf_run_name(pf_run *run);

/**
 * Sleeps, returning early (with PF_ERROR) when the run is asked to stop
 * (cancelled, timed out, shutting down); long-running flows should prefer
 * it to sleep(3).
 */
int	pf_sleep(pf_run *run, double seconds);

/**
 * Non-zero once the flow (or the task now running) is asked to stop: its
 * timeout passed, or the run is being cancelled or shut down. Long loops
 * check it and return; what has not returned some seconds later is
 * stopped by ending the process (docs/architecture.md, Timeouts).
 */
int	pf_stopped(pf_run *run);

/* ------------------------------------------------------------ tasks */

/** A task run of the flow run; owned by the run, valid until it ends. */
typedef struct pf_task pf_task;

/**
 * A task's body. It logs and fails through run as a flow does (its lines
 * and its failure belong to the task run); arg is pf_task_run()'s.
 */
typedef int (*pf_task_fn)(pf_run *run, void *arg);

/** A task's declaration, as Prefect's @task options. */
typedef struct pf_task_def {
	const char		*name;
	const char		*description;
	int			 retries;
	double			 retry_delay_seconds;
	/* Each retry waits retry_backoff times longer than the one
	 * before (0 or 1: the same delay; 2: Prefect's
	 * exponential_backoff). With retry_jitter_factor > 0 each delay
	 * is drawn at random up to (1 + factor) times it, averaging it
	 * (Prefect's clamped_poisson_interval). */
	double			 retry_backoff;
	double			 retry_jitter_factor;
	double			 timeout_seconds;	/* 0: none */
	const char *const	*tags;			/* NULL-terminated */
} pf_task_def;

/**
 * Declares a pf_task_def called var_, named var_ in Prefect:
 * PF_TASK(extract, .retries = 2). Its body is a separate function.
 */
#define PF_TASK(var_, ...) \
	static const pf_task_def var_ = { .name = #var_, __VA_ARGS__ }

/** A NULL-terminated list of upstream tasks, for pf_task_run(). */
#define PF_UPSTREAM(...)	((pf_task *const[]){ __VA_ARGS__, NULL })

/**
 * Runs fn(run, arg) now, as a task run of this flow run, visible in
 * Prefect with its states (Pending, Running, AwaitingRetry, Retrying,
 * Completed, Failed, TimedOut) and its upstream links (upstream: tasks
 * whose results it uses, NULL-terminated, or NULL). Retries as def says,
 * waiting out the delays; returns when the task run is final. pf_fail
 * inside fn fails the task, not the flow: the flow decides what its
 * failure means. Returns the task, or NULL only when the run is
 * stopping; check it with pf_task_ok().
 */
pf_task	*pf_task_run(pf_run *run, const pf_task_def *def, pf_task_fn fn,
	    void *arg, pf_task *const *upstream);

/** PF_OK when the task ended Completed, else PF_ERROR (NULL too). */
int	 pf_task_ok(const pf_task *task);
/**
 * Why the task failed, for the flow's pf_fail: its pf_fail text, or
 * Prefect's timeout message; "" when it did not fail.
 */
const char *pf_task_error(const pf_task *task);

/* -------------------------------------------------------- artifacts */

/**
 * Publishes an artifact linked to the flow run (and to the task run when
 * called inside a task), as Prefect's create_markdown_artifact and
 * create_table_artifact. key (lower-case letters, digits, dashes; NULL
 * for none) makes it the latest version of that artifact. table_json is
 * a JSON list of row objects, or an object of column lists. Returns
 * PF_OK or PF_ERROR (logged).
 */
int	pf_artifact_markdown(pf_run *run, const char *key,
	    const char *markdown, const char *description);
int	pf_artifact_table(pf_run *run, const char *key,
	    const char *table_json, const char *description);

/* ---------------------------------------------------- configuration */

/**
 * Configuration and secrets, resolved the dlt way from the directory
 * the flow runs in (for a deployed run, the checkout the pull steps left
 * it in) with the active workspace profile (WORKSPACE__PROFILE, `pfagent
 * start --profile`). A path is dotted sections then a key, e.g.
 * "sources.open_exchange_rates.api_key", looked up in order in:
 *
 *   1. environment variables  SOURCES__OPEN_EXCHANGE_RATES__API_KEY
 *   2. secrets.toml           .dlt/<profile>.secrets.toml, .dlt/secrets.toml,
 *                             then the same in ~/.dlt
 *   3. config.toml            the same four files (no secrets here)
 *   4. AWS Secrets Manager    when providers.enable_aws_secrets is true
 *
 * each provider trying the full path first, then with the rightmost
 * section dropped, down to the bare key (SOURCES__API_KEY, API_KEY); a
 * "credentials" section is never dropped. With pf_config_pipeline() set,
 * "<pipeline>.<path>" is looked up first, everywhere. README.md,
 * "Configuration", has the whole rule set.
 *
 * Failure: a required value that is found nowhere (or cannot be read
 * as the type asked, or is a secret found in config.toml) fails the
 * body now running (the flow, or the task inside one) as pf_fail does,
 * with dlt's message listing every place looked; the getter returns
 * NULL, 0 or the default. Read what you need, then check once:
 *
 *	const char *key = pf_secret_string(run, "sources.oxr.api_key");
 *	long long days = pf_config_int_or(run, "sources.oxr.days", 7);
 *	if (pf_config_ok(run) != PF_OK)
 *		return PF_ERROR;
 *
 * Secrets: a value from secrets.toml or Secrets Manager, or of a secret
 * key (password, api_key, token, credentials, ... or any pf_secret_*
 * read) is masked as "****" wherever it would leave the run: log lines
 * (Prefect and the console), state messages (pf_fail texts), artifacts.
 * Values shorter than 4 bytes are not masked.
 *
 * Strings returned are owned by the run, valid until the flow function
 * returns. Not thread-safe.
 */

/** Required values: a missing one fails the body (see above). */
const char	*pf_config_string(pf_run *run, const char *path);
long long	 pf_config_int(pf_run *run, const char *path);
double		 pf_config_number(pf_run *run, const char *path);
int		 pf_config_bool(pf_run *run, const char *path);
/** An object or a list (from TOML, or JSON text) as JSON text. */
const char	*pf_config_json(pf_run *run, const char *path);
/** A secret field: never from config.toml, masked wherever it shows. */
const char	*pf_secret_string(pf_run *run, const char *path);

/** Optional values: def when found nowhere (a bad value still fails). */
const char	*pf_config_string_or(pf_run *run, const char *path,
		    const char *def);
long long	 pf_config_int_or(pf_run *run, const char *path,
		    long long def);
double		 pf_config_number_or(pf_run *run, const char *path,
		    double def);
int		 pf_config_bool_or(pf_run *run, const char *path, int def);
const char	*pf_secret_string_or(pf_run *run, const char *path,
		    const char *def);

/**
 * PF_OK while no lookup of the body now running (flow, or task) has
 * failed; else PF_ERROR, the failure already recorded for the run.
 */
int		 pf_config_ok(pf_run *run);

/**
 * Looks every later lookup up under the pipeline's name first, as dlt
 * does inside a pipeline: CURRENCIES__SOURCES__..., [currencies.sources
 * ...]. NULL stops it.
 */
void		 pf_config_pipeline(pf_run *run, const char *pipeline_name);

/** The active workspace profile ("dev", "prod", ...), or NULL. */
const char	*pf_config_profile(pf_run *run);

/**
 * The type of a named destination, as dlt.pipeline(destination=name)
 * resolves it: destination.<name>.destination_type ("duckdb",
 * "snowflake", ...), else name itself when it is a standard dlt
 * destination; else the body fails with dlt's message and NULL is
 * returned. Its settings and credentials are then read under
 * "destination.<name>": pf_secret_string(run,
 * "destination.warehouse.credentials.password").
 */
const char	*pf_destination_type(pf_run *run, const char *name);

/* --------------------------------------------------------- loading */

/**
 * Loading data into a warehouse, as dlt does (docs/flows.md, Loading):
 * the same tables, columns, types and system tables (_dlt_loads,
 * _dlt_version, _dlt_pipeline_state) dlt's Python pipeline would make
 * from the same items.
 *
 *	pf_pipeline *p = pf_pipeline_open(run, "currencies", "warehouse",
 *	    "open_exchange_rates");
 *	pf_resource *r = pf_resource_add(p, &(pf_resource_def){
 *	    .name = "currencies", .write_disposition = PF_MERGE,
 *	    .primary_key = "code" });
 *	pf_resource_item_json(r, "{\"code\":\"EUR\",\"name\":\"Euro\"}", -1);
 *	if (pf_pipeline_extract(p) != PF_OK ||
 *	    pf_pipeline_normalize(p) != PF_OK ||
 *	    pf_pipeline_load(p) != PF_OK)
 *		return pf_fail(run, "%s", pf_pipeline_error(p));
 *	pf_artifact_table(run, "currencies-load",
 *	    pf_pipeline_load_info(p), "Rows loaded per table");
 *	pf_pipeline_close(p);
 *
 * The three steps are separate calls so a flow can run each as a task.
 * extract seals the items given so far, with the pipeline state, into a
 * load package on disk (under the profile's pipeline directory);
 * normalize turns every extracted package into tables (dlt's relational
 * normalizer: snake_case names, nested objects flattened with "__",
 * lists into child tables, inferred types, variant columns); load puts
 * every normalized package into the destination, oldest first, each in
 * one transaction. A package left behind by a run that died is finished
 * by the next run's steps, exactly once.
 *
 * Errors are values: a call returns PF_ERROR (NULL) and
 * pf_pipeline_error() says what and where; once a pipeline has failed,
 * later calls on it fail at once with the same message. Logs go to the
 * run (inside a task, the task run). Nothing here is thread-safe.
 */
typedef struct pf_pipeline pf_pipeline;
typedef struct pf_resource pf_resource;

/** dlt's write dispositions. */
typedef enum pf_write_disposition {
	PF_APPEND,	/* add the rows (the default) */
	PF_REPLACE,	/* the tables hold only this load's rows */
	PF_MERGE	/* delete-insert on primary_key, deduplicated;
			   without a key: append, as dlt */
} pf_write_disposition;

/** A resource: a table and how rows go into it (dlt's @dlt.resource). */
typedef struct pf_resource_def {
	const char		*name;		/* resource and table name,
						   normalized to snake_case */
	pf_write_disposition	 write_disposition;
	const char		*primary_key;	/* column(s), comma-separated,
						   or NULL */
	/*
	 * dlt's column hints as JSON, e.g.
	 * {"rate": {"data_type": "double"}, "raw": {"data_type": "json"}};
	 * NULL for none. A hinted type wins over inference.
	 */
	const char		*columns_json;
	/*
	 * Nesting levels made into child tables; deeper values become json
	 * columns (dlt's max_table_nesting). 0 means "not set": then the
	 * configuration's normalize.max_table_nesting, else dlt's 1000.
	 * For a real 0 (no child tables at all) give PF_NESTING_NONE.
	 */
	int			 max_table_nesting;
} pf_resource_def;

#define PF_NESTING_NONE	(-1)

/**
 * Opens pipeline pipeline_name loading into the named destination
 * (destination.<name>.destination_type from the configuration, as
 * pf_destination_type) and dataset_name (NULL: "<pipeline>_dataset").
 * Its working files are in the profile's pipelines directory, a DuckDB
 * file in the profile's local data directory ("<destination>.duckdb").
 * Always returns a handle (NULL only when out of memory); check
 * pf_pipeline_error(). Close it with pf_pipeline_close().
 */
pf_pipeline	*pf_pipeline_open(pf_run *run, const char *pipeline_name,
		    const char *destination, const char *dataset_name);
void		 pf_pipeline_close(pf_pipeline *p);

/** Why the pipeline failed, or NULL while it has not. */
const char	*pf_pipeline_error(const pf_pipeline *p);

/** Declares a resource; NULL when def is invalid (see the error). */
pf_resource	*pf_resource_add(pf_pipeline *p, const pf_resource_def *def);

/**
 * Gives one item (a JSON object; an array gives each of its objects) to
 * the resource. Items are written to disk as they come, so a large
 * extract needs no memory for them. The cJSON form does not take item.
 */
int	 pf_resource_item(pf_resource *r, const cJSON *item);
/** The same from JSON text; len -1 for a NUL-terminated string. */
int	 pf_resource_item_json(pf_resource *r, const char *json, long len);

/**
 * The resource's state, dlt's
 * state["sources"][<pipeline>]["resources"][<resource>]: an object
 * owned by the pipeline, to read and change in place. It is saved with
 * the next extract and stored in the destination (_dlt_pipeline_state)
 * with that package's load, so it only advances when the data it
 * describes is loaded. Incremental cursors live under "incremental"
 * as dlt keeps them; pf_resource_cursor() is the short way.
 */
cJSON	*pf_resource_state(pf_resource *r);

/**
 * An incremental cursor on field cursor_path, as dlt.sources.incremental
 * with last_value_func max: the last value stored (JSON text), else
 * initial_json (may be NULL). pf_resource_item() then keeps the largest
 * value of the field seen, stored by the next extract.
 */
const char *pf_resource_cursor(pf_resource *r, const char *cursor_path,
	    const char *initial_json);

/** Seals the items given so far into a load package (may be empty). */
int	 pf_pipeline_extract(pf_pipeline *p);
/** Normalizes every extracted package into tables. */
int	 pf_pipeline_normalize(pf_pipeline *p);
/** Loads every normalized package, oldest first, each exactly once. */
int	 pf_pipeline_load(pf_pipeline *p);

/**
 * What the last pf_pipeline_load() loaded, as a JSON list of rows
 * {"load_id", "table_name", "row_count"} ready for pf_artifact_table();
 * "[]" when nothing was loaded. Owned by the pipeline.
 */
const char *pf_pipeline_load_info(pf_pipeline *p);
/** Rows loaded into one table by the last pf_pipeline_load(). */
long long   pf_pipeline_rows(const pf_pipeline *p, const char *table);

/**
 * dlt's pipeline.run() as Prefect task runs: the flow's own extract task
 * (def and body, given arg; the body gives the items and calls
 * pf_pipeline_extract), then the tasks "normalize" and "load", each
 * linked to the one before; then, when artifact_key is not NULL, a table
 * artifact of pf_pipeline_load_info() with that description. A failed
 * task stops the chain and fails the flow run with its error (pf_fail).
 * Returns PF_OK or PF_ERROR, for the flow to return.
 */
int	    pf_pipeline_run_tasks(pf_run *run, pf_pipeline *p,
	    const pf_task_def *extract, pf_task_fn extract_body, void *arg,
	    const char *artifact_key, const char *artifact_description);

/* ---------------------------------------------------- HTTP sources */

/**
 * Reading a JSON API, as dlt's requests helper does: GET with query
 * parameters; retries on 429, 5xx, timeouts and lost connections with
 * capped exponential backoff and jitter, honouring Retry-After, from
 * dlt's [runtime] settings (request_timeout 60 s, request_max_attempts
 * 5, request_backoff_factor 1 s, request_max_retry_delay 300 s); one
 * pagination hook for every style (Link header, cursor, page number);
 * large responses streamed item by item, never held whole.
 *
 *	pf_http *h = pf_http_new(run, "https://openexchangerates.org/api/"
 *	    "currencies.json");
 *	pf_http_secret_param(h, "app_id", app_id);
 *	if (pf_http_get_items(h, "", add_currency, resource) != PF_OK)
 *		rc = pf_fail(run, "%s", pf_http_error(h));
 *	pf_http_free(h);
 *
 * Errors are values: PF_ERROR, and pf_http_error() names the request
 * (method and URL, secret parameters shown as ****), the HTTP status
 * and the API's own words ("GET https://.../currencies.json?app_id=****:
 * HTTP 401: invalid_app_id: Invalid App ID provided ..."); a body that
 * is not JSON is an error too. Secret parameter values are added to the
 * run's masked secrets, so they show in no log line, state message or
 * artifact. Retries are logged as warnings. A stopping run (timeout,
 * cancellation) ends a transfer and a backoff wait early. Not
 * thread-safe: one pf_http per thread.
 */
typedef struct pf_http pf_http;

/** One page's answer, for the pagination hook. Borrowed. */
typedef struct pf_http_page {
	int		 number;	/* 1 for the first page */
	long		 status;
	const char	*url;		/* as requested, secrets masked */
	const char	*link_next;	/* the Link header's rel="next" URL
					   (resolved), or NULL */
	const cJSON	*rest;		/* the body without the streamed
					   items: {"data":[],"next":"c2"} */
	size_t		 items;		/* items on this page */
} pf_http_page;

/**
 * One item of the streamed array or object, borrowed for the call. Its
 * text is what the API sent, so pf_resource_item_json(r, item->json,
 * item->len) loads its numbers exactly as dlt reads them (1.0 a double,
 * 12345678901234567890 whole); value is the same parsed by cJSON, whose
 * numbers are doubles.
 */
typedef struct pf_http_item {
	const char	*key;		/* an object member's key, else NULL */
	const cJSON	*value;
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
 * which the caller frees with cJSON_Delete.
 */
int		 pf_http_get_json(pf_http *h, cJSON **out);
/**
 * GETs page after page, handing fn each item of the array or object at
 * path in every body as it streams in: "" the top level, "data" the
 * top-level key data, "result.items" deeper. A page is retried only
 * while none of its items was handed over. Returns PF_OK or PF_ERROR.
 */
int		 pf_http_get_items(pf_http *h, const char *path,
		    pf_http_item_fn fn, void *payload);
/** Why the last get failed, or NULL. */
const char	*pf_http_error(const pf_http *h);

/* ----------------------------------------------------- SQL sources */

/**
 * Reading a PostgreSQL table into a resource, as dlt's sql_table
 * (dlt.sources.sql_database) does with its defaults: the table is
 * reflected as reflection_level "full" does (each column's dlt type,
 * nullability, the primary key), so the warehouse gets dlt's types;
 * rows are read through a server-side cursor, chunk_size rows at a
 * time, and written to disk as they come.
 *
 *	if (pf_sql_table(p, &(pf_sql_table_def){
 *	    .credentials = "sources.clever_cloud", .table = "products",
 *	    .write_disposition = PF_MERGE, .incremental = "updated_at" },
 *	    &rows) != PF_OK)
 *		return pf_fail(run, "%s", pf_pipeline_error(p));
 *
 * Credentials: the fields of dlt's PostgresCredentials (host, port,
 * database, username, password, connect_timeout, ...) under the
 * section named, e.g. SOURCES__CLEVER_CLOUD__PASSWORD or
 * [sources.clever_cloud], or a connection string under
 * "<section>.credentials" (postgresql://user:password@host:port/db);
 * the password is masked everywhere.
 *
 * Incremental: as dlt.sources.incremental(column) with max: the query
 * is filtered "WHERE column >= last value" (the last value from the
 * pipeline state, pf_resource_cursor), rows on the boundary that were
 * loaded before (same primary key) are skipped, and the largest value
 * read is stored by the next extract. A NULL cursor value fails, as
 * dlt's default on_cursor_value_missing "raise".
 *
 * Errors are values: PF_ERROR, and pf_pipeline_error() names the
 * section, the table and the server (postgresql://user:***@host:port/db)
 * with PostgreSQL's words. *rows (may be NULL) gets the rows read.
 */
typedef struct pf_sql_table_def {
	const char		*credentials;	/* configuration section */
	const char		*schema;	/* NULL: "public" */
	const char		*table;		/* also the resource's name */
	pf_write_disposition	 write_disposition;
	const char		*primary_key;	/* NULL: the table's own */
	const char		*incremental;	/* cursor column, or NULL */
	const char		*initial_value_json; /* NULL: every row */
	long			 chunk_size;	/* 0: dlt's 50000 */
} pf_sql_table_def;

int	 pf_sql_table(pf_pipeline *p, const pf_sql_table_def *def,
	    long long *rows);

#ifdef __cplusplus
}
#endif

#endif
