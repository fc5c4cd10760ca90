/*
 * shell_step.c: run_shell_script, one command per line, output captured
 * (and optionally streamed) through two pipes.
 */
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/redact.h"
#include "common/spawn.h"
#include "common/util.h"
#include "deployments/shell_step.h"
#include "deployments/template.h"

#define OUTPUT_MAX	(16u * 1024 * 1024)

void
shell_words_free(char **words)
{
	for (char **w = words; w && *w; w++)
		free(*w);
	free(words);
}

char **
shell_split(const char *line, char *err, size_t errlen)
{
	char		**words = xcalloc(1, sizeof(char *));
	size_t		  n = 0;
	struct buf	  word;
	int		  in_word = 0;
	const char	 *p = line;

	buf_init(&word, OUTPUT_MAX);
	for (;;) {
		char	c = *p;

		if (c == '\0' || isspace((unsigned char)c)) {
			if (in_word) {
				words = xrealloc(words, (n + 2) *
				    sizeof(char *));
				words[n++] = buf_steal(&word);
				words[n] = NULL;
				buf_init(&word, OUTPUT_MAX);
				in_word = 0;
			}
			if (c == '\0')
				break;
			p++;
			continue;
		}
		in_word = 1;
		if (c == '\\') {
			if (p[1] == '\0')
				goto no_escaped;
			(void)buf_append(&word, p + 1, 1);
			p += 2;
		} else if (c == '\'') {
			const char *end = strchr(p + 1, '\'');

			if (end == NULL)
				goto no_closing;
			(void)buf_append(&word, p + 1, (size_t)(end - p - 1));
			p = end + 1;
		} else if (c == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					goto no_closing;
				/* Inside "...", shlex lets \ escape only
				 * \ and " (unlike sh). */
				if (*p == '\\' && (p[1] == '\\' ||
				    p[1] == '"'))
					p++;
				(void)buf_append(&word, p, 1);
			}
			p++;
		} else {
			(void)buf_append(&word, p++, 1);
		}
		if (word.data == NULL)	/* "" is a word too */
			(void)buf_append(&word, "", 0);
	}
	buf_cleanup(&word);
	return words;
no_closing:
	errorf(err, errlen, "No closing quotation in '%s'", line);
	goto fail;
no_escaped:
	errorf(err, errlen, "No escaped character in '%s'", line);
fail:
	buf_cleanup(&word);
	shell_words_free(words);
	return NULL;
}

static size_t
ident_len(const char *s)
{
	size_t	n = 0;

	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

char *
shell_expand(const char *text, const cJSON *env)
{
	struct buf	 out;
	const char	*p = text;

	buf_init(&out, OUTPUT_MAX);
	while (*p) {
		const char	*name = NULL, *after = NULL, *val;
		size_t		 n = 0;
		char		*key;

		if (*p != '$') {
			(void)buf_append(&out, p++, 1);
			continue;
		}
		if (p[1] == '$') {
			(void)buf_append(&out, "$", 1);
			p += 2;
			continue;
		}
		if (p[1] == '{' && (n = ident_len(p + 2)) > 0 &&
		    p[2 + n] == '}') {
			name = p + 2;
			after = p + 3 + n;
		} else if ((n = ident_len(p + 1)) > 0) {
			name = p + 1;
			after = p + 1 + n;
		}
		val = NULL;
		if (name != NULL) {
			key = xasprintf("%.*s", (int)n, name);
			val = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(env, key));
			free(key);
		}
		if (val == NULL) {	/* safe_substitute keeps it */
			(void)buf_append(&out, p++, 1);
			continue;
		}
		(void)buf_append(&out, val, strlen(val));
		p = after;
	}
	return buf_steal(&out);
}

/* The environment as KEY=VALUE strings from an object (caller frees). */
static char **
env_array(const cJSON *env)
{
	const cJSON	 *e;
	char		**v = xcalloc((size_t)cJSON_GetArraySize(env) + 1,
	    sizeof(char *));
	size_t		  n = 0;

	cJSON_ArrayForEach(e, env)
		v[n++] = xasprintf("%s=%s", e->string, e->valuestring);
	return v;
}

/* Runs one command; returns its Python-style return code, or -1000
 * with err when it could not start. */
