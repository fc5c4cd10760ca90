/*
 * log.h: the agent's own log (stderr), one event per line:
 *   2026-11-21T12:00:00.123Z INFO  msg
 * or, with PFAGENT_LOG_FORMAT=json, one JSON object per line:
 *   {"timestamp":"2026-11-21T12:00:00.123Z","level":"INFO",
 *    "logger":"pfagent","message":"msg","flow_run_id":"..."}
 * A message about a run starts "flow run <id> (<name>): " by convention;
 * in JSON the id and name also become fields. Never the flow-run log:
 * that one is shipped to Prefect (see logship).
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

/* Also reads PFAGENT_LOG_FORMAT (text, json). */
void	log_init(enum log_level, const char *tag);
/* 1 when lines are JSON objects. */
int	log_json(void);
/* The descriptor lines are written to (2 unless log_set_out moved it). */
int	log_out(void);
void	log_set_out(int fd);
/* The run every line of this process is about (the executor), or NULL. */
void	log_set_run(const char *flow_run_id, const char *flow_run_name);
/*
 * Writes one JSON line: fields are key/value pairs ending with NULL
 * (a NULL value skips its key). level is Python's name (INFO, ...).
 */
void	log_json_write(const char *level, const char *logger,
	    const char *message, const char *const *fields);
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
