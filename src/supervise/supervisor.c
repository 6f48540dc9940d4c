/* SPDX-License-Identifier: MIT */
/* supervisor.c: OTP supervisors as an ordinary actor: it starts its children in order, links to
 * them, traps their exits, and restarts them by strategy, restart type, intensity and backoff.
 * Stopping (for a restart group, on escalation, or when the supervisor itself is stopped) goes
 * child by child in reverse start order, each awaited up to its shutdown timeout.
 *
 * Everything runs in the supervisor's own handler, so its state needs no locks; the only thing
 * other threads read is each static child's current ref and restart count (atomics, in an
 * array that lives until the supervisor's memory is reclaimed). */
#include <stdlib.h>
#include <string.h>

#include "actor/ask.h"
#include "actor/deliver.h"
#include "core/duration.h"
#include "core/probes.h"
#include "mem/fault.h"
#include "supervise/supervisor.h"
#include "time/timer.h"

enum {
    SUP_MSG_RESTART = AX_MSG_RESERVED + 0x10, /* backoff timer: {index, epoch} */
    SUP_MSG_TIMEOUT,                          /* a child did not stop in time: {index, epoch} */
    SUP_MSG_START_CHILD,                      /* simple_one_for_one: payload = init arg */
    SUP_MSG_RETRY                             /* a restart's start failed: {index, epoch} */
};
enum { CH_RUNNING, CH_STOPPING, CH_DOWN, CH_GONE };
enum { OP_NONE, OP_RESTART, OP_SHUTDOWN };

struct sup_child {
    char id[AX_NAME_MAX + 1];
    char name[AX_NAME_MAX + 1];
    const ax_behavior *behavior;
    const void *arg;     /* owned (malloc) when arg_size > 0 */
    size_t arg_size;
    ax_restart restart;
    int64_t shutdown_ms;
    _Atomic ax_ref ref;  /* AX_REF_NONE while not running; read by other threads */
    _Atomic uint64_t restarts;
    uint64_t failures;   /* incarnations that stopped abnormally on their own */
    int state;
    bool pending;        /* stopped on its own during a group restart it is not part of:
                            decided once that restart is done (OTP reads exits one by one) */
    int last_reason;
    int64_t backoff_ms, last_restart_ns;
    uint32_t epoch;      /* bumped whenever a pending timer for it becomes stale */
};

struct sup {
    ax_strategy strategy;
    int intensity;
    int64_t period_ns;
    int64_t backoff_min_ms, backoff_max_ms, backoff_reset_ms;
    struct sup_child *children; /* static: fixed after init; dynamic: grows */
    size_t n, cap;
    uint32_t *by_ref;           /* open addressing: child index + 1 by current ref (0: empty) */
    uint32_t *by_id;            /* static children: index + 1 by id; immutable after init */
    size_t ref_mask, id_mask;
    struct sup_child tmpl;      /* simple_one_for_one */
    int64_t *log;               /* ring of the restart times within the period (at most
                                   `intensity`), grown on demand */
    size_t log_len, log_head, log_cap;
    uint64_t rng;
    int op, op_reason;
    size_t op_first, cursor;    /* stopping children cursor..op_first (downwards) */
    /* Set once init has filled what other threads read (strategy, the static children, by_id):
     * the supervisor is published before its init runs, and readers must not see it half
     * built. */
    _Atomic bool readable;
};

static struct sup *sup_of(void *state) { return state; }

/* ---- indexes: by ref (the supervisor's own, changes with restarts) and by id (read by other
 * threads, built once in init). Open addressing with linear probing. ---------------------- */

static size_t hash64(uint64_t x) {
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    return (size_t)(x ^ (x >> 27));
}

static size_t hash_id(const char *id) { /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++) h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return (size_t)h;
}

static ax_ref ref_at(struct sup *s, uint32_t slot_value) {
    return atomic_load_explicit(&s->children[slot_value - 1].ref, memory_order_relaxed);
}

static void ref_index_put(struct sup *s, ax_ref ref, size_t index) {
    size_t i = hash64(ref.id) & s->ref_mask;
    while (s->by_ref[i]) i = (i + 1) & s->ref_mask;
    s->by_ref[i] = (uint32_t)index + 1;
}

