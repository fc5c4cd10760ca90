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
#ifndef DEPLOYMENTS_YAML_H
#define DEPLOYMENTS_YAML_H

#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * Extra bit in cJSON->type: the number was a float in the source (1.0),
 * so Python's str() renders it as "1.0", not "1".  cJSON masks type
 * with 0xFF everywhere and cJSON_Duplicate keeps the bit.
 */
#define YAML_CJSON_FLOAT	(1 << 12)

/* Flags from yaml_doc_flags(). */
#define YAML_NODE_TIMESTAMP	0x1	/* string made from a plain timestamp */
#define YAML_NODE_KEY_NONSTR	0x2	/* its mapping key was not a string */

/* Limits: expanded node count (alias bombs) and nesting depth. */
#define YAML_MAX_NODES		1000000
#define YAML_MAX_DEPTH		1000

struct yaml_doc;

struct yaml_error {
	int	line;		/* 1-based; 0 when unknown */
	int	col;		/* 1-based; 0 when unknown */
	char	msg[256];
};

/*
 * Parses exactly one document from text[0..len).  Returns a new
 * document the caller frees with yaml_doc_free(), or NULL with *err
 * filled (err may be NULL).  An empty stream yields a null root.
 */
struct yaml_doc	*yaml_doc_load(const char *text, size_t len,
		    struct yaml_error *err);

/* As yaml_doc_load() on the contents of path. */
struct yaml_doc	*yaml_doc_load_file(const char *path, struct yaml_error *err);

/* The root node, owned by the document (never NULL). */
const cJSON	*yaml_doc_root(const struct yaml_doc *doc);

/*
 * Position of node (1-based).  For an object member, yaml_doc_pos gives
 * the value and yaml_doc_key_pos the key.  Returns 0 when known, -1 for
 * nodes that do not belong to the document.
 */
int		 yaml_doc_pos(const struct yaml_doc *doc, const cJSON *node,
		    int *line, int *col);
int		 yaml_doc_key_pos(const struct yaml_doc *doc, const cJSON *node,
		    int *line, int *col);

/* YAML_NODE_* flags of node, 0 for unknown nodes. */
int		 yaml_doc_flags(const struct yaml_doc *doc, const cJSON *node);

/* Frees doc and its tree; NULL is a no-op. */
void		 yaml_doc_free(struct yaml_doc *doc);

/*
 * Formats d as Python's repr(float) does ("1.0", "1e+16", "inf") into
 * buf, which 32 bytes always suffice for.  Returns buf.
 */
char		*yaml_format_float(double d, char *buf, size_t len);

#endif
