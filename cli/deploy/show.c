/*
 * deploy_show.c: the output of `pfagent deploy` about one deployment,
 * with block values kept out of it.
 *
 * Values that came from blocks are secrets (passwords, tokens): a field
 * that refers to a block, or holds a string some block returned, is
 * shown by its name only, and any other text (the server's error
 * details) has those strings replaced by "***".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/deploy/show.h"
#include "common/json.h"
#include "common/util.h"
#include "deployments/template.h"

#define SHOW_MAX	300		/* longest value shown by --dry-run */

/* ------------------------------------------------------------ secrets */

void
deploy_secrets_add(struct deploy_secrets *s, const cJSON *v)
{
	const cJSON	*c;

	if (cJSON_IsString(v) && v->valuestring[0] != '\0') {
		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->v[i], v->valuestring) == 0)
				return;
		s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
		s->v[s->n++] = xstrdup(v->valuestring);
		return;
	}
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		for (c = v->child; c != NULL; c = c->next)
			deploy_secrets_add(s, c);
}

void
deploy_secrets_cleanup(struct deploy_secrets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		OPENSSL_cleanse(s->v[i], strlen(s->v[i]));
		free(s->v[i]);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* Whether a string in v holds a secret. */
static int
has_secret(const struct deploy_secrets *s, const cJSON *v)
{
	const cJSON	*c;

	if (cJSON_IsString(v)) {
		for (size_t i = 0; i < s->n; i++)
			if (strstr(v->valuestring, s->v[i]) != NULL)
				return 1;
		return 0;
	}
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		for (c = v->child; c != NULL; c = c->next)
			if (has_secret(s, c))
				return 1;
	return 0;
}

/* Whether v refers to a block ({{ prefect.blocks... }} or $ref). */
static int
has_block_ref(const cJSON *v)
{
	struct template_match	 m;
	const cJSON		*c;
	size_t			 len, pos = 0;

	if (cJSON_IsString(v)) {
		len = strlen(v->valuestring);
		while (template_next(v->valuestring, len, pos, &m)) {
			if (m.kind == TEMPLATE_BLOCK)
				return 1;
			pos = m.start + m.len;
		}
		return 0;
	}
	if (cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "$ref"))
		return 1;
	if (cJSON_IsArray(v) || cJSON_IsObject(v))
		for (c = v->child; c != NULL; c = c->next)
			if (has_block_ref(c))
				return 1;
	return 0;
}

/* text with every secret replaced by "***"; caller frees. */
char *
deploy_secrets_redact(const struct deploy_secrets *s, const char *text)
{
	struct buf	 b;
	const char	*p = text, *hit, *first;
	size_t		 flen = 0;

	buf_init(&b, SIZE_MAX / 2);
	for (;;) {
		first = NULL;
		for (size_t i = 0; i < s->n; i++)
			if ((hit = strstr(p, s->v[i])) != NULL &&
			    (first == NULL || hit < first)) {
				first = hit;
				flen = strlen(s->v[i]);
			}
		if (first == NULL)
			break;
		(void)buf_append(&b, p, (size_t)(first - p));
		(void)buf_append(&b, "***", 3);
		p = first + flen;
	}
	(void)buf_append(&b, p, strlen(p));
	return buf_steal(&b);
}

/* ------------------------------------------------------------ showing */

static const cJSON *
get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* "a, b, c" of the changed fields; caller frees. */
char *
deploy_show_names(const struct deploy_change *c, size_t n)
{
	struct buf	b;

	buf_init(&b, 4096);
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(&b, "%s%s", i ? ", " : "", c[i].f->key);
	return buf_steal(&b);
}

/* Compact JSON, cut at SHOW_MAX; caller frees. */
static char *
shown(const cJSON *v)
{
	char	*s = json_print(v), *out;

	if (strlen(s) <= SHOW_MAX)
		return s;
	out = xasprintf("%.*s...", SHOW_MAX, s);
	free(s);
	return out;
}

/* A schedule on one line: cron "0 6 * * *" Europe/Paris, slug x. */
static char *
schedule_text(const cJSON *item)
{
	const cJSON	*s = get(item, "schedule"), *v;
	const char	*tz = json_str(s, "timezone"), *slug;
	struct buf	 b;
	char		*j;

	buf_init(&b, 64 * 1024);
	if ((v = get(s, "cron")) != NULL || (v = get(s, "rrule")) != NULL) {
		j = json_print(v);
		(void)buf_printf(&b, "%s %s", v->string, j);
		free(j);
	} else {
		(void)buf_printf(&b, "every %g s",
		    json_num(s, "interval", 0));
		if (json_str(s, "anchor_date") != NULL)
			(void)buf_printf(&b, " from %s",
			    json_str(s, "anchor_date"));
	}
	if (tz != NULL)
		(void)buf_printf(&b, " %s", tz);
	if (!cJSON_IsTrue(get(item, "active")))
		(void)buf_printf(&b, ", inactive");
	if (cJSON_IsObject(v = get(item, "parameters")) && v->child != NULL) {
		j = json_print(v);
		(void)buf_printf(&b, ", parameters %s", j);
		free(j);
	}
	if ((slug = json_str(item, "slug")) != NULL)
		(void)buf_printf(&b, ", slug %s", slug);
	return buf_steal(&b);
}

/* The schedules of one list that the other does not have. */
static void
print_schedules(const cJSON *old, const cJSON *new)
{
	const cJSON	*s, *o;
	char		*text;
	int		 found;

	cJSON_ArrayForEach(o, old) {
		found = 0;
		cJSON_ArrayForEach(s, new)
			found |= deploy_same_schedule(s, o);
		if (!found) {
			text = schedule_text(o);
			printf("      - %s\n", text);
			free(text);
		}
	}
	cJSON_ArrayForEach(s, new)
		if (!deploy_has_schedule(s, old)) {
			text = schedule_text(s);
			printf("      + %s\n", text);
			free(text);
		}
}

/* Whether a field's values must not be shown: they come from a block. */
static int
masked(const struct deploy_pair *p, const struct deploy_field *f,
    const struct deploy_secrets *s, const cJSON *a, const cJSON *b)
{
	return has_block_ref(deploy_field_source(f, p->config)) ||
	    has_secret(s, a) || has_secret(s, b);
}

void
deploy_show_change(const struct deploy_pair *p, const struct deploy_change *c,
    const struct deploy_secrets *s)
{
	char	*a, *b;

	if (masked(p, c->f, s, c->new, c->old)) {
		printf("    %s: changed (not shown: it comes from a block)\n",
		    c->f->key);
		return;
	}
	if (strcmp(c->f->key, "schedules") == 0) {
		printf("    schedules:\n");
		print_schedules(c->old, c->new);
		return;
	}
	a = shown(c->old);
	b = shown(c->new);
	printf("    %s: %s -> %s\n", c->f->key, a, b);
	free(a);
	free(b);
}

/* What a create would send, field by field, secrets masked. */
void
deploy_show_spec(const struct deploy_pair *p, const struct deploy_secrets *s)
{
	const struct deploy_field *f;
	const cJSON		*v;
	char			*text;

	for (f = deploy_fields; f < deploy_fields + DEPLOY_NFIELDS; f++) {
		if (strcmp(f->key, "paused") == 0 && !p->has_paused)
			continue;
		v = get(p->spec, f->key);
		if (masked(p, f, s, v, NULL)) {
			printf("    %s: (not shown: it comes from a block)\n",
			    f->key);
			continue;
		}
		text = shown(v);
		printf("    %s: %s\n", f->key, text);
		free(text);
	}
}
