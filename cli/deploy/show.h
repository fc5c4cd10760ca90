/*
 * deploy_show.h: what `pfagent deploy` prints about a deployment (the
 * fields an update changes, the fields a create would send under
 * --dry-run) and what it never prints: strings that came from block
 * documents. Those are collected as templating fetches the blocks and
 * masked in everything shown, error messages included.
 */
#ifndef CLI_DEPLOY_SHOW_H
#define CLI_DEPLOY_SHOW_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cli/deploy/diff.h"

/* Strings that came from block documents. Zeroed is empty. */
struct deploy_secrets {
	char	**v;
	size_t	  n;
};

/* Adds every non-empty string in v (any JSON) once. */
void	deploy_secrets_add(struct deploy_secrets *, const cJSON *v);
/* Wipes and frees the strings; s is empty again. */
void	deploy_secrets_cleanup(struct deploy_secrets *s);
/* text with every secret replaced by "***"; new string. */
char	*deploy_secrets_redact(const struct deploy_secrets *,
	    const char *text);

/* "a, b, c": the keys of the changed fields; new string. */
char	*deploy_show_names(const struct deploy_change *, size_t n);
/*
 * Prints a change to stdout, "    key: old -> new", schedules as the
 * ones removed and added; a field that uses a block (p->config) or
 * holds a secret only as changed.
 */
void	deploy_show_change(const struct deploy_pair *p,
	    const struct deploy_change *, const struct deploy_secrets *);
/* Prints what a create would send, field by field, the same way. */
void	deploy_show_spec(const struct deploy_pair *p,
	    const struct deploy_secrets *);

#endif
