/* SPDX-License-Identifier: MIT */
/* sched.c: creating and destroying a scheduler: worker records, run queues, join deques, steal
 * orders, the inject queue, the epoch domain, and the table of thread records through which
 * message pools are found. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem/fault.h"
#include "sched/sched.h"

static _Atomic uint64_t next_uid = 1;

static void thread_record_init(struct sched *s, struct sched_thread *t) {
    memset(t, 0, sizeof *t);
    pool_init(&t->pool);
    t->s = s;
}

int sched_register_thread(struct sched *s, struct sched_thread *t) {
    int n = atomic_load_explicit(&s->nthreads, memory_order_relaxed);
    if (n >= SCHED_MAX_THREADS || !epoch_register(&s->epoch, &t->epoch)) return -ENOMEM;
    t->id = (uint16_t)n;
    atomic_store_explicit(&s->threads[n], t, memory_order_release);
    /* release: pairs with acquire loads of nthreads (stats) and of threads[id] (remote free). */
    atomic_store_explicit(&s->nthreads, n + 1, memory_order_release);
    return 0;
}

/* Every worker's steal order. Pinned, worker i runs on CPU i mod ncpu, so the machine's
 * topology says which victims are near; unpinned, the OS moves threads, so all are alike. */
static int steal_orders_init(struct sched *s) {
    int n = s->nworkers;
    s->victims = mem_malloc(sizeof(uint16_t) * (size_t)(n > 1 ? n * (n - 1) : 1));
    if (!s->victims) return -ENOMEM;
    struct topology *t = NULL;
    if (s->cfg.pin && n > 1) {
        t = mem_malloc(sizeof *t);
        if (!t) return -ENOMEM;
        topology_load(t);
    }
    for (int i = 0; i < n; i++) {
        struct sched_worker *w = &s->workers[i];
        uint16_t *v = s->victims + (size_t)i * (size_t)(n - 1);
        topology_steal_order(t, n, i, v, w->victim_end);
        w->victims = v;
    }
    free(t);
    return 0;
}

/* The worker records, their deques and steal orders (a deque never initialized is zeroed, and
 * destroying it frees nothing). */
static void free_workers(struct sched *s) {
    for (int i = 0; i < s->nworkers; i++) {
        deque_destroy(&s->workers[i].jq);
        trace_ring_destroy(&s->workers[i].trace);
    }
    free(s->victims);
    s->victims = NULL;
    free(s->workers);
    s->workers = NULL;
}

int sched_init(struct sched *s, const struct sched_config *cfg) {
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->nworkers = cfg->workers;
    s->uid = atomic_fetch_add(&next_uid, 1);
    s->det = cfg->deterministic;
    s->det_rng = cfg->seed;
    epoch_domain_init(&s->epoch);
    mpsc_init(&s->inject);
    pthread_mutex_init(&s->register_lock, NULL);
    s->workers =
        mem_aligned_alloc(AX_CACHE_LINE, sizeof(struct sched_worker) * (size_t)s->nworkers);
    if (!s->workers) return -ENOMEM;
    memset(s->workers, 0, sizeof(struct sched_worker) * (size_t)s->nworkers);
    s->t0_ns = core_now_ns();
    for (int i = 0; i < s->nworkers; i++) {
        struct sched_worker *w = &s->workers[i];
        thread_record_init(s, &w->thr);
        w->thr.worker = w;
        sched_park_driver_init(&w->park, &w->sleep);
        sched_timer_driver_init(&w->timers, s, &w->park.base);
        w->driver = &w->timers.base;
        w->index = (unsigned)i;
        w->spin_ns = s->cfg.spin_ns;
        w->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        runq_init(&w->rq);
        w->started_ns = s->t0_ns;
        hist_init(&w->handler_ns);
        if (s->cfg.trace_events) {
            if (trace_ring_init(&w->trace, s->cfg.trace_events) != 0) {
                free_workers(s);
                return -ENOMEM;
            }
            w->thr.trace = &w->trace;
        }
        w->thr.observed_runs = w->thr.trace != NULL || s->det;
        if (deque_init(&w->jq, 6) != 0 ||
            sched_register_thread(s, &w->thr) != 0) {
            free_workers(s);
            return -ENOMEM;
        }
    }
    if (steal_orders_init(s) != 0) {
        free_workers(s);
        return -ENOMEM;
    }
    return 0;
}

void sched_set_driver(struct sched *s, int i, struct sched_driver *inner) {
    s->workers[i].timers.inner = inner;
}

void sched_destroy(struct sched *s) {
    if (!s->workers) return;
    for (int i = 0; i < s->nworkers; i++) sched_worker_discard(&s->workers[i]);
    struct mpsc_node *n;
    while ((n = mpsc_pop(&s->inject)) != NULL) {
        struct sched_task *t = sched_task_of_link(n);
        t->run(t, NULL);
    }
    sched_timers_destroy(s);
    sched_outside_forget(s);
    int nt = atomic_load(&s->nthreads);
    /* Limbo lists first (reclaiming may free blocks into any pool), then the pools. */
    for (int i = 0; i < nt; i++) {
        struct sched_thread *t = atomic_load(&s->threads[i]);
        struct epoch_node *e = epoch_take_all(&t->limbo);
        while (e) {
            struct epoch_node *next = e->next;
            s->reclaim(s, e, NULL);
            e = next;
        }
    }
    for (int i = 0; i < nt; i++) pool_destroy(&atomic_load(&s->threads[i])->pool);
    for (int i = 0; i < nt; i++) {
        struct sched_thread *t = atomic_load(&s->threads[i]);
        if (!t->worker) free(t);
    }
    free_workers(s);
    pthread_mutex_destroy(&s->register_lock);
}

void sched_stats_total(struct sched *s, uint64_t *sum) {
    int n = atomic_load_explicit(&s->nthreads, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        struct sched_thread *t = atomic_load_explicit(&s->threads[i], memory_order_acquire);
        stats_accumulate(&t->stats, sum);
    }
}
