/* SPDX-License-Identifier: MIT */
/* ask.c: request/response. ax_ask (inside a handler) records a continuation, sends the request
 * and arms a timeout; the reply or the timeout arrives as a message to the asker, so the
 * continuation runs on the asking actor and exactly once. ax_ask_wait bridges outside threads
 * through one reply-sink actor per runtime. Timeouts are timers (time/timer.c, reached through
 * the runtime's hooks), cancelled when the reply wins. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "actor/ask.h"
#include "actor/deliver.h"
#include "core/duration.h"
#include "core/zero.h"
#include "mem/fault.h"

/* Pending records travel as pooled messages (payload = the struct), so that they come from
 * the thread's pool and can be freed from any worker with msg_release. */
struct ask_pending {
    struct ask_pending *next;
    ax_ask_fn fn;
    void *user;
    ax_timer timeout; /* cancelled when the reply wins */
    uint32_t corr;
};

static struct msg *carrier_of(void *payload) {
    return (struct msg *)((char *)payload - offsetof(struct msg, pub.data));
}

int ax_ask(ax_ctx *ctx, ax_ref to, uint32_t type, const void *data, size_t size,
           const ax_ask_opts *opts) {
    if (!ctx || !opts || !opts->cont || opts->timeout_ms <= 0 || type >= AX_MSG_RESERVED ||
        (size && !data) || !core_all_zero(opts->reserved, sizeof opts->reserved))
        return AX_EINVAL;
    if (size > AX_MSG_MAX) return AX_EMSGSIZE;
    struct sched_thread *thr = ctx->thr;
    struct actor *a = ctx->self;
    struct actor_ext *e = actor_ext_get(thr, a);
    if (!e) return AX_ENOMEM;
    struct msg *pm = msg_new(thr, sizeof(struct ask_pending));
    if (!pm) return AX_ENOMEM;
    if (++e->next_corr == 0) ++e->next_corr;
    uint32_t corr = e->next_corr;
    /* The reply cannot overtake us: it is handled on this actor, after this handler. */
    int rc = msg_send_copy(ctx->rt, thr, to, a->ref, type, data, size, corr, 0);
    ax_timer timeout = AX_TIMER_NONE;
    if (rc == 0) timeout = ctx->rt->ask_timeout_arm(ctx->rt, thr, a->ref, corr, opts->timeout_ms);
    if (rc == 0 && ax_timer_is_none(timeout)) rc = AX_ENOMEM; /* sent, but cont would hang */
    if (rc != 0) {
        msg_release(ctx->rt, thr, pm);
        return rc;
    }
    struct ask_pending *p = (struct ask_pending *)pm->pub.data;
    p->fn = opts->cont;
    p->user = opts->user;
    p->timeout = timeout;
    p->corr = corr;
    p->next = e->asks;
    e->asks = p;
    return 0;
}

/* Runs the continuation that m (a reply or a timeout notice) completes, if it is pending.
 * Returns the continuation's result; *handled false if no ask was pending. */
int ask_dispatch(ax_ctx *ctx, struct msg *m, bool *handled) {
    struct actor *a = ctx->self;
    *handled = false;
    if (!a->ext) return 0;
    struct ask_pending **pp = &a->ext->asks, *p;
    while ((p = *pp) != NULL && p->corr != m->corr) pp = &p->next;
    *handled = (p != NULL);
    if (!p) return 0;
    *pp = p->next;
    ax_ask_fn fn = p->fn;
    void *user = p->user;
    ax_timer timeout = p->timeout;
    msg_release(ctx->rt, ctx->thr, carrier_of(p));
    if (m->flags & MSG_REPLY) { /* the reply is a user message: processed, or failed */
        ctx->rt->ask_timeout_cancel(ctx->rt, timeout);
        int rc = fn(ctx, a->state, 0, &m->pub, user);
        stats_add(&ctx->thr->stats, rc == 0 && !ctx->failed ? STAT_PROCESSED : STAT_FAILED, 1);
        return rc;
    }
    return fn(ctx, a->state, AX_ETIMEDOUT, NULL, user);
}

