/*
 * redact.c: the set of secret values of a run and masking them in text.
 *
 * Values are few (the secrets a flow resolved) and lines short, so a
 * plain scan does: at each byte whose value could start a secret (a
 * 256-bit table of first bytes), the longest matching value wins.
 * Each value is kept in up to three spellings: as it is, and inside a
 * JSON string as cJSON and as Python's json.dumps escape it.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/util.h"
#include "common/redact.h"

struct redact {
	pthread_mutex_t	 mu;
	char		**values;	/* longest first */
	size_t		 n, cap;
	uint8_t		 first[32];	/* bit b: some value starts with b */
};

struct redact *
redact_new(void)
{
	struct redact	*r = xcalloc(1, sizeof(*r));

	pthread_mutex_init(&r->mu, NULL);
	return r;
}

void
redact_free(struct redact *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->values[i]);
	free(r->values);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* With mu held: one spelling, kept sorted longest first, each once. */
static void
add_locked(struct redact *r, const char *v)
{
	size_t	len = strlen(v), at;

	if (len < REDACT_MIN_LEN)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->values[i], v) == 0)
			return;
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->values = xrealloc(r->values, r->cap * sizeof(*r->values));
	}
	for (at = 0; at < r->n && strlen(r->values[at]) >= len; at++)
		;
	memmove(r->values + at + 1, r->values + at,
	    (r->n - at) * sizeof(*r->values));
	r->values[at] = xstrdup(v);
	r->n++;
	r->first[(unsigned char)v[0] >> 3] |= 1u << ((unsigned char)v[0] & 7);
}

/*
 * The value as Python's json.dumps spells it inside a string (ASCII
 * only: \uXXXX, surrogate pairs), as artifact tables are stored; NULL
 * when it is not UTF-8. Caller frees.
 */
static char *
py_json(const char *v)
{
	const unsigned char	*p = (const unsigned char *)v;
	struct buf		 b;
	unsigned long		 c;
	int			 more;

	buf_init(&b, (size_t)-1);
	while (*p != '\0') {
		if (*p < 0x80) {
			c = *p++;
			if (c == '"' || c == '\\')
				buf_printf(&b, "\\%c", (int)c);
			else if (c == '\n')
				buf_append(&b, "\\n", 2);
			else if (c == '\r')
				buf_append(&b, "\\r", 2);
			else if (c == '\t')
				buf_append(&b, "\\t", 2);
			else if (c == '\b')
				buf_append(&b, "\\b", 2);
			else if (c == '\f')
				buf_append(&b, "\\f", 2);
			else if (c < 0x20)
				buf_printf(&b, "\\u%04lx", c);
			else
				buf_append(&b, p - 1, 1);
			continue;
		}
		more = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : -1;
		if (more < 0)
			goto bad;
		c = *p++ & (0x3f >> more);
		while (more-- > 0) {
			if ((*p & 0xc0) != 0x80)
				goto bad;
			c = c << 6 | (*p++ & 0x3f);
		}
		if (c >= 0x10000)
			buf_printf(&b, "\\u%04lx\\u%04lx",
			    0xd800 + ((c - 0x10000) >> 10),
			    0xdc00 + ((c - 0x10000) & 0x3ff));
		else
			buf_printf(&b, "\\u%04lx", c);
	}
	return buf_steal(&b);
bad:
	buf_cleanup(&b);
	return NULL;
}

void
redact_add(struct redact *r, const char *value)
{
	cJSON	*s;
	char	*json, *py;
	size_t	 len;

	if (r == NULL || value == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	add_locked(r, value);
	/* The same value inside a JSON string, as cJSON (UTF-8 kept) and
	 * Python (ASCII only) print it. */
	if ((s = cJSON_CreateString(value)) != NULL &&
	    (json = cJSON_PrintUnformatted(s)) != NULL) {
		if ((len = strlen(json)) >= 2) {
			json[len - 1] = '\0';
			add_locked(r, json + 1);
		}
		cJSON_free(json);
	}
	cJSON_Delete(s);
	if ((py = py_json(value)) != NULL) {
		add_locked(r, py);
		free(py);
	}
	pthread_mutex_unlock(&r->mu);
}

size_t
redact_count(struct redact *r)
{
	size_t	n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

char *
redact_text(struct redact *r, const char *text)
{
	struct buf	 b;
	const char	*p, *start;
	size_t		 i;

	if (text == NULL)
		return NULL;
	if (r == NULL)
		return xstrdup(text);
	pthread_mutex_lock(&r->mu);
	if (r->n == 0) {
		pthread_mutex_unlock(&r->mu);
		return xstrdup(text);
	}
	buf_init(&b, (size_t)-1);
	for (p = start = text; *p != '\0';) {
		unsigned char c = (unsigned char)*p;

		if ((r->first[c >> 3] & (1u << (c & 7))) != 0) {
			for (i = 0; i < r->n; i++)
				if (strncmp(p, r->values[i],
				    strlen(r->values[i])) == 0)
					break;
			if (i < r->n) {
				buf_append(&b, start, (size_t)(p - start));
				buf_append(&b, REDACT_MASK,
				    strlen(REDACT_MASK));
				p += strlen(r->values[i]);
				start = p;
				continue;
			}
		}
		p++;
	}
	pthread_mutex_unlock(&r->mu);
	buf_append(&b, start, (size_t)(p - start));
	return buf_steal(&b);
}
