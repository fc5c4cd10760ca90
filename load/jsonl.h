/*
 * load/jsonl.h: a JSON-lines file read and parsed ahead, on a thread of
 * its own, so that the normalizer's thread only flattens and formats
 * (parsing was a third of its time). Items come in the file's order,
 * one per line, as jv_parse reads them; the first bad line ends the
 * file, after every item before it.
 */
#ifndef LOAD_JSONL_H
#define LOAD_JSONL_H

#include <stdio.h>

#include "load/jsonv.h"

struct jl_reader;

/*
 * Starts reading f (borrowed: the caller closes it after jl_close);
 * NULL with err when the thread cannot start.
 */
struct jl_reader *jl_open(FILE *f, char *err, size_t errlen);

/*
 * The next item: 1 with *item (valid until the next call) and *lineno
 * its line; 0 at the end; -1 with err saying what is wrong with line
 * *lineno (or that the file cannot be read).
 */
int	 jl_next(struct jl_reader *, const struct jv **item, size_t *lineno,
	    char *err, size_t errlen);

/* Stops the thread and frees everything. */
void	 jl_close(struct jl_reader *);

#endif
