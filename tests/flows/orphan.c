/*
 * orphan.c: a test flow that leaves an orphan behind
 * (tests/flows/orphan.c:orphan), as a flow starting a daemon does: its
 * child forks a grandchild and exits, so the grandchild is re-parented
 * to the nearest reaper (PID 1 in a container), and exits once it has
 * been. Whoever adopted it must reap it, or it stays a zombie.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <time.h>
#include <unistd.h>

#include <pf/flow.h>

/* The grandchild: waits to be adopted (its parent gone), then exits. */
static void
grandchild(pid_t parent)
{
	struct timespec	ms = { 0, 1000000 };

	for (int i = 0; i < 10000 && getppid() == parent; i++)
		nanosleep(&ms, NULL);
	_exit(0);
}

static int
orphan(pf_run *run)
{
	pid_t	child, gc = -1;
	int	p[2], status;

	if (pipe(p) == -1)
		return pf_fail(run, "pipe failed");
	if ((child = fork()) == -1)
		return pf_fail(run, "fork failed");
	if (child == 0) {
		/* Not the grandchild's getppid(): we may be gone by then. */
		pid_t	me = getpid();

		close(p[0]);
		if ((gc = fork()) == 0)
			grandchild(me);
		(void)!write(p[1], &gc, sizeof(gc));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &gc, sizeof(gc)) != sizeof(gc) || gc <= 0)
		gc = -1;
	close(p[0]);
	waitpid(child, &status, 0);
	if (gc == -1)
		return pf_fail(run, "the grandchild was not started");
	pf_log_info(run, "left orphan %d", (int)gc);
	return PF_OK;
}

PF_FLOW(orphan, .description = "Leaves an orphaned grandchild behind.");
