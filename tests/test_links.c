/* SPDX-License-Identifier: MIT */
/* test_links.c: links, exit signals, trapping and monitors through the public API (Erlang
 * semantics): propagation of abnormal exits over links and chains, normal exits, trapped exits,
 * failure by return code and by ax_fail (with exact statistics), links to dead refs, unlink,
 * monitors and demonitor (also of a DOWN already in flight), many links to one trapping hub,
 * links racing with failures, misuse, and shutdown of linked actors.
 *
 * Every actor here is a "probe": its state names a record in g_rec where its handler logs what
 * it receives (exits, DOWNs) and its stopped hook logs the reason. main drives probes with
 * commands, mostly through ax_ask_wait round trips, which also order the steps. Absence of an
 * event is checked only after an event causally later than it: the actor that would cause it
 * has fully stopped (ax_stats.stopped counts an actor after its links and monitors were
 * answered), then two round trips to the receiver make it handle everything sent before. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "axon.h"
#include "check.h"
#include "det.h"
#include "fixture.h"
#include "runner.h"

#ifdef AX_TSAN
#define RACE_ITERS 100
#define RACE_TRAP_ITERS 50
#else
#define RACE_ITERS 200
#define RACE_TRAP_ITERS 100
#endif
#define HUB_LINKS 100


/* ---- probe records ---------------------------------------------------------------------- */

#define MAX_RECS 1024
#define EXIT_LOG 128
#define DOWN_LOG 16

struct rec {
    ax_ref ref;               /* written and read by main only */
    _Atomic int stop_calls;   /* stopped hook runs */
    _Atomic int reason;       /* the stopped hook's reason (stored before stop_calls) */
    _Atomic int handled;      /* user messages handled */
    _Atomic int exit_action;  /* on AX_MSG_EXIT: 0 keep going, -1 return -1, else ax_fail */
    _Atomic uint64_t last_monitor; /* the id the last CMD_MONITOR got */
    _Atomic int nexits;       /* entries in exits (stored after the entry) */
    ax_exit exits[EXIT_LOG];
    _Atomic int ndowns;
    ax_down downs[DOWN_LOG];
};
static struct rec g_rec[MAX_RECS];
static int g_nrec; /* main only */

static void reset_recs(void) { /* only while no runtime is alive */
    memset(g_rec, 0, sizeof g_rec);
    g_nrec = 0;
}

/* ---- the probe behavior ----------------------------------------------------------------- */

enum {
    CMD_PING = 1,     /* reply: handled count */
    CMD_LINK,         /* ax_ref: reply ax_link's rc */
    CMD_UNLINK,       /* ax_ref: reply ax_unlink's rc */
    CMD_TRAP,         /* int: reply ax_trap_exits's rc */
    CMD_FAIL,         /* int reason: reply ax_fail's rc, return 0 */
    CMD_ERR,          /* return -1 */
    CMD_FAIL_AND_ERR, /* int reason: ax_fail, then return -1 */
    CMD_MONITOR,      /* ax_ref: reply {rc, id} */
    CMD_DEMONITOR,    /* ax_monitor_id: reply rc */
    CMD_MON_DEMON,    /* ax_ref: monitor then demonitor in one handler: reply {rc, rc} */
    CMD_WAIT_GO,      /* ax_monitor_id: hold until g_go, then demonitor; rc in g_wait_rc */
    CMD_EXIT_ACTION,  /* int: set exit_action; reply 0 */
    CMD_MISUSE,       /* reply: number of wrong return codes */
    CMD_NOP,
    CMD_STOP_SELF,    /* ax_stop on itself */
    CMD_REPLY = 100
};

struct reply {
    int64_t a, b;
};

struct pstate {
    int idx;
};

static atomic_int g_go, g_wait_entered, g_wait_done, g_wait_rc;

static int probe_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    ((struct pstate *)state)->idx = *(const int *)arg;
    return 0;
}

static ax_ref ref_arg(const ax_msg *msg) {
    ax_ref r = AX_REF_NONE;
    HCHECK(msg->size == sizeof r);
    if (msg->size == sizeof r) memcpy(&r, msg->data, sizeof r);
    return r;
}

static int int_arg(const ax_msg *msg) {
    int v = 0;
    HCHECK(msg->size == sizeof v);
    if (msg->size == sizeof v) memcpy(&v, msg->data, sizeof v);
    return v;
}

static ax_monitor_id monitor_arg(const ax_msg *msg) {
    ax_monitor_id v = {0};
    HCHECK(msg->size == sizeof v);
    if (msg->size == sizeof v) memcpy(&v, msg->data, sizeof v);
    return v;
}

/* The in-handler misuse checks; returns how many return codes were wrong. */
static int misuse_in_handler(ax_ctx *ctx) {
    int bad = 0;
#define EXPECT_RC(expr, want)                                                            \
    do {                                                                                 \
        int rc_ = (expr);                                                                \
        if (rc_ != (want)) {                                                             \
            fprintf(stderr, "%s:%d: %s gave %d, expected %d\n", __FILE__, __LINE__, #expr, \
                    rc_, (int)(want));                                                   \
            bad++;                                                                       \
        }                                                                                \
    } while (0)
    EXPECT_RC(ax_link(ctx, ax_self(ctx)), AX_EINVAL);
    EXPECT_RC(ax_monitor(ctx, ax_self(ctx), NULL), AX_EINVAL);
    EXPECT_RC(ax_monitor(ctx, AX_REF_NONE, NULL), AX_EINVAL);
    EXPECT_RC(ax_fail(ctx, AX_REASON_NORMAL), AX_EINVAL);
    EXPECT_RC(ax_fail(ctx, 5), AX_EINVAL);
    EXPECT_RC(ax_fail(ctx, AX_REASON_SHUTDOWN), AX_EINVAL);
    EXPECT_RC(ax_fail(ctx, AX_REASON_NOPROC), AX_EINVAL);
    EXPECT_RC(ax_fail(ctx, AX_REASON_USER - 1), AX_EINVAL);
    EXPECT_RC(ax_fail(ctx, -1), AX_EINVAL);
    EXPECT_RC(ax_demonitor(ctx, (ax_monitor_id){0}), AX_ENOENT); /* no monitor at all yet */
    EXPECT_RC(ax_demonitor(ctx, (ax_monitor_id){12345}), AX_ENOENT);
    EXPECT_RC(ax_unlink(ctx, AX_REF_NONE), 0);      /* no such link: nothing to do */
    EXPECT_RC(ax_trap_exits(ctx, 0), 0);
#undef EXPECT_RC
    return bad;
}

