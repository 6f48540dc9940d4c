/* SPDX-License-Identifier: MIT */
/* transport.h: the runtime's side of axon_transport.h: messages and signals for actors of other
 * nodes handed to the attached transport, and the flush at the end of a turn. Not installed. */
#ifndef AX_ACTOR_TRANSPORT_H
#define AX_ACTOR_TRANSPORT_H

#include "actor/msg.h"
#include "actor/runtime.h"

/* Hands m (for `to`, a ref of another node) to the transport. On success the runtime owns m
 * again (it is freed: the transport copied it). Errors (the caller keeps m): AX_ENOACTOR (no
 * transport, or the node is not up), and the transport's own (axon_transport.h). */
int transport_send(ax_runtime *rt, struct sched_thread *thr, ax_ref to, struct msg *m);
/* A signal (enum sig_kind, or AX_WIRE_DOWN) for `to` on another node; errors as above. */
int transport_signal(ax_runtime *rt, struct sched_thread *thr, int kind, ax_ref to, ax_ref from,
                     uint64_t id, int reason);

/* At destroy, once the workers have stopped: the transport's release hook, if attached. */
void transport_release(ax_runtime *rt);

void transport_flush_slow(ax_runtime *rt, struct sched_thread *thr);
/* Called where a turn ends, before its actor can run on another worker: what the transport
 * queued during the turn leaves now, so that one actor's messages to a node keep their order. */
static inline void transport_flush(ax_runtime *rt, struct sched_thread *thr) {
    if (ax_unlikely(thr->transport_queued)) transport_flush_slow(rt, thr);
}

#endif
