/*
 * supervise.c: `pfagent run` runs the flow in a child process and waits
 * for it, as the worker does for `pfagent execute`, so that however the
 * flow's process ends (a segfault, exit() from the flow, a signal) the
 * run ends: the parent reads it afterwards and, when the child left it
 * unfinished, records Crashed "Process exited with status code: N.
 * <explanation>" with the explanation in the run's logs. Without an API
 * the child hands its final state to the parent on a shared page.
 *
 * SIGINT and SIGTERM are the child's to act on (it records Crashed, as
 * Prefect's engine); the parent forwards them (Ctrl-C reaches both) and
 * waits on. Exit status: 0 Completed, 1 anything else.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor/executor_int.h"
#include "common/json.h"
#include "common/log.h"
#include "common/spawn.h"
#include "common/util.h"
#include "prefect/contract.h"

#define FINAL_MAX	sizeof(((struct exec *)0)->final_type)

static void
signals_of_interest(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGCHLD);
}

pid_t
exec_fork(struct exec *x, char *err, size_t errlen)
{
	sigset_t	set, chld;
	pid_t		pid, parent = getpid();

	x->shared_final = mmap(NULL, FINAL_MAX, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (x->shared_final == MAP_FAILED) {
		x->shared_final = NULL;
		return errorf(err, errlen, "mmap: %s", strerror(errno));
	}
	/* Blocked before the fork: none is lost, none kills the child. */
	signals_of_interest(&set);
	sigprocmask(SIG_BLOCK, &set, &x->saved_mask);
	fflush(NULL);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &x->saved_mask, NULL);
		return errorf(err, errlen, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* SIGINT/SIGTERM stay blocked for exec_signals_start. */
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
		/* A parent killed outright takes the run down with it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			raise(SIGTERM);
	}
	return pid;
}

void
exec_child_done(struct exec *x)
{
	if (x->shared_final != NULL)
		strlcpy_(x->shared_final, x->final_type, FINAL_MAX);
}

/* Waits for the child, forwarding the termination signals to it. */
static int
wait_child(pid_t pid)
{
	sigset_t	set;
	siginfo_t	si;
	int		status;

	signals_of_interest(&set);
	for (;;) {
		if (sigwaitinfo(&set, &si) == -1) {
			if (errno == EINTR)
				continue;
			fatal("sigwaitinfo");
		}
		if (si.si_signo != SIGCHLD) {
			kill(pid, si.si_signo);
			continue;
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
	}
}

static int
final_type(const char *type)
{
	return type != NULL && (strcmp(type, "COMPLETED") == 0 ||
	    strcmp(type, "FAILED") == 0 || strcmp(type, "CRASHED") == 0 ||
	    strcmp(type, "CANCELLED") == 0);
}

/* The worker's lines for a process that ended the run, in its logs. */
static void
post_logs(struct exec *x, int code, const char *msg)
{
	cJSON			*arr = cJSON_CreateArray();
	struct http_resp	 r;
	char			*body;

	cJSON_AddItemToArray(arr, api_log_entry("prefect.flow_runs",
	    api_exit_log_level(code), msg, x->id, NULL));
	cJSON_AddItemToArray(arr, api_log_entry("prefect.flow_runs",
	    PF_LEVEL_INFO, api_exit_resolution(code), x->id, NULL));
	body = json_print(arr);
	if (http_call(&x->http, &retry_patient, "POST", "/logs/", body, &r) !=
	    RETRY_OK)
		log_warnx("flow run %s: log lines not delivered: %s", x->id,
		    r.status ? "HTTP error" : r.error);
	http_resp_cleanup(&r);
	free(body);
	cJSON_Delete(arr);
}

/* The child left the run unfinished: Crashed, naming how it ended. */
static void
record_crash(struct exec *x, int code)
{
	struct orch_result	 o;
	char			*msg = xasprintf("Process exited with status "
	    "code: %d. %s", code, api_exit_explanation(code));

	log_error("flow run '%s': %s", x->run.name, msg);
	log_info("%s", api_exit_resolution(code));
	if (!x->local) {
		post_logs(x, code, msg);
		if (exec_propose(x, "CRASHED", "Crashed", msg, 0, &o) == 0 &&
		    o.status != ORCH_ACCEPT)
			log_warnx("flow run %s: Crashed not accepted (%s): %s",
			    x->id, api_orch_status_name(o.status), o.reason);
	}
	log_info("Finished in state Crashed('%s')", msg);
	free(msg);
}

int
exec_supervise(struct exec *x, pid_t pid)
{
	int		 code = proc_status_code(wait_child(pid));
	char		 err[1024], type[FINAL_MAX] = "";
	cJSON		*run;
	const char	*t;

	sigprocmask(SIG_SETMASK, &x->saved_mask, NULL);
	if (x->local)
		strlcpy_(type, x->shared_final, sizeof(type));
	else if ((run = exec_get_json(x, "/flow_runs/", x->id, err,
	    sizeof(err))) == NULL) {
		log_error("flow run %s: cannot read how it ended: %s", x->id,
		    err);
		return 1;
	} else {
		t = json_str(json_obj(run, "state"), "type");
		strlcpy_(type, t ? t : "", sizeof(type));
		cJSON_Delete(run);
	}
	if (!final_type(type)) {
		record_crash(x, code);
		return 1;
	}
	return strcmp(type, "COMPLETED") == 0 ? 0 : 1;
}
