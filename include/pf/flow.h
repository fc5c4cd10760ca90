/*
 * pf/flow.h: the core of the flow SDK: flows, parameters, logs, failing,
 * tasks, artifacts and the error idiom. Ten minutes of reading.
 *
 * A flow module is a C file compiled to a shared object; pfagent loads it
 * and calls the function its entrypoint names (flows/hello.c:hello ->
 * build/flows/hello.so, symbol declared by PF_FLOW(hello, ...)).
 * docs/flows.md has the whole story and the build line.
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
 * The other headers, each including this one (or all of them at once
 * through <pf/pf.h>):
 *	<pf/config.h>	configuration and secrets, the dlt way
 *	<pf/json.h>	pf_json, a read-only JSON value (and row objects)
 *	<pf/pipeline.h>	loading as dlt does: pipelines, resources,
 *			incremental cursors, pf_pipeline_run()
 *	<pf/http.h>	reading JSON APIs (retries, pagination, streaming)
 *	<pf/sql.h>	reading a PostgreSQL table into a resource
 *
 * Errors, everywhere: a call that fails returns PF_ERROR (or NULL) and
 * pf_last_error() says why; a flow (or a task's body) that gives up says
 * so with pf_fail(), which returns PF_ERROR to return:
 *
 *	if (pf_pipeline_extract(p) != PF_OK)
 *		return pf_fail(run, "%s", pf_last_error());
 *
 * Definitions: every struct a flow fills for the SDK (pf_flow_def,
 * pf_param_def, pf_task_def, pf_resource_def, ...) starts with a version
 * field and has an _INIT macro that sets it, the other fields following
 * as designated initializers:
 *
 *	PF_TASK_DEF_INIT(.name = "extract", .retries = 2)
 *
 * The SDK refuses a version it does not know, saying which and why.
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

/* The module ABI: pfagent refuses a module built for another one. */
#define PF_ABI_VERSION	2

/** Return codes. */
#define PF_OK		0
#define PF_ERROR	(-1)

/** An opaque handle on the flow run being executed. */
typedef struct pf_run pf_run;

/**
 * Why the last SDK call that failed on this thread failed (a task run:
 * pf_task_run whose task did not complete), or "" when none has. Calls
 * that succeed leave it alone: read it right after the failure. Valid
 * until the next failure on this thread.
 */
const char	*pf_last_error(void);

/**
 * Records why the flow (inside a task's body: the task) failed and
 * returns PF_ERROR, so a flow can end with
 * `return pf_fail(run, "no rows for %s", day);`. The text becomes the
 * run's state message, secrets masked.
 */
int	pf_fail(pf_run *run, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------- parameters */

/** Parameter types, as Prefect's parameter schema names them. */
typedef enum pf_param_type {
	PF_PARAM_TYPE_STRING,
	PF_PARAM_TYPE_INTEGER,
	PF_PARAM_TYPE_NUMBER,
	PF_PARAM_TYPE_BOOLEAN,
	PF_PARAM_TYPE_OBJECT,
	PF_PARAM_TYPE_ARRAY
} pf_param_type;

#define PF_PARAM_DEF_VERSION	1

/** One declared parameter. default_json is JSON text, NULL for none. */
typedef struct pf_param_def {
	unsigned int	 version;	/* PF_PARAM_DEF_VERSION */
	const char	*name;
	pf_param_type	 type;
	const char	*default_json;
	int		 required;
	const char	*description;
} pf_param_def;

#define PF_PARAM_DEF_INIT(...) \
	{ .version = PF_PARAM_DEF_VERSION, __VA_ARGS__ }
#define PF_PARAM_STRING(n, def, desc) PF_PARAM_DEF_INIT(.name = (n), \
	.type = PF_PARAM_TYPE_STRING, .default_json = "\"" def "\"", \
	.description = (desc))
#define PF_PARAM_INT(n, def, desc) PF_PARAM_DEF_INIT(.name = (n), \
	.type = PF_PARAM_TYPE_INTEGER, .default_json = #def, \
	.description = (desc))
#define PF_PARAM_NUMBER(n, def, desc) PF_PARAM_DEF_INIT(.name = (n), \
	.type = PF_PARAM_TYPE_NUMBER, .default_json = #def, \
	.description = (desc))
#define PF_PARAM_BOOL(n, def, desc) PF_PARAM_DEF_INIT(.name = (n), \
	.type = PF_PARAM_TYPE_BOOLEAN, \
	.default_json = (def) ? "true" : "false", .description = (desc))
#define PF_PARAM_REQUIRED(n, type_, desc) PF_PARAM_DEF_INIT(.name = (n), \
	.type = (type_), .required = 1, .description = (desc))
#define PF_PARAM_END	PF_PARAM_DEF_INIT(.name = NULL)

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

/* ------------------------------------------------------------ flows */

typedef int (*pf_flow_fn)(pf_run *run);

/**
 * A flow's declaration; PF_FLOW fills it. Its version field is abi, the
 * module's ABI, checked when pfagent loads the module.
 */
typedef struct pf_flow_def {
	unsigned int		 abi;		/* PF_ABI_VERSION */
	pf_flow_fn		 fn;
	const char		*name;		/* default: the function's */
	const char		*description;
	const char		*version;	/* the flow's, for Prefect */
	const pf_param_def	*params;	/* ends with PF_PARAM_END */
	int			 retries;
	double			 retry_delay_seconds;
	double			 timeout_seconds;	/* 0: none */
} pf_flow_def;

#define PF_FLOW_DEF_INIT(...)	{ .abi = PF_ABI_VERSION, __VA_ARGS__ }

/**
 * Declares function fn as a flow; the other fields of pf_flow_def may
 * follow as designated initializers.
 */
#define PF_FLOW(fn_, ...) \
	__attribute__((visibility("default"))) \
	const pf_flow_def pf_flow__##fn_ = \
	    PF_FLOW_DEF_INIT(.fn = (fn_), __VA_ARGS__)

/** The flow run's id and name, as Prefect shows them. */
const char	*pf_run_id(pf_run *run);
const char	*pf_run_name(pf_run *run);

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

#define PF_TASK_DEF_VERSION	1

/** A task's declaration, as Prefect's @task options. */
typedef struct pf_task_def {
	unsigned int		 version;	/* PF_TASK_DEF_VERSION */
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

#define PF_TASK_DEF_INIT(...) \
	{ .version = PF_TASK_DEF_VERSION, __VA_ARGS__ }

/**
 * Declares a pf_task_def called var_, named var_ in Prefect:
 * PF_TASK(extract, .retries = 2). Its body is a separate function.
 */
#define PF_TASK(var_, ...) \
	static const pf_task_def var_ = \
	    PF_TASK_DEF_INIT(.name = #var_, __VA_ARGS__)

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
 * stopping; check it with pf_task_ok(), and when it failed
 * pf_last_error() is why (its pf_fail text, or Prefect's timeout
 * message):
 *
 *	t = pf_task_run(run, &extract, extract_fn, NULL, NULL);
 *	if (pf_task_ok(t) != PF_OK)
 *		return pf_fail(run, "extract failed: %s", pf_last_error());
 */
pf_task	*pf_task_run(pf_run *run, const pf_task_def *def, pf_task_fn fn,
	    void *arg, pf_task *const *upstream);

/** PF_OK when the task ended Completed, else PF_ERROR (NULL too). */
int	 pf_task_ok(const pf_task *task);

/* -------------------------------------------- results: artifacts */

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

#ifdef __cplusplus
}
#endif

#endif
