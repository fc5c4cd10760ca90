/*
 * load/digest.h: the _dlt_id of a child row, dlt's
 * digest128(f"{parent_id}_{table}_{idx}", 10): SHAKE128, base64 without
 * the padding. A child row's id was most of the normalizer's CPU, so
 * ids are computed eight at a time with AVX-512 where the CPU has it
 * (checked against OpenSSL by the unit tests), else by OpenSSL.
 */
#ifndef LOAD_DIGEST_H
#define LOAD_DIGEST_H

#include <stddef.h>

#define LD_ID_BYTES	10	/* dlt's DLT_ID_LENGTH_BYTES */
#define LD_ID_CHARS	14	/* their base64, unpadded */
#define LD_ID_BATCH	8

/* The state of one thread's digests. */
struct ld_digest;

struct ld_digest *ld_digest_new(void);
void		  ld_digest_free(struct ld_digest *);

/* A child's parent id, table and position. */
struct ld_child {
	const char	*parent;
	size_t		 plen;
	long long	 idx;
	char		*out;		/* its LD_ID_CHARS go here (no NUL) */
};

/* The ids of n children of one table; n <= LD_ID_BATCH is fastest. */
void	ld_child_ids(struct ld_digest *, const char *table,
	    const struct ld_child *c, size_t n);

/* Off: OpenSSL alone, as on a CPU without AVX-512 (for the tests). */
void	ld_digest_simd(struct ld_digest *, int on);

#endif
