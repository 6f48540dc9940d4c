/* SPDX-License-Identifier: MIT */
/* worker.c: the worker threads: where a worker looks for work, how it searches, parks and is
 * woken, and how tasks are made runnable. One pool of workers runs every kind of task, and
 * each worker's events (timers, later I/O) come through its driver stack (driver.h).
 *
 * Look order: every 61st task the inject queue first (fairness); then the LIFO slot (at most
 * lifo_cap times in a row), the own run queue (FIFO, runq.h), the inject queue, and stealing:
 * join deques, then half of a run queue, each in the worker's steal order (nearest victims
 * first when pinned, see topology.h; each class from a random start), then the inject queue
 * again. Parking follows Tokio's protocol: an idle worker first searches (counted in
 * s->searching) for spin_ns, then parks in its driver.
 * Whoever makes work available wakes one parked worker only if nobody is searching; a
 * searcher that finds work and was the last searcher wakes another. Lost wakeups are excluded
 * by a Dekker pair of seq_cst fences: the waker publishes work then reads the counters, the
 * parker publishes its counters then re-reads every queue. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core/probes.h"
#include "sched/sched.h"

_Thread_local struct sched_worker *sched_tls_worker;
/* Off a worker, ax_join's fast path sees a raised heartbeat flag and goes out of line, which
 * refuses it: one test on the fast path covers "no root yet" and "not a worker" too. */
static ax_join_state_ no_worker_join = {
    .top = &no_worker_join.base, .beat = 1, .promoted = &no_worker_join.base};
__thread ax_join_state_ *ax_join_state_tls_ = &no_worker_join;

/* The driver and reclamation are looked at every MAINTAIN_INTERVAL tasks: often enough that a
 * busy worker's timers are late by at most a few batches, rarely enough to cost ~1 ns per task. */
enum { FAIRNESS_INTERVAL = 61, MAINTAIN_INTERVAL = 16 };

