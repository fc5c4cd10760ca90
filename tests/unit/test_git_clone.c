/*
 * test_git_clone.c: deployments/git_clone against real repositories made
 * with the git CLI in a temporary folder, over file:// and, through
 * tests/peers/git_http.py (git http-backend behind Basic auth), over
 * HTTP.  "No network" is proven by renaming the origin away (file://)
 * and by the server's request count (HTTP).  PFAGENT_TEST_KEEP=1 keeps
 * the fixtures and caches.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "git/cache.h"
#include "git/clone.h"
#include "t.h"

#define TOKEN	"tok-7f3a9c2e51d84b06"

static char	 T[64];			/* fixture root */
static char	 C[128];		/* cache root of the current tests */
static uint64_t	 MAX;			/* its max_bytes */
static int	 PORT;			/* of the HTTP peer */
static char	 err[512];		/* the last step's error */
static char	 logbuf[16384];		/* lines from the step's log */
static int	 expect_fail;		/* quiet about failing steps */

/* ------------------------------------------------------------ helpers */

static int
sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	va_list	 ap;
	char	*cmd, *full;
	int	 rc;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("set -e; cd %s; { %s; } >/dev/null 2>&1", T, cmd);
	rc = system(full);
	free(cmd);
	free(full);
	return rc;
}

