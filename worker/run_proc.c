/*
 * run_proc.c: the process of one flow run (run.c has the claim and the
 * states): spawning the executor with the run's limits, journalled
 * before it may exec; reaping it and naming how it ended; stopping it
 * when the worker shuts down (the worker then records the state); and
 * adopting the live process of a worker that died (recover.c).
 *
 *   spawn --journal pid--> RUNNING --pidfd--> reap: non-zero -> Crashed
 *     (naming a limit it went over); cancelled -> Cancelled (run.c);
 *     exit 0, stopped or adopted -> read the run, record Crashed (or
 *     AwaitingRetry) unless it or its history is final; the journal record goes once
 *     the API shows the run final (run.c)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker/worker.h"
#include "prefect/api.h"
#include "worker/cancel.h"
#include "worker/ecs.h"
#include "worker/journal.h"
#include "worker/metrics.h"
#include "worker/request.h"
#include "worker/run_int.h"
#include "common/json.h"
#include "common/log.h"
#include "common/spawn.h"
#include "common/util.h"
#include "prefect/contract.h"
#include "prefect/handoff.h"
#include "deployments/shell_step.h"

/* --- the worker shuts down; the state of a process nobody waited for --- */

#define STOP_GRACE_SECONDS	5	/* SIGTERM -> SIGKILL when stopping */

enum { SHUTDOWN_NONE, SHUTDOWN_CRASH, SHUTDOWN_RESCHEDULE };

static char *
shutdown_message(const struct run *r)
{
	return xasprintf("Worker '%s' shut down before the flow run "
	    "finished.", r->agent->conf.name);
}

/*
 * Crashed "Process exited with status code: N. <explanation>", as
 * Prefect's runner; ABORTed when the executor already wrote a final
 * state. Exit 0 comes here only for a run the API shows unfinished.
 */
static void
crash_of_status(struct run *r, int code)
{
	char	*msg = xasprintf("Process exited with status code: %d. %s",
	    code, api_exit_explanation(code));

	run_log(r, api_exit_log_level(code), "%s", msg);
	run_log(r, PF_LEVEL_INFO, "%s", api_exit_resolution(code));
	run_propose(r, "CRASHED", "Crashed", msg, 0);
	free(msg);
}

static void
crash_of_exit_zero(struct run *r)
{
	crash_of_status(r, 0);
}

/*
 * A process that exited 0 without a final state ends the run Crashed
 * when the run is still the one it was started for: Pending by our
 * claim, or showing our process. An executor that declined to run it
 * (the orchestrator said no) leaves another's run alone.
 */
static int
exited_on_ours(const struct run *r, const cJSON *run, const char *type)
{
	const cJSON	*st = json_obj(run, "state");
	const char	*tid = json_str(json_obj(st, "state_details"),
	    "transition_id");
	const char	*ipid = json_str(run, "infrastructure_pid");
	char		 pid[24];

	if (strcmp(type, "RUNNING") != 0 && strcmp(type, "PENDING") != 0)
		return 0;
	snprintf(pid, sizeof(pid), "%d", (int)r->pgid);
	return (ipid != NULL && strcmp(ipid, pid) == 0) || (tid != NULL &&
	    (strcmp(tid, r->jrec.claim_tid) == 0 ||
	    strcmp(tid, r->jrec.submit_tid) == 0));
}

/*
 * The answer to GET /flow_runs/{id} for a process whose end the worker
 * owns (stopped by the shutdown), could not see (adopted) or that exited
 * 0: a final state stays; otherwise the worker records one, never
 * forced, so a state the flow reported meanwhile wins.
 */
