/* SPDX-License-Identifier: MIT */
/* timer_driver.c: the timing wheel as a worker's driver (driver.h). A worker arms on its own
 * wheel; an outside thread arms on one worker's wheel, chosen by its record id. Arming pushes
 * the entry onto the wheel's arming stack with one CAS and takes no lock; whoever holds the
 * wheel's spinlock (its owner at its next poll or before it parks, or an idle worker helping a
 * busy one, so that a handler that runs long does not hold up its worker's timers) moves the
 * stack into the wheel, fires what is due, and publishes the earliest deadline, which parked
 * workers sleep until. An armer that finds the stack empty kicks the owner if it is parked, and
 * one whose deadline is earlier than the wheel's earliest also wakes a parked worker. */
#include <stdlib.h>

#include "core/duration.h"
#include "mem/fault.h"
#include "sched/sched.h"

static struct sched_timer_driver *timers_of(struct sched_driver *d) {
    return (struct sched_timer_driver *)((char *)d - offsetof(struct sched_timer_driver, base));
}

static void wheel_lock(struct sched_timer_driver *t) {
    /* acquire: pairs with the release in wheel_unlock (the wheel's contents). */
    while (atomic_exchange_explicit(&t->lock, 1, memory_order_acquire)) core_cpu_relax();
}

static bool wheel_trylock(struct sched_timer_driver *t) {
    return !atomic_load_explicit(&t->lock, memory_order_relaxed) &&
           !atomic_exchange_explicit(&t->lock, 1, memory_order_acquire);
}

static void wheel_unlock(struct sched_timer_driver *t) {
    atomic_store_explicit(&t->lock, 0, memory_order_release);
}

/* Lock held. seq_cst: read by park() in worker.c after it raises `parked` (timers_pending). The
 * deadline is the wheel's next work: its earliest entry, or the next tick while entries move
 * down (wheel_next_work). */
static void publish_next(struct sched_timer_driver *t) {
    atomic_store_explicit(&t->next, wheel_next_work(&t->wheel), memory_order_seq_cst);
}

uint64_t sched_tick_now(const struct sched *s) {
    return (uint64_t)(sched_now_ns(s) - s->t0_ns) / SCHED_TICK_NS;
}

uint64_t sched_tick_after_ms(const struct sched *s, int64_t delay_ms) {
    /* Rounded up: the timer is due at the first tick that starts at or after its deadline. */
    int64_t at = core_deadline_ms(sched_now_ns(s) - s->t0_ns, delay_ms);
    return ((uint64_t)at + SCHED_TICK_NS - 1) / SCHED_TICK_NS;
}

void sched_timer_arm(struct sched *s, struct sched_thread *self, struct wheel_entry *e) {
    /* An outside thread always arms on the same wheel (by its record id): alternating between
     * wheels made every arm bounce both wheels' lines with the firing workers. */
    struct sched_worker *w =
        self && self->worker ? self->worker
        : self               ? &s->workers[self->id % (unsigned)s->nworkers]
                             : &s->workers[0];
    struct sched_timer_driver *t = &w->timers;
    /* Read before the push: once pushed, a worker may fire the entry and reuse its record. */
    uint64_t deadline = e->deadline, before = atomic_load_explicit(&t->next, memory_order_relaxed);
    struct wheel_entry *old = atomic_load_explicit(&t->arming, memory_order_relaxed);
    do {
        e->next = old;
        /* release: the entry (and its timer record) is complete before whoever takes the stack
         * (acquire exchange in take_arming) inserts and fires it. */
    } while (!atomic_compare_exchange_weak_explicit(&t->arming, &old, e, memory_order_release,
                                                    memory_order_relaxed));
    /* The owner takes its stack in at its next poll and before it parks. Another thread's push
     * onto an empty stack makes sure the owner is not asleep past the new deadline: sched_kick's
     * fence pairs with park()'s between raising `sleep` and asking timers_pending, which takes
     * the stack in (a push onto a non-empty stack is covered by the push that found it empty).
     * The owner may be busy in a long handler, though (one that waits for this very timer): an
     * entry earlier than the wheel's earliest also wakes a parked worker, which takes the stack
     * in for it (steal_overdue); one that parks later sees the stack and looks a tick later. */
    if (old == NULL && &w->thr != self) sched_kick(s, (int)w->index);
    if (deadline < before && atomic_load_explicit(&s->parked, memory_order_seq_cst))
        sched_notify(s);
}

/* Lock of t held: moves the arming stack into the wheel, in arming order (the stack is LIFO,
 * the wheel keeps FIFO order among equal deadlines), and publishes the earliest deadline. */
