/* SPDX-License-Identifier: MIT */
/* mailbox.h: an actor's mailbox: an intrusive multi-producer single-consumer queue whose push is
 * one exchange and one store, and which tells the one sender that must schedule the actor.
 *
 * Base: D. Vyukov's intrusive MPSC queue (1024cores.net): producers swing tail to their node with
 * an exchange, then link the previous tail to it; the consumer follows next pointers from head.
 * Unlike core/mpsc.h, the node last consumed stays in the list as its sentinel (as Pony's
 * message queue does): popping the last message needs no second exchange to re-insert a stub,
 * and a consumed message is released when the consumer moves past it.
 *
 * Idle mark: when the consumer finds nothing after the sentinel, it swings tail from the
 * sentinel to the actor's stub with bit 0 set, in one CAS. If the CAS wins, no producer holds the
 * sentinel any more (it would have moved tail), so the sentinel is released at once and an idle
 * actor keeps no message; the next push's exchange returns the marked stub and so learns,
 * atomically, that it made the mailbox non-empty and must schedule the actor. If the CAS loses,
 * a push is in flight and the consumer still owns the queue. */
#ifndef AX_ACTOR_MAILBOX_H
#define AX_ACTOR_MAILBOX_H

#include <stdbool.h>

#include "core/mpsc.h"

struct mailbox {
    _Atomic(uintptr_t) tail; /* producers: the newest node; bit 0: idle */
    struct mpsc_node *head;  /* consumer: the sentinel (last consumed node, or &stub) */
    struct mpsc_node stub;   /* the sentinel of an idle or new mailbox */
};

#define MAILBOX_IDLE ((uintptr_t)1)

/* Not thread-safe: a new, idle mailbox (the first push reports it). */
static inline void mailbox_init(struct mailbox *mb) {
    atomic_store_explicit(&mb->stub.next, NULL, memory_order_relaxed);
    mb->head = &mb->stub;
    atomic_store_explicit(&mb->tail, (uintptr_t)&mb->stub | MAILBOX_IDLE, memory_order_relaxed);
}

/* Not thread-safe: a new mailbox owned by its creator (not idle: pushes schedule nobody) until
 * the creator calls mailbox_try_idle or schedules the actor itself. */
static inline void mailbox_init_owned(struct mailbox *mb) {
    atomic_store_explicit(&mb->stub.next, NULL, memory_order_relaxed);
    mb->head = &mb->stub;
    atomic_store_explicit(&mb->tail, (uintptr_t)&mb->stub, memory_order_relaxed);
}

/* Any thread; a snapshot. */
static inline bool mailbox_is_idle(struct mailbox *mb) {
    return (atomic_load_explicit(&mb->tail, memory_order_seq_cst) & MAILBOX_IDLE) != 0;
}

/* Any thread. Returns true if the mailbox was idle: the caller must schedule the actor. */
static inline bool mailbox_push(struct mailbox *mb, struct mpsc_node *n) {
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* acq_rel: release publishes n's contents; acquire pairs with the consumer's CAS in
     * mailbox_try_idle (a waking push happens after the consumer let go). */
    uintptr_t prev = atomic_exchange_explicit(&mb->tail, (uintptr_t)n, memory_order_acq_rel);
    struct mpsc_node *p = (struct mpsc_node *)(prev & ~MAILBOX_IDLE);
    /* release: pairs with the acquire load of next in mailbox_pop. */
    atomic_store_explicit(&p->next, n, memory_order_release);
    return (prev & MAILBOX_IDLE) != 0;
}

/* Consumer only. The next message, or NULL (empty, or a push half done). *done receives the
 * previous sentinel, which the consumer may now release (NULL if it was the stub or nothing
 * was popped). The returned
 * node becomes the sentinel and stays valid until the next pop or try_idle passes it. */
static inline struct mpsc_node *mailbox_pop(struct mailbox *mb, struct mpsc_node **done) {
    struct mpsc_node *h = mb->head;
    /* acquire: pairs with the release store of next in mailbox_push. */
    struct mpsc_node *next = atomic_load_explicit(&h->next, memory_order_acquire);
    *done = NULL;
    if (!next) return NULL;
    mb->head = next;
    *done = (h == &mb->stub) ? NULL : h;
    return next;
}

/* Consumer only, after mailbox_pop returned NULL. True: the mailbox is marked idle, *done is the
 * old sentinel to release (or NULL), and the consumer must not touch the mailbox again. False:
 * a push is in flight; the consumer still owns the mailbox and should come back soon. */
static inline bool mailbox_try_idle(struct mailbox *mb, struct mpsc_node **done) {
    struct mpsc_node *h = mb->head;
    uintptr_t expect = (uintptr_t)h;
    *done = NULL;
    if (h != &mb->stub) {
        /* The stub is outside the list now (head moved past it), so no producer writes it. */
        atomic_store_explicit(&mb->stub.next, NULL, memory_order_relaxed);
        mb->head = &mb->stub; /* before the CAS: after it, another worker may own the queue */
    }
    /* release hands our consumer state to the next consumer (via the waking producer's
     * exchange, whose acquire pairs with it); seq_cst also orders it before the caller's
     * re-check of signals (see mailbox_unidle). */
    if (atomic_compare_exchange_strong_explicit(&mb->tail, &expect,
                                                (uintptr_t)&mb->stub | MAILBOX_IDLE,
                                                memory_order_seq_cst, memory_order_relaxed)) {
        *done = (h == &mb->stub) ? NULL : h;
        return true;
    }
    mb->head = h;
    return false;
}

/* Any thread: takes an idle mailbox back into the "owned, empty" state without pushing to it
 * (the actor has signals or a stop request to see). True: the caller must schedule the actor.
 * seq_cst: with mailbox_try_idle's CAS and the publication of the signal, a Dekker pair: the
 * actor re-checks its signals after going idle, the signaller checks idleness after
 * publishing, so one of them always acts. */
static inline bool mailbox_unidle(struct mailbox *mb) {
    uintptr_t idle = (uintptr_t)&mb->stub | MAILBOX_IDLE;
    if (atomic_load_explicit(&mb->tail, memory_order_seq_cst) != idle) return false;
    return atomic_compare_exchange_strong_explicit(&mb->tail, &idle, (uintptr_t)&mb->stub,
                                                   memory_order_seq_cst, memory_order_relaxed);
}

/* The consumer's current sentinel if it is a message (not the stub), for final release. */
static inline struct mpsc_node *mailbox_sentinel(struct mailbox *mb) {
    return mb->head == &mb->stub ? NULL : mb->head;
}

#endif
