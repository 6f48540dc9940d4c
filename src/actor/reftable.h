/* reftable.h: the table that turns a 64-bit actor ref (generation << 32 | slot index) into the
 * actor's address. Chunked so it grows without moving; slots are recycled per thread. */
#ifndef AX_ACTOR_REFTABLE_H
#define AX_ACTOR_REFTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/platform.h"

struct sched_thread;

#define REF_CHUNK_BITS 12
#define REF_CHUNK (1u << REF_CHUNK_BITS)  /* slots per chunk */
#define REF_CHUNKS (1u << 16)             /* at most 2^28 slots */
#define REF_BATCH 64                      /* fresh slots a thread takes at once */

struct ref_entry {
    _Atomic(void *) actor; /* NULL when the slot holds no live actor */
    uint32_t gen;          /* the generation of the current (or next) ref; owner of the slot */
    uint32_t next_free;    /* free-list link while free */
};

struct reftable {
    _Atomic(struct ref_entry *) *chunks; /* REF_CHUNKS pointers, allocated lazily */
    AX_ALIGNED_LINE _Atomic uint32_t hwm; /* slots below it have been handed out */
};

int reftable_init(struct reftable *t);
void reftable_destroy(struct reftable *t);

/* Takes a free slot for the calling thread's record; returns its future ref (never 0), or 0
 * when the table is full or out of memory. */
uint64_t reftable_alloc(struct reftable *t, struct sched_thread *thr);
/* Makes ref resolve to actor (release: the actor is fully built before it is visible). */
void reftable_publish(struct reftable *t, uint64_t ref, void *actor);
/* The object published under ref's slot, or NULL. The caller must check that the object's own
 * ref equals ref (the slot may hold a newer actor). Safe for any 64-bit value. Inline: every
 * send resolves a ref. */
static inline void *reftable_get(struct reftable *t, uint64_t ref) {
    uint32_t index = (uint32_t)ref;
    if (index == 0 || index >= atomic_load_explicit(&t->hwm, memory_order_relaxed)) return NULL;
    /* acquire: pairs with the release CAS that installed the chunk. */
    struct ref_entry *c =
        atomic_load_explicit(&t->chunks[index >> REF_CHUNK_BITS], memory_order_acquire);
    /* acquire: pairs with the release store in reftable_publish. */
    return c ? atomic_load_explicit(&c[index & (REF_CHUNK - 1)].actor, memory_order_acquire)
             : NULL;
}
/* Stops ref's slot from resolving (the actor stopped). */
void reftable_clear(struct reftable *t, uint64_t ref);
/* After the grace period: the slot gets a new generation and goes to thr's free list. A slot
 * whose generation would wrap to 0 is retired for good, so no ref is ever reissued. */
void reftable_free(struct reftable *t, struct sched_thread *thr, uint64_t ref);

/* For tests: the generation the slot of ref holds now. */
uint32_t reftable_gen(struct reftable *t, uint64_t ref);
/* For tests: set the generation of ref's slot (while the slot is free and owned by nobody). */
void reftable_set_gen(struct reftable *t, uint64_t ref, uint32_t gen);

static inline uint32_t ref_index(uint64_t ref) { return (uint32_t)ref; }
static inline uint32_t ref_gen(uint64_t ref) { return (uint32_t)(ref >> 32); }
static inline uint64_t ref_make(uint32_t gen, uint32_t index) {
    return ((uint64_t)gen << 32) | index;
}

#endif
