/* SPDX-License-Identifier: MIT */
/* test_mpsc.c: unit and stress tests of the scheduler's inject queue (src/core/mpsc.h): FIFO on
 * one thread, per-producer order and exactly-once delivery with 4 producers, and the emptiness
 * hint: once quiet, mpsc_looks_empty must never report "empty" while nodes are queued. */
#include "core/mpsc.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "check.h"
#include "runner.h"

/* Sizes: TSan is about 10x slower, ASan about 2-3x. */
#if defined(AX_TSAN)
#define STRESS_M 200000
#define ROUNDS 10000
#elif defined(__SANITIZE_ADDRESS__)
#define STRESS_M 300000
#define ROUNDS 10000
#else
#define STRESS_M 1000000
#define ROUNDS 20000
#endif
#define N_PRODUCERS 4
#define ROUND_BURST 4 /* nodes per producer per round in the many-rounds phase */

struct item {
    struct mpsc_node node; /* first: a node pointer is the item pointer */
    int producer;
    int seq;
};

static struct item *item_of(struct mpsc_node *n) { return (struct item *)n; }

static void test_single_thread(void) {
    enum { N = 100 };
    struct mpsc q;
    struct item it[N];
    memset(it, 0, sizeof it);
    mpsc_init(&q);
    CHECK(mpsc_looks_empty(&q));
    CHECK(mpsc_pop(&q) == NULL);
    CHECK(mpsc_looks_empty(&q));

    /* FIFO, and the hint is exact at every step (one thread is always quiet). */
    for (int i = 0; i < N; i++) {
        it[i].seq = i;
        mpsc_push(&q, &it[i].node);
        CHECK(!mpsc_looks_empty(&q));
    }
    for (int i = 0; i < N; i++) {
        CHECK(!mpsc_looks_empty(&q));
        CHECK(mpsc_pop(&q) == &it[i].node);
    }
    CHECK(mpsc_looks_empty(&q));
    CHECK(mpsc_pop(&q) == NULL);
    CHECK(mpsc_looks_empty(&q));

    /* One node at a time, reusing a popped node at once (the queue never touches it again). */
    for (int round = 0; round < 10; round++) {
        mpsc_push(&q, &it[0].node);
        CHECK(!mpsc_looks_empty(&q));
        CHECK(mpsc_pop(&q) == &it[0].node);
        CHECK(mpsc_looks_empty(&q));
        CHECK(mpsc_pop(&q) == NULL);
    }

    /* Interleaved pushes and pops against a model FIFO, with immediate reuse. */
    int fifo[N], fh = 0, ft = 0, free_list[N], nfree = N;
    for (int i = 0; i < N; i++) free_list[i] = i;
    uint64_t rng = 12345;
    for (int op = 0; op < 100000; op++) {
        if (nfree > 0 && check_rand(&rng) % 2) {
            int i = free_list[--nfree];
            mpsc_push(&q, &it[i].node);
            fifo[ft++ % N] = i;
        } else {
            struct mpsc_node *n = mpsc_pop(&q);
            if (fh == ft) {
                CHECK(n == NULL);
            } else {
                int want = fifo[fh++ % N];
                CHECK(n == &it[want].node);
                free_list[nfree++] = want;
            }
        }
        CHECK_EQ(mpsc_looks_empty(&q), fh == ft);
    }
}

/* ---- 4 producers, 1 consumer ---- */

static struct mpsc q;
static struct item *items; /* N_PRODUCERS * phase.burst nodes */
static pthread_barrier_t round_start;
static _Atomic int producers_done; /* producers finished in this round */
static int next_seq[N_PRODUCERS]; /* consumer only */
static long consumed;             /* consumer only */
static long quiet_checks;         /* consumer only: steps checked while quiet */

struct phase {
    int rounds, burst; /* each producer pushes burst nodes per round */
};
static struct phase phase;