static void ref_index_del(struct sup *s, ax_ref ref) {
    size_t i = hash64(ref.id) & s->ref_mask;
    while (s->by_ref[i] && !ax_ref_eq(ref_at(s, s->by_ref[i]), ref)) i = (i + 1) & s->ref_mask;
    if (!s->by_ref[i]) return;
    s->by_ref[i] = 0;
    /* Backward shift: re-place the rest of the cluster so no lookup stops early. */
    for (size_t j = (i + 1) & s->ref_mask; s->by_ref[j]; j = (j + 1) & s->ref_mask) {
        uint32_t v = s->by_ref[j];
        s->by_ref[j] = 0;
        ref_index_put(s, ref_at(s, v), v - 1);
    }
}

/* Sizes the ref index for cap children (at least twice as many slots) and refills it. */
static int ref_index_resize(struct sup *s, size_t cap) {
    size_t n = 16;
    while (n < 2 * cap) n *= 2;
    uint32_t *t = mem_calloc(n, sizeof *t);
    if (!t) return AX_ENOMEM;
    free(s->by_ref);
    s->by_ref = t;
    s->ref_mask = n - 1;
    for (size_t i = 0; i < s->n; i++) {
        ax_ref r = atomic_load_explicit(&s->children[i].ref, memory_order_relaxed);
        if (!ax_ref_is_none(r) && s->children[i].state != CH_GONE) ref_index_put(s, r, i);
    }
    return 0;
}

/* Every change of a child's current ref goes through here. */
static void set_child_ref(struct sup *s, struct sup_child *c, ax_ref ref) {
    ax_ref old = atomic_load_explicit(&c->ref, memory_order_relaxed);
    if (!ax_ref_is_none(old)) ref_index_del(s, old);
    /* release: the child's ref is published to ax_supervisor_child readers. */
    atomic_store_explicit(&c->ref, ref, memory_order_release);
    if (!ax_ref_is_none(ref)) ref_index_put(s, ref, (size_t)(c - s->children));
}

/* ---- children ------------------------------------------------------------------------------ */

/* Copies a child spec that spec_valid accepted (ids and names fit their buffers). */
static int copy_spec(struct sup_child *c, const ax_child_spec *spec) {
    memset(c, 0, sizeof *c);
    if (spec->id) strcpy(c->id, spec->id);
    if (spec->name) strcpy(c->name, spec->name);
    c->behavior = spec->behavior;
    c->restart = spec->restart;
    c->shutdown_ms = spec->shutdown_ms;
    c->arg = spec->arg;
    c->arg_size = spec->arg_size;
    if (spec->arg_size) {
        void *copy = mem_malloc(spec->arg_size);
        if (!copy) return AX_ENOMEM;
        memcpy(copy, spec->arg, spec->arg_size);
        c->arg = copy;
    }
    c->state = CH_DOWN;
    return 0;
}

static void free_child(struct sup_child *c) {
    if (c->arg_size) free((void *)c->arg);
    c->arg = NULL;
    c->arg_size = 0;
}

static int start_child(ax_ctx *ctx, struct sup *s, struct sup_child *c, int prev_reason) {
    ax_ref ref;
    struct actor_restart r = {prev_reason, atomic_load_explicit(&c->restarts, memory_order_relaxed),
                              c->failures};
    int rc = actor_spawn_restart(ctx->rt, ctx->thr, c->behavior, c->arg, &r, &ref);
    if (rc != 0) return rc;
    ax_link(ctx, ref); /* if it already died, its exit (NOPROC) arrives like any other */
    if (c->name[0] && (rc = ax_register(ctx->rt, c->name, ref)) != 0 && rc != AX_ENOACTOR) {
        ax_unlink(ctx, ref); /* the name is taken (OTP: already_started): undo the start */
        actor_request_stop(ctx->rt, ctx->thr, ref, AX_REASON_SHUTDOWN);
        return rc;
    }
    set_child_ref(s, c, ref);
    c->state = CH_RUNNING;
    return 0;
}

static struct sup_child *find_child(struct sup *s, ax_ref ref, size_t *index) {
    if (!s->by_ref || ax_ref_is_none(ref)) return NULL;
    for (size_t i = hash64(ref.id) & s->ref_mask; s->by_ref[i]; i = (i + 1) & s->ref_mask) {
        if (ax_ref_eq(ref_at(s, s->by_ref[i]), ref)) {
            *index = s->by_ref[i] - 1;
            return &s->children[*index];
        }
    }
    return NULL;
}

