/*
 * sdk/run.h: what the executor and the SDK share about a flow run. Not
 * installed: flow authors see only the opaque pf_run of pf/flow.h.
 */
#ifndef SDK_RUN_H
#define SDK_RUN_H

#include <signal.h>

#include <cjson/cJSON.h>

#include "pf/flow.h"

struct logship;

struct pf_run {
	const char		*id;
	const char		*name;
	const pf_flow_def	*def;
	cJSON			*params;	/* validated, defaults applied */
	cJSON			*json_texts;	/* pf_param_json results */
	char			*error;		/* set by pf_fail */
	struct logship		*logs;		/* NULL: console only */
	volatile sig_atomic_t	*stop;		/* non-zero: wind down */
};

/*
 * Validates given parameters (a JSON object, may be NULL) against the
 * flow's declaration and applies defaults. Returns a new object, or NULL
 * with a message naming every problem.
 */
cJSON	*sdk_params_prepare(const pf_flow_def *, const cJSON *given,
	    char *err, size_t errlen);
/* The declaration as Prefect's parameter_openapi_schema (caller frees). */
cJSON	*sdk_params_schema(const pf_flow_def *);
void	 sdk_run_cleanup(pf_run *);

#endif
