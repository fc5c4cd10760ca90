#ifndef COMMON_SPAWN_H
#define COMMON_SPAWN_H

#include "common/util.h"

/*
 * Runs argv (argv[0] searched in PATH) in dir (NULL: the current one)
 * with envp, stdin from /dev/null, its stdout appended to out and its
 * stderr to errb (which may be out), and both copied to our own 1 and 2
 * when stream is set: as they come, or, with mask, a line at a time with
 * mask's secrets masked (common/redact.h). Returns 0 with the wait status
 * in *status, or the errno value that kept it from starting (the pipes,
 * or posix_spawn's).
 */
struct redact;

int	spawn_capture(char *const argv[], const char *dir, char *const envp[],
	    struct buf *out, struct buf *errb, int stream, struct redact *mask,
	    int *status);
/* Prefect's view of a wait status: exit code, or -signal. */
int	proc_status_code(int wstatus);

#endif
