/* SPDX-License-Identifier: MIT */
/* test_chan.c: ax_chan: N producers x M consumers receive every item exactly once, each
 * producer's items in order at every consumer, at capacities 1, 7 and 64; blocked receivers and
 * senders are woken by the other side; timeouts return AX_ETIMEDOUT; close wakes every waiter
 * with AX_EPIPE and loses nothing that was sent; a subscribed actor gets every item in send
 * order; a stopped subscriber ends its subscription; misuse gets its codes. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "runner.h"

#ifdef AX_TSAN
enum { PER_PRODUCER = 20000 };
#else
enum { PER_PRODUCER = 100000 };
#endif

/* An item: who sent it, its number, and a check word. */
struct item {
    uint32_t producer;
    uint32_t seq;
    uint64_t check;
};

static uint64_t item_check(uint32_t p, uint32_t s) {
    return ((uint64_t)p << 32 | s) * 0x9E3779B97F4A7C15ULL;
}

/* ---- N producers x M consumers --------------------------------------------------------------- */

enum { MAX_PROD = 8 };

struct mpmc {
    ax_chan *c;
    int nprod, per;
    _Atomic unsigned char *seen; /* nprod x per: times received */
    atomic_long received, bad;
};

struct worker_arg {
    struct mpmc *m;
    int id;
};

static void *producer_main(void *arg) {
    struct worker_arg *w = arg;
    struct mpmc *m = w->m;
    for (int s = 0; s < m->per; s++) {
        struct item it = {(uint32_t)w->id, (uint32_t)s, item_check((uint32_t)w->id, (uint32_t)s)};
        int rc;
        if (w->id % 2 == 0) {
            /* Even producers spin on the non-blocking call, odd ones block. */
            while ((rc = ax_chan_try_send(m->c, &it, sizeof it)) == AX_EFULL) sched_yield();
        } else {
            rc = ax_chan_send(m->c, &it, sizeof it, s % 3 == 0 ? INT64_MAX : -1);
        }
        if (rc != 0) {
            atomic_fetch_add(&m->bad, 1);
            return NULL;
        }
    }
    return NULL;
}

static void *consumer_main(void *arg) {
    struct worker_arg *w = arg;
    struct mpmc *m = w->m;
    int64_t last[MAX_PROD];
    for (int p = 0; p < MAX_PROD; p++) last[p] = -1;
    for (;;) {
        struct item it;
        int rc;
        if (w->id % 2 == 0) {
            while ((rc = ax_chan_try_recv(m->c, &it, sizeof it)) == AX_EFULL) sched_yield();
        } else {
            rc = ax_chan_recv(m->c, &it, sizeof it, -1);
        }
        if (rc == AX_EPIPE) return NULL; /* closed and drained */
        if (rc != 0 || it.producer >= (uint32_t)m->nprod || it.seq >= (uint32_t)m->per ||
            it.check != item_check(it.producer, it.seq) || (int64_t)it.seq <= last[it.producer]) {
            atomic_fetch_add(&m->bad, 1);
            continue;
        }
        last[it.producer] = it.seq; /* one producer's items arrive in order here */
        atomic_fetch_add(&m->seen[(size_t)it.producer * (size_t)m->per + it.seq], 1);
        atomic_fetch_add(&m->received, 1);
    }
}