static void
on_state_for_end(struct http_resp *resp, enum retry_class rc, void *arg)
{
	struct run	*r = arg;
	cJSON		*run = NULL;
	const char	*type = NULL;
	char		*msg;

	if (rc == RETRY_OK && (run = cJSON_Parse(resp->body)) != NULL)
		type = json_str(json_obj(run, "state"), "type");
	else
		log_warnx("flow run %s: cannot read its state (%s); "
		    "recording it anyway", r->id, resp->error);
	if (run_state_is_final(type)) {
		r->settled = 1;
		log_info("flow run %s (%s): already %s", r->id, r->name, type);
		metrics_run_finished(type);
	} else if (type != NULL && strcmp(type, "CANCELLING") == 0) {
		run_log(r, PF_LEVEL_INFO, "Cancelled flow run '%s'", r->name);
		run_force_cancelled(r, "Flow run was cancelled successfully.");
	} else if (!r->shutdown && r->exit_known && type != NULL &&
	    !exited_on_ours(r, run, type)) {
		log_info("flow run %s (%s): %s, no longer the run its process "
		    "was started for; left as it is", r->id, r->name, type);
		r->settled = 1;
	} else if (!r->shutdown && r->exit_known && r->exit_code == 0) {
		/* Prefect 3.0 may show our Pending after the run ended. */
		run_restore_history(r, crash_of_exit_zero);
	} else if (!r->shutdown && r->exit_known) {
		crash_of_status(r, r->exit_code);
	} else if (r->shutdown == SHUTDOWN_RESCHEDULE) {
		msg = xasprintf("Rescheduled: worker '%s' shut down before the "
		    "flow run finished.", r->agent->conf.name);
		log_info("flow run %s (%s): rescheduled", r->id, r->name);
		run_log(r, PF_LEVEL_INFO, "Rescheduled flow run for "
		    "resubmission: worker '%s' shut down", r->agent->conf.name);
		/* Prefect's own reschedule on SIGTERM: AwaitingRetry, now. */
		run_set_state(r, &retry_patient, "SCHEDULED", "AwaitingRetry", msg,
		    0, NULL, run_on_final);
		free(msg);
	} else {
		msg = r->shutdown ? shutdown_message(r) : xasprintf("Process "
		    "%d ended while the worker that started it was down, and "
		    "the flow run reported no final state (its exit status is "
		    "unknown).", (int)r->jrec.pid);
		run_crash(r, "%s", msg);
		free(msg);
	}
	cJSON_Delete(run);
	run_unref(r);
}

static void
finish_unknown(struct run *r)
{
	char	*path, final[HANDOFF_FINAL_LEN];

	run_kill_disarm_if_empty(r);
	cancel_intent_remove(r->agent->conf.state_dir, r->id);
	/* Our executor wrote the final state the API accepted: no need
	 * to read the run to know it (prefect/handoff.h). */
	handoff_final(r->handoff_fd, final);
	if (!r->shutdown && r->exit_known && r->exit_code == 0 &&
	    run_state_is_final(final)) {
		r->settled = 1;
		log_info("flow run %s (%s): already %s", r->id, r->name, final);
		metrics_run_finished(final);
		return;
	}
	path = api_path("/flow_runs/", r->id, NULL);
	run_request(r, &retry_patient, "GET", path, NULL, on_state_for_end);
	free(path);
}

/*
 * Stops a running run because the worker stops: the shutdown intent
 * tells the executor to leave the flow run's state to us (worker/cancel.h),
 * SIGTERM to its group, SIGKILL after STOP_GRACE_SECONDS; reap() then
 * records Crashed, or AwaitingRetry with --drain-action reschedule.
 */
static void
stop_start(struct run *r, int now)
{
	struct agent	*a = r->agent;
	char		 err[256], *msg = shutdown_message(r);

	r->shutdown = !now && a->conf.drain_reschedule ? SHUTDOWN_RESCHEDULE :
	    SHUTDOWN_CRASH;
	if (shutdown_intent_write(a->conf.state_dir, r->id, msg, err,
	    sizeof(err)) == -1)
		log_warnx("flow run %s: shutdown intent: %s", r->id, err);
	log_info("flow run %s (%s): stopping: SIGTERM to process group %d, "
	    "SIGKILL after %d s", r->id, r->name, (int)r->pgid,
	    STOP_GRACE_SECONDS);
	run_log(r, PF_LEVEL_INFO, "Worker '%s' stopping flow run '%s': the "
	    "worker is shutting down", a->conf.name, r->name);
	if (kill(-r->pgid, SIGTERM) == -1 && errno != ESRCH)
		log_warn("kill %d", (int)r->pgid);
	run_kill_arm(r, STOP_GRACE_SECONDS);
	free(msg);
}

void
run_stop_all(struct agent *a, int now)
{
	ecs_detach_all(a);	/* tasks run on their own: left running */
	for (struct run *r = a->runs; r != NULL; r = r->next) {
		if (r->step != STEP_RUNNING)
			continue;	/* claims hand themselves back */
		if (r->cancel_requested || r->shutdown) {
			/* Already going: only the SIGKILL comes sooner. */
			if (now && r->kill_timer != NULL &&
			    r->kill_grace > STOP_GRACE_SECONDS)
				run_kill_arm(r, STOP_GRACE_SECONDS);
			if (now && r->shutdown)
				r->shutdown = SHUTDOWN_CRASH;
			continue;
		}
		stop_start(r, now);
	}
}

void
run_kill_all(struct agent *a)
{
	for (struct run *r = a->runs; r != NULL; r = r->next)
		if (r->step == STEP_RUNNING && r->pgid > 0 &&
		    kill(-r->pgid, SIGKILL) == -1 && errno != ESRCH)
			log_warn("kill %d", (int)r->pgid);
}

