/* SPDX-License-Identifier: MIT */
/* test_supervise.c: supervisors through the public API (Erlang/OTP supervisor semantics):
 * strategies x restart types x ways of stopping, simple_one_for_one, restart intensity and
 * escalation (also through a 3-level tree), backoff lower bounds, ordered shutdown of a tree,
 * a fault-injection run with exact message accounting, and shutdown timeouts (a child that does
 * not stop in time, and its late exit).
 *
 * Every worker incarnation logs its init (id from its arg, incarnation number and previous
 * reason from ax_restarts, its ref) and its stop (reason) into one global log. A worker's state
 * is new at every start, so a child that was NOT restarted is recognised by its unchanged ref and
 * by an in-memory counter it still holds. Absence is proved causally: a round trip through the
 * supervisor (ax_supervisor_start_child on a static supervisor is answered AX_EINVAL by the
 * supervisor's own handler) shows that it handled everything that reached it before. */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "axon.h"
#include "check.h"
#include "det.h"
#include "fixture.h"
#include "runner.h"

#if defined(__SANITIZE_ADDRESS__)
#define SV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SV_ASAN 1
#endif
#endif

#if defined(AX_TSAN) || defined(SV_ASAN)
#define FI_CRASHES 150
#define FI_PACE_US 1000
#define FI_INFLIGHT_MAX 5000
#else
#define FI_CRASHES 500
#define FI_PACE_US 500
#define FI_INFLIGHT_MAX 20000
#endif

#define WORKERS 2


static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the event log -------------------------------------------------------------------------- */

enum { EV_INIT = 1, EV_STOP = 2 };

struct ev {
    int kind;
    int id;          /* the child's id (from its arg) */
    uint64_t inc;    /* incarnation: ax_restarts at init */
    ax_ref ref;      /* the incarnation's own ref */
    int reason;      /* EV_STOP: the stop reason; EV_INIT: prev_reason from ax_restarts */
    unsigned alive;  /* EV_STOP in the shutdown test: which watched names were registered */
    int64_t t_ns;
};

#define LOG_MAX 4096
static struct ev g_log[LOG_MAX];
static atomic_int g_log_n;
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;

static void log_add(struct ev e) {
    pthread_mutex_lock(&g_log_mu);
    int i = atomic_load(&g_log_n);
    if (i < LOG_MAX) g_log[i] = e;
    else HCHECK(i < LOG_MAX);
    atomic_store(&g_log_n, i + 1); /* publishes the entry */
    pthread_mutex_unlock(&g_log_mu);
}

static void log_reset(void) { atomic_store(&g_log_n, 0); } /* only while no child runs */

static const char *reason_name(int r) {
    switch (r) {
    case AX_REASON_NORMAL: return "NORMAL";
    case AX_REASON_SHUTDOWN: return "SHUTDOWN";
    case AX_REASON_FAILED: return "FAILED";
    case AX_REASON_NOPROC: return "NOPROC";
    case AX_REASON_ESCALATED: return "ESCALATED";
    default: return r >= AX_REASON_USER ? "USER+" : "?";
    }
}

static void log_dump(int from) {
    int n = atomic_load(&g_log_n);
    fprintf(stderr, "---- log [%d, %d) ----\n", from, n);
    for (int i = from; i < n && i < LOG_MAX; i++) {
        const struct ev *e = &g_log[i];
        fprintf(stderr, "  %3d %-4s id=%d inc=%llu ref=%llx %s=%d(%s) alive=%x\n", i,
                e->kind == EV_INIT ? "INIT" : "STOP", e->id, (unsigned long long)e->inc,
                (unsigned long long)e->ref.id, e->kind == EV_INIT ? "prev" : "reason", e->reason,
                reason_name(e->reason), e->alive);
    }
}

/* Checks log entry i; on mismatch prints the log from `from` and fails. */
#define CHECK_EV(i, from, kind_, id_, inc_, reason_)                                    \
    do {                                                                                \
        const struct ev *e_ = &g_log[(i)];                                              \
        if (e_->kind != (kind_) || e_->id != (id_) || e_->inc != (uint64_t)(inc_) ||   \
            e_->reason != (reason_)) {                                                  \
            fprintf(stderr, "%s:%d: log entry %d: want %s id=%d inc=%llu reason/prev=%d\n", \
                    __FILE__, __LINE__, (int)(i), (kind_) == EV_INIT ? "INIT" : "STOP",   \
                    (int)(id_), (unsigned long long)(inc_), (int)(reason_));            \
            log_dump(from);                                                             \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* ---- the instrumented worker ---------------------------------------------------------------- */

enum {
    M_CRASH = 1,   /* receive returns -1 (AX_REASON_FAILED) */
    M_FAIL_USER,   /* ax_fail(USER_REASON), return 0 */
    M_STOP_SELF,   /* ax_stop on itself (AX_REASON_NORMAL) */
    M_INC,         /* counter++ */
    M_GET,         /* reply a wk_info */
    M_WATCH,       /* watcher: monitor the ax_ref in the payload, then reply */
    M_BLOCK        /* hold the worker thread until g_gate opens */
};
#define USER_REASON (AX_REASON_USER + 7)

struct wk_arg {
    int id;
};
struct wk_state {
    int id;
    uint64_t inc;
    ax_ref ref;
    uint64_t counter;
};
struct wk_info {
    int32_t id;
    uint32_t pad;
    uint64_t inc;
    ax_ref ref;  /* as recorded at init */
    ax_ref self; /* ax_self now */
    uint64_t counter;
};

/* The shutdown test: names whose registration each stopped hook samples (bit i: name i). */
static const char *g_alive_names[4];
static atomic_int g_alive_n; /* stored after g_alive_names */
static _Atomic int64_t g_crash_ns; /* when the last M_CRASH was handled (backoff test) */
static atomic_int g_stop_delay_us;  /* a stopped hook's cleanup time (slow shutdown test) */
static atomic_int g_gate, g_gate_entered;
static atomic_ullong g_inc_handled; /* M_INC handled by incarnations that stopped */

static int wk_init(ax_ctx *ctx, void *state, const void *arg) {
    struct wk_state *s = state;
    HCHECK(arg != NULL);
    HCHECK(s->id == 0 && s->counter == 0 && ax_ref_is_none(s->ref)); /* new state every time */
    s->id = arg ? ((const struct wk_arg *)arg)->id : -1;
    int prev = -12345;
    s->inc = ax_restarts(ctx, &prev);
    HCHECK(prev != -12345);
    s->ref = ax_self(ctx);
    log_add((struct ev){EV_INIT, s->id, s->inc, s->ref, prev, 0, now_ns()});
    return 0;
}

static int wk_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct wk_state *s = state;
    HCHECK(ax_ref_eq(s->ref, ax_self(ctx)));
    switch (msg->type) {
    case M_CRASH:
        atomic_store(&g_crash_ns, now_ns());
        return -1;
    case M_FAIL_USER:
        HCHECK(ax_fail(ctx, USER_REASON) == 0);
        return 0;
    case M_STOP_SELF:
        HCHECK(ax_stop(ax_ctx_runtime(ctx), ax_self(ctx)) == 0);
        return 0;
    case M_INC:
        s->counter++;
        return 0;
    case M_BLOCK:
        atomic_store(&g_gate_entered, 1);
        HCHECK(check_spin_until_set(&g_gate) == 0);
        return 0;
    case M_GET: {
        struct wk_info in = {s->id, 0, s->inc, s->ref, ax_self(ctx), s->counter};
        HCHECK(ax_reply(ctx, 0, &in, sizeof in) == 0);
        return 0;
    }
    default:
        HCHECK(0);
        return 0;
    }
}

static void wk_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    struct wk_state *s = state;
    unsigned alive = 0;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    int n_alive = atomic_load(&g_alive_n);
    for (int i = 0; i < n_alive; i++) {
        ax_ref r;
        if (ax_whereis(rt, g_alive_names[i], &r) == 0) alive |= 1u << i;
    }
    log_add((struct ev){EV_STOP, s->id, s->inc, s->ref, reason, alive, now_ns()});
    atomic_fetch_add(&g_inc_handled, s->counter);
    int delay = atomic_load(&g_stop_delay_us);
    if (delay > 0) check_sleep_us(delay);
}

static const ax_behavior wk_b = {"worker", sizeof(struct wk_state), wk_init, wk_receive,
                                 wk_stopped};

static struct wk_info get_info(ax_runtime *rt, ax_ref ref) {
    ax_msg *reply = NULL;
    CHECK_OK(ax_ask_wait(rt, ref, M_GET, NULL, 0, 20000, &reply));
    CHECK_EQ(reply->size, sizeof(struct wk_info));
    struct wk_info in;
    memcpy(&in, reply->data, sizeof in);
    CHECK_OK(ax_msg_free(rt, reply));
    CHECK_EQ(in.ref.id, ref.id);
    CHECK_EQ(in.self.id, ref.id);
    return in;
}

/* A round trip through a static supervisor: its own handler answers AX_EINVAL, so everything
 * that reached it before (exits of its children, restarts it began) has been handled. */
static void sup_sync(ax_runtime *rt, ax_ref sup) {
    ax_ref dummy = AX_REF_NONE;
    CHECK_RC(ax_supervisor_start_child(rt, sup, NULL, 0, &dummy), AX_EINVAL);
}

static ax_ref child_of(ax_runtime *rt, ax_ref sup, const char *id) {
    ax_ref r = AX_REF_NONE;
    CHECK_OK(ax_supervisor_child(rt, sup, id, &r));
    CHECK(!ax_ref_is_none(r));
    return r;
}

static uint64_t restarts_of(ax_runtime *rt, ax_ref sup, const char *id) {
    uint64_t n = 0;
    CHECK_OK(ax_supervisor_child_restarts(rt, sup, id, &n));
    return n;
}

static void send_n(ax_runtime *rt, ax_ref to, uint32_t type, int n) {
    for (int i = 0; i < n; i++) CHECK_OK(ax_send(rt, to, type, NULL, 0));
}

/* ---- the watcher: monitors refs on request, records DOWN notices ------------------------- */

struct down_rec {
    ax_ref ref;
    int reason;
    int log_n; /* log entries at the time the DOWN was handled */
};
#define DOWN_MAX 64
static struct down_rec g_downs[DOWN_MAX];
static atomic_int g_down_n;

static int watch_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type == M_WATCH) {
        ax_ref target;
        HCHECK(msg->size == sizeof target);
        memcpy(&target, msg->data, sizeof target);
        ax_monitor_id mon;
        HCHECK(ax_monitor(ctx, target, &mon) == 0);
        HCHECK(ax_reply(ctx, 0, NULL, 0) == 0);
    } else if (msg->type == AX_MSG_DOWN) {
        ax_down d;
        memcpy(&d, msg->data, sizeof d);
        int i = atomic_load(&g_down_n);
        HCHECK(i < DOWN_MAX);
        if (i < DOWN_MAX) {
            g_downs[i] = (struct down_rec){d.ref, d.reason, atomic_load(&g_log_n)};
            atomic_store(&g_down_n, i + 1);
        }
    } else {
        HCHECK(0);
    }
    return 0;
}
static const ax_behavior watch_b = {"watcher", 0, NULL, watch_receive, NULL};

