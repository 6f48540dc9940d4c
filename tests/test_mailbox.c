/* SPDX-License-Identifier: MIT */
/* test_mailbox.c: unit and stress tests of the actor mailbox (src/actor/mailbox.h): FIFO order,
 * the "first push schedules" and idle-mark protocol, and that every message comes back exactly
 * once through `done`, with 4 producers against one consumer, and with an owner that migrates. */
#include "actor/mailbox.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <string.h>

#include "check.h"
#include "runner.h"

/* Sizes: TSan is about 10x slower, ASan about 2-3x. */
#if defined(AX_TSAN)
#define STRESS_M 200000
#elif defined(__SANITIZE_ADDRESS__)
#define STRESS_M 200000
#else
#define STRESS_M 1000000
#endif
#define STRESS_M2 (STRESS_M / 4) /* the migrating-owner phase */
#define N_PRODUCERS 4
#define POOL_K 1024 /* nodes per producer, recycled once they come back through `done` */
#define RANDOM_OPS 200000

enum { ST_FREE = 0, ST_PUSHED, ST_CONSUMED, ST_RELEASED };

struct msg {
    struct mpsc_node node; /* first: a node pointer is the message pointer */
    int producer;
    int seq;
    _Atomic int state;
};

static struct msg *msg_of(struct mpsc_node *n) { return (struct msg *)n; }

/* Moves m from state `from` to `to`; fails the test if m was in any other state. */
static void transition(struct msg *m, int from, int to) {
    int s = from;
    if (!atomic_compare_exchange_strong(&m->state, &s, to)) {
        fprintf(stderr, "message %d/%d: state %d, expected %d (moving to %d)\n", m->producer,
                m->seq, s, from, to);
        CHECK(0 && "bad message state transition");
    }
}

/* ---- single thread: the documented protocol, step by step ---- */

static void release(struct mpsc_node *done) {
    if (done) transition(msg_of(done), ST_CONSUMED, ST_RELEASED);
}

static void push_msg(struct mailbox *mb, struct msg *m, bool want_schedule) {
    transition(m, ST_FREE, ST_PUSHED);
    CHECK_EQ(mailbox_push(mb, &m->node), want_schedule);
}

/* Pops and expects m (or nothing if m is NULL); expects *done == want_done. */
static void pop_expect(struct mailbox *mb, struct msg *m, struct msg *want_done) {
    struct mpsc_node *done = (struct mpsc_node *)0x1;
    struct mpsc_node *n = mailbox_pop(mb, &done);
    CHECK(n == (m ? &m->node : NULL));
    CHECK(done == (want_done ? &want_done->node : NULL));
    CHECK(done != &mb->stub);
    if (n) transition(m, ST_PUSHED, ST_CONSUMED);
    release(done);
}

static void test_basic(void) {
    struct mailbox mb;
    struct msg m[8];
    memset(m, 0, sizeof m);
    for (int i = 0; i < 8; i++) m[i].seq = i;
    struct mpsc_node *done = (struct mpsc_node *)0x1;

    /* A new mailbox is idle and owned by nobody (so the consumer may not touch it): its
     * sentinel is the stub. */
    mailbox_init(&mb);
    CHECK(mailbox_sentinel(&mb) == NULL);

    /* The first push schedules; later ones do not while the consumer owns the mailbox. */
    push_msg(&mb, &m[0], true);
    for (int i = 1; i < 5; i++) push_msg(&mb, &m[i], false);
    /* FIFO; `done` is the previous sentinel: NULL for the stub, then each earlier message. */
    pop_expect(&mb, &m[0], NULL);
    CHECK(mailbox_sentinel(&mb) == &m[0].node);
    for (int i = 1; i < 5; i++) pop_expect(&mb, &m[i], &m[i - 1]);
    pop_expect(&mb, NULL, NULL);
    pop_expect(&mb, NULL, NULL); /* popping an empty mailbox again changes nothing */
    CHECK(mailbox_sentinel(&mb) == &m[4].node);
    CHECK_EQ(atomic_load(&m[4].state), ST_CONSUMED); /* the sentinel is not released yet */

    /* Going idle releases the last message; the next push must schedule again. */
    CHECK(mailbox_try_idle(&mb, &done));
    CHECK(done == &m[4].node);
    release(done);
    CHECK(mailbox_sentinel(&mb) == NULL);
    push_msg(&mb, &m[5], true);
    push_msg(&mb, &m[6], false);
    pop_expect(&mb, &m[5], NULL); /* the sentinel was the stub again */
    pop_expect(&mb, &m[6], &m[5]);
    pop_expect(&mb, NULL, NULL);

    /* Final release through mailbox_sentinel (an actor destroyed while owning its mailbox). */
    struct mpsc_node *last = mailbox_sentinel(&mb);
    CHECK(last == &m[6].node);
    release(last);

    for (int i = 0; i < 7; i++) CHECK_EQ(atomic_load(&m[i].state), ST_RELEASED);
    CHECK_EQ(atomic_load(&m[7].state), ST_FREE);
}

