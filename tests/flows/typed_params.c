/*
 * typed_params.c: a test flow with one parameter of each type and a
 * required one (tests/flows/typed_params.c:typed_params). It logs what
 * it was given, after a first line that shows its body ran at all.
 */
#include <pf/flow.h>

static const pf_param_def params[] = {
	PF_PARAM_STRING("name", "world", "A string"),
	PF_PARAM_INT("count", 3, "An integer"),
	PF_PARAM_NUMBER("ratio", 0.5, "A number"),
	PF_PARAM_BOOL("verbose", 0, "A boolean"),
	/* No macro for objects and arrays: the default is JSON text. */
	PF_PARAM_DEF_INIT(.name = "options", .type = PF_PARAM_TYPE_OBJECT,
	    .default_json = "{\"depth\": 1}", .description = "An object"),
	PF_PARAM_DEF_INIT(.name = "tags", .type = PF_PARAM_TYPE_ARRAY,
	    .default_json = "[\"a\", \"b\"]", .description = "An array"),
	PF_PARAM_REQUIRED("path", PF_PARAM_TYPE_STRING, "A required string"),
	PF_PARAM_END
};

static int
typed_params(pf_run *run)
{
	pf_log_info(run, "typed_params body started");
	pf_log_info(run, "name=%s count=%lld ratio=%g verbose=%s "
	    "options=%s tags=%s path=%s", pf_param_string(run, "name"),
	    pf_param_int(run, "count"), pf_param_number(run, "ratio"),
	    pf_param_bool(run, "verbose") ? "true" : "false",
	    pf_param_json(run, "options"), pf_param_json(run, "tags"),
	    pf_param_string(run, "path"));
	return PF_OK;
}

PF_FLOW(typed_params, .description = "Logs its typed parameters.",
	.params = params);
