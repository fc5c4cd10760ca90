/*
 * claim.c: the proof that a claimed flow run is still ours (see
 * prefect/contract.h). The server does not serialise claims (two
 * Scheduled -> Pending proposals 0.6 ms apart were both ACCEPTed on
 * SQLite, and a claim landing on a run another worker finished moves
 * it Completed -> Pending), so an ACCEPT proves nothing by itself: the
 * worker, and the flow-run process before Running, read the run and
 * check it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"
#include "prefect/contract.h"

int
claim_is_ours(const cJSON *flow_run, const struct claim *c, char *why,
    size_t whylen)
{
	const cJSON	*st = json_obj(flow_run, "state");
	const char	*type = json_str(st, "type");
	const char	*tid = json_str(json_obj(st, "state_details"),
	    "transition_id");
	int		 count = (int)json_num(flow_run, "run_count", -1);

	if (type == NULL || strcmp(type, "PENDING") != 0) {
		snprintf(why, whylen, "its state is %s", type ? type : "unknown");
		return 0;
	}
	if (tid == NULL || (strcmp(tid, c->claim_tid) != 0 &&
	    strcmp(tid, c->submit_tid) != 0)) {
		snprintf(why, whylen, "its Pending state is another worker's");
		return 0;
	}
	/* Our claim landed after another worker ran it, over its state. */
	if (count != c->run_count) {
		snprintf(why, whylen, "it ran since it was polled (run_count "
		    "%d, was %d)", count, c->run_count);
		return -1;
	}
	return 1;
}

char *
claim_env(const struct claim *c)
{
	return xasprintf(PF_ENV_CLAIM "=%s %s %d", c->claim_tid, c->submit_tid,
	    c->run_count);
}

int
claim_from_env(struct claim *c)
{
	const char	*s = getenv(PF_ENV_CLAIM);

	memset(c, 0, sizeof(*c));
	return s != NULL && sscanf(s, "%36s %36s %d", c->claim_tid,
	    c->submit_tid, &c->run_count) == 3 ? 1 : 0;
}
