/* SPDX-License-Identifier: MIT */
/* chan.c: ax_chan, a bounded multi-producer multi-consumer channel of fixed-size items: a ring
 * with a sequence number per slot (D. Vyukov, "Bounded MPMC queue", 1024cores.net).
 *
 * The ring. Slot i carries seq; positions count up from 0, and position p lives in slot p mod
 * cap. The slot is free for the send at p when seq == 2p, holds p's item when seq == 2p + 1,
 * and is freed for the send one lap later (p + cap) by storing 2(p + cap). (Vyukov's queue uses
 * p and p + 1, which coincide for a ring of one slot; doubling keeps capacity 1 exact.) A send
 * claims p by a CAS on tail, copies the item, then publishes it with a release store of seq; a
 * receive claims p by a CAS on head when seq says full, copies out, then frees the slot. The top
 * bit of tail is the closed flag: setting it (an atomic OR) fails every later claim, so the sends
 * that succeeded are exactly those whose claim came before it in tail's modification order, and
 * a receiver reports "closed" only when head has reached tail: every accepted item was taken.
 *
 * Blocking (the slow path only). Two futex words, one for each side (receivers sleep on
 * recv_word until items come, senders on send_word until slots do), each with a count of
 * sleepers. A waiter: (1) reads the word, (2) raises its count, (3) a Dekker fence, (4) tries
 * again, (5) sleeps on the word if the value read at (1) is still there. A send that published an
 * item (a receive that freed a slot, likewise): (a) the fence, (b) reads the other side's count,
 * (c) if not zero, bumps the word and wakes one. Either (4) sees the item, or (b) sees the
 * waiter: then the word changes after (1), so (5) returns at once or is woken. One wake per item
 * is enough: a woken waiter always tries again before it sleeps or times out, so the wake is
 * used by a waiter that takes the item or finds it taken. Close bumps both words and wakes every
 * sleeper; a waiter that read the word before the bump sleeps on a stale value (returns at once),
 * one that read it after sees, through the bump, the closed flag set before it. A send claimed
 * before the close but published after it wakes every receiver, not one: the close's wake-up
 * found them waiting for that very item, and all but the one that takes it must wake again to
 * find the channel closed and empty.
 *
 * Subscription. At most one actor; a send that published an item (and subscribe itself) then
 * forwards: the first thread to raise fwd_pending from 0 pops items and delivers each as a
 * message until the ring is empty, then lowers fwd_pending by what it counted and goes again if
 * it is not 0; the others return at once, their items left to it (each pushed before raising the
 * count, and the forwarder's lowering reads their raise). One forwarder at a time keeps the
 * messages in ring order. A send whose item sits behind a send still copying raises the count
 * after that send finishes, so no item is left behind while a subscriber exists. */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "actor/deliver.h"
#include "core/duration.h"
#include "core/platform.h"
#include "mem/fault.h"

#define CHAN_CLOSED (UINT64_C(1) << 63) /* in tail */

struct chan_slot {
    _Atomic uint64_t seq;
    unsigned char data[]; /* item_size bytes */
};

struct ax_chan {
    ax_runtime *rt;
    size_t item_size, cap, stride; /* stride: bytes per slot, a multiple of 8 */
    bool pow2;                     /* cap is a power of two: slot index by mask */
    uint64_t mask;
    unsigned char *slots;
    AX_ALIGNED_LINE _Atomic uint64_t tail; /* next send position | CHAN_CLOSED */
    AX_ALIGNED_LINE _Atomic uint64_t head; /* next receive position */
    /* Written by sleepers and wakers only; read (not written) by every send and receive. */
    AX_ALIGNED_LINE _Atomic uint32_t recv_word, recv_waiters;
    _Atomic uint32_t send_word, send_waiters;
    _Atomic int subscribed;        /* a subscriber exists: sends forward */
    _Atomic uint32_t tsan_fence;   /* the Dekker fence's word under ThreadSanitizer */
    AX_ALIGNED_LINE _Atomic uint64_t fwd_pending; /* forwarding requests; see the file comment */
    pthread_mutex_t sub_lock;      /* subscribe, unsubscribe, and each forwarded item */
    ax_ref sub_ref;                /* under sub_lock */
    uint32_t sub_type;
};

