/* SPDX-License-Identifier: MIT */
/* workloads_supervise.c: the `supervise` workload of shared/bench/WORKLOADS.md: a one_for_one
 * supervisor with 1,000 permanent children; main crashes a pseudo-random child and waits until
 * its replacement's init has acknowledged, n times, timing the first and last 1,000 cycles too. */
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define SV_CHILDREN 1000u
#define SV_WINDOW 1000u       /* cycles in the first/last timing windows */
#define SV_SPIN_NS 20000      /* main spins this long for an ack before parking on the futex */
#define SV_WAIT_NS 10000000000LL /* no ack within 10 s: the restart was lost */

enum { SV_CRASH = 1 }; /* main -> child: the handler fails, the child stops with FAILED */

/* What replacements report to main. acks is the futex word: one increment per replacement. */
typedef struct sv_shared {
    _Atomic uint32_t acks;
    _Atomic uint32_t parked;  /* main is (about to be) asleep on acks */
    _Atomic uint64_t last;    /* the latest replacement: index << 40 | its restart count */
    _Atomic uint32_t unexpected; /* messages the children did not expect */
} sv_shared;

typedef struct sv_arg { /* copied by the supervisor (arg_size > 0), passed to every start */
    sv_shared *sh;
    uint32_t index;
} sv_arg;

typedef struct sv_state {
    sv_shared *sh;
} sv_state;

static sv_shared sv;

static int sv_child_init(ax_ctx *ctx, void *state, const void *arg) {
    const sv_arg *in = arg;
    ((sv_state *)state)->sh = in->sh;
    uint64_t restarts = ax_restarts(ctx, NULL);
    if (restarts == 0) return 0; /* first start: nobody waits for it */
    sv_shared *sh = in->sh;
    atomic_store_explicit(&sh->last, (uint64_t)in->index << 40 | restarts, memory_order_relaxed);
    atomic_fetch_add(&sh->acks, 1); /* seq_cst, paired with main's store to parked */
    if (atomic_load(&sh->parked))
        syscall(SYS_futex, &sh->acks, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    return 0;
}

static int sv_child_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)ctx;
    if (m->type == SV_CRASH) return 1; /* the crash: the supervisor gets an exit (FAILED) */
    atomic_fetch_add(&((sv_state *)state)->sh->unexpected, 1);
    return 0;
}

static const ax_behavior sv_child_behavior = {"sv_child", sizeof(sv_state), sv_child_init,
                                              sv_child_receive, NULL};

