/*
 * log.h: the agent's own log (stderr), one event per line:
 *   2026-11-21T12:00:00.123Z INFO  msg
 * Never the flow-run log: that one is shipped to Prefect (see logship).
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

/* Python logging levels, as flow-run logs carry them to Prefect. */
#define PF_LEVEL_DEBUG		10
#define PF_LEVEL_INFO		20
#define PF_LEVEL_WARNING	30
#define PF_LEVEL_ERROR		40
#define PF_LEVEL_CRITICAL	50

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };

extern enum log_level log_threshold;

void	log_init(enum log_level, const char *tag);
int	log_level_parse(const char *, enum log_level *);
void	log_msg(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Like log_msg at WARN, appending ": strerror(errno)". */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Skips evaluating the arguments when the level is filtered out. */
#define log_debug(...) do { if (log_threshold <= LOG_LVL_DEBUG) \
	log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...) do { if (log_threshold <= LOG_LVL_INFO) \
	log_msg(LOG_LVL_INFO, __VA_ARGS__); } while (0)
#define log_warnx(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

#endif
