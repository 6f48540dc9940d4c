/* SPDX-License-Identifier: MIT */
/* actor.c: an actor's life: spawn, the run loop that drains its mailbox in fair batches, stop
 * (hook, dead letters, ref invalidated), and reclamation after its grace period.
 *
 * Who runs an actor: its mailbox is marked idle when empty (see core/mpsc.h); the sender whose
 * push finds the mark schedules the actor, so exactly one task instance exists and an actor
 * never runs on two workers. A stopped actor never marks its mailbox idle again, so late
 * senders cannot schedule it; what they push is dead-lettered when the actor is reclaimed. */
#include <stdlib.h>
#include <string.h>

#include "actor/ask.h"
#include "actor/deliver.h"
#include "actor/metrics.h"
#include "actor/registry.h"
#include "actor/signals.h"
#include "core/zero.h"
#include "mem/fault.h"

static void release_all(ax_runtime *rt, struct sched_thread *thr, struct actor *a, bool dead,
                        bool final);

static struct actor *actor_from_task(struct sched_task *t) {
    return (struct actor *)((char *)t - offsetof(struct actor, u.task));
}

/* ---- delivery ---------------------------------------------------------------------------- */

int actor_deliver_bounded(ax_runtime *rt, struct sched_thread *thr, struct actor *a,
                          struct msg *m, ax_overflow overflow) {
    uint32_t n = atomic_fetch_add_explicit(&a->mbox_len, 1, memory_order_relaxed);
    if (n >= a->mbox_cap) {
        atomic_fetch_sub_explicit(&a->mbox_len, 1, memory_order_relaxed);
        stats_add(&thr->stats, STAT_MAILBOX_FULL, 1);
        if (overflow == AX_OVERFLOW_REFUSE) return AX_EFULL;
        stats_add(&thr->stats, STAT_SENT, 1);
        deadletter_post(rt, thr, a->ref, m, AX_DEAD_FULL);
        return 0;
    }
    if (a->metered) actor_metrics_depth(a, n + 1);
    stats_add(&thr->stats, STAT_SENT, 1);
    actor_push(rt, thr, a, m);
    return 0;
}

/* ---- spawn ------------------------------------------------------------------------------- */

static void actor_free_memory(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    if (a->cls == POOL_CLASS_LARGE) {
        free(a);
        return;
    }
    struct sched_thread *owner =
        atomic_load_explicit(&rt->sched.threads[a->owner], memory_order_acquire);
    if (owner == thr) pool_free_local(&thr->pool, a->cls, a);
    else pool_free_remote(&owner->pool, a->cls, a);
}

static void actor_stop_ex(ax_runtime *rt, struct sched_thread *thr, struct actor *a, int reason,
                          bool failed_init);

/* After init: the actor was "owned" (not idle) during init, so nothing scheduled it. Now it is
 * scheduled if anything arrived, else marked idle (the next sender schedules it). */
static void release_after_init(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    struct mpsc_node *done;
    if (atomic_load_explicit(&a->mbox.stub.next, memory_order_acquire) == NULL &&
        mailbox_try_idle(&a->mbox, &done) &&
        !(atomic_load_explicit(&a->sys, memory_order_seq_cst) ||
          atomic_load_explicit(&a->stop_req, memory_order_seq_cst)))
        return;
    if (mailbox_is_idle(&a->mbox) && !mailbox_unidle(&a->mbox)) return; /* a sender has it */
    actor_schedule(rt, thr, a);
}

/* Spawns; restarts > 0 marks a supervisor's replacement (init can ask ax_restarts). */
struct spawn_extra {
    bool internal;   /* the ask sink: not counted */
    bool supervised; /* started by a supervisor */
    int prev_reason; /* how the previous incarnation stopped */
    uint64_t restarts, failures;
};