static void take_arming(struct sched_timer_driver *t) {
    if (!atomic_load_explicit(&t->arming, memory_order_relaxed)) return;
    /* acquire: pairs with the release CAS in sched_timer_arm. */
    struct wheel_entry *e = atomic_exchange_explicit(&t->arming, NULL, memory_order_acquire);
    struct wheel_entry *fifo = NULL;
    while (e) {
        struct wheel_entry *next = e->next;
        e->next = fifo;
        fifo = e;
        e = next;
    }
    while (fifo) {
        struct wheel_entry *next = fifo->next;
        wheel_insert(&t->wheel, fifo);
        fifo = next;
    }
    publish_next(t);
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

/* Deterministic mode: the due entries in an order drawn from the seed (they share a tick, or
 * the clock jumped over several). Without memory for the shuffle, they keep the wheel's order. */
static void det_shuffle(struct sched *s, struct due_list *l) {
    size_t n = 0;
    for (struct wheel_entry *e = l->head; e; e = e->next) n++;
    struct wheel_entry **v = n > 1 ? mem_malloc(n * sizeof *v) : NULL;
    if (!v) return;
    n = 0;
    for (struct wheel_entry *e = l->head; e; e = e->next) v[n++] = e;
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)sched_det_below(s, i + 1);
        struct wheel_entry *x = v[i];
        v[i] = v[j];
        v[j] = x;
    }
    l->head = NULL;
    l->tail = &l->head;
    for (size_t i = 0; i < n; i++) collect(v[i], l);
    free(v);
}

/* Lock of t held on entry, released before firing (firing may re-arm on t). */
static bool fire_due(struct sched_timer_driver *t, uint64_t now, struct sched_thread *self) {
    struct due_list l = {NULL, &l.head};
    take_arming(t);
    wheel_advance(&t->wheel, now, collect, &l);
    publish_next(t);
    wheel_unlock(t);
    if (t->s->det) det_shuffle(t->s, &l);
    uint64_t fired = 0;
    for (struct wheel_entry *e = l.head, *next; e; e = next, fired++) {
        next = e->next;
        t->s->timer_fire(t->s, e, self);
    }
    if (fired) stats_add(&self->stats, STAT_TIMERS_FIRED, fired);
    return fired != 0;
}

static bool arming_empty(struct sched_timer_driver *t) {
    return atomic_load_explicit(&t->arming, memory_order_relaxed) == NULL;
}

/* A deadline this far away lets the owner skip FAR_SKIPS looks (of 16 tasks each) before the
 * next: a timer is late for it only if those tasks together ran longer than a second. */
#define FAR_TICKS (1000000000 / SCHED_TICK_NS)
#define FAR_SKIPS 3

/* The owner: whether tick `next` may have come. The coarse clock is never ahead of the true
 * one and lags it by less than its lag, so a coarse reading plus the lag that is still before
 * `next` proves it has not come, at a fifth of the cost of the true clock; and a deadline more
 * than a second away is not looked at again for a few looks. So a wheel that holds only far
 * timers (a connection's idle timeout, a minute away) costs its worker almost nothing. */
static bool may_be_due(struct sched_timer_driver *t, uint64_t next) {
    const struct sched *s = t->s;
    if (s->det) return true; /* virtual time: the true clock is the cheap one */
    if (t->far_skips) {
        t->far_skips--;
        return false;
    }
    int64_t latest = core_coarse_now_ns() + core_coarse_lag_ns() - s->t0_ns;
    if (latest < 0) return true;
    uint64_t tick = (uint64_t)latest / SCHED_TICK_NS + 1;
    if (tick >= next) return true;
    if (next - tick >= FAR_TICKS) t->far_skips = FAR_SKIPS;
    return false;
}

/* The owner: takes what was armed and fires what is due on its own wheel. */
static bool run_due(struct sched_timer_driver *t, struct sched_thread *self) {
    uint64_t next = atomic_load_explicit(&t->next, memory_order_relaxed);
    if (!arming_empty(t)) t->far_skips = 0; /* a new entry may be near */
    else if (next == UINT64_MAX || !may_be_due(t, next))
        return false; /* nothing here, or nothing due yet: no precise clock read */
    uint64_t now = sched_tick_now(t->s);
    if (next > now && arming_empty(t)) return false;
    wheel_lock(t);
    return fire_due(t, now, self);
}

/* An idle worker: fires the overdue timers of busy ones, and takes in what was armed on them
 * (its deadlines are unknown until then). */