/* The Dekker fence between a sleeper's announcement and a waker's check. ThreadSanitizer does
 * not model fences: its build uses a seq_cst read-modify-write of one word instead (all RMWs of
 * it are totally ordered, so the later one acquires the earlier one's prior writes). */
static inline void chan_fence(ax_chan *c) {
#ifdef AX_TSAN
    atomic_fetch_add_explicit(&c->tsan_fence, 0, memory_order_seq_cst);
#else
    (void)c;
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

static inline struct chan_slot *slot_at(const ax_chan *c, uint64_t pos) {
    size_t i = c->pow2 ? (size_t)(pos & c->mask) : (size_t)(pos % c->cap);
    return (struct chan_slot *)(void *)(c->slots + i * c->stride);
}

/* Any thread. 0 (item published), AX_EFULL or AX_EPIPE (closed). */
static int ring_push(ax_chan *c, const void *item) {
    uint64_t pos = atomic_load_explicit(&c->tail, memory_order_relaxed);
    struct chan_slot *s;
    for (;;) {
        if (pos & CHAN_CLOSED) return AX_EPIPE;
        s = slot_at(c, pos);
        /* acquire: pairs with the release store of seq in ring_pop that freed the slot, so our
         * copy in comes after that receiver's copy out. */
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t dif = (int64_t)(seq - 2 * pos);
        if (dif == 0) {
            /* relaxed: the slot's seq, not tail, publishes the item; a failed CAS reloads pos
             * (with the closed flag, if set). */
            if (atomic_compare_exchange_weak_explicit(&c->tail, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (dif < 0) {
            /* The slot still holds the item of the lap before (or it is being copied out):
             * full, unless tail moved or was closed meanwhile. */
            uint64_t t = atomic_load_explicit(&c->tail, memory_order_relaxed);
            if (t == pos) return AX_EFULL;
            pos = t;
        } else {
            pos = atomic_load_explicit(&c->tail, memory_order_relaxed); /* pos was taken */
        }
    }
    memcpy(s->data, item, c->item_size);
    /* release: publishes the copy; pairs with the acquire load of seq in ring_pop. */
    atomic_store_explicit(&s->seq, 2 * pos + 1, memory_order_release);
    return 0;
}

/* Any thread. 0 (item copied to out), AX_EFULL (nothing to take now: empty, or the next send
 * is still copying) or AX_EPIPE (closed and empty). */
static int ring_pop(ax_chan *c, void *out) {
    uint64_t pos = atomic_load_explicit(&c->head, memory_order_relaxed);
    struct chan_slot *s;
    for (;;) {
        s = slot_at(c, pos);
        /* acquire: pairs with the release store of seq in ring_push (the item's bytes). */
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
        int64_t dif = (int64_t)(seq - (2 * pos + 1));
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&c->head, &pos, pos + 1,
                                                      memory_order_relaxed, memory_order_relaxed))
                break;
        } else if (dif < 0) {
            /* Position pos was not filled yet (so head is still pos): empty if no send claimed
             * it; else that send is copying and will wake us. acquire: pairs with nothing but
             * keeps the closed flag's reading after the slot's. */
            uint64_t t = atomic_load_explicit(&c->tail, memory_order_acquire);
            if ((t & ~CHAN_CLOSED) == pos && (t & CHAN_CLOSED)) return AX_EPIPE;
            return AX_EFULL;
        } else {
            pos = atomic_load_explicit(&c->head, memory_order_relaxed); /* pos was taken */
        }
    }
    memcpy(out, s->data, c->item_size);
    /* release: our copy out happens before the next lap's copy in; pairs with the acquire load
     * of seq in ring_push. */
    atomic_store_explicit(&s->seq, 2 * (pos + c->cap), memory_order_release);
    return 0;
}

/* After publishing (items or free slots): wakes one sleeper of that side, if any (steps a-c of
 * the file comment). */
static inline bool chan_wake_one(_Atomic uint32_t *waiters, _Atomic uint32_t *word) {
    if (atomic_load_explicit(waiters, memory_order_relaxed) == 0) return false;
    /* seq_cst: read by the sleeper's seq_cst load of the word (step 1). */
    atomic_fetch_add_explicit(word, 1, memory_order_seq_cst);
    core_futex_wake(word, 1);
    return true;
}

static void chan_forward(ax_chan *c);

/* A push and what follows it: wake a receiver, forward to a subscriber. */
static int chan_push(ax_chan *c, const void *item) {
    int rc = ring_push(c, item);
    if (rc != 0) return rc;
    /* Pairs with the fence in chan_block (a receiver announcing itself) and in
     * ax_chan_subscribe (after raising `subscribed`). */
    chan_fence(c);
    if (ax_unlikely(atomic_load_explicit(&c->tail, memory_order_relaxed) & CHAN_CLOSED)) {
        /* Claimed before the close, published after it: receivers woken by the close may have
         * gone back to sleep waiting for this item. Only one takes it; the others must wake to
         * find the channel closed and empty, so all are woken. */
        atomic_fetch_add_explicit(&c->recv_word, 1, memory_order_seq_cst);
        core_futex_wake(&c->recv_word, INT_MAX);
    } else {
        chan_wake_one(&c->recv_waiters, &c->recv_word);
    }
    if (ax_unlikely(atomic_load_explicit(&c->subscribed, memory_order_relaxed))) chan_forward(c);
    return 0;
}

/* A pop and what follows it: wake a sender. */
static int chan_pop(ax_chan *c, void *out) {
    int rc = ring_pop(c, out);
    if (rc != 0) return rc;
    /* Pairs with the fence in chan_block (a sender announcing itself). */
    chan_fence(c);
    chan_wake_one(&c->send_waiters, &c->send_word);
    return 0;
}

/* The monotonic deadline of a wait of timeout_ms (> 0, or negative / INT64_MAX: none). */
static int64_t deadline_of(int64_t timeout_ms) {
    if (timeout_ms < 0 || timeout_ms == INT64_MAX) return INT64_MAX;
    return core_deadline_ms(core_now_ns(), timeout_ms);
}

/* The slow path of a send (item) or a receive (out): sleep until it succeeds, the channel is
 * closed or the deadline passes (steps 1-5 of the file comment). */
static int chan_block(ax_chan *c, bool send, const void *item, void *out, int64_t timeout_ms) {
    _Atomic uint32_t *waiters = send ? &c->send_waiters : &c->recv_waiters;
    _Atomic uint32_t *word = send ? &c->send_word : &c->recv_word;
    int64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        /* seq_cst: pairs with the bump in chan_wake_one and ax_chan_close. */
        uint32_t seen = atomic_load_explicit(word, memory_order_seq_cst);
        atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);
        /* Pairs with the fence in chan_push / chan_pop (the other side publishing). */
        chan_fence(c);
        int rc = send ? chan_push(c, item) : chan_pop(c, out);
        if (rc == AX_EFULL) {
            int64_t now = core_now_ns();
            if (now >= deadline) {
                rc = AX_ETIMEDOUT;
            } else {
                core_futex_wait(word, seen, deadline == INT64_MAX ? -1 : deadline - now);
                atomic_fetch_sub_explicit(waiters, 1, memory_order_relaxed);
                continue;
            }
        }
        atomic_fetch_sub_explicit(waiters, 1, memory_order_relaxed);
        return rc;
    }
}