static int spawn_in(ax_runtime *rt, struct sched_thread *thr, const ax_behavior *b,
                    const void *arg, const ax_spawn_opts *opts, struct spawn_extra x,
                    ax_ref *out) {
    int phase = atomic_load_explicit(&rt->phase, memory_order_acquire);
    if (phase >= RT_STOPPING || (phase == RT_DRAINING && !thr->worker)) return AX_ESHUTDOWN;
    bool metered = !x.internal && ((opts && opts->metrics) || rt->meter_all);
    /* Bounded so that neither the sum nor the rounding up to 16 below can wrap. */
    if (b->state_size > PTRDIFF_MAX - sizeof(struct actor) - sizeof(struct actor_metrics) - 31)
        return AX_ENOMEM;
    size_t bytes = metered ? actor_metrics_offset(b->state_size) + sizeof(struct actor_metrics)
                           : sizeof(struct actor) + b->state_size;
    unsigned cls = pool_class_of(bytes);
    struct actor *a = cls == POOL_CLASS_LARGE ? mem_aligned_alloc(16, (bytes + 15) & ~(size_t)15)
                                              : pool_alloc(&thr->pool, cls);
    if (!a) return AX_ENOMEM;
    ax_ref ref = {reftable_alloc(&rt->refs, &thr->ref_slots)};
    if (ax_ref_is_none(ref)) {
        if (cls == POOL_CLASS_LARGE) free(a);
        else pool_free_local(&thr->pool, cls, a);
        return AX_ENOMEM;
    }
    memset(a, 0, bytes);
    a->u.task.run = actor_run;
    mailbox_init_owned(&a->mbox); /* owned by this spawn until init returns */
    a->behavior = b;
    a->ref = ref;
    a->owner = thr->id;
    a->cls = (uint8_t)cls;
    a->sink = x.internal;
    atomic_store_explicit(&a->supervised, x.supervised, memory_order_relaxed);
    if (opts) {
        a->mbox_cap = opts->mailbox_capacity;
        a->overflow = (uint8_t)opts->overflow;
    }
    if (metered) { /* its mailbox is counted as a bounded one is, without a bound */
        a->metered = 1;
        if (!a->mbox_cap) a->mbox_cap = UINT32_MAX;
        struct actor_metrics *am = actor_metrics_of(a);
        hist_init(&am->handler_ns);
        am->restarts = x.restarts;
        am->failures = x.failures;
    }
    /* Published before init, as an Erlang process exists during its init: init may link,
     * monitor and register it; what others send meanwhile waits in the mailbox. */
    atomic_fetch_add_explicit(&rt->live_actors, 1, memory_order_seq_cst);
    reftable_publish(&rt->refs, ref.id, a);
    ax_ctx ctx = {rt, a, NULL, thr, 0, x.prev_reason, x.restarts};
    void *saved = thr->current;
    thr->current = a;
    int rc = b->init ? b->init(&ctx, a->state, arg) : 0;
    thr->current = saved;
    if (!saved) transport_flush(rt, thr); /* no turn of a spawner's to end and flush it */
    if (rc != 0) {
        actor_stop_ex(rt, thr, a, AX_REASON_FAILED, true);
        return AX_EINIT;
    }
    if (!x.internal) stats_add(&thr->stats, STAT_SPAWNED, 1);
    AX_PROBE2(spawn, ref.id, b->name);
    *out = ref;
    release_after_init(rt, thr, a);
    return 0;
}

int ax_spawn(ax_runtime *rt, const ax_behavior *b, const void *arg, const ax_spawn_opts *opts,
             ax_ref *out) {
    if (!rt || !b || !b->receive || !out) return AX_EINVAL;
    if (opts && opts->overflow != AX_OVERFLOW_REFUSE && opts->overflow != AX_OVERFLOW_DEAD_LETTER)
        return AX_EINVAL;
    if (opts && !core_all_zero(opts->reserved, sizeof opts->reserved)) return AX_EINVAL;
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) return AX_ENOMEM;
    int rc = spawn_in(rt, thr, b, arg, opts, (struct spawn_extra){0}, out);
    rt_leave(thr, outside);
    return rc;
}

