/* SPDX-License-Identifier: MIT */
/* signals.c: links, exit signals and monitors (Erlang semantics). Signals travel on a small
 * per-actor stack beside the mailbox, so they overtake queued user messages, and each side of a
 * link or monitor changes only its own actor's records, on its own worker.
 *
 * Records: every actor keeps one list of relations: LINK (both sides hold one), MONITOR (held
 * by the watcher, names the target) and WATCHER (held by the target, names the watcher).
 * Setting one up sends a signal to the other side; if that side is gone, the answer
 * (an exit or a DOWN with AX_REASON_NOPROC) comes back at once. A stopping actor answers every
 * record and every signal still queued, including those that arrive during its grace period,
 * so no link or monitor waits forever; after the stop its signal stack is closed, so a late
 * link or monitor is refused (and answered with NOPROC) at once. */
#include <stdlib.h>
#include <string.h>

#include "actor/deliver.h"
#include "actor/signals.h"
#include "mem/fault.h"

enum rel_kind { REL_LINK = 1, REL_MONITOR, REL_WATCHER };

struct signal {
    ax_ref from;
    uint64_t id;
    int32_t reason;
    uint32_t kind;
};

struct relation {
    struct relation *next;
    ax_ref other;
    uint64_t id; /* monitors and watchers: the monitor id */
    uint32_t kind;
};

/* The signal stack of a stopped actor: pushes fail, so a link or monitor that races the stop
 * gets its NOPROC answer at once instead of after the grace period. */
#define SIGNALS_CLOSED ((struct mpsc_node *)(uintptr_t)1)

static struct msg *carrier_of(void *payload) {
    return (struct msg *)((char *)payload - offsetof(struct msg, pub.data));
}

/* ---- the extension ----------------------------------------------------------------------- */

struct actor_ext *actor_ext_get(struct sched_thread *thr, struct actor *a) {
    if (a->ext) return a->ext;
    struct msg *m = msg_new(thr, sizeof(struct actor_ext));
    if (!m) return NULL;
    a->ext = (struct actor_ext *)m->pub.data;
    memset(a->ext, 0, sizeof *a->ext);
    return a->ext;
}

void actor_ext_free(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    if (!a->ext) return;
    if (a->ext->rels != a->ext->few) free(a->ext->rels); /* the relations went with the stop */
    msg_release(rt, thr, carrier_of(a->ext));
    a->ext = NULL;
}

/* ---- sending signals --------------------------------------------------------------------- */

void actor_wake(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    if (mailbox_unidle(&a->mbox)) actor_schedule(rt, thr, a);
}

int signal_send(ax_runtime *rt, struct sched_thread *thr, ax_ref to, uint32_t kind, ax_ref from,
                uint64_t id, int reason) {
    struct actor *a = actor_lookup(rt, to);
    if (!a) return ref_is_foreign(rt, to) ? transport_signal(rt, thr, kind, to, from, id, reason)
                                          : AX_ENOACTOR;
    struct msg *m = msg_new(thr, sizeof(struct signal));
    if (!m) return AX_ENOMEM;
    struct signal *sg = (struct signal *)m->pub.data;
    *sg = (struct signal){from, id, reason, kind};
    struct mpsc_node *head = atomic_load_explicit(&a->sys, memory_order_relaxed);
    do {
        if (head == SIGNALS_CLOSED) { /* it stopped since the lookup */
            msg_release(rt, thr, m);
            return AX_ENOACTOR;
        }
        atomic_store_explicit(&m->node.next, head, memory_order_relaxed);
        /* seq_cst: publishes the signal (release, pairs with take_signals's acquire
         * exchange) and is the first half of the Dekker pair with the actor going idle. */
    } while (!atomic_compare_exchange_weak_explicit(&a->sys, &head, &m->node,
                                                    memory_order_seq_cst, memory_order_relaxed));
    actor_wake(rt, thr, a);
    return 0;
}

/* A DOWN notice is an ordinary message to the watcher (it keeps its place among user
 * messages, as in Erlang), marked so that a demonitored one is dropped on arrival. */
int signal_send_down(ax_runtime *rt, struct sched_thread *thr, ax_ref watcher, ax_ref target,
                     uint64_t id, int reason) {
    if (ref_is_foreign(rt, watcher))
        return transport_signal(rt, thr, AX_WIRE_DOWN, watcher, target, id, reason);
    struct msg *m = msg_new(thr, sizeof(ax_down));
    if (!m) return AX_ENOMEM;
    ax_down d = {target, {id}, reason, 0};
    memcpy(m->pub.data, &d, sizeof d);
    m->pub.sender = target;
    m->pub.type = AX_MSG_DOWN;
    m->pub.size = sizeof d;
    m->flags = MSG_NOTICE | MSG_DOWN;
    int rc = actor_deliver(rt, thr, watcher, m, true);
    if (rc != 0) msg_release(rt, thr, m);
    return rc;
}

