/*
 * postgres_credentials.c: dlt's PostgresCredentials, parsed and
 * resolved (load/postgres_credentials.h).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/util.h"
#include "config/cfg.h"
#include "config/provider.h"
#include "load/postgres_credentials.h"

#define SPEC		"PostgresCredentials"
#define DEFAULT_PORT	5432
#define DEFAULT_TIMEOUT	15

static const char invalid_string[] =
    "The expected representation for `" SPEC "` is a standard database "
    "connection string with the following format: "
    "`postgresql://username:password@host:port/database`";

static size_t
span_not(const char *s, const char *reject)
{
	return strcspn(s, reject);
}

/* Python's int() of a port: digits with optional blanks around. */
static int
parse_port(const char *s, size_t n, int *out)
{
	size_t	 i = 0;
	long	 v = 0;
	int	 digits = 0;

	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i < n && s[i] == '+')
		i++;
	for (; i < n && isdigit((unsigned char)s[i]); i++, digits++)
		if ((v = v * 10 + (s[i] - '0')) > INT_MAX)
			return -1;
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i != n || digits == 0)
		return -1;
	*out = (int)v;
	return 0;
}

static char *
xstrndup_(const char *s, size_t n)
{
	char	*out = xmalloc(n + 1);

	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

/* \[(?P<ipv6host>[^/\?]+)\]: the last ']' before any '/' or '?'. */
static size_t
last_bracket(const char *s)
{
	size_t	 n = span_not(s, "/?"), close = 0;

	for (size_t i = 1; i < n; i++)
		if (s[i] == ']')
			close = i;
	return close;
}

static void
set_str(char **field, char *value)
{
	free(*field);
	*field = value;
}

static void
add_param(struct pg_credentials *c, char *key, char *value)
{
	/* A repeated key: the last one is what libpq would keep. */
	for (size_t i = 0; i < c->nparams; i++)
		if (strcmp(c->params[i].key, key) == 0) {
			free(key);
			set_str(&c->params[i].value, value);
			return;
		}
	c->params = xrealloc(c->params, (c->nparams + 1) * sizeof(*c->params));
	c->params[c->nparams].key = key;
	c->params[c->nparams++].value = value;
}

/* parse_qsl(query): a=b&c=d, blank values and bare names dropped. */
static int
parse_query(const char *q, struct pg_credentials *c)
{
	while (*q != '\0') {
		size_t	 n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);

		if (eq != NULL && (size_t)(eq - q) + 1 < n) {
			char	*key = url_unquote(q, (size_t)(eq - q), 1);
			char	*value = url_unquote(eq + 1, n - (size_t)(eq - q) - 1,
			    1);

			if (strcmp(key, "connect_timeout") == 0) {
				int	 t;

				free(key);
				if (parse_port(value, strlen(value), &t) == -1) {
					free(value);
					return -1;
				}
				free(value);
				c->connect_timeout = t;
			} else if (strcmp(key, "client_encoding") == 0) {
				free(key);
				set_str(&c->client_encoding, value);
			} else
				add_param(c, key, value);
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

/*
 * The user info of the regex
 *   (?P<username>[^:/]*)(?::(?P<password>[^@]*))?@
 * with its backtracking: the longest user name first, with a password
 * before without one. Returns the length consumed (after '@'), or 0.
 */
static size_t
user_info(const char *s, struct pg_credentials *c)
{
	size_t	 maxuser = span_not(s, ":/");

	for (size_t u = maxuser + 1; u-- > 0;) {
		if (s[u] == ':') {
			size_t	 p = span_not(s + u + 1, "@");

			if (s[u + 1 + p] == '@') {
				set_str(&c->username, url_unquote(s, u, 0));
				set_str(&c->password, url_unquote(s + u + 1, p, 0));
				return u + 1 + p + 1;
			}
		}
		if (s[u] == '@') {
			set_str(&c->username, url_unquote(s, u, 0));
			return u + 1;
		}
	}
	return 0;
}

int
pg_url_parse(const char *url, struct pg_credentials *c, char *err,
    size_t errlen)
{
	const char	*s = url;
	size_t		 n, close;

	/* (?P<name>[\w\+]+):// */
	while (isalnum((unsigned char)*s) || *s == '_' || *s == '+')
		s++;
	if (s == url || strncmp(s, "://", 3) != 0)
		return errorf(err, errlen, "%s", invalid_string);
	s += 3;
	s += user_info(s, c);
	/* (?:\[(?P<ipv6host>[^/\?]+)\] | (?P<ipv4host>[^/:\?]+))? */
	if (*s == '[' && (close = last_bracket(s + 1)) > 0) {
		set_str(&c->host, xstrndup_(s + 1, close));
		s += close + 2;
	} else if ((n = span_not(s, "/:?")) > 0) {
		set_str(&c->host, xstrndup_(s, n));
		s += n;
	}
	/* (?::(?P<port>[^/\?]*))? : an empty port is no port */
	if (*s == ':') {
		n = span_not(s + 1, "/?");
		if (n > 0 && parse_port(s + 1, n, &c->port) == -1)
			return errorf(err, errlen, "%s", invalid_string);
		s += 1 + n;
	}
	/* (?:/(?P<database>[^\?]*))? */
	if (*s == '/') {
		n = span_not(s + 1, "?");
		set_str(&c->database, xstrndup_(s + 1, n));
		s += 1 + n;
	}
	/* (?:\?(?P<query>.*))? : '.' stops at a newline */
	if (*s == '?') {
		char	*q = xstrdup(s + 1);
		int	 rc;

		q[strcspn(q, "\n")] = '\0';
		rc = parse_query(q, c);
		free(q);
		if (rc == -1)
			return errorf(err, errlen, "%s", invalid_string);
	}
	return 0;
}

/* The fields of PostgresCredentials, in dlt's order. */
struct pg_field {
	const char	*key;
	enum cfg_type	 type;
	int		 required;
};

static const struct pg_field fields[] = {
	{ "database",		CFG_STR,	1 },
	{ "password",		CFG_STR,	1 },
	{ "username",		CFG_STR,	1 },
	{ "host",		CFG_STR,	1 },
	{ "port",		CFG_INT,	0 },
	{ "connect_timeout",	CFG_INT,	0 },
	{ "client_encoding",	CFG_STR,	0 },
	{ "session_timezone",	CFG_STR,	0 },
	{ "query",		CFG_JSON,	0 },
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

static int
is_set(const struct pg_credentials *c, size_t i)
{
	switch (i) {
	case 0: return c->database != NULL;
	case 1: return c->password != NULL;
	case 2: return c->username != NULL;
	case 3: return c->host != NULL;
	case 4: return c->port != 0;
	case 5: return c->connect_timeout != 0;
	case 6: return c->client_encoding != NULL;
	case 7: return c->session_timezone != NULL;
	default: return c->nparams > 0;
	}
}

static void
set_field(struct pg_credentials *c, size_t i, const cJSON *v)
{
	long long	 n = 0;
	const cJSON	*it;

	if (fields[i].type == CFG_INT) {
		n = cJSON_IsString(v) ? strtoll(v->valuestring, NULL, 10) :
		    (long long)v->valuedouble;
		if (n < 0 || n > INT_MAX)
			n = 0;
		*(i == 4 ? &c->port : &c->connect_timeout) = (int)n;
		return;
	}
	if (fields[i].type == CFG_JSON) {
		cJSON_ArrayForEach(it, v)
			if (it->string != NULL && cJSON_IsString(it))
				add_param(c, xstrdup(it->string),
				    xstrdup(it->valuestring));
		return;
	}
	switch (i) {
	case 0: set_str(&c->database, xstrdup(v->valuestring)); break;
	case 1: set_str(&c->password, xstrdup(v->valuestring)); break;
	case 2: set_str(&c->username, xstrdup(v->valuestring)); break;
	case 3: set_str(&c->host, xstrdup(v->valuestring)); break;
	case 6: set_str(&c->client_encoding, xstrdup(v->valuestring)); break;
	default: set_str(&c->session_timezone, xstrdup(v->valuestring));
	}
}

/* port 1..65535, connect_timeout >= 0; else err naming the provider. */
static int
bad_int(const struct cfg_value *v, size_t i, char *err, size_t errlen)
{
	long long	 n;
	char		 why[128];

	if (cfg_value_int(v, &n) == 0 && n >= (i == 4) &&
	    n <= (i == 4 ? 65535 : INT_MAX))
		return 0;
	snprintf(why, sizeof(why), "Configured value for field `%s` must be "
	    "a whole number from %d to %d", fields[i].key, i == 4,
	    i == 4 ? 65535 : INT_MAX);
	cfg_value_error(v, why, err, errlen);
	return 1;
}

/* spec_section NULL: the fields sit in sections itself (a source's). */
static void
field_spec(struct cfg_field *f, const char *sections, const char *spec_section,
    const char *pipeline, size_t i)
{
	memset(f, 0, sizeof(*f));
	f->sections = sections;
	f->key = fields[i].key;
	f->spec_section = spec_section;
	f->pipeline = pipeline;
	f->spec = spec_section != NULL ? SPEC : NULL;
	f->type = fields[i].type;
	f->flags = CFG_OPTIONAL | (i == 1 ? CFG_SECRET : 0);
}

/*
 * dlt's text for missing fields of the embedded credentials: cfg's
 * message for each field (its "for field ..." block indented under
 * the credentials line), the fields that did resolve, then the
 * provider notes of the last message.
 */
static void
missing_message(struct cfg *cfg, const char *sections, const char *pipeline,
    const size_t *missing, size_t n, const int *found, char *err,
    size_t errlen)
{
	struct buf	 b;
	struct cfg_field f;
	struct cfg_value v;
	char		*one = xmalloc(errlen), *line, *tail = NULL;
	const char	*sep = "";

	buf_init(&b, errlen);
	buf_printf(&b, "Missing 1 field(s) in configuration "
	    "`PostgresClientConfiguration`: `credentials`\nfield "
	    "`credentials` is itself a configuration `" SPEC "` with "
	    "missing field(s): ");
	for (size_t k = 0; k < n; k++)
		buf_printf(&b, "%s`%s`", k ? ", " : "", fields[missing[k]].key);
	buf_printf(&b, "\n");
	for (size_t k = 0; k < n; k++) {
		field_spec(&f, sections, "credentials", pipeline, missing[k]);
		f.flags &= ~CFG_OPTIONAL;
		one[0] = '\0';
		if (cfg_resolve(cfg, &f, &v, one, errlen) == 0) {
			cfg_value_cleanup(&v);
			continue;
		}
		/* After the "Missing 1 field(s)" line: the block's lines. */
		line = strchr(one, '\n');
		line = line != NULL ? line + 1 : one + strlen(one);
		while (strncmp(line, "for field ", 10) == 0 ||
		    strncmp(line, "  (", 3) == 0) {
			size_t	 len = strcspn(line, "\n");

			buf_printf(&b, "  %.*s\n", (int)len, line);
			line += len + (line[len] == '\n');
		}
		tail = line;
	}
	buf_printf(&b, "  NOTE: following fields in `" SPEC "` got "
	    "resolved: ");
	for (size_t i = 0; i < NFIELDS; i++)
		if (found[i]) {
			buf_printf(&b, "%s`%s`", sep, fields[i].key);
			sep = ", ";
		}
	if (*sep == '\0')
		b.len -= strlen("  NOTE: following fields in `" SPEC "` got "
		    "resolved: ");
	else
		buf_printf(&b, "\n");
	buf_printf(&b, "\nNOTE: following fields in "
	    "`PostgresClientConfiguration` got resolved: `destination_name`, "
	    "`csv_format`\n");
	if (tail != NULL)
		buf_printf(&b, "%s", tail[0] == '\n' ? tail + 1 : tail);
	errorf(err, errlen, "%s", b.data != NULL ? b.data : "");
	buf_cleanup(&b);
	free(one);
}

/*
 * Both forms: the fields under <sections>.credentials (a destination's,
 * spec_section "credentials") or straight under <sections> (a source's,
 * spec_section NULL).
 */
static int
resolve(struct cfg *cfg, const char *sections, const char *spec_section,
    const char *pipeline, struct pg_credentials *out, char *err,
    size_t errlen)
{
	struct cfg_field f;
	struct cfg_value v;
	size_t		 missing[NFIELDS], nmissing = 0;
	int		 found[NFIELDS] = { 0 }, rc = -1;

	memset(out, 0, sizeof(*out));
	/* The whole value: a connection string wins where it says. */
	memset(&f, 0, sizeof(f));
	f.sections = sections;
	f.key = "credentials";
	f.pipeline = pipeline;
	f.type = CFG_ANY;
	f.flags = CFG_SECRET | CFG_OPTIONAL;
	if (cfg_resolve(cfg, &f, &v, err, errlen) == -1)
		goto out;
	if (v.value != NULL && !cJSON_IsObject(v.value)) {
		if (!cJSON_IsString(v.value) ||
		    pg_url_parse(v.value->valuestring, out, err, errlen) == -1) {
			char	*details = xstrdup(cJSON_IsString(v.value) ?
			    err : invalid_string);

			errorf(err, errlen, "`" SPEC "` cannot parse the "
			    "configuration value provided. The value is of "
			    "type `%s` and comes from the sections "
			    "`('credentials',)` Value may be a secret and is "
			    "not shown. Details:  %s", cJSON_IsString(v.value) ?
			    "str" : cJSON_IsNumber(v.value) ? "int" :
			    cJSON_IsBool(v.value) ? "bool" : "list", details);
			free(details);
			cfg_value_cleanup(&v);
			goto out;
		}
	}
	cfg_value_cleanup(&v);
	/* Then every field the string left unset. */
	for (size_t i = 0; i < NFIELDS; i++) {
		if (is_set(out, i)) {
			found[i] = 1;
			continue;
		}
		field_spec(&f, sections, spec_section, pipeline, i);
		if (cfg_resolve(cfg, &f, &v, err, errlen) == -1)
			goto out;
		if (v.value != NULL && fields[i].type == CFG_INT &&
		    bad_int(&v, i, err, errlen)) {
			cfg_value_cleanup(&v);
			goto out;
		}
		if (v.value != NULL && !cJSON_IsNull(v.value)) {
			set_field(out, i, v.value);
			found[i] = strcmp(v.provider, "default") != 0;
		}
		else if (fields[i].required)
			missing[nmissing++] = i;
		cfg_value_cleanup(&v);
	}
	if (nmissing > 0 && spec_section == NULL) {
		/* cfg's own text for the first field found nowhere. */
		field_spec(&f, sections, NULL, pipeline, missing[0]);
		f.flags &= ~CFG_OPTIONAL;
		if (cfg_resolve(cfg, &f, &v, err, errlen) == 0)
			cfg_value_cleanup(&v);
		goto out;
	}
	if (nmissing > 0) {
		missing_message(cfg, sections, pipeline, missing, nmissing,
		    found, err, errlen);
		goto out;
	}
	if (out->port == 0)
		out->port = DEFAULT_PORT;
	if (out->connect_timeout == 0)
		out->connect_timeout = DEFAULT_TIMEOUT;
	/* dlt strips the password once resolved (on_resolved). */
	set_str(&out->password, str_strip(out->password));
	cfg_note_secret_text(cfg, out->password);
	rc = 0;
out:
	if (rc == -1)
		pg_credentials_cleanup(out);
	return rc;
}

int
pg_credentials_resolve(struct cfg *cfg, const char *dest_name,
    const char *pipeline, struct pg_credentials *out, char *err,
    size_t errlen)
{
	char	*sections = xasprintf("destination.%s", dest_name);
	int	 rc;

	rc = resolve(cfg, sections, "credentials", pipeline, out, err, errlen);
	free(sections);
	return rc;
}

int
pg_credentials_resolve_source(struct cfg *cfg, const char *section,
    const char *pipeline, struct pg_credentials *out, char *err,
    size_t errlen)
{
	return resolve(cfg, section, NULL, pipeline, out, err, errlen);
}

/* The user part of a location as SQLAlchemy renders it: the name as
   Python's quote(s, safe=" +"), the password masked. */
void
ld_url_userinfo(struct buf *b, const char *user, const char *password)
{
	if (user == NULL)
		return;
	for (const char *s = user; *s != '\0'; s++) {
		unsigned char	 ch = (unsigned char)*s;

		if (isalnum(ch) || strchr("_.-~ +", ch) != NULL)
			buf_printf(b, "%c", ch);
		else
			buf_printf(b, "%%%02X", ch);
	}
	buf_printf(b, password != NULL ? ":***@" : "@");
}

char *
pg_credentials_location(const struct pg_credentials *c)
{
	struct buf	 b;

	buf_init(&b, 4096);
	buf_printf(&b, "postgresql://");
	ld_url_userinfo(&b, c->username, c->password);
	if (c->host != NULL)
		buf_printf(&b, strchr(c->host, ':') != NULL ? "[%s]" : "%s",
		    c->host);
	if (c->port != 0)
		buf_printf(&b, ":%d", c->port);
	if (c->database != NULL)
		buf_printf(&b, "/%s", c->database);
	return buf_steal(&b);
}

PGconn *
pg_connect(const struct pg_credentials *c, const char *options)
{
	const char	**kw, **val;
	char		  port[16], timeout[16];
	size_t		  n = 0;
	PGconn		 *conn;

	kw = xcalloc(c->nparams + 10, sizeof(*kw));
	val = xcalloc(c->nparams + 10, sizeof(*val));
	/* Query parameters first: the named fields win, as in dlt. */
	for (size_t i = 0; i < c->nparams; i++) {
		kw[n] = c->params[i].key;
		val[n++] = c->params[i].value;
	}
	snprintf(port, sizeof(port), "%d", c->port);
	snprintf(timeout, sizeof(timeout), "%d", c->connect_timeout);
	kw[n] = "host"; val[n++] = c->host;
	kw[n] = "port"; val[n++] = port;
	kw[n] = "dbname"; val[n++] = c->database;
	kw[n] = "user"; val[n++] = c->username;
	kw[n] = "password"; val[n++] = c->password;
	kw[n] = "connect_timeout"; val[n++] = timeout;
	kw[n] = "options"; val[n++] = options;
	if (c->client_encoding != NULL) {
		kw[n] = "client_encoding";
		val[n++] = c->client_encoding;
	}
	conn = PQconnectdbParams(kw, val, 0);
	free(kw);
	free(val);
	return conn;
}

void
pg_credentials_cleanup(struct pg_credentials *c)
{
	free(c->database);
	if (c->password != NULL) {
		/* Not left behind in freed memory. */
		memset(c->password, 0, strlen(c->password));
		free(c->password);
	}
	free(c->username);
	free(c->host);
	free(c->client_encoding);
	free(c->session_timezone);
	for (size_t i = 0; i < c->nparams; i++) {
		free(c->params[i].key);
		free(c->params[i].value);
	}
	free(c->params);
	memset(c, 0, sizeof(*c));
}
