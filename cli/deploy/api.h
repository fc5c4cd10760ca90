/*
 * deploy_api.h: the requests of `pfagent deploy` to the Prefect API:
 * the work pool, the deployment as the server has it, then a create
 * (POST /flows/, POST /deployments/) or an update (one PATCH of what
 * differs, schedules deleted around it as deploy_plan_schedules() says).
 * Every call blocks and is retried through outages, as a CLI waits out
 * a restarting server. Errors come back in err with the server's
 * detail, secrets masked.
 */
#ifndef CLI_DEPLOY_API_H
#define CLI_DEPLOY_API_H

#include <stddef.h>

#include "cli/deploy/diff.h"
#include "cli/deploy/show.h"
#include "cli/deploy/target.h"
#include "common/http.h"

/* The server deploy talks to. Borrowed; both must outlive it. */
struct deploy_server {
	const struct http_settings	*http;
	const struct deploy_secrets	*secrets;	/* masked in errors */
};

/*
 * Checks that t->spec's work pool exists and can run the deployment;
 * sets t->default_queue. Returns 0, or -1 with err.
 */
int	deploy_api_pool(const struct deploy_server *, struct deploy_target *t,
	    char *err, size_t errlen);
/*
 * Reads the deployment t->flow/t->name into t->current, left NULL when
 * there is none. Returns 0, or -1 with err.
 */
int	deploy_api_read(const struct deploy_server *, struct deploy_target *t,
	    char *err, size_t errlen);
/*
 * Creates the flow (or finds it) and the deployment of t->spec; *id is
 * the new deployment's, a string the caller frees. Returns 0, or -1
 * with err.
 */
int	deploy_api_create(const struct deploy_server *,
	    const struct deploy_target *t, char **id, char *err,
	    size_t errlen);
/*
 * Makes t->current t->spec by sending the n changes c found by
 * deploy_diff(). Returns 0, or -1 with err.
 */
int	deploy_api_update(const struct deploy_server *,
	    const struct deploy_target *t, const struct deploy_change *c,
	    size_t n, char *err, size_t errlen);

#endif