void ask_discard_all(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    while (a->ext && a->ext->asks) {
        struct ask_pending *p = a->ext->asks;
        a->ext->asks = p->next;
        rt->ask_timeout_cancel(rt, p->timeout);
        msg_release(rt, thr, carrier_of(p));
    }
}

/* ---- ax_ask_wait ------------------------------------------------------------------------- *
 * One long-lived "sink" actor per runtime is the sender of every blocking request; replies to
 * it carry the request's corr, and the sink hands each to the thread waiting for that corr. A
 * reply whose waiter gave up finds no entry and becomes a dead letter, like a late ax_ask reply.
 * Waiters sit on the caller's stack, linked in a short list under a mutex (one per waiting
 * thread: this is the bridge for main and foreign threads, not a hot path). */

/* A waiter's state: pending, answered, or else the (negative) code the caller returns, stored as
 * uint32_t: AX_ESHUTDOWN, or AX_ENOACTOR / AX_EFULL when the request became a dead letter. */
enum { WAIT_PENDING = 0, WAIT_DONE = 1 };

struct waiter {
    struct waiter *next;
    uint32_t corr;
    _Atomic uint32_t state; /* futex word */
    ax_msg *reply;
};

struct ask_waiters {
    pthread_mutex_t lock;
    struct waiter *list;
    _Atomic uint32_t next_corr;
    _Atomic int inside; /* threads inside ax_ask_wait: destroy waits for them to leave */
};

static bool unlink_waiter(struct ask_waiters *ws, struct waiter *w) {
    for (struct waiter **p = &ws->list; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return true;
        }
    }
    return false;
}

/* The waiter of corr, or NULL if it gave up; the caller holds the lock. */
static struct waiter *find_waiter_locked(struct ask_waiters *ws, uint32_t corr) {
    struct waiter *w = ws->list;
    while (w && w->corr != corr) w = w->next;
    return w;
}

/* Ends w's wait with `state`; the caller holds the lock and has unlinked w. */
static void wake_waiter_locked(struct waiter *w, uint32_t state) {
    /* release: what the waker wrote (the reply) happens before the waiter sees the state (its
     * acquire load). The waiter takes the lock once more before returning, so the wake below
     * cannot touch a waiter that has left. */
    atomic_store_explicit(&w->state, state, memory_order_release);
    core_futex_wake(&w->state, 1);
}

void ask_wait_deliver(ax_ctx *ctx, struct msg *m) {
    struct ask_waiters *ws = ctx->rt->waiters;
    struct msg *copy = msg_new(ctx->thr, m->pub.size);
    pthread_mutex_lock(&ws->lock);
    struct waiter *w = find_waiter_locked(ws, m->corr);
    if (w && copy) {
        unlink_waiter(ws, w);
        copy->pub = m->pub;
        memcpy(copy->pub.data, m->pub.data, m->pub.size);
        w->reply = &copy->pub;
        wake_waiter_locked(w, WAIT_DONE);
    }
    pthread_mutex_unlock(&ws->lock);
    if (!w || !copy) {
        if (copy) msg_release(ctx->rt, ctx->thr, copy);
        deadletter_note(ctx->rt, ctx->thr, ctx->self->ref, m, AX_DEAD_LATE_REPLY);
    }
}

void ask_wait_refused(ax_runtime *rt, const struct msg *m, int reason) {
    struct ask_waiters *ws = rt->waiters;
    if (!ax_ref_eq(m->pub.sender, rt->ask_sink) || !m->corr || (m->flags & MSG_REPLY) || !ws) return;
    pthread_mutex_lock(&ws->lock);
    struct waiter *w = find_waiter_locked(ws, m->corr);
    if (w) {
        unlink_waiter(ws, w);
        wake_waiter_locked(w, (uint32_t)(reason == AX_DEAD_FULL ? AX_EFULL : AX_ENOACTOR));
    }
    pthread_mutex_unlock(&ws->lock);
}

static int sink_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state, (void)msg; /* only replies matter; they bypass receive */
    return 0;
}

static const ax_behavior sink_behavior = {"ax_ask_wait", 0, NULL, sink_receive, NULL};

