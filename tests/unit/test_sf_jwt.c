/*
 * test_sf_jwt.c: snowflake/jwt.h against keys made by the openssl
 * command: the key forms dlt accepts (PKCS#8 PEM, plain or encrypted,
 * PKCS#1, base64 DER and PEM), the public key fingerprint against
 * `openssl pkey -pubout -outform DER | openssl dgst -sha256 -binary |
 * base64`, and the JWT's header, claims and RS256 signature checked
 * with the public key the command extracted.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/util.h"
#include "snowflake/jwt.h"
#include "snowflake/url.h"
#include "t.h"

#define PHRASE	"corr3ct-h0rse-battery"

static char	dir[] = "/tmp/pfagent-sfjwt-XXXXXX";

static int
sh(const char *fmt, ...)
{
	char	*cmd, *full;
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("cd %s && (%s) >/dev/null 2>&1", dir, cmd);
	rc = system(full);
	free(cmd);
	free(full);
	return rc;
}

/* A file of dir as a string, trailing newline cut. */
static char *
slurp(const char *name)
{
	char	*path = xasprintf("%s/%s", dir, name), err[256], *s;
	size_t	 n;

	s = read_file_max(path, 1 << 20, &n, err, sizeof(err));
	free(path);
	if (s != NULL && n > 0 && s[n - 1] == '\n')
		s[n - 1] = '\0';
	return s;
}

static int
make_keys(void)
{
	return sh("openssl genpkey -algorithm RSA -pkeyopt "
	    "rsa_keygen_bits:2048 -out key.pem") ||
	    sh("openssl pkey -in key.pem -pubout -out pub.pem") ||
	    sh("openssl pkey -in key.pem -pubout -outform DER | openssl dgst "
	    "-sha256 -binary | base64 > fp") ||
	    sh("openssl pkcs8 -topk8 -in key.pem -v2 aes-256-cbc -passout "
	    "pass:" PHRASE " -out enc.pem") ||
	    sh("openssl rsa -in key.pem -traditional -out rsa1.pem") ||
	    sh("openssl pkcs8 -topk8 -nocrypt -in key.pem -outform DER | "
	    "base64 -w 64 > der.b64") ||
	    sh("base64 -w 0 key.pem > pem.b64") ||
	    sh("openssl pkcs8 -topk8 -in key.pem -v2 aes-256-cbc -passout "
	    "pass:" PHRASE " -outform DER | base64 -w 0 > encder.b64") ||
	    sh("openssl genpkey -algorithm EC -pkeyopt "
	    "ec_paramgen_curve:P-256 -out ec.pem");
}

/* base64url (no padding) of s[0, n) decoded; NULL when it is not. */
static char *
unb64url(const char *s, size_t n, size_t *outlen)
{
	struct buf	 b;
	unsigned char	*out;
	int		 r;

	buf_init(&b, 1 << 16);
	for (size_t i = 0; i < n; i++)
		buf_putc(&b, s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i]);
	while (b.len % 4 != 0)
		buf_putc(&b, '=');
	out = xmalloc(b.len);
	r = EVP_DecodeBlock(out, (unsigned char *)b.data, (int)b.len);
	for (size_t k = b.len; k > 0 && b.data[k - 1] == '='; k--)
		r--;
	buf_cleanup(&b);
	*outlen = (size_t)r;
	return (char *)out;
}

static const char *
str_of(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static double
num_of(const cJSON *o, const char *k)
{
	return cJSON_GetNumberValue(cJSON_GetObjectItem(o, k));
}

static cJSON *
part_json(const char *s, size_t n)
{
	size_t	 len;
	char	*t = unb64url(s, n, &len);
	cJSON	*j = cJSON_ParseWithLength(t, len);

	free(t);
	return j;
}

/* The signature over "header.payload", checked with pub.pem. */
static int
verifies(const char *jwt)
{
	const char	*dot2 = strrchr(jwt, '.');
	char		*path = xasprintf("%s/pub.pem", dir), *sig;
	FILE		*f = fopen(path, "r");
	EVP_PKEY	*pub = f ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	size_t		 siglen;
	int		 ok;

	if (f != NULL)
		fclose(f);
	free(path);
	sig = unb64url(dot2 + 1, strlen(dot2 + 1), &siglen);
	ok = pub != NULL && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    pub) == 1 && EVP_DigestVerify(md, (unsigned char *)sig, siglen,
	    (const unsigned char *)jwt, (size_t)(dot2 - jwt)) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	free(sig);
	return ok;
}

static void
test_key_forms(const char *fp_cli)
{
	static const struct {
		const char	*file, *phrase, *what;
	} forms[] = {
		{ "key.pem", NULL, "PKCS#8 PEM" },
		{ "enc.pem", PHRASE, "encrypted PKCS#8 PEM" },
		{ "rsa1.pem", NULL, "PKCS#1 PEM" },
		{ "der.b64", NULL, "base64 DER (wrapped lines)" },
		{ "pem.b64", NULL, "base64 PEM" },
		{ "encder.b64", PHRASE, "base64 encrypted DER" },
	};
	char	 fp[SF_FINGERPRINT_MAX], err[256], *text, *name;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		name = xasprintf("loads %s; fingerprint as openssl says",
		    forms[i].what);
		TEST(name) {
			EVP_PKEY	*k;

			text = slurp(forms[i].file);
			CHECK(text != NULL);
			k = sf_key_load(text, forms[i].phrase, err,
			    sizeof(err));
			CHECK(k != NULL);
			if (k == NULL)
				printf("#   %s\n", err);
			CHECK(k != NULL && sf_key_fingerprint(k, fp) == 0);
			CHECK(k != NULL && strncmp(fp, "SHA256:", 7) == 0);
			CHECK(k != NULL && strcmp(fp + 7, fp_cli) == 0);
			EVP_PKEY_free(k);
			free(text);
		}
		free(name);
	}
}