static int probe_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct rec *r = &g_rec[((struct pstate *)state)->idx];
    if (msg->type == AX_MSG_EXIT) {
        ax_exit x;
        HCHECK(msg->size == sizeof x);
        memcpy(&x, msg->data, sizeof x);
        HCHECK(ax_ref_eq(msg->sender, x.from));
        int n = atomic_load(&r->nexits);
        HCHECK(n < EXIT_LOG);
        if (n < EXIT_LOG) r->exits[n] = x;
        atomic_store(&r->nexits, n + 1);
        int act = atomic_load(&r->exit_action);
        if (act == -1) return -1;
        if (act > 0) HCHECK(ax_fail(ctx, act) == 0);
        return 0;
    }
    if (msg->type == AX_MSG_DOWN) {
        ax_down d;
        HCHECK(msg->size == sizeof d);
        memcpy(&d, msg->data, sizeof d);
        HCHECK(ax_ref_eq(msg->sender, d.ref));
        int n = atomic_load(&r->ndowns);
        HCHECK(n < DOWN_LOG);
        if (n < DOWN_LOG) r->downs[n] = d;
        atomic_store(&r->ndowns, n + 1);
        return 0;
    }
    HCHECK(msg->type < AX_MSG_RESERVED);
    int handled = atomic_fetch_add(&r->handled, 1) + 1;
    struct reply rep = {0, 0};
    switch (msg->type) {
    case CMD_PING:
        rep.a = handled;
        break;
    case CMD_LINK:
        rep.a = ax_link(ctx, ref_arg(msg));
        break;
    case CMD_UNLINK:
        rep.a = ax_unlink(ctx, ref_arg(msg));
        break;
    case CMD_TRAP:
        rep.a = ax_trap_exits(ctx, int_arg(msg));
        break;
    case CMD_FAIL:
        rep.a = ax_fail(ctx, int_arg(msg));
        break;
    case CMD_ERR:
        return -1;
    case CMD_FAIL_AND_ERR:
        HCHECK(ax_fail(ctx, int_arg(msg)) == 0);
        return -1;
    case CMD_MONITOR: {
        ax_monitor_id id = {0};
        rep.a = ax_monitor(ctx, ref_arg(msg), &id);
        rep.b = (int64_t)id.id;
        atomic_store(&r->last_monitor, id.id);
        break;
    }
    case CMD_DEMONITOR:
        rep.a = ax_demonitor(ctx, monitor_arg(msg));
        break;
    case CMD_MON_DEMON: {
        ax_monitor_id id = {0};
        rep.a = ax_monitor(ctx, ref_arg(msg), &id);
        rep.b = ax_demonitor(ctx, id);
        break;
    }
    case CMD_WAIT_GO: {
        ax_monitor_id id = monitor_arg(msg);
        atomic_store(&g_wait_entered, 1);
        HCHECK(check_spin_until_set(&g_go) == 0);
        atomic_store(&g_wait_rc, ax_demonitor(ctx, id));
        atomic_store(&g_wait_done, 1);
        return 0;
    }
    case CMD_EXIT_ACTION:
        atomic_store(&r->exit_action, int_arg(msg));
        break;
    case CMD_MISUSE:
        rep.a = misuse_in_handler(ctx);
        break;
    case CMD_NOP:
        return 0;
    case CMD_STOP_SELF:
        HCHECK(ax_stop(ax_ctx_runtime(ctx), ax_self(ctx)) == 0);
        return 0;
    default:
        HCHECK(!"unknown command");
        return 0;
    }
    (void)ax_reply(ctx, CMD_REPLY, &rep, sizeof rep); /* AX_ENOACTOR for a plain ax_send */
    return 0;
}

static void probe_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    struct rec *r = &g_rec[((struct pstate *)state)->idx];
    atomic_store(&r->reason, reason);
    atomic_fetch_add(&r->stop_calls, 1);
}

static const ax_behavior probe_b = {"probe", sizeof(struct pstate), probe_init, probe_receive,
                                    probe_stopped};

/* ---- main-side helpers ------------------------------------------------------------------ */

static int spawn_probe(ax_runtime *rt) {
    CHECK(g_nrec < MAX_RECS);
    int idx = g_nrec++;
    CHECK_OK(ax_spawn(rt, &probe_b, &idx, NULL, &g_rec[idx].ref));
    CHECK(!ax_ref_is_none(g_rec[idx].ref));
    return idx;
}

static ax_ref R(int i) { return g_rec[i].ref; }

/* A round trip: sends the command with ax_ask_wait and returns the reply. */
static struct reply call(ax_runtime *rt, int i, uint32_t type, const void *data, size_t size) {
    ax_msg *m = NULL;
    CHECK_OK(ax_ask_wait(rt, R(i), type, data, size, CHECK_HANG_GUARD_MS, &m));
    CHECK(m != NULL);
    CHECK_EQ(m->type, CMD_REPLY);
    CHECK_EQ(m->size, sizeof(struct reply));
    struct reply rep;
    memcpy(&rep, m->data, sizeof rep);
    CHECK_OK(ax_msg_free(rt, m));
    return rep;
}

static int64_t ping(ax_runtime *rt, int i) { return call(rt, i, CMD_PING, NULL, 0).a; }

static void link_to(ax_runtime *rt, int i, int j) {
    ax_ref r = R(j);
    CHECK_EQ(call(rt, i, CMD_LINK, &r, sizeof r).a, 0);
}

static void unlink_from(ax_runtime *rt, int i, int j) {
    ax_ref r = R(j);
    CHECK_EQ(call(rt, i, CMD_UNLINK, &r, sizeof r).a, 0);
}

static void trap(ax_runtime *rt, int i, int on) {
    CHECK_EQ(call(rt, i, CMD_TRAP, &on, sizeof on).a, 0);
}

static ax_monitor_id monitor(ax_runtime *rt, int i, ax_ref target) {
    struct reply rep = call(rt, i, CMD_MONITOR, &target, sizeof target);
    CHECK_EQ(rep.a, 0);
    return (ax_monitor_id){(uint64_t)rep.b};
}

/* Makes actor i fail with reason (>= AX_REASON_USER) by ax_fail, with a plain send. */
static void fail_with(ax_runtime *rt, int i, int reason) {
    CHECK_OK(ax_send(rt, R(i), CMD_FAIL, &reason, sizeof reason));
}

/* Waits for actor i's stopped hook and returns its reason; names the caller's line if the
 * hang guard expires. */
static int wait_stopped_at(int i, int line) {
    int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
    long spins = 0;
    while (atomic_load(&g_rec[i].stop_calls) < 1) {
        if (check_now_ms() > deadline) {
            fprintf(stderr, "%s:%d: hang guard: actor %d did not stop in %d ms\n", __FILE__, line,
                    i, CHECK_HANG_GUARD_MS);
            exit(1);
        }
        check_sleep_us(spins++ < 100 ? 10 : 200);
    }
    return atomic_load(&g_rec[i].reason);
}
#define wait_stopped(i) wait_stopped_at((i), __LINE__)

/* Waits until `stopped` actors have completely stopped (links and monitors answered), then
 * makes each alive actor in `alive` (n of them, -1 ends early) handle everything sent to it so
 * far: two round trips, so that signals pushed before the first are seen before the second. */
