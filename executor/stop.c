/*
 * executor_stop.c: how a flow run ends early (docs/architecture.md,
 * Timeouts). Three threads may end the run: the flow's own (the normal
 * path, executor.c), the watchdog (a body overran its timeout by the
 * grace period and must be stopped by ending the process) and the signal
 * thread (SIGTERM/SIGINT). The first to set run.hard_stop under run.mu
 * owns the end; the flow's thread parks when it finds it set
 * (sdk_run_park_if_stopping).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "executor/executor_int.h"
#include "sdk/logship.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "common/pyfmt.h"
#include "prefect/contract.h"

/* How long a body may overrun its timeout before its process ends. */
#define STOP_GRACE_SECONDS	5

volatile sig_atomic_t		 exec_stop_requested;
struct exec *volatile		 exec_current;
static volatile sig_atomic_t	 stop_signal;	/* the signal that asked */

/* Dies of sig, so the agent sees the signal that stopped the run. */
static void __attribute__((noreturn))
die_of(int sig)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	signal(sig, SIG_DFL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

/*
 * A container's executor (--type ecs) shares no state dir with its
 * worker, so it finds no cancel intent: the run's own state says the
 * SIGTERM is the worker cancelling it (the worker records Cancelled).
 */
static int
run_is_cancelling(struct exec *x)
{
	cJSON		*run;
	const char	*type;
	char		 err[200];
	int		 yes;

	run = exec_get_json(x, "/flow_runs/", x->id, err, sizeof(err));
	type = json_str(run, "state_type");
	yes = type != NULL && strcmp(type, "CANCELLING") == 0;
	cJSON_Delete(run);
	return yes;
}

/*
 * Records Crashed for the tasks in progress and the flow run (forced),
 * as Prefect's engine does on a termination signal, then dies of it.
 * With the worker's cancel intent (worker/cancel.h), or a worker's run
 * Cancelling, the worker records Cancelled once we are gone: say so and
 * die, as Prefect's engine does
 * for a runner's cancel (handle_cancellation); with its shutdown intent
 * the worker records the state too.
 */
static void __attribute__((noreturn))
crash_of_signal(struct exec *x, int sig)
{
	struct orch_result	 o;
	const char		*msg = sig == SIGINT ? "Execution was aborted "
	    "by an interrupt signal." : "Execution was aborted by a "
	    "termination signal.";
	char			 shutdown[512];

	/*
	 * The worker is shutting down and records the run's state itself
	 * (Crashed, or back to Scheduled) once we are gone, as Prefect's
	 * supervisor-owned intents: only the tasks in progress end here.
	 */
	if (shutdown_intent_read(getenv(PF_ENV_STATE_DIR), x->id,
	    shutdown, sizeof(shutdown))) {
		sdk_tasks_abandon(&x->run, shutdown);
		exec_log(x, PF_LEVEL_WARNING, "%s", shutdown);
		logship_flush(x->logs);
		die_of(sig);
	}
	if (cancel_intent_present(getenv(PF_ENV_STATE_DIR), x->id) ||
	    (x->execute && run_is_cancelling(x))) {
		exec_log(x, PF_LEVEL_INFO, "Flow run was cancelled.");
		logship_flush(x->logs);
		die_of(sig);
	}
	/* Handed a run not yet proved ours: nothing written unless it is. */
	if (x->execute && !x->proved && !exec_prove(x))
		die_of(sig);
	sdk_tasks_abandon(&x->run, msg);
	exec_log(x, PF_LEVEL_ERROR, "%s", msg);
	logship_flush(x->logs);
	if (exec_propose(x, "CRASHED", "Crashed", msg, 1, &o) == 0) {
		strlcpy_(x->final_type, o.type, sizeof(x->final_type));
		exec_child_done(x);	/* `pfagent run`: the parent knows */
	}
	die_of(sig);
}

/*
 * SIGTERM/SIGINT without a cancel intent: the run ends Crashed, unless
 * the watchdog already owns its end (it looks at stop_signal before it
 * would start a retry) or the executor is finishing by itself.
 */
static void *
signal_thread(void *arg)
{
	sigset_t	*set = arg;
	struct exec	*x;
	int		 sig, owner = 0;

	if (sigwait(set, &sig) != 0)
		return NULL;
	stop_signal = sig;
	exec_stop_requested = 1;
	if ((x = exec_current) != NULL) {
		pthread_mutex_lock(&x->run.mu);
		if ((owner = x->run.hard_stop) == 0)
			x->run.hard_stop = SDK_END_SIGNAL;
		pthread_cond_broadcast(&x->run.changed);
		pthread_mutex_unlock(&x->run.mu);
		if (owner == SDK_END_WATCHDOG)
			return NULL;
		if (owner == 0)
			crash_of_signal(x, sig);
	}
	die_of(sig);
}

static int64_t
stop_grace_ms(void)
{
	const char	*v = getenv("PFAGENT_STOP_GRACE_SECONDS");
	char		*end;
	double		 d;

	if (v != NULL && *v && (d = strtod(v, &end)) >= 0 && *end == '\0')
		return (int64_t)(d * 1000);
	return STOP_GRACE_SECONDS * 1000;
}

/*
 * Starts `pfagent execute` again in this process (same pid, process
 * group and environment, from the directory the agent started it in),
 * for a retry of an attempt whose thread could not be stopped. Returns
 * only on failure.
 */
static void
reexec(struct exec *x, char *err, size_t errlen)
{
	char	self[PATH_MAX];
	ssize_t	n;

	logship_flush(x->logs);
	if (x->start_dir != NULL && chdir(x->start_dir) == -1) {
		errorf(err, errlen, "chdir %s: %s", x->start_dir,
		    strerror(errno));
		return;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		strlcpy_(self, "pfagent", sizeof(self));
	else
		self[n] = '\0';
	/* Nothing of this image (API sockets, lock descriptors) leaks. */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	/* The claim was proved and the run is ours, now AwaitingRetry: the
	 * new image goes on with it rather than proving a Pending again. */
	unsetenv(PF_ENV_CLAIM);
	logship_unwrap_stderr(x->logs);
	char *const argv[] = { self, "execute", NULL };
	execv("/proc/self/exe", argv);
	errorf(err, errlen, "cannot start pfagent execute again: %s",
	    strerror(errno));
}

/*
 * The watchdog owns the end: a body is still running its grace period
 * after a deadline. Reports the tasks in progress and the flow run
 * TimedOut (the flow's own words when its deadline passed, else the
 * interrupted task's, as Prefect's flow engine reports a task timeout
 * it did not catch), then ends the process, or, for a retry, replaces
 * it with a fresh executor: a stuck thread cannot run the flow again.
 */
static void __attribute__((noreturn))
hard_stop(struct exec *x, int64_t grace_ms)
{
	pf_run			*run = &x->run;
	struct orch_result	 o;
	char			 secs[64], err[512], *message;
	double			 task_secs;
	int			 flow_due;

	flow_due = run->deadline_ms != 0 && now_ms() >= run->deadline_ms;
	sdk_pyfloat(secs, sizeof(secs), (double)grace_ms / 1000);
	exec_log(x, PF_LEVEL_WARNING, "Still running %s second(s) after its "
	    "timeout, ignoring pf_stopped(): pfagent ends the process to "
	    "stop it", secs);
	task_secs = sdk_tasks_abandon(run, NULL);
	if (flow_due || task_secs == 0) {
		sdk_pyfloat(secs, sizeof(secs), run->def->timeout_seconds);
		message = xasprintf("Flow run exceeded timeout of %s "
		    "second(s)", secs);
	} else {
		sdk_pyfloat(secs, sizeof(secs), task_secs);
		message = xasprintf("Flow run failed due to timeout: "
		    "TaskRunTimeoutError('Scope timed out after %s "
		    "second(s).')", secs);
	}
	exec_log(x, PF_LEVEL_ERROR, "%s", message);
	logship_flush(x->logs);
	/* `pfagent run` cannot start itself again: no retry there. */
	if (exec_propose(x, "FAILED", "TimedOut", message, !x->execute,
	    &o) == -1)
		_exit(1);
	if (strcmp(o.type, "SCHEDULED") == 0) {
		exec_log(x, PF_LEVEL_INFO, "Received non-final state '%s' when "
		    "proposing final state 'TimedOut' and will attempt to run "
		    "again...", o.name);
		if (stop_signal)
			crash_of_signal(x, stop_signal);
		reexec(x, err, sizeof(err));
		exec_log(x, PF_LEVEL_ERROR, "%s", err);
		logship_flush(x->logs);
		exec_propose(x, "CRASHED", "Crashed", err, 1, &o);
		_exit(1);
	}
	exec_finished(x, &o, message);
	exec_child_done(x);	/* `pfagent run`: the parent knows */
	free(message);
	logship_flush(x->logs);
	if (stop_signal)
		die_of(stop_signal);
	_exit(x->execute ? 0 : 1);
}

/* Waits for a deadline plus the grace period to pass with its body
 * still running (under run.mu, so a body that returns in time wins). */
static void *
watchdog(void *arg)
{
	struct exec	*x = arg;
	pf_run		*run = &x->run;
	int64_t		 due, grace = stop_grace_ms();
	struct timespec	 ts;

	pthread_mutex_lock(&run->mu);
	for (;;) {
		if (run->hard_stop) {
			pthread_mutex_unlock(&run->mu);
			return NULL;
		}
		due = sdk_run_next_deadline(run);
		if (due != 0 && now_ms() >= due + grace)
			break;
		if (due == 0) {
			pthread_cond_wait(&run->changed, &run->mu);
			continue;
		}
		ts.tv_sec = (due + grace) / 1000;
		ts.tv_nsec = (long)((due + grace) % 1000) * 1000000;
		pthread_cond_timedwait(&run->changed, &run->mu, &ts);
	}
	run->hard_stop = SDK_END_WATCHDOG;
	pthread_mutex_unlock(&run->mu);
	hard_stop(x, grace);
}

/* The watchdog of x->run; before exec_current is set. */
void
exec_watchdog_start(struct exec *x)
{
	if (pthread_create(&x->watchdog, NULL, watchdog, x) != 0)
		fatalx("cannot start the watchdog thread");
	x->watchdog_started = 1;
}

void
exec_watchdog_stop(struct exec *x)
{
	if (!x->watchdog_started)
		return;
	pthread_mutex_lock(&x->run.mu);
	if (x->run.hard_stop == 0)
		x->run.hard_stop = SDK_END_NORMAL;
	pthread_cond_broadcast(&x->run.changed);
	pthread_mutex_unlock(&x->run.mu);
	pthread_join(x->watchdog, NULL);
	x->watchdog_started = 0;
}

/*
 * Under a memory limit (RLIMIT_DATA, set by the worker from the job
 * variable `memory`), an allocation the limit refuses fails with ENOMEM,
 * and a flow that then aborts or touches the NULL dies here: exit 247,
 * Prefect's code for "terminated due to high memory usage", so the
 * worker names the limit. errno is the interrupted code's.
 */
static void
on_fatal_signal(int sig)
{
	if (errno == ENOMEM)
		_exit(PF_EXIT_MEMORY);
	raise(sig);		/* SA_RESETHAND: the default action now */
}

static void
memory_limit_watch(void)
{
	struct rlimit		rl;
	struct sigaction	sa;

	if (getrlimit(RLIMIT_DATA, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
}

void
exec_signals_start(void)
{
	static sigset_t	set;
	pthread_t	t;

	memory_limit_watch();
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked before any thread starts, so only sigwait sees them. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&t, NULL, signal_thread, &set) != 0)
		fatalx("cannot start the signal thread");
	pthread_detach(t);
}
