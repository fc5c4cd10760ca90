/*
 * snowflake/jwt.h: key-pair authentication (authenticator
 * "snowflake_jwt"): the RS256 JWT the Python connector signs for a
 * login, from a private key in the forms dlt accepts.
 */
#ifndef SNOWFLAKE_JWT_H
#define SNOWFLAKE_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* The connector's default JWT lifetime (JWT_LIFETIME_IN_SECONDS). */
#define SF_JWT_LIFETIME		60
/* "SHA256:" and the base64 of a SHA-256, with its NUL. */
#define SF_FINGERPRINT_MAX	52

/*
 * Loads an RSA private key: PEM text (PKCS#8, encrypted with the
 * passphrase or not, or PKCS#1), or the base64 of a DER or PEM key, as
 * dlt's decode_private_key reads them. NULL with err (never holding the
 * key or the passphrase) when it cannot. EVP_PKEY_free it.
 */
EVP_PKEY	*sf_key_load(const char *text, const char *passphrase,
		    char *err, size_t errlen);

/* "SHA256:<base64 of the SHA-256 of the DER SubjectPublicKeyInfo>". */
int	 sf_key_fingerprint(EVP_PKEY *, char out[SF_FINGERPRINT_MAX]);

/*
 * The login JWT: header {"alg":"RS256","typ":"JWT"}, claims iss =
 * ACCOUNT.USER.<fingerprint>, sub = ACCOUNT.USER, iat = now, exp = now
 * + lifetime (seconds since the epoch); ACCOUNT as sf_jwt_account
 * makes it, USER upper-cased. Caller frees; NULL with err.
 */
char	*sf_jwt(EVP_PKEY *, const char *account, const char *user,
	    int64_t now, int lifetime, char *err, size_t errlen);

#endif
