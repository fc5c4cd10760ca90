/*
 * exchange_rates.c: seed 000's exchange-rates pipeline, in production
 * "API -> S3 -> Snowpipe -> Snowflake": when the profile names a lake
 * ([destination.lake], prod.config.toml: dlt's filesystem destination on
 * S3 with a Snowpipe under it) the rows land there as dlt's jsonl files
 * and a task run "snowpipe" hands them to the pipe and waits until
 * Snowflake reports them loaded; dev's lake is a local folder (no
 * Snowpipe); without a lake (tests) they go straight into the named
 * destination warehouse. Open Exchange Rates'
 * latest.json ({"timestamp": 1700000000, "base": "USD", "rates": {"EUR":
 * 0.92, ...}}) becomes one row per currency in table exchange_rates of
 * dataset open_exchange_rates, as this dlt resource loads it:
 *
 *	@dlt.resource(write_disposition="merge",
 *	    primary_key=("timestamp", "currency"),
 *	    columns={"rate": {"data_type": "double"},
 *	             "timestamp": {"data_type": "timestamp"}})
 *	def exchange_rates(start_date=None,
 *	    updated=dlt.sources.incremental("timestamp")):
 *		yield {"base", "currency", "rate", "timestamp"} per rate
 *
 * The cursor (the largest timestamp loaded, in the pipeline state) makes
 * a run whose latest.json has not moved on load nothing, and the merge
 * key keeps a re-loaded hour from doubling. start_date (YYYY-MM-DD)
 * backfills historical/<day>.json for each day from it up to the day
 * before latest.json's, skipping days the cursor has passed.
 *
 * Configuration: sources.open_exchange_rates.base_url (default the real
 * API) and the secret sources.open_exchange_rates.api_key, the API's
 * app_id (required for rates). Tasks extract, normalize and load (and
 * snowpipe for a lake), then a table artifact of the rows loaded per
 * table (for a lake also the files landed and the rows Snowpipe
 * ingested).
 * Entrypoint: flows/exchange_rates.c:exchange_rates.
 */
#define _DEFAULT_SOURCE	/* timegm, gmtime_r */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pf/pf.h>

#define DATASET		"open_exchange_rates"
#define DEFAULT_BASE	"https://openexchangerates.org/api"
#define DAY		86400

PF_TASK(extract, .description = "latest.json (and a backfill's "
    "historical days) -> a load package");

static const pf_param_def params[] = {
	PF_PARAM_DEF_INIT(.name = "start_date", .type = PF_PARAM_TYPE_STRING,
	    .default_json = "null", .description = "Backfill from this UTC "
	    "day (YYYY-MM-DD) up to yesterday; null: the latest rates only"),
	PF_PARAM_END
};

struct job {
	pf_resource	*resource;
	const char	*start_date;	/* NULL: no backfill */
	const char	*api_key;
	char		 base[1024];	/* without a trailing slash */
	int		 have_cursor;
	long long	 cursor;	/* the largest timestamp loaded */
	size_t		 rows, timestamps;
};

/* GET <base>/<endpoint> with the app_id; the body, or NULL (failed). */
static pf_json *
get(pf_run *run, struct job *job, const char *endpoint)
{
	char	 url[2048];
	pf_http	*h;
	pf_json	*body = NULL;

	snprintf(url, sizeof(url), "%s/%s", job->base, endpoint);
	h = pf_http_new(run, url);
	pf_http_secret_param(h, "app_id", job->api_key);
	if (pf_http_get_json(h, &body) != PF_OK)
		pf_fail(run, "%s", pf_last_error());
	pf_http_free(h);
	return body;
}

/* One rates body: a row per currency, unless the cursor has passed it. */
static int
add_rates(pf_run *run, struct job *job, const char *endpoint,
    const pf_json *body, long long ts)
{
	const char	*base = pf_json_string(pf_json_get(body, "base"));
	const pf_json	*rates = pf_json_get(body, "rates");
	const pf_json	*r;

	if (base == NULL || pf_json_kind(rates) != PF_JSON_OBJECT)
		return pf_fail(run, "%s: no \"base\" string or \"rates\" "
		    "object in the answer", endpoint);
	if (job->have_cursor && ts <= job->cursor) {
		pf_log_info(run, "%s: timestamp %lld already loaded", endpoint,
		    ts);
		return PF_OK;
	}
	PF_JSON_EACH(r, rates) {
		pf_json	*row;
		int	 rc;

		if (pf_json_kind(r) != PF_JSON_NUMBER)
			return pf_fail(run, "%s: the rate of '%s' is not a "
			    "number", endpoint, pf_json_key(r));
		row = pf_json_object();
		pf_json_set_string(row, "base", base);
		pf_json_set_string(row, "currency", pf_json_key(r));
		pf_json_set_number(row, "rate", pf_json_number(r));
		pf_json_set_number(row, "timestamp", (double)ts);
		rc = pf_resource_item(job->resource, row);
		pf_json_free(row);
		if (rc != PF_OK)
			return pf_fail(run, "%s", pf_last_error());
		job->rows++;
	}
	job->timestamps++;
	return PF_OK;
}

