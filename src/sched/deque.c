/* SPDX-License-Identifier: MIT */
/* deque.c: the Chase-Lev work-stealing deque of deque.h. The owner pushes and pops without a
 * read-modify-write except for the last item; thieves take the oldest item with one CAS.
 * The ring doubles when full and outgrown rings live until deque_destroy. */

/*
 * Source: D. Chase, Y. Lev, "Dynamic Circular Work-Stealing Deque", SPAA 2005, with the C11
 * memory orders of N. M. Le, A. Pop, A. Cohen, F. Zappa Nardelli, "Correct and Efficient
 * Work-Stealing for Weak Memory Models", PPoPP 2013 (figure 1), changed as noted below.
 *
 * Why it is correct (sketch). The items are the indices [top, bottom). top only grows, and
 * only by a CAS, so every index is handed out at most once by a CAS. The owner takes an index
 * without a CAS only when it saw more than one item; a thief only after seeing top < bottom.
 * The owner's "store bottom = b - 1, then load top" and the thief's "load top, then load
 * bottom" are all seq_cst, so in the single total order either the thief sees the
 * decremented bottom (and leaves index b - 1 alone) or the owner sees a top at least the
 * thief's (and then, if b - 1 is the last item, both CAS top and one of them loses). Slots
 * are reused: the owner writes index i into slot i & mask only after an acquire load of top
 * showed top > i - capacity, i.e. the CAS that took the old occupant happened before the
 * write, so a thief that read the old occupant fails its CAS (top is past its index), and a
 * thief whose CAS wins read the slot before any later push reused it. Growth copies [top, bottom) into the new
 * ring under the same indices; a thief still using an old ring reads the same item for every
 * index it can still win, and its CAS fails for the rest. Old rings are freed only by
 * deque_destroy, when no thread can hold one, so there is no reclamation problem.
 *
 * Memory-order changes from the paper, and why. The paper orders those store/load pairs with
 * standalone seq_cst fences, and publishes a push with a release fence before a relaxed store
 * of bottom. ThreadSanitizer (gcc 12, clang 14) does not model standalone fences, so it
 * would report races on the data an item points to. We make the accesses themselves carry
 * the order instead, in every build, so the code TSan checks is the code that ships:
 *  - pop: seq_cst store of bottom and seq_cst load of top replace "relaxed; fence; relaxed";
 *    steal: seq_cst loads of top and bottom replace "acquire; fence; acquire". On x86-64 the
 *    store is one xchg instead of mov + mfence and the loads stay plain movs, so pop costs the
 *    same and steal loses its mfence; on AArch64 stlr/ldar replace dmb.
 *  - push: a release store of bottom replaces "release fence; relaxed store". The fence also
 *    covered the owner's later relaxed stores of bottom, so pop's restoring stores are
 *    release too (free on x86-64, stlr on AArch64).
 */
#include "mem/fault.h"
#include "sched/deque.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

/* The largest ring we try to allocate: 2^40 slots, far beyond memory; keeps sizes in range. */
#define DEQUE_MAX_LOG 40

struct deque_ring {
    size_t mask;               /* capacity - 1; capacity is a power of two */
    struct deque_ring *older;  /* the retired list: the ring this one replaced, or NULL */
    _Atomic(void *) slots[];   /* index i lives in slots[i & mask]; accessed relaxed */
};

static struct deque_ring *ring_new(unsigned log_capacity) {
    if (log_capacity > DEQUE_MAX_LOG) return NULL;
    size_t cap = (size_t)1 << log_capacity;
    struct deque_ring *r = mem_malloc(sizeof *r + cap * sizeof r->slots[0]);
    if (!r) return NULL;
    r->mask = cap - 1;
    r->older = NULL;
    for (size_t i = 0; i < cap; i++) atomic_init(&r->slots[i], NULL);
    return r;
}

static inline void *ring_get(struct deque_ring *r, int64_t i) {
    return atomic_load_explicit(&r->slots[(size_t)i & r->mask], memory_order_relaxed);
}

