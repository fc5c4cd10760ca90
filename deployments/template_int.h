/*
 * template_int.h: what the parts of Prefect's templating share.
 *
 *   template_text.c  UTF-8, placeholders, Python str()
 *   template.c       apply_values (values tree, environment), the passes
 *   template_refs.c  block and variable references, resolved through
 *                    the caller's callbacks
 */
#ifndef DEPLOYMENTS_TEMPLATE_INT_H
#define DEPLOYMENTS_TEMPLATE_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "deployments/template.h"

#define BLOCK_PREFIX	"prefect.blocks."
#define VAR_PREFIX	"prefect.variables."

/*
 * Templated strings are built in a struct buf of at most TPL_MAX bytes
 * (TEMPLATE_MAX_STRING counts the NUL); buf_finish gives NULL when an
 * append was refused, over the cap or out of memory.
 */
#define TPL_MAX		(TEMPLATE_MAX_STRING - 1)

/* Appends an embedded placeholder's replacement to the string. */
typedef int (*embed_fn)(void *ctx, struct buf *, const char *,
    const struct template_match *);

/* template_text.c */

size_t	tpl_utf8_next(const char *s, size_t len, size_t i, unsigned *cp);
int	tpl_has_prefix(const char *s, size_t len, const char *prefix);
void	tpl_py_str(struct buf *b, const cJSON *v);

/* template.c */

int	tpl_lookup(const cJSON *root, const char *path, size_t len,
	    cJSON **out);
int	tpl_rebuild(const char *s, embed_fn fn, void *ctx, cJSON **out,
	    char *err, size_t errlen);
int	tpl_add_member(cJSON *obj, const cJSON *from, cJSON *v);
int	tpl_apply_values(const cJSON *tmpl, const cJSON *values,
	    int remove_notset, const struct template_opts *opts,
	    template_notset_fn notset, void *arg, cJSON **out, char *err,
	    size_t errlen);

/* template_refs.c */

int	tpl_resolve_variables(const cJSON *tmpl,
	    const struct template_resolver *r, template_notset_fn notset,
	    void *arg, cJSON **out, char *err, size_t errlen);

#endif
