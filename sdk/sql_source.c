/*
 * sql_source.c: the SQL source of pf/flow.h (pf_sql_table), dlt's
 * sql_table (dlt/sources/sql_database) for PostgreSQL over libpq: the
 * table reflected from the catalog as dlt's reflection_level "full"
 * reflects it (column types, nullability, primary key), its rows read
 * through a server-side cursor chunk by chunk (dlt's chunk_size, 50000)
 * as JSON built by the server (row_to_json) and handed to the resource
 * as they come, and an optional incremental cursor kept in the
 * pipeline state as dlt's Incremental keeps it: the query filtered
 * "WHERE cursor >= last_value" (dlt's closed range_start for max), rows
 * on the boundary already loaded skipped by their primary key's hash
 * (unique_hashes), a NULL cursor refused (on_cursor_value_missing
 * "raise").
 *
 * Credentials are dlt's PostgresCredentials fields in the configuration
 * section the flow names (load/postgres_credentials.h). The password
 * goes to libpq only; messages name the server as
 * postgresql://user:***@host:port/database.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "common/util.h"
#include "sdk/pipeline.h"
#include "load/postgres_credentials.h"
#include "sdk/run.h"
#include "sdk/sql_source.h"

#define PF_EXPORT __attribute__((visibility("default")))

#define DEFAULT_CHUNK	50000		/* dlt's chunk_size */
#define ERR_MAX		(16u << 10)
#define CURSOR_NAME	"pf_sql_table_rows"

/* --------------------------------------------------- no database */

void
sql_type_hint(const char *t, char category, int typmod, cJSON *hint)
{
	static const struct { const char *pg, *dlt; } plain[] = {
		{ "int2", "bigint" }, { "int4", "bigint" },
		{ "int8", "bigint" },
		{ "text", "text" }, { "varchar", "text" },
		{ "bpchar", "text" }, { "uuid", "text" },
		{ "bool", "bool" }, { "bytea", "binary" },
		{ "timestamp", "timestamp" }, { "timestamptz", "timestamp" },
		{ "date", "date" }, { "time", "time" }, { "timetz", "time" },
		{ "json", "json" }, { "jsonb", "json" },
	};

	/*
	 * real and double precision get nothing: SQLAlchemy 2.1's Float is
	 * no longer a Numeric, so dlt 1.31 does not map it and the
	 * normalizer infers double from the values.
	 */
	if (strcmp(t, "numeric") == 0) {
		/* NUMERIC(p,s): typmod is ((p << 16) | s) + 4. */
		cJSON_AddStringToObject(hint, "data_type", "decimal");
		if (typmod >= 4) {
			cJSON_AddNumberToObject(hint, "precision",
			    ((typmod - 4) >> 16) & 0xffff);
			cJSON_AddNumberToObject(hint, "scale",
			    (typmod - 4) & 0xffff);
		}
		return;
	}
	if (category == 'A') {			/* arrays: sqltypes.ARRAY */
		cJSON_AddStringToObject(hint, "data_type", "json");
		return;
	}
	if (category == 'E') {			/* enums: a String */
		cJSON_AddStringToObject(hint, "data_type", "text");
		return;
	}
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strcmp(t, plain[i].pg) == 0) {
			cJSON_AddStringToObject(hint, "data_type", plain[i].dlt);
			/* DateTime(timezone=False): dlt's naive timestamp;
			   timezone=True it says too. */
			if (strcmp(t, "timestamp") == 0)
				cJSON_AddFalseToObject(hint, "timezone");
			else if (strcmp(t, "timestamptz") == 0)
				cJSON_AddTrueToObject(hint, "timezone");
			return;
		}
}

/* The value of a JSON string without dlt's typed prefix (U+F026..). */
static const char *
untyped(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] == 0xef && u[1] == 0x80 && u[2] >= 0xa6 && u[2] <= 0xad)
		return s + 3;
	return s;
}

static int
is_decimal(const char *s)
{
	return untyped(s) != s && (unsigned char)s[2] == 0xa6;
}