/* First line of a command's output, run in T (static buffer). */
static const char *
sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *
sh_out(const char *fmt, ...)
{
	static char	 line[256];
	va_list		 ap;
	char		*cmd, *full;
	FILE		*f;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("cd %s && %s", T, cmd);
	line[0] = '\0';
	if ((f = popen(full, "r")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		pclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	free(cmd);
	free(full);
	return line;
}

static char *
rev(const char *spec)
{
	return xstrdup(sh_out("git -C origin.git rev-parse %s", spec));
}

/* The first line of dir/rel (static buffer), or NULL. */
static char *
first_line(const char *dir, const char *rel)
{
	static char	 line[256];
	char		*p = xasprintf("%s/%s", dir ? dir : "", rel);
	FILE		*f = fopen(p, "r");

	free(p);
	if (f == NULL)
		return NULL;
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static int
exists(const char *dir, const char *rel)
{
	struct stat	 st;
	char		*p = xasprintf("%s/%s", dir ? dir : "", rel);
	int		 r = lstat(p, &st) == 0;

	free(p);
	return r;
}

/* strcmp that tolerates NULL (then "different"). */
static int
differ(const char *a, const char *b)
{
	return a == NULL || b == NULL || strcmp(a, b) != 0;
}

/*
 * JSON from a template: @T is the fixture root, @P the HTTP peer's
 * port, @K the token, @A arg.
 */
static cJSON *
Jt(const char *tmpl, const char *arg)
{
	struct buf	 b;
	const char	*s;
	char		 port[16];
	cJSON		*j;

	snprintf(port, sizeof(port), "%d", PORT);
	buf_init(&b, 1 << 20);
	for (s = tmpl; *s; s++) {
		if (s[0] == '@' && strchr("TPKA", s[1]) && s[1] != '\0') {
			s++;
			(void)buf_printf(&b, "%s", *s == 'T' ? T : *s == 'P' ?
			    port : *s == 'K' ? TOKEN : arg ? arg : "");
		} else
			(void)buf_append(&b, s, 1);
	}
	if ((j = cJSON_Parse(b.data)) == NULL)
		printf("# bad JSON in test: %s\n", b.data);
	buf_cleanup(&b);
	return j;
}

static void
logfn(void *arg, int level, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 n = strlen(logbuf);

	(void)arg;
	if (n + 8 >= sizeof(logbuf))
		return;
	n += (size_t)snprintf(logbuf + n, sizeof(logbuf) - n, "%d ", level);
	va_start(ap, fmt);
	vsnprintf(logbuf + n, sizeof(logbuf) - n, fmt, ap);
	va_end(ap);
	strncat(logbuf, "\n", sizeof(logbuf) - strlen(logbuf) - 1);
}

/*
 * Runs the step in cache C with the inputs of Jt(tmpl, arg).  Returns
 * its result, or -2 when it succeeded with wrong outputs.
 */
static int
step(const char *tmpl, const char *arg, struct repo_lease *l)
{
	struct repo_cache c = { C, MAX };
	cJSON		*in = Jt(tmpl, arg), *out = NULL, *d;
	int		 rc;

	rc = repo_clone_step(&c, in, logfn, NULL, l, &out, err, sizeof(err));
	d = cJSON_GetObjectItem(out, "directory");
	if (rc == 0 && (!cJSON_IsString(d) || differ(d->valuestring,
	    l->directory)))
		rc = -2;
	if (rc != 0 && !expect_fail)
		printf("#   step failed: %s\n", err);
	cJSON_Delete(out);
	cJSON_Delete(in);
	return rc;
}

static int
has(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

/* Whether any file under dir contains needle. */
static int
grep_tree(const char *dir, const char *needle)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	FILE		*f;
	char		*p, *data;
	int		 hit = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (!hit && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			hit = grep_tree(p, needle);
		else if (S_ISREG(st.st_mode) && st.st_size > 0 &&
		    (f = fopen(p, "rb")) != NULL) {
			data = xmalloc((size_t)st.st_size);
			hit = fread(data, 1, (size_t)st.st_size, f) ==
			    (size_t)st.st_size && memmem(data,
			    (size_t)st.st_size, needle, strlen(needle));
			if (hit)
				printf("#   %s contains it\n", p);
			fclose(f);
			free(data);
		}
		free(p);
	}
	closedir(d);
	return hit;
}

/* Entries of C/sub, lock files and dot files aside. */
static int
entries(const char *sub)
{
	struct dirent	*de;
	char		*p = xasprintf("%s/%s", C, sub);
	DIR		*d = opendir(p);
	int		 n = 0;

	free(p);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && !has(de->d_name, ".lock"))
			n++;
	closedir(d);
	return n;
}

/* ----------------------------------------------------------- fixtures */

/*
 * origin.git: main (c1, c2), feature, annotated tag v1 at c1.
 * super.git: submodule vendor/lib (../lib.git), which has its own
 * submodule deep (../deep.git).  big.git: 2 MiB of random bytes.
 */
static int
make_fixtures(void)
{
	setenv("GIT_AUTHOR_NAME", "t", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "t", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_TERMINAL_PROMPT", "0", 1);
	return sh("git init -q -b main w && cd w && mkdir -p a/b/c d && "
	    "echo one > hello.txt && echo r > README && "
	    "echo ab > a/b/ab.txt && echo a > a/a.txt && "
	    "echo abc > a/b/c/abc.txt && echo d > d/d.txt && "
	    "git add -A && git commit -qm c1 && git tag -a v1 -m v1 && "
	    "echo two > hello.txt && git commit -qam c2 && "
	    "git checkout -q -b feature && echo f > feature.txt && "
	    "git add -A && git commit -qm f && git checkout -q main && "
	    "cd .. && git clone -q --bare w origin.git") != 0 ||
	    sh("for r in deep lib super; do "
	    "git init -q --bare -b main $r.git; done && "
	    "S='git -c protocol.file.allow=always submodule -q add' && "
	    "P='git push -q origin HEAD:main' && "
	    "git clone -q deep.git wd && cd wd && echo deep > deep.txt && "
	    "git add -A && git commit -qm d && $P && cd .. && "
	    "git clone -q lib.git wl && cd wl && echo lib > lib.txt && "
	    "$S ../deep.git deep && git add -A && git commit -qm l && $P && "
	    "cd .. && git clone -q super.git ws && cd ws && echo s > s.txt && "
	    "$S ../lib.git vendor/lib && git add -A && git commit -qm s && "
	    "$P") != 0 ||
	    sh("git init -q -b main wb && cd wb && "
	    "head -c 2097152 /dev/urandom > big.bin && git add -A && "
	    "git commit -qm big && cd .. && git clone -q --bare wb big.git");
}

/* -------------------------------------------------------------- tests */

#define ORIGIN	"{\"repository\": \"file://@T/origin.git\""

static void
test_file(void)
{
	struct repo_lease l1, l2;
	char		*c1 = rev("main~1"), *c2 = rev("main"), *d1 = NULL;

	snprintf(C, sizeof(C), "%s/cache", T);
	MAX = 0;
	TEST("default branch over file://: its files, no .git, the commit") {
		CHECK(step(ORIGIN "}", NULL, &l1) == 0);
		CHECK(l1.directory && l1.directory[0] == '/');
		CHECK_STR(first_line(l1.directory, "hello.txt"), "two");
		CHECK(exists(l1.directory, "a/b/c/abc.txt"));
		CHECK(!exists(l1.directory, ".git"));
		CHECK(!exists(l1.directory, "feature.txt"));
		CHECK_STR(l1.commit, c2);
		CHECK(l1.lock_fd >= 0);
		CHECK(has(logbuf, "Checked out commit"));
		repo_lease_release(&l1);
		repo_lease_release(&l1);		/* twice is harmless */
	}
	TEST("branch and tag names") {
		CHECK(step(ORIGIN ", \"branch\": \"feature\"}", NULL,
		    &l1) == 0);
		CHECK_STR(first_line(l1.directory, "feature.txt"), "f");
		repo_lease_release(&l1);
		/* A plain path works as well as file://. */
		CHECK(step("{\"repository\": \"@T/origin.git\", \"branch\": "
		    "\"v1\"}", NULL, &l1) == 0);
		CHECK_STR(first_line(l1.directory, "hello.txt"), "one");
		CHECK_STR(l1.commit, c1);
		repo_lease_release(&l1);
	}
	TEST("pinned commits each see their own content") {
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\"}", c1, &l1) == 0);
		c2[7] = '\0';			/* abbreviated */
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\"}", c2, &l2) == 0);
		free(c2);
		c2 = rev("main");
		CHECK_STR(first_line(l1.directory, "hello.txt"), "one");
		CHECK_STR(first_line(l2.directory, "hello.txt"), "two");
		CHECK_STR(l2.commit, c2);
		CHECK(differ(l1.directory, l2.directory));
		d1 = xstrdup(l1.directory ? l1.directory : "?");
		repo_lease_release(&l1);
		repo_lease_release(&l2);
	}
	TEST("a pinned commit's second run needs no origin at all") {
		CHECK(sh("mv origin.git gone.git") == 0);
		logbuf[0] = '\0';
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\"}", c1, &l1) == 0);
		CHECK_STR(l1.directory, d1);
		CHECK(has(logbuf, "Using the cached tree"));
		repo_lease_release(&l1);
		/* Abbreviated: found in the mirror, still offline. */
		c1[9] = '\0';
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\"}", c1, &l1) == 0);
		CHECK_STR(l1.directory, d1);
		repo_lease_release(&l1);
		/* A branch must ask the origin: that fails, naming it. */
		expect_fail = 1;
		CHECK(step(ORIGIN "}", NULL, &l1) == -1);
		expect_fail = 0;
		CHECK(has(err, "origin.git"));
		CHECK(l1.directory == NULL && l1.lock_fd == -1);
		CHECK(sh("mv gone.git origin.git") == 0);
	}
	TEST("a commit the mirror lacks is fetched") {
		CHECK(sh("cd w && echo three > hello.txt && "
		    "git commit -qam c3 && git push -q ../origin.git "
		    "main") == 0);
		free(c2);
		c2 = rev("main");
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\"}", c2, &l1) == 0);
		CHECK_STR(first_line(l1.directory, "hello.txt"), "three");
		repo_lease_release(&l1);
	}
	TEST("an unknown commit is named") {
		expect_fail = 1;
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\"}",
		    "0123456789012345678901234567890123456789", &l1) == -1);
		expect_fail = 0;
		CHECK(has(err, "commit '01234567890123456789012345678901234"
		    "56789' not found"));
	}
	free(c1);
	c1 = rev("main~2");
	TEST("sparse directories, in git's cone mode") {
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\", \"directories\": "
		    "[\"a/b/\"]}", c1, &l1) == 0);
		CHECK(exists(l1.directory, "a/b/ab.txt"));
		CHECK(exists(l1.directory, "a/b/c/abc.txt"));
		CHECK(exists(l1.directory, "a/a.txt"));		/* parent's */
		CHECK(exists(l1.directory, "README"));		/* root's */
		CHECK(!exists(l1.directory, "d"));
		CHECK(differ(l1.directory, d1));		/* a variant */
		repo_lease_release(&l1);
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\", \"directories\": "
		    "[\"d\", \"a/b\"]}", c1, &l1) == 0);
		CHECK(exists(l1.directory, "d/d.txt"));
		CHECK(exists(l1.directory, "hello.txt"));
		repo_lease_release(&l1);
	}
	TEST("submodules present with include_submodules, absent without") {
		CHECK(step("{\"repository\": \"file://@T/super.git\", "
		    "\"include_submodules\": true}", NULL, &l1) == 0);
		CHECK_STR(first_line(l1.directory, "vendor/lib/lib.txt"),
		    "lib");
		CHECK_STR(first_line(l1.directory, "vendor/lib/deep/deep.txt"),
		    "deep");
		CHECK(!exists(l1.directory, "vendor/lib/.git"));
		CHECK(step("{\"repository\": \"file://@T/super.git\"}", NULL,
		    &l2) == 0);
		CHECK(exists(l2.directory, "s.txt"));
		CHECK(exists(l2.directory, "vendor/lib"));	/* as git */
		CHECK(!exists(l2.directory, "vendor/lib/lib.txt"));
		CHECK(differ(l1.directory, l2.directory));
		repo_lease_release(&l1);
		repo_lease_release(&l2);
	}
	free(c1);
	free(c2);
	free(d1);
}

