/*
 * arrow_int.h: what the files of the Arrow reader share (snowflake/
 * arrow.c: column plans, batches and rows; arrow_flatbuf.c: the stream's
 * framing and flatbuffer metadata; arrow_cell.c: one value as its
 * rowset string). Not installed.
 */
#ifndef SNOWFLAKE_ARROW_INT_H
#define SNOWFLAKE_ARROW_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/buf.h"

/*
 * The framing of an Arrow IPC stream and the parts of its flatbuffer
 * metadata (Arrow's Message.fbs and Schema.fbs) read here, every offset
 * checked against the bytes it has: arrow_flatbuf.c.
 */

/* Schema.fbs: the Type union's members that matter here. */
enum arrow_tid {
	ARROW_NULL = 1,
	ARROW_INT = 2,
	ARROW_FLOAT = 3,
	ARROW_BINARY = 4,
	ARROW_UTF8 = 5,
	ARROW_BOOL = 6,
	ARROW_DECIMAL = 7,
	ARROW_DATE = 8,
	ARROW_STRUCT = 13,
	ARROW_LARGE_BINARY = 19,
	ARROW_LARGE_UTF8 = 20,
};

/* Message.fbs: the MessageHeader union. */
enum arrow_msg_kind {
	ARROW_MSG_SCHEMA = 1,
	ARROW_MSG_DICTIONARY = 2,
	ARROW_MSG_BATCH = 3,
};

/* One field of the schema, with Snowflake's field metadata. */
struct arrow_field {
	char		*name;
	int		 type;		/* enum arrow_tid, or another Type */
	int		 bits;		/* Int, Decimal: bitWidth; Float:
					   16, 32 or 64 */
	int		 is_signed;	/* Int */
	int		 unit;		/* Date: 0 day, 1 millisecond */
	int		 precision;	/* Decimal */
	int		 scale;		/* Decimal */
	int		 dictionary;	/* dictionary-encoded */
	char		*logical;	/* metadata logicalType, or NULL */
	int		 sf_scale;	/* metadata scale, or -1 */
	struct arrow_field *children;
	size_t		 nchildren;
	size_t		 at;		/* stream offset of its Field table */
};

struct arrow_schema {
	struct arrow_field	*fields;
	size_t			 nfields;
};

/* One message: its metadata flatbuffer and its body. */
struct arrow_msg {
	int		 kind;		/* enum arrow_msg_kind or another */
	const uint8_t	*meta;
	size_t		 meta_len;
	size_t		 meta_at;	/* stream offset of meta[0] */
	size_t		 header;	/* its header table's place in meta */
	const uint8_t	*body;
	size_t		 body_len;
	size_t		 body_at;	/* stream offset of body[0] */
};

/* A RecordBatch header: its FieldNode and Buffer vectors, unread. */
struct arrow_batch {
	int64_t		 length;
	const uint8_t	*nodes;		/* nnodes structs of 16 bytes */
	size_t		 nnodes;
	const uint8_t	*bufs;		/* nbufs structs of 16 bytes */
	size_t		 nbufs;
};

/*
 * The message at *pos of the stream s[0..len), *pos moved past it.
 * Returns 1 with *m, 0 at the end of the stream (its end-of-stream
 * marker, or the end of the bytes between two messages), -1 with err.
 */
int	arrow_next(const uint8_t *s, size_t len, size_t *pos,
	    struct arrow_msg *m, char *err, size_t errlen);
/* The Schema message m as a tree of fields; free with arrow_schema_free. */
int	arrow_schema_read(const struct arrow_msg *m, struct arrow_schema *,
	    char *err, size_t errlen);
void	arrow_schema_free(struct arrow_schema *);
/* The RecordBatch message m's header. */
int	arrow_batch_read(const struct arrow_msg *m, struct arrow_batch *,
	    char *err, size_t errlen);
/* FieldNode i of b (i < b->nnodes) and Buffer i (i < b->nbufs). */
void	arrow_node(const struct arrow_batch *b, size_t i, int64_t *length,
	    int64_t *null_count);
void	arrow_buffer(const struct arrow_batch *b, size_t i, int64_t *offset,
	    int64_t *length);
/* Arrow's name of a Type union member, for messages. */
const char *arrow_type_name(int type);

/* Little-endian loads from any alignment. */
static inline uint16_t
arrow_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
arrow_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
arrow_le64(const uint8_t *p)
{
	return (uint64_t)arrow_le32(p) | (uint64_t)arrow_le32(p + 4) << 32;
}

/* The low bits of u as a two's complement number, without relying on
 * implementation-defined conversions. */
static inline int64_t
arrow_signed(uint64_t u, int bits)
{
	uint64_t	sign = (uint64_t)1 << (bits - 1);

	if (bits < 64)
		u &= (sign << 1) - 1;
	if (!(u & sign))
		return (int64_t)u;
	return -(int64_t)(~u & (sign - 1)) - 1;
}

/*
 * A column's plan (its Snowflake type and how its Arrow values are
 * read) and its buffers in the current record batch: arrow.c makes
 * them, arrow_cell.c reads them.
 */

/* Snowflake's logical types. */
enum arrow_sft {
	SFT_FIXED, SFT_REAL, SFT_TEXT, SFT_VARIANT, SFT_OBJECT, SFT_ARRAY,
	SFT_BINARY, SFT_BOOLEAN, SFT_DATE, SFT_TIME, SFT_TS_NTZ, SFT_TS_LTZ,
	SFT_TS_TZ,
};

/* How a column's cells are read. */
enum arrow_cellfmt {
	CELL_INT,	/* Int (or date32) times 10^-scale */
	CELL_DEC128,	/* Decimal128 times 10^-scale */
	CELL_DOUBLE,
	CELL_TEXT,	/* Utf8, LargeUtf8 */
	CELL_HEX,	/* Binary, LargeBinary */
	CELL_BOOL,
	CELL_TS,	/* a timestamp struct */
};

/* A column's plan, made once from the schema and the rowtype. */
struct arrow_col {
	const struct arrow_field *f;
	int	 sf;			/* enum arrow_sft */
	int	 cf;			/* enum arrow_cellfmt */
	int	 scale;
	int	 bits, is_signed;	/* CELL_INT */
	int	 epoch, fraction, tz;	/* CELL_TS: child index, or -1 */
};

/* One field's buffers in the current batch, checked. */
struct arrow_view {
	int64_t		 length;
	const uint8_t	*valid;		/* NULL: no nulls */
	const uint8_t	*data;		/* values, or offsets */
	size_t		 data_at;	/* its stream offset, for errors */
	const uint8_t	*chars;		/* Utf8/Binary bytes */
	size_t		 chars_at;
	int		 wide;		/* 64-bit offsets */
};

/* A column's view with its children's (timestamp structs have 2 or 3). */
struct arrow_colview {
	struct arrow_view	v;
	struct arrow_view	kid[3];
};

/*
 * Cell r of a column in the current batch as its rowset string (or a
 * JSON null); row is its number in the whole result, for messages.
 * NULL with err on a value Snowflake cannot have sent, or no memory.
 * sb is scratch space.
 */
cJSON	*arrow_cell(const struct arrow_col *, const struct arrow_colview *,
	    size_t r, size_t row, struct buf *sb, char *err, size_t errlen);

#endif