static void settle(ax_runtime *rt, uint64_t stopped, const int *alive, int n) {
    WAIT_UNTIL(fixture_stats(rt).stopped >= stopped);
    for (int k = 0; k < n; k++) {
        ping(rt, alive[k]);
        ping(rt, alive[k]);
    }
}

static void check_alive(int i) { CHECK_EQ(atomic_load(&g_rec[i].stop_calls), 0); }

static void check_exit(int i, int k, ax_ref from, int reason) {
    CHECK(atomic_load(&g_rec[i].nexits) > k);
    CHECK_EQ(g_rec[i].exits[k].from.id, from.id);
    CHECK_EQ(g_rec[i].exits[k].reason, reason);
}

static void check_down(int i, int k, ax_ref ref, ax_monitor_id id, int reason) {
    CHECK(atomic_load(&g_rec[i].ndowns) > k);
    CHECK_EQ(g_rec[i].downs[k].ref.id, ref.id);
    CHECK_EQ(g_rec[i].downs[k].monitor.id, id.id);
    CHECK_EQ(g_rec[i].downs[k].reason, reason);
}

/* Shuts down and destroys; every probe's stopped hook ran exactly once. */
static void finish(ax_runtime *rt) {
    fixture_shutdown(rt);
    fixture_destroy(rt);
    for (int i = 0; i < g_nrec; i++) CHECK_EQ(atomic_load(&g_rec[i].stop_calls), 1);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 1. An abnormal exit (ax_fail with a user reason) propagates over links, also down a chain.
 * ==================================================================================== */
static void test_propagation(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    const int reason = AX_REASON_USER + 5;

    /* Pair: B linked to A; A fails. */
    int a = spawn_probe(rt), b = spawn_probe(rt);
    link_to(rt, b, a);
    fail_with(rt, a, reason);
    CHECK_EQ(wait_stopped(a), reason);
    CHECK_EQ(wait_stopped(b), reason);
    CHECK_EQ(atomic_load(&g_rec[b].nexits), 0);

    /* The other direction: A linked to B (the link is two-way); B fails. */
    int a2 = spawn_probe(rt), b2 = spawn_probe(rt);
    link_to(rt, a2, b2);
    fail_with(rt, b2, reason + 1);
    CHECK_EQ(wait_stopped(b2), reason + 1);
    CHECK_EQ(wait_stopped(a2), reason + 1);

    /* Chain A - B - C: B links A, C links B; A fails; all three stop with its reason. */
    int ca = spawn_probe(rt), cb = spawn_probe(rt), cc = spawn_probe(rt);
    link_to(rt, cb, ca);
    link_to(rt, cc, cb);
    fail_with(rt, ca, reason);
    CHECK_EQ(wait_stopped(ca), reason);
    CHECK_EQ(wait_stopped(cb), reason);
    CHECK_EQ(wait_stopped(cc), reason);

    /* Chain failing from the middle: both ends stop. */
    int ma = spawn_probe(rt), mb = spawn_probe(rt), mc = spawn_probe(rt);
    link_to(rt, mb, ma);
    link_to(rt, mc, mb);
    fail_with(rt, mb, reason + 2);
    CHECK_EQ(wait_stopped(ma), reason + 2);
    CHECK_EQ(wait_stopped(mb), reason + 2);
    CHECK_EQ(wait_stopped(mc), reason + 2);

    /* Each stopped hook ran once. */
    settle(rt, 10, NULL, 0);
    for (int i = 0; i < g_nrec; i++) CHECK_EQ(atomic_load(&g_rec[i].stop_calls), 1);
    finish(rt);
}

/* ======================================================================================
 * 2. A normal stop does not stop a linked non-trapping actor; a trapping one gets an EXIT.
 * ==================================================================================== */
static void test_normal_exit(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    int a = spawn_probe(rt), b = spawn_probe(rt), c = spawn_probe(rt);
    trap(rt, c, 1);
    link_to(rt, b, a);
    link_to(rt, c, a);
    ping(rt, a); /* A has both links */
    CHECK_OK(ax_stop(rt, R(a)));
    CHECK_EQ(wait_stopped(a), AX_REASON_NORMAL);
    WAIT_ATOMIC(g_rec[c].nexits, 1);
    int alive[] = {b, c};
    settle(rt, 1, alive, 2);
    /* B keeps running: it answers a later round trip and has not stopped. */
    int64_t before = ping(rt, b);
    CHECK_OK(ax_send(rt, R(b), CMD_NOP, NULL, 0));
    CHECK_EQ(ping(rt, b), before + 2);
    check_alive(b);
    CHECK_EQ(atomic_load(&g_rec[b].nexits), 0);
    /* C got exactly one EXIT: from A, reason NORMAL; it runs on. */
    CHECK_EQ(atomic_load(&g_rec[c].nexits), 1);
    check_exit(c, 0, R(a), AX_REASON_NORMAL);
    check_alive(c);

    /* A stopping itself is a normal stop too: B2 linked to it keeps running. */
    int a2 = spawn_probe(rt), b2 = spawn_probe(rt);
    link_to(rt, b2, a2);
    link_to(rt, c, a2);
    CHECK_OK(ax_send(rt, R(a2), CMD_STOP_SELF, NULL, 0));
    CHECK_EQ(wait_stopped(a2), AX_REASON_NORMAL);
    int alive2[] = {b2, c};
    settle(rt, 2, alive2, 2);
    check_alive(b2);
    CHECK_EQ(atomic_load(&g_rec[c].nexits), 2);
    check_exit(c, 1, R(a2), AX_REASON_NORMAL);
    finish(rt);
}

/* ======================================================================================
 * 3. A trapping actor receives EXIT for abnormal exits and keeps running; trap off again.
 * ==================================================================================== */
static void test_trap(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    int t = spawn_probe(rt), a = spawn_probe(rt), x = spawn_probe(rt), y = spawn_probe(rt);
    trap(rt, t, 1);
    link_to(rt, t, a);
    link_to(rt, t, a); /* linking twice is one link: one EXIT */
    link_to(rt, a, t); /* and so is linking from the other side */
    fail_with(rt, a, AX_REASON_USER + 9);
    CHECK_EQ(wait_stopped(a), AX_REASON_USER + 9);
    WAIT_ATOMIC(g_rec[t].nexits, 1);
    check_exit(t, 0, R(a), AX_REASON_USER + 9);

    /* T goes on handling messages: 20 sends, then a round trip that counts them. */
    int64_t before = ping(rt, t);
    for (int i = 0; i < 20; i++) CHECK_OK(ax_send(rt, R(t), CMD_NOP, NULL, 0));
    CHECK_EQ(ping(rt, t), before + 21);

    /* Another linked actor fails by returning non-zero: EXIT with AX_REASON_FAILED. */
    link_to(rt, x, t);
    CHECK_OK(ax_send(rt, R(x), CMD_ERR, NULL, 0));
    CHECK_EQ(wait_stopped(x), AX_REASON_FAILED);
    WAIT_ATOMIC(g_rec[t].nexits, 2);
    check_exit(t, 1, R(x), AX_REASON_FAILED);
    int alive[] = {t};
    settle(rt, 2, alive, 1);
    CHECK_EQ(atomic_load(&g_rec[t].nexits), 2); /* exactly once each */
    check_alive(t);

    /* Trap off again: the next abnormal exit stops T with that reason. */
    trap(rt, t, 0);
    link_to(rt, t, y);
    fail_with(rt, y, AX_REASON_USER + 10);
    CHECK_EQ(wait_stopped(y), AX_REASON_USER + 10);
    CHECK_EQ(wait_stopped(t), AX_REASON_USER + 10);
    CHECK_EQ(atomic_load(&g_rec[t].nexits), 2);

    /* A trapping actor whose EXIT handler fails: by ax_fail (that reason), by returning
     * non-zero (FAILED). Each got the EXIT first. */
    int s1 = spawn_probe(rt), s2 = spawn_probe(rt), v1 = spawn_probe(rt), v2 = spawn_probe(rt);
    int act1 = AX_REASON_USER + 11, act2 = -1;
    trap(rt, s1, 1);
    trap(rt, s2, 1);
    CHECK_EQ(call(rt, s1, CMD_EXIT_ACTION, &act1, sizeof act1).a, 0);
    CHECK_EQ(call(rt, s2, CMD_EXIT_ACTION, &act2, sizeof act2).a, 0);
    link_to(rt, s1, v1);
    link_to(rt, s2, v2);
    CHECK_OK(ax_stop(rt, R(v1))); /* even a normal exit, trapped, reaches the handler */
    fail_with(rt, v2, AX_REASON_USER + 12);
    CHECK_EQ(wait_stopped(s1), AX_REASON_USER + 11);
    CHECK_EQ(wait_stopped(s2), AX_REASON_FAILED);
    CHECK_EQ(atomic_load(&g_rec[s1].nexits), 1);
    check_exit(s1, 0, R(v1), AX_REASON_NORMAL);
    CHECK_EQ(atomic_load(&g_rec[s2].nexits), 1);
    check_exit(s2, 0, R(v2), AX_REASON_USER + 12);
    finish(rt);
}

/* ======================================================================================
 * 4. A handler returning non-zero: FAILED propagates; exact processed / failed counts.
 * ==================================================================================== */
static void test_failed_stats(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    uint64_t processed = 0, failed = 0;
    int a = spawn_probe(rt), b = spawn_probe(rt);
    link_to(rt, b, a);
    processed += 1;
    for (int i = 0; i < 10; i++) CHECK_OK(ax_send(rt, R(a), CMD_NOP, NULL, 0));
    processed += 10;
    CHECK_OK(ax_send(rt, R(a), CMD_ERR, NULL, 0));
    failed += 1;
    /* Sent after the failing message: never handled (accepted or refused, by timing). */
    for (int i = 0; i < 5; i++) {
        int rc = ax_send(rt, R(a), CMD_NOP, NULL, 0);
        CHECK(rc == 0 || rc == AX_ENOACTOR);
    }
    CHECK_EQ(wait_stopped(a), AX_REASON_FAILED);
    CHECK_EQ(wait_stopped(b), AX_REASON_FAILED);
    CHECK_EQ(atomic_load(&g_rec[a].handled), 11);

    /* ax_fail and a non-zero return in one handler: the ax_fail reason wins; one failed. */
    int c = spawn_probe(rt);
    for (int i = 0; i < 3; i++) CHECK_OK(ax_send(rt, R(c), CMD_NOP, NULL, 0));
    processed += 3;
    int reason = AX_REASON_USER + 2;
    CHECK_OK(ax_send(rt, R(c), CMD_FAIL_AND_ERR, &reason, sizeof reason));
    failed += 1;
    CHECK_EQ(wait_stopped(c), AX_REASON_USER + 2);

    /* ax_fail in a handler that returns 0 (through an ask: the reply comes first). */
    int f = spawn_probe(rt);
    reason = AX_REASON_USER + 3;
    CHECK_EQ(call(rt, f, CMD_FAIL, &reason, sizeof reason).a, 0);
    failed += 1;
    CHECK_EQ(wait_stopped(f), AX_REASON_USER + 3);

    /* ax_fail(AX_REASON_FAILED) is allowed and gives FAILED. */
    int g = spawn_probe(rt);
    reason = AX_REASON_FAILED;
    CHECK_EQ(call(rt, g, CMD_FAIL, &reason, sizeof reason).a, 0);
    failed += 1;
    CHECK_EQ(wait_stopped(g), AX_REASON_FAILED);

    /* A trapping actor: the FAILED exit arrives as a message, which no stat counts. */
    int d = spawn_probe(rt), e = spawn_probe(rt);
    trap(rt, d, 1);
    link_to(rt, d, e);
    processed += 2;
    CHECK_OK(ax_send(rt, R(e), CMD_ERR, NULL, 0));
    failed += 1;
    CHECK_EQ(wait_stopped(e), AX_REASON_FAILED);
    WAIT_ATOMIC(g_rec[d].nexits, 1);
    check_exit(d, 0, R(e), AX_REASON_FAILED);
    CHECK_EQ(ping(rt, d), 3);
    processed += 1;
    check_alive(d);

    fixture_shutdown(rt);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.processed, processed);
    CHECK_EQ(st.failed, failed);
    CHECK_EQ(st.spawned, (uint64_t)g_nrec);
    CHECK_EQ(st.stopped, (uint64_t)g_nrec);
    CHECK_EQ(atomic_load(&g_rec[d].reason), AX_REASON_SHUTDOWN);
    fixture_destroy(rt);
    for (int i = 0; i < g_nrec; i++) CHECK_EQ(atomic_load(&g_rec[i].stop_calls), 1);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 5. Linking to a dead ref: NOPROC, at once.
 * ==================================================================================== */
static void test_link_dead(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    int dead = spawn_probe(rt);
    CHECK_OK(ax_stop(rt, R(dead)));
    CHECK_EQ(wait_stopped(dead), AX_REASON_NORMAL);
    settle(rt, 1, NULL, 0);

    /* Not trapping: ax_link returns 0, then the caller stops with NOPROC. */
    int b = spawn_probe(rt);
    link_to(rt, b, dead);
    CHECK_EQ(wait_stopped(b), AX_REASON_NOPROC);
    CHECK_EQ(atomic_load(&g_rec[b].nexits), 0);

    /* Trapping: one EXIT {from = the dead ref, NOPROC}; the caller runs on. */
    int c = spawn_probe(rt);
    trap(rt, c, 1);
    link_to(rt, c, dead);
    WAIT_ATOMIC(g_rec[c].nexits, 1);
    check_exit(c, 0, R(dead), AX_REASON_NOPROC);
    /* A ref that never was valid is not alive either. */
    ax_ref none = AX_REF_NONE;
    CHECK_EQ(call(rt, c, CMD_LINK, &none, sizeof none).a, 0);
    WAIT_ATOMIC(g_rec[c].nexits, 2);
    check_exit(c, 1, AX_REF_NONE, AX_REASON_NOPROC);
    /* Linking to an actor that died of NOPROC itself. */
    link_to(rt, c, b);
    WAIT_ATOMIC(g_rec[c].nexits, 3);
    check_exit(c, 2, R(b), AX_REASON_NOPROC);
    int alive[] = {c};
    settle(rt, 2, alive, 1);
    CHECK_EQ(atomic_load(&g_rec[c].nexits), 3);
    check_alive(c);

    /* The NOPROC a non-trapping actor gets propagates over its other links with NOPROC. */
    int p = spawn_probe(rt), q = spawn_probe(rt);
    link_to(rt, q, p);
    link_to(rt, c, p);
    link_to(rt, p, dead);
    CHECK_EQ(wait_stopped(p), AX_REASON_NOPROC);
    CHECK_EQ(wait_stopped(q), AX_REASON_NOPROC);
    WAIT_ATOMIC(g_rec[c].nexits, 4);
    check_exit(c, 3, R(p), AX_REASON_NOPROC);
    finish(rt);
}

/* ======================================================================================
 * 6. Unlink: afterwards an abnormal exit of the peer does not reach the caller.
 * ==================================================================================== */
static void test_unlink(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    /* The caller unlinks; the peer fails. */
    int a = spawn_probe(rt), b = spawn_probe(rt);
    link_to(rt, b, a);
    unlink_from(rt, b, a);
    ping(rt, a); /* the unlink reached A */
    fail_with(rt, a, AX_REASON_USER + 6);
    CHECK_EQ(wait_stopped(a), AX_REASON_USER + 6);
    int alive1[] = {b};
    settle(rt, 1, alive1, 1);
    check_alive(b);

    /* The peer unlinks; the caller fails: the peer is unaffected. */
    int c = spawn_probe(rt), d = spawn_probe(rt);
    link_to(rt, c, d);
    unlink_from(rt, d, c);
    ping(rt, c);
    fail_with(rt, c, AX_REASON_USER + 6);
    CHECK_EQ(wait_stopped(c), AX_REASON_USER + 6);
    int alive2[] = {d};
    settle(rt, 2, alive2, 1);
    check_alive(d);

    /* A trapping caller that unlinked gets no EXIT. */
    int t = spawn_probe(rt), e = spawn_probe(rt);
    trap(rt, t, 1);
    link_to(rt, t, e);
    unlink_from(rt, t, e);
    ping(rt, e);
    fail_with(rt, e, AX_REASON_USER + 6);
    CHECK_EQ(wait_stopped(e), AX_REASON_USER + 6);
    int alive3[] = {t};
    settle(rt, 3, alive3, 1);
    check_alive(t);
    CHECK_EQ(atomic_load(&g_rec[t].nexits), 0);

    /* Unlinking what is not linked is fine; relinking after an unlink works again. */
    int f = spawn_probe(rt), g = spawn_probe(rt);
    unlink_from(rt, f, g);
    link_to(rt, f, g);
    unlink_from(rt, f, g);
    link_to(rt, f, g);
    ping(rt, g);
    fail_with(rt, g, AX_REASON_USER + 8);
    CHECK_EQ(wait_stopped(g), AX_REASON_USER + 8);
    CHECK_EQ(wait_stopped(f), AX_REASON_USER + 8);
    finish(rt);
}

/* ======================================================================================
 * 7. Monitors.
 * ==================================================================================== */
static void test_monitor(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    int w = spawn_probe(rt); /* the watcher: does not trap exits */
    int t1 = spawn_probe(rt), t2 = spawn_probe(rt), t3 = spawn_probe(rt), t4 = spawn_probe(rt);
    int t5 = spawn_probe(rt), t6 = spawn_probe(rt), t7 = spawn_probe(rt);
    ax_monitor_id ids[16];
    int nids = 0, ndown = 0, nstopped = 0;

    /* Normal stop. */
    ax_monitor_id id1 = ids[nids++] = monitor(rt, w, R(t1));
    CHECK_OK(ax_stop(rt, R(t1)));
    WAIT_ATOMIC(g_rec[w].ndowns, ndown + 1);
    check_down(w, ndown++, R(t1), id1, AX_REASON_NORMAL);
    nstopped++;

    /* A handler returning non-zero. */
    ax_monitor_id id2 = ids[nids++] = monitor(rt, w, R(t2));
    CHECK_OK(ax_send(rt, R(t2), CMD_ERR, NULL, 0));
    WAIT_ATOMIC(g_rec[w].ndowns, ndown + 1);
    check_down(w, ndown++, R(t2), id2, AX_REASON_FAILED);
    nstopped++;

    /* A user reason. */
    ax_monitor_id id3 = ids[nids++] = monitor(rt, w, R(t3));
    fail_with(rt, t3, AX_REASON_USER + 3);
    WAIT_ATOMIC(g_rec[w].ndowns, ndown + 1);
    check_down(w, ndown++, R(t3), id3, AX_REASON_USER + 3);
    nstopped++;

    /* Two monitors on one target: two DOWNs, distinct ids. */
    ax_monitor_id id4a = ids[nids++] = monitor(rt, w, R(t4));
    ax_monitor_id id4b = ids[nids++] = monitor(rt, w, R(t4));
    CHECK(!ax_monitor_eq(id4a, id4b));
    CHECK_OK(ax_stop(rt, R(t4)));
    WAIT_ATOMIC(g_rec[w].ndowns, ndown + 2);
    for (int k = ndown; k < ndown + 2; k++) {
        CHECK_EQ(g_rec[w].downs[k].ref.id, R(t4).id);
        CHECK_EQ(g_rec[w].downs[k].reason, AX_REASON_NORMAL);
    }
    CHECK(!ax_monitor_eq(g_rec[w].downs[ndown].monitor, g_rec[w].downs[ndown + 1].monitor));
    CHECK(ax_monitor_eq(g_rec[w].downs[ndown].monitor, id4a) ||
          ax_monitor_eq(g_rec[w].downs[ndown].monitor, id4b));
    CHECK(ax_monitor_eq(g_rec[w].downs[ndown + 1].monitor, id4a) ||
          ax_monitor_eq(g_rec[w].downs[ndown + 1].monitor, id4b));
    ndown += 2;
    nstopped++;

    /* A dead ref: DOWN with NOPROC at once. */
    ax_monitor_id id5 = ids[nids++] = monitor(rt, w, R(t1));
    WAIT_ATOMIC(g_rec[w].ndowns, ndown + 1);
    check_down(w, ndown++, R(t1), id5, AX_REASON_NOPROC);

    /* Demonitor before the target dies: no DOWN for it. A witness monitor set up first
     * shows when the target's answers went out. */
    ax_monitor_id idw = ids[nids++] = monitor(rt, w, R(t5));
    ax_monitor_id idx = ids[nids++] = monitor(rt, w, R(t5));
    CHECK_EQ(call(rt, w, CMD_DEMONITOR, &idx, sizeof idx).a, 0);
    CHECK_EQ(call(rt, w, CMD_DEMONITOR, &idx, sizeof idx).a, AX_ENOENT); /* gone now */
    CHECK_OK(ax_stop(rt, R(t5)));
    WAIT_ATOMIC(g_rec[w].ndowns, ndown + 1);
    check_down(w, ndown++, R(t5), idw, AX_REASON_NORMAL);
    nstopped++;
    int alive[] = {w};
    settle(rt, (uint64_t)nstopped, alive, 1);
    CHECK_EQ(atomic_load(&g_rec[w].ndowns), ndown);

    /* Demonitor of a DOWN already in flight (queued in the watcher's mailbox): dropped. */
    ax_monitor_id id6 = ids[nids++] = monitor(rt, w, R(t6));
    ping(rt, t6); /* t6 holds the monitor and is idle */
    atomic_store(&g_go, 0);
    atomic_store(&g_wait_entered, 0);
    atomic_store(&g_wait_done, 0);
    atomic_store(&g_wait_rc, 99);
    CHECK_OK(ax_send(rt, R(w), CMD_WAIT_GO, &id6, sizeof id6));
    WAIT_ATOMIC(g_wait_entered, 1); /* w is inside the handler */
    CHECK_OK(ax_stop(rt, R(t6)));
    nstopped++;
    WAIT_UNTIL(fixture_stats(rt).stopped >= (uint64_t)nstopped); /* t6's DOWN is in w's mailbox */
    atomic_store(&g_go, 1);
    WAIT_ATOMIC(g_wait_done, 1);
    CHECK_EQ(atomic_load(&g_wait_rc), 0);
    settle(rt, (uint64_t)nstopped, alive, 1);
    CHECK_EQ(atomic_load(&g_rec[w].ndowns), ndown);

    /* Monitor and demonitor of a dead ref in one handler: the NOPROC DOWN is dropped. */
    ax_ref t1ref = R(t1);
    struct reply rep = call(rt, w, CMD_MON_DEMON, &t1ref, sizeof t1ref);
    CHECK_EQ(rep.a, 0);
    CHECK_EQ(rep.b, 0);
    settle(rt, (uint64_t)nstopped, alive, 1);
    CHECK_EQ(atomic_load(&g_rec[w].ndowns), ndown);

    /* Unknown ids. */
    ax_monitor_id unknown = {0xdeadbeefULL};
    CHECK_EQ(call(rt, w, CMD_DEMONITOR, &unknown, sizeof unknown).a, AX_ENOENT);
    unknown.id = 0;
    CHECK_EQ(call(rt, w, CMD_DEMONITOR, &unknown, sizeof unknown).a, AX_ENOENT);

    /* All ids distinct. */
    for (int i = 0; i < nids; i++)
        for (int j = i + 1; j < nids; j++) CHECK(!ax_monitor_eq(ids[i], ids[j]));

    /* The monitors did not kill the watcher (which does not trap exits) and sent no EXIT. */
    check_alive(w);
    CHECK_EQ(atomic_load(&g_rec[w].nexits), 0);

    /* One way: the watcher stopping tells the target nothing. */
    monitor(rt, w, R(t7));
    fail_with(rt, w, AX_REASON_USER + 4);
    CHECK_EQ(wait_stopped(w), AX_REASON_USER + 4);
    nstopped++;
    int alive7[] = {t7};
    settle(rt, (uint64_t)nstopped, alive7, 1);
    check_alive(t7);
    CHECK_EQ(atomic_load(&g_rec[t7].ndowns), 0);
    CHECK_EQ(atomic_load(&g_rec[t7].nexits), 0);
    finish(rt);
}

/* ======================================================================================
 * 8. Many to one: 100 linked actors fail; the trapping hub gets exactly 100 EXITs.
 * ==================================================================================== */
static void test_hub(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    int hub = spawn_probe(rt);
    trap(rt, hub, 1);
    int first = g_nrec;
    for (int i = 0; i < HUB_LINKS; i++) {
        int s = spawn_probe(rt);
        link_to(rt, s, hub);
    }
    for (int i = 0; i < HUB_LINKS; i++) fail_with(rt, first + i, AX_REASON_USER + 1);
    for (int i = 0; i < HUB_LINKS; i++) CHECK_EQ(wait_stopped(first + i), AX_REASON_USER + 1);
    WAIT_ATOMIC(g_rec[hub].nexits, HUB_LINKS);
    int alive[] = {hub};
    settle(rt, HUB_LINKS, alive, 1);
    CHECK_EQ(atomic_load(&g_rec[hub].nexits), HUB_LINKS);
    static unsigned char seen[MAX_RECS];
    memset(seen, 0, sizeof seen);
    for (int k = 0; k < HUB_LINKS; k++) {
        ax_exit x = g_rec[hub].exits[k];
        CHECK_EQ(x.reason, AX_REASON_USER + 1);
        int who = -1;
        for (int i = 0; i < HUB_LINKS; i++)
            if (ax_ref_eq(R(first + i), x.from)) who = first + i;
        CHECK(who >= 0);
        CHECK(!seen[who]);
        seen[who] = 1;
    }
    check_alive(hub);
    finish(rt);
}

/* ======================================================================================
 * 9. Links racing with exits.
 * ==================================================================================== */
static void test_race(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    const int reason = AX_REASON_USER + 7;
    int propagated = 0, noproc = 0;
    /* B links to A while A fails: B always stops, with A's reason or NOPROC. */
    for (int it = 0; it < RACE_ITERS; it++) {
        int a = spawn_probe(rt), b = spawn_probe(rt);
        ax_ref ra = R(a);
        if (it & 1) {
            CHECK_OK(ax_send(rt, R(b), CMD_LINK, &ra, sizeof ra));
            fail_with(rt, a, reason);
        } else {
            fail_with(rt, a, reason);
            CHECK_OK(ax_send(rt, R(b), CMD_LINK, &ra, sizeof ra));
        }
        CHECK_EQ(wait_stopped(a), reason);
        int rb = wait_stopped(b);
        if (rb == reason) propagated++;
        else if (rb == AX_REASON_NOPROC) noproc++;
        else {
            fprintf(stderr, "race iteration %d: B stopped with reason %d\n", it, rb);
            CHECK(0);
        }
    }
    /* The same with B trapping and A stopped normally from main: exactly one EXIT from A,
     * NORMAL or NOPROC, and B keeps running. */
    int first = g_nrec, normal = 0, trapped_noproc = 0;
    for (int it = 0; it < RACE_TRAP_ITERS; it++) {
        int a = spawn_probe(rt), b = spawn_probe(rt);
        trap(rt, b, 1);
        ax_ref ra = R(a);
        if (it & 1) {
            CHECK_OK(ax_send(rt, R(b), CMD_LINK, &ra, sizeof ra));
            CHECK_OK(ax_stop(rt, ra));
        } else {
            CHECK_OK(ax_stop(rt, ra));
            CHECK_OK(ax_send(rt, R(b), CMD_LINK, &ra, sizeof ra));
        }
        CHECK_EQ(wait_stopped(a), AX_REASON_NORMAL);
        WAIT_ATOMIC(g_rec[b].nexits, 1);
        CHECK_EQ(g_rec[b].exits[0].from.id, ra.id);
        int rx = g_rec[b].exits[0].reason;
        if (rx == AX_REASON_NORMAL) normal++;
        else if (rx == AX_REASON_NOPROC) trapped_noproc++;
        else {
            fprintf(stderr, "trap race iteration %d: EXIT reason %d\n", it, rx);
            CHECK(0);
        }
    }
    /* A monitor racing with the target's stop: exactly one DOWN, NORMAL or NOPROC. */
    int mfirst = g_nrec, down_normal = 0, down_noproc = 0;
    for (int it = 0; it < RACE_TRAP_ITERS; it++) {
        int a = spawn_probe(rt), w = spawn_probe(rt);
        ax_ref ra = R(a);
        if (it & 1) {
            CHECK_OK(ax_send(rt, R(w), CMD_MONITOR, &ra, sizeof ra));
            CHECK_OK(ax_stop(rt, ra));
        } else {
            CHECK_OK(ax_stop(rt, ra));
            CHECK_OK(ax_send(rt, R(w), CMD_MONITOR, &ra, sizeof ra));
        }
        CHECK_EQ(wait_stopped(a), AX_REASON_NORMAL);
        WAIT_ATOMIC(g_rec[w].ndowns, 1);
        CHECK_EQ(g_rec[w].downs[0].ref.id, ra.id);
        CHECK_EQ(g_rec[w].downs[0].monitor.id, atomic_load(&g_rec[w].last_monitor));
        int rx = g_rec[w].downs[0].reason;
        if (rx == AX_REASON_NORMAL) down_normal++;
        else if (rx == AX_REASON_NOPROC) down_noproc++;
        else {
            fprintf(stderr, "monitor race iteration %d: DOWN reason %d\n", it, rx);
            CHECK(0);
        }
    }
    settle(rt, (uint64_t)(2 * RACE_ITERS + 2 * RACE_TRAP_ITERS), NULL, 0);
    for (int it = 0; it < RACE_TRAP_ITERS; it++) {
        int b = first + 2 * it + 1, w = mfirst + 2 * it + 1;
        ping(rt, b);
        ping(rt, b);
        CHECK_EQ(atomic_load(&g_rec[b].nexits), 1);
        check_alive(b);
        ping(rt, w);
        ping(rt, w);
        CHECK_EQ(atomic_load(&g_rec[w].ndowns), 1);
        check_alive(w);
    }
    fprintf(stderr,
            "test_links: race: %d propagated, %d noproc; trapped: %d normal, %d noproc; "
            "monitor: %d normal, %d noproc\n",
            propagated, noproc, normal, trapped_noproc, down_normal, down_noproc);
    finish(rt);
}

/* ======================================================================================
 * 10. Misuse.
 * ==================================================================================== */
static void test_misuse(void) {
    reset_recs();
    ax_monitor_id id = {7};
    CHECK_RC(ax_link(NULL, (ax_ref){1}), AX_EINVAL);
    CHECK_RC(ax_unlink(NULL, (ax_ref){1}), AX_EINVAL);
    CHECK_RC(ax_trap_exits(NULL, 1), AX_EINVAL);
    CHECK_RC(ax_monitor(NULL, (ax_ref){1}, &id), AX_EINVAL);
    CHECK_RC(ax_monitor(NULL, (ax_ref){1}, NULL), AX_EINVAL);
    CHECK_RC(ax_demonitor(NULL, (ax_monitor_id){1}), AX_EINVAL);
    CHECK_RC(ax_fail(NULL, AX_REASON_USER), AX_EINVAL);
    CHECK_RC(ax_fail(NULL, AX_REASON_FAILED), AX_EINVAL);

    ax_runtime *rt = fixture_runtime(2);
    int a = spawn_probe(rt);
    CHECK_EQ(call(rt, a, CMD_MISUSE, NULL, 0).a, 0);
    /* None of the refused calls failed the actor or left a link, monitor or stop behind. */
    CHECK_EQ(ping(rt, a), 2);
    check_alive(a);
    CHECK_EQ(atomic_load(&g_rec[a].nexits), 0);
    CHECK_EQ(atomic_load(&g_rec[a].ndowns), 0);
    fixture_shutdown(rt);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.failed, 0);
    CHECK_EQ(st.processed, 2);
    CHECK_EQ(atomic_load(&g_rec[a].reason), AX_REASON_SHUTDOWN);
    fixture_destroy(rt);
    CHECK_EQ(atomic_load(&g_rec[a].stop_calls), 1);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 11. Shutdown with links: every actor stops once, with SHUTDOWN; no hang.
 * ==================================================================================== */
static void test_shutdown(void) {
    reset_recs();
    ax_runtime *rt = fixture_runtime(2);
    enum { CHAIN = 8 };
    int c[CHAIN];
    for (int i = 0; i < CHAIN; i++) c[i] = spawn_probe(rt);
    for (int i = 1; i < CHAIN; i++) link_to(rt, c[i], c[i - 1]);
    link_to(rt, c[0], c[CHAIN - 1]); /* a ring */
    int hub = spawn_probe(rt);
    trap(rt, hub, 1);
    for (int i = 0; i < CHAIN; i += 2) link_to(rt, hub, c[i]);
    int w = spawn_probe(rt);
    for (int i = 0; i < CHAIN; i++) monitor(rt, w, R(c[i]));
    monitor(rt, w, R(hub));
    for (int i = 0; i < CHAIN; i++) ping(rt, c[i]);
    fixture_shutdown(rt);
    for (int i = 0; i < g_nrec; i++) {
        CHECK_EQ(atomic_load(&g_rec[i].stop_calls), 1);
        CHECK_EQ(atomic_load(&g_rec[i].reason), AX_REASON_SHUTDOWN);
    }
    /* Whatever notices got through before each stopped carry the shutdown reason. */
    for (int k = 0; k < atomic_load(&g_rec[hub].nexits); k++)
        CHECK_EQ(g_rec[hub].exits[k].reason, AX_REASON_SHUTDOWN);
    for (int k = 0; k < atomic_load(&g_rec[w].ndowns); k++)
        CHECK_EQ(g_rec[w].downs[k].reason, AX_REASON_SHUTDOWN);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.stopped, (uint64_t)g_nrec);
    fixture_destroy(rt);
    for (int i = 0; i < g_nrec; i++) CHECK_EQ(atomic_load(&g_rec[i].stop_calls), 1);
    CHECK_NO_HANDLER_FAILURES();
}