static void
test_validation(void)
{
	static const struct {
		const char	*json, *want;
	} bad[] = {
		{ ORIGIN ", \"branch\": \"main\", \"commit_sha\": \"abcd\"}",
		  "both a branch and a commit SHA" },
		{ ORIGIN ", \"commit_sha\": \"xyz1\"}",
		  "Invalid commit SHA: 'xyz1'" },
		{ ORIGIN ", \"commit_sha\": \"abc\"}", "Invalid commit SHA" },
		{ ORIGIN ", \"depth\": 1}", "unexpected keyword argument "
		  "'depth'" },
		{ ORIGIN ", \"branch\": \"nope\"}", "branch 'nope' not found" },
		{ ORIGIN ", \"branch\": \"-x\"}", "cannot start with '-'" },
		{ ORIGIN ", \"access_token\": \"t\", \"credentials\": "
		  "{\"token\": \"u\"}}", "not both" },
		{ "{\"repository\": \"https://h/r.git\", \"credentials\": "
		  "{\"username\": \"u\"}}", "username is provided" },
		{ "{\"repository\": \"https://h/r.git\", \"credentials\": "
		  "{\"url\": \"u\"}}", "Please provide a `token`" },
		{ "{\"repository\": \"https://bitbucketserver.example/r.git\", "
		  "\"access_token\": \"t\"}", "BitBucket Server" },
		{ "{\"repository\": \"ftp://x/y.git\"}", "unsupported scheme" },
		{ "{\"repository\": \"https:///r.git\"}", "no host" },
		{ "{\"repository\": \"file://@T/missing.git\"}", "not found" },
		{ "{\"branch\": \"main\"}", "missing 1 required" },
		{ ORIGIN ", \"include_submodules\": \"yes\"}",
		  "include_submodules" },
		{ ORIGIN ", \"directories\": \"a\"}", "list of strings" },
		{ ORIGIN ", \"directories\": [\"../x\"]}", "outside" },
	};
	struct repo_lease l;
	int64_t		 t0;
	int		 rc;

	snprintf(C, sizeof(C), "%s/cache", T);
	expect_fail = 1;
	TEST("invalid inputs fail at once, naming the cause") {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			t0 = now_ms();
			rc = step(bad[i].json, NULL, &l);
			if (rc != -1 || !has(err, bad[i].want))
				printf("#   case %zu: %d \"%s\"\n", i, rc, err);
			CHECK(rc == -1 && has(err, bad[i].want));
			CHECK(now_ms() - t0 < 900);	/* never retried */
			CHECK(l.lock_fd == -1 && l.directory == NULL);
			repo_lease_release(&l);
		}
	}
	expect_fail = 0;
}

