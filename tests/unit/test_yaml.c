/*
 * test_yaml.c: deployments/yaml against PyYAML's safe_load.
 *
 * Expected values were produced with PyYAML 6 (the one Prefect 3.8.8
 * installs) as str(yaml.safe_load(text)); template_py_str renders the
 * cJSON tree the same way, so the two can be compared as strings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deployments/template.h"
#include "yaml/doc.h"
#include "t.h"

/* str(yaml.safe_load(text)) as Python prints it, or the error. */
static char *
py(const char *text)
{
	struct ydoc_error	 e;
	struct ydoc		*d = ydoc_load(text, strlen(text), &e);
	char			*s, buf[400];

	if (d == NULL) {
		snprintf(buf, sizeof(buf), "ERR %d:%d: %s", e.line, e.col,
		    e.msg);
		return strdup(buf);
	}
	s = template_py_str(ydoc_root(d));
	ydoc_free(d);
	return s;
}

static int
same(const char *text, const char *want)
{
	char	*got = py(text);
	int	 ok = got != NULL && strcmp(got, want) == 0;

	if (!ok)
		printf("#   %s\n#   got  %s\n#   want %s\n", text, got, want);
	free(got);
	return ok;
}

static int
pos_of(const struct ydoc *d, const cJSON *n, int line, int col)
{
	int	 l = 0, c = 0;

	return ydoc_pos(d, n, &l, &c) == 0 && l == line && c == col;
}

static int
key_pos_of(const struct ydoc *d, const cJSON *n, int line, int col)
{
	int	 l = 0, c = 0;

	return ydoc_key_pos(d, n, &l, &c) == 0 && l == line && c == col;
}

static struct ydoc *
load(const char *text)
{
	return ydoc_load(text, strlen(text), NULL);
}

static int
fails_with(const char *text, int line, int col, const char *msg)
{
	struct ydoc_error	 e;
	struct ydoc		*d = ydoc_load(text, strlen(text), &e);
	int			 ok;

	ok = d == NULL && e.line == line && e.col == col &&
	    strstr(e.msg, msg) != NULL;
	if (!ok)
		printf("#   got %d:%d: %s\n", e.line, e.col, d ? "(loaded)" :
		    e.msg);
	ydoc_free(d);
	return ok;
}

