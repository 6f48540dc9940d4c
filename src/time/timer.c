/* SPDX-License-Identifier: MIT */
/* timer.c: timers as the API sees them. A record is 64 bytes in a slots table: its wheel entry,
 * the target, the owner, a state word (generation << 2 | state) that cancel and fire race on
 * with one CAS each, and the payload inline (up to 12 bytes) or in a pooled message.
 *
 * States: ARMED -> FIRING -> (one-shot) FREE with the next generation, or (interval) ARMED
 * again; ARMED -> CANCELLED (cancel) -> FREE when the wheel reaches the deadline. Exactly one
 * of cancel and fire wins the CAS from ARMED; a cancel that meets FIRING waits for it to end (it
 * is one delivery), so a cancelled interval never fires after ax_timer_cancel returned 0. */
#include "time/timer.h"

#include "actor/deliver.h"

#include <stdlib.h>
#include <string.h>

enum { ST_FREE = 0, ST_ARMED = 1, ST_FIRING = 2, ST_CANCELLED = 3 };
#define TIMER_INLINE 12
#define TIMER_GEN_MAX ((1u << 30) - 1)

struct timer_rec {
    struct wheel_entry entry;
    ax_ref to;
    ax_ref owner;           /* AX_REF_NONE: armed from outside */
    /* The payload inline, or (big) a pooled message holding it, or (TIMER_ASK) the corr; the
     * pointer and corr are stored with memcpy (see get_msg), the bytes are 8-aligned. */
    unsigned char data[TIMER_INLINE];
    uint16_t size;          /* inline payloads only */
    uint8_t kind;           /* TIMER_SEND or TIMER_ASK */
    uint8_t big;
    _Atomic uint32_t state; /* gen << 2 | ST_* */
    uint32_t index;         /* own slot, to free it */
    uint32_t type;          /* also the free-list link while free */
    uint32_t period_ms;     /* 0: one-shot */
};

_Static_assert(sizeof(struct timer_rec) == 64, "a timer record is 64 bytes");
_Static_assert(offsetof(struct timer_rec, data) % 8 == 0, "inline data is 8-aligned");

static struct msg *get_msg(const struct timer_rec *r) {
    struct msg *m;
    memcpy(&m, r->data, sizeof m);
    return m;
}
static void set_msg(struct timer_rec *r, struct msg *m) { memcpy(r->data, &m, sizeof m); }
static uint32_t get_corr(const struct timer_rec *r) {
    uint32_t c;
    memcpy(&c, r->data, sizeof c);
    return c;
}

static struct timer_rec *rec_of(struct wheel_entry *e) {
    return (struct timer_rec *)((char *)e - offsetof(struct timer_rec, entry));
}

static ax_timer handle_of(uint32_t gen, uint32_t index) {
    return (ax_timer){((uint64_t)gen << 32) | index};
}

/* Worker: the record's slot goes back to the free list under a new generation. */
static void rec_free(ax_runtime *rt, struct sched_thread *self, struct timer_rec *r) {
    if (r->big) msg_release(rt, self, get_msg(r));
    r->big = 0;
    uint32_t gen = atomic_load_explicit(&r->state, memory_order_relaxed) >> 2;
    if (gen >= TIMER_GEN_MAX) return; /* generations exhausted: the slot is retired */
    /* release: a cancel that loads the new generation sees the record finished with. */
    atomic_store_explicit(&r->state, (gen + 1) << 2 | ST_FREE, memory_order_release);
    slots_free(&rt->timers, &self->timer_slots, r->index);
}

