/*
 * toml.c: a TOML 1.0.0 reader producing a cJSON tree (see toml.h).
 *
 * The text is checked for valid UTF-8 once, then read in one pass: each
 * line is blank, a comment, a [table] or [[array]] header, or a
 * key = value pair added to the current table.  The redefinition rules
 * depend on how each table came to be, so during the parse the unused
 * valueint of objects and arrays holds creation flags; they are cleared
 * before the tree is handed out.  Errors keep only the first failure
 * and its position, computed from the byte where it happened.
 *
 * This file builds the document; toml_lex.c reads strings, keys and the
 * space between them, toml_scalar.c numbers and date-times.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "config/toml_int.h"

#define MAX_DEPTH	512	/* tree depth; cJSON_Delete recurses */
#define TOML_FILE_MAX	(16u << 20)	/* configuration, not data */

/* Creation flags of objects and arrays while parsing. */
#define F_IMPLICIT	0x01	/* made by a longer header: a in [a.b] */
#define F_EXPLICIT	0x02	/* defined by its own header */
#define F_DOTTED	0x04	/* made by a dotted key: a in a.b = 1 */
#define F_FROZEN	0x08	/* an inline table */
#define F_AOT		0x10	/* an array made by [[header]] */

static cJSON	*value(struct parser *);

/* Adds a new table flagged flags to parent under name. */
static cJSON *
new_table(struct parser *ps, cJSON *parent, const char *name, int flags,
    int array)
{
	cJSON	*t = array ? cJSON_CreateArray() : cJSON_CreateObject();

	if (t == NULL) {
		lex_oom(ps);
		return NULL;
	}
	t->valueint = flags;
	if (!cJSON_AddItemToObject(parent, name, t)) {
		cJSON_Delete(t);
		lex_oom(ps);
		return NULL;
	}
	return t;
}

/* Adds v under the dotted key k to table t; owns v. */
static int
insert(struct parser *ps, cJSON *t, struct keys *k, cJSON *v,
    const char *at)
{
	cJSON	*c;
	int	 i;

	for (i = 0; i < k->n - 1; i++) {
		c = cJSON_GetObjectItemCaseSensitive(t, k->v[i]);
		if (c == NULL)
			c = new_table(ps, t, k->v[i], F_DOTTED, 0);
		else if (!cJSON_IsObject(c) || !(c->valueint & F_DOTTED) ||
		    (c->valueint & F_FROZEN)) {
			lex_fail(ps, at, cJSON_IsObject(c) ?
			    "dotted key cannot extend table" :
			    "dotted key cannot extend value", k->v[i]);
			c = NULL;
		}
		if (c == NULL) {
			cJSON_Delete(v);
			return -1;
		}
		t = c;
	}
	if (cJSON_GetObjectItemCaseSensitive(t, k->v[i]) != NULL) {
		cJSON_Delete(v);
		return lex_fail(ps, at, "duplicate key", k->v[i]);
	}
	if (!cJSON_AddItemToObject(t, k->v[i], v)) {
		cJSON_Delete(v);
		return lex_oom(ps);
	}
	return 0;
}

/* key = value, into table t; leaves ps->p after the value. */
static int
keyval(struct parser *ps, cJSON *t)
{
	struct keys	 k;
	const char	*at;
	cJSON		*v;
	int		 rc = -1;

	memset(&k, 0, sizeof(k));
	lex_skip_ws(ps);
	at = ps->p;
	if (lex_key(ps, &k) < 0)
		goto out;
	if (peek(ps) != '=') {
		lex_fail(ps, ps->p, "expected '=' after key", NULL);
		goto out;
	}
	ps->p++;
	lex_skip_ws(ps);
	ps->depth += k.n;
	if (ps->depth > MAX_DEPTH)
		lex_fail(ps, at, "nesting too deep", NULL);
	else if ((v = value(ps)) != NULL)
		rc = insert(ps, t, &k, v, at);
	ps->depth -= k.n;
out:
	lex_keys_free(&k);
	return rc;
}

