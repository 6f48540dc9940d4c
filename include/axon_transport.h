/* SPDX-License-Identifier: MIT */
/* axon_transport.h: the interface between a runtime and the transport that carries its messages
 * and signals to actors of other nodes (axon_remote.h is one, over NATS). For transport writers. */
#ifndef AXON_TRANSPORT_H
#define AXON_TRANSPORT_H

#include "axon.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A message between nodes as a transport sees it; borrowed for the call (copy what you keep). */
typedef struct ax_wire_msg {
    ax_ref to;
    ax_ref from;     /* the sender; AX_REF_NONE from outside a runtime */
    uint32_t type;
    uint32_t size;
    uint32_t corr;   /* an ask's correlation, 0 if none: carried as it is */
    uint32_t flags;  /* the runtime's marks (a reply to an ask): carried as they are */
    const void *data;
} ax_wire_msg;

/* Signals between actors of different nodes: links, exits and monitors (ax_link, ax_monitor),
 * and the DOWN a monitor's target sends its watcher. */
enum ax_wire_signal {
    AX_WIRE_LINK = 1,
    AX_WIRE_UNLINK = 2,
    AX_WIRE_EXIT = 3,      /* reason: why `from` stopped */
    AX_WIRE_MONITOR = 4,   /* id: the watcher's monitor id */
    AX_WIRE_DEMONITOR = 5,
    AX_WIRE_DOWN = 6       /* to: the watcher; from: the target; id, reason */
};

/* The runtime calls a transport through these, for refs whose node (ax_ref_node) is not its
 * own. They may be called on any thread, at once, and must not block for long: workers call
 * them. in_turn is non-zero when the caller is a worker running an actor: the transport may
 * queue and return 1, and the runtime then calls flush on that thread before that actor can
 * run anywhere else (so one sender's messages leave in order). Otherwise it sends now. */
typedef struct ax_transport {
    void *ctx; /* passed to every hook */
    /* A message for an actor of another node. Returns 0 (sent), 1 (queued), or an error that
     * ax_send passes on: AX_ENOACTOR (the node is not known to be up), AX_EMSGSIZE (larger than
     * the transport carries), AX_EFULL (its window to that node is full), AX_ENOMEM. */
    int (*send)(void *ctx, const ax_wire_msg *m, int in_turn);
    /* A signal (enum ax_wire_signal) for an actor of another node: 0, 1 or an error as send. */
    int (*signal)(void *ctx, int kind, ax_ref to, ax_ref from, uint64_t id, int reason,
                  int in_turn);
    /* Sends what this thread queued. */
    void (*flush)(void *ctx);
    /* The runtime is being destroyed (its workers have stopped): stop calling into it, and
     * free ctx. May be NULL. */
    void (*release)(void *ctx);
} ax_transport;

/* Attaches t (copied) to rt, for the rest of rt's life: from now on sends, links and monitors
 * to refs of other nodes go through it. A thread outside the runtime. Errors: AX_EINVAL (NULL,
 * a NULL send, signal or flush hook, or rt's node is 0), AX_ECONTEXT (a worker of rt),
 * AX_ESHUTDOWN (shutdown began), AX_EEXIST (one is attached). */
AX_API int ax_transport_attach(ax_runtime *rt, const ax_transport *t);

/* True (1) when the calling thread is one of rt's workers, where a transport must not block. */
AX_API int ax_transport_on_worker(ax_runtime *rt);

/* Delivers n messages that came from other nodes to actors of rt, from a thread outside the
 * runtime; one call enters the runtime once. Returns the number delivered. results[i] (results
 * may be NULL) is 0, or why msgs[i] was not delivered: AX_ENOACTOR (its actor is not alive here:
 * the transport reports it back), AX_EFULL (its bounded mailbox is full), AX_EINVAL (a ref of
 * another node, a reserved type, data NULL with a size, a flag the runtime does not carry),
 * AX_EMSGSIZE, AX_ENOMEM. Errors (then nothing was delivered): AX_EINVAL (rt NULL, msgs NULL with
 * n > 0), AX_ECONTEXT (a worker of rt), AX_ESHUTDOWN (shutdown began), AX_ENOMEM (no thread
 * record). */
AX_API int ax_transport_deliver(ax_runtime *rt, const ax_wire_msg *msgs, size_t n, int *results);

/* A signal that came from another node, for actor `to` of rt; AX_WIRE_DOWN delivers the DOWN
 * notice a monitor expects (also how a transport reports AX_REASON_NODEDOWN), AX_WIRE_EXIT an
 * exit over a link. Any thread (a worker too: a transport reporting from inside a send).
 * Errors: AX_ENOACTOR (`to` is not
 * alive here: answer a LINK with an EXIT and a MONITOR with a DOWN, reason AX_REASON_NOPROC),
 * AX_EINVAL (an unknown kind, `to` of another node), AX_ESHUTDOWN (an outside thread after
 * shutdown began), AX_ENOMEM. */
AX_API int ax_transport_signal(ax_runtime *rt, int kind, ax_ref to, ax_ref from, uint64_t id,
                               int reason);

/* A message sent from rt that did not arrive (reason: an ax_dead_reason): counted and handed to
 * the dead-letter actor as if it had failed here (also during shutdown). Any thread. Errors:
 * AX_EINVAL (rt or m NULL, data NULL with a size), AX_EMSGSIZE, AX_ENOMEM. */
AX_API int ax_transport_dead_letter(ax_runtime *rt, const ax_wire_msg *m, int reason);

#ifdef __cplusplus
}
#endif

#endif
