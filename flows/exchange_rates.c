/*
 * exchange_rates.c: seed 000's exchange-rates pipeline (in production
 * "API -> S3 -> Snowpipe -> Snowflake"; for now straight into the named
 * destination warehouse, as currencies.c). Open Exchange Rates'
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
 * app_id (required for rates). Tasks extract, normalize and load, then a
 * table artifact of the rows loaded per table.
 * Entrypoint: flows/exchange_rates.c:exchange_rates.
 */
#define _DEFAULT_SOURCE	/* timegm, gmtime_r */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pf/flow.h>

#define PIPELINE	"exchange_rates"
#define DATASET		"open_exchange_rates"
#define DEFAULT_BASE	"https://openexchangerates.org/api"
#define DAY		86400

PF_TASK(extract, .description = "latest.json (and a backfill's "
    "historical days) -> a load package");

static const pf_param_def params[] = {
	{ "start_date", PF_PARAM_TYPE_STRING, "null", 0,
	  "Backfill from this UTC day (YYYY-MM-DD) up to yesterday; "
	  "null: the latest rates only" },
	PF_PARAM_END
};

struct job {
	pf_pipeline	*pipeline;
	pf_resource	*resource;
	const char	*start_date;	/* NULL: no backfill */
	const char	*api_key;
	char		 base[1024];	/* without a trailing slash */
	int		 have_cursor;
	long long	 cursor;	/* the largest timestamp loaded */
	size_t		 rows, timestamps;
};

/* GET <base>/<endpoint> with the app_id; the body, or NULL (failed). */
static cJSON *
get(pf_run *run, struct job *job, const char *endpoint)
{
	char	 url[2048];
	pf_http	*h;
	cJSON	*body = NULL;

	snprintf(url, sizeof(url), "%s/%s", job->base, endpoint);
	h = pf_http_new(run, url);
	pf_http_secret_param(h, "app_id", job->api_key);
	if (pf_http_get_json(h, &body) != PF_OK)
		pf_fail(run, "%s", pf_http_error(h));
	pf_http_free(h);
	return body;
}

/* One rates body: a row per currency, unless the cursor has passed it. */
static int
add_rates(pf_run *run, struct job *job, const char *endpoint,
    const cJSON *body, long long ts)
{
	const cJSON	*base = cJSON_GetObjectItem(body, "base");
	const cJSON	*rates = cJSON_GetObjectItem(body, "rates");
	const cJSON	*r;

	if (!cJSON_IsString(base) || !cJSON_IsObject(rates))
		return pf_fail(run, "%s: no \"base\" string or \"rates\" "
		    "object in the answer", endpoint);
	if (job->have_cursor && ts <= job->cursor) {
		pf_log_info(run, "%s: timestamp %lld already loaded", endpoint,
		    ts);
		return PF_OK;
	}
	cJSON_ArrayForEach(r, rates) {
		cJSON	*row;
		int	 rc;

		if (!cJSON_IsNumber(r))
			return pf_fail(run, "%s: the rate of '%s' is not a "
			    "number", endpoint, r->string);
		row = cJSON_CreateObject();
		cJSON_AddStringToObject(row, "base", base->valuestring);
		cJSON_AddStringToObject(row, "currency", r->string);
		cJSON_AddNumberToObject(row, "rate", r->valuedouble);
		cJSON_AddNumberToObject(row, "timestamp", (double)ts);
		rc = pf_resource_item(job->resource, row);
		cJSON_Delete(row);
		if (rc != PF_OK)
			return pf_fail(run, "%s",
			    pf_pipeline_error(job->pipeline));
		job->rows++;
	}
	job->timestamps++;
	return PF_OK;
}

/* The answer's unix time, or -1 (failed) when it has none. */
static long long
timestamp_of(pf_run *run, const char *endpoint, const cJSON *body)
{
	const cJSON	*t = cJSON_GetObjectItem(body, "timestamp");

	if (!cJSON_IsNumber(t) || t->valuedouble < 0 ||
	    t->valuedouble != (double)(long long)t->valuedouble) {
		pf_fail(run, "%s: no whole \"timestamp\" in the answer",
		    endpoint);
		return -1;
	}
	return (long long)t->valuedouble;
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
		cJSON		*body;
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
		cJSON_Delete(body);
		if (rc != PF_OK)
			return rc;
	}
	return PF_OK;
}

static int
extract_body(pf_run *run, void *arg)
{
	struct job	*job = arg;
	const char	*base, *cursor;
	cJSON		*latest;
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
	job->resource = pf_resource_add(job->pipeline, &(pf_resource_def){
	    .name = "exchange_rates", .write_disposition = PF_MERGE,
	    .primary_key = "timestamp,currency",
	    .columns_json = "{\"rate\": {\"data_type\": \"double\"}, "
		"\"timestamp\": {\"data_type\": \"timestamp\"}}" });
	if (job->resource == NULL)
		return pf_fail(run, "%s", pf_pipeline_error(job->pipeline));
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
	cJSON_Delete(latest);
	if (rc != PF_OK)
		return rc;
	if (pf_pipeline_extract(job->pipeline) != PF_OK)
		return pf_fail(run, "%s", pf_pipeline_error(job->pipeline));
	pf_log_info(run, "Extracted %zu rates at %zu timestamps from %s",
	    job->rows, job->timestamps, job->base);
	return PF_OK;
}

static int
exchange_rates(pf_run *run)
{
	struct job	 job = { 0 };
	int		 rc;

	job.start_date = pf_param_string(run, "start_date");
	/* Values are looked up under the pipeline's name first, as in dlt. */
	pf_config_pipeline(run, PIPELINE);
	job.pipeline = pf_pipeline_open(run, PIPELINE, "warehouse", DATASET);
	if (pf_pipeline_error(job.pipeline) != NULL)
		rc = pf_fail(run, "%s", pf_pipeline_error(job.pipeline));
	else
		rc = pf_pipeline_run_tasks(run, job.pipeline, &extract,
		    extract_body, &job, "exchange-rates-load",
		    "Rows loaded per table into " DATASET);
	pf_pipeline_close(job.pipeline);
	return rc;
}

PF_FLOW(exchange_rates,
	.description = "Open Exchange Rates latest rates -> warehouse "
	    "(incremental on timestamp, merge on timestamp and currency).",
	.params = params);
