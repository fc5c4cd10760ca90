/*
 * run.h: `pfagent run`, a flow run in this process (executor_run).
 */
#ifndef CLI_RUN_H
#define CLI_RUN_H

/* argv: the words after "run". Returns the exit status. */
int	run_main(int argc, char **argv);

#endif
