/* ask.c: request/response. ax_ask (inside a handler) records a continuation, sends the request
 * and arms a timeout; the reply or the timeout arrives as a message to the asker, so the
 * continuation runs on the asking actor and exactly once. ax_ask_wait bridges outside threads
 * through a short-lived proxy actor. Timeouts use the worker's deadline heap for now. */
#include <stdlib.h>
#include <string.h>

#include "actor/actor.h"

/* Records and timers travel as pooled messages (payload = the struct), so that they come from
 * the thread's pool and can be freed from any worker with msg_release. */
struct ask_pending {
    struct ask_pending *next;
    ax_ask_fn fn;
    void *user;
    uint32_t corr;
};

struct ask_timer {
    struct sched_timer timer;
    ax_ref asker;
};

static struct msg *carrier_of(void *payload) {
    return (struct msg *)((char *)payload - offsetof(struct msg, pub.data));
}

/* The deadline passed: the timer's own message goes to the asker as the timeout notice. */
static void ask_timer_fire(struct sched_task *t, struct sched_thread *self) {
    struct ask_timer *at = (struct ask_timer *)((char *)t - offsetof(struct ask_timer, timer.task));
    struct msg *m = carrier_of(at);
    ax_runtime *rt = self ? (ax_runtime *)self->s : NULL;
    if (!self) { /* destroy: pooled carriers go with their pools */
        if (m->owner == MSG_OWNER_MALLOC) free(m);
        return;
    }
    m->pub.size = 0;
    if (actor_deliver(rt, self, at->asker, m, true) != 0) msg_release(rt, self, m);
}

int ax_ask(ax_ctx *ctx, ax_ref to, uint32_t type, const void *data, size_t size,
           int64_t timeout_ms, ax_ask_fn cont, void *user) {
    if (!ctx || !cont || timeout_ms <= 0 || type >= AX_MSG_RESERVED || (size && !data))
        return AX_EINVAL;
    if (size > AX_MSG_MAX) return AX_EMSGSIZE;
    struct sched_thread *thr = ctx->thr;
    struct actor *a = ctx->self;
    if (!thr->worker) return AX_ECONTEXT; /* init on an outside thread: no deadline heap */
    struct msg *req = msg_new(thr, size);
    struct msg *pm = msg_new(thr, sizeof(struct ask_pending));
    struct msg *tm = msg_new(thr, sizeof(struct ask_timer));
    if (!req || !pm || !tm) {
        if (req) msg_release(ctx->rt, thr, req);
        if (pm) msg_release(ctx->rt, thr, pm);
        if (tm) msg_release(ctx->rt, thr, tm);
        return AX_ENOMEM;
    }
    if (++a->next_corr == 0) ++a->next_corr;
    uint32_t corr = a->next_corr;

    struct ask_timer *at = (struct ask_timer *)tm->pub.data;
    at->timer.task.run = ask_timer_fire;
    int64_t ms = timeout_ms > INT64_MAX / 2000000 ? INT64_MAX / 2000000 : timeout_ms;
    at->timer.deadline_ns = core_now_ns() + ms * 1000000;
    at->asker = a->ref;
    tm->corr = corr;
    tm->flags = MSG_SYS_TIMEOUT;
    tm->pub.sender = AX_REF_NONE;
    tm->pub.type = 0;
    /* Armed before the send: if the send fails the timer still fires, finds no pending ask
     * with this corr, and is dropped; so a failed ax_ask never runs cont. */
    if (sched_timer_add(thr, &at->timer) != 0) {
        msg_release(ctx->rt, thr, req);
        msg_release(ctx->rt, thr, pm);
        msg_release(ctx->rt, thr, tm);
        return AX_ENOMEM;
    }

    req->pub.sender = a->ref;
    req->pub.type = type;
    req->pub.size = (uint32_t)size;
    if (size) memcpy(req->pub.data, data, size);
    req->corr = corr;
    int rc = actor_deliver(ctx->rt, thr, to, req, false);
    if (rc != 0) {
        msg_release(ctx->rt, thr, req);
        msg_release(ctx->rt, thr, pm);
        return rc;
    }
    struct ask_pending *p = (struct ask_pending *)pm->pub.data;
    p->fn = cont;
    p->user = user;
    p->corr = corr;
    p->next = a->asks;
    a->asks = p;
    return 0;
}

/* Runs the continuation that m (a reply or a timeout notice) completes, if it is pending.
 * Returns the continuation's result; *handled false if no ask was pending. */
int ask_dispatch(ax_ctx *ctx, struct msg *m, bool *handled) {
    struct actor *a = ctx->self;
    struct ask_pending **pp = &a->asks, *p;
    while ((p = *pp) != NULL && p->corr != m->corr) pp = &p->next;
    *handled = (p != NULL);
    if (!p) return 0;
    *pp = p->next;
    ax_ask_fn fn = p->fn;
    void *user = p->user;
    msg_release(ctx->rt, ctx->thr, carrier_of(p));
    if (m->flags & MSG_REPLY) {
        stats_add(&ctx->thr->stats, STAT_PROCESSED, 1);
        return fn(ctx, a->state, 0, &m->pub, user);
    }
    return fn(ctx, a->state, AX_ETIMEDOUT, NULL, user);
}

