/* SPDX-License-Identifier: MIT */
/* test_runq.c: unit and stress tests of the worker run queue (src/sched/runq.c): FIFO order
 * against a model, the spill of half a full queue, steal-half's counts and order, and an owner
 * pushing and popping while two thieves steal: every task is handed out exactly once. */
#include "sched/runq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runner.h"

#if defined(AX_TSAN)
#define STRESS_TASKS 200000
#elif defined(__SANITIZE_ADDRESS__)
#define STRESS_TASKS 500000
#else
#define STRESS_TASKS 2000000
#endif

static void noop_run(struct sched_task *t, struct sched_thread *self) {
    (void)t;
    (void)self;
}

static struct sched_task *make_tasks(size_t n) {
    struct sched_task *t = calloc(n, sizeof *t);
    CHECK(t != NULL);
    for (size_t i = 0; i < n; i++) t[i].run = noop_run;
    return t;
}

/* Push and pop against a model FIFO; push reports the empty -> non-empty transition. */
static void test_fifo_model(void) {
    enum { N = 200 };
    struct runq *q = malloc(sizeof *q);
    struct mpsc overflow;
    struct sched_task *t = make_tasks(N);
    runq_init(q);
    mpsc_init(&overflow);
    CHECK(runq_pop_owner(q) == NULL);
    CHECK_EQ(runq_len(q), 0u);

    int fifo[N], head = 0, tail = 0, free_list[N], nfree = N;
    for (int i = 0; i < N; i++) free_list[i] = i;
    uint64_t rng = 99;
    for (int op = 0; op < 200000; op++) {
        if (nfree > 0 && check_rand(&rng) % 2) {
            int i = free_list[--nfree];
            CHECK_EQ(runq_push_owner(q, &t[i], &overflow), head == tail);
            fifo[tail++ % N] = i;
        } else {
            struct sched_task *got = runq_pop_owner(q);
            if (head == tail) {
                CHECK(got == NULL);
            } else {
                int want = fifo[head++ % N];
                CHECK(got == &t[want]);
                free_list[nfree++] = want;
            }
        }
        CHECK_EQ(runq_len(q), (uint32_t)(tail - head));
    }
    CHECK(mpsc_looks_empty(&overflow)); /* never more than N < capacity queued */
    free(t);
    free(q);
}

/* A full queue moves its older half, then the new task, to the overflow queue in order. */
static void test_spill(void) {
    enum { N = RUNQ_CAPACITY + 1 };
    struct runq *q = malloc(sizeof *q);
    struct mpsc overflow;
    struct sched_task *t = make_tasks(N);
    runq_init(q);
    mpsc_init(&overflow);
    for (unsigned i = 0; i < RUNQ_CAPACITY; i++) runq_push_owner(q, &t[i], &overflow);
    CHECK(mpsc_looks_empty(&overflow));
    CHECK_EQ(runq_len(q), RUNQ_CAPACITY);
    CHECK(!runq_push_owner(q, &t[RUNQ_CAPACITY], &overflow));
    CHECK_EQ(runq_len(q), RUNQ_CAPACITY / 2);
    for (unsigned i = 0; i < RUNQ_CAPACITY / 2; i++) CHECK(sched_task_of_link(mpsc_pop(&overflow)) == &t[i]);
    CHECK(sched_task_of_link(mpsc_pop(&overflow)) == &t[RUNQ_CAPACITY]);
    CHECK(mpsc_pop(&overflow) == NULL);
    for (unsigned i = RUNQ_CAPACITY / 2; i < RUNQ_CAPACITY; i++) CHECK(runq_pop_owner(q) == &t[i]);
    CHECK(runq_pop_owner(q) == NULL);
    free(t);
    free(q);
}

