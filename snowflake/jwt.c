/*
 * jwt.c: the key-pair login's JWT, signed with OpenSSL.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "snowflake/jwt.h"
#include "snowflake/rest.h"
#include "snowflake/url.h"

#define KEY_MAX	(64u << 10)

struct pass {
	const char	*phrase;
	int		 asked;
};

/* Never prompts: the passphrase is configuration or nothing. */
static int
on_passphrase(char *buf, int size, int rwflag, void *arg)
{
	struct pass	*p = arg;
	size_t		 n;

	(void)rwflag;
	p->asked = 1;
	if (p->phrase == NULL || (n = strlen(p->phrase)) > (size_t)size)
		return -1;
	memcpy(buf, p->phrase, n);
	return (int)n;
}

/* text, or the base64 it is (as dlt accepts a key); *len its size. */
static unsigned char *
key_bytes(const char *text, size_t *len)
{
	unsigned char	*out;
	char		*b64;
	size_t		 n = 0;

	if (strstr(text, "-----BEGIN ") != NULL) {
		*len = strlen(text);
		return (unsigned char *)xstrdup(text);
	}
	b64 = xmalloc(strlen(text) + 1);
	for (const char *p = text; *p != '\0'; p++)
		if (!isspace((unsigned char)*p))
			b64[n++] = *p;
	out = n > 0 ? sf_unbase64(b64, n, len) : NULL;
	OPENSSL_cleanse(b64, n);
	free(b64);
	return out;
}

EVP_PKEY *
sf_key_load(const char *text, const char *passphrase, char *err,
    size_t errlen)
{
	struct pass		 pass = { passphrase, 0 };
	OSSL_DECODER_CTX	*dctx;
	EVP_PKEY		*pkey = NULL;
	unsigned char		*bytes;
	const unsigned char	*p;
	size_t			 len, left;

	if (text == NULL || *text == '\0') {
		errorf(err, errlen, "private_key is empty");
		return NULL;
	}
	if (strlen(text) > KEY_MAX) {
		errorf(err, errlen, "private_key is larger than %u bytes",
		    KEY_MAX);
		return NULL;
	}
	if ((bytes = key_bytes(text, &len)) == NULL) {
		errorf(err, errlen, "private_key is neither PEM nor base64 "
		    "(of a DER or PEM key)");
		return NULL;
	}
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, NULL, NULL, NULL,
	    OSSL_KEYMGMT_SELECT_KEYPAIR, NULL, NULL);
	if (dctx == NULL)
		fatalx("OSSL_DECODER_CTX_new_for_pkey failed");
	OSSL_DECODER_CTX_set_pem_password_cb(dctx, on_passphrase, &pass);
	p = bytes;
	left = len;
	if (!OSSL_DECODER_from_data(dctx, &p, &left) || pkey == NULL) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		if (pass.asked && passphrase == NULL)
			errorf(err, errlen, "private_key is encrypted: "
			    "private_key_passphrase is needed");
		else if (pass.asked)
			errorf(err, errlen, "private_key cannot be decrypted "
			    "with private_key_passphrase (wrong passphrase?)");
		else
			errorf(err, errlen, "private_key is not a private key "
			    "OpenSSL can read (PKCS#8 or PKCS#1, PEM or DER)");
	} else if (!EVP_PKEY_is_a(pkey, "RSA")) {
		errorf(err, errlen, "private_key is a %s key: key-pair "
		    "login here signs RS256 with an RSA key",
		    EVP_PKEY_get0_type_name(pkey));
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	ERR_clear_error();
	OSSL_DECODER_CTX_free(dctx);
	OPENSSL_cleanse(bytes, len);
	free(bytes);
	return pkey;
}

int
sf_key_fingerprint(EVP_PKEY *pkey, char out[SF_FINGERPRINT_MAX])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH], *der = NULL;
	int		 n;

	if ((n = i2d_PUBKEY(pkey, &der)) <= 0)
		return -1;
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	memcpy(out, "SHA256:", 7);
	EVP_EncodeBlock((unsigned char *)out + 7, md, sizeof(md));
	return 0;
}

/* Appends base64url without padding, as JWS (RFC 7515) writes it. */
static void
b64url(struct buf *b, const void *data, size_t len)
{
	char	*t = xmalloc(4 * ((len + 2) / 3) + 1);
	int	 n = EVP_EncodeBlock((unsigned char *)t, data, (int)len);

	while (n > 0 && t[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		buf_putc(b, t[i] == '+' ? '-' : t[i] == '/' ? '_' : t[i]);
	free(t);
}

static char *
upper(const char *s)
{
	char	*u = xstrdup(s);

	for (char *p = u; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return u;
}

char *
sf_jwt(EVP_PKEY *pkey, const char *account, const char *user, int64_t now,
    int lifetime, char *err, size_t errlen)
{
	static const char	 header[] =
				    "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	char			 fp[SF_FINGERPRINT_MAX];
	char			*acct, *usr, *iss, *sub;
	char			*claims;
	unsigned char		*sig = NULL;
	size_t			 siglen = 0;
	EVP_MD_CTX		*md;
	struct buf		 b;
	cJSON			*c;
	int			 ok;

	if (sf_key_fingerprint(pkey, fp) == -1) {
		errorf(err, errlen, "cannot encode the public key");
		return NULL;
	}
	acct = sf_jwt_account(account);
	usr = upper(user);
	iss = xasprintf("%s.%s.%s", acct, usr, fp);
	sub = xasprintf("%s.%s", acct, usr);
	c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "iss", iss);
	cJSON_AddStringToObject(c, "sub", sub);
	cJSON_AddNumberToObject(c, "iat", (double)now);
	cJSON_AddNumberToObject(c, "exp", (double)(now + lifetime));
	claims = json_print(c);
	cJSON_Delete(c);
	free(iss);
	free(sub);
	free(acct);
	free(usr);

	buf_init(&b, 1u << 16);
	b64url(&b, header, strlen(header));
	buf_putc(&b, '.');
	b64url(&b, claims, strlen(claims));
	free(claims);
	if ((md = EVP_MD_CTX_new()) == NULL)
		fatalx("out of memory signing a JWT");
	ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestSign(md, NULL, &siglen, (unsigned char *)b.data,
	    b.len) == 1 && (sig = xmalloc(siglen)) != NULL &&
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)b.data,
	    b.len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok) {
		free(sig);
		buf_cleanup(&b);
		errorf(err, errlen, "cannot sign the login JWT with "
		    "private_key");
		return NULL;
	}
	buf_putc(&b, '.');
	b64url(&b, sig, siglen);
	free(sig);
	return buf_finish(&b);
}
