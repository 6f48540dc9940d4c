/* SPDX-License-Identifier: MIT */
/* epoch.h: epoch-based reclamation, so that memory a racing thread may still read (an actor
 * that a sender found just before it stopped) is reused only after every thread has moved on.
 * Workers report quiescent points between tasks (QSBR); outside threads enter and leave. */
#ifndef AX_MEM_EPOCH_H
#define AX_MEM_EPOCH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/platform.h"

/* One per thread that can touch shared objects. 0 = offline (holds no references). */
struct epoch_record {
    AX_ALIGNED_LINE _Atomic uint64_t local;
    char pad_[AX_CACHE_LINE - sizeof(uint64_t)];
};

#define EPOCH_MAX_RECORDS 1024

struct epoch_domain {
    AX_ALIGNED_LINE _Atomic uint64_t global; /* starts at 1; advances by one */
    AX_ALIGNED_LINE _Atomic(struct epoch_record *) records[EPOCH_MAX_RECORDS];
    _Atomic int nrecords; /* records[0, nrecords) are published */
};

/* A retired object waits on its thread's limbo list until two epochs have passed. */
struct epoch_node {
    struct epoch_node *next;
    uint64_t epoch;
};

struct epoch_limbo {
    struct epoch_node *head, *tail; /* owner only; FIFO, so epochs are non-decreasing */
    uint64_t count;
};

void epoch_domain_init(struct epoch_domain *d);
/* Publishes a record (offline). Caller serializes registrations. Returns false if full. */
bool epoch_register(struct epoch_domain *d, struct epoch_record *r);

/* Owner: goes online. After it returns, no object retired later can be freed before the
 * owner goes offline or reports a quiescent point. */
static inline void epoch_enter(struct epoch_domain *d, struct epoch_record *r) {
    uint64_t g = atomic_load_explicit(&d->global, memory_order_relaxed);
    /* seq_cst: our announcement must be visible before we read any shared pointer; pairs
     * with the seq_cst scan in epoch_try_advance. */
    atomic_store_explicit(&r->local, g, memory_order_seq_cst);
}

/* Owner: goes offline; every reference read while online is dropped. */
static inline void epoch_leave(struct epoch_record *r) {
    /* release: our reads of shared objects happen before a reclaimer sees us offline. */
    atomic_store_explicit(&r->local, 0, memory_order_release);
}

/* Owner, online, holding no references (a worker between tasks). Cheap when nothing changed. */
static inline void epoch_quiescent(struct epoch_domain *d, struct epoch_record *r) {
    uint64_t g = atomic_load_explicit(&d->global, memory_order_acquire);
    if (atomic_load_explicit(&r->local, memory_order_relaxed) != g)
        /* release: pairs with the acquire scan in epoch_try_advance. */
        atomic_store_explicit(&r->local, g, memory_order_release);
}

/* Any thread. Advances the global epoch if every online record has seen it; returns it. */
uint64_t epoch_try_advance(struct epoch_domain *d);

/* Owner: puts n on the limbo list, stamped with the current epoch. */
void epoch_retire(struct epoch_domain *d, struct epoch_limbo *l, struct epoch_node *n);

/* Owner: takes from l the nodes that are safe to free now (retired two epochs ago or more);
 * returns them as a list linked through next (NULL if none). */
struct epoch_node *epoch_collect(struct epoch_domain *d, struct epoch_limbo *l);

/* Everything on l, regardless of epochs: only when no other thread runs. */
struct epoch_node *epoch_take_all(struct epoch_limbo *l);

#endif
