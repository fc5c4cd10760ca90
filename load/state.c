/*
 * state.c: dlt's pipeline state (load/state.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "common/util.h"
#include "load/state.h"

cJSON *
ld_state_read(const char *path, const char *pipeline, char *err,
    size_t errlen)
{
	char	*text = read_file_max(path, 64u << 20, NULL, err, errlen);
	cJSON	*s;

	if (text == NULL) {
		s = cJSON_CreateObject();
		cJSON_AddNumberToObject(s, "_state_version", 0);
		cJSON_AddNumberToObject(s, "_state_engine_version",
		    LD_STATE_ENGINE_VERSION);
		cJSON_AddObjectToObject(s, "_local");
		cJSON_AddStringToObject(s, "pipeline_name", pipeline);
		return s;
	}
	s = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsObject(s)) {
		cJSON_Delete(s);
		errorf(err, errlen, "%s is not a pipeline state document",
		    path);
		return NULL;
	}
	if (!cJSON_IsObject(cJSON_GetObjectItem(s, "_local")))
		cJSON_AddObjectToObject(s, "_local");
	return s;
}

static int
by_key(const void *a, const void *b)
{
	return strcmp((*(cJSON *const *)a)->string,
	    (*(cJSON *const *)b)->string);
}

void
ld_json_sort(cJSON *o)
{
	cJSON	**v, *c;
	size_t	  n = 0, i;

	if (o == NULL)
		return;
	for (c = o->child; c != NULL; c = c->next, n++)
		ld_json_sort(c);
	if (!cJSON_IsObject(o) || n < 2)
		return;
	/* An array and qsort: linear-log in the width, as Python's. */
	v = xcalloc(n, sizeof(*v));
	for (c = o->child, i = 0; c != NULL; c = c->next)
		v[i++] = c;
	qsort(v, n, sizeof(*v), by_key);
	for (i = 0; i < n; i++) {
		v[i]->prev = i > 0 ? v[i - 1] : v[n - 1];	/* cJSON: head's
								   prev is the tail */
		v[i]->next = i + 1 < n ? v[i + 1] : NULL;
	}
	o->child = v[0];
	free(v);
}

static char *
base64(const unsigned char *d, size_t n)
{
	char	*out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, d, (int)n);
	return out;
}

const char *
ld_state_bump(cJSON *state)
{
	cJSON		*copy = cJSON_Duplicate(state, 1), *h;
	char		*text, *hash;
	unsigned char	 md[32];
	unsigned int	 mdlen;
	const char	*old;

	cJSON_DeleteItemFromObject(copy, "_local");
	cJSON_DeleteItemFromObject(copy, "_state_version");
	cJSON_DeleteItemFromObject(copy, "_state_engine_version");
	cJSON_DeleteItemFromObject(copy, "_version_hash");
	ld_json_sort(copy);
	text = cJSON_PrintUnformatted(copy);
	EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha3_256(), NULL);
	hash = base64(md, mdlen);
	free(text);
	cJSON_Delete(copy);
	old = cJSON_GetStringValue(cJSON_GetObjectItem(state,
	    "_version_hash"));
	if (old == NULL || strcmp(old, hash) != 0) {
		h = cJSON_GetObjectItem(state, "_state_version");
		if (cJSON_IsNumber(h))
			cJSON_SetNumberValue(h, h->valuedouble + 1);
		cJSON_DeleteItemFromObject(state, "_version_hash");
		cJSON_AddStringToObject(state, "_version_hash", hash);
	}
	free(hash);
	return cJSON_GetStringValue(cJSON_GetObjectItem(state,
	    "_version_hash"));
}

char *
ld_state_compress(const cJSON *state)
{
	cJSON		*copy = cJSON_Duplicate(state, 1);
	char		*text, *out;
	uLongf		 zlen;
	unsigned char	*z;

	cJSON_DeleteItemFromObject(copy, "_local");
	text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	zlen = compressBound((uLong)strlen(text));
	z = xmalloc(zlen);
	if (compress2(z, &zlen, (const Bytef *)text, (uLong)strlen(text), 9)
	    != Z_OK)
		zlen = 0;
	out = base64(z, zlen);
	free(z);
	free(text);
	return out;
}

cJSON *
ld_state_decompress(const char *text)
{
	size_t		 n = strlen(text);
	unsigned char	*bin = xmalloc(n + 1);
	int		 len;
	uLongf		 cap = 1u << 20;
	unsigned char	*plain = NULL;
	cJSON		*s = NULL;
	int		 rc;

	len = EVP_DecodeBlock(bin, (const unsigned char *)text, (int)n);
	if (len < 0) {
		free(bin);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as bytes. */
	while (n > 0 && text[n - 1] == '=')
		n--, len--;
	do {
		free(plain);
		plain = xmalloc(cap + 1);
		rc = uncompress(plain, &cap, bin, (uLong)len);
		if (rc == Z_BUF_ERROR)
			cap *= 4;
	} while (rc == Z_BUF_ERROR && cap < (256u << 20));
	if (rc == Z_OK) {
		plain[cap] = '\0';
		s = cJSON_Parse((char *)plain);
	}
	free(plain);
	free(bin);
	return s;
}

cJSON *
ld_state_resource(cJSON *state, const char *source, const char *resource)
{
	cJSON	*o = state;
	const char *path[] = { "sources", source, "resources", resource };

	for (size_t i = 0; i < 4; i++) {
		cJSON	*next = cJSON_GetObjectItem(o, path[i]);

		if (!cJSON_IsObject(next)) {
			cJSON_DeleteItemFromObject(o, path[i]);
			next = cJSON_AddObjectToObject(o, path[i]);
		}
		o = next;
	}
	return o;
}