/* A push half done: the producer swung tail but has not linked its node yet (what a producer
 * preempted between its exchange and its store looks like to the consumer). White-box: it
 * performs the two steps of mailbox_push separately. */
static uintptr_t half_push(struct mailbox *mb, struct msg *m) {
    transition(m, ST_FREE, ST_PUSHED);
    atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
    return atomic_exchange(&mb->tail, (uintptr_t)&m->node);
}

static void finish_push(uintptr_t prev, struct msg *m) {
    struct mpsc_node *p = (struct mpsc_node *)(prev & ~MAILBOX_IDLE);
    atomic_store_explicit(&p->next, &m->node, memory_order_release);
}

static void test_push_in_flight(void) {
    struct mailbox mb;
    struct msg m[4];
    memset(m, 0, sizeof m);
    for (int i = 0; i < 4; i++) m[i].seq = i;
    struct mpsc_node *done = (struct mpsc_node *)0x1;
    mailbox_init(&mb);

    /* With a message as sentinel: pop sees nothing, try_idle must fail (the consumer keeps
     * the mailbox), and once the link lands the message is popped and the sentinel released. */
    push_msg(&mb, &m[0], true);
    pop_expect(&mb, &m[0], NULL);
    uintptr_t prev = half_push(&mb, &m[1]);
    CHECK(prev == (uintptr_t)&m[0].node); /* not idle: this producer will not schedule */
    pop_expect(&mb, NULL, NULL);
    CHECK(!mailbox_try_idle(&mb, &done));
    CHECK(done == NULL);
    CHECK(mailbox_sentinel(&mb) == &m[0].node); /* try_idle put the sentinel back */
    CHECK_EQ(atomic_load(&m[0].state), ST_CONSUMED);
    pop_expect(&mb, NULL, NULL);
    finish_push(prev, &m[1]);
    pop_expect(&mb, &m[1], &m[0]);
    pop_expect(&mb, NULL, NULL);
    CHECK(mailbox_try_idle(&mb, &done));
    CHECK(done == &m[1].node);
    release(done);

    /* With the stub as sentinel (idle, then a push that is half done and so scheduled). */
    prev = half_push(&mb, &m[2]);
    CHECK((prev & MAILBOX_IDLE) != 0); /* this producer must schedule */
    CHECK((prev & ~MAILBOX_IDLE) == (uintptr_t)&mb.stub);
    pop_expect(&mb, NULL, NULL);
    CHECK(!mailbox_try_idle(&mb, &done));
    CHECK(done == NULL);
    finish_push(prev, &m[2]);
    push_msg(&mb, &m[3], false);
    pop_expect(&mb, &m[2], NULL);
    pop_expect(&mb, &m[3], &m[2]);
    pop_expect(&mb, NULL, NULL);
    CHECK(mailbox_try_idle(&mb, &done));
    CHECK(done == &m[3].node);
    release(done);
    CHECK(mailbox_sentinel(&mb) == NULL);

    for (int i = 0; i < 4; i++) CHECK_EQ(atomic_load(&m[i].state), ST_RELEASED);
}

/* Random single-thread sequences against a model: push returns true exactly when the model
 * is idle, pops are FIFO, and every message is released exactly once. */