/* --- the child --- */

static void	reap_tick(void *);

/* The Crashed message of a process that ended over one of its limits. */
static char *
limit_message(const struct run *r, int code, const struct rusage *ru)
{
	double	cpu = (double)ru->ru_utime.tv_sec + (double)ru->ru_stime.tv_sec
	    + (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;

	if (r->cpu_seconds > 0 && (code == -SIGXCPU || (code == -SIGKILL &&
	    cpu >= (double)r->cpu_seconds)))
		return xasprintf("Flow run exceeded its CPU time limit of %ld "
		    "s (job variable cpu_limit_seconds). Process exited with "
		    "status code: %d.", r->cpu_seconds, code);
	/* The executor found an allocation refused (executor_stop.c). */
	if (r->memory_mb > 0 && code == PF_EXIT_MEMORY)
		return xasprintf("Flow run exceeded its memory limit of %ld MiB "
		    "(job variable memory). Process exited with status code: "
		    "%d.", r->memory_mb, code);
	return NULL;
}

/*
 * A child of a worker that died is not ours to wait for (unless we are
 * its reaper, as PID 1 of a container): its end is seen by its pidfd or
 * its identity going, its status is unknown.
 */
static int
adopted_ended(struct run *r, int *wstatus, struct rusage *ru, int *known)
{
	pid_t	w = wait4(r->pid, wstatus, WNOHANG, ru);

	if (w > 0)
		return 1;
	if (w == 0 || jrec_process_alive(&r->jrec))
		return 0;
	*known = 0;
	return 1;
}

/* Called when the child may have exited; 0 if it is still running. */
static int
reap(struct run *r)
{
	struct rusage	 ru;
	int		 wstatus = 0, code, known = 1;
	char		*msg;

	memset(&ru, 0, sizeof(ru));
	if (r->adopted ? !adopted_ended(r, &wstatus, &ru, &known) :
	    wait4(r->pid, &wstatus, WNOHANG, &ru) <= 0)
		return 0;
	if (r->pidfd != -1) {
		loop_fd_del(r->agent->loop, r->pidfd);
		close(r->pidfd);
		r->pidfd = -1;
	}
	r->step = STEP_EXITED;
	run_ship_spool(r->agent, r->id);
	code = known ? proc_status_code(wstatus) : -1;
	r->exit_code = code;
	r->exit_known = known;
	if (known)
		log_info("flow run %s (%s): process %d exited with status %d",
		    r->id, r->name, (int)r->pid, code);
	else
		log_info("flow run %s (%s): adopted process %d ended",
		    r->id, r->name, (int)r->pid);
	r->pid = 0;
	run_free_slot(r);
	if (!r->adopted)
		run_emit(r, "prefect.worker.executed-flow-run", 1, code);
	if (r->cancel_requested)
		run_finish_cancel(r);
	else if (known && code == PF_EXIT_NOT_OURS) {
		log_info("flow run %s (%s): its process found the run claimed "
		    "by another worker and ran nothing", r->id, r->name);
		r->settled = 1;		/* no record of ours to repair */
		run_not_ours(r);
	}
	else if (r->shutdown || !known || code == 0)
		finish_unknown(r);	/* reads the run: final, or Crashed */
	else if ((msg = limit_message(r, code, &ru)) != NULL) {
		run_crash(r, "%s", msg);
		free(msg);
	} else
		crash_of_status(r, code);
	run_release(r);
	return 1;
}

static void
on_exit_status(int fd, short revents, void *arg)
{
	(void)fd; (void)revents;
	reap(arg);
}

/* Without pidfds (old kernels, valgrind): look every 100 ms. */
static void
reap_tick(void *arg)
{
	struct run	*r = arg;

	if (!reap(r))
		loop_timer_add(r->agent->loop, 100, reap_tick, r);
}

/* The child's environment, in Prefect's order (later entries win). */
static char **
child_env(struct run *r, const struct jobconf *jc, int handoff)
{
	extern char	**environ;
	char		**add, **env;
	size_t		  n = 13, i = 0;
	struct claim	  claim;
	const char	 *dep_name = json_str(r->deployment, "name");
	const char	 *dep_id = json_str(r->flow_run, "deployment_id");
	const char	 *flow_id = json_str(r->flow_run, "flow_id");

	for (char **e = jc->env; e && *e; e++)
		n++;
	for (char **e = environ; *e; e++)
		n++;
	add = xcalloc(n, sizeof(char *));
	for (char **e = jc->env; e && *e; e++)
		add[i++] = xstrdup(*e);
	/* Prefect settings set on the worker beat those in job env. */
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "PREFECT_", 8) == 0 && (*e)[8] != '_')
			add[i++] = xstrdup(*e);
	add[i++] = xasprintf(PF_ENV_FLOW_RUN_ID "=%s", r->id);
	add[i++] = xasprintf(PF_ENV_WORKER_NAME "=%s", r->agent->conf.name);
	add[i++] = xasprintf(PF_ENV_FLOW_ID "=%s", flow_id ? flow_id : "");
	add[i++] = xasprintf(PF_ENV_FLOW_NAME "=%s",
	    r->flow_name ? r->flow_name : "");
	add[i++] = xasprintf(PF_ENV_DEPLOYMENT_ID "=%s", dep_id ? dep_id : "");
	add[i++] = xasprintf(PF_ENV_DEPLOYMENT_NAME "=%s",
	    dep_name ? dep_name : "");
	add[i++] = xstrdup("PREFECT__ENABLE_CANCELLATION_AND_CRASHED_HOOKS="
	    "false");
	add[i++] = xasprintf(PF_ENV_STATE_DIR "=%s", r->agent->conf.state_dir);
	add[i++] = xasprintf(PF_ENV_GIT_CACHE_MB "=%d",
	    r->agent->conf.git_cache_mb);
	/* The executor proves the run is still ours before Running. */
	run_claim_info(r, &claim);
	add[i++] = claim_env(&claim);
	/* What we read, for it not to read again (prefect/handoff.h). */
	if (handoff)
		add[i++] = xasprintf(PF_ENV_HANDOFF "=%d", PF_HANDOFF_FD);
	/* --profile is the operator's choice for this worker: it wins. */
	if (r->agent->conf.profile != NULL)
		add[i++] = xasprintf(PF_ENV_PROFILE "=%s",
		    r->agent->conf.profile);
	add[i] = NULL;
	env = proc_env_build(add);
	proc_env_free(add);
	return env;
}