/* Forwarder only, sub_lock held by nobody: pops items into messages to the subscriber until the
 * ring is empty, the subscription ends or memory runs out (items then wait for the next send). */
static void forward_drain(ax_chan *c, struct sched_thread *thr) {
    ax_runtime *rt = c->rt;
    for (;;) {
        pthread_mutex_lock(&c->sub_lock);
        ax_ref to = c->sub_ref;
        struct actor *a = ax_ref_is_none(to) ? NULL : actor_lookup(rt, to);
        if (!a) {
            /* No subscriber, or it stopped: the subscription ends, items stay queued. */
            c->sub_ref = AX_REF_NONE;
            atomic_store_explicit(&c->subscribed, 0, memory_order_relaxed);
            pthread_mutex_unlock(&c->sub_lock);
            return;
        }
        struct msg *m = msg_new(thr, c->item_size);
        if (!m || chan_pop(c, m->pub.data) != 0) {
            if (m) msg_release(rt, thr, m);
            pthread_mutex_unlock(&c->sub_lock);
            return;
        }
        m->pub.sender = AX_REF_NONE;
        m->pub.type = c->sub_type;
        m->pub.size = (uint32_t)c->item_size;
        /* A full bounded mailbox turns it into a dead letter, as a timer's message would be. */
        if (actor_deliver_user(rt, thr, a, m, AX_OVERFLOW_REFUSE) != 0)
            deadletter_post(rt, thr, to, m, AX_DEAD_FULL);
        pthread_mutex_unlock(&c->sub_lock);
    }
}

