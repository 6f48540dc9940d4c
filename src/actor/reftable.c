/* reftable.c: slot allocation and lookup for actor refs. Lookups are wait-free (bounds check,
 * two acquire loads); a slot is recycled only after its actor's grace period (see epoch.h), and
 * the generation in every ref makes a stale ref miss even after its slot is reused. */
#include <errno.h>
#include <stdlib.h>

#include "actor/reftable.h"
#include "sched/sched.h"

int reftable_init(struct reftable *t) {
    t->chunks = calloc(REF_CHUNKS, sizeof *t->chunks);
    if (!t->chunks) return -ENOMEM;
    atomic_store_explicit(&t->hwm, 1, memory_order_relaxed); /* slot 0 stays unused: ref 0 */
    return 0;
}

void reftable_destroy(struct reftable *t) {
    if (!t->chunks) return;
    for (uint32_t i = 0; i < REF_CHUNKS; i++) free(atomic_load(&t->chunks[i]));
    free(t->chunks);
    t->chunks = NULL;
}

static struct ref_entry *entry_of(struct reftable *t, uint32_t index) {
    /* acquire: pairs with the release CAS that installed the chunk. */
    struct ref_entry *c =
        atomic_load_explicit(&t->chunks[index >> REF_CHUNK_BITS], memory_order_acquire);
    return c ? &c[index & (REF_CHUNK - 1)] : NULL;
}

static struct ref_entry *ensure_chunk(struct reftable *t, uint32_t index) {
    struct ref_entry *e = entry_of(t, index);
    if (e) return e;
    struct ref_entry *fresh = calloc(REF_CHUNK, sizeof *fresh), *none = NULL;
    if (!fresh) return NULL;
    for (uint32_t i = 0; i < REF_CHUNK; i++) fresh[i].gen = 1;
    /* release: the initialized chunk is visible before its pointer; pairs with entry_of. */
    if (!atomic_compare_exchange_strong_explicit(&t->chunks[index >> REF_CHUNK_BITS], &none,
                                                 fresh, memory_order_acq_rel,
                                                 memory_order_acquire))
        free(fresh);
    return entry_of(t, index);
}

uint64_t reftable_alloc(struct reftable *t, struct sched_thread *thr) {
    if (thr->slot_free_count == 0) {
        /* A CAS rather than an add: a full table must not move hwm past the last slot, or
         * lookups would index past the chunk array and hwm could wrap to reissue refs. */
        uint32_t first = atomic_load_explicit(&t->hwm, memory_order_relaxed);
        do {
            if (first > REF_CHUNKS * REF_CHUNK - REF_BATCH) return 0;
        } while (!atomic_compare_exchange_weak_explicit(&t->hwm, &first, first + REF_BATCH,
                                                        memory_order_relaxed,
                                                        memory_order_relaxed));
        /* A batch never straddles chunks: REF_CHUNK is a multiple of REF_BATCH, and the
         * first batch starts at 1 and so ends at REF_BATCH, inside chunk 0. */
        if (!ensure_chunk(t, first) || !ensure_chunk(t, first + REF_BATCH - 1)) return 0;
        for (uint32_t i = REF_BATCH; i-- > 0;) {
            entry_of(t, first + i)->next_free = thr->slot_free;
            thr->slot_free = first + i;
        }
        thr->slot_free_count = REF_BATCH;
    }
    uint32_t index = thr->slot_free;
    struct ref_entry *e = entry_of(t, index);
    thr->slot_free = e->next_free;
    thr->slot_free_count--;
    return ref_make(e->gen, index);
}

void reftable_publish(struct reftable *t, uint64_t ref, void *actor) {
    /* release: pairs with the acquire load in reftable_get. */
    atomic_store_explicit(&entry_of(t, ref_index(ref))->actor, actor, memory_order_release);
}

void reftable_clear(struct reftable *t, uint64_t ref) {
    /* seq_cst: ordered before the stopping actor's read of its registry flag (see
     * registry.c), so a concurrent ax_register either sees the actor gone or is seen. */
    atomic_store_explicit(&entry_of(t, ref_index(ref))->actor, NULL, memory_order_seq_cst);
}

void reftable_free(struct reftable *t, struct sched_thread *thr, uint64_t ref) {
    uint32_t index = ref_index(ref);
    struct ref_entry *e = entry_of(t, index);
    if (++e->gen == 0) return; /* generations exhausted: the slot is retired */
    e->next_free = thr->slot_free;
    thr->slot_free = index;
    thr->slot_free_count++;
}

uint32_t reftable_gen(struct reftable *t, uint64_t ref) {
    struct ref_entry *e = entry_of(t, ref_index(ref));
    return e ? e->gen : 0;
}

void reftable_set_gen(struct reftable *t, uint64_t ref, uint32_t gen) {
    struct ref_entry *e = entry_of(t, ref_index(ref));
    if (e) e->gen = gen;
}