int
main(void)
{
	TEST("null spellings follow YAML 1.1") {
		CHECK(same("[~, null, Null, NULL, nULL, '', ]",
		    "[None, None, None, None, 'nULL', '']"));
		CHECK(same("a:", "{'a': None}"));
	}

	TEST("yes/no/on/off are booleans, y/n are not") {
		CHECK(same("[yes, Yes, YES, yEs, no, NO, on, On, off, OFF, "
		    "true,"
		    " True, TRUE, tRue, false, y, n]",
		    "[True, True, True, 'yEs', False, False, True, True, False,"
		    " False, True, True, True, 'tRue', False, 'y', 'n']"));
	}

	TEST("integers: octal 010, hex, binary, underscores, base 60") {
		CHECK(same("[010, 08, 0x1F, 0x_1F, 0b101, 0_, 1_000, +12, -0, "
		    "190:20:30, 1:60, 0o17, 00, -1_0, 12]",
		    "[8, '08', 31, 31, 5, 0, 1000, 12, 0, 685230, '1:60', "
		    "'0o17', 0, -10, 12]"));
	}

	TEST("floats need a dot; exponents need a sign") {
		CHECK(same("[1.5, 1., .5, -.5, +.5, 1.5e3, 1.5e+3, 1e+3, 1_0.5,"
		    " .inf, -.inf, +.inf, .NaN, -.nan, 1:30.5, 0., -0.0, 1e16, "
		    "10000000000000000.0]",
		    "[1.5, 1.0, 0.5, '-.5', '+.5', '1.5e3', 1500.0, '1e+3', "
		    "10.5, inf, -inf, inf, nan, '-.nan', 90.5, 0.0, -0.0, "
		    "'1e16', 1e+16]"));
	}

	TEST("floats carry YDOC_CJSON_FLOAT, integers do not") {
		struct ydoc	*d = load("[1.0, 1]");
		const cJSON	*r = ydoc_root(d);

		CHECK((r->child->type & YDOC_CJSON_FLOAT) != 0);
		CHECK((r->child->next->type & YDOC_CJSON_FLOAT) == 0);
		CHECK(cJSON_IsNumber(r->child));
		ydoc_free(d);
	}

	TEST("quoted scalars are strings; explicit tags convert") {
		CHECK(same("['1', \"yes\", '~', \"1.5\", 'null', !!str 123, "
		    "!!int \"12\", !!float 1, !!bool yes, !!null x, ! 123, "
		    "!!int 0o17, !!float \"1_0\"]",
		    "['1', 'yes', '~', '1.5', 'null', '123', 12, 1.0, True, "
		    "None, 123, 15, 10.0]"));
	}

	TEST("bad explicit tags are errors") {
		CHECK(fails_with("a: !foo x", 1, 4, "could not determine a "
		    "constructor for the tag '!foo'"));
		CHECK(fails_with("a: !!int x", 1, 4, "invalid integer"));
		CHECK(fails_with("a: !!seq {x: 1}", 1, 4,
		    "expected a sequence node, but found mapping"));
		CHECK(fails_with("a: !!str [1]", 1, 4,
		    "expected a scalar node, but found sequence"));
		CHECK(fails_with("a: =", 1, 4, "tag:yaml.org,2002:value"));
	}

	TEST("timestamps become pydantic-style strings, flagged") {
		struct ydoc	*d = load("{a: 2024-01-01, b: 2024-01-01 "
		    "10:00:00,"
		    " c: 2001-12-14t21:59:43.10-05:00, d: 2001-12-14T21:59:43Z,"
		    " e: 2001-12-14T21:59:43.1234567+01, f: 2024-1-1, "
		    "g: '2024-01-01'}");
		const cJSON	*r = ydoc_root(d);

		CHECK_STR(cJSON_GetObjectItem(r, "a")->valuestring,
		    "2024-01-01");
		CHECK_STR(cJSON_GetObjectItem(r, "b")->valuestring,
		    "2024-01-01T10:00:00");
		CHECK_STR(cJSON_GetObjectItem(r, "c")->valuestring,
		    "2001-12-14T21:59:43.100000-05:00");
		CHECK_STR(cJSON_GetObjectItem(r, "d")->valuestring,
		    "2001-12-14T21:59:43Z");
		CHECK_STR(cJSON_GetObjectItem(r, "e")->valuestring,
		    "2001-12-14T21:59:43.123456+01:00");
		CHECK_STR(cJSON_GetObjectItem(r, "f")->valuestring, "2024-1-1");
		CHECK(ydoc_flags(d, cJSON_GetObjectItem(r, "a")) &
		    YDOC_NODE_TIMESTAMP);
		CHECK(!(ydoc_flags(d, cJSON_GetObjectItem(r, "f")) &
		    YDOC_NODE_TIMESTAMP));
		CHECK(!(ydoc_flags(d, cJSON_GetObjectItem(r, "g")) &
		    YDOC_NODE_TIMESTAMP));
		ydoc_free(d);
		CHECK(fails_with("a: 2024-02-30", 1, 4, "invalid timestamp"));
	}

	TEST("anchors and aliases are expanded") {
		CHECK(same("{a: &x {k: 1, l: [1, 2]}, b: *x, c: [*x, *x]}",
		    "{'a': {'k': 1, 'l': [1, 2]}, 'b': {'k': 1, 'l': [1, 2]}, "
		    "'c': [{'k': 1, 'l': [1, 2]}, {'k': 1, 'l': [1, 2]}]}"));
	}

	TEST("merge key: explicit keys override merged ones") {
		CHECK(same("{base: &b {x: 1, y: 2}, c: {<<: *b, y: 3, z: 4}}",
		    "{'base': {'x': 1, 'y': 2}, 'c': {'x': 1, 'y': 3, "
		    "'z': 4}}"));
		CHECK(same("{c: {z: 1, <<: {z: 2, q: 3}}}",
		    "{'c': {'z': 1, 'q': 3}}"));
	}

	TEST("merge key list: earlier mappings win") {
		CHECK(same("{a: &a {x: 1}, d: &d {x: 2, w: 5}, c: {<<: [*a, "
		    "*d],"
		    " z: 4}}", "{'a': {'x': 1}, 'd': {'x': 2, 'w': 5}, "
		    "'c': {'x': 1, 'w': 5, 'z': 4}}"));
		CHECK(same("{x: &a {k: 1}, y: {<<: *a, <<: {k: 2, m: 3}}}",
		    "{'x': {'k': 1}, 'y': {'k': 2, 'm': 3}}"));
	}

	TEST("merge errors and quoted << are a plain key") {
		CHECK(same("{\"<<\": {b: 1}, =: 2}", "{'<<': {'b': 1}, "
		    "'=': 2}"));
		CHECK(fails_with("c: {<<: 1}", 1, 9,
		    "expected a mapping or list of mappings for merging"));
		CHECK(fails_with("c: {<<: [1]}", 1, 10,
		    "expected a mapping for merging"));
		CHECK(fails_with("a: &a {<<: *a}", 1, 4, "recursive merge"));
	}

	TEST("duplicate keys: the last value wins, first position stays") {
		CHECK(same("{a: 1, b: 2, a: 3}", "{'a': 3, 'b': 2}"));
	}

	TEST("non-string keys get JSON spellings and a flag") {
		struct ydoc	*d = load("{1: a, 1.5: b, null: c, x: d}");
		const cJSON	*r = ydoc_root(d);

		CHECK_STR(r->child->string, "1");
		CHECK_STR(r->child->next->string, "1.5");
		CHECK_STR(r->child->next->next->string, "null");
		CHECK(ydoc_flags(d, r->child) & YDOC_NODE_KEY_NONSTR);
		CHECK(!(ydoc_flags(d, cJSON_GetObjectItem(r, "x")) &
		    YDOC_NODE_KEY_NONSTR));
		ydoc_free(d);
		/* Python's dict treats true and 1 as the same key. */
		CHECK(same("{1: a, true: d}", "{'1': 'd'}"));
		CHECK(fails_with("{? [1] : e}", 1, 4, "found unhashable key"));
	}

	TEST("flow shorthands") {
		CHECK(same("{a, b: c}", "{'a': None, 'b': 'c'}"));
		CHECK(same("[a: b, c]", "[{'a': 'b'}, 'c']"));
		CHECK(same("a: |\n  l1\n  l2\n", "{'a': 'l1\\nl2\\n'}"));
	}

	TEST("positions of values and keys are 1-based") {
		struct ydoc	*d = load("top:\n  key: value\n  list:\n"
		    "    - 1\n    - two\n");
		const cJSON	*r = ydoc_root(d);
		const cJSON	*top = cJSON_GetObjectItem(r, "top");
		const cJSON	*list = cJSON_GetObjectItem(top, "list");

		CHECK(pos_of(d, r, 1, 1));
		CHECK(pos_of(d, top, 2, 3));
		CHECK(key_pos_of(d, top, 1, 1));
		CHECK(pos_of(d, cJSON_GetObjectItem(top, "key"), 2, 8));
		CHECK(key_pos_of(d, cJSON_GetObjectItem(top, "key"), 2, 3));
		CHECK(pos_of(d, list->child->next, 5, 7));
		CHECK(ydoc_pos(d, NULL, NULL, NULL) == -1);
		ydoc_free(d);
	}

	TEST("an alias copy sits at the alias; its insides at the anchor") {
		struct ydoc	*d = load("a: &x\n  k: 1\nb: *x\n");
		const cJSON	*r = ydoc_root(d);
		const cJSON	*b = cJSON_GetObjectItem(r, "b");

		CHECK(pos_of(d, b, 3, 4));
		CHECK(pos_of(d, b->child, 2, 6));
		CHECK(b != cJSON_GetObjectItem(r, "a"));
		ydoc_free(d);
	}

	TEST("syntax errors carry libyaml's text and position") {
		CHECK(fails_with("a: b\n c: d", 2, 3,
		    "mapping values are not allowed in this context"));
		CHECK(fails_with("key: \"unterminated", 1, 19,
		    "found unexpected end of stream"));
		CHECK(fails_with("a:\n  - b\n  c: d", 3, 3,
		    "did not find expected '-' indicator"));
		CHECK(fails_with("a: 1\n\tb: 2", 2, 1, "tab"));
	}

	TEST("anchor problems") {
		CHECK(fails_with("a: *y", 1, 4, "found undefined alias 'y'"));
		CHECK(fails_with("a: &x 1\nb: &x 2", 2, 4,
		    "found duplicate anchor 'x'"));
		CHECK(fails_with("a: &x [*x]", 1, 4, "recursive alias"));
	}

	TEST("billion laughs (alias bomb) is rejected") {
		const char *bomb =
		    "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
		    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
		struct ydoc_error e;

		CHECK(ydoc_load(bomb, strlen(bomb), &e) == NULL);
		CHECK(strstr(e.msg, "more than 1000000 nodes") != NULL);
		CHECK(e.line == 1);
	}

	TEST("merge bombs are capped too") {
		const char *bomb =
		    "a: &a {k0: 0, k1: 1, k2: 2, k3: 3}\n"
		    "b: &b {<<: [*a, *a, *a, *a, *a, *a, *a, *a]}\n"
		    "c: &c {<<: [*b, *b, *b, *b, *b, *b, *b, *b]}\n"
		    "d: &d {<<: [*c, *c, *c, *c, *c, *c, *c, *c]}\n"
		    "e: &e {<<: [*d, *d, *d, *d, *d, *d, *d, *d]}\n"
		    "f: &f {<<: [*e, *e, *e, *e, *e, *e, *e, *e]}\n"
		    "g: &g {<<: [*f, *f, *f, *f, *f, *f, *f, *f]}\n"
		    "h: &h {<<: [*g, *g, *g, *g, *g, *g, *g, *g]}\n";
		struct ydoc_error e;

		CHECK(ydoc_load(bomb, strlen(bomb), &e) == NULL);
		CHECK(strstr(e.msg, "more than 1000000 nodes") != NULL);
	}

	TEST("deep nesting is rejected") {
		char	*deep = malloc(4002);

		memset(deep, '[', 2000);
		memset(deep + 2000, ']', 2000);
		deep[4000] = '\0';
		CHECK(fails_with(deep, 1, 1001, "nesting deeper than 1000"));
		free(deep);
	}

	TEST("one document only; empty input is null") {
		struct ydoc *d;

		CHECK(fails_with("a: 1\n---\nb: 2", 2, 1,
		    "expected a single document"));
		d = ydoc_load("", 0, NULL);
		CHECK(d != NULL && cJSON_IsNull(ydoc_root(d)));
		ydoc_free(d);
		CHECK(same("# only a comment\n", "None"));
		CHECK(same("---\n", "None"));
	}

	TEST("NUL characters and bad UTF-8 are errors") {
		CHECK(fails_with("a: \"x\\0y\"", 1, 4, "NUL"));
		CHECK(fails_with("a: \xff", 1, 4, "invalid leading UTF-8"));
	}

	TEST("ydoc_load_file reads files and reports open errors") {
		char		 path[] = "/tmp/test_yaml_XXXXXX";
		int		 fd = mkstemp(path);
		struct ydoc_error e;
		struct ydoc	*d;

		CHECK(fd >= 0 && write(fd, "k: [1, 2]\n", 10) == 10);
		close(fd);
		d = ydoc_load_file(path, &e);
		CHECK(d != NULL && cJSON_GetArraySize(cJSON_GetObjectItem(
		    ydoc_root(d), "k")) == 2);
		ydoc_free(d);
		unlink(path);
		CHECK(ydoc_load_file(path, &e) == NULL);
		CHECK_STR(e.msg, "No such file or directory");
	}

	TEST("ydoc_format_float matches Python's repr") {
		static const struct { double d; const char *s; } t[] = {
			{ 1.0, "1.0" }, { 0.1, "0.1" }, { 1e16, "1e+16" },
			{ 1e15, "1000000000000000.0" }, { 1.5e-5, "1.5e-05" },
			{ 0.0001, "0.0001" }, { -0.0, "-0.0" },
			{ 123456789.125, "123456789.125" },
			{ 1.2345678901234568e+17, "1.2345678901234568e+17" },
			{ 3.14159265358979, "3.14159265358979" },
		};
		char	 buf[32];

		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
			CHECK_STR(ydoc_format_float(t[i].d, buf, sizeof(buf)),
			    t[i].s);
		CHECK_STR(ydoc_format_float(INFINITY, buf, sizeof(buf)),
		    "inf");
		CHECK_STR(ydoc_format_float(NAN, buf, sizeof(buf)), "nan");
	}

	return t_done();
}