static int
run_command(char **argv, const char *dir, char **envp, int stream,
    struct redact *secrets, struct buf *out, struct buf *errb, char *err,
    size_t errlen)
{
	int	status, rc;

	if ((rc = spawn_capture(argv, dir, envp, out, errb, stream, secrets,
	    &status)) != 0) {
		if (dir != NULL && access(dir, X_OK) == -1)
			errorf(err, errlen, "run_shell_script: directory "
			    "'%s': %s", dir, strerror(errno));
		else
			errorf(err, errlen, "run_shell_script: cannot run "
			    "'%s': %s", argv[0], strerror(rc));
		return -1000;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static int
bool_input(const cJSON *inputs, const char *key, int def, int *out,
    char *err, size_t errlen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(inputs, key);

	*out = def;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return errorf(err, errlen, "run_shell_script: '%s' must be "
		    "true or false", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

static const char *const known_keys[] = { "script", "directory", "env",
    "stream_output", "expand_env_vars", "shell", NULL };

/* run_shell_script's inputs, checked (borrowed from the inputs object). */
struct shell_inputs {
	const char	*script, *dir;
	const cJSON	*extra;
	int		 stream, expand, use_shell;
};

/* Checks the inputs as Python would bind them to run_shell_script's
 * signature: no unknown keyword, a string script, typed options. */
static int
shell_inputs(const cJSON *inputs, struct shell_inputs *in, char *err,
    size_t errlen)
{
	const cJSON	*script = cJSON_GetObjectItemCaseSensitive(inputs,
	    "script"), *dirv = cJSON_GetObjectItemCaseSensitive(inputs,
	    "directory"), *k;

	in->dir = NULL;
	in->extra = cJSON_GetObjectItemCaseSensitive(inputs, "env");
	cJSON_ArrayForEach(k, inputs) {
		const char *const *kk;

		for (kk = known_keys; *kk && strcmp(*kk, k->string); kk++)
			;
		if (*kk == NULL)
			return errorf(err, errlen, "run_shell_script got an "
			    "unexpected keyword argument '%s'", k->string);
	}
	if (!cJSON_IsString(script))
		return errorf(err, errlen, "run_shell_script needs 'script' "
		    "(a string)");
	in->script = script->valuestring;
	if (dirv != NULL && !cJSON_IsNull(dirv)) {
		if (!cJSON_IsString(dirv))
			return errorf(err, errlen, "run_shell_script: "
			    "'directory' must be a string");
		in->dir = dirv->valuestring;
	}
	if (in->extra != NULL && !cJSON_IsNull(in->extra) &&
	    !cJSON_IsObject(in->extra))
		return errorf(err, errlen, "run_shell_script: 'env' must be a "
		    "mapping");
	if (bool_input(inputs, "stream_output", 1, &in->stream, err,
	    errlen) ||
	    bool_input(inputs, "expand_env_vars", 0, &in->expand, err,
	    errlen) ||
	    bool_input(inputs, "shell", 0, &in->use_shell, err, errlen))
		return -1;
	return 0;
}

/* The worker's environment with the step's 'env' over it, values made
 * strings as Python's str() would (caller deletes). */
static cJSON *
shell_env(const cJSON *extra)
{
	cJSON		*env = template_env_object(NULL);
	const cJSON	*e;

	cJSON_ArrayForEach(e, extra) {
		char *v = cJSON_IsString(e) ? xstrdup(e->valuestring) :
		    template_py_str(e);

		cJSON_DeleteItemFromObjectCaseSensitive(env, e->string);
		cJSON_AddStringToObject(env, e->string, v ? v : "");
		free(v);
	}
	return env;
}

/* The argv of one script line into *argv (caller frees), or NULL there
 * for a blank line; -1 with err when the line does not split. */
static int
line_argv(const char *line, const cJSON *env, const struct shell_inputs *in,
    char ***argv, char *err, size_t errlen)
{
	char	*cmd = in->expand ? shell_expand(line, env) : xstrdup(line);

	*argv = NULL;
	if (in->use_shell) {
		char *t = cmd + strspn(cmd, " \t\f\v");

		if (*t != '\0') {
			*argv = xcalloc(4, sizeof(char *));
			(*argv)[0] = xstrdup("/bin/sh");
			(*argv)[1] = xstrdup("-c");
			(*argv)[2] = xstrdup(t);
		}
	} else if ((*argv = shell_split(cmd, err, errlen)) == NULL) {
		free(cmd);
		return -1;
	} else if ((*argv)[0] == NULL) {
		shell_words_free(*argv);
		*argv = NULL;
	}
	free(cmd);
	return 0;
}

/* Runs the script's lines in order, stopping at the first failure. */
static int
run_lines(const struct shell_inputs *in, const cJSON *env, char **envp,
    struct redact *secrets, struct buf *out, struct buf *errb, char *err,
    size_t errlen)
{
	char	*lines = xstrdup(in->script), *line, *save = NULL;
	int	 rc = 0;

	/* splitlines(): \r\n, \n and \r all end a line. */
	for (line = strtok_r(lines, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		char	**argv;
		int	  code;

		if ((rc = line_argv(line, env, in, &argv, err, errlen)) != 0)
			break;
		if (argv == NULL)
			continue;
		code = run_command(argv, in->dir, envp, in->stream, secrets,
		    out, errb, err, errlen);
		shell_words_free(argv);
		if (code == -1000) {
			rc = -1;
			break;
		}
		if (code != 0) {
			char *s = redact_text(secrets, errb->data ?
			    errb->data : "");

			rc = errorf(err, errlen, "`run_shell_script` failed "
			    "with error code %d: %s", code, s);
			free(s);
			break;
		}
	}
	free(lines);
	return rc;
}

/* Sets key to the captured output, stripped as Python's str.strip(),
 * secrets masked. */
static void
add_stripped(cJSON *outputs, const char *key, const struct buf *b,
    struct redact *secrets)
{
	char	*m = redact_text(secrets, b->data ? b->data : "");
	char	*s = str_strip(m);

	cJSON_AddItemToObject(outputs, key, cJSON_CreateString(s));
	free(s);
	free(m);
}

int
shell_step_run(const cJSON *inputs, struct redact *secrets, cJSON **outputs,
    char *err, size_t errlen)
{
	struct shell_inputs	 in;
	cJSON			*env;
	char			**envp;
	struct buf		 out, errb;
	int			 rc;

	*outputs = NULL;
	if (shell_inputs(inputs, &in, err, errlen) != 0)
		return -1;
	env = shell_env(in.extra);
	envp = env_array(env);
	buf_init(&out, OUTPUT_MAX);
	buf_init(&errb, OUTPUT_MAX);
	rc = run_lines(&in, env, envp, secrets, &out, &errb, err, errlen);
	if (rc == 0) {
		*outputs = cJSON_CreateObject();
		add_stripped(*outputs, "stdout", &out, secrets);
		add_stripped(*outputs, "stderr", &errb, secrets);
	}
	shell_words_free(envp);
	cJSON_Delete(env);
	buf_cleanup(&out);
	buf_cleanup(&errb);
	return rc;
}
