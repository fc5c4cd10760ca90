/*
 * snowflake/arrow_cell.h: what arrow.c and arrow_cell.c share: a
 * column's plan (its Snowflake type and how its Arrow values are read)
 * and its buffers in the current record batch. Internal to snowflake/.
 */
#ifndef SNOWFLAKE_ARROW_CELL_H
#define SNOWFLAKE_ARROW_CELL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "snowflake/arrow_flatbuf.h"

/* Snowflake's logical types. */
enum sft {
	SF_FIXED, SF_REAL, SF_TEXT, SF_VARIANT, SF_OBJECT, SF_ARRAY,
	SF_BINARY, SF_BOOLEAN, SF_DATE, SF_TIME, SF_TS_NTZ, SF_TS_LTZ,
	SF_TS_TZ,
};

/* How a column's cells are read. */
enum cellfmt {
	CF_INT,		/* Int (or date32) times 10^-scale */
	CF_DEC128,	/* Decimal128 times 10^-scale */
	CF_DOUBLE,
	CF_TEXT,	/* Utf8, LargeUtf8 */
	CF_HEX,		/* Binary, LargeBinary */
	CF_BOOL,
	CF_TS,		/* a timestamp struct */
};

/* A column's plan, made once from the schema and the rowtype. */
struct col {
	const struct arrow_field *f;
	int	 sf;
	int	 cf;
	int	 scale;
	int	 bits, is_signed;	/* CF_INT */
	int	 epoch, fraction, tz;	/* CF_TS: child index, or -1 */
};

/* One field's buffers in the current batch, checked. */
struct view {
	int64_t		 length;
	const uint8_t	*valid;		/* NULL: no nulls */
	const uint8_t	*data;		/* values, or offsets */
	size_t		 data_at;	/* its stream offset, for errors */
	const uint8_t	*chars;		/* Utf8/Binary bytes */
	size_t		 chars_at;
	int		 wide;		/* 64-bit offsets */
};

/* A column's view with its children's (timestamp structs have 2 or 3). */
struct colview {
	struct view	v;
	struct view	kid[3];
};

/*
 * Cell r of a column in the current batch as its rowset string (or a
 * JSON null); row is its number in the whole result, for messages.
 * NULL with err on a value Snowflake cannot have sent, or no memory.
 * sb is scratch space.
 */
cJSON	*arrow_cell(const struct col *, const struct colview *, size_t r,
	    size_t row, struct buf *sb, char *err, size_t errlen);

#endif
