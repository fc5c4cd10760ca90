/*
 * handoff.h: what the worker already read, handed to its flow-run
 * process instead of being read again (prefect/contract.h): the run as
 * the claim was proved and its deployment, in an anonymous memory file
 * (memfd) the child inherits as descriptor PF_HANDOFF_FD, named by
 * PF_ENV_HANDOFF. Never the environment: a deployment may carry
 * secrets, and a child's environment is readable by every process the
 * flow starts and shown by ps.
 *
 * The file's first HANDOFF_FINAL_LEN bytes are a slot the flow-run
 * process fills with the final state type the API accepted, so the
 * worker need not read the run again after an exit 0; the JSON
 * follows.
 */
#ifndef PREFECT_HANDOFF_H
#define PREFECT_HANDOFF_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define HANDOFF_FINAL_LEN	16

/* A memfd (close-on-exec) holding run and deployment; -1 with err. */
int	 handoff_create(const cJSON *flow_run, const cJSON *deployment,
	    char *err, size_t errlen);
/*
 * The handoff of this process, if PF_ENV_HANDOFF names one whose run is
 * flow_run_id: 0 with *flow_run (and *deployment, NULL when the run has
 * none) owned by the caller and *fd the file (close-on-exec from now
 * on, for handoff_set_final); -1 when there is none or it does not
 * hold that run (the caller reads the API instead).
 */
int	 handoff_take(const char *flow_run_id, cJSON **flow_run,
	    cJSON **deployment, int *fd);
/* The flow-run process: the final state type the API accepted. */
void	 handoff_set_final(int fd, const char *type);
/* The worker: that type, or "" when none was written. */
void	 handoff_final(int fd, char out[HANDOFF_FINAL_LEN]);

#endif
