/* SPDX-License-Identifier: MIT */
/* send.c: messages on their way: pooled allocation and release, ax_send (copying), the
 * zero-copy pair ax_msg_alloc/ax_msg_send, ax_reply, and the context accessors.
 * Hot path from a worker: TLS check, pool pop, copy, one exchange in actor_deliver. */
#include <stdlib.h>
#include <string.h>

#include "actor/deliver.h"
#include "mem/fault.h"

struct msg *msg_new_slow(struct sched_thread *thr, size_t size) {
    size_t bytes = sizeof(struct msg) + size;
    unsigned cls = pool_class_of(bytes);
    struct msg *m;
    if (thr && cls != POOL_CLASS_LARGE) {
        if (!(m = pool_alloc(&thr->pool, cls))) return NULL;
        m->owner = thr->id;
    } else {
        if (!(m = mem_aligned_alloc(16, (bytes + 15) & ~(size_t)15))) return NULL;
        m->owner = MSG_OWNER_MALLOC;
    }
    m->cls = (uint8_t)cls;
    m->corr = 0;
    m->flags = 0;
    return m;
}

/* A worker gathers its frees into other pools (pool_remote_batch; search() flushes before the
 * worker idles); an outside thread, which may not come back, frees at once. */
void msg_release_slow(ax_runtime *rt, struct sched_thread *thr, struct msg *m) {
    if (m->owner == MSG_OWNER_MALLOC) {
        free(m);
        return;
    }
    struct sched_thread *owner =
        atomic_load_explicit(&rt->sched.threads[m->owner], memory_order_acquire);
    if (thr && thr->worker) pool_free_remote_batched(&thr->remote_frees, &owner->pool, m->cls, m);
    else pool_free_remote(&owner->pool, m->cls, m);
}

struct sched_thread *rt_enter(ax_runtime *rt, bool *outside) {
    struct sched_thread *t = sched_worker_self(&rt->sched);
    *outside = (t == NULL);
    return t ? t : sched_outside_enter(&rt->sched);
}

static ax_ref current_ref(const struct sched_thread *thr) {
    return thr->current ? ((const struct actor *)thr->current)->ref : AX_REF_NONE;
}

/* Outside threads may not send once shutdown began; workers may until they stop. */
static int check_phase(ax_runtime *rt, const struct sched_thread *thr) {
    if (!thr->worker && atomic_load_explicit(&rt->phase, memory_order_acquire) != RT_RUNNING)
        return AX_ESHUTDOWN;
    return 0;
}

static int send_copy(ax_runtime *rt, struct sched_thread *thr, ax_ref to, uint32_t type,
                     const void *data, size_t size) {
    return msg_send_copy(rt, thr, to, current_ref(thr), type, data, size, 0, 0);
}

static int check_payload(uint32_t type, const void *data, size_t size) {
    if (type >= AX_MSG_RESERVED || (size && !data)) return AX_EINVAL;
    if (size > AX_MSG_MAX) return AX_EMSGSIZE;
    return 0;
}

int ax_send(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size) {
    if (ax_unlikely(!rt)) return AX_EINVAL;
    int rc = check_payload(type, data, size);
    if (ax_unlikely(rc)) return rc;
    return actor_send_any(rt, to, type, data, size);
}

int actor_send_any(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size) {
    int rc;
    struct sched_thread *thr = sched_worker_self(&rt->sched);
    if (ax_likely(thr)) return send_copy(rt, thr, to, type, data, size);
    if (!(thr = sched_outside_enter(&rt->sched))) return AX_ENOMEM;
    rc = check_phase(rt, thr);
    if (!rc) rc = send_copy(rt, thr, to, type, data, size);
    sched_outside_leave(thr);
    return rc;
}

int ax_msg_alloc(ax_runtime *rt, size_t size, ax_msg **out) {
    if (!rt || !out) return AX_EINVAL;
    if (size > AX_MSG_MAX) return AX_EMSGSIZE;
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) return AX_ENOMEM;
    int rc = check_phase(rt, thr);
    if (!rc) {
        struct msg *m = msg_new(thr, size);
        if (m) {
            m->pub.sender = AX_REF_NONE;
            m->pub.type = 0;
            m->pub.size = (uint32_t)size;
            *out = &m->pub;
        } else {
            rc = AX_ENOMEM;
        }
    }
    rt_leave(thr, outside);
    return rc;
}

int ax_msg_send(ax_runtime *rt, ax_ref to, uint32_t type, ax_msg *msg) {
    if (!rt || !msg) return AX_EINVAL;
    if (type >= AX_MSG_RESERVED) return AX_EINVAL;
    if (msg->size > AX_MSG_MAX) return AX_EMSGSIZE;
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) return AX_ENOMEM;
    int rc = check_phase(rt, thr);
    if (!rc) {
        struct msg *m = msg_of(msg);
        m->pub.sender = current_ref(thr);
        m->pub.type = type;
        m->corr = 0;
        m->flags = 0;
        rc = actor_deliver(rt, thr, to, m, false);
    }
    rt_leave(thr, outside);
    return rc;
}

int ax_msg_free(ax_runtime *rt, ax_msg *msg) {
    if (!rt || !msg) return AX_EINVAL;
    msg_release(rt, sched_worker_self(&rt->sched), msg_of(msg));
    return 0;
}

int ax_reply(ax_ctx *ctx, uint32_t type, const void *data, size_t size) {
    if (!ctx || !ctx->cur) return AX_EINVAL;
    int rc = check_payload(type, data, size);
    if (rc) return rc;
    struct msg *cur = ctx->cur;
    if (ax_ref_is_none(cur->pub.sender)) return AX_ENOACTOR;
    bool answers_ask = cur->corr && !(cur->flags & MSG_REPLY);
    return msg_send_copy(ctx->rt, ctx->thr, cur->pub.sender, ctx->self->ref, type, data, size,
                         answers_ask ? cur->corr : 0, answers_ask ? MSG_REPLY : 0);
}

ax_ref ax_self(const ax_ctx *ctx) { return ctx && ctx->self ? ctx->self->ref : AX_REF_NONE; }

ax_runtime *ax_ctx_runtime(const ax_ctx *ctx) { return ctx ? ctx->rt : NULL; }

uint64_t ax_restarts(const ax_ctx *ctx, int *prev_reason) {
    if (!ctx) return 0;
    if (prev_reason) *prev_reason = ctx->prev_reason;
    return ctx->restarts;
}
