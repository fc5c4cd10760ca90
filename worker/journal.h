/*
 * journal.h: the worker's durable record of the flow runs it claimed, so
 * that a worker started after a crash (kill -9 included) can finish what
 * the dead one left: <state dir>/runs/<flow run id>, one small JSON file
 * per run, written before the claim is proposed, rewritten when the
 * process is spawned (pid, its start time and the boot id, which together
 * defeat pid reuse) and removed once nothing is left to do for the run.
 *
 * A record is owned by the worker that holds an exclusive flock on it;
 * the kernel drops the lock when that worker dies, however it dies. So a
 * state directory may be shared by several workers: journal_scan hands
 * out only records nobody holds. Leaf module: no agent.h.
 */
#ifndef WORKER_JOURNAL_H
#define WORKER_JOURNAL_H

#include <stddef.h>
#include <sys/types.h>

struct jrec {
	char			 id[40];	/* flow run id */
	char			 claim_tid[37];	/* our PENDING's transition */
	char			 submit_tid[37];	/* our Submitting's */
	char			*name;		/* flow run name, for logs */
	char			*api_url;	/* the API the run lives in */
	pid_t			 pid;		/* 0: no process yet */
	unsigned long long	 start_time;	/* /proc/<pid>/stat field 22 */
	char			 boot_id[40];
	char			*workdir;	/* NULL: none */
	char			*infra;		/* ECS "<cluster>::<task ARN>" */
	int			 workdir_is_temp;
	int			 lock_fd;	/* -1: not on disk */
};

/* A record for a run, not yet on disk. */
void	 jrec_init(struct jrec *, const char *id, const char *name,
	    const char *api_url);
/* Closes its lock (the file stays) and frees its strings. */
void	 jrec_cleanup(struct jrec *);

/*
 * Writes the record durably (temp file, fsync, rename, fsync of the
 * directory) and keeps it locked. 0, or -1 with err set.
 */
int	 journal_write(const char *state_dir, struct jrec *, char *err,
	    size_t errlen);
/* Removes the record from disk (durably) and drops its lock. */
void	 journal_remove(const char *state_dir, struct jrec *);

/*
 * Calls fn for every record no live worker holds, locked for the caller,
 * who owns it from then on (jrec_cleanup or journal_remove, then free).
 * A file that is not a record is warned about and skipped, left in
 * place; temp files of interrupted writes are removed. Returns the
 * number of records handed out, -1 if the directory cannot be read.
 */
typedef void	(*journal_fn)(struct jrec *, void *arg);
int	 journal_scan(const char *state_dir, journal_fn, void *arg,
	    char *err, size_t errlen);

/* Parses a record's text (the fuzzable part). 0, or -1 with err set. */
int	 jrec_parse(struct jrec *, const char *text, char *err,
	    size_t errlen);

/* Fills pid's start time and the boot id: 0, or -1 if there is none. */
int	 proc_identity(pid_t, unsigned long long *start_time,
	    char boot_id[40]);
/* 1 if the process of the record still runs (same start, same boot). */
int	 jrec_process_alive(const struct jrec *);
/*
 * 1 if a member of the process group still runs. Zombies do not count:
 * the members of an adopted group are reaped by someone else, or never.
 */
int	 proc_group_alive(pid_t pgid);

#endif