static cJSON *
array(struct parser *ps)
{
	cJSON	*a, *v;

	if (++ps->depth > MAX_DEPTH) {
		lex_fail(ps, ps->p, "nesting too deep", NULL);
		return NULL;
	}
	ps->p++;
	if ((a = cJSON_CreateArray()) == NULL)
		goto nomem;
	for (;;) {
		if (lex_skip_all(ps) < 0)
			goto err;
		if (peek(ps) == ']')
			break;
		if ((v = value(ps)) == NULL)
			goto err;
		if (!cJSON_AddItemToArray(a, v)) {
			cJSON_Delete(v);
			goto nomem;
		}
		if (lex_skip_all(ps) < 0)
			goto err;
		if (peek(ps) == ']')
			break;
		if (peek(ps) != ',') {
			lex_fail(ps, ps->p, "expected ',' or ']' in array",
			    NULL);
			goto err;
		}
		ps->p++;
	}
	ps->p++;
	ps->depth--;
	return a;
nomem:
	lex_oom(ps);
err:
	cJSON_Delete(a);
	return NULL;
}

static cJSON *
inline_table(struct parser *ps)
{
	cJSON	*t;

	if (++ps->depth > MAX_DEPTH) {
		lex_fail(ps, ps->p, "nesting too deep", NULL);
		return NULL;
	}
	ps->p++;
	if ((t = cJSON_CreateObject()) == NULL) {
		lex_oom(ps);
		return NULL;
	}
	lex_skip_ws(ps);
	if (peek(ps) != '}') {
		for (;;) {
			if (keyval(ps, t) < 0)
				goto err;
			lex_skip_ws(ps);
			if (peek(ps) == '}')
				break;
			if (peek(ps) != ',') {
				lex_fail(ps, ps->p, "expected ',' or '}' in "
				    "inline table", NULL);
				goto err;
			}
			ps->p++;
		}
	}
	ps->p++;
	ps->depth--;
	t->valueint = F_FROZEN;
	return t;
err:
	cJSON_Delete(t);
	return NULL;
}

static cJSON *
value(struct parser *ps)
{
	struct buf	 b;
	cJSON		*it;
	const char	*s = ps->p;
	int		 c = peek(ps);

	switch (c) {
	case '"':
	case '\'':
		buf_init(&b, SIZE_MAX);
		if (lex_string(ps, &b, 1) < 0) {
			free(b.data);
			return NULL;
		}
		it = cJSON_CreateString(b.data);
		free(b.data);
		if (it == NULL)
			lex_oom(ps);
		return it;
	case '[':
		return array(ps);
	case '{':
		return inline_table(ps);
	case 't':
	case 'f':
		if (ps->end - s >= 4 && memcmp(s, "true", 4) == 0) {
			ps->p += 4;
			it = cJSON_CreateTrue();
		} else if (ps->end - s >= 5 && memcmp(s, "false", 5) == 0) {
			ps->p += 5;
			it = cJSON_CreateFalse();
		} else {
			lex_fail(ps, s, "invalid value", NULL);
			return NULL;
		}
		if (it == NULL)
			lex_oom(ps);
		return it;
	}
	if (is_digit(c, 10) && ((ps->end - s >= 5 && is_digit(s[1], 10) &&
	    is_digit(s[2], 10) && is_digit(s[3], 10) && s[4] == '-') ||
	    (ps->end - s >= 3 && is_digit(s[1], 10) && s[2] == ':')))
		return toml_scalar_datetime(ps);
	return toml_scalar_number(ps);
}

