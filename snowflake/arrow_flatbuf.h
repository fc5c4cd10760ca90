/*
 * snowflake/arrow_flatbuf.h: the framing of an Arrow IPC stream and the
 * parts of its flatbuffer metadata (Arrow's Message.fbs and Schema.fbs)
 * that arrow.c reads, every offset checked against the bytes it has.
 * Internal to snowflake/.
 */
#ifndef SNOWFLAKE_ARROW_FLATBUF_H
#define SNOWFLAKE_ARROW_FLATBUF_H

#include <stddef.h>
#include <stdint.h>

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
	int		 bits;		/* Int, Decimal: bitWidth; Float: 16/32/64 */
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
	size_t		 header;	/* the header table's position in meta */
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

#endif
