/*
 * compose.c: libyaml's events to a node graph, as PyYAML's composer.
 *
 * Nodes are chained for freeing; an alias is a node pointing at its
 * anchor's node, so the graph is only expanded (and capped) later by the
 * builder in yaml.c.  libyaml's reader and parser errors become
 * "line:col: message" with the position of the problem.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yaml/doc_int.h"

static struct ynode *
node_new(struct composer *c, enum ykind kind, const yaml_mark_t *mark)
{
	struct ynode	*n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->line = (int)mark->line + 1;
	n->col = (int)mark->column + 1;
	n->next = c->nodes;
	c->nodes = n;
	return n;
}

static void
nodes_free(struct ynode *n)
{
	while (n != NULL) {
		struct ynode *next = n->next;

		free(n->tag);
		free(n->text);
		free(n->kids);
		free(n->eff);
		ydoc_slots_free(n->slots, n->nslots);
		free(n);
		n = next;
	}
}

static int
kid_add(struct ynode *parent, struct ynode *kid)
{
	if (parent->nkids == parent->capkids) {
		size_t	 cap = parent->capkids ? parent->capkids * 2 : 4;
		void	*p = realloc(parent->kids, cap * sizeof(*parent->kids));

		if (p == NULL)
			return -1;
		parent->kids = p;
		parent->capkids = cap;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

static int
attach(struct composer *c, struct ynode *n)
{
	if (c->depth == 0) {
		c->root = n;
		return 0;
	}
	if (kid_add(c->stack[c->depth - 1], n) == -1)
		return ydoc_oom(c->err);
	return 0;
}

static int
anchor_add(struct composer *c, const char *anchor, struct ynode *n,
    const yaml_mark_t *mark)
{
	char	*name;

	if (anchor == NULL)
		return 0;
	if (ydoc_smap_get(&c->anchors, anchor, strlen(anchor)) != NULL)
		return ydoc_seterr(c->err, (int)mark->line + 1,
		    (int)mark->column + 1, "found duplicate anchor '%.100s'",
		    anchor);
	if (c->nanames == c->capanames) {
		size_t	 cap = c->capanames ? c->capanames * 2 : 8;
		void	*p = realloc(c->anames, cap * sizeof(*c->anames));

		if (p == NULL)
			return ydoc_oom(c->err);
		c->anames = p;
		c->capanames = cap;
	}
	if ((name = strdup(anchor)) == NULL)
		return ydoc_oom(c->err);
	c->anames[c->nanames++] = name;
	if (ydoc_smap_put(&c->anchors, name, strlen(name), n) == -1)
		return ydoc_oom(c->err);
	return 0;
}

static int
push(struct composer *c, struct ynode *n, const yaml_mark_t *mark)
{
	if (c->depth >= YDOC_MAX_DEPTH)
		return ydoc_seterr(c->err, (int)mark->line + 1,
		    (int)mark->column + 1, "nesting deeper than %d levels",
		    YDOC_MAX_DEPTH);
	if (c->depth == c->capstack) {
		size_t	 cap = c->capstack ? c->capstack * 2 : 16;
		void	*p = realloc(c->stack, cap * sizeof(*c->stack));

		if (p == NULL)
			return ydoc_oom(c->err);
		c->stack = p;
		c->capstack = cap;
	}
	c->stack[c->depth++] = n;
	return 0;
}

/* Keeps an explicit tag; "!" (non-specific) counts as none. */
static int
take_tag(struct ynode *n, const yaml_char_t *tag)
{
	if (tag == NULL || strcmp((const char *)tag, "!") == 0)
		return 0;
	n->tag = strdup((const char *)tag);
	return n->tag == NULL ? -1 : 0;
}

static int
on_scalar(struct composer *c, const yaml_event_t *ev)
{
	struct ynode	*n = node_new(c, YN_SCALAR, &ev->start_mark);
	size_t		 len = ev->data.scalar.length;

	if (n == NULL || take_tag(n, ev->data.scalar.tag) == -1 ||
	    (n->text = malloc(len + 1)) == NULL)
		return ydoc_oom(c->err);
	memcpy(n->text, ev->data.scalar.value, len);
	n->text[len] = '\0';
	n->len = len;
	n->implicit = n->tag == NULL && ev->data.scalar.plain_implicit;
	if (anchor_add(c, (const char *)ev->data.scalar.anchor, n,
	    &ev->start_mark) == -1)
		return -1;
	return attach(c, n);
}

