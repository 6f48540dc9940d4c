/* pool.h: per-thread memory pools with size classes. The owning thread allocates and frees
 * without atomics; any other thread frees into a lock-free remote list the owner reclaims. */
#ifndef AX_MEM_POOL_H
#define AX_MEM_POOL_H

#include "core/platform.h"

/* Size classes, in bytes: every multiple of 16 up to 256 (actor headers and messages fit
 * tightly), then three per power of two, 1.25x, 1.5x and 2x of it (steps of 1.2-1.33x, so at
 * most a quarter of a block is wasted), up to POOL_MAX_BYTES, which replaces 65536 so that a
 * 64 KiB payload plus its message header still fits. Larger requests go to malloc (class
 * POOL_CLASS_LARGE). */
#define POOL_CLASSES 40
#define POOL_CLASS_LARGE 255u
#define POOL_MAX_BYTES (65536u + 256u)

/* The class index for a block of bytes (> 0), or POOL_CLASS_LARGE. O(1), no table load for
 * bytes <= 256. Any thread. */
unsigned pool_class_of(size_t bytes);
/* The block size of a class (not LARGE): a multiple of 16. Any thread. */
size_t pool_class_size(unsigned cls);

struct pool_slab;       /* a malloc'd chunk carved into blocks, freed at pool_destroy */
struct pool_free_block; /* a free block: its first word links to the next free block */

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
 * out of memory. cls must not be POOL_CLASS_LARGE: callers malloc those themselves. */
void *pool_alloc(struct pool *p, unsigned cls);
/* Owner thread only: give back a block this pool handed out. */
void pool_free_local(struct pool *p, unsigned cls, void *block);
/* Any thread, concurrently with the owner and other freers: give back a block this pool
 * handed out (lock-free push to the remote list; never blocks). The freer's writes to the
 * block happen before the owner hands it out again. */
void pool_free_remote(struct pool *p, unsigned cls, void *block);

/* With AX_POOL_PASSTHROUGH defined, pool_alloc is malloc and both frees are free, so that the
 * sanitizers see every block; the class bookkeeping stays the same. */

#endif