static ax_ref new_watcher(ax_runtime *rt) {
    atomic_store(&g_down_n, 0);
    ax_ref w;
    CHECK_OK(ax_spawn(rt, &watch_b, NULL, NULL, &w));
    return w;
}

/* Returns once the watcher's monitor is in place (the target's stop will answer it). */
static void watch(ax_runtime *rt, ax_ref watcher, ax_ref target) {
    ax_msg *reply = NULL;
    CHECK_OK(ax_ask_wait(rt, watcher, M_WATCH, &target, sizeof target, 20000, &reply));
    CHECK_OK(ax_msg_free(rt, reply));
}

static int find_down(ax_ref ref) {
    int n = atomic_load(&g_down_n);
    for (int i = 0; i < n; i++)
        if (ax_ref_eq(g_downs[i].ref, ref)) return i;
    return -1;
}

/* ======================================================================================
 * 1. Strategies x restart types x how child k stops.
 * ==================================================================================== */

enum { NCH = 5, KCH = 2 };
enum { MODE_CRASH, MODE_FAIL_USER, MODE_STOP_NORMAL, MODE_COUNT };
static const char *const g_mode_names[] = {"receive!=0", "ax_fail(user)", "ax_stop(self)"};
static const char *const g_strat_names[] = {"one_for_one", "one_for_all", "rest_for_one"};
static const char *const g_restart_names[] = {"permanent", "transient", "temporary"};

static const char *const g_ids[NCH] = {"c0", "c1", "c2", "c3", "c4"};
static const char *const g_names[NCH] = {"sv_n0", "sv_n1", "sv_n2", "sv_n3", "sv_n4"};
static struct wk_arg g_args[NCH] = {{10}, {11}, {12}, {13}, {14}};

static ax_child_spec worker_spec(const char *id, const struct wk_arg *arg, ax_restart r,
                                 const char *name) {
    ax_child_spec c = {id, &wk_b, arg, sizeof *arg, r, 5000, AX_CHILD_WORKER, name};
    return c;
}

static void run_case(ax_strategy strat, ax_restart rtype, int mode) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    ax_child_spec ch[NCH];
    for (int i = 0; i < NCH; i++) ch[i] = worker_spec(g_ids[i], &g_args[i], rtype, g_names[i]);
    ax_sup_spec spec = {strat, 10, 10000, 0, 0, 0, ch, NCH};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));

    /* Started in order, first incarnation, before ax_supervisor_start returned. */
    CHECK_EQ(atomic_load(&g_log_n), NCH);
    ax_ref ref[NCH];
    uint64_t counter[NCH], inc[NCH] = {0};
    for (int i = 0; i < NCH; i++) {
        CHECK_EV(i, 0, EV_INIT, g_args[i].id, 0, AX_REASON_NORMAL);
        ref[i] = child_of(rt, sup, g_ids[i]);
        CHECK_EQ(ref[i].id, g_log[i].ref.id);
        ax_ref named;
        CHECK_OK(ax_whereis(rt, g_names[i], &named));
        CHECK_EQ(named.id, ref[i].id);
        CHECK_EQ(restarts_of(rt, sup, g_ids[i]), 0);
        counter[i] = (uint64_t)i + 1;
        send_n(rt, ref[i], M_INC, i + 1);
    }

    const uint32_t crash_type[] = {M_CRASH, M_FAIL_USER, M_STOP_SELF};
    const int reason_of[] = {AX_REASON_FAILED, USER_REASON, AX_REASON_NORMAL};
    int reason = reason_of[mode];
    bool restarts = rtype == AX_PERMANENT || (rtype == AX_TRANSIENT && reason != AX_REASON_NORMAL);
    uint64_t total_restarts = 0, failed_msgs = 0;

    for (int round = 1; round <= (restarts ? 2 : 1); round++) {
        int base = atomic_load(&g_log_n);
        ax_ref old[NCH];
        memcpy(old, ref, sizeof old);
        CHECK_OK(ax_send(rt, ref[KCH], crash_type[mode], NULL, 0));
        /* Queued behind the crash (unless the incarnation already stopped): it must die with
         * this incarnation, never reach the next. */
        int inc_rc = ax_send(rt, ref[KCH], M_INC, NULL, 0);
        CHECK(inc_rc == 0 || inc_rc == AX_ENOACTOR);
        if (mode != MODE_STOP_NORMAL) failed_msgs++;

        if (!restarts) {
            ax_ref r;
            WAIT_UNTIL(ax_supervisor_child(rt, sup, g_ids[KCH], &r) == AX_ENOACTOR);
            sup_sync(rt, sup);
            CHECK_EQ(atomic_load(&g_log_n), base + 1); /* its own stop, nothing else */
            CHECK_EV(base, base, EV_STOP, g_args[KCH].id, 0, reason);
            CHECK_EQ(g_log[base].ref.id, old[KCH].id);
            CHECK_RC(ax_supervisor_child(rt, sup, g_ids[KCH], &r), AX_ENOACTOR);
            CHECK_RC(ax_send(rt, old[KCH], M_INC, NULL, 0), AX_ENOACTOR);
            CHECK_RC(ax_whereis(rt, g_names[KCH], &r), AX_ENOENT); /* released, not moved */
            for (int i = 0; i < NCH; i++) {
                if (i == KCH) continue;
                CHECK_EQ(child_of(rt, sup, g_ids[i]).id, ref[i].id);
                CHECK_EQ(restarts_of(rt, sup, g_ids[i]), 0);
                struct wk_info in = get_info(rt, ref[i]);
                CHECK_EQ(in.counter, counter[i]);
                CHECK_EQ(in.inc, 0);
            }
            break;
        }

        /* The exact expected sequence: k's own stop; the group's stops in reverse start
         * order; then the group's starts in start order. */
        int first = strat == AX_ONE_FOR_ONE ? KCH : strat == AX_ONE_FOR_ALL ? 0 : KCH;
        int last = strat == AX_ONE_FOR_ONE ? KCH : NCH - 1;
        int nexp = 1;
        for (int i = last; i >= first; i--) nexp += i != KCH;
        nexp += last - first + 1;
        WAIT_UNTIL(atomic_load(&g_log_n) >= base + nexp);
        sup_sync(rt, sup);
        if (atomic_load(&g_log_n) != base + nexp) {
            fprintf(stderr, "expected %d events\n", nexp);
            log_dump(base);
            CHECK_EQ(atomic_load(&g_log_n), base + nexp);
        }
        int e = base;
        CHECK_EV(e, base, EV_STOP, g_args[KCH].id, inc[KCH], reason);
        CHECK_EQ(g_log[e].ref.id, old[KCH].id);
        e++;
        for (int i = last; i >= first; i--) {
            if (i == KCH) continue;
            CHECK_EV(e, base, EV_STOP, g_args[i].id, inc[i], AX_REASON_SHUTDOWN);
            CHECK_EQ(g_log[e].ref.id, old[i].id);
            e++;
        }
        for (int i = first; i <= last; i++) {
            inc[i]++;
            total_restarts++;
            CHECK_EV(e, base, EV_INIT, g_args[i].id, inc[i], i == KCH ? reason : AX_REASON_SHUTDOWN);
            ref[i] = g_log[e].ref;
            e++;
        }
        for (int i = 0; i < NCH; i++) {
            bool restarted = i >= first && i <= last;
            CHECK_EQ(restarts_of(rt, sup, g_ids[i]), inc[i]);
            CHECK_EQ(child_of(rt, sup, g_ids[i]).id, ref[i].id);
            ax_ref named;
            CHECK_OK(ax_whereis(rt, g_names[i], &named));
            CHECK_EQ(named.id, ref[i].id);
            if (restarted) {
                CHECK(!ax_ref_eq(ref[i], old[i]));
                for (int j = 0; j < NCH; j++) CHECK(!ax_ref_eq(ref[i], old[j]));
                CHECK_RC(ax_send(rt, old[i], M_INC, NULL, 0), AX_ENOACTOR);
                counter[i] = 0;
            } else {
                CHECK_EQ(ref[i].id, old[i].id);
            }
            struct wk_info in = get_info(rt, ref[i]); /* 0 for a new incarnation */
            CHECK_EQ(in.counter, counter[i]);
            CHECK_EQ(in.inc, inc[i]);
            CHECK_EQ(in.id, g_args[i].id);
        }
        /* Give each child more state to lose (or keep) in the next round. */
        for (int i = 0; i < NCH; i++) {
            send_n(rt, ref[i], M_INC, 2);
            counter[i] += 2;
        }
    }

    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.restarts, total_restarts);
    CHECK_EQ(st.failed, failed_msgs);
    CHECK_EQ(st.escalations, 0);
    fixture_shutdown(rt);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

static void test_strategies(void) {
    for (int s = AX_ONE_FOR_ONE; s <= AX_REST_FOR_ONE; s++)
        for (int r = AX_PERMANENT; r <= AX_TEMPORARY; r++)
            for (int m = 0; m < MODE_COUNT; m++) {
                run_case((ax_strategy)s, (ax_restart)r, m);
                fprintf(stderr, "  %s / %s / %s: ok\n", g_strat_names[s], g_restart_names[r],
                        g_mode_names[m]);
            }
}

/* one_for_all with mixed restart types (OTP): when permanent c2 crashes, the temporary sibling
 * c3 is stopped with the group and not restarted; the transient c4, stopped by the supervisor,
 * is restarted with the group. */
static void test_one_for_all_mixed(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    const ax_restart types[NCH] = {AX_PERMANENT, AX_PERMANENT, AX_PERMANENT, AX_TEMPORARY,
                                   AX_TRANSIENT};
    ax_child_spec ch[NCH];
    for (int i = 0; i < NCH; i++) ch[i] = worker_spec(g_ids[i], &g_args[i], types[i], NULL);
    ax_sup_spec spec = {AX_ONE_FOR_ALL, 10, 10000, 0, 0, 0, ch, NCH};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    CHECK_EQ(atomic_load(&g_log_n), NCH);
    CHECK_OK(ax_send(rt, child_of(rt, sup, "c2"), M_CRASH, NULL, 0));
    int base = NCH;
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 5 + 4);
    sup_sync(rt, sup);
    CHECK_EQ(atomic_load(&g_log_n), base + 9);
    CHECK_EV(base + 0, base, EV_STOP, 12, 0, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_STOP, 14, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 2, base, EV_STOP, 13, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 3, base, EV_STOP, 11, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 4, base, EV_STOP, 10, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 5, base, EV_INIT, 10, 1, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 6, base, EV_INIT, 11, 1, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 7, base, EV_INIT, 12, 1, AX_REASON_FAILED);
    CHECK_EV(base + 8, base, EV_INIT, 14, 1, AX_REASON_SHUTDOWN);
    ax_ref r;
    CHECK_RC(ax_supervisor_child(rt, sup, "c3", &r), AX_ENOACTOR);
    for (int i = 0; i < NCH; i++)
        if (i != 3) CHECK_EQ(get_info(rt, child_of(rt, sup, g_ids[i])).inc, 1);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.restarts, 4); /* the temporary child is not restarted, so not counted */
    fixture_shutdown(rt);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 2. simple_one_for_one: dynamic children restart with their own args.
 * ==================================================================================== */

