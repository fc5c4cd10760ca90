/* run_shell_script: shlex splitting, safe_substitute, outputs, errors. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/redact.h"
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
run_masked(const char *json, struct redact *secrets, int *rc, char *err,
    size_t errlen)
{
	cJSON	*in = cJSON_Parse(json), *out = NULL;

	*rc = shell_step_run(in, secrets, &out, err, errlen);
	cJSON_Delete(in);
	return out;
}

static cJSON *
run(const char *json, int *rc, char *err, size_t errlen)
{
	cJSON	*in = cJSON_Parse(json), *out = NULL;

	*rc = shell_step_run(in, NULL, &out, err, errlen);
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

/* What the step streams to our stdout and stderr, into a file. */
static char *
streamed(const char *json, struct redact *secrets, int *rc, cJSON **out,
    char *err, size_t errlen)
{
	char	 path[] = "/tmp/pf-shell-stream-XXXXXX", *text;
	int	 fd = mkstemp(path), saved[2] = { dup(1), dup(2) };
	FILE	*f;
	long	 n;

	fflush(stdout);
	fflush(stderr);
	dup2(fd, 1);
	dup2(fd, 2);
	*out = run_masked(json, secrets, rc, err, errlen);
	dup2(saved[0], 1);
	dup2(saved[1], 2);
	close(saved[0]);
	close(saved[1]);
	f = fdopen(fd, "r");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	if (fread(text, 1, (size_t)n, f) != (size_t)n)
		text[0] = '\0';
	fclose(f);
	unlink(path);
	return text;
}

static void
secrets_are_masked(void)
{
	struct redact	*secrets = redact_new();
	char		 err[512], *text;
	int		 rc;
	cJSON		*out;

	redact_add(secrets, "s3cr3t-value");
	text = streamed("{\"script\": \"echo token=s3cr3t-value\n"
	    "sh -c 'printf %s s3cr3t >&2; printf %s -value >&2'\", "
	    "\"stream_output\": true}", secrets, &rc, &out, err,
	    sizeof(err));
	CHECK(rc == 0);
	CHECK(strstr(text, "token=****") != NULL);
	CHECK(strstr(text, "s3cr3t") == NULL);	/* also across writes */
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "stdout")),
	    "token=****");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(out, "stderr")),
	    "****");
	cJSON_Delete(out);
	free(text);

	text = streamed("{\"script\": \"sh -c 'echo no s3cr3t-value >&2; "
	    "exit 4'\"}", secrets, &rc, &out, err, sizeof(err));
	CHECK(rc == -1);
	CHECK_STR(err, "`run_shell_script` failed with error code 4: no ****\n");
	CHECK_STR(text, "no ****\n");
	free(text);

	/* Without secrets the stream is the output as it is. */
	text = streamed("{\"script\": \"echo s3cr3t-value\"}", NULL, &rc,
	    &out, err, sizeof(err));
	CHECK_STR(text, "s3cr3t-value\n");
	cJSON_Delete(out);
	free(text);
	redact_free(secrets);
}

int
main(void)
{
	TEST("split like shlex") split_like_shlex();
	TEST("expand like safe substitute") expand_like_safe_substitute();
	TEST("outputs env directory") outputs_env_directory();
	TEST("errors name the cause") errors_name_the_cause();
	TEST("secrets are masked in the stream, outputs and errors")
		secrets_are_masked();
	return t_done();
}
