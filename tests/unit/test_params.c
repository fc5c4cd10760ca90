/* test_params.c: validating a run's parameters against a declaration. */
#include <string.h>

#include "sdk/run.h"
#include "t.h"

static const pf_param_def params[] = {
	PF_PARAM_STRING("name", "world", "who"),
	PF_PARAM_INT("n", 3, "how many"),
	PF_PARAM_BOOL("loud", 0, "shout"),
	PF_PARAM_REQUIRED("path", PF_PARAM_TYPE_STRING, "where"),
	PF_PARAM_END
};
static const pf_flow_def def = { .abi = PF_ABI_VERSION, .params = params };

static cJSON *
prepare(const char *given, char *err, size_t n)
{
	cJSON	*g = cJSON_Parse(given), *out;

	out = sdk_params_prepare(&def, g, err, n);
	cJSON_Delete(g);
	return out;
}

int
main(void)
{
	char	 err[300];
	cJSON	*p;

	TEST("defaults fill what was not given") {
		p = prepare("{\"path\":\"/tmp/x\"}", err, sizeof(err));
		CHECK(p != NULL);
		CHECK_STR(cJSON_GetObjectItem(p, "name")->valuestring, "world");
		CHECK(cJSON_GetObjectItem(p, "n")->valuedouble == 3);
		CHECK(cJSON_IsFalse(cJSON_GetObjectItem(p, "loud")));
		cJSON_Delete(p);
	}
	TEST("lax coercion of numeric strings, as pydantic") {
		p = prepare("{\"path\":\"x\",\"n\":\"7\",\"loud\":\"true\"}",
		    err, sizeof(err));
		CHECK(p != NULL && cJSON_GetObjectItem(p, "n")->valuedouble == 7);
		CHECK(p != NULL && cJSON_IsTrue(cJSON_GetObjectItem(p, "loud")));
		cJSON_Delete(p);
	}
	TEST("every problem is named at once") {
		p = prepare("{\"n\":1.5,\"extra\":1}", err, sizeof(err));
		CHECK(p == NULL);
		CHECK(strstr(err, "unexpected parameter 'extra'") != NULL);
		CHECK(strstr(err, "parameter 'n' must be an integer") != NULL);
		CHECK(strstr(err, "missing required parameter 'path'") != NULL);
	}
	TEST("the schema lists types, defaults and required names") {
		cJSON	*s = sdk_params_schema(&def), *props;

		props = cJSON_GetObjectItem(s, "properties");
		CHECK_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "n"),
		    "type")->valuestring, "integer");
		CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(props, "n"),
		    "default")->valuedouble == 3);
		CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(s,
		    "required")) == 1);
		cJSON_Delete(s);
	}
	return t_done();
}
