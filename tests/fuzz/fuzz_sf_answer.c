/*
 * fuzz_sf_answer.c: a Snowflake answer as the client reads it: its code
 * and error message (snowflake/login.h), and its data's rows
 * (snowflake/result.h: JSON rowset, Arrow rowsetBase64; chunks are
 * dropped, they would be downloaded).
 */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "tests/fuzz/fuzz.h"
#include "snowflake/login.h"
#include "snowflake/rest.h"
#include "snowflake/result.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sf_result	 res;
	struct sf_rest		 r;
	cJSON			*a = cJSON_ParseWithLength((const char *)data,
				    size), *d;
	char			 err[512], code[16];

	if (a == NULL)
		return 0;
	sf_answer_code(a, code);
	(void)sf_session_gone(code);
	sf_answer_error(a, err, sizeof(err));
	if ((d = cJSON_GetObjectItem(a, "data")) != NULL) {
		cJSON_DeleteItemFromObject(d, "chunks");
		sf_rest_init(&r, "http://127.0.0.1:9");
		(void)sf_result_read(&r, d, &res, err, sizeof(err));
		sf_result_free(&res);
		sf_rest_cleanup(&r);
	}
	cJSON_Delete(a);
	return 0;
}