/* [a.b] or [[a.b]]: selects the table that following pairs fill. */
static int
header(struct parser *ps)
{
	struct keys	 k;
	const char	*at = ps->p;
	cJSON		*t = ps->root, *c, *e;
	int		 i, aot = 0, depth = 0, rc = -1;

	memset(&k, 0, sizeof(k));
	ps->p++;
	if (peek(ps) == '[') {
		aot = 1;
		ps->p++;
	}
	if (lex_key(ps, &k) < 0)
		goto out;
	if (peek(ps) != ']' || (aot && (ps->end - ps->p < 2 ||
	    ps->p[1] != ']'))) {
		lex_fail(ps, ps->p, aot ? "expected ']]'" : "expected ']'",
		    NULL);
		goto out;
	}
	ps->p += aot ? 2 : 1;
	for (i = 0; i < k.n - 1; i++) {
		if (++depth + aot >= MAX_DEPTH) {
			lex_fail(ps, at, "nesting too deep", NULL);
			goto out;
		}
		c = cJSON_GetObjectItemCaseSensitive(t, k.v[i]);
		if (c == NULL)
			c = new_table(ps, t, k.v[i], F_IMPLICIT, 0);
		else if (cJSON_IsArray(c) && (c->valueint & F_AOT)) {
			/* The last element of an array of tables. */
			for (c = c->child; c->next != NULL; c = c->next)
				;
			depth++;
		} else if (!cJSON_IsObject(c) || (c->valueint & F_FROZEN)) {
			lex_fail(ps, at, cJSON_IsObject(c) ?
			    "cannot extend inline table" :
			    "key is not a table", k.v[i]);
			c = NULL;
		}
		if (c == NULL)
			goto out;
		t = c;
	}
	c = cJSON_GetObjectItemCaseSensitive(t, k.v[i]);
	if (!aot) {
		if (c == NULL)
			c = new_table(ps, t, k.v[i], F_EXPLICIT, 0);
		else if (cJSON_IsObject(c) && c->valueint == F_IMPLICIT)
			c->valueint = F_EXPLICIT;
		else {
			lex_fail(ps, at, "table defined twice", k.v[i]);
			goto out;
		}
		if (c == NULL)
			goto out;
	} else {
		if (c == NULL)
			c = new_table(ps, t, k.v[i], F_AOT, 1);
		else if (!cJSON_IsArray(c) || !(c->valueint & F_AOT)) {
			lex_fail(ps, at, "not an array of tables", k.v[i]);
			goto out;
		}
		if (c == NULL)
			goto out;
		if ((e = cJSON_CreateObject()) == NULL) {
			lex_oom(ps);
			goto out;
		}
		e->valueint = F_EXPLICIT;
		cJSON_AddItemToArray(c, e);
		c = e;
	}
	ps->cur = c;
	ps->cur_depth = depth + 1 + aot;
	rc = lex_end_of_line(ps);
out:
	lex_keys_free(&k);
	return rc;
}

static void
clear_flags(cJSON *it)
{
	for (; it != NULL; it = it->next)
		if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
			it->valueint = 0;
			clear_flags(it->child);
		}
}

cJSON *
toml_parse(const char *text, size_t len, struct toml_error *err)
{
	struct parser		 ps;
	struct toml_error	 scratch;
	const char		*bad;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	memset(&ps, 0, sizeof(ps));
	ps.err = err;
	if (text == NULL)
		text = "";
	ps.start = ps.p = text;
	ps.end = text + len;
	if ((bad = lex_utf8_bad(text, ps.end)) != NULL) {
		lex_fail(&ps, bad, "invalid UTF-8", NULL);
		return NULL;
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		ps.p += 3;
	if ((ps.root = ps.cur = cJSON_CreateObject()) == NULL) {
		lex_oom(&ps);
		return NULL;
	}
	while (ps.p < ps.end) {
		lex_skip_ws(&ps);
		if (lex_comment(&ps) < 0)
			break;
		if (ps.p == ps.end || lex_newline(&ps))
			continue;
		if (*ps.p == '[') {
			if (header(&ps) < 0)
				break;
			continue;
		}
		ps.depth = ps.cur_depth;
		if (keyval(&ps, ps.cur) < 0 || lex_end_of_line(&ps) < 0)
			break;
	}
	if (ps.failed) {
		cJSON_Delete(ps.root);
		return NULL;
	}
	clear_flags(ps.root);
	return ps.root;
}

cJSON *
toml_parse_file(const char *path, struct toml_error *err)
{
	struct toml_error	 scratch;
	char			*text;
	size_t			 len;
	cJSON			*root;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	if ((text = read_file_max(path, TOML_FILE_MAX, &len, err->msg,
	    sizeof(err->msg))) == NULL)
		return NULL;
	root = toml_parse(text, len, err);
	free(text);
	return root;
}
