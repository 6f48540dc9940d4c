/* SPDX-License-Identifier: MIT */
/* test_deque.c: unit and stress tests of the Chase-Lev deque (src/sched/deque.c): LIFO/FIFO
 * order on one thread, growth from a tiny ring, and one owner against three thieves (also while
 * the ring grows) where every item must be taken exactly once. No timing assertions. */
#include "sched/deque.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "runner.h"

/* Sizes: TSan runs about 10x slower, so it gets fewer items. */
#ifdef AX_TSAN
#define STRESS_N 200000u
#define GROW_ROUNDS 30
#elif defined(AX_STRESS_BIG)
#define STRESS_N 20000000u
#define GROW_ROUNDS 2000
#else
#define STRESS_N 2000000u
#define GROW_ROUNDS 200
#endif
#define N_THIEVES 3

static int failures;

#define CHECK(cond, ...)                                                            \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "test_deque: %s:%d: check failed: %s: ", __FILE__,      \
                    __LINE__, #cond);                                               \
            fprintf(stderr, __VA_ARGS__);                                           \
            fputc('\n', stderr);                                                    \
            failures++;                                                             \
        }                                                                           \
    } while (0)

/* The checks count failures and go on (a failed stress run reports up to ten wrong items);
 * each case ends with this, which fails it if any check did. */
static void end_case(void) {
    if (failures) {
        fprintf(stderr, "test_deque: %d check(s) failed\n", failures);
        exit(1);
    }
}

static void *enc(uint64_t i) { return (void *)(uintptr_t)(i + 1); }
static uint64_t dec(void *p) { return (uint64_t)(uintptr_t)p - 1; }

static void test_single_thread(void) {
    struct deque d;
    CHECK(deque_init(&d, 3) == 0, "init");
    CHECK(deque_pop_owner(&d) == NULL, "pop on a new deque");
    CHECK(deque_steal(&d) == NULL, "steal on a new deque");
    CHECK(deque_size(&d) == 0, "size of a new deque");

    for (uint64_t i = 0; i < 5; i++) CHECK(deque_push_owner(&d, enc(i)) == 0, "push %" PRIu64, i);
    CHECK(deque_size(&d) == 5, "size %" PRId64, deque_size(&d));
    for (uint64_t i = 5; i-- > 0;) {
        void *p = deque_pop_owner(&d);
        CHECK(p == enc(i), "pop: want %" PRIu64 ", got %p", i, p);
    }
    CHECK(deque_pop_owner(&d) == NULL, "pop when empty");
    CHECK(deque_steal(&d) == NULL, "steal when empty");

    for (uint64_t i = 0; i < 5; i++) CHECK(deque_push_owner(&d, enc(i)) == 0, "push %" PRIu64, i);
    for (uint64_t i = 0; i < 5; i++) {
        void *p = deque_steal(&d);
        CHECK(p == enc(i), "steal: want %" PRIu64 ", got %p", i, p);
    }
    CHECK(deque_steal(&d) == NULL, "steal when empty");
    CHECK(deque_pop_owner(&d) == NULL, "pop when empty");

    /* Both ends at once: steal takes the oldest, pop the newest, the last one goes once. */
    for (uint64_t i = 0; i < 3; i++) CHECK(deque_push_owner(&d, enc(i)) == 0, "push");
    CHECK(deque_steal(&d) == enc(0), "mixed steal");
    CHECK(deque_pop_owner(&d) == enc(2), "mixed pop");
    CHECK(deque_size(&d) == 1, "size %" PRId64, deque_size(&d));
    CHECK(deque_steal(&d) == enc(1), "mixed steal of the last item");
    CHECK(deque_pop_owner(&d) == NULL, "pop after the last item was stolen");
    CHECK(deque_steal(&d) == NULL, "steal after the last item was stolen");
    CHECK(deque_size(&d) == 0, "size %" PRId64, deque_size(&d));
    CHECK(deque_push_owner(&d, enc(7)) == 0, "push");
    CHECK(deque_pop_owner(&d) == enc(7), "pop of the only item");
    CHECK(deque_steal(&d) == NULL, "steal after the only item was popped");
    deque_destroy(&d);

    /* A capacity no machine can hold is refused without trying to allocate it. */
    CHECK(deque_init(&d, 63) == -ENOMEM, "init with log_capacity 63");
    end_case();
}