int
sql_cursor_cmp(const char *a, const char *b)
{
	cJSON	*x = cJSON_Parse(a), *y = cJSON_Parse(b);
	int	 r;

	if (cJSON_IsNumber(x) && cJSON_IsNumber(y))
		r = (x->valuedouble > y->valuedouble) -
		    (x->valuedouble < y->valuedouble);
	else if (cJSON_IsString(x) && cJSON_IsString(y)) {
		const char	*sa = untyped(x->valuestring);
		const char	*sb = untyped(y->valuestring);

		/* Decimals (either side typed so): by value. */
		if (is_decimal(x->valuestring) || is_decimal(y->valuestring)) {
			double	da = strtod(sa, NULL), db = strtod(sb, NULL);

			r = (da > db) - (da < db);
		} else
			r = strcmp(sa, sb);
	} else
		r = strcmp(a, b);
	cJSON_Delete(x);
	cJSON_Delete(y);
	return r;
}

/*
 * ISO text as Python's isoformat() writes it: a fraction of seconds
 * has 6 digits ("10:00:00.25+00:00" -> "10:00:00.250000+00:00").
 */
static void
iso_python(struct buf *b, const char *s)
{
	const char	*dot = strchr(s, '.');
	size_t		 digits;

	if (dot == NULL) {
		buf_printf(b, "%s", s);
		return;
	}
	digits = strspn(dot + 1, "0123456789");
	buf_printf(b, "%.*s%.*s%s", (int)(dot + 1 + digits - s), s,
	    digits < 6 ? (int)(6 - digits) : 0, "000000",
	    dot + 1 + digits);
}

char *
sql_cursor_state_text(const char *json, const char *data_type)
{
	static const struct { const char *type, *prefix; int iso; } typed[] = {
		{ "decimal", "\\uf026", 0 }, { "timestamp", "\\uf027", 1 },
		{ "date", "\\uf028", 0 }, { "time", "\\uf02d", 1 },
	};
	cJSON		*v, *str;
	struct buf	 b;
	char		*quoted, *text = NULL;

	if (data_type == NULL || (v = cJSON_Parse(json)) == NULL)
		return xstrdup(json);
	for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
		if (strcmp(data_type, typed[i].type) != 0)
			continue;
		buf_init(&b, (size_t)-1);
		if (cJSON_IsString(v) && typed[i].iso)
			iso_python(&b, v->valuestring);
		else
			buf_printf(&b, "%s", cJSON_IsString(v) ?
			    v->valuestring : json);	/* a number's text */
		str = cJSON_CreateString(b.data != NULL ? b.data : "");
		buf_cleanup(&b);
		quoted = cJSON_PrintUnformatted(str);
		cJSON_Delete(str);
		/* "value" -> "<prefix>value", the prefix as a \u escape. */
		text = xasprintf("\"%s%s", typed[i].prefix, quoted + 1);
		free(quoted);
		break;
	}
	cJSON_Delete(v);
	return text != NULL ? text : xstrdup(json);
}

char *
sql_json_compact(const char *json)
{
	char	*out = xmalloc(strlen(json) + 1), *o = out;
	int	 in_string = 0;

	for (const char *s = json; *s != '\0'; s++) {
		if (in_string) {
			*o++ = *s;
			if (*s == '\\' && s[1] != '\0')
				*o++ = *++s;
			else if (*s == '"')
				in_string = 0;
		} else if (*s == '"') {
			in_string = 1;
			*o++ = *s;
		} else if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r')
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

void
sql_dedup_hash(const char *key_json, char out[16])
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char	 d[9];
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	int		 k = 0;

	memset(d, 0, sizeof(d));
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_shake128(), NULL) &&
	    EVP_DigestUpdate(ctx, key_json, strlen(key_json)))
		EVP_DigestFinalXOF(ctx, d, sizeof(d));
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 9; i += 3) {	/* 9 bytes: 12 chars, no '=' */
		unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 |
		    d[i + 2];

		out[k++] = b64[v >> 18 & 63];
		out[k++] = b64[v >> 12 & 63];
		out[k++] = b64[v >> 6 & 63];
		out[k++] = b64[v & 63];
	}
	out[k] = '\0';
}

/* ------------------------------------------------------- reading */

struct reader {
	pf_pipeline		*p;
	const pf_sql_table_def	*def;
	const char		*schema;
	PGconn			*conn;
	char			*password;	/* to mask */
	char			*location;	/* postgresql://u:***@h:p/db */
	char			*oid;
	cJSON			*columns;	/* dlt hints by column */
	char			*primary_key;	/* reflected, comma-separated */
	char			*key_sql;	/* the key as JSON, in SQL */
	pf_resource		*r;