/* ---- restart policy ------------------------------------------------------------------------ */

/* Counts a restart of child c (at the decision: a delayed or failing start counts too). */
static void count_restart(ax_ctx *ctx, struct sup_child *c) {
    uint64_t n = atomic_fetch_add_explicit(&c->restarts, 1, memory_order_relaxed) + 1;
    stats_add(&ctx->thr->stats, STAT_RESTARTS, 1);
    AX_PROBE3(restart, ax_self(ctx).id, c->id, n);
}

static bool should_restart(const struct sup_child *c, int reason) {
    if (c->restart == AX_PERMANENT) return true;
    if (c->restart == AX_TEMPORARY) return false;
    return reason != AX_REASON_NORMAL && reason != AX_REASON_SHUTDOWN;
}

/* Doubles the restart log up to intensity entries (kept in order from index 0). */
static int log_grow(struct sup *s) {
    size_t cap = s->log_cap ? 2 * s->log_cap : 4;
    if (cap > (size_t)s->intensity) cap = (size_t)s->intensity;
    int64_t *log = mem_malloc(cap * sizeof *log);
    if (!log) return AX_ENOMEM;
    for (size_t k = 0; k < s->log_len; k++) log[k] = s->log[(s->log_head + k) % s->log_cap];
    free(s->log);
    s->log = log;
    s->log_cap = cap;
    s->log_head = 0;
    return 0;
}

/* Records a restart; false if that exceeds the intensity within the period. Only restarts
 * within the period are kept, so a huge intensity costs memory only for restarts that happen. */
static bool note_restart(struct sup *s, int64_t now) {
    while (s->log_len && now - s->log[s->log_head] >= s->period_ns) {
        s->log_head = (s->log_head + 1) % s->log_cap;
        s->log_len--;
    }
    if (s->log_len >= (size_t)s->intensity) return false;
    if (s->log_len == s->log_cap && log_grow(s) != 0) {
        if (!s->log_cap) return true; /* no memory for even one entry: cannot count */
        s->log_head = (s->log_head + 1) % s->log_cap; /* forget the oldest instead */
        s->log_len--;
    }
    s->log[(s->log_head + s->log_len++) % s->log_cap] = now;
    return true;
}

static void begin_shutdown(ax_ctx *ctx, struct sup *s, int reason);
static void handle_down(ax_ctx *ctx, struct sup *s, size_t i, int reason);
static void decide_restart(ax_ctx *ctx, struct sup *s, size_t i);

struct sup_timer_msg {
    uint32_t index, epoch;
};

/* ms is capped at AX_TIMER_MAX_MS (about a year): longer waits are as good as forever. */
static void arm(ax_ctx *ctx, uint32_t type, size_t i, uint32_t epoch, int64_t ms) {
    struct sup_timer_msg t = {(uint32_t)i, epoch};
    timer_send_later(ctx->rt, ax_self(ctx), type, &t, sizeof t,
                     ms > AX_TIMER_MAX_MS ? AX_TIMER_MAX_MS : ms, 0, NULL);
}

/* A restart whose start failed counts as a stop with AX_REASON_FAILED, decided again once a
 * message to ourselves comes back (OTP's try_again_restart): never by recursion, so a child that
 * cannot start does not hold the supervisor's handler, and a stop request or other exits are
 * handled in between. */
static void start_failed(ax_ctx *ctx, struct sup_child *c, size_t i) {
    c->state = CH_DOWN;
    c->last_reason = AX_REASON_FAILED;
    arm(ctx, SUP_MSG_RETRY, i, ++c->epoch, 0);
}