static void test_simple_one_for_one(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    enum { N = 10 };
    ax_child_spec tmpl = {"tmpl", &wk_b, NULL, 0, AX_PERMANENT, 5000, AX_CHILD_WORKER, NULL};
    ax_sup_spec spec = {AX_SIMPLE_ONE_FOR_ONE, 10, 10000, 0, 0, 0, &tmpl, 1};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    CHECK_EQ(atomic_load(&g_log_n), 0); /* no child until asked */
    ax_ref ref[N];
    for (int i = 0; i < N; i++) {
        struct wk_arg a = {100 + i};
        CHECK_OK(ax_supervisor_start_child(rt, sup, &a, sizeof a, &ref[i]));
        a.id = -1; /* the arg was copied */
        CHECK_EQ(atomic_load(&g_log_n), i + 1);
        CHECK_EV(i, 0, EV_INIT, 100 + i, 0, AX_REASON_NORMAL);
        CHECK_EQ(g_log[i].ref.id, ref[i].id);
        send_n(rt, ref[i], M_INC, i + 1);
    }
    ax_ref r;
    CHECK_RC(ax_supervisor_child(rt, sup, "tmpl", &r), AX_ENOENT);

    /* Crash 1, 4 and 7 (4 by ax_fail); each restarts with its own arg. */
    const int crash[] = {1, 4, 7};
    int base = atomic_load(&g_log_n);
    for (int j = 0; j < 3; j++)
        CHECK_OK(ax_send(rt, ref[crash[j]], crash[j] == 4 ? M_FAIL_USER : M_CRASH, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 6);
    ax_ref extra; /* a round trip that also shows nothing else happened meanwhile */
    struct wk_arg a = {150};
    CHECK_OK(ax_supervisor_start_child(rt, sup, &a, sizeof a, &extra));
    int n = atomic_load(&g_log_n);
    CHECK_EQ(n, base + 7);
    CHECK_EV(n - 1, base, EV_INIT, 150, 0, AX_REASON_NORMAL);
    for (int j = 0; j < 3; j++) {
        int id = 100 + crash[j], stop_at = -1, init_at = -1;
        for (int i = base; i < base + 6; i++) {
            if (g_log[i].id != id) continue;
            if (g_log[i].kind == EV_STOP) {
                CHECK(stop_at < 0);
                stop_at = i;
            } else {
                CHECK(init_at < 0);
                init_at = i;
            }
        }
        CHECK(stop_at >= 0 && init_at > stop_at);
        int why = crash[j] == 4 ? USER_REASON : AX_REASON_FAILED;
        CHECK_EV(stop_at, base, EV_STOP, id, 0, why);
        CHECK_EQ(g_log[stop_at].ref.id, ref[crash[j]].id);
        CHECK_EV(init_at, base, EV_INIT, id, 1, why);
        ax_ref fresh = g_log[init_at].ref;
        CHECK(!ax_ref_eq(fresh, ref[crash[j]]));
        CHECK_RC(ax_send(rt, ref[crash[j]], M_INC, NULL, 0), AX_ENOACTOR);
        ref[crash[j]] = fresh;
    }
    for (int i = 0; i < N; i++) {
        bool crashed = i == 1 || i == 4 || i == 7;
        struct wk_info in = get_info(rt, ref[i]);
        CHECK_EQ(in.id, 100 + i);
        CHECK_EQ(in.inc, crashed ? 1 : 0);
        CHECK_EQ(in.counter, crashed ? 0 : (uint64_t)i + 1);
    }

    /* Child 4 again: second incarnation number, still its own arg. */
    base = atomic_load(&g_log_n);
    CHECK_OK(ax_send(rt, ref[4], M_CRASH, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 2);
    CHECK_EV(base, base, EV_STOP, 104, 1, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_INIT, 104, 2, AX_REASON_FAILED);
    CHECK_EQ(get_info(rt, g_log[base + 1].ref).id, 104);

    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.restarts, 4);
    fixture_shutdown(rt);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 3. Intensity: 3 restarts per 10 s; the 4th crash escalates.
 * ==================================================================================== */

static void test_intensity(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    ax_child_spec ch[NCH];
    for (int i = 0; i < NCH; i++) ch[i] = worker_spec(g_ids[i], &g_args[i], AX_PERMANENT, NULL);
    ax_sup_spec spec = {AX_ONE_FOR_ONE, 3, 10000, 0, 0, 0, ch, NCH};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    ax_ref watcher = new_watcher(rt);
    watch(rt, watcher, sup);
    ax_ref old[NCH];
    for (int i = 0; i < NCH; i++) old[i] = child_of(rt, sup, g_ids[i]);

    for (int k = 1; k <= 3; k++) {
        int base = atomic_load(&g_log_n);
        CHECK_OK(ax_send(rt, child_of(rt, sup, "c2"), M_CRASH, NULL, 0));
        WAIT_UNTIL(atomic_load(&g_log_n) >= base + 2);
        sup_sync(rt, sup);
        CHECK_EQ(atomic_load(&g_log_n), base + 2);
        CHECK_EV(base, base, EV_STOP, 12, k - 1, AX_REASON_FAILED);
        CHECK_EV(base + 1, base, EV_INIT, 12, k, AX_REASON_FAILED);
        CHECK_EQ(restarts_of(rt, sup, "c2"), k);
    }
    int base = atomic_load(&g_log_n);
    ax_ref c2 = child_of(rt, sup, "c2");
    CHECK_OK(ax_send(rt, c2, M_CRASH, NULL, 0));
    WAIT_UNTIL(find_down(sup) >= 0);
    const struct down_rec *d = &g_downs[find_down(sup)];
    CHECK_EQ(d->reason, AX_REASON_ESCALATED);
    /* The supervisor failed only after all its children had stopped, in reverse order. */
    CHECK_EQ(d->log_n, base + 5);
    CHECK_EQ(atomic_load(&g_log_n), base + 5);
    CHECK_EV(base, base, EV_STOP, 12, 3, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_STOP, 14, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 2, base, EV_STOP, 13, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 3, base, EV_STOP, 11, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 4, base, EV_STOP, 10, 0, AX_REASON_SHUTDOWN);
    ax_ref r;
    CHECK_RC(ax_supervisor_child(rt, sup, "c0", &r), AX_ENOACTOR);
    for (int i = 0; i < NCH; i++) CHECK_RC(ax_send(rt, old[i], M_INC, NULL, 0), AX_ENOACTOR);
    CHECK_RC(ax_send(rt, c2, M_INC, NULL, 0), AX_ENOACTOR);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.escalations, 1);
    CHECK_EQ(st.restarts, 3);
    CHECK_EQ(st.failed, 4);
    fixture_shutdown(rt);
    CHECK_EQ(atomic_load(&g_log_n), base + 5); /* nothing restarted afterwards */
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 4. Escalation through a 3-level tree.
 *    top (one_for_one, 5/10s): tw, mid
 *    mid (one_for_one, 1/10s): bottom, mw
 *    bottom (one_for_one, 1/10s): b0, b1, b2
 * ==================================================================================== */

static struct wk_arg g_b_args[3] = {{200}, {201}, {202}};
static struct wk_arg g_mw_arg = {300}, g_tw_arg = {400};
static ax_child_spec g_bottom_children[3];
static ax_sup_spec g_bottom_spec;
static ax_child_spec g_mid_children[2];
static ax_sup_spec g_mid_spec;
static ax_child_spec g_top_children[2];
static ax_sup_spec g_top_spec;

static ax_child_spec sup_spec_child(const char *id, const ax_sup_spec *spec, const char *name) {
    ax_child_spec c = {id, &ax_supervisor_behavior, spec, 0, AX_PERMANENT, AX_SHUTDOWN_INFINITY,
                       AX_CHILD_SUPERVISOR, name};
    return c;
}

/* Crashes b1 of `bottom` and waits for its restart (incarnation inc). */
static void crash_b1_and_wait_restart(ax_runtime *rt, ax_ref bottom, uint64_t inc) {
    int base = atomic_load(&g_log_n);
    CHECK_OK(ax_send(rt, child_of(rt, bottom, "b1"), M_CRASH, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 2);
    sup_sync(rt, bottom);
    CHECK_EQ(atomic_load(&g_log_n), base + 2);
    CHECK_EV(base, base, EV_STOP, 201, inc - 1, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_INIT, 201, inc, AX_REASON_FAILED);
    CHECK_EQ(restarts_of(rt, bottom, "b1"), inc);
}

static void test_escalation_tree(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    for (int i = 0; i < 3; i++) {
        static const char *const ids[3] = {"b0", "b1", "b2"};
        g_bottom_children[i] = worker_spec(ids[i], &g_b_args[i], AX_PERMANENT, NULL);
    }
    g_bottom_spec = (ax_sup_spec){AX_ONE_FOR_ONE, 1, 10000, 0, 0, 0, g_bottom_children, 3};
    g_mid_children[0] = sup_spec_child("bottom", &g_bottom_spec, NULL);
    g_mid_children[1] = worker_spec("mw", &g_mw_arg, AX_PERMANENT, NULL);
    g_mid_spec = (ax_sup_spec){AX_ONE_FOR_ONE, 1, 10000, 0, 0, 0, g_mid_children, 2};
    g_top_children[0] = worker_spec("tw", &g_tw_arg, AX_PERMANENT, NULL);
    g_top_children[1] = sup_spec_child("mid", &g_mid_spec, NULL);
    g_top_spec = (ax_sup_spec){AX_ONE_FOR_ONE, 5, 10000, 0, 0, 0, g_top_children, 2};

    ax_ref top;
    CHECK_OK(ax_supervisor_start(rt, &g_top_spec, &top));
    CHECK_EQ(atomic_load(&g_log_n), 5);
    CHECK_EV(0, 0, EV_INIT, 400, 0, 0);
    CHECK_EV(1, 0, EV_INIT, 200, 0, 0);
    CHECK_EV(2, 0, EV_INIT, 201, 0, 0);
    CHECK_EV(3, 0, EV_INIT, 202, 0, 0);
    CHECK_EV(4, 0, EV_INIT, 300, 0, 0);
    ax_ref tw = child_of(rt, top, "tw");
    ax_ref mid1 = child_of(rt, top, "mid");
    ax_ref bot1 = child_of(rt, mid1, "bottom");
    ax_ref mw1 = child_of(rt, mid1, "mw");
    ax_ref watcher = new_watcher(rt);
    watch(rt, watcher, mid1);
    watch(rt, watcher, bot1);
    send_n(rt, tw, M_INC, 5);
    send_n(rt, mw1, M_INC, 3);

    /* Bottom: one restart is within its intensity; the second within the period is not. */
    crash_b1_and_wait_restart(rt, bot1, 1);
    int base = atomic_load(&g_log_n);
    CHECK_OK(ax_send(rt, child_of(rt, bot1, "b1"), M_CRASH, NULL, 0));
    WAIT_UNTIL(find_down(bot1) >= 0);
    CHECK_EQ(g_downs[find_down(bot1)].reason, AX_REASON_ESCALATED);
    CHECK(g_downs[find_down(bot1)].log_n >= base + 3); /* after its workers stopped */
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 6);
    sup_sync(rt, mid1);
    CHECK_EQ(atomic_load(&g_log_n), base + 6);
    CHECK_EV(base + 0, base, EV_STOP, 201, 1, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_STOP, 202, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 2, base, EV_STOP, 200, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 3, base, EV_INIT, 200, 0, 0); /* a new bottom: new children */
    CHECK_EV(base + 4, base, EV_INIT, 201, 0, 0);
    CHECK_EV(base + 5, base, EV_INIT, 202, 0, 0);
    CHECK_EQ(restarts_of(rt, mid1, "bottom"), 1);
    CHECK_EQ(restarts_of(rt, mid1, "mw"), 0);
    CHECK_EQ(restarts_of(rt, top, "mid"), 0);
    CHECK_EQ(child_of(rt, top, "mid").id, mid1.id);
    ax_ref bot2 = child_of(rt, mid1, "bottom");
    CHECK(!ax_ref_eq(bot2, bot1));
    CHECK_EQ(restarts_of(rt, bot2, "b1"), 0);
    ax_ref r;
    CHECK_RC(ax_supervisor_child(rt, bot1, "b1", &r), AX_ENOACTOR);
    CHECK_EQ(child_of(rt, mid1, "mw").id, mw1.id);
    CHECK_EQ(get_info(rt, mw1).counter, 3);
    CHECK_EQ(get_info(rt, tw).counter, 5);
    CHECK(find_down(mid1) < 0);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.escalations, 1);
    CHECK_EQ(st.restarts, 2);

    /* Bottom again: escalates again; mid's intensity (1) is exceeded: mid escalates too, and
     * top restarts mid (with a new bottom and a new mw). */
    watch(rt, watcher, bot2);
    crash_b1_and_wait_restart(rt, bot2, 1);
    base = atomic_load(&g_log_n);
    CHECK_OK(ax_send(rt, child_of(rt, bot2, "b1"), M_CRASH, NULL, 0));
    WAIT_UNTIL(find_down(mid1) >= 0);
    WAIT_UNTIL(find_down(bot2) >= 0);
    CHECK_EQ(g_downs[find_down(bot2)].reason, AX_REASON_ESCALATED);
    CHECK_EQ(g_downs[find_down(mid1)].reason, AX_REASON_ESCALATED);
    CHECK(g_downs[find_down(mid1)].log_n >= base + 4); /* after mw stopped */
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 8);
    sup_sync(rt, top);
    CHECK_EQ(atomic_load(&g_log_n), base + 8);
    CHECK_EV(base + 0, base, EV_STOP, 201, 1, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_STOP, 202, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 2, base, EV_STOP, 200, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 3, base, EV_STOP, 300, 0, AX_REASON_SHUTDOWN); /* mid stops mw */
    CHECK_EQ(g_log[base + 3].ref.id, mw1.id);
    CHECK_EV(base + 4, base, EV_INIT, 200, 0, 0); /* the new mid: new bottom, new mw */
    CHECK_EV(base + 5, base, EV_INIT, 201, 0, 0);
    CHECK_EV(base + 6, base, EV_INIT, 202, 0, 0);
    CHECK_EV(base + 7, base, EV_INIT, 300, 0, 0);
    CHECK_EQ(restarts_of(rt, top, "mid"), 1);
    CHECK_EQ(restarts_of(rt, top, "tw"), 0);
    ax_ref mid2 = child_of(rt, top, "mid");
    CHECK(!ax_ref_eq(mid2, mid1));
    CHECK_RC(ax_supervisor_child(rt, mid1, "bottom", &r), AX_ENOACTOR);
    CHECK_EQ(restarts_of(rt, mid2, "bottom"), 0);
    ax_ref bot3 = child_of(rt, mid2, "bottom");
    CHECK(!ax_ref_eq(bot3, bot2) && !ax_ref_eq(bot3, bot1));
    CHECK_EQ(restarts_of(rt, bot3, "b1"), 0);
    CHECK_EQ(child_of(rt, mid2, "mw").id, g_log[base + 7].ref.id);
    CHECK_EQ(get_info(rt, child_of(rt, mid2, "mw")).counter, 0);
    CHECK_EQ(child_of(rt, top, "tw").id, tw.id); /* untouched all along */
    CHECK_EQ(get_info(rt, tw).counter, 5);
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.escalations, 3);
    CHECK_EQ(st.restarts, 4); /* b1 twice (two bottoms), bottom once, mid once */
    CHECK_EQ(st.failed, 4);

    fixture_shutdown(rt);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 5. Backoff: 20 ms to 80 ms with jitter in [step/2, step]; lower bounds only.
 * ==================================================================================== */