static void *producer(void *arg) {
    int p = (int)(intptr_t)arg;
    for (int r = 0; r < phase.rounds; r++) {
        pthread_barrier_wait(&round_start);
        for (int i = 0; i < phase.burst; i++) {
            /* A node is reused in the next round only: the consumer popped it by then. */
            struct item *it = &items[p * phase.burst + i];
            it->producer = p;
            it->seq = r * phase.burst + i;
            mpsc_push(&q, &it->node);
        }
        atomic_fetch_add(&producers_done, 1);
    }
    return NULL;
}

static void take(struct mpsc_node *n) {
    struct item *it = item_of(n);
    CHECK(it->producer >= 0 && it->producer < N_PRODUCERS);
    if (it->seq != next_seq[it->producer])
        fprintf(stderr, "producer %d: got seq %d, expected %d\n", it->producer, it->seq,
                next_seq[it->producer]);
    CHECK_EQ(it->seq, next_seq[it->producer]);
    next_seq[it->producer]++;
    it->producer = -1; /* a duplicate delivery would now fail the range check */
    consumed++;
}

static void *consumer(void *arg) {
    (void)arg;
    for (int r = 0; r < phase.rounds; r++) {
        pthread_barrier_wait(&round_start);
        long want = (long)(r + 1) * N_PRODUCERS * phase.burst;
        /* Race the producers: pop while they push, and stop as soon as they are done (maybe
         * right after a pop that re-inserted the stub while a push raced it). */
        while (atomic_load(&producers_done) < (r + 1) * N_PRODUCERS) {
            struct mpsc_node *n = mpsc_pop(&q);
            if (n) take(n);
        }
        /* Quiet now (every producer finished its pushes; acquire above). Each pop must
         * succeed and, while nodes remain, the hint must say "not empty". */
        while (consumed < want) {
            if (mpsc_looks_empty(&q))
                fprintf(stderr, "round %d: looks_empty with %ld of %ld nodes left\n", r,
                        want - consumed, want);
            CHECK(!mpsc_looks_empty(&q));
            struct mpsc_node *n = mpsc_pop(&q);
            CHECK(n != NULL);
            take(n);
            quiet_checks++;
        }
        CHECK(mpsc_looks_empty(&q));
        CHECK(mpsc_pop(&q) == NULL);
        CHECK(mpsc_looks_empty(&q));
    }
    return NULL;
}

static void run_phase(int rounds, int burst) {
    phase.rounds = rounds;
    phase.burst = burst;
    items = calloc((size_t)N_PRODUCERS * burst, sizeof *items);
    CHECK(items != NULL);
    mpsc_init(&q);
    memset(next_seq, 0, sizeof next_seq);
    consumed = 0;
    quiet_checks = 0;
    atomic_store(&producers_done, 0);
    CHECK(pthread_barrier_init(&round_start, NULL, N_PRODUCERS + 1) == 0);
    pthread_t c, p[N_PRODUCERS];
    CHECK(pthread_create(&c, NULL, consumer, NULL) == 0);
    for (int i = 0; i < N_PRODUCERS; i++)
        CHECK(pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < N_PRODUCERS; i++) CHECK(pthread_join(p[i], NULL) == 0);
    CHECK(pthread_join(c, NULL) == 0);

    /* Everything delivered exactly once, in order per producer; the queue ends empty. */
    for (int i = 0; i < N_PRODUCERS; i++) CHECK_EQ(next_seq[i], rounds * burst);
    CHECK_EQ(consumed, (long)rounds * burst * N_PRODUCERS);
    CHECK(mpsc_looks_empty(&q));
    CHECK(mpsc_pop(&q) == NULL);
    printf("test_mpsc: %d round(s) x %d producers x %d: %ld pops checked while quiet\n", rounds,
           N_PRODUCERS, burst, quiet_checks);
    pthread_barrier_destroy(&round_start);
    free(items);
}

/* Throughput: one long race, then a quiet drain. */
static void test_one_long_race(void) { run_phase(1, STRESS_M); }

/* Many short races that end near "empty". */
static void test_many_short_races(void) { run_phase(ROUNDS, ROUND_BURST); }

TEST_MAIN(TEST_CASE(test_single_thread), TEST_CASE(test_one_long_race),
          TEST_CASE(test_many_short_races))
