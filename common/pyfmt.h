/*
 * pyfmt.h: Python's text forms, as Prefect prints them in state names,
 * messages and log lines (repr of floats and strings, str of a State).
 * Pure functions; out is always NUL-terminated, cut at n.
 */
#ifndef COMMON_PYFMT_H
#define COMMON_PYFMT_H

#include <stddef.h>

/* Python's repr() of a float ("1.0", "0.25", "1e-05"). */
void	 sdk_pyfloat(char *out, size_t n, double v);
/* Python's repr() of a str: quoted, escaped. */
void	 sdk_pyrepr(char *out, size_t n, const char *s);
/* str() of a Prefect state: Completed(), TimedOut('…', type=FAILED). */
void	 sdk_state_str(char *out, size_t n, const char *type,
	    const char *name, const char *message);

#endif
