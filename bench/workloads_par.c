/* SPDX-License-Identifier: MIT */
/* workloads_par.c: the fork-join workloads of shared/bench/WORKLOADS.md: fib (a join at every
 * level), treesum and treesum_small (a join at every node), and sum (parallel_reduce), each
 * beside the plain sequential code in the same binary, run as roots through ax_par_run. */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

static void run_root(ax_runtime *rt, ax_par_fn fn, void *arg, const char *what) {
    int rc = ax_par_run(rt, fn, arg);
    if (rc != 0) bench_die("%s: ax_par_run: %s", what, ax_strerror(rc));
}

/* ---- fib ---------------------------------------------------------------------------------- */

struct fib {
    int n;
    uint64_t r;
};

static int fib_par(void *p) {
    struct fib *f = p;
    if (f->n < 2) {
        f->r = (uint64_t)f->n;
        return 0;
    }
    struct fib a = {f->n - 1, 0}, b = {f->n - 2, 0};
    ax_join(fib_par, &a, fib_par, &b);
    f->r = a.r + b.r;
    return 0;
}

/* noinline: the compiler must not turn the baseline into a loop the joined version cannot be. */
__attribute__((noinline)) static uint64_t fib_seq(int n) {
    return n < 2 ? (uint64_t)n : fib_seq(n - 1) + fib_seq(n - 2);
}

void bench_fib(ax_runtime *rt, const bench_params *p, bench_result *r) {
    int n = 32;
    while (n > 10 && p->scale < 1.0 && (double)(1u << (32 - n)) < 1.0 / p->scale) n--;
    int64_t t0 = bench_now_ns();
    uint64_t want = fib_seq(n);
    double seq = (double)(bench_now_ns() - t0) / 1e9;
    struct fib f = {n, 0};
    bench_measure_begin(r);
    run_root(rt, fib_par, &f, "fib");
    bench_measure_end(r);
    if (f.r != want) bench_die("fib(%d) = %llu, want %llu", n, (unsigned long long)f.r,
                               (unsigned long long)want);
    /* The calls that join: fib(n+1) - 1 of the 2 fib(n+1) - 1 calls (the rest are leaves). */
    uint64_t a = 0, b = 1; /* fib(0), fib(1) */
    for (int i = 0; i < n; i++) {
        uint64_t c = a + b;
        a = b;
        b = c;
    }
    r->n = b - 1; /* b = fib(n + 1) */
    r->checksum = f.r;
    snprintf(r->extra, sizeof r->extra, ",\"fib_n\":%d,\"seq_seconds\":%.6f,\"vs_seq\":%.2f", n, seq,
             r->seconds / seq);
}

/* ---- treesum ------------------------------------------------------------------------------ */

struct node {
    uint64_t value;
    struct node *left, *right;
};

