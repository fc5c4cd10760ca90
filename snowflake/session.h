/*
 * snowflake/session.h: a session with Snowflake over its REST wire
 * protocol, the one its own drivers speak (the Python connector,
 * gosnowflake): login, queries with positional bindings, heartbeats,
 * re-login on an expired session, and the session's deletion.
 *
 * Errors are values: a failing call returns -1 (or NULL) with err
 * holding Snowflake's code, SQL state and message as it sent them, and
 * never a password, token or key.
 */
#ifndef SNOWFLAKE_SESSION_H
#define SNOWFLAKE_SESSION_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* What a session needs; dlt's credential fields. NULL: not given. */
struct sf_conf {
	const char	*host;		/* account identifier, or host[:port] */
	const char	*protocol;	/* "https" (default) or "http" */
	const char	*user;
	const char	*password;
	const char	*authenticator;	/* "snowflake" (default), "snowflake_jwt" */
	/*
	 * PEM text or base64 DER/PEM, as dlt takes it; when given, the
	 * login is key-pair whatever authenticator says (as the connector)
	 */
	const char	*private_key;
	const char	*private_key_passphrase;
	const char	*database;
	const char	*schema;
	const char	*warehouse;
	const char	*role;
	/* dlt's session_timezone: the session's TIMEZONE (dlt: "UTC");
	 * NULL keeps the account's */
	const char	*timezone;
};

struct sf_session;

/*
 * One positional bind (:1, :2 ... or ?) in Snowflake's wire type
 * ("FIXED", "REAL", "TEXT", "BOOLEAN", "DATE", "TIME",
 * "TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ", "BINARY"; "ANY" for
 * a null of no particular type, as the connector binds None) with its
 * values as the wire writes them (NULL: null), as the connector does:
 * FIXED and REAL decimal text ("-12.34", "1.5e-3"), TEXT as is, BOOLEAN
 * "true"/"false", DATE milliseconds since 1970-01-01, TIME nanoseconds
 * since midnight, TIMESTAMP_NTZ/_LTZ nanoseconds since the epoch,
 * TIMESTAMP_TZ "<nanoseconds since the epoch, UTC> <offset minutes +
 * 1440>", BINARY hex. nvalues 1 binds one value; more binds an array,
 * one row of a multi-row statement each (every array bind of a
 * statement has the same nvalues). Arrays go inline in the request:
 * batches are the caller's to bound (Snowflake's request limit).
 */
struct sf_bind {
	const char		*type;
	const char *const	*values;
	size_t			 nvalues;
};

/*
 * A statement's answer; rows in the JSON rowset form (arrow.h), the
 * result chunks' rows included.
 */
struct sf_result {
	cJSON		*rowtype;	/* data.rowtype: name, type, scale ... */
	cJSON		*rows;		/* array of arrays of string or null */
	long long	 changed;	/* rows inserted, updated or deleted
					   (a DML statement; else 0) */
	char		 query_id[64];
	/* The answer's data of a PUT or GET (stageInfo, src_locations,
	   encryptionMaterial: secrets, never to be logged), else NULL. */
	cJSON		*data;
};

/* Logs in; NULL with err (Snowflake's code and message) on failure. */
struct sf_session	*sf_open(const struct sf_conf *, char *err,
			    size_t errlen);

/*
 * Runs one statement with nbinds binds; res (may be NULL) gets its
 * answer, freed with sf_result_free (also after a failure). Retries a
 * dropped connection, 5xx and 429 with the same requestId, and renews
 * the session or logs in again when the server says it expired.
 * Returns 0 or -1 with err: "Snowflake error 002003 (42S02): ..." for
 * the server's own errors.
 */
int	sf_query(struct sf_session *, const char *sql,
	    const struct sf_bind *binds, size_t nbinds, struct sf_result *res,
	    char *err, size_t errlen);
void	sf_result_free(struct sf_result *);

/*
 * Tells the server the session is in use, as the connector's keep-alive
 * does (every hour by default): for a load that spends long between
 * statements. Renews the session when it expired. 0 or -1 with err.
 */
int	sf_heartbeat(struct sf_session *, char *err, size_t errlen);

/*
 * Tells the session a transaction is open (1, after BEGIN) or not (0,
 * once COMMIT answered, or before ROLLBACK). While one is open, a
 * session the server has lost (restarted: 390104 and kin) is not
 * replaced behind the caller's back: its transaction went with it, and
 * the statement would run, and commit on its own, in a new session.
 * sf_query fails instead, saying so. An expired token (390112) is still
 * renewed with the master token: the same session, its transaction
 * intact.
 */
void	sf_in_transaction(struct sf_session *, int open);

/* Deletes the session on the server (errors ignored) and frees it. */
void	sf_close(struct sf_session *);

#endif
