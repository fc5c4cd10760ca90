/*
 * artifact.c: pf_artifact_markdown and pf_artifact_table, as Prefect's
 * create_markdown_artifact and create_table_artifact: one POST
 * /artifacts/ linked to the flow run, with the same fields a Python flow
 * sends. A table's data is the JSON text Python's json.dumps would print
 * for it, so the artifact reads back exactly as if Python had made it.
 * Inside a task it is linked to the task run too. Without an API
 * (`pfagent run` with no PREFECT_API_URL) it is printed on stderr.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/logship.h"
#include "common/http.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"
#include "sdk/artifact.h"
#include "sdk/run.h"

#define PF_EXPORT __attribute__((visibility("default")))

/* A table's data string may not grow past this. */
#define TABLE_MAX	(64u << 20)

/*
 * Decodes one UTF-8 sequence of two to four bytes at *pp (the lead byte
 * is >= 0x80), strictly: no overlong forms, surrogates or values past
 * U+10FFFF. Advances *pp; -1 when the bytes are not UTF-8.
 */
static int
utf8_decode(const unsigned char **pp, unsigned long *cp)
{
	const unsigned char	*p = *pp;
	unsigned long		 c, min;
	int			 n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 1;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 2;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 3;
		c = p[0] & 0x07;
		min = 0x10000;
	} else
		return -1;
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return -1;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	*pp = p + n + 1;
	return 0;
}

/* 0 when s is UTF-8 text: the API takes nothing else. */
static int
utf8_check(const char *what, const char *s, char *err, size_t errlen)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned long		 cp;

	while (*p != '\0')
		if (*p < 0x80)
			p++;
		else if (utf8_decode(&p, &cp) == -1)
			return errorf(err, errlen, "%s is not valid UTF-8 "
			    "(byte %td)", what, (const char *)p - s);
	return 0;
}

/* Prefect's ArtifactKey: lower-case letters, numbers and dashes. */
int
sdk_artifact_key_check(const char *key, char *err, size_t errlen)
{
	for (const char *p = key; p != NULL && *p != '\0'; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') &&
		    *p != '-')
			return errorf(err, errlen, "Artifact key '%s' must "
			    "only contain lowercase letters, numbers, and "
			    "dashes.", key);
	return 0;
}

/* ------------------------------------------- json.dumps, as Python */

/* One code point (or lone surrogate) as json.dumps(ensure_ascii=True). */
static int
py_char(struct buf *out, unsigned long cp)
{
	static const char	shorts[] = "\"\"\\\\\bb\ff\nn\rr\tt";
	char			c = (char)cp;

	for (const char *s = shorts; *s != '\0'; s += 2)
		if (cp == (unsigned char)s[0])
			return buf_printf(out, "\\%c", s[1]);
	if (cp >= 0x20 && cp < 0x7f)
		return buf_append(out, &c, 1);
	if (cp >= 0x10000) {
		cp -= 0x10000;
		return buf_printf(out, "\\u%04lx\\u%04lx", 0xd800 + (cp >> 10),
		    0xdc00 + (cp & 0x3ff));
	}
	return buf_printf(out, "\\u%04lx", cp);
}

/* Four hex digits, as a \u escape has them. */
static int
hex4(const unsigned char *p, unsigned long *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		int	c = p[i];

		if (!isxdigit(c))
			return -1;
		*cp = *cp << 4 | (unsigned long)(isdigit(c) ? c - '0' :
		    tolower(c) - 'a' + 10);
	}
	return 0;
}

/*
 * The string literal at *p. \u escapes are kept unit by unit, so a
 * surrogate pair (or a lone surrogate, which Python keeps too) comes
 * out as it went in, in lower case.
 */