/* ---- deterministic mode: links and monitors under 1,000 schedules (tests/det.h) -----------
 * A chain of six linked actors, one of them trapping exits, all monitored; two members are told
 * to fail at the same virtual tick. Whatever the schedule: exactly the members the failure
 * reaches (both ways, up to the trapping one) are down, each with one DOWN of reason FAILED, and
 * the trapping member got one EXIT per dead neighbour. */
enum { DL_FAIL = 0x5200, DL_GO };

#define DL_CHAIN 6
static ax_ref dl_chain[DL_CHAIN];
static atomic_int dl_downs[DL_CHAIN], dl_down_bad, dl_exits[DL_CHAIN], dl_exit_bad;

struct dl_arg {
    int index, trap;
};

static int dl_init(ax_ctx *ctx, void *state, const void *arg) {
    const struct dl_arg *a = arg;
    memcpy(state, a, sizeof *a);
    if (a->trap) HCHECK(ax_trap_exits(ctx, 1) == 0);
    return a->index > 0 ? ax_link(ctx, dl_chain[a->index - 1]) : 0;
}
static int dl_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    const struct dl_arg *a = state;
    if (msg->type == DL_FAIL) return -1;
    if (msg->type == AX_MSG_EXIT) {
        ax_exit x;
        memcpy(&x, msg->data, sizeof x);
        bool neighbour = (a->index > 0 && ax_ref_eq(x.from, dl_chain[a->index - 1])) ||
                         (a->index + 1 < DL_CHAIN && ax_ref_eq(x.from, dl_chain[a->index + 1]));
        if (!a->trap || !neighbour || x.reason != AX_REASON_FAILED) atomic_fetch_add(&dl_exit_bad, 1);
        atomic_fetch_add(&dl_exits[a->index], 1);
    }
    return 0;
}
static const ax_behavior dl_b = {"link", sizeof(struct dl_arg), dl_init, dl_receive, NULL};