int actor_spawn_internal(ax_runtime *rt, struct sched_thread *thr, const ax_behavior *b,
                         ax_ref *out) {
    return spawn_in(rt, thr, b, NULL, NULL, (struct spawn_extra){.internal = true}, out);
}

int actor_spawn_restart(ax_runtime *rt, struct sched_thread *thr, const ax_behavior *b,
                        const void *arg, const struct actor_restart *r, ax_ref *out) {
    struct spawn_extra x = {false, true, r->prev_reason, r->restarts, r->failures};
    return spawn_in(rt, thr, b, arg, NULL, x, out);
}

/* ---- running ----------------------------------------------------------------------------- */

/* Handles one message; returns non-zero if the actor failed. The message stays in the mailbox as
 * its sentinel and is released by a later pop (see mailbox.h). */
static inline __attribute__((always_inline)) int handle(ax_ctx *ctx, struct actor *a,
                                                        struct msg *m) {
    int rc = 0;
    struct stats_counters *st = &ctx->thr->stats;
    ctx->cur = m;
    if (ax_likely(!(m->flags & (MSG_REPLY | MSG_SYS | MSG_NOTICE)))) {
        rc = a->behavior->receive(ctx, a->state, &m->pub);
        if (ax_likely(rc == 0 && !ctx->failed)) stats_add(st, STAT_PROCESSED, 1);
        else stats_add(st, STAT_FAILED, 1);
    } else if (m->flags & MSG_NOTICE) { /* dead letters and DOWNs: no stat counts them */
        if (!(m->flags & MSG_DOWN) || signals_take_monitor(ctx, m))
            rc = a->behavior->receive(ctx, a->state, &m->pub);
    } else if (a->sink && (m->flags & MSG_REPLY)) {
        ask_wait_deliver(ctx, m);
    } else {
        bool handled;
        rc = ask_dispatch(ctx, m, &handled);
        if (!handled && (m->flags & MSG_REPLY)) /* its ask timed out already */
            deadletter_note(ctx->rt, ctx->thr, a->ref, m, AX_DEAD_LATE_REPLY);
    }
    ctx->cur = NULL;
    return rc;
}

static void actor_stop(ax_runtime *rt, struct sched_thread *thr, struct actor *a, int reason);

/* The actor failed (rc != 0 or ax_fail): it stops with its requested reason or FAILED. */
static void actor_fail(ax_runtime *rt, struct sched_thread *thr, struct actor *a) {
    uint32_t none = 0; /* a stop requested meanwhile keeps its reason */
    atomic_compare_exchange_strong_explicit(&a->stop_req, &none, stop_req_of(AX_REASON_FAILED),
                                            memory_order_acq_rel, memory_order_relaxed);
    actor_stop(rt, thr, a, stop_req_reason(atomic_load(&a->stop_req)));
}

/* A supervisor's stop request arrives as an exit from itself, once: it stops its children in
 * order, then stops itself for good. Returns 0 (delivered), 1 (its receive failed: the actor
 * has stopped), -1 (no memory: stop it now). */
static int deliver_stop_as_exit(ax_ctx *ctx, struct actor *a, int reason) {
    struct msg *m = msg_new(ctx->thr, sizeof(ax_exit));
    if (!m) return -1;
    /* The request stays set, so that repeated requests are refused as "already stopping"; the
     * supervisor clears trap_stop when its children are down, and the stop then happens. */
    a->trap_stop = TRAP_STOP_DELIVERED;
    ax_exit x = {a->ref, reason, 0};
    memcpy(m->pub.data, &x, sizeof x);
    m->pub.sender = a->ref;
    m->pub.type = AX_MSG_EXIT;
    m->pub.size = sizeof x;
    ctx->cur = m;
    int rc = a->behavior->receive(ctx, a->state, &m->pub);
    ctx->cur = NULL;
    msg_release(ctx->rt, ctx->thr, m);
    if (rc == 0) return 0;
    actor_fail(ctx->rt, ctx->thr, a);
    return 1;
}

/* A stop was requested: true if the actor is now gone. A supervisor (trap_stop) gets it once as
 * an exit and keeps running while it stops its children; then it clears trap_stop and stops. */