/* Restarts child i now, or after its backoff. */
static void restart_one(ax_ctx *ctx, struct sup *s, size_t i) {
    struct sup_child *c = &s->children[i];
    count_restart(ctx, c);
    if (s->backoff_min_ms > 0) {
        int64_t now = sched_now_ns(&ctx->rt->sched); /* virtual in deterministic mode */
        if (c->backoff_ms == 0 || (s->backoff_reset_ms > 0 &&
                                   now - c->last_restart_ns > core_ms_to_ns(s->backoff_reset_ms)))
            c->backoff_ms = s->backoff_min_ms;
        else
            c->backoff_ms = c->backoff_ms > s->backoff_max_ms / 2 ? s->backoff_max_ms
                                                                  : c->backoff_ms * 2;
        c->last_restart_ns = now;
        s->rng ^= s->rng << 13, s->rng ^= s->rng >> 7, s->rng ^= s->rng << 17;
        int64_t delay = c->backoff_ms / 2 + (int64_t)(s->rng % (uint64_t)(c->backoff_ms / 2 + 1));
        arm(ctx, SUP_MSG_RESTART, i, ++c->epoch, delay);
        return;
    }
    if (start_child(ctx, s, c, c->last_reason) != 0) start_failed(ctx, c, i);
}

/* ---- stopping children in order ------------------------------------------------------------ */

static void finish_op(ax_ctx *ctx, struct sup *s);

/* Stops the next running child downwards from cursor; finishes the op when none is left. */
static void stop_next(ax_ctx *ctx, struct sup *s) {
    while (s->cursor != (size_t)-1 && s->cursor >= s->op_first) {
        struct sup_child *c = &s->children[s->cursor];
        if (c->state == CH_RUNNING) {
            ax_ref ref = atomic_load_explicit(&c->ref, memory_order_relaxed);
            actor_request_stop(ctx->rt, ctx->thr, ref, AX_REASON_SHUTDOWN);
            if (c->shutdown_ms == AX_SHUTDOWN_KILL) { /* no wait: it stops on its own worker */
                ax_unlink(ctx, ref);
                set_child_ref(s, c, AX_REF_NONE);
                c->state = CH_DOWN;
                c->epoch++;
            } else {
                c->state = CH_STOPPING;
                if (c->shutdown_ms > 0)
                    arm(ctx, SUP_MSG_TIMEOUT, s->cursor, ++c->epoch, c->shutdown_ms);
                return; /* wait for its exit */
            }
        }
        s->cursor--;
    }
    finish_op(ctx, s);
}

static void child_stopped(ax_ctx *ctx, struct sup *s, struct sup_child *c) {
    set_child_ref(s, c, AX_REF_NONE);
    c->state = CH_DOWN;
    c->epoch++;
    s->cursor--;
    stop_next(ctx, s);
}

static void finish_op(ax_ctx *ctx, struct sup *s) {
    int op = s->op;
    s->op = OP_NONE;
    if (op == OP_SHUTDOWN) { /* our own reason wins over a stop requested meanwhile */
        actor_trap_stop_release(ctx, s->op_reason);
        return;
    }
    for (size_t i = s->op_first; i < s->n; i++) { /* the group restarts in start order */
        struct sup_child *c = &s->children[i];
        if (c->state != CH_DOWN) continue;
        if (c->restart == AX_TEMPORARY) {
            c->state = CH_GONE;
            free_child(c);
            continue;
        }
        if (start_child(ctx, s, c, c->last_reason) != 0) {
            start_failed(ctx, c, i); /* the rest of the group waits for its retry */
            return;
        }
    }
    /* Then the children before the group that stopped meanwhile, one decision each. */
    for (size_t i = 0; i < s->op_first && s->op == OP_NONE; i++) {
        if (!s->children[i].pending) continue;
        s->children[i].pending = false;
        decide_restart(ctx, s, i);
    }
}

static void begin_op(ax_ctx *ctx, struct sup *s, int op, size_t first, int reason) {
    s->op = op;
    s->op_first = first;
    for (size_t i = first; i < s->n; i++) s->children[i].pending = false; /* in the group now */
    s->op_reason = reason;
    s->cursor = s->n ? s->n - 1 : (size_t)-1;
    stop_next(ctx, s);
}

static void begin_shutdown(ax_ctx *ctx, struct sup *s, int reason) {
    for (size_t i = 0; i < s->n; i++) s->children[i].epoch++; /* no more restarts */
    actor_trap_stop_hold(ctx); /* a stop request now changes nothing */
    begin_op(ctx, s, OP_SHUTDOWN, 0, reason);
}

