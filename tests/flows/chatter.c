/*
 * chatter.c: a test flow that logs count numbered lines of size bytes
 * as fast as it can (tests/flows/chatter.c:chatter), then dies as die
 * says: "" returns, "segv" raises SIGSEGV, "abort" calls abort(). Its
 * logs show whether every line reached Prefect, in order, even when the
 * process crashed right after writing them.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <pf/flow.h>

static const pf_param_def chatter_params[] = {
	PF_PARAM_INT("count", 1000, "Lines to log"),
	PF_PARAM_INT("size", 1024, "Bytes per line"),
	PF_PARAM_STRING("die", "", "How to end: \"\", \"segv\" or \"abort\""),
	PF_PARAM_END
};

static int
chatter(pf_run *run)
{
	long long	 n = pf_param_int(run, "count");
	long long	 size = pf_param_int(run, "size");
	const char	*die = pf_param_string(run, "die");
	char		*pad;

	if (size < 16 || size > 65536)
		return pf_fail(run, "size must be 16 to 65536");
	pad = malloc((size_t)size);
	if (pad == NULL)
		return pf_fail(run, "out of memory");
	memset(pad, 'x', (size_t)size);
	pad[size - 16] = '\0';		/* "chat NNNNNNNNN " before it */
	for (long long i = 0; i < n; i++)
		pf_log_info(run, "chat %09lld %s", i, pad);
	free(pad);
	if (die != NULL && strcmp(die, "segv") == 0)
		raise(SIGSEGV);
	if (die != NULL && strcmp(die, "abort") == 0)
		abort();
	return PF_OK;
}

PF_FLOW(chatter, .description = "Logs numbered lines as fast as it can.",
	.params = chatter_params);