static void test_backoff(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    ax_child_spec ch[3];
    for (int i = 0; i < 3; i++) ch[i] = worker_spec(g_ids[i], &g_args[i], AX_PERMANENT, NULL);
    ax_sup_spec spec = {AX_ONE_FOR_ONE, 100, 10000, 20, 80, 1000, ch, 3};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    ax_ref c0 = child_of(rt, sup, "c0"), c2 = child_of(rt, sup, "c2");
    const int64_t step_ms[4] = {20, 40, 80, 80};
    ax_ref cur = child_of(rt, sup, "c1");
    for (int k = 0; k < 4; k++) {
        int base = atomic_load(&g_log_n);
        CHECK_OK(ax_send(rt, cur, M_CRASH, NULL, 0));
        WAIT_UNTIL(atomic_load(&g_log_n) >= base + 2);
        CHECK_EV(base, base, EV_STOP, 11, k, AX_REASON_FAILED);
        CHECK_EV(base + 1, base, EV_INIT, 11, k + 1, AX_REASON_FAILED);
        int64_t gap = g_log[base + 1].t_ns - atomic_load(&g_crash_ns);
        fprintf(stderr, "  backoff %d: step %lld ms, gap %.3f ms\n", k, (long long)step_ms[k],
                gap / 1e6);
        CHECK(gap >= step_ms[k] / 2 * 1000000);
        cur = g_log[base + 1].ref; /* crash it again at once */
    }
    sup_sync(rt, sup);
    CHECK_EQ(child_of(rt, sup, "c1").id, cur.id);
    CHECK_EQ(restarts_of(rt, sup, "c1"), 4);
    CHECK_EQ(child_of(rt, sup, "c0").id, c0.id);
    CHECK_EQ(child_of(rt, sup, "c2").id, c2.id);
    CHECK_EQ(restarts_of(rt, sup, "c0"), 0);
    fixture_shutdown(rt);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 6. Runtime shutdown of a running tree: each supervisor stops its children in reverse start
 *    order, each child once with AX_REASON_SHUTDOWN, a supervisor after its children.
 *    top: t0, m1, t1, m2   m1: m1a, bt, m1b   bt: b0, b1, b2   m2: m2a, m2b
 *    Each stopped hook samples which of top, m1, m2, bt are still registered: a supervisor's
 *    name is released when it has stopped, before its parent hears of it. Run twice: with
 *    instant stops, and with workers whose stopped hook takes 1 ms of cleanup (the tree then
 *    takes ~10 ms to stop, well within the shutdown deadline; the order must not change).
 * ==================================================================================== */

enum { A_TOP = 1, A_M1 = 2, A_M2 = 4, A_BT = 8 };
static struct wk_arg g_sd_args[9] = {{500}, {501}, {510}, {511}, {520}, {521}, {522}, {530}, {531}};
static ax_child_spec g_sd_bt_ch[3], g_sd_m1_ch[3], g_sd_m2_ch[2], g_sd_top_ch[4];
static ax_sup_spec g_sd_bt, g_sd_m1, g_sd_m2, g_sd_top;

static void shutdown_tree(int stop_delay_us) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    g_sd_bt_ch[0] = worker_spec("b0", &g_sd_args[4], AX_PERMANENT, NULL);
    g_sd_bt_ch[1] = worker_spec("b1", &g_sd_args[5], AX_TRANSIENT, NULL);
    g_sd_bt_ch[2] = worker_spec("b2", &g_sd_args[6], AX_TEMPORARY, NULL);
    g_sd_bt = (ax_sup_spec){AX_ONE_FOR_ONE, 10, 10000, 0, 0, 0, g_sd_bt_ch, 3};
    g_sd_m1_ch[0] = worker_spec("m1a", &g_sd_args[2], AX_PERMANENT, NULL);
    g_sd_m1_ch[1] = sup_spec_child("bt", &g_sd_bt, "sd_bt");
    g_sd_m1_ch[2] = worker_spec("m1b", &g_sd_args[3], AX_PERMANENT, NULL);
    g_sd_m1 = (ax_sup_spec){AX_REST_FOR_ONE, 10, 10000, 0, 0, 0, g_sd_m1_ch, 3};
    g_sd_m2_ch[0] = worker_spec("m2a", &g_sd_args[7], AX_PERMANENT, NULL);
    g_sd_m2_ch[1] = worker_spec("m2b", &g_sd_args[8], AX_PERMANENT, NULL);
    g_sd_m2 = (ax_sup_spec){AX_ONE_FOR_ALL, 10, 10000, 0, 0, 0, g_sd_m2_ch, 2};
    g_sd_top_ch[0] = worker_spec("t0", &g_sd_args[0], AX_PERMANENT, NULL);
    g_sd_top_ch[1] = sup_spec_child("m1", &g_sd_m1, "sd_m1");
    g_sd_top_ch[2] = worker_spec("t1", &g_sd_args[1], AX_PERMANENT, NULL);
    g_sd_top_ch[3] = sup_spec_child("m2", &g_sd_m2, "sd_m2");
    g_sd_top = (ax_sup_spec){AX_ONE_FOR_ONE, 10, 10000, 0, 0, 0, g_sd_top_ch, 4};

    ax_ref top;
    CHECK_OK(ax_supervisor_start(rt, &g_sd_top, &top));
    CHECK_OK(ax_register(rt, "sd_top", top));
    CHECK_EQ(atomic_load(&g_log_n), 9);
    const int start_order[9] = {500, 510, 520, 521, 522, 511, 501, 530, 531};
    for (int i = 0; i < 9; i++) CHECK_EV(i, 0, EV_INIT, start_order[i], 0, 0);
    ax_ref m1 = child_of(rt, top, "m1");
    ax_ref named;
    CHECK_OK(ax_whereis(rt, "sd_m1", &named));
    CHECK_EQ(named.id, m1.id);
    CHECK_OK(ax_whereis(rt, "sd_bt", &named));
    CHECK_EQ(named.id, child_of(rt, m1, "bt").id);
    /* Some traffic, so the tree is in use when shutdown begins. */
    for (int i = 0; i < 9; i++) send_n(rt, g_log[i].ref, M_INC, 10);

    g_alive_names[0] = "sd_top";
    g_alive_names[1] = "sd_m1";
    g_alive_names[2] = "sd_m2";
    g_alive_names[3] = "sd_bt";
    atomic_store(&g_alive_n, 4);
    atomic_store(&g_stop_delay_us, stop_delay_us);
    fixture_shutdown(rt);
    atomic_store(&g_stop_delay_us, 0);
    atomic_store(&g_alive_n, 0);

    const struct {
        int id;
        unsigned alive;
    } want[9] = {
        {531, A_TOP | A_M1 | A_M2 | A_BT}, {530, A_TOP | A_M1 | A_M2 | A_BT},
        {501, A_TOP | A_M1 | A_BT},        {511, A_TOP | A_M1 | A_BT},
        {522, A_TOP | A_M1 | A_BT},        {521, A_TOP | A_M1 | A_BT},
        {520, A_TOP | A_M1 | A_BT},        {510, A_TOP | A_M1},
        {500, A_TOP},
    };
    if (atomic_load(&g_log_n) != 18) log_dump(9);
    CHECK_EQ(atomic_load(&g_log_n), 18);
    for (int i = 0; i < 9; i++) {
        CHECK_EV(9 + i, 9, EV_STOP, want[i].id, 0, AX_REASON_SHUTDOWN);
        if (g_log[9 + i].alive != want[i].alive) {
            fprintf(stderr, "stop of %d: alive %x, want %x\n", want[i].id, g_log[9 + i].alive,
                    want[i].alive);
            log_dump(9);
            CHECK_EQ(g_log[9 + i].alive, want[i].alive);
        }
    }
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.restarts, 0);
    CHECK_EQ(st.escalations, 0);
    CHECK_EQ(st.spawned, 13);
    CHECK_EQ(st.stopped, 13);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 7. Fault injection: top -> 10 mids -> 100 workers each under traffic from 4 threads while an
 *    injector crashes random workers; every message accounted for.
 * ==================================================================================== */

