/* SPDX-License-Identifier: MIT */
/* sched.h: the work-stealing scheduler: worker threads with Chase-Lev deques and a LIFO slot,
 * a global inject queue for outside threads, park/wake through drivers, per-thread records. */
#ifndef AX_SCHED_SCHED_H
#define AX_SCHED_SCHED_H

#include <pthread.h>
#include <stdbool.h>

#include "axon.h"

#include "core/mpsc.h"
#include "mem/epoch.h"
#include "mem/pool.h"
#include "mem/slots.h"
#include "sched/deque.h"
#include "sched/driver.h"
#include "sched/runq.h"
#include "sched/task.h"
#include "sched/timer_driver.h"
#include "sched/topology.h"
#include "stats/histogram.h"
#include "stats/stats.h"
#include "stats/trace.h"

#define SCHED_MAX_THREADS EPOCH_MAX_RECORDS

struct sched;
struct sched_worker;

/* What one thread owns inside one runtime: a worker, or an outside thread (main, a foreign
 * thread) that sends or spawns. Fields above the epoch record are written by the owner only. */
struct sched_thread {
    struct pool pool;             /* messages and actors this thread allocates */
    struct pool_remote_batch remote_frees; /* workers: frees into other threads' pools */
    struct stats_counters stats;
    struct sched *s;
    struct sched_worker *worker;  /* NULL for an outside thread */
    void *current;                /* the actor being run (or initialized) here, or NULL */
    struct slot_cache ref_slots;  /* free actor-ref slots (actor/reftable) */
    struct slot_cache timer_slots; /* free timer records (time/timer) */
    struct trace_ring *trace;     /* workers, when the flight recorder is on; else NULL */
    bool observed_runs;           /* workers: the recorder or deterministic mode is on, so every
                                     actor takes the observed run loop (actor.c) */
    bool transport_queued;        /* workers: the transport queued a send to flush at the turn's
                                     end (actor/transport.h) */
    uint16_t id;                  /* index in s->threads; message pools are found by it */
    int nest;                     /* outside threads: depth of sched_outside_enter */
    bool release_on_leave;        /* outside threads: not cached (every cache slot was inside
                                     a call), so given back when the outermost call leaves */
    struct epoch_limbo limbo;     /* retired objects waiting for a grace period */
    struct epoch_record epoch;
    AX_ALIGNED_LINE _Atomic int claimed; /* outside records: owned by a live thread */
};

struct sched_worker {
    struct sched_thread thr; /* first: a worker is a thread record */
    struct sched_task *lifo; /* the task this worker just woke: runs next */
    unsigned lifo_runs;      /* consecutive runs from the slot */
    unsigned index;
    uint64_t tick;
    uint64_t rng;
    /* The steal order, built at init (topology.c): the other workers, nearest first when
     * pinned; victim_end[c] ends class c in victims. Each class is tried from a random start. */
    const uint16_t *victims;
    uint16_t victim_end[TOPO_CLASSES];
    bool searching;
    int64_t spin_ns;   /* this worker's search budget before it parks (worker.c: adaptive) */
    int64_t parked_ns; /* how long its last park lasted, until it finds work (0: judged) */
    pthread_t tid;
    struct sched_driver *driver;       /* the top of its driver stack: the loop calls only it */
    /* Fork-join (src/par/join.c): the join frames this worker promoted, stolen before any other
     * work by idle workers and by workers waiting for a join; its frame stack and heartbeat flag
     * (axon.h: ax_join's inline fast path reads them through ax_join_state_tls_). */
    struct deque jq;
    AX_ALIGNED_LINE ax_join_state_ join;
    uintptr_t stack_low; /* the lowest address of its thread's stack (0: unknown) */
    struct sched_timer_driver timers;  /* the first driver: this worker's timing wheel */
    struct sched_park_driver park;     /* sleeps for the wheel unless an I/O driver does */
    AX_ALIGNED_LINE _Atomic uint32_t sleep; /* 1 parked, 0 awake (claimed by a notifier) */
    struct runq rq; /* its runnable tasks, FIFO; thieves take half at a time */
    /* Metrics (runtime/metrics.c reads them): when the worker started, when its current idle
     * spell (searching or parked) began (0: busy), and how long the handlers of metered actors
     * took on it. */
    int64_t started_ns;
    _Atomic int64_t idle_since;
    struct hist handler_ns;
    struct trace_ring trace; /* the flight recorder (thr.trace points here when it is on) */
    struct sched_task **det_ready; /* deterministic mode: every runnable task, in no order */
    size_t det_n, det_cap;
};

struct sched_config {
    int workers, pin, batch, lifo_cap;
    bool deterministic;    /* one worker, decisions from seed, virtual time (det.c) */
    uint64_t seed;
    uint64_t trace_events; /* flight recorder events per worker; 0: off */
    int64_t spin_ns;
    size_t stack_bytes; /* each worker's stack */
};

struct sched {
    struct sched_config cfg;
    struct sched_worker *workers;
    int nworkers;
    uint16_t *victims;  /* the workers' steal orders, nworkers - 1 entries each */
    uint64_t uid; /* unique per process: outside threads' caches key on it */
    /* Fires an expired timer entry (self NULL at destroy: release it without firing). */
    void (*timer_fire)(struct sched *s, struct wheel_entry *e, struct sched_thread *self);
    int64_t t0_ns;                 /* tick 0 of the timing wheels */
    /* Deterministic mode (det.c): the worker's random choices, and virtual time in ticks
     * (advanced by the worker when nothing is runnable; read by any thread). */
    bool det;
    uint64_t det_rng;
    _Atomic uint64_t det_tick;
    /* Reclaims a retired object after its grace period (self may be NULL at destroy). */
    void (*reclaim)(struct sched *s, struct epoch_node *n, struct sched_thread *self);