static void
test_lru(void)
{
	struct repo_lease a, b, c, d;
	char		*c1 = rev("main~2"), *c2 = rev("main~1"), *bdir;
	uint64_t	 bound;

	snprintf(C, sizeof(C), "%s/lru", T);
	TEST("LRU clean-up keeps the bound and never a leased tree") {
		/* Lease a (held), then b (released), then c: b must go. */
		MAX = 1;
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\"}", c1, &a) == 0);
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\"}", c2, &b) == 0);
		bdir = xstrdup(b.directory ? b.directory : "?");
		repo_lease_release(&b);
		CHECK(step(ORIGIN ", \"branch\": \"feature\"}", NULL, &c) == 0);
		CHECK(exists(a.directory, "hello.txt"));	/* leased */
		CHECK(exists(c.directory, "feature.txt"));	/* just made */
		CHECK(!exists(bdir, ""));			/* evicted */
		repo_lease_release(&a);
		repo_lease_release(&c);
		free(bdir);

		/* Room for about one tree beside the mirror. */
		MAX = bound = gitcache_usage(C) * 3 / 4;
		CHECK(step(ORIGIN ", \"commit_sha\": \"@A\"}", c2, &d) == 0);
		CHECK(gitcache_usage(C) <= bound);
		CHECK(exists(d.directory, "hello.txt"));
		repo_lease_release(&d);
		CHECK(step(ORIGIN "}", NULL, &d) == 0);
		CHECK(gitcache_usage(C) <= bound);
		CHECK(entries("trees") == 1 && entries("mirrors") == 1);
		repo_lease_release(&d);
	}
	MAX = 0;
	free(c1);
	free(c2);
}

