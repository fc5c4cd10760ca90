/*
 * doc_int.h: what the parts of the YAML loader share and nobody else
 * sees: the node graph the composer builds from libyaml's events, the
 * string map that holds anchors and de-duplicates keys, and PyYAML's
 * scalar typing.
 *
 *   compose.c  libyaml events -> node graph (anchors, aliases)
 *   scalar.c   PyYAML's YAML 1.1 implicit and explicit scalar types
 *   yaml.c          node graph -> cJSON ("<<" merges, positions), public
 */
#ifndef YAML_DOC_INT_H
#define YAML_DOC_INT_H

#include <stddef.h>

#include <yaml.h>

#include "yaml/doc.h"

#define TAG_PREFIX	"tag:yaml.org,2002:"

enum ykind { YN_SCALAR, YN_SEQ, YN_MAP, YN_ALIAS };

struct ynode;

struct ypair {
	struct ynode	*k;
	struct ynode	*v;
};

/* A mapping's keys after merging and de-duplication. */
struct slot {
	char		*key;		/* JSON key */
	char		*ident;		/* Python dict identity */
	struct ynode	*k, *v;
	int		 nonstr;
};

struct ynode {
	struct ynode	*next;		/* allocation chain */
	enum ykind	 kind;
	char		*tag;		/* explicit tag, NULL for none or "!" */
	char		*text;		/* scalar text */
	size_t		 len;
	int		 implicit;	/* scalar: apply implicit typing */
	int		 line, col;
	struct ynode	**kids;		/* seq items; map key, value, ... */
	size_t		 nkids, capkids;
	struct ynode	*target;	/* alias */
	struct ypair	*eff;		/* map pairs after merging */
	size_t		 neff;
	int		 flat;		/* eff is valid */
	struct slot	*slots;		/* unique keys, built once */
	size_t		 nslots;
	int		 flattening;	/* cycle check for merges */
	int		 building;	/* cycle check for aliases */
};

/* String-keyed open-addressing map; keys are borrowed. */
struct sent {
	const char	*key;
	size_t		 len;
	void		*val;
};

struct smap {
	struct sent	*v;
	size_t		 n, cap;
};

struct composer {
	yaml_parser_t	 parser;
	struct ynode	*nodes;
	struct ynode	*root;
	struct ynode	**stack;
	size_t		 depth, capstack;
	struct smap	 anchors;
	char		**anames;	/* owned anchor names */
	size_t		 nanames, capanames;
	int		 docs;
	struct ydoc_error *err;
};

enum stype {
	ST_NULL, ST_BOOL, ST_INT, ST_FLOAT, ST_STR, ST_TIME, ST_MERGE, ST_VALUE
};

struct scalar {
	enum stype	 t;
	int		 b;
	double		 d;
	char		 ts[48];	/* normalised timestamp */
};

/* yaml.c */

/* Fills err (may be NULL) with a position and a message; returns -1. */
int	 ydoc_seterr(struct ydoc_error *err, int line, int col,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sets "out of memory" in err (may be NULL); returns -1. */
int	 ydoc_oom(struct ydoc_error *err);
/* Frees n slots (a mapping's unique keys) and the array. */
void	 ydoc_slots_free(struct slot *s, size_t n);
/* The value stored under key, or NULL. */
void	*ydoc_smap_get(const struct smap *m, const char *key, size_t len);
/* Stores val under key (replacing).  key must outlive the map. */
int	 ydoc_smap_put(struct smap *m, const char *key, size_t len,
	    void *val);

/* compose.c */

/*
 * Reads every event of c->parser (initialised by the caller, input set)
 * into c's node graph; c->root is the document's root, NULL for an
 * empty stream.  Returns 0, or -1 with c->err filled.
 */
int	 ydoc_compose(struct composer *c, const char *text, size_t len);
/* Frees the graph, the anchors and the parser; c itself is the caller's. */
void	 ydoc_composer_free(struct composer *c);

/* scalar.c */

/* Types and converts scalar n into sc; -1 with err on failure. */
int	 ydoc_resolve_scalar(const struct ynode *n, struct scalar *sc,
	    struct ydoc_error *err);
/* The type an explicit tag names, (enum stype)-1 for an unknown tag. */
enum stype ydoc_explicit_type(const char *tag);

#endif
