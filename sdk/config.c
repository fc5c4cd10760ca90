/*
 * config.c: configuration and secrets for flows (pf_config_*,
 * pf_secret_*, pf_destination_type of pf/config.h), resolved by the
 * process's resolver (config/cfg.h) as dlt resolves the fields of a
 * source or a destination: a dotted path is sections then a key, the
 * rightmost section is dropped step by step ("credentials" stays on
 * every path, as a credentials spec's own section), every provider is
 * asked in dlt's order, the pipeline-scoped pass first.
 *
 * A lookup that fails (a missing required value, a value that cannot
 * be coerced, a secret in config.toml) is the failure of the body now
 * running, as pf_fail records one: dlt's message (masked) with dlt's
 * exception name. A flow reads what it needs and then checks once with
 * pf_config_ok(); one that forgets to still ends Failed, with every
 * place looked listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/logship.h"
#include "common/util.h"
#include "config/cfg.h"
#include "sdk/run.h"

#define PF_EXPORT __attribute__((visibility("default")))

/* dlt's messages list every place looked: room for them. */
#define ERR_MAX		(16u << 10)

/* dlt's standard destinations (dlt/destinations/__init__.py). */
static const char *const standard[] = {
	"athena", "bigquery", "clickhouse", "databricks", "destination",
	"dremio", "duckdb", "ducklake", "dummy", "fabric", "filesystem",
	"lance", "lancedb", "motherduck", "mssql", "postgres", "qdrant",
	"redshift", "snowflake", "sqlalchemy", "synapse", "weaviate", NULL
};

const char *
sdk_config_exception(const char *m)
{
	if (strncmp(m, "Missing ", 8) == 0)
		return "ConfigFieldMissingException";
	if (strncmp(m, "Configured value for field", 26) == 0)
		return "ConfigValueCannotBeCoercedException";
	if (strstr(m, "cannot hold secret values") != NULL)
		return "ValueNotSecretException";
	if (strncmp(m, "A problem encountered when loading", 34) == 0)
		return "TomlProviderReadException";
	if (strncmp(m, "Destination ", 12) == 0)
		return "UnknownDestinationModule";
	return "ConfigurationException";
}

void
sdk_config_cleanup(pf_run *run)
{
	cJSON_Delete(run->cfg_texts);
	free(run->pipeline);
	run->cfg_texts = NULL;
	run->pipeline = NULL;
	run->cfg_failures = 0;
}

/*
 * Records a failed lookup as the running body's failure: the first
 * replaces what pf_fail said, later ones are added below it (once
 * each), so the failure lists every value that was missing.
 */
static void
fail(pf_run *run, const char *err)
{
	char	*masked = logship_mask(run->logs, err), *joined;

	if (run->cfg_failures++ == 0 || run->error == NULL) {
		free(run->error);
		run->error = masked;
		run->error_type = sdk_config_exception(err);
	} else if (strstr(run->error, masked) != NULL) {
		/* The first failure names the exception; each is listed
		   once. */
		free(masked);
	} else {
		joined = xasprintf("%s\n\n%s", run->error, masked);
		free(run->error);
		free(masked);
		run->error = joined;
	}
	sdk_error_set(run->error);	/* every failure so far */
}

/* A string the flow may keep until its function returns. */
static const char *
keep(pf_run *run, const char *s)
{
	cJSON	*item;

	if (run->cfg_texts == NULL)
		run->cfg_texts = cJSON_CreateArray();
	item = cJSON_CreateString(s);
	cJSON_AddItemToArray(run->cfg_texts, item);
	return item->valuestring;
}

/*
 * Resolves path ("sources.oxr.api_key") as a field of type. Returns 1
 * with *out filled, 0 when missing and optional, -1 on failure
 * (recorded). Secret-looking keys (password, api_key, ...) are secret
 * fields, as `pfagent config get` treats them.
 */
static int
lookup(pf_run *run, const char *path, enum cfg_type type, int flags,
    struct cfg_value *out)
{
	struct cfg_field	 f;
	char			*copy, *dot, *err;
	int			 rc;