static bool stop_takes_effect(ax_ctx *ctx, struct actor *a, int reason) {
    if (a->trap_stop == TRAP_STOP_DELIVERED) return false;
    int d = a->trap_stop == TRAP_STOP_ARMED ? deliver_stop_as_exit(ctx, a, reason) : -1;
    if (d == 0 && a->trap_stop == TRAP_STOP_OFF) { /* it finished stopping inside that call */
        d = -1;
        reason = stop_req_reason(atomic_load_explicit(&a->stop_req, memory_order_relaxed));
    }
    if (d < 0) actor_stop(ctx->rt, ctx->thr, a, reason);
    return d != 0;
}

/* The actor just went idle: if a signal or stop request arrived meanwhile, take it back. A stop
 * request already delivered to a supervisor (stop_delivered: its TRAP_STOP_DELIVERED, read by
 * the caller before going idle, since another worker may own the actor now) stays set while it
 * stops its children; it is not new work, and taking the actor back for it would spin. */
static bool reclaim_if_signalled(struct actor *a, bool stop_delivered) {
    /* seq_cst: the second half of the Dekker pair with signal_send / actor_request_stop. */
    if (!atomic_load_explicit(&a->sys, memory_order_seq_cst) &&
        (stop_delivered || !atomic_load_explicit(&a->stop_req, memory_order_seq_cst)))
        return false;
    return mailbox_unidle(&a->mbox);
}

/* A metered actor handled a message in ns nanoseconds, and its receive or continuation
 * completed `processed` user messages (0 or 1): its block, and its worker's histogram. */
static void record_metered(struct actor *a, struct sched_thread *thr, int64_t ns,
                           uint64_t processed) {
    struct actor_metrics *am = actor_metrics_of(a);
    uint64_t v = ns > 0 ? (uint64_t)ns : 0;
    hist_record(&am->handler_ns, v);
    if (thr->worker) hist_record(&thr->worker->handler_ns, v);
    uint64_t done = atomic_load_explicit(&am->processed, memory_order_relaxed);
    if (processed) atomic_store_explicit(&am->processed, done + processed, memory_order_relaxed);
}

/* A handler run for the flight recorder: from t0 to t1 (clock readings), message m. */
static void record_traced(struct actor *a, struct sched_thread *thr, int64_t t0, int64_t t1,
                          const struct msg *m) {
    trace_put(thr->trace, (uint64_t)(t0 - thr->s->t0_ns), TRACE_HANDLER, m->pub.type,
              (uint64_t)(t1 - t0), a->ref.id, (uintptr_t)m, a->behavior->name);
}

/* One turn: up to `batch` messages. Inlined twice, so that an actor neither metered nor on a
 * worker with the flight recorder on runs a loop with no trace of either: an observed one
 * reads the clock around each message, and a metered one counts what it processed as the
 * difference in its worker's own count (handle and ask dispatch add to it). */
