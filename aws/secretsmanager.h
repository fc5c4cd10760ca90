/*
 * secretsmanager.h: AWS Secrets Manager's GetSecretValue (JSON 1.1
 * protocol: POST /, X-Amz-Target: secretsmanager.GetSecretValue),
 * signed and retried by aws/awscall.h.
 *
 * Errors are told apart by their code, from a JSON "__type" (AWS), an
 * XML <Code> (moto) or the X-Amzn-ErrorType header, never by HTTP
 * status alone (AWS answers 400 where moto answers 404 or 403). The
 * classes follow dlt's AwsSecretsManagerProvider._look_vault():
 * ResourceNotFoundException is "not found"; AccessDeniedException,
 * UnrecognizedClientException, InvalidRequestException,
 * ValidationException, InvalidParameterException and DecryptionFailure
 * are "skipped" (dlt logs a warning and treats the key as missing;
 * moto's AccessDenied and InvalidClientTokenId count as the first two);
 * anything else, a bad signature included, is an error.
 */
#ifndef AWS_SECRETSMANAGER_H
#define AWS_SECRETSMANAGER_H

#include <stddef.h>

#include "aws/awscall.h"

enum sm_result {
	SM_FOUND,
	SM_NOT_FOUND,
	SM_SKIPPED,	/* see above: warn, then treat as missing */
	SM_ERROR
};

struct sm_answer {
	char	*secret;	/* SecretString, or SecretBinary when UTF-8 */
	char	*code;		/* error code, e.g. ResourceNotFoundException */
	char	*message;	/* the service's message, or NULL */
	long	 status;	/* HTTP status, 0 if none */
};

/*
 * GetSecretValue for secret_id (a name or an ARN). Returns the class;
 * for SM_FOUND out->secret is set; for SM_SKIPPED and SM_ERROR err
 * holds a one-line reason naming the secret, the code and the
 * service's message (never key material). Blocking; transport errors,
 * 5xx and throttling are tried three times.
 */
enum sm_result	sm_get_secret_value(const struct aws_client *,
		    const char *secret_id, struct sm_answer *out, char *err,
		    size_t errlen);
void		sm_answer_cleanup(struct sm_answer *);

/* Classifies one HTTP answer (for tests and fuzzing); fills out. */
enum sm_result	sm_parse_answer(long status, const char *error_type,
		    const char *body, size_t len, struct sm_answer *out);

#endif
