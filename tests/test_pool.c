/* SPDX-License-Identifier: MIT */
/* test_pool.c: unit test of the size-class pools (src/mem/pool.c): the class table is tight,
 * blocks never overlap and are reused, blocks freed by other threads come back to the owner
 * with the freers' writes visible, and pool_destroy releases everything (ASan checks leaks). */
#include "mem/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "test_pool: %s:%d: failed: %s: ", __FILE__, __LINE__, #cond);  \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

#ifdef AX_POOL_PASSTHROUGH
#define POOLED 0 /* blocks are plain mallocs: no reuse or slab accounting to check */
#else
#define POOLED 1
#endif

/* ---- (1) class table ---------------------------------------------------------------- */

static void test_class_table(void) {
    size_t prev = 0;
    for (unsigned c = 0; c < POOL_CLASSES; c++) {
        size_t s = pool_class_size(c);
        CHECK(s % 16 == 0, "class %u size %zu not a multiple of 16", c, s);
        CHECK(s > prev, "class %u size %zu not above the previous %zu", c, s, prev);
        /* Above the 16-byte steps, the waste per block stays below a third. */
        CHECK(prev <= 256 || 2 * s <= 3 * prev, "class %u: step %zu -> %zu above 1.5x", c,
              prev, s);
        prev = s;
    }
    CHECK(prev == POOL_MAX_BYTES, "largest class %zu", prev);
    for (size_t s = 16; s <= 256; s += 16)
        CHECK(pool_class_size(pool_class_of(s)) == s, "%zu bytes has no exact class", s);
    for (size_t s = 1; s <= POOL_MAX_BYTES; s++) {
        unsigned c = pool_class_of(s);
        CHECK(c < POOL_CLASSES, "pool_class_of(%zu) = %u", s, c);
        CHECK(pool_class_size(c) >= s, "pool_class_of(%zu) = %u, only %zu bytes", s, c,
              pool_class_size(c));
        CHECK(c == 0 || pool_class_size(c - 1) < s, "pool_class_of(%zu) = %u not tight", s, c);
    }
    size_t large[] = {POOL_MAX_BYTES + 1, POOL_MAX_BYTES + 16, 1u << 20, (size_t)1 << 40,
                      SIZE_MAX};
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++)
        CHECK(pool_class_of(large[i]) == POOL_CLASS_LARGE, "%zu bytes not LARGE", large[i]);
}

/* ---- (2) local alloc/free: no overlap, reuse ---------------------------------------- */

static uint32_t pattern_word(uint32_t tag, size_t i) {
    return (tag * 2654435761u) ^ (uint32_t)(i * 40503u + 1u);
}

static void fill(void *block, size_t size, uint32_t tag) {
    uint32_t *w = block;
    for (size_t i = 0; i < size / 4; i++)
        w[i] = pattern_word(tag, i);
}

static int intact(const void *block, size_t size, uint32_t tag) {
    const uint32_t *w = block;
    for (size_t i = 0; i < size / 4; i++)
        if (w[i] != pattern_word(tag, i))
            return 0;
    return 1;
}

static const unsigned test_classes[] = {0, 1, 3, 4, 5, 11, 15, 16, 17, 21, 25, 30, 38, 39};
#define N_TEST_CLASSES (sizeof test_classes / sizeof test_classes[0])

/* Enough blocks to need several slabs of each class. */
static size_t blocks_for(unsigned cls) {
    size_t n = (256u << 10) / pool_class_size(cls) + 10;
    return n < 20 ? 20 : n;
}

static void alloc_round_robin(struct pool *p, void **blocks[]) {
    size_t done = 0;
    for (size_t i = 0; done < N_TEST_CLASSES; i++) {
        done = 0;
        for (size_t k = 0; k < N_TEST_CLASSES; k++) {
            unsigned c = test_classes[k];
            if (i >= blocks_for(c)) {
                done++;
                continue;
            }
            void *b = pool_alloc(p, c);
            CHECK(b != NULL, "pool_alloc(class %u) failed", c);
            CHECK(((uintptr_t)b & 15) == 0, "block %p of class %u not 16-byte aligned", b, c);
            fill(b, pool_class_size(c), (uint32_t)(c << 24 | i));
            blocks[k][i] = b;
        }
    }
}

static void check_all_intact(void **blocks[]) {
    for (size_t k = 0; k < N_TEST_CLASSES; k++) {
        unsigned c = test_classes[k];
        for (size_t i = 0; i < blocks_for(c); i++)
            CHECK(intact(blocks[k][i], pool_class_size(c), (uint32_t)(c << 24 | i)),
                  "block %zu of class %u overwritten: blocks overlap", i, c);
    }
}