/* Child i stopped by itself (not at our request) with reason. */
static void handle_down(ax_ctx *ctx, struct sup *s, size_t i, int reason) {
    struct sup_child *c = &s->children[i];
    set_child_ref(s, c, AX_REF_NONE);
    c->state = CH_DOWN;
    c->last_reason = reason;
    if (reason != AX_REASON_NORMAL) c->failures++;
    if (s->op == OP_SHUTDOWN) return;
    if (s->op == OP_RESTART) {
        /* OTP handles one exit at a time. A member of the group being restarted is one it would
         * have terminated (its exit flushed), so it just restarts with the group. A child before
         * the group is decided when the group restart is done, as OTP reads its exit next. */
        if (i < s->op_first) c->pending = true;
        return;
    }
    decide_restart(ctx, s, i);
}

/* The restart decision for child i, which is down with c->last_reason: by restart type,
 * intensity and strategy. */
static void decide_restart(ax_ctx *ctx, struct sup *s, size_t i) {
    struct sup_child *c = &s->children[i];
    if (!should_restart(c, c->last_reason)) {
        c->state = CH_GONE;
        free_child(c);
        return;
    }
    /* Intensity exceeded: stop everything and fail upwards. The clock is virtual in
     * deterministic mode. */
    if (!note_restart(s, sched_now_ns(&ctx->rt->sched))) {
        stats_add(&ctx->thr->stats, STAT_ESCALATIONS, 1);
        if (ctx->rt->on_escalation) ctx->rt->on_escalation(ctx->rt, ctx->thr, ax_self(ctx));
        begin_shutdown(ctx, s, AX_REASON_ESCALATED);
        return;
    }
    if (s->strategy == AX_ONE_FOR_ALL || s->strategy == AX_REST_FOR_ONE) {
        size_t first = s->strategy == AX_ONE_FOR_ALL ? 0 : i;
        for (size_t k = first; k < s->n; k++) /* every member the group restart starts again */
            if (s->children[k].state != CH_GONE && s->children[k].restart != AX_TEMPORARY)
                count_restart(ctx, &s->children[k]);
        begin_op(ctx, s, OP_RESTART, first, 0);
        return;
    }
    restart_one(ctx, s, i);
}

/* ---- the supervisor actor ------------------------------------------------------------------ */

static int add_dynamic(struct sup *s, size_t *index) {
    for (size_t i = 0; i < s->n; i++)
        if (s->children[i].state == CH_GONE) return (int)(*index = i, 0);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct sup_child *c = mem_realloc(s->children, cap * sizeof *c);
        if (!c) return AX_ENOMEM;
        s->children = c;
        s->cap = cap;
        if (ref_index_resize(s, cap) != 0) return AX_ENOMEM;
    }
    *index = s->n++;
    return 0;
}

struct start_reply {
    int32_t rc;
    uint32_t pad;
    ax_ref ref;
};

static int start_dynamic(ax_ctx *ctx, struct sup *s, const ax_msg *msg) {
    struct start_reply r = {0, 0, AX_REF_NONE};
    size_t i;
    if (s->strategy != AX_SIMPLE_ONE_FOR_ONE) {
        r.rc = AX_EINVAL;
    } else if (s->op == OP_SHUTDOWN) {
        r.rc = AX_ESHUTDOWN;
    } else if ((r.rc = add_dynamic(s, &i)) == 0) {
        struct sup_child *c = &s->children[i];
        /* No arg: the template's (a pointer the template owns or the caller keeps alive). */
        ax_child_spec spec = {NULL, s->tmpl.behavior, msg->size ? msg->data : s->tmpl.arg,
                              msg->size, s->tmpl.restart, s->tmpl.shutdown_ms, AX_CHILD_WORKER,
                              NULL};
        if ((r.rc = copy_spec(c, &spec)) == 0 && (r.rc = start_child(ctx, s, c, 0)) != 0)
            free_child(c);
        if (r.rc != 0) c->state = CH_GONE;
        else r.ref = atomic_load_explicit(&c->ref, memory_order_relaxed);
    }
    ax_reply(ctx, 0, &r, sizeof r); /* if the caller gave up, the reply is a dead letter */
    return 0;
}