/* proc_spawn's hook: the child waits to exec until this is on disk. */
static void
journal_spawned(pid_t pid, void *arg)
{
	struct run	*r = arg;

	r->jrec.pid = pid;
	if (proc_identity(pid, &r->jrec.start_time, r->jrec.boot_id) == -1)
		log_warnx("flow run %s: cannot read /proc/%d/stat", r->id,
		    (int)pid);
	free(r->jrec.workdir);
	r->jrec.workdir = xstrdup(r->workdir);
	r->jrec.workdir_is_temp = r->workdir_is_temp;
	run_journal(r);
}

/* The child is our own executor (not a job's command or Python). */
static int
is_executor(const struct run *r, char *const *argv)
{
	return argv[0] != NULL && strcmp(argv[0], r->agent->exe) == 0 &&
	    argv[1] != NULL && strcmp(argv[1], "execute") == 0 &&
	    argv[2] == NULL;
}

/*
 * What the child runs, and its environment: our executor is handed
 * what this worker read (prefect/handoff.h). -1 after a Crashed.
 */
static int
child_command(struct run *r, const struct jobconf *jc, char ***argv,
    char ***env)
{
	char	err[512];

	*env = child_env(r, jc, 0);
	if ((*argv = command_argv(r->id, jc, r->deployment, r->agent->exe,
	    *env, err, sizeof(err))) == NULL) {
		run_crash(r, "%s", err);
		return -1;
	}
	if (!is_executor(r, *argv))
		return 0;
	if ((r->handoff_fd = handoff_create(r->flow_run, r->deployment, err,
	    sizeof(err))) == -1)
		log_warnx("flow run %s: %s; its process reads the run itself",
		    r->id, err);
	else {
		proc_env_free(*env);
		*env = child_env(r, jc, 1);
	}
	return 0;
}

void
run_start(struct run *r)
{
	if (r->agent->conf.ecs)
		ecs_run_start(r);
	else
		run_spawn(r);
}

