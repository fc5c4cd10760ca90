/*
 * artifact.h: the pure parts of pf_artifact_markdown/pf_artifact_table
 * (sdk/artifact.c), for the unit tests and fuzzing: the key check, the
 * table's data string and the POST /artifacts/ body.
 */
#ifndef SDK_ARTIFACT_H
#define SDK_ARTIFACT_H

#include <stddef.h>

/* 0 for a key Prefect accepts (NULL and "" too), else -1 with err. */
int	 sdk_artifact_key_check(const char *key, char *err, size_t errlen);
/*
 * A table (JSON text: a list of row objects or an object of column
 * lists) as the data string Python's json.dumps prints for it, or NULL
 * with err. Caller frees.
 */
char	*sdk_artifact_table_data(const char *table_json, char *err,
	    size_t errlen);
/* The ArtifactCreate body (NULL fields sent as null). Caller frees. */
char	*sdk_artifact_body(const char *type, const char *key,
	    const char *description, const char *data,
	    const char *flow_run_id, const char *task_run_id);

#endif