static void
test_concurrent(void)
{
	struct repo_lease l;
	char		*sha = rev("feature");
	pid_t		 pids[4];
	int		 st, ok = 1, rc;

	snprintf(C, sizeof(C), "%s/conc", T);
	TEST("four processes checking out one commit at once") {
		fflush(stdout);
		for (int i = 0; i < 4; i++)
			if ((pids[i] = fork()) == 0) {
				rc = step(ORIGIN ", \"commit_sha\": \"@A\"}",
				    sha, &l);
				if (rc == 0 && !exists(l.directory,
				    "feature.txt"))
					rc = 1;
				repo_lease_release(&l);
				fflush(stdout);
				_exit(rc == 0 ? 0 : 1);
			}
		for (int i = 0; i < 4; i++)
			if (waitpid(pids[i], &st, 0) == -1 || !WIFEXITED(st) ||
			    WEXITSTATUS(st) != 0)
				ok = 0;
		CHECK(ok);
		CHECK(entries("trees") == 1);
		CHECK(entries("tmp") == 0);
	}
	free(sha);
}

static void
test_enospc(void)
{
	struct repo_lease l;
	char		 mnt[96];

	snprintf(mnt, sizeof(mnt), "%s/full", T);
	snprintf(C, sizeof(C), "%s/cache", mnt);
	mkdir(mnt, 0755);
	if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0,
	    "size=512k") == -1) {
		printf("ok - disk full # SKIP needs root and tmpfs\n");
		return;
	}
	TEST("a full disk says so") {
		expect_fail = 1;
		CHECK(step("{\"repository\": \"@T/big.git\"}", NULL, &l) == -1);
		expect_fail = 0;
		CHECK(strncmp(err, "no space left on device while", 29) == 0);
		if (strncmp(err, "no space left on device while", 29) != 0)
			printf("#   %s\n", err);
	}
	(void)umount(mnt);
}

