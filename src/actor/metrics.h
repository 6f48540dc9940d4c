/* SPDX-License-Identifier: MIT */
/* metrics.h: a metered actor's counters and handler-time histogram. The block sits right after
 * the actor's state, in the same allocation, so it lives exactly as long as the actor's memory
 * (a snapshot that found the actor under its epoch may read it until the grace period ends).
 * The worker running the actor writes it; a metered actor's mailbox is counted as a bounded
 * one is, and its senders raise the peak. Not installed. */
#ifndef AX_ACTOR_METRICS_H
#define AX_ACTOR_METRICS_H

#include "actor/actor.h"
#include "stats/histogram.h"

struct actor_metrics {
    _Atomic uint64_t processed;
    uint64_t restarts, failures; /* set at spawn (a supervisor's child) */
    _Atomic uint32_t peak;  /* the deepest the mailbox was */
    struct hist handler_ns;
};

static inline size_t actor_metrics_offset(size_t state_size) {
    return sizeof(struct actor) + ((state_size + 15) & ~(size_t)15);
}

static inline struct actor_metrics *actor_metrics_of(struct actor *a) {
    return (struct actor_metrics *)((char *)a + actor_metrics_offset(a->behavior->state_size));
}

/* A sender: the mailbox holds depth user messages now. */
static inline void actor_metrics_depth(struct actor *a, uint32_t depth) {
    _Atomic uint32_t *p = &actor_metrics_of(a)->peak;
    uint32_t old = atomic_load_explicit(&p[0], memory_order_relaxed);
    while (depth > old && !atomic_compare_exchange_weak_explicit(p, &old, depth,
                                                                 memory_order_relaxed,
                                                                 memory_order_relaxed)) {
    }
}

#endif
