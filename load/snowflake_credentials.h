/*
 * load/snowflake_credentials.h: dlt's SnowflakeCredentials
 * (dlt/destinations/impl/snowflake/configuration.py): the connection
 * string
 *
 *   snowflake://user:password@account/database?warehouse=W&role=R
 *       &authenticator=..&private_key=..&private_key_passphrase=..
 *
 * or the fields of [destination.<name>.credentials], resolved as dlt
 * resolves an embedded credentials spec (as load/postgres_credentials.h):
 * the whole value first (a string is parsed; what it sets wins), then
 * every field it left unset on its own, e.g.
 * DESTINATION__WAREHOUSE__CREDENTIALS__PASSWORD, then Secrets Manager.
 *
 * pfagent adds two keys for private links and loopback test peers:
 * `host` may carry ":port" (or `port` be given, as in the URL), and
 * `protocol` is "https" (the default) or "http".
 */
#ifndef LOAD_SNOWFLAKE_CREDENTIALS_H
#define LOAD_SNOWFLAKE_CREDENTIALS_H

#include <stddef.h>

struct cfg;

struct sfc_credentials {
	char	*database, *password, *username, *host;
	int	 port;			/* 0: none (the host's own) */
	char	*warehouse, *role;
	/* "snowflake" (password) or "snowflake_jwt" (key pair); unset
	   means key pair when a private key is given, as in dlt. */
	char	*authenticator;
	char	*private_key;		/* PEM, or base64 of DER or PEM */
	char	*private_key_path;
	char	*private_key_passphrase;
	char	*application;		/* dlt's "dltHub_dlt" by default */
	char	*session_timezone;	/* dlt's "UTC" by default */
	char	*protocol;		/* "https" by default */
};

/*
 * Parses a connection string as SQLAlchemy's make_url (user and
 * password percent-decoded; account as the host, with an optional
 * port; database as the path) and takes dlt's query parameters
 * (warehouse, role, authenticator, private_key, private_key_path,
 * private_key_passphrase) and pfagent's protocol from the query. Fields
 * it does not name stay unset. Returns 0, or -1 with dlt's
 * InvalidConnectionString text in err (the string is never shown).
 */
int	 sfc_url_parse(const char *url, struct sfc_credentials *, char *err,
	    size_t errlen);

/*
 * Resolves destination.<dest_name>.credentials through c (with the
 * pipeline-scoped pass when pipeline is set). database and host are
 * required, and username with a password unless a private key is
 * given (dlt's on_resolved); a private_key_path is read into
 * private_key. Every secret found (password, private key, passphrase,
 * a whole connection string) is recorded as a secret of c. Returns 0,
 * or -1 with err naming what is missing or wrong, never a secret.
 */
int	 sfc_credentials_resolve(struct cfg *c, const char *dest_name,
	    const char *pipeline, struct sfc_credentials *, char *err,
	    size_t errlen);

/*
 * Where the credentials point, as dlt prints them (str() of the
 * credentials, no query): snowflake://user:***@host/database. Caller
 * frees.
 */
char	*sfc_credentials_location(const struct sfc_credentials *);

void	 sfc_credentials_cleanup(struct sfc_credentials *);

#endif
