/* SPDX-License-Identifier: MIT */
/* owners.c: records chained by owner ref, in a hash of doubly linked chains (Fibonacci hashing,
 * Knuth 6.4, of the ref's id), under the caller's lock; and the io_owner mark of the owner. */
#include "io/owners.h"

#include <stdlib.h>

#include "actor/actor.h"
#include "mem/fault.h"

enum { FIRST_BUCKETS = 64 };

static size_t bucket_of(const struct io_owner_index *ix, ax_ref owner) {
    uint64_t h = owner.id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & (ix->nbuckets - 1);
}

static void chain_add(struct io_owner_index *ix, struct io_owned *n) {
    struct io_owned **b = &ix->buckets[bucket_of(ix, ix->owner_of(n))];
    n->prev = NULL;
    n->next = *b;
    if (*b) (*b)->prev = n;
    *b = n;
}

/* Doubles the buckets when the chains grow long (out of memory: they only stay longer). */
static void maybe_grow(struct io_owner_index *ix) {
    if (ix->count < ix->nbuckets * 2) return;
    size_t n = ix->nbuckets * 2;
    struct io_owned **nb = mem_calloc(n, sizeof *nb);
    if (!nb) return;
    struct io_owned **old = ix->buckets;
    size_t on = ix->nbuckets;
    ix->buckets = nb;
    ix->nbuckets = n;
    for (size_t i = 0; i < on; i++) {
        for (struct io_owned *o = old[i], *next; o; o = next) {
            next = o->next;
            chain_add(ix, o);
        }
    }
    free(old);
}

int io_owners_init(struct io_owner_index *ix, io_owner_fn *owner_of) {
    ix->owner_of = owner_of;
    ix->count = 0;
    ix->nbuckets = FIRST_BUCKETS;
    ix->buckets = mem_calloc(ix->nbuckets, sizeof *ix->buckets);
    return ix->buckets ? 0 : AX_ENOMEM;
}

void io_owners_destroy(struct io_owner_index *ix) {
    free(ix->buckets);
    ix->buckets = NULL;
    ix->nbuckets = ix->count = 0;
}

void io_owners_add(struct io_owner_index *ix, struct io_owned *n) {
    chain_add(ix, n);
    ix->count++;
    maybe_grow(ix);
}

void io_owners_remove(struct io_owner_index *ix, struct io_owned *n) {
    if (n->prev) n->prev->next = n->next;
    else ix->buckets[bucket_of(ix, ix->owner_of(n))] = n->next;
    if (n->next) n->next->prev = n->prev;
    n->next = n->prev = NULL;
    ix->count--;
}

/* n, or the first record after it in its chain, whose owner is owner. */
static struct io_owned *match(const struct io_owner_index *ix, struct io_owned *n, ax_ref owner) {
    while (n && !ax_ref_eq(ix->owner_of(n), owner)) n = n->next;
    return n;
}

struct io_owned *io_owners_first(const struct io_owner_index *ix, ax_ref owner) {
    return match(ix, ix->buckets[bucket_of(ix, owner)], owner);
}

struct io_owned *io_owners_next(const struct io_owner_index *ix, const struct io_owned *n,
                                ax_ref owner) {
    return match(ix, n->next, owner);
}

bool io_owners_mark(struct actor *a) {
    uint8_t none = IO_OWNER_NONE;
    /* acq_rel: pairs with the exchange in actor_stop_ex: whichever comes second sees the
     * other, so a record is never added to an owner whose release has already looked. */
    if (atomic_compare_exchange_strong_explicit(&a->io_owner, &none, IO_OWNER_HAS,
                                                memory_order_acq_rel, memory_order_acquire))
        return true;
    return none == IO_OWNER_HAS;
}
