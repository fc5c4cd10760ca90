/*
 * snowflake_sql.c: statements, values and answers of the Snowflake
 * destination as text (load/snowflake_sql.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "load/snowflake_sql.h"
#include "load/sql.h"

/* Snowflake's names and literals: upper case, backslashes doubled. */
static const struct ld_dialect sf_names = { .backslash_escapes = 1,
    .upper_case = 1 };

/* --------------------------------------------------------- splitting */

static int
emit(const char *start, const char *end, int (*fn)(void *, const char *),
    void *arg)
{
	char	*stmt;
	int	 rc;

	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	if (start == end)
		return 0;
	stmt = xasprintf("%.*s", (int)(end - start), start);
	rc = fn(arg, stmt);
	free(stmt);
	return rc;
}

int
sfq_split(const char *sql, int (*fn)(void *arg, const char *stmt), void *arg)
{
	const char	*start = sql, *p;
	char		 q = 0;
	int		 rc;

	for (p = sql; *p != '\0'; p++) {
		if (q == '\'' && *p == '\\' && p[1] != '\0')
			p++;
		else if (q != 0 && *p == q) {
			if (p[1] == q)
				p++;	/* a doubled quote stays inside */
			else
				q = 0;
		} else if (q == 0 && (*p == '\'' || *p == '"'))
			q = *p;
		else if (q == 0 && *p == ';') {
			if ((rc = emit(start, p, fn, arg)) != 0)
				return rc;
			start = p + 1;
		}
	}
	return emit(start, p, fn, arg);
}

/* ------------------------------------------------------- describing */

/* A quoted name ("a""b") at p: its end, or p when there is none. */
static const char *
quoted_name(const char *p)
{
	const char	*s = p;

	if (*s++ != '"')
		return p;
	for (; *s != '\0'; s++)
		if (*s == '"') {
			if (s[1] != '"')
				return s + 1;
			s++;
		}
	return p;
}

/* "a"."b" at p: its end, or p. */
static const char *
qualified_name(const char *p)
{
	const char	*e = quoted_name(p);

	while (e != p && *e == '.' && quoted_name(e + 1) != e + 1)
		e = quoted_name(e + 1);
	return e;
}

char *
sfq_describe(const char *stmt)
{
	struct buf	 b;
	const char	*p = stmt, *e, *from;
	int		 words = 0;

	buf_init(&b, 512);
	buf_append(&b, "", 0);
	/* The leading keywords: upper-case words. */
	while (words < 5) {
		size_t	n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");

		if (n == 0 || (p[n] != ' ' && p[n] != '\0' && p[n] != '\n'))
			break;
		buf_printf(&b, "%s%.*s", words++ ? " " : "", (int)n, p);
		p += n;
		p += strspn(p, " \n");
	}
	if ((e = qualified_name(p)) != p)
		buf_printf(&b, " %.*s", (int)(e - p), p);
	else if ((from = strstr(p, " FROM \"")) != NULL &&
	    (e = qualified_name(from + 6)) != from + 6)
		buf_printf(&b, " FROM %.*s", (int)(e - from - 6), from + 6);
	if (b.len == 0)
		buf_printf(&b, "statement");
	return buf_steal(&b);
}

/* ----------------------------------------------------------- binding */