static bool steal_overdue(struct sched_timer_driver *own, struct sched_thread *self) {
    struct sched *s = own->s;
    uint64_t now = sched_tick_now(s);
    bool fired = false;
    for (int i = 0; i < s->nworkers; i++) {
        struct sched_timer_driver *v = &s->workers[i].timers;
        /* Another worker's timers are ours to fire only once a tick overdue: it is busy. */
        if (v == own ||
            (atomic_load_explicit(&v->next, memory_order_relaxed) + 1 > now && arming_empty(v)) ||
            !wheel_trylock(v))
            continue;
        fired |= fire_due(v, now, self);
    }
    return fired;
}

static bool timers_poll(struct sched_driver *d, struct sched_thread *self, bool idle) {
    struct sched_timer_driver *t = timers_of(d);
    bool made = run_due(t, self);
    if (idle) made |= steal_overdue(t, self);
    return t->inner->ops->poll(t->inner, self, idle) || made;
}

/* Every wheel's earliest deadline, not only the own one: a parked worker wakes to fire a busy
 * worker's overdue timers, and an armer that saw nobody parked relies on it (sched_timer_arm). */
static int64_t timers_pending(struct sched_driver *d) {
    struct sched_timer_driver *t = timers_of(d);
    struct sched *s = t->s;
    if (!arming_empty(t)) { /* our own armed entries first: their deadlines count */
        wheel_lock(t);
        take_arming(t);
        wheel_unlock(t);
    }
    uint64_t next = UINT64_MAX, soon = 0; /* soon: read once, when a stack needs it */
    for (int i = 0; i < s->nworkers; i++) {
        struct sched_timer_driver *v = &s->workers[i].timers;
        uint64_t n = atomic_load_explicit(&v->next, memory_order_seq_cst);
        /* Another worker's timer is ours to fire one tick after it is due (steal_overdue): waking
         * for it earlier would only spin until then. Entries armed on it and not taken in yet
         * (it is busy) have unknown deadlines: look again a tick from now. */
        if (v != t && n != UINT64_MAX) n++;
        if (v != t && !arming_empty(v)) {
            if (!soon) soon = sched_tick_now(s) + 1;
            if (soon < n) n = soon;
        }
        if (n < next) next = n;
    }
    int64_t inner = t->inner->ops->pending(t->inner);
    if (s->det && next != UINT64_MAX) return 0; /* virtual time: the worker advances it now */
    if (next == UINT64_MAX || next > (uint64_t)(INT64_MAX - s->t0_ns) / SCHED_TICK_NS)
        return inner;
    int64_t own = s->t0_ns + (int64_t)(next * SCHED_TICK_NS);
    return own < inner ? own : inner;
}

static void timers_park(struct sched_driver *d, int64_t deadline_ns) {
    struct sched_timer_driver *t = timers_of(d);
    t->inner->ops->park(t->inner, deadline_ns);
}

static void timers_unpark(struct sched_driver *d) {
    struct sched_timer_driver *t = timers_of(d);
    t->inner->ops->unpark(t->inner);
}

static const struct sched_driver_ops timer_ops = {
    .poll = timers_poll, .pending = timers_pending, .park = timers_park, .unpark = timers_unpark};

void sched_timer_driver_init(struct sched_timer_driver *t, struct sched *s,
                             struct sched_driver *inner) {
    t->base.ops = &timer_ops;
    t->inner = inner;
    t->s = s;
    wheel_init(&t->wheel, 0);
    atomic_store_explicit(&t->lock, 0, memory_order_relaxed);
    atomic_store_explicit(&t->next, UINT64_MAX, memory_order_relaxed);
    atomic_store_explicit(&t->arming, NULL, memory_order_relaxed);
}

bool sched_timers_advance_virtual(struct sched_timer_driver *t, struct sched_thread *self) {
    struct sched *s = t->s;
    wheel_lock(t);
    take_arming(t);
    uint64_t next = wheel_next_work(&t->wheel);
    if (next == UINT64_MAX) {
        wheel_unlock(t);
        return false;
    }
    uint64_t now = atomic_load_explicit(&s->det_tick, memory_order_relaxed);
    if (next > now) atomic_store_explicit(&s->det_tick, next, memory_order_relaxed);
    fire_due(t, next > now ? next : now, self);
    return true;
}

void sched_timers_destroy(struct sched *s) {
    for (int i = 0; i < s->nworkers; i++) {
        struct sched_timer_driver *t = &s->workers[i].timers;
        struct due_list l = {NULL, &l.head};
        take_arming(t);
        /* Far beyond any deadline the API accepts (delays are capped below 2^36 ticks). */
        wheel_advance(&t->wheel, wheel_now(&t->wheel) + (1ull << 40), collect, &l);
        for (struct wheel_entry *e = l.head, *next; e; e = next) {
            next = e->next;
            s->timer_fire(s, e, NULL);
        }
    }
}