/* Waits until acks != seen; returns 0, or -1 after SV_WAIT_NS. Counts parks. */
static int sv_wait_ack(uint32_t seen, uint64_t *parks) {
    int64_t start = bench_now_ns();
    for (unsigned spins = 0;; spins++) {
        if (atomic_load_explicit(&sv.acks, memory_order_acquire) != seen) return 0;
        if ((spins & 63) == 63 && bench_now_ns() - start > SV_SPIN_NS) break;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    (*parks)++;
    atomic_store(&sv.parked, 1);
    for (;;) {
        if (atomic_load(&sv.acks) != seen) break;
        int64_t left = start + SV_WAIT_NS - bench_now_ns();
        if (left <= 0) {
            atomic_store(&sv.parked, 0);
            return -1;
        }
        struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
        syscall(SYS_futex, &sv.acks, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
    }
    atomic_store(&sv.parked, 0);
    return 0;
}

void bench_supervise(ax_runtime *rt, const bench_params *p, bench_result *r) {
    uint64_t n = bench_scaled(100000, p->scale);
    if (n > UINT32_MAX) bench_die("supervise: n %llu too large", (unsigned long long)n);
    memset(&sv, 0, sizeof sv);

    static char ids[SV_CHILDREN][8];
    ax_child_spec *specs = calloc(SV_CHILDREN, sizeof *specs);
    sv_arg *args = calloc(SV_CHILDREN, sizeof *args);
    uint64_t *expect = calloc(SV_CHILDREN, sizeof *expect); /* restarts main caused, per child */
    if (!specs || !args || !expect) bench_die("supervise: out of memory");
    for (uint32_t i = 0; i < SV_CHILDREN; i++) {
        snprintf(ids[i], sizeof ids[i], "c%u", (unsigned)i);
        args[i] = (sv_arg){&sv, i};
        specs[i] = (ax_child_spec){.id = ids[i], .behavior = &sv_child_behavior,
                                   .arg = &args[i], .arg_size = sizeof args[i],
                                   .restart = AX_PERMANENT, .shutdown_ms = 5000,
                                   .kind = AX_CHILD_WORKER};
    }
    ax_sup_spec spec = {.strategy = AX_ONE_FOR_ONE, .intensity = 1000000, .period_ms = 1000,
                        .children = specs, .nchildren = SV_CHILDREN};
    ax_ref sup = AX_REF_NONE;
    int rc = ax_supervisor_start(rt, &spec, &sup);
    if (rc != 0) bench_die("supervise: ax_supervisor_start: %s", ax_strerror(rc));

    uint32_t x = 2463534242u; /* xorshift32 (13, 17, 5), as the timers workload */
    uint64_t victims = 0, parks = 0, retries = 0, wrong = 0;
    uint64_t window = n < SV_WINDOW ? n : SV_WINDOW;
    int64_t first_end = 0, last_begin = 0, lookup_ns = 0;

    bench_measure_begin(r);
    int64_t t0 = r->t0_ns;
    for (uint64_t c = 0; c < n; c++) {
        if (c == n - window) last_begin = bench_now_ns();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t v = x % SV_CHILDREN;
        victims += v;
        ax_ref child = AX_REF_NONE;
        /* The previous victim's replacement acks from its init, before the supervisor publishes
         * its ref: if it is drawn again at once, its ref may not be visible yet. */
        if ((rc = ax_supervisor_child(rt, sup, ids[v], &child)) == AX_ENOACTOR) {
            retries++;
            int64_t give_up = bench_now_ns() + SV_WAIT_NS;
            while ((rc = ax_supervisor_child(rt, sup, ids[v], &child)) == AX_ENOACTOR &&
                   bench_now_ns() < give_up) {}
        }
        if (rc != 0) bench_die("supervise: ax_supervisor_child(%s): %s", ids[v], ax_strerror(rc));
        uint32_t seen = atomic_load_explicit(&sv.acks, memory_order_relaxed);
        rc = ax_send(rt, child, SV_CRASH, NULL, 0);
        if (rc != 0) bench_die("supervise: crash send to %s: %s", ids[v], ax_strerror(rc));
        if (sv_wait_ack(seen, &parks) != 0)
            bench_die("supervise: cycle %llu: no replacement of %s acked within 10 s",
                      (unsigned long long)c, ids[v]);
        uint64_t last = atomic_load_explicit(&sv.last, memory_order_relaxed);
        if ((uint32_t)(last >> 40) != v || (last & ((1ull << 40) - 1)) != ++expect[v]) wrong++;
        if (c + 1 == window) first_end = bench_now_ns();
    }
    int64_t t_end = bench_now_ns();
    bench_measure_end(r);

    /* Verification: one ack per cycle, from the right child with the right restart count. */
    uint32_t acks = atomic_load(&sv.acks);
    if (acks != n || wrong != 0)
        bench_die("supervise: %u acks for %llu cycles, %llu from the wrong child or count", acks,
                  (unsigned long long)n, (unsigned long long)wrong);
    if (atomic_load(&sv.unexpected) != 0)
        bench_die("supervise: children got %u unexpected messages", atomic_load(&sv.unexpected));
    ax_stats st;
    if ((rc = ax_stats_get(rt, &st)) != 0)
        bench_die("supervise: ax_stats_get: %s", ax_strerror(rc));
    if (st.restarts != n || st.escalations != 0)
        bench_die("supervise: ax_stats restarts %llu (escalations %llu), expected %llu",
                  (unsigned long long)st.restarts, (unsigned long long)st.escalations,
                  (unsigned long long)n);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < SV_CHILDREN; i++) {
        uint64_t k = 0;
        if ((rc = ax_supervisor_child_restarts(rt, sup, ids[i], &k)) != 0 || k != expect[i])
            bench_die("supervise: child %s: %llu restarts (%s), expected %llu", ids[i],
                      (unsigned long long)k, ax_strerror(rc), (unsigned long long)expect[i]);
        sum += k;
    }
    if (sum != n)
        bench_die("supervise: children restarted %llu times in all", (unsigned long long)sum);

    /* A rough measure of ax_supervisor_child (a linear search by id): 1,000 lookups, after.
     * (The last replacement's ref may still be on its way, as in the loop.) */
    int64_t l0 = bench_now_ns(), give_up = l0 + SV_WAIT_NS;
    for (uint32_t i = 0; i < SV_CHILDREN; i++) {
        ax_ref child;
        while ((rc = ax_supervisor_child(rt, sup, ids[i], &child)) == AX_ENOACTOR &&
               bench_now_ns() < give_up) {}
        if (rc != 0)
            bench_die("supervise: ax_supervisor_child(%s) after the run: %s", ids[i],
                      ax_strerror(rc));
    }
    lookup_ns = bench_now_ns() - l0;

    r->n = n;
    r->checksum = victims;
    double first_ns = (double)(first_end - t0) / (double)window;
    double last_ns = (double)(t_end - last_begin) / (double)window;
    snprintf(r->extra, sizeof r->extra,
             ",\"first_cycles_ns_per_op\":%.1f,\"last_cycles_ns_per_op\":%.1f,"
             "\"children\":%u,\"driver_parks\":%llu,\"lookup_retry_cycles\":%llu,"
             "\"lookup_ns\":%.1f",
             first_ns, last_ns, SV_CHILDREN, (unsigned long long)parks,
             (unsigned long long)retries, (double)lookup_ns / SV_CHILDREN);
    free(specs);
    free(args);
    free(expect);
}
