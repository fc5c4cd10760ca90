/*
 * prefect_profile.c: Prefect's settings from its active profile, as
 * Prefect's own client reads them. `prefect config set
 * PREFECT_API_URL=...` writes them to $PREFECT_HOME/profiles.toml; the
 * environment still wins, so each setting of the active profile is put
 * into the environment only where it is not set there. Done once, before
 * any command runs, so the worker, the executor it starts (which
 * inherits the environment) and the other commands all see them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/prefect_profile.h"
#include "common/util.h"
#include "config/toml.h"

/* Prefect's profiles.toml path: PREFECT_PROFILES_PATH, else PREFECT_HOME. */
static char *
profiles_path(void)
{
	const char	*p = getenv("PREFECT_PROFILES_PATH");
	const char	*home = getenv("PREFECT_HOME");
	const char	*user = getenv("HOME");

	if (p != NULL && *p != '\0') {
		if (strncmp(p, "~/", 2) == 0 && user != NULL)
			return xasprintf("%s/%s", user, p + 2);
		return xstrdup(p);
	}
	if (home != NULL && *home != '\0') {
		if (strncmp(home, "~/", 2) == 0 && user != NULL)
			return xasprintf("%s/%s/profiles.toml", user, home + 2);
		return xasprintf("%s/profiles.toml", home);
	}
	if (user == NULL || *user == '\0')
		return NULL;
	return xasprintf("%s/.prefect/profiles.toml", user);
}

/* A setting's value as Prefect's settings see it: text. */
static char *
value_text(const cJSON *v)
{
	long long	 i;

	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (cJSON_IsBool(v))
		return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
	if (toml_get_int64(v, &i) == 0)
		return xasprintf("%lld", i);
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
		return xasprintf("%.17g", v->valuedouble);
	return NULL;
}

int
prefect_profile_apply(char *err, size_t errlen)
{
	char		*path = profiles_path();
	const char	*name = getenv("PREFECT_PROFILE");
	struct toml_error te;
	cJSON		*doc, *profiles, *profile, *it;
	int		 rc = -1;

	if (path == NULL || access(path, F_OK) == -1) {
		/* Prefect's own default profiles set no API: nothing to add. */
		free(path);
		return 0;
	}
	if ((doc = toml_parse_file(path, &te)) == NULL) {
		errorf(err, errlen, "Prefect profiles %s:%s", path, te.msg);
		free(path);
		return -1;
	}
	if (name == NULL || *name == '\0') {
		it = cJSON_GetObjectItemCaseSensitive(doc, "active");
		name = cJSON_IsString(it) ? it->valuestring : NULL;
	}
	profiles = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
	profile = name != NULL ?
	    cJSON_GetObjectItemCaseSensitive(profiles, name) : NULL;
	if (name == NULL || profile == NULL) {
		/* Prefect's built-in profiles (ephemeral, local, test, cloud)
		 * set no PREFECT_API_URL but "local"'s default. */
		if (name != NULL && strcmp(name, "local") == 0 &&
		    getenv("PREFECT_API_URL") == NULL)
			setenv("PREFECT_API_URL",
			    "http://127.0.0.1:4200/api", 1);
		rc = 0;
		if (name != NULL && strcmp(name, "ephemeral") != 0 &&
		    strcmp(name, "local") != 0 && strcmp(name, "test") != 0 &&
		    strcmp(name, "cloud") != 0 && strcmp(name, "default") != 0)
			rc = errorf(err, errlen, "Prefect profile '%s' is not "
			    "in %s", name, path);
		goto out;
	}
	if (!cJSON_IsObject(profile)) {
		rc = errorf(err, errlen, "Prefect profiles %s: "
		    "profiles.%s is not a table", path, name);
		goto out;
	}
	cJSON_ArrayForEach(it, profile) {
		char	*v;

		if (it->string == NULL || strncmp(it->string, "PREFECT_", 8) ||
		    getenv(it->string) != NULL)
			continue;
		if ((v = value_text(it)) == NULL) {
			rc = errorf(err, errlen, "Prefect profiles %s: "
			    "profiles.%s.%s is not a string, number or "
			    "boolean", path, name, it->string);
			goto out;
		}
		setenv(it->string, v, 1);
		free(v);
	}
	rc = 0;
out:
	cJSON_Delete(doc);
	free(path);
	return rc;
}
