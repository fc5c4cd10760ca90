/*
 * touch.c: a test flow whose side effect proves it ran: it appends its
 * flow-run id and a newline to the file named by parameter `path`.
 */
#include <stdio.h>
#include <string.h>

#include <pf/flow.h>

static const pf_param_def touch_params[] = {
	PF_PARAM_REQUIRED("path", PF_PARAM_TYPE_STRING, "File to append to"),
	PF_PARAM_END
};

static int
touch(pf_run *run)
{
	const char	*path = pf_param_string(run, "path");
	char		 line[64];
	FILE		*f;

	/* One write(2) per line under O_APPEND: concurrent runs don't mix. */
	snprintf(line, sizeof(line), "%s\n", pf_run_id(run));
	if ((f = fopen(path, "a")) == NULL)
		return pf_fail(run, "cannot open %s", path);
	setvbuf(f, NULL, _IONBF, 0);
	fwrite(line, 1, strlen(line), f);
	fclose(f);
	return PF_OK;
}

PF_FLOW(touch, .description = "Appends the run id to a file.",
	.params = touch_params);
