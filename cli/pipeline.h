/*
 * pipeline_cmd.h: `pfagent pipeline NAME sync|info`, dlt's
 * `dlt pipeline NAME sync|info` for pipelines loaded by pfagent.
 */
#ifndef CLI_PIPELINE_H
#define CLI_PIPELINE_H

/* argv: the words after "pipeline". Returns the exit status. */
int	pipeline_main(int argc, char **argv);

#endif