static void test_random(void) {
    enum { N = 64 };
    struct mailbox mb;
    struct msg m[N];
    memset(m, 0, sizeof m);
    int fifo[N], fhead = 0, ftail = 0; /* indexes of queued messages (ring) */
    int free_list[N], nfree = N;
    for (int i = 0; i < N; i++) free_list[i] = i;
    bool idle = true;
    long pushed = 0, released = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    mailbox_init(&mb);

    for (long op = 0; op < RANDOM_OPS; op++) {
        uint64_t r = check_rand(&rng);
        /* Two times in three push a free message (if any), else act as the consumer. */
        if (nfree == 0 || r % 3 != 0) {
            if (nfree > 0) {
                int i = free_list[--nfree];
                struct msg *x = &m[i];
                CHECK(atomic_load(&x->state) == ST_FREE || atomic_load(&x->state) == ST_RELEASED);
                atomic_store(&x->state, ST_FREE);
                x->seq = (int)pushed;
                push_msg(&mb, x, idle);
                idle = false;
                fifo[ftail++ % N] = i;
                pushed++;
                continue;
            }
        }
        if (idle) continue; /* not the owner: a consumer may not touch an idle mailbox */
        struct mpsc_node *done;
        struct mpsc_node *n = mailbox_pop(&mb, &done);
        if (fhead != ftail) {
            int want = fifo[fhead++ % N];
            CHECK(n == &m[want].node);
            transition(&m[want], ST_PUSHED, ST_CONSUMED);
        } else {
            CHECK(n == NULL);
        }
        if (done) {
            release(done);
            released++;
            free_list[nfree++] = (int)(msg_of(done) - m);
        }
        if (!n && r % 2 == 0) {
            CHECK(mailbox_try_idle(&mb, &done)); /* quiet: nothing in flight */
            if (done) {
                release(done);
                released++;
                free_list[nfree++] = (int)(msg_of(done) - m);
            }
            idle = true;
        }
    }
    struct mpsc_node *done;
    while (!idle) {
        struct mpsc_node *n = mailbox_pop(&mb, &done);
        if (fhead != ftail) {
            int want = fifo[fhead++ % N];
            CHECK(n == &m[want].node);
            transition(&m[want], ST_PUSHED, ST_CONSUMED);
        } else {
            CHECK(n == NULL);
        }
        if (done) { release(done); released++; }
        if (!n) {
            CHECK(mailbox_try_idle(&mb, &done));
            if (done) { release(done); released++; }
            idle = true;
        }
    }
    CHECK_EQ(released, pushed);
    CHECK(fhead == ftail);
}

/* ---- many producers, one consumer that owns the mailbox like an actor ---- */

/* owner: 0 idle, 1 owned by the consumer, 2 granted by a producer's push, not yet taken. */
static _Atomic int owner;
static _Atomic long grants, idles, failed_idles;
static sem_t handoff;
static struct mailbox mbox;
static struct msg *pool; /* N_PRODUCERS * POOL_K */

static void sem_wait_guarded(sem_t *s) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += CHECK_HANG_GUARD_MS / 1000;
    int rc;
    while ((rc = sem_timedwait(s, &ts)) != 0 && errno == EINTR) {}
    if (rc != 0) {
        fprintf(stderr, "hang guard: no hand-off within %d ms (grants %ld, idles %ld)\n",
                CHECK_HANG_GUARD_MS, atomic_load(&grants), atomic_load(&idles));
        exit(1);
    }
}

static void *producer(void *arg) {
    int p = (int)(intptr_t)arg;
    for (int s = 0; s < STRESS_M; s++) {
        struct msg *m = &pool[p * POOL_K + s % POOL_K];
        /* Reuse a node only after it came back through `done`. */
        int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
        int st;
        while ((st = atomic_load(&m->state)) != ST_FREE && st != ST_RELEASED) {
            if (check_now_ms() > deadline) {
                fprintf(stderr, "hang guard: producer %d waits for node of seq %d (state %d)\n",
                        p, s, st);
                exit(1);
            }
            sched_yield();
        }
        transition(m, st, ST_PUSHED);
        m->producer = p;
        m->seq = s;
        if (mailbox_push(&mbox, &m->node)) {
            /* We made the mailbox non-empty: hand it to the consumer. Nobody may own it. */
            int was = atomic_exchange(&owner, 2);
            if (was != 0) fprintf(stderr, "push returned true while owner == %d\n", was);
            CHECK(was == 0);
            atomic_fetch_add(&grants, 1);
            CHECK(sem_post(&handoff) == 0);
        }
        /* Pause now and then so that the consumer catches up, goes idle and must be handed
         * the mailbox again: the idle protocol gets exercised, not just the fast path. */
        if ((s & 63) == 0) sched_yield();
    }
    return NULL;
}

