/*
 * execute.h: `pfagent execute`, the flow-run process `pfagent start`
 * starts for each run (executor/executor.h does the work).
 */
#ifndef CLI_EXECUTE_H
#define CLI_EXECUTE_H

/* argv: the words after "execute". Returns the exit status. */
int	execute_main(int argc, char **argv);

#endif
