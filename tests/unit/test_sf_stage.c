/*
 * test_sf_stage.c: client-side encryption for a Snowflake stage
 * (snowflake/stage.c) as the connector's encrypt_stream does it: the
 * file under a fresh AES-CBC key and IV, the key wrapped with AES-ECB
 * under the stage's master key, the metadata the connector sends;
 * decrypted here with OpenSSL as the connector's decrypt_stream would.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/util.h"
#include "snowflake/stage.h"
#include "t.h"

static unsigned char *
unb64(const char *s, size_t *n)
{
	size_t		 len = strlen(s), pad = 0;
	unsigned char	*out = xmalloc(len + 1);

	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	*n = (size_t)EVP_DecodeBlock(out, (const unsigned char *)s,
	    (int)len) - pad;
	return out;
}

static unsigned char *
decrypt(const EVP_CIPHER *c, const unsigned char *key,
    const unsigned char *iv, const unsigned char *in, size_t len,
    size_t *outlen)
{
	EVP_CIPHER_CTX	*ctx = EVP_CIPHER_CTX_new();
	unsigned char	*out = xmalloc(len + 32);
	int		 n1 = 0, n2 = 0, ok;

	ok = EVP_DecryptInit_ex(ctx, c, NULL, key, iv) == 1 &&
	    EVP_DecryptUpdate(ctx, out, &n1, in, (int)len) == 1 &&
	    EVP_DecryptFinal_ex(ctx, out + n1, &n2) == 1;
	EVP_CIPHER_CTX_free(ctx);
	*outlen = ok ? (size_t)(n1 + n2) : 0;
	return out;
}

static void
round_trip(size_t keylen, const char *plain, size_t plen)
{
	unsigned char	 master[32], *ct, *fk, *iv, *pt;
	char		 mk64[64];
	struct sf_enc_meta m;
	cJSON		*mat = cJSON_CreateObject();
	size_t		 ctlen = 0, fklen, ivlen, ptlen, fkplain;
	char		 err[256], *want;
	unsigned char	*key;

	RAND_bytes(master, (int)keylen);
	EVP_EncodeBlock((unsigned char *)mk64, master, (int)keylen);
	cJSON_AddStringToObject(mat, "queryStageMasterKey", mk64);
	cJSON_AddStringToObject(mat, "queryId", "01b2-q");
	cJSON_AddNumberToObject(mat, "smkId", 4103);
	ct = sf_stage_encrypt(mat, plain, plen, &ctlen, &m, err, sizeof(err));
	CHECK(ct != NULL);
	/* PKCS#7: one more block when the size is a multiple of 16. */
	CHECK(ctlen == (plen / 16 + 1) * 16);
	want = xasprintf("{\"queryId\":\"01b2-q\",\"smkId\":\"4103\","
	    "\"keySize\":\"%zu\"}", keylen * 8);
	CHECK_STR(m.matdesc, want);
	free(want);
	fk = unb64(m.key, &fklen);
	iv = unb64(m.iv, &ivlen);
	CHECK(fklen == keylen + 16 && ivlen == 16);
	key = decrypt(keylen == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb(),
	    master, NULL, fk, fklen, &fkplain);
	CHECK(fkplain == keylen);
	pt = decrypt(keylen == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc(),
	    key, iv, ct, ctlen, &ptlen);
	CHECK(ptlen == plen && memcmp(pt, plain, plen) == 0);
	free(pt);
	free(key);
	free(fk);
	free(iv);
	free(ct);
	sf_enc_meta_cleanup(&m);
	cJSON_Delete(mat);
}

int
main(void)
{
	char	err[256];

	TEST("a 128-bit master key, a file of 3 blocks and a bit") {
		const char *f = "{\"code\":\"EUR\",\"name\":\"Euro\"}\n"
		    "{\"code\":\"USD\"}\n";

		round_trip(16, f, strlen(f));
	}
	TEST("a 256-bit master key, a file of exactly 2 blocks") {
		round_trip(32, "0123456789abcdef0123456789abcdef", 32);
	}
	TEST("material without a usable master key is refused") {
		cJSON			*mat = cJSON_CreateObject();
		struct sf_enc_meta	 m;
		size_t			 n;

		cJSON_AddStringToObject(mat, "queryStageMasterKey", "QUJD");
		CHECK(sf_stage_encrypt(mat, "x", 1, &n, &m, err,
		    sizeof(err)) == NULL);
		CHECK(strstr(err, "master key") != NULL);
		cJSON_Delete(mat);
	}
	TEST("an Azure stage is named as not supported") {
		cJSON	*put = cJSON_Parse("{\"stageInfo\":{\"locationType\":"
		    "\"AZURE\",\"location\":\"c/p/\"}}");

		CHECK(sf_stage_upload(put, "/nonexistent/x.jsonl", err,
		    sizeof(err)) == -1);
		CHECK_STR(err, "stages of type AZURE are not supported (S3 and "
		    "GCS are)");
		cJSON_Delete(put);
	}
	return t_done();
}
