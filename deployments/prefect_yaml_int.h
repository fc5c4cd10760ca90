/*
 * prefect_yaml_int.h: what the parts of the prefect.yaml loader share.
 *
 *   prefect_yaml_check.c  validation with file positions, normalised configs
 *   prefect_yaml_msgs.c   its positioned errors and warnings
 *   prefect_yaml_time.c   anchor dates, durations, cron strings
 *   prefect_yaml_body.c   schedule and concurrency request bodies
 *   prefect_yaml.c        loading, effective steps, the loaded file
 */
#ifndef DEPLOYMENTS_PREFECT_YAML_INT_H
#define DEPLOYMENTS_PREFECT_YAML_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "deployments/prefect_yaml.h"

#define MAX_RRULE	6500

/* Validation state: messages collected while walking the document. */
struct vctx {
	const struct ydoc	*doc;
	const char		*file;
	struct pf_msgs		*warn;
	struct buf		 errs;	/* errors, '\n'-separated */
	size_t			 nerr;
	int			 oom;
};

/* obj's member key, NULL when obj is not a mapping or has none. */
static inline const cJSON *
get(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ?
	    cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* prefect_yaml_msgs.c */

/*
 * An error at node, an error about a mapping key (placed at the key) and
 * a warning (placed at the key, since it is about the key); path labels
 * them.
 */
void	 pyaml_err(struct vctx *v, const cJSON *node, const char *path,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 pyaml_err_key(struct vctx *v, const cJSON *node, const char *path,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	 pyaml_warn(struct vctx *v, const cJSON *node, const char *path,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* path + "." + key (key alone at the top), path + "[i]": into buf. */
const char *pyaml_sub(char *buf, size_t len, const char *path,
	    const char *key);
const char *pyaml_idx(char *buf, size_t len, const char *path, size_t i);

/* prefect_yaml_check.c */

/* Adds item (owned) to obj; on failure frees it and sets v->oom. */
void	 pyaml_put(struct vctx *v, cJSON *obj, const char *key,
	    cJSON *item);
/* pydantic's lax bool and int; -1 when n cannot be one. */
int	 pyaml_lax_bool(const cJSON *n, int *b);
int	 pyaml_lax_int(const cJSON *n, long long *out);
/* ENQUEUE or CANCEL_NEW. */
int	 pyaml_strategy_ok(const char *s);
/* The top-level keys (name, prefect-version, steps) into top. */
void	 pyaml_check_top(struct vctx *v, const cJSON *root, cJSON *top);
/* A deployment's normalised config, or NULL (errors in v). */
cJSON	*pyaml_check_deployment(struct vctx *v, const cJSON *dep,
	    const char *path);

/* prefect_yaml_time.c */

/* An anchor date as Prefect's JSON shows it; -1 when not ISO 8601. */
int	 pyaml_normalize_anchor(const char *s, char *out, size_t len);
/* An interval value: number of seconds or a duration string. */
int	 pyaml_interval_secs(const cJSON *n, double *secs);
/* 1 when s has a cron string's shape; else 0 and *why says why not. */
int	 pyaml_cron_ok(const char *s, const char **why);

#endif
