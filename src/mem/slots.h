/* SPDX-License-Identifier: MIT */
/* slots.h: a table of fixed-size records addressed by 32-bit index, for handles that must stay
 * checkable forever (actor refs, timer handles): chunked so records never move, grown lock-free,
 * recycled through per-thread free lists. Generations are the users' business. */
#ifndef AX_MEM_SLOTS_H
#define AX_MEM_SLOTS_H

#include <pthread.h>
#include <stdint.h>

#include "core/platform.h"

#define SLOTS_CHUNK_BITS 12
#define SLOTS_CHUNK (1u << SLOTS_CHUNK_BITS) /* records per chunk */
#define SLOTS_CHUNKS (1u << 16)              /* at most 2^28 records */
#define SLOTS_MAX (SLOTS_CHUNKS * SLOTS_CHUNK)
#define SLOTS_BATCH 64                       /* fresh indexes a thread takes at once */

/* One thread's free records (owner only). */
struct slot_cache {
    uint32_t head;  /* index of the first free record, 0 if none */
    uint32_t count;
};

struct slots {
    _Atomic(char *) *chunks; /* SLOTS_CHUNKS pointers, each chunk allocated on first use */
    uint32_t rec_size;       /* bytes per record */
    uint32_t link_offset;    /* where a free record keeps the uint32_t index of the next */
    AX_ALIGNED_LINE _Atomic uint32_t hwm; /* indexes below it have been handed out; starts at 1 */
    /* Records freed on one thread and needed on another (armed or spawned from main, freed on
     * a worker) meet here, a batch at a time, so the table does not grow without bound. */
    pthread_mutex_t spill_lock;
    struct slot_cache spill;     /* under spill_lock */
    _Atomic uint32_t spilled;    /* spill.count, readable without the lock */
};

/* rec_size and link_offset describe the record; new records are zeroed. 0 or -ENOMEM. */
int slots_init(struct slots *t, uint32_t rec_size, uint32_t link_offset);
void slots_destroy(struct slots *t);

/* Any thread, wait-free: the record at index, or NULL if index is 0 or was never handed out.
 * Safe for any 32-bit value. */
static inline void *slots_at(struct slots *t, uint32_t index) {
    if (index == 0 || index >= atomic_load_explicit(&t->hwm, memory_order_acquire)) return NULL;
    /* acquire: pairs with the release CAS that installed the chunk. */
    char *c = atomic_load_explicit(&t->chunks[index >> SLOTS_CHUNK_BITS], memory_order_acquire);
    return c ? c + (size_t)(index & (SLOTS_CHUNK - 1)) * t->rec_size : NULL;
}

/* Owner of c: a free index (its record zeroed if never used, else as last freed), or 0 when
 * the table is full or out of memory. */
uint32_t slots_alloc(struct slots *t, struct slot_cache *c);
/* Owner of c: gives index back (its record must no longer be reachable through a handle that
 * could still validate). A cache above two batches spills one batch to the shared list. */
void slots_free(struct slots *t, struct slot_cache *c, uint32_t index);

#endif