char *
sfq_insert(const char *qualified, const struct ld_table *t)
{
	struct buf	 cols, exprs, marks;
	size_t		 k = 0;
	char		*sql;

	buf_init(&cols, (size_t)-1);
	buf_init(&exprs, (size_t)-1);
	buf_init(&marks, (size_t)-1);
	for (size_t i = 0; i < t->ncols; i++) {
		const struct ld_column	*c = t->cols[i];
		char			*id;

		if (c->hints & LD_INCOMPLETE)
			continue;
		id = ld_sql_ident(&sf_names, c->name);
		k++;
		buf_printf(&cols, "%s%s", k > 1 ? ", " : "", id);
		buf_printf(&exprs, k > 1 ? ", " : "");
		if (c->type == LD_JSON)
			buf_printf(&exprs, "PARSE_JSON(column%zu)", k);
		else if (c->type == LD_BINARY)
			buf_printf(&exprs, "TO_BINARY(column%zu, 'HEX')", k);
		else
			buf_printf(&exprs, "column%zu", k);
		buf_printf(&marks, "%s?", k > 1 ? ", " : "");
		free(id);
	}
	sql = xasprintf("INSERT INTO %s (%s) SELECT %s FROM VALUES (%s)",
	    qualified, cols.data ? cols.data : "", exprs.data ? exprs.data :
	    "", marks.data ? marks.data : "");
	buf_cleanup(&cols);
	buf_cleanup(&exprs);
	buf_cleanup(&marks);
	return sql;
}

static int
hex_of(struct buf *out, const unsigned char *d, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		char	two[2] = { hex[d[i] >> 4], hex[d[i] & 15] };

		buf_append(out, two, 2);
	}
	return 0;
}

int
sfq_bind_value(struct buf *out, const struct ld_column *c, const char *v,
    size_t len)
{
	unsigned char	*raw;
	size_t		 pad = 0;
	int		 n;

	if (c->type != LD_BINARY)
		return buf_append(out, v, len);
	if (len >= 2 && v[0] == '\\' && v[1] == 'x') {
		for (size_t i = 2; i < len; i++)
			if (!isxdigit((unsigned char)v[i]))
				return -1;
		return buf_append(out, v + 2, len - 2);
	}
	if (len % 4 != 0 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
	    "klmnopqrstuvwxyz0123456789+/=") < len)
		return -1;
	while (pad < 2 && pad < len && v[len - 1 - pad] == '=')
		pad++;
	raw = xmalloc(len / 4 * 3 + 1);
	n = EVP_DecodeBlock(raw, (const unsigned char *)v, (int)len);
	if (n >= 0)
		hex_of(out, raw, (size_t)n - pad);
	free(raw);
	return n < 0 ? -1 : 0;
}

/* -------------------------------------------------------- rendering */

/*
 * "-12.5" (seconds, as Snowflake's JSON rowsets write times) as whole
 * seconds, floored, and the fraction's digits (up to 9) after it,
 * trailing zeros dropped: -1.25 is -2 and "75".
 */
static int
seconds(const char *w, long long *secs, char frac[16])
{
	const char	*dot = strchr(w, '.');
	char		*end;
	long long	 f = 0, scale = 1;
	int		 n = 0;

	*secs = strtoll(w, &end, 10);
	frac[0] = '\0';
	/* Beyond any time Snowflake has (and strtoll's saturation). */
	if (end == w || *secs < -(1LL << 50) || *secs > (1LL << 50))
		return -1;
	for (const char *p = dot ? dot + 1 : ""; isdigit((unsigned char)*p) &&
	    n < 9; p++, n++) {
		f = f * 10 + (*p - '0');
		scale *= 10;
	}
	if (w[0] == '-' && f > 0) {
		(*secs)--;
		f = scale - f;
	}
	if (n > 0)
		snprintf(frac, 16, "%0*lld", n, f);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	return 0;
}

/* Seconds of years 1 to 9999: what a Snowflake date or time can be. */
#define SECS_MIN	(-62135596800LL)
#define SECS_MAX	253402300799LL

