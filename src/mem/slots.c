/* SPDX-License-Identifier: MIT */
/* slots.c: growing the record table (a chunk at a time, installed with a CAS so that racing
 * threads agree) and the per-thread free lists. */
#include "mem/fault.h"
#include "mem/slots.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t *link_of(struct slots *t, char *rec) {
    return (uint32_t *)(void *)(rec + t->link_offset);
}

int slots_init(struct slots *t, uint32_t rec_size, uint32_t link_offset) {
    t->chunks = mem_calloc(SLOTS_CHUNKS, sizeof *t->chunks);
    if (!t->chunks) return -ENOMEM;
    t->rec_size = rec_size;
    t->link_offset = link_offset;
    pthread_mutex_init(&t->spill_lock, NULL);
    t->spill = (struct slot_cache){0, 0};
    atomic_store_explicit(&t->spilled, 0, memory_order_relaxed);
    atomic_store_explicit(&t->hwm, 1, memory_order_relaxed); /* index 0 is never valid */
    return 0;
}

void slots_destroy(struct slots *t) {
    if (!t->chunks) return;
    for (uint32_t i = 0; i < SLOTS_CHUNKS; i++) free(atomic_load(&t->chunks[i]));
    free(t->chunks);
    t->chunks = NULL;
    pthread_mutex_destroy(&t->spill_lock);
}

/* Moves up to n records from the front of `from` to the front of `to`. */
static void move_batch(struct slots *t, struct slot_cache *from, struct slot_cache *to,
                       uint32_t n) {
    while (n-- > 0 && from->count > 0) {
        uint32_t index = from->head;
        uint32_t *link = link_of(t, slots_at(t, index));
        from->head = *link;
        from->count--;
        *link = to->head;
        to->head = index;
        to->count++;
    }
}


static int ensure_chunk(struct slots *t, uint32_t index) {
    _Atomic(char *) *slot = &t->chunks[index >> SLOTS_CHUNK_BITS];
    if (atomic_load_explicit(slot, memory_order_acquire)) return 0;
    char *fresh = mem_calloc(SLOTS_CHUNK, t->rec_size), *none = NULL;
    if (!fresh) return -ENOMEM;
    /* release: the zeroed chunk is visible before its pointer; pairs with slots_at. */
    if (!atomic_compare_exchange_strong_explicit(slot, &none, fresh, memory_order_acq_rel,
                                                 memory_order_acquire))
        free(fresh);
    return 0;
}

uint32_t slots_alloc(struct slots *t, struct slot_cache *c) {
    if (c->count == 0 && atomic_load_explicit(&t->spilled, memory_order_relaxed) > 0) {
        pthread_mutex_lock(&t->spill_lock);
        move_batch(t, &t->spill, c, SLOTS_BATCH);
        atomic_store_explicit(&t->spilled, t->spill.count, memory_order_relaxed);
        pthread_mutex_unlock(&t->spill_lock);
    }
    if (c->count == 0) {
        /* A CAS rather than an add: a full table must not move hwm past the last record, or
         * lookups would index past the chunk array and hwm could wrap to reissue index 1. */
        uint32_t first = atomic_load_explicit(&t->hwm, memory_order_relaxed);
        do {
            if (first > SLOTS_MAX - SLOTS_BATCH) return 0;
        } while (!atomic_compare_exchange_weak_explicit(&t->hwm, &first, first + SLOTS_BATCH,
                                                        memory_order_relaxed,
                                                        memory_order_relaxed));
        /* A batch never straddles chunks: SLOTS_CHUNK is a multiple of SLOTS_BATCH and the
         * first batch, starting at 1, ends inside chunk 0. */
        if (ensure_chunk(t, first) != 0 || ensure_chunk(t, first + SLOTS_BATCH - 1) != 0)
            return 0;
        /* hwm moved before the chunk exists: meanwhile slots_at of these indexes returns
         * NULL, which is right for indexes not handed out yet. */
        for (uint32_t i = SLOTS_BATCH; i-- > 0;) {
            char *rec = slots_at(t, first + i);
            *link_of(t, rec) = c->head;
            c->head = first + i;
        }
        c->count = SLOTS_BATCH;
    }
    uint32_t index = c->head;
    c->head = *link_of(t, slots_at(t, index));
    c->count--;
    return index;
}

void slots_free(struct slots *t, struct slot_cache *c, uint32_t index) {
    *link_of(t, slots_at(t, index)) = c->head;
    c->head = index;
    c->count++;
    if (c->count > 2 * SLOTS_BATCH) {
        pthread_mutex_lock(&t->spill_lock);
        move_batch(t, c, &t->spill, SLOTS_BATCH);
        atomic_store_explicit(&t->spilled, t->spill.count, memory_order_relaxed);
        pthread_mutex_unlock(&t->spill_lock);
    }
}