static inline void ring_put(struct deque_ring *r, int64_t i, void *item) {
    atomic_store_explicit(&r->slots[(size_t)i & r->mask], item, memory_order_relaxed);
}

static unsigned ring_log_capacity(const struct deque_ring *r) {
    unsigned log = 0;
    while (((size_t)1 << log) <= r->mask) log++;
    return log;
}

int deque_init(struct deque *d, unsigned log_capacity) {
    struct deque_ring *r = ring_new(log_capacity);
    if (!r) return -ENOMEM;
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->ring, r);
    d->retired = NULL;
    return 0;
}

void deque_destroy(struct deque *d) {
    struct deque_ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    free(r);
    for (r = d->retired; r;) {
        struct deque_ring *older = r->older;
        free(r);
        r = older;
    }
    d->retired = NULL;
    atomic_store_explicit(&d->ring, NULL, memory_order_relaxed);
}

/* Owner only: replaces the full ring old, holding [t, b), by one twice its size. The old ring
 * goes on the retired list because thieves that loaded it may still read it. */
static struct deque_ring *deque_grow(struct deque *d, struct deque_ring *old, int64_t t,
                                     int64_t b) {
    struct deque_ring *r = ring_new(ring_log_capacity(old) + 1);
    if (!r) return NULL;
    for (int64_t i = t; i < b; i++) ring_put(r, i, ring_get(old, i));
    old->older = d->retired;
    d->retired = old;
    /* release: pairs with the acquire load of ring in deque_steal, so a thief that sees the
     * new ring sees its mask and copied slots. */
    atomic_store_explicit(&d->ring, r, memory_order_release);
    return r;
}

int deque_push_owner(struct deque *d, void *item) {
    assert(item != NULL);
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    /* acquire: pairs with the seq_cst CAS of top in deque_steal / deque_pop_owner, so the
     * thief's read of the slot we may be about to overwrite happens before our write. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    struct deque_ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    if (ax_unlikely(b - t > (int64_t)r->mask)) {
        r = deque_grow(d, r, t, b);
        if (!r) return -ENOMEM;
    }
    ring_put(r, b, item);
    /* release: pairs with the seq_cst (hence acquire) load of bottom in deque_steal: a thief
     * that sees the new bottom sees the slot and everything the item points to. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return 0;
}

void *deque_pop_owner(struct deque *d) {
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    struct deque_ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    /* seq_cst: with the seq_cst load of top below, pairs with deque_steal's seq_cst loads of
     * top then bottom (the store-load ordering the paper gets from a seq_cst fence). */
    atomic_store_explicit(&d->bottom, b, memory_order_seq_cst);
    /* seq_cst: see the store of bottom just above. */
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    if (t < b) return ring_get(r, b); /* more than one item: no thief can reach index b */
    void *item = NULL;
    if (t == b) {
        /* The last item: race the thieves for it on top. */
        item = ring_get(r, b);
        /* seq_cst: competes with the CAS in deque_steal for this index; exactly one wins. */
        if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                     memory_order_relaxed))
            item = NULL;
    }
    /* Empty now (t >= b + 1): put bottom back to top. release: pairs with the load of bottom
     * in deque_steal, as the paper's fence covered this store (see the file comment). */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return item;
}

void *deque_steal(struct deque *d) {
    /* seq_cst: pairs with the seq_cst store of bottom and load of top in deque_pop_owner
     * (this load of top comes before our load of bottom in the total order). */
    int64_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    /* seq_cst: as above; its acquire half pairs with the release stores of bottom in
     * deque_push_owner / deque_pop_owner, making the slot and the item's data visible. */
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    if (t >= b) return NULL;
    /* acquire: pairs with the release store of ring in deque_grow. */
    struct deque_ring *r = atomic_load_explicit(&d->ring, memory_order_acquire);
    void *item = ring_get(r, t);
    /* seq_cst: competes with the other thieves' CAS and the owner's CAS in pop; its release
     * half pairs with the acquire load of top in deque_push_owner (see there). */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return item;
}

int64_t deque_size(struct deque *d) {
    int64_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return b > t ? b - t : 0;
}
