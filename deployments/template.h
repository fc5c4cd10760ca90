/*
 * template.h: Prefect's "{{ name }}" templating, rule for rule.
 *
 * Not Jinja: placeholders match {{\s*([\w\.\-\[\]$]+)\s*}} and are
 * replaced from a values tree (step outputs, job variables), from the
 * environment ({{ $VAR }}), from block documents
 * ({{ prefect.blocks.<slug>.<name>[.<keypath>] }}) or from variables
 * ({{ prefect.variables.<name> }}).  The rules follow
 * prefect/utilities/templating/__init__.py in Prefect 3: apply_values,
 * resolve_block_document_references and resolve_variables.  Blocks and
 * variables are fetched through caller-supplied callbacks, since the
 * API client lives elsewhere.  No function modifies its input tree.
 */
#ifndef DEPLOYMENTS_TEMPLATE_H
#define DEPLOYMENTS_TEMPLATE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Longest string a substitution may produce. */
#define TEMPLATE_MAX_STRING	(16u * 1024 * 1024)

enum template_kind {
	TEMPLATE_STANDARD,	/* {{ name }} or {{ step.key[0] }} */
	TEMPLATE_BLOCK,		/* {{ prefect.blocks.slug.name... }} */
	TEMPLATE_VARIABLE,	/* {{ prefect.variables.name }} */
	TEMPLATE_ENV		/* {{ $NAME }} */
};

/* One placeholder found in a string, as byte offsets into it. */
struct template_match {
	size_t			 start, len;		/* "{{ ... }}" */
	size_t			 name_start, name_len;	/* inside it */
	enum template_kind	 kind;
};

/*
 * Finds the first placeholder in s[from..len), like re.search.
 * Returns 1 and fills *m, or 0 when there is none.
 */
int	template_next(const char *s, size_t len, size_t from,
	    struct template_match *m);

struct template_opts {
	/* Placeholders whose names start with one of these stay as
	 * they are (Prefect passes "ctx." at deploy time). */
	const char *const	*skip_prefixes;	/* NULL-terminated */
	/* Environment for {{ $VAR }}; NULL means the process's. */
	char *const		*envp;
};

/*
 * apply_values: replaces standard and $ENV placeholders in tmpl from
 * values (any JSON; NULL counts as {}).  A string that is exactly one
 * standard placeholder becomes the raw value (any type).  A missing
 * value makes it "not set": its object key is dropped when
 * remove_notset, kept as written otherwise; in an array it is always
 * dropped (Prefect does the same).  Inside longer strings values are
 * rendered with Python's str() and missing ones become "" when
 * remove_notset, else stay.  Block and variable placeholders are left
 * for the resolvers below.  opts may be NULL.
 *
 * On success returns 0 and *out is a new tree owned by the caller, or
 * NULL when tmpl itself is "not set".  On error returns -1 with err.
 */
int	template_apply_values(const cJSON *tmpl, const cJSON *values,
	    int remove_notset, const struct template_opts *opts, cJSON **out,
	    char *err, size_t errlen);

/*
 * Callbacks into the API client.  Each returns 0 and a new tree in *out
 * (ownership passes to the template module), 1 when the object does
 * not exist, or -1 with a message in err.
 *   block:	  GET /block_types/slug/{slug}/block_documents/name/{name}
 *		  ?include_secrets=true, giving the document's "data".
 *   block_by_id: GET /block_documents/{id}, giving its "data".
 *   variable:	  GET /variables/name/{name}, giving its "value".
 */
typedef int	(*template_block_fn)(const char *slug, const char *name,
		    cJSON **out, char *err, size_t errlen, void *payload);
typedef int	(*template_block_id_fn)(const char *id, cJSON **out,
		    char *err, size_t errlen, void *payload);
typedef int	(*template_variable_fn)(const char *name, cJSON **out,
		    char *err, size_t errlen, void *payload);

struct template_resolver {
	template_block_fn	 block;		/* NULL: blocks are errors */
	template_block_id_fn	 block_by_id;	/* NULL: $ref is an error */
	template_variable_fn	 variable;	/* NULL: variables are errors */
	void			*payload;
};

/*
 * resolve_block_document_references: replaces block placeholders and
 * {"$ref": {"block_document_id": id}} objects.  A whole-string
 * placeholder becomes the raw value; embedded ones must resolve to a
 * scalar.  Data that is a single "value" key is unwrapped unless the
 * keypath starts with "value".  A missing block, a bad keypath or a
 * reference with fewer than two parts is an error naming the
 * reference.  Each block is fetched once per call.  *out is new.
 */
int	template_resolve_blocks(const cJSON *tmpl,
	    const struct template_resolver *r, cJSON **out, char *err,
	    size_t errlen);

/*
 * resolve_variables: replaces variable placeholders; whole-string ones
 * become the raw value, embedded ones its str(); a missing variable is
 * "".  Each variable is fetched once per call.  *out is new.
 */
int	template_resolve_variables(const cJSON *tmpl,
	    const struct template_resolver *r, cJSON **out, char *err,
	    size_t errlen);

/*
 * Told the text of a placeholder that had no value: "{{ $NAME }}" of an
 * unset environment variable, "{{ prefect.variables.name }}" of a
 * missing variable (each becomes "" as in Prefect).
 */
typedef void	(*template_notset_fn)(const char *placeholder, void *arg);

/*
 * The four passes run_step applies to a step's inputs (the caller has
 * already removed "id" and "requires"): upstream outputs and $ENV,
 * blocks, variables, then the environment as values.  notset (may be
 * NULL) is told of each unset $ENV and missing variable.  *out is new.
 */
int	template_step_inputs(const cJSON *inputs, const cJSON *upstream,
	    const struct template_resolver *r, char *const *envp,
	    template_notset_fn notset, void *notset_arg, cJSON **out,
	    char *err, size_t errlen);

/*
 * What prefect deploy does to a deployment's config before running
 * build steps: blocks, variables, then the environment as values with
 * remove_notset off.  *out is new.
 */
int	template_deploy_config(const cJSON *config,
	    const struct template_resolver *r, char *const *envp, cJSON **out,
	    char *err, size_t errlen);

/*
 * The environment (envp, or the process's when NULL) as an object, the
 * first of duplicate names winning as in os.environ.  New tree, or
 * NULL when out of memory.
 */
cJSON	*template_env_object(char *const *envp);

/*
 * Python's str() of v as a new string the caller frees: "True", "None",
 * "1.0" for floats marked YDOC_CJSON_FLOAT, "{'a': [1, 'x']}".  NULL
 * when out of memory or longer than TEMPLATE_MAX_STRING.
 */
char	*template_py_str(const cJSON *v);

#endif
