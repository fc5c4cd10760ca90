/*
 * snowflake/login.h: a session's state, and what session.c does for
 * query.c: logging in, bringing back an expired session, and turning
 * Snowflake's error answers into messages.
 */
#ifndef SNOWFLAKE_LOGIN_H
#define SNOWFLAKE_LOGIN_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "snowflake/rest.h"

struct sf_session {
	struct sf_rest	 rest;
	char		*host;		/* host[:port]: messages */
	char		*account;	/* ACCOUNT_NAME */
	char		*user;
	char		*password;	/* secret; NULL: key pair */
	EVP_PKEY	*key;		/* key-pair login, else NULL */
	char		*database, *schema, *warehouse, *role, *timezone;
	char		*token;		/* session token: secret */
	char		*master_token;	/* renews token: secret */
	long long	 sequence;	/* the last statement's */
	int		 in_transaction; /* no new session while set */
};

/* Logs in (again), replacing the tokens. 0 or -1 with err. */
int	sf_login(struct sf_session *, char *err, size_t errlen);

/* The answer's code, as a string ("390112"), or "" when it has none. */
const char *sf_answer_code(const cJSON *answer, char buf[16]);

/*
 * 1 when code says the session token is no good any more (390112
 * expired and its kin): the caller revives the session and asks again.
 */
int	sf_session_gone(const char *code);

/*
 * Brings back a session the server turned away with code: renews it
 * with the master token (/session/token-request), as the connector
 * does, and when that cannot be done logs in again. 0 or -1 with err.
 */
int	sf_session_revive(struct sf_session *, const char *code, char *err,
	    size_t errlen);

/*
 * "Snowflake error 390100: Incorrect username or password was
 * specified." or "Snowflake error 002003 (42S02): ... (query ID)" from
 * an answer whose success is false. Returns -1.
 */
int	sf_answer_error(const cJSON *answer, char *err, size_t errlen);

#endif