/* The observer monitors every member, and counts their DOWNs. */
static int dl_observer_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)state, (void)arg;
    for (int i = 0; i < DL_CHAIN; i++) {
        ax_monitor_id m;
        if (ax_monitor(ctx, dl_chain[i], &m) != 0) return -1;
    }
    return 0;
}
static int dl_observer_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state;
    if (msg->type != AX_MSG_DOWN) return 0;
    ax_down d;
    memcpy(&d, msg->data, sizeof d);
    for (int i = 0; i < DL_CHAIN; i++)
        if (ax_ref_eq(d.ref, dl_chain[i])) {
            atomic_fetch_add(&dl_downs[i], 1);
            if (d.reason != AX_REASON_FAILED) atomic_fetch_add(&dl_down_bad, 1);
        }
    return 0;
}
static const ax_behavior dl_observer_b = {"observer", 0, dl_observer_init, dl_observer_receive, NULL};

/* Kills: two members told to fail at the same virtual tick. */
static int dl_killer_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    int k;
    memcpy(&k, msg->data, sizeof k);
    (void)ax_send(ax_ctx_runtime(ctx), dl_chain[k], DL_FAIL, NULL, 0);
    return 0;
}
static const ax_behavior dl_killer_b = {"killer", 0, NULL, dl_killer_receive, NULL};