static uint64_t rng_next(uint64_t *x) { /* xorshift64 */
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* ---- waking ------------------------------------------------------------------------------ */

/* The Dekker fence between waker and parker. ThreadSanitizer does not model fences, so its
 * build uses a seq_cst read-modify-write of one shared word instead: equally correct (all
 * RMWs of a location are totally ordered), only slower, and visible to TSan. */
static inline void dekker_fence(struct sched *s) {
#ifdef AX_TSAN
    atomic_fetch_add_explicit(&s->tsan_fence, 0, memory_order_seq_cst);
#else
    (void)s;
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

void sched_notify(struct sched *s) {
    /* Orders our publication of work before the counter reads; pairs with the fence in park()
     * between raising its counters and re-checking the queues. */
    dekker_fence(s);
    if (atomic_load_explicit(&s->searching, memory_order_relaxed) != 0) return;
    if (atomic_load_explicit(&s->parked, memory_order_relaxed) == 0) return;
    for (int i = 0; i < s->nworkers; i++) {
        struct sched_worker *w = &s->workers[i];
        uint32_t one = 1;
        if (atomic_load_explicit(&w->sleep, memory_order_relaxed) == 1 &&
            /* acq_rel: claims the parked worker; pairs with the CAS in park() cancelling. */
            atomic_compare_exchange_strong_explicit(&w->sleep, &one, 0, memory_order_acq_rel,
                                                    memory_order_relaxed)) {
            /* The woken worker starts as a searcher: count it before it runs, so a second
             * notifier does not wake yet another worker for the same work. */
            atomic_fetch_add_explicit(&s->searching, 1, memory_order_seq_cst);
            atomic_fetch_sub_explicit(&s->parked, 1, memory_order_seq_cst);
            w->driver->ops->unpark(w->driver);
            return;
        }
    }
}

void sched_kick(struct sched *s, int i) {
    struct sched_worker *w = &s->workers[i];
    /* Pairs with the fence in park() between storing sleep = 1 and asking the driver what is
     * pending: either it sees our event, or we see it asleep. It claims nothing: the worker
     * wakes, finds its deadline past, and counts itself out as after a timer. */
    dekker_fence(s);
    if (atomic_load_explicit(&w->sleep, memory_order_relaxed) == 1) w->driver->ops->unpark(w->driver);
}

/* Only the push that makes the run queue non-empty notifies (its fence costs more than the
 * push): while the queue stays non-empty, a searcher is on its way to it or was woken for it, and
 * a searcher that finds work and was the last wakes the next (found_work). One worker has
 * nobody to wake. */
void sched_lifo_displace(struct sched_worker *w, struct sched_task *prev) {
    struct sched *s = w->thr.s;
    if (runq_push_owner(&w->rq, prev, &s->inject) && s->nworkers > 1) sched_notify(s);
}

struct sched_task *sched_inject_pop(struct sched *s) {
    if (mpsc_looks_empty(&s->inject)) return NULL;
    /* acquire: pairs with the release store below; one consumer at a time (Vyukov's queue is
     * single-consumer). A worker that loses simply looks elsewhere: this never blocks. */
    if (atomic_exchange_explicit(&s->inject_busy, 1, memory_order_acquire)) return NULL;
    struct mpsc_node *n = mpsc_pop(&s->inject);
    atomic_store_explicit(&s->inject_busy, 0, memory_order_release);
    return sched_task_of_link(n);
}

/* A task that used up its turn goes to the back of its worker's run queue, behind everything
 * runnable there and behind the oldest task of the inject queue, which moves ahead of it; it
 * stays on this worker (its mailbox and state stay in this core's cache) unless a thief takes
 * it. No worker is woken: a yield adds no parallelism (this worker comes back to it), and waking
 * one would split producer/consumer pairs across cores, where each message costs a cache miss. */
void sched_yield_task(struct sched_thread *self, struct sched_task *t) {
    struct sched *s = self->s;
    if (!self->worker) {
        mpsc_push(&s->inject, &t->link);
        return;
    }
    struct sched_task *waiting = sched_inject_pop(s);
    if (waiting) runq_push_owner(&self->worker->rq, waiting, &s->inject);
    runq_push_owner(&self->worker->rq, t, &s->inject);
}

void sched_inject(struct sched *s, struct sched_task *t) {
    mpsc_push(&s->inject, &t->link);
    sched_notify(s);
}

/* ---- finding work ------------------------------------------------------------------------ */

/* One pass over w's victims in its steal order (sched_init, topology.c): class by class, nearest
 * first, each class from a random start, taking from the join deques (join: one frame) or the
 * run queues (half of the victim's tasks, so that a thief has work for a while).
 * Unpinned there is one class, every other worker: a random start over all, as ever. */
static inline struct sched_task *steal_pass(struct sched_worker *w, bool join) {
    struct sched_worker *all = w->thr.s->workers;
    unsigned lo = 0;
    for (int c = 0; c < TOPO_CLASSES; c++) {
        unsigned hi = w->victim_end[c], len = hi - lo;
        unsigned k = len > 1 ? (unsigned)(rng_next(&w->rng) % len) : 0;
        for (unsigned j = 0; j < len; j++) {
            struct sched_worker *v = &all[w->victims[lo + k]];
            if (++k == len) k = 0;
            struct sched_task *t = NULL;
            if (join ? deque_size(&v->jq) > 0 : runq_len(&v->rq) > 0) {
                stats_add(&w->thr.stats, STAT_STEAL_TRIES, 1);
                t = join ? deque_steal(&v->jq) : runq_steal_half(&v->rq, &w->rq);
            }
            if (t) {
                stats_add(&w->thr.stats, STAT_STEALS, 1);
                AX_PROBE3(steal, w->index, v->index, join);
                return t;
            }
        }
        lo = hi;
    }
    return NULL;
}

struct sched_task *sched_steal_join(struct sched_worker *w) { return steal_pass(w, true); }

static struct sched_task *steal_some(struct sched_worker *w) {
    struct sched *s = w->thr.s;
    if (s->nworkers > 1) {
        /* Promoted join frames first: a split computation waits on them. */
        struct sched_task *t = steal_pass(w, true);
        if (t) return t;
        if ((t = steal_pass(w, false)) != NULL) return t;
    }
    return sched_inject_pop(s);
}

static inline __attribute__((always_inline)) struct sched_task *next_task(
    struct sched_worker *w) {
    struct sched *s = w->thr.s;
    struct sched_task *t;
    if (++w->tick % FAIRNESS_INTERVAL == 0 && (t = sched_inject_pop(s)) != NULL) return t;
    if (w->lifo) {
        t = w->lifo;
        w->lifo = NULL;
        if (w->lifo_runs < (unsigned)s->cfg.lifo_cap) {
            w->lifo_runs++;
            return t;
        }
        /* The slot ran lifo_cap times in a row. If other tasks wait, the slot's task goes
         * behind them (and becomes stealable); if none does, running it again starves nobody
         * and keeps a ping-pong pair on one core. */
        if (runq_len(&w->rq) == 0 && mpsc_looks_empty(&s->inject)) {
            w->lifo_runs = 1;
            return t;
        }
        sched_yield_task(&w->thr, t);
    }
    w->lifo_runs = 0;
    if ((t = runq_pop_owner(&w->rq)) != NULL) return t;
    return sched_inject_pop(s);
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void collect_garbage(struct sched_worker *w) {
    struct sched *s = w->thr.s;
    struct epoch_node *n = epoch_collect(&s->epoch, &w->thr.limbo);
    while (n) {
        struct epoch_node *next = n->next;
        s->reclaim(s, n, &w->thr);
        n = next;
    }
}

/* Polls the driver (idle: the worker has nothing to run, so it may take over other workers'
 * overdue events) and frees what has passed its grace period. */
static void maintain(struct sched_worker *w, bool idle) {
    w->driver->ops->poll(w->driver, &w->thr, idle);
    if (w->thr.limbo.head) collect_garbage(w);
}

static inline __attribute__((always_inline)) void run_task(struct sched_worker *w,
                                                           struct sched_task *t) {
    stats_add(&w->thr.stats, STAT_TASKS, 1);
    t->run(t, &w->thr);
    epoch_quiescent(&w->thr.s->epoch, &w->thr.epoch);
    if (w->tick % MAINTAIN_INTERVAL == 0) maintain(w, false);
}

/* The spin adapts (as an adaptive mutex does): a search that spun its whole budget in vain
 * halves the next one, down to SPIN_MIN_NS; one that found work doubles it, and a park that work
 * ended sooner than spin_us makes it cover twice that wait; never above spin_us. So a worker
 * spins about as long as work takes to come, and on a machine with more threads than cores, a
 * worker woken for work that another took meanwhile (a heartbeat's frame, taken back by its
 * owner) stops taking a core from the threads that have work after a few wasted spins instead
 * of after each. docs/design.md, "The spin adapts", has the figures. */
#define SPIN_MIN_NS 2000

/* Returns t: the search found work (t, or work of the driver's in the worker's own queues). */
static struct sched_task *spin_paid(struct sched_worker *w, struct sched_task *t) {
    int64_t max = w->thr.s->cfg.spin_ns;
    w->spin_ns = w->spin_ns >= max / 2 ? max : w->spin_ns * 2;
    return t;
}

/* Work came after a park of parked_ns: the next spin covers twice that wait if spin_us allows
 * (doubling alone would be undone by the next wasted spin, and a budget shorter than the gap
 * between requests never pays). */
static void spin_after_park(struct sched_worker *w, int64_t parked_ns) {
    int64_t max = w->thr.s->cfg.spin_ns;
    if (parked_ns >= max) return;
    int64_t want = parked_ns * 2 > max ? max : parked_ns * 2;
    if (want > w->spin_ns) w->spin_ns = want;
}

static void spin_wasted(struct sched_worker *w) {
    w->parked_ns = 0; /* woken for nothing: that park says nothing about the wait for work */
    int64_t min = w->thr.s->cfg.spin_ns < SPIN_MIN_NS ? w->thr.s->cfg.spin_ns : SPIN_MIN_NS;
    w->spin_ns = w->spin_ns / 2 <= min ? min : w->spin_ns / 2;
}

/* Starts an idle spell (metrics: busy and idle time), once per spell; now: a clock reading of the
 * caller's, or 0. */
static void idle_begin(struct sched_worker *w, int64_t now) {
    if (atomic_load_explicit(&w->idle_since, memory_order_relaxed)) return;
    atomic_store_explicit(&w->idle_since, now ? now : core_now_ns(), memory_order_relaxed);
}

static void idle_end(struct sched_worker *w) {
    int64_t since = atomic_load_explicit(&w->idle_since, memory_order_relaxed);
    if (!since) return;
    stats_add(&w->thr.stats, STAT_IDLE_NS, (uint64_t)(core_now_ns() - since));
    atomic_store_explicit(&w->idle_since, 0, memory_order_relaxed);
}

/* Leaves the searching state after finding work; the last searcher hands the search on. */
static inline __attribute__((always_inline)) void found_work(struct sched_worker *w) {
    if (w->parked_ns) {
        spin_after_park(w, w->parked_ns);
        w->parked_ns = 0;
    }
    if (!w->searching) return;
    idle_end(w); /* an idle spell begins only in search, which marks the worker searching */
    w->searching = false;
    if (atomic_fetch_sub_explicit(&w->thr.s->searching, 1, memory_order_seq_cst) == 1)
        sched_notify(w->thr.s);
}

static bool work_visible(struct sched *s) {
    if (!mpsc_looks_empty(&s->inject)) return true;
    for (int i = 0; i < s->nworkers; i++)
        if (runq_len(&s->workers[i].rq) > 0 || deque_size(&s->workers[i].jq) > 0) return true;
    return false;
}

/* Parks until woken or the driver's next event is due. On return the worker is searching. */
static void park(struct sched_worker *w) {
    struct sched *s = w->thr.s;
    struct sched_driver *d = w->driver;
    atomic_store_explicit(&w->sleep, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->parked, 1, memory_order_seq_cst);
    if (w->searching) {
        w->searching = false;
        atomic_fetch_sub_explicit(&s->searching, 1, memory_order_seq_cst);
    }
    /* Pairs with sched_notify's fence (see the file comment), and with sched_timer_arm, which
     * publishes a deadline then reads `parked`: read after raising `parked`, the deadline
     * includes every timer whose armer did not see us parked. */
    dekker_fence(s);
    int64_t deadline = d->ops->pending(d);
    bool claimed = false;
    if (work_visible(s) || atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        uint32_t one = 1;
        if (atomic_compare_exchange_strong_explicit(&w->sleep, &one, 0, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            atomic_fetch_sub_explicit(&s->parked, 1, memory_order_seq_cst);
            atomic_fetch_add_explicit(&s->searching, 1, memory_order_seq_cst);
            w->searching = true;
            return;
        }
        claimed = true; /* a notifier claimed us meanwhile: it counted us as searching */
    }
    if (!claimed) {
        stats_add(&w->thr.stats, STAT_PARKS, 1);
        AX_PROBE1(park, w->index);
        epoch_leave(&w->thr.epoch);
        int64_t parked_at = core_now_ns();
        /* Until claimed, or an event of the driver is due (a timer, a completion). */
        while (atomic_load_explicit(&w->sleep, memory_order_acquire) == 1) {
            if (deadline != INT64_MAX && core_now_ns() >= deadline) break;
            d->ops->park(d, deadline);
            deadline = d->ops->pending(d);
        }
        w->parked_ns = core_now_ns() - parked_at; /* judged when the worker finds work */
        stats_add(&w->thr.stats, STAT_WAKEUPS, 1);
        AX_PROBE2(unpark, w->index, w->parked_ns);
        if (w->thr.trace)
            trace_put(w->thr.trace, (uint64_t)(parked_at - s->t0_ns), TRACE_PARK, 0,
                      (uint64_t)w->parked_ns, 0, 0, NULL);
        epoch_enter(&s->epoch, &w->thr.epoch);
        uint32_t one = 1;
        if (atomic_compare_exchange_strong_explicit(&w->sleep, &one, 0, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            /* Woken by the driver (a timer is due), not claimed: count ourselves out. */
            atomic_fetch_sub_explicit(&s->parked, 1, memory_order_seq_cst);
            atomic_fetch_add_explicit(&s->searching, 1, memory_order_seq_cst);
        }
    }
    w->searching = true;
}

/* No local work: search for spin_ns, then park. Returns a task or NULL (re-loop). */
static struct sched_task *search(struct sched_worker *w) {
    struct sched *s = w->thr.s;
    if (!w->searching) {
        w->searching = true;
        atomic_fetch_add_explicit(&s->searching, 1, memory_order_seq_cst);
    }
    pool_remote_flush(&w->thr.remote_frees); /* their owners may want them while we idle */
    int64_t now = w->spin_ns > 0 ? core_now_ns() : 0, until = now ? now + w->spin_ns : 0;
    idle_begin(w, now);
    /* The driver first: it submits what the tasks just run queued (a socket's reply) and
     * reaps what came meanwhile; then again every few steal rounds (a round with its pauses is
     * a few hundred ns), so that I/O finished while spinning is not left waiting. */
    maintain(w, true);
    if (w->lifo || runq_len(&w->rq) > 0) return NULL;
    /* Deterministic mode: one worker, which took the inject queue in already (sched_det_next). */
    for (unsigned i = 0; !s->det; i++) {
        struct sched_task *t = steal_some(w);
        if (t) return spin_paid(w, t);
        if (atomic_load_explicit(&s->stop, memory_order_relaxed)) return NULL;
        if ((i & 7) == 7 || until == 0) {
            if (until == 0 || core_now_ns() >= until) break;
            maintain(w, true);
            if (w->lifo || runq_len(&w->rq) > 0) return spin_paid(w, NULL);
            sched_yield();
        }
        for (int k = 0; k < 8; k++) core_cpu_relax();
    }
    maintain(w, true);
    if (w->lifo || runq_len(&w->rq) > 0) return NULL; /* the driver or reclaim made work */
    /* Deterministic mode: nothing runnable, so virtual time moves to the next deadline. */
    if (s->det && (!mpsc_looks_empty(&s->inject) || sched_det_advance(w))) return NULL;
    spin_wasted(w);
    park(w);
    return NULL;
}

static void pin_to_cpu(unsigned index) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(index % (unsigned)core_cpu_count(), &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* The lowest address of the calling thread's stack (0 if unknown: then no guard works). */
static uintptr_t stack_low_end(void) {
    pthread_attr_t attr;
    void *addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    return (uintptr_t)addr;
}

/* The loop, inlined twice: deterministic mode chooses its tasks its own way (det.c), and the
 * normal loop does not test for it at each task. */
static inline __attribute__((always_inline)) void worker_loop(struct sched_worker *w,
                                                              const bool det) {
    struct sched *s = w->thr.s;
    while (!atomic_load_explicit(&s->stop, memory_order_acquire)) {
        struct sched_task *t = det ? sched_det_next(w) : next_task(w);
        if (!t) {
            t = search(w);
            if (!t) continue;
        }
        found_work(w);
        run_task(w, t);
    }
}

static void *worker_main(void *arg) {
    struct sched_worker *w = arg;
    struct sched *s = w->thr.s;
    sched_tls_worker = w;
    ax_join_state_tls_ = &w->join;
    w->stack_low = stack_low_end();
    if (s->cfg.pin) pin_to_cpu(w->index);
    epoch_enter(&s->epoch, &w->thr.epoch);
    if (s->det) worker_loop(w, true);
    else worker_loop(w, false);
    if (w->searching) {
        w->searching = false;
        atomic_fetch_sub_explicit(&s->searching, 1, memory_order_seq_cst);
    }
    epoch_leave(&w->thr.epoch);
    sched_tls_worker = NULL;
    ax_join_state_tls_ = &no_worker_join;
    return NULL;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

int sched_start(struct sched *s) {
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return -ENOMEM;
    if (s->cfg.stack_bytes) pthread_attr_setstacksize(&attr, s->cfg.stack_bytes);
    for (int i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i].tid, &attr, worker_main, &s->workers[i]) != 0) {
            pthread_attr_destroy(&attr);
            atomic_store(&s->stop, 1);
            for (int j = 0; j < i; j++) {
                atomic_store(&s->workers[j].sleep, 0);
                s->workers[j].driver->ops->unpark(s->workers[j].driver);
                pthread_join(s->workers[j].tid, NULL);
            }
            return -EAGAIN;
        }
    }
    pthread_attr_destroy(&attr);
    return 0;
}

void sched_stop(struct sched *s) {
    /* release: pairs with the acquire load in worker_main's loop. */
    atomic_store_explicit(&s->stop, 1, memory_order_seq_cst);
    for (int i = 0; i < s->nworkers; i++) {
        atomic_store_explicit(&s->workers[i].sleep, 0, memory_order_seq_cst);
        s->workers[i].driver->ops->unpark(s->workers[i].driver);
    }
    for (int i = 0; i < s->nworkers; i++) pthread_join(s->workers[i].tid, NULL);
}

bool sched_idle(struct sched *s) {
    return atomic_load_explicit(&s->parked, memory_order_seq_cst) == (uint32_t)s->nworkers &&
           !work_visible(s);
}

void sched_worker_discard(struct sched_worker *w) {
    struct sched_task *t;
    if (w->lifo) w->lifo->run(w->lifo, NULL);
    w->lifo = NULL;
    for (size_t i = 0; i < w->det_n; i++) w->det_ready[i]->run(w->det_ready[i], NULL);
    free(w->det_ready);
    w->det_ready = NULL;
    w->det_n = w->det_cap = 0;
    while ((t = runq_pop_owner(&w->rq)) != NULL) t->run(t, NULL);
}
