/*
 * pf/config.h: configuration and secrets, resolved the dlt way from the
 * directory the flow runs in (for a deployed run, the checkout the pull
 * steps left it in) with the active workspace profile
 * (WORKSPACE__PROFILE, `pfagent start --profile`). A path is dotted
 * sections then a key, e.g. "sources.open_exchange_rates.api_key",
 * looked up in order in:
 *
 *   1. environment variables  SOURCES__OPEN_EXCHANGE_RATES__API_KEY
 *   2. secrets.toml           .dlt/<profile>.secrets.toml, .dlt/secrets.toml,
 *                             then the same in ~/.dlt
 *   3. config.toml            the same four files (no secrets here)
 *   4. AWS Secrets Manager    when providers.enable_aws_secrets is true
 *
 * each provider trying the full path first, then with the rightmost
 * section dropped, down to the bare key (SOURCES__API_KEY, API_KEY); a
 * "credentials" section is never dropped. With pf_config_pipeline() set
 * (pf_pipeline_run sets it), "<pipeline>.<path>" is looked up first,
 * everywhere. README.md, "Configuration", has the whole rule set.
 *
 * Failure: a required value that is found nowhere (or cannot be read
 * as the type asked, or is a secret found in config.toml) fails the
 * body now running (the flow, or the task inside one) as pf_fail does,
 * with dlt's message listing every place looked; the getter returns
 * NULL, 0 or the default. A value cannot say it failed, so read what
 * you need, then check once; pf_last_error() then lists every failure:
 *
 *	const char *key = pf_secret_string(run, "sources.oxr.api_key");
 *	long long days = pf_config_int_or(run, "sources.oxr.days", 7);
 *	if (pf_config_ok(run) != PF_OK)
 *		return PF_ERROR;	// already the body's failure
 *
 * Secrets: a value from secrets.toml or Secrets Manager, or of a secret
 * key (password, api_key, token, credentials, ... or any pf_secret_*
 * read) is masked as "****" wherever it would leave the run: log lines
 * (Prefect and the console), state messages (pf_fail texts), artifacts.
 * Values shorter than 4 bytes are not masked.
 *
 * Strings returned are owned by the run, valid until the flow function
 * returns. Not thread-safe.
 */
#ifndef PF_CONFIG_H
#define PF_CONFIG_H

#include <pf/flow.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Required values: a missing one fails the body (see above). */
const char	*pf_config_string(pf_run *run, const char *path);
long long	 pf_config_int(pf_run *run, const char *path);
double		 pf_config_number(pf_run *run, const char *path);
int		 pf_config_bool(pf_run *run, const char *path);
/** An object or a list (from TOML, or JSON text) as JSON text. */
const char	*pf_config_json(pf_run *run, const char *path);
/** A secret field: never from config.toml, masked wherever it shows. */
const char	*pf_secret_string(pf_run *run, const char *path);

/** Optional values: def when found nowhere (a bad value still fails). */
const char	*pf_config_string_or(pf_run *run, const char *path,
		    const char *def);
long long	 pf_config_int_or(pf_run *run, const char *path,
		    long long def);
double		 pf_config_number_or(pf_run *run, const char *path,
		    double def);
int		 pf_config_bool_or(pf_run *run, const char *path, int def);
const char	*pf_secret_string_or(pf_run *run, const char *path,
		    const char *def);

/**
 * PF_OK while no lookup of the body now running (flow, or task) has
 * failed; else PF_ERROR, the failure already recorded for the run and
 * pf_last_error() the message.
 */
int		 pf_config_ok(pf_run *run);

/**
 * Looks every later lookup up under the pipeline's name first, as dlt
 * does inside a pipeline: CURRENCIES__SOURCES__..., [currencies.sources
 * ...]. NULL stops it.
 */
void		 pf_config_pipeline(pf_run *run, const char *pipeline_name);

/** The active workspace profile ("dev", "prod", ...), or NULL. */
const char	*pf_config_profile(pf_run *run);

/**
 * The type of a named destination, as dlt.pipeline(destination=name)
 * resolves it: destination.<name>.destination_type ("duckdb",
 * "snowflake", ...), else name itself when it is a standard dlt
 * destination; else the body fails with dlt's message and NULL is
 * returned. Its settings and credentials are then read under
 * "destination.<name>": pf_secret_string(run,
 * "destination.warehouse.credentials.password").
 */
const char	*pf_destination_type(pf_run *run, const char *name);

#ifdef __cplusplus
}
#endif

#endif