static void run_mpmc(int nprod, int ncons, int per, size_t cap) {
    ax_runtime *rt = fixture_runtime(1);
    struct mpmc m = {NULL, nprod, per, NULL, 0, 0};
    CHECK_OK(ax_chan_create(rt, sizeof(struct item), cap, &m.c));
    m.seen = calloc((size_t)nprod * (size_t)per, 1);
    CHECK(m.seen != NULL);
    pthread_t pt[MAX_PROD], ct[MAX_PROD];
    struct worker_arg pa[MAX_PROD], ca[MAX_PROD];
    for (int i = 0; i < ncons; i++) {
        ca[i] = (struct worker_arg){&m, i};
        CHECK(pthread_create(&ct[i], NULL, consumer_main, &ca[i]) == 0);
    }
    for (int i = 0; i < nprod; i++) {
        pa[i] = (struct worker_arg){&m, i};
        CHECK(pthread_create(&pt[i], NULL, producer_main, &pa[i]) == 0);
    }
    for (int i = 0; i < nprod; i++) CHECK(pthread_join(pt[i], NULL) == 0);
    CHECK_OK(ax_chan_close(m.c)); /* consumers drain what is left, then get AX_EPIPE */
    for (int i = 0; i < ncons; i++) CHECK(pthread_join(ct[i], NULL) == 0);
    CHECK_EQ(atomic_load(&m.bad), 0);
    CHECK_EQ(atomic_load(&m.received), (long)nprod * per);
    for (size_t i = 0; i < (size_t)nprod * (size_t)per; i++) CHECK_EQ(atomic_load(&m.seen[i]), 1);
    CHECK_EQ(ax_chan_len(m.c), 0);
    free((void *)m.seen);
    CHECK_OK(ax_chan_destroy(m.c));
    fixture_destroy(rt);
}

static void test_mpmc_4x4(void) { run_mpmc(4, 4, PER_PRODUCER, 64); }
static void test_mpmc_capacity_1(void) { run_mpmc(2, 2, PER_PRODUCER / 5, 1); }
static void test_mpmc_capacity_7(void) { run_mpmc(3, 2, PER_PRODUCER / 5, 7); }

/* One thread, no contention: FIFO order, exact capacity, len. */
static void test_fifo_and_capacity(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_chan *c;
    CHECK_OK(ax_chan_create(rt, sizeof(uint64_t), 5, &c));
    for (int lap = 0; lap < 3; lap++) {
        for (uint64_t i = 0; i < 5; i++) CHECK_OK(ax_chan_try_send(c, &i, sizeof i));
        uint64_t x = 99;
        CHECK_RC(ax_chan_try_send(c, &x, sizeof x), AX_EFULL);
        CHECK_RC(ax_chan_send(c, &x, sizeof x, 0), AX_EFULL);
        CHECK_EQ(ax_chan_len(c), 5);
        for (uint64_t i = 0; i < 5; i++) {
            CHECK_OK(ax_chan_try_recv(c, &x, sizeof x));
            CHECK_EQ(x, i);
        }
        CHECK_RC(ax_chan_try_recv(c, &x, sizeof x), AX_EFULL);
        CHECK_RC(ax_chan_recv(c, &x, sizeof x, 0), AX_EFULL);
        CHECK_EQ(ax_chan_len(c), 0);
    }
    CHECK_OK(ax_chan_destroy(c));
    fixture_destroy(rt);
}

/* ---- blocking, waking, timeouts ------------------------------------------------------------- */

struct waiter {
    ax_chan *c;
    int64_t timeout_ms;
    uint64_t value;
    atomic_int started;
    int rc;
};

static void *recv_main(void *arg) {
    struct waiter *w = arg;
    atomic_store(&w->started, 1);
    w->rc = ax_chan_recv(w->c, &w->value, sizeof w->value, w->timeout_ms);
    return NULL;
}

static void *send_main(void *arg) {
    struct waiter *w = arg;
    atomic_store(&w->started, 1);
    w->rc = ax_chan_send(w->c, &w->value, sizeof w->value, w->timeout_ms);
    return NULL;
}

static void test_receiver_woken_by_send(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_chan *c;
    CHECK_OK(ax_chan_create(rt, sizeof(uint64_t), 4, &c));
    int64_t timeouts[] = {-1, INT64_MAX, 60000};
    for (int i = 0; i < 3; i++) {
        struct waiter w = {c, timeouts[i], 0, 0, 1};
        pthread_t t;
        CHECK(pthread_create(&t, NULL, recv_main, &w) == 0);
        WAIT_ATOMIC(w.started, 1);
        check_sleep_us(20000); /* most likely asleep by now; either way it must get the item */
        uint64_t v = 1000 + (uint64_t)i;
        CHECK_OK(ax_chan_send(c, &v, sizeof v, -1));
        CHECK(pthread_join(t, NULL) == 0);
        CHECK_RC_OF(ax_chan_recv, w.rc, 0);
        CHECK_EQ(w.value, v);
    }
    CHECK_OK(ax_chan_destroy(c));
    fixture_destroy(rt);
}

