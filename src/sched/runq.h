/* SPDX-License-Identifier: MIT */
/* runq.h: a worker's run queue of tasks: a fixed ring the owner uses FIFO (push at the tail, pop
 * at the head) and thieves take half of at once. When full, half of it spills to an overflow queue.
 *
 * The design of Tokio's local queue (tokio/src/runtime/scheduler/multi_thread/queue.rs, read to
 * learn): the head word packs two 32-bit positions, `real` (the next task to hand out) and `steal`
 * (where an unfinished steal began; equal to real when none runs). A thief claims [real, real+n)
 * by moving real alone in one CAS, copies the claimed tasks into its own ring, then sets steal =
 * real in a second CAS. Until then the owner neither overwrites the claimed slots (its room is
 * counted from steal) nor lets another thief in (a thief backs off while steal != real). So one
 * steal moves many tasks for two CASes, and the owner's pop stays one CAS nobody else contends
 * with unless a steal is under way. Positions are free-running uint32_t; differences wrap. */
#ifndef AX_SCHED_RUNQ_H
#define AX_SCHED_RUNQ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/mpsc.h"
#include "core/platform.h"
#include "sched/task.h"

#define RUNQ_CAPACITY 256u /* a power of two */

struct runq {
    AX_ALIGNED_LINE _Atomic uint64_t head; /* steal << 32 | real; the owner and thieves CAS it */
    _Atomic uint32_t tail;                 /* written by the owner only */
    _Atomic(struct sched_task *) slots[RUNQ_CAPACITY];
};

/* Not thread-safe: an empty queue. */
void runq_init(struct runq *q);

/* Owner only: appends t. A full queue moves its older half and t to `overflow` (FIFO, any thread
 * may take from it), or t alone while a steal is under way. True if the queue was empty before
 * (as far as the owner can tell: a thief may have emptied it meanwhile). */
bool runq_push_owner(struct runq *q, struct sched_task *t, struct mpsc *overflow);
/* Owner only: the oldest task, or NULL if empty. */
struct sched_task *runq_pop_owner(struct runq *q);
/* The owner of dst (whose queue is empty), from src of another worker: takes half of src's
 * tasks (rounded up), returns the oldest of them and queues the rest in dst. NULL if src was
 * empty or another thief was busy with it. Never blocks. */
struct sched_task *runq_steal_half(struct runq *src, struct runq *dst);
/* Any thread: a snapshot of the number of tasks not yet handed out. */
uint32_t runq_len(struct runq *q);

#endif
