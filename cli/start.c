/*
 * conf.c: options of `pfagent start`. One table gives every option its
 * flag, Prefect's environment variable, default and help text, and
 * drives parsing, precedence (flag > variable > default) and --help.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker.h"
#include "config/workspace.h"
#include "common/log.h"
#include "common/util.h"

enum opt_type { OPT_STR, OPT_INT, OPT_SECONDS, OPT_FLAG, OPT_LIST };

struct opt {
	const char	*flag;
	const char	*env;
	enum opt_type	 type;
	const char	*def;
	size_t		 off;
	const char	*arg;
	const char	*help;
};

#define O(f) offsetof(struct conf, f)

static const struct opt opts[] = {
	{ "--pool", NULL, OPT_STR, NULL, O(pool), "NAME",
	  "work pool to serve; created (of --type) when missing" },
	{ "--type", "PFAGENT_WORKER_TYPE", OPT_STR, "process", O(type), "TYPE",
	  "work pool type: process (flow runs as local processes) or ecs "
	  "(as ECS tasks, like prefect-aws's ECS worker)" },
	{ "--work-queue", NULL, OPT_LIST, NULL, O(queues), "QUEUE",
	  "queue of the pool to poll; repeat for several (default: all)" },
	{ "--name", NULL, OPT_STR, NULL, O(name), "NAME",
	  "worker name shown by Prefect (default: pfagent <uuid>)" },
	{ "--limit", NULL, OPT_INT, "0", O(limit), "N",
	  "most flow runs at once; 0 means no limit" },
	{ "--run-once", NULL, OPT_FLAG, NULL, O(run_once), NULL,
	  "claim what is due now, wait for those runs, exit" },
	{ "--query-seconds", "PREFECT_WORKER_QUERY_SECONDS", OPT_SECONDS, "10",
	  O(query_seconds), "S", "seconds between polls for scheduled runs" },
	{ "--prefetch-seconds", "PREFECT_WORKER_PREFETCH_SECONDS", OPT_SECONDS,
	  "10", O(prefetch_seconds), "S",
	  "claim runs scheduled up to S seconds ahead" },
	{ "--heartbeat-seconds", "PREFECT_WORKER_HEARTBEAT_SECONDS",
	  OPT_SECONDS, "30", O(heartbeat_seconds), "S",
	  "seconds between worker heartbeats" },
	{ "--state-dir", "PFAGENT_STATE_DIR", OPT_STR, NULL, O(state_dir),
	  "DIR", "the agent's own files: git cache, journal "
	  "[$XDG_STATE_HOME/pfagent or ~/.local/state/pfagent]" },
	{ "--git-cache-mb", "PFAGENT_GIT_CACHE_MB", OPT_INT, "2048",
	  O(git_cache_mb), "MB", "bound on cached git mirrors and trees; "
	  "0 means no bound" },
	{ "--cancel-grace-seconds", "PFAGENT_CANCEL_GRACE_SECONDS",
	  OPT_SECONDS, "30", O(cancel_grace_seconds), "S",
	  "on cancellation, seconds between SIGTERM and SIGKILL" },
	{ "--drain-seconds", "PFAGENT_DRAIN_SECONDS", OPT_SECONDS, "90",
	  O(drain_seconds), "S", "on SIGTERM/SIGINT, seconds running flow "
	  "runs get to finish before they are stopped; 0 stops them at once" },
	{ "--drain-action", "PFAGENT_DRAIN_ACTION", OPT_STR, "crash",
	  O(drain_action), "ACTION", "what a run still going when the drain "
	  "ends becomes: crash (Crashed) or reschedule (Scheduled again)" },
	{ "--cancellation-poll-seconds",
	  "PREFECT_WORKER_CANCELLATION_POLL_SECONDS", OPT_SECONDS, "5",
	  O(cancel_poll_seconds), "S", "while the event stream is down or "
	  "off, seconds between polls for cancelled runs" },
	{ "--no-events", NULL, OPT_FLAG, NULL, O(no_events), NULL,
	  "no event stream (websocket): find new and cancelled runs by "
	  "polling only" },
	{ "--log-level", "PFAGENT_LOG_LEVEL", OPT_STR, "info", O(log_level),
	  "LEVEL", "agent log level: debug, info, warning, error" },
	{ "--log-format", "PFAGENT_LOG_FORMAT", OPT_STR, "text", O(log_format),
	  "FORMAT", "agent log format: text, or json (one object a line)" },
	{ "--health-port", "PFAGENT_HEALTH_PORT", OPT_INT, "0", O(health_port),
	  "PORT", "serve /health, /live and /metrics on this port; 0: off" },
	{ "--health-address", "PFAGENT_HEALTH_ADDRESS", OPT_STR, "127.0.0.1",
	  O(health_address), "ADDR", "address the health server binds to" },
	{ "--profile", NULL, OPT_STR, NULL, O(profile), "NAME",
	  "dlt workspace profile of the flow runs (WORKSPACE__PROFILE in "
	  "their environment): dev, prod, tests, access" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

void
conf_usage_start(void)
{
	printf("usage: pfagent start --pool NAME [options]\n\n"
	    "Joins a Prefect work pool as a worker and runs its flow runs.\n\n"
	    "options:\n");
	for (size_t i = 0; i < NOPTS; i++) {
		char	left[64];

		snprintf(left, sizeof(left), "%s%s%s", opts[i].flag,
		    opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		printf("  %-26s %s", left, opts[i].help);
		if (opts[i].def != NULL && opts[i].type != OPT_FLAG)
			printf(" [%s]", opts[i].def);
		if (opts[i].env != NULL)
			printf("\n  %-26s env: %s", "", opts[i].env);
		printf("\n");
	}
	printf("\nenvironment (as in Prefect):\n"
	    "  PREFECT_API_URL                        API to work against "
	    "(required)\n"
	    "  PREFECT_API_KEY                        Bearer key (Prefect "
	    "Cloud)\n"
	    "  PREFECT_API_AUTH_STRING                user:password, sent as "
	    "Basic auth\n"
	    "  PREFECT_API_SSL_CERT_FILE              CA bundle for TLS\n"
	    "  PREFECT_API_TLS_INSECURE_SKIP_VERIFY   true: do not verify "
	    "TLS\n"
	    "  PREFECT_API_REQUEST_TIMEOUT            seconds per request "
	    "[60]\n");
}

static int
set_value(struct conf *c, const struct opt *o, const char *v, char *err,
    size_t errlen)
{
	char	*p = (char *)c + o->off, *end;
	double	 d;
	long	 l;

	switch (o->type) {
	case OPT_STR:
		free(*(char **)p);
		*(char **)p = xstrdup(v);
		return 0;
	case OPT_LIST:
		if (c->nqueues == MAX_QUEUES) {
			errorf(err, errlen, "%s: at most %d", o->flag,
			    MAX_QUEUES);
			return -1;
		}
		c->queues[c->nqueues++] = xstrdup(v);
		return 0;
	case OPT_INT:
		errno = 0;
		l = strtol(v, &end, 10);
		if (errno || *end || end == v || l < 0 || l > 100000) {
			errorf(err, errlen, "%s: '%s' is not a whole number "
			    "from 0 to 100000", o->flag, v);
			return -1;
		}
		*(int *)p = (int)l;
		return 0;
	case OPT_SECONDS:
		errno = 0;
		d = strtod(v, &end);
		if (errno || *end || end == v || d < 0 || d > 86400) {
			errorf(err, errlen, "%s: '%s' is not a number of "
			    "seconds from 0 to 86400", o->flag, v);
			return -1;
		}
		*(double *)p = d;
		return 0;
	case OPT_FLAG:
		*(int *)p = 1;
		return 0;
	}
	return -1;
}

/* Sets each option the command line names; seen[k] marks opts[k]. */
static int
parse_flags(struct conf *c, int argc, char **argv, int *seen, char *err,
    size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		const char	*a = argv[i], *v = NULL, *eq;
		size_t		 k, flen;

		eq = strchr(a, '=');
		flen = eq ? (size_t)(eq - a) : strlen(a);
		for (k = 0; k < NOPTS; k++)
			if (strlen(opts[k].flag) == flen &&
			    strncmp(opts[k].flag, a, flen) == 0)
				break;
		if (k == NOPTS) {
			errorf(err, errlen, "unknown option '%s' "
			    "(see pfagent start --help)", a);
			return -1;
		}
		if (opts[k].type != OPT_FLAG) {
			if (eq != NULL)
				v = eq + 1;
			else if (i + 1 < argc)
				v = argv[++i];
			else {
				errorf(err, errlen, "%s needs a value",
				    opts[k].flag);
				return -1;
			}
		}
		if (set_value(c, &opts[k], v, err, errlen) == -1)
			return -1;
		seen[k] = 1;
	}
	return 0;
}