/* Growth from 4 slots: in plain order, and with top advanced so the ring wraps first. */
static void test_growth(void) {
    enum { M = 100000 };
    struct deque d;
    CHECK(deque_init(&d, 2) == 0, "init");
    for (uint64_t i = 0; i < M; i++) CHECK(deque_push_owner(&d, enc(i)) == 0, "push %" PRIu64, i);
    CHECK(deque_size(&d) == M, "size %" PRId64, deque_size(&d));
    for (uint64_t i = M; i-- > 0;) {
        void *p = deque_pop_owner(&d);
        if (p != enc(i)) {
            CHECK(p == enc(i), "pop after growth: want %" PRIu64 ", got %p", i, p);
            break;
        }
    }
    CHECK(deque_pop_owner(&d) == NULL, "pop when empty");

    for (uint64_t i = 0; i < M; i++) CHECK(deque_push_owner(&d, enc(i)) == 0, "push %" PRIu64, i);
    for (uint64_t i = 0; i < M; i++) {
        void *p = deque_steal(&d);
        if (p != enc(i)) {
            CHECK(p == enc(i), "steal after growth: want %" PRIu64 ", got %p", i, p);
            break;
        }
    }
    CHECK(deque_steal(&d) == NULL, "steal when empty");
    deque_destroy(&d);

    /* Push 3, steal 1: the live window slides round the ring before each growth. */
    static unsigned char seen[M];
    CHECK(deque_init(&d, 2) == 0, "init");
    uint64_t next_steal = 0;
    for (uint64_t i = 0; i < M; i++) {
        CHECK(deque_push_owner(&d, enc(i)) == 0, "push %" PRIu64, i);
        if (i % 3 == 2) {
            void *p = deque_steal(&d);
            CHECK(p == enc(next_steal), "sliding steal: want %" PRIu64 ", got %p", next_steal, p);
            if (p) seen[dec(p)]++;
            next_steal++;
        }
    }
    CHECK(deque_size(&d) == (int64_t)(M - next_steal), "size %" PRId64, deque_size(&d));
    for (void *p; (p = deque_pop_owner(&d)) != NULL;) {
        uint64_t i = dec(p);
        CHECK(i < M, "item out of range: %p", p);
        if (i < M) seen[i]++;
    }
    for (uint64_t i = 0; i < M; i++)
        if (seen[i] != 1) {
            CHECK(seen[i] == 1, "item %" PRIu64 " taken %u times", i, (unsigned)seen[i]);
            break;
        }
    deque_destroy(&d);
    end_case();
}

/* The stress: counts[i] counts how often item i was taken; payload[i] is written plainly by
 * the owner before the push and read by whoever takes the item, so TSan checks that a push
 * publishes what the item refers to. */
struct stress {
    struct deque d;
    uint64_t n; /* items in this run */
    _Atomic uint32_t *counts;
    uint64_t *payload;
    _Atomic int ready; /* thieves running: the owner waits for all before pushing */
    _Atomic int done;
    _Atomic uint64_t taken;
    _Atomic int bad;
};

static uint64_t payload_of(uint64_t i) { return i * 2654435761u + 17; }

static void take(struct stress *s, void *p) {
    uint64_t i = dec(p);
    if (p == NULL || i >= s->n) {
        atomic_store_explicit(&s->bad, 1, memory_order_relaxed);
        return;
    }
    if (s->payload[i] != payload_of(i)) atomic_store_explicit(&s->bad, 2, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->counts[i], 1, memory_order_relaxed);
}

static void *thief_main(void *arg) {
    struct stress *s = arg;
    uint64_t mine = 0;
    atomic_fetch_add_explicit(&s->ready, 1, memory_order_relaxed);
    for (;;) {
        void *p = deque_steal(&s->d);
        if (p) {
            take(s, p);
            mine++;
            continue;
        }
        /* acquire: pairs with the owner's release store of done, made once the deque is
         * empty for good; then one more steal must find nothing. */
        if (atomic_load_explicit(&s->done, memory_order_acquire)) {
            if ((p = deque_steal(&s->d)) != NULL) {
                atomic_store_explicit(&s->bad, 3, memory_order_relaxed);
                take(s, p);
                mine++;
            }
            break;
        }
        core_cpu_relax();
    }
    atomic_fetch_add_explicit(&s->taken, mine, memory_order_relaxed);
    return NULL;
}