enum { FI_MIDS = 10, FI_PER = 100, FI_N = FI_MIDS * FI_PER, FI_SENDERS = 4, FI_CODES = 256 };
enum { FI_WORK = 1, FI_CRASH = 2 };

struct fi_arg {
    int slot;
};
struct fi_state {
    ax_ref ref;
    int slot;
};
struct fi_msg {
    ax_ref to; /* the ref it was sent to */
    int32_t slot;
    uint32_t pad;
};

static ax_runtime *g_fi_rt;
static ax_ref g_fi_top;
static char g_fi_mid_ids[FI_MIDS][16];
static char g_fi_w_ids[FI_PER][16];
static struct fi_arg g_fi_args[FI_N];
static ax_child_spec g_fi_w_ch[FI_MIDS][FI_PER];
static ax_sup_spec g_fi_mid_spec[FI_MIDS];
static ax_child_spec g_fi_mid_ch[FI_MIDS];
static atomic_int g_fi_pending[FI_N];          /* a crash is in flight to this worker */
static atomic_ullong g_fi_work_handled, g_fi_crash_handled, g_fi_crash_stopped, g_fi_mismatch;
static atomic_ullong g_fi_inits;
static atomic_int g_fi_stop_traffic;
static atomic_ullong g_fi_refused[FI_CODES];    /* index: -rc */
static atomic_ullong g_fi_attempts;

static int fi_init(ax_ctx *ctx, void *state, const void *arg) {
    struct fi_state *s = state;
    HCHECK(ax_ref_is_none(s->ref));
    s->ref = ax_self(ctx);
    s->slot = ((const struct fi_arg *)arg)->slot;
    atomic_fetch_add(&g_fi_inits, 1);
    return 0;
}

static int fi_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct fi_state *s = state;
    struct fi_msg m;
    HCHECK(msg->size == sizeof m);
    memcpy(&m, msg->data, sizeof m);
    /* A message is handled only by the incarnation whose ref it was sent to. */
    if (!ax_ref_eq(m.to, s->ref) || !ax_ref_eq(s->ref, ax_self(ctx)) || m.slot != s->slot)
        atomic_fetch_add(&g_fi_mismatch, 1);
    if (msg->type == FI_CRASH) {
        atomic_fetch_add(&g_fi_crash_handled, 1);
        return -1;
    }
    HCHECK(msg->type == FI_WORK);
    atomic_fetch_add(&g_fi_work_handled, 1);
    return 0;
}

static void fi_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    struct fi_state *s = state;
    if (reason == AX_REASON_FAILED) {
        /* Its ref is already invalid: the injector may now aim at the slot again. */
        atomic_fetch_add(&g_fi_crash_stopped, 1);
        atomic_store(&g_fi_pending[s->slot], 0);
    } else {
        HCHECK(reason == AX_REASON_SHUTDOWN);
    }
}

static const ax_behavior fi_b = {"fi-worker", sizeof(struct fi_state), fi_init, fi_receive,
                                 fi_stopped};

static void fi_count_rc(int rc) {
    if (rc < 0 && rc > -FI_CODES) atomic_fetch_add(&g_fi_refused[-rc], 1);
    else atomic_fetch_add(&g_fi_refused[0], 1); /* a code outside the table */
}

/* The current ref of worker slot via top -> mid -> worker; AX_ENOACTOR while it restarts. */
static int fi_resolve(int slot, ax_ref *out) {
    ax_ref mid;
    int rc = ax_supervisor_child(g_fi_rt, g_fi_top, g_fi_mid_ids[slot / FI_PER], &mid);
    if (rc != 0) return rc;
    return ax_supervisor_child(g_fi_rt, mid, g_fi_w_ids[slot % FI_PER], out);
}

struct fi_sender {
    pthread_t th;
    uint64_t seed;
    uint64_t resolve_misses, other_resolve_errors;
};

static void *fi_sender_main(void *p) {
    struct fi_sender *me = p;
    uint64_t n = 0;
    while (!atomic_load(&g_fi_stop_traffic)) {
        if ((++n & 127) == 0) { /* keep the backlog bounded */
            ax_stats st;
            ax_stats_get(g_fi_rt, &st);
            while (st.sent - st.processed - st.failed - st.dead_letters > FI_INFLIGHT_MAX &&
                   !atomic_load(&g_fi_stop_traffic)) {
                check_sleep_us(100);
                ax_stats_get(g_fi_rt, &st);
            }
        }
        int slot = (int)(check_rand(&me->seed) % FI_N);
        ax_ref to;
        int rc = fi_resolve(slot, &to);
        if (rc == AX_ENOACTOR) {
            me->resolve_misses++;
            continue;
        }
        if (rc != 0) {
            me->other_resolve_errors++;
            continue;
        }
        struct fi_msg m = {to, slot, 0};
        atomic_fetch_add(&g_fi_attempts, 1);
        rc = ax_send(g_fi_rt, to, FI_WORK, &m, sizeof m);
        if (rc != 0) fi_count_rc(rc);
    }
    return NULL;
}

static uint64_t g_fi_injector_resolve_misses;

static void *fi_injector_main(void *p) {
    (void)p;
    uint64_t seed = 0x5eed1234abcdULL;
    for (int done = 0; done < FI_CRASHES;) {
        check_sleep_us(FI_PACE_US);
        for (;;) {
            int slot = (int)(check_rand(&seed) % FI_N);
            if (atomic_load(&g_fi_pending[slot])) continue; /* its crash is still in flight */
            ax_ref to;
            int rc = fi_resolve(slot, &to);
            if (rc != 0) { /* restarting right now */
                g_fi_injector_resolve_misses++;
                continue;
            }
            atomic_store(&g_fi_pending[slot], 1);
            struct fi_msg m = {to, slot, 0};
            atomic_fetch_add(&g_fi_attempts, 1);
            rc = ax_send(g_fi_rt, to, FI_CRASH, &m, sizeof m);
            if (rc == 0) {
                done++;
                break;
            }
            fi_count_rc(rc); /* an incarnation that just stopped: aim again */
            atomic_store(&g_fi_pending[slot], 0);
        }
    }
    return NULL;
}

static uint64_t fi_sum_restarts(void) {
    uint64_t sum = 0;
    for (int m = 0; m < FI_MIDS; m++) {
        ax_ref mid = child_of(g_fi_rt, g_fi_top, g_fi_mid_ids[m]);
        for (int w = 0; w < FI_PER; w++) sum += restarts_of(g_fi_rt, mid, g_fi_w_ids[w]);
    }
    return sum;
}

static bool fi_all_running(void) {
    for (int s = 0; s < FI_N; s++) {
        ax_ref r;
        if (fi_resolve(s, &r) != 0) return false;
    }
    return true;
}

