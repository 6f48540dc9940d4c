/* SPDX-License-Identifier: MIT */
/* actor.h: an actor (its header, its extension, a handler's context) and its lifecycle (actor.c).
 * Not installed. */
#ifndef AX_ACTOR_ACTOR_H
#define AX_ACTOR_ACTOR_H

#include <stdbool.h>

#include "actor/mailbox.h"
#include "actor/msg.h"
#include "actor/runtime.h"

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
    _Atomic uint8_t io_owner; /* IO_OWNER_*: whether its stop must close sockets */
    uint8_t metered;          /* its struct actor_metrics follows the state (actor/metrics.h) */
    uint8_t pad_[1];
    _Alignas(16) unsigned char state[];
};

_Static_assert(sizeof(struct actor) == 96, "an actor header is 96 bytes");

/* io_owner: NONE until the socket layer gives the actor a socket (HAS); its stop exchanges it
 * to GONE, after which no socket can be given (see io/socket.c, mark_owner). */
enum { IO_OWNER_NONE = 0, IO_OWNER_HAS = 1, IO_OWNER_GONE = 2 };

/* stop_req holds 0 or reason + 1, computed unsigned so that every int reason (INT_MAX too)
 * round-trips without a signed overflow. */
static inline uint32_t stop_req_of(int reason) { return (uint32_t)reason + 1u; }
static inline int stop_req_reason(uint32_t req) { return (int)(req - 1u); }

/* A supervisor gets its stop request as an exit from itself (ARMED), then keeps running while
 * it stops its children (DELIVERED), then clears the flag and stops. */
enum { TRAP_STOP_OFF = 0, TRAP_STOP_ARMED = 1, TRAP_STOP_DELIVERED = 2 };

struct ax_ctx {
    ax_runtime *rt;
    struct actor *self;
    struct msg *cur; /* the message being handled, or NULL (init, stopped) */
    struct sched_thread *thr;
    int failed;      /* ax_fail was called during this hook */
    int prev_reason; /* init of a restarted child: how its predecessor stopped */
    uint64_t restarts;
};

/* The actor's extension, allocated on first use; NULL when out of memory. */
struct actor_ext *actor_ext_get(struct sched_thread *thr, struct actor *a);
void actor_ext_free(ax_runtime *rt, struct sched_thread *thr, struct actor *a);

/* Makes an idle actor runnable after a signal or a stop request was published to it. */
void actor_wake(ax_runtime *rt, struct sched_thread *thr, struct actor *a);

/* Trapping stop requests (a supervisor stops its children before itself). Armed, a stop
 * request reaches the actor's receive once, as an AX_MSG_EXIT from itself, and the actor keeps
 * running; held, a further request changes nothing; released, the actor stops with reason
 * when its current hook returns. All three from the actor's own hooks. */
void actor_trap_stop_arm(ax_ctx *ctx);
void actor_trap_stop_hold(ax_ctx *ctx);
void actor_trap_stop_release(ax_ctx *ctx, int reason);

/* ---- lifecycle ------------------------------------------------------------------------- */
void actor_run(struct sched_task *t, struct sched_thread *thr);
/* A supervisor's child at its (re)start: how its predecessor stopped, how often the supervisor
 * restarted it, and how many of its incarnations failed (stopped abnormally on their own). */
struct actor_restart {
    int prev_reason;
    uint64_t restarts, failures;
};
/* A supervisor's (re)started child: init sees restarts and prev_reason via ax_restarts; a
 * metered one reports restarts and failures. */
int actor_spawn_restart(ax_runtime *rt, struct sched_thread *thr, const ax_behavior *b,
                        const void *arg, const struct actor_restart *r, ax_ref *out);
/* Spawns a runtime-internal actor (the ask sink): not counted in the stats. */
int actor_spawn_internal(ax_runtime *rt, struct sched_thread *thr, const ax_behavior *b,
                         ax_ref *out);
void actor_reclaim(struct sched *s, struct epoch_node *n, struct sched_thread *self);
/* A supervised child outlives its supervisor (whose start failed): runtime shutdown then stops
 * it directly. No-op if ref is not alive. The caller is a worker or inside rt_enter. */
void actor_orphan(ax_runtime *rt, ax_ref ref);
int actor_request_stop(ax_runtime *rt, struct sched_thread *thr, ax_ref ref, int reason);

#endif
