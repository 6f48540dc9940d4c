/* SPDX-License-Identifier: MIT */
/* timers.c: deadline tasks on per-worker timing wheels (time/wheel.h). A worker arms and fires
 * timers on its own wheel; an outside thread arms on one worker's wheel, chosen by its id. Each
 * wheel has a spinlock, uncontended unless an idle worker steals overdue timers from a busy
 * one (so a handler that runs long does not hold up the timers its worker armed), and
 * publishes its earliest deadline, which parked workers sleep until. */
#include "core/duration.h"
#include "sched/sched.h"

static void wheel_lock(struct sched_worker *w) {
    /* acquire: pairs with the release in wheel_unlock (the wheel's contents). */
    while (atomic_exchange_explicit(&w->wheel_lock, 1, memory_order_acquire))
        core_cpu_relax();
}

static bool wheel_trylock(struct sched_worker *w) {
    return !atomic_load_explicit(&w->wheel_lock, memory_order_relaxed) &&
           !atomic_exchange_explicit(&w->wheel_lock, 1, memory_order_acquire);
}

static void wheel_unlock(struct sched_worker *w) {
    atomic_store_explicit(&w->wheel_lock, 0, memory_order_release);
}

/* Lock held. seq_cst: the first half of a Dekker pair with park(), which raises `parked` and
 * then reads every wheel's next deadline; the arming thread publishes, then reads `parked`. */
static void publish_next(struct sched_worker *w) {
    atomic_store_explicit(&w->wheel_next, wheel_next_deadline(&w->wheel), memory_order_seq_cst);
}

void sched_timers_init(struct sched *s) {
    s->t0_ns = core_now_ns();
    for (int i = 0; i < s->nworkers; i++) {
        wheel_init(&s->workers[i].wheel, 0);
        atomic_store_explicit(&s->workers[i].wheel_lock, 0, memory_order_relaxed);
        atomic_store_explicit(&s->workers[i].wheel_next, UINT64_MAX, memory_order_relaxed);
    }
}

uint64_t sched_tick_now(const struct sched *s) {
    return (uint64_t)(core_now_ns() - s->t0_ns) / SCHED_TICK_NS;
}

uint64_t sched_tick_after_ms(const struct sched *s, int64_t delay_ms) {
    /* Rounded up: the timer is due at the first tick that starts at or after its deadline. */
    int64_t at = core_deadline_ms(core_now_ns() - s->t0_ns, delay_ms);
    return ((uint64_t)at + SCHED_TICK_NS - 1) / SCHED_TICK_NS;
}

void sched_timer_arm(struct sched *s, struct sched_thread *self, struct wheel_entry *e) {
    /* An outside thread always arms on the same wheel (by its record id): alternating between
     * wheels made every arm bounce both wheels' locks and lines with the firing workers
     * (`axon-bench timers --workers 2`: 1,160-1,300 ns per timer, against 350-530 now). */
    struct sched_worker *w =
        self && self->worker ? self->worker
        : self               ? &s->workers[self->id % (unsigned)s->nworkers]
                             : &s->workers[0];
    /* Read before the insert: once the lock is released, a worker may fire the entry and
     * re-arm (or reuse) its record. */
    uint64_t deadline = e->deadline;
    wheel_lock(w);
    uint64_t before = atomic_load_explicit(&w->wheel_next, memory_order_relaxed);
    wheel_insert(&w->wheel, e);
    if (deadline < before) publish_next(w);
    wheel_unlock(w);
    /* A parked worker sleeps until the earliest deadline it saw: wake one to look again. */
    if (deadline < before && atomic_load_explicit(&s->parked, memory_order_seq_cst))
        sched_notify(s);
}

struct due_list {
    struct wheel_entry *head, **tail;
};

static void collect(struct wheel_entry *e, void *arg) {
    struct due_list *l = arg;
    e->next = NULL;
    *l->tail = e;
    l->tail = &e->next;
}

/* Lock of w held on entry, released before firing (firing may re-arm on w). */
static bool fire_due(struct sched *s, struct sched_worker *w, uint64_t now,
                     struct sched_thread *self) {
    struct due_list l = {NULL, &l.head};
    wheel_advance(&w->wheel, now, collect, &l);
    publish_next(w);
    wheel_unlock(w);
    for (struct wheel_entry *e = l.head, *next; e; e = next) {
        next = e->next;
        s->timer_fire(s, e, self);
    }
    return l.head != NULL;
}

void sched_timers_run_due(struct sched *s, struct sched_thread *self) {
    struct sched_worker *w = self->worker;
    uint64_t next = atomic_load_explicit(&w->wheel_next, memory_order_relaxed);
    if (next == UINT64_MAX) return; /* no timer here: not even a clock read */
    uint64_t now = sched_tick_now(s);
    if (next > now) return;
    wheel_lock(w);
    fire_due(s, w, now, self);
}

bool sched_timers_steal(struct sched *s, struct sched_thread *self) {
    uint64_t now = sched_tick_now(s);
    bool fired = false;
    for (int i = 0; i < s->nworkers; i++) {
        struct sched_worker *v = &s->workers[i];
        /* Another worker's timers are ours to fire only once a tick overdue: it is busy. */
        if (v == self->worker ||
            atomic_load_explicit(&v->wheel_next, memory_order_relaxed) + 1 > now ||
            !wheel_trylock(v))
            continue;
        fired |= fire_due(s, v, now, self);
    }
    return fired;
}

int64_t sched_timers_next_ns(struct sched *s) {
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < s->nworkers; i++) {
        uint64_t n = atomic_load_explicit(&s->workers[i].wheel_next, memory_order_seq_cst);
        if (n < next) next = n;
    }
    if (next == UINT64_MAX || next > (uint64_t)(INT64_MAX - s->t0_ns) / SCHED_TICK_NS)
        return INT64_MAX;
    return s->t0_ns + (int64_t)(next * SCHED_TICK_NS);
}

void sched_timers_destroy(struct sched *s) {
    for (int i = 0; i < s->nworkers; i++) {
        struct sched_worker *w = &s->workers[i];
        struct due_list l = {NULL, &l.head};
        /* Far beyond any deadline the API accepts (delays are capped below 2^36 ticks). */
        wheel_advance(&w->wheel, wheel_now(&w->wheel) + (1ull << 40), collect, &l);
        for (struct wheel_entry *e = l.head, *next; e; e = next) {
            next = e->next;
            s->timer_fire(s, e, NULL);
        }
    }
}
