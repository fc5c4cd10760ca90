/*
 * load_fixture.c: a test flow loading fixture items through the loading
 * runtime (tests/integration/test_load.py compares its tables with
 * those dlt's own pipeline makes from the same items).
 *
 * Parameters: the pipeline, dataset and resource, the write
 * disposition and primary key, max_table_nesting (0: configuration;
 * -1: none), the items (a JSON array), and stop_after ("extract" or
 * "normalize": the process ends right there, as a killed run would),
 * a cursor field (its start value is logged), and read_int: a
 * configuration key read as an integer before the items are extracted,
 * its failure left unchecked (as a flow that forgets pf_config_ok).
 * Each step is a task; the rows loaded become a table artifact.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pf/config.h>
#include <pf/pipeline.h>

static const pf_param_def params[] = {
	PF_PARAM_STRING("pipeline", "fixture", "Pipeline name"),
	PF_PARAM_STRING("dataset", "fixture_data", "Dataset name"),
	PF_PARAM_STRING("destination", "warehouse", "Named destination"),
	PF_PARAM_STRING("resource", "items", "Resource (table) name"),
	PF_PARAM_STRING("write_disposition", "append",
	    "append, replace or merge"),
	PF_PARAM_STRING("primary_key", "", "Primary key column(s)"),
	PF_PARAM_STRING("columns", "", "Column hints as JSON"),
	PF_PARAM_INT("max_table_nesting", 0, "Nesting levels"),
	PF_PARAM_REQUIRED("items", PF_PARAM_TYPE_ARRAY, "Items to load"),
	PF_PARAM_STRING("stop_after", "", "extract or normalize: end there"),
	PF_PARAM_STRING("cursor", "", "Field of an incremental cursor"),
	PF_PARAM_STRING("read_int", "", "Configuration key read, unchecked"),
	PF_PARAM_END
};

PF_TASK(extract);
PF_TASK(normalize);
PF_TASK(load);
PF_TASK(snowpipe);

static int
extract_fn(pf_run *run, void *arg)
{
	pf_pipeline		*p = arg;
	const char		*wd = pf_param_string(run,
	    "write_disposition"), *pk = pf_param_string(run, "primary_key");
	const char		*cols = pf_param_string(run, "columns");
	pf_resource_def		 def = PF_RESOURCE_DEF_INIT();
	pf_resource		*r;

	def.name = pf_param_string(run, "resource");
	def.write_disposition = strcmp(wd, "merge") == 0 ? PF_MERGE :
	    strcmp(wd, "replace") == 0 ? PF_REPLACE : PF_APPEND;
	def.primary_key = pk[0] != '\0' ? pk : NULL;
	def.columns_json = cols[0] != '\0' ? cols : NULL;
	def.max_table_nesting = (int)pf_param_int(run, "max_table_nesting");
	if ((r = pf_resource_add(p, &def)) == NULL)
		return pf_fail(run, "%s", pf_last_error());
	if (pf_param_string(run, "cursor")[0] != '\0') {
		const char *start = pf_resource_cursor(r,
		    pf_param_string(run, "cursor"), NULL);

		pf_log_info(run, "cursor %s starts at %s",
		    pf_param_string(run, "cursor"), start ? start : "null");
	}
	if (pf_param_string(run, "read_int")[0] != '\0')
		pf_log_info(run, "%s = %lld", pf_param_string(run, "read_int"),
		    pf_config_int_or(run, pf_param_string(run, "read_int"), 0));
	if (pf_resource_item_json(r, pf_param_json(run, "items"), -1) != PF_OK ||
	    pf_pipeline_extract(p) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	return PF_OK;
}

static int
normalize_fn(pf_run *run, void *arg)
{
	pf_pipeline	*p = arg;

	if (pf_pipeline_normalize(p) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	return PF_OK;
}

static int
load_fn(pf_run *run, void *arg)
{
	pf_pipeline	*p = arg;

	if (pf_pipeline_load(p) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	return PF_OK;
}

static int
snowpipe_fn(pf_run *run, void *arg)
{
	pf_pipeline	*p = arg;

	if (pf_pipeline_snowpipe(p) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	return PF_OK;
}

static int
load_fixture(pf_run *run)
{
	const char	*stop = pf_param_string(run, "stop_after");
	pf_pipeline	*p = pf_pipeline_open(run, pf_param_string(run,
	    "pipeline"), pf_param_string(run, "destination"),
	    pf_param_string(run, "dataset"));
	pf_task		*e, *n, *l;
	int		 rc = PF_ERROR;

	if (p == NULL)
		return pf_fail(run, "%s", pf_last_error());
	e = pf_task_run(run, &extract, extract_fn, p, NULL);
	if (pf_task_ok(e) != PF_OK) {
		rc = pf_fail(run, "%s", pf_last_error());
		goto out;
	}
	if (strcmp(stop, "extract") == 0)
		_exit(9);
	n = pf_task_run(run, &normalize, normalize_fn, p, PF_UPSTREAM(e));
	if (pf_task_ok(n) != PF_OK) {
		rc = pf_fail(run, "%s", pf_last_error());
		goto out;
	}
	if (strcmp(stop, "normalize") == 0)
		_exit(9);
	l = pf_task_run(run, &load, load_fn, p, PF_UPSTREAM(n));
	if (pf_task_ok(l) != PF_OK) {
		rc = pf_fail(run, "%s", pf_last_error());
		goto out;
	}
	if (pf_pipeline_has_snowpipe(p) && pf_task_ok(pf_task_run(run,
	    &snowpipe, snowpipe_fn, p, PF_UPSTREAM(l))) != PF_OK) {
		rc = pf_fail(run, "%s", pf_last_error());
		goto out;
	}
	pf_artifact_table(run, "load-info", pf_pipeline_load_info(p),
	    "Rows loaded per table");
	rc = PF_OK;
out:
	pf_pipeline_close(p);
	return rc;
}

PF_FLOW(load_fixture, .description = "Loads fixture items like dlt",
    .params = params);