    AX_ALIGNED_LINE struct mpsc inject;    /* tasks from outside threads */
    AX_ALIGNED_LINE _Atomic int inject_busy; /* consumer side: one worker at a time */
    AX_ALIGNED_LINE _Atomic uint32_t searching;
    _Atomic uint32_t parked;
    AX_ALIGNED_LINE _Atomic int stop;        /* workers exit */
    _Atomic int tsan_fence;                  /* see dekker_fence in worker.c */

    struct epoch_domain epoch;
    _Atomic(struct sched_thread *) threads[SCHED_MAX_THREADS];
    _Atomic int nthreads;
    pthread_mutex_t register_lock; /* slow path: a new outside thread */
};

/* Creates the workers' structures (not the threads). Returns 0 or -ENOMEM. */
int sched_init(struct sched *s, const struct sched_config *cfg);
/* Before sched_start: worker i's wheel sleeps in `inner` (an I/O poller) instead of the futex
 * park. The driver must outlive the scheduler. */
void sched_set_driver(struct sched *s, int i, struct sched_driver *inner);
/* Starts the worker threads. */
int sched_start(struct sched *s);
/* Stops and joins the workers (their queues must be empty of work that matters). */
void sched_stop(struct sched *s);
/* Frees everything: pools, deques, outside records; runs leftover timers with self NULL. */
void sched_destroy(struct sched *s);

/* The calling thread's worker, if it is one (of any scheduler). */
extern _Thread_local struct sched_worker *sched_tls_worker;

/* Bytes of stack left below the caller's frame, on worker w (SIZE_MAX when unknown). */
static inline size_t sched_stack_left(const struct sched_worker *w) {
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (!w->stack_low) return SIZE_MAX;
    return here > w->stack_low ? here - w->stack_low : 0;
}

/* The calling thread's record if it is a worker of s, else NULL. The hot-path test. */
static inline struct sched_thread *sched_worker_self(const struct sched *s) {
    struct sched_worker *w = sched_tls_worker;
    return (w && w->thr.s == s) ? &w->thr : NULL;
}

/* Outside threads: enter before touching shared state, leave after; nestable. Returns the
 * caller's record (claimed on first use), or NULL if all records are taken. */
struct sched_thread *sched_outside_enter(struct sched *s);
void sched_outside_leave(struct sched_thread *t);

/* Makes t runnable. From a worker of s: into its LIFO slot (t runs next on this worker); a task
 * the slot held goes to the back of the run queue, where others may steal it. */
void sched_lifo_displace(struct sched_worker *w, struct sched_task *prev);
static inline void sched_wake_local(struct sched_thread *self, struct sched_task *t) {
    struct sched_worker *w = self->worker;
    struct sched_task *prev = w->lifo;
    w->lifo = t;
    if (prev) sched_lifo_displace(w, prev);
}
/* A task that used its turn goes behind every runnable task of the caller's worker (fairness);
 * from an outside thread, to the inject queue. */
void sched_yield_task(struct sched_thread *self, struct sched_task *t);
/* From any thread: through the inject queue. */
void sched_inject(struct sched *s, struct sched_task *t);
/* A worker: the oldest task of the inject queue, or NULL (empty, or another worker is taking
 * one: it never waits). */
struct sched_task *sched_inject_pop(struct sched *s);

/* From worker w: a promoted join frame's task, taken from another worker's join deque (the
 * oldest first; victims in w's steal order), or NULL. */
struct sched_task *sched_steal_join(struct sched_worker *w);

/* Any thread, after making work available: wakes one parked worker unless one is searching. */
void sched_notify(struct sched *s);
/* Any thread, after publishing an event for worker i's driver (one its pending() reports):
 * makes worker i look, unparking it if it sleeps. Costs a system call only then. */
void sched_kick(struct sched *s, int i);

/* True if every worker is parked and the inject queue is empty (a racy snapshot). */
bool sched_idle(struct sched *s);

/* Between the scheduler's own files: register a thread record (caller serializes), announce
 * or forget a live scheduler for outside threads' exit handling, discard a worker's leftovers. */
int sched_register_thread(struct sched *s, struct sched_thread *t);
void sched_outside_publish(struct sched *s);
void sched_outside_forget(struct sched *s);
void sched_worker_discard(struct sched_worker *w);

/* Deterministic mode (det.c). The worker's next task, chosen at random among all runnable
 * ones; NULL when none is. */
struct sched_task *sched_det_next(struct sched_worker *w);
/* Nothing is runnable: moves virtual time to the next timer deadline (firing what is due); false
 * if no timer is pending (then the worker parks until something arrives from outside). */
bool sched_det_advance(struct sched_worker *w);
/* The worker's draw in [0, n) (n > 0). */
uint64_t sched_det_below(struct sched *s, uint64_t n);
/* Now: the virtual clock in deterministic mode, else CLOCK_MONOTONIC (ns). */
int64_t sched_now_ns(const struct sched *s);

/* The flight recorder's clock: ns since the runtime started. */
static inline uint64_t sched_trace_now(const struct sched *s) {
    return (uint64_t)(core_now_ns() - s->t0_ns);
}

/* Sums the stats of every thread record into sum[STAT_COUNT]. */
void sched_stats_total(struct sched *s, uint64_t *sum);

#endif