static void test_sender_woken_by_recv(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_chan *c;
    CHECK_OK(ax_chan_create(rt, sizeof(uint64_t), 1, &c));
    uint64_t v = 1;
    CHECK_OK(ax_chan_send(c, &v, sizeof v, INT64_MAX));
    struct waiter w = {c, INT64_MAX, 2, 0, 1};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, send_main, &w) == 0);
    WAIT_ATOMIC(w.started, 1);
    check_sleep_us(20000);
    CHECK_OK(ax_chan_recv(c, &v, sizeof v, -1));
    CHECK_EQ(v, 1);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC_OF(ax_chan_send, w.rc, 0);
    CHECK_OK(ax_chan_recv(c, &v, sizeof v, 1000));
    CHECK_EQ(v, 2);
    CHECK_OK(ax_chan_destroy(c));
    fixture_destroy(rt);
}

static void test_timeouts(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_chan *c;
    CHECK_OK(ax_chan_create(rt, sizeof(uint64_t), 1, &c));
    uint64_t v = 7;
    CHECK_RC(ax_chan_recv(c, &v, sizeof v, 30), AX_ETIMEDOUT); /* it returned: no timing check */
    CHECK_RC(ax_chan_recv(c, &v, sizeof v, 1), AX_ETIMEDOUT);
    CHECK_OK(ax_chan_send(c, &v, sizeof v, 30));
    CHECK_RC(ax_chan_send(c, &v, sizeof v, 30), AX_ETIMEDOUT);
    CHECK_RC(ax_chan_try_send(c, &v, sizeof v), AX_EFULL);
    CHECK_OK(ax_chan_recv(c, &v, sizeof v, INT64_MAX));
    CHECK_EQ(v, 7);
    /* A deadline so far off that now + timeout overflows: no deadline. */
    CHECK_OK(ax_chan_send(c, &v, sizeof v, INT64_MAX - 1));
    CHECK_OK(ax_chan_recv(c, &v, sizeof v, INT64_MAX - 1));
    CHECK_OK(ax_chan_destroy(c));
    fixture_destroy(rt);
}

/* ---- close ---------------------------------------------------------------------------------- */

static void test_close_wakes_waiters(void) {
    ax_runtime *rt = fixture_runtime(1);
    enum { W = 4 };
    /* Receivers blocked on an empty channel. */
    ax_chan *empty;
    CHECK_OK(ax_chan_create(rt, sizeof(uint64_t), 4, &empty));
    struct waiter rw[W];
    pthread_t rt_[W];
    for (int i = 0; i < W; i++) {
        rw[i] = (struct waiter){empty, i % 2 ? -1 : 60000, 0, 0, 1};
        CHECK(pthread_create(&rt_[i], NULL, recv_main, &rw[i]) == 0);
    }
    /* Senders blocked on a full one. */
    ax_chan *full;
    CHECK_OK(ax_chan_create(rt, sizeof(uint64_t), 4, &full));
    for (uint64_t i = 0; i < 4; i++) CHECK_OK(ax_chan_try_send(full, &i, sizeof i));
    struct waiter sw[W];
    pthread_t st[W];
    for (int i = 0; i < W; i++) {
        sw[i] = (struct waiter){full, i % 2 ? INT64_MAX : 60000, 100 + (uint64_t)i, 0, 1};
        CHECK(pthread_create(&st[i], NULL, send_main, &sw[i]) == 0);
    }
    for (int i = 0; i < W; i++) {
        WAIT_ATOMIC(rw[i].started, 1);
        WAIT_ATOMIC(sw[i].started, 1);
    }
    check_sleep_us(30000); /* most likely all asleep */
    CHECK_OK(ax_chan_close(empty));
    CHECK_OK(ax_chan_close(full));
    CHECK_OK(ax_chan_close(full)); /* twice is allowed */
    for (int i = 0; i < W; i++) {
        CHECK(pthread_join(rt_[i], NULL) == 0);
        CHECK(pthread_join(st[i], NULL) == 0);
        CHECK_RC_OF(ax_chan_recv, rw[i].rc, AX_EPIPE);
        CHECK_RC_OF(ax_chan_send, sw[i].rc, AX_EPIPE);
    }
    /* What was sent before the close is all there, then the closed code. */
    uint64_t v;
    for (uint64_t i = 0; i < 4; i++) {
        CHECK_OK(ax_chan_recv(full, &v, sizeof v, -1));
        CHECK_EQ(v, i);
    }
    CHECK_RC(ax_chan_recv(full, &v, sizeof v, -1), AX_EPIPE);
    CHECK_RC(ax_chan_try_recv(full, &v, sizeof v), AX_EPIPE);
    CHECK_RC(ax_chan_try_send(full, &v, sizeof v), AX_EPIPE);
    CHECK_RC(ax_chan_send(full, &v, sizeof v, 10), AX_EPIPE);
    CHECK_OK(ax_chan_destroy(empty));
    CHECK_OK(ax_chan_destroy(full));
    fixture_destroy(rt);
}