/* Why a link or monitor of `other` is answered at once: it is not alive here, or its node is
 * not up (a ref of another node, with a transport to reach it: see ref_is_reachable). */
static int absent_reason(ax_runtime *rt, ax_ref other) {
    return ref_is_reachable(rt, other) ? AX_REASON_NODEDOWN : AX_REASON_NOPROC;
}

/* Delivers an exit signal to the calling actor itself (its peer was not alive). */
static void self_exit(ax_ctx *ctx, ax_ref from) {
    signal_send(ctx->rt, ctx->thr, ctx->self->ref, SIG_EXIT, from, 0,
                absent_reason(ctx->rt, from));
}

/* ---- relations --------------------------------------------------------------------------- */

/* Relations hash on the other actor's ref, so that a supervisor with thousands of children
 * finds the link of the one that stopped in O(1). */
static uint32_t rel_hash(ax_ref ref) {
    uint64_t r = ref.id;
    r ^= r >> 29;
    r *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(r ^ (r >> 32));
}

static struct relation **find_rel(struct actor_ext *e, uint32_t kind, ax_ref other, uint64_t id) {
    static struct relation *none = NULL;
    if (!e->rels) return &none;
    struct relation **p = &e->rels[rel_hash(other) & e->rel_mask];
    while (*p && !((*p)->kind == kind && ax_ref_eq((*p)->other, other) && (kind == REL_LINK || (*p)->id == id)))
        p = &(*p)->next;
    return p;
}

/* Doubles the bucket array (or creates it). Returns false when out of memory. */
static bool grow_rels(struct actor_ext *e) {
    if (!e->rels) {
        e->rels = e->few;
        e->rel_mask = 3;
        return true;
    }
    uint32_t n = (e->rel_mask + 1) * 2;
    struct relation **b = mem_calloc(n, sizeof *b);
    if (!b) return false;
    for (uint32_t i = 0; e->rels && i <= e->rel_mask; i++) {
        for (struct relation *r = e->rels[i], *next; r; r = next) {
            next = r->next;
            r->next = b[rel_hash(r->other) & (n - 1)];
            b[rel_hash(r->other) & (n - 1)] = r;
        }
    }
    if (e->rels != e->few) free(e->rels);
    e->rels = b;
    e->rel_mask = n - 1;
    return true;
}

static int add_rel(struct sched_thread *thr, struct actor_ext *e, uint32_t kind, ax_ref other,
                   uint64_t id) {
    if ((!e->rels || e->rel_count > e->rel_mask) && !grow_rels(e) && !e->rels) return AX_ENOMEM;
    struct msg *m = msg_new(thr, sizeof(struct relation));
    if (!m) return AX_ENOMEM;
    struct relation *r = (struct relation *)m->pub.data;
    struct relation **head = &e->rels[rel_hash(other) & e->rel_mask];
    *r = (struct relation){*head, other, id, kind};
    *head = r;
    e->rel_count++;
    return 0;
}

static void drop_rel(ax_runtime *rt, struct sched_thread *thr, struct actor_ext *e,
                     struct relation **p) {
    struct relation *r = *p;
    *p = r->next;
    e->rel_count--;
    msg_release(rt, thr, carrier_of(r));
}

/* The monitor with this id (monitors are looked up by id only on demonitor: a full scan). */
static struct relation **find_monitor(struct actor_ext *e, uint64_t id) {
    for (uint32_t i = 0; e && e->rels && i <= e->rel_mask; i++)
        for (struct relation **p = &e->rels[i]; *p; p = &(*p)->next)
            if ((*p)->kind == REL_MONITOR && (*p)->id == id) return p;
    return NULL;
}

/* ---- the API ----------------------------------------------------------------------------- */

int ax_link(ax_ctx *ctx, ax_ref other) {
    if (!ctx || !ctx->self || ax_ref_eq(other, ctx->self->ref)) return AX_EINVAL;
    struct actor_ext *e = actor_ext_get(ctx->thr, ctx->self);
    if (!e) return AX_ENOMEM;
    if (*find_rel(e, REL_LINK, other, 0)) return 0;
    if (add_rel(ctx->thr, e, REL_LINK, other, 0) != 0) return AX_ENOMEM;
    int rc = signal_send(ctx->rt, ctx->thr, other, SIG_LINK, ctx->self->ref, 0, 0);
    if (rc == AX_ENOACTOR) {
        /* Answered at once, as if by `other`: a NOPROC exit needs no record; a node-down one
         * finds the record kept for it, as it would over a link that was up. */
        if (!ref_is_reachable(ctx->rt, other))
            drop_rel(ctx->rt, ctx->thr, e, find_rel(e, REL_LINK, other, 0));
        self_exit(ctx, other);
        return 0;
    }
    if (rc != 0) drop_rel(ctx->rt, ctx->thr, e, find_rel(e, REL_LINK, other, 0));
    return rc;
}

