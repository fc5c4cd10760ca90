/*
 * test_template.c: deployments/template against Prefect 3.8.8.
 *
 * Every expectation below was produced by running the same template
 * through prefect.utilities.templating (apply_values,
 * resolve_block_document_references, resolve_variables) with a fake
 * client, and printing json.dumps(result, ensure_ascii=False).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "deployments/template.h"
#include "yaml/doc.h"
#include "t.h"

/* ------------------------------------------------------------ helpers */

/* Flow-style YAML is a JSON superset that keeps 1.0 a float. */
static cJSON *
J(const char *text)
{
	struct ydoc	*d = ydoc_load(text, strlen(text), NULL);
	cJSON		*j = d ? cJSON_Duplicate(ydoc_root(d), 1) : NULL;

	ydoc_free(d);
	return j;
}

static void
put(char **buf, size_t *len, const char *s)
{
	size_t	 n = strlen(s);

	*buf = realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/* json.dumps(v, ensure_ascii=False) */
static void
render(char **b, size_t *n, const cJSON *v)
{
	char	 tmp[64];

	if (cJSON_IsNull(v))
		put(b, n, "null");
	else if (cJSON_IsBool(v))
		put(b, n, cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsNumber(v)) {
		if ((v->type & YDOC_CJSON_FLOAT) ||
		    v->valuedouble != floor(v->valuedouble))
			ydoc_format_float(v->valuedouble, tmp, sizeof(tmp));
		else
			snprintf(tmp, sizeof(tmp), "%lld",
			    (long long)v->valuedouble);
		put(b, n, tmp);
	} else if (cJSON_IsString(v)) {
		put(b, n, "\"");
		for (const char *p = v->valuestring; *p; p++) {
			if (*p == '"' || *p == '\\')
				snprintf(tmp, sizeof(tmp), "\\%c", *p);
			else if (*p == '\n')
				snprintf(tmp, sizeof(tmp), "\\n");
			else if ((unsigned char)*p < 0x20)
				snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
			else
				snprintf(tmp, sizeof(tmp), "%c", *p);
			put(b, n, tmp);
		}
		put(b, n, "\"");
	} else {
		put(b, n, cJSON_IsArray(v) ? "[" : "{");
		for (const cJSON *c = v->child; c; c = c->next) {
			if (cJSON_IsObject(v)) {
				cJSON *k = cJSON_CreateString(c->string);

				render(b, n, k);
				cJSON_Delete(k);
				put(b, n, ": ");
			}
			render(b, n, c);
			if (c->next)
				put(b, n, ", ");
		}
		put(b, n, cJSON_IsArray(v) ? "]" : "}");
	}
}

static char *
show(const cJSON *v)
{
	char	*b = NULL;
	size_t	 n = 0;

	if (v == NULL)
		return strdup("NOTSET");
	put(&b, &n, "");
	render(&b, &n, v);
	return b;
}

static int
check_json(const cJSON *got, const char *want)
{
	char	*s = show(got);
	int	 ok = strcmp(s, want) == 0;

	if (!ok)
		printf("#   got  %s\n#   want %s\n", s, want);
	free(s);
	return ok;
}

static const char *const ctx_skip[] = { "ctx.", NULL };
static char *const test_env[] = { "HOME=/home/u", "TOKEN=t0k", "B=bee",
    "B=second", NULL };

/* apply_values(J(tmpl), J(values), remove_notset) == want */
static int
apply_is(const char *tmpl, const char *values, int remove, const char *want)
{
	struct template_opts	 o = { NULL, test_env };
	cJSON			*t = J(tmpl), *v = J(values), *out = NULL;
	char			 err[256];
	int			 ok;

	ok = template_apply_values(t, v, remove, &o, &out, err,
	    sizeof(err)) == 0 && check_json(out, want);
	cJSON_Delete(t);
	cJSON_Delete(v);
	cJSON_Delete(out);
	return ok;
}

/* A fake API client: documents by "slug/name", ids, variables. */
struct fake {
	cJSON	*blocks, *ids, *vars;
	int	 block_calls, var_calls, fail;
};

static int
fake_block(const char *slug, const char *name, cJSON **out, char *err,
    size_t errlen, void *payload)
{
	struct fake	*f = payload;
	char		 key[256];
	cJSON		*v;

	f->block_calls++;
	if (f->fail)
		return errorf(err, errlen, "HTTP 500");
	snprintf(key, sizeof(key), "%s/%s", slug, name);
	if ((v = cJSON_GetObjectItemCaseSensitive(f->blocks, key)) == NULL)
		return 1;
	*out = cJSON_Duplicate(v, 1);
	return 0;
}

static int
fake_block_id(const char *id, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	struct fake	*f = payload;
	cJSON		*v = cJSON_GetObjectItemCaseSensitive(f->ids, id);

	(void)err;
	(void)errlen;
	if (v == NULL)
		return 1;
	*out = cJSON_Duplicate(v, 1);
	return 0;
}

static int
fake_var(const char *name, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	struct fake	*f = payload;
	cJSON		*v = cJSON_GetObjectItemCaseSensitive(f->vars, name);

	(void)err;
	(void)errlen;
	f->var_calls++;
	if (v == NULL)
		return 1;
	*out = cJSON_Duplicate(v, 1);
	return 0;
}

static struct fake F;
static char notset_seen[512];

static void
note_notset(const char *placeholder, void *arg)
{
	char	*seen = arg;
	size_t	 n = strlen(seen);

	snprintf(seen + n, sizeof(notset_seen) - n, "[%s]", placeholder);
}

static const struct template_resolver R = { fake_block, fake_block_id,
    fake_var, &F };

static void
fake_reset(void)
{
	cJSON_Delete(F.blocks);
	cJSON_Delete(F.ids);
	cJSON_Delete(F.vars);
	F.blocks = J("{secret/tok: {value: s3cr3t}, json/cfg: {value: "
	    "{a: [1, 2], values: 7}}, aws/creds: {key: k, secret: s}, "
	    "a/b: {value: 1.0}, odd/doc: {'': 5, x: 1}, s/t: {value: abc}}");
	F.ids = J("{abc: {k: v}}");
	F.vars = J("{v: {a: 1}, list: [1, a], n: null, f: 2.0, "
	    "branch: main, tpl: '{{ HOME }}'}");
	F.block_calls = F.var_calls = F.fail = 0;
}

/* resolve_blocks(J(tmpl)) == want, or the error contains want. */
static int
blocks_is(const char *tmpl, const char *want)
{
	cJSON	*t = J(tmpl), *out = NULL;
	char	 err[512] = "";
	int	 ok;

	if (template_resolve_blocks(t, &R, &out, err, sizeof(err)) == 0)
		ok = check_json(out, want);
	else if (!(ok = strstr(err, want) != NULL))
		printf("#   error: %s\n", err);
	cJSON_Delete(t);
	cJSON_Delete(out);
	return ok;
}

static int
vars_is(const char *tmpl, const char *want)
{
	cJSON	*t = J(tmpl), *out = NULL;
	char	 err[512] = "";
	int	 ok;

	if (template_resolve_variables(t, &R, &out, err, sizeof(err)) == 0)
		ok = check_json(out, want);
	else if (!(ok = strstr(err, want) != NULL))
		printf("#   error: %s\n", err);
	cJSON_Delete(t);
	cJSON_Delete(out);
	return ok;
}

/* ------------------------------------------------------------- tests */

int
main(void)
{
	fake_reset();

	TEST("whole-string placeholder becomes the raw value") {
		CHECK(apply_is("'{{ a }}'", "{a: {x: [1]}}", 1,
		    "{\"x\": [1]}"));
		CHECK(apply_is("{k: '{{ a }}'}", "{a: [1, 2.0]}", 1,
		    "{\"k\": [1, 2.0]}"));
		CHECK(apply_is("'{{ a }}'", "{a: null}", 1, "null"));
		CHECK(apply_is("'{{ a }}'", "{a: 5}", 1, "5"));
	}

	TEST("missing whole-string value drops the key (remove_notset)") {
		CHECK(apply_is("{a: '{{ x }}', b: k}", "{}", 1,
		    "{\"b\": \"k\"}"));
	}

	TEST("missing whole-string value stays without remove_notset") {
		CHECK(apply_is("{a: '{{ x }}', b: k}", "{}", 0,
		    "{\"a\": \"{{ x }}\", \"b\": \"k\"}"));
	}

	TEST("missing whole-string list items are always dropped") {
		CHECK(apply_is("['{{ a }}', '{{ b }}', 3, null, true, "
		    "'{{ c }}-']", "{b: 2}", 0,
		    "[2, 3, null, true, \"{{ c }}-\"]"));
		CHECK(apply_is("{k: ['{{ a }}', {z: '{{ a }}'}]}", "{}", 0,
		    "{\"k\": [{\"z\": \"{{ a }}\"}]}"));
		CHECK(apply_is("{k: ['{{ a }}', {z: '{{ a }}'}]}", "{}", 1,
		    "{\"k\": [{}]}"));
	}

	TEST("a whole template that is not set yields NULL") {
		cJSON	*t = J("'{{ nope }}'"), *out = (cJSON *)&out;

		CHECK(template_apply_values(t, NULL, 1, NULL, &out, NULL, 0)
		    == 0);
		CHECK(out == NULL);
		cJSON_Delete(t);
	}

	TEST("embedded values are rendered with Python's str()") {
		CHECK(apply_is("{d: '{{ y }}-{{ z }}'}", "{y: {k: [1, 2.0, "
		    "true, null, \"it's\"]}, z: 1.0}", 0,
		    "{\"d\": \"{'k': [1, 2.0, True, None, "
		    "\\\"it's\\\"]}-1.0\"}"));
		CHECK(apply_is("'x{{ a }}'", "{a: null}", 1, "\"xNone\""));
		CHECK(apply_is("'x{{ a }} {{ b }} {{ c }}'", "{a: 1.0e+16, "
		    "b: 0.1, c: 1.0e-5}", 1, "\"x1e+16 0.1 1e-05\""));
		CHECK(apply_is("'{{ n }} {{ m }} {{ o }}'", "{n: 100, m: -0.0, "
		    "o: 123456789012.0}", 1, "\"100 -0.0 123456789012.0\""));
	}

	TEST("str() of nested strings uses repr quoting and escapes") {
		CHECK(apply_is("'x{{ a }}'", "{a: {'k\"': \"v'\", n: [\"\\u00e9"
		    "\\u00a0\\t\\x01\\\\\"]}}", 1,
		    "\"x{'k\\\"': \\\"v'\\\", 'n': "
		    "['é\\\\xa0\\\\t\\\\x01\\\\\\\\']}\""));
	}

	TEST("embedded missing values: empty with remove_notset, else kept") {
		CHECK(apply_is("'pre-{{ x }}'", "{}", 1, "\"pre-\""));
		CHECK(apply_is("'pre-{{ x }}'", "{}", 0, "\"pre-{{ x }}\""));
	}

	TEST("dotted paths, [i] indexes and negative indexes") {
		CHECK(apply_is("'{{ a.b.c }}'", "{a: {b: {c: [1]}}}", 1,
		    "[1]"));
		CHECK(apply_is("'{{ a[0][1] }}'", "{a: [[1, 2]]}", 1, "2"));
		CHECK(apply_is("'{{ b[1] }}|{{ b.-1 }}'", "{b: [1, 2, 3]}", 1,
		    "\"2|3\""));
		CHECK(apply_is("'{{ a.5 }}'", "{a: [1]}", 1, "NOTSET"));
		CHECK(apply_is("'{{ a.x }}'", "{a: [1]}", 1, "NOTSET"));
		CHECK(apply_is("'{{ a.00 }}'", "{a: [z]}", 1, "\"z\""));
		CHECK(apply_is("'{{ a.0_ }}'", "{a: [z]}", 1, "NOTSET"));
		CHECK(apply_is("'{{ a.99999999999999999999 }}'", "{a: [z]}", 1,
		    "NOTSET"));
		CHECK(apply_is("'{{ a. }}'", "{a: {'': empty}}", 1,
		    "\"empty\""));
	}

	TEST("integer-looking keys never match mapping keys") {
		CHECK(apply_is("'{{ a.1 }}'", "{a: {'1': one}}", 1, "NOTSET"));
		CHECK(apply_is("'{{ c.0 }}|{{ c.1_0 }}'", "{c: {'0': zero}}",
		    0, "\"{{ c.0 }}|{{ c.1_0 }}\""));
	}

	TEST("indexing a string yields one character") {
		CHECK(apply_is("'{{ a.0 }}|{{ a.-1 }}|{{ a.1 }}'",
		    "{a: héllo}", 0, "\"h|o|é\""));
		CHECK(apply_is("'{{ a.0.0 }}'", "{a: [hello]}", 1, "\"h\""));
		CHECK(apply_is("'{{ a.b }}'", "{a: str}", 1, "NOTSET"));
		CHECK(apply_is("'{{ d.0 }}'", "{d: 5}", 0, "NOTSET"));
	}

	TEST("$ENV placeholders come from the environment, always as text") {
		CHECK(apply_is("'{{ $HOME }}'", "{}", 1, "\"/home/u\""));
		CHECK(apply_is("'{{ $TOKEN }}:{{$HOME}}'", "{}", 1,
		    "\"t0k:/home/u\""));
		CHECK(apply_is("'{{ $$TOKEN }}'", "{}", 1, "\"t0k\""));
		/* The first of duplicate names wins, as in getenv(). */
		CHECK(apply_is("'{{ $B }}'", "{}", 1, "\"bee\""));
	}

	TEST("missing $ENV: empty with remove_notset, else kept") {
		CHECK(apply_is("'{{ $NOPE_X }}x'", "{}", 1, "\"x\""));
		CHECK(apply_is("'{{ $NOPE_X }}'", "{}", 1, "\"\""));
		CHECK(apply_is("'{{ $NOPE_X }}x'", "{}", 0,
		    "\"{{ $NOPE_X }}x\""));
		CHECK(apply_is("'{{ $NOPE_X }}'", "{}", 0,
		    "\"{{ $NOPE_X }}\""));
	}

	TEST("apply_values leaves block and variable placeholders alone") {
		CHECK(apply_is("'{{ prefect.blocks.x.y }}'", "{}", 1,
		    "\"{{ prefect.blocks.x.y }}\""));
		CHECK(apply_is("'a {{ prefect.variables.x }} {{ b }}'",
		    "{b: 1}", 1, "\"a {{ prefect.variables.x }} 1\""));
	}

	TEST("skip_prefixes keeps {{ ctx.* }} for the worker") {
		struct template_opts	 o = { ctx_skip, NULL };
		cJSON			*t = J("{n: '{{ ctx.flow.name }}', "
					    "m: '{{ ctx.flow.name }}/{{ a }}', "
					    "l: ['{{ ctx.x }}']}");
		cJSON			*v = J("{a: 1}"), *out = NULL;

		CHECK(template_apply_values(t, v, 1, &o, &out, NULL, 0) == 0);
		CHECK(check_json(out, "{\"n\": \"{{ ctx.flow.name }}\", "
		    "\"m\": \"{{ ctx.flow.name }}/1\", "
		    "\"l\": [\"{{ ctx.x }}\"]}"));
		cJSON_Delete(t);
		cJSON_Delete(v);
		cJSON_Delete(out);
	}

	TEST("without skip_prefixes {{ ctx.* }} is an ordinary name") {
		CHECK(apply_is("{n: '{{ ctx.flow.name }}'}", "{}", 1, "{}"));
	}

	TEST("the placeholder pattern, edge by edge") {
		CHECK(apply_is("'{{{ a }}}'", "{a: 1}", 1, "\"{1}\""));
		CHECK(apply_is("'{{ a }'", "{a: 1}", 1, "\"{{ a }\""));
		CHECK(apply_is("'{{ a b }}'", "{a: 1}", 1, "\"{{ a b }}\""));
		CHECK(apply_is("'{{}}'", "{a: 1}", 1, "\"{{}}\""));
		CHECK(apply_is("\"{{\\ta\\n}}\"", "{a: 1}", 1, "1"));
		CHECK(apply_is("'{{a}}{{ a }}'", "{a: v}", 1, "\"vv\""));
		CHECK(apply_is("'{{ é }}'", "{é: 1}", 1, "1"));
		CHECK(apply_is("'{{ a—b }}'", "{a—b: 1}", 1,
		    "\"{{ a—b }}\""));
	}

	TEST("template_next reports offsets and kinds") {
		const char		*s = "x {{ a.b }} "
		    "{{prefect.blocks.s.n}}"
					    " {{ $E }} {{ prefect.variables.v "
					    "}}";
		struct template_match	 m;
		size_t			 pos = 0;
		enum template_kind	 kinds[4];
		int			 n = 0;

		while (n < 4 && template_next(s, strlen(s), pos, &m)) {
			kinds[n++] = m.kind;
			pos = m.start + m.len;
		}
		CHECK(n == 4);
		CHECK(kinds[0] == TEMPLATE_STANDARD && kinds[1] ==
		    TEMPLATE_BLOCK && kinds[2] == TEMPLATE_ENV && kinds[3] ==
		    TEMPLATE_VARIABLE);
		CHECK(template_next(s, strlen(s), 0, &m) && m.start == 2 &&
		    m.len == 9 && m.name_start == 5 && m.name_len == 3);
		CHECK(!template_next("{{ }}", 5, 0, &m));
	}

	TEST("the input tree is not modified") {
		cJSON	*t = J("{a: '{{ x }}', b: ['{{ x }}']}"), *out = NULL;
		char	*before = cJSON_PrintUnformatted(t), *after;

		template_apply_values(t, NULL, 1, NULL, &out, NULL, 0);
		after = cJSON_PrintUnformatted(t);
		CHECK_STR(after, before);
		free(before);
		free(after);
		cJSON_Delete(t);
		cJSON_Delete(out);
	}

	TEST("the cap: TEMPLATE_MAX_STRING counts the terminator") {
		char	*big = malloc(TEMPLATE_MAX_STRING + 1), *r;
		cJSON	*v;

		memset(big, 'x', TEMPLATE_MAX_STRING);
		big[TEMPLATE_MAX_STRING - 1] = '\0';
		v = cJSON_CreateString(big);
		r = template_py_str(v);
		CHECK(r != NULL && strlen(r) == TEMPLATE_MAX_STRING - 1);
		free(r);
		big[TEMPLATE_MAX_STRING - 1] = 'x';
		big[TEMPLATE_MAX_STRING] = '\0';
		cJSON_SetValuestring(v, big);
		CHECK(template_py_str(v) == NULL);
		cJSON_Delete(v);
		free(big);
	}

	TEST("huge expansions fail instead of growing without bound") {
		cJSON	*t = cJSON_CreateString(""), *v = cJSON_CreateObject();
		char	*big = malloc(300001), *tmpl = malloc(64 * 8 + 1);
		char	 err[128];
		cJSON	*out = NULL;

		memset(big, 'x', 300000);
		big[300000] = '\0';
		cJSON_AddStringToObject(v, "a", big);
		tmpl[0] = '\0';
		for (int i = 0; i < 64; i++)
			strcat(tmpl, "{{ a }} ");
		cJSON_SetValuestring(t, tmpl);
		CHECK(template_apply_values(t, v, 1, NULL, &out, err,
		    sizeof(err)) == -1);
		CHECK(strstr(err, "too large") != NULL);
		free(big);
		free(tmpl);
		cJSON_Delete(t);
		cJSON_Delete(v);
	}

	TEST("block: whole-string secret is unwrapped from 'value'") {
		CHECK(blocks_is("'{{ prefect.blocks.secret.tok }}'",
		    "\"s3cr3t\""));
	}

	TEST("block: embedded secret is pasted into the text") {
		CHECK(blocks_is("'Bearer {{ prefect.blocks.secret.tok }}'",
		    "\"Bearer s3cr3t\""));
		CHECK(blocks_is("'{{ prefect.blocks.a.b }} {{ c }} "
		    "{{ prefect.variables.v }}'",
		    "\"1.0 {{ c }} {{ prefect.variables.v }}\""));
	}

	TEST("block: whole-string may be a mapping (credentials)") {
		CHECK(blocks_is("'{{ prefect.blocks.aws.creds }}'",
		    "{\"key\": \"k\", \"secret\": \"s\"}"));
		CHECK(blocks_is("'{{ prefect.blocks.json.cfg }}'",
		    "{\"a\": [1, 2], \"values\": 7}"));
		CHECK(blocks_is("{x: ['{{ prefect.blocks.a.b }}'], y: 5}",
		    "{\"x\": [1.0], \"y\": 5}"));
	}

	TEST("block: embedded mapping or list is an error") {
		CHECK(blocks_is("'x{{ prefect.blocks.json.cfg }}'",
		    "'{{ prefect.blocks.json.cfg }}' resolved to a dict"));
		CHECK(blocks_is("'x{{ prefect.blocks.json.cfg.a }}'",
		    "resolved to a list"));
	}

	TEST("block: keypaths with dots and [i]") {
		CHECK(blocks_is("'{{ prefect.blocks.json.cfg.a[1] }}'", "2"));
		CHECK(blocks_is("'{{ prefect.blocks.aws.creds.key }}/x'",
		    "\"k/x\""));
		CHECK(blocks_is("'{{ prefect.blocks.s.t.0 }}'", "\"a\""));
		CHECK(blocks_is("'{{ prefect.blocks.odd.doc. }}'", "5"));
	}

	TEST("block: keypath starting with 'value' is not unwrapped") {
		CHECK(blocks_is("'{{ prefect.blocks.json.cfg.value.a }}'",
		    "[1, 2]"));
		CHECK(blocks_is("'{{ prefect.blocks.json.cfg.value }}'",
		    "{\"a\": [1, 2], \"values\": 7}"));
		/* "values" only starts with "value": it is looked up inside. */
		CHECK(blocks_is("'{{ prefect.blocks.json.cfg.values }}'", "7"));
	}

	TEST("block: a missing block is an error naming it") {
		CHECK(blocks_is("'{{ prefect.blocks.aws.missing }}'",
		    "block not found: 'missing' of type 'aws' (referenced by "
		    "'{{ prefect.blocks.aws.missing }}')"));
	}

	TEST("block: fewer than two parts is an error naming it") {
		CHECK(blocks_is("'{{ prefect.blocks.aws }}'",
		    "invalid block placeholder format: 'prefect.blocks.aws'"));
		CHECK(blocks_is("'x {{ prefect.blocks. }}'",
		    "invalid block placeholder format: 'prefect.blocks.'"));
	}

	TEST("block: an unresolvable keypath is an error naming it") {
		CHECK(blocks_is("'{{ prefect.blocks.aws.creds.nope }}'",
		    "'{{ prefect.blocks.aws.creds.nope }}'. Could not resolve "
		    "the keypath"));
	}

	TEST("block: every 'prefect.blocks.' in the name is removed") {
		CHECK(blocks_is("'{{ prefect.blocks.prefect.blocks.a.b }}'",
		    "1.0"));
	}

	TEST("block: $ref objects are replaced by the document data") {
		CHECK(blocks_is("{$ref: {block_document_id: abc}, other: 1}",
		    "{\"k\": \"v\"}"));
		CHECK(blocks_is("{$ref: {block_document_id: ''}, "
		    "other: '{{ prefect.blocks.a.b }}'}",
		    "{\"$ref\": {\"block_document_id\": \"\"}, \"other\": "
		    "1.0}"));
		CHECK(blocks_is("{$ref: {block_document_id: nope}}",
		    "block not found: ID 'nope'"));
		CHECK(blocks_is("{$ref: x}", "$ref must be a mapping"));
	}

	TEST("block: each document is fetched once per call") {
		F.block_calls = 0;
		CHECK(blocks_is("['{{ prefect.blocks.secret.tok }}', "
		    "'a{{ prefect.blocks.secret.tok }}', "
		    "{k: '{{ prefect.blocks.secret.tok }}'}]",
		    "[\"s3cr3t\", \"as3cr3t\", {\"k\": \"s3cr3t\"}]"));
		CHECK(F.block_calls == 1);
	}

	TEST("block: client errors propagate with the reference") {
		F.fail = 1;
		CHECK(blocks_is("'{{ prefect.blocks.secret.tok }}'",
		    "reading block for '{{ prefect.blocks.secret.tok }}': "
		    "HTTP 500"));
		F.fail = 0;
	}

	TEST("block: no block callback means an error, not silence") {
		cJSON	*t = J("'{{ prefect.blocks.a.b }}'"), *out = NULL;
		char	 err[256];

		CHECK(template_resolve_blocks(t, NULL, &out, err,
		    sizeof(err)) == -1);
		CHECK(strstr(err, "{{ prefect.blocks.a.b }}") != NULL);
		cJSON_Delete(t);
	}

	TEST("variable: whole-string gives the raw JSON value") {
		CHECK(vars_is("'{{ prefect.variables.v }}'", "{\"a\": 1}"));
		CHECK(vars_is("{a: ['{{ prefect.variables.n }}', '{{ b }}']}",
		    "{\"a\": [null, \"{{ b }}\"]}"));
	}

	TEST("variable: a missing variable is an empty string") {
		CHECK(vars_is("'{{ prefect.variables.nope }}'", "\"\""));
		CHECK(vars_is("'x-{{ prefect.variables.list }}-"
		    "{{ prefect.variables.w }}'", "\"x-[1, 'a']-\""));
	}

	TEST("variable: embedded values use str()") {
		CHECK(vars_is("'{{ prefect.variables.n }}!'", "\"None!\""));
		CHECK(vars_is("'{{ prefect.variables.f }} "
		    "{{ prefect.variables.f }}'", "\"2.0 2.0\""));
	}

	TEST("variable: prefix removed everywhere; fetched once") {
		F.var_calls = 0;
		CHECK(vars_is("['{{ prefect.variables.prefect.variables.f }}', "
		    "'{{ prefect.variables.f }}']", "[2.0, 2.0]"));
		CHECK(F.var_calls == 1);
	}

	TEST("run_step order: outputs and $ENV, blocks, variables, env") {
		cJSON	*in = J("{repository: 'https://x/{{ clone.name }}.git',"
			    " dir: '{{ clone.directory }}', gone: '{{ missing "
			    "}}',"
			    " token: '{{ prefect.blocks.secret.tok }}',"
			    " branch: '{{ prefect.variables.branch }}',"
			    " home: '{{ HOME }}', late: '{{ "
			    "prefect.variables.tpl }}',"
			    " envd: '{{ $TOKEN }}-{{ $NOPE }}',"
			    " list: ['{{ missing }}', '{{ B }}'],"
			    " nested: '{{ $HOME }}/{{ HOME.0 }}'}");
		cJSON	*up = J("{clone: {directory: repo-main, name: repo}}");
		cJSON	*out = NULL;
		char	 err[256];

		notset_seen[0] = '\0';
		CHECK(template_step_inputs(in, up, &R, test_env, note_notset,
		    notset_seen, &out, err, sizeof(err)) == 0);
		/* Each "" that Prefect makes of a missing value is told. */
		CHECK_STR(notset_seen, "[{{ $NOPE }}]");
		/* HOME is dropped by the first pass; only the variable's
		 * "{{ HOME }}" reaches the environment pass. */
		CHECK(check_json(out, "{\"repository\": "
		    "\"https://x/repo.git\", "
		    "\"dir\": \"repo-main\", \"token\": \"s3cr3t\", "
		    "\"branch\": \"main\", \"late\": \"/home/u\", "
		    "\"envd\": \"t0k-\", \"list\": [], "
		    "\"nested\": \"/home/u/\"}"));
		cJSON_Delete(in);
		cJSON_Delete(up);
		cJSON_Delete(out);
	}

	TEST("run_step: unset $ENV and missing variables are told, as \"\"") {
		cJSON	*in = J("{a: '{{ $PF_UNSET_1 }}', b: 'x{{ $PF_UNSET_2 }}y',"
			    " c: '{{ prefect.variables.nope }}', d: 'v={{ "
			    "prefect.variables.nope }}', e: '{{ $TOKEN }}'}");
		cJSON	*out = NULL;
		char	 err[256];

		notset_seen[0] = '\0';
		CHECK(template_step_inputs(in, NULL, &R, test_env, note_notset,
		    notset_seen, &out, err, sizeof(err)) == 0);
		CHECK(check_json(out, "{\"a\": \"\", \"b\": \"xy\", \"c\": \"\", "
		    "\"d\": \"v=\", \"e\": \"t0k\"}"));
		/* A variable is looked up (and told of) once per step. */
		CHECK_STR(notset_seen, "[{{ $PF_UNSET_1 }}][{{ $PF_UNSET_2 }}]"
		    "[{{ prefect.variables.nope }}]");
		cJSON_Delete(in);
		cJSON_Delete(out);
	}

	TEST("deploy-time order: blocks, variables, env kept if unset") {
		cJSON	*cfg = J("{name: '{{ $NAME_MISSING }}', tags: "
			    "['{{ missing }}', '{{ B }}', x], work_pool: "
			    "{name: "
			    "'{{ $B }}-pool', job_variables: {image: "
			    "'{{ build.image }}', tok: '{{ "
			    "prefect.blocks.secret."
			    "tok }}', ctx: '{{ ctx.flow_run.name }}'}}, "
			    "v: '{{ prefect.variables.f }}'}");
		cJSON	*out = NULL;

		CHECK(template_deploy_config(cfg, &R, test_env, &out, NULL,
		    0) == 0);
		CHECK(check_json(out, "{\"name\": \"{{ $NAME_MISSING }}\", "
		    "\"tags\": [\"bee\", \"x\"], \"work_pool\": {\"name\": "
		    "\"bee-pool\", \"job_variables\": {\"image\": "
		    "\"{{ build.image }}\", \"tok\": \"s3cr3t\", \"ctx\": "
		    "\"{{ ctx.flow_run.name }}\"}}, \"v\": 2.0}"));
		cJSON_Delete(cfg);
		cJSON_Delete(out);
	}

	TEST("template_env_object keeps the first of duplicate names") {
		cJSON	*env = template_env_object(test_env);

		CHECK(cJSON_GetArraySize(env) == 3);
		CHECK_STR(cJSON_GetObjectItem(env, "B")->valuestring, "bee");
		cJSON_Delete(env);
		env = template_env_object(NULL);
		CHECK(cJSON_IsObject(env));
		cJSON_Delete(env);
	}

	TEST("template_py_str renders like Python's str()") {
		cJSON	*v = J("{s: \"it's\", d: 'say \"hi\"', b: [true, "
		    "false, "
			    "null], f: 1.5, i: 3, e: {}}");
		char	*s = template_py_str(v);

		CHECK_STR(s, "{'s': \"it's\", 'd': 'say \"hi\"', 'b': [True, "
		    "False, None], 'f': 1.5, 'i': 3, 'e': {}}");
		free(s);
		cJSON_Delete(v);
		v = J("both ' and \"");
		s = template_py_str(v);
		CHECK_STR(s, "both ' and \"");
		free(s);
		cJSON_Delete(v);
		v = J("[\"both ' and \\\"\"]");
		s = template_py_str(v);
		CHECK_STR(s, "['both \\' and \"']");
		free(s);
		cJSON_Delete(v);
	}

	cJSON_Delete(F.blocks);
	cJSON_Delete(F.ids);
	cJSON_Delete(F.vars);
	return t_done();
}
