/* SPDX-License-Identifier: MIT */
/* workloads_timers.c: the timers workload of shared/bench/WORKLOADS.md ("Timers and
 * supervision"). main creates n one-shot timers (1,000,000 at scale 1) from outside the
 * runtime, delay_i = 1 + (x_i mod 1000) ms from xorshift32 (13, 17, 5; seed 2463534242, the
 * generator stepped before each use), generated before timing; timer i carries i and goes to
 * receiver i mod 64. Right after creating all, main cancels every odd-numbered one, then waits
 * until every even-numbered one was handled. An odd timer whose cancel came too late (AX_ENOENT:
 * it had fired) counts as cancel_late; one that fired although its cancel returned 0 is a
 * failure, and so is a duplicate, a timer at the wrong receiver, or one handled early.
 *
 * Fields: seconds = creating all timers; cancel_seconds; lateness_p50/p99_us (deadline to
 * handling, CLOCK_MONOTONIC, even timers); lateness_after_setup_p50/p99_us (only even timers
 * due after creation and cancelling finished); early_count (must be 0); bytes_per_timer (RSS
 * growth over creating them); delay_checksum (sum of the delays in ms; 500,539,848 at full
 * size, checked); cancel_late.
 *
 * Deadlines: main reads the clock once per block of 1,000 timers, before the block's first
 * ax_send_after, and takes that reading as the arm time of the whole block. It is never later
 * than the runtime's own reading for any timer of the block, so a timer handled before
 * (reading + delay) was certainly early (early_count has no false positives), and the
 * lateness figures are upper bounds, by at most the time to arm one block (printed on
 * stderr, tens of microseconds). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define TM_RECEIVERS 64u
#define TM_BLOCK 1000u
#define TM_FULL_N 1000000u
#define TM_FULL_CHECKSUM 500539848ull
#define TM_SEED 2463534242u

enum { M_TIMER = 1 };

typedef struct tm_shared {
    bench_done done;
    _Atomic int64_t *handled_ns; /* per timer: when its receiver handled it; 0 = not yet */
    uint64_t n;
    uint64_t even_total;
    _Atomic uint64_t even_handled;
    _Atomic uint64_t odd_handled;
} tm_shared;

static tm_shared tm;

/* The arrays outlive the run: a runtime that (wrongly) fired a cancelled timer after the
 * workload returned would still write into valid memory. Freed at the next run's start, when
 * the previous runtime is gone. */
static uint16_t *tm_delay;
static ax_timer *tm_odd_handle;
static int64_t *tm_block_ns;
static int64_t *tm_lat, *tm_lat_after;

typedef struct tm_receiver_state {
    uint32_t index; /* receives the timers i with i mod 64 == index */
} tm_receiver_state;

static int tm_receiver_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    ((tm_receiver_state *)state)->index = *(const uint32_t *)arg;
    return 0;
}

static int tm_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)ctx;
    int64_t t = bench_now_ns();
    const tm_receiver_state *s = state;
    uint64_t i = 0;
    if (m->type != M_TIMER || m->size != sizeof i) {
        bench_done_fail(&tm.done, "timers: receiver %u: unexpected message type %u size %u",
                        (unsigned)s->index, (unsigned)m->type, (unsigned)m->size);
        return -1;
    }
    memcpy(&i, m->data, sizeof i);
    if (i >= tm.n || i % TM_RECEIVERS != s->index) {
        bench_done_fail(&tm.done, "timers: receiver %u got timer %llu", (unsigned)s->index,
                        (unsigned long long)i);
        return -1;
    }
    /* Only this actor handles timer i: a relaxed load and store suffice. */
    if (atomic_load_explicit(&tm.handled_ns[i], memory_order_relaxed) != 0) {
        bench_done_fail(&tm.done, "timers: timer %llu handled twice", (unsigned long long)i);
        return -1;
    }
    atomic_store_explicit(&tm.handled_ns[i], t, memory_order_relaxed);
    if (i & 1) {
        /* release: main reads handled_ns after seeing this count (acquire). */
        atomic_fetch_add_explicit(&tm.odd_handled, 1, memory_order_release);
    } else if (atomic_fetch_add_explicit(&tm.even_handled, 1, memory_order_acq_rel) + 1 ==
               tm.even_total) {
        bench_done_signal(&tm.done);
    }
    return 0;
}

