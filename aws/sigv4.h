/*
 * sigv4.h: AWS Signature Version 4 request signing.
 *
 * Builds the canonical request, the string to sign and the HMAC-SHA256
 * signature for one HTTP request, either as an Authorization header
 * (sigv4_sign) or as presigned query parameters (sigv4_presign). It does
 * no I/O and keeps no state; every output string is malloc'd and handed
 * to the caller. Checked against the aws-c-auth v4 signing test suite.
 */
#ifndef AWS_SIGV4_H
#define AWS_SIGV4_H

#include <stddef.h>
#include <time.h>

struct sigv4_creds {
	const char	*access_key;
	const char	*secret_key;
	const char	*session_token;	/* NULL if none */
};

/* Names are lowercased; values trimmed, inner blanks collapsed. */
struct sigv4_header {
	const char	*name;
	const char	*value;
};

/*
 * path is the path exactly as it goes on the wire (percent-encoded or
 * not, without '?'); query is the raw query string without '?', or NULL.
 * Query keys and values are percent-decoded, then re-encoded, so both
 * "a%20b" and "a b" sign as "a%20b"; '+' is a literal plus. Every header
 * given is signed and must also be sent; host is required. Names must
 * be printable ASCII without blanks or ':'; values must not hold CR/LF.
 */
struct sigv4_request {
	const char	*method;	/* "GET" */
	const char	*path;		/* "/" if NULL or "" */
	const char	*query;
	const struct sigv4_header *headers;
	size_t		 nheaders;
	const void	*body;
	size_t		 body_len;
	const char	*payload_hash;	/* NULL: hex sha256 of body */
};

/*
 * normalize_path = 1 (every service but s3): dot segments and duplicate
 * slashes are removed and the wire path is encoded again, so '%' signs
 * as "%25" (AWS "double encoding"). normalize_path = 0 (s3): the path is
 * signed as sent, encoding only bytes that are not unreserved, '/' or an
 * existing %XX escape (so it is encoded exactly once).
 *
 * Header signing adds x-amz-date, x-amz-security-token (if the creds have
 * a token) and, with sign_body_header, x-amz-content-sha256, unless the
 * request already has them; the caller sends those headers too, with
 * the values amz_date, session_token and the payload hash.
 */
struct sigv4_params {
	const char	*region;	/* "us-east-1" */
	const char	*service;	/* "s3", "secretsmanager" */
	const char	*amz_date;	/* "20150830T123600Z" */
	int		 normalize_path;
	int		 sign_body_header; /* x-amz-content-sha256 (s3) */
};

/*
 * Signs for an Authorization header. *out_authorization gets the header
 * value; out_canonical_request and out_string_to_sign may be NULL, else
 * they get copies for tests and debugging. Every out string is malloc'd
 * (caller frees). Returns 0, or -1 with err filled and outs set to NULL.
 */
int	sigv4_sign(const struct sigv4_request *, const struct sigv4_creds *,
	    const struct sigv4_params *, char **out_authorization,
	    char **out_canonical_request, char **out_string_to_sign,
	    char *err, size_t errlen);

/*
 * Signs in the query string, valid for expires seconds (1..604800).
 * *out_query gets the whole query string to send, without '?': the
 * request's parameters (canonically encoded), the X-Amz-* ones and
 * X-Amz-Signature. Only the given headers are signed; payload_hash is
 * usually "UNSIGNED-PAYLOAD" for s3. Same conventions as sigv4_sign.
 */
int	sigv4_presign(const struct sigv4_request *,
	    const struct sigv4_creds *, const struct sigv4_params *,
	    long expires, char **out_query,
	    char **out_canonical_request, char **out_string_to_sign,
	    char *err, size_t errlen);

/* Formats t (UTC) as YYYYMMDDTHHMMSSZ. Returns 0, or -1 if out of range. */
int	sigv4_amz_date(time_t t, char out[17]);
/* Lowercase hex SHA-256 of data. Returns 0, or -1 (out is then ""). */
int	sigv4_sha256_hex(const void *data, size_t len, char out[65]);
/*
 * Percent-encodes everything but A-Za-z0-9-_.~ (and '/' unless
 * encode_slash), upper-case hex. Returns 0, or -1 on ENOMEM.
 */
int	sigv4_uri_encode(const char *in, int encode_slash, char **out);

#endif
