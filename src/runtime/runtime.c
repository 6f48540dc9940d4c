/* SPDX-License-Identifier: MIT */
/* runtime.c: a runtime's life, the top of the layers: create (every layer set up and its hooks
 * installed, workers started), shutdown in three phases (refuse outside work, drain until idle,
 * stop every actor), destroy, and the statistics API. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "actor/ask.h"
#include "actor/deliver.h"
#include "actor/registry.h"
#include "core/duration.h"
#include "core/zero.h"
#include "io/blocking.h"
#include "io/file.h"
#include "io/io.h"
#include "io/socket.h"
#include "mem/fault.h"
#include "par/par.h"
#include "runtime/metrics.h"
#include "runtime/trace_dump.h"
#include "supervise/supervisor.h"
#include "time/timer.h"

enum {
    DEFAULT_BATCH = 64,
    DEFAULT_LIFO_CAP = 32,
    DEFAULT_SPIN_US = 50,
    MAX_SPIN_US = 1000000, /* searching longer than a second before parking only burns CPU */
    MAX_WORKERS = 256,
    DEFAULT_STACK_KB = 64 << 10, /* 100,000 nested parallel loops fit (test_par) */
    MIN_STACK_KB = 1024,
    MAX_STACK_KB = 4 << 20
};
static const int64_t DEFAULT_SHUTDOWN_MS = 10000;

/* Refs of a node in a cluster start at a random generation: a node restarted under its number
 * then rarely reissues a ref its previous incarnation gave out (about one chance in 500,000 per
 * ref still held elsewhere). Deterministic mode draws it from the seed; node 0 starts at 1. */