static int
on_collection(struct composer *c, const yaml_event_t *ev, enum ykind kind)
{
	struct ynode	*n = node_new(c, kind, &ev->start_mark);
	const yaml_char_t *tag, *anchor;

	if (kind == YN_SEQ) {
		tag = ev->data.sequence_start.tag;
		anchor = ev->data.sequence_start.anchor;
	} else {
		tag = ev->data.mapping_start.tag;
		anchor = ev->data.mapping_start.anchor;
	}
	if (n == NULL || take_tag(n, tag) == -1)
		return ydoc_oom(c->err);
	if (anchor_add(c, (const char *)anchor, n, &ev->start_mark) == -1 ||
	    attach(c, n) == -1)
		return -1;
	return push(c, n, &ev->start_mark);
}

static int
on_alias(struct composer *c, const yaml_event_t *ev)
{
	const char	*name = (const char *)ev->data.alias.anchor;
	struct ynode	*target = ydoc_smap_get(&c->anchors, name,
	    strlen(name));
	struct ynode	*n;

	if (target == NULL)
		return ydoc_seterr(c->err, (int)ev->start_mark.line + 1,
		    (int)ev->start_mark.column + 1,
		    "found undefined alias '%.100s'", name);
	if ((n = node_new(c, YN_ALIAS, &ev->start_mark)) == NULL)
		return ydoc_oom(c->err);
	n->target = target;
	return attach(c, n);
}

static int
on_event(struct composer *c, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (c->docs++ > 0)
			return ydoc_seterr(c->err, (int)ev->start_mark.line + 1,
			    (int)ev->start_mark.column + 1, "expected a single "
			    "document in the stream, but found another "
			    "document");
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(c, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_collection(c, ev, YN_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_collection(c, ev, YN_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (c->depth > 0)
			c->depth--;
		return 0;
	case YAML_ALIAS_EVENT:
		return on_alias(c, ev);
	default:
		return 0;
	}
}

/* Line and column of byte offset off in text (reader errors). */
static void
offset_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80)
			(*col)++;
	}
}

static int
parser_error(struct composer *c, const char *text, size_t len)
{
	const yaml_parser_t *p = &c->parser;
	int		 line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return ydoc_oom(c->err);
	case YAML_READER_ERROR:
		offset_pos(text, len, p->problem_offset, &line, &col);
		return ydoc_seterr(c->err, line, col, "%s",
		    p->problem ? p->problem : "invalid input");
	default:
		line = (int)p->problem_mark.line + 1;
		col = (int)p->problem_mark.column + 1;
		if (p->context != NULL)
			return ydoc_seterr(c->err, line, col,
			    "%.100s (%.80s at line %d, column %d)",
			    p->problem ? p->problem : "syntax error",
			    p->context, (int)p->context_mark.line + 1,
			    (int)p->context_mark.column + 1);
		return ydoc_seterr(c->err, line, col, "%.200s",
		    p->problem ? p->problem : "syntax error");
	}
}

int
ydoc_compose(struct composer *c, const char *text, size_t len)
{
	for (;;) {
		yaml_event_t	 ev;
		yaml_event_type_t type;
		int		 rc;

		if (!yaml_parser_parse(&c->parser, &ev))
			return parser_error(c, text, len);
		rc = on_event(c, &ev);
		type = ev.type;
		yaml_event_delete(&ev);
		if (rc == -1)
			return -1;
		if (type == YAML_STREAM_END_EVENT)
			return 0;
	}
}

void
ydoc_composer_free(struct composer *c)
{
	for (size_t i = 0; i < c->nanames; i++)
		free(c->anames[i]);
	free(c->anames);
	free(c->anchors.v);
	free(c->stack);
	nodes_free(c->nodes);
	yaml_parser_delete(&c->parser);
}
