/*
 * load/state.h: dlt's pipeline state (dlt/pipeline/state_sync.py,
 * dlt/common/versioned_state.py): a JSON document kept in
 * <pipeline>/state.json and stored, compressed, in the destination's
 * _dlt_pipeline_state with each load that changed it.
 */
#ifndef LOAD_STATE_H
#define LOAD_STATE_H

#include <cjson/cJSON.h>

#define LD_STATE_ENGINE_VERSION	4

/*
 * The state in path, or a new one for pipeline name when there is none.
 * NULL with err when the file is not a state document.
 */
cJSON	*ld_state_read(const char *path, const char *pipeline, char *err,
	    size_t errlen);
/*
 * dlt's bump_state_version_if_modified: the hash of everything but the
 * versions and _local (sha3-256 of the sorted JSON, base64); the
 * version goes up when it changed. Returns the current hash (borrowed
 * from the state).
 */
const char *ld_state_bump(cJSON *state);
/* base64(zlib level 9(compact JSON without _local)): the state column. */
char	*ld_state_compress(const cJSON *state);
/* The inverse, for reading a state back (caller frees). */
cJSON	*ld_state_decompress(const char *text);
/* The state's sources.<source>.resources.<resource> object, made. */
cJSON	*ld_state_resource(cJSON *state, const char *source,
	    const char *resource);
/* Sorts an object's keys recursively (Python's sort_keys=True). */
void	 ld_json_sort(cJSON *);

#endif
