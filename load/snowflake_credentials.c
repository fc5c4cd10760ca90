/*
 * snowflake_credentials.c: dlt's SnowflakeCredentials, parsed and
 * resolved (load/snowflake_credentials.h).
 */
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "config/cfg.h"
#include "config/provider.h"
#include "load/postgres_credentials.h"
#include "load/snowflake_credentials.h"

#define SPEC	"SnowflakeCredentials"

static const char invalid_string[] =
    "The expected representation for `" SPEC "` is a standard database "
    "connection string with the following format: "
    "`snowflake://username:password@host:port/database`";

static void
set_str(char **field, char *value)
{
	free(*field);
	*field = value;
}

/* The query parameters dlt takes (and pfagent's protocol). */
static const struct {
	const char	*key;
	size_t		 off;
} query_fields[] = {
	{ "warehouse", offsetof(struct sfc_credentials, warehouse) },
	{ "role", offsetof(struct sfc_credentials, role) },
	{ "authenticator", offsetof(struct sfc_credentials, authenticator) },
	{ "private_key", offsetof(struct sfc_credentials, private_key) },
	{ "private_key_path", offsetof(struct sfc_credentials,
	    private_key_path) },
	{ "private_key_passphrase", offsetof(struct sfc_credentials,
	    private_key_passphrase) },
	{ "application", offsetof(struct sfc_credentials, application) },
	{ "timezone", offsetof(struct sfc_credentials, session_timezone) },
	{ "protocol", offsetof(struct sfc_credentials, protocol) },
};
#define NQUERY	(sizeof(query_fields) / sizeof(query_fields[0]))

static char **
str_field(struct sfc_credentials *c, size_t off)
{
	return (char **)(void *)((char *)c + off);
}

int
sfc_url_parse(const char *url, struct sfc_credentials *c, char *err,
    size_t errlen)
{
	struct pg_credentials	 pg;
	char			 ignored[256];

	/* SQLAlchemy's make_url is the same for every scheme. */
	memset(&pg, 0, sizeof(pg));
	if (pg_url_parse(url, &pg, ignored, sizeof(ignored)) == -1) {
		pg_credentials_cleanup(&pg);
		return errorf(err, errlen, "%s", invalid_string);
	}
	set_str(&c->database, pg.database);
	set_str(&c->username, pg.username);
	set_str(&c->password, pg.password);
	set_str(&c->host, pg.host);
	pg.database = pg.username = pg.password = pg.host = NULL;
	if (pg.port != 0)
		c->port = pg.port;
	for (size_t i = 0; i < pg.nparams; i++)
		for (size_t k = 0; k < NQUERY; k++)
			if (strcmp(pg.params[i].key, query_fields[k].key) == 0) {
				set_str(str_field(c, query_fields[k].off),
				    pg.params[i].value);
				pg.params[i].value = NULL;
			}
	pg_credentials_cleanup(&pg);
	return 0;
}

/* ------------------------------------------------------- resolving */

/* port is an int, not at an offset of a string. */
#define PORT	((size_t)-1)

