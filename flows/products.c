/*
 * products.c: seed 000's "Pipeline: PostgreSQL -> Snowflake". Table
 * products of the shop's PostgreSQL database (Clever Cloud) becomes
 * table products of dataset clever_cloud in the named destination
 * warehouse (DuckDB in dev and tests, Snowflake in prod), merged on its
 * primary key and read incrementally on updated_at, as the seed's dlt
 * pipeline loads it:
 *
 *	pipeline = dlt.pipeline(pipeline_name="products",
 *	    destination="warehouse", dataset_name="clever_cloud")
 *	products = sql_table(credentials, table="products", schema=schema,
 *	    write_disposition="merge", primary_key="id",
 *	    incremental=dlt.sources.incremental("updated_at"))
 *
 * Configuration: the database under [sources.clever_cloud] (host, port,
 * database, username and the secret password; Secrets Manager's
 * dlt/clever-cloud-postgres in prod) and sources.clever_cloud.schema
 * (default public). Tasks extract, normalize and load, then a table
 * artifact of the rows loaded per table.
 * Entrypoint: flows/products.c:products.
 */
#include <pf/pf.h>

#define DATASET		"clever_cloud"
#define SOURCE		"sources.clever_cloud"

static const pf_param_def params[] = {
	PF_PARAM_STRING("table", "products", "Source table, also the "
	    "warehouse table"),
	PF_PARAM_INT("chunk_size", 50000, "Rows fetched from the source "
	    "at a time"),
	PF_PARAM_END
};

PF_TASK(extract, .description = "the products table -> a load package");

static int
extract_body(pf_run *run, pf_pipeline *p, void *arg)
{
	const char	*schema;
	long long	 rows = 0;

	schema = pf_config_string_or(run, SOURCE ".schema", "public");
	if (pf_config_ok(run) != PF_OK)
		return PF_ERROR;
	(void)arg;
	if (pf_sql_table(p, &(pf_sql_table_def)PF_SQL_TABLE_DEF_INIT(
	    .credentials = SOURCE, .schema = schema,
	    .table = pf_param_string(run, "table"),
	    .write_disposition = PF_MERGE, .primary_key = "id",
	    .incremental = "updated_at",
	    .chunk_size = (long)pf_param_int(run, "chunk_size")),
	    &rows) != PF_OK ||
	    pf_pipeline_extract(p) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	pf_log_info(run, "Extracted %lld new or updated rows of %s.%s", rows,
	    schema, pf_param_string(run, "table"));
	return PF_OK;
}

static const pf_pipeline_def pipeline = PF_PIPELINE_DEF_INIT(
	.name = "products", .destination = "warehouse", .dataset = DATASET,
	.extract = &extract, .extract_fn = extract_body,
	.artifact_key = "products-load",
	.artifact_description = "Rows loaded per table into " DATASET);

static int
products(pf_run *run)
{
	return pf_pipeline_run(run, &pipeline, NULL);
}

PF_FLOW(products,
	.description = "PostgreSQL products table -> warehouse (incremental "
	    "merge).",
	.params = params);
