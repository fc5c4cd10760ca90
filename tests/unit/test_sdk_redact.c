/*
 * test_sdk_redact.c: masking secret values (common/redact.c): every
 * occurrence, longest first, short values left alone, JSON spellings
 * (cJSON's and Python's json.dumps) of the same value.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/redact.h"
#include "t.h"

static char *
masked(struct redact *r, const char *text)
{
	static char	 out[1024];
	char		*s = redact_text(r, text);

	snprintf(out, sizeof(out), "%s", s ? s : "(null)");
	free(s);
	return out;
}

static void *
adder(void *arg)
{
	char	v[32];

	for (int i = 0; i < 200; i++) {
		snprintf(v, sizeof(v), "secret-%03d", i);
		redact_add(arg, v);
	}
	return NULL;
}

int
main(void)
{
	struct redact	*r;

	TEST("nothing known: text unchanged; NULL stays NULL") {
		r = redact_new();
		CHECK_STR(masked(r, "a b c"), "a b c");
		CHECK(redact_text(r, NULL) == NULL);
		redact_free(r);
	}
	TEST("every occurrence, longest value first") {
		r = redact_new();
		redact_add(r, "hunter2");
		redact_add(r, "hunter2-long");
		CHECK_STR(masked(r, "hunter2-long/hunter2hunter2 x"),
		    "****/******** x");
		CHECK_STR(masked(r, ""), "");
		CHECK_STR(masked(r, "hunter"), "hunter");
		redact_free(r);
	}
	TEST("values shorter than REDACT_MIN_LEN are not masked") {
		r = redact_new();
		redact_add(r, "a");
		redact_add(r, "abc");
		redact_add(r, "");
		CHECK(redact_count(r) == 0);
		CHECK_STR(masked(r, "a cab abc"), "a cab abc");
		redact_add(r, "abcd");
		CHECK_STR(masked(r, "xabcdx"), "x****x");
		redact_free(r);
	}
	TEST("each value once, however often it is added") {
		r = redact_new();
		redact_add(r, "same-value");
		redact_add(r, "same-value");
		CHECK(redact_count(r) == 1);
		redact_free(r);
	}
	TEST("as JSON spells it inside a string, cJSON's and Python's") {
		r = redact_new();
		redact_add(r, "pa\"ss\\wörd");
		CHECK_STR(masked(r, "{\"pw\": \"pa\\\"ss\\\\wörd\"}"),
		    "{\"pw\": \"****\"}");
		CHECK_STR(masked(r, "{\"pw\": \"pa\\\"ss\\\\w\\u00f6rd\"}"),
		    "{\"pw\": \"****\"}");
		CHECK_STR(masked(r, "raw pa\"ss\\wörd"), "raw ****");
		redact_free(r);
		r = redact_new();
		redact_add(r, "tea\xf0\x9f\x8d\xb5");	/* U+1F375 */
		CHECK_STR(masked(r, "\"tea\\ud83c\\udf75\""), "\"****\"");
		redact_free(r);
	}
	TEST("values added from other threads while masking") {
		pthread_t	t;

		r = redact_new();
		pthread_create(&t, NULL, adder, r);
		for (int i = 0; i < 200; i++)
			free(redact_text(r, "secret-100 and secret-199"));
		pthread_join(t, NULL);
		CHECK_STR(masked(r, "secret-100 and secret-199"),
		    "**** and ****");
		redact_free(r);
	}
	return t_done();
}
