/*
 * sql.c: the SQL every SQL destination shares (load/sql.h), from its
 * dialect.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "load/sql.h"

/* s between q's, q doubled, and backslash doubled when bs is set. */
static char *
quoted(const char *s, char q, int bs)
{
	struct buf	b;

	buf_init(&b, (size_t)-1);
	buf_append(&b, &q, 1);
	for (; *s; s++) {
		buf_append(&b, s, 1);
		if (*s == q || (bs && *s == '\\'))
			buf_append(&b, s, 1);
	}
	buf_append(&b, &q, 1);
	return buf_steal(&b);
}

char *
ld_sql_name(const struct ld_dialect *dl, const char *name)
{
	char	*s = xstrdup(name);

	/* dlt's str.upper: its naming conventions make ASCII names. */
	for (char *p = s; dl != NULL && dl->upper_case && *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return s;
}

char *
ld_sql_ident(const struct ld_dialect *dl, const char *name)
{
	char	*n = ld_sql_name(dl, name), *q = quoted(n, '"', 0);

	free(n);
	return q;
}

char *
ld_sql_literal(const struct ld_dialect *dl, const char *text)
{
	return quoted(text, '\'', dl != NULL && dl->backslash_escapes);
}

char *
ld_sql_qualified(const struct ld_dialect *dl, const char *dataset,
    const char *table)
{
	char	*d = ld_sql_ident(dl, dataset), *t = ld_sql_ident(dl, table);
	char	*q = xasprintf("%s.%s", d, t);

	free(d);
	free(t);
	return q;
}

/* fmt with each "%d" replaced by the next of a, b (formats come from
   the dialect, so they are not printf's). */
static char *
fill(const char *fmt, int a, int b)
{
	struct buf	out;
	int		n = 0;

	buf_init(&out, (size_t)-1);
	buf_append(&out, "", 0);
	for (const char *p = fmt; *p; p++) {
		if (p[0] == '%' && p[1] == 'd') {
			buf_printf(&out, "%d", n++ == 0 ? a : b);
			p++;
		} else
			buf_append(&out, p, 1);
	}
	return buf_steal(&out);
}

char *
ld_sql_type(const struct ld_dialect *dl, const struct ld_column *c)
{
	const char	*fmt = dl->type_formats[c->type];
	int		 p = c->precision, s = c->scale;

	if (c->type == LD_TIMESTAMP && (c->hints & LD_NAIVE) && p == 0 &&
	    dl->naive_timestamp != NULL)
		return xstrdup(dl->naive_timestamp);
	if (c->type == LD_TIMESTAMP && (c->hints & LD_NAIVE) && p > 0 &&
	    dl->naive_timestamp_format != NULL)
		return fill(dl->naive_timestamp_format, p, 0);
	if (c->type == LD_DECIMAL || c->type == LD_WEI) {
		if (p == 0) {
			p = c->type == LD_DECIMAL ? dl->decimal_precision :
			    dl->wei_precision;
			s = c->type == LD_DECIMAL ? dl->decimal_scale :
			    dl->wei_scale;
		}
		if (fmt != NULL)
			return fill(fmt, p, s);
	} else if (fmt != NULL && p > 0)
		return fill(fmt, p, 0);
	return xstrdup(dl->type_names[c->type]);
}

char *
ld_sql_create_dataset(const struct ld_dialect *dl, const char *dataset)
{
	char	*d = ld_sql_ident(dl, dataset);
	char	*q = xasprintf("CREATE SCHEMA IF NOT EXISTS %s", d);

	free(d);
	return q;
}

static void
column_def(struct buf *b, const struct ld_dialect *dl,
    const struct ld_column *c)
{
	char	*name = ld_sql_ident(dl, c->name), *type = ld_sql_type(dl, c);

	buf_printf(b, "%s %s%s%s%s", name, type,
	    dl->unique_attr != NULL && (c->hints & LD_UNIQUE) ? " " : "",
	    dl->unique_attr != NULL && (c->hints & LD_UNIQUE) ?
	    dl->unique_attr : "", (c->hints & LD_NULLABLE) ? "" : " NOT NULL");
	free(name);
	free(type);
}

char *
ld_sql_table_ddl(const struct ld_dialect *dl, const char *dataset,
    const struct ld_table *t, size_t from)
{
	char		*q = ld_sql_qualified(dl, dataset, t->name);
	struct buf	 b;
	int		 first = 1;

	buf_init(&b, (size_t)-1);
	if (from == 0)
		buf_printf(&b, "CREATE TABLE %s (", q);
	for (size_t i = from; i < t->ncols; i++) {
		const struct ld_column *c = t->cols[i];

		if (c->hints & LD_INCOMPLETE)
			continue;
		if (from == 0)
			buf_append(&b, first ? "" : ", ", first ? 0 : 2);
		else
			buf_printf(&b, "%sALTER TABLE %s ADD COLUMN ",
			    first ? "" : ";\n", q);
		column_def(&b, dl, t->cols[i]);
		first = 0;
	}
	if (from == 0)
		buf_append(&b, ")", 1);
	free(q);
	return buf_steal(&b);
}

/* Which names of a table a merge lists. */
enum names {
	COLUMNS,	/* "c1", "c2" of the complete columns */
	KEYS,		/* "k1", "k2" of the primary key */
	KEY_MATCH	/* d."k1" = s."k1" AND ... over the primary key */
};

static char *
name_list(const struct ld_dialect *dl, const struct ld_table *t,
    enum names what)
{
	struct buf	b;

	buf_init(&b, (size_t)-1);
	buf_append(&b, "", 0);
	for (size_t i = 0; i < t->ncols; i++) {
		int		 h = t->cols[i]->hints;
		char		*n;

		if (what == COLUMNS ? (h & LD_INCOMPLETE) != 0 :
		    !(h & LD_PRIMARY_KEY))
			continue;
		n = ld_sql_ident(dl, t->cols[i]->name);
		if (what == KEY_MATCH)
			buf_printf(&b, "%sd.%s = s.%s",
			    b.len > 0 ? " AND " : "", n, n);
		else
			buf_printf(&b, "%s%s", b.len > 0 ? ", " : "", n);
		free(n);
	}
	return buf_steal(&b);
}

/*
 * As dlt's SqlMergeFollowupJob for delete-insert: children of replaced
 * roots go first (by _dlt_root_id), then the roots; the staging rows
 * are inserted deduplicated on the key (ROW_NUMBER, first kept), and
 * child rows only of the roots this load inserted.
 */
char *
ld_sql_merge(const struct ld_dialect *dl, const char *dataset,
    const char *staging, const struct ld_table *const *tables, size_t n,
    const char *load_id)
{
	const struct ld_table *root = tables[0];
	char		*rq = ld_sql_qualified(dl, dataset, root->name);
	char		*sq = ld_sql_qualified(dl, staging, root->name);
	char		*match = name_list(dl, root, KEY_MATCH);
	char		*keys = name_list(dl, root, KEYS);
	char		*cols = name_list(dl, root, COLUMNS);
	char		*lid = ld_sql_literal(dl, load_id);
	char		*root_id = ld_sql_ident(dl, "_dlt_root_id");
	char		*id = ld_sql_ident(dl, "_dlt_id");
	char		*load = ld_sql_ident(dl, "_dlt_load_id");
	char		*rn = ld_sql_ident(dl, "_dlt_dedup_rn");
	const char	*order = dl != NULL ? dl->dedup_order_by : NULL;
	struct buf	 b;

	buf_init(&b, (size_t)-1);
	for (size_t i = 1; i < n; i++) {
		char	*cq = ld_sql_qualified(dl, dataset, tables[i]->name);

		buf_printf(&b, "DELETE FROM %s WHERE %s IN (SELECT d.%s FROM "
		    "%s AS d WHERE EXISTS (SELECT 1 FROM %s AS s WHERE %s));\n",
		    cq, root_id, id, rq, sq, match);
		free(cq);
	}
	buf_printf(&b, "DELETE FROM %s AS d WHERE EXISTS (SELECT 1 FROM %s "
	    "AS s WHERE %s);\n", rq, sq, match);
	buf_printf(&b, "INSERT INTO %s (%s) SELECT %s FROM (SELECT *, "
	    "ROW_NUMBER() OVER (PARTITION BY %s%s%s) AS %s FROM %s) AS t "
	    "WHERE %s = 1;\n", rq, cols, cols, keys, order ? " ORDER BY " : "",
	    order ? order : "", rn, sq, rn);
	for (size_t i = 1; i < n; i++) {
		char	*cq = ld_sql_qualified(dl, dataset, tables[i]->name);
		char	*csq = ld_sql_qualified(dl, staging, tables[i]->name);
		char	*ccols = name_list(dl, tables[i], COLUMNS);

		buf_printf(&b, "INSERT INTO %s (%s) SELECT %s FROM %s WHERE "
		    "%s IN (SELECT %s FROM %s WHERE %s = %s);\n", cq, ccols,
		    ccols, csq, root_id, id, rq, load, lid);
		free(cq);
		free(csq);
		free(ccols);
	}
	free(rq);
	free(sq);
	free(match);
	free(keys);
	free(cols);
	free(lid);
	free(root_id);
	free(id);
	free(load);
	free(rn);
	return buf_steal(&b);
}