static int sup_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct sup *s = sup_of(state);
    size_t i;
    struct sup_child *c;
    switch (msg->type) {
    case AX_MSG_EXIT: {
        ax_exit x;
        memcpy(&x, msg->data, sizeof x);
        if (ax_ref_eq(x.from, ax_self(ctx))) { /* we were asked to stop: children first */
            begin_shutdown(ctx, s, x.reason);
        } else if ((c = find_child(s, x.from, &i)) != NULL) {
            if (c->state == CH_STOPPING && s->op != OP_NONE && i == s->cursor) {
                c->last_reason = x.reason;
                child_stopped(ctx, s, c);
            } else {
                handle_down(ctx, s, i, x.reason);
            }
        } else if (x.reason != AX_REASON_NORMAL && s->op != OP_SHUTDOWN) {
            begin_shutdown(ctx, s, x.reason); /* our parent (or another link) failed */
        }
        return 0;
    }
    case SUP_MSG_RESTART:
    case SUP_MSG_TIMEOUT:
    case SUP_MSG_RETRY: {
        struct sup_timer_msg t;
        if (msg->size != sizeof t) return 0;
        memcpy(&t, msg->data, sizeof t);
        if (t.index >= s->n || s->children[t.index].epoch != t.epoch) return 0; /* stale */
        c = &s->children[t.index];
        if (msg->type == SUP_MSG_TIMEOUT && c->state == CH_STOPPING && t.index == s->cursor) {
            /* It did not stop in time: go on without it, and let its late exit go unheard. */
            ax_unlink(ctx, atomic_load_explicit(&c->ref, memory_order_relaxed));
            child_stopped(ctx, s, c);
        }
        else if (msg->type == SUP_MSG_RESTART && c->state == CH_DOWN && s->op == OP_NONE &&
                 start_child(ctx, s, c, c->last_reason) != 0)
            start_failed(ctx, c, t.index);
        else if (msg->type == SUP_MSG_RETRY && c->state == CH_DOWN)
            handle_down(ctx, s, t.index, AX_REASON_FAILED); /* a decision, as for any stop */
        return 0;
    }
    case SUP_MSG_START_CHILD:
        return start_dynamic(ctx, s, msg);
    default:
        return 0; /* supervisors have no user protocol */
    }
}

static bool spec_valid(const ax_sup_spec *spec);

static int sup_init_children(ax_ctx *ctx, struct sup *s, const ax_sup_spec *spec);

/* A start that fails leaves the children already started to their links: those that trap exits
 * live on without a supervisor, so runtime shutdown must stop them itself. */
static int sup_init(ax_ctx *ctx, void *state, const void *arg) {
    struct sup *s = sup_of(state);
    int rc = sup_init_children(ctx, s, arg);
    if (rc != 0)
        for (size_t i = 0; i < s->n; i++)
            actor_orphan(ctx->rt, atomic_load_explicit(&s->children[i].ref, memory_order_relaxed));
    return rc;
}

static int sup_init_children(ax_ctx *ctx, struct sup *s, const ax_sup_spec *spec) {
    if (!spec || !spec_valid(spec)) return AX_EINVAL;
    s->strategy = spec->strategy;
    s->intensity = spec->intensity ? spec->intensity : 1;
    s->period_ns = core_ms_to_ns(spec->period_ms ? spec->period_ms : 5000);
    s->backoff_min_ms = spec->backoff_min_ms;
    s->backoff_max_ms = spec->backoff_max_ms;
    s->backoff_reset_ms = spec->backoff_reset_ms;
    s->rng = ax_self(ctx).id | 1;
    ax_trap_exits(ctx, 1);
    actor_trap_stop_arm(ctx);
    if (s->strategy == AX_SIMPLE_ONE_FOR_ONE) {
        if (ref_index_resize(s, 8) != 0) return AX_ENOMEM;
        ax_child_spec tmpl = spec->children[0];
        tmpl.id = tmpl.name = NULL; /* ignored for dynamic children */
        int rc = copy_spec(&s->tmpl, &tmpl);
        /* release: pairs with the acquire in readable_sup (the strategy is set). */
        if (rc == 0) atomic_store_explicit(&s->readable, true, memory_order_release);
        return rc;
    }
    size_t n = spec->nchildren, slots = 16;
    while (slots < 2 * n) slots *= 2;
    s->children = mem_calloc(n ? n : 1, sizeof *s->children);
    s->by_id = mem_calloc(slots, sizeof *s->by_id);
    if (!s->children || !s->by_id || ref_index_resize(s, n) != 0) return AX_ENOMEM;
    s->id_mask = slots - 1;
    for (size_t i = 0; i < n; i++) { /* ids are checked unique by spec_valid */
        int rc = copy_spec(&s->children[i], &spec->children[i]);
        if (rc != 0) return rc;
        size_t h = hash_id(s->children[i].id) & s->id_mask;
        while (s->by_id[h]) h = (h + 1) & s->id_mask;
        s->by_id[h] = (uint32_t)i + 1;
        s->n = i + 1;
    }
    /* release: pairs with the acquire in readable_sup; before the children start, since a
     * child's init may look its siblings up. */
    atomic_store_explicit(&s->readable, true, memory_order_release);
    for (size_t i = 0; i < n; i++) {
        /* A failing start fails init: the children already linked get its exit and stop. */
        int rc = start_child(ctx, s, &s->children[i], 0);
        if (rc != 0) return rc;
    }
    return 0;
}

