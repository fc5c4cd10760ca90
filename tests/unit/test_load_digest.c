/*
 * test_load_digest.c: child row ids (load/digest.c). Expected values
 * are dlt 1.31's digest128(f"{parent}_{table}_{idx}", 10); the eight-way
 * AVX-512 Keccak must agree with OpenSSL on every length up to and past
 * one block (where it hands over to OpenSSL).
 */
#include <stdlib.h>
#include <string.h>

#include "load/digest.h"
#include "t.h"

#define N	64

/* digest128(f"XbL6OFd6ge5yVw_records__tags_{i}", 10) */
static const char *const tags[8] = {
	"r0SswWm9DApxGg", "2mtgiTyiU+Vx9Q", "c8Q2TwTq42tjXQ", "R+kEV0OJ6rW4+g",
	"xjHoShseTVPCyQ", "1q4s32SxqMp7jQ", "sBS9/3HEKXNbmw", "dxh8owJzyALE0Q"
};

static char *
id_of(struct ld_digest *d, const char *parent, const char *table,
    long long idx)
{
	static char		out[LD_ID_CHARS + 1];
	struct ld_child		c = { parent, strlen(parent), idx, out };

	ld_child_ids(d, table, &c, 1);
	out[LD_ID_CHARS] = '\0';
	return out;
}

static void
random_text(char *s, size_t len)
{
	static const char	abc[] = "abcdefghijklmnopqrstuvwxyz_0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ+/\xc3\xa9";

	for (size_t i = 0; i < len; i++)
		s[i] = abc[rand() % (int)(sizeof(abc) - 1)];
	s[len] = '\0';
}

int
main(void)
{
	struct ld_digest	*d = ld_digest_new();
	static char		 parent[N][48], table[200];
	static struct ld_child	 c[N];
	static char		 simd[N][LD_ID_CHARS], plain[N][LD_ID_CHARS];

	for (int on = 1; on >= 0; on--) {
		ld_digest_simd(d, on);
		TEST(on ? "ids are dlt's (eight-way)" : "ids are dlt's (OpenSSL)") {
			for (int i = 0; i < 8; i++)
				c[i] = (struct ld_child){ "XbL6OFd6ge5yVw", 14,
				    i, simd[i] };
			ld_child_ids(d, "records__tags", c, 8);
			for (int i = 0; i < 8; i++)
				CHECK(memcmp(simd[i], tags[i], LD_ID_CHARS) ==
				    0);
			CHECK_STR(id_of(d, "", "x", 0), "hZ+2BH3wiaqDRg");
			memset(table, 't', 140);
			table[140] = '\0';
			/* 156 bytes: one block. */
			CHECK_STR(id_of(d, "p", table, 12345678901LL),
			    "tMYUOLYqpSEseg");
		}
	}
	TEST("eight-way and OpenSSL agree, in batches of any size") {
		srand(7);
		for (size_t k = 0; k < 60; k++) {
			size_t	n = 1 + (size_t)rand() % 40;

			random_text(table, 1 + (size_t)rand() % 160);
			for (size_t i = 0; i < n; i++) {
				random_text(parent[i], (size_t)rand() % 40);
				c[i] = (struct ld_child){ parent[i],
				    strlen(parent[i]), rand() % 100000, simd[i] };
			}
			ld_digest_simd(d, 1);
			ld_child_ids(d, table, c, n);
			for (size_t i = 0; i < n; i++)
				c[i].out = plain[i];
			ld_digest_simd(d, 0);
			ld_child_ids(d, table, c, n);
			for (size_t i = 0; i < n; i++)
				CHECK(memcmp(simd[i], plain[i], LD_ID_CHARS) == 0);
		}
	}
	ld_digest_free(d);
	return t_done();
}
