/* SPDX-License-Identifier: MIT */
/* actor.h: the internal shapes of the actor layer: the runtime, an actor, a message, a
 * handler's context, and the functions the actor files share. Not installed. */
#ifndef AX_ACTOR_ACTOR_H
#define AX_ACTOR_ACTOR_H

#include <stdbool.h>
#include <string.h>

#include "actor/mailbox.h"
#include "actor/reftable.h"
#include "axon.h"
#include "core/mpsc.h"
#include "sched/sched.h"

/* ---- messages ---------------------------------------------------------------------------- */

enum msg_flags {
    MSG_REPLY = 1,       /* answers an ax_ask: corr names the pending ask */
    MSG_SYS_TIMEOUT = 4, /* an ask's deadline passed: corr names it */
    MSG_SYS = MSG_SYS_TIMEOUT,
    MSG_NOTICE = 8,      /* a runtime notice (dead letter, DOWN): to receive, counted in no stat */
    MSG_DOWN = 16        /* with MSG_NOTICE: an AX_MSG_DOWN, dropped if its monitor is gone */
};

#define MSG_OWNER_MALLOC 0xFFFFu /* not from a pool: free() it */

/* The runtime's view of a message: a 16-byte header, then the public ax_msg (sender, type,
 * size), then the payload at byte 32, so 32 bytes of payload fit one cache line. */
struct msg {
    struct mpsc_node node; /* mailbox link; also the free-list link in the pool */
    uint32_t corr;         /* ask correlation id, 0 if none */
    uint16_t owner;        /* thread record whose pool holds it, or MSG_OWNER_MALLOC */
    uint8_t cls;           /* pool class */
    uint8_t flags;
    ax_msg pub;
};

_Static_assert(offsetof(struct msg, pub) == 16, "message header is 16 bytes");
_Static_assert(offsetof(struct msg, pub.data) == 32, "payload starts at byte 32");

static inline struct msg *msg_of(const ax_msg *m) {
    return (struct msg *)((char *)m - offsetof(struct msg, pub));
}

/* ---- actors ------------------------------------------------------------------------------ */

struct ask_pending;
struct relation;

/* What an actor needs only once it asks, links or monitors: allocated on first use (as a pooled
 * carrier message, see ask.c), so that a plain actor stays at 96 bytes. Owner: the actor. */
struct actor_ext {
    struct ask_pending *asks; /* outstanding asks */
    struct relation **rels;   /* links, monitors held, watchers (signals.c): hash buckets, */
    struct relation *few[4];  /*   first these (no malloc for an actor with a few links) */
    uint32_t rel_mask;        /* buckets - 1 (a power of two minus one), 0 before the first */
    uint32_t rel_count;
    uint64_t next_monitor;
    uint32_t next_corr;
};

struct actor {
    union {
        struct sched_task task;   /* while alive: how the scheduler runs it */
        struct epoch_node retire; /* once stopped: waiting for its grace period */
    } u;
    struct mailbox mbox;
    const ax_behavior *behavior;
    ax_ref ref;                        /* immutable while published in the ref table */
    _Atomic(struct mpsc_node *) sys;   /* signals (link, exit, monitor...): a Treiber stack */
    struct actor_ext *ext;             /* NULL until the actor asks, links or monitors */
    _Atomic uint32_t stop_req;         /* 0, or the reason + 1 of a pending stop */
    uint32_t mbox_cap;                 /* 0: unbounded */
    _Atomic uint32_t mbox_len;         /* kept only when bounded */
    uint16_t owner;                    /* pool of the actor's memory */
    uint8_t cls;
    uint8_t overflow;                  /* ax_overflow */
    _Atomic uint8_t named;             /* has a registry name */
    uint8_t sink;                      /* the runtime's ax_ask_wait reply sink */
    uint8_t trap_exits;
    uint8_t trap_stop;  /* TRAP_STOP_*: a supervisor's stop request first reaches receive */
    _Atomic uint8_t supervised; /* started by a supervisor, which is alive: runtime shutdown
                                   leaves it to it (relaxed: read by the shutdown thread) */
    uint8_t pad_[3];
    _Alignas(16) unsigned char state[];
};

