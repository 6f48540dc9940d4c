/* SPDX-License-Identifier: MIT */
/* task.h: the one thing the scheduler moves. An actor, a timer expiry, later a join frame or an
 * I/O completion: each embeds a task whose run function the worker calls. */
#ifndef AX_SCHED_TASK_H
#define AX_SCHED_TASK_H

#include <stddef.h>

#include "core/mpsc.h"

struct sched_thread;

struct sched_task {
    /* Called on a worker; self is that worker's thread record. self == NULL means "discard":
     * the runtime is being destroyed and the task must release itself without running. */
    void (*run)(struct sched_task *t, struct sched_thread *self);
    struct mpsc_node link; /* for the inject queue */
};

/* The task whose link n is (NULL for NULL): what the inject queue hands back. */
static inline struct sched_task *sched_task_of_link(struct mpsc_node *n) {
    return n ? (struct sched_task *)((char *)n - offsetof(struct sched_task, link)) : NULL;
}

#endif
