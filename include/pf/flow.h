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

#ifdef __cplusplus
}
#endif

#endif