	memset(out, 0, sizeof(*out));
	/* The executor could not make it: every lookup says why. */
	if (run->cfg == NULL) {
		if (run->cfg_error != NULL)
			fail(run, run->cfg_error);
		else
			fail(run, "Configuration is not available: no resolver "
			    "was made for this run");
		return -1;
	}
	if (path == NULL || *path == '\0' || path[strlen(path) - 1] == '.') {
		fail(run, "Configuration path is empty or ends with '.'");
		return -1;
	}
	memset(&f, 0, sizeof(f));
	copy = xstrdup(path);
	if ((dot = strrchr(copy, '.')) != NULL) {
		*dot = '\0';
		f.key = dot + 1;
		f.sections = f.spec = copy;
	} else
		f.key = copy;
	/* A credentials section is the spec's own: never dropped. */
	if (f.sections != NULL && ((dot = strrchr(copy, '.')) != NULL ?
	    strcmp(dot + 1, "credentials") == 0 :
	    strcmp(copy, "credentials") == 0)) {
		f.spec = xstrdup(copy);
		f.spec_section = "credentials";
		if (dot != NULL)
			*dot = '\0';
		else
			f.sections = NULL;
	}
	f.pipeline = run->pipeline;
	f.type = type;
	f.flags = flags | (cfg_key_looks_secret(f.key) ? CFG_SECRET : 0);
	err = xmalloc(ERR_MAX);
	if ((rc = cfg_resolve(run->cfg, &f, out, err, ERR_MAX)) == -1)
		fail(run, err);
	else
		rc = out->value != NULL ? 1 : 0;
	if (f.spec != copy)
		free((char *)f.spec);
	free(copy);
	free(err);
	return rc;
}

static const char *
string_of(pf_run *run, const char *path, int flags, const char *def)
{
	struct cfg_value	 v;
	const char		*s = def;

	if (lookup(run, path, CFG_STR, flags, &v) == 1 &&
	    cfg_value_str(&v) != NULL)
		s = keep(run, cfg_value_str(&v));
	cfg_value_cleanup(&v);
	return s;
}

static long long
int_of(pf_run *run, const char *path, int flags, long long def)
{
	struct cfg_value	 v;
	long long		 n = def;

	if (lookup(run, path, CFG_INT, flags, &v) == 1 &&
	    cfg_value_int(&v, &n) == -1)
		n = (long long)v.value->valuedouble;
	cfg_value_cleanup(&v);
	return n;
}

static double
number_of(pf_run *run, const char *path, int flags, double def)
{
	struct cfg_value	 v;
	double			 d = def;

	if (lookup(run, path, CFG_FLOAT, flags, &v) == 1)
		d = v.value->valuedouble;
	cfg_value_cleanup(&v);
	return d;
}

static int
bool_of(pf_run *run, const char *path, int flags, int def)
{
	struct cfg_value	 v;
	int			 b = def;

	if (lookup(run, path, CFG_BOOL, flags, &v) == 1)
		b = cJSON_IsTrue(v.value);
	cfg_value_cleanup(&v);
	return b;
}

PF_EXPORT const char *
pf_config_string(pf_run *run, const char *path)
{
	return string_of(run, path, 0, NULL);
}

PF_EXPORT const char *
pf_config_string_or(pf_run *run, const char *path, const char *def)
{
	return string_of(run, path, CFG_OPTIONAL, def);
}

PF_EXPORT long long
pf_config_int(pf_run *run, const char *path)
{
	return int_of(run, path, 0, 0);
}

PF_EXPORT long long
pf_config_int_or(pf_run *run, const char *path, long long def)
{
	return int_of(run, path, CFG_OPTIONAL, def);
}

PF_EXPORT double
pf_config_number(pf_run *run, const char *path)
{
	return number_of(run, path, 0, 0);
}

PF_EXPORT double
pf_config_number_or(pf_run *run, const char *path, double def)
{
	return number_of(run, path, CFG_OPTIONAL, def);
}

PF_EXPORT int
pf_config_bool(pf_run *run, const char *path)
{
	return bool_of(run, path, 0, 0);
}

PF_EXPORT int
pf_config_bool_or(pf_run *run, const char *path, int def)
{
	return bool_of(run, path, CFG_OPTIONAL, def);
}

PF_EXPORT const char *
pf_config_json(pf_run *run, const char *path)
{
	struct cfg_value	 v;
	const char		*s = NULL;
	char			*text;

	if (lookup(run, path, CFG_JSON, 0, &v) == 1 &&
	    (text = cJSON_PrintUnformatted(v.value)) != NULL) {
		s = keep(run, text);
		cJSON_free(text);
	}
	cfg_value_cleanup(&v);
	return s;
}

