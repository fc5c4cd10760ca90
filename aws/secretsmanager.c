/*
 * secretsmanager.c: GetSecretValue, signed and classified (see
 * secretsmanager.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aws/awscall.h"
#include "aws/secretsmanager.h"
#include "common/json.h"
#include "common/util.h"

#define TARGET		"secretsmanager.GetSecretValue"
#define CONTENT_TYPE	"application/x-amz-json-1.1"

static const char *const skipped_codes[] = {
	"AccessDeniedException", "UnrecognizedClientException",
	"InvalidRequestException", "ValidationException",
	"InvalidParameterException", "DecryptionFailure",
	"AccessDenied", "InvalidClientTokenId", NULL
};

void
sm_answer_cleanup(struct sm_answer *a)
{
	if (a->secret != NULL) {
		OPENSSL_cleanse(a->secret, strlen(a->secret));
		free(a->secret);
	}
	free(a->code);
	free(a->message);
	memset(a, 0, sizeof(*a));
}

static int
utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t	k;

		if (s[i] < 0x80) {
			if (s[i] == 0)
				return 0;	/* would cut a C string */
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0 && s[i] >= 0xc2)
			k = 1;
		else if ((s[i] & 0xf0) == 0xe0)
			k = 2;
		else if ((s[i] & 0xf8) == 0xf0 && s[i] <= 0xf4)
			k = 3;
		else
			return 0;
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

static void
cleanse_field(cJSON *j, const char *name)
{
	cJSON	*it = cJSON_GetObjectItemCaseSensitive(j, name);

	if (cJSON_IsString(it))
		OPENSSL_cleanse(it->valuestring, strlen(it->valuestring));
}

/* SecretBinary is base64; NULL unless it decodes to UTF-8 text. */
static char *
decode_binary(const char *b64)
{
	size_t		 n = strlen(b64), pad = 0;
	unsigned char	*out;
	int		 len;

	if (n == 0 || n % 4 != 0 || n > (1u << 20))
		return NULL;
	out = xmalloc(n / 4 * 3 + 1);
	if ((len = EVP_DecodeBlock(out, (const unsigned char *)b64,
	    (int)n)) < 0) {
		free(out);
		return NULL;
	}
	pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
	len -= (int)pad;
	if (!utf8_ok(out, (size_t)len)) {
		OPENSSL_cleanse(out, (size_t)len);
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return (char *)out;
}

static enum sm_result
classify(const char *code)
{
	if (code == NULL)
		return SM_ERROR;
	if (strcmp(code, "ResourceNotFoundException") == 0)
		return SM_NOT_FOUND;
	for (size_t i = 0; skipped_codes[i] != NULL; i++)
		if (strcmp(code, skipped_codes[i]) == 0)
			return SM_SKIPPED;
	return SM_ERROR;
}

enum sm_result
sm_parse_answer(long status, const char *error_type, const char *body,
    size_t len, struct sm_answer *out)
{
	cJSON		*j;
	const char	*s;

	memset(out, 0, sizeof(*out));
	out->status = status;
	if (status == 200) {
		enum sm_result	r = SM_NOT_FOUND;

		j = len > 0 ? cJSON_ParseWithLength(body, len) : NULL;

		if ((s = json_str(j, "SecretString")) != NULL) {
			out->secret = xstrdup(s);
			r = SM_FOUND;
		} else if ((s = json_str(j, "SecretBinary")) != NULL &&
		    (out->secret = decode_binary(s)) != NULL)
			r = SM_FOUND;
		else if (j == NULL || !cJSON_IsObject(j)) {
			out->code = xstrdup("InvalidAnswer");
			out->message = xstrdup("the answer is not a JSON "
			    "object");
			r = SM_ERROR;
		}
		cleanse_field(j, "SecretString");
		cleanse_field(j, "SecretBinary");
		cJSON_Delete(j);
		return r;
	}
	aws_answer_error(body, len, error_type, &out->code, &out->message);
	if (out->code == NULL)
		out->code = xasprintf("HTTP%ld", status);
	return classify(out->code);
}

enum sm_result
sm_get_secret_value(const struct aws_client *c, const char *secret_id,
    struct sm_answer *out, char *err, size_t errlen)
{
	struct awshttp_resp	 r;
	cJSON			*req;
	char			*body;
	enum sm_result		 res = SM_ERROR;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	req = json_strings("SecretId", secret_id, NULL);
	body = json_print(req);
	cJSON_Delete(req);
	if (aws_signed_post(c, "secretsmanager", CONTENT_TYPE, TARGET, body, &r,
	    err, errlen) == -1)
		goto out;
	if (r.status == 0) {
		errorf(err, errlen, "GetSecretValue %s: %s", secret_id,
		    r.error);
		goto out;
	}
	res = sm_parse_answer(r.status, r.error_type, r.body, r.len, out);
	if (res == SM_SKIPPED || res == SM_ERROR)
		errorf(err, errlen, "GetSecretValue %s: %s%s%s (HTTP %ld)",
		    secret_id, out->code, out->message ? ": " : "",
		    out->message ? out->message : "", r.status);
out:
	if (r.body != NULL)
		OPENSSL_cleanse(r.body, r.len);
	awshttp_resp_cleanup(&r);
	free(body);
	return res;
}