/* The answer's unix time, or -1 (failed) when it has none. */
static long long
timestamp_of(pf_run *run, const char *endpoint, const pf_json *body)
{
	const pf_json	*t = pf_json_get(body, "timestamp");
	double		 v = pf_json_number(t);

	if (pf_json_kind(t) != PF_JSON_NUMBER || v < 0 ||
	    v != (double)(long long)v) {
		pf_fail(run, "%s: no whole \"timestamp\" in the answer",
		    endpoint);
		return -1;
	}
	return (long long)v;
}

/* Midnight UTC of a YYYY-MM-DD day, or -1 when it is not one. */
static time_t
parse_day(const char *text)
{
	struct tm	tm = { 0 };
	char		back[16];
	int		y, m, d, n = 0;
	time_t		t;

	if (sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    n != 10 || text[n] != '\0')
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	strftime(back, sizeof(back), "%Y-%m-%d", gmtime_r(&t, &tm));
	return strcmp(back, text) == 0 ? t : -1;	/* no 2024-02-30 */
}

/*
 * historical/<day>.json for each day from start_date to the day before
 * until (latest.json's day); a day whose last second the cursor has
 * reached was loaded before and is not asked for again.
 */
static int
backfill(pf_run *run, struct job *job, time_t until)
{
	time_t	day = parse_day(job->start_date);

	if (day == -1)
		return pf_fail(run, "start_date '%s' is not a day "
		    "(YYYY-MM-DD)", job->start_date);
	for (; day < until - until % DAY; day += DAY) {
		char		endpoint[64], name[16];
		struct tm	tm;
		pf_json		*body;
		long long	ts;
		int		rc;

		if (pf_stopped(run))
			return pf_fail(run, "stopped during the backfill");
		if (job->have_cursor && day + DAY - 1 <= job->cursor)
			continue;
		strftime(name, sizeof(name), "%Y-%m-%d", gmtime_r(&day, &tm));
		snprintf(endpoint, sizeof(endpoint), "historical/%s.json",
		    name);
		if ((body = get(run, job, endpoint)) == NULL)
			return PF_ERROR;
		ts = timestamp_of(run, endpoint, body);
		rc = ts < 0 ? PF_ERROR : add_rates(run, job, endpoint, body,
		    ts);
		pf_json_free(body);
		if (rc != PF_OK)
			return rc;
	}
	return PF_OK;
}

static int
extract_body(pf_run *run, pf_pipeline *p, void *arg)
{
	struct job	*job = arg;
	const char	*base, *cursor;
	pf_json		*latest;
	long long	 ts;
	size_t		 n;
	int		 rc;

	base = pf_config_string_or(run, "sources.open_exchange_rates.base_url",
	    DEFAULT_BASE);
	job->api_key = pf_secret_string(run,
	    "sources.open_exchange_rates.api_key");
	if (pf_config_ok(run) != PF_OK)
		return PF_ERROR;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	snprintf(job->base, sizeof(job->base), "%.*s", (int)n, base);
	job->resource = pf_resource_add(p, &(pf_resource_def)
	    PF_RESOURCE_DEF_INIT(.name = "exchange_rates",
	    .write_disposition = PF_MERGE, .primary_key = "timestamp,currency",
	    .columns_json = "{\"rate\": {\"data_type\": \"double\"}, "
		"\"timestamp\": {\"data_type\": \"timestamp\"}}"));
	if (job->resource == NULL)
		return pf_fail(run, "%s", pf_last_error());
	if ((cursor = pf_resource_cursor(job->resource, "timestamp",
	    NULL)) != NULL) {
		job->have_cursor = 1;
		job->cursor = strtoll(cursor, NULL, 10);
	}

	if ((latest = get(run, job, "latest.json")) == NULL)
		return PF_ERROR;	/* nothing sealed: nothing loaded */
	rc = (ts = timestamp_of(run, "latest.json", latest)) < 0 ? PF_ERROR :
	    PF_OK;
	if (rc == PF_OK && job->start_date != NULL)
		rc = backfill(run, job, (time_t)ts);
	if (rc == PF_OK)
		rc = add_rates(run, job, "latest.json", latest, ts);
	pf_json_free(latest);
	if (rc != PF_OK)
		return rc;
	if (pf_pipeline_extract(p) != PF_OK)
		return pf_fail(run, "%s", pf_last_error());
	pf_log_info(run, "Extracted %zu rates at %zu timestamps from %s",
	    job->rows, job->timestamps, job->base);
	return PF_OK;
}

static const pf_pipeline_def pipeline = PF_PIPELINE_DEF_INIT(
	.name = "exchange_rates", .destination = "warehouse",
	.dataset = DATASET, .extract = &extract, .extract_fn = extract_body,
	.artifact_key = "exchange-rates-load",
	.artifact_description = "Rows loaded per table into " DATASET);

/* The lake when the profile names one, else the warehouse. */
static const char *
destination(pf_run *run)
{
	return pf_config_string_or(run, "destination.lake.destination_type",
	    NULL) != NULL ? "lake" : "warehouse";
}

static int
exchange_rates(pf_run *run)
{
	struct job	 job = { 0 };
	pf_pipeline_def	 def = pipeline;

	job.start_date = pf_param_string(run, "start_date");
	def.destination = destination(run);
	return pf_pipeline_run(run, &def, &job);
}

PF_FLOW(exchange_rates,
	.description = "Open Exchange Rates latest rates -> the lake and "
	    "Snowpipe (prod) or the warehouse (incremental on timestamp, "
	    "merge on timestamp and currency).",
	.params = params);
