/*
 * test_params.c: validating a run's parameters against a declaration,
 * with the messages Prefect 3.8.8 (pydantic 2) gives for a Python flow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/run.h"
#include "t.h"

static const pf_param_def params[] = {
	PF_PARAM_STRING("name", "world", "who"),
	PF_PARAM_INT("n", 3, "how many"),
	PF_PARAM_BOOL("loud", 0, "shout"),
	PF_PARAM_NUMBER("ratio", 0.5, "a fraction"),
	PF_PARAM_DEF_INIT(.name = "opts", .type = PF_PARAM_TYPE_OBJECT,
	    .default_json = "{}", .description = "settings"),
	PF_PARAM_DEF_INIT(.name = "tags", .type = PF_PARAM_TYPE_ARRAY,
	    .default_json = "[]", .description = "labels"),
	PF_PARAM_DEF_INIT(.name = "maybe", .type = PF_PARAM_TYPE_STRING,
	    .default_json = "null", .description = "Optional[str]"),
	PF_PARAM_REQUIRED("path", PF_PARAM_TYPE_STRING, "where"),
	PF_PARAM_END
};
static const pf_flow_def def = PF_FLOW_DEF_INIT(.params = params);

static const char	*exc;
static char		 err[2048];

static cJSON *
prepare(const char *given)
{
	cJSON	*g = cJSON_Parse(given), *out;

	exc = NULL;
	err[0] = '\0';
	out = sdk_params_prepare(&def, g, &exc, err, sizeof(err));
	cJSON_Delete(g);
	return out;
}

/* The message pydantic gives for one value of one parameter, or "ok". */
static const char *
one(const char *name, const char *json)
{
	static char	 msg[2048];
	char		*given = NULL;
	cJSON		*p;
	const char	*line;

	if (asprintf(&given, "{\"path\": \"x\", \"%s\": %s}", name, json) ==
	    -1)
		return "oom";
	p = prepare(given);
	free(given);
	if (p != NULL) {
		cJSON_Delete(p);
		return "ok";
	}
	line = strstr(err, "\n - ");
	line = line ? strstr(line, ": ") : NULL;
	snprintf(msg, sizeof(msg), "%s", line ? line + 2 : err);
	return msg;
}

static double
num(const char *name, const char *json)
{
	char	*given = NULL;
	cJSON	*p;
	double	 d = -12345;

	if (asprintf(&given, "{\"path\": \"x\", \"%s\": %s}", name, json) ==
	    -1)
		return d;
	if ((p = prepare(given)) != NULL) {
		cJSON *v = cJSON_GetObjectItem(p, name);

		d = cJSON_IsBool(v) ? cJSON_IsTrue(v) : v->valuedouble;
	}
	cJSON_Delete(p);
	free(given);
	return d;
}

int
main(void)
{
	cJSON	*p;

	TEST("defaults fill what was not given") {
		p = prepare("{\"path\":\"/tmp/x\"}");
		CHECK(p != NULL);
		CHECK_STR(cJSON_GetObjectItem(p, "name")->valuestring, "world");
		CHECK(cJSON_GetObjectItem(p, "n")->valuedouble == 3);
		CHECK(cJSON_IsFalse(cJSON_GetObjectItem(p, "loud")));
		CHECK(cJSON_IsNull(cJSON_GetObjectItem(p, "maybe")));
		cJSON_Delete(p);
	}
	TEST("integers: pydantic's lax coercion") {
		CHECK(num("n", "\"7\"") == 7);
		CHECK(num("n", "\" +7 \"") == 7);
		CHECK(num("n", "\"7.00\"") == 7);
		CHECK(num("n", "\"1_000\"") == 1000);
		CHECK(num("n", "7.0") == 7);
		CHECK(num("n", "true") == 1);
		CHECK_STR(one("n", "\"abc\""), "Input should be a valid "
		    "integer, unable to parse string as an integer");
		CHECK_STR(one("n", "\"7.\""), "Input should be a valid "
		    "integer, unable to parse string as an integer");
		CHECK_STR(one("n", "\"1e3\""), "Input should be a valid "
		    "integer, unable to parse string as an integer");
		CHECK_STR(one("n", "\"1__0\""), "Input should be a valid "
		    "integer, unable to parse string as an integer");
		CHECK_STR(one("n", "2.5"), "Input should be a valid integer, "
		    "got a number with a fractional part");
		CHECK_STR(one("n", "1e20"), "Unable to parse input string as "
		    "an integer, exceeded maximum size");
		CHECK_STR(one("n", "null"), "Input should be a valid integer");
		CHECK_STR(one("n", "[1]"), "Input should be a valid integer");
	}
	TEST("numbers, booleans, strings, objects and lists") {
		CHECK(num("ratio", "\" 1_0.5\\n\"") == 10.5);
		CHECK(num("ratio", "\"1e3\"") == 1000);
		CHECK(num("ratio", "false") == 0);
		CHECK_STR(one("ratio", "\"0x10\""), "Input should be a valid "
		    "number, unable to parse string as a number");
		CHECK_STR(one("ratio", "{}"), "Input should be a valid number");
		CHECK(num("loud", "\"YES\"") == 1);
		CHECK(num("loud", "\"off\"") == 0);
		CHECK(num("loud", "1") == 1);
		CHECK_STR(one("loud", "\"maybe\""), "Input should be a valid "
		    "boolean, unable to interpret input");
		CHECK_STR(one("loud", "2"), "Input should be a valid boolean, "
		    "unable to interpret input");
		CHECK_STR(one("loud", "1.5"), "Input should be a valid "
		    "boolean");
		CHECK_STR(one("loud", "null"), "Input should be a valid "
		    "boolean");
		CHECK_STR(one("name", "5"), "Input should be a valid string");
		CHECK_STR(one("name", "null"), "Input should be a valid "
		    "string");
		CHECK_STR(one("maybe", "null"), "ok");
		CHECK_STR(one("opts", "[1]"), "Input should be a valid "
		    "dictionary");
		CHECK_STR(one("tags", "\"a\""), "Input should be a valid list");
	}
	TEST("every problem at once, in declaration order, as Prefect") {
		p = prepare("{\"n\":1.5,\"name\":null}");
		CHECK(p == NULL);
		CHECK_STR(exc, "ParameterTypeError");
		CHECK_STR(err, "Flow run received invalid parameters:\n"
		    " - name: Input should be a valid string\n"
		    " - n: Input should be a valid integer, got a number with "
		    "a fractional part\n"
		    " - path: Field required");
	}
	TEST("an undeclared name fails the whole call first") {
		p = prepare("{\"n\":\"x\",\"extra\":1,\"it's\":2}");
		CHECK(p == NULL);
		CHECK_STR(exc, "SignatureMismatchError");
		CHECK_STR(err, "Function expects parameters ['name', 'n', "
		    "'loud', 'ratio', 'opts', 'tags', 'maybe', 'path'] but was "
		    "provided with parameters ['n', 'extra', \"it's\"]");
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
