/*
 * recover.h: at start-up, before the first claim, the flow runs a dead
 * worker left in the journal (journal.h) are reconciled with the API:
 *
 *   already final, or deleted            -> record dropped
 *   process alive (pid, start time, boot) -> adopted and watched (run.c)
 *   process gone                          -> Crashed: the worker died
 *     (Cancelling: Cancelled)
 *   claimed, never started (Pending, our  -> Scheduled again
 *     transition)
 *   our claim never landed (Scheduled, or -> record dropped
 *     another worker's Pending)
 *
 * agent->recovering counts the records in hand; polling waits for 0.
 */
#ifndef WORKER_RECOVER_H
#define WORKER_RECOVER_H

struct agent;

void	recover_start(struct agent *);

#endif