static void free_all_local(struct pool *p, void **blocks[]) {
    /* Odd indices first, then even, so the list order differs from the carving order. */
    for (size_t k = 0; k < N_TEST_CLASSES; k++) {
        unsigned c = test_classes[k];
        for (size_t start = 1; start <= 2; start++)
            for (size_t i = start % 2; i < blocks_for(c); i += 2)
                pool_free_local(p, c, blocks[k][i]);
    }
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

static void test_local_reuse(void) {
    struct pool p;
    pool_init(&p);
    void **blocks[N_TEST_CLASSES];
    for (size_t k = 0; k < N_TEST_CLASSES; k++) {
        blocks[k] = calloc(blocks_for(test_classes[k]), sizeof(void *));
        CHECK(blocks[k] != NULL, "out of memory");
    }

    alloc_round_robin(&p, blocks);
    check_all_intact(blocks);
    size_t slab_bytes = p.slab_bytes;
    CHECK(!POOLED || slab_bytes > 0, "no slab accounted");
    free_all_local(&p, blocks);

    /* The second round is served entirely from the freed blocks. */
    alloc_round_robin(&p, blocks);
    check_all_intact(blocks);
    CHECK(p.slab_bytes == slab_bytes, "slab_bytes grew from %zu to %zu: freed blocks not reused",
          slab_bytes, p.slab_bytes);

    /* The local list is LIFO: the block just freed comes back first (cache-warm). */
    void *b = blocks[3][5];
    pool_free_local(&p, test_classes[3], b);
    void *again = pool_alloc(&p, test_classes[3]);
    CHECK(!POOLED || again == b, "freed %p, got %p", b, again);
    blocks[3][5] = again;
    fill(again, pool_class_size(test_classes[3]), (uint32_t)(test_classes[3] << 24 | 5));

    /* Freeing through the remote list, here from the owner itself, also gets reused, and
     * returns exactly the same set of blocks. */
    size_t k = 1, n = blocks_for(test_classes[k]);
    unsigned c = test_classes[k];
    void **before = malloc(n * sizeof(void *));
    CHECK(before != NULL, "out of memory");
    memcpy(before, blocks[k], n * sizeof(void *));
    /* Empty the local list first (the slabs' leftovers), so the refill must use the remote
     * list. */
    size_t n_spare = 0, cap_spare = 64;
    void **spare = malloc(cap_spare * sizeof(void *));
    CHECK(spare != NULL, "out of memory");
    while (p.local[c] != NULL) {
        if (n_spare == cap_spare) {
            spare = realloc(spare, (cap_spare *= 2) * sizeof(void *));
            CHECK(spare != NULL, "out of memory");
        }
        spare[n_spare++] = pool_alloc(&p, c);
    }
    for (size_t i = 0; i < n; i++)
        pool_free_remote(&p, c, blocks[k][i]);
    for (size_t i = 0; i < n; i++) {
        blocks[k][i] = pool_alloc(&p, c);
        CHECK(blocks[k][i] != NULL, "pool_alloc failed");
        fill(blocks[k][i], pool_class_size(c), (uint32_t)(c << 24 | i));
    }
    CHECK(p.slab_bytes == slab_bytes, "remote frees not reused: slab_bytes %zu -> %zu",
          slab_bytes, p.slab_bytes);
    if (POOLED) {
        qsort(before, n, sizeof(void *), cmp_ptr);
        for (size_t i = 0; i < n; i++)
            CHECK(bsearch(&blocks[k][i], before, n, sizeof(void *), cmp_ptr) != NULL,
                  "block %p was not among the remotely freed ones", blocks[k][i]);
    }
    free(before);
    for (size_t i = 0; i < n_spare; i++)
        pool_free_local(&p, c, spare[i]);
    free(spare);
    check_all_intact(blocks);

    free_all_local(&p, blocks);
    for (size_t j = 0; j < N_TEST_CLASSES; j++)
        free(blocks[j]);
    pool_destroy(&p);
}

/* ---- (3) remote frees from other threads --------------------------------------------- */

#if defined(AX_TSAN)
#define STRESS_BLOCKS 200000u
#elif defined(AX_STRESS_BIG)
#define STRESS_BLOCKS 10000000u
#else
#define STRESS_BLOCKS 1000000u
#endif
#define STRESS_CONSUMERS 2
#define QUEUE_CAP 1024u
#define BATCH 32u
#define STRESS_MAGIC 0x600dB10Cu
/* The pool never holds more blocks of a class than were in flight at once plus one slab;
 * the run hands out far more bytes than this (>= 64 MiB even under TSan). */
#define STRESS_SLAB_BOUND (8u << 20)

static const unsigned stress_classes[] = {3, 4, 15, 21}; /* 64, 80, 256, 1024 bytes */

/* The first word of a block is the pool's link while it is free, so the header skips it. */
struct stress_hdr {
    void *link_space;
    uint64_t seq;
    uint32_t magic;    /* STRESS_MAGIC once a consumer has written the whole block */
    uint32_t consumer; /* 0 while owned by the producer */
};

struct item {
    void *block;
    uint64_t seq;
    unsigned cls;
};

/* A bounded ring under a lock: deliberately simple, it is test scaffolding, not the subject. */
struct queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    struct item ring[QUEUE_CAP];
    size_t head, count;
    int done;
};