static void test_fault_injection(void) {
    int64_t t0 = check_now_ms();
    g_fi_rt = fixture_runtime(WORKERS);
    for (int w = 0; w < FI_PER; w++) snprintf(g_fi_w_ids[w], sizeof g_fi_w_ids[w], "w%d", w);
    for (int m = 0; m < FI_MIDS; m++) {
        snprintf(g_fi_mid_ids[m], sizeof g_fi_mid_ids[m], "m%d", m);
        for (int w = 0; w < FI_PER; w++) {
            int slot = m * FI_PER + w;
            g_fi_args[slot].slot = slot;
            g_fi_w_ch[m][w] = (ax_child_spec){g_fi_w_ids[w], &fi_b, &g_fi_args[slot],
                                              sizeof g_fi_args[slot], AX_PERMANENT, 5000,
                                              AX_CHILD_WORKER, NULL};
        }
        g_fi_mid_spec[m] = (ax_sup_spec){AX_ONE_FOR_ONE, 1000000, 1000, 0, 0, 0, g_fi_w_ch[m], FI_PER};
        g_fi_mid_ch[m] = sup_spec_child(g_fi_mid_ids[m], &g_fi_mid_spec[m], NULL);
    }
    ax_sup_spec top_spec = {AX_ONE_FOR_ONE, 1000000, 1000, 0, 0, 0, g_fi_mid_ch, FI_MIDS};
    CHECK_OK(ax_supervisor_start(g_fi_rt, &top_spec, &g_fi_top));
    CHECK_EQ(atomic_load(&g_fi_inits), FI_N);

    struct fi_sender senders[FI_SENDERS];
    for (int i = 0; i < FI_SENDERS; i++) {
        senders[i] = (struct fi_sender){0};
        senders[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
        CHECK_EQ(pthread_create(&senders[i].th, NULL, fi_sender_main, &senders[i]), 0);
    }
    pthread_t injector;
    CHECK_EQ(pthread_create(&injector, NULL, fi_injector_main, NULL), 0);
    CHECK_EQ(pthread_join(injector, NULL), 0);
    atomic_store(&g_fi_stop_traffic, 1);
    uint64_t misses = 0, other = 0;
    for (int i = 0; i < FI_SENDERS; i++) {
        CHECK_EQ(pthread_join(senders[i].th, NULL), 0);
        misses += senders[i].resolve_misses;
        other += senders[i].other_resolve_errors;
    }
    CHECK_EQ(other, 0);

    /* Every crash message is handled (none can be a dead letter: one in flight per worker,
     * sent to a live incarnation), and every crashed worker is running again. */
    WAIT_ATOMIC(g_fi_crash_stopped, FI_CRASHES);
    /* Every replacement has run its init (a restart is counted before its start, and the ref
     * of a child that stopped stays readable until its supervisor handles the exit, so "all
     * running" alone could be seen one restart early). */
    WAIT_ATOMIC(g_fi_inits, FI_N + FI_CRASHES);
    WAIT_UNTIL(fi_all_running());
    uint64_t restarts = fi_sum_restarts();
    CHECK_EQ(atomic_load(&g_fi_crash_handled), FI_CRASHES);
    CHECK_EQ(restarts, FI_CRASHES);
    for (int m = 0; m < FI_MIDS; m++) CHECK_EQ(restarts_of(g_fi_rt, g_fi_top, g_fi_mid_ids[m]), 0);
    ax_stats before;
    CHECK_OK(ax_stats_get(g_fi_rt, &before));
    CHECK_EQ(before.restarts, FI_CRASHES);
    CHECK_EQ(atomic_load(&g_fi_inits), FI_N + FI_CRASHES);

    CHECK_OK(ax_runtime_shutdown(g_fi_rt, 20000));
    ax_stats st;
    CHECK_OK(ax_stats_get(g_fi_rt, &st));
    uint64_t refused = 0;
    for (int c = 0; c < FI_CODES; c++) refused += atomic_load(&g_fi_refused[c]);
    uint64_t attempts = atomic_load(&g_fi_attempts);
    fprintf(stderr,
            "  fault injection: attempts %llu, processed %llu, failed %llu, refused %llu "
            "(ENOACTOR %llu), dead letters %llu, resolve misses %llu, restarts %llu, %lld ms\n",
            (unsigned long long)attempts, (unsigned long long)st.processed,
            (unsigned long long)st.failed, (unsigned long long)refused,
            (unsigned long long)atomic_load(&g_fi_refused[-AX_ENOACTOR]),
            (unsigned long long)st.dead_letters, (unsigned long long)(misses + g_fi_injector_resolve_misses),
            (unsigned long long)st.restarts, (long long)(check_now_ms() - t0));
    CHECK_EQ(atomic_load(&g_fi_refused[0]), 0);
    CHECK_EQ(refused, atomic_load(&g_fi_refused[-AX_ENOACTOR])); /* the only refusal */
    CHECK_EQ(attempts, st.processed + st.failed + refused + st.dead_letters);
    CHECK_EQ(st.sent, attempts - refused);
    CHECK_EQ(st.processed, atomic_load(&g_fi_work_handled));
    CHECK_EQ(st.failed, FI_CRASHES);
    CHECK_EQ(st.restarts, FI_CRASHES);
    CHECK_EQ(st.escalations, 0);
    CHECK_EQ(st.spawned, 1 + FI_MIDS + FI_N + FI_CRASHES);
    CHECK_EQ(st.stopped, st.spawned);
    CHECK_EQ(atomic_load(&g_fi_mismatch), 0);
    fixture_destroy(g_fi_rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 8. Shutdown timeouts: a child that does not stop within its shutdown_ms (its handler holds a
 *    worker) does not hold the supervisor up; and when that old incarnation finally stops, its
 *    exit belongs to no current child and must not disturb the supervisor.
 * ==================================================================================== */

static void block_child(ax_runtime *rt, ax_ref child) {
    atomic_store(&g_gate, 0);
    atomic_store(&g_gate_entered, 0);
    CHECK_OK(ax_send(rt, child, M_BLOCK, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_gate_entered));
}

/* The supervisor itself is stopped (ax_stop): it moves on past the blocked child. */
static void test_shutdown_timeout_stop(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    ax_child_spec ch[3];
    for (int i = 0; i < 3; i++) ch[i] = worker_spec(g_ids[i], &g_args[i], AX_PERMANENT, NULL);
    ch[1].shutdown_ms = 50;
    ax_sup_spec spec = {AX_ONE_FOR_ONE, 10, 10000, 0, 0, 0, ch, 3};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    ax_ref watcher = new_watcher(rt);
    watch(rt, watcher, sup);
    ax_ref c1 = child_of(rt, sup, "c1");
    block_child(rt, c1);
    int base = atomic_load(&g_log_n);
    CHECK_OK(ax_stop(rt, sup));
    /* The gate is closed, so c1 cannot have stopped: the supervisor went on without it. */
    WAIT_UNTIL(find_down(sup) >= 0);
    CHECK_EQ(g_downs[find_down(sup)].reason, AX_REASON_NORMAL);
    CHECK_EQ(atomic_load(&g_log_n), base + 2);
    CHECK_EV(base, base, EV_STOP, 12, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 1, base, EV_STOP, 10, 0, AX_REASON_SHUTDOWN);
    atomic_store(&g_gate, 1);
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 3); /* it stops after its handler */
    CHECK_EV(base + 2, base, EV_STOP, 11, 0, AX_REASON_SHUTDOWN);
    CHECK_EQ(g_log[base + 2].ref.id, c1.id);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.restarts, 0);
    fixture_shutdown(rt);
    CHECK_EQ(atomic_load(&g_log_n), base + 3);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* one_for_all group restart past a blocked child; then the old incarnation stops late. */
static void test_shutdown_timeout_late_exit(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    ax_child_spec ch[3];
    for (int i = 0; i < 3; i++) ch[i] = worker_spec(g_ids[i], &g_args[i], AX_PERMANENT, NULL);
    ch[1].shutdown_ms = 50;
    ax_sup_spec spec = {AX_ONE_FOR_ALL, 10, 10000, 0, 0, 0, ch, 3};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    ax_ref watcher = new_watcher(rt);
    watch(rt, watcher, sup);
    ax_ref old1 = child_of(rt, sup, "c1");
    block_child(rt, old1);
    int base = atomic_load(&g_log_n);
    CHECK_OK(ax_send(rt, child_of(rt, sup, "c2"), M_CRASH, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 5);
    sup_sync(rt, sup);
    CHECK_EQ(atomic_load(&g_log_n), base + 5); /* old c1 is still in its handler */
    CHECK_EV(base + 0, base, EV_STOP, 12, 0, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_STOP, 10, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 2, base, EV_INIT, 10, 1, AX_REASON_SHUTDOWN);
    CHECK(g_log[base + 3].kind == EV_INIT && g_log[base + 3].id == 11 && g_log[base + 3].inc == 1);
    CHECK_EV(base + 4, base, EV_INIT, 12, 1, AX_REASON_FAILED);
    ax_ref now[3];
    for (int i = 0; i < 3; i++) now[i] = child_of(rt, sup, g_ids[i]);
    CHECK(!ax_ref_eq(now[1], old1));
    CHECK_EQ(now[1].id, g_log[base + 3].ref.id);

    /* The old c1 now stops (it was asked to); its exit reaches the supervisor over the old
     * link. Wait until it is counted as stopped (after its links were told), then two round
     * trips through the supervisor. */
    ax_stats st0;
    CHECK_OK(ax_stats_get(rt, &st0));
    atomic_store(&g_gate, 1);
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 6);
    CHECK_EV(base + 5, base, EV_STOP, 11, 0, AX_REASON_SHUTDOWN);
    CHECK_EQ(g_log[base + 5].ref.id, old1.id);
    ax_stats st;
    WAIT_UNTIL(ax_stats_get(rt, &st) == 0 && st.stopped >= st0.stopped + 1);
    ax_ref dummy;
    int rc1 = ax_supervisor_start_child(rt, sup, NULL, 0, &dummy);
    int rc2 = ax_supervisor_start_child(rt, sup, NULL, 0, &dummy);
    /* The supervisor must carry on as before: a new crash of c0 gives an ordinary group
     * restart (incarnation 2 everywhere), not a shutdown. */
    base = atomic_load(&g_log_n);
    int rc3 = ax_send(rt, now[0], M_CRASH, NULL, 0);
    if (rc1 == AX_EINVAL && rc2 == AX_EINVAL && rc3 == 0)
        WAIT_UNTIL(find_down(sup) >= 0 || atomic_load(&g_log_n) >= base + 6);
    else
        WAIT_UNTIL(find_down(sup) >= 0);
    if (find_down(sup) >= 0) {
        fprintf(stderr, "%s:%d: the supervisor stopped (reason %d) after the late exit of a "
                        "child it had given up waiting for (syncs %d %d, send %d)\n",
                __FILE__, __LINE__, g_downs[find_down(sup)].reason, rc1, rc2, rc3);
        log_dump(0);
        exit(1);
    }
    sup_sync(rt, sup);
    CHECK_EQ(atomic_load(&g_log_n), base + 6);
    CHECK_EV(base + 0, base, EV_STOP, 10, 1, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_STOP, 12, 1, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 2, base, EV_STOP, 11, 1, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 3, base, EV_INIT, 10, 2, AX_REASON_FAILED);
    CHECK_EV(base + 4, base, EV_INIT, 11, 2, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 5, base, EV_INIT, 12, 2, AX_REASON_SHUTDOWN);
    fixture_shutdown(rt);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 9. Exits that reach a supervisor during a group restart, as OTP handles them: one exit at a
 *    time, so a member of the group being restarted restarts with it (no decision of its
 *    own), and a child before the group gets its own decision once the group restart is done.
 *    An outside thread sends traffic to every child meanwhile; every M_INC it got accepted is
 *    handled by some incarnation or is a dead letter.
 * ==================================================================================== */

struct traffic {
    ax_runtime *rt;
    ax_ref sup;
    int nchildren;
    atomic_int stop;
    atomic_ullong sent;
};

static void *traffic_main(void *p) {
    struct traffic *t = p;
    for (unsigned k = 0; !atomic_load(&t->stop); k++) {
        ax_ref r;
        if (ax_supervisor_child(t->rt, t->sup, g_ids[k % (unsigned)t->nchildren], &r) != 0)
            continue; /* between incarnations */
        int rc = ax_send(t->rt, r, M_INC, NULL, 0);
        if (rc == 0) atomic_fetch_add(&t->sent, 1);
        else if (rc != AX_ENOACTOR) HCHECK(rc == 0);
        if (k % 64 == 0) check_sleep_us(20);
    }
    return NULL;
}

static void traffic_start(struct traffic *t, pthread_t *th, ax_runtime *rt, ax_ref sup, int n) {
    *t = (struct traffic){rt, sup, n, 0, 0};
    atomic_store(&g_inc_handled, 0);
    CHECK(pthread_create(th, NULL, traffic_main, t) == 0);
}

/* Stops the traffic, shuts the runtime down and checks the M_INC accounting. */
static void traffic_finish(struct traffic *t, pthread_t th, ax_runtime *rt) {
    /* On a loaded machine the thread may not have run yet: some traffic is what is checked. */
    WAIT_UNTIL(atomic_load(&t->sent) > 0);
    atomic_store(&t->stop, 1);
    CHECK(pthread_join(th, NULL) == 0);
    fixture_shutdown(rt);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    /* M_INC is the only kind of message that can be left queued here. */
    CHECK_EQ(atomic_load(&g_inc_handled) + st.dead_letters, atomic_load(&t->sent));
    fixture_destroy(rt);
}

/* Waits until the supervisor has handled child id's exit (it clears the child's ref then; the
 * stopped hook's log entry comes before the exit is sent, so it proves less). */
static void wait_exit_handled(ax_runtime *rt, ax_ref sup, const char *id) {
    ax_ref r;
    WAIT_UNTIL(ax_supervisor_child(rt, sup, id, &r) == AX_ENOACTOR);
}

/* rest_for_one: c0 (before the group) stops while c2's group restart waits for blocked c3. */
static void test_exit_before_group(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    ax_child_spec ch[4];
    for (int i = 0; i < 4; i++) ch[i] = worker_spec(g_ids[i], &g_args[i], AX_PERMANENT, NULL);
    ax_sup_spec spec = {AX_REST_FOR_ONE, 10, 100000, 0, 0, 0, ch, 4};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    struct traffic t;
    pthread_t th;
    traffic_start(&t, &th, rt, sup, 4);
    block_child(rt, child_of(rt, sup, "c3"));
    int base = atomic_load(&g_log_n);
    CHECK_OK(ax_send(rt, child_of(rt, sup, "c2"), M_CRASH, NULL, 0));
    wait_exit_handled(rt, sup, "c2"); /* the group restart has begun: it waits for c3 */
    CHECK_OK(ax_send(rt, child_of(rt, sup, "c0"), M_CRASH, NULL, 0));
    wait_exit_handled(rt, sup, "c0"); /* during the group restart */
    CHECK_EQ(atomic_load(&g_log_n), base + 2);
    atomic_store(&g_gate, 1);
    /* c3 stops; c2, c3 restart; then c0's decision: c3, c2, c1 stop, c0..c3 restart. */
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 12);
    sup_sync(rt, sup);
    CHECK_EQ(atomic_load(&g_log_n), base + 12);
    CHECK_EV(base + 0, base, EV_STOP, 12, 0, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_STOP, 10, 0, AX_REASON_FAILED);
    CHECK_EV(base + 2, base, EV_STOP, 13, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 3, base, EV_INIT, 12, 1, AX_REASON_FAILED);
    CHECK_EV(base + 4, base, EV_INIT, 13, 1, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 5, base, EV_STOP, 13, 1, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 6, base, EV_STOP, 12, 1, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 7, base, EV_STOP, 11, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 8, base, EV_INIT, 10, 1, AX_REASON_FAILED);
    CHECK_EV(base + 9, base, EV_INIT, 11, 1, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 10, base, EV_INIT, 12, 2, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 11, base, EV_INIT, 13, 2, AX_REASON_SHUTDOWN);
    const uint64_t want[4] = {1, 1, 2, 2};
    for (int i = 0; i < 4; i++) CHECK_EQ(restarts_of(rt, sup, g_ids[i]), want[i]);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.restarts, 6);
    CHECK_EQ(st.escalations, 0);
    traffic_finish(&t, th, rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* one_for_all, intensity 2: c1 crashes on its own during the group restart c0's crash began;
 * that is one decision, so one more crash later is still within the intensity. */
static void test_exit_inside_group(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    ax_child_spec ch[3];
    for (int i = 0; i < 3; i++) ch[i] = worker_spec(g_ids[i], &g_args[i], AX_PERMANENT, NULL);
    ax_sup_spec spec = {AX_ONE_FOR_ALL, 2, 100000, 0, 0, 0, ch, 3};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    ax_ref watcher = new_watcher(rt);
    watch(rt, watcher, sup);
    struct traffic t;
    pthread_t th;
    traffic_start(&t, &th, rt, sup, 3);
    block_child(rt, child_of(rt, sup, "c2"));
    int base = atomic_load(&g_log_n);
    CHECK_OK(ax_send(rt, child_of(rt, sup, "c0"), M_CRASH, NULL, 0));
    wait_exit_handled(rt, sup, "c0"); /* the group restart has begun: it waits for c2 */
    CHECK_OK(ax_send(rt, child_of(rt, sup, "c1"), M_CRASH, NULL, 0));
    wait_exit_handled(rt, sup, "c1");
    CHECK_EQ(atomic_load(&g_log_n), base + 2);
    atomic_store(&g_gate, 1);
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 6);
    sup_sync(rt, sup);
    CHECK_EQ(atomic_load(&g_log_n), base + 6);
    CHECK_EV(base + 0, base, EV_STOP, 10, 0, AX_REASON_FAILED);
    CHECK_EV(base + 1, base, EV_STOP, 11, 0, AX_REASON_FAILED);
    CHECK_EV(base + 2, base, EV_STOP, 12, 0, AX_REASON_SHUTDOWN);
    CHECK_EV(base + 3, base, EV_INIT, 10, 1, AX_REASON_FAILED);
    CHECK_EV(base + 4, base, EV_INIT, 11, 1, AX_REASON_FAILED);
    CHECK_EV(base + 5, base, EV_INIT, 12, 1, AX_REASON_SHUTDOWN);
    for (int i = 0; i < 3; i++) CHECK_EQ(restarts_of(rt, sup, g_ids[i]), 1);
    /* The second decision is within the intensity of 2. */
    base = atomic_load(&g_log_n);
    CHECK_OK(ax_send(rt, child_of(rt, sup, "c2"), M_CRASH, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_log_n) >= base + 6 || find_down(sup) >= 0);
    sup_sync(rt, sup);
    CHECK(find_down(sup) < 0);
    CHECK_EQ(atomic_load(&g_log_n), base + 6);
    for (int i = 0; i < 3; i++) CHECK_EQ(restarts_of(rt, sup, g_ids[i]), 2);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.restarts, 6);
    CHECK_EQ(st.escalations, 0);
    traffic_finish(&t, th, rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 10. The documented error codes of the supervisor calls, each produced on purpose.
 * ==================================================================================== */

/* A template whose init fails (arg 1), holds on g_gate (arg 2), or succeeds. */
static int tpl_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx, (void)state;
    int what = arg ? *(const int *)arg : 0;
    if (what == 2) {
        atomic_store(&g_gate_entered, 1);
        HCHECK(check_spin_until_set(&g_gate) == 0);
    }
    return what == 1 ? -1 : 0;
}

static int tpl_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state;
    if (msg->type == M_BLOCK) {
        atomic_store(&g_gate_entered, 1);
        HCHECK(check_spin_until_set(&g_gate) == 0);
    }
    return 0;
}

static const ax_behavior tpl_b = {"tpl", 0, tpl_init, tpl_receive, NULL};

struct start_call {
    ax_runtime *rt;
    ax_ref sup;
    int arg;
    int rc;
};

static void *start_child_main(void *p) {
    struct start_call *c = p;
    ax_ref r;
    c->rc = ax_supervisor_start_child(c->rt, c->sup, &c->arg, sizeof c->arg, &r);
    return NULL;
}

static void test_codes(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    ax_child_spec tmpl = {NULL, &tpl_b, NULL, 0, AX_TEMPORARY, AX_SHUTDOWN_INFINITY,
                          AX_CHILD_WORKER, NULL};
    ax_sup_spec simple = {AX_SIMPLE_ONE_FOR_ONE, 5, 1000, 0, 0, 0, &tmpl, 1};
    ax_ref sup, r, plain;
    uint64_t n;
    CHECK_OK(ax_supervisor_start(rt, &simple, &sup));
    int fail = 1, ok = 0;
    CHECK_RC(ax_supervisor_start_child(rt, sup, &fail, sizeof fail, &r), AX_EINIT);
    CHECK_RC(ax_supervisor_start_child(rt, sup, &ok, (size_t)AX_MSG_MAX + 1, &r), AX_EMSGSIZE);
    CHECK_OK(ax_spawn(rt, &tpl_b, NULL, NULL, &plain));
    CHECK_RC(ax_supervisor_start_child(rt, plain, NULL, 0, &r), AX_ENOACTOR);

    /* Stopping: a child blocked in its handler (shutdown infinity) keeps the supervisor in its
     * stop, during which it answers AX_ESHUTDOWN. */
    ax_ref child;
    CHECK_OK(ax_supervisor_start_child(rt, sup, &ok, sizeof ok, &child));
    atomic_store(&g_gate, 0);
    atomic_store(&g_gate_entered, 0);
    CHECK_OK(ax_send(rt, child, M_BLOCK, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_gate_entered));
    CHECK_OK(ax_stop(rt, sup));
    CHECK_RC(ax_supervisor_start_child(rt, sup, &ok, sizeof ok, &r), AX_ESHUTDOWN);
    atomic_store(&g_gate, 1);
    WAIT_UNTIL(ax_supervisor_start_child(rt, sup, &ok, sizeof ok, &r) == AX_ENOACTOR);

    /* A supervisor that stops with a request queued: the waiting caller gets AX_ENOACTOR. */
    tmpl.shutdown_ms = AX_SHUTDOWN_KILL;
    CHECK_OK(ax_supervisor_start(rt, &simple, &sup));
    atomic_store(&g_gate, 0);
    atomic_store(&g_gate_entered, 0);
    struct start_call held = {rt, sup, 2, 12345}, queued = {rt, sup, 0, 12345};
    pthread_t t1, t2;
    CHECK(pthread_create(&t1, NULL, start_child_main, &held) == 0);
    WAIT_UNTIL(atomic_load(&g_gate_entered)); /* the supervisor is inside the child's init */
    uint64_t sent = fixture_stats(rt).sent;
    CHECK(pthread_create(&t2, NULL, start_child_main, &queued) == 0);
    WAIT_UNTIL(fixture_stats(rt).sent > sent); /* the second request is queued behind */
    CHECK_OK(ax_stop(rt, sup));
    atomic_store(&g_gate, 1);
    CHECK(pthread_join(t1, NULL) == 0 && pthread_join(t2, NULL) == 0);
    CHECK_OK(held.rc);
    CHECK_RC_OF(ax_supervisor_start_child, queued.rc, AX_ENOACTOR);

    /* Static children: lookups. */
    ax_child_spec ch = worker_spec("c0", &g_args[0], AX_PERMANENT, NULL);
    ax_sup_spec one = {AX_ONE_FOR_ONE, 5, 1000, 0, 0, 0, &ch, 1};
    CHECK_OK(ax_supervisor_start(rt, &one, &sup));
    CHECK_RC(ax_supervisor_child(rt, sup, NULL, &r), AX_EINVAL);
    CHECK_RC(ax_supervisor_child_restarts(rt, sup, NULL, &n), AX_EINVAL);
    CHECK_RC(ax_supervisor_child_restarts(rt, sup, "c0", NULL), AX_EINVAL);
    CHECK_RC(ax_supervisor_child_restarts(rt, sup, "nope", &n), AX_ENOENT);
    CHECK_RC(ax_supervisor_child_restarts(rt, plain, "c0", &n), AX_ENOACTOR);
    CHECK_OK(ax_supervisor_child_restarts(rt, sup, "c0", &n));
    CHECK_EQ(n, 0);

    /* A child that cannot start fails the whole start. */
    ax_child_spec bad = {"bad", &tpl_b, &fail, 0, AX_PERMANENT, 0, AX_CHILD_WORKER, NULL};
    ax_sup_spec with_bad = {AX_ONE_FOR_ONE, 5, 1000, 0, 0, 0, &bad, 1};
    CHECK_RC(ax_supervisor_start(rt, &with_bad, &sup), AX_EINIT);
    fixture_shutdown(rt);
    CHECK_RC(ax_supervisor_start(rt, &one, &sup), AX_ESHUTDOWN);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* A supervisor waiting for a child to stop holds no worker (a resource check: CPU time, not
 * wall time). It used to spin a whole core: its delivered stop request kept taking it back from
 * idle. The blocked child sleeps in 50 us steps, far below half a core. */
/* A round trip through a supervisor that is stopping (it answers AX_ESHUTDOWN then). */
static void sup_sync_stopping(ax_runtime *rt, ax_ref sup) {
    ax_ref dummy;
    CHECK_RC(ax_supervisor_start_child(rt, sup, NULL, 0, &dummy), AX_EINVAL);
}

static void test_stopping_supervisor_idles(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    log_reset();
    ax_child_spec ch = worker_spec(g_ids[0], &g_args[0], AX_PERMANENT, NULL);
    ch.shutdown_ms = AX_SHUTDOWN_INFINITY;
    ax_sup_spec spec = {AX_ONE_FOR_ONE, 5, 1000, 0, 0, 0, &ch, 1};
    ax_ref sup;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    block_child(rt, child_of(rt, sup, "c0"));
    CHECK_OK(ax_stop(rt, sup));
    sup_sync_stopping(rt, sup);
    int64_t c0 = check_cpu_ns(), w0 = now_ns();
    check_sleep_us(300000);
    int64_t used = check_cpu_ns() - c0, wall = now_ns() - w0;
    fprintf(stderr, "  stopping supervisor: %.1f ms CPU over %.0f ms\n", (double)used / 1e6,
            (double)wall / 1e6);
    CHECK(used < wall / 2);
    atomic_store(&g_gate, 1);
    fixture_shutdown(rt);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* A child that can no longer start (its init fails from the second start on), under an intensity
 * that never runs out: every failed start is retried through the supervisor's mailbox, so the
 * supervisor keeps answering (its handler is not held), and a shutdown stops it. It used to
 * retry by recursion, inside one handler call, until the stack or the memory ran out. */
static atomic_int g_fail_starts, g_starts;

static int fragile_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx, (void)state, (void)arg;
    atomic_fetch_add(&g_starts, 1);
    return atomic_load(&g_fail_starts) ? -1 : 0;
}

static const ax_behavior fragile_b = {"fragile", 0, fragile_init, tpl_receive, NULL};

static void test_restart_that_cannot_start(void) {
    ax_runtime *rt = fixture_runtime(WORKERS);
    ax_child_spec ch = {"f", &fragile_b, NULL, 0, AX_PERMANENT, 0, AX_CHILD_WORKER, NULL};
    ax_sup_spec spec = {AX_ONE_FOR_ONE, INT_MAX, INT64_MAX, 0, 0, 0, &ch, 1};
    ax_ref sup, child;
    atomic_store(&g_fail_starts, 0);
    atomic_store(&g_starts, 0);
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    CHECK_OK(ax_supervisor_child(rt, sup, "f", &child));
    atomic_store(&g_fail_starts, 1);
    CHECK_OK(ax_stop(rt, child)); /* a permanent child: restarted, and every start fails */
    WAIT_UNTIL(atomic_load(&g_starts) >= 20);
    sup_sync(rt, sup); /* the supervisor still handles its mail */
    uint64_t n;
    CHECK_OK(ax_supervisor_child_restarts(rt, sup, "f", &n));
    CHECK(n >= 19);
    fixture_shutdown(rt);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

static void test_shutdown_tree(void) { shutdown_tree(0); }

/* The same with children taking 1 ms to stop. */
static void test_shutdown_tree_slow_stops(void) { shutdown_tree(1000); }

/* ---- deterministic mode: supervision under 1,000 schedules (tests/det.h) -------------------
 * Three children of a one_for_one, one_for_all or rest_for_one supervisor (by seed) are told to
 * fail at random moments by a chaos actor; whatever the schedule, each child was started once
 * more than it was restarted, one_for_one restarts exactly the children that failed, the counts
 * add up to ax_stats, nothing escalates, and every child ends up running under its name. */
enum { DS_FAIL = 0x5100, DS_TICK };

#define DS_CHILDREN 3
static atomic_int ds_inits[DS_CHILDREN], ds_failures[DS_CHILDREN];

static int ds_child_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx, (void)state;
    atomic_fetch_add(&ds_inits[*(const int *)arg], 1);
    return 0;
}
static int ds_child_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state;
    if (msg->type != DS_FAIL) return 0;
    int i;
    memcpy(&i, msg->data, sizeof i);
    atomic_fetch_add(&ds_failures[i], 1);
    return -1;
}
static const ax_behavior ds_child_b = {"child", 0, ds_child_init, ds_child_receive, NULL};

/* Chaos: every tick, one child (by the chaos's own generator) is told to fail, if it is up. */
struct ds_chaos {
    uint32_t rng;
    int ticks;
    ax_timer tick;
};
static int ds_chaos_init(ax_ctx *ctx, void *state, const void *arg) {
    struct ds_chaos *c = state;
    c->rng = (uint32_t)*(const uint64_t *)arg | 1u;
    return ax_send_interval(ax_ctx_runtime(ctx), ax_self(ctx), DS_TICK, NULL, 0, 1 + c->rng % 3,
                            &c->tick);
}
static int ds_chaos_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)msg;
    struct ds_chaos *c = state;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    if (++c->ticks > 25) {
        HCHECK(ax_timer_cancel(rt, c->tick) == 0);
        return ax_stop(rt, ax_self(ctx));
    }
    for (int burst = (int)(det_xorshift(&c->rng) % 3); burst >= 0; burst--) {
        int i = (int)(det_xorshift(&c->rng) % DS_CHILDREN);
        char name[8];
        snprintf(name, sizeof name, "c%d", i);
        ax_ref r;
        if (ax_whereis(rt, name, &r) == 0) (void)ax_send(rt, r, DS_FAIL, &i, sizeof i);
    }
    return 0;
}
static const ax_behavior ds_chaos_b = {"chaos", sizeof(struct ds_chaos), ds_chaos_init, ds_chaos_receive,
                                    NULL};

