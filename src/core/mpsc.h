/* mpsc.h: Vyukov's intrusive multi-producer single-consumer queue, used for every mailbox and
 * for the scheduler's inject queue. A push is one atomic exchange and one store; no allocation.
 *
 * Source: D. Vyukov, "Intrusive MPSC node-based queue" (1024cores.net). The queue is a singly
 * linked list from head (consumer) to tail (producers). A producer swings tail to its node with
 * an exchange, then links the previous tail to it; between the two steps the list is briefly
 * cut, which the consumer sees as "empty for now" (mpsc_pop returns NULL although tail moved).
 * A stub node keeps the list non-empty so the consumer never pops the node that is still the
 * tail: a popped node is never written again by producers, so it may be reused at once.
 *
 * Idle mark (our addition, for mailboxes): the consumer may mark an empty queue idle by setting
 * bit 0 of tail with a CAS from the stub. The next push's exchange returns the marked stub and
 * so learns, atomically, that it made the queue non-empty and must schedule the consumer. */
#ifndef AX_CORE_MPSC_H
#define AX_CORE_MPSC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/platform.h"

struct mpsc_node {
    _Atomic(struct mpsc_node *) next;
};

struct mpsc {
    _Atomic(uintptr_t) tail; /* producers: the newest node, bit 0 = idle mark */
    struct mpsc_node *head;  /* consumer only: the oldest node (maybe the stub) */
    struct mpsc_node stub;
};

#define MPSC_IDLE ((uintptr_t)1)

/* Not thread-safe. idle: start marked idle (the first push reports it). */
static inline void mpsc_init(struct mpsc *q, bool idle) {
    atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
    q->head = &q->stub;
    atomic_store_explicit(&q->tail, (uintptr_t)&q->stub | (idle ? MPSC_IDLE : 0),
                          memory_order_relaxed);
}

/* Any thread. Returns true if the queue was marked idle, i.e. this push woke the consumer. */
static inline bool mpsc_push(struct mpsc *q, struct mpsc_node *n) {
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* acq_rel: release publishes n's contents to the consumer; acquire orders us after the
     * previous producer's exchange so our link below lands after its node is complete. */
    uintptr_t prev = atomic_exchange_explicit(&q->tail, (uintptr_t)n, memory_order_acq_rel);
    struct mpsc_node *p = (struct mpsc_node *)(prev & ~MPSC_IDLE);
    /* release: pairs with the acquire load of next in mpsc_pop. */
    atomic_store_explicit(&p->next, n, memory_order_release);
    return (prev & MPSC_IDLE) != 0;
}

/* Consumer only. The oldest node, or NULL when empty or when a push is half done. */
static inline struct mpsc_node *mpsc_pop(struct mpsc *q) {
    struct mpsc_node *head = q->head;
    /* acquire: pairs with the release store of next in mpsc_push. */
    struct mpsc_node *next = atomic_load_explicit(&head->next, memory_order_acquire);
    if (head == &q->stub) {
        if (next == NULL) return NULL;
        q->head = next;
        head = next;
        next = atomic_load_explicit(&head->next, memory_order_acquire);
    }
    if (next != NULL) {
        q->head = next;
        return head;
    }
    /* head is the last linked node; if it is not the tail a push is in flight. */
    if ((uintptr_t)head != atomic_load_explicit(&q->tail, memory_order_acquire)) return NULL;
    mpsc_push(q, &q->stub); /* re-insert the stub behind head so head can leave */
    next = atomic_load_explicit(&head->next, memory_order_acquire);
    if (next != NULL) {
        q->head = next;
        return head;
    }
    return NULL;
}

/* Consumer only, after mpsc_pop returned NULL. Marks the queue idle if it is truly empty and
 * returns true: the consumer must then stop touching the queue (the next pusher owns the wake).
 * Returns false if a push is in flight: the consumer still owns the queue. */
static inline bool mpsc_try_idle(struct mpsc *q) {
    if (q->head != &q->stub) return false;
    uintptr_t expect = (uintptr_t)&q->stub;
    /* release: our consumption (head updates) happens before whoever pushes next and wakes up
     * a new consumer; acquire on failure is not needed (we only learn "not empty"). */
    return atomic_compare_exchange_strong_explicit(&q->tail, &expect, expect | MPSC_IDLE,
                                                   memory_order_acq_rel, memory_order_relaxed);
}

/* Any thread; a hint only. True if there is nothing after the stub and tail is the stub. */
static inline bool mpsc_looks_empty(struct mpsc *q) {
    uintptr_t t = atomic_load_explicit(&q->tail, memory_order_acquire) & ~MPSC_IDLE;
    return t == (uintptr_t)&q->stub;
}

#endif