static void sup_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx, (void)state, (void)reason; /* the arrays go at reclaim: readers may hold them */
}

const ax_behavior ax_supervisor_behavior = {"supervisor", sizeof(struct sup), sup_init,
                                            sup_receive, sup_stopped};

/* After the grace period: no thread reads the child table any more. */
static void sup_reclaim(void *state) {
    struct sup *s = sup_of(state);
    for (size_t i = 0; i < s->n; i++)
        if (s->children[i].state != CH_GONE) free_child(&s->children[i]);
    free_child(&s->tmpl);
    free(s->children);
    free(s->log);
    free(s->by_ref);
    free(s->by_id);
    s->by_ref = s->by_id = NULL;
    s->children = NULL;
    s->log = NULL;
}

void supervisor_install(ax_runtime *rt) {
    rt->reclaim_behavior = &ax_supervisor_behavior;
    rt->reclaim_state = sup_reclaim;
}

/* ---- the API ------------------------------------------------------------------------------- */

static bool name_ok(const char *name, bool required) {
    if (!name) return !required;
    size_t len = strnlen(name, AX_NAME_MAX + 1);
    return len >= 1 && len <= AX_NAME_MAX;
}

/* Everything about a spec that can be checked before anything starts (AX_EINVAL). */
static bool spec_valid(const ax_sup_spec *spec) {
    if ((unsigned)spec->strategy > AX_SIMPLE_ONE_FOR_ONE || spec->intensity < 0 ||
        spec->period_ms < 0 || (spec->nchildren && !spec->children) ||
        (spec->strategy == AX_SIMPLE_ONE_FOR_ONE && spec->nchildren != 1) ||
        spec->backoff_min_ms < 0 || spec->backoff_max_ms < spec->backoff_min_ms ||
        spec->backoff_reset_ms < 0)
        return false;
    bool simple = spec->strategy == AX_SIMPLE_ONE_FOR_ONE;
    for (size_t i = 0; i < spec->nchildren; i++) {
        const ax_child_spec *c = &spec->children[i];
        if (!c->behavior || !c->behavior->receive || (unsigned)c->restart > AX_TEMPORARY ||
            (c->arg_size && !c->arg))
            return false;
        if (simple) continue; /* the template's id and name are ignored */
        if (!name_ok(c->id, true) || !name_ok(c->name, false)) return false;
        for (size_t k = 0; k < i; k++)
            if (strcmp(spec->children[k].id, c->id) == 0) return false;
    }
    return true;
}

int ax_supervisor_start(ax_runtime *rt, const ax_sup_spec *spec, ax_ref *out) {
    if (!rt || !spec || !out || !spec_valid(spec)) return AX_EINVAL;
    return ax_spawn(rt, &ax_supervisor_behavior, spec, NULL, out);
}

