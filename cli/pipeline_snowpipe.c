/*
 * pipeline_snowpipe.c: `pfagent pipeline NAME snowpipe ddl`, the
 * Snowflake side of a lake's Snowpipe from the same source of truth as
 * the lake: the pipeline's schema (local, else the one stored in the
 * lake) and [destination.<name>] / [destination.<name>.snowpipe]. One
 * statement a line, each ending in ";": the file format, the external
 * stage on the dataset's folder of bucket_url, the table (dlt's DDL for
 * Snowflake) and the pipe, whose COPY takes each column from the JSON
 * row by name ($1:"name"::TYPE) as dlt's jsonl files hold them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cli/pipeline_int.h"
#include "common/buf.h"
#include "common/util.h"
#include "config/cfg.h"
#include "load/destination.h"
#include "load/filesystem.h"
#include "load/loader.h"
#include "load/schema.h"
#include "load/sql.h"

static char *
setting(struct cfg *cfg, const char *dest, const char *key)
{
	struct cfg_value v;
	char		*dotted = xasprintf("destination.%s.%s", dest, key);
	char		 err[1024], *s = NULL;

	if (cfg_get(cfg, dotted, CFG_OPTIONAL, &v, err, sizeof(err)) == 0) {
		if (cfg_value_str(&v) != NULL && *cfg_value_str(&v))
			s = xstrdup(cfg_value_str(&v));
		cfg_value_cleanup(&v);
	}
	free(dotted);
	return s;
}

/* The pipeline's schema: the working dir's, else the lake's. */
static struct ld_schema *
find_schema(struct sync_ctx *x, const char *dest, const char *dataset)
{
	char			*path, *state = NULL, *text = NULL;
	cJSON			*doc;
	struct ld_schema	*s = NULL;

	path = xasprintf("%s/schemas/%s.schema.json", x->workdir, x->o->name);
	doc = pl_read_json(path);
	free(path);
	if (doc == NULL) {
		if (pl_connect(x, dest, dataset) == -1 ||
		    ld_restore(x->d, dataset, x->o->name, x->o->name, &state,
		    &text, x->err, PL_ERR_MAX) == -1)
			return NULL;
		doc = text != NULL ? cJSON_Parse(text) : NULL;
		free(state);
		free(text);
		if (doc == NULL) {
			errorf(x->err, PL_ERR_MAX, "pipeline %s has no schema "
			    "here nor in %s.%s: run it once first", x->o->name,
			    dest, dataset);
			return NULL;
		}
	}
	s = ld_schema_from_json(doc, x->err, PL_ERR_MAX);
	cJSON_Delete(doc);
	return s;
}

