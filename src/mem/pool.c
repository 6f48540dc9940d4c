/* SPDX-License-Identifier: MIT */
/* pool.c: per-thread size-class pools. Messages and actors are allocated and freed on every
 * send, so the owner's path is a pointer pop/push with no atomic RMW; frees from other threads
 * go to a per-class Treiber stack that the owner takes over whole when its local list runs dry.
 *
 * Remote list: R. K. Treiber, "Systems Programming: Coping with Parallelism", IBM RJ 5118
 * (1986). Pushers CAS a new head whose next is the old head. The only pop is the owner's
 * exchange of the head with NULL, which takes the whole list at once, so no thread ever reads
 * a node's next and then CASes on the head expecting that node: the ABA problem cannot arise
 * and nodes need no tags or hazard pointers. */
#include "mem/fault.h"
#include "mem/pool.h"

#include <stdlib.h>
#include <string.h>

#define POOL_NOINLINE_COLD __attribute__((noinline, cold))

/* The slab header keeps the blocks behind it 16-byte aligned. */
struct pool_slab {
    _Alignas(16) struct pool_slab *next;
    size_t bytes;
};

#define POOL_SLAB_BYTES 65536u   /* a slab's target size, header included */
#define POOL_SLAB_MIN_BLOCKS 8u  /* big classes: fewer mallocs than one per 8 blocks */

/* Index i is class i. Small classes are 16 * (i + 1); above 256, three classes per power of
 * two, the last one raised from 65536 to POOL_MAX_BYTES. pool_class_of computes the same
 * layout arithmetically; the unit test checks the two agree for every size. */
static const uint32_t pool_class_bytes[POOL_CLASSES] = {
    16,    32,    48,    64,    80,    96,    112,   128,
    144,   160,   176,   192,   208,   224,   240,   256,
    320,   384,   512,   640,   768,   1024,  1280,  1536,
    2048,  2560,  3072,  4096,  5120,  6144,  8192,  10240,
    12288, 16384, 20480, 24576, 32768, 40960, 49152, POOL_MAX_BYTES,
};

_Static_assert(POOL_CLASSES < POOL_CLASS_LARGE, "LARGE must not be a class index");
_Static_assert(sizeof(struct pool_slab) % 16 == 0, "slab header must keep blocks aligned");

size_t pool_class_size(unsigned cls) {
    return pool_class_bytes[cls];
}

void pool_init(struct pool *p) {
    for (unsigned i = 0; i < POOL_CLASSES; i++) {
        p->local[i] = NULL;
        atomic_init(&p->remote[i].head, NULL);
    }
    p->slabs = NULL;
    p->slab_bytes = 0;
}

#ifdef AX_POOL_PASSTHROUGH

/* Every block is its own malloc, so ASan sees overflows and use-after-free per block and TSan
 * sees the real lifetime; sizes are multiples of 16, as aligned_alloc requires. */

void pool_destroy(struct pool *p) {
    pool_init(p);
}

void *pool_alloc(struct pool *p, unsigned cls) {
    (void)p;
    return mem_aligned_alloc(16, pool_class_bytes[cls]);
}

void *pool_alloc_slow(struct pool *p, unsigned cls) {
    return pool_alloc(p, cls);
}

void pool_free_local(struct pool *p, unsigned cls, void *block) {
    (void)p;
    (void)cls;
    free(block);
}

void pool_free_remote(struct pool *p, unsigned cls, void *block) {
    (void)p;
    (void)cls;
    free(block);
}

void pool_free_remote_batched(struct pool_remote_batch *b, struct pool *p, unsigned cls,
                              void *block) {
    (void)b;
    pool_free_remote(p, cls, block);
}

void pool_remote_flush(struct pool_remote_batch *b) { (void)b; }

#else

void pool_destroy(struct pool *p) {
    /* Blocks on the local and remote lists all live inside slabs: freeing the slabs is enough. */
    struct pool_slab *s = p->slabs;
    while (s != NULL) {
        struct pool_slab *next = s->next;
        free(s);
        s = next;
    }
    pool_init(p);
}

