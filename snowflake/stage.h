/*
 * snowflake/stage.h: a local file into a Snowflake stage, as the PUT
 * command's answer directs (its data: stageInfo, encryptionMaterial),
 * the way Snowflake's drivers move it (the Python connector's
 * file_transfer_agent.py, encryption_util.py, s3_storage_client.py and
 * gcs_storage_client.py):
 *
 *   - client-side encrypted when the answer carries the stage's master
 *     key: AES-CBC under a fresh random file key and IV, the file key
 *     wrapped with AES-ECB under the master key, and the connector's
 *     metadata (key, iv, matdesc) sent with the object;
 *   - its SHA-256 (base64) sent as sfc-digest;
 *   - S3: PUT to the stage's bucket with the temporary credentials of
 *     stageInfo.creds, signed with SigV4 (aws/sigv4.h);
 *   - GCS: PUT to stageInfo.presignedUrl, or with its access token.
 *
 * Azure stages are not supported (an error says so). Credentials and
 * keys never appear in messages.
 */
#ifndef SNOWFLAKE_STAGE_H
#define SNOWFLAKE_STAGE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * Uploads path (its base name in the stage) as put_data (the PUT
 * answer's "data") says. Retries a dropped connection, 5xx and 429 a
 * few times. Returns 0, or -1 with err naming the file and what the
 * storage said.
 */
int	sf_stage_upload(const cJSON *put_data, const char *path, char *err,
	    size_t errlen);

/* What an encryption left for the object's metadata, base64/JSON. */
struct sf_enc_meta {
	char	*key;		/* the wrapped file key */
	char	*iv;
	char	*matdesc;	/* {"queryId":..,"smkId":..,"keySize":..} */
};

/*
 * The connector's encrypt_stream: data encrypted under a fresh key
 * with the master key material (queryStageMasterKey base64, queryId,
 * smkId). Returns the ciphertext (caller frees, *outlen its size) and
 * fills meta, or NULL with err.
 */
unsigned char	*sf_stage_encrypt(const cJSON *material, const void *data,
		    size_t len, size_t *outlen, struct sf_enc_meta *meta,
		    char *err, size_t errlen);
void		 sf_enc_meta_cleanup(struct sf_enc_meta *);

#endif
