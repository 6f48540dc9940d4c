/* SPDX-License-Identifier: MIT */
/* deliver.h: the send path, inline because it crosses pool, ref table, mailbox and scheduler; and
 * dead letters, where a delivery that fails ends (deadletter.c). Not installed. */
#ifndef AX_ACTOR_DELIVER_H
#define AX_ACTOR_DELIVER_H

#include <string.h>

#include "actor/actor.h"
#include "actor/transport.h"
#include "core/probes.h"

/* Finds the live actor behind ref (the caller is a worker or inside sched_outside_enter). */
static inline struct actor *actor_lookup(ax_runtime *rt, ax_ref ref) {
    struct actor *a = reftable_get(&rt->refs, ref.id);
    return (a && ax_ref_eq(a->ref, ref)) ? a : NULL;
}

/* Makes a runnable: next on this worker, or through the inject queue from outside. */
static inline void actor_schedule(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    if (thr->worker) sched_wake_local(thr, &a->u.task);
    else sched_inject(&rt->sched, &a->u.task);
}

/* Queues m on a's mailbox and schedules a if the mailbox was idle. */
static inline void actor_push(ax_runtime *rt, struct sched_thread *thr, struct actor *a,
                              struct msg *m) {
    AX_PROBE3(send, m->pub.sender.id, a->ref.id, m->pub.type);
    if (ax_unlikely(thr->trace)) /* the flight recorder: an arrow from here to the handler */
        trace_put(thr->trace, sched_trace_now(thr->s), TRACE_SEND, m->pub.type, a->ref.id,
                  m->pub.sender.id, (uintptr_t)m, NULL);
    if (mailbox_push(&a->mbox, &m->node)) actor_schedule(rt, thr, a);
}

/* A user message to a bounded mailbox: a full one applies `overflow` (AX_EFULL, or 0 and a
 * dead letter counted as sent). */
int actor_deliver_bounded(ax_runtime *rt, struct sched_thread *thr, struct actor *a,
                          struct msg *m, ax_overflow overflow);

/* A user message to a: counted as sent when accepted. */
static inline int actor_deliver_user(ax_runtime *rt, struct sched_thread *thr, struct actor *a,
                                     struct msg *m, ax_overflow overflow) {
    if (ax_unlikely(a->mbox_cap)) return actor_deliver_bounded(rt, thr, a, m, overflow);
    stats_add(&thr->stats, STAT_SENT, 1);
    actor_push(rt, thr, a, m);
    return 0;
}

/* `to` is not alive here: a ref of another node goes to the transport (transport_send's
 * contract), any other is AX_ENOACTOR. */
static inline int actor_deliver_absent(ax_runtime *rt, struct sched_thread *thr, ax_ref to,
                                       struct msg *m) {
    return ref_is_foreign(rt, to) ? transport_send(rt, thr, to, m) : AX_ENOACTOR;
}

/* Delivers m to the actor behind to (m's pub.type/size/sender set by the caller), here or, if
 * `to` names another node, through the transport. On success the runtime owns m. Errors:
 * AX_ENOACTOR, AX_EFULL, a transport's (caller keeps m). With the dead-letter overflow policy a
 * full mailbox gives 0 and a dead letter. thr may be a worker or an entered outside record.
 * sys: a runtime message (not counted, never refused for capacity). */
static inline int actor_deliver(ax_runtime *rt, struct sched_thread *thr, ax_ref to,
                                struct msg *m, bool sys) {
    struct actor *a = actor_lookup(rt, to);
    if (ax_unlikely(!a)) return actor_deliver_absent(rt, thr, to, m);
    if (!sys) return actor_deliver_user(rt, thr, a, m, (ax_overflow)a->overflow);
    actor_push(rt, thr, a, m);
    return 0;
}


/* Copies a payload; 8 to 16 bytes (an integer, a pointer, a pair of them: most messages) as two
 * overlapping 8-byte moves, inline, instead of a call into the C library's memcpy. */
static inline void msg_copy_payload(void *dst, const void *src, size_t size) {
    if (size >= 8 && size <= 16) {
        uint64_t head, tail;
        memcpy(&head, src, 8);
        memcpy(&tail, (const char *)src + size - 8, 8);
        memcpy(dst, &head, 8);
        memcpy((char *)dst + size - 8, &tail, 8);
    } else if (size) {
        memcpy(dst, src, size);
    }
}

/* Sends a copy of size bytes at data from `sender`, with an ask correlation and flags (0, or
 * MSG_REPLY). Returns as actor_deliver; on any error nothing was sent. */
static inline int msg_send_copy(ax_runtime *rt, struct sched_thread *thr, ax_ref to,
                                ax_ref sender, uint32_t type, const void *data, size_t size,
                                uint32_t corr, uint8_t flags) {
    struct msg *m = msg_new(thr, size);
    if (ax_unlikely(!m)) return AX_ENOMEM;
    m->pub.sender = sender;
    m->pub.type = type;
    m->pub.size = (uint32_t)size;
    msg_copy_payload(m->pub.data, data, size);
    m->corr = corr;
    m->flags = flags;
    int rc = actor_deliver(rt, thr, to, m, false);
    if (ax_unlikely(rc != 0)) msg_release(rt, thr, m);
    return rc;
}

/* Sends a runtime message type (>= AX_MSG_RESERVED) from the calling thread; as ax_send. */
int actor_send_any(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size);

/* Counts m as a dead letter and notifies the dead-letter actor if any; m stays the caller's. */
void deadletter_note(ax_runtime *rt, struct sched_thread *thr, ax_ref target,
                     const struct msg *m, int reason);
/* The same, then frees m. */
void deadletter_post(ax_runtime *rt, struct sched_thread *thr, ax_ref target, struct msg *m,
                     int reason);
/* A message the runtime sends on someone's behalf later (a timer's, a blocking job's result):
 * delivered as a user message, or, if `to` has stopped or its mailbox is full (whatever its
 * overflow policy), a dead letter that never counted in `sent`. The runtime owns m after. */
static inline void actor_deliver_or_deadletter(ax_runtime *rt, struct sched_thread *thr,
                                               ax_ref to, struct msg *m) {
    struct actor *a = actor_lookup(rt, to);
    if (ax_unlikely(!a)) {
        int rc = actor_deliver_absent(rt, thr, to, m);
        if (rc) deadletter_post(rt, thr, to, m, rc == AX_EFULL ? AX_DEAD_FULL : AX_DEAD_STOPPED);
    }
    else if (actor_deliver_user(rt, thr, a, m, AX_OVERFLOW_REFUSE) != 0)
        deadletter_post(rt, thr, to, m, AX_DEAD_FULL);
}

/* A runtime notice (type >= AX_MSG_RESERVED: a socket's or a file's event) to `to`: delivered
 * whatever its mailbox's capacity, or a dead letter if `to` has stopped. The runtime owns m
 * after. */
static inline void actor_notify_or_deadletter(ax_runtime *rt, struct sched_thread *thr,
                                              ax_ref to, struct msg *m) {
    if (actor_deliver(rt, thr, to, m, true) != 0) deadletter_post(rt, thr, to, m, AX_DEAD_STOPPED);
}

#endif
