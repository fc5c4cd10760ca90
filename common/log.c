/*
 * log.c: the agent log. Lines are written with one write(2) so lines of
 * concurrent processes sharing stderr do not interleave mid-line; control
 * characters are escaped so one event is always one line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

enum log_level	 log_threshold = LOG_LVL_INFO;
static char	 log_tag[32];

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void
log_init(enum log_level level, const char *tag)
{
	log_threshold = level;
	strlcpy_(log_tag, tag ? tag : "", sizeof(log_tag));
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
	if (write(STDERR_FILENO, line, o) < 0) {
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