static const ax_behavior tm_receiver_behavior = {"timer-receiver", sizeof(tm_receiver_state),
                                                 tm_receiver_init, tm_receive, NULL};

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, in microseconds; 0 if empty. */
static double pct_us(const int64_t *v, uint64_t len, double p) {
    if (len == 0) return 0.0;
    uint64_t rank = (uint64_t)(p * (double)len + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > len) rank = len;
    return (double)v[rank - 1] / 1e3;
}

static void *tm_alloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) bench_die("timers: out of memory (%zu bytes)", bytes);
    memset(p, 0, bytes); /* resident now, so that it is not counted as the timers' RSS */
    return p;
}

void bench_timers(ax_runtime *rt, const bench_params *p, bench_result *r) {
    uint64_t n = bench_scaled(TM_FULL_N, p->scale);
    if (n > UINT32_MAX) bench_die("timers: n = %llu is too large", (unsigned long long)n);
    uint64_t odd_total = n / 2, even_total = n - odd_total;
    uint64_t blocks = (n + TM_BLOCK - 1) / TM_BLOCK;

    free((void *)tm.handled_ns);
    free(tm_delay);
    free(tm_odd_handle);
    free(tm_block_ns);
    free(tm_lat);
    free(tm_lat_after);
    memset(&tm, 0, sizeof tm);
    bench_done_init(&tm.done);
    tm.n = n;
    tm.even_total = even_total;
    atomic_init(&tm.even_handled, 0);
    atomic_init(&tm.odd_handled, 0);
    tm.handled_ns = tm_alloc(n * sizeof *tm.handled_ns);
    tm_delay = tm_alloc(n * sizeof *tm_delay);
    tm_odd_handle = tm_alloc((odd_total ? odd_total : 1) * sizeof *tm_odd_handle);
    tm_block_ns = tm_alloc(blocks * sizeof *tm_block_ns);
    tm_lat = tm_alloc(even_total * sizeof *tm_lat);
    tm_lat_after = tm_alloc(even_total * sizeof *tm_lat_after);

    /* The delays, before timing. */
    uint32_t x = TM_SEED;
    uint64_t delay_checksum = 0;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        tm_delay[i] = (uint16_t)(1 + x % 1000);
        delay_checksum += tm_delay[i];
    }
    if (n == TM_FULL_N && delay_checksum != TM_FULL_CHECKSUM)
        bench_die("timers: delay checksum %llu, expected %llu", (unsigned long long)delay_checksum,
                  TM_FULL_CHECKSUM);

    ax_ref recv[TM_RECEIVERS];
    for (uint32_t k = 0; k < TM_RECEIVERS; k++) recv[k] = bench_spawn(rt, &tm_receiver_behavior, &k);

    malloc_trim(0); /* earlier runs' freed heap must not absorb this run's growth */
    uint64_t rss_before = bench_rss_bytes();

    /* Measured part: creating all timers, from main (outside the runtime). */
    bench_measure_begin(r);
    for (uint64_t i = 0; i < n; i++) {
        if (i % TM_BLOCK == 0) tm_block_ns[i / TM_BLOCK] = bench_now_ns();
        uint64_t v = i;
        int rc = ax_send_after(rt, recv[i % TM_RECEIVERS], M_TIMER, &v, sizeof v, tm_delay[i],
                               (i & 1) ? &tm_odd_handle[i / 2] : NULL);
        if (rc != 0)
            bench_die("timers: ax_send_after #%llu: %s", (unsigned long long)i, ax_strerror(rc));
    }
    bench_measure_end(r);
    int64_t created_ns = bench_now_ns();
    uint64_t rss_after = bench_rss_bytes();

    /* Cancel every odd-numbered timer, at once. */
    uint64_t cancel_late = 0;
    int64_t cancel0 = bench_now_ns();
    for (uint64_t j = 0; j < odd_total; j++) {
        int rc = ax_timer_cancel(rt, tm_odd_handle[j]);
        if (rc == AX_ENOENT) {
            cancel_late++;
            tm_odd_handle[j] = AX_TIMER_NONE; /* it fired: it may (must) be handled */
        } else if (rc != 0) {
            bench_die("timers: ax_timer_cancel of timer %llu: %s",
                      (unsigned long long)(2 * j + 1), ax_strerror(rc));
        }
    }
    int64_t setup_end = bench_now_ns();
    double cancel_seconds = (double)(setup_end - cancel0) / 1e9;

    bench_done_wait(&tm.done, "timers");
    /* The late-cancelled odd ones were delivered before their cancel returned; wait until they
     * are handled too (briefly: they are in mailboxes already). */
    int64_t odd_deadline = bench_now_ns() + 10 * (int64_t)1000000000;
    while (atomic_load_explicit(&tm.odd_handled, memory_order_acquire) < cancel_late) {
        if (bench_now_ns() > odd_deadline)
            bench_die("timers: only %llu of %llu late-cancelled timers were handled",
                      (unsigned long long)atomic_load(&tm.odd_handled),
                      (unsigned long long)cancel_late);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    /* acquire: every handled_ns write of the counted timers is visible. */
    uint64_t odd_handled = atomic_load_explicit(&tm.odd_handled, memory_order_acquire);
    (void)atomic_load_explicit(&tm.even_handled, memory_order_acquire);

    /* Check and measure. */
    uint64_t early = 0, nlat = 0, nafter = 0, odd_fired = 0;
    int64_t worst_early = 0;
    for (uint64_t i = 0; i < n; i++) {
        int64_t h = atomic_load_explicit(&tm.handled_ns[i], memory_order_relaxed);
        int64_t deadline = tm_block_ns[i / TM_BLOCK] + (int64_t)tm_delay[i] * 1000000;
        if (i & 1) {
            if (h == 0) continue;
            if (!ax_timer_is_none(tm_odd_handle[i / 2]))
                bench_die("timers: timer %llu fired although its cancel returned 0",
                          (unsigned long long)i);
            odd_fired++;
        } else if (h == 0) {
            bench_die("timers: even timer %llu was never handled", (unsigned long long)i);
        }
        int64_t late = h - deadline;
        if (late < 0) {
            early++;
            if (-late > worst_early) worst_early = -late;
        }
        if (i & 1) continue;
        tm_lat[nlat++] = late;
        if (deadline >= setup_end) tm_lat_after[nafter++] = late;
    }
    if (odd_fired != cancel_late || odd_handled != cancel_late)
        bench_die("timers: %llu odd timers handled, %llu cancels came late",
                  (unsigned long long)odd_fired, (unsigned long long)cancel_late);
    if (early != 0)
        bench_die("timers: %llu timers handled before their deadline (up to %.3f ms early)",
                  (unsigned long long)early, (double)worst_early / 1e6);
    qsort(tm_lat, nlat, sizeof *tm_lat, cmp_i64);
    qsort(tm_lat_after, nafter, sizeof *tm_lat_after, cmp_i64);

    int64_t worst_block = 0;
    for (uint64_t b = 0; b + 1 < blocks; b++)
        if (tm_block_ns[b + 1] - tm_block_ns[b] > worst_block)
            worst_block = tm_block_ns[b + 1] - tm_block_ns[b];
    fprintf(stderr,
            "axon-bench: timers workers=%d: %llu created in %.3f s, %llu odd cancelled in %.3f s "
            "(%llu late), lateness max %.1f us, %llu even timers due after setup; longest "
            "block of %u arms %.1f us; waited %.3f s after creation\n",
            p->workers, (unsigned long long)n, r->seconds, (unsigned long long)odd_total,
            cancel_seconds, (unsigned long long)cancel_late,
            nlat ? (double)tm_lat[nlat - 1] / 1e3 : 0.0, (unsigned long long)nafter, TM_BLOCK,
            (double)worst_block / 1e3, (double)(bench_now_ns() - created_ns) / 1e9);

    r->n = n;
    r->checksum = delay_checksum;
    snprintf(r->extra, sizeof r->extra,
             ",\"cancel_seconds\":%.6f,\"lateness_p50_us\":%.1f,\"lateness_p99_us\":%.1f,"
             "\"lateness_after_setup_p50_us\":%.1f,\"lateness_after_setup_p99_us\":%.1f,"
             "\"early_count\":%llu,\"bytes_per_timer\":%.1f,\"delay_checksum\":%llu,"
             "\"cancel_late\":%llu",
             cancel_seconds, pct_us(tm_lat, nlat, 0.50), pct_us(tm_lat, nlat, 0.99),
             pct_us(tm_lat_after, nafter, 0.50), pct_us(tm_lat_after, nafter, 0.99),
             (unsigned long long)early,
             ((double)rss_after - (double)rss_before) / (double)n,
             (unsigned long long)delay_checksum, (unsigned long long)cancel_late);
}
