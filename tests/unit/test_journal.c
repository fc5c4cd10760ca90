/*
 * test_journal.c: the worker's run journal (worker/journal.c): records
 * written, replaced and removed durably; only records no live worker
 * holds are handed out; torn and garbage files are skipped with a
 * warning and left in place while every good record is still found;
 * process identity (pid + start time + boot id).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker/journal.h"
#include "common/util.h"
#include "t.h"

#define ID1	"11111111-1111-4111-8111-111111111111"
#define ID2	"22222222-2222-4222-8222-222222222222"
#define ID3	"33333333-3333-4333-8333-333333333333"

struct found {
	struct jrec	*recs[8];
	int		 n;
};

static void
collect(struct jrec *j, void *arg)
{
	struct found	*f = arg;

	if (f->n < 8)
		f->recs[f->n++] = j;
	else {
		jrec_cleanup(j);
		free(j);
	}
}

static void
found_free(struct found *f)
{
	for (int i = 0; i < f->n; i++) {
		jrec_cleanup(f->recs[i]);
		free(f->recs[i]);
	}
	f->n = 0;
}

static struct jrec *
by_id(struct found *f, const char *id)
{
	for (int i = 0; i < f->n; i++)
		if (strcmp(f->recs[i]->id, id) == 0)
			return f->recs[i];
	return NULL;
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char	*p = xasprintf("%s/runs/%s", dir, name);
	FILE	*f = fopen(p, "w");

	fputs(text, f);
	fclose(f);
	free(p);
}

static int
exists(const char *dir, const char *name)
{
	char	*p = xasprintf("%s/runs/%s", dir, name);
	int	 yes = access(p, F_OK) == 0;

	free(p);
	return yes;
}

int
main(void)
{
	char		 dir[] = "/tmp/test_journal.XXXXXX", err[256];
	struct jrec	 a, b;
	struct found	 f = { .n = 0 };
	int		 n;

	if (mkdtemp(dir) == NULL)
		return 1;

	TEST("an empty or missing journal hands out nothing") {
		CHECK(journal_scan(dir, collect, &f, err, sizeof(err)) == 0);
		CHECK(f.n == 0);
	}

	TEST("records written, rewritten with the process, held while open") {
		jrec_init(&a, ID1, "brave-fox", "http://api/one");
		strlcpy_(a.claim_tid, "aaaaaaaa-0000-4000-8000-000000000000",
		    sizeof(a.claim_tid));
		CHECK(journal_write(dir, &a, err, sizeof(err)) == 0);
		a.pid = getpid();
		CHECK(proc_identity(a.pid, &a.start_time, a.boot_id) == 0);
		a.workdir = xstrdup("/tmp/x y");
		a.workdir_is_temp = 1;
		CHECK(journal_write(dir, &a, err, sizeof(err)) == 0);
		jrec_init(&b, ID2, NULL, "http://api/one");
		CHECK(journal_write(dir, &b, err, sizeof(err)) == 0);
		/* We hold both: a second worker would find nothing. */
		CHECK(journal_scan(dir, collect, &f, err, sizeof(err)) == 0);
		CHECK(f.n == 0);
	}

	TEST("a dead owner's records are handed out with every field") {
		jrec_cleanup(&a);	/* as if the worker died */
		n = journal_scan(dir, collect, &f, err, sizeof(err));
		CHECK(n == 1);
		struct jrec *r = by_id(&f, ID1);
		CHECK(r != NULL);
		if (r != NULL) {
			CHECK_STR(r->name, "brave-fox");
			CHECK_STR(r->api_url, "http://api/one");
			CHECK_STR(r->claim_tid,
			    "aaaaaaaa-0000-4000-8000-000000000000");
			CHECK(r->pid == getpid());
			CHECK_STR(r->workdir, "/tmp/x y");
			CHECK(r->workdir_is_temp == 1);
			CHECK(r->lock_fd != -1);
			CHECK(jrec_process_alive(r));
		}
		/* The new owner holds it now. */
		struct found g = { .n = 0 };
		CHECK(journal_scan(dir, collect, &g, err, sizeof(err)) == 0);
		found_free(&g);
	}

	TEST("removed records are gone from disk") {
		journal_remove(dir, f.recs[0]);
		found_free(&f);
		journal_remove(dir, &b);
		jrec_cleanup(&b);
		CHECK(!exists(dir, ID1) && !exists(dir, ID2));
		CHECK(journal_scan(dir, collect, &f, err, sizeof(err)) == 0);
	}

	TEST("torn and garbage files: skipped, left in place, none lost") {
		jrec_init(&a, ID3, "good", "http://api/one");
		CHECK(journal_write(dir, &a, err, sizeof(err)) == 0);
		jrec_cleanup(&a);
		put_file(dir, ID1, "{\"version\":1,\"flow_run_id\":\"" ID1
		    "\",\"api_url\":\"htt");			/* torn */
		put_file(dir, ID2, "\x01\x02 garbage \xff");	/* garbage */
		put_file(dir, "44444444-4444-4444-8444-444444444444",
		    "{\"version\":1,\"flow_run_id\":\"" ID3 "\","
		    "\"api_url\":\"x\",\"pid\":0,\"start_time\":0}");
		put_file(dir, "." ID2 ".tmp.99999", "{\"half");
		n = journal_scan(dir, collect, &f, err, sizeof(err));
		CHECK(n == 1);
		CHECK(f.n == 1 && strcmp(f.recs[0]->id, ID3) == 0);
		CHECK(exists(dir, ID1) && exists(dir, ID2));
		CHECK(exists(dir, "44444444-4444-4444-8444-444444444444"));
		CHECK(!exists(dir, "." ID2 ".tmp.99999"));
		journal_remove(dir, f.recs[0]);
		found_free(&f);
	}

	TEST("the parser refuses bad fields") {
		struct jrec	r;

		CHECK(jrec_parse(&r, "[]", err, sizeof(err)) == -1);
		CHECK(jrec_parse(&r, "{\"version\":2}", err, sizeof(err)) ==
		    -1);
		CHECK(jrec_parse(&r, "{\"version\":1,\"flow_run_id\":\"a/b\","
		    "\"api_url\":\"x\",\"pid\":1,\"start_time\":1}", err,
		    sizeof(err)) == -1);
		CHECK(jrec_parse(&r, "{\"version\":1,\"flow_run_id\":\"a\","
		    "\"api_url\":\"x\",\"pid\":-3,\"start_time\":1}", err,
		    sizeof(err)) == -1);
		CHECK(jrec_parse(&r, "{\"version\":1,\"flow_run_id\":\"a\","
		    "\"api_url\":\"x\",\"pid\":7,\"start_time\":12}", err,
		    sizeof(err)) == 0);
		CHECK(r.pid == 7 && r.start_time == 12);
		jrec_cleanup(&r);
	}

	TEST("a process that exited is not alive; nor is a reused pid") {
		struct jrec	r;
		pid_t		pid = fork();

		if (pid == 0) {
			pause();
			_exit(0);
		}
		jrec_init(&r, ID1, NULL, "x");
		r.pid = pid;
		CHECK(proc_identity(pid, &r.start_time, r.boot_id) == 0);
		CHECK(jrec_process_alive(&r));
		r.start_time++;			/* another process, same pid */
		CHECK(!jrec_process_alive(&r));
		r.start_time--;
		kill(pid, SIGKILL);
		/* A zombie has exited too. */
		for (int i = 0; i < 200 && jrec_process_alive(&r); i++)
			usleep(10000);
		CHECK(!jrec_process_alive(&r));
		waitpid(pid, NULL, 0);
		CHECK(!jrec_process_alive(&r));
		jrec_cleanup(&r);
	}

	TEST("a process group with only zombies left is not alive") {
		int	go[2];
		pid_t	pid;

		CHECK(pipe(go) == 0);
		if ((pid = fork()) == 0) {
			char c;

			setpgid(0, 0);
			if (read(go[0], &c, 1) < 0)
				_exit(1);
			_exit(0);
		}
		setpgid(pid, pid);
		CHECK(proc_group_alive(pid));
		CHECK(write(go[1], "x", 1) == 1);
		for (int i = 0; i < 200 && proc_group_alive(pid); i++)
			usleep(10000);
		CHECK(!proc_group_alive(pid));	/* a zombie, not reaped */
		waitpid(pid, NULL, 0);
		CHECK(!proc_group_alive(pid));
		close(go[0]);
		close(go[1]);
	}

	{
		char *cmd = xasprintf("rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# cannot remove %s\n", dir);
		free(cmd);
	}
	return t_done();
}
