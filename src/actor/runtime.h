/* SPDX-License-Identifier: MIT */
/* runtime.h: the runtime's shape as the actor layer sees it: scheduler, ref table, phase, and the
 * hooks through which the layers above are called. Not installed. */
#ifndef AX_ACTOR_RUNTIME_H
#define AX_ACTOR_RUNTIME_H

#include <stdbool.h>

#include "actor/reftable.h"
#include "axon.h"
#include "axon_transport.h"
#include "mem/slots.h"
#include "sched/sched.h"

enum rt_phase { RT_RUNNING, RT_DRAINING, RT_STOPPING, RT_DOWN };

struct registry;
struct ask_waiters;
struct io;
struct blocking_pool;
struct par;

struct ax_runtime {
    struct sched sched; /* first: the hottest fields */
    struct reftable refs;
    struct slots timers; /* timer records (time/timer.c) */
    int batch;
    uint32_t node;  /* ax_config.node: in every ref this runtime issues */
    bool meter_all; /* ax_config.metrics: every actor is metered */
    AX_ALIGNED_LINE _Atomic int phase;       /* enum rt_phase */
    _Atomic int64_t live_actors;
    _Atomic ax_ref dead_letter_actor;
    _Atomic uint64_t dead_letters;          /* total, for the shutdown report */
    struct registry *registry;
    struct ask_waiters *waiters; /* threads blocked in ax_ask_wait */
    ax_ref ask_sink;             /* the actor their replies go to */
    struct io *io;               /* the I/O layer (io/io.h): a poller per worker */
    struct par *par;             /* the fork-join layer (par/par.h): its heartbeat */
    struct blocking_pool *blocking; /* ax_run_blocking's threads and queue (io/blocking.c) */
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
    /* An actor that owned sockets or files stopped: close them (io/io.c). */
    void (*release_io)(ax_runtime *rt, struct sched_thread *thr, ax_ref owner);
    /* A supervisor (sup) gave up: the flight recorder notes it and dumps to
     * trace_escalation_path if one is set (runtime/trace_dump.c). */
    void (*on_escalation)(ax_runtime *rt, struct sched_thread *thr, ax_ref sup);
    char *trace_escalation_path;
    /* The transport to other nodes (axon_transport.h), once attached (acquire: pairs with the
     * release store in ax_transport_attach); read only when a ref is not this node's. */
    _Atomic bool transport_on;
    ax_transport transport;
};

/* True when ref was issued by another node (whether or not that node is up). */
static inline bool ref_is_foreign(const ax_runtime *rt, ax_ref ref) {
    return ax_ref_node(ref) != rt->node;
}
/* True when ref was issued by another node and a transport is attached to reach it. */
static inline bool ref_is_reachable(ax_runtime *rt, ax_ref ref) {
    return ref_is_foreign(rt, ref) && atomic_load_explicit(&rt->transport_on, memory_order_relaxed);
}

/* The runtime that embeds scheduler s (for hooks the scheduler calls with itself). */
static inline ax_runtime *rt_of_sched(struct sched *s) {
    return (ax_runtime *)(void *)((char *)s - offsetof(ax_runtime, sched));
}

/* The calling thread's record: a worker's, or an outside one entered for this call (then
 * *outside is true and rt_leave must follow). NULL if no record could be had. */
struct sched_thread *rt_enter(ax_runtime *rt, bool *outside);
static inline void rt_leave(struct sched_thread *thr, bool outside) {
    if (outside) sched_outside_leave(thr);
}

#endif