static int dl_scenario(uint64_t seed, void *arg) {
    (void)arg;
    for (int i = 0; i < DL_CHAIN; i++) {
        atomic_store(&dl_downs[i], 0);
        atomic_store(&dl_exits[i], 0);
    }
    atomic_store(&dl_down_bad, 0);
    atomic_store(&dl_exit_bad, 0);
    uint32_t r = (uint32_t)seed * 2654435761u | 1u;
    int trap = (int)(det_xorshift(&r) % DL_CHAIN), k1 = (int)(det_xorshift(&r) % DL_CHAIN),
        k2 = (int)(det_xorshift(&r) % DL_CHAIN);
    ax_runtime *rt = det_runtime(seed);
    for (int i = 0; i < DL_CHAIN; i++) {
        struct dl_arg a = {i, i == trap};
        CHECK_OK(ax_spawn(rt, &dl_b, &a, NULL, &dl_chain[i]));
    }
    ax_ref observer, killer;
    CHECK_OK(ax_spawn(rt, &dl_observer_b, NULL, NULL, &observer));
    CHECK_OK(ax_spawn(rt, &dl_killer_b, NULL, NULL, &killer));
    CHECK_OK(ax_send_after(rt, killer, DL_GO, &k1, sizeof k1, 3, NULL));
    CHECK_OK(ax_send_after(rt, killer, DL_GO, &k2, sizeof k2, 3, NULL));
    det_wait_idle(rt);
    /* Expected: each killed member fails; failure spreads both ways along the chain and stops
     * at the trapping member (unless it was killed itself), which gets one EXIT per dead
     * neighbour. */
    bool dead[DL_CHAIN] = {false};
    for (int pass = 0; pass < 2; pass++) {
        int k = pass ? k2 : k1;
        dead[k] = true;
        for (int d = -1; d <= 1; d += 2)
            for (int j = k + d; j >= 0 && j < DL_CHAIN && j != trap; j += d) dead[j] = true;
    }
    if (dead[trap]) /* killed: it failed, and its own failure spread to both sides */
        for (int j = 0; j < DL_CHAIN; j++) dead[j] = true;
    int bad = atomic_load(&dl_down_bad) + atomic_load(&dl_exit_bad);
    for (int i = 0; i < DL_CHAIN; i++) {
        int downs = atomic_load(&dl_downs[i]), exits = atomic_load(&dl_exits[i]);
        int dead_neighbours = (i > 0 && dead[i - 1]) + (i + 1 < DL_CHAIN && dead[i + 1]);
        bool want_exits = i == trap && !dead[i];
        if (downs != (dead[i] ? 1 : 0) || (want_exits && exits != dead_neighbours) ||
            (!want_exits && i != trap && exits != 0)) {
            fprintf(stderr, "links: trap %d kills %d %d: member %d dead %d downs %d exits %d\n",
                    trap, k1, k2, i, dead[i], downs, exits);
            bad++;
        }
    }
    fixture_destroy(rt);
    return bad;
}

static void test_det_seeds(void) {
    DET_CHECK_ALL(dl_scenario, NULL);
    CHECK_NO_HANDLER_FAILURES();
}

TEST_MAIN(TEST_CASE(test_propagation), TEST_CASE(test_normal_exit), TEST_CASE(test_trap),
          TEST_CASE(test_failed_stats), TEST_CASE(test_link_dead), TEST_CASE(test_unlink),
          TEST_CASE(test_monitor), TEST_CASE(test_hub), TEST_CASE(test_race),
          TEST_CASE(test_misuse), TEST_CASE(test_shutdown), TEST_CASE(test_det_seeds))
