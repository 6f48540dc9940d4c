/* SPDX-License-Identifier: MIT */
/* reftable.c: actor refs on top of the slots table. Lookups are wait-free; a slot is recycled
 * only after its actor's grace period (see epoch.h), and the generation in every ref makes a
 * stale ref miss even after its slot is reused. */
#include "actor/reftable.h"

#include <stddef.h>

int reftable_init(struct reftable *t, uint32_t node, uint32_t first_gen) {
    t->node_bits = ref_make(node, 0, 0);
    t->first_gen = first_gen < 1 || first_gen > REF_GEN_MAX / 2 ? 1 : first_gen;
    return slots_init(&t->slots, sizeof(struct ref_entry),
                      (uint32_t)offsetof(struct ref_entry, next_free));
}

void reftable_destroy(struct reftable *t) { slots_destroy(&t->slots); }

static struct ref_entry *entry_of(struct reftable *t, uint64_t ref) {
    return slots_at(&t->slots, ref_index(ref));
}

uint64_t reftable_alloc(struct reftable *t, struct slot_cache *c) {
    uint32_t index = slots_alloc(&t->slots, c);
    if (!index) return 0;
    struct ref_entry *e = slots_at(&t->slots, index);
    if (e->gen == 0) e->gen = t->first_gen; /* a fresh record */
    return t->node_bits | ref_make(0, e->gen, index);
}

void reftable_publish(struct reftable *t, uint64_t ref, void *actor) {
    /* release: pairs with the acquire load in reftable_get. */
    atomic_store_explicit(&entry_of(t, ref)->actor, actor, memory_order_release);
}

void reftable_clear(struct reftable *t, uint64_t ref) {
    /* seq_cst: ordered before the stopping actor's read of its registry flag (see
     * registry.c), so a concurrent ax_register either sees the actor gone or is seen. */
    atomic_store_explicit(&entry_of(t, ref)->actor, NULL, memory_order_seq_cst);
}

void reftable_free(struct reftable *t, struct slot_cache *c, uint64_t ref) {
    struct ref_entry *e = entry_of(t, ref);
    if (e->gen == REF_GEN_MAX) { /* generations exhausted: the slot is retired */
        e->gen = 0;
        return;
    }
    e->gen++;
    slots_free(&t->slots, c, ref_index(ref));
}

uint32_t reftable_gen(struct reftable *t, uint64_t ref) {
    struct ref_entry *e = entry_of(t, ref);
    return e ? e->gen : 0; /* 0: retired (or never handed out) */
}

void reftable_set_gen(struct reftable *t, uint64_t ref, uint32_t gen) {
    struct ref_entry *e = entry_of(t, ref);
    if (e) e->gen = gen;
}
