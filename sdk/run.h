/*
 * sdk/run.h: what the executor and the SDK share about a flow run. Not
 * installed: flow authors see only the opaque pf_run of pf/flow.h.
 */
#ifndef SDK_RUN_H
#define SDK_RUN_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pf/pf.h"

struct http_settings;
struct logship;

struct pf_run {
	const char		*id;
	const char		*name;
	const pf_flow_def	*def;
	cJSON			*params;	/* validated, defaults applied */
	cJSON			*json_texts;	/* pf_param_json results */
	char			*error;		/* set by pf_fail, masked */
	const char		*error_type;	/* its Python exception, e.g.
						   ConfigFieldMissingException;
						   NULL: FlowError/TaskError */
	struct logship		*logs;		/* NULL: console only */
	volatile sig_atomic_t	*stop;		/* non-zero: wind down */
	const struct http_settings *http;	/* NULL: no API, states local */

	/*
	 * Configuration (sdk/config.c). cfg is the process's resolver,
	 * made by the executor in the flow's directory (NULL with
	 * cfg_error saying why); the rest is per attempt.
	 */
	struct cfg		*cfg;
	char			*cfg_error;	/* owned by the executor */
	char			*pipeline;	/* pf_config_pipeline's */
	cJSON			*cfg_texts;	/* strings handed to the flow */
	int			 cfg_failures;	/* failed lookups of the body
						   running (flow or task) */

	/* This attempt's task runs (sdk/task.c), reset by sdk_run_cleanup. */
	struct pf_task		*tasks;		/* all of them, owned */
	cJSON			*dynamic_keys;	/* task key -> calls so far */

	/*
	 * Stopping (docs/architecture.md, Timeouts). The flow's thread arms
	 * and disarms deadlines; the executor's watchdog reads them. mu
	 * guards deadline_ms, running (and the deadlines of its chain) and
	 * hard_stop; changed is signalled on every change.
	 */
	pthread_mutex_t		 mu;
	pthread_cond_t		 changed;	/* CLOCK_MONOTONIC */
	int64_t			 deadline_ms;	/* flow attempt's, now_ms(); 0: none */
	struct pf_task		*running;	/* innermost task in progress */
	int			 hard_stop;	/* who ends the process: SDK_END_* */
};

/* Who ends the process, once a flow's thread may no longer go on. */
#define SDK_END_WATCHDOG	1	/* a body overran its timeout */
#define SDK_END_SIGNAL		2	/* SIGTERM/SIGINT */
#define SDK_END_NORMAL		3	/* the executor itself, finishing */

/*
 * Validates given parameters (a JSON object, may be NULL) against the
 * flow's declaration and applies defaults, as Prefect's
 * Flow.validate_parameters. Returns a new object, or NULL with
 * *exc_type the Python exception Prefect raises (ParameterTypeError,
 * SignatureMismatchError) and err its message, naming every problem.
 */
cJSON	*sdk_params_prepare(const pf_flow_def *, const cJSON *given,
	    const char **exc_type, char *err, size_t errlen);
/*
 * Whether v can be parameter name's value: strict, as the server checks
 * a run's parameters against the schema when the deployment enforces
 * it (JSON types: "5" is no integer); else as Flow.validate_parameters
 * coerces them in the run. Returns 0, or -1 with why.
 */
int	sdk_param_check(const pf_flow_def *, const char *name, const cJSON *v,
	    int strict, char *why, size_t whylen);
/* The declaration as Prefect's parameter_openapi_schema (caller frees). */
cJSON	*sdk_params_schema(const pf_flow_def *);

/* error.c */
/* Sets pf_last_error()'s text for this thread; return PF_ERROR. */
int	 sdk_error_set(const char *msg);
int	 sdk_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A definition's version field against the one this SDK knows: 0, or -1
 * with err saying which struct, which version and how to fix it.
 */
int	 sdk_def_version(const char *type, unsigned int version,
	    unsigned int known, const char *init, char *err, size_t errlen);

/* flow.c */
/* Before first use: the lock and condition of the stopping fields. */
void	 sdk_run_init(pf_run *);
/* After an attempt: its parameters, error and task runs. */
void	 sdk_run_cleanup(pf_run *);
void	 sdk_run_destroy(pf_run *);

/*
 * With mu held, by the flow's thread before it changes what the watchdog
 * reads (deadlines, the running tasks): when another thread owns the end
 * of the process (hard_stop), it unlocks and never returns, so a body
 * that returns late does not race the final states reported for it.
 */
void	 sdk_run_park_if_stopping(pf_run *);

/* config.c */
/* Frees the attempt's configuration texts and pipeline name. */
void	 sdk_config_cleanup(pf_run *);
/*
 * The Python exception dlt raises for a resolver's error message
 * (ConfigFieldMissingException, ...), for the run's failure.
 */
const char *sdk_config_exception(const char *message);

/* task.c */
/* Frees the attempt's task runs (sdk_run_cleanup). */
void	 sdk_tasks_free(pf_run *);
/*
 * The id of the task run now in progress (innermost), or NULL in the
 * flow's own body: its lines and artifacts belong to it. *name (may be
 * NULL) gets its name. Thread-safe.
 */
const char *sdk_run_task_run_id(pf_run *, const char **name);
/*
 * The earliest armed deadline (flow attempt, running tasks), or 0.
 * Called with mu held.
 */
int64_t	 sdk_run_next_deadline(const pf_run *);
/*
 * Ends every task run still in progress, innermost first, with forced
 * states: with crash_message, Crashed (a termination signal); else
 * TimedOut, as Prefect words it for the task whose own deadline passed
 * and for those it interrupted. Called by the watchdog and the signal
 * thread once they own the end (hard_stop). Returns the timeout of the
 * innermost task whose own deadline passed, 0 when none did.
 */
double	 sdk_tasks_abandon(pf_run *, const char *crash_message);

/* The task run's name and current state's name (for the unit tests). */
const char *sdk_task_name(const pf_task *);
/* Why it failed ("" when it did not), for the unit tests. */
const char *sdk_task_error(const pf_task *);
const char *sdk_task_state(const pf_task *);

#endif
