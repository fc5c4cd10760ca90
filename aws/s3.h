/*
 * s3.h: the few S3 calls a data lake needs, signed with SigV4
 * (aws/sigv4.h), path-style (endpoint/bucket/key), through libcurl.
 *
 * Every upload carries Content-MD5 (S3 refuses a body that does not
 * match it) and an x-amz-content-sha256 of its bytes. A file larger
 * than the part size goes up as a multipart upload whose parts are
 * each checked the same way; on any failure the upload is aborted, so
 * an object is either wholly there or not at all. Transport errors,
 * 500, 502, 503 (SlowDown included), 504 and 429 are retried with capped
 * exponential backoff, each attempt signed anew. Messages name the
 * operation, the s3 URL and S3's error code, never credentials.
 */
#ifndef AWS_S3_H
#define AWS_S3_H

#include <stddef.h>

#include "aws/credentials.h"

struct s3_client {
	char			*endpoint;	/* "http://127.0.0.1:5000" */
	char			*region;
	const struct aws_creds	*creds;		/* borrowed */
	long			 timeout_ms;	/* per exchange; 0: 60 s */
	int			 attempts;	/* 0: 8 */
	size_t			 part_size;	/* 0: 8 MiB (>= 5 MiB) */
	/* Counters, for logs and tests. */
	unsigned		 retries, multipart_uploads;
};

/*
 * Sets endpoint (NULL: https://s3.<region>.amazonaws.com) and region
 * (NULL: us-east-1); creds is borrowed for the client's life.
 */
void	s3_client_init(struct s3_client *, const char *endpoint,
	    const char *region, const struct aws_creds *creds);
void	s3_client_cleanup(struct s3_client *);

/*
 * Splits "s3:" "//bucket/prefix/" into bucket and prefix ("" or
 * without the trailing slash). -1 when it is not such a URL. Caller
 * frees.
 */
int	s3_parse_url(const char *url, char **bucket, char **prefix);

int	s3_put(struct s3_client *, const char *bucket, const char *key,
	    const void *data, size_t len, char *err, size_t errlen);
/* A local file: one PUT, or multipart when larger than part_size. */
int	s3_put_file(struct s3_client *, const char *bucket, const char *key,
	    const char *path, char *err, size_t errlen);
/* 0 with *data (NUL-terminated, caller frees), 1 when there is no such
   key, -1 with err. */
int	s3_get(struct s3_client *, const char *bucket, const char *key,
	    char **data, size_t *len, char *err, size_t errlen);
/* Every key under prefix (all pages), NULL-terminated, caller frees
   each and the array. */
int	s3_list(struct s3_client *, const char *bucket, const char *prefix,
	    char ***keys, size_t *n, char *err, size_t errlen);
/* DeleteObjects, 1000 keys a request; a key S3 could not delete is an
   error naming it. */
int	s3_delete(struct s3_client *, const char *bucket,
	    const char *const *keys, size_t n, char *err, size_t errlen);

/* Parsers of S3's XML answers, for tests and fuzzing. */

/* The text of the first <tag>...</tag> with XML entities decoded, or
   NULL. from is advanced past it when not NULL. */
char	*s3_xml_text(const char *xml, size_t len, const char *tag,
	    size_t *from);
/* ListObjectsV2: the keys appended to *keys and *n, *token gets
   NextContinuationToken when IsTruncated is true, else NULL. */
int	s3_parse_list(const char *xml, size_t len, char ***keys, size_t *n,
	    char **token);

#endif