/* The fields of SnowflakeCredentials that pfagent reads, dlt's order. */
static const struct sfc_field {
	const char	*key;
	size_t		 off;		/* of the char * (not port's) */
	int		 flags;		/* CFG_SECRET */
	int		 required;
} fields[] = {
	{ "database", offsetof(struct sfc_credentials, database), 0, 1 },
	{ "password", offsetof(struct sfc_credentials, password),
	    CFG_SECRET, 0 },
	{ "username", offsetof(struct sfc_credentials, username), 0, 0 },
	{ "host", offsetof(struct sfc_credentials, host), 0, 1 },
	{ "port", PORT, 0, 0 },
	{ "warehouse", offsetof(struct sfc_credentials, warehouse), 0, 0 },
	{ "role", offsetof(struct sfc_credentials, role), 0, 0 },
	{ "authenticator", offsetof(struct sfc_credentials, authenticator),
	    0, 0 },
	{ "private_key", offsetof(struct sfc_credentials, private_key),
	    CFG_SECRET, 0 },
	{ "private_key_path", offsetof(struct sfc_credentials,
	    private_key_path), 0, 0 },
	{ "private_key_passphrase", offsetof(struct sfc_credentials,
	    private_key_passphrase), CFG_SECRET, 0 },
	{ "application", offsetof(struct sfc_credentials, application), 0,
	    0 },
	{ "session_timezone", offsetof(struct sfc_credentials,
	    session_timezone), 0, 0 },
	{ "protocol", offsetof(struct sfc_credentials, protocol), 0, 0 },
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

static void
field_spec(struct cfg_field *f, const char *sections, const char *pipeline,
    const struct sfc_field *sf)
{
	memset(f, 0, sizeof(*f));
	f->sections = sections;
	f->key = sf->key;
	f->spec_section = "credentials";
	f->pipeline = pipeline;
	f->spec = SPEC;
	f->type = sf->off == PORT ? CFG_INT : CFG_STR;
	f->flags = CFG_OPTIONAL | sf->flags;
}

/* The whole credentials value: a connection string, when it is one. */
static int
resolve_whole(struct cfg *cfg, const char *sections, const char *pipeline,
    struct sfc_credentials *out, char *err, size_t errlen)
{
	struct cfg_field f;
	struct cfg_value v;
	int		 rc = 0;

	memset(&f, 0, sizeof(f));
	f.sections = sections;
	f.key = "credentials";
	f.pipeline = pipeline;
	f.type = CFG_ANY;
	f.flags = CFG_SECRET | CFG_OPTIONAL;
	if (cfg_resolve(cfg, &f, &v, err, errlen) == -1)
		return -1;
	if (v.value != NULL && !cJSON_IsObject(v.value) &&
	    (!cJSON_IsString(v.value) ||
	    sfc_url_parse(v.value->valuestring, out, err, errlen) == -1))
		rc = errorf(err, errlen, "`" SPEC "` cannot parse the "
		    "configuration value provided. The value is of type `%s` "
		    "and comes from the sections `('credentials',)` Value may "
		    "be a secret and is not shown. Details:  %s",
		    cJSON_IsString(v.value) ? "str" : cJSON_IsNumber(v.value) ?
		    "int" : cJSON_IsBool(v.value) ? "bool" : "list",
		    invalid_string);
	cfg_value_cleanup(&v);
	return rc;
}

/* Every field the connection string left unset, on its own. */
static int
resolve_fields(struct cfg *cfg, const char *sections, const char *pipeline,
    struct sfc_credentials *out, char *err, size_t errlen)
{
	struct cfg_field f;
	struct cfg_value v;
	long long	 port;

	for (size_t i = 0; i < NFIELDS; i++) {
		const struct sfc_field *sf = &fields[i];

		if (sf->off != PORT ? *str_field(out, sf->off) != NULL :
		    out->port != 0)
			continue;
		field_spec(&f, sections, pipeline, sf);
		if (cfg_resolve(cfg, &f, &v, err, errlen) == -1)
			return -1;
		if (v.value == NULL || cJSON_IsNull(v.value)) {
			cfg_value_cleanup(&v);
			if (!sf->required)
				continue;
			/* cfg's own text: where it was looked for. */
			f.flags &= ~CFG_OPTIONAL;
			if (cfg_resolve(cfg, &f, &v, err, errlen) == 0) {
				cfg_value_cleanup(&v);
				errorf(err, errlen, "field `%s` of `" SPEC "` "
				    "is missing", sf->key);
			}
			return -1;
		}
		if (sf->off == PORT) {
			if (cfg_value_int(&v, &port) == -1 || port < 1 ||
			    port > 65535) {
				cfg_value_error(&v, "Configured value for field "
				    "`port` must be a whole number from 1 to "
				    "65535", err, errlen);
				cfg_value_cleanup(&v);
				return -1;
			}
			out->port = (int)port;
		} else if (cJSON_IsString(v.value))
			set_str(str_field(out, sf->off),
			    xstrdup(v.value->valuestring));
		cfg_value_cleanup(&v);
	}
	return 0;
}

static char *
lower(const char *s)
{
	char	*out = xstrdup(s);

	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}

/* dlt's on_resolved, pfagent's defaults and what it supports. */
static int
check_resolved(struct cfg *cfg, struct sfc_credentials *c, char *err,
    size_t errlen)
{
	char	*text;

	/* The key's forms (PEM, base64 of DER or PEM) are the session's
	   to read (snowflake/jwt.c); a path is read here, as dlt does. */
	if (c->private_key_path != NULL) {
		text = read_file_max(c->private_key_path, 1u << 20, NULL, err,
		    errlen);
		if (text == NULL)
			return errorf(err, errlen, "Make sure that "
			    "`private_key` in dlt recognized format is at `%s`. "
			    "Note that binary formats are not supported",
			    c->private_key_path);
		set_str(&c->private_key, text);
	}
	if (c->private_key != NULL)
		cfg_note_secret_text(cfg, c->private_key);
	if (c->authenticator == NULL)
		c->authenticator = xstrdup(c->private_key != NULL ?
		    "snowflake_jwt" : "snowflake");
	set_str(&c->authenticator, lower(c->authenticator));
	if (strcmp(c->authenticator, "snowflake") == 0 &&
	    c->private_key == NULL && (c->username == NULL ||
	    c->password == NULL))
		return errorf(err, errlen, "`" SPEC "` requires `username` and "
		    "`password` to be specified when using `snowflake` "
		    "(username/password) authentication.");
	if (strcmp(c->authenticator, "snowflake") == 0 && c->private_key)
		set_str(&c->authenticator, xstrdup("snowflake_jwt"));
	if (strcmp(c->authenticator, "snowflake_jwt") == 0 &&
	    (c->username == NULL || c->private_key == NULL))
		return errorf(err, errlen, "`" SPEC "` requires `username` and "
		    "`private_key` (or `private_key_path`) to be specified "
		    "when using `snowflake_jwt` (key pair) authentication.");
	if (strcmp(c->authenticator, "snowflake_jwt") != 0 &&
	    strcmp(c->authenticator, "snowflake") != 0)
		return errorf(err, errlen, "authenticator `%s` of `" SPEC "` is "
		    "not one pfagent supports: use `snowflake` (password) or "
		    "`snowflake_jwt` (key pair)", c->authenticator);
	if (c->protocol == NULL)
		c->protocol = xstrdup("https");
	set_str(&c->protocol, lower(c->protocol));
	if (strcmp(c->protocol, "https") != 0 &&
	    strcmp(c->protocol, "http") != 0)
		return errorf(err, errlen, "protocol `%s` of `" SPEC "` is "
		    "neither `https` nor `http`", c->protocol);
	if (c->application == NULL)
		c->application = xstrdup("dltHub_dlt");
	if (c->session_timezone == NULL)
		c->session_timezone = xstrdup("UTC");
	return 0;
}

int
sfc_credentials_resolve(struct cfg *cfg, const char *dest_name,
    const char *pipeline, struct sfc_credentials *out, char *err,
    size_t errlen)
{
	char	*sections = xasprintf("destination.%s", dest_name);
	int	 rc = -1;

	memset(out, 0, sizeof(*out));
	if (resolve_whole(cfg, sections, pipeline, out, err, errlen) == 0 &&
	    resolve_fields(cfg, sections, pipeline, out, err, errlen) == 0) {
		/* dlt strips the password once resolved (on_resolved). */
		if (out->password != NULL) {
			set_str(&out->password, str_strip(out->password));
			cfg_note_secret_text(cfg, out->password);
		}
		if (out->private_key_passphrase != NULL)
			cfg_note_secret_text(cfg, out->private_key_passphrase);
		rc = check_resolved(cfg, out, err, errlen);
	}
	if (rc == -1)
		sfc_credentials_cleanup(out);
	free(sections);
	return rc;
}

char *
sfc_credentials_location(const struct sfc_credentials *c)
{
	struct buf	 b;

	buf_init(&b, 4096);
	buf_printf(&b, "snowflake://");
	ld_url_userinfo(&b, c->username, c->password);
	if (c->host != NULL)
		buf_printf(&b, "%s", c->host);
	if (c->port != 0)
		buf_printf(&b, ":%d", c->port);
	if (c->database != NULL)
		buf_printf(&b, "/%s", c->database);
	return buf_steal(&b);
}

static void
wipe(char **s)
{
	if (*s != NULL)
		OPENSSL_cleanse(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

void
sfc_credentials_cleanup(struct sfc_credentials *c)
{
	wipe(&c->password);
	wipe(&c->private_key);
	wipe(&c->private_key_passphrase);
	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].off != PORT)
			set_str(str_field(c, fields[i].off), NULL);
	memset(c, 0, sizeof(*c));
}
