/*
 * credentials.h: AWS credentials and region, found where the AWS SDKs
 * look (botocore's default chain, minus SSO, assume-role and IMDS):
 *
 *   1. the configured keys (dlt's AwsCredentials fields), when both the
 *      access key id and the secret access key are given
 *   2. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *      AWS_SESSION_TOKEN (skipped when a profile is configured
 *      explicitly, as botocore does)
 *   3. the shared credentials file ($AWS_SHARED_CREDENTIALS_FILE or
 *      ~/.aws/credentials), profile: configured, $AWS_PROFILE, "default"
 *   4. the config file ($AWS_CONFIG_FILE or ~/.aws/config), same profile
 *   5. the ECS container endpoint: http://169.254.170.2 +
 *      $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or
 *      $AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback
 *      or ECS/EKS address) with $AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 *      or $AWS_CONTAINER_AUTHORIZATION_TOKEN; answer
 *      {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
 *
 * Messages name places, never key material.
 */
#ifndef AWS_CREDENTIALS_H
#define AWS_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

struct aws_creds {
	char	*access_key;
	char	*secret_key;
	char	*session_token;	/* NULL if none */
	time_t	 expiration;	/* 0: does not expire */
	char	 source[160];	/* where they came from, for messages */
};

/* Settings from configuration; any may be NULL. */
struct aws_creds_config {
	const char	*access_key;
	const char	*secret_key;
	const char	*session_token;
	const char	*profile;
};

/*
 * Walks the chain. Returns 0 with *out filled, 1 when no place had
 * credentials (err lists the places tried), -1 on an error (partial
 * environment keys, an incomplete profile, a failing container
 * endpoint: err says which). Blocks on the container endpoint only.
 */
int	 aws_creds_resolve(const struct aws_creds_config *,
	    struct aws_creds *out, char *err, size_t errlen);
void	 aws_creds_cleanup(struct aws_creds *);
/* Expired or expiring within five minutes of now. */
int	 aws_creds_stale(const struct aws_creds *, time_t now);

/*
 * Region: the configured one, else $AWS_REGION, $AWS_DEFAULT_REGION,
 * the profile's "region" in the config file; NULL if none (caller
 * frees).
 */
char	*aws_region_resolve(const char *configured, const char *profile);

/* The parts, for tests and fuzzing. */

/* Parses the container endpoint's JSON answer. 0, or -1 with err. */
int	 aws_creds_parse_container(const char *body, size_t len,
	    struct aws_creds *out, char *err, size_t errlen);
/*
 * Reads key in [section] of INI text (configparser style: '#' and ';'
 * comment lines, "key = value", keys lower-cased). NULL if absent.
 */
char	*aws_ini_get(const char *text, const char *section, const char *key);
/*
 * The container endpoint from the environment: 0 with *url and
 * *authorization (NULL if no token) set, 1 when not configured, -1 when
 * refused (err says why). Caller frees.
 */
int	 aws_container_endpoint(char **url, char **authorization, char *err,
	    size_t errlen);
/* Parses "2026-11-21T12:00:00Z" (fractions and offsets accepted). */
int	 aws_parse_time(const char *, time_t *out);

#endif
