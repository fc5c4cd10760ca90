/* fuzz_shell_split.c: run_shell_script lines from a deployment (API). */
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "tests/fuzz/fuzz.h"
#include "deployments/shell_step.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 err[300], **words, *s = fuzz_cstr(data, size), *x;
	cJSON	*env;

	if (s == NULL)
		return 0;
	if ((words = shell_split(s, err, sizeof(err))) != NULL)
		shell_words_free(words);
	env = cJSON_Parse("{\"A\": \"1\", \"HOME\": \"/root\"}");
	x = shell_expand(s, env);
	free(x);
	cJSON_Delete(env);
	free(s);
	return 0;
}
