/* SPDX-License-Identifier: MIT */
/* mpsc.h: Vyukov's intrusive multi-producer single-consumer queue, used for the scheduler's
 * inject queue (mailboxes use the variant in actor/mailbox.h). A push is one atomic exchange
 * and one store; no allocation.
 *
 * Source: D. Vyukov, "Intrusive MPSC node-based queue" (1024cores.net). The queue is a singly
 * linked list from head (consumer) to tail (producers). A producer swings tail to its node with
 * an exchange, then links the previous tail to it; between the two steps the list is briefly
 * cut, which the consumer sees as "empty for now" (mpsc_pop returns NULL although tail moved).
 * A stub node keeps the list non-empty so the consumer never pops the node that is still the
 * tail: a popped node is never written again by producers, so it may be reused at once. */
#ifndef AX_CORE_MPSC_H
#define AX_CORE_MPSC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/platform.h"

struct mpsc_node {
    _Atomic(struct mpsc_node *) next;
};

struct mpsc {
    _Atomic(struct mpsc_node *) tail; /* producers: the newest node */
    /* The oldest node (maybe the stub). Written by the consumer only; atomic (relaxed) so that
     * other threads may read it in mpsc_looks_empty. */
    _Atomic(struct mpsc_node *) head;
    struct mpsc_node stub;
};

/* Not thread-safe. */
static inline void mpsc_init(struct mpsc *q) {
    atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
    atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
    atomic_store_explicit(&q->tail, &q->stub, memory_order_relaxed);
}

/* Any thread. */
static inline void mpsc_push(struct mpsc *q, struct mpsc_node *n) {
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* acq_rel: release publishes n's contents to the consumer; acquire orders us after the
     * previous producer's exchange so our link below lands after its node is complete. */
    struct mpsc_node *p = atomic_exchange_explicit(&q->tail, n, memory_order_acq_rel);
    /* release: pairs with the acquire load of next in mpsc_pop. */
    atomic_store_explicit(&p->next, n, memory_order_release);
}

/* Consumer only. The oldest node, or NULL when empty or when a push is half done. */
static inline struct mpsc_node *mpsc_pop(struct mpsc *q) {
    struct mpsc_node *head = atomic_load_explicit(&q->head, memory_order_relaxed);
    /* acquire: pairs with the release store of next in mpsc_push. */
    struct mpsc_node *next = atomic_load_explicit(&head->next, memory_order_acquire);
    if (head == &q->stub) {
        if (next == NULL) return NULL;
        atomic_store_explicit(&q->head, next, memory_order_relaxed);
        head = next;
        next = atomic_load_explicit(&head->next, memory_order_acquire);
    }
    if (next != NULL) {
        atomic_store_explicit(&q->head, next, memory_order_relaxed);
        return head;
    }
    /* head is the last linked node; if it is not the tail a push is in flight. */
    if (head != atomic_load_explicit(&q->tail, memory_order_acquire)) return NULL;
    mpsc_push(q, &q->stub); /* re-insert the stub behind head so head can leave */
    next = atomic_load_explicit(&head->next, memory_order_acquire);
    if (next != NULL) {
        atomic_store_explicit(&q->head, next, memory_order_relaxed);
        return head;
    }
    return NULL;
}

/* Any thread; a hint, exact when quiet. Empty means the stub is both the oldest and the newest
 * node. Tail alone is not enough: when the consumer re-inserts the stub while a push races it,
 * the list becomes "node -> stub" with tail == stub (a bug our wakeup test found). */
static inline bool mpsc_looks_empty(struct mpsc *q) {
    return atomic_load_explicit(&q->tail, memory_order_acquire) == &q->stub &&
           atomic_load_explicit(&q->head, memory_order_relaxed) == &q->stub;
}

#endif