int ax_supervisor_start_child(ax_runtime *rt, ax_ref sup, const void *arg, size_t arg_size,
                              ax_ref *out) {
    if (!rt || !out || (arg_size && !arg)) return AX_EINVAL;
    if (arg_size > AX_MSG_MAX) return AX_EMSGSIZE;
    if (sched_worker_self(&rt->sched)) return AX_ECONTEXT; /* it would block a worker */
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) return AX_ENOMEM;
    struct actor *a = actor_lookup(rt, sup);
    bool is_sup = a && a->behavior == &ax_supervisor_behavior;
    rt_leave(thr, outside);
    if (!is_sup) return AX_ENOACTOR;
    ax_msg *reply;
    /* No deadline, as OTP's start_child: the supervisor answers, or stops (AX_ENOACTOR, its
     * queued request a dead letter), or the runtime shuts down (AX_ESHUTDOWN). */
    int rc = ask_wait_any(rt, sup, SUP_MSG_START_CHILD, arg, arg_size, INT64_MAX, &reply);
    if (rc != 0) return rc;
    struct start_reply r;
    memcpy(&r, reply->data, sizeof r);
    ax_msg_free(rt, reply);
    if (r.rc == 0) *out = r.ref;
    return r.rc;
}

/* The state of supervisor a if other threads may read it (its init filled it), else NULL. */
static struct sup *readable_sup(struct actor *a) {
    if (!a || a->behavior != &ax_supervisor_behavior) return NULL;
    struct sup *s = sup_of(a->state);
    /* acquire: pairs with the release stores in sup_init_children. */
    return atomic_load_explicit(&s->readable, memory_order_acquire) ? s : NULL;
}

/* Finds static child id of a live supervisor; the caller is inside rt_enter. */
static struct sup_child *lookup(ax_runtime *rt, ax_ref sup, const char *id, int *rc) {
    struct actor *a = actor_lookup(rt, sup);
    *rc = AX_ENOACTOR;
    if (!a || a->behavior != &ax_supervisor_behavior) return NULL;
    struct sup *s = readable_sup(a);
    *rc = AX_ENOENT;
    if (!s || s->strategy == AX_SIMPLE_ONE_FOR_ONE) return NULL;
    for (size_t h = hash_id(id) & s->id_mask; s->by_id[h]; h = (h + 1) & s->id_mask) {
        struct sup_child *c = &s->children[s->by_id[h] - 1];
        if (strcmp(c->id, id) == 0) return (*rc = 0, c);
    }
    return NULL;
}

/* Reads static child id's current ref and restart count (any thread). */
static int read_child(ax_runtime *rt, ax_ref sup, const char *id, ax_ref *ref,
                      uint64_t *restarts) {
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) return AX_ENOMEM;
    int rc;
    struct sup_child *c = lookup(rt, sup, id, &rc);
    if (c) {
        *ref = atomic_load_explicit(&c->ref, memory_order_acquire);
        *restarts = atomic_load_explicit(&c->restarts, memory_order_relaxed);
    }
    rt_leave(thr, outside);
    return rc;
}

int ax_supervisor_child(ax_runtime *rt, ax_ref sup, const char *id, ax_ref *out) {
    if (!rt || !id || !out) return AX_EINVAL;
    ax_ref ref = AX_REF_NONE;
    uint64_t restarts;
    int rc = read_child(rt, sup, id, &ref, &restarts);
    if (rc == 0 && ax_ref_is_none(ref)) rc = AX_ENOACTOR; /* between incarnations */
    if (rc == 0) *out = ref;
    return rc;
}

int ax_supervisor_child_restarts(ax_runtime *rt, ax_ref sup, const char *id, uint64_t *out) {
    if (!rt || !id || !out) return AX_EINVAL;
    ax_ref ref;
    return read_child(rt, sup, id, &ref, out);
}

bool supervisor_is(const struct actor *a) { return a->behavior == &ax_supervisor_behavior; }

int supervisor_children(struct actor *a, int *strategy, struct sup_child_info *out, size_t max) {
    struct sup *s = readable_sup(a);
    if (!s) return -1;
    *strategy = (int)s->strategy;
    if (s->strategy == AX_SIMPLE_ONE_FOR_ONE) return 0; /* its table is its handler's alone */
    for (size_t i = 0; i < s->n && i < max; i++) {
        struct sup_child *c = &s->children[i];
        out[i] = (struct sup_child_info){
            c->id, atomic_load_explicit(&c->ref, memory_order_acquire),
            atomic_load_explicit(&c->restarts, memory_order_relaxed),
            c->behavior == &ax_supervisor_behavior};
    }
    return (int)s->n;
}