static void *consumer(void *arg) {
    (void)arg;
    int next_seq[N_PRODUCERS] = {0};
    long consumed = 0;
    const long total = (long)N_PRODUCERS * STRESS_M;
    while (consumed < total) {
        sem_wait_guarded(&handoff);
        CHECK_EQ(atomic_exchange(&owner, 1), 2); /* taken from exactly one grant */
        for (;;) {
            struct mpsc_node *done;
            struct mpsc_node *n = mailbox_pop(&mbox, &done);
            CHECK(done != &mbox.stub);
            if (done) transition(msg_of(done), ST_CONSUMED, ST_RELEASED);
            if (n) {
                struct msg *m = msg_of(n);
                transition(m, ST_PUSHED, ST_CONSUMED);
                CHECK(m->producer >= 0 && m->producer < N_PRODUCERS);
                if (m->seq != next_seq[m->producer])
                    fprintf(stderr, "producer %d: got seq %d, expected %d\n", m->producer,
                            m->seq, next_seq[m->producer]);
                CHECK_EQ(m->seq, next_seq[m->producer]);
                next_seq[m->producer]++;
                consumed++;
                continue;
            }
            /* Let go before the CAS: once it succeeds a producer may grant the mailbox. */
            atomic_store(&owner, 0);
            if (mailbox_try_idle(&mbox, &done)) {
                CHECK(done != &mbox.stub);
                if (done) transition(msg_of(done), ST_CONSUMED, ST_RELEASED);
                atomic_fetch_add(&idles, 1);
                break;
            }
            /* A push is in flight: we still own the mailbox, and nobody may have taken it. */
            CHECK(done == NULL);
            CHECK_EQ(atomic_exchange(&owner, 1), 0);
            atomic_fetch_add(&failed_idles, 1);
            sched_yield();
        }
    }
    for (int p = 0; p < N_PRODUCERS; p++) CHECK_EQ(next_seq[p], STRESS_M);
    CHECK_EQ(consumed, total);
    return NULL;
}

static void test_producers_consumer(void) {
    pool = calloc((size_t)N_PRODUCERS * POOL_K, sizeof *pool);
    CHECK(pool != NULL);
    for (int i = 0; i < N_PRODUCERS * POOL_K; i++) pool[i].producer = -1;
    mailbox_init(&mbox);
    CHECK(sem_init(&handoff, 0, 0) == 0);
    pthread_t c, p[N_PRODUCERS];
    CHECK(pthread_create(&c, NULL, consumer, NULL) == 0);
    for (int i = 0; i < N_PRODUCERS; i++)
        CHECK(pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < N_PRODUCERS; i++) CHECK(pthread_join(p[i], NULL) == 0);
    CHECK(pthread_join(c, NULL) == 0);

    /* Every grant was matched by one idle, and no grant is pending. */
    CHECK_EQ(atomic_load(&grants), atomic_load(&idles));
    CHECK(atomic_load(&grants) >= 1);
    CHECK(sem_trywait(&handoff) == -1 && errno == EAGAIN);
    CHECK_EQ(atomic_load(&owner), 0);
    CHECK(mailbox_sentinel(&mbox) == NULL);
    /* Every node in use ended released (each producer used min(M, K) distinct nodes). */
    for (int i = 0; i < N_PRODUCERS * POOL_K; i++)
        if (i % POOL_K < STRESS_M) CHECK_EQ(atomic_load(&pool[i].state), ST_RELEASED);
    printf("test_mailbox: %d producers x %d messages: %ld hand-offs, %ld try_idle failures\n",
           N_PRODUCERS, STRESS_M, atomic_load(&grants), atomic_load(&failed_idles));
    sem_destroy(&handoff);
    free(pool);
}