/* Starts tests/peers/git_http.py over T: its pid, and PORT. */
static int
start_peer(pid_t *pid)
{
	char	 buf[32];
	ssize_t	 n;
	int	 fds[2];
	char	*logp = xasprintf("%s/access.log", T);

	if (access("tests/peers/git_http.py", R_OK) == -1 || pipe(fds) == -1) {
		free(logp);
		return -1;
	}
	fflush(stdout);
	if ((*pid = fork()) == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execlp("python3", "python3", "tests/peers/git_http.py",
		    "--root", T, "--token", TOKEN, "--port", "0", "--log", logp,
		    (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	/* The whole line: a read may return part of it. */
	for (size_t len = 0; len < sizeof(buf) - 1; len += (size_t)n) {
		buf[len] = '\0';
		if (strchr(buf, '\n') != NULL)
			break;
		n = read(fds[0], buf + len, sizeof(buf) - 1 - len);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			break;
		buf[len + (size_t)n] = '\0';
	}
	close(fds[0]);
	free(logp);
	return (PORT = atoi(buf)) > 0 ? 0 : -1;
}

/* Requests the peer logged: all, or only POSTs (pack transfers). */
static int
requests(int posts_only)
{
	return atoi(sh_out("grep -c '%s' access.log || true",
	    posts_only ? "^POST" : "."));
}

/* How the last accepted request carried credentials ("oauth2:***"). */
static const char *
last_auth(void)
{
	return sh_out("grep ' 200 ' access.log | tail -1 | cut -d' ' -f4");
}

#define HTTP	"{\"repository\": \"http://127.0.0.1:@P/origin.git\""

static void
test_http(void)
{
	struct repo_lease l;
	char		*c1 = rev("main~2");
	pid_t		 pid;
	int64_t		 t0;
	int		 n, posts;

	snprintf(C, sizeof(C), "%s/http", T);
	if (start_peer(&pid) == -1) {
		printf("ok - http # SKIP no python3 or peer\n");
		free(c1);
		return;
	}
	TEST("http: the token as user name, no password (GitHub form)") {
		logbuf[0] = '\0';
		CHECK(step(HTTP ", \"access_token\": \"@K\"}", NULL, &l) == 0);
		CHECK(exists(l.directory, "hello.txt"));
		CHECK(has(logbuf, "Fetched"));
		/* The pack's size, not the 0 bytes libgit2's stats end with. */
		CHECK(!has(logbuf, "(0.0 KiB)"));
		repo_lease_release(&l);
		CHECK(requests(1) >= 1);
		CHECK_STR(last_auth(), "***:");
	}
	TEST("http: a pinned commit already cached makes no request") {
		CHECK(step(HTTP ", \"access_token\": \"@K\", \"commit_sha\": "
		    "\"@A\"}", c1, &l) == 0);
		repo_lease_release(&l);
		n = requests(0);
		CHECK(step(HTTP ", \"access_token\": \"@K\", \"commit_sha\": "
		    "\"@A\"}", c1, &l) == 0);
		CHECK_STR(first_line(l.directory, "hello.txt"), "one");
		repo_lease_release(&l);
		CHECK(requests(0) == n);
	}
	TEST("http: a branch whose commit is cached lists refs, no pack") {
		posts = requests(1);
		n = requests(0);
		CHECK(step(HTTP ", \"credentials\": {\"username\": "
		    "\"someone\", \"password\": \"@K\"}}", NULL, &l) == 0);
		repo_lease_release(&l);
		CHECK(requests(1) == posts);
		CHECK(requests(0) > n);
		CHECK_STR(last_auth(), "someone:***");
	}
	TEST("http: credentials in the URL are used, never stored") {
		CHECK(step("{\"repository\": \"http://x-access-token:@K@"
		    "127.0.0.1:@P/origin.git\", \"branch\": \"feature\"}", NULL,
		    &l) == 0);
		CHECK(exists(l.directory, "feature.txt"));
		repo_lease_release(&l);
		CHECK_STR(last_auth(), "x-access-token:***");
	}
	TEST("http: submodules get the parent's credentials (same host)") {
		CHECK(step("{\"repository\": "
		    "\"http://127.0.0.1:@P/super.git\", "
		    "\"include_submodules\": true, "
		    "\"credentials\": {\"token\": \"@K\"}}", NULL, &l) == 0);
		CHECK(exists(l.directory, "vendor/lib/deep/deep.txt"));
		repo_lease_release(&l);
	}
	expect_fail = 1;
	TEST("http: a wrong or missing token fails at once, unretried") {
		t0 = now_ms();
		CHECK(step(HTTP ", \"branch\": \"main\", \"access_token\": "
		    "\"wrong-@K\"}", NULL, &l) == -1);
		CHECK(has(err, "authentication failed"));
		CHECK(!has(err, TOKEN));
		CHECK(step(HTTP ", \"branch\": \"main\"}", NULL, &l) == -1);
		CHECK(has(err, "none were given"));
		CHECK(now_ms() - t0 < 900);
	}
	TEST("http: a cached pinned commit needs the right token all the same") {
		CHECK(step(HTTP ", \"access_token\": \"wrong-@K\", "
		    "\"commit_sha\": \"@A\"}", c1, &l) == -1);
		CHECK(has(err, "authentication failed"));
		CHECK(!has(err, TOKEN));
		CHECK(step(HTTP ", \"commit_sha\": \"@A\"}", c1, &l) == -1);
		CHECK(has(err, "none were given"));
	}
	TEST("http: a missing repository is named, and leaves no mirror") {
		n = entries("mirrors");
		CHECK(step("{\"repository\": "
		    "\"http://127.0.0.1:@P/nothere.git\", \"access_token\": "
		    "\"@K\"}", NULL, &l) == -1);
		CHECK(has(err, "not found"));
		CHECK(entries("mirrors") == n);
	}
	expect_fail = 0;
	TEST("http: the token is in no file of the cache, nor in the log") {
		CHECK(!grep_tree(C, TOKEN));
		CHECK(!has(logbuf, TOKEN));
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	TEST("http: an unreachable server is retried, then named") {
		logbuf[0] = '\0';
		t0 = now_ms();
		expect_fail = 1;
		CHECK(step(HTTP ", \"access_token\": \"@K\"}", NULL, &l) == -1);
		expect_fail = 0;
		CHECK(has(logbuf, "Attempt 2 of function 'git_clone' failed"));
		CHECK(now_ms() - t0 >= 1000);
		CHECK(has(err, "127.0.0.1") && !has(err, TOKEN));
	}
	free(c1);
}

int
main(void)
{
	char	*cmd;

	strlcpy_(T, "/tmp/pfagent-git-XXXXXX", sizeof(T));
	if (mkdtemp(T) == NULL || make_fixtures() != 0) {
		printf("not ok - fixtures (git CLI) in %s\n", T);
		return 1;
	}
	test_file();
	test_validation();
	test_lru();
	test_concurrent();
	test_enospc();
	test_http();
	if (t_fail == 0 && getenv("PFAGENT_TEST_KEEP") == NULL) {
		cmd = xasprintf("rm -rf %s", T);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", T);
		free(cmd);
	} else
		printf("# fixtures kept in %s\n", T);
	return t_done();
}