/* Close while producers and consumers run: what a send accepted is received, nothing more. */
struct race {
    ax_chan *c;
    atomic_long sent, received;
    atomic_int bad;
};

static void *race_producer(void *arg) {
    struct race *r = arg;
    for (uint64_t i = 0;; i++) {
        int rc = ax_chan_send(r->c, &i, sizeof i, -1);
        if (rc == AX_EPIPE) return NULL;
        if (rc != 0) {
            atomic_fetch_add(&r->bad, 1);
            return NULL;
        }
        atomic_fetch_add(&r->sent, 1);
    }
}

static void *race_consumer(void *arg) {
    struct race *r = arg;
    for (;;) {
        uint64_t v;
        int rc = ax_chan_recv(r->c, &v, sizeof v, -1);
        if (rc == AX_EPIPE) return NULL;
        if (rc != 0) {
            atomic_fetch_add(&r->bad, 1);
            return NULL;
        }
        atomic_fetch_add(&r->received, 1);
    }
}

static void test_close_races(void) {
    ax_runtime *rt = fixture_runtime(1);
    for (int round = 0; round < 20; round++) {
        struct race r = {NULL, 0, 0, 0};
        CHECK_OK(ax_chan_create(rt, sizeof(uint64_t), 1 + (size_t)round % 5, &r.c));
        pthread_t t[6];
        for (int i = 0; i < 3; i++) CHECK(pthread_create(&t[i], NULL, race_producer, &r) == 0);
        for (int i = 3; i < 6; i++) CHECK(pthread_create(&t[i], NULL, race_consumer, &r) == 0);
        check_sleep_us(2000);
        CHECK_OK(ax_chan_close(r.c));
        for (int i = 0; i < 6; i++) CHECK(pthread_join(t[i], NULL) == 0);
        CHECK_EQ(atomic_load(&r.bad), 0);
        CHECK_EQ(atomic_load(&r.received), atomic_load(&r.sent));
        CHECK_OK(ax_chan_destroy(r.c));
    }
    fixture_destroy(rt);
}

/* ---- subscription --------------------------------------------------------------------------- */

enum { T_ITEM = 5, T_PROBE = 6 };

static atomic_long g_got, g_bad_msgs;
static atomic_int g_stopped;
static int64_t g_last[MAX_PROD];

static int sub_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state;
    struct item it;
    if (msg->type != T_ITEM || msg->size != sizeof it || !ax_ref_is_none(msg->sender)) {
        atomic_fetch_add(&g_bad_msgs, 1);
        return 0;
    }
    memcpy(&it, msg->data, sizeof it);
    /* One actor: handled one at a time, so g_last needs no atomics. */
    if (it.producer >= MAX_PROD || it.check != item_check(it.producer, it.seq) ||
        (int64_t)it.seq != g_last[it.producer] + 1)
        atomic_fetch_add(&g_bad_msgs, 1);
    else g_last[it.producer] = it.seq;
    atomic_fetch_add(&g_got, 1);
    return 0;
}
static void sub_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx, (void)state, (void)reason;
    atomic_store(&g_stopped, 1);
}
static const ax_behavior sub_b = {"subscriber", 0, NULL, sub_receive, sub_stopped};