static const int ds_child_index[DS_CHILDREN] = {0, 1, 2};

static int ds_scenario(uint64_t seed, void *arg) {
    (void)arg;
    for (int i = 0; i < DS_CHILDREN; i++) {
        atomic_store(&ds_inits[i], 0);
        atomic_store(&ds_failures[i], 0);
    }
    ax_runtime *rt = det_runtime(seed);
    static const ax_strategy strategies[] = {AX_ONE_FOR_ONE, AX_ONE_FOR_ALL, AX_REST_FOR_ONE};
    ax_strategy strategy = strategies[seed % 3];
    ax_child_spec ch[DS_CHILDREN];
    static const char *const ids[] = {"c0", "c1", "c2"};
    for (int i = 0; i < DS_CHILDREN; i++)
        ch[i] = (ax_child_spec){ids[i], &ds_child_b, &ds_child_index[i], 0, AX_PERMANENT, 100,
                                AX_CHILD_WORKER, ids[i]};
    ax_sup_spec spec = {strategy, 1000, 1000, 0, 0, 0, ch, DS_CHILDREN};
    ax_ref sup, chaos;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    CHECK_OK(ax_spawn(rt, &ds_chaos_b, &seed, NULL, &chaos)); /* its interval starts the storm */
    det_wait_idle(rt);
    int bad = 0, failures = 0;
    uint64_t restarts_sum = 0;
    for (int i = 0; i < DS_CHILDREN; i++) {
        uint64_t restarts = 0;
        ax_ref now, named;
        bad |= ax_supervisor_child_restarts(rt, sup, ids[i], &restarts) != 0;
        bad |= ax_supervisor_child(rt, sup, ids[i], &now) != 0; /* up again */
        bad |= ax_whereis(rt, ids[i], &named) != 0 || !ax_ref_eq(now, named);
        int inits = atomic_load(&ds_inits[i]), fails = atomic_load(&ds_failures[i]);
        bad |= (uint64_t)inits != 1 + restarts; /* each restart started it once more */
        if (strategy == AX_ONE_FOR_ONE) bad |= restarts != (uint64_t)fails;
        failures += fails;
        restarts_sum += restarts;
        if (bad) {
            fprintf(stderr, "sup (strategy %d): child %d: restarts %llu inits %d failures %d\n",
                    (int)strategy, i, (unsigned long long)restarts, inits, fails);
            break;
        }
    }
    ax_stats st = fixture_stats(rt);
    if (!bad && (st.restarts != restarts_sum || st.escalations != 0 || failures == 0 ||
                 st.spawned - st.stopped != 1 + DS_CHILDREN)) {
        fprintf(stderr, "sup: restarts %llu vs %llu, escalations %llu, failures %d, alive %llu\n",
                (unsigned long long)st.restarts, (unsigned long long)restarts_sum,
                (unsigned long long)st.escalations, failures,
                (unsigned long long)(st.spawned - st.stopped));
        bad = 1;
    }
    fixture_destroy(rt);
    return bad;
}

static void test_det_seeds(void) {
    DET_CHECK_ALL(ds_scenario, NULL);
    CHECK_NO_HANDLER_FAILURES();
}

TEST_MAIN(TEST_CASE(test_strategies), TEST_CASE(test_one_for_all_mixed),
          TEST_CASE(test_simple_one_for_one), TEST_CASE(test_intensity),
          TEST_CASE(test_escalation_tree), TEST_CASE(test_backoff), TEST_CASE(test_shutdown_tree),
          TEST_CASE(test_fault_injection), TEST_CASE(test_shutdown_timeout_stop),
          TEST_CASE(test_shutdown_timeout_late_exit), TEST_CASE(test_exit_before_group),
          TEST_CASE(test_exit_inside_group), TEST_CASE(test_codes),
          TEST_CASE(test_restart_that_cannot_start), TEST_CASE(test_stopping_supervisor_idles),
          TEST_CASE(test_shutdown_tree_slow_stops), TEST_CASE(test_det_seeds))
