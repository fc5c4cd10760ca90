/*
 * digest.c: load/digest.h. Every child id's text fits one SHAKE128
 * block (168 bytes) unless the table's name is very long, so eight ids
 * are eight Keccak-f[1600] states, one per 64-bit lane of 25 AVX-512
 * registers, permuted together (FIPS 202, section 3). A text that does
 * not fit, or a CPU without AVX-512, goes through OpenSSL.
 */
#include <immintrin.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "load/digest.h"

#define RATE	168	/* SHAKE128's block */

struct ld_digest {
	EVP_MD		*shake;		/* fetched once: implicit is slow */
	EVP_MD_CTX	*fresh;		/* nothing digested: copied */
	EVP_MD_CTX	*md;
	int		 simd;
};

struct ld_digest *
ld_digest_new(void)
{
	struct ld_digest	*d = xcalloc(1, sizeof(*d));

	d->shake = EVP_MD_fetch(NULL, "SHAKE128", NULL);
	d->fresh = EVP_MD_CTX_new();
	d->md = EVP_MD_CTX_new();
	if (d->shake == NULL || d->fresh == NULL || d->md == NULL ||
	    !EVP_DigestInit_ex(d->fresh, d->shake, NULL))
		abort();	/* OpenSSL 3 without its default provider */
	__builtin_cpu_init();
	d->simd = __builtin_cpu_supports("avx512f");
	return d;
}

void
ld_digest_free(struct ld_digest *d)
{
	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->md);
	EVP_MD_CTX_free(d->fresh);
	EVP_MD_free(d->shake);
	free(d);
}

void
ld_digest_simd(struct ld_digest *d, int on)
{
	d->simd = on && __builtin_cpu_supports("avx512f");
}

/* f"{parent}_{table}_{idx}" into text (RATE bytes); 0: too long. */
static size_t
child_text(char *text, const struct ld_child *c, const char *table,
    size_t tlen)
{
	char	num[24];
	size_t	nlen = digits_of(num, c->idx), len = c->plen + tlen + nlen + 2;

	if (len >= RATE)
		return 0;
	memcpy(text, c->parent, c->plen);
	text[c->plen] = '_';
	memcpy(text + c->plen + 1, table, tlen);
	text[c->plen + 1 + tlen] = '_';
	memcpy(text + len - nlen, num, nlen);
	return len;
}

static void
encode(const unsigned char d[LD_ID_BYTES], char *out)
{
	unsigned char	b64[24];

	EVP_EncodeBlock(b64, d, LD_ID_BYTES);
	memcpy(out, b64, LD_ID_CHARS);
}

static void
openssl_id(struct ld_digest *d, const struct ld_child *c, const char *table)
{
	unsigned char	h[LD_ID_BYTES];
	char		num[24];
	size_t		nlen = digits_of(num, c->idx);

	EVP_MD_CTX_copy_ex(d->md, d->fresh);
	EVP_DigestUpdate(d->md, c->parent, c->plen);
	EVP_DigestUpdate(d->md, "_", 1);
	EVP_DigestUpdate(d->md, table, strlen(table));
	EVP_DigestUpdate(d->md, "_", 1);
	EVP_DigestUpdate(d->md, num, nlen);
	EVP_DigestFinalXOF(d->md, h, LD_ID_BYTES);
	encode(h, c->out);
}

static const uint64_t round_constant[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
	0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
	0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
	0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
	0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
	0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
	0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL
};

/* rho's rotation of lane x + 5y */
static const long long rotation[25] = {
	0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39,
	41, 45, 15, 21, 8, 18, 2, 61, 56, 14
};

/* Keccak-f[1600] of eight states at once: lane i of state m in a[i][m]. */
__attribute__((target("avx512f")))
static void
keccak_x8(uint64_t lanes[25][8])
{
	__m512i	a[25];

	for (int i = 0; i < 25; i++)
		a[i] = _mm512_loadu_si512(lanes[i]);
	for (int r = 0; r < 24; r++) {
		__m512i	c[5], d[5], b[25];

#pragma GCC unroll 5
		for (int x = 0; x < 5; x++)	/* theta: 0x96 is a^b^c */
			c[x] = _mm512_ternarylogic_epi64(
			    _mm512_ternarylogic_epi64(a[x], a[x + 5],
			    a[x + 10], 0x96), a[x + 15], a[x + 20], 0x96);
#pragma GCC unroll 5
		for (int x = 0; x < 5; x++)
			d[x] = _mm512_xor_si512(c[(x + 4) % 5],
			    _mm512_rol_epi64(c[(x + 1) % 5], 1));
#pragma GCC unroll 25
		for (int i = 0; i < 25; i++) {	/* rho and pi */
			int	x = i % 5, y = i / 5;

			b[y + 5 * ((2 * x + 3 * y) % 5)] = _mm512_rolv_epi64(
			    _mm512_xor_si512(a[i], d[x]),
			    _mm512_set1_epi64(rotation[i]));
		}
#pragma GCC unroll 25
		for (int i = 0; i < 25; i++) {	/* chi: 0xd2 is a^(~b&c) */
			int	x = i % 5, y = 5 * (i / 5);

			a[i] = _mm512_ternarylogic_epi64(b[i],
			    b[y + (x + 1) % 5], b[y + (x + 2) % 5], 0xd2);
		}
		a[0] = _mm512_xor_si512(a[0],	/* iota */
		    _mm512_set1_epi64((long long)round_constant[r]));
	}
	for (int i = 0; i < 25; i++)
		_mm512_storeu_si512(lanes[i], a[i]);
}

/* Up to eight texts of one block each: absorb, permute, squeeze. */
static void
simd_ids(const struct ld_child *const c[LD_ID_BATCH],
    const char text[LD_ID_BATCH][RATE], const size_t len[LD_ID_BATCH],
    size_t n)
{
	uint64_t	block[RATE / 8], lanes[25][8];
	unsigned char	h[16];

	memset(lanes, 0, sizeof(lanes));
	for (size_t m = 0; m < n; m++) {
		memset(block, 0, sizeof(block));
		memcpy(block, text[m], len[m]);
		((unsigned char *)block)[len[m]] ^= 0x1f;	/* SHAKE's pad */
		((unsigned char *)block)[RATE - 1] ^= 0x80;
		for (size_t i = 0; i < RATE / 8; i++)
			lanes[i][m] = block[i];
	}
	keccak_x8(lanes);
	for (size_t m = 0; m < n; m++) {
		memcpy(h, &lanes[0][m], 8);
		memcpy(h + 8, &lanes[1][m], 8);
		encode(h, c[m]->out);
	}
}

void
ld_child_ids(struct ld_digest *d, const char *table,
    const struct ld_child *c, size_t n)
{
	const struct ld_child	*batch[LD_ID_BATCH];
	char			 text[LD_ID_BATCH][RATE];
	size_t			 len[LD_ID_BATCH], k = 0, tlen = strlen(table);

	for (size_t i = 0; i < n; i++) {
		if (!d->simd ||
		    (len[k] = child_text(text[k], &c[i], table, tlen)) == 0) {
			openssl_id(d, &c[i], table);
			continue;
		}
		batch[k++] = &c[i];
		if (k == LD_ID_BATCH) {
			simd_ids(batch, text, len, k);
			k = 0;
		}
	}
	/* Eight lanes cost about what three OpenSSL calls do. */
	if (k >= 3)
		simd_ids(batch, text, len, k);
	else
		for (size_t i = 0; i < k; i++)
			openssl_id(d, batch[i], table);
}