int ax_unlink(ax_ctx *ctx, ax_ref other) {
    if (!ctx || !ctx->self) return AX_EINVAL;
    struct actor_ext *e = ctx->self->ext;
    struct relation **p = e ? find_rel(e, REL_LINK, other, 0) : NULL;
    if (!p || !*p) return 0;
    drop_rel(ctx->rt, ctx->thr, e, p);
    signal_send(ctx->rt, ctx->thr, other, SIG_UNLINK, ctx->self->ref, 0, 0);
    return 0;
}

int ax_trap_exits(ax_ctx *ctx, int on) {
    if (!ctx || !ctx->self) return AX_EINVAL;
    ctx->self->trap_exits = on != 0;
    return 0;
}

int ax_monitor(ax_ctx *ctx, ax_ref target, ax_monitor_id *monitor) {
    if (!ctx || !ctx->self || !monitor) return AX_EINVAL;
    struct actor_ext *e = actor_ext_get(ctx->thr, ctx->self);
    if (!e) return AX_ENOMEM;
    uint64_t id = ++e->next_monitor;
    if (add_rel(ctx->thr, e, REL_MONITOR, target, id) != 0) return AX_ENOMEM;
    int rc = signal_send(ctx->rt, ctx->thr, target, SIG_MONITOR, ctx->self->ref, id, 0);
    if (rc == AX_ENOMEM) {
        drop_rel(ctx->rt, ctx->thr, e, find_rel(e, REL_MONITOR, target, id));
        return rc;
    }
    if (rc == AX_ENOACTOR)
        signal_send_down(ctx->rt, ctx->thr, ctx->self->ref, target, id,
                         absent_reason(ctx->rt, target));
    monitor->id = id;
    return 0;
}

int ax_demonitor(ax_ctx *ctx, ax_monitor_id monitor) {
    if (!ctx || !ctx->self) return AX_EINVAL;
    struct actor_ext *e = ctx->self->ext;
    struct relation **p = find_monitor(e, monitor.id);
    if (!p) return AX_ENOENT;
    ax_ref target = (*p)->other;
    drop_rel(ctx->rt, ctx->thr, e, p);
    signal_send(ctx->rt, ctx->thr, target, SIG_DEMONITOR, ctx->self->ref, monitor.id, 0);
    return 0;
}

int ax_fail(ax_ctx *ctx, int reason) {
    if (!ctx || !ctx->self) return AX_EINVAL;
    if (reason != AX_REASON_FAILED && reason < AX_REASON_USER) return AX_EINVAL;
    uint32_t none = 0;
    atomic_compare_exchange_strong_explicit(&ctx->self->stop_req, &none, stop_req_of(reason),
                                            memory_order_acq_rel, memory_order_relaxed);
    ctx->failed = 1;
    return 0;
}

bool signals_take_monitor(ax_ctx *ctx, const struct msg *m) {
    ax_down d;
    memcpy(&d, m->pub.data, sizeof d);
    struct actor_ext *e = ctx->self->ext;
    struct relation **p = e ? find_rel(e, REL_MONITOR, d.ref, d.monitor.id) : NULL;
    if (!p || !*p) return false;
    drop_rel(ctx->rt, ctx->thr, e, p);
    return true;
}

/* ---- receiving signals ------------------------------------------------------------------- */

/* Handles one signal on the running actor; returns a trapped exit's receive result. After a
 * failure (may_receive false) exits are still taken into account but not delivered. */
