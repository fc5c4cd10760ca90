/*
 * fuzz_jobconf.c: a deployment's job variables (JSON from the network)
 * resolved against the process template, and against itself as template.
 */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "worker/worker.h"
#include "prefect/api.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jobconf	 jc;
	char		 err[200], *s = fuzz_cstr(data, size);
	cJSON		*j, *tmpl;

	if (s == NULL)
		return 0;
	if ((j = cJSON_Parse(s)) != NULL) {
		tmpl = api_process_base_job_template();
		jobconf_resolve(&jc, tmpl, j, j, err, sizeof(err));
		jobconf_cleanup(&jc);
		jobconf_resolve(&jc, j, j, NULL, err, sizeof(err));
		jobconf_cleanup(&jc);
		cJSON_Delete(tmpl);
		cJSON_Delete(j);
	}
	free(s);
	return 0;
}