/* Any thread, after publishing an item (or subscribing): becomes the forwarder, or leaves its
 * item to the one there is. */
static void chan_forward(ax_chan *c) {
    /* acq_rel: release orders our push before our raise; the forwarder's lowering below acquires
     * it, so its next drain sees our item. */
    if (atomic_fetch_add_explicit(&c->fwd_pending, 1, memory_order_acq_rel) != 0) return;
    bool outside;
    struct sched_thread *thr = rt_enter(c->rt, &outside);
    uint64_t n = 1;
    for (;;) {
        if (thr) forward_drain(c, thr); /* no thread record: the items wait for the next send */
        /* acq_rel: pairs with the raise above of the senders that returned meanwhile. */
        uint64_t left = atomic_fetch_sub_explicit(&c->fwd_pending, n, memory_order_acq_rel) - n;
        if (left == 0) break;
        n = left;
    }
    if (thr) rt_leave(thr, outside);
}

int ax_chan_create(ax_runtime *rt, size_t item_size, size_t capacity, ax_chan **out) {
    if (!rt || !out || item_size == 0 || capacity == 0) return AX_EINVAL;
    if (item_size > AX_MSG_MAX) return AX_EMSGSIZE;
    size_t stride = sizeof(struct chan_slot) + ((item_size + 7) & ~(size_t)7);
    size_t bytes;
    if (__builtin_mul_overflow(capacity, stride, &bytes)) return AX_ENOMEM;
    size_t cbytes = (sizeof(ax_chan) + AX_CACHE_LINE - 1) & ~(size_t)(AX_CACHE_LINE - 1);
    ax_chan *c = mem_aligned_alloc(AX_CACHE_LINE, cbytes);
    if (!c) return AX_ENOMEM;
    memset(c, 0, sizeof *c);
    c->slots = mem_calloc(1, bytes);
    if (!c->slots) {
        free(c);
        return AX_ENOMEM;
    }
    c->rt = rt;
    c->item_size = item_size;
    c->cap = capacity;
    c->stride = stride;
    c->pow2 = (capacity & (capacity - 1)) == 0;
    c->mask = (uint64_t)capacity - 1;
    for (size_t i = 0; i < capacity; i++)
        atomic_store_explicit(&slot_at(c, i)->seq, 2 * (uint64_t)i, memory_order_relaxed);
    pthread_mutex_init(&c->sub_lock, NULL);
    *out = c; /* the caller publishes c to other threads (a release of its own) */
    return 0;
}

