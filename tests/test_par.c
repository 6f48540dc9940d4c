/* SPDX-License-Identifier: MIT */
/* test_par.c: fork-join (src/par): results and exactly-once execution of every branch, from
 * outside threads and from handlers of many actors at once, parallel_for visiting every index
 * once, parallel_reduce, errors from branches, misuse. Run again with every join promoted
 * (AX_TEST_HEARTBEAT_ALWAYS), so that stolen and taken-back frames are exercised on purpose. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "runner.h"

/* ---- fib by joins, every call counted --------------------------------------------------- */

static _Atomic uint64_t calls;

struct fib {
    int n;
    uint64_t result;
};

static int fib_join(void *p) {
    struct fib *f = p;
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    if (f->n < 2) {
        f->result = (uint64_t)f->n;
        return 0;
    }
    struct fib a = {f->n - 1, 0}, b = {f->n - 2, 0};
    int rc = ax_join(fib_join, &a, fib_join, &b);
    f->result = a.result + b.result;
    return rc;
}

static uint64_t fib_seq(int n) { return n < 2 ? (uint64_t)n : fib_seq(n - 1) + fib_seq(n - 2); }

/* fib(n) makes 2 fib(n+1) - 1 calls. */
static uint64_t fib_calls(int n) { return 2 * fib_seq(n + 1) - 1; }

static void test_fib_outside(void) {
    ax_runtime *rt = fixture_runtime(2);
    /* Every join promoted: the other worker must steal some (the stolen-frame path runs). A
     * round takes milliseconds, in which a parked worker may not get a core: with every join
     * promoted, rounds go on (up to 500) until one was stolen. */
    bool want_steal = getenv("AX_TEST_HEARTBEAT_ALWAYS") != NULL;
    for (int round = 0; round < 5 || (want_steal && round < 500 && !fixture_stats(rt).steals);
         round++) {
        atomic_store(&calls, 0);
        struct fib f = {24, 0};
        CHECK_OK(ax_par_run(rt, fib_join, &f));
        CHECK_EQ(f.result, fib_seq(24));
        CHECK_EQ(atomic_load(&calls), fib_calls(24)); /* every branch ran exactly once */
    }
    if (want_steal) CHECK(fixture_stats(rt).steals > 0);
    fixture_destroy(rt);
}

/* ---- from handlers, 8 actors at once ------------------------------------------------------- */

static _Atomic int answered;

static int joiner(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)state;
    int n;
    memcpy(&n, msg->data, sizeof n);
    struct fib f = {n, 0};
    HCHECK(ax_join(fib_join, &f, fib_join, &(struct fib){n - 1, 0}) == 0);
    HCHECK(f.result == fib_seq(n));
    HCHECK(ax_par_run(ax_ctx_runtime(ctx), fib_join, &f) == AX_ECONTEXT); /* would block */
    atomic_fetch_add(&answered, 1);
    return 0;
}
static const ax_behavior joiner_b = {"joiner", 0, NULL, joiner, NULL};

static void test_join_in_handlers(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a[8];
    atomic_store(&answered, 0);
    atomic_store(&calls, 0);
    for (int i = 0; i < 8; i++) CHECK_OK(ax_spawn(rt, &joiner_b, NULL, NULL, &a[i]));
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < 8; i++) {
            int n = 18 + i % 3;
            CHECK_OK(ax_send(rt, a[i], 1, &n, sizeof n));
        }
    WAIT_ATOMIC(answered, 32);
    uint64_t want = 0;
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < 8; i++) want += fib_calls(18 + i % 3) + fib_calls(17 + i % 3);
    CHECK_EQ(atomic_load(&calls), want);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ---- errors and misuse ------------------------------------------------------------------- */

static int fail_at_zero(void *p) {
    struct fib *f = p;
    if (f->n == 0) return AX_REASON_USER + 7;
    struct fib a = {f->n - 1, 0}, b = {f->n / 2, 0};
    return ax_join(fail_at_zero, &a, fail_at_zero, &b);
}

static int nothing(void *p) {
    (void)p;
    return 0;
}

