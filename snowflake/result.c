/*
 * result.c: a query answer's rows, inline and in result chunks, in the
 * JSON rowset form, as the connector reads them (result_batch.py).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/json.h"
#include "common/util.h"
#include "snowflake/arrow.h"
#include "snowflake/rest.h"
#include "snowflake/result.h"

/* The connector's STATEMENT_TYPE_ID_DML_SET: 0x3000 and 0x3100-0x3500. */
static int
dml(const cJSON *data)
{
	double	t = json_num(data, "statementTypeId", 0);

	return t == 0x3000 || (t >= 0x3100 && t <= 0x3500 &&
	    (long)t % 0x100 == 0);
}

/* The rows a DML statement changed, from the columns the connector sums. */
static long long
changed_rows(const cJSON *rowtype, const cJSON *rows)
{
	const cJSON	*first = cJSON_GetArrayItem(rows, 0), *col;
	long long	 n = 0;
	int		 i = 0;

	cJSON_ArrayForEach(col, rowtype) {
		const char	*name = json_str(col, "name");
		const cJSON	*v = cJSON_GetArrayItem(first, i++);

		if (name == NULL || !cJSON_IsString(v))
			continue;
		if (strncmp(name, "number of rows inserted", 23) == 0 ||
		    strcmp(name, "number of rows updated") == 0 ||
		    strcmp(name, "number of multi-joined rows updated") == 0 ||
		    strcmp(name, "number of rows deleted") == 0)
			n += strtoll(v->valuestring, NULL, 10);
	}
	return n;
}

/* Appends JSON rowset rows (arrays of strings or nulls, ncols each). */
static long
append_json_rows(const cJSON *rowset, int ncols, cJSON *rows, char *err,
    size_t errlen)
{
	const cJSON	*row, *cell;
	long		 n = 0;

	cJSON_ArrayForEach(row, rowset) {
		if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != ncols)
			return errorf(err, errlen, "rowset row %ld is not %d "
			    "values", n + 1, ncols);
		cJSON_ArrayForEach(cell, row)
			if (!cJSON_IsString(cell) && !cJSON_IsNull(cell))
				return errorf(err, errlen, "rowset row %ld "
				    "holds a value that is not text", n + 1);
		cJSON_AddItemToArray(rows, cJSON_Duplicate(row, 1));
		n++;
	}
	return n;
}

/* A JSON chunk is rows without the enclosing brackets. */
static long
append_json_chunk(const char *text, size_t len, int ncols, cJSON *rows,
    char *err, size_t errlen)
{
	struct buf	 b;
	cJSON		*rowset;
	long		 n;

	buf_init(&b, len + 3);
	buf_putc(&b, '[');
	buf_append(&b, text, len);
	buf_putc(&b, ']');
	rowset = b.failed ? NULL : cJSON_ParseWithLength(b.data, b.len);
	buf_cleanup(&b);
	if (!cJSON_IsArray(rowset)) {
		cJSON_Delete(rowset);
		return errorf(err, errlen, "a JSON result chunk that does "
		    "not parse");
	}
	n = append_json_rows(rowset, ncols, rows, err, errlen);
	cJSON_Delete(rowset);
	return n;
}

/* "Name: value" lines for the chunk downloads (may hold the key). */
static char **
chunk_headers(const cJSON *data)
{
	const cJSON	*h = json_obj(data, "chunkHeaders"), *kv;
	const char	*qrmk = json_str(data, "qrmk");
	char		**out;
	size_t		 n = 0;

	out = xcalloc((size_t)cJSON_GetArraySize(h) + 3, sizeof(*out));
	if (h != NULL) {
		cJSON_ArrayForEach(kv, h)
			if (cJSON_IsString(kv) && kv->string != NULL)
				out[n++] = xasprintf("%s: %s", kv->string,
				    kv->valuestring);
	} else if (qrmk != NULL) {
		out[n++] = xstrdup("x-amz-server-side-encryption-customer-"
		    "algorithm: AES256");
		out[n++] = xasprintf("x-amz-server-side-encryption-customer-"
		    "key: %s", qrmk);
	}
	return out;
}