static void
test_key_errors(void)
{
	char		 err[256];
	char		*enc = slurp("enc.pem"), *ec = slurp("ec.pem");
	EVP_PKEY	*k;

	TEST("encrypted key without a passphrase: says one is needed") {
		k = sf_key_load(enc, NULL, err, sizeof(err));
		CHECK(k == NULL);
		CHECK(strstr(err, "private_key_passphrase is needed") != NULL);
	}
	TEST("wrong passphrase: an error that does not show it") {
		k = sf_key_load(enc, "wrong-passphrase", err, sizeof(err));
		CHECK(k == NULL);
		CHECK(strstr(err, "wrong passphrase") != NULL);
		CHECK(strstr(err, "wrong-passphrase") == NULL);
		CHECK(strstr(err, "PRIVATE") == NULL);
	}
	TEST("an EC key, garbage, nothing: refused") {
		CHECK(sf_key_load(ec, NULL, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "RSA") != NULL);
		CHECK(sf_key_load("not a key!", NULL, err, sizeof(err)) ==
		    NULL);
		CHECK(strstr(err, "neither PEM nor base64") != NULL);
		CHECK(sf_key_load("aGVsbG8gd29ybGQ=", NULL, err,
		    sizeof(err)) == NULL);
		CHECK(strstr(err, "not a private key") != NULL);
		CHECK(sf_key_load("", NULL, err, sizeof(err)) == NULL);
		CHECK(sf_key_load("-----BEGIN PRIVATE KEY-----\nAAAA\n"
		    "-----END PRIVATE KEY-----\n", NULL, err, sizeof(err)) ==
		    NULL);
	}
	free(enc);
	free(ec);
}

static void
test_jwt(const char *fp_cli)
{
	char		 err[256], *text = slurp("enc.pem"), *jwt, *want;
	EVP_PKEY	*k = sf_key_load(text, PHRASE, err, sizeof(err));
	const char	*d1, *d2;
	cJSON		*h, *c;

	free(text);
	TEST("JWT: RS256 header, the connector's claims, a valid signature") {
		CHECK(k != NULL);
		jwt = k ? sf_jwt(k, "xy12345", "loader", 1700000000,
		    SF_JWT_LIFETIME, err, sizeof(err)) : NULL;
		CHECK(jwt != NULL);
		if (jwt != NULL) {
			d1 = strchr(jwt, '.');
			d2 = d1 ? strchr(d1 + 1, '.') : NULL;
			CHECK(d2 != NULL && strchr(d2 + 1, '.') == NULL);
			CHECK(strcspn(jwt, "=+/") == strlen(jwt));
			h = part_json(jwt, (size_t)(d1 - jwt));
			c = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
			CHECK_STR(str_of(h, "alg"), "RS256");
			CHECK_STR(str_of(h, "typ"), "JWT");
			want = xasprintf("XY12345.LOADER.SHA256:%s", fp_cli);
			CHECK_STR(str_of(c, "iss"), want);
			free(want);
			CHECK_STR(str_of(c, "sub"), "XY12345.LOADER");
			CHECK(num_of(c, "iat") == 1700000000);
			CHECK(num_of(c, "exp") == 1700000000 + 60);
			CHECK(verifies(jwt));
			/* A byte of the claims changed: no longer valid. */
			jwt[d1 - jwt + 5] ^= 1;
			CHECK(!verifies(jwt));
			cJSON_Delete(h);
			cJSON_Delete(c);
		}
		free(jwt);
	}
	TEST("JWT account: upper-cased, cut at '.', org-account kept") {
		char	*a;

		CHECK_STR(a = sf_jwt_account("xy12345.eu-west-1"), "XY12345");
		free(a);
		CHECK_STR(a = sf_jwt_account("myorg-acct"), "MYORG-ACCT");
		free(a);
		CHECK_STR(a = sf_jwt_account("xy-123.global"), "XY");
		free(a);
		jwt = k ? sf_jwt(k, "myorg-acct", "Loader.Name", 1, 3600, err,
		    sizeof(err)) : NULL;
		CHECK(jwt != NULL);
		if (jwt != NULL) {
			d1 = strchr(jwt, '.');
			d2 = strchr(d1 + 1, '.');
			c = part_json(d1 + 1, (size_t)(d2 - d1 - 1));
			CHECK_STR(str_of(c, "sub"), "MYORG-ACCT.LOADER.NAME");
			CHECK(num_of(c, "exp") == 3601);
			cJSON_Delete(c);
		}
		free(jwt);
	}
	EVP_PKEY_free(k);
}

int
main(void)
{
	char	*fp;

	if (mkdtemp(dir) == NULL || make_keys() != 0) {
		printf("not ok - cannot make keys with the openssl command "
		    "in %s\n", dir);
		return 1;
	}
	fp = slurp("fp");
	test_key_forms(fp);
	test_key_errors();
	test_jwt(fp);
	free(fp);
	sh("rm -rf %s", dir);
	return t_done();
}