static void test_errors_and_misuse(void) {
    CHECK_RC(ax_join(nothing, NULL, nothing, NULL), AX_ECONTEXT); /* not on a worker */
    CHECK_RC(ax_parallel_for(0, 10, (ax_par_range_fn)NULL, NULL), AX_EINVAL);
    ax_runtime *rt = fixture_runtime(2);
    CHECK_RC(ax_par_run(NULL, nothing, NULL), AX_EINVAL);
    CHECK_RC(ax_par_run(rt, NULL, NULL), AX_EINVAL);
    struct fib f = {12, 0};
    CHECK_RC(ax_par_run(rt, fail_at_zero, &f), AX_REASON_USER + 7); /* a branch's error */
    fixture_shutdown(rt);
    CHECK_RC(ax_par_run(rt, nothing, NULL), AX_ESHUTDOWN);
    fixture_destroy(rt);
}

static int join_nulls(void *p) {
    (void)p;
    HCHECK(ax_join(NULL, NULL, nothing, NULL) == AX_EINVAL);
    HCHECK(ax_join(nothing, NULL, NULL, NULL) == AX_EINVAL);
    return 0;
}

static void test_join_nulls(void) {
    ax_runtime *rt = fixture_runtime(1);
    CHECK_OK(ax_par_run(rt, join_nulls, NULL));
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ---- parallel_for and parallel_reduce --------------------------------------------------- */

#define N 1000000
static _Atomic unsigned char seen[N];

static int mark(int64_t lo, int64_t hi, void *arg) {
    (void)arg;
    for (int64_t i = lo; i < hi; i++) atomic_fetch_add_explicit(&seen[i], 1, memory_order_relaxed);
    return 0;
}

static int stop_at(int64_t lo, int64_t hi, void *arg) {
    return lo <= *(int64_t *)arg && *(int64_t *)arg < hi ? -1 : 0;
}

struct loops {
    int rc_for, rc_empty, rc_one, rc_bad, rc_stop;
};

static int run_loops(void *p) {
    struct loops *l = p;
    l->rc_for = ax_parallel_for(0, N, mark, NULL);
    l->rc_empty = ax_parallel_for(5, 5, mark, NULL);
    l->rc_one = ax_parallel_for(N - 1, N, mark, NULL); /* index N - 1 twice in all */
    l->rc_bad = ax_parallel_for(6, 5, mark, NULL);
    int64_t at = 777;
    l->rc_stop = ax_parallel_for(0, N, stop_at, &at);
    return 0;
}

static void test_parallel_for(void) {
    ax_runtime *rt = fixture_runtime(2);
    struct loops l;
    CHECK_OK(ax_par_run(rt, run_loops, &l));
    CHECK_OK(l.rc_for);
    CHECK_OK(l.rc_empty);
    CHECK_OK(l.rc_one);
    CHECK_RC_OF(ax_parallel_for, l.rc_bad, AX_EINVAL);
    CHECK_EQ(l.rc_stop, -1);
    for (int64_t i = 0; i < N - 1; i++) CHECK_EQ(atomic_load(&seen[i]), 1);
    CHECK_EQ(atomic_load(&seen[N - 1]), 2);
    CHECK_RC(ax_parallel_for(0, 10, mark, NULL), AX_ECONTEXT); /* not on a worker */
    fixture_destroy(rt);
}

static void sum_init(void *acc, void *arg) {
    (void)arg;
    *(uint64_t *)acc = 0;
}
static int sum_body(int64_t lo, int64_t hi, void *acc, void *arg) {
    (void)arg;
    uint64_t s = 0;
    for (int64_t i = lo; i < hi; i++) s += (uint64_t)i;
    *(uint64_t *)acc += s;
    return 0;
}
static void sum_combine(void *acc, const void *other, void *arg) {
    (void)arg;
    *(uint64_t *)acc += *(const uint64_t *)other;
}
/* Concatenation keeps order: the first index of each piece, in order, must come out sorted. */
struct order {
    int64_t first, last;
    uint64_t breaks;
};
static void order_init(void *acc, void *arg) {
    (void)arg;
    *(struct order *)acc = (struct order){-1, -1, 0};
}
static int order_body(int64_t lo, int64_t hi, void *acc, void *arg) {
    (void)arg;
    struct order *o = acc;
    if (o->first < 0) o->first = lo;
    else if (o->last != lo) o->breaks++;
    o->last = hi;
    return 0;
}
static void order_combine(void *acc, const void *other, void *arg) {
    (void)arg;
    struct order *a = acc;
    const struct order *b = other;
    if (b->first < 0) return;
    if (a->first < 0) {
        *a = *b;
        return;
    }
    if (a->last != b->first) a->breaks++;
    a->breaks += b->breaks;
    a->last = b->last;
}

struct reduce_results {
    uint64_t sum, empty;
    struct order order;
    int rc[4];
};

static int run_reduce(void *p) {
    struct reduce_results *r = p;
    ax_reduce sum = {sizeof(uint64_t), sum_init, sum_body, sum_combine, NULL};
    ax_reduce ord = {sizeof(struct order), order_init, order_body, order_combine, NULL};
    r->rc[0] = ax_parallel_reduce(0, N, &sum, &r->sum);
    r->rc[1] = ax_parallel_reduce(3, 3, &sum, &r->empty);
    r->rc[2] = ax_parallel_reduce(0, N, &ord, &r->order);
    ax_reduce big = sum;
    big.acc_size = AX_REDUCE_ACC_MAX + 1;
    r->rc[3] = ax_parallel_reduce(0, N, &big, &r->sum);
    return 0;
}

static void test_parallel_reduce(void) {
    ax_runtime *rt = fixture_runtime(2);
    struct reduce_results r;
    CHECK_OK(ax_par_run(rt, run_reduce, &r));
    CHECK_OK(r.rc[0]);
    CHECK_EQ(r.sum, (uint64_t)N * (N - 1) / 2);
    CHECK_OK(r.rc[1]);
    CHECK_EQ(r.empty, 0);
    CHECK_OK(r.rc[2]);
    CHECK(r.order.first == 0 && r.order.last == N && r.order.breaks == 0);
    CHECK_RC_OF(ax_parallel_reduce, r.rc[3], AX_EINVAL);
    ax_reduce sum = {sizeof(uint64_t), sum_init, sum_body, sum_combine, NULL};
    uint64_t acc;
    CHECK_RC(ax_parallel_reduce(0, 10, &sum, &acc), AX_ECONTEXT);
    CHECK_RC(ax_parallel_reduce(0, 10, NULL, &acc), AX_EINVAL);
    fixture_destroy(rt);
}


/* ---- shapes: nested loops, an unbalanced tree ------------------------------------------ */

static _Atomic uint64_t inner_count;

static int inner(int64_t lo, int64_t hi, void *arg) {
    (void)arg;
    atomic_fetch_add_explicit(&inner_count, (uint64_t)(hi - lo), memory_order_relaxed);
    return 0;
}

static int outer(int64_t lo, int64_t hi, void *arg) {
    (void)arg;
    for (int64_t i = lo; i < hi; i++) {
        int rc = ax_parallel_for(0, 10, inner, NULL); /* a loop in every iteration */
        if (rc) return rc;
    }
    return 0;
}

static int nested_root(void *p) { return ax_parallel_for(0, *(int64_t *)p, outer, NULL); }

static void test_nested_loops(void) {
    ax_runtime *rt = fixture_runtime(2);
    int64_t n = 100000;
    atomic_store(&inner_count, 0);
    CHECK_OK(ax_par_run(rt, nested_root, &n));
    CHECK_EQ(atomic_load(&inner_count), (uint64_t)n * 10); /* every inner index once */
    fixture_destroy(rt);
}

/* Loops nested DEEP levels deep: level d runs over [0, 2); its index 0 runs level d + 1, its index
 * 1 nothing more. The nesting is DEEP loops, and twice as many joins, on one worker's stack,
 * while heartbeats hand index 1 of the levels to the other worker. A level takes 416 bytes of
 * stack in the release build (the default 64 MiB holds 100,000 levels), 801 with ASan, and
 * about twice that with every join promoted. TSan cannot record a stack of more than 65,535
 * calls (a level makes 4 or more), so there the nesting is shallower. */
#if defined(AX_TSAN)
enum { DEEP = 5000 };
#else
enum { DEEP = 100000 };
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(AX_TSAN)
enum { DEEP_STACK_KB = 256 << 10 };
#else
enum { DEEP_STACK_KB = 0 }; /* the default */
#endif
static int64_t deep_levels[DEEP + 1];
static _Atomic uint64_t deep_visits;
static _Atomic uintptr_t deep_top, deep_bottom; /* frames of level 1 and level DEEP, index 0 */

static int deep_body(int64_t lo, int64_t hi, void *arg) {
    int64_t level = *(int64_t *)arg;
    if (lo == 0 && (level == 1 || level == DEEP)) /* both on the worker that runs index 0 */
        atomic_store(level == 1 ? &deep_top : &deep_bottom, (uintptr_t)__builtin_frame_address(0));
    for (int64_t i = lo; i < hi; i++) {
        atomic_fetch_add_explicit(&deep_visits, 1, memory_order_relaxed);
        if (i == 0 && level < DEEP) {
            int rc = ax_parallel_for(0, 2, deep_body, &deep_levels[level + 1]);
            if (rc) return rc;
        }
    }
    return 0;
}

static int deep_root(void *p) { return ax_parallel_for(0, 2, deep_body, p); }

static void deep_init(void *acc, void *arg) {
    (void)arg;
    *(uint64_t *)acc = 0;
}

static void deep_combine(void *acc, const void *other, void *arg) {
    (void)arg;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

static int deep_fold(int64_t lo, int64_t hi, void *acc, void *arg);

static int deep_reduce_at(int64_t *level, uint64_t *acc) {
    ax_reduce r = {sizeof(uint64_t), deep_init, deep_fold, deep_combine, level};
    return ax_parallel_reduce(0, 2, &r, acc);
}

/* deep_body as a fold: every level's indices are counted into its accumulator too. */
static int deep_fold(int64_t lo, int64_t hi, void *acc, void *arg) {
    int64_t level = *(int64_t *)arg;
    for (int64_t i = lo; i < hi; i++) {
        atomic_fetch_add_explicit(&deep_visits, 1, memory_order_relaxed);
        *(uint64_t *)acc += 1;
        if (i == 0 && level < DEEP) {
            uint64_t inner = 0;
            int rc = deep_reduce_at(&deep_levels[level + 1], &inner);
            if (rc) return rc;
            *(uint64_t *)acc += inner;
        }
    }
    return 0;
}

static int deep_reduce_root(void *p) {
    uint64_t total = 0;
    int rc = deep_reduce_at(p, &total);
    return rc ? rc : total == (uint64_t)DEEP * 2 ? 0 : AX_EINVAL;
}

static void test_deep_nesting(void) {
    for (int64_t d = 0; d <= DEEP; d++) deep_levels[d] = d;
    int stack_kb = getenv("AX_TEST_HEARTBEAT_ALWAYS") ? 256 << 10 : DEEP_STACK_KB;
    ax_runtime *rt = NULL;
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 2, .stack_kb = stack_kb}, &rt));
    for (int round = 0; round < 2; round++) {
        atomic_store(&deep_visits, 0);
        CHECK_OK(ax_par_run(rt, deep_root, &deep_levels[1]));
        CHECK_EQ(atomic_load(&deep_visits), (uint64_t)DEEP * 2); /* every index of every level */
    }
    printf("    stack per nesting level: %.0f bytes\n",
           (double)(atomic_load(&deep_top) - atomic_load(&deep_bottom)) / (DEEP - 1));
    fixture_destroy(rt);
    /* A reduction level takes more (the accumulator for a split): 1 GiB stacks, 100,000 deep. */
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 2, .stack_kb = 1 << 20}, &rt));
    atomic_store(&deep_visits, 0);
    CHECK_OK(ax_par_run(rt, deep_reduce_root, &deep_levels[1])); /* its sum checked inside */
    CHECK_EQ(atomic_load(&deep_visits), (uint64_t)DEEP * 2);
    fixture_destroy(rt);
    /* On 1 MiB stacks the nesting runs out of room: a loop then refuses to start, and the error
     * comes back up through every level, with no fault. */
    ax_runtime *small = NULL;
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 2, .stack_kb = 1024}, &small));
    atomic_store(&deep_visits, 0);
    int rc = ax_par_run(small, deep_root, &deep_levels[1]); /* the loops' error, passed up */
    CHECK_RC_OF(ax_parallel_for, rc, AX_ENOMEM);
    uint64_t visits = atomic_load(&deep_visits);
    CHECK(visits > 100 && visits < (uint64_t)DEEP * 2);
    /* Reductions nested in reductions' bodies: the same. */
    atomic_store(&deep_visits, 0);
    rc = ax_par_run(small, deep_reduce_root, &deep_levels[1]);
    CHECK_RC_OF(ax_parallel_reduce, rc, AX_ENOMEM);
    visits = atomic_load(&deep_visits);
    CHECK(visits > 100 && visits < (uint64_t)DEEP * 2);
    fixture_destroy(small);
}

