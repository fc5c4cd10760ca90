/*
 * load/snowpipe.h: handing the files a filesystem destination landed to
 * Snowflake's Snowpipe, configured under the destination:
 *
 *   [destination.lake.snowpipe]
 *   mode = "rest"                 # or "auto_ingest"
 *   pipe = "DLT.OPEN_EXCHANGE_RATES.EXCHANGE_RATES_PIPE"
 *   table = "exchange_rates"      # whose files the pipe copies
 *   account = "orgname-accountname"   # both modes: the key-pair user
 *   user = "SVC_DLT"
 *   private_key = "..."           # secret: PEM or base64, as dlt
 *   private_key_passphrase = "..."   # secret, optional
 *   host = "..."                  # default <account>.snowflakecomputing.com
 *   protocol = "https"
 *   timeout = 600                 # seconds to wait for the files
 *
 * rest: Snowpipe's REST API, POST /v1/data/pipes/<pipe>/insertFiles?
 * requestId=<uuid> with a key-pair JWT (snowflake/jwt.h) as bearer, then
 * GET insertReport (beginMark carried on) until every file sent is
 * LOADED or failed (LOAD_FAILED, PARTIALLY_LOADED), or the timeout.
 * auto_ingest: the bucket's ObjectCreated notifications feed the pipe;
 * pfagent polls the pipe's loadHistoryScan (from ten minutes before the
 * hand-off) with the same JWT until each file has an outcome.
 */
#ifndef LOAD_SNOWPIPE_H
#define LOAD_SNOWPIPE_H

#include <stddef.h>

struct cfg;
struct ld_snowpipe;

/* A file's outcome as insertReport says it. */
struct ld_snowpipe_file {
	char		*path;		/* relative to the stage */
	char		*status;	/* "LOADED", "LOAD_FAILED", ... */
	long long	 rows;		/* rowsInserted */
	char		*error;		/* firstError, or NULL */
};

struct ld_snowpipe_report {
	struct ld_snowpipe_file	*f;
	size_t			 n;
};

/*
 * The destination's Snowpipe settings: 0 with *out (NULL when there is
 * no [destination.<name>.snowpipe] pipe), -1 with err (a key missing or
 * unreadable; never the key itself).
 */
int	ld_snowpipe_open(struct cfg *cfg, const char *dest_name,
	    const char *pipeline, struct ld_snowpipe **out, char *err,
	    size_t errlen);
void	ld_snowpipe_close(struct ld_snowpipe *);
/* The table whose files go to the pipe, and the mode. */
const char *ld_snowpipe_table(const struct ld_snowpipe *);
const char *ld_snowpipe_mode(const struct ld_snowpipe *);

/*
 * Hands paths (relative to the stage: "<table>/<file>") to the pipe and
 * waits for their outcome. 0 when every file is LOADED; -1 with err
 * naming the files that failed or were still pending at the timeout.
 * rep gets every file's outcome either way (cleanup after).
 */
int	ld_snowpipe_ingest(struct ld_snowpipe *, const char *const *paths,
	    size_t n, struct ld_snowpipe_report *rep, char *err,
	    size_t errlen);
void	ld_snowpipe_report_cleanup(struct ld_snowpipe_report *);

/* insertReport's answer folded into rep (for tests and fuzzing): each
   listed file among rep's paths gets its status. -1: not JSON. */
int	ld_snowpipe_parse_report(const char *body, struct ld_snowpipe_report
	    *rep, char **next_begin_mark);

#endif