/* ---- the owner migrates: whichever producer's push returns true drains the mailbox ----
 * As in the runtime, where the worker that schedules an actor runs it: the consumer state
 * (mb->head, and here next_seq2/consumed2) moves between threads only through the mailbox's
 * own synchronization (try_idle's CAS, the waking push's exchange). The owner flag is relaxed
 * on purpose so that it adds no ordering of its own, and TSan checks the hand-off. */

static _Atomic int owner2;
static int next_seq2[N_PRODUCERS]; /* owner only */
static long consumed2;             /* owner only */
static _Atomic long grants2, failed_idles2;

static void own_and_drain(void) {
    CHECK_EQ(atomic_exchange_explicit(&owner2, 1, memory_order_relaxed), 0);
    atomic_fetch_add_explicit(&grants2, 1, memory_order_relaxed);
    for (;;) {
        struct mpsc_node *done;
        struct mpsc_node *n = mailbox_pop(&mbox, &done);
        if (done) transition(msg_of(done), ST_CONSUMED, ST_RELEASED);
        if (n) {
            struct msg *m = msg_of(n);
            transition(m, ST_PUSHED, ST_CONSUMED);
            CHECK(m->producer >= 0 && m->producer < N_PRODUCERS);
            CHECK_EQ(m->seq, next_seq2[m->producer]);
            next_seq2[m->producer]++;
            consumed2++;
            continue;
        }
        atomic_store_explicit(&owner2, 0, memory_order_relaxed);
        if (mailbox_try_idle(&mbox, &done)) {
            if (done) transition(msg_of(done), ST_CONSUMED, ST_RELEASED);
            return;
        }
        CHECK_EQ(atomic_exchange_explicit(&owner2, 1, memory_order_relaxed), 0);
        atomic_fetch_add_explicit(&failed_idles2, 1, memory_order_relaxed);
        sched_yield();
    }
}

static void *producer_owner(void *arg) {
    int p = (int)(intptr_t)arg;
    for (int s = 0; s < STRESS_M2; s++) {
        struct msg *m = &pool[p * POOL_K + s % POOL_K];
        int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
        int st;
        while ((st = atomic_load(&m->state)) != ST_FREE && st != ST_RELEASED) {
            CHECK(check_now_ms() < deadline);
            sched_yield();
        }
        transition(m, st, ST_PUSHED);
        m->producer = p;
        m->seq = s;
        if (mailbox_push(&mbox, &m->node)) own_and_drain();
        if ((s & 63) == 0) sched_yield();
    }
    return NULL;
}

static void test_migrating_owner(void) {
    pool = calloc((size_t)N_PRODUCERS * POOL_K, sizeof *pool);
    CHECK(pool != NULL);
    mailbox_init(&mbox);
    pthread_t p[N_PRODUCERS];
    for (int i = 0; i < N_PRODUCERS; i++)
        CHECK(pthread_create(&p[i], NULL, producer_owner, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < N_PRODUCERS; i++) CHECK(pthread_join(p[i], NULL) == 0);
    /* Every push that returned true drained until idle, so everything was consumed. */
    for (int i = 0; i < N_PRODUCERS; i++) CHECK_EQ(next_seq2[i], STRESS_M2);
    CHECK_EQ(consumed2, (long)N_PRODUCERS * STRESS_M2);
    CHECK_EQ(atomic_load(&owner2), 0);
    CHECK(mailbox_sentinel(&mbox) == NULL);
    for (int i = 0; i < N_PRODUCERS * POOL_K; i++)
        if (i % POOL_K < STRESS_M2) CHECK_EQ(atomic_load(&pool[i].state), ST_RELEASED);
    printf("test_mailbox: migrating owner, %d producers x %d messages: %ld activations, "
           "%ld try_idle failures\n", N_PRODUCERS, STRESS_M2, atomic_load(&grants2),
           atomic_load(&failed_idles2));
    free(pool);
}

TEST_MAIN(TEST_CASE(test_basic), TEST_CASE(test_push_in_flight), TEST_CASE(test_random),
          TEST_CASE(test_producers_consumer), TEST_CASE(test_migrating_owner))