int ask_waiters_create(ax_runtime *rt) {
    struct ask_waiters *ws = mem_calloc(1, sizeof *ws);
    if (!ws) return AX_ENOMEM;
    pthread_mutex_init(&ws->lock, NULL);
    rt->waiters = ws;
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    int rc = thr ? actor_spawn_internal(rt, thr, &sink_behavior, &rt->ask_sink) : AX_ENOMEM;
    if (thr) rt_leave(thr, outside);
    return rc;
}

void ask_waiters_cancel_all(ax_runtime *rt) {
    struct ask_waiters *ws = rt->waiters;
    pthread_mutex_lock(&ws->lock);
    while (ws->list) {
        struct waiter *w = ws->list;
        ws->list = w->next;
        wake_waiter_locked(w, (uint32_t)AX_ESHUTDOWN);
    }
    pthread_mutex_unlock(&ws->lock);
}

void ask_waiters_destroy(ax_runtime *rt) {
    if (!rt->waiters) return;
    /* A thread released by ask_waiters_cancel_all still takes the lock once on its way out. */
    while (atomic_load_explicit(&rt->waiters->inside, memory_order_acquire) != 0) sched_yield();
    pthread_mutex_destroy(&rt->waiters->lock);
    free(rt->waiters);
    rt->waiters = NULL;
}

static int send_request(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                        uint32_t corr) {
    struct sched_thread *thr = sched_outside_enter(&rt->sched);
    if (!thr) return AX_ENOMEM;
    int rc = AX_ESHUTDOWN;
    if (atomic_load_explicit(&rt->phase, memory_order_acquire) == RT_RUNNING)
        rc = msg_send_copy(rt, thr, to, rt->ask_sink, type, data, size, corr, 0);
    sched_outside_leave(thr);
    return rc;
}

int ax_ask_wait(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                int64_t timeout_ms, ax_msg **reply) {
    if (type >= AX_MSG_RESERVED) return AX_EINVAL;
    return ask_wait_any(rt, to, type, data, size, timeout_ms, reply);
}

int ask_wait_any(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                 int64_t timeout_ms, ax_msg **reply) {
    if (!rt || !reply || timeout_ms <= 0 || (size && !data)) return AX_EINVAL;
    if (size > AX_MSG_MAX) return AX_EMSGSIZE;
    if (sched_worker_self(&rt->sched)) return AX_ECONTEXT;
    *reply = NULL;
    struct ask_waiters *ws = rt->waiters;
    atomic_fetch_add_explicit(&ws->inside, 1, memory_order_relaxed);
    struct waiter w = {NULL, 0, WAIT_PENDING, NULL};
    do w.corr = atomic_fetch_add_explicit(&ws->next_corr, 1, memory_order_relaxed) + 1;
    while (w.corr == 0);
    pthread_mutex_lock(&ws->lock);
    w.next = ws->list;
    ws->list = &w;
    pthread_mutex_unlock(&ws->lock);

    int rc = send_request(rt, to, type, data, size, w.corr);
    int64_t deadline = core_deadline_ms(core_now_ns(), timeout_ms);
    /* acquire: pairs with the release store in ask_wait_deliver. */
    while (rc == 0 && atomic_load_explicit(&w.state, memory_order_acquire) == WAIT_PENDING) {
        int64_t left = deadline - core_now_ns();
        if (left <= 0) break;
        core_futex_wait(&w.state, WAIT_PENDING, left);
    }
    pthread_mutex_lock(&ws->lock);
    bool still_waiting = unlink_waiter(ws, &w);
    pthread_mutex_unlock(&ws->lock);
    if (rc == 0 && still_waiting) rc = AX_ETIMEDOUT;
    uint32_t state = atomic_load_explicit(&w.state, memory_order_acquire);
    if (rc == 0 && state != WAIT_DONE && state != WAIT_PENDING) rc = (int)state; /* refused */
    if (rc == 0) *reply = w.reply;
    /* release: our last use of ws happens before destroy's acquire load sees zero. */
    atomic_fetch_sub_explicit(&ws->inside, 1, memory_order_release);
    return rc;
}