/* A tree that is a vine of 5,000 nodes whose every node also has a bushy subtree of 15: joins
 * 5,000 deep on one side, balanced on the other. */
struct tnode {
    uint64_t value;
    struct tnode *left, *right;
};

struct tsum {
    const struct tnode *t;
    uint64_t r;
};

static int tsum(void *p) {
    struct tsum *s = p;
    if (!s->t) {
        s->r = 0;
        return 0;
    }
    atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    struct tsum a = {s->t->left, 0}, b = {s->t->right, 0};
    int rc = ax_join(tsum, &a, tsum, &b);
    s->r = s->t->value + a.r + b.r;
    return rc;
}

static struct tnode *bush(struct tnode **next, int depth, uint64_t *v) {
    if (depth == 0) return NULL;
    struct tnode *t = (*next)++;
    t->value = ++*v;
    t->left = bush(next, depth - 1, v);
    t->right = bush(next, depth - 1, v);
    return t;
}

static void test_unbalanced_tree(void) {
    enum { VINE = 5000, BUSH = 4 }; /* a bush of depth 4 has 15 nodes */
    struct tnode *nodes = calloc((size_t)VINE * 16, sizeof *nodes), *next = nodes;
    CHECK(nodes != NULL);
    uint64_t v = 0;
    struct tnode *root = NULL;
    for (int i = 0; i < VINE; i++) { /* built bottom up: the vine goes left */
        struct tnode *t = next++;
        t->value = ++v;
        t->left = root;
        t->right = bush(&next, BUSH, &v);
        root = t;
    }
    uint64_t nodes_made = (uint64_t)(next - nodes);
    ax_runtime *rt = fixture_runtime(2);
    for (int round = 0; round < 3; round++) {
        atomic_store(&calls, 0);
        struct tsum s = {root, 0};
        CHECK_OK(ax_par_run(rt, tsum, &s));
        CHECK_EQ(s.r, v * (v + 1) / 2); /* values 1..v, each counted once */
        CHECK_EQ(atomic_load(&calls), nodes_made);
    }
    fixture_destroy(rt);
    free(nodes);
}

