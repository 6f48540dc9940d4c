/* SPDX-License-Identifier: MIT */
/* runq.c: the worker run queue of runq.h: the owner's FIFO push and pop, the thieves' steal of
 * half, and the spill of half a full queue to the overflow queue. */
#include "sched/runq.h"

#define MASK (RUNQ_CAPACITY - 1u)

static inline uint64_t pack(uint32_t steal, uint32_t real) {
    return ((uint64_t)steal << 32) | real;
}
static inline uint32_t steal_of(uint64_t head) { return (uint32_t)(head >> 32); }
static inline uint32_t real_of(uint64_t head) { return (uint32_t)head; }

void runq_init(struct runq *q) {
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    for (unsigned i = 0; i < RUNQ_CAPACITY; i++) atomic_init(&q->slots[i], NULL);
}

/* Moves the older half of a full queue, then t, to overflow. False if a thief moved the head
 * meanwhile (the caller tries its push again). */
static bool spill_half(struct runq *q, uint64_t head, struct sched_task *t, struct mpsc *overflow) {
    uint32_t real = real_of(head), half = RUNQ_CAPACITY / 2;
    /* Claims the half as a thief would, in one step (no thief is busy: steal == real).
     * acq_rel: acquire orders our slot reads after any thief's; pairs with their CASes. */
    if (!atomic_compare_exchange_strong_explicit(&q->head, &head, pack(real + half, real + half),
                                                 memory_order_acq_rel, memory_order_relaxed))
        return false;
    for (uint32_t i = 0; i < half; i++) {
        struct sched_task *s = atomic_load_explicit(&q->slots[(real + i) & MASK],
                                                    memory_order_relaxed);
        mpsc_push(overflow, &s->link);
    }
    mpsc_push(overflow, &t->link);
    return true;
}

bool runq_push_owner(struct runq *q, struct sched_task *t, struct mpsc *overflow) {
    for (;;) {
        /* acquire: pairs with a thief's release CAS that ends its steal, so its reads of the
         * slots it copied happen before we overwrite them. */
        uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
        uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed); /* ours */
        if (tail - steal_of(head) < RUNQ_CAPACITY) {
            atomic_store_explicit(&q->slots[tail & MASK], t, memory_order_relaxed);
            /* release: publishes the slot; pairs with the acquire load of tail in steal. */
            atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
            return tail == real_of(head);
        }
        if (steal_of(head) != real_of(head)) { /* a thief is making room: t alone goes */
            mpsc_push(overflow, &t->link);
            return false;
        }
        if (spill_half(q, head, t, overflow)) return false;
    }
}

struct sched_task *runq_pop_owner(struct runq *q) {
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    for (;;) {
        uint32_t steal = steal_of(head), real = real_of(head);
        if (real == atomic_load_explicit(&q->tail, memory_order_relaxed)) return NULL;
        /* With no steal under way both positions advance; otherwise the thief's steal position
         * stays until it finishes. */
        uint64_t next = steal == real ? pack(real + 1, real + 1) : pack(steal, real + 1);
        /* acq_rel: claims slot `real` against thieves' CASes of the same word. */
        if (atomic_compare_exchange_weak_explicit(&q->head, &head, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            return atomic_load_explicit(&q->slots[real & MASK], memory_order_relaxed);
    }
}

/* Claims up to half of src's tasks (at most room); returns how many, and their first position
 * in *first. 0 if src is empty or another thief is busy with it. */
static uint32_t claim_half(struct runq *src, uint32_t room, uint32_t *first) {
    uint64_t head = atomic_load_explicit(&src->head, memory_order_acquire);
    for (;;) {
        uint32_t steal = steal_of(head), real = real_of(head);
        if (steal != real) return 0;
        /* acquire: pairs with the owner's release store of tail, so the slots are written. */
        uint32_t tail = atomic_load_explicit(&src->tail, memory_order_acquire);
        uint32_t n = tail - real;
        n -= n / 2;
        if (n > room) n = room;
        if (n == 0) return 0;
        /* acq_rel: claims [real, real + n) against the owner's pops and other thieves. */
        if (atomic_compare_exchange_weak_explicit(&src->head, &head, pack(steal, real + n),
                                                  memory_order_acq_rel, memory_order_acquire)) {
            *first = real;
            return n;
        }
    }
}

struct sched_task *runq_steal_half(struct runq *src, struct runq *dst) {
    uint32_t dst_tail = atomic_load_explicit(&dst->tail, memory_order_relaxed); /* ours */
    uint32_t room = RUNQ_CAPACITY -
                    (dst_tail - steal_of(atomic_load_explicit(&dst->head, memory_order_acquire)));
    uint32_t first, n = claim_half(src, room, &first);
    if (n == 0) return NULL;
    /* The oldest claimed task runs now; the others go to dst in order. */
    struct sched_task *run = atomic_load_explicit(&src->slots[first & MASK], memory_order_relaxed);
    for (uint32_t i = 1; i < n; i++) {
        struct sched_task *t = atomic_load_explicit(&src->slots[(first + i) & MASK],
                                                    memory_order_relaxed);
        atomic_store_explicit(&dst->slots[(dst_tail + i - 1) & MASK], t, memory_order_relaxed);
    }
    /* Ends the steal: steal = real again, so the owner may reuse the slots we read. release:
     * pairs with the acquire load of head in runq_push_owner. */
    uint64_t head = atomic_load_explicit(&src->head, memory_order_acquire);
    while (!atomic_compare_exchange_weak_explicit(&src->head, &head,
                                                  pack(real_of(head), real_of(head)),
                                                  memory_order_acq_rel, memory_order_acquire)) {
    }
    /* release: publishes the copies; pairs with a thief's acquire load of dst's tail. */
    if (n > 1) atomic_store_explicit(&dst->tail, dst_tail + n - 1, memory_order_release);
    return run;
}

uint32_t runq_len(struct runq *q) {
    uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    uint32_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    return tail - real_of(head);
}