static uint64_t xorshift(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The owner: bursts of pushes, each followed by pops, in two kinds of stretch that
 * alternate every 64k items. Wide: bursts of 1..64 and 0..burst pops, so the deque stays
 * busy for the thieves; 1 burst in 1024 pushes 4096 items so the ring grows while they
 * steal. Narrow: bursts of 1..3, then pops until empty, so the owner races the thieves for
 * the last item. Pops stop early at NULL (the thieves emptied the deque). */
static uint64_t owner_run(struct stress *s, uint64_t seed) {
    uint64_t rng = seed, mine = 0, next = 0;
    while (next < s->n) {
        uint64_t r = xorshift(&rng);
        int narrow = (next >> 16) & 1;
        uint64_t burst = narrow ? 1 + r % 3 : (r % 1024 == 0) ? 4096 : 1 + r % 64;
        for (uint64_t k = 0; k < burst && next < s->n; k++, next++) {
            s->payload[next] = payload_of(next);
            if (deque_push_owner(&s->d, enc(next)) != 0) {
                fprintf(stderr, "test_deque: push failed\n");
                exit(1);
            }
        }
        uint64_t pops = narrow ? UINT64_MAX : (r >> 20) % (burst + 1);
        for (uint64_t k = 0; k < pops; k++) {
            void *p = deque_pop_owner(&s->d);
            if (!p) break;
            take(s, p);
            mine++;
        }
    }
    for (void *p; (p = deque_pop_owner(&s->d)) != NULL; mine++) take(s, p);
    return mine;
}

/* One run on a fresh deque: start the thieves, let the owner work, check every item. Adds
 * to *by_owner and *by_thieves; returns 0, or -1 after reporting a failure. */
static int stress_run(struct stress *s, unsigned log_capacity, uint64_t seed,
                      uint64_t *by_owner, uint64_t *by_thieves) {
    int rc = deque_init(&s->d, log_capacity);
    CHECK(rc == 0, "init: %d", rc);
    if (rc != 0) return -1;
    for (uint64_t i = 0; i < s->n; i++) atomic_store_explicit(&s->counts[i], 0, memory_order_relaxed);
    atomic_store(&s->ready, 0);
    atomic_store(&s->done, 0);
    atomic_store(&s->taken, 0);
    atomic_store(&s->bad, 0);

    pthread_t th[N_THIEVES];
    int started = 0;
    for (; started < N_THIEVES; started++)
        if (pthread_create(&th[started], NULL, thief_main, s) != 0) break;
    CHECK(started == N_THIEVES, "pthread_create");
    while (atomic_load_explicit(&s->ready, memory_order_relaxed) < started) core_cpu_relax();

    uint64_t owner = owner_run(s, seed);
    CHECK(deque_size(&s->d) == 0, "size after the owner drained: %" PRId64, deque_size(&s->d));
    /* release: pairs with the thieves' acquire load of done. */
    atomic_store_explicit(&s->done, 1, memory_order_release);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    deque_destroy(&s->d);

    int before = failures;
    uint64_t thieves = atomic_load(&s->taken);
    CHECK(atomic_load(&s->bad) == 0, "bad item or payload seen (code %d)", atomic_load(&s->bad));
    CHECK(owner + thieves == s->n, "taken %" PRIu64 " (owner %" PRIu64 ", thieves %" PRIu64
          "), want %" PRIu64, owner + thieves, owner, thieves, s->n);
    uint64_t wrong = 0;
    for (uint64_t i = 0; i < s->n; i++) {
        uint32_t c = atomic_load_explicit(&s->counts[i], memory_order_relaxed);
        if (c != 1 && wrong++ < 10)
            CHECK(c == 1, "item %" PRIu64 " taken %u times", i, (unsigned)c);
    }
    CHECK(wrong == 0, "%" PRIu64 " items not taken exactly once", wrong);
    *by_owner += owner;
    *by_thieves += thieves;
    return failures == before ? 0 : -1;
}

/* rounds runs of n items, each on a fresh deque of 2^log_capacity slots. */
static void stress_rounds(const char *name, uint64_t n, unsigned rounds, unsigned log_capacity) {
    /* aligned_alloc: struct deque is cache-line aligned, beyond what calloc promises. */
    struct stress *s = aligned_alloc(_Alignof(struct stress), sizeof *s);
    CHECK(s != NULL, "aligned_alloc");
    if (!s) {
        end_case(); /* fails the case */
        return;
    }
    s->n = n;
    s->counts = calloc(n, sizeof s->counts[0]);
    s->payload = calloc(n, sizeof s->payload[0]);
    CHECK(s->counts && s->payload, "calloc of %" PRIu64 " items", n);
    uint64_t by_owner = 0, by_thieves = 0;
    unsigned done = 0;
    if (s->counts && s->payload)
        for (; done < rounds; done++)
            if (stress_run(s, log_capacity, 0x9e3779b97f4a7c15u + done, &by_owner,
                           &by_thieves) != 0) {
                fprintf(stderr, "test_deque: %s: round %u failed\n", name, done);
                break;
            }
    fprintf(stderr, "test_deque: %s: %u x %" PRIu64 " items, owner took %" PRIu64
            ", thieves %" PRIu64 "\n", name, done, n, by_owner, by_thieves);
    free(s->counts);
    free(s->payload);
    free(s);
    end_case();
}

/* (3) one long run: every item taken exactly once. */
static void test_stress(void) { stress_rounds("stress", STRESS_N, 1, 2); }

/* Many short runs from a 2-slot ring: the ring grows about 12 times in each while the thieves
 * steal, some of them from the ring being replaced. */
static void test_growth_under_steal(void) {
    stress_rounds("growth under steal", 1u << 14, GROW_ROUNDS, 1);
}

TEST_MAIN(TEST_CASE(test_single_thread), TEST_CASE(test_growth), TEST_CASE(test_stress),
          TEST_CASE(test_growth_under_steal))
