/*
 * flow.c: the functions of pf/flow.h (but tasks and artifacts), as flow
 * modules call them from inside the executor.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prefect/api.h"
#include "sdk/logship.h"
#include "common/json.h"
#include "common/util.h"
#include "sdk/run.h"

#define PF_EXPORT __attribute__((visibility("default")))

/* Inside a task its lines belong to the task run, as Prefect's. */
static void
vlog(pf_run *run, int level, const char *fmt, va_list ap)
{
	char		*msg = xvasprintf(fmt, ap);
	const char	*name, *task_run_id = sdk_run_task_run_id(run, &name);

	logship_push(run->logs, task_run_id ? "prefect.task_runs" :
	    "prefect.flow_runs", level, msg, task_run_id, name);
	free(msg);
}

#define LOG_FN(fn, level) \
PF_EXPORT void \
fn(pf_run *run, const char *fmt, ...) \
{ \
	va_list	ap; \
	va_start(ap, fmt); \
	vlog(run, level, fmt, ap); \
	va_end(ap); \
}

LOG_FN(pf_log_debug, PF_LEVEL_DEBUG)
LOG_FN(pf_log_info, PF_LEVEL_INFO)
LOG_FN(pf_log_warning, PF_LEVEL_WARNING)
LOG_FN(pf_log_error, PF_LEVEL_ERROR)
LOG_FN(pf_log_critical, PF_LEVEL_CRITICAL)

PF_EXPORT int
pf_fail(pf_run *run, const char *fmt, ...)
{
	va_list	 ap;

	/* It becomes a state message: no secret may reach it. */
	free(run->error);
	va_start(ap, fmt);
	run->error = logship_vmask(run->logs, fmt, ap);
	va_end(ap);
	run->error_type = NULL;
	return PF_ERROR;
}

static const cJSON *
param(pf_run *run, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(run->params, name);
}

PF_EXPORT const char *
pf_param_string(pf_run *run, const char *name)
{
	return json_str(run->params, name);
}

PF_EXPORT long long
pf_param_int(pf_run *run, const char *name)
{
	const cJSON *v = param(run, name);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

PF_EXPORT double
pf_param_number(pf_run *run, const char *name)
{
	const cJSON *v = param(run, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

PF_EXPORT int
pf_param_bool(pf_run *run, const char *name)
{
	return cJSON_IsTrue(param(run, name));
}

PF_EXPORT const char *
pf_param_json(pf_run *run, const char *name)
{
	const cJSON	*v = param(run, name);
	cJSON		*text;

	if (v == NULL)
		return NULL;
	if (run->json_texts == NULL)
		run->json_texts = cJSON_CreateObject();
	if ((text = cJSON_GetObjectItemCaseSensitive(run->json_texts,
	    name)) == NULL) {
		char *s = json_print(v);

		text = cJSON_AddStringToObject(run->json_texts, name, s);
		free(s);
	}
	return text->valuestring;
}

PF_EXPORT const char *
pf_run_id(pf_run *run)
{
	return run->id;
}

PF_EXPORT const char *
pf_run_name(pf_run *run)
{
	return run->name;
}

PF_EXPORT int
pf_stopped(pf_run *run)
{
	int64_t	due, now = now_ms();

	if (run->stop != NULL && *run->stop)
		return 1;
	pthread_mutex_lock(&run->mu);
	due = sdk_run_next_deadline(run);
	pthread_mutex_unlock(&run->mu);
	return due != 0 && now >= due;
}

/* Polls the stop conditions every 100 ms: cheap, and prompt enough. */
PF_EXPORT int
pf_sleep(pf_run *run, double seconds)
{
	int64_t	end = now_ms() + (int64_t)(seconds * 1000);

	while (now_ms() < end) {
		int64_t	left = end - now_ms();

		if (pf_stopped(run))
			return sdk_error_set("stopped: the run is stopping");
		sleep_ms(left < 100 ? left : 100);
	}
	return pf_stopped(run) ? sdk_error_set("stopped: the run is "
	    "stopping") : PF_OK;
}

void
sdk_run_init(pf_run *run)
{
	pthread_condattr_t	ca;

	pthread_mutex_init(&run->mu, NULL);
	pthread_condattr_init(&ca);
	/* Deadlines are on now_ms()'s clock. */
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&run->changed, &ca);
	pthread_condattr_destroy(&ca);
}

void
sdk_run_cleanup(pf_run *run)
{
	cJSON_Delete(run->params);
	cJSON_Delete(run->json_texts);
	free(run->error);
	run->params = run->json_texts = NULL;
	run->error = NULL;
	run->error_type = NULL;
	sdk_config_cleanup(run);
	sdk_tasks_free(run);
}

void
sdk_run_destroy(pf_run *run)
{
	sdk_run_cleanup(run);
	pthread_mutex_destroy(&run->mu);
	pthread_cond_destroy(&run->changed);
}

void
sdk_run_park_if_stopping(pf_run *run)
{
	if (!run->hard_stop)
		return;
	pthread_mutex_unlock(&run->mu);
	/* Signals are blocked here: nothing wakes this but the end. */
	for (;;)
		pause();
}
