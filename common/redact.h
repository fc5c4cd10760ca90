/*
 * redact.h: masking secret values in text that leaves the executor: the
 * run's log lines (to Prefect and on the console), state messages and
 * artifacts. The values are the configuration's secrets (config/cfg.h
 * records them and hands each new one to a hook); sdk/logship.c owns
 * the run's set and masks every line there.
 *
 * Rule: every occurrence of a value, longest values first, becomes
 * REDACT_MASK ("****", as `pfagent config get` shows secrets). Values
 * shorter than REDACT_MIN_LEN bytes are not masked: a one-letter secret
 * would otherwise blank out every such letter of every line. A value is
 * also masked as JSON spells it inside a string ("a\"b" for a"b), so it
 * does not survive in a JSON text either.
 */
#ifndef COMMON_REDACT_H
#define COMMON_REDACT_H

#include <stddef.h>

#define REDACT_MASK	"****"
#define REDACT_MIN_LEN	4

struct redact;

struct redact	*redact_new(void);
void		 redact_free(struct redact *);
/* Adds a value to mask from now on (a copy is kept). Thread-safe. */
void		 redact_add(struct redact *, const char *value);
/* How many spellings are masked (for the tests). Thread-safe. */
size_t		 redact_count(struct redact *);
/*
 * A copy of text with every known value masked (caller frees); text
 * may be NULL (then NULL). Thread-safe.
 */
char		*redact_text(struct redact *, const char *text);

#endif
