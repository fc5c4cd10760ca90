/*
 * log.c: the agent log. Lines are written with one write(2) so lines of
 * concurrent processes sharing stderr do not interleave mid-line; control
 * characters are escaped so one event is always one line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "common/buf.h"
#include "common/clock.h"

/* Where lines go: stderr, or what stderr was once it became a pipe. */
static int	log_out_fd = STDERR_FILENO;

void
log_set_out(int fd)
{
	log_out_fd = fd;
}

int
log_out(void)
{
	return log_out_fd;
}

enum log_level	 log_threshold = LOG_LVL_INFO;
static char	 log_tag[32];
static char	 log_logger[48] = "pfagent";
static int	 log_as_json;
static char	 run_id[40], run_name[256];

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
static const char *const py_level_names[] = { "DEBUG", "INFO", "WARNING",
    "ERROR" };

void
log_init(enum log_level level, const char *tag)
{
	const char	*fmt = getenv("PFAGENT_LOG_FORMAT");
	size_t		 n;

	log_threshold = level;
	strlcpy_(log_tag, tag ? tag : "", sizeof(log_tag));
	/* "[executor]" logs as pfagent.executor. */
	n = strlen(log_tag);
	if (n > 2 && log_tag[0] == '[' && log_tag[n - 1] == ']')
		snprintf(log_logger, sizeof(log_logger), "pfagent.%.*s",
		    (int)(n - 2), log_tag + 1);
	else
		strlcpy_(log_logger, "pfagent", sizeof(log_logger));
	log_as_json = fmt != NULL && strcmp(fmt, "json") == 0;
}

int
log_json(void)
{
	return log_as_json;
}

void
log_set_run(const char *flow_run_id, const char *flow_run_name)
{
	strlcpy_(run_id, flow_run_id ? flow_run_id : "", sizeof(run_id));
	strlcpy_(run_name, flow_run_name ? flow_run_name : "",
	    sizeof(run_name));
}

/* Length of the valid UTF-8 sequence at p (of at most n), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t		len;
	uint32_t	cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A JSON string: escapes, and U+FFFD for bytes that are not UTF-8. */
static int
json_string(struct buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = strlen(s);
	int			 rc = buf_append(b, "\"", 1);

	while (n > 0 && rc == 0) {
		size_t	len = utf8_len(p, n);

		if (len == 0) {
			rc = buf_append(b, "\\ufffd", 6);
			len = 1;
		} else if (*p == '"' || *p == '\\')
			rc = buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			rc = buf_append(b, "\\n", 2);
		else if (*p == '\t')
			rc = buf_append(b, "\\t", 2);
		else if (*p < 0x20 || *p == 0x7f)
			rc = buf_printf(b, "\\u%04x", *p);
		else
			rc = buf_append(b, p, len);
		p += len;
		n -= len;
	}
	return rc ? rc : buf_append(b, "\"", 1);
}

void
log_json_write(const char *level, const char *logger, const char *message,
    const char *const *fields)
{
	struct buf	b;
	char		ts[32];
	int		rc;

	iso8601_now(ts, 0);
	/* Room for a flow-run line of Prefect's 1 MB, escaped. */
	buf_init(&b, 8u << 20);
	rc = buf_printf(&b, "{\"timestamp\":\"%s\",\"level\":\"%s\","
	    "\"logger\":", ts, level);
	rc |= json_string(&b, logger);
	rc |= buf_append(&b, ",\"message\":", 11);
	rc |= json_string(&b, message);
	for (; fields != NULL && fields[0] != NULL && rc == 0; fields += 2) {
		if (fields[1] == NULL)
			continue;
		rc |= buf_append(&b, ",", 1);
		rc |= json_string(&b, fields[0]);
		rc |= buf_append(&b, ":", 1);
		rc |= json_string(&b, fields[1]);
	}
	rc |= buf_append(&b, "}\n", 2);
	if (rc != 0) {		/* still one object on one line */
		buf_cleanup(&b);
		buf_init(&b, 256);
		buf_printf(&b, "{\"timestamp\":\"%s\",\"level\":\"%s\","
		    "\"message\":\"(line too long to log)\"}\n", ts, level);
	}
	if (write(log_out_fd, b.data, b.len) < 0) {
		/* nowhere left to report it */
	}
	buf_cleanup(&b);
}

/*
 * "flow run <uuid> (<name>): ..." names its run: the id and name as
 * fields of the JSON line.
 */
static void
json_line(enum log_level level, const char *msg)
{
	char		 id[40] = "", name[256] = "";
	const char	*fields[] = { "flow_run_id", NULL, "flow_run_name", NULL,
	    NULL };
	const char	*p = msg + 9, *close;

	if (strncmp(msg, "flow run ", 9) == 0 && strspn(p,
	    "0123456789abcdef-") == 36) {
		memcpy(id, p, 36);
		id[36] = '\0';
		p += 36;
		if (strncmp(p, " (", 2) == 0 &&
		    (close = strstr(p + 2, "): ")) != NULL &&
		    (size_t)(close - p - 2) < sizeof(name)) {
			memcpy(name, p + 2, (size_t)(close - p - 2));
			name[close - p - 2] = '\0';
		}
	} else if (run_id[0] != '\0') {
		strlcpy_(id, run_id, sizeof(id));
		strlcpy_(name, run_name, sizeof(name));
	}
	fields[1] = id[0] ? id : NULL;
	fields[3] = name[0] ? name : NULL;
	log_json_write(py_level_names[level], log_logger, msg, fields);
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

static void
log_vwrite(enum log_level level, const char *fmt, va_list ap, int err)
{
	char	 msg[2048], line[4200], ts[32];
	size_t	 o = 0;
	int	 n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_as_json) {
		if (err) {
			size_t	 l = strlen(msg);

			snprintf(msg + l, sizeof(msg) - l, ": %s",
			    strerror(err));
		}
		json_line(level, msg);
		return;
	}
	iso8601_now(ts, 0);
	n = snprintf(line, sizeof(line), "%s %-5s %s%s", ts, level_names[level],
	    log_tag, log_tag[0] ? " " : "");
	o = n > 0 ? (size_t)n : 0;
	for (const char *p = msg; *p && o < sizeof(line) - 8; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n' || c == '\r' || c == '\t') {
			line[o++] = '\\';
			line[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(line + o, 5, "\\x%02x", c);
		else
			line[o++] = (char)c;
	}
	if (err)
		o += (size_t)snprintf(line + o, sizeof(line) - o - 2, ": %s",
		    strerror(err));
	if (o > sizeof(line) - 2)
		o = sizeof(line) - 2;
	line[o++] = '\n';
	if (write(log_out_fd, line, o) < 0) {
		/* nowhere left to report it */
	}
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list	ap;

	if (level < log_threshold)
		return;
	va_start(ap, fmt);
	log_vwrite(level, fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
