/* SPDX-License-Identifier: MIT */
/* trace.c: the flight recorder ring's allocation and its reader (trace.h); writing is inline
 * there. */
#include "stats/trace.h"

#include <errno.h>
#include <stdlib.h>

#include "mem/fault.h"

#define TRACE_MAX_EVENTS ((uint64_t)1 << 24)

int trace_ring_init(struct trace_ring *r, uint64_t events) {
    uint64_t cap = 2;
    while (cap < events && cap < TRACE_MAX_EVENTS) cap *= 2;
    r->ev = mem_calloc(cap, sizeof *r->ev);
    if (!r->ev) return -ENOMEM;
    r->mask = cap - 1;
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    return 0;
}

void trace_ring_destroy(struct trace_ring *r) {
    free(r->ev);
    r->ev = NULL;
}

size_t trace_ring_copy(struct trace_ring *r, struct trace_record *out, size_t max) {
    uint64_t cap = r->mask + 1;
    /* acquire: pairs with the release store of head in trace_put. */
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t keep = cap < max ? cap : max;
    uint64_t first = head > keep ? head - keep : 0;
    for (uint64_t i = first; i < head; i++) {
        struct trace_event *e = &r->ev[i & r->mask];
        struct trace_record *o = &out[i - first];
        o->ts = atomic_load_explicit(&e->ts, memory_order_relaxed);
        o->meta = atomic_load_explicit(&e->meta, memory_order_relaxed);
        o->dur = atomic_load_explicit(&e->dur, memory_order_relaxed);
        o->actor = atomic_load_explicit(&e->actor, memory_order_relaxed);
        o->flow = atomic_load_explicit(&e->flow, memory_order_relaxed);
        o->name = atomic_load_explicit(&e->name, memory_order_relaxed);
    }
    /* The writer went on meanwhile: the slots it reused since we read head (plus the one it may
     * be writing) no longer hold what we think; keep only events older than that. acquire: our
     * reads above happen before this load (a fence orders them). */
    atomic_thread_fence(memory_order_acquire);
    uint64_t now = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t safe_from = now + 1 > cap ? now + 1 - cap : 0;
    if (safe_from <= first) return (size_t)(head - first);
    if (safe_from >= head) return 0;
    size_t drop = (size_t)(safe_from - first), n = (size_t)(head - first) - drop;
    for (size_t i = 0; i < n; i++) out[i] = out[i + drop];
    return n;
}
