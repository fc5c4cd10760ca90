/*
 * yaml.h: load one YAML document into a cJSON tree, typed the way
 * PyYAML's safe_load types it, with the source position of every node.
 *
 * prefect.yaml is read by Prefect with yaml.safe_load (YAML 1.1 rules:
 * yes/no/on/off are booleans, 010 is octal, 1e3 is a string).  This
 * module reproduces those rules, resolves anchors, aliases and "<<"
 * merge keys, and keeps a side table from each cJSON node to its line
 * and column so callers can report "file:line:col: path: message".
 */
#ifndef YAML_DOC_H
#define YAML_DOC_H

#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * Extra bit in cJSON->type: the number was a float in the source (1.0),
 * so Python's str() renders it as "1.0", not "1".  cJSON masks type
 * with 0xFF everywhere and cJSON_Duplicate keeps the bit.
 */
#define YDOC_CJSON_FLOAT	(1 << 12)

/* Flags from ydoc_flags(). */
#define YDOC_NODE_TIMESTAMP	0x1	/* string made from a plain timestamp */
#define YDOC_NODE_KEY_NONSTR	0x2	/* its mapping key was not a string */

/* Limits: expanded node count (alias bombs) and nesting depth. */
#define YDOC_MAX_NODES		1000000
#define YDOC_MAX_DEPTH		1000

struct ydoc;

struct ydoc_error {
	int	line;		/* 1-based; 0 when unknown */
	int	col;		/* 1-based; 0 when unknown */
	char	msg[256];
};

/*
 * Parses exactly one document from text[0..len).  Returns a new
 * document the caller frees with ydoc_free(), or NULL with *err
 * filled (err may be NULL).  An empty stream yields a null root.
 */
struct ydoc	*ydoc_load(const char *text, size_t len,
		    struct ydoc_error *err);

/* As ydoc_load() on the contents of path. */
struct ydoc	*ydoc_load_file(const char *path, struct ydoc_error *err);

/* The root node, owned by the document (never NULL). */
const cJSON	*ydoc_root(const struct ydoc *doc);

/*
 * Position of node (1-based).  For an object member, ydoc_pos gives
 * the value and ydoc_key_pos the key.  Returns 0 when known, -1 for
 * nodes that do not belong to the document.
 */
int		 ydoc_pos(const struct ydoc *doc, const cJSON *node,
		    int *line, int *col);
int		 ydoc_key_pos(const struct ydoc *doc, const cJSON *node,
		    int *line, int *col);

/* YDOC_NODE_* flags of node, 0 for unknown nodes. */
int		 ydoc_flags(const struct ydoc *doc, const cJSON *node);

/* Frees doc and its tree; NULL is a no-op. */
void		 ydoc_free(struct ydoc *doc);

/*
 * Formats d as Python's repr(float) does ("1.0", "1e+16", "inf") into
 * buf, which 32 bytes always suffice for.  Returns buf.
 */
char		*ydoc_format_float(double d, char *buf, size_t len);

#endif
