/*
 * fuzz_sigv4.c: feeds arbitrary paths, queries and headers to the SigV4
 * signer, both header and query (presign) variants. The first byte holds
 * option bits; the rest is split on '\n' into path, query, up to eight
 * "name:value" headers and a body. Signing may fail but never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"

#define NHDR	8

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigv4_creds	 c = { "AKIDEXAMPLE", "secret", NULL };
	struct sigv4_params	 p = { "us-east-1", "s3", "20150830T123600Z",
	    0, 0 };
	struct sigv4_header	 h[NHDR + 1];
	struct sigv4_request	 rq = { 0 };
	char			*buf, *s, *nl, *colon, *out, *cr, *sts;
	char			*piece[2 + NHDR];
	char			 err[128];
	size_t			 n = 0, nh = 0;
	unsigned		 flags;

	if (size == 0 || (buf = malloc(size)) == NULL)
		return 0;
	flags = data[0];
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (s = buf; n < 2 + NHDR && s != NULL; n++) {
		piece[n] = s;
		if ((nl = strchr(s, '\n')) != NULL)
			*nl++ = '\0';
		s = nl;
	}
	if (flags & 1)
		h[nh++] = (struct sigv4_header){ "Host", "example.com" };
	for (size_t i = 2; i < n; i++) {
		if ((colon = strchr(piece[i], ':')) != NULL)
			*colon++ = '\0';
		h[nh++] = (struct sigv4_header){ piece[i],
		    colon ? colon : "" };
	}
	rq.method = flags & 2 ? "PUT" : "GET";
	rq.path = n > 0 ? piece[0] : NULL;
	rq.query = n > 1 && !(flags & 4) ? piece[1] : NULL;
	rq.headers = h;
	rq.nheaders = nh;
	if (s != NULL) {
		rq.body = s;
		rq.body_len = (size_t)(buf + size - 1 - s);
	}
	rq.payload_hash = flags & 8 ? "UNSIGNED-PAYLOAD" : NULL;
	p.normalize_path = (flags & 16) != 0;
	p.sign_body_header = (flags & 32) != 0;
	if (flags & 64)
		c.session_token = "token/with+odd=chars";
	if (sigv4_sign(&rq, &c, &p, &out, &cr, flags & 128 ? &sts : NULL,
	    err, sizeof(err)) == 0) {
		free(out);
		free(cr);
		if (flags & 128)
			free(sts);
	}
	if (sigv4_presign(&rq, &c, &p, 1 + (long)(flags & 0x7f) * 4000, &out,
	    NULL, &sts, err, sizeof(err)) == 0) {
		free(out);
		free(sts);
	}
	free(buf);
	return 0;
}
