/*
 * deploy_diff.h: what `pfagent deploy` compares. The deployment a
 * prefect.yaml wants against the one the server has, field by field as
 * the API stores them (null as an empty value, the pool's default queue
 * as no queue, schedules in any order with ids ignored), and the plan
 * that makes the server's schedules the file's in a PATCH. No I/O.
 */
#ifndef CLI_DEPLOY_DIFF_H
#define CLI_DEPLOY_DIFF_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* One deployment, both sides. Borrowed: the caller keeps them. */
struct deploy_pair {
	const cJSON	*config;	/* the file's, before templating */
	const cJSON	*spec;		/* DeploymentCreate without flow_id */
	const cJSON	*current;	/* the server's deployment, or NULL */
	const char	*default_queue;	/* name of the pool's default queue */
	int		 has_paused;	/* else paused is left as it is */
	int		 has_schedules;	/* else schedules are left alone */
};

/* A field of a deployment that pfagent deploy writes. */
struct deploy_field {
	const char	*key;		/* in the API's deployment objects */
	const char	*src, *sub;	/* in the config; NULL: not from it */
	/* The server's value as comparable with the spec's; new tree. */
	cJSON		*(*have)(const struct deploy_pair *, const char *);
};

#define DEPLOY_NFIELDS	15

/* The DEPLOY_NFIELDS fields, in the order they are shown. */
extern const struct deploy_field *const deploy_fields;

/* The node of the untemplated config a field comes from, or NULL. */
const cJSON	*deploy_field_source(const struct deploy_field *,
		    const cJSON *config);

/* A field where the server differs from the spec. */
struct deploy_change {
	const struct deploy_field *f;
	cJSON			*old, *new;	/* as shown; owned */
};

/*
 * Fills out, which holds DEPLOY_NFIELDS, with the fields where
 * p->current differs from p->spec; paused and schedules only when the
 * file sets them. Returns how many; free them with deploy_changes_free().
 */
size_t	deploy_diff(const struct deploy_pair *p, struct deploy_change *out);
void	deploy_changes_free(struct deploy_change *, size_t n);

/* Whether schedule w of the file is h of the server (ids ignored). */
int	deploy_same_schedule(const cJSON *w, const cJSON *h);
/* Whether list holds a schedule that is w. */
int	deploy_has_schedule(const cJSON *w, const cJSON *list);

/*
 * How to turn the server's schedules (have) into the file's (want):
 * *send, new, is what the PATCH carries (NULL: no "schedules" key);
 * *drop, new, the ids of schedules to DELETE, before the PATCH when
 * *drop_first, else after it.
 */
void	deploy_plan_schedules(const cJSON *want, const cJSON *have,
	    cJSON **send, cJSON **drop, int *drop_first);

/*
 * Older servers refuse inputs they do not know as extra (a 422 whose
 * detail has "extra_forbidden" at ["body", ...]): Prefect 3.0.0 refuses
 * concurrency_options, 3.0 schedules[].slug, .parameters and .replaces,
 * 3.4 schedules[].replaces. Removes each from body (a request body the
 * answer refused) and appends to lost, an array, the name of each that
 * held a value ("schedules[0].slug"). Returns how many were removed.
 */
int	deploy_drop_refused(cJSON *body, const cJSON *answer, cJSON *lost);

#endif