struct stress {
    struct pool pool;
    struct queue q;
    _Atomic unsigned char *seen; /* per seq: how many consumers handled it */
    size_t handled[STRESS_CONSUMERS];
    size_t recycled; /* producer: allocations that returned a consumer-written block */
};

struct consumer_arg {
    struct stress *st;
    uint32_t id; /* 1-based */
};

static uint32_t body_tag(uint64_t seq, uint32_t consumer) {
    return (uint32_t)seq * 2u + consumer;
}

/* Producer: takes a block and, if a consumer wrote it before freeing it remotely, checks
 * that all of it arrived intact (the release/acquire of the remote list carried it). */
static void *producer_take(struct stress *st, unsigned cls) {
    void *b = pool_alloc(&st->pool, cls);
    CHECK(b != NULL, "pool_alloc failed");
    struct stress_hdr *h = b;
    if (POOLED && h->magic == STRESS_MAGIC) {
        size_t size = pool_class_size(cls);
        CHECK(h->consumer >= 1 && h->consumer <= STRESS_CONSUMERS, "consumer %u", h->consumer);
        CHECK(intact(h + 1, size - sizeof *h, body_tag(h->seq, h->consumer)),
              "block of seq %llu came back damaged", (unsigned long long)h->seq);
        st->recycled++;
    }
    return b;
}

static void *producer_main(void *arg) {
    struct stress *st = arg;
    struct item batch[BATCH];
    uint64_t seq = 0;
    while (seq < STRESS_BLOCKS) {
        size_t n = 0;
        for (; n < BATCH && seq < STRESS_BLOCKS; n++, seq++) {
            unsigned cls = stress_classes[seq % 4];
            struct stress_hdr *h = producer_take(st, cls);
            h->seq = seq;
            h->magic = 0;
            h->consumer = 0;
            batch[n] = (struct item){h, seq, cls};
            if (seq % 8 == 0) { /* interleave local traffic on the same lists */
                void *scratch = producer_take(st, cls);
                memset(scratch, 0xab, pool_class_size(cls));
                pool_free_local(&st->pool, cls, scratch);
            }
        }
        pthread_mutex_lock(&st->q.mu);
        for (size_t i = 0; i < n; i++) {
            while (st->q.count == QUEUE_CAP)
                pthread_cond_wait(&st->q.not_full, &st->q.mu);
            st->q.ring[(st->q.head + st->q.count++) % QUEUE_CAP] = batch[i];
            pthread_cond_signal(&st->q.not_empty);
        }
        pthread_mutex_unlock(&st->q.mu);
    }
    pthread_mutex_lock(&st->q.mu);
    st->q.done = 1;
    pthread_cond_broadcast(&st->q.not_empty);
    pthread_mutex_unlock(&st->q.mu);
    return NULL;
}

static void consume(struct stress *st, uint32_t id, struct item it) {
    struct stress_hdr *h = it.block;
    size_t size = pool_class_size(it.cls);
    CHECK(h->seq == it.seq && h->magic == 0 && h->consumer == 0,
          "block of seq %llu changed in flight (seq %llu, consumer %u): handed out twice",
          (unsigned long long)it.seq, (unsigned long long)h->seq, h->consumer);
    fill(h + 1, size - sizeof *h, body_tag(it.seq, id));
    h->consumer = id;
    h->magic = STRESS_MAGIC;
    CHECK(intact(h + 1, size - sizeof *h, body_tag(it.seq, id)) && h->seq == it.seq,
          "block of seq %llu written concurrently", (unsigned long long)it.seq);
    atomic_fetch_add_explicit(&st->seen[it.seq], 1, memory_order_relaxed);
    st->handled[id - 1]++;
    pool_free_remote(&st->pool, it.cls, h);
}

