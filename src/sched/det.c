/* SPDX-License-Identifier: MIT */
/* det.c: deterministic mode. One worker runs every task; which runnable task runs next, how many
 * messages an actor handles in its turn (actor.c) and the order of timers due at the same tick
 * (timer_driver.c) are drawn from a generator seeded by the user, and timers run on virtual
 * time, which stands still while anything is runnable and jumps to the next deadline when
 * nothing is. So a program whose inputs come from its actors (and from outside threads only
 * while the runtime is idle) makes the same handler calls in the same order under the same
 * seed, however the machine schedules the thread, and a seed replays a failure. The idea is
 * that of simulation testing (FoundationDB's, madsim's): the scheduler, not the hardware, picks
 * the interleaving. */
#include <stdlib.h>

#include "mem/fault.h"
#include "sched/sched.h"

uint64_t sched_det_below(struct sched *s, uint64_t n) {
    /* splitmix64 (Steele, Lea, Flood): a full-period step and a strong finalizer. */
    uint64_t z = (s->det_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z % n;
}

int64_t sched_now_ns(const struct sched *s) {
    if (!s->det) return core_now_ns();
    return s->t0_ns +
           (int64_t)(atomic_load_explicit(&s->det_tick, memory_order_relaxed) * SCHED_TICK_NS);
}

/* Adds t to the ready set; false when the set cannot grow (out of memory). */
static bool ready_add(struct sched_worker *w, struct sched_task *t) {
    if (w->det_n == w->det_cap) {
        size_t cap = w->det_cap ? w->det_cap * 2 : 64;
        struct sched_task **p = mem_realloc(w->det_ready, cap * sizeof *p);
        if (!p) return false;
        w->det_ready = p;
        w->det_cap = cap;
    }
    w->det_ready[w->det_n++] = t;
    return true;
}

struct sched_task *sched_det_next(struct sched_worker *w) {
    struct sched *s = w->thr.s;
    /* Everything runnable joins the set, in the order it became runnable (which is itself
     * determined: one thread did it). Without memory to grow the set, a task runs at once. */
    struct sched_task *t = w->lifo;
    w->lifo = NULL;
    if (t && !ready_add(w, t)) return t;
    while ((t = runq_pop_owner(&w->rq)) != NULL || (t = sched_inject_pop(s)) != NULL)
        if (!ready_add(w, t)) return t;
    if (w->det_n == 0) return NULL;
    size_t k = (size_t)sched_det_below(s, w->det_n);
    t = w->det_ready[k];
    w->det_ready[k] = w->det_ready[--w->det_n];
    return t;
}

bool sched_det_advance(struct sched_worker *w) {
    return sched_timers_advance_virtual(&w->timers, &w->thr);
}
