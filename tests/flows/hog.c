/*
 * hog.c: a test flow that uses what it is told to (tests/flows/hog.c:hog):
 * `mb` MiB of memory, allocated and touched 1 MiB at a time, and `spin`
 * seconds of CPU time. A refused allocation aborts, as C code using an
 * xmalloc-style allocator does.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pf/flow.h>

static const pf_param_def hog_params[] = {
	PF_PARAM_INT("mb", 0, "MiB of memory to allocate and touch"),
	PF_PARAM_INT("spin", 0, "seconds of CPU time to burn"),
	PF_PARAM_END
};

static int
hog(pf_run *run)
{
	long long	mb = pf_param_int(run, "mb");
	long long	spin = pf_param_int(run, "spin");
	char		**chunks = calloc((size_t)(mb > 0 ? mb : 1), sizeof(char *));
	volatile unsigned long x = 0;

	if (chunks == NULL)
		abort();
	for (long long i = 0; i < mb; i++) {
		if ((chunks[i] = malloc(1 << 20)) == NULL)
			abort();
		memset(chunks[i], (int)i, 1 << 20);
	}
	pf_log_info(run, "allocated %lld MiB", mb);
	if (spin > 0) {
		clock_t	until = clock() + (clock_t)(spin * CLOCKS_PER_SEC);

		while (clock() < until)
			x++;
		pf_log_info(run, "spun %lld s", spin);
	}
	for (long long i = 0; i < mb; i++)
		free(chunks[i]);
	free(chunks);
	return PF_OK;
}

PF_FLOW(hog, .description = "Uses memory and CPU as told.",
	.params = hog_params);