void
run_spawn(struct run *r)
{
	struct jobconf	 jc;
	struct proc_spec spec;
	char		 err[512], **env = NULL, **argv = NULL, pidstr[48], *path;

	memset(&jc, 0, sizeof(jc));
	if (jobconf_resolve(&jc, r->agent->base_job_template, r->deployment,
	    r->flow_run, err, sizeof(err)) == -1) {
		run_crash(r, "Failed to submit flow run to infrastructure: "
		    "ValueError: %s", err);
		goto fail;
	}
	if (jc.working_dir != NULL)
		r->workdir = xstrdup(jc.working_dir);
	else {
		char tmpl[] = "/tmp/pfagent-XXXXXX";

		if (mkdtemp(tmpl) == NULL) {
			run_crash(r, "Failed to submit flow run to "
			    "infrastructure: OSError: mkdtemp: %s",
			    strerror(errno));
			goto fail;
		}
		r->workdir = xstrdup(tmpl);
		r->workdir_is_temp = 1;
	}
	/* A marker left by a worker that died mid-cancel is not for us. */
	cancel_intent_remove(r->agent->conf.state_dir, r->id);
	if (child_command(r, &jc, &argv, &env) == -1)
		goto fail;
	r->memory_mb = jc.memory_mb;
	r->cpu_seconds = jc.cpu_seconds;
	spec = (struct proc_spec){ .argv = argv, .cwd = r->workdir,
	    .env = env, .stream_output = jc.stream_output,
	    .memory_mb = jc.memory_mb, .cpu_seconds = jc.cpu_seconds,
	    .started = journal_spawned, .started_arg = r,
	    .pass_fd = r->handoff_fd, .pass_as = PF_HANDOFF_FD };
	if (proc_spawn(&spec, &r->pid, &r->pidfd, err, sizeof(err)) == -1) {
		run_crash(r, "Failed to submit flow run to infrastructure: "
		    "OSError: %s", err);
		goto fail;
	}
	r->step = STEP_RUNNING;
	r->pgid = r->pid;	/* proc.c: the child leads its own group */
	if (r->pidfd != -1)
		loop_fd_add(r->agent->loop, r->pidfd, POLLIN, on_exit_status,
		    r);
	else
		loop_timer_add(r->agent->loop, 100, reap_tick, r);
	snprintf(pidstr, sizeof(pidstr), "{\"infrastructure_pid\":\"%d\"}",
	    (int)r->pid);
	path = api_path("/flow_runs/", r->id, NULL);
	request_send(r->agent->loop, &r->agent->http, &retry_patient,
	    "PATCH", path, pidstr, NULL, NULL);
	free(path);
	run_log(r, PF_LEVEL_INFO, "Flow run '%s' submitted to infrastructure",
	    r->name);
	log_info("flow run %s (%s): started process %d", r->id, r->name,
	    (int)r->pid);
	metrics_run_started();
	run_emit(r, "prefect.worker.submitted-flow-run", 0, 0);
	proc_env_free(env);
	shell_words_free(argv);
	jobconf_cleanup(&jc);
	return;
fail:
	proc_env_free(env);
	shell_words_free(argv);
	jobconf_cleanup(&jc);
	run_release(r);
}

/*
 * Watches the live process of a dead worker's run (recover.c): the
 * record, now the run's, says which. -1 if the process is gone.
 */
int
run_adopt(struct agent *a, struct jrec *rec, const cJSON *flow_run)
{
	struct run	*r;
	int		 pidfd;

	if ((pidfd = (int)syscall(SYS_pidfd_open, rec->pid, 0)) == -1 &&
	    errno != ENOSYS)
		return -1;
	/* Checked after the pidfd: it is the journalled process. */
	if (!jrec_process_alive(rec)) {
		if (pidfd != -1)
			close(pidfd);
		return -1;
	}
	r = xcalloc(1, sizeof(*r));
	r->agent = a;
	r->handoff_fd = -1;
	r->jrec = *rec;			/* now owned by the run */
	memset(rec, 0, sizeof(*rec));
	rec->lock_fd = -1;
	strlcpy_(r->id, r->jrec.id, sizeof(r->id));
	r->name = xstrdup(r->jrec.name);
	r->flow_run = cJSON_Duplicate(flow_run, 1);
	r->pid = r->pgid = r->jrec.pid;
	r->pidfd = pidfd;
	r->adopted = 1;
	r->workdir = r->jrec.workdir ? xstrdup(r->jrec.workdir) : NULL;
	r->workdir_is_temp = r->jrec.workdir_is_temp;
	r->holds_slot = 1;
	a->slots_used++;
	r->next = a->runs;
	a->runs = r;
	r->step = STEP_RUNNING;
	if (pidfd != -1) {
		fcntl(pidfd, F_SETFD, FD_CLOEXEC);
		loop_fd_add(a->loop, pidfd, POLLIN, on_exit_status, r);
	} else
		loop_timer_add(a->loop, 100, reap_tick, r);
	log_info("flow run %s (%s): adopted its running process %d",
	    r->id, r->name, (int)r->pid);
	run_log(r, PF_LEVEL_INFO, "Worker '%s' adopted flow run '%s' (process "
	    "%d) from a worker that died", a->conf.name, r->name, (int)r->pid);
	return 0;
}
