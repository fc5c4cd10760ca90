/*
 * t.h: a tiny unit-test harness (TAP lines, then a tally).
 *
 *	TEST("parses an empty table") {
 *		CHECK(x == 1);
 *	}
 *	return t_done();
 */
#ifndef TESTS_T_H
#define TESTS_T_H

#include <stdio.h>

static int t_pass, t_fail, t_cur_failed;
static const char *t_cur;

static inline int
t_begin(const char *name)
{
	t_cur = name;
	t_cur_failed = 0;
	return 1;
}

static inline void
t_end(void)
{
	if (t_cur_failed)
		t_fail++;
	else {
		t_pass++;
		printf("ok - %s\n", t_cur);
	}
}

/* Runs the braced block once, then records the outcome. */
#define TEST(name) \
	for (int t_once_ = t_begin(name); t_once_; t_once_ = 0, t_end())

#define CHECK(cond) do { \
	if (!(cond)) { \
		if (!t_cur_failed) \
			printf("not ok - %s\n", t_cur); \
		printf("#   %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); \
		t_cur_failed = 1; \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) { \
		if (!t_cur_failed) \
			printf("not ok - %s\n", t_cur); \
		printf("#   %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
		    a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		t_cur_failed = 1; \
	} \
} while (0)

static inline int
t_done(void)
{
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
