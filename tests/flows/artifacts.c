/*
 * artifacts.c: a test flow publishing a markdown artifact, a table of
 * rows, a table of columns and, from a task, a markdown note
 * (tests/flows/artifacts.c:artifacts), and checking that a bad key and
 * a bad table are refused. The texts are parameters so a test can give
 * a Python flow the very same ones.
 */
#include <pf/flow.h>

#include <stdio.h>

static const pf_param_def params[] = {
	PF_PARAM_STRING("key_prefix", "pf", "Prefix of the artifact keys"),
	PF_PARAM_STRING("markdown", "# Report\\n\\nAll *good*.",
	    "The markdown artifact"),
	PF_PARAM_STRING("rows", "", "A table as a list of rows (JSON text)"),
	PF_PARAM_STRING("columns", "", "A table as columns (JSON text)"),
	PF_PARAM_NUMBER("delay", 0, "Seconds to wait before publishing"),
	PF_PARAM_END
};

static const char default_rows[] =
    "[{\"name\": \"caf\xc3\xa9\", \"n\": 1, \"ratio\": 0.5},"
    " {\"name\": \"tea\", \"n\": 2, \"ratio\": null}]";
static const char default_columns[] = "{\"day\": [\"mon\", \"tue\"], "
    "\"rows\": [10, 12]}";

PF_TASK(make_note);

/* Inside a task: the artifact is linked to the task run as well. */
static int
make_note_fn(pf_run *run, void *arg)
{
	return pf_artifact_markdown(run, arg, "Made in a task.",
	    "A task's note");
}

static const char *
text(pf_run *run, const char *name, const char *dflt)
{
	const char	*s = pf_param_string(run, name);

	return s != NULL && *s != '\0' ? s : dflt;
}

static int
artifacts(pf_run *run)
{
	const char	*prefix = pf_param_string(run, "key_prefix");
	char		 report[128], rows[128], note[128];

	if (pf_sleep(run, pf_param_number(run, "delay")) != PF_OK)
		return pf_fail(run, "stopped while waiting");
	snprintf(report, sizeof(report), "%s-report", prefix);
	snprintf(rows, sizeof(rows), "%s-rows", prefix);
	snprintf(note, sizeof(note), "%s-note", prefix);
	if (pf_artifact_markdown(run, report, pf_param_string(run,
	    "markdown"), "Report of the run") != PF_OK)
		return pf_fail(run, "the markdown artifact was refused");
	if (pf_artifact_table(run, rows, text(run, "rows", default_rows),
	    "Rows of the run") != PF_OK)
		return pf_fail(run, "the table of rows was refused");
	/* No key and no description: both are null, as in Python. */
	if (pf_artifact_table(run, NULL, text(run, "columns",
	    default_columns), NULL) != PF_OK)
		return pf_fail(run, "the table of columns was refused");
	if (pf_task_ok(pf_task_run(run, &make_note, make_note_fn, note,
	    NULL)) != PF_OK)
		return pf_fail(run, "the task's artifact was refused");
	if (pf_artifact_markdown(run, "Bad_Key", "x", NULL) != PF_ERROR)
		return pf_fail(run, "a bad key was accepted");
	if (pf_artifact_table(run, "bad-table", "[1, 2]", NULL) != PF_ERROR)
		return pf_fail(run, "a bad table was accepted");
	pf_log_info(run, "artifacts published");
	return PF_OK;
}

PF_FLOW(artifacts, .description = "Publishes artifacts.",
	.params = params);
