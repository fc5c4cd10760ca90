/* fuzz_s3_xml.c: S3's XML answers (ListObjectsV2, errors, uploads). */
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "aws/s3.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	**keys = NULL, *token = NULL, *t;
	size_t	  n = 0, at = 0;

	s3_parse_list((const char *)data, size, &keys, &n, &token);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(token);
	while ((t = s3_xml_text((const char *)data, size, "Code",
	    &at)) != NULL)
		free(t);
	return 0;
}
