/*
 * shell_step.h: Prefect's run_shell_script step
 * (prefect/deployments/steps/utility.py), for pull steps.
 *
 * Each non-empty line of the script is one command, split like Python's
 * shlex.split and executed without a shell (or through /bin/sh -c when
 * shell is true), in directory, with the environment plus env. With
 * expand_env_vars, $VAR and ${VAR} are substituted first as
 * string.Template.safe_substitute does (unknown names stay). A command
 * that exits non-zero stops the script with Prefect's message
 * "`run_shell_script` failed with error code N: <stderr>".
 */
#ifndef DEPLOYMENTS_SHELL_STEP_H
#define DEPLOYMENTS_SHELL_STEP_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct redact;

/*
 * Runs the step with its templated inputs (script, directory, env,
 * stream_output, expand_env_vars, shell). With stream_output the
 * commands' output is also copied to this process's stdout and stderr,
 * a line at a time. secrets (may be NULL) are masked in that copy, in
 * the outputs and in err. Returns 0 and a new {"stdout": ...,
 * "stderr": ...} (whitespace stripped) in *outputs, or -1 with err.
 */
int	shell_step_run(const cJSON *inputs, struct redact *secrets,
	    cJSON **outputs, char *err, size_t errlen);

/*
 * shlex.split in POSIX mode: the words of line as a NULL-terminated
 * array (caller frees with shell_words_free), or NULL with err on an
 * unbalanced quote or trailing escape.
 */
char	**shell_split(const char *line, char *err, size_t errlen);
void	  shell_words_free(char **words);

/* string.Template(text).safe_substitute(env object); caller frees. */
char	 *shell_expand(const char *text, const cJSON *env);

#endif