static void *consumer_main(void *arg) {
    struct consumer_arg *ca = arg;
    struct stress *st = ca->st;
    struct item batch[BATCH];
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&st->q.mu);
        while (st->q.count == 0 && !st->q.done)
            pthread_cond_wait(&st->q.not_empty, &st->q.mu);
        for (; n < BATCH && st->q.count > 0; n++) {
            batch[n] = st->q.ring[st->q.head];
            st->q.head = (st->q.head + 1) % QUEUE_CAP;
            st->q.count--;
        }
        if (n > 0)
            pthread_cond_signal(&st->q.not_full);
        pthread_mutex_unlock(&st->q.mu);
        if (n == 0)
            return NULL; /* done and drained */
        for (size_t i = 0; i < n; i++)
            consume(st, ca->id, batch[i]);
    }
}

static void test_remote_free(void) {
    struct stress *st = calloc(1, sizeof *st);
    CHECK(st != NULL, "out of memory");
    pool_init(&st->pool);
    pthread_mutex_init(&st->q.mu, NULL);
    pthread_cond_init(&st->q.not_empty, NULL);
    pthread_cond_init(&st->q.not_full, NULL);
    st->seen = calloc(STRESS_BLOCKS, sizeof *st->seen);
    CHECK(st->seen != NULL, "out of memory");

    pthread_t prod, cons[STRESS_CONSUMERS];
    struct consumer_arg args[STRESS_CONSUMERS];
    CHECK(pthread_create(&prod, NULL, producer_main, st) == 0, "pthread_create");
    for (int i = 0; i < STRESS_CONSUMERS; i++) {
        args[i] = (struct consumer_arg){st, (uint32_t)i + 1};
        CHECK(pthread_create(&cons[i], NULL, consumer_main, &args[i]) == 0, "pthread_create");
    }
    pthread_join(prod, NULL);
    for (int i = 0; i < STRESS_CONSUMERS; i++)
        pthread_join(cons[i], NULL);

    size_t total = 0;
    for (int i = 0; i < STRESS_CONSUMERS; i++)
        total += st->handled[i];
    CHECK(total == STRESS_BLOCKS, "consumers handled %zu of %u blocks", total, STRESS_BLOCKS);
    for (size_t s = 0; s < STRESS_BLOCKS; s++) {
        unsigned seen = atomic_load_explicit(&st->seen[s], memory_order_relaxed);
        CHECK(seen == 1, "seq %zu handled %u times", s, seen);
    }
    if (POOLED) {
        CHECK(st->pool.slab_bytes < STRESS_SLAB_BOUND,
              "slab_bytes %zu: remotely freed blocks are not being reused", st->pool.slab_bytes);
        CHECK(st->recycled >= STRESS_BLOCKS / 2, "only %zu of %u allocations were recycled",
              st->recycled, STRESS_BLOCKS);
    }
    printf("test_pool: remote free: %u blocks, %zu + %zu per consumer, %zu recycled, "
           "%zu slab bytes%s\n",
           STRESS_BLOCKS, st->handled[0], st->handled[1], st->recycled, st->pool.slab_bytes,
           POOLED ? "" : " (pass-through)");

    /* Every block is back on a local or remote list: destroy must free all of it. */
    pool_destroy(&st->pool);
    pthread_mutex_destroy(&st->q.mu);
    pthread_cond_destroy(&st->q.not_empty);
    pthread_cond_destroy(&st->q.not_full);
    free(st->seen);
    free(st);
}

/* ---- (4) destroy ---------------------------------------------------------------------- */

static void test_destroy(void) {
    struct pool p;
    pool_init(&p);
    for (int round = 0; round < 2; round++) { /* the pool is reusable after destroy */
        void *b[POOL_CLASSES][3];
        for (unsigned c = 0; c < POOL_CLASSES; c++)
            for (int i = 0; i < 3; i++) {
                b[c][i] = pool_alloc(&p, c);
                CHECK(b[c][i] != NULL, "pool_alloc(class %u) failed", c);
                memset(b[c][i], 0x5a, pool_class_size(c));
            }
        CHECK(!POOLED || p.slab_bytes > 0, "no slab accounted");
        for (unsigned c = 0; c < POOL_CLASSES; c++) {
            pool_free_local(&p, c, b[c][0]);
            pool_free_remote(&p, c, b[c][1]);
            pool_free_local(&p, c, b[c][2]);
        }
        pool_destroy(&p);
        CHECK(p.slabs == NULL && p.slab_bytes == 0, "destroy did not reset the pool");
        for (unsigned c = 0; c < POOL_CLASSES; c++)
            CHECK(p.local[c] == NULL && atomic_load(&p.remote[c].head) == NULL,
                  "destroy left class %u lists", c);
    }
}

TEST_MAIN(TEST_CASE(test_class_table), TEST_CASE(test_local_reuse), TEST_CASE(test_destroy),
          TEST_CASE(test_remote_free))