static inline __attribute__((always_inline)) void run_turn(ax_runtime *rt,
                                                           struct sched_thread *thr,
                                                           struct actor *a, int batch,
                                                           const bool observed) {
    ax_ctx ctx = {rt, a, NULL, thr, 0, 0, 0};
    for (int n = batch; n > 0; n--) {
        if (ax_unlikely(atomic_load_explicit(&a->sys, memory_order_relaxed) != NULL) &&
            signals_process(&ctx, a) != 0) {
            actor_fail(rt, thr, a);
            transport_flush(rt, thr); /* its sends, then its exits and DOWNs */
            return;
        }
        uint32_t stop = atomic_load_explicit(&a->stop_req, memory_order_acquire);
        if (ax_unlikely(stop) && stop_takes_effect(&ctx, a, stop_req_reason(stop))) {
            transport_flush(rt, thr);
            return;
        }
        struct mpsc_node *done;
        struct msg *m = (struct msg *)mailbox_pop(&a->mbox, &done);
        if (done) msg_release(rt, thr, (struct msg *)done);
        if (!m) {
            bool stop_delivered = a->trap_stop == TRAP_STOP_DELIVERED;
            /* What this turn sent to other nodes leaves before a sender can schedule us on
             * another worker (and so do the yield's, and a stop's or failure's, below). */
            transport_flush(rt, thr);
            if (mailbox_try_idle(&a->mbox, &done)) { /* the next sender schedules us */
                if (done) msg_release(rt, thr, (struct msg *)done);
                if (ax_likely(!reclaim_if_signalled(a, stop_delivered))) return;
                continue;
            }
            break; /* a push is half done: come back soon */
        }
        if (a->mbox_cap && !(m->flags & (MSG_SYS | MSG_NOTICE)))
            atomic_fetch_sub_explicit(&a->mbox_len, 1, memory_order_relaxed);
        int64_t t0 = 0;
        uint64_t before = 0;
        if (observed) {
            t0 = core_now_ns();
            before = atomic_load_explicit(&thr->stats.v[STAT_PROCESSED], memory_order_relaxed);
        }
        AX_PROBE2(receive_start, a->ref.id, m->pub.type);
        int rc = handle(&ctx, a, m);
        AX_PROBE2(receive_end, a->ref.id, rc);
        if (observed) {
            int64_t t1 = core_now_ns();
            if (a->metered)
                record_metered(a, thr, t1 - t0,
                               atomic_load_explicit(&thr->stats.v[STAT_PROCESSED],
                                                    memory_order_relaxed) - before);
            if (thr->trace) record_traced(a, thr, t0, t1, m);
        }
        if (ax_unlikely(rc != 0 || ctx.failed)) {
            actor_fail(rt, thr, a);
            transport_flush(rt, thr);
            return;
        }
    }
    transport_flush(rt, thr);
    sched_yield_task(thr, &a->u.task);
}

void actor_run(struct sched_task *t, struct sched_thread *thr) {
    if (ax_unlikely(!thr)) return; /* discarded at destroy: the actor is freed elsewhere */
    struct actor *a = actor_from_task(t);
    ax_runtime *rt = rt_of_sched(thr->s);
    thr->current = a;
    if (ax_likely(!(a->metered | thr->observed_runs))) {
        run_turn(rt, thr, a, rt->batch, false);
    } else {
        int batch = rt->batch;
        /* Deterministic mode: the turn's length is a choice too (1 to batch messages). */
        if (thr->s->det) batch = 1 + (int)sched_det_below(thr->s, (uint64_t)batch);
        run_turn(rt, thr, a, batch, true);
    }
    thr->current = NULL;
}

/* ---- stopping ---------------------------------------------------------------------------- */

/* Empties an actor's mailbox. dead: user messages are counted as dead letters (reason stopped).
 * final: the last sentinel is released too, which is safe only when no sender can push any more
 * (after the grace period, or for an actor never published). */
static void release_all(ax_runtime *rt, struct sched_thread *thr, struct actor *a, bool dead,
                        bool final) {
    struct mpsc_node *n, *done;
    while ((n = mailbox_pop(&a->mbox, &done)) != NULL) {
        if (done) msg_release(rt, thr, (struct msg *)done);
        struct msg *m = (struct msg *)n;
        if (dead && !(m->flags & (MSG_SYS | MSG_NOTICE)))
            deadletter_note(rt, thr, a->ref, m, AX_DEAD_STOPPED);
    }
    if (final && (n = mailbox_sentinel(&a->mbox)) != NULL) msg_release(rt, thr, (struct msg *)n);
}

static void actor_stop(ax_runtime *rt, struct sched_thread *thr, struct actor *a, int reason) {
    actor_stop_ex(rt, thr, a, reason, false);
}

/* failed_init: init failed inside ax_spawn: no stopped hook, not counted as spawned/stopped;
 * links and monitors made by init get their exit signals like any stop. */
