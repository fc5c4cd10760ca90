/*
 * pf/pipeline.h: loading data into a warehouse, as dlt does
 * (docs/flows.md, Loading): the same tables, columns, types and system
 * tables (_dlt_loads, _dlt_version, _dlt_pipeline_state) dlt's Python
 * pipeline would make from the same items.
 *
 * The one call, dlt's pipeline.run(): the flow's extract body gives the
 * items, pf_pipeline_run() does the rest as task runs.
 *
 *	static int
 *	extract_fn(pf_run *run, pf_pipeline *p, void *arg)
 *	{
 *		pf_resource *r = pf_resource_add(p, &(pf_resource_def)
 *		    PF_RESOURCE_DEF_INIT(.name = "currencies",
 *		    .write_disposition = PF_MERGE, .primary_key = "code"));
 *
 *		if (r == NULL || pf_resource_item_json(r,
 *		    "{\"code\":\"EUR\",\"name\":\"Euro\"}", -1) != PF_OK ||
 *		    pf_pipeline_extract(p) != PF_OK)
 *			return pf_fail(run, "%s", pf_last_error());
 *		return PF_OK;
 *	}
 *
 *	static const pf_pipeline_def currencies_pipeline =
 *	    PF_PIPELINE_DEF_INIT(.name = "currencies",
 *	    .destination = "warehouse", .dataset = "open_exchange_rates",
 *	    .extract_fn = extract_fn, .artifact_key = "currencies-load");
 *
 *	... return pf_pipeline_run(run, &currencies_pipeline, NULL);
 *
 * The steps are also separate calls (pf_pipeline_open, _extract,
 * _normalize, _load, _close) for a flow that runs them its own way.
 * extract seals the items given so far, with the pipeline state, into a
 * load package on disk (under the profile's pipeline directory);
 * normalize turns every extracted package into tables (dlt's relational
 * normalizer: snake_case names, nested objects flattened with "__",
 * lists into child tables, inferred types, variant columns); load puts
 * every normalized package into the destination, oldest first, each in
 * one transaction. A package left behind by a run that died is finished
 * by the next run's steps, exactly once.
 *
 * Errors: a call returns PF_ERROR (NULL) and pf_last_error() says what
 * and where; once a pipeline has failed, later calls on it fail at once
 * with the same message, and so do calls given the NULL of a failed
 * pf_pipeline_open or pf_resource_add. Logs go to the run (inside a task, the task
 * run). Nothing here is thread-safe.
 */
#ifndef PF_PIPELINE_H
#define PF_PIPELINE_H

#include <pf/flow.h>
#include <pf/json.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_pipeline pf_pipeline;
typedef struct pf_resource pf_resource;

/* ------------------------------------------------------ the one call */

/**
 * The extract body of pf_pipeline_run: gives the items to resources of
 * p and seals them with pf_pipeline_extract(p); arg is the run's.
 */
typedef int (*pf_extract_fn)(pf_run *run, pf_pipeline *p, void *arg);

#define PF_PIPELINE_DEF_VERSION	1

/** A pipeline and how it runs, as dlt.pipeline() and pipeline.run(). */
typedef struct pf_pipeline_def {
	unsigned int		 version;	/* PF_PIPELINE_DEF_VERSION */
	const char		*name;		/* pipeline_name */
	const char		*destination;	/* a named destination */
	const char		*dataset;	/* NULL: "<name>_dataset" */
	const pf_task_def	*extract;	/* the extract task; NULL: a
						   task named "extract" */
	pf_extract_fn		 extract_fn;	/* its body */
	const char		*artifact_key;	/* NULL: no artifact */
	const char		*artifact_description;
} pf_pipeline_def;

#define PF_PIPELINE_DEF_INIT(...) \
	{ .version = PF_PIPELINE_DEF_VERSION, __VA_ARGS__ }

/**
 * dlt's pipeline.run() as Prefect task runs. With lookups scoped to the
 * pipeline's name (pf_config_pipeline) for the call, opens the pipeline
 * (pf_pipeline_open); runs the extract task (def->extract, body
 * def->extract_fn given the pipeline and arg), then the tasks
 * "normalize" and "load", each linked to the one before; then, when
 * artifact_key is not NULL, publishes a table artifact of
 * pf_pipeline_load_info() with artifact_description; closes the
 * pipeline. A failure (opening, or a task) stops there and fails the
 * flow run with its error (pf_fail). Returns PF_OK or PF_ERROR, for the
 * flow to return.
 */
int		 pf_pipeline_run(pf_run *run, const pf_pipeline_def *def,
		    void *arg);

/* -------------------------------------------------------- pipelines */

