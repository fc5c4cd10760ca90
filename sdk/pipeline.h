/*
 * sdk/pipeline.h: the pipeline and resource handles of pf/flow.h's
 * loading API, shared by pipeline.c (opening, resources, extract) and
 * steps.c (normalize, load). Not installed.
 */
#ifndef SDK_PIPELINE_H
#define SDK_PIPELINE_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "load/destination.h"
#include "load/jsonv.h"
#include "load/schema.h"
#include "pf/pf.h"

struct pf_resource {
	struct pf_pipeline	*p;
	char			*name;		/* as declared */
	char			*table;		/* its root table */
	FILE			*f;		/* extract file */
	char			*cursor_path;
	cJSON			*cursor_last;	/* largest seen */
	char			*cursor_text;
	char			*state_text;	/* pf_resource_state's */
	long long		 items;		/* given, for messages */
	struct pf_resource	*next;
};

struct pf_pipeline {
	pf_run			*run;
	char			*name, *dest_name, *dest_type, *dataset;
	char			*root;		/* working dir */
	char			*local_dir;
	const struct ld_dest_ops *ops;
	struct ld_dest		*dest;
	struct ld_schema	*schema;
	cJSON			*state;
	struct pf_resource	*resources;
	char			 load_id[32];	/* open extract */
	char			*extract_dir;	/* its hidden dir */
	char			*error;
	cJSON			*info;
	char			*info_text;
	struct jv_arena		 arena;
	struct buf		 line;
};

/* Records the pipeline's failure (the first one) and logs it. */
int	ld_pipeline_fail(pf_pipeline *p, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Non-zero when p is NULL (pf_last_error() stays the failure that made
 * it) or has failed (pf_last_error() set again to its failure): later
 * calls fail at once with the same message.
 */
int	ld_pipeline_failed(const pf_pipeline *p);
/* The resource's state object, in the pipeline state, made if new. */
cJSON	*ld_resource_state(pf_resource *r);
/* Connects to the destination once (steps.c). */
int	ld_pipeline_connect(pf_pipeline *p);
/* State and schema from the destination, for a new working directory. */
int	ld_pipeline_restore(pf_pipeline *p);
/* Writes the schema to <root>/schemas/<name>.schema.json. */
int	ld_pipeline_save_schema(pf_pipeline *p);

#endif