static void reset_last(void) {
    for (int p = 0; p < MAX_PROD; p++) g_last[p] = -1;
}

/* One sender: the actor gets the items in send order, those queued before it subscribed
 * first. */
static void test_subscribe_order(void) {
    reset_last();
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a;
    CHECK_OK(ax_spawn(rt, &sub_b, NULL, NULL, &a));
    ax_chan *c;
    CHECK_OK(ax_chan_create(rt, sizeof(struct item), 16, &c));
    enum { N = 50000 };
    for (uint32_t s = 0; s < 10; s++) {
        struct item it = {0, s, item_check(0, s)};
        CHECK_OK(ax_chan_try_send(c, &it, sizeof it));
    }
    CHECK_OK(ax_chan_subscribe(c, a, T_ITEM));
    WAIT_ATOMIC(g_got, 10);
    for (uint32_t s = 10; s < N; s++) {
        struct item it = {0, s, item_check(0, s)};
        CHECK_OK(ax_chan_send(c, &it, sizeof it, -1));
    }
    WAIT_ATOMIC(g_got, N);
    check_sleep_us(10000);
    CHECK_EQ(atomic_load(&g_got), N);
    CHECK_EQ(atomic_load(&g_bad_msgs), 0);
    CHECK_EQ(g_last[0], N - 1);
    CHECK_EQ(ax_chan_len(c), 0);
    /* Unsubscribed: items stay for receivers. */
    CHECK_OK(ax_chan_unsubscribe(c));
    CHECK_RC(ax_chan_unsubscribe(c), AX_ENOENT);
    struct item it = {0, N, item_check(0, N)}, out;
    CHECK_OK(ax_chan_try_send(c, &it, sizeof it));
    check_sleep_us(10000);
    CHECK_EQ(atomic_load(&g_got), N);
    CHECK_OK(ax_chan_try_recv(c, &out, sizeof out));
    CHECK_EQ(out.seq, N);
    CHECK_OK(ax_chan_destroy(c));
    fixture_destroy(rt);
}

/* Four sender threads: every item once, each sender's in order. */
static void *sub_producer(void *arg) {
    struct worker_arg *w = arg;
    for (int s = 0; s < w->m->per; s++) {
        struct item it = {(uint32_t)w->id, (uint32_t)s, item_check((uint32_t)w->id, (uint32_t)s)};
        int rc = ax_chan_send(w->m->c, &it, sizeof it, -1);
        if (rc != 0) {
            atomic_fetch_add(&w->m->bad, 1);
            return NULL;
        }
    }
    return NULL;
}

static void test_subscribe_many_senders(void) {
    reset_last();
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a;
    CHECK_OK(ax_spawn(rt, &sub_b, NULL, NULL, &a));
    struct mpmc m = {NULL, 4, PER_PRODUCER / 4, NULL, 0, 0};
    CHECK_OK(ax_chan_create(rt, sizeof(struct item), 8, &m.c));
    CHECK_OK(ax_chan_subscribe(m.c, a, T_ITEM));
    pthread_t t[4];
    struct worker_arg wa[4];
    for (int i = 0; i < 4; i++) {
        wa[i] = (struct worker_arg){&m, i};
        CHECK(pthread_create(&t[i], NULL, sub_producer, &wa[i]) == 0);
    }
    for (int i = 0; i < 4; i++) CHECK(pthread_join(t[i], NULL) == 0);
    WAIT_ATOMIC(g_got, 4L * m.per);
    check_sleep_us(10000);
    CHECK_EQ(atomic_load(&g_got), 4L * m.per);
    CHECK_EQ(atomic_load(&m.bad), 0);
    CHECK_EQ(atomic_load(&g_bad_msgs), 0);
    for (int p = 0; p < 4; p++) CHECK_EQ(g_last[p], m.per - 1);
    CHECK_OK(ax_chan_destroy(m.c));
    fixture_destroy(rt);
}

