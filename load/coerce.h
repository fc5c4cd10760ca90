/*
 * load/coerce.h: dlt's type inference and coercions of item values
 * (dlt/common/data_types/type_helpers.py, schema/detections.py): which
 * dlt type a JSON value has, whether a string is an ISO timestamp, and
 * the value rendered for a column of another type, as the JSON
 * fragment a job file holds.
 */
#ifndef LOAD_COERCE_H
#define LOAD_COERCE_H

#include "load/jsonv.h"
#include "load/schema.h"

/* The dlt type of a JSON value as Python would have it (not null). */
enum ld_type	ld_py_type(const struct jv *);

/*
 * The type a new column gets for v: "iso_timestamp" detection (a
 * string that parses as an ISO date-time), else ld_py_type.
 */
enum ld_type	ld_infer_type(const struct jv *);

/*
 * Appends v, coerced from its own type to column type to, as a JSON
 * fragment. Returns 0, or -1 when dlt's coercion would fail (the
 * caller makes a variant column); out is then as it was.
 */
int	ld_coerce(struct buf *out, enum ld_type to, const struct jv *v);

/*
 * Parses an ISO 8601 date-time as pendulum does for dlt (date, "T" or
 * " ", time of 1 to 3 parts with fraction, "Z" or an offset; basic
 * formats too). *epoch_us gets UTC microseconds. Returns 1 for a
 * date-time, 2 for a date only, 0 for neither.
 */
int	ld_parse_iso(const char *s, size_t len, long long *epoch_us);
/* Writes epoch microseconds as "2024-01-15T10:00:00.5+00:00". */
void	ld_format_ts(char out[64], long long epoch_us);

#endif
