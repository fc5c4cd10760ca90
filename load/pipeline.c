/*
 * pipeline.c: the loading API of pf/flow.h (pf_pipeline_*, pf_resource_*).
 * Stub: every call fails with "not implemented yet" until the runtime
 * lands; the signatures are final.
 */
#include <stdlib.h>

#include "pf/flow.h"

#define PF_EXPORT __attribute__((visibility("default")))

static const char not_yet[] = "the loading runtime is not implemented yet";

struct pf_pipeline {
	int	unused;
};

PF_EXPORT pf_pipeline *
pf_pipeline_open(pf_run *run, const char *name, const char *dest,
    const char *dataset)
{
	(void)run; (void)name; (void)dest; (void)dataset;
	return calloc(1, sizeof(struct pf_pipeline));
}

PF_EXPORT void
pf_pipeline_close(pf_pipeline *p)
{
	free(p);
}

PF_EXPORT const char *
pf_pipeline_error(const pf_pipeline *p)
{
	(void)p;
	return not_yet;
}

PF_EXPORT pf_resource *
pf_resource_add(pf_pipeline *p, const pf_resource_def *def)
{
	(void)p; (void)def;
	return NULL;
}

PF_EXPORT int
pf_resource_item(pf_resource *r, const cJSON *item)
{
	(void)r; (void)item;
	return PF_ERROR;
}

PF_EXPORT int
pf_resource_item_json(pf_resource *r, const char *json, long len)
{
	(void)r; (void)json; (void)len;
	return PF_ERROR;
}

PF_EXPORT cJSON *
pf_resource_state(pf_resource *r)
{
	(void)r;
	return NULL;
}

PF_EXPORT const char *
pf_resource_cursor(pf_resource *r, const char *path, const char *initial)
{
	(void)r; (void)path; (void)initial;
	return NULL;
}

PF_EXPORT int
pf_pipeline_extract(pf_pipeline *p)
{
	(void)p;
	return PF_ERROR;
}

PF_EXPORT int
pf_pipeline_normalize(pf_pipeline *p)
{
	(void)p;
	return PF_ERROR;
}

PF_EXPORT int
pf_pipeline_load(pf_pipeline *p)
{
	(void)p;
	return PF_ERROR;
}

PF_EXPORT const char *
pf_pipeline_load_info(pf_pipeline *p)
{
	(void)p;
	return "[]";
}

PF_EXPORT long long
pf_pipeline_rows(const pf_pipeline *p, const char *table)
{
	(void)p; (void)table;
	return 0;
}