static void deliver(ax_runtime *rt, struct sched_thread *self, struct timer_rec *r) {
    if (r->kind == TIMER_ASK) {
        struct msg *m = msg_new(self, 0);
        if (!m) return;
        m->flags = MSG_SYS_TIMEOUT;
        m->corr = get_corr(r);
        m->pub.sender = AX_REF_NONE;
        m->pub.type = 0;
        m->pub.size = 0;
        if (actor_deliver(rt, self, r->to, m, true) != 0) msg_release(rt, self, m);
        return;
    }
    size_t size = r->big ? get_msg(r)->pub.size : r->size; /* AX_MSG_MAX needs 17 bits */
    struct msg *m = msg_new(self, size);
    if (!m) return;
    m->pub.sender = r->owner;
    m->pub.type = r->type;
    m->pub.size = (uint32_t)size;
    memcpy(m->pub.data, r->big ? get_msg(r)->pub.data : r->data, size);
    actor_deliver_or_deadletter(rt, self, r->to, m);
}

static void timer_fire(struct sched *s, struct wheel_entry *e, struct sched_thread *self) {
    ax_runtime *rt = rt_of_sched(s);
    struct timer_rec *r = rec_of(e);
    if (!self) { /* destroy: the table goes as a whole */
        if (r->big) msg_release(rt, NULL, get_msg(r));
        return;
    }
    uint32_t st = atomic_load_explicit(&r->state, memory_order_acquire);
    uint32_t armed = (st & ~3u) | ST_ARMED;
    /* acq_rel: wins the record against ax_timer_cancel's CAS (exactly one of them does). */
    if (!atomic_compare_exchange_strong_explicit(&r->state, &armed, (st & ~3u) | ST_FIRING,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        rec_free(rt, self, r); /* cancelled */
        return;
    }
    AX_PROBE2(timer_fire, handle_of(st >> 2, r->index).id, r->to.id);
    bool owner_gone = !ax_ref_is_none(r->owner) && !actor_lookup(rt, r->owner);
    if (!owner_gone) deliver(rt, self, r);
    if (r->period_ms && !owner_gone) {
        uint64_t now = sched_tick_now(s);
        e->deadline += (uint64_t)r->period_ms * SCHED_TICKS_PER_MS;
        if (e->deadline <= now) e->deadline = now + 1; /* fell behind: no burst of catch-ups */
        /* release: the re-armed record is complete before a cancel can win it. */
        atomic_store_explicit(&r->state, (st & ~3u) | ST_ARMED, memory_order_release);
        sched_timer_arm(s, self, e);
        return;
    }
    rec_free(rt, self, r);
}

void timer_destroy(ax_runtime *rt) { slots_destroy(&rt->timers); }

/* Takes a record for the calling thread; NULL when out of memory. */
static struct timer_rec *rec_alloc(ax_runtime *rt, struct sched_thread *thr, uint32_t *gen) {
    uint32_t index = slots_alloc(&rt->timers, &thr->timer_slots);
    if (!index) return NULL;
    struct timer_rec *r = slots_at(&rt->timers, index);
    if (!r) return NULL; /* cannot happen for an index just handed out; keeps gcc sure of it */
    *gen = atomic_load_explicit(&r->state, memory_order_relaxed) >> 2;
    if (*gen == 0) *gen = 1; /* a fresh record */
    r->index = index;
    r->big = 0;
    return r;
}

static ax_timer arm(ax_runtime *rt, struct sched_thread *thr, struct timer_rec *r, uint32_t gen,
                    int64_t delay_ms) {
    r->entry.deadline = sched_tick_after_ms(&rt->sched, delay_ms);
    /* release: the record is complete before its handle can be cancelled. */
    atomic_store_explicit(&r->state, gen << 2 | ST_ARMED, memory_order_release);
    ax_timer h = handle_of(gen, r->index);
    sched_timer_arm(&rt->sched, thr, &r->entry);
    return h;
}

static ax_timer timer_arm_ask(ax_runtime *rt, struct sched_thread *thr, ax_ref asker, uint32_t corr,
                       int64_t delay_ms) {
    uint32_t gen;
    struct timer_rec *r = rec_alloc(rt, thr, &gen);
    if (!r) return AX_TIMER_NONE;
    r->to = r->owner = asker;
    r->kind = TIMER_ASK;
    r->period_ms = 0;
    r->size = 0;
    r->type = 0;
    memcpy(r->data, &corr, sizeof corr);
    return arm(rt, thr, r, gen, delay_ms > AX_TIMER_MAX_MS ? AX_TIMER_MAX_MS : delay_ms);
}

int timer_send_later(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                     int64_t delay_ms, int64_t period_ms, ax_timer *out) {
    if (!rt || (size && !data) || delay_ms < 0 ||
        delay_ms > AX_TIMER_MAX_MS || period_ms < 0 || period_ms > AX_TIMER_MAX_MS)
        return AX_EINVAL;
    if (size > AX_MSG_MAX) return AX_EMSGSIZE;
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) return AX_ENOMEM;
    int rc = 0;
    if (outside && atomic_load_explicit(&rt->phase, memory_order_acquire) != RT_RUNNING) {
        rc = AX_ESHUTDOWN;
        goto out;
    }
    uint32_t gen;
    struct timer_rec *r = rec_alloc(rt, thr, &gen);
    if (!r) {
        rc = AX_ENOMEM;
        goto out;
    }
    if (size > TIMER_INLINE) {
        struct msg *m = msg_new(thr, size);
        if (!m) {
            slots_free(&rt->timers, &thr->timer_slots, r->index);
            rc = AX_ENOMEM;
            goto out;
        }
        memcpy(m->pub.data, data, size);
        m->pub.size = (uint32_t)size;
        set_msg(r, m);
        r->big = 1;
    } else if (size) {
        memcpy(r->data, data, size);
    }
    r->to = to;
    r->owner = thr->current ? ((struct actor *)thr->current)->ref : AX_REF_NONE;
    r->kind = TIMER_SEND;
    r->type = type;
    r->size = size > TIMER_INLINE ? 0 : (uint16_t)size; /* big: the message holds its size */
    r->period_ms = (uint32_t)period_ms;
    ax_timer h = arm(rt, thr, r, gen, delay_ms);
    if (out) *out = h;
out:
    rt_leave(thr, outside);
    return rc;
}

