/*
 * executor.h: `pfagent execute`, the per-run child process.
 */
#ifndef AGENT_EXECUTOR_H
#define AGENT_EXECUTOR_H

int	executor_main(void);

#endif