/**
 * Opens pipeline pipeline_name loading into the named destination
 * (destination.<name>.destination_type from the configuration, as
 * pf_destination_type) and dataset_name (NULL: "<pipeline>_dataset").
 * Its working files are in the profile's pipelines directory, a DuckDB
 * file in the profile's local data directory ("<destination>.duckdb").
 * Returns the handle, or NULL (pf_last_error()). Close it with
 * pf_pipeline_close().
 */
pf_pipeline	*pf_pipeline_open(pf_run *run, const char *pipeline_name,
		    const char *destination, const char *dataset_name);
void		 pf_pipeline_close(pf_pipeline *p);

/** Seals the items given so far into a load package (may be empty). */
int		 pf_pipeline_extract(pf_pipeline *p);
/** Normalizes every extracted package into tables. */
int		 pf_pipeline_normalize(pf_pipeline *p);
/** Loads every normalized package, oldest first, each exactly once. */
int		 pf_pipeline_load(pf_pipeline *p);

/**
 * What the last pf_pipeline_load() loaded, as a JSON list of rows
 * {"load_id", "table_name", "row_count"} ready for pf_artifact_table(),
 * then for a lake one row a file landed {"table_name", "file"}, or
 * after pf_pipeline_snowpipe() {"table_name", "file",
 * "snowpipe_status", "rows_ingested"};
 * "[]" when nothing was loaded. Owned by the pipeline.
 */
const char	*pf_pipeline_load_info(pf_pipeline *p);
/**
 * A lake (a filesystem destination) with a Snowpipe under it
 * ([destination.<name>.snowpipe] pipe): non-zero. pf_pipeline_run then
 * runs a task "snowpipe" after "load".
 */
int		 pf_pipeline_has_snowpipe(pf_pipeline *p);
/**
 * Hands the files the loads of this run landed (those of the pipe's
 * table) to the destination's Snowpipe and waits until each is loaded
 * (see README, "The lake"); PF_OK when there is no Snowpipe, PF_ERROR
 * (pf_last_error() naming the files) when one was not loaded in time.
 * The outcome joins pf_pipeline_load_info().
 */
int		 pf_pipeline_snowpipe(pf_pipeline *p);
/** Rows loaded into one table by the last pf_pipeline_load(). */
long long	 pf_pipeline_rows(const pf_pipeline *p, const char *table);

/* -------------------------------------------------------- resources */

/** dlt's write dispositions. */
typedef enum pf_write_disposition {
	PF_APPEND,	/* add the rows (the default) */
	PF_REPLACE,	/* the tables hold only this load's rows */
	PF_MERGE	/* delete-insert on primary_key, deduplicated;
			   without a key: append, as dlt */
} pf_write_disposition;

#define PF_RESOURCE_DEF_VERSION	1

/** A resource: a table and how rows go into it (dlt's @dlt.resource). */
typedef struct pf_resource_def {
	unsigned int		 version;	/* PF_RESOURCE_DEF_VERSION */
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

#define PF_RESOURCE_DEF_INIT(...) \
	{ .version = PF_RESOURCE_DEF_VERSION, __VA_ARGS__ }

#define PF_NESTING_NONE	(-1)

/** Declares a resource; NULL when def is invalid (pf_last_error()). */
pf_resource	*pf_resource_add(pf_pipeline *p, const pf_resource_def *def);

/**
 * Gives one item (a JSON object; an array gives each of its objects) to
 * the resource. Items are written to disk as they come, so a large
 * extract needs no memory for them. item stays the caller's.
 */
int		 pf_resource_item(pf_resource *r, const pf_json *item);
/** The same from JSON text; len -1 for a NUL-terminated string. */
int		 pf_resource_item_json(pf_resource *r, const char *json,
		    long len);

/**
 * The resource's state, dlt's
 * state["sources"][<pipeline>]["resources"][<resource>], as JSON text
 * (owned by the pipeline, valid until the next call on it), and
 * replacing it with another object. It is saved with the next extract
 * and stored in the destination (_dlt_pipeline_state) with that
 * package's load, so it only advances when the data it describes is
 * loaded. Incremental cursors live under "incremental" as dlt keeps
 * them; pf_resource_cursor() is the short way.
 */
const char	*pf_resource_state(pf_resource *r);
int		 pf_resource_set_state(pf_resource *r, const char *json);

/**
 * An incremental cursor on field cursor_path, as dlt.sources.incremental
 * with last_value_func max: the last value stored (JSON text), else
 * initial_json (may be NULL). pf_resource_item() then keeps the largest
 * value of the field seen, stored by the next extract.
 */
const char	*pf_resource_cursor(pf_resource *r, const char *cursor_path,
		    const char *initial_json);

#ifdef __cplusplus
}
#endif

#endif