/* The subscriber stops: the subscription ends at the next item, which stays queued. */
static void test_subscriber_stops(void) {
    reset_last();
    ax_runtime *rt = fixture_runtime(1);
    ax_ref a, b;
    CHECK_OK(ax_spawn(rt, &sub_b, NULL, NULL, &a));
    ax_chan *c;
    CHECK_OK(ax_chan_create(rt, sizeof(struct item), 4, &c));
    CHECK_OK(ax_chan_subscribe(c, a, T_ITEM));
    CHECK_RC(ax_chan_subscribe(c, a, T_ITEM), AX_EEXIST);
    CHECK_OK(ax_stop(rt, a));
    WAIT_ATOMIC(g_stopped, 1);
    struct item it = {0, 0, item_check(0, 0)}, out;
    CHECK_OK(ax_chan_try_send(c, &it, sizeof it));
    CHECK_EQ(atomic_load(&g_got), 0);
    CHECK_RC(ax_chan_unsubscribe(c), AX_ENOENT); /* it ended */
    CHECK_RC(ax_chan_subscribe(c, a, T_ITEM), AX_ENOACTOR);
    CHECK_OK(ax_chan_try_recv(c, &out, sizeof out));
    CHECK_EQ(out.seq, 0);
    /* A new subscriber gets what comes next, and a closed channel's leftovers. */
    CHECK_OK(ax_chan_try_send(c, &it, sizeof it));
    CHECK_OK(ax_chan_close(c));
    CHECK_OK(ax_spawn(rt, &sub_b, NULL, NULL, &b));
    CHECK_OK(ax_chan_subscribe(c, b, T_ITEM));
    WAIT_ATOMIC(g_got, 1);
    CHECK_EQ(atomic_load(&g_bad_msgs), 0);
    CHECK_RC(ax_chan_try_recv(c, &out, sizeof out), AX_EPIPE);
    CHECK_OK(ax_chan_destroy(c));
    fixture_destroy(rt);
}

/* ---- handlers ------------------------------------------------------------------------------- */

static ax_chan *g_chan;
static atomic_int g_handled;

static int handler_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state, (void)msg;
    uint64_t v = 5;
    HCHECK(ax_chan_recv(g_chan, &v, sizeof v, 10) == AX_ECONTEXT);
    HCHECK(ax_chan_recv(g_chan, &v, sizeof v, -1) == AX_ECONTEXT);
    HCHECK(ax_chan_send(g_chan, &v, sizeof v, INT64_MAX) == AX_ECONTEXT);
    HCHECK(ax_chan_send(g_chan, &v, sizeof v, 0) == 0); /* not waiting: allowed */
    HCHECK(ax_chan_try_send(g_chan, &v, sizeof v) == 0);
    HCHECK(ax_chan_try_recv(g_chan, &v, sizeof v) == 0 && v == 5);
    HCHECK(ax_chan_recv(g_chan, &v, sizeof v, 0) == 0 && v == 5);
    HCHECK(ax_chan_recv(g_chan, &v, sizeof v, 0) == AX_EFULL);
    atomic_fetch_add(&g_handled, 1);
    return 0;
}
static const ax_behavior handler_b = {"handler", 0, NULL, handler_receive, NULL};

static void test_handler_must_not_wait(void) {
    ax_runtime *rt = fixture_runtime(1);
    CHECK_OK(ax_chan_create(rt, sizeof(uint64_t), 4, &g_chan));
    ax_ref a;
    CHECK_OK(ax_spawn(rt, &handler_b, NULL, NULL, &a));
    CHECK_OK(ax_send(rt, a, T_PROBE, NULL, 0));
    WAIT_ATOMIC(g_handled, 1);
    CHECK_NO_HANDLER_FAILURES();
    CHECK_OK(ax_chan_destroy(g_chan));
    fixture_destroy(rt);
}

/* ---- misuse --------------------------------------------------------------------------------- */

