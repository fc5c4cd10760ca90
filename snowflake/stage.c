/*
 * stage.c: a local file into a Snowflake stage (snowflake/stage.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "aws/sigv4.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/util.h"
#include "snowflake/rest.h"
#include "snowflake/stage.h"

#define ATTEMPTS	5	/* of one upload, as the connector's few */
#define FILE_MAX	((size_t)2 << 30)

static const char *
str_of(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItem(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *
b64(const unsigned char *d, size_t n)
{
	char	*out = xmalloc(n / 3 * 4 + 8);

	EVP_EncodeBlock((unsigned char *)out, d, (int)n);
	return out;
}

/* ------------------------------------------------------ encryption */

static const EVP_CIPHER *
aes(size_t keylen, int cbc)
{
	switch (keylen) {
	case 16: return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
	case 24: return cbc ? EVP_aes_192_cbc() : EVP_aes_192_ecb();
	case 32: return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb();
	default: return NULL;
	}
}

/* AES with PKCS#7 padding, as the connector pads. */
static unsigned char *
crypt_all(const EVP_CIPHER *c, const unsigned char *key,
    const unsigned char *iv, const void *in, size_t len, size_t *outlen)
{
	EVP_CIPHER_CTX	*ctx = EVP_CIPHER_CTX_new();
	unsigned char	*out = xmalloc(len + 32);
	int		 n1 = 0, n2 = 0, ok;

	ok = ctx != NULL && len <= INT32_MAX &&
	    EVP_EncryptInit_ex(ctx, c, NULL, key, iv) == 1 &&
	    EVP_EncryptUpdate(ctx, out, &n1, in, (int)len) == 1 &&
	    EVP_EncryptFinal_ex(ctx, out + n1, &n2) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)n1 + (size_t)n2;
	return out;
}

unsigned char *
sf_stage_encrypt(const cJSON *material, const void *data, size_t len,
    size_t *outlen, struct sf_enc_meta *meta, char *err, size_t errlen)
{
	const char	*mkey = str_of(material, "queryStageMasterKey");
	const cJSON	*smk = cJSON_GetObjectItem(material, "smkId");
	unsigned char	*master = NULL, fkey[32], iv[16], *out = NULL, *kek;
	size_t		 mlen = 0, keklen;
	char		 smkid[32], bits[24];
	cJSON		*md;

	memset(meta, 0, sizeof(*meta));
	if (mkey == NULL || (master = sf_unbase64(mkey, strlen(mkey),
	    &mlen)) == NULL ||
	    aes(mlen, 1) == NULL) {
		free(master);
		errorf(err, errlen, "the stage's encryption material has no "
		    "usable master key");
		return NULL;
	}
	if (RAND_bytes(fkey, (int)mlen) != 1 || RAND_bytes(iv, 16) != 1)
		goto out;
	if ((out = crypt_all(aes(mlen, 1), fkey, iv, data, len,
	    outlen)) == NULL)
		goto out;
	if ((kek = crypt_all(aes(mlen, 0), master, NULL, fkey, mlen,
	    &keklen)) == NULL) {
		free(out);
		out = NULL;
		goto out;
	}
	meta->key = b64(kek, keklen);
	meta->iv = b64(iv, sizeof(iv));
	free(kek);
	if (cJSON_IsNumber(smk))
		snprintf(smkid, sizeof(smkid), "%.0f", smk->valuedouble);
	else
		snprintf(smkid, sizeof(smkid), "%s", cJSON_IsString(smk) ?
		    smk->valuestring : "");
	snprintf(bits, sizeof(bits), "%zu", mlen * 8);
	md = cJSON_CreateObject();
	cJSON_AddStringToObject(md, "queryId", str_of(material, "queryId") ?
	    str_of(material, "queryId") : "");
	cJSON_AddStringToObject(md, "smkId", smkid);
	cJSON_AddStringToObject(md, "keySize", bits);
	meta->matdesc = cJSON_PrintUnformatted(md);
	cJSON_Delete(md);
out:
	OPENSSL_cleanse(fkey, sizeof(fkey));
	OPENSSL_cleanse(master, mlen);
	free(master);
	if (out == NULL)
		errorf(err, errlen, "encrypting the file for the stage failed");
	return out;
}

void
sf_enc_meta_cleanup(struct sf_enc_meta *m)
{
	free(m->key);
	free(m->iv);
	free(m->matdesc);
	memset(m, 0, sizeof(*m));
}

/* ---------------------------------------------------------- HTTP */

struct answer {
	struct buf	body;
};

static size_t
keep(char *p, size_t sz, size_t n, void *arg)
{
	struct answer	*a = arg;

	/* An error's text is short; the rest is not needed. */
	if (a->body.len < 4096)
		buf_append(&a->body, p, sz * n);
	return sz * n;
}

/* The <Code> and <Message> of a storage error, or its start. */
static void
storage_error(const char *body, char *out, size_t outlen)
{
	const char	*c = strstr(body, "<Code>"), *m = strstr(body,
	    "<Message>");

	if (c != NULL && m != NULL)
		snprintf(out, outlen, "%.*s: %.*s", (int)strcspn(c + 6, "<"),
		    c + 6, (int)strcspn(m + 9, "<"), m + 9);
	else
		snprintf(out, outlen, "%.200s", body);
}

/* The host of a URL, for messages (never its query: a signature). */
static void
url_host(const char *url, char *out, size_t outlen)
{
	const char	*p = strstr(url, "://");

	p = p != NULL ? p + 3 : url;
	snprintf(out, outlen, "%.*s", (int)strcspn(p, "/?"), p);
}

/* One PUT; *status 0 when there was no answer. */
static void
put_once(const char *url, const char *const *headers, const void *body,
    size_t len, long *status, char *why, size_t whylen)
{
	CURL			*easy = curl_easy_init();
	struct curl_slist	*h = NULL;
	struct answer		 a;
	char			 cerr[CURL_ERROR_SIZE] = "";
	CURLcode		 rc;

	*status = 0;
	buf_init(&a.body, 8192);
	buf_append(&a.body, "", 0);
	if (easy == NULL) {
		snprintf(why, whylen, "out of memory");
		return;
	}
	for (size_t i = 0; headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(easy);
	if (rc != CURLE_OK)
		snprintf(why, whylen, "%s", cerr[0] ? cerr :
		    curl_easy_strerror(rc));
	else {
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, status);
		if (*status >= 300)
			storage_error(a.body.data ? a.body.data : "", why,
			    whylen);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(easy);
	buf_cleanup(&a.body);
}

/* Builds the headers of an attempt (S3 signs each one anew). */
typedef char **(*headers_fn)(void *arg, char *err, size_t errlen);

static int
put_retried(const char *url, headers_fn mk, void *arg, const void *body,
    size_t len, const char *what, char *err, size_t errlen)
{
	char	 why[512] = "", host[256];
	long	 status = 0;

	url_host(url, host, sizeof(host));
	for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
		char	**h = mk(arg, err, errlen);

		if (h == NULL)
			return -1;
		put_once(url, (const char *const *)h, body, len, &status, why,
		    sizeof(why));
		for (size_t i = 0; h[i] != NULL; i++) {
			OPENSSL_cleanse(h[i], strlen(h[i]));
			free(h[i]);
		}
		free(h);
		if (status >= 200 && status < 300)
			return 0;
		if (status != 0 && status != 408 && status != 429 &&
		    status < 500)
			break;
		if (attempt < ATTEMPTS) {
			log_info("snowflake: uploading %s to %s: %s%s%s; "
			    "retrying", what, host, status ? "HTTP " : "",
			    status ? (status >= 500 ? "5xx" : "429/408") : "",
			    status ? "" : why);
			sleep_ms(200LL << attempt);
		}
	}
	if (status != 0)
		return errorf(err, errlen, "uploading %s to the stage at %s: "
		    "HTTP %ld: %s", what, host, status, why);
	return errorf(err, errlen, "uploading %s to the stage at %s: %s",
	    what, host, why);
}

/* ----------------------------------------------------------- S3 */

/* An object's metadata header: x-amz-meta-... or x-goog-meta-... */
struct meta {
	char	*name, *value;
};

struct s3 {
	const char	*key_id, *secret, *token, *region;
	char		*host, *path;		/* for signing */
	const char	*payload_hash;
	const void	*body;
	size_t		 len;
	const struct meta *meta;		/* NULL name ends it */
};

static char **
s3_headers(void *arg, char *err, size_t errlen)
{
	struct s3		*s = arg;
	struct sigv4_header	 h[12];
	struct sigv4_request	 rq = { 0 };
	struct sigv4_creds	 cr = { s->key_id, s->secret, s->token };
	struct sigv4_params	 pr = { 0 };
	char			 date[17], *auth = NULL, **out;
	size_t			 n = 0, k = 0;

	sigv4_amz_date(time(NULL), date);
	h[n++] = (struct sigv4_header){ "host", s->host };
	h[n++] = (struct sigv4_header){ "x-amz-content-sha256",
	    s->payload_hash };
	h[n++] = (struct sigv4_header){ "x-amz-date", date };
	if (s->token != NULL)
		h[n++] = (struct sigv4_header){ "x-amz-security-token",
		    s->token };
	for (size_t i = 0; s->meta[i].name != NULL && n < 12; i++)
		h[n++] = (struct sigv4_header){ s->meta[i].name,
		    s->meta[i].value };
	rq.method = "PUT";
	rq.path = s->path;
	rq.headers = h;
	rq.nheaders = n;
	rq.body = s->body;
	rq.body_len = s->len;
	rq.payload_hash = s->payload_hash;
	pr.region = s->region;
	pr.service = "s3";
	pr.amz_date = date;
	pr.normalize_path = 0;
	pr.sign_body_header = 1;
	if (sigv4_sign(&rq, &cr, &pr, &auth, NULL, NULL, err, errlen) == -1)
		return NULL;
	/* Every signed header but host (curl sends it), and the rest. */
	out = xcalloc(n + 3, sizeof(*out));
	for (size_t i = 1; i < n; i++)
		out[k++] = xasprintf("%s: %s", h[i].name, h[i].value);
	out[k++] = xstrdup("Content-Type: application/octet-stream");
	out[k++] = xasprintf("Authorization: %s", auth);
	OPENSSL_cleanse(auth, strlen(auth));
	free(auth);
	return out;
}

/* The connector's endpoint of a stage's bucket. */
static char *
s3_endpoint(const cJSON *stage, const char *bucket, const char *region)
{
	const char	*ep = str_of(stage, "endPoint");

	if (ep != NULL && *ep != '\0')
		return xasprintf("%s.%s", bucket, ep);
	if (region != NULL && strncmp(region, "cn-", 3) == 0)
		return xasprintf("%s.s3.%s.amazonaws.com.cn", bucket, region);
	if (cJSON_IsTrue(cJSON_GetObjectItem(stage, "useS3RegionalUrl")) ||
	    cJSON_IsTrue(cJSON_GetObjectItem(stage, "useRegionalUrl")))
		return xasprintf("%s.s3.%s.amazonaws.com", bucket, region ?
		    region : "us-east-1");
	return xasprintf("%s.s3.amazonaws.com", bucket);
}

static int
s3_put(const cJSON *stage, const char *name, const struct meta *meta,
    const void *body,
    size_t len, char *err, size_t errlen)
{
	const cJSON	*creds = cJSON_GetObjectItem(stage, "creds");
	const char	*loc = str_of(stage, "location");
	struct s3	 s = { 0 };
	char		 hash[65], *key, *enc = NULL, *url;
	size_t		 blen;
	int		 rc;

	s.key_id = str_of(creds, "AWS_KEY_ID");
	s.secret = str_of(creds, "AWS_SECRET_KEY");
	s.token = str_of(creds, "AWS_TOKEN");
	s.region = str_of(stage, "region");
	if (loc == NULL || s.key_id == NULL || s.secret == NULL ||
	    s.region == NULL)
		return errorf(err, errlen, "the PUT answer's S3 stage lacks a "
		    "location, region or credentials");
	if (s.token != NULL && *s.token == '\0')
		s.token = NULL;
	blen = strcspn(loc, "/");
	key = xasprintf("%s%s%s", loc[blen] ? loc + blen + 1 : "",
	    loc[blen] && loc[strlen(loc) - 1] != '/' ? "/" : "", name);
	sigv4_uri_encode(key, 0, &enc);
	s.path = xasprintf("/%s", enc ? enc : "");
	{
		char	*bucket = xasprintf("%.*s", (int)blen, loc);

		s.host = s3_endpoint(stage, bucket, s.region);
		free(bucket);
	}
	sigv4_sha256_hex(body, len, hash);
	s.payload_hash = hash;
	s.body = body;
	s.len = len;
	s.meta = meta;
	url = xasprintf("https://%s%s", s.host, s.path);
	rc = put_retried(url, s3_headers, &s, body, len, name, err, errlen);
	free(url);
	free(key);
	free(enc);
	free(s.path);
	free(s.host);
	return rc;
}

/* ---------------------------------------------------------- GCS */

struct gcs {
	const struct meta	*meta;
	char			*bearer;	/* "Authorization: Bearer .."
						   or NULL */
};

static char **
gcs_headers(void *arg, char *err, size_t errlen)
{
	struct gcs	*g = arg;
	char		**out = xcalloc(12, sizeof(*out));
	size_t		 k = 0;

	(void)err;
	(void)errlen;
	for (size_t i = 0; g->meta[i].name != NULL && k < 10; i++)
		out[k++] = xasprintf("%s: %s", g->meta[i].name,
		    g->meta[i].value);
	if (g->bearer != NULL)
		out[k++] = xstrdup(g->bearer);
	return out;
}

static int
gcs_put(const cJSON *stage, const char *name, const struct meta *meta,
    const void *body,
    size_t len, char *err, size_t errlen)
{
	const char	*presigned = str_of(stage, "presignedUrl");
	const char	*token = str_of(cJSON_GetObjectItem(stage, "creds"),
	    "GCS_ACCESS_TOKEN");
	const char	*loc = str_of(stage, "location");
	const char	*ep = str_of(stage, "endPoint");
	struct gcs	 g = { meta, NULL };
	char		*url, *key, *enc = NULL;
	size_t		 blen;
	int		 rc;

	if (presigned != NULL && *presigned != '\0')
		url = xstrdup(presigned);
	else if (token != NULL && loc != NULL) {
		blen = strcspn(loc, "/");
		key = xasprintf("%s%s", loc[blen] ? loc + blen + 1 : "", name);
		sigv4_uri_encode(key, 0, &enc);
		url = xasprintf("https://%s/%.*s/%s", ep != NULL && *ep ? ep :
		    "storage.googleapis.com", (int)blen, loc, enc ? enc : "");
		free(key);
		free(enc);
		g.bearer = xasprintf("Authorization: Bearer %s", token);
	} else
		return errorf(err, errlen, "the PUT answer's GCS stage has "
		    "neither a presigned URL nor an access token");
	rc = put_retried(url, gcs_headers, &g, body, len, name, err, errlen);
	if (g.bearer != NULL) {
		OPENSSL_cleanse(g.bearer, strlen(g.bearer));
		free(g.bearer);
	}
	free(url);
	return rc;
}

/* ------------------------------------------------------ the upload */

static void
add_meta(struct meta *v, size_t *n, const char *name, char *value)
{
	v[*n].name = xstrdup(name);
	v[(*n)++].value = value;
}

/* The GCS encryptiondata of the connector's gcs_storage_client. */
static char *
gcs_encryption_data(const struct sf_enc_meta *m)
{
	cJSON	*ed = cJSON_CreateObject(), *w, *a;
	char	*text;

	cJSON_AddStringToObject(ed, "EncryptionMode", "FullBlob");
	w = cJSON_AddObjectToObject(ed, "WrappedContentKey");
	cJSON_AddStringToObject(w, "KeyId", "symmKey1");
	cJSON_AddStringToObject(w, "EncryptedKey", m->key);
	cJSON_AddStringToObject(w, "Algorithm", "AES_CBC_256");
	a = cJSON_AddObjectToObject(ed, "EncryptionAgent");
	cJSON_AddStringToObject(a, "Protocol", "1.0");
	cJSON_AddStringToObject(a, "EncryptionAlgorithm", "AES_CBC_256");
	cJSON_AddStringToObject(ed, "ContentEncryptionIV", m->iv);
	a = cJSON_AddObjectToObject(ed, "KeyWrappingMetadata");
	cJSON_AddStringToObject(a, "EncryptionLibrary", "Java 5.3.0");
	text = cJSON_PrintUnformatted(ed);
	cJSON_Delete(ed);
	return text;
}

/* The object's metadata headers, in the provider's prefix. */
static struct meta *
object_meta(int s3, const char *digest, const struct sf_enc_meta *m)
{
	struct meta	*v = xcalloc(6, sizeof(*v));
	size_t		 n = 0;

	if (s3) {
		add_meta(v, &n, "x-amz-meta-sfc-digest", xstrdup(digest));
		if (m->key != NULL) {
			add_meta(v, &n, "x-amz-meta-x-amz-iv", xstrdup(m->iv));
			add_meta(v, &n, "x-amz-meta-x-amz-key",
			    xstrdup(m->key));
			add_meta(v, &n, "x-amz-meta-x-amz-matdesc",
			    xstrdup(m->matdesc));
		}
		return v;
	}
	add_meta(v, &n, "x-goog-meta-sfc-digest", xstrdup(digest));
	if (m->key != NULL) {
		add_meta(v, &n, "x-goog-meta-encryptiondata",
		    gcs_encryption_data(m));
		add_meta(v, &n, "x-goog-meta-matdesc", xstrdup(m->matdesc));
	}
	return v;
}

int
sf_stage_upload(const cJSON *put_data, const char *path, char *err,
    size_t errlen)
{
	const cJSON	*stage = cJSON_GetObjectItem(put_data, "stageInfo");
	const cJSON	*mat = cJSON_GetObjectItem(put_data,
	    "encryptionMaterial");
	const char	*type = str_of(stage, "locationType");
	const char	*name = strrchr(path, '/') ? strrchr(path, '/') + 1 :
	    path;
	struct sf_enc_meta m = { 0 };
	unsigned char	 sum[SHA256_DIGEST_LENGTH], *enc = NULL;
	char		*data, *digest;
	struct meta	*meta = NULL;
	size_t		 len = 0, enclen = 0;
	int		 rc = -1, s3;

	if (cJSON_IsArray(mat))
		mat = cJSON_GetArrayItem(mat, 0);
	if (type == NULL)
		return errorf(err, errlen, "the PUT answer names no stage "
		    "location type");
	s3 = strcmp(type, "S3") == 0;
	if (!s3 && strcmp(type, "GCS") != 0)
		return errorf(err, errlen, "stages of type %s are not "
		    "supported (S3 and GCS are)", type);
	if ((data = read_file_max(path, FILE_MAX, &len, err, errlen)) == NULL)
		return -1;
	SHA256((const unsigned char *)data, len, sum);
	digest = b64(sum, sizeof(sum));
	if (cJSON_IsObject(mat) && str_of(mat, "queryStageMasterKey") != NULL &&
	    (enc = sf_stage_encrypt(mat, data, len, &enclen, &m, err,
	    errlen)) == NULL)
		goto out;
	meta = object_meta(s3, digest, &m);
	rc = s3 ? s3_put(stage, name, meta, enc ? enc : (void *)data,
	    enc ? enclen : len, err, errlen) :
	    gcs_put(stage, name, meta, enc ? enc : (void *)data,
	    enc ? enclen : len, err, errlen);
out:
	for (size_t i = 0; meta != NULL && meta[i].name != NULL; i++) {
		free(meta[i].name);
		free(meta[i].value);
	}
	free(meta);
	sf_enc_meta_cleanup(&m);
	free(enc);
	free(digest);
	free(data);
	return rc;
}
