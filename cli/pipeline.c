/*
 * pipeline.c: `pfagent pipeline`'s arguments and dispatch, and
 * `pfagent pipeline NAME sync|info` (drop and abort-packages are in
 * pipeline_drop.c, the read-only commands in pipeline_view.c), as dlt 1.31's
 * `dlt pipeline NAME sync|info` (dlt/_workspace/cli/_pipeline_command.py)
 * for the pipelines pfagent's runtime keeps in the profile's pipelines
 * directory (<data dir>/pipelines/<name>).
 *
 * sync is seed 001's connection check: it resolves the destination's
 * credentials, connects, and looks for the pipeline's state in the
 * dataset (the newest _dlt_pipeline_state row of a completed load),
 * loading nothing. Found: state.json and the schemas are restored into
 * the working directory, as dlt does. Not found: dlt's
 * "ERROR: Pipeline <name> was not found in dataset <dataset> in
 * <destination>". Its prompts are dlt's; -y/--yes accepts them and a
 * stdin that is no terminal picks their default (No), as dlt does.
 * One deviation, on the safe side: with a local state, the destination
 * is reached before the local state is dropped, so a wrong password
 * leaves it in place.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cjson/cJSON.h>

#include "cli/pipeline.h"
#include "cli/pipeline_int.h"
#include "common/json.h"
#include "common/util.h"
#include "config/cfg.h"
#include "load/destination.h"
#include "load/loader.h"
#include "load/state.h"
#include "common/pyfmt.h"

#define ERR_MAX		PL_ERR_MAX
#define DOCS_NOTE	"NOTE: Please refer to our docs at 'https://dlthub.com/" \
			"docs/reference/command-line-interface#dlt-pipeline' " \
			"for further assistance."

int
pl_confirm(const struct popts *o, const char *text, int def)
{
	char	 line[64];

	if (o->yes)
		return 1;
	if (o->non_interactive || !isatty(STDIN_FILENO))
		return def;
	for (;;) {
		printf("%s [%s]: ", text, def ? "Y/n" : "y/N");
		fflush(stdout);
		if (fgets(line, sizeof(line), stdin) == NULL)
			return def;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			return def;
		if (!strcmp(line, "y") || !strcmp(line, "yes"))
			return 1;
		if (!strcmp(line, "n") || !strcmp(line, "no"))
			return 0;
		printf("Error: invalid input\n");
	}
}

/* dlt's fmt.text_input without a default; NULL when it cannot ask. */
static char *
text_input(const struct popts *o, const char *text)
{
	char	 line[512];

	if (o->yes || o->non_interactive || !isatty(STDIN_FILENO)) {
		printf("ERROR: Cannot read `%s` in non-interactive mode (no "
		    "default provided). Pass the value via a CLI option, or "
		    "run interactively.\n", text);
		return NULL;
	}
	printf("%s: ", text);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL;
	line[strcspn(line, "\r\n")] = '\0';
	return xstrdup(line);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* dlt's _wipe_working_folder. */
static void
wipe(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
pl_write_text(const char *path, const char *text, char *err, size_t errlen)
{
	char	*tmp = xasprintf("%s.tmp", path);
	FILE	*f = fopen(tmp, "w");
	int	 ok;

	ok = f != NULL && fputs(text, f) >= 0;
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	if (ok && rename(tmp, path) != 0)
		ok = 0;
	if (!ok) {
		remove(tmp);
		errorf(err, errlen, "cannot write %s", path);
	}
	free(tmp);
	return ok ? 0 : -1;
}

/*
 * The type of a named destination, as Destination.from_reference: the
 * configured destination.<name>.destination_type, else the name itself
 * when it is a type pfagent loads into.
 */
static const struct ld_dest_ops *
destination_ops(struct cfg *c, const char *name, char *err, size_t errlen)
{
	struct cfg_field	 f = { 0 };
	struct cfg_value	 v;
	const struct ld_dest_ops *ops = NULL;
	char			*sections = xasprintf("destination.%s", name);
	const char		*configured;

	f.sections = sections;
	f.key = "destination_type";
	f.type = CFG_STR;
	f.flags = CFG_EXACT | CFG_OPTIONAL;
	if (cfg_resolve(c, &f, &v, err, errlen) == -1) {
		free(sections);
		return NULL;
	}
	configured = cfg_value_str(&v);
	if (configured != NULL && strncmp(configured, "dlt.destinations.",
	    17) == 0)
		configured += 17;
	if (configured != NULL)
		ops = ld_dest_find(configured);
	if (ops == NULL)
		ops = ld_dest_find(name);
	if (ops == NULL)
		errorf(err, errlen, "Destination '%s' is neither a named "
		    "destination with a destination_type pfagent loads into "
		    "(duckdb, postgres, snowflake) nor one of those "
		    "types%s%s%s", name, configured ? " (configured type: '" :
		    "",
		    configured ? configured : "", configured ? "')" : "");
	cfg_value_cleanup(&v);
	free(sections);
	return ops;
}

int
pl_connect(struct sync_ctx *x, const char *dest, const char *dataset)
{
	struct ld_dest_config	 dc = { 0 };

	if ((x->ops = destination_ops(x->cfg, dest, x->err, ERR_MAX)) == NULL)
		return -1;
	dc.name = dest;
	dc.type = x->ops->type;
	dc.pipeline = x->o->name;
	dc.dataset = dataset;
	dc.cfg = x->cfg;
	dc.local_dir = x->ws->local_dir;
	return x->ops->open(&dc, &x->d, x->err, ERR_MAX);
}

/*
 * dlt's sync_destination: the newest state of a completed load, and the
 * schemas it names, into the working directory (the runtime's
 * ld_restore). 1 restored, 0 not in the dataset, -1 error.
 */
static int
restore(struct sync_ctx *x, const char *dataset)
{
	char		*packed = NULL, *doc = NULL, *path, *schemas = NULL;
	cJSON		*state = NULL, *local;
	const cJSON	*it;
	char		 now[32];
	int		 rc;

	if (ld_restore(x->d, dataset, x->o->name, x->o->name, &packed, &doc,
	    x->err, ERR_MAX) == -1)
		return -1;
	rc = packed != NULL;
	if (rc && (state = ld_state_decompress(packed)) == NULL)
		rc = errorf(x->err, ERR_MAX, "the state stored in %s."
		    "_dlt_pipeline_state for pipeline %s cannot be read",
		    dataset, x->o->name);
	if (rc != 1)
		goto out;
	/* The local part dlt keeps beside a restored state. */
	iso8601_now(now, 0);
	cJSON_DeleteItemFromObject(state, "_local");
	local = cJSON_AddObjectToObject(state, "_local");
	cJSON_AddFalseToObject(local, "first_run");
	cJSON_AddFalseToObject(local, "_dev_mode");
	cJSON_AddStringToObject(local, "initial_cwd", x->ws->local_dir);
	cJSON_AddStringToObject(local, "_last_extracted_at", now);
	it = cJSON_GetObjectItem(state, "_version_hash");
	if (cJSON_IsString(it))
		cJSON_AddStringToObject(local, "_last_extracted_hash",
		    it->valuestring);
	schemas = xasprintf("%s/schemas", x->workdir);
	if (mkdir_p(schemas, 0755) == -1) {
		rc = errorf(x->err, ERR_MAX, "cannot create %s", schemas);
		goto out;
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(state, "schema_names")) {
		char		*other = NULL, *unused = NULL;
		const char	*text;

		if (!cJSON_IsString(it))
			continue;
		/* The pipeline's own schema came with the state. */
		if (strcmp(it->valuestring, x->o->name) != 0 &&
		    ld_restore(x->d, dataset, x->o->name, it->valuestring,
		    &unused, &other, x->err, ERR_MAX) == -1) {
			free(unused);
			rc = -1;
			break;
		}
		free(unused);
		text = strcmp(it->valuestring, x->o->name) == 0 ? doc : other;
		path = xasprintf("%s/%s.schema.json", schemas, it->valuestring);
		if (text != NULL && pl_write_text(path, text, x->err, ERR_MAX) ==
		    -1)
			rc = -1;
		free(path);
		free(other);
		if (rc == -1)
			break;
	}
	if (rc != -1) {
		char	*text = cJSON_PrintUnformatted(state);

		path = xasprintf("%s/state.json", x->workdir);
		rc = pl_write_text(path, text, x->err, ERR_MAX) == 0 ? 1 : -1;
		free(path);
		free(text);
	}
out:
	cJSON_Delete(state);
	free(schemas);
	free(packed);
	free(doc);
	return rc;
}

/* dlt's CLI output for an exception in the sync step. */
static int
sync_failed(const struct sync_ctx *x)
{
	const char	*cls = NULL;

	if (!strncmp(x->err, "Missing ", 8))
		cls = "dlt.common.configuration.exceptions."
		    "ConfigFieldMissingException";
	else if (strstr(x->err, "cannot parse the configuration value") !=
	    NULL)
		cls = "dlt.common.configuration.exceptions.InvalidNativeValue";
	else if (x->ops != NULL && !strcmp(x->ops->type, "postgres"))
		cls = "psycopg2.OperationalError";
	else if (x->ops != NULL && !strcmp(x->ops->type, "snowflake"))
		cls = "snowflake.connector.errors.DatabaseError";
	fprintf(stderr, "Pipeline execution failed at `step=sync` with "
	    "exception:\n\n");
	if (cls != NULL)
		fprintf(stderr, "<class '%s'>\n", cls);
	fprintf(stderr, "%s\n", x->err);
	printf("%s\n", DOCS_NOTE);
	return 255;
}

/*
 * Without a local state: dlt's warning, then, if the user agrees, the
 * destination and dataset to restore from, asked unless given. Returns
 * 1 with both set (the caller frees), 0 when declined, or 255 when a
 * value cannot be asked.
 */
static int
ask_destination(const struct popts *o, const char *workdir, char **dest,
    char **dataset)
{
	char	*q;

	printf("WARNING: Pipeline with `pipeline_name=%s` and "
	    "`pipelines_dir=%s` could not be restored: No local "
	    "pipeline state found in '%s'.\n\ndlt can restore pipeline "
	    "state from a destination, but requires a destination. "
	    "Pass it as an argument to dlt.attach() or configure it "
	    "via dlt's config system.\n\n`dlt.attach(pipeline_name=\""
	    "%s\", destination=\"<your-destination>\", dataset_name=\""
	    "<your-dataset>\")`\n\nNote: if no dataset_name is "
	    "provided, dlt looks in '%s_dataset' by default.\n\nIf you "
	    "only need to read or query data without pipeline state, "
	    "use `dlt.dataset()` instead:\n\n`dlt.dataset(destination="
	    "\"<your-destination>\", dataset_name=\"<your-dataset>\")`"
	    "\n", o->name, workdir, workdir, o->name, o->name);
	if (!pl_confirm(o, "Do you want to attempt to restore the "
	    "pipeline state from destination?", 0))
		return 0;
	q = xasprintf("Enter destination name for pipeline %s", o->name);
	*dest = o->destination ? xstrdup(o->destination) : text_input(o, q);
	free(q);
	if (*dest == NULL)
		return 255;
	q = xasprintf("Enter dataset name for pipeline %s", o->name);
	*dataset = o->dataset ? xstrdup(o->dataset) : text_input(o, q);
	free(q);
	if (*dataset == NULL)
		return 255;
	return 1;
}

/*
 * With a local state at path: if the user agrees to drop it, the
 * destination and dataset it names, as pipeline.drop() takes them.
 * Returns 1 with both set (the caller frees), 0 when declined, or 255
 * when the state cannot be read.
 */
static int
local_destination(const struct popts *o, const char *path,
    const char *pipelines_dir, char **dest, char **dataset, char *err)
{
	char		*text;
	cJSON		*local;
	const cJSON	*it;

	printf("Found pipeline %s in %s\n", o->name, pipelines_dir);
	if (!pl_confirm(o, "About to drop the local state of the pipeline "
	    "and reset all the schemas. The destination state, data "
	    "and schemas are left intact. Proceed?", 0))
		return 0;
	if ((text = read_file_max(path, 16u << 20, NULL, err, ERR_MAX)) ==
	    NULL || (local = cJSON_Parse(text)) == NULL) {
		free(text);
		fprintf(stderr, "%s: %s\n", path, text == NULL ? err :
		    "not a JSON document");
		return 255;
	}
	free(text);
	it = cJSON_GetObjectItem(local, "destination_name");
	if (!cJSON_IsString(it))
		it = cJSON_GetObjectItem(local, "destination_type");
	*dest = xstrdup(cJSON_IsString(it) ? it->valuestring :
	    o->destination ? o->destination : "");
	it = cJSON_GetObjectItem(local, "dataset_name");
	*dataset = xstrdup(cJSON_IsString(it) ? it->valuestring :
	    o->dataset ? o->dataset : "");
	cJSON_Delete(local);
	printf("Dropping local state\n");
	return 1;
}

static int
sync_cmd(const struct popts *o, struct cfg *cfg, const char *pipelines_dir,
    const char *workdir)
{
	struct sync_ctx	 x = { o, cfg, cfg_workspace(cfg), workdir, NULL, NULL,
	    NULL };
	char		*path = xasprintf("%s/state.json", workdir);
	char		*dest = NULL, *dataset = NULL;
	int		 rc, found, has_local;
	struct stat	 st;

	x.err = xmalloc(ERR_MAX);
	has_local = stat(path, &st) == 0;
	rc = has_local ? local_destination(o, path, pipelines_dir, &dest,
	    &dataset, x.err) : ask_destination(o, workdir, &dest, &dataset);
	if (rc != 1)
		goto out;
	rc = 0;
	if (pl_connect(&x, dest, dataset) == -1) {
		rc = sync_failed(&x);
		goto out;
	}
	if (has_local) {
		wipe(workdir);
		printf("Restoring from destination\n");
	}
	found = restore(&x, dataset);
	x.ops->close(x.d);
	if (found == -1) {
		rc = sync_failed(&x);
		goto out;
	}
	if (found == 0) {
		wipe(workdir);
		printf("ERROR: Pipeline %s was not found in dataset %s in %s\n",
		    o->name, o->dataset ? o->dataset : "None",
		    o->destination ? o->destination : "None");
	}
out:
	free(dest);
	free(dataset);
	free(path);
	free(x.err);
	return rc;
}

void
pl_py_str(const cJSON *v, char *out, size_t n)
{
	struct buf	 b;
	const cJSON	*it;
	char		 one[1024];

	if (cJSON_IsString(v))
		snprintf(out, n, "%s", v->valuestring);
	else if (cJSON_IsBool(v))
		snprintf(out, n, "%s", cJSON_IsTrue(v) ? "True" : "False");
	else if (cJSON_IsNull(v))
		snprintf(out, n, "None");
	else if (cJSON_IsNumber(v))
		snprintf(out, n, "%.17g", v->valuedouble);
	else if (cJSON_IsArray(v)) {
		buf_init(&b, n);
		buf_printf(&b, "[");
		cJSON_ArrayForEach(it, v) {
			if (cJSON_IsString(it))
				sdk_pyrepr(one, sizeof(one), it->valuestring);
			else
				pl_py_str(it, one, sizeof(one));
			buf_printf(&b, "%s%s", it != v->child ? ", " : "", one);
		}
		buf_printf(&b, "]");
		snprintf(out, n, "%s", b.data != NULL ? b.data : "[]");
		buf_cleanup(&b);
	} else
		snprintf(out, n, "{...}");
}

char *
pl_py_list(const char *const *v, size_t n)
{
	struct buf	 b;
	char		 one[1024];

	buf_init(&b, 1u << 20);
	buf_printf(&b, "[");
	for (size_t i = 0; i < n; i++) {
		sdk_pyrepr(one, sizeof(one), v[i]);
		buf_printf(&b, "%s%s", i > 0 ? ", " : "", one);
	}
	buf_printf(&b, "]");
	return b.data;
}

cJSON *
pl_read_json(const char *path)
{
	char	 err[256], *text = read_file_max(path, 64u << 20, NULL, err,
	    sizeof(err));
	cJSON	*doc = text != NULL ? cJSON_Parse(text) : NULL;

	free(text);
	return doc;
}

int
pl_not_found(const struct popts *o, const char *workdir)
{
	fprintf(stderr, "Pipeline with `pipeline_name=%s` and "
	    "`pipelines_dir=%s` could not be restored: No local "
	    "pipeline state found in '%s'.\n", o->name, workdir, workdir);
	printf("Try command pfagent pipeline %s sync to restore the "
	    "pipeline state from destination\n", o->name);
	return 254;
}

/* Load ids (package folders) under dir, sorted; the count. */
static size_t
list_ids(const char *dir, char ***out)
{
	struct dirent	**ents;
	int		  n = scandir(dir, &ents, NULL, alphasort);
	size_t		  k = 0;

	*out = NULL;
	if (n < 0)
		return 0;
	*out = xcalloc((size_t)n + 1, sizeof(**out));
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.')
			(*out)[k++] = xstrdup(ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	return k;
}

static void
print_ids(const char *workdir, const char *sub, const char *what)
{
	char	*dir = xasprintf("%s/%s", workdir, sub), **ids;
	size_t	 n = list_ids(dir, &ids);

	if (n > 0) {
		printf("Has %zu %s with following load ids:\n", n, what);
		for (size_t i = 0; i < n; i++)
			printf("%s\n", ids[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(dir);
	if (n > 0 && strcmp(sub, "normalize/extracted") != 0)
		printf("\n");
}

/* A data table of dlt's schema: not a _dlt table, a complete column. */
static int
is_data_table(const cJSON *t)
{
	const cJSON	*c;

	if (t->string == NULL || strncmp(t->string, "_dlt", 4) == 0)
		return 0;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(t, "columns"))
		if (cJSON_IsString(cJSON_GetObjectItem(c, "data_type")))
			return 1;
	return 0;
}

/* The table and its nested tables (get_nested_tables), counted. */
static size_t
nested_count(const cJSON *tables, const char *name)
{
	const cJSON	*t, *parent;
	size_t		 n = 1;

	cJSON_ArrayForEach(t, tables) {
		parent = cJSON_GetObjectItem(t, "parent");
		if (is_data_table(t) && cJSON_IsString(parent) &&
		    strcmp(parent->valuestring, name) == 0)
			n += nested_count(tables, t->string);
	}
	return n;
}

/* dlt's "Resources in schema" lines, from the stored schema files. */
static void
print_resources(const cJSON *state, const char *workdir)
{
	const cJSON	*names = cJSON_GetObjectItem(state, "schema_names");
	const cJSON	*sources = cJSON_GetObjectItem(state, "sources");
	const cJSON	*name, *t, *res, *src;
	char		 err[256];

	if (!cJSON_IsString(cJSON_GetObjectItem(state,
	    "default_schema_name"))) {
		printf("WARNING: This pipeline does not have a default "
		    "schema\n");
		return;
	}
	cJSON_ArrayForEach(name, names) {
		char	*path, *text;
		cJSON	*schema;

		if (!cJSON_IsString(name))
			continue;
		printf("Resources in schema: %s\n", name->valuestring);
		path = xasprintf("%s/schemas/%s.schema.json", workdir,
		    name->valuestring);
		text = read_file_max(path, 64u << 20, NULL, err, sizeof(err));
		free(path);
		schema = text != NULL ? cJSON_Parse(text) : NULL;
		free(text);
		/* One schema: the first source's state, else the schema's. */
		src = cJSON_GetArraySize(names) == 1 && sources != NULL ?
		    sources->child : cJSON_GetObjectItem(sources,
		    name->valuestring);
		cJSON_ArrayForEach(t, cJSON_GetObjectItem(schema, "tables")) {
			const cJSON	*rs;

			res = cJSON_GetObjectItem(t, "resource");
			if (!is_data_table(t) || !cJSON_IsString(res))
				continue;
			rs = cJSON_GetObjectItem(cJSON_GetObjectItem(src,
			    "resources"), res->valuestring);
			printf("%s with %zu table(s) and %d resource state "
			    "slot(s)\n", res->valuestring, nested_count(
			    cJSON_GetObjectItem(schema, "tables"), t->string),
			    cJSON_IsObject(rs) ? cJSON_GetArraySize(rs) : 0);
		}
		cJSON_Delete(schema);
	}
}

/* dlt's `dlt pipeline NAME info` for a local pipeline. */
static int
info_cmd(const struct popts *o, const char *pipelines_dir,
    const char *workdir)
{
	char		*path = xasprintf("%s/state.json", workdir), *text;
	char		 err[512], val[4096];
	cJSON		*state;
	const cJSON	*it, *local, *sources;

	if ((text = read_file_max(path, 16u << 20, NULL, err,
	    sizeof(err))) == NULL || (state = cJSON_Parse(text)) == NULL) {
		free(text);
		free(path);
		return pl_not_found(o, workdir);
	}
	free(text);
	free(path);
	printf("Found pipeline %s in %s\nSynchronized state:\n", o->name,
	    pipelines_dir);
	cJSON_ArrayForEach(it, state)
		if (!cJSON_IsObject(it)) {
			pl_py_str(it, val, sizeof(val));
			printf("%s: %s\n", it->string, val);
		}
	sources = cJSON_GetObjectItem(state, "sources");
	if (cJSON_IsObject(sources)) {
		printf("\nsources:\n");
		if (o->verbose) {
			char	*s = cJSON_Print(sources);

			printf("%s\n", s);
			free(s);
		} else
			printf("Add -v option to see sources state. Note that "
			    "it could be large.\n");
	}
	printf("\nLocal state:\n");
	local = cJSON_GetObjectItem(state, "_local");
	cJSON_ArrayForEach(it, local) {
		if (cJSON_IsObject(it)) {
			const cJSON	*uri = cJSON_GetObjectItem(it, "uri");

			if (strcmp(it->string, "last_run_context") == 0 &&
			    cJSON_IsString(uri))
				printf("last_run_context['uri']: %s\n",
				    uri->valuestring);
			continue;
		}
		if (cJSON_IsNull(it))
			continue;
		pl_py_str(it, val, sizeof(val));
		printf("%s: %s\n", it->string, val);
	}
	printf("\n");
	print_resources(state, workdir);
	printf("\nWorking dir content:\n");
	print_ids(workdir, "normalize/extracted",
	    "extracted packages ready to be normalized");
	print_ids(workdir, "load/normalized",
	    "normalized packages ready to be loaded");
	print_ids(workdir, "load/loaded", "completed load packages");
	printf("Pipeline does not have last run trace.\n");
	cJSON_Delete(state);
	return 0;
}

static void
usage_pipeline(FILE *f)
{
	fprintf(f,
	    "usage: pfagent pipeline [-l | --list-pipelines]\n"
	    "       pfagent pipeline NAME [info] [-v]\n"
	    "       pfagent pipeline NAME sync [--destination D] "
	    "[--dataset-name S]\n"
	    "       pfagent pipeline NAME drop [RESOURCE|re:REGEX ...] "
	    "[--drop-all]\n"
	    "                 [--state-paths KEY ...] [--schema S] "
	    "[--state-only]\n"
	    "       pfagent pipeline NAME abort-packages | "
	    "drop-pending-packages\n"
	    "       pfagent pipeline NAME schema [--format yaml|json] "
	    "[--remove-defaults]\n"
	    "       pfagent pipeline NAME load-package [LOAD_ID] [-v]\n"
	    "       pfagent pipeline NAME failed-jobs [-v]\n"
	    "       pfagent pipeline NAME trace\n"
	    "       pfagent pipeline NAME show\n"
	    "options: --profile P (else WORKSPACE__PROFILE, the pin, dev), "
	    "-y/--yes accept\n"
	    "         confirmations, --non-interactive take their defaults "
	    "(also when\n"
	    "         stdin is no terminal)\n\n"
	    "-l    the pipelines in the profile's pipelines directory, newest "
	    "run first\n"
	    "info  the local pipeline: state, working dir, pending and "
	    "loaded packages\n"
	    "sync  checks the destination's credentials and the dataset "
	    "without loading\n"
	    "      anything and restores the pipeline's state from it, as "
	    "`dlt pipeline\n"
	    "      NAME sync`: exit 0 also when the pipeline is not in the "
	    "dataset (dlt's\n"
	    "      ERROR line), 255 when the destination cannot be reached or "
	    "configured\n"
	    "drop  drops the resources' tables (nested ones too) in the "
	    "destination,\n"
	    "      removes them from the schema and resets their state, in "
	    "one load after\n"
	    "      dlt's confirmation: the next run loads them from scratch\n"
	    "abort-packages  aborts the packages not loaded yet (the oldest "
	    "kept\n"
	    "      with its jobs failed) and rewinds the state and schema to "
	    "the\n"
	    "      destination's: a package that always fails stops blocking "
	    "the runs\n"
	    "      (drop-pending-packages: the same, with dlt's deprecation "
	    "warning)\n"
	    "schema  the default schema, as stored (YAML, or JSON)\n"
	    "load-package  a package's state and jobs (default: the newest)\n"
	    "failed-jobs  the failed jobs of the packages, with their errors\n"
	    "trace  the last run's steps (extract, normalize, load)\n"
	    "show  the tables with their row counts in the destination (no "
	    "dashboard)\n");
}

static int
parse_args(struct popts *o, int argc, char **argv, int *list)
{
	static const char *const ops[] = { "info", "sync", "drop",
	    "drop-pending-packages", "abort-packages", "schema", "load-package", "failed-jobs",
	    "trace", "show", NULL };

	o->args = xcalloc((size_t)argc + 1, sizeof(*o->args));
	o->state_paths = xcalloc((size_t)argc + 1, sizeof(*o->state_paths));
	for (int i = 0; i < argc; i++) {
		const char	*a = argv[i];

		if (!strcmp(a, "-y") || !strcmp(a, "--yes"))
			o->yes = 1;
		else if (!strcmp(a, "--non-interactive"))
			o->non_interactive = 1;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			o->verbose++;
		else if (!strcmp(a, "-l") || !strcmp(a, "--list-pipelines"))
			*list = 1;
		else if (!strcmp(a, "--drop-all"))
			o->drop_all = 1;
		else if (!strcmp(a, "--state-only"))
			o->state_only = 1;
		else if (!strcmp(a, "--remove-defaults"))
			;	/* dlt's default, always on */
		else if (!strcmp(a, "--state-paths"))
			/* nargs="*": the words up to the next option */
			while (i + 1 < argc && argv[i + 1][0] != '-')
				o->state_paths[o->nstate_paths++] = argv[++i];
		else if ((!strcmp(a, "--destination") ||
		    !strcmp(a, "--dataset-name") || !strcmp(a, "--profile") ||
		    !strcmp(a, "--schema") || !strcmp(a, "--format")) &&
		    i + 1 < argc) {
			const char	**to = !strcmp(a, "--destination") ?
			    &o->destination : !strcmp(a, "--dataset-name") ?
			    &o->dataset : !strcmp(a, "--profile") ? &o->profile :
			    !strcmp(a, "--schema") ? &o->schema : &o->format;

			*to = argv[++i];
		} else if (a[0] == '-') {
			fprintf(stderr, "pfagent pipeline: unknown option "
			    "'%s'\n", a);
			return 2;
		} else if (o->name == NULL)
			o->name = a;
		else if (o->op == NULL)
			o->op = a;
		else
			o->args[o->nargs++] = a;
	}
	if (o->op == NULL)
		o->op = "info";
	for (size_t i = 0; ops[i] != NULL; i++)
		if (!strcmp(o->op, ops[i]))
			return 0;
	fprintf(stderr, "pfagent pipeline: invalid choice: '%s'\n", o->op);
	return 2;
}

static int
dispatch(const struct popts *o, struct cfg *cfg, const char *dir,
    const char *work)
{
	if (!strcmp(o->op, "sync"))
		return sync_cmd(o, cfg, dir, work);
	if (!strcmp(o->op, "drop"))
		return pl_drop_cmd(o, cfg, dir, work);
	if (!strcmp(o->op, "drop-pending-packages") ||
	    !strcmp(o->op, "abort-packages"))
		return pl_drop_pending_cmd(o, cfg, dir, work);
	if (!strcmp(o->op, "schema"))
		return pl_schema_cmd(o, dir, work);
	if (!strcmp(o->op, "load-package"))
		return pl_load_package_cmd(o, dir, work);
	if (!strcmp(o->op, "failed-jobs"))
		return pl_failed_jobs_cmd(o, dir, work);
	if (!strcmp(o->op, "trace"))
		return pl_trace_cmd(o, dir, work);
	if (!strcmp(o->op, "show"))
		return pl_show_cmd(o, cfg, dir, work);
	return info_cmd(o, dir, work);
}

int
pipeline_main(int argc, char **argv)
{
	struct popts	 o = { 0 };
	struct cfg_opts	 co = { 0 };
	struct cfg	*cfg;
	char		*pipelines_dir, *workdir, err[4096];
	int		 rc, list = 0;

	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage_pipeline(stdout);
			return 0;
		}
	if ((rc = parse_args(&o, argc, argv, &list)) != 0) {
		usage_pipeline(stderr);
		goto out;
	}
	co.profile = o.profile;
	if ((cfg = cfg_new(&co, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pfagent pipeline: %s\n", err);
		rc = 2;
		goto out;
	}
	pipelines_dir = xasprintf("%s/pipelines", cfg_workspace(cfg)->data_dir);
	/* dlt: -l, or neither a name nor an operation, lists. */
	if (list || o.name == NULL) {
		rc = pl_list_cmd(pipelines_dir);
		free(pipelines_dir);
		cfg_free(cfg);
		goto out;
	}
	workdir = xasprintf("%s/%s", pipelines_dir, o.name);
	rc = dispatch(&o, cfg, pipelines_dir, workdir);
	free(workdir);
	free(pipelines_dir);
	cfg_free(cfg);
out:
	free(o.args);
	free(o.state_paths);
	return rc;
}

char **
pl_jobs(const char *pkg, const char *sub, int paths, size_t *n)
{
	char		*dir = xasprintf("%s/%s", pkg, sub);
	struct dirent	**ents;
	int		  k = scandir(dir, &ents, NULL, alphasort);
	char		**v = xcalloc(k > 0 ? (size_t)k + 1 : 1, sizeof(*v));

	*n = 0;
	for (int i = 0; i < k; i++) {
		const char	*name = ents[i]->d_name;
		size_t		 len = strlen(name);

		if (name[0] != '.' && (len < 10 ||
		    strcmp(name + len - 10, ".exception") != 0))
			v[(*n)++] = paths ? xasprintf("%s/%s", dir, name) :
			    xstrdup(name);
		free(ents[i]);
	}
	if (k > 0)
		free(ents);
	free(dir);
	return v;
}

void
pl_state_names(const cJSON *state, const char **dest, const char **dataset,
    const char **schema)
{
	*dest = json_str(state, "destination_name");
	*dataset = json_str(state, "dataset_name");
	*schema = json_str(state, "default_schema_name");
}