static int handle_signal(ax_ctx *ctx, struct actor *a, struct msg *m, bool may_receive) {
    struct signal sg = *(struct signal *)m->pub.data;
    struct actor_ext *e;
    switch (sg.kind) {
    case SIG_LINK:
        if (!(e = actor_ext_get(ctx->thr, a)) || (!*find_rel(e, REL_LINK, sg.from, 0) &&
                                                  add_rel(ctx->thr, e, REL_LINK, sg.from, 0)))
            /* Out of memory: refuse the link the only way the peer will notice. */
            signal_send(ctx->rt, ctx->thr, sg.from, SIG_EXIT, a->ref, 0, AX_REASON_NOPROC);
        return 0;
    case SIG_UNLINK:
        if (a->ext && *find_rel(a->ext, REL_LINK, sg.from, 0))
            drop_rel(ctx->rt, ctx->thr, a->ext, find_rel(a->ext, REL_LINK, sg.from, 0));
        return 0;
    case SIG_MONITOR:
        if (!(e = actor_ext_get(ctx->thr, a)) || add_rel(ctx->thr, e, REL_WATCHER, sg.from, sg.id))
            signal_send_down(ctx->rt, ctx->thr, sg.from, a->ref, sg.id, AX_REASON_NOPROC);
        return 0;
    case SIG_DEMONITOR:
        if (a->ext && *find_rel(a->ext, REL_WATCHER, sg.from, sg.id))
            drop_rel(ctx->rt, ctx->thr, a->ext, find_rel(a->ext, REL_WATCHER, sg.from, sg.id));
        return 0;
    case SIG_EXIT: {
        /* An exit over a link we removed meanwhile is void; NOPROC answers a link attempt,
         * whose record may already be gone. */
        struct relation **p = a->ext ? find_rel(a->ext, REL_LINK, sg.from, 0) : NULL;
        if (p && *p) drop_rel(ctx->rt, ctx->thr, a->ext, p);
        else if (sg.reason != AX_REASON_NOPROC) return 0;
        if (a->trap_exits) {
            if (!may_receive) return 0;
            ax_exit x = {sg.from, sg.reason, 0};
            memcpy(m->pub.data, &x, sizeof x);
            m->pub.sender = sg.from;
            m->pub.type = AX_MSG_EXIT;
            m->pub.size = sizeof x;
            ctx->cur = m;
            int rc = a->behavior->receive(ctx, a->state, &m->pub);
            ctx->cur = NULL;
            return rc;
        }
        if (sg.reason != AX_REASON_NORMAL) {
            uint32_t none = 0;
            atomic_compare_exchange_strong_explicit(&a->stop_req, &none,
                                                    stop_req_of(sg.reason),
                                                    memory_order_acq_rel, memory_order_relaxed);
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* Takes the whole stack at once and returns it oldest first; close: no push succeeds after. */
static struct mpsc_node *take_signals(struct actor *a, bool close) {
    /* acquire: pairs with the seq_cst CAS in signal_send (the signal's contents). */
    struct mpsc_node *n = atomic_exchange_explicit(&a->sys, close ? SIGNALS_CLOSED : NULL,
                                                   memory_order_acquire);
    if (n == SIGNALS_CLOSED) return NULL;
    struct mpsc_node *fifo = NULL;
    while (n) {
        struct mpsc_node *next = atomic_load_explicit(&n->next, memory_order_relaxed);
        atomic_store_explicit(&n->next, fifo, memory_order_relaxed);
        fifo = n;
        n = next;
    }
    return fifo;
}

int signals_process(ax_ctx *ctx, struct actor *a) {
    int rc = 0;
    struct mpsc_node *n = take_signals(a, false);
    while (n) {
        struct mpsc_node *next = atomic_load_explicit(&n->next, memory_order_relaxed);
        struct msg *m = (struct msg *)n;
        int r = handle_signal(ctx, a, m, rc == 0);
        if (rc == 0) rc = r;
        msg_release(ctx->rt, ctx->thr, m);
        n = next;
    }
    return rc;
}

/* Answers a signal that reached an actor that has stopped with reason. */
static void answer_dead(ax_runtime *rt, struct sched_thread *thr, ax_ref self, struct msg *m,
                        int reason) {
    struct signal *sg = (struct signal *)m->pub.data;
    if (thr && sg->kind == SIG_LINK) signal_send(rt, thr, sg->from, SIG_EXIT, self, 0, reason);
    if (thr && sg->kind == SIG_MONITOR) signal_send_down(rt, thr, sg->from, self, sg->id, reason);
    msg_release(rt, thr, m);
}

void signals_on_stop(ax_runtime *rt, struct sched_thread *thr, struct actor *a, int reason) {
    /* Queued signals first: a link or monitor set up just before the stop gets its answer. */
    for (struct mpsc_node *n = take_signals(a, true), *next; n; n = next) {
        next = atomic_load_explicit(&n->next, memory_order_relaxed);
        answer_dead(rt, thr, a->ref, (struct msg *)n, reason);
    }
    struct actor_ext *e = a->ext;
    for (uint32_t i = 0; e && e->rels && i <= e->rel_mask; i++) {
        while (e->rels[i]) {
            struct relation *r = e->rels[i];
            if (r->kind == REL_LINK) signal_send(rt, thr, r->other, SIG_EXIT, a->ref, 0, reason);
            if (r->kind == REL_WATCHER) signal_send_down(rt, thr, r->other, a->ref, r->id, reason);
            drop_rel(rt, thr, e, &e->rels[i]);
        }
    }
}

void signals_drain(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    for (struct mpsc_node *n = take_signals(a, true), *next; n; n = next) {
        next = atomic_load_explicit(&n->next, memory_order_relaxed);
        answer_dead(rt, thr, a->ref, (struct msg *)n, AX_REASON_NOPROC);
    }
}
