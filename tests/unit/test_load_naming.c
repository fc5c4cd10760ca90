/*
 * test_load_naming.c: dlt's snake_case naming (load/naming.c) and the
 * value coercions (load/coerce.c); expected values are dlt 1.31's own
 * (NamingConvention().normalize_path, detections.is_iso_timestamp).
 */
#include <stdlib.h>
#include <string.h>

#include "load/coerce.h"
#include "load/naming.h"
#include "t.h"

static const struct {
	const char	*in, *out;
} names[] = {
	{ "camelCase", "camel_case" },
	{ "HTTPServer", "http_server" },
	{ "ABCDef", "abc_def" },
	{ "aBC", "a_bc" },
	{ "a1B2C", "a1_b2_c" },
	{ "City Name", "city_name" },
	{ "weird-Key+Plus", "weird_keyx_plus" },
	{ "trailing_", "trailingx" },
	{ "trailing__", "trailing" },
	{ "2fast", "_2fast" },
	{ "__dunder__", "dunder" },
	{ "a___b", "a___b" },
	{ "  spaced  ", "spaced" },
	{ "\xc3\xa9moji\xe2\x98\x83x", "_moji_x" },
	{ "a|b@c*d", "albacxd" },
	{ "x__y", "x__y" },
	{ "getHTTPResponseCode", "get_http_response_code" },
	{ "\xc3\x9cmlaut", "_mlaut" },
	{ "_already_snake", "_already_snake" },
	{ "1", "_1" },
	{ "user@example.com", "useraexample_com" },
	{ "Ab", "ab" },
	{ "a b  c", "a_b_c" },
	{ "__x", "x" },
	{ "MixedCASEWord", "mixed_case_word" },
};

static char *
coerced(enum ld_type to, const char *json)
{
	struct jv_arena	 a = { 0 };
	struct buf	 b;
	char		 err[128], *out = NULL;
	struct jv	*v = jv_parse(&a, json, strlen(json), err, sizeof(err));

	buf_init(&b, 1 << 16);
	if (v != NULL && ld_coerce(&b, to, v) == 0)
		out = xstrdup(b.data != NULL ? b.data : "");
	buf_cleanup(&b);
	jv_arena_free(&a);
	return out;
}

