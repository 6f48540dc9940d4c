/* SPDX-License-Identifier: MIT */
/* transport.c: the runtime's side of axon_transport.h. Outbound, a send or signal whose ref names
 * another node goes to the attached transport (only after the local lookup missed: the local hot
 * path is unchanged); inbound, what the transport received is delivered as from an outside
 * thread, one runtime entry for a whole batch. */
#include <pthread.h>
#include <string.h>

#include "actor/deliver.h"
#include "actor/signals.h"

/* The attached transport, or NULL. */
static const ax_transport *attached(ax_runtime *rt) {
    /* acquire: pairs with the release store in ax_transport_attach (the hooks are written). */
    return atomic_load_explicit(&rt->transport_on, memory_order_acquire) ? &rt->transport : NULL;
}

static int in_turn(const struct sched_thread *thr) { return thr->worker && thr->current; }

/* A transport's answer: 1 (queued) asks for a flush at the turn's end; errors pass on. */
static int took(struct sched_thread *thr, int rc) {
    if (rc == 1) {
        thr->transport_queued = true;
        return 0;
    }
    return rc;
}

int transport_send(ax_runtime *rt, struct sched_thread *thr, ax_ref to, struct msg *m) {
    const ax_transport *t = attached(rt);
    if (!t) return AX_ENOACTOR;
    ax_wire_msg w = {to, m->pub.sender, m->pub.type, m->pub.size, m->corr, m->flags, m->pub.data};
    int rc = took(thr, t->send(t->ctx, &w, in_turn(thr)));
    if (rc == 0) msg_release(rt, thr, m);
    return rc;
}

int transport_signal(ax_runtime *rt, struct sched_thread *thr, int kind, ax_ref to, ax_ref from,
                     uint64_t id, int reason) {
    const ax_transport *t = attached(rt);
    if (!t) return AX_ENOACTOR;
    return took(thr, t->signal(t->ctx, kind, to, from, id, reason, in_turn(thr)));
}

void transport_flush_slow(ax_runtime *rt, struct sched_thread *thr) {
    thr->transport_queued = false;
    rt->transport.flush(rt->transport.ctx);
}

int ax_transport_on_worker(ax_runtime *rt) { return rt && sched_worker_self(&rt->sched) ? 1 : 0; }

uint32_t ax_runtime_node(const ax_runtime *rt) { return rt ? rt->node : 0; }

int ax_transport_attach(ax_runtime *rt, const ax_transport *t) {
    if (!rt || !t || !t->send || !t->signal || !t->flush || rt->node == 0) return AX_EINVAL;
    if (sched_worker_self(&rt->sched)) return AX_ECONTEXT;
    if (atomic_load_explicit(&rt->phase, memory_order_acquire) != RT_RUNNING) return AX_ESHUTDOWN;
    if (atomic_load_explicit(&rt->transport_on, memory_order_acquire)) return AX_EEXIST;
    static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&attach_lock);
    int rc = AX_EEXIST;
    if (!atomic_load_explicit(&rt->transport_on, memory_order_relaxed)) {
        rt->transport = *t;
        /* release: pairs with the acquire load in attached(). */
        atomic_store_explicit(&rt->transport_on, true, memory_order_release);
        rc = 0;
    }
    pthread_mutex_unlock(&attach_lock);
    return rc;
}

void transport_release(ax_runtime *rt) {
    if (attached(rt) && rt->transport.release) rt->transport.release(rt->transport.ctx);
}

/* Enters rt from the calling thread: a worker (a transport reporting from inside a send) or an
 * outside thread (its receiving thread), which may not once shutdown began. */
static int enter(ax_runtime *rt, struct sched_thread **out, bool *outside) {
    struct sched_thread *thr = rt_enter(rt, outside);
    if (!thr) return AX_ENOMEM;
    if (*outside && atomic_load_explicit(&rt->phase, memory_order_acquire) != RT_RUNNING) {
        rt_leave(thr, *outside);
        return AX_ESHUTDOWN;
    }
    *out = thr;
    return 0;
}

/* A copy of a wire message, as the runtime holds messages; NULL when out of memory. */
static struct msg *msg_of_wire(struct sched_thread *thr, const ax_wire_msg *w) {
    struct msg *m = msg_new(thr, w->size);
    if (!m) return NULL;
    m->pub.sender = w->from;
    m->pub.type = w->type;
    m->pub.size = w->size;
    msg_copy_payload(m->pub.data, w->data, w->size);
    m->corr = w->corr;
    m->flags = (uint8_t)w->flags;
    return m;
}

static int deliver_one(ax_runtime *rt, struct sched_thread *thr, const ax_wire_msg *w) {
    if (ref_is_foreign(rt, w->to) || w->type >= AX_MSG_RESERVED || (w->size && !w->data) ||
        (w->flags & ~(uint32_t)MSG_REPLY))
        return AX_EINVAL;
    if (w->size > AX_MSG_MAX) return AX_EMSGSIZE;
    struct msg *m = msg_of_wire(thr, w);
    if (!m) return AX_ENOMEM;
    int rc = actor_deliver(rt, thr, w->to, m, false);
    if (rc != 0) msg_release(rt, thr, m);
    return rc;
}

int ax_transport_deliver(ax_runtime *rt, const ax_wire_msg *msgs, size_t n, int *results) {
    if (!rt || (!msgs && n)) return AX_EINVAL;
    if (sched_worker_self(&rt->sched)) return AX_ECONTEXT;
    struct sched_thread *thr;
    bool outside;
    int rc = enter(rt, &thr, &outside);
    if (rc) return rc;
    int delivered = 0;
    for (size_t i = 0; i < n; i++) {
        int r = deliver_one(rt, thr, &msgs[i]);
        if (r == 0) delivered++;
        if (results) results[i] = r;
    }
    rt_leave(thr, outside);
    return delivered;
}

int ax_transport_signal(ax_runtime *rt, int kind, ax_ref to, ax_ref from, uint64_t id,
                        int reason) {
    if (!rt || kind < AX_WIRE_LINK || kind > AX_WIRE_DOWN) return AX_EINVAL;
    if (ref_is_foreign(rt, to)) return AX_EINVAL;
    struct sched_thread *thr;
    bool outside;
    int rc = enter(rt, &thr, &outside);
    if (rc) return rc;
    if (kind == AX_WIRE_DOWN) rc = signal_send_down(rt, thr, to, from, id, reason);
    else rc = signal_send(rt, thr, to, (uint32_t)kind, from, id, reason);
    rt_leave(thr, outside);
    return rc;
}

int ax_transport_dead_letter(ax_runtime *rt, const ax_wire_msg *w, int reason) {
    if (!rt || !w || (w->size && !w->data)) return AX_EINVAL;
    if (w->size > AX_MSG_MAX) return AX_EMSGSIZE;
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) return AX_ENOMEM;
    int rc = AX_ENOMEM;
    struct msg *m = msg_of_wire(thr, w);
    if (m) {
        deadletter_post(rt, thr, w->to, m, reason);
        rc = 0;
    }
    rt_leave(thr, outside);
    return rc;
}
