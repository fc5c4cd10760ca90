/*
 * load/normalize.h: dlt's relational normalizer
 * (dlt/common/normalizers/json/relational.py and
 * dlt/normalize/items_normalizers/jsonl.py): data items of a root table
 * become rows of that table and of its child tables, one job file
 * (jsonl) per table, while the schema grows columns and tables.
 *
 * Per item, as dlt: keys are normalized to snake_case; nested objects
 * are flattened into "a__b" columns and lists go to child tables
 * "<table>__<key>" (rows with _dlt_parent_id, _dlt_list_idx, and
 * _dlt_root_id under a merge root), both down to the root table's
 * max_nesting, below which values are kept whole as json; root rows get
 * _dlt_load_id and a random _dlt_id, child rows a _dlt_id hashed from
 * the parent's id, their table and position. Values are coerced into
 * the types of existing columns; a value that cannot be goes to a
 * variant column "<col>__v_<type>"; null-only columns are not created.
 */
#ifndef LOAD_NORMALIZE_H
#define LOAD_NORMALIZE_H

#include <stddef.h>

#include "load/jsonv.h"
#include "load/schema.h"

struct ld_normalizer;

/*
 * A normalizer writing the job files of load load_id into jobs_dir,
 * growing schema s (borrowed). max_ident: the destination's longest
 * identifier (0: none).
 */
struct ld_normalizer *ld_norm_new(struct ld_schema *s, const char *load_id,
		    const char *jobs_dir, size_t max_ident);
/*
 * Normalizes one item (JSON text) of root table `table` (which must be
 * in the schema). -1 with err on bad JSON or a value that fits no
 * column (dlt's CannotCoerceColumnException).
 */
int		 ld_norm_item(struct ld_normalizer *, const char *table,
		    const char *json, size_t len, char *err, size_t errlen);
/* ld_norm_item of an item parsed already (load/jsonl.h reads ahead). */
int		 ld_norm_value(struct ld_normalizer *, const char *table,
		    const struct jv *item, char *err, size_t errlen);
/* Flushes and syncs every job file; -1 with err on a write error. */
int		 ld_norm_finish(struct ld_normalizer *, char *err,
		    size_t errlen);
/* Rows written to a table's job so far. */
long long	 ld_norm_rows(const struct ld_normalizer *, const char *table);
void		 ld_norm_free(struct ld_normalizer *);

#endif
