/* test_entrypoint.c: entrypoint text -> module path and function. */
#include <string.h>

#include "sdk/module.h"
#include "t.h"

static int
parses(const char *text, const char *module, const char *fn)
{
	struct entrypoint	ep;
	char			err[300];
	int			ok;

	if (entrypoint_parse(text, &ep, err, sizeof(err)) == -1)
		return 0;
	ok = strcmp(ep.module, module) == 0 && strcmp(ep.function, fn) == 0;
	entrypoint_cleanup(&ep);
	return ok;
}

static int
rejects(const char *text, const char *needle)
{
	struct entrypoint	ep;
	char			err[300];

	if (entrypoint_parse(text, &ep, err, sizeof(err)) == 0) {
		entrypoint_cleanup(&ep);
		return 0;
	}
	return strstr(err, needle) != NULL;
}

static int
noop(pf_run *run)
{
	(void)run;
	return PF_OK;
}

int
main(void)
{
	TEST("a flow file maps to build/<dir>/<stem>.so") {
		CHECK(parses("flows/hello.c:hello", "build/flows/hello.so",
		    "hello"));
		CHECK(parses("tests/flows/fail.c:fail",
		    "build/tests/flows/fail.so", "fail"));
		CHECK(parses("x.c:_f1", "build/x.so", "_f1"));
	}
	TEST("errors name what is wrong") {
		CHECK(rejects("", "no entrypoint"));
		CHECK(rejects("flows/hello.c", "flows/<file>.c:<function>"));
		CHECK(rejects("flows/hello.py:hello", "relative path to a .c"));
		CHECK(rejects("/etc/x.c:f", "relative path"));
		CHECK(rejects("../x.c:f", "relative path"));
		CHECK(rejects("a/../../x.c:f", "relative path"));
		CHECK(rejects("flows/hello.c:1abc", "not a C function name"));
		CHECK(rejects("flows/hello.c:he-llo", "not a C function name"));
		CHECK(rejects("flows/hello.c:", "not a C function name"));
	}
	TEST("dots that are not a parent reference are fine") {
		CHECK(parses("a..b/x.c:f", "build/a..b/x.so", "f"));
		CHECK(parses("./x.c:f", "build/./x.so", "f"));
	}
	TEST("a declaration of another ABI or version is refused, clearly") {
		static const pf_param_def bare[] = {
			{ .name = "x" }, PF_PARAM_END
		};
		pf_flow_def	 def = PF_FLOW_DEF_INIT(.fn = NULL);
		char		 err[300];

		CHECK(sdk_flow_def_check(&def, err, sizeof(err)) == -1);
		CHECK_STR(err, "the flow declaration has no function");
		def.fn = noop;
		CHECK(sdk_flow_def_check(&def, err, sizeof(err)) == 0);
		def.params = bare;
		CHECK(sdk_flow_def_check(&def, err, sizeof(err)) == -1);
		CHECK_STR(err, "parameter 'x': pf_param_def has no version: "
		    "initialise it with PF_PARAM_DEF_INIT(...) (this pfagent "
		    "knows version 1)");
		def.params = NULL;
		def.abi = 1;
		CHECK(sdk_flow_def_check(&def, err, sizeof(err)) == -1);
		CHECK_STR(err, "the module was built for flow ABI 1, this "
		    "pfagent speaks flow ABI 2");
	}
	TEST("loading reports a missing module by name") {
		struct entrypoint	 ep;
		const pf_flow_def	*def;
		char			 err[300];

		CHECK(entrypoint_parse("flows/nope.c:nope", &ep, err,
		    sizeof(err)) == 0);
		CHECK(entrypoint_load(&ep, &def, err, sizeof(err)) == -1);
		CHECK(strstr(err, "build/flows/nope.so not found") != NULL);
		entrypoint_cleanup(&ep);
	}
	return t_done();
}
