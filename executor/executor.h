/*
 * executor.h: `pfagent execute`, the per-run child process.
 */
#ifndef EXECUTOR_EXECUTOR_H
#define EXECUTOR_EXECUTOR_H

#include <cjson/cJSON.h>

/* `pfagent execute`: the flow run named by PREFECT__FLOW_RUN_ID. */
int	executor_main(void);
/*
 * `pfagent run`: a local run of entrypoint with params (may be NULL).
 * Without PREFECT_API_URL nothing is reported; with it, the flow and the
 * run are created on the server. Exit status: 0 Completed, 1 otherwise,
 * 2 when the flow could not be loaded.
 */
int	executor_run(const char *entrypoint, const cJSON *params);

#endif