/* Variables, then defaults, for what no flag set. */
static int
set_unseen(struct conf *c, const int *seen, char *err, size_t errlen)
{
	for (size_t k = 0; k < NOPTS; k++) {
		const char *v = opts[k].env ? getenv(opts[k].env) : NULL;

		if (seen[k] || opts[k].type == OPT_FLAG ||
		    opts[k].type == OPT_LIST)
			continue;
		if (v != NULL && *v != '\0') {
			char	e2[200];

			if (set_value(c, &opts[k], v, e2, sizeof(e2)) == -1) {
				errorf(err, errlen, "%s (from %s)", e2,
				    opts[k].env);
				return -1;
			}
		} else if (opts[k].def != NULL &&
		    set_value(c, &opts[k], opts[k].def, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Checks what the table cannot (required, names, choices), fills the
 * computed defaults and raises the intervals to their floors. */
static int
finish_conf(struct conf *c, char *err, size_t errlen)
{
	if (c->pool == NULL || *c->pool == '\0') {
		errorf(err, errlen, "--pool NAME is required");
		return -1;
	}
	if (c->name == NULL) {
		char	id[37];

		uuid4(id);
		c->name = xasprintf("pfagent %s", id);
	}
	if (strpbrk(c->name, "/%") != NULL) {
		errorf(err, errlen, "--name may not contain '/' or '%%'");
		return -1;
	}
	if (c->state_dir == NULL)
		c->state_dir = state_dir_default();
	if (c->profile != NULL && !ws_profile_name_ok(c->profile)) {
		errorf(err, errlen, "--profile: '%s' may only hold letters, "
		    "digits, '_' and '-'", c->profile);
		return -1;
	}
	if (c->health_port > 65535) {
		errorf(err, errlen, "--health-port: %d is not a TCP port",
		    c->health_port);
		return -1;
	}
	if (strcmp(c->log_format, "text") != 0 &&
	    strcmp(c->log_format, "json") != 0) {
		errorf(err, errlen, "--log-format: '%s' is not text or json",
		    c->log_format);
		return -1;
	}
	if (strcmp(c->type, "process") != 0 && strcmp(c->type, "ecs") != 0) {
		errorf(err, errlen, "--type must be process or ecs, not '%s'",
		    c->type);
		return -1;
	}
	c->ecs = strcmp(c->type, "ecs") == 0;
	if (strcmp(c->drain_action, "crash") != 0 &&
	    strcmp(c->drain_action, "reschedule") != 0) {
		errorf(err, errlen, "--drain-action: '%s' is not crash or "
		    "reschedule", c->drain_action);
		return -1;
	}
	c->drain_reschedule = strcmp(c->drain_action, "reschedule") == 0;
	if (c->query_seconds < 0.05)
		c->query_seconds = 0.05;
	if (c->cancel_poll_seconds < 0.5)
		c->cancel_poll_seconds = 0.5;
	if (c->heartbeat_seconds < 1)
		c->heartbeat_seconds = 1;
	return 0;
}

int
conf_parse_start(struct conf *c, int argc, char **argv, char *err,
    size_t errlen)
{
	int	seen[NOPTS] = { 0 };

	memset(c, 0, sizeof(*c));
	if (parse_flags(c, argc, argv, seen, err, errlen) == -1 ||
	    set_unseen(c, seen, err, errlen) == -1)
		return -1;
	return finish_conf(c, err, errlen);
}

void
conf_cleanup(struct conf *c)
{
	free(c->pool);
	free(c->name);
	free(c->log_level);
	free(c->log_format);
	free(c->health_address);
	free(c->state_dir);
	free(c->profile);
	free(c->drain_action);
	free(c->type);
	for (int i = 0; i < c->nqueues; i++)
		free(c->queues[i]);
	memset(c, 0, sizeof(*c));
}
