/* SPDX-License-Identifier: MIT */
/* stats.h: per-thread event counters. Only the owning thread writes (a relaxed load and store,
 * no read-modify-write on the hot path); any thread may read them for a snapshot. */
#ifndef AX_STATS_STATS_H
#define AX_STATS_STATS_H

#include <stdint.h>

#include "core/platform.h"

enum stats_counter {
    STAT_SENT,
    STAT_PROCESSED,
    STAT_FAILED,
    STAT_DEAD_LETTERS,
    STAT_SPAWNED,
    STAT_STOPPED,
    STAT_RESTARTS,
    STAT_ESCALATIONS,
    STAT_STEALS,
    STAT_PARKS,
    STAT_IO_OPENED,
    STAT_IO_CLOSED,
    STAT_IO_ACCEPTS,
    STAT_IO_REFUSED,
    STAT_IO_ACCEPT_PAUSES,
    STAT_IO_BYTES_IN,
    STAT_IO_BYTES_OUT,
    STAT_IO_ENTERS,
    STAT_IO_SUBMITTED,
    STAT_IO_COMPLETIONS,
    STAT_TASKS,        /* tasks a worker ran (an actor's turn, a join frame, a blocking result) */
    STAT_STEAL_TRIES,  /* victims a worker tried to steal from that looked non-empty */
    STAT_WAKEUPS,      /* parks that a notifier or a due event ended */
    STAT_TIMERS_FIRED, /* wheel entries this thread fired (cancelled ones included) */
    STAT_MAILBOX_FULL, /* user messages a bounded mailbox refused or dead-lettered */
    STAT_IDLE_NS,      /* time a worker spent searching and parked (closed spells) */
    STAT_COUNT
};

struct stats_counters {
    _Atomic uint64_t v[STAT_COUNT];
};

/* Owner thread only. */
static inline void stats_add(struct stats_counters *c, enum stats_counter k, uint64_t n) {
    uint64_t old = atomic_load_explicit(&c->v[k], memory_order_relaxed);
    atomic_store_explicit(&c->v[k], old + n, memory_order_relaxed);
}

/* Any thread: adds c's counters into sum[STAT_COUNT]. */
static inline void stats_accumulate(const struct stats_counters *c, uint64_t *sum) {
    for (int k = 0; k < STAT_COUNT; k++)
        sum[k] += atomic_load_explicit((_Atomic uint64_t *)&c->v[k], memory_order_relaxed);
}

#endif