static int
py_string(const char **pp, const char *text, struct buf *out, char *err,
    size_t errlen)
{
	static const char	 escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	const unsigned char	*p = (const unsigned char *)*pp + 1;
	unsigned long		 cp;
	const char		*e;

	if (buf_append(out, "\"", 1) == -1)
		return -1;
	while (*p != '"') {
		if (*p == '\0')
			return errorf(err, errlen, "the table is not valid "
			    "JSON (byte %td)", (const char *)p - text);
		if (*p == '\\' && p[1] == 'u') {
			if (hex4(p + 2, &cp) == -1)
				return errorf(err, errlen, "the table is not "
				    "valid JSON (byte %td)",
				    (const char *)p - text);
			p += 6;
		} else if (*p == '\\') {
			for (e = escapes; *e != '\0' && *e != (char)p[1];
			    e += 2)
				;
			if (*e == '\0')
				return errorf(err, errlen, "the table is not "
				    "valid JSON (byte %td)",
				    (const char *)p - text);
			cp = (unsigned char)e[1];
			p += 2;
		} else if (*p < 0x80)
			cp = *p++;
		else if (utf8_decode(&p, &cp) == -1)
			return errorf(err, errlen, "the table is not valid "
			    "UTF-8 (byte %td)", (const char *)p - text);
		if (py_char(out, cp) == -1)
			return -1;
	}
	*pp = (const char *)p + 1;
	return buf_append(out, "\"", 1);
}

/*
 * repr(float): the shortest digits that read back as v, in fixed
 * notation unless the decimal point is more than 16 places right or 4
 * places left of the first digit (Python's float_repr_style 'short').
 */
static int
py_float(struct buf *out, double v)
{
	char	 e[40], digits[24], *s;
	int	 prec, nd = 0, exp, decpt;

	/* Prefect's _sanitize turns NaN into None; json.dumps would print
	 * Infinity, which is not JSON, so it becomes null as well. */
	if (!isfinite(v))
		return buf_append(out, "null", 4);
	for (prec = 1;; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (prec == 17 || strtod(e, NULL) == v)
			break;
	}
	for (s = e; *s != 'e'; s++)
		if (isdigit((unsigned char)*s))
			digits[nd++] = *s;
	exp = (int)strtol(s + 1, NULL, 10);
	decpt = exp + 1;
	if (e[0] == '-' && buf_append(out, "-", 1) == -1)
		return -1;
	if (decpt > 16 || decpt <= -4)
		return buf_printf(out, "%c%s%.*se%c%02d", digits[0],
		    nd > 1 ? "." : "", nd - 1, digits + 1, exp < 0 ? '-' : '+',
		    abs(exp));
	if (decpt <= 0)
		return buf_printf(out, "0.%.*s%.*s", -decpt, "000", nd,
		    digits);
	if (decpt >= nd)
		return buf_printf(out, "%.*s%.*s.0", nd, digits, decpt - nd,
		    "0000000000000000");
	return buf_printf(out, "%.*s.%.*s", decpt, digits, nd - decpt,
	    digits + decpt);
}

/*
 * The number at *pp, checked against JSON's grammar (cJSON lets "01"
 * and "1." through). Integers are Python ints, printed as written;
 * anything with a fraction or exponent is a float.
 */