int ax_chan_destroy(ax_chan *c) {
    if (!c) return AX_EINVAL;
    ax_chan_close(c);
    pthread_mutex_destroy(&c->sub_lock);
    free(c->slots);
    free(c);
    return 0;
}

int ax_chan_close(ax_chan *c) {
    if (!c) return AX_EINVAL;
    /* seq_cst: ordered before the bumps below, which the sleepers' word loads read. */
    atomic_fetch_or_explicit(&c->tail, CHAN_CLOSED, memory_order_seq_cst);
    atomic_fetch_add_explicit(&c->recv_word, 1, memory_order_seq_cst);
    core_futex_wake(&c->recv_word, INT_MAX);
    atomic_fetch_add_explicit(&c->send_word, 1, memory_order_seq_cst);
    core_futex_wake(&c->send_word, INT_MAX);
    return 0;
}

int ax_chan_try_send(ax_chan *c, const void *item, size_t size) {
    if (ax_unlikely(!c || !item || size != c->item_size)) return AX_EINVAL;
    return chan_push(c, item);
}

int ax_chan_try_recv(ax_chan *c, void *out, size_t size) {
    if (ax_unlikely(!c || !out || size != c->item_size)) return AX_EINVAL;
    return chan_pop(c, out);
}

int ax_chan_send(ax_chan *c, const void *item, size_t size, int64_t timeout_ms) {
    if (!c || !item || size != c->item_size) return AX_EINVAL;
    if (timeout_ms != 0 && sched_worker_self(&c->rt->sched)) return AX_ECONTEXT;
    int rc = chan_push(c, item);
    if (rc != AX_EFULL || timeout_ms == 0) return rc;
    return chan_block(c, true, item, NULL, timeout_ms);
}

int ax_chan_recv(ax_chan *c, void *out, size_t size, int64_t timeout_ms) {
    if (!c || !out || size != c->item_size) return AX_EINVAL;
    if (timeout_ms != 0 && sched_worker_self(&c->rt->sched)) return AX_ECONTEXT;
    int rc = chan_pop(c, out);
    if (rc != AX_EFULL || timeout_ms == 0) return rc;
    return chan_block(c, false, NULL, out, timeout_ms);
}

int ax_chan_subscribe(ax_chan *c, ax_ref ref, uint32_t type) {
    if (!c || type >= AX_MSG_RESERVED) return AX_EINVAL;
    bool outside;
    struct sched_thread *thr = rt_enter(c->rt, &outside);
    if (!thr) return AX_ENOMEM;
    int rc = 0;
    pthread_mutex_lock(&c->sub_lock);
    if (!ax_ref_is_none(c->sub_ref)) rc = AX_EEXIST;
    else if (!actor_lookup(c->rt, ref)) rc = AX_ENOACTOR;
    else {
        c->sub_ref = ref;
        c->sub_type = type;
        atomic_store_explicit(&c->subscribed, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&c->sub_lock);
    rt_leave(thr, outside);
    if (rc != 0) return rc;
    /* Pairs with the fence in chan_push: a send that did not see `subscribed` published its
     * item before our drain looks. */
    chan_fence(c);
    chan_forward(c); /* what is queued already */
    return 0;
}

int ax_chan_unsubscribe(ax_chan *c) {
    if (!c) return AX_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&c->sub_lock);
    if (ax_ref_is_none(c->sub_ref)) rc = AX_ENOENT;
    c->sub_ref = AX_REF_NONE;
    atomic_store_explicit(&c->subscribed, 0, memory_order_relaxed);
    pthread_mutex_unlock(&c->sub_lock);
    return rc;
}

size_t ax_chan_len(const ax_chan *c) {
    if (!c) return 0;
    uint64_t t = atomic_load_explicit(&c->tail, memory_order_relaxed) & ~CHAN_CLOSED;
    uint64_t h = atomic_load_explicit(&c->head, memory_order_relaxed);
    return t > h ? (size_t)(t - h) : 0;
}