int ax_send_after(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                  int64_t delay_ms, ax_timer *out) {
    if (type >= AX_MSG_RESERVED) return AX_EINVAL;
    return timer_send_later(rt, to, type, data, size, delay_ms, 0, out);
}

int ax_send_interval(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                     int64_t period_ms, ax_timer *out) {
    if (period_ms < 1 || period_ms > UINT32_MAX || type >= AX_MSG_RESERVED) return AX_EINVAL;
    return timer_send_later(rt, to, type, data, size, period_ms, period_ms, out);
}

static int timer_cancel(ax_runtime *rt, ax_timer t) {
    struct timer_rec *r = slots_at(&rt->timers, (uint32_t)t.id);
    uint32_t gen = (uint32_t)(t.id >> 32);
    if (!r || gen == 0 || gen > TIMER_GEN_MAX) return AX_ENOENT;
    for (;;) {
        uint32_t st = atomic_load_explicit(&r->state, memory_order_acquire);
        if (st >> 2 != gen) return AX_ENOENT;
        if ((st & 3u) == ST_FIRING) { /* one delivery: wait for it to finish */
            core_cpu_relax();
            continue;
        }
        if ((st & 3u) != ST_ARMED) return AX_ENOENT;
        /* acq_rel: pairs with timer_fire's CAS; exactly one of the two wins. */
        if (atomic_compare_exchange_weak_explicit(&r->state, &st, (st & ~3u) | ST_CANCELLED,
                                                  memory_order_acq_rel, memory_order_acquire))
            return 0;
    }
}

int timer_init(ax_runtime *rt) {
    rt->sched.timer_fire = timer_fire;
    rt->ask_timeout_arm = timer_arm_ask;
    rt->ask_timeout_cancel = timer_cancel;
    return slots_init(&rt->timers, sizeof(struct timer_rec),
                      (uint32_t)offsetof(struct timer_rec, type));
}

int ax_timer_cancel(ax_runtime *rt, ax_timer timer) {
    if (!rt) return AX_EINVAL;
    return timer_cancel(rt, timer);
}