static int
py_number(const char **pp, const char *text, struct buf *out, char *err,
    size_t errlen)
{
	const char	*p = *pp, *start = p;
	int		 is_float = 0;

#define DIGITS(q)	while (isdigit((unsigned char)*(q))) (q)++
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (isdigit((unsigned char)*p))
		DIGITS(p);
	else
		goto bad;
	if (*p == '.') {
		is_float = 1;
		if (!isdigit((unsigned char)*++p))
			goto bad;
		DIGITS(p);
	}
	if (*p == 'e' || *p == 'E') {
		is_float = 1;
		if (*++p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		DIGITS(p);
	}
#undef DIGITS
	if (isdigit((unsigned char)*p) || *p == '.')
		goto bad;
	*pp = p;
	if (is_float)
		return py_float(out, strtod(start, NULL));
	if (p - start == 2 && start[0] == '-')		/* int("-0") is 0 */
		return buf_append(out, "0", 1);
	return buf_append(out, start, (size_t)(p - start));
bad:
	return errorf(err, errlen, "the table is not valid JSON (byte %td)",
	    start - text);
}

/*
 * json.dumps(json.loads(text)) with Python's defaults: ", " and ": "
 * between items, ASCII only. text was parsed by cJSON already, so only
 * the details cJSON is lax about are checked again here.
 */
static int
py_dumps(const char *text, struct buf *out, char *err, size_t errlen)
{
	static const char *const literals[] = { "true", "false", "null" };
	const char	*p = text;
	size_t		 i, n;
	int		 rc = 0;

	while (rc == 0 && *p != '\0') {
		switch (*p) {
		case '{': case '}': case '[': case ']':
			rc = buf_append(out, p++, 1);
			break;
		case ',':
			rc = buf_append(out, ", ", 2);
			p++;
			break;
		case ':':
			rc = buf_append(out, ": ", 2);
			p++;
			break;
		case '"':
			rc = py_string(&p, text, out, err, errlen);
			break;
		case 't': case 'f': case 'n':
			for (i = 0; literals[i][0] != *p; i++)
				;
			n = strlen(literals[i]);
			if (strncmp(p, literals[i], n) != 0)
				return errorf(err, errlen, "the table is not "
				    "valid JSON (byte %td)", p - text);
			rc = buf_append(out, p, n);
			p += n;
			break;
		default:
			if ((unsigned char)*p <= ' ')	/* cJSON's whitespace */
				p++;
			else
				rc = py_number(&p, text, out, err, errlen);
		}
	}
	return rc;
}

static const char *
kind(const cJSON *j)
{
	if (cJSON_IsObject(j))
		return "an object";
	if (cJSON_IsArray(j))
		return "a list";
	if (cJSON_IsString(j))
		return "a string";
	if (cJSON_IsNumber(j))
		return "a number";
	if (cJSON_IsBool(j))
		return "a boolean";
	return "null";
}

/* The shapes create_table_artifact's table takes and the UI shows. */
static int
table_shape(const cJSON *t, char *err, size_t errlen)
{
	const cJSON	*e;
	int		 i = 0;

	if (cJSON_IsArray(t)) {
		cJSON_ArrayForEach(e, t) {
			if (!cJSON_IsObject(e))
				return errorf(err, errlen, "row %d is %s, not "
				    "an object", i, kind(e));
			i++;
		}
		return 0;
	}
	if (cJSON_IsObject(t)) {
		cJSON_ArrayForEach(e, t)
			if (!cJSON_IsArray(e))
				return errorf(err, errlen, "column '%s' is %s, "
				    "not a list", e->string, kind(e));
		return 0;
	}
	return errorf(err, errlen, "the table must be a list of row objects "
	    "or an object of column lists, not %s", kind(t));
}

/*
 * The data string of a table artifact: table_json validated and printed
 * as Prefect's TableArtifact.format() prints the table. Caller frees;
 * NULL with a message.
 */
char *
sdk_artifact_table_data(const char *table_json, char *err, size_t errlen)
{
	const char	*end = NULL;
	cJSON		*t;
	struct buf	 out;

	if (table_json == NULL) {
		errorf(err, errlen, "no table given");
		return NULL;
	}
	if ((t = cJSON_ParseWithOpts(table_json, &end, 1)) == NULL) {
		errorf(err, errlen, "the table is not valid JSON (byte %td)",
		    end != NULL ? end - table_json : (ptrdiff_t)0);
		return NULL;
	}
	if (table_shape(t, err, errlen) == -1) {
		cJSON_Delete(t);
		return NULL;
	}
	cJSON_Delete(t);
	buf_init(&out, TABLE_MAX);
	err[0] = '\0';
	if (py_dumps(table_json, &out, err, errlen) == -1) {
		if (err[0] == '\0')	/* only the buffer's cap is silent */
			errorf(err, errlen, "the table is larger than %u MiB "
			    "as JSON", TABLE_MAX >> 20);
		buf_cleanup(&out);
		return NULL;
	}
	if (out.data == NULL)
		return xstrdup("");
	return buf_steal(&out);
}

/* ArtifactCreate, with the fields (and nulls) Prefect's client sends. */
char *
sdk_artifact_body(const char *type, const char *key, const char *description,
    const char *data, const char *flow_run_id, const char *task_run_id)
{
	cJSON	*b = cJSON_CreateObject();
	char	*s;

#define STR_OR_NULL(k, v) \
	((v) != NULL ? cJSON_AddStringToObject(b, (k), (v)) : \
	    cJSON_AddNullToObject(b, (k)))
	STR_OR_NULL("key", key);
	STR_OR_NULL("type", type);
	STR_OR_NULL("description", description);
	STR_OR_NULL("data", data);
	STR_OR_NULL("flow_run_id", flow_run_id);
	STR_OR_NULL("task_run_id", task_run_id);
#undef STR_OR_NULL
	s = json_print(b);
	cJSON_Delete(b);
	return s;
}

/* ------------------------------------------------------- publishing */

/* Inside a task the artifact and its lines belong to the task run too. */
static void
run_log(pf_run *run, int level, const char *msg)
{
	const char	*name, *task_run_id = sdk_run_task_run_id(run, &name);

	if (run->logs != NULL)
		logship_push(run->logs, task_run_id ? "prefect.task_runs" :
		    "prefect.flow_runs", level, msg, task_run_id, name);
	else
		fprintf(stderr, "%s\n", msg);
}

/* A local run: the artifact goes to the console, whole. */
static void
print_local(pf_run *run, const char *type, const char *key,
    const char *description, const char *data)
{
	char	*head, *masked, *line;

	head = xasprintf("%s artifact%s%s%s%s%s%s, printed here as there is "
	    "no PREFECT_API_URL:", strcmp(type, "table") == 0 ? "Table" :
	    "Markdown", key ? " '" : "", key ? key : "", key ? "'" : "",
	    description ? " (" : "", description ? description : "",
	    description ? ")" : "");
	run_log(run, PF_LEVEL_INFO, head);
	free(head);
	/* Ours, right after its header: not through the flow's stderr pipe,
	 * which another thread drains. */
	masked = logship_mask(run->logs, data);
	line = xasprintf("%s\n", masked);
	if (write(log_out(), line, strlen(line)) < 0) {
		/* a closed stderr must not stop the flow */
	}
	free(line);
	free(masked);
}

static int
publish(pf_run *run, const char *type, const char *key,
    const char *description, const char *data, char *err, size_t errlen)
{
	struct http_resp	 r;
	enum retry_class	 rc;
	char			*body;

	if (run->http == NULL) {
		print_local(run, type, key, description, data);
		return 0;
	}
	body = sdk_artifact_body(type, key, description, data, run->id,
	    sdk_run_task_run_id(run, NULL));
	/*
	 * Retried through outages as the executor's other calls. As with
	 * Prefect's own client, an answer lost after the server stored
	 * the artifact (rare) leaves a duplicate: artifacts carry no id
	 * of ours that a look before the retry could find.
	 */
	rc = http_call(run->http, &retry_patient, "POST", "/artifacts/", body,
	    &r);
	free(body);
	if (rc != RETRY_OK) {
		if (r.status != 0)
			errorf(err, errlen, "POST /artifacts/: HTTP %ld: %.300s",
			    r.status, r.body);
		else
			errorf(err, errlen, "POST /artifacts/: %s", r.error);
		http_resp_cleanup(&r);
		return -1;
	}
	http_resp_cleanup(&r);
	return 0;
}

/*
 * Checks, then publishes; a failure is logged once, here. Secrets are
 * masked in the description, the markdown and a table's data string
 * (after conversion, so the table stays valid JSON however a secret
 * is spelled in it), as in the run's log lines.
 */
static int
create(pf_run *run, const char *type, const char *key, const char *given,
    const char *given_description)
{
	char	 err[512], *data = NULL, *msg, *masked, *text = NULL;
	char	*description = logship_mask(run->logs, given_description);
	int	 rc = -1;

	if (sdk_artifact_key_check(key, err, sizeof(err)) == -1 ||
	    utf8_check("the description", description ? description : "",
	    err, sizeof(err)) == -1)
		goto out;
	if (strcmp(type, "table") == 0) {
		if ((data = sdk_artifact_table_data(given, err,
		    sizeof(err))) == NULL)
			goto out;
		masked = logship_mask(run->logs, data);
		free(data);
		data = masked;
	} else if ((text = logship_mask(run->logs, given)) == NULL) {
		errorf(err, sizeof(err), "no markdown given");
		goto out;
	} else if (utf8_check("the markdown", text, err, sizeof(err)) == -1)
		goto out;
	else
		data = xstrdup(text);
	rc = publish(run, type, key, description, data, err, sizeof(err));
out:
	if (rc == -1) {
		msg = xasprintf("Cannot create %s artifact%s%s%s: %s", type,
		    key ? " '" : "", key ? key : "", key ? "'" : "", err);
		run_log(run, PF_LEVEL_ERROR, msg);
		sdk_error_set(msg);
		free(msg);
	}
	free(data);
	free(text);
	free(description);
	return rc == 0 ? PF_OK : PF_ERROR;
}

PF_EXPORT int
pf_artifact_markdown(pf_run *run, const char *key, const char *markdown,
    const char *description)
{
	return create(run, "markdown", key, markdown, description);
}

PF_EXPORT int
pf_artifact_table(pf_run *run, const char *key, const char *table_json,
    const char *description)
{
	return create(run, "table", key, table_json, description);
}
