/*
 * s3_client.c: drives aws/s3.h for the integration tests (test_lake.py):
 *
 *   s3_client put-file FILE BUCKET KEY [PART_SIZE]
 *
 * with the endpoint in S3_ENDPOINT and the credentials and region from
 * the default AWS chain (AWS_ACCESS_KEY_ID, ...). Prints one JSON line,
 * {"ok": true, "multipart": n, "retries": n} or {"ok": false,
 * "error": "..."}, and exits 0 or 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "aws/credentials.h"
#include "aws/s3.h"

static int
answer(int ok, const char *error, const struct s3_client *c)
{
	cJSON	*a = cJSON_CreateObject();
	char	*text;

	cJSON_AddBoolToObject(a, "ok", ok);
	if (error != NULL)
		cJSON_AddStringToObject(a, "error", error);
	if (c != NULL) {
		cJSON_AddNumberToObject(a, "multipart", c->multipart_uploads);
		cJSON_AddNumberToObject(a, "retries", c->retries);
	}
	text = cJSON_PrintUnformatted(a);
	printf("%s\n", text);
	free(text);
	cJSON_Delete(a);
	return ok ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct aws_creds	 cr;
	struct s3_client	 c;
	char			 err[1024], *region;
	int			 rc;

	if (argc < 5 || strcmp(argv[1], "put-file") != 0) {
		fprintf(stderr, "usage: s3_client put-file FILE BUCKET KEY "
		    "[PART_SIZE]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (aws_creds_resolve(&(struct aws_creds_config){ 0 }, &cr, err,
	    sizeof(err)) != 0)
		return answer(0, err, NULL);
	region = aws_region_resolve(NULL, NULL);
	s3_client_init(&c, getenv("S3_ENDPOINT"), region, &cr);
	free(region);
	if (argc > 5)
		c.part_size = (size_t)strtoull(argv[5], NULL, 10);
	rc = s3_put_file(&c, argv[3], argv[4], argv[2], err, sizeof(err));
	rc = answer(rc == 0, rc == 0 ? NULL : err, &c);
	s3_client_cleanup(&c);
	aws_creds_cleanup(&cr);
	curl_global_cleanup();
	return rc;
}
