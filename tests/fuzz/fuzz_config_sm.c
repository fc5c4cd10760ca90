/*
 * fuzz_config_sm.c: what comes back from the network or from files the
 * AWS providers read: a Secrets Manager answer (status from the first
 * byte, the rest the body, also offered as X-Amzn-ErrorType), the ECS
 * container endpoint's JSON, an AWS credentials INI file and a secret
 * parsed as a TOML/JSON fragment and merged the way the vault does.
 * Nothing may crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"
#include "aws/secretsmanager.h"
#include "config/provider.h"
#include "config/toml.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const long statuses[] = { 200, 400, 403, 404, 500, 502, 0, 302 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sm_answer	 a;
	struct aws_creds	 c;
	char			 err[256], *s, *v;
	const char		*body;
	cJSON			*frag, *doc;

	if (size == 0 || (s = fuzz_cstr(data, size)) == NULL)
		return 0;
	body = s + 1;
	sm_parse_answer(statuses[data[0] & 7], (data[0] & 8) ? body : NULL,
	    body, size - 1, &a);
	sm_answer_cleanup(&a);
	if (aws_creds_parse_container(body, size - 1, &c, err,
	    sizeof(err)) == 0)
		aws_creds_cleanup(&c);
	free(aws_ini_get(body, "default", "aws_access_key_id"));
	free(aws_ini_get(body, "profile x", "region"));
	if ((v = aws_ini_get(body, "", "")) != NULL)
		free(v);
	/* A vault fragment: TOML, else JSON; merged into a document. */
	frag = toml_parse(body, strlen(body), NULL);
	if (frag == NULL)
		frag = cJSON_Parse(body);
	if (frag != NULL && (doc = cJSON_CreateObject()) != NULL) {
		cfg_json_mark_ints(frag);
		if (cJSON_IsObject(frag)) {
			doc_merge(doc, frag);
			doc_merge(doc, frag);
		}
		cJSON_Delete(doc);
	}
	cJSON_Delete(frag);
	free(s);
	return 0;
}
