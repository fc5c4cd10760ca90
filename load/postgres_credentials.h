/*
 * load/postgres_credentials.h: dlt's PostgresCredentials
 * (dlt/destinations/impl/postgres/configuration.py): the connection
 * string form postgresql://user:password@host:port/database?query or
 * the fields of [destination.<name>.credentials], resolved as dlt
 * resolves an embedded credentials spec: the whole value first (a
 * string is parsed; what it sets wins), then every field it left unset
 * looked up on its own, e.g. DESTINATION__WAREHOUSE__CREDENTIALS__PASSWORD.
 */
#ifndef LOAD_POSTGRES_CREDENTIALS_H
#define LOAD_POSTGRES_CREDENTIALS_H

#include <stddef.h>

#include <libpq-fe.h>

struct cfg;

/* One query parameter of the URL (sslmode=require, ...). */
struct pg_param {
	char	*key, *value;
};

struct pg_credentials {
	char		*database, *username, *password, *host;
	int		 port;			/* 0: unset (5432) */
	int		 connect_timeout;	/* 0: unset (15) */
	char		*client_encoding;	/* NULL: the server's */
	char		*session_timezone;	/* NULL: the server's */
	/* Other query parameters, handed to libpq as they are. */
	struct pg_param	*params;
	size_t		 nparams;
};

/*
 * Parses a connection string as SQLAlchemy's make_url (dlt's
 * sql_alchemy_shims._parse_url): user and password percent-decoded,
 * query parameters as Python's parse_qsl; connect_timeout and
 * client_encoding taken from the query. Fields the string does not
 * name stay unset. Returns 0, or -1 with dlt's InvalidConnectionString
 * text in err (the string itself is never shown).
 */
int	 pg_url_parse(const char *url, struct pg_credentials *out, char *err,
	    size_t errlen);

/*
 * Resolves destination.<dest_name>.credentials through c (with the
 * pipeline-scoped pass when pipeline is set). Defaults port 5432,
 * connect_timeout 15; database, password, username and host are
 * required, as in dlt. Every value found is recorded as a secret of
 * c when it is one (the password, a whole connection string). Returns
 * 0, or -1 with dlt's ConfigFieldMissingException or
 * InvalidNativeValue text in err (give it 16 KiB).
 */
int	 pg_credentials_resolve(struct cfg *c, const char *dest_name,
	    const char *pipeline, struct pg_credentials *out, char *err,
	    size_t errlen);

/*
 * The same for a source whose section holds the fields themselves, as
 * seed 000's [sources.clever_cloud] (host, port, database, username,
 * password): <section>.credentials (a connection string, as dlt's
 * sql_database takes it) first, then each field it left unset under
 * <section>. A required field found nowhere gives cfg's
 * ConfigFieldMissingException text for it.
 */
int	 pg_credentials_resolve_source(struct cfg *c, const char *section,
	    const char *pipeline, struct pg_credentials *out, char *err,
	    size_t errlen);

/*
 * Where the credentials point, as dlt prints them (str() of the
 * credentials): postgresql://user:***@host:port/database, no query.
 * Caller frees.
 */
char	*pg_credentials_location(const struct pg_credentials *);

/* Appends "user[:***]@" as SQLAlchemy renders it (nothing without a
   user): for every destination's location. */
struct buf;
void	 ld_url_userinfo(struct buf *, const char *user,
	    const char *password);

/*
 * Opens a libpq connection to where c points, options being libpq's
 * "options" (server settings at startup). Returns the connection, to
 * be checked with PQstatus, or NULL when libpq is out of memory.
 */
PGconn	*pg_connect(const struct pg_credentials *c, const char *options);

void	 pg_credentials_cleanup(struct pg_credentials *);

#endif
