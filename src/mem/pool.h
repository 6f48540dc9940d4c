/* SPDX-License-Identifier: MIT */
/* pool.h: per-thread memory pools with size classes. The owning thread allocates and frees
 * without atomics; any other thread frees into a lock-free remote list the owner reclaims. */
#ifndef AX_MEM_POOL_H
#define AX_MEM_POOL_H

#include "core/platform.h"
#include "mem/fault.h"

/* Size classes, in bytes: every multiple of 16 up to 256 (actor headers and messages fit
 * tightly), then three per power of two, 1.25x, 1.5x and 2x of it (steps of 1.2-1.33x, so at
 * most a quarter of a block is wasted), up to POOL_MAX_BYTES, which replaces 65536 so that a
 * 64 KiB payload plus its message header still fits. Larger requests go to malloc (class
 * POOL_CLASS_LARGE). */
#define POOL_CLASSES 40
#define POOL_CLASS_LARGE 255u
#define POOL_MAX_BYTES (65536u + 256u)

/* The class index for a block of bytes (> 0), or POOL_CLASS_LARGE. O(1), no table load for
 * the sizes messages have; inline because every send computes it. */
static inline unsigned pool_class_of(size_t bytes) {
    if (ax_likely(bytes <= 256))
        /* bytes - 1 rounds multiples of 16 down into their own class; bytes == 0 (outside the
         * contract) gives class 0 instead of wrapping around. */
        return (unsigned)((bytes - (bytes != 0)) >> 4);
    if (ax_unlikely(bytes > POOL_MAX_BYTES)) return POOL_CLASS_LARGE;
    /* m in [2^k, 2^(k+1)) selects the classes 1.25, 1.5 and 2 times 2^k; the two bits below
     * the leading one say which quarter of the octave m lies in (quarters 2 and 3 both go to
     * the 2x class). Octave k = 8 starts at class 16. */
    size_t m = bytes - 1;
    unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)m);
    unsigned quarter = (unsigned)(m >> (k - 2)) & 3u;
    unsigned cls = 16u + 3u * (k - 8u) + (quarter < 2u ? quarter : 2u);
    /* (65536, POOL_MAX_BYTES] falls into octave 16, which has no classes of its own. */
    return cls < POOL_CLASSES ? cls : POOL_CLASSES - 1u;
}
/* The block size of a class (not LARGE): a multiple of 16. Any thread. */
size_t pool_class_size(unsigned cls);

struct pool_slab;       /* a malloc'd chunk carved into blocks, freed at pool_destroy */
/* Every free block is viewed as this. The owner reads links that other threads wrote; the
 * head's release/acquire already orders those accesses, and making the link a relaxed atomic
 * as well costs nothing on x86 or arm but keeps the code free of anything ThreadSanitizer or
 * the C11 model could call a data race (a block's memory changes threads many times). */
struct pool_free_block {
    _Atomic(struct pool_free_block *) next;
};

/* One class's remote list on its own cache line: pushers of different classes, and the
 * owner's local lists, do not share lines with it. */
struct pool_remote {
    AX_ALIGNED_LINE _Atomic(struct pool_free_block *) head; /* Treiber stack, any thread pushes */
};

/* A pool belongs to one owner thread. Blocks it hands out stay valid until freed back to it
 * (by anyone) or until pool_destroy. */
struct pool {
    /* Owner only, packed so the free lists of all classes share a few cache lines. */
    struct pool_free_block *local[POOL_CLASSES];
    struct pool_slab *slabs;
    size_t slab_bytes;            /* bytes obtained from malloc so far (0 in pass-through) */
    /* Written by other threads. */
    struct pool_remote remote[POOL_CLASSES];
};

/* Not thread-safe; the owner may be another thread that p is handed to before its first use. */
void pool_init(struct pool *p);
/* Frees every slab and leaves p as pool_init does. No block of p may be in use, no other
 * thread may touch p. */
void pool_destroy(struct pool *p);

/* Owner thread only. A block of pool_class_size(cls) bytes, 16-byte aligned, or NULL when
 * out of memory. cls must not be POOL_CLASS_LARGE: callers malloc those themselves. The fast
 * paths are inline (a pointer pop or push); pool_alloc_slow refills from the remote list or a
 * new slab. */
void *pool_alloc_slow(struct pool *p, unsigned cls);
#ifndef AX_POOL_PASSTHROUGH
static inline void *pool_alloc(struct pool *p, unsigned cls) {
    if (MEM_FAULT()) return NULL; /* a constant 0 outside the fault-injection test library */
    struct pool_free_block *b = p->local[cls];
    if (ax_likely(b != NULL)) {
        p->local[cls] = atomic_load_explicit(&b->next, memory_order_relaxed);
        return b;
    }
    return pool_alloc_slow(p, cls);
}
/* Owner thread only: give back a block this pool handed out. */
static inline void pool_free_local(struct pool *p, unsigned cls, void *block) {
    struct pool_free_block *b = block;
    atomic_store_explicit(&b->next, p->local[cls], memory_order_relaxed);
    p->local[cls] = b;
}
#else
void *pool_alloc(struct pool *p, unsigned cls);
void pool_free_local(struct pool *p, unsigned cls, void *block);
#endif
/* Any thread, concurrently with the owner and other freers: give back a block this pool
 * handed out (lock-free push to the remote list; never blocks). The freer's writes to the
 * block happen before the owner hands it out again. */
void pool_free_remote(struct pool *p, unsigned cls, void *block);

/* One thread's frees into other threads' pools, gathered: blocks of one pool and class are
 * chained here and pushed onto that pool's remote list with one CAS, when POOL_REMOTE_BATCH are
 * pending, when a block of another pool or class comes, or at pool_remote_flush. A consumer on
 * another core then costs the producer's pool one contended CAS per batch, not per message.
 * Owned by the freeing thread; zeroed is empty. Blocks wait here at most until the next flush,
 * and are in the owner's slabs either way, so pool_destroy frees them. */
#define POOL_REMOTE_BATCH 32u
struct pool_remote_batch {
    struct pool *to;
    unsigned cls, count;
    struct pool_free_block *first, *last;
};
/* The freeing thread only: as pool_free_remote, possibly later (the next flush). */
void pool_free_remote_batched(struct pool_remote_batch *b, struct pool *p, unsigned cls,
                              void *block);
/* The freeing thread only: pushes what b holds. */
void pool_remote_flush(struct pool_remote_batch *b);

/* With AX_POOL_PASSTHROUGH defined, pool_alloc is malloc and both frees are free, so that the
 * sanitizers see every block; the class bookkeeping stays the same. */

#endif