static char *
stage_url(const char *bucket_url, const char *dataset)
{
	size_t	n = strlen(bucket_url);

	while (n > 0 && bucket_url[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s/", (int)n, bucket_url, dataset);
}

/* COPY INTO t (cols) FROM (SELECT $1:"col"::TYPE, ... FROM @stage/p). */
static char *
pipe_copy(const struct ld_dialect *dl, const char *dataset,
    const struct ld_table *t, const char *stage, const char *prefix)
{
	struct buf	 b;
	char		*q = ld_sql_qualified(dl, dataset, t->name);

	buf_init(&b, (size_t)-1);
	buf_printf(&b, "COPY INTO %s (", q);
	for (size_t i = 0; i < t->ncols; i++) {
		char	*id = ld_sql_ident(dl, t->cols[i]->name);

		buf_printf(&b, "%s%s", i ? ", " : "", id);
		free(id);
	}
	buf_printf(&b, ") FROM (SELECT ");
	for (size_t i = 0; i < t->ncols; i++) {
		char	*type = ld_sql_type(dl, t->cols[i]);

		/* JSON keys keep dlt's (normalized) case. */
		buf_printf(&b, "%s$1:\"%s\"::%s", i ? ", " : "",
		    t->cols[i]->name, type);
		free(type);
	}
	buf_printf(&b, " FROM @%s/%s)", stage, prefix);
	free(q);
	return buf_steal(&b);
}

static int
print_ddl(struct sync_ctx *x, const struct ld_schema *s, const char *dest,
    const char *dataset, const char *bucket_url)
{
	const struct ld_dialect	*dl = ld_dest_find("snowflake")->dialect;
	char	*table = setting(x->cfg, dest, "snowpipe.table");
	char	*pipe = setting(x->cfg, dest, "snowpipe.pipe");
	char	*mode = setting(x->cfg, dest, "snowpipe.mode");
	char	*integ = setting(x->cfg, dest, "snowpipe.storage_integration");
	char	*layout = setting(x->cfg, dest, "layout");
	char	*ds = ld_sql_ident(dl, dataset), *ff, *stage, *url, *prefix,
		*ddl, *copy;
	const struct ld_table *t;
	int	 rc = -1;

	if (table == NULL || pipe == NULL ||
	    (t = ld_schema_table(s, table)) == NULL) {
		errorf(x->err, PL_ERR_MAX, "destination.%s.snowpipe needs pipe "
		    "and table (a table of pipeline %s's schema)", dest,
		    x->o->name);
		goto out;
	}
	prefix = ld_fs_table_prefix(layout ? layout :
	    "{table_name}/{load_id}.{file_id}.{ext}", s->name, t->name,
	    x->err, PL_ERR_MAX);
	if (prefix == NULL)
		goto out;
	ff = xasprintf("%s.\"DLT_JSONL\"", ds);
	stage = xasprintf("%s.\"%s\"", ds, "LAKE_STAGE");
	url = stage_url(bucket_url, dataset);
	printf("-- pfagent pipeline %s snowpipe ddl: %s.%s from %s%s\n",
	    x->o->name, dataset, t->name, url, prefix);
	ddl = ld_sql_create_dataset(dl, dataset);
	printf("%s;\n", ddl);
	free(ddl);
	printf("CREATE FILE FORMAT IF NOT EXISTS %s TYPE = JSON COMPRESSION "
	    "= AUTO;\n", ff);
	printf("CREATE STAGE IF NOT EXISTS %s URL = '%s'%s%s FILE_FORMAT = "
	    "%s;\n", stage, url, integ ? " STORAGE_INTEGRATION = " : "",
	    integ ? integ : "", ff);
	ddl = ld_sql_table_ddl(dl, dataset, t, 0);
	if (strncasecmp(ddl, "CREATE TABLE ", 13) == 0)
		printf("CREATE TABLE IF NOT EXISTS %s;\n", ddl + 13);
	else
		printf("%s;\n", ddl);
	copy = pipe_copy(dl, dataset, t, stage, prefix);
	printf("CREATE PIPE IF NOT EXISTS %s AUTO_INGEST = %s AS %s "
	    "FILE_FORMAT = (FORMAT_NAME = '%s');\n", pipe,
	    mode != NULL && strcmp(mode, "auto_ingest") == 0 ? "TRUE" :
	    "FALSE", copy, ff);
	free(ddl);
	free(copy);
	free(ff);
	free(stage);
	free(url);
	free(prefix);
	rc = 0;
out:
	free(table);
	free(pipe);
	free(mode);
	free(integ);
	free(layout);
	free(ds);
	return rc;
}

int
pl_snowpipe_cmd(const struct popts *o, struct cfg *cfg, const char *dir,
    const char *workdir)
{
	struct sync_ctx		 x = { 0 };
	struct ld_schema	*s = NULL;
	const char		*dest, *dataset, *sd = NULL, *sds = NULL,
				*ss = NULL;
	char			*bucket_url = NULL;
	cJSON			*state;
	int			 rc = 1;

	(void)dir;
	if (o->nargs != 1 || strcmp(o->args[0], "ddl") != 0) {
		fprintf(stderr, "pfagent pipeline: usage: pfagent pipeline "
		    "NAME snowpipe ddl [--destination D] [--dataset-name "
		    "S]\n");
		return 2;
	}
	x.o = o;
	x.cfg = cfg;
	x.ws = cfg_workspace(cfg);
	x.workdir = workdir;
	x.err = xcalloc(1, PL_ERR_MAX);
	bucket_url = xasprintf("%s/state.json", workdir);
	state = pl_read_json(bucket_url);
	free(bucket_url);
	bucket_url = NULL;
	pl_state_names(state, &sd, &sds, &ss);
	dest = o->destination ? o->destination : sd ? sd : "lake";
	dataset = o->dataset ? o->dataset : sds ? sds : NULL;
	if (dataset == NULL)
		errorf(x.err, PL_ERR_MAX, "no dataset: give --dataset-name");
	else if ((bucket_url = setting(cfg, dest, "bucket_url")) == NULL)
		errorf(x.err, PL_ERR_MAX, "destination.%s.bucket_url is not "
		    "set: the lake the stage reads", dest);
	else if ((s = find_schema(&x, dest, dataset)) != NULL &&
	    print_ddl(&x, s, dest, dataset, bucket_url) == 0)
		rc = 0;
	if (rc != 0)
		fprintf(stderr, "pfagent pipeline %s snowpipe ddl: %s\n",
		    o->name, x.err);
	ld_schema_free(s);
	if (x.d != NULL)
		x.d->ops->close(x.d);
	cJSON_Delete(state);
	free(bucket_url);
	free(x.err);
	return rc;
}
