/*
 * pipeline.h: `pfagent pipeline`, dlt's `dlt pipeline` commands
 * (sync, info, drop, abort-packages, schema, ...) for pipelines loaded
 * by pfagent.
 */
#ifndef CLI_PIPELINE_H
#define CLI_PIPELINE_H

/* argv: the words after "pipeline". Returns the exit status. */
int	pipeline_main(int argc, char **argv);

#endif
