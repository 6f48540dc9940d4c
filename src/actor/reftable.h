/* SPDX-License-Identifier: MIT */
/* reftable.h: the table that turns a 64-bit actor ref (node << 52 | generation << 32 | slot index)
 * into the actor's address: a slots table (mem/slots.h) of 16-byte entries. */
#ifndef AX_ACTOR_REFTABLE_H
#define AX_ACTOR_REFTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "mem/slots.h"

struct slot_cache;

/* A ref's fields: the node that issued it (axon.h, ax_config.node), the slot's generation, and
 * the slot. A slot whose generation would pass REF_GEN_MAX is retired. */
#define REF_NODE_BITS 12
#define REF_GEN_BITS 20
#define REF_GEN_MAX ((1u << REF_GEN_BITS) - 1)

struct ref_entry {
    _Atomic(void *) actor; /* NULL when the slot holds no live actor */
    uint32_t gen;          /* the generation of the current (or next) ref; 0 means 1 (fresh) */
    uint32_t next_free;    /* free-list link while free */
};

struct reftable {
    struct slots slots;
    uint64_t node_bits; /* the node's number, in place: or-ed into every ref issued */
    uint32_t first_gen; /* a fresh slot's first generation */
};

/* node: 0 to AX_NODE_MAX, written into every ref the table issues. first_gen (1 to
 * REF_GEN_MAX / 2): a fresh slot's first generation; a node that may restart under its number
 * starts at a random one, so that refs of its previous incarnation, still held elsewhere,
 * almost never name its new actors. */
int reftable_init(struct reftable *t, uint32_t node, uint32_t first_gen);
void reftable_destroy(struct reftable *t);

/* Takes a free slot from the calling thread's cache; returns its future ref (never 0), or 0
 * when the table is full or out of memory. */
uint64_t reftable_alloc(struct reftable *t, struct slot_cache *c);
/* Makes ref resolve to actor (release: the actor is fully built before it is visible). */
void reftable_publish(struct reftable *t, uint64_t ref, void *actor);
/* The object published under ref's slot, or NULL. The caller must check that the object's own
 * ref equals ref (the slot may hold a newer actor). Safe for any 64-bit value. Inline: every
 * send resolves a ref. */
static inline void *reftable_get(struct reftable *t, uint64_t ref) {
    struct ref_entry *e = slots_at(&t->slots, (uint32_t)ref);
    /* acquire: pairs with the release store in reftable_publish. */
    return e ? atomic_load_explicit(&e->actor, memory_order_acquire) : NULL;
}
/* Stops ref's slot from resolving (the actor stopped). */
void reftable_clear(struct reftable *t, uint64_t ref);
/* After the grace period: the slot gets a new generation and goes to the cache. A slot whose
 * generation would pass REF_GEN_MAX is retired for good, so no ref is ever reissued. */
void reftable_free(struct reftable *t, struct slot_cache *c, uint64_t ref);

/* For tests: the generation the slot of ref holds now. */
uint32_t reftable_gen(struct reftable *t, uint64_t ref);
/* For tests: set the generation of ref's slot (while the slot is free and owned by nobody). */
void reftable_set_gen(struct reftable *t, uint64_t ref, uint32_t gen);

static inline uint32_t ref_index(uint64_t ref) { return (uint32_t)ref; }
static inline uint32_t ref_gen(uint64_t ref) { return (uint32_t)(ref >> 32) & REF_GEN_MAX; }
static inline uint32_t ref_node(uint64_t ref) { return (uint32_t)(ref >> (32 + REF_GEN_BITS)); }
/* gen is cut to its 20 bits and node to its 12. */
static inline uint64_t ref_make(uint32_t node, uint32_t gen, uint32_t index) {
    return ((uint64_t)node << (32 + REF_GEN_BITS)) | ((uint64_t)(gen & REF_GEN_MAX) << 32) | index;
}

#endif