static void test_misuse(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_chan *c = NULL;
    CHECK_RC(ax_chan_create(NULL, 8, 4, &c), AX_EINVAL);
    CHECK_RC(ax_chan_create(rt, 8, 4, NULL), AX_EINVAL);
    CHECK_RC(ax_chan_create(rt, 0, 4, &c), AX_EINVAL);
    CHECK_RC(ax_chan_create(rt, 8, 0, &c), AX_EINVAL);
    CHECK_RC(ax_chan_create(rt, AX_MSG_MAX + 1, 4, &c), AX_EMSGSIZE);
    CHECK_RC(ax_chan_create(rt, SIZE_MAX, 4, &c), AX_EMSGSIZE);
    CHECK_RC(ax_chan_create(rt, 8, SIZE_MAX, &c), AX_ENOMEM);
    CHECK_RC(ax_chan_create(rt, AX_MSG_MAX, SIZE_MAX / 2, &c), AX_ENOMEM);
    CHECK_RC(ax_chan_create(rt, 16, SIZE_MAX / 16, &c), AX_ENOMEM);
    CHECK(c == NULL);
    CHECK_OK(ax_chan_create(rt, AX_MSG_MAX, 2, &c)); /* the largest item */
    CHECK_OK(ax_chan_destroy(c));
    CHECK_OK(ax_chan_create(rt, 8, 2, &c));

    uint64_t v = 1;
    CHECK_RC(ax_chan_try_send(NULL, &v, sizeof v), AX_EINVAL);
    CHECK_RC(ax_chan_try_send(c, NULL, sizeof v), AX_EINVAL);
    CHECK_RC(ax_chan_try_send(c, &v, 4), AX_EINVAL); /* size mismatch */
    CHECK_RC(ax_chan_send(NULL, &v, sizeof v, -1), AX_EINVAL);
    CHECK_RC(ax_chan_send(c, NULL, sizeof v, -1), AX_EINVAL);
    CHECK_RC(ax_chan_send(c, &v, 16, -1), AX_EINVAL);
    CHECK_RC(ax_chan_try_recv(NULL, &v, sizeof v), AX_EINVAL);
    CHECK_RC(ax_chan_try_recv(c, NULL, sizeof v), AX_EINVAL);
    CHECK_RC(ax_chan_try_recv(c, &v, 0), AX_EINVAL);
    CHECK_RC(ax_chan_recv(NULL, &v, sizeof v, -1), AX_EINVAL);
    CHECK_RC(ax_chan_recv(c, NULL, sizeof v, -1), AX_EINVAL);
    CHECK_RC(ax_chan_recv(c, &v, SIZE_MAX, -1), AX_EINVAL);
    CHECK_RC(ax_chan_close(NULL), AX_EINVAL);
    CHECK_RC(ax_chan_destroy(NULL), AX_EINVAL);
    CHECK_RC(ax_chan_unsubscribe(NULL), AX_EINVAL);
    CHECK_EQ(ax_chan_len(NULL), 0);
    CHECK_RC(ax_chan_subscribe(NULL, AX_REF_NONE, T_ITEM), AX_EINVAL);
    ax_ref a;
    CHECK_OK(ax_spawn(rt, &sub_b, NULL, NULL, &a));
    CHECK_RC(ax_chan_subscribe(c, a, AX_MSG_RESERVED), AX_EINVAL);
    CHECK_RC(ax_chan_subscribe(c, AX_REF_NONE, T_ITEM), AX_ENOACTOR);
    CHECK_RC(ax_chan_subscribe(c, (ax_ref){UINT64_MAX}, T_ITEM), AX_ENOACTOR);
    CHECK_RC(ax_chan_unsubscribe(c), AX_ENOENT);
    CHECK_OK(ax_chan_destroy(c));
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_fifo_and_capacity), TEST_CASE(test_mpmc_4x4),
          TEST_CASE(test_mpmc_capacity_1), TEST_CASE(test_mpmc_capacity_7),
          TEST_CASE(test_receiver_woken_by_send), TEST_CASE(test_sender_woken_by_recv),
          TEST_CASE(test_timeouts), TEST_CASE(test_close_wakes_waiters),
          TEST_CASE(test_close_races), TEST_CASE(test_subscribe_order),
          TEST_CASE(test_subscribe_many_senders), TEST_CASE(test_subscriber_stops),
          TEST_CASE(test_handler_must_not_wait), TEST_CASE(test_misuse))
