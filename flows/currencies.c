/*
 * currencies.c: seed 000's "Pipeline: API -> Snowflake" for the currency
 * list. Open Exchange Rates' currencies.json ({"AED": "United Arab
 * Emirates Dirham", ...}) becomes table currencies (code, name) of
 * dataset open_exchange_rates in the named destination warehouse
 * (DuckDB in dev and tests, Snowflake in prod: .dlt/<profile>.config.toml),
 * merged on code, as the seed's dlt pipeline loads it:
 *
 *	pipeline = dlt.pipeline(pipeline_name="currencies",
 *	    destination="warehouse", dataset_name="open_exchange_rates")
 *	@dlt.resource(write_disposition="merge", primary_key="code")
 *	def currencies(): yield {"code": code, "name": name} per member
 *
 * Configuration: sources.open_exchange_rates.base_url (default the real
 * API) and the secret sources.open_exchange_rates.api_key, sent as the
 * API's app_id (optional for this endpoint). Tasks extract, normalize
 * and load, then a table artifact of the rows loaded per table.
 * Entrypoint: flows/currencies.c:currencies.
 */
#include <stdio.h>
#include <string.h>

#include <pf/pf.h>

#define DATASET		"open_exchange_rates"
#define DEFAULT_BASE	"https://openexchangerates.org/api"

PF_TASK(extract, .description = "currencies.json -> a load package");

struct job {
	pf_resource	*resource;
	size_t		 items;
};

/* One member of currencies.json: "EUR": "Euro". */
static int
add_currency(pf_run *run, const pf_http_item *member, void *payload)
{
	struct job	*job = payload;
	const char	*name = pf_json_string(member->value);
	pf_json		*row;
	int		 rc;

	if (member->key == NULL || name == NULL)
		return pf_fail(run, "currencies.json: the name of '%s' is not "
		    "a string", member->key ? member->key : "?");
	row = pf_json_object();
	pf_json_set_string(row, "code", member->key);
	pf_json_set_string(row, "name", name);
	rc = pf_resource_item(job->resource, row);
	pf_json_free(row);
	if (rc != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	job->items++;
	return PF_OK;
}

static int
extract_body(pf_run *run, pf_pipeline *p, void *arg)
{
	struct job	*job = arg;
	const char	*base, *api_key;
	char		 url[2048];
	pf_http		*h;
	size_t		 n;
	int		 rc = PF_OK;

	base = pf_config_string_or(run, "sources.open_exchange_rates.base_url",
	    DEFAULT_BASE);
	api_key = pf_secret_string_or(run,
	    "sources.open_exchange_rates.api_key", NULL);
	if (pf_config_ok(run) != PF_OK)
		return PF_ERROR;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s/currencies.json", (int)n, base);
	job->resource = pf_resource_add(p, &(pf_resource_def)
	    PF_RESOURCE_DEF_INIT(.name = "currencies",
	    .write_disposition = PF_MERGE, .primary_key = "code"));
	if (job->resource == NULL)
		return pf_fail(run, "%s", pf_last_error());
	h = pf_http_new(run, url);
	if (api_key != NULL)
		pf_http_secret_param(h, "app_id", api_key);
	if (pf_http_get_items(h, "", add_currency, job) != PF_OK)
		rc = pf_fail(run, "%s", pf_last_error());
	pf_http_free(h);
	if (rc != PF_OK)
		return rc;		/* nothing sealed: nothing loaded */
	if (pf_pipeline_extract(p) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	pf_log_info(run, "Extracted %zu currencies from %.*s/currencies.json",
	    job->items, (int)n, base);
	return PF_OK;
}

static const pf_pipeline_def pipeline = PF_PIPELINE_DEF_INIT(
	.name = "currencies", .destination = "warehouse", .dataset = DATASET,
	.extract = &extract, .extract_fn = extract_body,
	.artifact_key = "currencies-load",
	.artifact_description = "Rows loaded per table into " DATASET);

static int
currencies(pf_run *run)
{
	struct job	 job = { NULL, 0 };

	return pf_pipeline_run(run, &pipeline, &job);
}

PF_FLOW(currencies,
	.description = "Open Exchange Rates currency list -> warehouse "
	    "(merge on code).");