int
main(void)
{
	TEST("snake_case names as dlt's normalize_path") {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char	*got = ld_normalize_path(names[i].in,
			    strlen(names[i].in), 0);

			CHECK_STR(got, names[i].out);
			free(got);
		}
	}

	TEST("blank names normalize to nothing") {
		CHECK(ld_normalize_identifier("   ", 3, 0) == NULL);
		char	*p = ld_normalize_path("__", 2, 0);
		CHECK_STR(p, "");
		free(p);
	}

	TEST("long names are shortened with dlt's tag") {
		char	*s = ld_normalize_path("a_very_long_identifier_name_here",
		    32, 20);
		CHECK_STR(s, "a_very_pd4xpqme_here");
		free(s);
	}

	TEST("ISO timestamps as dlt detects them") {
		long long us;

		CHECK(ld_parse_iso("2024-01-15T10:00:00Z", 20, &us) == 1);
		CHECK(us == 1705312800000000LL);
		CHECK(ld_parse_iso("2024-01-15 10:00:00", 19, &us) == 1);
		CHECK(ld_parse_iso("2024-01-15T10", 13, &us) == 1);
		CHECK(ld_parse_iso("20240115T100000", 15, &us) == 1);
		CHECK(ld_parse_iso("2024-01-15T10:00:00+0200", 24, &us) == 1);
		CHECK(us == 1705305600000000LL);
		CHECK(ld_parse_iso("2024-01-15", 10, &us) == 2);
		CHECK(ld_parse_iso("2024-13-01T00:00:00", 19, &us) == 0);
		CHECK(ld_parse_iso("2024-01-15T24:00:00", 19, &us) == 0);
		CHECK(ld_parse_iso("2024-01-15t10:00:00z", 20, &us) == 0);
		CHECK(ld_parse_iso("abc", 3, &us) == 0);
	}

	TEST("timestamps are written in UTC") {
		char	ts[64];

		ld_format_ts(ts, 1705312800500000LL);
		CHECK_STR(ts, "2024-01-15T10:00:00.500000+00:00");
		ld_format_ts(ts, -1000000LL);
		CHECK_STR(ts, "1969-12-31T23:59:59+00:00");
	}

	TEST("coercions as dlt's _COERCE_DISPATCH") {
		char	*s;

		CHECK_STR(s = coerced(LD_BIGINT, "\" 42 \""), "42"); free(s);
		CHECK_STR(s = coerced(LD_BIGINT, "\"0x1F\""), "31"); free(s);
		CHECK(coerced(LD_BIGINT, "\"4.5\"") == NULL);
		CHECK(coerced(LD_BIGINT, "1.5") == NULL);
		CHECK_STR(s = coerced(LD_BIGINT, "2.0"), "2"); free(s);
		CHECK(coerced(LD_BIGINT, "true") == NULL);
		CHECK_STR(s = coerced(LD_DOUBLE, "3"), "3"); free(s);
		CHECK_STR(s = coerced(LD_TEXT, "true"), "\"True\""); free(s);
		CHECK_STR(s = coerced(LD_TEXT, "0.1"), "\"0.1\""); free(s);
		CHECK_STR(s = coerced(LD_TEXT, "{\"a\": [1, 2]}"),
		    "\"{\\\"a\\\":[1,2]}\""); free(s);
		CHECK_STR(s = coerced(LD_BOOL, "\"Yes\""), "true"); free(s);
		CHECK_STR(s = coerced(LD_BOOL, "0"), "false"); free(s);
		CHECK(coerced(LD_BOOL, "\"maybe\"") == NULL);
		CHECK_STR(s = coerced(LD_TIMESTAMP, "1700000000"),
		    "\"2023-11-14T22:13:20+00:00\""); free(s);
		CHECK(coerced(LD_TIMESTAMP, "\"nope\"") == NULL);
		CHECK_STR(s = coerced(LD_JSON, "\"[1,2]\""), "[1,2]"); free(s);
		CHECK(coerced(LD_JSON, "\"not json\"") == NULL);
	}

	TEST("type inference") {
		struct jv_arena	a = { 0 };
		char		err[64];

		CHECK(ld_infer_type(jv_parse(&a, "\"2024-01-15T10:00:00\"", 21,
		    err, sizeof(err))) == LD_TIMESTAMP);
		CHECK(ld_infer_type(jv_parse(&a, "\"2024-01-15\"", 12, err,
		    sizeof(err))) == LD_TEXT);
		CHECK(ld_infer_type(jv_parse(&a, "1.0", 3, err, sizeof(err))) ==
		    LD_DOUBLE);
		CHECK(ld_infer_type(jv_parse(&a, "99999999999999999999", 20,
		    err, sizeof(err))) == LD_BIGINT);
		CHECK(ld_infer_type(jv_parse(&a, "[1]", 3, err, sizeof(err))) ==
		    LD_JSON);
		jv_arena_free(&a);
	}

	TEST("what dlt's extract refuses: surrogates, bad UTF-8, wide ints") {
		struct jv_arena	 a = { 0 };
		char		 err[128];
		struct jv	*v;

		CHECK(jv_parse(&a, "[\"a\\ud800\"]", 12, err, sizeof(err)) ==
		    NULL);
		CHECK_STR(err, "str is not valid UTF-8: surrogates not allowed "
		    "(at byte 3)");
		CHECK(jv_parse(&a, "\"\\udc00x\"", 9, err, sizeof(err)) ==
		    NULL);
		CHECK(strstr(err, "surrogates not allowed") != NULL);
		/* Encoded, not escaped: the same. */
		CHECK(jv_parse(&a, "{\"k\": \"\xed\xa0\x80\"}", 11, err,
		    sizeof(err)) == NULL);
		CHECK_STR(err, "str is not valid UTF-8: surrogates not allowed "
		    "(at byte 7)");
		CHECK(jv_parse(&a, "\"\xff\"", 3, err, sizeof(err)) == NULL);
		CHECK_STR(err, "str is not valid UTF-8: invalid byte sequence "
		    "(at byte 1)");
		CHECK(jv_parse(&a, "{\"\xc3\": 1}", 8, err, sizeof(err)) ==
		    NULL);
		/* A pair is one character; keys are checked as values are. */
		CHECK((v = jv_parse(&a, "\"\\ud83d\\ude00\xc3\xa9\"", 16,
		    err, sizeof(err))) != NULL && v->len == 6 &&
		    memcmp(v->s, "\xf0\x9f\x98\x80\xc3\xa9", 6) == 0);
		/* Integers: int64 as such; beyond it, text (extract refuses
		   them, dlt's "Integer exceeds 64-bit range"). */
		CHECK((v = jv_parse(&a, "-9223372036854775808", 20, err,
		    sizeof(err))) != NULL && v->kind == JV_INT &&
		    v->i == INT64_MIN);
		CHECK((v = jv_parse(&a, "9223372036854775807", 19, err,
		    sizeof(err))) != NULL && v->kind == JV_INT &&
		    v->i == INT64_MAX);
		CHECK((v = jv_parse(&a, "9223372036854775808", 19, err,
		    sizeof(err))) != NULL && v->kind == JV_BIGINT);
		CHECK((v = jv_parse(&a, "-9223372036854775809", 20, err,
		    sizeof(err))) != NULL && v->kind == JV_BIGINT);
		jv_arena_free(&a);
	}

	TEST("ordinal and week dates are timestamps as pendulum reads them") {
		/* What dlt 1.31's is_iso_timestamp says of each, and the
		   instant parse_iso_like_datetime gives (UTC). */
		static const struct {
			const char	*s;
			int		 kind;	/* 1 date-time, 2 date, 0 */
			const char	*at;
		} cases[] = {
			{ "2024-001T10:00:00Z", 1, "2024-01-01T10:00:00+00:00" },
			{ "2024001T100000Z", 1, "2024-01-01T10:00:00+00:00" },
			{ "2024-366T00:00:00Z", 1, "2024-12-31T00:00:00+00:00" },
			{ "2023-366T00:00:00Z", 0, NULL },
			{ "2024-000T00:00Z", 0, NULL },
			{ "2024-W01-1T10:00:00Z", 1,
			    "2024-01-01T10:00:00+00:00" },
			{ "2024W011T100000Z", 1, "2024-01-01T10:00:00+00:00" },
			{ "2024-W01T10:00Z", 1, "2024-01-01T10:00:00+00:00" },
			{ "2024W01T10", 1, "2024-01-01T10:00:00+00:00" },
			{ "2020-W53-7T10:00:00+02:00", 1,
			    "2021-01-03T08:00:00+00:00" },
			{ "2021-W53-1T00:00:00Z", 0, NULL },
			{ "2024-001", 2, "2024-01-01T00:00:00+00:00" },
			{ "2024-W01-1", 2, "2024-01-01T00:00:00+00:00" },
			{ "2024-001 10:00", 1, "2024-01-01T10:00:00+00:00" },
			{ "2024-001T10", 1, "2024-01-01T10:00:00+00:00" },
			{ "2024-W011T10:00", 0, NULL },
			{ "2024W01-1T10:00", 0, NULL },
			{ "2024-01-15T10:00:00Z", 1,
			    "2024-01-15T10:00:00+00:00" },
		};
		char		ts[64], *s;
		long long	us;

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			int	k = ld_parse_iso(cases[i].s, strlen(cases[i].s),
			    &us);

			CHECK(k == cases[i].kind);
			if (k != 0 && cases[i].at != NULL) {
				ld_format_ts(ts, us);
				CHECK_STR(ts, cases[i].at);
			}
		}
		/* A date column holds the date, however it was written. */
		CHECK_STR(s = coerced(LD_DATE, "\"2024-015\""),
		    "\"2024-01-15\""); free(s);
	}

	TEST("-0.0 is 0.0 in a double column, as dlt lands it") {
		char	*s;

		CHECK_STR(s = coerced(LD_DOUBLE, "-0.0"), "0.0"); free(s);
		CHECK_STR(s = coerced(LD_DOUBLE, "-1.5"), "-1.5"); free(s);
	}
	return t_done();
}