/* Takes a new slab for cls, links all but its first block into the local list (in address
 * order, so consecutive allocations are neighbours) and returns the first one. */
static struct pool_free_block *pool_carve(struct pool *p, unsigned cls) {
    size_t size = pool_class_bytes[cls];
    size_t n = (POOL_SLAB_BYTES - sizeof(struct pool_slab)) / size;
    if (n < POOL_SLAB_MIN_BLOCKS)
        n = POOL_SLAB_MIN_BLOCKS;
    size_t bytes = sizeof(struct pool_slab) + n * size;
    struct pool_slab *s = mem_aligned_alloc(16, bytes);
    if (s == NULL)
        return NULL;
    s->next = p->slabs;
    s->bytes = bytes;
    p->slabs = s;
    p->slab_bytes += bytes;

    char *first = (char *)(s + 1);
    for (size_t i = 0; i + 1 < n; i++) {
        struct pool_free_block *b = (struct pool_free_block *)(first + i * size);
        atomic_store_explicit(&b->next, (struct pool_free_block *)(first + (i + 1) * size),
                              memory_order_relaxed);
    }
    struct pool_free_block *last = (struct pool_free_block *)(first + (n - 1) * size);
    atomic_store_explicit(&last->next, NULL, memory_order_relaxed);

    struct pool_free_block *b = (struct pool_free_block *)first;
    p->local[cls] = atomic_load_explicit(&b->next, memory_order_relaxed);
    return b;
}

/* The local list of cls is empty: adopt the remote list, or carve a slab. */
POOL_NOINLINE_COLD void *pool_alloc_slow(struct pool *p, unsigned cls) {
    _Atomic(struct pool_free_block *) *head = &p->remote[cls].head;
    /* The relaxed peek spares an RMW on a line that other threads may own when nothing has
     * been freed remotely; a push it misses is picked up on a later refill. */
    if (atomic_load_explicit(head, memory_order_relaxed) != NULL) {
        /* Acquire: pairs with the release CAS in pool_free_remote (and, through the release
         * sequence the CASes form, with every earlier push), so the links and the freers'
         * last writes to the blocks are visible before we walk and reuse them. */
        struct pool_free_block *b = atomic_exchange_explicit(head, NULL, memory_order_acquire);
        if (b != NULL) {
            p->local[cls] = atomic_load_explicit(&b->next, memory_order_relaxed);
            return b;
        }
    }
    return pool_carve(p, cls);
}

/* Pushes the chain first..last (linked through next) onto cls's remote list. */
static void push_remote_chain(struct pool *p, unsigned cls, struct pool_free_block *first,
                              struct pool_free_block *last) {
    _Atomic(struct pool_free_block *) *head = &p->remote[cls].head;
    struct pool_free_block *old = atomic_load_explicit(head, memory_order_relaxed);
    do {
        atomic_store_explicit(&last->next, old, memory_order_relaxed);
        /* Release on success: pairs with the owner's acquire exchange in pool_alloc_slow, so
         * the links and our writes to the blocks are visible to it. A failed CAS only reloads
         * old, which we merely store into last->next: relaxed. */
    } while (!atomic_compare_exchange_weak_explicit(head, &old, first, memory_order_release,
                                                    memory_order_relaxed));
}

void pool_free_remote(struct pool *p, unsigned cls, void *block) {
    push_remote_chain(p, cls, block, block);
}

void pool_remote_flush(struct pool_remote_batch *b) {
    if (b->count == 0) return;
    push_remote_chain(b->to, b->cls, b->first, b->last);
    b->count = 0;
}

void pool_free_remote_batched(struct pool_remote_batch *b, struct pool *p, unsigned cls,
                              void *block) {
    struct pool_free_block *blk = block;
    if (b->count && (b->to != p || b->cls != cls)) pool_remote_flush(b);
    if (b->count == 0) {
        b->to = p;
        b->cls = cls;
        b->last = blk;
    }
    atomic_store_explicit(&blk->next, b->first, memory_order_relaxed);
    b->first = blk;
    if (++b->count == POOL_REMOTE_BATCH) pool_remote_flush(b);
}

#endif