void ask_discard_all(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    while (a->asks) {
        struct ask_pending *p = a->asks;
        a->asks = p->next;
        msg_release(rt, thr, carrier_of(p));
    }
}

/* ---- ax_ask_wait ------------------------------------------------------------------------- */

enum { WAIT_PENDING = 0, WAIT_DONE = 1, WAIT_TIMED_OUT = 2 };

struct waiter {
    _Atomic uint32_t state; /* futex word */
    _Atomic int refs;       /* the asking thread and the proxy */
    ax_msg *reply;
};

static void waiter_put(struct waiter *w) {
    /* acq_rel: the last owner sees the other's writes before freeing. */
    if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) == 1) free(w);
}

static int proxy_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    memcpy(state, arg, sizeof(struct waiter *));
    return 0;
}

static int proxy_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct waiter *w = *(struct waiter **)state;
    struct msg *copy = msg_new(ctx->thr, msg->size);
    if (copy) {
        copy->pub = *msg;
        memcpy(copy->pub.data, msg->data, msg->size);
        w->reply = &copy->pub;
        uint32_t pending = WAIT_PENDING;
        /* release: the reply is written before the waiter can see DONE (its acquire load). */
        if (atomic_compare_exchange_strong_explicit(&w->state, &pending, WAIT_DONE,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire)) {
            core_futex_wake(&w->state, 1);
        } else {
            w->reply = NULL;
            deadletter_post(ctx->rt, ctx->thr, ax_self(ctx), copy, AX_DEAD_LATE_REPLY);
        }
    }
    ax_stop(ctx->rt, ax_self(ctx));
    return 0;
}

static void proxy_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)reason;
    waiter_put(*(struct waiter **)state);
}

static const ax_behavior proxy_behavior = {"ax_ask_wait", sizeof(struct waiter *), proxy_init,
                                           proxy_receive, proxy_stopped};

static int send_request(ax_runtime *rt, ax_ref proxy, ax_ref to, uint32_t type, const void *data,
                        size_t size) {
    struct sched_thread *thr = sched_outside_enter(&rt->sched);
    if (!thr) return AX_ENOMEM;
    int rc = AX_ESHUTDOWN;
    if (atomic_load_explicit(&rt->phase, memory_order_acquire) == RT_RUNNING) {
        struct msg *m = msg_new(thr, size);
        rc = AX_ENOMEM;
        if (m) {
            m->pub.sender = proxy;
            m->pub.type = type;
            m->pub.size = (uint32_t)size;
            if (size) memcpy(m->pub.data, data, size);
            rc = actor_deliver(rt, thr, to, m, false);
            if (rc) msg_release(rt, thr, m);
        }
    }
    sched_outside_leave(thr);
    return rc;
}

int ax_ask_wait(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                int64_t timeout_ms, ax_msg **reply) {
    if (!rt || !reply || timeout_ms <= 0 || type >= AX_MSG_RESERVED || (size && !data))
        return AX_EINVAL;
    if (size > AX_MSG_MAX) return AX_EMSGSIZE;
    if (sched_worker_self(&rt->sched)) return AX_ECONTEXT;
    *reply = NULL;
    struct waiter *w = calloc(1, sizeof *w);
    if (!w) return AX_ENOMEM;
    atomic_store(&w->refs, 2);
    ax_ref proxy;
    int rc = ax_spawn(rt, &proxy_behavior, &w, NULL, &proxy);
    if (rc != 0) {
        free(w);
        return rc;
    }
    rc = send_request(rt, proxy, to, type, data, size);
    if (rc == 0) {
        int64_t ms = timeout_ms > INT64_MAX / 2000000 ? INT64_MAX / 2000000 : timeout_ms;
        int64_t deadline = core_now_ns() + ms * 1000000;
        for (;;) {
            /* acquire: pairs with the release CAS in proxy_receive. */
            if (atomic_load_explicit(&w->state, memory_order_acquire) != WAIT_PENDING) break;
            int64_t left = deadline - core_now_ns();
            if (left <= 0) break;
            core_futex_wait(&w->state, WAIT_PENDING, left);
        }
        uint32_t pending = WAIT_PENDING;
        if (atomic_compare_exchange_strong_explicit(&w->state, &pending, WAIT_TIMED_OUT,
                                                    memory_order_acq_rel, memory_order_acquire))
            rc = AX_ETIMEDOUT;
        else
            *reply = w->reply;
    }
    if (rc != 0) ax_stop(rt, proxy); /* on success the proxy stops itself */
    waiter_put(w);
    return rc;
}