static void actor_stop_ex(ax_runtime *rt, struct sched_thread *thr, struct actor *a, int reason,
                          bool failed_init) {
    reftable_clear(&rt->refs, a->ref.id); /* from here on, sends fail with AX_ENOACTOR */
    AX_PROBE2(stop, a->ref.id, reason);
    if (thr->trace)
        trace_put(thr->trace, sched_trace_now(thr->s), TRACE_STOP, (uint32_t)reason, 0, a->ref.id,
                  0, a->behavior->name);
    if (a->behavior->stopped && !failed_init) {
        ax_ctx ctx = {rt, a, NULL, thr, 0, 0, 0};
        a->behavior->stopped(&ctx, a->state, reason);
    }
    /* seq_cst: pairs with ax_register's store of named (see registry.c). */
    if (atomic_load_explicit(&a->named, memory_order_seq_cst)) registry_release_ref(rt, a->ref);
    /* acq_rel: pairs with the CAS by which the socket layer marks an owner (under its lock):
     * either it sees 2 and gives no socket, or we see 1 and close what it gave. */
    if (atomic_exchange_explicit(&a->io_owner, IO_OWNER_GONE, memory_order_acq_rel) == IO_OWNER_HAS)
        rt->release_io(rt, thr, a->ref);
    signals_on_stop(rt, thr, a, reason);
    ask_discard_all(rt, thr, a);
    actor_ext_free(rt, thr, a);
    release_all(rt, thr, a, true, false);
    if (!a->sink && !failed_init) stats_add(&thr->stats, STAT_STOPPED, 1);
    epoch_retire(&rt->sched.epoch, &thr->limbo, &a->u.retire);
    /* seq_cst: shutdown waits for this count to reach zero. */
    atomic_fetch_sub_explicit(&rt->live_actors, 1, memory_order_seq_cst);
}

void actor_reclaim(struct sched *s, struct epoch_node *n, struct sched_thread *self) {
    ax_runtime *rt = rt_of_sched(s);
    struct actor *a = (struct actor *)((char *)n - offsetof(struct actor, u.retire));
    if (a->behavior == rt->reclaim_behavior) rt->reclaim_state(a->state);
    signals_drain(rt, self, a);           /* late signals get their NOPROC answers */
    release_all(rt, self, a, true, true); /* late messages become dead letters */
    if (self) reftable_free(&rt->refs, &self->ref_slots, a->ref.id);
    actor_free_memory(rt, self, a);
}

int actor_request_stop(ax_runtime *rt, struct sched_thread *thr, ax_ref ref, int reason) {
    struct actor *a = actor_lookup(rt, ref);
    if (!a) return AX_ENOACTOR;
    uint32_t none = 0;
    if (!atomic_compare_exchange_strong_explicit(&a->stop_req, &none, stop_req_of(reason),
                                                 memory_order_acq_rel, memory_order_relaxed))
        return AX_ENOACTOR; /* already stopping */
    if (thr->current != a) actor_wake(rt, thr, a); /* else it sees the flag after its hook */
    return 0;
}

void actor_trap_stop_arm(ax_ctx *ctx) { ctx->self->trap_stop = TRAP_STOP_ARMED; }

void actor_trap_stop_hold(ax_ctx *ctx) { ctx->self->trap_stop = TRAP_STOP_DELIVERED; }

void actor_trap_stop_release(ax_ctx *ctx, int reason) {
    ctx->self->trap_stop = TRAP_STOP_OFF;
    /* release: pairs with the acquire loads of stop_req in the run loop (any worker). */
    atomic_store_explicit(&ctx->self->stop_req, stop_req_of(reason), memory_order_release);
}

void actor_orphan(ax_runtime *rt, ax_ref ref) {
    struct actor *a = actor_lookup(rt, ref);
    if (a) atomic_store_explicit(&a->supervised, 0, memory_order_relaxed);
}

int ax_stop(ax_runtime *rt, ax_ref ref) {
    if (!rt) return AX_EINVAL;
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) return AX_ENOMEM;
    int rc = actor_request_stop(rt, thr, ref, AX_REASON_NORMAL);
    rt_leave(thr, outside);
    return rc;
}
