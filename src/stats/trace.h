/* SPDX-License-Identifier: MIT */
/* trace.h: the flight recorder's ring, one per worker: the most recent events (handler runs,
 * sends, stops, parks), overwritten oldest first, written by the worker alone with relaxed
 * stores and published by a release store of the head; a reader copies what the head says and
 * drops what the writer may have overwritten meanwhile. runtime/trace_dump.c writes the rings
 * as Chrome trace JSON. */
#ifndef AX_STATS_TRACE_H
#define AX_STATS_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/platform.h"

enum trace_kind {
    TRACE_HANDLER = 1, /* a message handled: ts start, dur, type, actor, flow (message), name */
    TRACE_SEND,        /* a message sent from a handler: ts, type, receiver, sender, flow */
    TRACE_STOP,        /* an actor stopped: ts, reason, actor, name */
    TRACE_PARK,        /* the worker slept: ts start, dur */
    TRACE_ESCALATION,  /* a supervisor gave up: ts, supervisor */
};

/* Six words; the meaning of a..c depends on the kind (see above). */
struct trace_event {
    _Atomic uint64_t ts;   /* ns since the runtime started */
    _Atomic uint64_t meta; /* kind << 32 | type or reason (32 bits) */
    _Atomic uint64_t dur;  /* ns (handler, park); the receiver (send) */
    _Atomic uint64_t actor, flow, name; /* name: a const char * (a behavior's) */
};

/* A plain copy, as a reader takes it. */
struct trace_record {
    uint64_t ts, meta, dur, actor, flow, name;
};

struct trace_ring {
    struct trace_event *ev;
    uint64_t mask;                     /* capacity - 1 (a power of two) */
    AX_ALIGNED_LINE _Atomic uint64_t head; /* events written so far */
};

/* A ring of at least `events` (rounded up to a power of two, at most 2^24); 0 or -ENOMEM. */
int trace_ring_init(struct trace_ring *r, uint64_t events);
void trace_ring_destroy(struct trace_ring *r);

/* Writer only. */
static inline void trace_put(struct trace_ring *r, uint64_t ts, uint32_t kind, uint32_t x,
                             uint64_t dur, uint64_t actor, uint64_t flow, const void *name) {
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    struct trace_event *e = &r->ev[h & r->mask];
    atomic_store_explicit(&e->ts, ts, memory_order_relaxed);
    atomic_store_explicit(&e->meta, (uint64_t)kind << 32 | x, memory_order_relaxed);
    atomic_store_explicit(&e->dur, dur, memory_order_relaxed);
    atomic_store_explicit(&e->actor, actor, memory_order_relaxed);
    atomic_store_explicit(&e->flow, flow, memory_order_relaxed);
    atomic_store_explicit(&e->name, (uint64_t)(uintptr_t)name, memory_order_relaxed);
    /* release: the event's words are written before a reader that sees the new head reads
     * them (acquire in trace_ring_copy). */
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

/* Any thread: the events written so far (the ring keeps the last capacity of them). */
static inline uint64_t trace_ring_written(struct trace_ring *r) {
    return atomic_load_explicit(&r->head, memory_order_acquire);
}

/* Any thread: copies the newest events still in the ring, at most max, oldest first, into out;
 * returns how many. Events the writer overwrote while we copied are left out, so every record
 * returned is whole. */
size_t trace_ring_copy(struct trace_ring *r, struct trace_record *out, size_t max);

#endif
