/*
 * first_attempt.h: for test flows that behave differently on their first
 * run. A marker file named after the run in the `dir` parameter tells the
 * runs apart, so it works whether a retry runs in the same process or in
 * a new one.
 */
#ifndef TEST_FLOWS_FIRST_ATTEMPT_H
#define TEST_FLOWS_FIRST_ATTEMPT_H

#include <stdio.h>
#include <unistd.h>

#include <pf/flow.h>

/* 1 on the run's first attempt (leaving the marker), else 0. */
static inline int
first_attempt(pf_run *run)
{
	char	 path[4096];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s.first", pf_param_string(run,
	    "dir"), pf_run_id(run));
	if (access(path, F_OK) == 0)
		return 0;
	if ((f = fopen(path, "w")) != NULL)
		fclose(f);
	return 1;
}

#endif