static uint64_t xorshift64(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A balanced tree of n nodes in one array, values in preorder from the generator. */
static struct node *build(struct node **next, size_t n, uint64_t *rng) {
    if (n == 0) return NULL;
    struct node *t = (*next)++;
    t->value = xorshift64(rng);
    size_t left = (n - 1) / 2;
    t->left = build(next, left, rng);
    t->right = build(next, n - 1 - left, rng);
    return t;
}

struct sum {
    const struct node *t;
    uint64_t r;
};

static int sum_par(void *p) {
    struct sum *s = p;
    const struct node *t = s->t;
    if (!t) {
        s->r = 0;
        return 0;
    }
    struct sum a = {t->left, 0}, b = {t->right, 0};
    ax_join(sum_par, &a, sum_par, &b);
    s->r = t->value + a.r + b.r;
    return 0;
}

__attribute__((noinline)) static uint64_t sum_seq(const struct node *t) {
    return t ? t->value + sum_seq(t->left) + sum_seq(t->right) : 0;
}

static struct node *make_tree(size_t n, struct node **root) {
    struct node *nodes = malloc(n * sizeof *nodes);
    if (!nodes) bench_die("treesum: out of memory for %zu nodes", n);
    struct node *next = nodes;
    uint64_t rng = 88172645463325252ull;
    *root = build(&next, n, &rng);
    return nodes;
}

void bench_treesum(ax_runtime *rt, const bench_params *p, bench_result *r) {
    size_t n = (size_t)bench_scaled(10000000, p->scale);
    struct node *root, *nodes = make_tree(n, &root);
    int64_t t0 = bench_now_ns();
    uint64_t want = sum_seq(root);
    double seq = (double)(bench_now_ns() - t0);
    struct sum s = {root, 0};
    bench_measure_begin(r);
    run_root(rt, sum_par, &s, "treesum");
    bench_measure_end(r);
    free(nodes);
    if (s.r != want) bench_die("treesum: %llu, want %llu", (unsigned long long)s.r,
                               (unsigned long long)want);
    r->n = n;
    r->checksum = s.r;
    snprintf(r->extra, sizeof r->extra, ",\"seq_ns_per_op\":%.2f,\"vs_seq\":%.2f", seq / (double)n,
             r->seconds * 1e9 / seq);
}

struct repeat {
    const struct node *root;
    uint64_t times, total;
};

void bench_treesum_small(ax_runtime *rt, const bench_params *p, bench_result *r) {
    size_t n = 1023;
    uint64_t times = bench_scaled(100000, p->scale);
    struct node *root, *nodes = make_tree(n, &root);
    int64_t t0 = bench_now_ns();
    uint64_t want = 0;
    for (uint64_t i = 0; i < times; i++) want += sum_seq(root);
    double seq = (double)(bench_now_ns() - t0);
    uint64_t got = 0;
    bench_measure_begin(r);
    for (uint64_t i = 0; i < times; i++) { /* each sum its own root */
        struct sum s = {root, 0};
        run_root(rt, sum_par, &s, "treesum_small");
        got += s.r;
    }
    bench_measure_end(r);
    free(nodes);
    if (got != want) bench_die("treesum_small: %llu, want %llu", (unsigned long long)got,
                               (unsigned long long)want);
    r->n = n * times;
    r->checksum = got;
    snprintf(r->extra, sizeof r->extra, ",\"seq_ns_per_op\":%.2f,\"vs_seq\":%.2f",
             seq / (double)r->n, r->seconds * 1e9 / seq);
}

/* ---- sum: parallel_reduce ---------------------------------------------------------------- */

static const uint64_t *values;

static void add_init(void *acc, void *arg) {
    (void)arg;
    *(uint64_t *)acc = 0;
}
static int add_body(int64_t lo, int64_t hi, void *acc, void *arg) {
    (void)arg;
    uint64_t s = 0;
    for (int64_t i = lo; i < hi; i++) s += values[i];
    *(uint64_t *)acc += s;
    return 0;
}
static void add_combine(void *acc, const void *other, void *arg) {
    (void)arg;
    *(uint64_t *)acc += *(const uint64_t *)other;
}

struct reduce_root {
    int64_t n;
    uint64_t r;
};

static int reduce_root(void *p) {
    struct reduce_root *rr = p;
    ax_reduce ops = {sizeof(uint64_t), add_init, add_body, add_combine, NULL};
    return ax_parallel_reduce(0, rr->n, &ops, &rr->r);
}

void bench_sum(ax_runtime *rt, const bench_params *p, bench_result *r) {
    int64_t n = (int64_t)bench_scaled(100000000, p->scale);
    uint64_t *v = malloc((size_t)n * sizeof *v);
    if (!v) bench_die("sum: out of memory");
    uint64_t rng = 88172645463325252ull;
    for (int64_t i = 0; i < n; i++) v[i] = xorshift64(&rng) >> 20;
    values = v;
    int64_t t0 = bench_now_ns();
    uint64_t want = 0;
    for (int64_t i = 0; i < n; i++) want += v[i];
    double seq = (double)(bench_now_ns() - t0);
    struct reduce_root rr = {n, 0};
    bench_measure_begin(r);
    run_root(rt, reduce_root, &rr, "sum");
    bench_measure_end(r);
    free(v);
    if (rr.r != want) bench_die("sum: %llu, want %llu", (unsigned long long)rr.r,
                                (unsigned long long)want);
    r->n = (uint64_t)n;
    r->checksum = rr.r;
    snprintf(r->extra, sizeof r->extra, ",\"seq_ns_per_op\":%.3f,\"vs_seq\":%.2f", seq / (double)n,
             r->seconds * 1e9 / seq);
}