static uint32_t first_generation(const ax_config *c) {
    if (c->node == 0) return 1;
    uint64_t r = c->seed * 0x9E3779B97F4A7C15ull + (uint64_t)c->node;
    if (!c->deterministic && getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r ^= (uint64_t)core_now_ns();
    return 1 + (uint32_t)(r % (REF_GEN_MAX / 2));
}

int ax_runtime_create(const ax_config *cfg, ax_runtime **out) {
    if (!out) return AX_EINVAL;
    ax_config c = cfg ? *cfg : (ax_config){0};
    if (c.workers < 0 || c.workers > MAX_WORKERS || c.batch < 0 || c.lifo_cap < 0 ||
        c.blocking_threads < 0 || c.blocking_queue < 0 || c.stack_kb < 0 || c.trace_events < 0 ||
        (c.deterministic && c.workers > 1) || c.node < 0 || (unsigned)c.node > AX_NODE_MAX ||
        !core_all_zero(c.reserved, sizeof c.reserved))
        return AX_EINVAL;
    /* AX_SEED: every runtime of the process deterministic, with one worker (a replay). */
    const char *seed_env = getenv("AX_SEED");
    if (seed_env && *seed_env) {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(seed_env, &end, 0);
        if (*end != '\0' || errno != 0 || seed_env[0] == '-') return AX_EINVAL;
        c.deterministic = 1;
        c.seed = seed;
        c.workers = 1;
    }
    if (c.deterministic) {
        c.workers = 1;
        c.spin_us = -1; /* searching in vain only burns real time: virtual time moves instead */
    }
    int spin_us = c.spin_us == 0 ? DEFAULT_SPIN_US : c.spin_us < 0 ? 0 : c.spin_us;
    struct sched_config sc = {
        .workers = c.workers ? c.workers : core_cpu_count(),
        .pin = c.pin,
        .batch = c.batch ? c.batch : DEFAULT_BATCH,
        .lifo_cap = c.lifo_cap ? c.lifo_cap : DEFAULT_LIFO_CAP,
        .spin_ns = (spin_us > MAX_SPIN_US ? MAX_SPIN_US : spin_us) * 1000ll,
        .trace_events = (uint64_t)c.trace_events,
        .deterministic = c.deterministic != 0,
        .seed = c.seed,
        .stack_bytes = (size_t)(c.stack_kb == 0             ? DEFAULT_STACK_KB
                                : c.stack_kb < MIN_STACK_KB ? MIN_STACK_KB
                                : c.stack_kb > MAX_STACK_KB ? MAX_STACK_KB
                                                            : c.stack_kb)
                       << 10,
    };
    if (sc.workers > MAX_WORKERS) sc.workers = MAX_WORKERS;
    ax_runtime *rt = mem_aligned_alloc(AX_CACHE_LINE, sizeof *rt);
    if (!rt) return AX_ENOMEM;
    memset(rt, 0, sizeof *rt);
    rt->batch = sc.batch;
    rt->meter_all = c.metrics != 0;
    int rc = AX_ENOMEM;
    if (registry_create(&rt->registry) != 0) goto fail_registry;
    if (reftable_init(&rt->refs, (uint32_t)c.node, first_generation(&c)) != 0) goto fail_refs;
    rt->node = (uint32_t)c.node;
    if (sched_init(&rt->sched, &sc) != 0) goto fail_sched;
    rt->sched.reclaim = actor_reclaim;
    supervisor_install(rt);
    rt->release_io = io_release_owner;
    trace_dump_install(rt);
    if (timer_init(rt) != 0) goto fail_timers;
    if ((rc = io_create(rt, c.io)) != 0) goto fail_io;
    if (blocking_create(rt, c.blocking_threads, c.blocking_queue) != 0 || par_create(rt) != 0) {
        rc = AX_ENOMEM;
        goto fail_io;
    }
    sched_outside_publish(&rt->sched);
    if (sched_start(&rt->sched) != 0) {
        rc = AX_ENOMEM;
        goto fail_io;
    }
    if (ask_waiters_create(rt) != 0) {
        ax_runtime_destroy(rt);
        return AX_ENOMEM;
    }
    *out = rt;
    return 0;
fail_io: /* the scheduler first: it releases leftover timers into the timer table */
    par_destroy(rt);
    sched_destroy(&rt->sched);
    blocking_destroy(rt);
    io_destroy(rt);
    timer_destroy(rt);
    goto fail_sched;
fail_timers:
    sched_destroy(&rt->sched);
fail_sched:
    reftable_destroy(&rt->refs);
fail_refs:
    registry_destroy(rt->registry);
fail_registry:
    free(rt);
    return rc;
}

int ax_runtime_workers(const ax_runtime *rt) { return rt ? rt->sched.nworkers : 0; }

static void nap_us(long us) {
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* Waits until no outside thread is inside a call that began before the phase changed; false if
 * one still was at the deadline. */
static bool wait_outside_quiet(ax_runtime *rt, int64_t deadline) {
    struct sched *s = &rt->sched;
    int n = atomic_load_explicit(&s->nthreads, memory_order_acquire);
    bool quiet = true;
    for (int i = s->nworkers; i < n; i++) {
        struct sched_thread *t = atomic_load_explicit(&s->threads[i], memory_order_acquire);
        while (atomic_load_explicit(&t->epoch.local, memory_order_seq_cst) != 0 &&
               core_now_ns() < deadline)
            nap_us(50);
        quiet &= atomic_load_explicit(&t->epoch.local, memory_order_seq_cst) == 0;
    }
    return quiet;
}

/* Asks every live actor to stop (reason shutdown). Actors already stopping are skipped, and
 * so are supervised children unless `all`: their supervisors stop them in reverse start order
 * (top-down through the tree). */
static void stop_all_pass(ax_runtime *rt, bool all) {
    struct sched_thread *thr = sched_outside_enter(&rt->sched);
    if (!thr) return;
    uint32_t hwm = atomic_load_explicit(&rt->refs.slots.hwm, memory_order_acquire);
    for (uint32_t i = 1; i < hwm; i++) {
        struct actor *a = reftable_get(&rt->refs, ref_make(0, 0, i));
        if (a && (all || !atomic_load_explicit(&a->supervised, memory_order_relaxed)))
            actor_request_stop(rt, thr, a->ref, AX_REASON_SHUTDOWN);
    }
    sched_outside_leave(thr);
}

/* Phase 3 and the end: stop everything, join the workers, dead-letter what late senders left. */
static int finish_shutdown(ax_runtime *rt, int64_t deadline) {
    /* Supervision trees get the first half of the time to stop themselves top-down. */
    int64_t all_after = core_now_ns() + (deadline - core_now_ns()) / 2;
    while (atomic_load_explicit(&rt->live_actors, memory_order_seq_cst) > 0) {
        if (core_now_ns() >= deadline) return AX_ETIMEDOUT;
        stop_all_pass(rt, core_now_ns() >= all_after);
        for (int i = 0; i < 20 && atomic_load(&rt->live_actors) > 0; i++) nap_us(100);
    }
    /* The files of stopped actors close once their operations complete: wait for those (on
     * the rings, which need their workers, and on the pool, whose jobs must not be dropped). */
    if (io_files_quiesce(rt, deadline) != 0) return AX_ETIMEDOUT;
    /* Running jobs finish (their results are dead letters now); one that does not return in
     * time fails the shutdown as an actor that does not stop would. */
    if (blocking_stop(rt, deadline) != 0) return AX_ETIMEDOUT;
    sched_stop(&rt->sched);
    /* The workers are offline now; outside threads may still be in calls that read actors
     * (a metrics snapshot, ax_supervisor_child: allowed after shutdown), found before every
     * actor stopped. Once each has left its call, no call can find a stopped actor, and the
     * workers' limbo lists can be reclaimed whole; one still inside at the deadline leaves
     * them to ax_runtime_destroy. */
    int64_t grace = core_now_ns() + 100000000; /* a call in progress is short: 100 ms at least */
    if (!wait_outside_quiet(rt, deadline > grace ? deadline : grace)) {
        atomic_store_explicit(&rt->phase, RT_DOWN, memory_order_release);
        return 0;
    }
    for (int i = 0; i < rt->sched.nworkers; i++) {
        struct sched_thread *t = &rt->sched.workers[i].thr;
        struct epoch_node *e = epoch_take_all(&t->limbo);
        while (e) {
            struct epoch_node *next = e->next;
            actor_reclaim(&rt->sched, e, t);
            e = next;
        }
    }
    atomic_store_explicit(&rt->phase, RT_DOWN, memory_order_release);
    return 0;
}

int ax_runtime_shutdown(ax_runtime *rt, int64_t timeout_ms) {
    if (!rt) return AX_EINVAL;
    if (sched_worker_self(&rt->sched) || blocking_on_pool_thread(rt)) return AX_ECONTEXT;
    int running = RT_RUNNING;
    if (!atomic_compare_exchange_strong(&rt->phase, &running, RT_DRAINING)) return AX_ESHUTDOWN;
    if (timeout_ms <= 0) timeout_ms = DEFAULT_SHUTDOWN_MS;
    /* Saturating: INT64_MAX ms is a deadline that never comes, not one that already passed. */
    int64_t start = core_now_ns(), deadline = core_deadline_ms(start, timeout_ms);
    int64_t drain_until = start + (deadline - start) / 2;
    wait_outside_quiet(rt, deadline);
    /* Drain: idle twice in a row, a little apart, means no task is runnable anywhere. */
    for (int quiet = 0; quiet < 2 && core_now_ns() < drain_until;) {
        quiet = sched_idle(&rt->sched) ? quiet + 1 : 0;
        nap_us(200);
    }
    atomic_store_explicit(&rt->phase, RT_STOPPING, memory_order_seq_cst);
    ask_waiters_cancel_all(rt); /* their replies could only come from actors now stopping */
    return finish_shutdown(rt, deadline);
}

int ax_runtime_destroy(ax_runtime *rt) {
    if (!rt) return AX_EINVAL;
    if (sched_worker_self(&rt->sched) || blocking_on_pool_thread(rt)) return AX_ECONTEXT;
    int phase = atomic_load(&rt->phase);
    if (phase == RT_RUNNING && ax_runtime_shutdown(rt, DEFAULT_SHUTDOWN_MS) != 0) return AX_EBUSY;
    if (phase != RT_RUNNING && phase != RT_DOWN &&
        finish_shutdown(rt, core_deadline_ms(core_now_ns(), DEFAULT_SHUTDOWN_MS)) != 0)
        return AX_EBUSY;
    transport_release(rt); /* its threads deliver here no more */
    io_sockets_destroy(rt); /* sockets left open: their queued writes go back to the pools */
    io_files_destroy(rt);
    par_destroy(rt); /* the workers stopped: no root runs; its thread reads their flags */
    sched_destroy(&rt->sched);
    blocking_destroy(rt);
    io_destroy(rt);
    timer_destroy(rt);
    ask_waiters_destroy(rt);
    reftable_destroy(&rt->refs);
    registry_destroy(rt->registry);
    trace_dump_destroy(rt);
    free(rt);
    return 0;
}

/* ---- statistics -------------------------------------------------------------------------- */

static void fill_stats(const uint64_t *v, ax_stats *out) {
    memset(out, 0, sizeof *out);
    out->sent = v[STAT_SENT];
    out->processed = v[STAT_PROCESSED];
    out->failed = v[STAT_FAILED];
    out->dead_letters = v[STAT_DEAD_LETTERS];
    out->spawned = v[STAT_SPAWNED];
    out->stopped = v[STAT_STOPPED];
    out->restarts = v[STAT_RESTARTS];
    out->escalations = v[STAT_ESCALATIONS];
    out->steals = v[STAT_STEALS];
    out->parks = v[STAT_PARKS];
    out->sockets = v[STAT_IO_OPENED] - v[STAT_IO_CLOSED];
    out->accepts = v[STAT_IO_ACCEPTS];
    out->refused = v[STAT_IO_REFUSED];
    out->accept_pauses = v[STAT_IO_ACCEPT_PAUSES];
    out->bytes_in = v[STAT_IO_BYTES_IN];
    out->bytes_out = v[STAT_IO_BYTES_OUT];
    out->io_enters = v[STAT_IO_ENTERS];
    out->io_submitted = v[STAT_IO_SUBMITTED];
    out->io_completions = v[STAT_IO_COMPLETIONS];
}

void runtime_stats_total(ax_runtime *rt, uint64_t *v, ax_stats *out) {
    memset(v, 0, STAT_COUNT * sizeof *v);
    sched_stats_total(&rt->sched, v);
    v[STAT_DEAD_LETTERS] += atomic_load_explicit(&rt->dead_letters, memory_order_relaxed);
    fill_stats(v, out);
    out->blocking_queued = blocking_queued(rt);
}

int ax_stats_get(ax_runtime *rt, ax_stats *out) {
    if (!rt || !out) return AX_EINVAL;
    uint64_t v[STAT_COUNT];
    runtime_stats_total(rt, v, out);
    return 0;
}

int ax_stats_worker(ax_runtime *rt, int worker, ax_stats *out) {
    if (!rt || !out || worker < 0 || worker >= rt->sched.nworkers) return AX_EINVAL;
    uint64_t v[STAT_COUNT] = {0};
    stats_accumulate(&rt->sched.workers[worker].thr.stats, v);
    fill_stats(v, out);
    return 0;
}