_Static_assert(sizeof(struct actor) == 96, "an actor header is 96 bytes");

/* stop_req holds 0 or reason + 1, computed unsigned so that every int reason (INT_MAX too)
 * round-trips without a signed overflow. */
static inline uint32_t stop_req_of(int reason) { return (uint32_t)reason + 1u; }
static inline int stop_req_reason(uint32_t req) { return (int)(req - 1u); }

/* A supervisor gets its stop request as an exit from itself (ARMED), then keeps running while
 * it stops its children (DELIVERED), then clears the flag and stops. */
enum { TRAP_STOP_OFF = 0, TRAP_STOP_ARMED = 1, TRAP_STOP_DELIVERED = 2 };

/* ---- the runtime ------------------------------------------------------------------------- */

enum rt_phase { RT_RUNNING, RT_DRAINING, RT_STOPPING, RT_DOWN };

struct registry;
struct ask_waiters;

struct ax_runtime {
    struct sched sched; /* first: the hottest fields */
    struct reftable refs;
    struct slots timers; /* timer records (time/timer.c) */
    int batch;
    AX_ALIGNED_LINE _Atomic int phase;       /* enum rt_phase */
    _Atomic int64_t live_actors;
    _Atomic ax_ref dead_letter_actor;
    _Atomic uint64_t dead_letters;          /* total, for the shutdown report */
    struct registry *registry;
    struct ask_waiters *waiters; /* threads blocked in ax_ask_wait */
    ax_ref ask_sink;             /* the actor their replies go to */
    /* Hooks the layers above install at creation (src/runtime), so that this one calls up
     * without including them. An ask's timeout is a timer (time/timer.c): armed for asker and
     * corr, AX_TIMER_NONE when out of memory; cancelled when the reply wins. */
    ax_timer (*ask_timeout_arm)(ax_runtime *rt, struct sched_thread *thr, ax_ref asker,
                                uint32_t corr, int64_t delay_ms);
    int (*ask_timeout_cancel)(ax_runtime *rt, ax_timer t);
    /* An actor of behavior reclaim_behavior gets reclaim_state(state) after its grace period,
     * before its memory goes (the supervisor's child table, read by other threads). */
    const ax_behavior *reclaim_behavior;
    void (*reclaim_state)(void *state);
};

/* The runtime that embeds scheduler s (for hooks the scheduler calls with itself). */
static inline ax_runtime *rt_of_sched(struct sched *s) {
    return (ax_runtime *)(void *)((char *)s - offsetof(ax_runtime, sched));
}

struct ax_ctx {
    ax_runtime *rt;
    struct actor *self;
    struct msg *cur; /* the message being handled, or NULL (init, stopped) */
    struct sched_thread *thr;
    int failed;      /* ax_fail was called during this hook */
    int prev_reason; /* init of a restarted child: how its predecessor stopped */
    uint64_t restarts;
};

/* ---- shared between the actor files ------------------------------------------------------ */

/* ---- the send path, inline: it crosses pool, ref table, mailbox and scheduler --------- */

/* Allocates a message able to carry size payload bytes (size <= AX_MSG_MAX + 64), from thr's
 * pool (thr may be NULL: malloc). */
struct msg *msg_new_slow(struct sched_thread *thr, size_t size);
static inline struct msg *msg_new(struct sched_thread *thr, size_t size) {
    unsigned cls = pool_class_of(sizeof(struct msg) + size);
    if (ax_unlikely(!thr || cls == POOL_CLASS_LARGE)) return msg_new_slow(thr, size);
    struct msg *m = pool_alloc(&thr->pool, cls);
    if (ax_unlikely(!m)) return NULL;
    m->owner = thr->id;
    m->cls = (uint8_t)cls;
    m->corr = 0;
    m->flags = 0;
    return m;
}

