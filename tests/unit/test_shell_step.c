/* run_shell_script: shlex splitting, safe_substitute, outputs, errors. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deployments/shell_step.h"
#include "t.h"

static char *
joined(const char *line)
{
	char	 err[256], **w = shell_split(line, err, sizeof(err)), *s;
	size_t	 n = 0;

	if (w == NULL)
		return strdup(err);
	s = calloc(1, 4096);
	for (char **p = w; *p; p++)
		n += (size_t)snprintf(s + n, 4096 - n, "[%s]", *p);
	shell_words_free(w);
	return s;
}

#define CHECK_SPLIT(line, want) do {			\
	char *got_ = joined(line);			\
	CHECK_STR(got_, want);				\
	free(got_);					\
} while (0)

static void
split_like_shlex(void)
{
	CHECK_SPLIT("echo hello world", "[echo][hello][world]");
	CHECK_SPLIT("  a   b  ", "[a][b]");
	CHECK_SPLIT("echo 'a b' \"c d\"", "[echo][a b][c d]");
	CHECK_SPLIT("echo \"\" ''", "[echo][][]");
	CHECK_SPLIT("a\\ b", "[a b]");
	CHECK_SPLIT("x\"y z\"w", "[xy zw]");
	CHECK_SPLIT("\"a\\\"b\\$c\\n\"", "[a\"b\\$c\\n]");
	CHECK_SPLIT("'a\\b'", "[a\\b]");
	CHECK_SPLIT("", "");
	CHECK_SPLIT("echo 'open", "No closing quotation in 'echo 'open'");
	CHECK_SPLIT("echo a\\", "No escaped character in 'echo a\\'");
}

static void
expand_like_safe_substitute(void)
{
	cJSON	*env = cJSON_Parse("{\"A\":\"1\",\"B_2\":\"two\"}");
	char	*s;

	s = shell_expand("$A ${B_2} $$A $MISSING ${A $ x$A.y", env);
	CHECK_STR(s, "1 two $A $MISSING ${A $ x1.y");
	free(s);
	cJSON_Delete(env);
}

static cJSON *
run(const char *json, int *rc, char *err, size_t errlen)
{
	cJSON	*in = cJSON_Parse(json), *out = NULL;

	*rc = shell_step_run(in, &out, err, errlen);
	cJSON_Delete(in);
	return out;
}

static void
outputs_env_directory(void)
{
	char	 err[512];
	int	 rc;
	cJSON	*out;

	out = run("{\"script\": \"echo one\\n\\nprintenv GREETING\\n"
	    "sh -c 'echo oops >&2'\\npwd\", \"env\": {\"GREETING\": \"hi\"},"
	    "\"directory\": \"/tmp\", \"stream_output\": false}", &rc, err,
	    sizeof(err));
	CHECK(rc == 0);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "stdout")),
	    "one\nhi\n/tmp");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "stderr")),
	    "oops");
	cJSON_Delete(out);

	/* No shell unless asked: the pipe is an argument. */
	out = run("{\"script\": \"echo a | tr a b\", \"stream_output\": "
	    "false}", &rc, err, sizeof(err));
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "stdout")),
	    "a | tr a b");
	cJSON_Delete(out);
	out = run("{\"script\": \"echo a | tr a b\", \"shell\": true, "
	    "\"stream_output\": false}", &rc, err, sizeof(err));
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "stdout")),
	    "b");
	cJSON_Delete(out);

	setenv("PF_SHELL_TEST", "from-env", 1);
	out = run("{\"script\": \"echo $PF_SHELL_TEST ${X}\", "
	    "\"expand_env_vars\": true, \"env\": {\"X\": 5}, "
	    "\"stream_output\": false}", &rc, err, sizeof(err));
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "stdout")),
	    "from-env 5");
	cJSON_Delete(out);
}

static void
errors_name_the_cause(void)
{
	char	 err[512];
	int	 rc;
	cJSON	*out;

	out = run("{\"script\": \"echo before\\nsh -c 'echo bad >&2; "
	    "exit 3'\\necho after\", \"stream_output\": false}", &rc, err,
	    sizeof(err));
	CHECK(rc == -1 && out == NULL);
	CHECK_STR(err, "`run_shell_script` failed with error code 3: bad\n");

	out = run("{\"script\": \"no-such-command-pf\"}", &rc, err,
	    sizeof(err));
	CHECK(rc == -1);
	CHECK(strstr(err, "cannot run 'no-such-command-pf'") != NULL);

	out = run("{\"script\": \"true\", \"directory\": \"/nonexistent\"}",
	    &rc, err, sizeof(err));
	CHECK(rc == -1);
	CHECK(strstr(err, "/nonexistent") != NULL);

	out = run("{\"script\": \"true\", \"bogus\": 1}", &rc, err,
	    sizeof(err));
	CHECK(rc == -1);
	CHECK_STR(err, "run_shell_script got an unexpected keyword argument "
	    "'bogus'");

	out = run("{}", &rc, err, sizeof(err));
	CHECK(rc == -1);
	CHECK(strstr(err, "'script'") != NULL);
}

int
main(void)
{
	TEST("split like shlex") split_like_shlex();
	TEST("expand like safe substitute") expand_like_safe_substitute();
	TEST("outputs env directory") outputs_env_directory();
	TEST("errors name the cause") errors_name_the_cause();
	return t_done();
}
