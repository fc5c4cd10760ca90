/*
 * load_file.c: loads a file of JSON lines (one item a line) through the
 * loading runtime, for the load benchmark (scripts/bench-load): extract,
 * normalize and load, each timed in the log; load includes closing the
 * destination (DuckDB writes its checkpoint then, as it does when dlt's
 * load closes its connection).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pf/pipeline.h>

static const pf_param_def params[] = {
	PF_PARAM_REQUIRED("path", PF_PARAM_TYPE_STRING, "JSON lines file"),
	PF_PARAM_STRING("pipeline", "bench", "Pipeline name"),
	PF_PARAM_STRING("dataset", "bench_data", "Dataset name"),
	PF_PARAM_STRING("resource", "records", "Resource (table) name"),
	PF_PARAM_END
};

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
feed(pf_run *run, pf_resource *r, const char *path, long long *n)
{
	FILE	*f = fopen(path, "r");
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;
	int	 rc = PF_OK;

	if (f == NULL)
		return pf_fail(run, "cannot read %s", path);
	while (rc == PF_OK && (len = getline(&line, &cap, f)) > 0) {
		rc = pf_resource_item_json(r, line, (long)len);
		(*n)++;
	}
	free(line);
	fclose(f);
	return rc;
}

static int
load_file(pf_run *run)
{
	pf_pipeline	*p = pf_pipeline_open(run, pf_param_string(run,
	    "pipeline"), "warehouse", pf_param_string(run, "dataset"));
	pf_resource	*r = pf_resource_add(p, &(pf_resource_def)
	    PF_RESOURCE_DEF_INIT(.name = pf_param_string(run, "resource")));
	long long	 n = 0;
	double		 t0 = now(), t1 = 0, t2 = 0, t3;
	int		 rc = PF_ERROR;

	if (r == NULL || feed(run, r, pf_param_string(run, "path"), &n) !=
	    PF_OK || pf_pipeline_extract(p) != PF_OK)
		goto out;
	t1 = now();
	if (pf_pipeline_normalize(p) != PF_OK)
		goto out;
	t2 = now();
	if (pf_pipeline_load(p) != PF_OK)
		goto out;
	rc = PF_OK;
out:
	if (rc != PF_OK)
		pf_fail(run, "%s", pf_last_error()[0] ? pf_last_error() :
		    "no items");
	pf_pipeline_close(p);
	t3 = now();
	if (rc == PF_OK)
		pf_log_info(run, "bench: %lld items: extract %.2f s, normalize "
		    "%.2f s, load %.2f s", n, t1 - t0, t2 - t1, t3 - t2);
	return rc;
}

PF_FLOW(load_file, .description = "Loads a JSON lines file (benchmark)",
    .params = params);
