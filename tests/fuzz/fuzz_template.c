/*
 * fuzz_template.c: libFuzzer entry for deployments/template.c.  The
 * input is used twice: as one template string, and (when it loads) as
 * a YAML tree of templates.  Each goes through apply_values (both
 * remove_notset modes, with and without skip prefixes), block and
 * variable resolution against a fake client, and the run_step chain.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "deployments/template.h"
#include "yaml/doc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const skip[] = { "ctx.", "prefect.", NULL };
static char *const env[] = { "HOME=/home/fuzz", "A=a", "B={{ A }}", NULL };

/* Blocks: "missing*" are absent, "err*" fail, "creds" has no "value". */
static int
block(const char *slug, const char *name, cJSON **out, char *err,
    size_t errlen, void *payload)
{
	(void)payload;
	if (strncmp(name, "missing", 7) == 0)
		return 1;
	if (strncmp(name, "err", 3) == 0)
		return errorf(err, errlen, "HTTP 500");
	*out = cJSON_Parse(strcmp(slug, "creds") == 0 ?
	    "{\"k\": \"v\", \"n\": 2, \"l\": [1, {\"x\": null}]}" :
	    "{\"value\": {\"a\": [1, \"x\"], \"b\": \"s\"}}");
	return *out ? 0 : -1;
}

static int
block_id(const char *id, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	(void)err;
	(void)errlen;
	(void)payload;
	if (id[0] == 'x')
		return 1;
	*out = cJSON_Parse("{\"id\": true}");
	return *out ? 0 : -1;
}

static int
variable(const char *name, cJSON **out, char *err, size_t errlen,
    void *payload)
{
	(void)err;
	(void)errlen;
	(void)payload;
	if (strncmp(name, "missing", 7) == 0)
		return 1;
	*out = name[0] == 'l' ? cJSON_Parse("[1, 2.5, \"{{ $HOME }}\"]") :
	    cJSON_CreateString(name);
	return *out ? 0 : -1;
}

static const struct template_resolver resolver = { block, block_id,
    variable, NULL };

static void
consume(cJSON *t)
{
	char	*s = t ? template_py_str(t) : NULL;

	free(s);
	cJSON_Delete(t);
}

static void
run(const cJSON *tmpl, const cJSON *values)
{
	struct template_opts	 plain = { NULL, env };
	struct template_opts	 skipping = { skip, env };
	cJSON			*out;
	char			 err[256];

	for (int remove = 0; remove < 2; remove++) {
		out = NULL;
		template_apply_values(tmpl, values, remove, &plain, &out, err,
		    sizeof(err));
		consume(out);
		out = NULL;
		template_apply_values(tmpl, values, remove, &skipping, &out,
		    err, sizeof(err));
		consume(out);
	}
	out = NULL;
	template_resolve_blocks(tmpl, &resolver, &out, err, sizeof(err));
	consume(out);
	out = NULL;
	template_resolve_variables(tmpl, &resolver, &out, err, sizeof(err));
	consume(out);
	out = NULL;
	template_step_inputs(tmpl, values, &resolver, env, NULL, NULL, &out,
	    err, sizeof(err));
	consume(out);
	out = NULL;
	template_deploy_config(tmpl, &resolver, env, &out, err, sizeof(err));
	consume(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*s = malloc(size + 1);
	cJSON			*str, *values;
	struct ydoc		*doc;
	struct template_match	 m;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	values = cJSON_Parse("{\"a\": {\"b\": [1, \"two\", {\"c\": null}]},"
	    " \"s\": \"str\", \"n\": 1.5, \"t\": true, \"A\": \"{{ a }}\"}");
	for (size_t pos = 0; template_next(s, strlen(s), pos, &m);
	    pos = m.start + m.len)
		if (m.start + m.len > strlen(s) || m.len < 5)
			abort();
	if ((str = cJSON_CreateString(s)) != NULL)
		run(str, values);
	cJSON_Delete(str);
	if ((doc = ydoc_load((const char *)data, size, NULL)) != NULL)
		run(ydoc_root(doc), values);
	ydoc_free(doc);
	cJSON_Delete(values);
	free(s);
	return 0;
}