	/* The incremental cursor, values as JSON text in dlt's state form
	   (sql_cursor_state_text). */
	const char		*cursor_type;	/* its dlt data_type, or NULL */
	char			*last;		/* from the state, or NULL */
	cJSON			*seen_hashes;	/* at last, already loaded */
	char			*max;		/* largest this run */
	cJSON			*max_hashes;	/* rows at max */
	long long		 rows, skipped;
};

/* Fails the pipeline with libpq's words, the password masked. */
static int
pg_fail(struct reader *rd, const char *what, const char *msg)
{
	char	*s = xstrdup(msg != NULL ? msg : "unknown error"), *at;
	size_t	 n = strlen(s), pl;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	if (rd->password != NULL && (pl = strlen(rd->password)) > 0)
		while ((at = strstr(s, rd->password)) != NULL) {
			memset(at, '*', pl < 3 ? pl : 3);
			memmove(at + (pl < 3 ? pl : 3), at + pl,
			    strlen(at + pl) + 1);
		}
	ld_pipeline_fail(rd->p, "source %s: %s %s.%s at %s: %s",
	    rd->def->credentials, what, rd->schema, rd->def->table,
	    rd->location, s);
	free(s);
	return PF_ERROR;
}

static PGresult *
query(struct reader *rd, const char *what, const char *sql, int n,
    const char *const *params, ExecStatusType want)
{
	PGresult	*res = PQexecParams(rd->conn, sql, n, NULL, params,
	    NULL, NULL, 0);

	if (PQresultStatus(res) != want) {
		pg_fail(rd, what, PQresultErrorMessage(res)[0] != '\0' ?
		    PQresultErrorMessage(res) : PQerrorMessage(rd->conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

static int
connect_source(struct reader *rd)
{
	struct pg_credentials	 cr;
	char			*err;

	err = xmalloc(ERR_MAX);
	if (pg_credentials_resolve_source(rd->p->run->cfg, rd->def->credentials,
	    rd->p->name, &cr, err, ERR_MAX) == -1) {
		ld_pipeline_fail(rd->p, "source %s: %s", rd->def->credentials,
		    err);
		free(err);
		return PF_ERROR;
	}
	free(err);
	rd->password = xstrdup(cr.password);
	rd->location = pg_credentials_location(&cr);
	/* Timestamps as ISO text in UTC: the cursor compares as text. */
	rd->conn = pg_connect(&cr, "-c TimeZone=UTC -c DateStyle=ISO");
	pg_credentials_cleanup(&cr);
	if (rd->conn == NULL || PQstatus(rd->conn) != CONNECTION_OK)
		return pg_fail(rd, "cannot read", rd->conn != NULL ?
		    PQerrorMessage(rd->conn) : "out of memory");
	return PF_OK;
}

/* "a" -> "\"a\"" for SQL; caller frees. */
static char *
ident(PGconn *conn, const char *s)
{
	char	*q = PQescapeIdentifier(conn, s, strlen(s)), *out;

	out = xstrdup(q != NULL ? q : "\"\"");
	PQfreemem(q);
	return out;
}

/* dlt's reflection: columns, their types and nullability, the key. */
static int
reflect(struct reader *rd)
{
	const char	*args[2] = { rd->schema, rd->def->table };
	const char	*pk;
	PGresult	*res;
	cJSON		*untyped_cols;
	struct buf	 key, key_sql;

	res = query(rd, "cannot read", "SELECT c.oid FROM pg_class c JOIN "
	    "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
	    "AND c.relname = $2 AND c.relkind IN ('r','p','v','m','f')", 2,
	    args, PGRES_TUPLES_OK);
	if (res == NULL)
		return PF_ERROR;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return pg_fail(rd, "no table", "it does not exist");
	}
	rd->oid = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	args[0] = rd->oid;
	res = query(rd, "cannot reflect", "SELECT a.attname, t.typname, "
	    "t.typcategory, a.atttypmod, a.attnotnull FROM pg_attribute a "
	    "JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = $1 AND "
	    "a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", 1, args,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return PF_ERROR;
	/*
	 * Typed columns first: dlt creates a column without a type where
	 * values first show it, after the typed ones.
	 */
	rd->columns = cJSON_CreateObject();
	untyped_cols = cJSON_CreateObject();
	for (int i = 0; i < PQntuples(res); i++) {
		cJSON	*hint = cJSON_CreateObject();

		sql_type_hint(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2)[0],
		    atoi(PQgetvalue(res, i, 3)), hint);
		cJSON_AddBoolToObject(hint, "nullable",
		    strcmp(PQgetvalue(res, i, 4), "t") != 0);
		cJSON_AddItemToObject(cJSON_GetObjectItem(hint, "data_type") ?
		    rd->columns : untyped_cols, PQgetvalue(res, i, 0), hint);
	}
	PQclear(res);
	while (untyped_cols->child != NULL) {
		cJSON	*c = cJSON_DetachItemViaPointer(untyped_cols,
		    untyped_cols->child);

		cJSON_AddItemToObject(rd->columns, c->string, c);
	}
	cJSON_Delete(untyped_cols);
	res = query(rd, "cannot reflect", "SELECT a.attname FROM pg_index i "
	    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = "
	    "ANY(i.indkey) WHERE i.indrelid = $1 AND i.indisprimary ORDER BY "
	    "array_position(i.indkey::int2[], a.attnum)", 1, args,
	    PGRES_TUPLES_OK);
	if (res == NULL)
		return PF_ERROR;
	buf_init(&key, (size_t)-1);
	for (int i = 0; i < PQntuples(res); i++)
		buf_printf(&key, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
	PQclear(res);
	rd->primary_key = key.len > 0 ? buf_steal(&key) : NULL;
	buf_cleanup(&key);

	/* The dedup key as dlt hashes it: the list of the key's values. */
	pk = rd->def->primary_key != NULL ? rd->def->primary_key :
	    rd->primary_key;
	if (pk == NULL)
		return PF_OK;
	buf_init(&key_sql, (size_t)-1);
	buf_printf(&key_sql, "json_build_array(");
	for (const char *s = pk; *s != '\0';) {
		size_t	 n = strcspn(s, ",");
		char	*name = xasprintf("%.*s", (int)n, s), *q;

		q = ident(rd->conn, name);
		buf_printf(&key_sql, "%sr.%s", s == pk ? "" : ", ", q);
		free(q);
		free(name);
		s += n + (s[n] == ',');
	}
	buf_printf(&key_sql, ")::text");
	rd->key_sql = buf_steal(&key_sql);
	buf_cleanup(&key_sql);
	return PF_OK;
}

/* The state's cursor: its last value and the hashes loaded with it. */
static int
open_cursor_state(struct reader *rd)
{
	const char	*col = rd->def->incremental, *last;
	cJSON		*cur;

	if (cJSON_GetObjectItem(rd->columns, col) == NULL)
		return ld_pipeline_fail(rd->p, "source %s: incremental cursor "
		    "column '%s' is not a column of %s.%s",
		    rd->def->credentials, col, rd->schema, rd->def->table);
	if (rd->key_sql == NULL)
		return ld_pipeline_fail(rd->p, "source %s: %s.%s has no primary "
		    "key to deduplicate the incremental cursor's boundary rows "
		    "by: give one", rd->def->credentials, rd->schema,
		    rd->def->table);
	last = pf_resource_cursor(rd->r, col, rd->def->initial_value_json);
	rd->last = last != NULL ? xstrdup(last) : NULL;
	rd->cursor_type = cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(rd->columns, col), "data_type"));
	cur = cJSON_GetObjectItem(cJSON_GetObjectItem(ld_resource_state(rd->r),
	    "incremental"), col);
	rd->seen_hashes = cJSON_Duplicate(cJSON_GetObjectItem(cur,
	    "unique_hashes"), 1);
	if (!cJSON_IsArray(rd->seen_hashes)) {
		cJSON_Delete(rd->seen_hashes);
		rd->seen_hashes = cJSON_CreateArray();
	}
	rd->max_hashes = cJSON_CreateArray();
	return PF_OK;
}

static int
has_hash(const cJSON *list, const char *h)
{
	const cJSON	*it;

	cJSON_ArrayForEach(it, list)
		if (cJSON_IsString(it) && strcmp(it->valuestring, h) == 0)
			return 1;
	return 0;
}

/* One row: skipped when already loaded at the boundary, else given. */
static int
take_row(struct reader *rd, PGresult *res, int i)
{
	char		*cursor, *key, hash[16];
	int		 c, rc = PF_OK;

	if (rd->def->incremental != NULL) {
		if (PQgetisnull(res, i, 1) ||
		    strcmp(PQgetvalue(res, i, 1), "null") == 0)
			return ld_pipeline_fail(rd->p, "source %s: incremental "
			    "cursor column '%s' is NULL in the row with key %s "
			    "of %s.%s", rd->def->credentials,
			    rd->def->incremental, PQgetvalue(res, i, 2),
			    rd->schema, rd->def->table);
		cursor = sql_cursor_state_text(PQgetvalue(res, i, 1),
		    rd->cursor_type);
		key = sql_json_compact(PQgetvalue(res, i, 2));
		sql_dedup_hash(key, hash);
		free(key);
		if (rd->last != NULL && sql_cursor_cmp(cursor, rd->last) == 0 &&
		    has_hash(rd->seen_hashes, hash)) {
			rd->skipped++;
			free(cursor);
			return PF_OK;
		}
		c = rd->max == NULL ? 1 : sql_cursor_cmp(cursor, rd->max);
		if (c > 0) {
			free(rd->max);
			rd->max = cursor;
			cursor = NULL;
			cJSON_Delete(rd->max_hashes);
			rd->max_hashes = cJSON_CreateArray();
		}
		if (c >= 0)
			cJSON_AddItemToArray(rd->max_hashes,
			    cJSON_CreateString(hash));
		free(cursor);
	}
	rd->rows++;
	rc = pf_resource_item_json(rd->r, PQgetvalue(res, i, 0),
	    PQgetlength(res, i, 0));
	return rc;
}

/* dlt's unique_hashes: the rows at the new last value (with the old
   ones when it did not move). */
static void
save_hashes(struct reader *rd)
{
	cJSON	*cur, *list;

	if (rd->max == NULL)
		return;
	cur = cJSON_GetObjectItem(cJSON_GetObjectItem(ld_resource_state(rd->r),
	    "incremental"), rd->def->incremental);
	list = rd->max_hashes;
	rd->max_hashes = NULL;
	if (rd->last != NULL && sql_cursor_cmp(rd->max, rd->last) == 0) {
		const cJSON *it;

		cJSON_ArrayForEach(it, rd->seen_hashes)
			if (!has_hash(list, it->valuestring))
				cJSON_AddItemToArray(list,
				    cJSON_CreateString(it->valuestring));
	}
	cJSON_DeleteItemFromObject(cur, "unique_hashes");
	cJSON_AddItemToObject(cur, "unique_hashes", list);
	/* The last value as dlt stores it, not as the items spell it. */
	cJSON_Delete(rd->r->cursor_last);
	rd->r->cursor_last = cJSON_Parse(rd->max);
}

static int
read_rows(struct reader *rd)
{
	char		*table = ident(rd->conn, rd->def->table);
	char		*schema = ident(rd->conn, rd->schema);
	char		*col = NULL, *sql, *fetch, *param = NULL;
	const char	*params[1] = { NULL };
	PGresult	*res;
	long		 chunk = rd->def->chunk_size > 0 ? rd->def->chunk_size :
			    DEFAULT_CHUNK;
	int		 rc = PF_ERROR, n;

	if (rd->def->incremental != NULL) {
		col = ident(rd->conn, rd->def->incremental);
		if (rd->last != NULL) {
			cJSON	*v = cJSON_Parse(rd->last);

			param = xstrdup(cJSON_IsString(v) ?
			    untyped(v->valuestring) : rd->last);
			cJSON_Delete(v);
			params[0] = param;
		}
		/* r.* is the whole row even when a column is named r. */
		sql = xasprintf("DECLARE " CURSOR_NAME " NO SCROLL CURSOR FOR "
		    "SELECT row_to_json(r.*)::text, to_json(r.%s)::text, %s "
		    "FROM %s.%s AS r%s%s%s", col, rd->key_sql, schema, table,
		    param != NULL ? " WHERE r." : "", param != NULL ? col : "",
		    param != NULL ? " >= $1" : "");
	} else
		sql = xasprintf("DECLARE " CURSOR_NAME " NO SCROLL CURSOR FOR "
		    "SELECT row_to_json(r.*)::text FROM %s.%s AS r", schema,
		    table);
	res = query(rd, "cannot read", sql, param != NULL ? 1 : 0, params,
	    PGRES_COMMAND_OK);
	free(sql);
	if (res == NULL)
		goto out;
	PQclear(res);
	fetch = xasprintf("FETCH FORWARD %ld FROM " CURSOR_NAME, chunk);
	for (;;) {
		if (pf_stopped(rd->p->run)) {
			ld_pipeline_fail(rd->p, "source %s: stopped reading "
			    "%s.%s", rd->def->credentials, rd->schema,
			    rd->def->table);
			break;
		}
		if ((res = query(rd, "cannot read", fetch, 0, NULL,
		    PGRES_TUPLES_OK)) == NULL)
			break;
		n = PQntuples(res);
		for (int i = 0; i < n; i++)
			if (take_row(rd, res, i) != PF_OK) {
				n = -1;
				break;
			}
		PQclear(res);
		if (n <= 0) {
			rc = n == 0 ? PF_OK : PF_ERROR;
			break;
		}
	}
	free(fetch);
out:
	free(table);
	free(schema);
	free(col);
	free(param);
	return rc;
}

static void
reader_cleanup(struct reader *rd)
{
	if (rd->conn != NULL)
		PQfinish(rd->conn);
	free(rd->password);
	free(rd->location);
	free(rd->oid);
	cJSON_Delete(rd->columns);
	free(rd->primary_key);
	free(rd->key_sql);
	free(rd->last);
	cJSON_Delete(rd->seen_hashes);
	free(rd->max);
	cJSON_Delete(rd->max_hashes);
}

PF_EXPORT int
pf_sql_table(pf_pipeline *p, const pf_sql_table_def *def, long long *rows)
{
	struct reader	 rd;
	PGresult	*res;
	char		*hints;
	int		 rc = PF_ERROR;

	if (rows != NULL)
		*rows = 0;
	char		 err[256];

	if (ld_pipeline_failed(p))
		return PF_ERROR;
	if (def != NULL && sdk_def_version("pf_sql_table_def", def->version,
	    PF_SQL_TABLE_DEF_VERSION, "PF_SQL_TABLE_DEF_INIT", err,
	    sizeof(err)) == -1)
		return ld_pipeline_fail(p, "pf_sql_table: %s", err);
	if (def == NULL || def->credentials == NULL || def->table == NULL)
		return ld_pipeline_fail(p, "pf_sql_table: a table needs a "
		    "credentials section and a name");
	memset(&rd, 0, sizeof(rd));
	rd.p = p;
	rd.def = def;
	rd.schema = def->schema != NULL ? def->schema : "public";
	if (connect_source(&rd) != PF_OK)
		goto out;
	/* One snapshot for the catalog and the rows. */
	if ((res = query(&rd, "cannot read", "BEGIN ISOLATION LEVEL "
	    "REPEATABLE READ READ ONLY", 0, NULL, PGRES_COMMAND_OK)) == NULL)
		goto out;
	PQclear(res);
	if (reflect(&rd) != PF_OK)
		goto out;
	hints = cJSON_PrintUnformatted(rd.columns);
	rd.r = pf_resource_add(p, &(pf_resource_def)PF_RESOURCE_DEF_INIT(
	    .name = def->table, .write_disposition = def->write_disposition,
	    .primary_key = def->primary_key != NULL ? def->primary_key :
	    rd.primary_key, .columns_json = hints));
	free(hints);
	if (rd.r == NULL)
		goto out;
	if (def->incremental != NULL && open_cursor_state(&rd) != PF_OK)
		goto out;
	if (read_rows(&rd) != PF_OK)
		goto out;
	if (def->incremental != NULL)
		save_hashes(&rd);
	pf_log_info(p->run, "Read %lld rows of %s.%s from %s%s", rd.rows,
	    rd.schema, def->table, rd.location, rd.skipped > 0 ?
	    " (boundary rows already loaded skipped)" : "");
	if (rows != NULL)
		*rows = rd.rows;
	rc = PF_OK;
out:
	reader_cleanup(&rd);
	return rc;
}
