/*
 * test_sdk_pyfmt.c: Python's text forms in Prefect's messages: repr() of
 * floats and strings, str() of states (common/pyfmt.c).
 */
#include <string.h>

#include "common/pyfmt.h"
#include "t.h"

static char *
pyfloat(double v)
{
	static char	out[64];

	sdk_pyfloat(out, sizeof(out), v);
	return out;
}

int
main(void)
{
	char	buf[256];

	TEST("floats read as Python's repr prints them") {
		CHECK_STR(pyfloat(1), "1.0");
		CHECK_STR(pyfloat(0.5), "0.5");
		CHECK_STR(pyfloat(0.1), "0.1");
		CHECK_STR(pyfloat(100), "100.0");
		CHECK_STR(pyfloat(2.25), "2.25");
		CHECK_STR(pyfloat(123456.0), "123456.0");
		CHECK_STR(pyfloat(0.0001), "0.0001");
		CHECK_STR(pyfloat(1e-05), "1e-05");
		CHECK_STR(pyfloat(1.5e-05), "1.5e-05");
		CHECK_STR(pyfloat(1e16), "1e+16");
		CHECK_STR(pyfloat(-3.5), "-3.5");
	}
	TEST("strings and states read as Python's repr and str") {
		sdk_pyrepr(buf, sizeof(buf), "no rows");
		CHECK_STR(buf, "'no rows'");
		sdk_pyrepr(buf, sizeof(buf), "it's");
		CHECK_STR(buf, "\"it's\"");
		sdk_pyrepr(buf, sizeof(buf), "a'b\"c\n");
		CHECK_STR(buf, "'a\\'b\"c\\n'");
		sdk_state_str(buf, sizeof(buf), "COMPLETED", "Completed", NULL);
		CHECK_STR(buf, "Completed()");
		sdk_state_str(buf, sizeof(buf), "FAILED", "Failed", "x");
		CHECK_STR(buf, "Failed('x')");
		sdk_state_str(buf, sizeof(buf), "FAILED", "TimedOut",
		    "Task run exceeded timeout of 1.0 second(s)");
		CHECK_STR(buf, "TimedOut('Task run exceeded timeout of 1.0 "
		    "second(s)', type=FAILED)");
		sdk_state_str(buf, sizeof(buf), "SCHEDULED", "AwaitingRetry",
		    "");
		CHECK_STR(buf, "AwaitingRetry(type=SCHEDULED)");
	}
	TEST("a result cut to the buffer is a prefix of the whole") {
		sdk_pyrepr(buf, 5, "abcdefgh");
		CHECK_STR(buf, "'abc");
		sdk_pyrepr(buf, 6, "a\nbcdef");
		CHECK_STR(buf, "'a\\nb");
		sdk_state_str(buf, 4, "FAILED", "Failed", "x");
		CHECK_STR(buf, "Fai");
		sdk_state_str(buf, 11, "FAILED", "TimedOut", "x");
		CHECK_STR(buf, "TimedOut('");
	}
	return t_done();
}