/* A thief takes half (rounded up): the oldest runs, the rest keep their order in its queue. */
static void test_steal_half(void) {
    struct runq *src = malloc(sizeof *src), *dst = malloc(sizeof *dst);
    struct mpsc overflow;
    struct sched_task *t = make_tasks(10);
    runq_init(src);
    runq_init(dst);
    mpsc_init(&overflow);
    CHECK(runq_steal_half(src, dst) == NULL);
    for (int i = 0; i < 10; i++) runq_push_owner(src, &t[i], &overflow);
    CHECK(runq_steal_half(src, dst) == &t[0]);
    CHECK_EQ(runq_len(src), 5u);
    CHECK_EQ(runq_len(dst), 4u);
    for (int i = 1; i < 5; i++) CHECK(runq_pop_owner(dst) == &t[i]);
    CHECK(runq_pop_owner(dst) == NULL);
    CHECK(runq_steal_half(src, dst) == &t[5]); /* 5 -> 3 taken */
    CHECK_EQ(runq_len(src), 2u);
    CHECK(runq_steal_half(src, dst) == &t[8]); /* 2 -> 1 taken; dst keeps t6, t7 */
    CHECK(runq_pop_owner(dst) == &t[6]);
    CHECK(runq_pop_owner(dst) == &t[7]);
    CHECK(runq_pop_owner(dst) == NULL);
    CHECK(runq_pop_owner(src) == &t[9]);
    CHECK(runq_steal_half(src, dst) == NULL);
    free(t);
    free(src);
    free(dst);
}

/* ---- one owner, two thieves ---- */

static struct runq *victim;
static struct sched_task *tasks;
static _Atomic unsigned char *seen;
static _Atomic int owner_done;
static _Atomic long handed_out;

static void take(struct sched_task *t) {
    size_t i = (size_t)(t - tasks);
    CHECK(i < STRESS_TASKS);
    CHECK_EQ(atomic_fetch_add(&seen[i], 1), 0); /* exactly once */
    atomic_fetch_add_explicit(&handed_out, 1, memory_order_relaxed);
}

static void *thief(void *arg) {
    struct runq *own = arg;
    long steals = 0;
    for (;;) {
        int done = atomic_load(&owner_done);
        struct sched_task *t = runq_steal_half(victim, own);
        if (t) {
            steals++;
            take(t);
            while ((t = runq_pop_owner(own)) != NULL) take(t);
        } else if (done) {
            break;
        }
    }
    CHECK(runq_len(own) == 0);
    return (void *)steals;
}

static void test_owner_and_thieves(void) {
    struct mpsc overflow;
    victim = malloc(sizeof *victim);
    struct runq *own[2] = {malloc(sizeof(struct runq)), malloc(sizeof(struct runq))};
    tasks = make_tasks(STRESS_TASKS);
    seen = calloc(STRESS_TASKS, 1);
    CHECK(seen != NULL);
    runq_init(victim);
    runq_init(own[0]);
    runq_init(own[1]);
    mpsc_init(&overflow);
    atomic_store(&owner_done, 0);
    atomic_store(&handed_out, 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&th[i], NULL, thief, own[i]) == 0);

    /* Bursts of pushes (some long enough to fill the queue and spill), pops in between. */
    uint64_t rng = 7;
    long owner_pops = 0, spilled = 0;
    for (size_t i = 0; i < STRESS_TASKS;) {
        size_t burst = 1 + check_rand(&rng) % 300;
        for (size_t k = 0; k < burst && i < STRESS_TASKS; k++)
            runq_push_owner(victim, &tasks[i++], &overflow);
        size_t pops = check_rand(&rng) % 200;
        for (size_t k = 0; k < pops; k++) {
            struct sched_task *t = runq_pop_owner(victim);
            if (!t) break;
            owner_pops++;
            take(t);
        }
        struct mpsc_node *n;
        while ((n = mpsc_pop(&overflow)) != NULL) {
            spilled++;
            take(sched_task_of_link(n));
        }
    }
    struct sched_task *t;
    while ((t = runq_pop_owner(victim)) != NULL) {
        owner_pops++;
        take(t);
    }
    atomic_store(&owner_done, 1);
    long steals = 0;
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(th[i], &r);
        steals += (long)r;
    }
    fprintf(stderr, "runq: %d tasks: %ld popped by the owner, %ld spilled, %ld steals\n",
            STRESS_TASKS, owner_pops, spilled, steals);
    CHECK_EQ(atomic_load(&handed_out), (long)STRESS_TASKS);
    for (size_t i = 0; i < STRESS_TASKS; i++) CHECK_EQ(seen[i], 1);
    CHECK(steals > 0);
    free((void *)seen);
    free(tasks);
    free(victim);
    free(own[0]);
    free(own[1]);
}

TEST_MAIN(TEST_CASE(test_fifo_model), TEST_CASE(test_spill), TEST_CASE(test_steal_half),
          TEST_CASE(test_owner_and_thieves))