/* b gets [date ]time of epoch secs; -1 when out of Snowflake's range. */
static int
clock_text(struct buf *b, long long secs, const char *frac, int date)
{
	time_t		 t = (time_t)secs;
	struct tm	 tm;

	if (secs < SECS_MIN || secs > SECS_MAX || gmtime_r(&t, &tm) == NULL)
		return -1;
	if (date)
		buf_printf(b, "%04d-%02d-%02d ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday);
	buf_printf(b, "%02d:%02d:%02d%s%s", tm.tm_hour, tm.tm_min, tm.tm_sec,
	    *frac ? "." : "", frac);
	return 0;
}

/* A value out of every range is passed on as the server wrote it. */
char *
sfq_render(const char *type, const char *w)
{
	struct buf	 b;
	long long	 secs, offset = 0, days;
	char		 frac[16];
	const char	*sp;
	int		 rc;

	if (w == NULL)
		return NULL;
	if (strcasecmp(type, "boolean") == 0)
		return xstrdup(strcmp(w, "1") == 0 || strcasecmp(w, "true") ==
		    0 ? "true" : "false");
	buf_init(&b, 128);
	if (strcasecmp(type, "date") == 0) {
		days = strtoll(w, NULL, 10);
		rc = days < SECS_MIN / 86400 || days > SECS_MAX / 86400 ? -1 :
		    clock_text(&b, days * 86400, "", 1);
		/* "2024-01-15 00:00:00": the date is its first 10. */
		if (rc == 0)
			b.data[b.len = 10] = '\0';
	} else if (strncasecmp(type, "time", 4) != 0 ||
	    seconds(w, &secs, frac) < 0)
		rc = -1;
	else if (strcasecmp(type, "time") == 0)
		rc = clock_text(&b, secs, frac, 0);
	else {
		/* The offset in minutes + 1440: 0 to 2880. */
		if (strcasecmp(type, "timestamp_tz") == 0 &&
		    (sp = strchr(w, ' ')) != NULL)
			offset = strtol(sp + 1, NULL, 10) % 100000 - 1440;
		rc = offset < -1440 || offset > 1440 ? -1 :
		    clock_text(&b, secs + offset * 60, frac, 1);
		if (rc == 0 && strcasecmp(type, "timestamp_ntz") != 0)
			buf_printf(&b, "%c%02lld:%02lld", offset < 0 ? '-' :
			    '+', llabs(offset) / 60, llabs(offset) % 60);
	}
	if (rc < 0) {
		buf_cleanup(&b);
		return xstrdup(w);
	}
	return buf_steal(&b);
}

/* ------------------------------------------------------ the stage */

char *
sfq_stage_folder(const char *qualified, const char *load_id)
{
	const char	*e1 = quoted_name(qualified), *e2;

	if (e1 == qualified || *e1 != '.' ||
	    (e2 = quoted_name(e1 + 1)) == e1 + 1 || *e2 != '\0' ||
	    strspn(load_id, "0123456789.") != strlen(load_id))
		return NULL;
	/* "DS"."T" -> @"DS"."%T": the table's own stage; a load id is
	   digits and a dot, a path that needs no quotes. */
	return xasprintf("@%.*s.\"%%%s/%s", (int)(e1 - qualified), qualified,
	    e1 + 2, load_id);
}

/* The stage is written as a name, not a literal: fakesnow parses only
   that form, and Snowflake takes both. */
char *
sfq_put(const char *path, const char *folder)
{
	char	*uri = xasprintf("file://%s", path);
	char	*from = ld_sql_literal(&sf_names, uri);
	char	*sql = xasprintf("PUT %s %s OVERWRITE = TRUE, AUTO_COMPRESS = "
	    "FALSE", from, folder);

	free(uri);
	free(from);
	return sql;
}

char *
sfq_copy(const char *qualified, const char *folder, const char *path)
{
	const char	*base = strrchr(path, '/');
	char		*file = xasprintf("%s/%s", folder, base ? base + 1 : path);
	char		*lit = ld_sql_literal(&sf_names, file);
	char		*sql = xasprintf("COPY INTO %s FROM %s FILE_FORMAT = "
	    "(TYPE = 'JSON', BINARY_FORMAT = 'BASE64') "
	    "MATCH_BY_COLUMN_NAME='CASE_INSENSITIVE'", qualified, lit);

	free(file);
	free(lit);
	return sql;
}
