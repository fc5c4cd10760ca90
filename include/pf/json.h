/*
 * pf/json.h: JSON values of the SDK (pf_http's answers and items, the
 * rows a flow builds for pf_resource_item), read through accessors so a
 * flow needs no JSON library of its own and pfagent may change its own.
 *
 *	const pf_json *rates = pf_json_get(body, "rates"), *r;
 *
 *	PF_JSON_EACH(r, rates)
 *		pf_log_info(run, "%s: %g", pf_json_key(r), pf_json_number(r));
 *
 * Values handed to a callback are borrowed for the call; a value from
 * pf_json_parse, pf_json_object or pf_http_get_json is the caller's, freed
 * with pf_json_free. Accessors take NULL and answer "none" (NULL, 0,
 * PF_JSON_NONE), so lookups chain without checks in between. Numbers are
 * doubles; where exact digits matter, use the JSON text (pf_http_item's
 * json). Not thread-safe per value.
 */
#ifndef PF_JSON_H
#define PF_JSON_H

#include <pf/flow.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_json pf_json;

typedef enum pf_json_type {
	PF_JSON_NONE,		/* no value (NULL) */
	PF_JSON_NULL,
	PF_JSON_FALSE,
	PF_JSON_TRUE,
	PF_JSON_NUMBER,
	PF_JSON_STRING,
	PF_JSON_ARRAY,
	PF_JSON_OBJECT
} pf_json_type;

/** Parses JSON text (len -1: NUL-terminated); NULL: pf_last_error(). */
pf_json		*pf_json_parse(const char *text, long len);
void		 pf_json_free(pf_json *v);

pf_json_type	 pf_json_kind(const pf_json *v);
/** A member of an object by key (case-sensitive), or NULL. */
const pf_json	*pf_json_get(const pf_json *object, const char *key);
/** The string, or NULL when v is not one. */
const char	*pf_json_string(const pf_json *v);
/** The number, or 0 when v is not one. */
double		 pf_json_number(const pf_json *v);

/**
 * The first element of an array or member of an object (NULL when
 * empty or not one), then the next; a member's key is pf_json_key's.
 */
const pf_json	*pf_json_first(const pf_json *v);
const pf_json	*pf_json_next(const pf_json *v);
const char	*pf_json_key(const pf_json *member);
#define PF_JSON_EACH(el, v) \
	for ((el) = pf_json_first(v); (el) != NULL; (el) = pf_json_next(el))

/**
 * A new empty object (for pf_resource_item rows), and setting its
 * members (replacing one of the same key). PF_OK or PF_ERROR.
 */
pf_json		*pf_json_object(void);
int		 pf_json_set_string(pf_json *object, const char *key,
		    const char *value);
int		 pf_json_set_number(pf_json *object, const char *key,
		    double value);

#ifdef __cplusplus
}
#endif

#endif