static void
free_headers(char **h)
{
	for (size_t i = 0; h[i] != NULL; i++) {
		OPENSSL_cleanse(h[i], strlen(h[i]));
		free(h[i]);
	}
	free(h);
}

static long
append_arrow(const void *ipc, size_t len, const cJSON *rowtype, cJSON *rows,
    char *err, size_t errlen)
{
	return len == 0 ? 0 : arrow_to_rowset(ipc, len, rowtype, rows, err,
	    errlen);
}

static long
read_chunks(struct sf_rest *r, const cJSON *data, int arrow,
    const cJSON *rowtype, cJSON *rows, char *err, size_t errlen)
{
	const cJSON	*chunk;
	char		**headers = chunk_headers(data), *bytes;
	long		 total = 0, n;
	size_t		 len, i = 0;

	cJSON_ArrayForEach(chunk, cJSON_GetObjectItem(data, "chunks")) {
		const char	*url = json_str(chunk, "url");
		double		 want = json_num(chunk, "rowCount", -1);

		i++;
		if (url == NULL) {
			total = errorf(err, errlen, "result chunk %zu has no "
			    "url", i);
			break;
		}
		if ((bytes = sf_rest_download(r, url,
		    (const char *const *)headers, &len, err, errlen)) == NULL) {
			total = -1;
			break;
		}
		n = arrow ? append_arrow(bytes, len, rowtype, rows, err,
		    errlen) : append_json_chunk(bytes, len,
		    cJSON_GetArraySize(rowtype), rows, err, errlen);
		free(bytes);
		if (n >= 0 && want >= 0 && n != (long)want)
			n = errorf(err, errlen, "result chunk %zu holds %ld "
			    "rows, the server said %.0f", i, n, want);
		if (n < 0) {
			total = -1;
			break;
		}
		total += n;
	}
	free_headers(headers);
	return total;
}

int
sf_result_read(struct sf_rest *r, const cJSON *data, struct sf_result *res,
    char *err, size_t errlen)
{
	const cJSON	*rowtype = cJSON_GetObjectItem(data, "rowtype");
	const char	*fmt = json_str(data, "queryResultFormat");
	const char	*b64 = json_str(data, "rowsetBase64");
	int		 arrow = fmt && strcasecmp(fmt, "arrow") == 0;
	long		 n = 0, more;

	memset(res, 0, sizeof(*res));
	res->rowtype = cJSON_IsArray(rowtype) ? cJSON_Duplicate(rowtype, 1) :
	    cJSON_CreateArray();
	res->rows = cJSON_CreateArray();
	strlcpy_(res->query_id, json_str(data, "queryId") ?
	    json_str(data, "queryId") : "", sizeof(res->query_id));
	if (arrow && b64 != NULL && *b64 != '\0') {
		unsigned char	*ipc;
		size_t		 len;

		if ((ipc = sf_unbase64(b64, strlen(b64), &len)) == NULL)
			return errorf(err, errlen, "rowsetBase64 is not "
			    "base64");
		n = append_arrow(ipc, len, res->rowtype, res->rows, err,
		    errlen);
		free(ipc);
	} else if (!arrow)
		n = append_json_rows(cJSON_GetObjectItem(data, "rowset"),
		    cJSON_GetArraySize(res->rowtype), res->rows, err, errlen);
	if (n < 0 || (more = read_chunks(r, data, arrow, res->rowtype,
	    res->rows, err, errlen)) < 0)
		return -1;
	n += more;
	/* A short result must not pass for a whole one (SNOW-4109042). */
	if (!dml(data) && cJSON_IsNumber(cJSON_GetObjectItem(data, "total")) &&
	    json_num(data, "total", 0) != (double)n)
		return errorf(err, errlen, "incomplete result: %ld rows of "
		    "the %.0f the server announced", n,
		    json_num(data, "total", 0));
	if (dml(data))
		res->changed = changed_rows(res->rowtype, res->rows);
	return 0;
}