PF_EXPORT const char *
pf_secret_string(pf_run *run, const char *path)
{
	return string_of(run, path, CFG_SECRET, NULL);
}

PF_EXPORT const char *
pf_secret_string_or(pf_run *run, const char *path, const char *def)
{
	return string_of(run, path, CFG_SECRET | CFG_OPTIONAL, def);
}

PF_EXPORT int
pf_config_ok(pf_run *run)
{
	return run->cfg_failures == 0 ? PF_OK : PF_ERROR;
}

PF_EXPORT void
pf_config_pipeline(pf_run *run, const char *pipeline_name)
{
	free(run->pipeline);
	run->pipeline = pipeline_name != NULL && *pipeline_name != '\0' ?
	    xstrdup(pipeline_name) : NULL;
}

PF_EXPORT const char *
pf_config_profile(pf_run *run)
{
	const struct cfg_workspace *ws;

	if (run->cfg == NULL)
		return NULL;
	ws = cfg_workspace(run->cfg);
	return ws->active ? ws->profile : NULL;
}

/* A standard destination's short name for ref, or NULL. */
static const char *
standard_name(const char *ref)
{
	const char	*p = strncmp(ref, "dlt.destinations.", 17) == 0 ?
	    ref + 17 : ref;

	for (size_t i = 0; standard[i] != NULL; i++)
		if (strcmp(p, standard[i]) == 0)
			return standard[i];
	return NULL;
}

/* dlt's UnknownDestinationModule text for a named destination. */
static char *
unknown_destination(const char *name, const char *configured)
{
	struct buf	 b;
	char		*upper = xstrdup(name);

	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	buf_init(&b, ERR_MAX);
	if (strchr(name, '.') != NULL)
		buf_printf(&b, "Destination module `%s` is not registered.",
		    name);
	else {
		buf_printf(&b, "Destination '%s' was first attempted to be "
		    "resolved as a named destination with a configured type. ",
		    name);
		if (configured != NULL)
			buf_printf(&b, "However, the configured destination "
			    "type '%s' is not valid. Set a valid destination "
			    "type. ", configured);
		else
			buf_printf(&b, "However, no destination type was "
			    "configured. If your destination is a named "
			    "destination, set a valid destination type either "
			    "as an environment variable:\n\n  DESTINATION__%s__"
			    "DESTINATION_TYPE=duckdb\n\nor in your "
			    "configuration files:\n\n  [destination.%s]\n  "
			    "destination_type=\"duckdb\"\n\n", upper, name);
		buf_printf(&b, "Since no%s destination type was found, dlt "
		    "also tried to resolve '%s' as a standard destination. "
		    "However, destination `%s` is not one of the standard dlt "
		    "destinations. Following fully qualified refs were tried "
		    "in the registry:\n\tdlt.destinations.%s\n", configured ?
		    " valid" : "", name, name, name);
	}
	free(upper);
	return buf_steal(&b);
}

/*
 * As dlt's Destination.from_reference(name): a name without a dot is
 * first a named destination, destination.<name>.destination_type read
 * exactly (dlt.config.get); a configured type that is no standard
 * destination, or none, falls back to the name itself as a standard
 * destination's.
 */
PF_EXPORT const char *
pf_destination_type(pf_run *run, const char *name)
{
	struct cfg_value	 v;
	const char		*type = NULL, *configured = NULL;
	char			*path, *err;

	if (name == NULL || *name == '\0') {
		fail(run, "Destination '' is not a destination name");
		return NULL;
	}
	if (strchr(name, '.') == NULL) {
		path = xasprintf("destination.%s.destination_type", name);
		if (lookup(run, path, CFG_STR, CFG_EXACT | CFG_OPTIONAL,
		    &v) == -1) {
			free(path);
			return NULL;
		}
		free(path);
		if ((configured = cfg_value_str(&v)) != NULL)
			type = standard_name(configured);
		if (type == NULL)
			type = standard_name(name);
		if (type == NULL) {
			err = unknown_destination(name, configured);
			fail(run, err);
			free(err);
		}
		cfg_value_cleanup(&v);
	} else if ((type = standard_name(name)) == NULL) {
		err = unknown_destination(name, NULL);
		fail(run, err);
		free(err);
	}
	return type != NULL ? keep(run, type) : NULL;
}