/* ---- shutdown while a root runs ---------------------------------------------------------- */

struct long_root {
    ax_runtime *rt;
    int rc;
    struct fib f;
};

static void *run_long(void *p) {
    struct long_root *l = p;
    l->rc = ax_par_run(l->rt, fib_join, &l->f);
    return NULL;
}

static void test_shutdown_waits_for_roots(void) {
    ax_runtime *rt = fixture_runtime(2);
    struct long_root l = {rt, -1, {31, 0}};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, run_long, &l) == 0);
    check_sleep_us(2000); /* most likely running by now; either way the answer is checked */
    fixture_shutdown(rt);
    pthread_join(t, NULL);
    if (l.rc == 0) CHECK_EQ(l.f.result, fib_seq(31)); /* ran whole: shutdown waited for it */
    else CHECK_RC_OF(ax_par_run, l.rc, AX_ESHUTDOWN); /* or was refused as shutdown began */
    CHECK_RC(ax_par_run(rt, nothing, NULL), AX_ESHUTDOWN);
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_fib_outside), TEST_CASE(test_join_in_handlers),
          TEST_CASE(test_errors_and_misuse), TEST_CASE(test_join_nulls),
          TEST_CASE(test_parallel_for), TEST_CASE(test_parallel_reduce),
          TEST_CASE(test_nested_loops), TEST_CASE(test_deep_nesting),
          TEST_CASE(test_unbalanced_tree),
          TEST_CASE(test_shutdown_waits_for_roots))
