/*
 * prefect_yaml_msgs.c: the messages of prefect.yaml validation.
 *
 * Each is "file:line:col: path: message", placed at a node or at its
 * key.  Errors are collected one per line for the caller's buffer,
 * warnings into the caller's list; running out of memory is recorded
 * once in the context rather than at each call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deployments/prefect_yaml_int.h"

#define MSG_MAX		1024

static int
msgs_add(struct pf_msgs *m, const char *s)
{
	char	**v;

	if ((v = realloc(m->v, (m->n + 1) * sizeof(*v))) == NULL)
		return -1;
	m->v = v;
	if ((v[m->n] = strdup(s)) == NULL)
		return -1;
	m->n++;
	return 0;
}

void
prefect_yaml_msgs_free(struct pf_msgs *msgs)
{
	if (msgs == NULL)
		return;
	for (size_t i = 0; i < msgs->n; i++)
		free(msgs->v[i]);
	free(msgs->v);
	msgs->v = NULL;
	msgs->n = 0;
}

/* "file:line:col: path: " for node (its key when at_key). */
static int
locate(const struct vctx *v, const cJSON *node, int at_key,
    const char *path, char *buf, size_t len)
{
	int	 line, col, rc;

	if (v->doc == NULL || node == NULL)	/* not from a file */
		rc = -1;
	else
		rc = at_key ? ydoc_key_pos(v->doc, node, &line, &col) :
		    ydoc_pos(v->doc, node, &line, &col);
	if (rc == -1 && at_key && v->doc != NULL && node != NULL)
		rc = ydoc_pos(v->doc, node, &line, &col);
	if (rc == 0)
		rc = snprintf(buf, len, "%s:%d:%d: ", v->file, line, col);
	else
		rc = snprintf(buf, len, "%s: ", v->file);
	if (path[0] != '\0' && rc >= 0 && (size_t)rc < len)
		rc += snprintf(buf + rc, len - (size_t)rc, "%s: ", path);
	return rc < 0 ? 0 : (size_t)rc >= len ? (int)len - 1 : rc;
}

static void
vmsg(struct vctx *v, int is_err, const cJSON *node, int at_key,
    const char *path, const char *fmt, va_list ap)
{
	char	 buf[MSG_MAX];
	int	 o = locate(v, node, at_key, path, buf, sizeof(buf));

	vsnprintf(buf + o, sizeof(buf) - (size_t)o, fmt, ap);
	if (!is_err) {
		if (v->warn != NULL && msgs_add(v->warn, buf) == -1)
			v->oom = 1;
		return;
	}
	v->nerr++;
	if ((v->errs.len > 0 && buf_putc(&v->errs, '\n') == -1) ||
	    buf_puts(&v->errs, buf) == -1)
		v->oom = 1;
}

void
pyaml_err(struct vctx *v, const cJSON *node, const char *path, const char *fmt,
    ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vmsg(v, 1, node, 0, path, fmt, ap);
	va_end(ap);
}

void
pyaml_err_key(struct vctx *v, const cJSON *node, const char *path,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vmsg(v, 1, node, 1, path, fmt, ap);
	va_end(ap);
}

/* Warnings point at the key, since they are about the key. */
void
pyaml_warn(struct vctx *v, const cJSON *node, const char *path, const char *fmt,
    ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vmsg(v, 0, node, 1, path, fmt, ap);
	va_end(ap);
}

const char *
pyaml_sub(char *buf, size_t len, const char *path, const char *key)
{
	/* Over-long paths are cut; they only label messages. */
	if (snprintf(buf, len, "%s%s%s", path, path[0] ? "." : "", key) < 0)
		buf[0] = '\0';
	return buf;
}

const char *
pyaml_idx(char *buf, size_t len, const char *path, size_t i)
{
	if (snprintf(buf, len, "%s[%zu]", path, i) < 0)
		buf[0] = '\0';
	return buf;
}
