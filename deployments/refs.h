/*
 * refs.h: block and variable references resolved through the Prefect
 * API, for the templating passes of deployments/template.h.
 *
 * Used where Prefect's own client would call the API: `pfagent deploy`
 * (deploy-time config) and the pull steps of a flow run. Secret block
 * fields are fetched with include_secrets=true and never logged.
 */
#ifndef DEPLOYMENTS_REFS_H
#define DEPLOYMENTS_REFS_H

#include "common/http.h"
#include "deployments/template.h"

/* A resolver whose payload is http (borrowed, must outlive it). */
struct template_resolver refs_resolver(const struct http_settings *http);

#endif
