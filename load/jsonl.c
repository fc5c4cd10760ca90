/*
 * jsonl.c: load/jsonl.h. The reader thread fills a batch with whole
 * lines (about BATCH_TEXT bytes, or one longer line), parses them into
 * the batch's arena and queues it; the caller takes batches in order
 * and gives each back once past its last item. BATCHES bound memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "load/jsonl.h"

#define BATCH_TEXT	(256u << 10)
#define READ_MIN	(64u << 10)
#define BATCHES		4

struct batch {
	struct batch	 *next;
	struct jv_arena	  arena;
	char		 *text;		/* whole lines: the items' text */
	size_t		  len, cap;
	const struct jv	**items;
	size_t		  n, capitems;
	size_t		  first_line;	/* of items[0] */
	int		  last;		/* nothing after this batch */
	char		 *error;	/* about line first_line + n */
};

struct jl_reader {
	FILE		*f;
	pthread_t	 th;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct batch	 all[BATCHES];
	struct batch	*full, *full_tail;	/* parsed, in order */
	struct batch	*empty;
	int		 closing;
	/* The reader thread's own. */
	char		*carry;			/* a line begun, not ended */
	size_t		 ncarry;
	size_t		 line;			/* lines read */
	int		 eof;
	/* The caller's own. */
	struct batch	*cur;
	size_t		 pos;
};

static void
reserve(char **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	*cap = need > 2 * *cap ? need : 2 * *cap;
	*p = xrealloc(*p, *cap);
}

/* Reads whole lines into b (the last one may lack its newline). */
static int
fill(struct jl_reader *r, struct batch *b)
{
	size_t	end = 0;

	/* The carry can be most of a long line. */
	reserve(&b->text, &b->cap, (r->ncarry > BATCH_TEXT ? r->ncarry :
	    BATCH_TEXT) + READ_MIN);
	if (r->ncarry > 0)	/* no newline in it */
		memcpy(b->text, r->carry, r->ncarry);
	b->len = r->ncarry;
	while ((end == 0 || b->len < BATCH_TEXT) && !r->eof) {
		size_t		 k;
		const char	*nl;

		reserve(&b->text, &b->cap, b->len + READ_MIN);
		k = fread(b->text + b->len, 1, b->cap - b->len, r->f);
		if (k == 0 && ferror(r->f))
			return -1;
		if (k == 0)
			r->eof = 1;
		if ((nl = memrchr(b->text + b->len, '\n', k)) != NULL)
			end = (size_t)(nl - b->text) + 1;
		b->len += k;
	}
	if (r->eof)
		end = b->len;
	r->ncarry = b->len - end;
	r->carry = xrealloc(r->carry, r->ncarry + 1);
	memcpy(r->carry, b->text + end, r->ncarry);
	b->len = end;
	return 0;
}

/* Parses b's lines until one is bad. */
static void
parse(struct jl_reader *r, struct batch *b)
{
	char	err[1024];

	b->first_line = r->line + 1;
	for (size_t at = 0; at < b->len; ) {
		const char	*nl = memchr(b->text + at, '\n', b->len - at);
		size_t		 len = nl != NULL ? (size_t)(nl - b->text) + 1 -
		    at : b->len - at;
		struct jv	*v = jv_parse(&b->arena, b->text + at, len, err,
		    sizeof(err));

		if (v == NULL) {
			b->error = xstrdup(err);
			return;
		}
		if (b->n == b->capitems) {
			b->capitems = b->capitems ? 2 * b->capitems : 1024;
			b->items = xrealloc(b->items, b->capitems *
			    sizeof(*b->items));
		}
		b->items[b->n++] = v;
		r->line++;
		at += len;
	}
}

static void
read_batch(struct jl_reader *r, struct batch *b)
{
	jv_arena_reset(&b->arena);
	b->n = 0;
	b->next = NULL;
	if (fill(r, b) < 0) {
		b->first_line = r->line + 1;
		b->error = xasprintf("cannot read: %s", strerror(errno));
	} else
		parse(r, b);
	b->last = r->eof || b->error != NULL;
}

static void *
reader_main(void *arg)
{
	struct jl_reader	*r = arg;
	struct batch		*b;

	do {
		pthread_mutex_lock(&r->mu);
		while (r->empty == NULL && !r->closing)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->closing) {
			pthread_mutex_unlock(&r->mu);
			return NULL;
		}
		b = r->empty;
		r->empty = b->next;
		pthread_mutex_unlock(&r->mu);
		read_batch(r, b);
		pthread_mutex_lock(&r->mu);
		if (r->full_tail != NULL)
			r->full_tail->next = b;
		else
			r->full = b;
		r->full_tail = b;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
	} while (!b->last);
	return NULL;
}

struct jl_reader *
jl_open(FILE *f, char *err, size_t errlen)
{
	struct jl_reader	*r = xcalloc(1, sizeof(*r));

	r->f = f;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	for (int i = 0; i < BATCHES; i++) {
		r->all[i].next = r->empty;
		r->empty = &r->all[i];
	}
	if (pthread_create(&r->th, NULL, reader_main, r) != 0) {
		errorf(err, errlen, "cannot start the reader: %m");
		pthread_mutex_destroy(&r->mu);
		pthread_cond_destroy(&r->cv);
		free(r);
		return NULL;
	}
	return r;
}

int
jl_next(struct jl_reader *r, const struct jv **item, size_t *lineno,
    char *err, size_t errlen)
{
	struct batch	*b = r->cur;

	while (b == NULL || r->pos == b->n) {
		if (b != NULL && b->error != NULL) {
			*lineno = b->first_line + b->n;
			return errorf(err, errlen, "%s", b->error);
		}
		if (b != NULL && b->last)
			return 0;
		pthread_mutex_lock(&r->mu);
		if (b != NULL) {
			b->next = r->empty;
			r->empty = b;
			pthread_cond_broadcast(&r->cv);
		}
		while (r->full == NULL)
			pthread_cond_wait(&r->cv, &r->mu);
		b = r->full;
		if ((r->full = b->next) == NULL)
			r->full_tail = NULL;
		pthread_mutex_unlock(&r->mu);
		r->cur = b;
		r->pos = 0;
	}
	*item = b->items[r->pos];
	*lineno = b->first_line + r->pos++;
	return 1;
}

void
jl_close(struct jl_reader *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->closing = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->th, NULL);
	for (int i = 0; i < BATCHES; i++) {
		jv_arena_free(&r->all[i].arena);
		free(r->all[i].text);
		free(r->all[i].items);
		free(r->all[i].error);
	}
	free(r->carry);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}