/* Gives m back to the pool it came from (any thread; thr may be NULL). */
void msg_release_slow(ax_runtime *rt, struct msg *m);
static inline void msg_release(ax_runtime *rt, struct sched_thread *thr, struct msg *m) {
    if (ax_likely(thr && m->owner == thr->id)) pool_free_local(&thr->pool, m->cls, m);
    else msg_release_slow(rt, m);
}

/* Finds the live actor behind ref (the caller is a worker or inside sched_outside_enter). */
static inline struct actor *actor_lookup(ax_runtime *rt, ax_ref ref) {
    struct actor *a = reftable_get(&rt->refs, ref);
    return (a && a->ref == ref) ? a : NULL;
}

/* Makes a runnable: next on this worker, or through the inject queue from outside. */
static inline void actor_schedule(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    if (thr->worker) sched_wake_local(thr, &a->u.task);
    else sched_inject(&rt->sched, &a->u.task);
}

/* Queues m on a's mailbox and schedules a if the mailbox was idle. */
static inline void actor_push(ax_runtime *rt, struct sched_thread *thr, struct actor *a,
                              struct msg *m) {
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

/* Delivers m to the actor behind to (m's pub.type/size/sender set by the caller). On success
 * the runtime owns m. Errors: AX_ENOACTOR, AX_EFULL (caller keeps m). With the dead-letter
 * overflow policy a full mailbox gives 0 and a dead letter. thr may be a worker or an entered
 * outside record. sys: a runtime message (not counted, never refused for capacity). */
static inline int actor_deliver(ax_runtime *rt, struct sched_thread *thr, ax_ref to,
                                struct msg *m, bool sys) {
    struct actor *a = actor_lookup(rt, to);
    if (ax_unlikely(!a)) return AX_ENOACTOR;
    if (!sys) return actor_deliver_user(rt, thr, a, m, (ax_overflow)a->overflow);
    actor_push(rt, thr, a, m);
    return 0;
}

/* As actor_deliver for a user message, but a full mailbox refuses it (AX_EFULL) whatever the
 * receiver's policy. Timers use it: their undeliverable messages are dead letters that never
 * counted in `sent`. */
static inline int actor_deliver_or_refuse(ax_runtime *rt, struct sched_thread *thr, ax_ref to,
                                          struct msg *m) {
    struct actor *a = actor_lookup(rt, to);
    if (ax_unlikely(!a)) return AX_ENOACTOR;
    return actor_deliver_user(rt, thr, a, m, AX_OVERFLOW_REFUSE);
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
    if (size) memcpy(m->pub.data, data, size);
    m->corr = corr;
    m->flags = flags;
    int rc = actor_deliver(rt, thr, to, m, false);
    if (ax_unlikely(rc != 0)) msg_release(rt, thr, m);
    return rc;
}

/* ---- shared between the actor files, out of line ----------------------------------------- */

/* Counts m as a dead letter and notifies the dead-letter actor if any; m stays the caller's. */
void deadletter_note(ax_runtime *rt, struct sched_thread *thr, ax_ref target,
                     const struct msg *m, int reason);
/* The same, then frees m. */
void deadletter_post(ax_runtime *rt, struct sched_thread *thr, ax_ref target, struct msg *m,
                     int reason);

/* The calling thread's record: a worker's, or an outside one entered for this call (then
 * *outside is true and rt_leave must follow). NULL if no record could be had. */
struct sched_thread *rt_enter(ax_runtime *rt, bool *outside);
static inline void rt_leave(struct sched_thread *thr, bool outside) {
    if (outside) sched_outside_leave(thr);
}

/* Ask bookkeeping (ask.c), used by the actor run loop. */
int ask_dispatch(ax_ctx *ctx, struct msg *m, bool *handled);
void ask_discard_all(ax_runtime *rt, struct sched_thread *thr, struct actor *a);
/* The sink hands a copy of reply m to its waiting thread (or notes m as a dead letter). */
void ask_wait_deliver(ax_ctx *ctx, struct msg *m);
/* A request from ax_ask_wait became a dead letter (its target stopped with it queued, or a full
 * mailbox dead-lettered it): its waiting thread returns AX_ENOACTOR or AX_EFULL now. Other
 * messages are ignored. */
void ask_wait_refused(ax_runtime *rt, const struct msg *m, int reason);
/* Creates the waiter list and spawns the sink (at runtime creation). */
int ask_waiters_create(ax_runtime *rt);
void ask_waiters_destroy(ax_runtime *rt);
/* Shutdown: every thread blocked in ax_ask_wait returns AX_ESHUTDOWN now. */
void ask_waiters_cancel_all(ax_runtime *rt);

/* The actor's extension, allocated on first use; NULL when out of memory. */
struct actor_ext *actor_ext_get(struct sched_thread *thr, struct actor *a);
void actor_ext_free(ax_runtime *rt, struct sched_thread *thr, struct actor *a);

/* Signals (signals.c): links, exits and monitors. */
/* Runs the actor's pending signals (consumer only); returns non-zero if a trapped exit's
 * receive failed. May set the actor's stop request (an exit signal it does not trap). */
int signals_process(ax_ctx *ctx, struct actor *a);
/* The actor stops with reason: tell links and watchers, answer queued signals. */
void signals_on_stop(ax_runtime *rt, struct sched_thread *thr, struct actor *a, int reason);
/* After the grace period (thr may be NULL at destroy): answer and free late signals. */
void signals_drain(ax_runtime *rt, struct sched_thread *thr, struct actor *a);
/* A DOWN notice reached its watcher: true if the monitor was still held (it is dropped now). */
bool signals_take_monitor(ax_ctx *ctx, const struct msg *m);
/* Makes an idle actor runnable after a signal or a stop request was published to it. */
void actor_wake(ax_runtime *rt, struct sched_thread *thr, struct actor *a);

/* Trapping stop requests (a supervisor stops its children before itself). Armed, a stop
 * request reaches the actor's receive once, as an AX_MSG_EXIT from itself, and the actor keeps
 * running; held, a further request changes nothing; released, the actor stops with reason
 * when its current hook returns. All three from the actor's own hooks. */
void actor_trap_stop_arm(ax_ctx *ctx);
void actor_trap_stop_hold(ax_ctx *ctx);
void actor_trap_stop_release(ax_ctx *ctx, int reason);

/* Registry (registry.c). */
int registry_create(struct registry **out);
void registry_destroy(struct registry *r);
void registry_release_ref(ax_runtime *rt, ax_ref ref);

/* Actor lifecycle (actor.c). */
void actor_run(struct sched_task *t, struct sched_thread *thr);
/* A supervisor's (re)started child: init sees restarts and prev_reason via ax_restarts. */
int actor_spawn_restart(ax_runtime *rt, struct sched_thread *thr, const ax_behavior *b,
                        const void *arg, int prev_reason, uint64_t restarts, ax_ref *out);
/* ax_ask_wait without the check on reserved types (for the runtime's own requests). */
int ask_wait_any(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size,
                 int64_t timeout_ms, ax_msg **reply);
/* Sends a runtime message type (>= AX_MSG_RESERVED) from the calling thread; as ax_send. */
int actor_send_any(ax_runtime *rt, ax_ref to, uint32_t type, const void *data, size_t size);
/* Spawns a runtime-internal actor (the ask sink): not counted in the stats. */
int actor_spawn_internal(ax_runtime *rt, struct sched_thread *thr, const ax_behavior *b,
                         ax_ref *out);
void actor_reclaim(struct sched *s, struct epoch_node *n, struct sched_thread *self);
/* A supervised child outlives its supervisor (whose start failed): runtime shutdown then stops
 * it directly. No-op if ref is not alive. The caller is a worker or inside rt_enter. */
void actor_orphan(ax_runtime *rt, ax_ref ref);
int actor_request_stop(ax_runtime *rt, struct sched_thread *thr, ax_ref ref, int reason);

#endif
