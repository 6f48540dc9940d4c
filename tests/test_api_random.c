/* SPDX-License-Identifier: MIT */
/* test_api_random.c: a seeded randomized test: random API calls with random and extreme arguments,
 * each return code and the ax_stats totals checked against a model of the docs (docs/api.md). */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axon.h"
#include "check.h"
#include "runner.h"


/* ---- return-code sets ---------------------------------------------------------------- */

enum {
    B_OK = 1u << 0,
    B_EINVAL = 1u << 1,
    B_ENOACTOR = 1u << 2,
    B_ESHUTDOWN = 1u << 3,
    B_EMSGSIZE = 1u << 4,
    B_EFULL = 1u << 5,
    B_EEXIST = 1u << 6,
    B_ENOENT = 1u << 7,
    B_ENAMETOOLONG = 1u << 8,
    B_ETIMEDOUT = 1u << 9,
    B_ENOMEM = 1u << 10,
    B_ECONTEXT = 1u << 11,
    B_EINIT = 1u << 12,
    B_EBUSY = 1u << 13,
    B_OTHER = 1u << 14
};

static unsigned code_bit(int rc) {
    switch (rc) {
    case 0: return B_OK;
    case AX_EINVAL: return B_EINVAL;
    case AX_ENOACTOR: return B_ENOACTOR;
    case AX_ESHUTDOWN: return B_ESHUTDOWN;
    case AX_EMSGSIZE: return B_EMSGSIZE;
    case AX_EFULL: return B_EFULL;
    case AX_EEXIST: return B_EEXIST;
    case AX_ENOENT: return B_ENOENT;
    case AX_ENAMETOOLONG: return B_ENAMETOOLONG;
    case AX_ETIMEDOUT: return B_ETIMEDOUT;
    case AX_ENOMEM: return B_ENOMEM;
    case AX_ECONTEXT: return B_ECONTEXT;
    case AX_EINIT: return B_EINIT;
    case AX_EBUSY: return B_EBUSY;
    default: return B_OTHER;
    }
}

/* ---- failure reporting ----------------------------------------------------------------- */

static uint64_t g_seed;
static atomic_ullong g_calls;       /* API calls made so far, by every thread */
static atomic_ullong g_first_fail;  /* call index of the first failure in a handler, +1 */
static _Thread_local int t_in_hook; /* handlers report failures instead of exiting */
static int g_runtimes;
static unsigned long long g_clean_ends, g_abrupt_ends, g_sup_lives, g_timer_full, g_dead_letters,
    g_timeouts; /* coverage totals printed at the end */

static void die(unsigned long long call) {
    fprintf(stderr,
            "test_api_random: FAILED at call %llu, seed=0x%llx (rerun: AX_SOAK_SEED=0x%llx "
            "./test_api_random)\n",
            call, (unsigned long long)g_seed, (unsigned long long)g_seed);
    exit(1);
}

/* Reports a model mismatch. Outside threads exit at once; a handler only records it (exiting
 * from a worker would hide the cause), and the next outside call notices. */
static void model_fail(unsigned long long call, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test_api_random.c:%d: call %llu: ", line, call);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (!t_in_hook) die(call);
    unsigned long long none = 0;
    atomic_compare_exchange_strong(&g_first_fail, &none, call + 1);
    HCHECK(0 && "model mismatch in a handler");
}

static void poll_handler_failures(void) {
    unsigned long long f = atomic_load(&g_first_fail);
    if (f) die(f - 1);
}

static unsigned long long chk_(int rc, unsigned allowed, const char *what, int line) {
    unsigned long long call = atomic_fetch_add(&g_calls, 1);
    if (!(code_bit(rc) & allowed))
        model_fail(call, line, "%s returned %d (%s), allowed set 0x%x", what, rc, ax_strerror(rc),
                   allowed);
    return call;
}
#define CHK(rc, allowed, what) chk_((rc), (allowed), (what), __LINE__)
#define MODEL(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) model_fail(atomic_load(&g_calls), __LINE__, __VA_ARGS__); \
    } while (0)

static uint64_t rnd(uint64_t *s) { return check_rand(s); }
static int pct(uint64_t *s, int p) { return (int)(rnd(s) % 100) < p; }
static uint64_t pick(uint64_t *s, uint64_t n) { return rnd(s) % n; }

/* ---- the model of one runtime's life ------------------------------------------------------ */

#define MAX_ACTORS 16384
#define MAX_TIMERS 32768
#define MAX_ASKS 32768
#define MAX_SUPS 16
#define MAX_SPAWNS 4000

enum { A_UNKNOWN = 0, A_ALIVE = 1, A_STOPPED = 2, A_INITFAILED = 3 };

struct actor_rec {
    _Atomic ax_ref ref;
    atomic_int state; /* A_*: A_STOPPED once its stopped hook began (its ref is invalid then) */
    atomic_uint cap;
    atomic_int policy;
};

struct timer_rec {
    _Atomic ax_timer handle;
    int interval, owned, no_handle, in_stopped, owner_idx;
    int tracked;     /* its payload carries its id, so deliveries and notices name it */
    int dead_target; /* aimed at a ref known to be no actor: dead-lettered at firing */
    atomic_int armed, cancel_ok, delivered, dead;
};

/* Counts kept by the test, compared with ax_stats at the end of each runtime's life. */
struct counts {
    atomic_ullong s_user;  /* user messages the test's sends put in (rc 0) */
    atomic_ullong s_amb;   /* ax_ask_wait AX_ESHUTDOWN: its request may have been sent */
    atomic_ullong r_aw;    /* replies delivered to ax_ask_wait callers (rc 0) */
    atomic_ullong h_user;  /* user messages handled: receive calls, status-0 continuations */
    atomic_ullong h_timer; /* of which timer messages */
    atomic_ullong f_recv;  /* receive calls for user messages that failed */
    atomic_ullong f_cont;  /* status-0 continuations that failed */
    atomic_ullong notices, notices_timer, notices_timer_full, notices_timer_stopped;
    atomic_ullong notices_timer_dead_target; /* of the stopped ones: surely at firing */
    atomic_ullong spawned, stopped_hooks, sup_ok, restart_inits, start_child_calls;
};

static struct {
    ax_runtime *rt;
    int workers;
    atomic_int phase; /* 0 running, 1 shutdown called, 2 shutdown returned */
    atomic_int quiet; /* handlers stop acting (the clean end) */
    int sup_mode;     /* supervisors in use: their own messages are unknown to the counts */
    ax_ref anchor, dl;
    struct actor_rec act[MAX_ACTORS];
    atomic_int nact;
    struct timer_rec tim[MAX_TIMERS];
    atomic_int ntim;
    atomic_int ask_ran[MAX_ASKS];
    atomic_int nask;
    atomic_int small_intervals;
    _Atomic ax_ref sups[MAX_SUPS];
    int sup_simple[MAX_SUPS];
    atomic_int nsups;
    struct counts c;
} W;

static void world_reset(void) { memset(&W, 0, sizeof W); }

static int phase(void) { return atomic_load(&W.phase); }

/* ---- payloads ----------------------------------------------------------------------------- */

enum { T_ZERO = 0, T_PLAIN = 1, T_DO = 2, T_TIMER = 3, T_REPLY = 4, T_TOP = AX_MSG_RESERVED - 1 };
enum { K_PLAIN = 1, K_DO = 2, K_TIMER = 3 };
#define MAGIC 0xA70A70A7u

struct hdr {
    uint32_t magic, kind;
    uint64_t a, b; /* DO: seed, depth; TIMER: record id, expected sender */
};

static unsigned char g_big[AX_MSG_MAX + 1];
static const uint32_t bad_types[] = {AX_MSG_RESERVED, AX_MSG_DEAD_LETTER, AX_MSG_EXIT, 0xFFFFFFFFu};
static const uint32_t good_types[] = {T_ZERO, T_PLAIN, T_REPLY, T_TOP};

/* A send's arguments: a buffer (g_big when big), its type and size, and which argument errors
 * (AX_EINVAL, AX_EMSGSIZE) they make by the docs. */
struct payload {
    unsigned char buf[64];
    const void *data;
    size_t size;
    uint32_t type;
    unsigned argm;
};

static void fill_hdr(struct payload *p, uint32_t kind, uint64_t a, uint64_t b) {
    struct hdr h = {MAGIC, kind, a, b};
    if (p->data == g_big) return; /* g_big is shared: big payloads carry no header */
    if (p->data && p->size >= sizeof h) memcpy(p->buf, &h, sizeof h);
}

static void gen_payload(uint64_t *r, struct payload *p, uint32_t type, int allow_bad) {
    static const size_t small[] = {0, 1, sizeof(struct hdr), 40};
    static const size_t huge[] = {AX_MSG_MAX + 1, SIZE_MAX, SIZE_MAX - 100, (size_t)UINT32_MAX + 1};
    memset(p->buf, 0x5c, sizeof p->buf);
    p->type = type;
    p->size = small[pick(r, 4)];
    p->data = p->size ? p->buf : (pct(r, 50) ? NULL : p->buf);
    if (pct(r, 8)) {
        p->size = AX_MSG_MAX;
        p->data = g_big;
    }
    if (allow_bad && pct(r, 20)) {
        switch (pick(r, 3)) {
        case 0: p->type = bad_types[pick(r, 4)]; break;
        case 1:
            p->size = huge[pick(r, 4)];
            p->data = g_big;
            break;
        default:
            p->size = 1 + pick(r, 100);
            p->data = NULL;
            break;
        }
    }
    p->argm = 0;
    if (p->type >= AX_MSG_RESERVED || (p->data == NULL && p->size > 0)) p->argm |= B_EINVAL;
    if (p->size > AX_MSG_MAX) p->argm |= B_EMSGSIZE;
}

/* ---- targets ------------------------------------------------------------------------------- */

enum { C_LIVE, C_STALE, C_NONE, C_RANDOM, C_ANCHOR };

struct target {
    ax_ref ref;
    int cls;
    uint32_t cap;
    int policy;
};

static int known_ref(ax_ref r) {
    if (ax_ref_eq(r, W.anchor) || ax_ref_eq(r, W.dl)) return 1;
    int ns = atomic_load(&W.nsups);
    for (int i = 0; i < ns; i++)
        if (ax_ref_eq(atomic_load(&W.sups[i]), r)) return 1;
    int n = atomic_load(&W.nact);
    for (int i = 0; i < n && i < MAX_ACTORS; i++)
        if (ax_ref_eq(atomic_load(&W.act[i].ref), r)) return 1;
    return 0;
}

/* A 64-bit value that is no ref this runtime issued (checked against every ref it recorded: past
 * MAX_ACTORS spawns a random 64-bit value meets an unrecorded ref with odds below 2^-40). */
static ax_ref never_valid(uint64_t *r) {
    for (;;) {
        ax_ref x = {pct(r, 20) ? 1 + pick(r, 64) : rnd(r)};
        if (pct(r, 10)) x.id = UINT64_MAX - pick(r, 4);
        if (!ax_ref_is_none(x) && !known_ref(x)) return x;
    }
}

static struct target pick_target(uint64_t *r) {
    struct target t = {AX_REF_NONE, C_NONE, 0, 0};
    int n = atomic_load(&W.nact);
    uint64_t k = pick(r, 100);
    if (k < 60 && n > 0) {
        for (int tries = 0; tries < 4; tries++) {
            int i = (int)pick(r, (uint64_t)(n < MAX_ACTORS ? n : MAX_ACTORS));
            int s = atomic_load(&W.act[i].state);
            if (s == A_UNKNOWN) continue;
            t.ref = atomic_load(&W.act[i].ref);
            t.cls = s == A_ALIVE ? C_LIVE : C_STALE;
            t.cap = atomic_load(&W.act[i].cap);
            t.policy = atomic_load(&W.act[i].policy);
            return t;
        }
    }
    if (k < 80) {
        t.ref = W.anchor;
        t.cls = C_ANCHOR;
        return t;
    }
    if (k < 85) return t;
    t.ref = never_valid(r);
    t.cls = C_RANDOM;
    return t;
}

/* The codes a send to t may give, given its argument errors, ignoring shutdown. A live actor may
 * stop at any moment (other threads, links, its own handler), so AX_ENOACTOR is always possible
 * for it; the docs do not order the errors, so argument errors add to the set. */
static unsigned send_mask(const struct target *t, unsigned argm) {
    unsigned m;
    switch (t->cls) {
    case C_LIVE:
        m = B_OK | B_ENOACTOR;
        if (t->cap > 0 && t->policy == AX_OVERFLOW_REFUSE) m |= B_EFULL;
        break;
    case C_ANCHOR: m = B_OK | (phase() ? B_ENOACTOR : 0); break; /* shutdown stops it too */
    default: m = B_ENOACTOR; break;
    }
    if (argm) m = argm | (m & B_ENOACTOR);
    return m;
}

/* Outside threads: refused with AX_ESHUTDOWN once shutdown began. pb/pa: the phase read before
 * and after the call; a call that overlapped the shutdown call may go either way. */
static unsigned outside_mask(unsigned m, int pb, int pa, unsigned argm) {
    if (pb == 2) return argm | B_ESHUTDOWN | (m & B_ENOACTOR);
    if (pb >= 1 || pa >= 1) m |= B_ESHUTDOWN;
    return m;
}

static void count_sent(int rc) {
    if (rc == 0) atomic_fetch_add(&W.c.s_user, 1);
}

/* ---- timers (shared by outside threads and handlers) ---------------------------------------- */

static int new_timer_rec(void) {
    int i = atomic_fetch_add(&W.ntim, 1);
    return i < MAX_TIMERS ? i : -1;
}

static int64_t gen_delay(uint64_t *r, int *bad) {
    static const int64_t good[] = {0, 1, 2, 3, AX_TIMER_MAX_MS, AX_TIMER_MAX_MS - 1};
    static const int64_t badv[] = {-1, AX_TIMER_MAX_MS + 1, INT64_MAX, INT64_MIN};
    *bad = pct(r, 15);
    return *bad ? badv[pick(r, 4)] : good[pick(r, 6)];
}

static int64_t gen_period(uint64_t *r, int *bad) {
    static const int64_t good[] = {1, 2, 5, 0xFFFFFFFFLL};
    static const int64_t badv[] = {0, -1, 0x100000000LL, AX_TIMER_MAX_MS, INT64_MAX, INT64_MIN};
    *bad = pct(r, 20);
    return *bad ? badv[pick(r, 6)] : good[pick(r, 4)];
}

/* A live actor with a bounded mailbox, if a few tries find one: full mailboxes are where timer
 * messages and sends are dead-lettered or refused. */
static struct target pick_bounded(uint64_t *r) {
    struct target t = pick_target(r);
    for (int tries = 0; tries < 8 && !(t.cls == C_LIVE && t.cap > 0); tries++) t = pick_target(r);
    return t;
}

/* Arms a timer at *fixed (else a random target), due at fixed_delay when it is >= 0 (else a
 * random delay or period); ctx is NULL from outside threads. */
static void arm_timer_at(uint64_t *r, ax_ctx *ctx, ax_ref self, int owner_idx, int in_stopped,
                         const struct target *fixed, int64_t fixed_delay) {
    ax_runtime *rt = W.rt;
    struct target t = fixed ? *fixed : pct(r, 30) ? pick_bounded(r) : pick_target(r);
    int interval = fixed_delay < 0 && pct(r, 25), bad = 0, id = new_timer_rec();
    if (id < 0) return;
    struct timer_rec *tr = &W.tim[id];
    int64_t when = interval ? gen_period(r, &bad) : gen_delay(r, &bad);
    if (fixed_delay >= 0) when = fixed_delay, bad = 0;
    /* Small-period intervals flood the runtime; only a few may run at once. */
    if (interval && !bad && when < 10 && atomic_fetch_add(&W.small_intervals, 1) >= 12) return;
    struct payload p;
    gen_payload(r, &p, T_TIMER, 1);
    if (p.type < AX_MSG_RESERVED) p.type = T_TIMER;
    p.argm &= ~B_EINVAL;
    if (p.type >= AX_MSG_RESERVED || (p.data == NULL && p.size > 0)) p.argm |= B_EINVAL;
    fill_hdr(&p, K_TIMER, (uint64_t)id + 1, ctx ? self.id : AX_REF_NONE.id);
    tr->interval = interval;
    tr->owned = ctx != NULL;
    tr->owner_idx = owner_idx;
    tr->in_stopped = in_stopped;
    tr->dead_target = t.cls != C_LIVE && t.cls != C_ANCHOR;
    tr->tracked = !p.argm && p.data == p.buf && p.size >= sizeof(struct hdr);
    /* A one-shot without a handle cannot be cancelled: only with short delays, so the clean
     * end can wait for it. */
    tr->no_handle = !interval && when >= 0 && when <= 3 && !p.argm && p.data == p.buf
                    && p.size >= sizeof(struct hdr) && pct(r, 30);
    ax_timer h = AX_TIMER_NONE;
    int pb = phase(), rc;
    unsigned m = B_OK;
    if (bad) m = B_EINVAL;
    if (p.argm) m = p.argm | (bad ? B_EINVAL : 0);
    if (!interval)
        rc = ax_send_after(rt, t.ref, p.type, p.data, p.size, when, tr->no_handle ? NULL : &h);
    else
        rc = ax_send_interval(rt, t.ref, p.type, p.data, p.size, when, &h);
    if (!ctx) m = outside_mask(m, pb, phase(), p.argm | (bad ? B_EINVAL : 0));
    CHK(rc, m, interval ? "ax_send_interval" : "ax_send_after");
    if (rc != 0) return;
    MODEL(tr->no_handle || !ax_timer_is_none(h), "timer armed with handle 0");
    atomic_store(&tr->handle, h);
    atomic_store(&tr->armed, 1);
}

static void arm_timer(uint64_t *r, ax_ctx *ctx, ax_ref self, int owner_idx, int in_stopped) {
    arm_timer_at(r, ctx, self, owner_idx, in_stopped, NULL, -1);
}

static void cancel_timer(uint64_t *r) {
    ax_runtime *rt = W.rt;
    int n = atomic_load(&W.ntim);
    if (n > MAX_TIMERS) n = MAX_TIMERS;
    uint64_t k = pick(r, 10);
    if (k == 0) {
        CHK(ax_timer_cancel(NULL, (ax_timer){1}), B_EINVAL, "ax_timer_cancel(NULL)");
        return;
    }
    if (k == 1) {
        CHK(ax_timer_cancel(rt, AX_TIMER_NONE), B_ENOENT, "ax_timer_cancel(NONE)");
        return;
    }
    if (k == 2 || n == 0) {
        ax_timer h = {rnd(r)};
        for (int i = 0; i < n; i++)
            if (ax_timer_eq(atomic_load(&W.tim[i].handle), h)) return;
        CHK(ax_timer_cancel(rt, h), B_ENOENT, "ax_timer_cancel(random)");
        return;
    }
    struct timer_rec *tr = &W.tim[pick(r, (uint64_t)n)];
    ax_timer h = atomic_load(&tr->handle);
    if (!atomic_load(&tr->armed) || ax_timer_is_none(h)) return;
    int was_cancelled = atomic_load(&tr->cancel_ok);
    /* An interval armed outside never ends by itself, but another thread may cancel it first. */
    unsigned m = was_cancelled ? B_ENOENT : B_OK | B_ENOENT;
    int rc = ax_timer_cancel(rt, h);
    CHK(rc, m, "ax_timer_cancel");
    if (rc == 0) MODEL(atomic_fetch_add(&tr->cancel_ok, 1) == 0, "a timer was cancelled twice");
}

/* ---- behaviors ------------------------------------------------------------------------------- */

struct wstate {
    uint64_t rng; /* advanced by every message: equal messages must not repeat a choice, or a
                     reply loop would never end */
    int idx;
    int stopped_calls;
    int trapping;
    int nmon;
    ax_monitor_id mon[4];
};

struct sarg {
    uint32_t magic;
    int fail_init_pct; /* init returns non-zero with this chance */
    int fail_in_init;  /* ax_fail(ctx, AX_REASON_USER) inside init */
    int trap;
    uint32_t cap;
    int policy;
    size_t state_size;
    uint64_t seed;
    int out_idx; /* written by init: the model slot */
};

static void act_hooks(uint64_t *r, ax_ctx *ctx, struct wstate *st, const ax_msg *msg, int depth);

static void check_zeroed(const void *state, size_t size) {
    const unsigned char *s = state;
    for (size_t i = sizeof(struct wstate); i < size; i += 4093)
        MODEL(s[i] == 0, "state byte %zu not zeroed", i);
    if (size > sizeof(struct wstate)) MODEL(s[size - 1] == 0, "last state byte not zeroed");
}

static int w_init(ax_ctx *ctx, void *state, const void *arg) {
    t_in_hook = 1;
    struct wstate *st = state;
    const struct sarg *a = arg;
    MODEL(a && a->magic == MAGIC, "init arg lost");
    check_zeroed(state, a->state_size);
    int i = atomic_fetch_add(&W.nact, 1);
    st->idx = i < MAX_ACTORS ? i : -1;
    uint64_t r = a->seed ^ ((uint64_t)i << 32) ^ 0x9e3779b97f4a7c15ULL;
    rnd(&r);
    st->rng = rnd(&r) | 1;
    int prev = -1;
    uint64_t restarts = ax_restarts(ctx, &prev);
    if (restarts > 0) atomic_fetch_add(&W.c.restart_inits, 1);
    MODEL(!ax_ref_is_none(ax_self(ctx)) && ax_ctx_runtime(ctx) == W.rt, "init ctx");
    CHK(ax_reply(ctx, T_PLAIN, NULL, 0), B_EINVAL, "ax_reply in init");
    if (a->trap) CHK(ax_trap_exits(ctx, 1), B_OK, "ax_trap_exits in init");
    st->trapping = a->trap;
    int fail = pct(&r, a->fail_init_pct);
    if (!fail && a->fail_in_init) CHK(ax_fail(ctx, AX_REASON_USER), B_OK, "ax_fail in init");
    if (st->idx >= 0) {
        atomic_store(&W.act[i].cap, a->cap);
        atomic_store(&W.act[i].policy, a->policy);
        atomic_store(&W.act[i].ref, ax_self(ctx));
        if (!fail) atomic_store(&W.act[i].state, A_ALIVE);
    }
    ((struct sarg *)(uintptr_t)a)->out_idx = st->idx; /* the spawner's own copy */
    if (!fail) atomic_fetch_add(&W.c.spawned, 1);
    t_in_hook = 0;
    return fail ? -1 : 0;
}

static void w_stopped(ax_ctx *ctx, void *state, int reason) {
    t_in_hook = 1;
    struct wstate *st = state;
    if (st->idx >= 0) atomic_store(&W.act[st->idx].state, A_STOPPED);
    MODEL(++st->stopped_calls == 1, "stopped hook ran twice");
    MODEL((reason >= AX_REASON_NORMAL && reason <= AX_REASON_ESCALATED) || reason >= AX_REASON_USER,
          "stopped with reason %d", reason);
    atomic_fetch_add(&W.c.stopped_hooks, 1);
    uint64_t r = (uint64_t)reason * 31 + (uint64_t)st->idx + g_seed + 1;
    rnd(&r);
    if (!atomic_load(&W.quiet) && pct(&r, 30)) act_hooks(&r, ctx, st, NULL, 3);
    t_in_hook = 0;
}

static int w_receive(ax_ctx *ctx, void *state, const ax_msg *msg);
static const ax_behavior worker_b = {"worker", sizeof(struct wstate), w_init, w_receive, w_stopped};
static const ax_behavior worker_big_b = {"worker-big", 256u << 10, w_init, w_receive, w_stopped};
static const ax_behavior huge_b = {"huge", SIZE_MAX, w_init, w_receive, w_stopped};
static const ax_behavior huge100_b = {"huge-100", SIZE_MAX - 100, w_init, w_receive, w_stopped};
static const ax_behavior no_receive_b = {"no-receive", 0, NULL, NULL, NULL};

/* A timer message reached receive: it must come from a live timer, once for a one-shot. */
static void note_timer_msg(const ax_msg *msg) {
    struct hdr h;
    atomic_fetch_add(&W.c.h_timer, 1);
    if (msg->size < sizeof h) return;
    memcpy(&h, msg->data, sizeof h);
    if (h.magic != MAGIC || h.kind != K_TIMER || h.a < 1 || h.a > MAX_TIMERS) return;
    struct timer_rec *tr = &W.tim[h.a - 1];
    MODEL(ax_ref_eq(msg->sender, (ax_ref){h.b}), "timer message sender 0x%llx, armed by 0x%llx",
          (unsigned long long)msg->sender.id, (unsigned long long)h.b);
    int d = atomic_fetch_add(&tr->delivered, 1);
    MODEL(tr->interval || d == 0, "a one-shot timer delivered twice");
    MODEL(!tr->in_stopped, "a timer armed in a stopped hook fired");
    MODEL(tr->interval || !atomic_load(&tr->cancel_ok), "a cancelled one-shot fired");
}

/* The anchor never stops before shutdown and answers everything that can be answered. */
static void plain_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx, (void)state, (void)reason;
    atomic_fetch_add(&W.c.stopped_hooks, 1);
}

static int anchor_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    t_in_hook = 1;
    if (msg->type < AX_MSG_RESERVED) {
        atomic_fetch_add(&W.c.h_user, 1);
        if (msg->type == T_TIMER) note_timer_msg(msg);
        if (!ax_ref_is_none(msg->sender)) {
            int rc = ax_reply(ctx, T_REPLY, msg->data, msg->size < 24 ? msg->size : 24);
            CHK(rc, B_OK | B_ENOACTOR | B_EFULL, "ax_reply (anchor)");
            count_sent(rc);
        } else {
            CHK(ax_reply(ctx, T_REPLY, NULL, 0), B_ENOACTOR, "ax_reply to outside (anchor)");
        }
    }
    t_in_hook = 0;
    return 0;
}
static const ax_behavior anchor_b = {"anchor", 0, NULL, anchor_receive, plain_stopped};

/* The dead-letter actor: counts each notice and checks its form (docs: "Dead letters"). */
static int dl_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    t_in_hook = 1;
    ax_dead_letter d;
    MODEL(msg->type == AX_MSG_DEAD_LETTER && msg->size >= sizeof d && ax_ref_is_none(msg->sender),
          "dead-letter actor got type 0x%x size %u", msg->type, msg->size);
    if (msg->type == AX_MSG_DEAD_LETTER && msg->size >= sizeof d) {
        memcpy(&d, msg->data, sizeof d);
        /* Supervisors' own messages have reserved types and may become dead letters too. */
        MODEL(msg->size == sizeof d + d.size && d.reserved == 0
                  && (d.type < AX_MSG_RESERVED || W.sup_mode),
              "bad dead-letter notice (size %u, d.size %u)", msg->size, d.size);
        MODEL(d.reason >= AX_DEAD_STOPPED && d.reason <= AX_DEAD_LATE_REPLY, "dead reason %d",
              d.reason);
        atomic_fetch_add(&W.c.notices, 1);
        if (d.type == T_TIMER) {
            atomic_fetch_add(&W.c.notices_timer, 1);
            atomic_fetch_add(
                d.reason == AX_DEAD_FULL ? &W.c.notices_timer_full : &W.c.notices_timer_stopped, 1);
            struct hdr h;
            if (d.size >= sizeof h && d.size <= 40) {
                memcpy(&h, msg->data + sizeof d, sizeof h);
                if (h.magic == MAGIC && h.kind == K_TIMER && h.a >= 1 && h.a <= MAX_TIMERS) {
                    atomic_fetch_add(&W.tim[h.a - 1].dead, 1);
                    if (W.tim[h.a - 1].dead_target && d.reason == AX_DEAD_STOPPED)
                        atomic_fetch_add(&W.c.notices_timer_dead_target, 1);
                }
            }
        }
        CHK(ax_reply(ctx, T_PLAIN, NULL, 0), B_ENOACTOR, "ax_reply to a notice");
    }
    t_in_hook = 0;
    return 0;
}
static const ax_behavior dl_b = {"dead-letters", 0, NULL, dl_receive, plain_stopped};

/* ---- handler actions --------------------------------------------------------------------------
 */

static int ask_cont(ax_ctx *ctx, void *state, int status, const ax_msg *reply, void *user) {
    (void)state;
    t_in_hook = 1;
    int id = (int)(intptr_t)user;
    MODEL(id >= 0 && id < MAX_ASKS, "continuation user pointer lost");
    if (id >= 0 && id < MAX_ASKS)
        MODEL(atomic_fetch_add(&W.ask_ran[id], 1) == 0, "a continuation ran twice");
    MODEL((status == 0 && reply != NULL) || (status == AX_ETIMEDOUT && reply == NULL),
          "continuation status %d reply %p", status, (const void *)reply);
    int fail = 0;
    if (status == AX_ETIMEDOUT) {
        CHK(ax_reply(ctx, T_PLAIN, NULL, 0), B_ENOACTOR, "ax_reply in a timeout continuation");
    } else if (status == 0) {
        uint64_t r = (uint64_t)id * 7919 + g_seed;
        rnd(&r);
        atomic_fetch_add(&W.c.h_user, 1);
        if (!atomic_load(&W.quiet)) {
            if (pct(&r, 30)) {
                int rc = ax_reply(ctx, T_PLAIN, NULL, 0);
                CHK(rc, B_OK | B_ENOACTOR | B_EFULL, "ax_reply in a continuation");
                count_sent(rc);
            }
            fail = pct(&r, 5);
        }
        if (fail) atomic_fetch_add(&W.c.f_cont, 1);
    }
    t_in_hook = 0;
    return fail;
}

static void h_send(uint64_t *r, ax_ctx *ctx, int depth) {
    struct target t = pick_target(r);
    struct payload p;
    int do_msg = depth < 2 && pct(r, 40);
    gen_payload(r, &p, do_msg ? T_DO : good_types[pick(r, 4)], 1);
    if (do_msg && !p.argm) {
        p.size = sizeof(struct hdr);
        p.data = p.buf;
    }
    fill_hdr(&p, do_msg ? K_DO : K_PLAIN, rnd(r), (uint64_t)depth + 1);
    int rc;
    if (pct(r, 30)) {
        int id = atomic_fetch_add(&W.nask, 1);
        if (id >= MAX_ASKS) return;
        static const int64_t tmo[] = {1, 5, 50, 1000, INT64_MAX, 0, -1};
        int k = (int)pick(r, 7), nullcont = pct(r, 5);
        unsigned m = send_mask(&t, p.argm | (k >= 5 || nullcont ? B_EINVAL : 0));
        rc = ax_ask(ctx, t.ref, p.type, p.data, p.size,
        &(ax_ask_opts){.timeout_ms = tmo[k], .cont = nullcont ? NULL : ask_cont, .user = (void *)(intptr_t)id});
        CHK(rc, m, "ax_ask");
    } else {
        rc = ax_send(ax_ctx_runtime(ctx), t.ref, p.type, p.data, p.size);
        CHK(rc, send_mask(&t, p.argm), "ax_send (handler)");
    }
    count_sent(rc);
}

static void h_reply(uint64_t *r, ax_ctx *ctx, const ax_msg *msg) {
    struct payload p;
    gen_payload(r, &p, good_types[pick(r, 4)], 1);
    unsigned m;
    if (msg == NULL)
        m = B_EINVAL; /* stopped hook: no message being handled */
    else if (msg->type >= AX_MSG_RESERVED || ax_ref_is_none(msg->sender))
        m = B_ENOACTOR;
    else
        m = B_OK | B_ENOACTOR | B_EFULL;
    if (p.argm) m = p.argm | (m & ~(B_OK | B_EFULL));
    int rc = ax_reply(ctx, p.type, p.data, p.size);
    CHK(rc, m, "ax_reply");
    count_sent(rc);
}

static void h_links(uint64_t *r, ax_ctx *ctx, struct wstate *st) {
    struct target t = pick_target(r);
    if (t.cls == C_ANCHOR) t.ref = never_valid(r); /* the anchor must outlive everything */
    ax_ref self = ax_self(ctx);
    ax_monitor_id id = {0};
    switch (pick(r, 7)) {
    case 0: CHK(ax_link(ctx, t.ref), ax_ref_eq(t.ref, self) ? B_EINVAL : B_OK, "ax_link"); break;
    case 1: CHK(ax_link(ctx, self), B_EINVAL, "ax_link(self)"); break;
    case 2: CHK(ax_unlink(ctx, t.ref), B_OK, "ax_unlink"); break;
    case 3:
        st->trapping = pct(r, 50);
        CHK(ax_trap_exits(ctx, st->trapping), B_OK, "ax_trap_exits");
        break;
    case 4: {
        int null_out = pct(r, 5);
        int rc = ax_monitor(ctx, t.ref, null_out ? NULL : &id);
        CHK(rc, null_out ? B_EINVAL : B_OK, "ax_monitor");
        if (rc == 0) MODEL(id.id != 0, "ax_monitor gave id 0");
        if (rc == 0) st->mon[st->nmon++ & 3] = id;
        break;
    }
    case 5:
        if (st->nmon > 0)
            CHK(ax_demonitor(ctx, st->mon[pick(r, (uint64_t)(st->nmon < 4 ? st->nmon : 4))]),
                B_OK | B_ENOENT, "ax_demonitor");
        break;
    default: /* ids are never 0 */
        CHK(ax_demonitor(ctx, (ax_monitor_id){0}), B_ENOENT, "ax_demonitor(0)");
        break;
    }
}

static void h_spawn(uint64_t *r, ax_ctx *ctx, int outside);

static void h_registry(uint64_t *r, ax_runtime *rt);
static void h_misc_outside_ok(uint64_t *r, ax_runtime *rt);

/* Blocking calls are refused in handlers (AX_ECONTEXT), whatever their other arguments. */
static void h_blocking(uint64_t *r, ax_ctx *ctx) {
    ax_runtime *rt = ax_ctx_runtime(ctx);
    ax_msg *reply = (ax_msg *)(uintptr_t)1;
    ax_ref out = AX_REF_NONE;
    switch (pick(r, 4)) {
    case 0:
        CHK(ax_ask_wait(rt, W.anchor, T_PLAIN, NULL, 0, 1000, &reply), B_ECONTEXT,
            "ax_ask_wait in handler");
        MODEL(reply == (ax_msg *)(uintptr_t)1, "ax_ask_wait wrote *reply on AX_ECONTEXT");
        break;
    case 1:
        CHK(ax_runtime_shutdown(rt, (int64_t)pick(r, 3) - 1), B_ECONTEXT,
            "ax_runtime_shutdown in handler");
        break;
    case 2: CHK(ax_runtime_destroy(rt), B_ECONTEXT, "ax_runtime_destroy in handler"); break;
    default: {
        /* A supervisor if any, else the anchor: a handler is refused whatever the ref. */
        int ns = atomic_load(&W.nsups);
        ax_ref sup = ns > 0 ? atomic_load(&W.sups[pick(r, (uint64_t)ns)]) : W.anchor;
        CHK(ax_supervisor_start_child(rt, sup, NULL, 0, &out), B_ECONTEXT,
            "ax_supervisor_start_child in handler"); /* the context is checked first */
        break;
    }
    }
}

static void h_fail(uint64_t *r, ax_ctx *ctx, int *failed) {
    static const int good[] = {
        AX_REASON_FAILED,
        AX_REASON_USER,
        AX_REASON_USER + 1,
        1000,
        INT_MAX
    };
    static const int bad[] = {
        AX_REASON_NORMAL, AX_REASON_SHUTDOWN, AX_REASON_NOPROC, AX_REASON_ESCALATED, 5, 15, -1,
        INT_MIN};
    if (pct(r, 50)) {
        CHK(ax_fail(ctx, bad[pick(r, 8)]), B_EINVAL, "ax_fail(bad reason)");
    } else {
        int rc = ax_fail(ctx, good[pick(r, 5)]);
        CHK(rc, B_OK, "ax_fail");
        if (rc == 0) *failed = 1;
    }
    CHK(ax_fail(NULL, AX_REASON_FAILED), B_EINVAL, "ax_fail(NULL)");
}

static void h_timer(uint64_t *r, ax_ctx *ctx, const struct wstate *st, int in_stopped) {
    if (pct(r, 70)) {
        arm_timer(r, ctx, ax_self(ctx), st->idx, in_stopped);
    } else {
        cancel_timer(r);
    }
}

static void h_msg_zero_copy(uint64_t *r, ax_runtime *rt, int outside);

/* One random API call from a hook; msg is NULL in stopped hooks. */
static int act_one(uint64_t *r, ax_ctx *ctx, struct wstate *st, const ax_msg *msg, int depth) {
    ax_runtime *rt = ax_ctx_runtime(ctx);
    int failed = 0;
    switch (pick(r, 16)) {
    case 0:
    case 1:
    case 2: h_send(r, ctx, depth); break;
    case 3: h_reply(r, ctx, msg); break;
    case 4:
        if (msg) h_links(r, ctx, st);
        break;
    case 5:
        if (msg)
            h_fail(r, ctx, &failed);
        else
            CHK(ax_fail(ctx, AX_REASON_USER), B_OK, "ax_fail in stopped"); /* changes nothing */
        break;
    case 6:
        if (depth < 3) h_spawn(r, ctx, 0);
        break;
    case 7: h_timer(r, ctx, st, msg == NULL); break;
    case 8: h_blocking(r, ctx); break;
    case 9: h_registry(r, rt); break;
    case 10: h_msg_zero_copy(r, rt, 0); break;
    case 11: {
        struct target t = pct(r, 20) ? (struct target){ax_self(ctx), C_LIVE, 0, 0} : pick_target(r);
        if (t.cls == C_ANCHOR) break;
        /* Self too may already be stopping (an exit signal, ax_fail earlier in this hook). */
        CHK(ax_stop(rt, t.ref), t.cls == C_LIVE ? B_OK | B_ENOACTOR : B_ENOACTOR,
            "ax_stop (handler)");
        break;
    }
    case 12: {
        int prev = -7;
        MODEL(ax_restarts(ctx, &prev) == 0 && prev == 0, "ax_restarts outside init");
        MODEL(ax_ctx_runtime(ctx) == W.rt, "ax_ctx_runtime");
        break;
    }
    default: h_misc_outside_ok(r, rt); break;
    }
    return failed;
}

static void act_hooks(uint64_t *r, ax_ctx *ctx, struct wstate *st, const ax_msg *msg, int depth) {
    int n = 1 + (int)pick(r, 3);
    for (int i = 0; i < n; i++) (void)act_one(r, ctx, st, msg, depth);
}

static int w_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    t_in_hook = 1;
    struct wstate *st = state;
    uint64_t r = st->rng;
    st->rng = rnd(&st->rng) | 1;
    struct hdr h = {0, 0, 0, 0};
    if (msg->size >= sizeof h) memcpy(&h, msg->data, sizeof h);
    int valid_hdr = h.magic == MAGIC;
    MODEL(ax_ref_eq(ax_self(ctx), atomic_load(&W.act[st->idx < 0 ? 0 : st->idx].ref)) ||
              st->idx < 0,
          "ax_self is not the actor's ref");
    if (msg->type >= AX_MSG_RESERVED) {
        if (msg->type == AX_MSG_EXIT)
            MODEL(msg->size == sizeof(ax_exit), "AX_MSG_EXIT size %u", msg->size);
        if (msg->type == AX_MSG_DOWN)
            MODEL(msg->size == sizeof(ax_down), "AX_MSG_DOWN size %u", msg->size);
        CHK(ax_reply(ctx, T_PLAIN, NULL, 0), B_ENOACTOR, "ax_reply to an exit/down notice");
        t_in_hook = 0;
        return !atomic_load(&W.quiet) && pct(&r, 3); /* a failing notice handler counts nowhere */
    }
    atomic_fetch_add(&W.c.h_user, 1);
    if (msg->type == T_TIMER) note_timer_msg(msg);
    int failed = 0;
    if (!atomic_load(&W.quiet)) {
        if (msg->type == T_DO && valid_hdr && h.kind == K_DO) {
            int n = 1 + (int)pick(&r, 3);
            for (int i = 0; i < n; i++) failed |= act_one(&r, ctx, st, msg, (int)h.b);
        } else if (!ax_ref_is_none(msg->sender) && pct(&r, 50)) {
            h_reply(&r, ctx, msg);
        }
        if (pct(&r, 3)) failed = 1, failed |= 2; /* return non-zero */
    }
    if (failed) atomic_fetch_add(&W.c.f_recv, 1);
    t_in_hook = 0;
    return (failed & 2) ? 1 : 0;
}

/* ---- calls from any thread ---------------------------------------------------------------------
 */

static const ax_behavior *pick_behavior(uint64_t *r, size_t *state_size, unsigned *m) {
    uint64_t k = pick(r, 40);
    *m = 0;
    if (k == 0) {
        *m = B_EINVAL;
        return NULL;
    }
    if (k == 1) {
        *m = B_EINVAL;
        return &no_receive_b;
    }
    if (k == 2) {
        *m = B_ENOMEM;
        *state_size = SIZE_MAX;
        return &huge_b;
    }
    if (k == 3) {
        *m = B_ENOMEM;
        *state_size = SIZE_MAX - 100;
        return &huge100_b;
    }
    if (k < 5) {
        *state_size = worker_big_b.state_size;
        return &worker_big_b;
    }
    *state_size = worker_b.state_size;
    return &worker_b;
}

/* ax_spawn with random behavior, options and init outcome; from a handler (outside = 0) or an
 * outside thread. */
static void h_spawn(uint64_t *r, ax_ctx *ctx, int outside) {
    (void)ctx;
    if (atomic_load(&W.nact) > MAX_SPAWNS) return; /* bounds memory; the life goes on */
    ax_runtime *rt = W.rt;
    struct sarg a = {MAGIC, 0, 0, 0, 0, 0, 0, rnd(r), -1};
    unsigned m = 0;
    const ax_behavior *b = pick_behavior(r, &a.state_size, &m);
    static const ax_spawn_opts opts_list[] = {
        {0, AX_OVERFLOW_REFUSE, 0, {0}},      {1, AX_OVERFLOW_REFUSE, 0, {0}},
        {4, AX_OVERFLOW_REFUSE, 0, {0}},      {1, AX_OVERFLOW_DEAD_LETTER, 0, {0}},
        {4, AX_OVERFLOW_DEAD_LETTER, 0, {0}}, {UINT32_MAX, AX_OVERFLOW_REFUSE, 0, {0}},
        {0, (ax_overflow)7, 0, {0}},          {3, (ax_overflow)-1, 0, {0}},
        {0, AX_OVERFLOW_REFUSE, 1, {0}},      {2, AX_OVERFLOW_DEAD_LETTER, 7, {0}}};
    const ax_spawn_opts *o = pct(r, 40) ? NULL : &opts_list[pick(r, 10)];
    if (o && o->overflow != AX_OVERFLOW_REFUSE && o->overflow != AX_OVERFLOW_DEAD_LETTER)
        m |= B_EINVAL;
    if (o) {
        a.cap = o->mailbox_capacity;
        a.policy = (int)o->overflow;
    }
    a.fail_init_pct = pct(r, 10) ? 100 : 0;
    a.fail_in_init = pct(r, 5);
    a.trap = pct(r, 30);
    int null_out = pct(r, 3);
    if (null_out) m |= B_EINVAL;
    if (!m) m = a.fail_init_pct ? B_EINIT : B_OK;
    /* A handler's spawn is refused once the stop phase began; an outside one once shutdown did. */
    int pb = phase();
    ax_ref out = AX_REF_NONE;
    int rc = ax_spawn(rt, b, &a, o, null_out ? NULL : &out);
    if (outside)
        m = outside_mask(m, pb, phase(), m & (B_EINVAL | B_ENOMEM));
    else if (pb >= 1 || phase() >= 1)
        m |= B_ESHUTDOWN;
    CHK(rc, m, "ax_spawn");
    if (rc == AX_EINIT && a.out_idx >= 0) atomic_store(&W.act[a.out_idx].state, A_INITFAILED);
    if (rc == 0 && a.out_idx >= 0)
        MODEL(ax_ref_eq(out, atomic_load(&W.act[a.out_idx].ref)),
              "ax_spawn *out is not init's ax_self");
}

static void h_msg_zero_copy(uint64_t *r, ax_runtime *rt, int outside) {
    static const size_t sizes[] = {0, 1, 24, AX_MSG_MAX, AX_MSG_MAX + 1, SIZE_MAX};
    size_t size = sizes[pick(r, 6)];
    ax_msg *m = NULL;
    unsigned mask = size > AX_MSG_MAX ? B_EMSGSIZE : B_OK;
    int pb = phase();
    int rc = ax_msg_alloc(rt, size, &m);
    if (outside) mask = outside_mask(mask, pb, phase(), mask & B_EMSGSIZE);
    CHK(rc, mask, "ax_msg_alloc");
    if (rc != 0) return;
    MODEL(m && m->size == size && ax_ref_is_none(m->sender) && ((uintptr_t)m->data & 15) == 0,
          "ax_msg_alloc message fields");
    if (size) memset(m->data, 0x33, size);
    struct target t = pick_target(r);
    uint32_t type = pct(r, 10) ? bad_types[pick(r, 4)] : good_types[pick(r, 4)];
    unsigned argm = type >= AX_MSG_RESERVED ? B_EINVAL : 0;
    mask = send_mask(&t, argm);
    pb = phase();
    rc = pct(r, 10) ? AX_ENOENT : ax_msg_send(rt, t.ref, type, m);
    if (rc == AX_ENOENT) {
        CHK(ax_msg_free(rt, m), B_OK, "ax_msg_free");
        return;
    }
    if (outside) mask = outside_mask(mask, pb, phase(), argm);
    CHK(rc, mask, "ax_msg_send");
    count_sent(rc);
    if (rc != 0) CHK(ax_msg_free(rt, m), B_OK, "ax_msg_free after a refused send");
}

static const char *pick_name(uint64_t *r, unsigned *m) {
    static char longest[AX_NAME_MAX + 1], too_long[AX_NAME_MAX + 2];
    static const char *names[] = {"n0", "n1", "n2", "n3", "c0", "c1"};
    if (!longest[0]) {
        memset(longest, 'L', AX_NAME_MAX);
        memset(too_long, 'T', AX_NAME_MAX + 1);
    }
    *m = 0;
    switch (pick(r, 10)) {
    case 0: *m = B_EINVAL; return NULL;
    case 1: *m = B_ENAMETOOLONG; return "";
    case 2: *m = B_ENAMETOOLONG; return too_long;
    case 3: return longest;
    default: return names[pick(r, 6)];
    }
}

static void h_registry(uint64_t *r, ax_runtime *rt) {
    unsigned m;
    const char *name = pick_name(r, &m);
    ax_ref out = AX_REF_NONE;
    switch (pick(r, 3)) {
    case 0: {
        struct target t = pick_target(r);
        /* The docs do not order "not alive" and "name taken": both are allowed then. */
        unsigned ref_m = t.cls == C_LIVE     ? B_OK | B_EEXIST | B_ENOACTOR
                         : t.cls == C_ANCHOR ? B_OK | B_EEXIST | (phase() ? B_ENOACTOR : 0)
                                             : B_ENOACTOR | B_EEXIST;
        CHK(ax_register(rt, name, t.ref), m ? m | (ref_m & ~B_OK) : ref_m, "ax_register");
        break;
    }
    case 1: {
        int null_out = pct(r, 5);
        int rc = ax_whereis(rt, name, null_out ? NULL : &out);
        CHK(rc, m | (null_out ? B_EINVAL : 0) ? m | (null_out ? B_EINVAL : 0) : B_OK | B_ENOENT,
            "ax_whereis");
        /* Past MAX_ACTORS spawns the model stops recording refs (a supervised child with a name
         * may then be one it never saw), so the check holds only below that. */
        if (rc == 0 && atomic_load(&W.nact) <= MAX_ACTORS)
            MODEL(known_ref(out), "ax_whereis returned a ref never issued: 0x%llx",
                  (unsigned long long)out.id);
        break;
    }
    default: CHK(ax_unregister(rt, name), m ? m : B_OK | B_ENOENT, "ax_unregister"); break;
    }
}

/* Calls whose result does not depend on actors: NULL runtimes, stats, strerror, workers. */
static void h_misc_outside_ok(uint64_t *r, ax_runtime *rt) {
    ax_stats st;
    ax_ref out;
    switch (pick(r, 9)) {
    case 0: {
        int null_out = pct(r, 20);
        CHK(ax_stats_get(rt, null_out ? NULL : &st), null_out ? B_EINVAL : B_OK, "ax_stats_get");
        break;
    }
    case 1: {
        static const int idx[] = {-1, INT_MIN, INT_MAX, 0, 1, 2, 3};
        int w = idx[pick(r, 7)];
        CHK(ax_stats_worker(rt, w, &st), w >= 0 && w < W.workers ? B_OK : B_EINVAL,
            "ax_stats_worker");
        break;
    }
    case 2: MODEL(ax_strerror((int)rnd(r)) != NULL, "ax_strerror returned NULL"); break;
    case 3:
        MODEL(ax_runtime_workers(rt) == W.workers && ax_runtime_workers(NULL) == 0, "workers");
        break;
    case 4: CHK(ax_send(NULL, W.anchor, T_PLAIN, NULL, 0), B_EINVAL, "ax_send(NULL rt)"); break;
    case 5: CHK(ax_spawn(NULL, &worker_b, NULL, NULL, &out), B_EINVAL, "ax_spawn(NULL rt)"); break;
    case 6: {
        struct target t = pick_target(r);
        /* Only the current dead-letter actor may be set: the notice counts depend on it. */
        ax_ref ref = t.cls == C_LIVE || t.cls == C_ANCHOR ? W.dl : t.ref;
        if (ax_ref_is_none(ref)) ref = W.dl;
        int null_rt = pct(r, 10);
        unsigned m = null_rt                ? B_EINVAL
                     : ax_ref_eq(ref, W.dl) ? B_OK | (phase() ? B_ENOACTOR : 0)
                                            : B_ENOACTOR;
        CHK(ax_set_dead_letter_actor(null_rt ? NULL : rt, ref), m, "ax_set_dead_letter_actor");
        break;
    }
    case 7: { /* a snapshot, in either text format (cut to a small buffer) */
        ax_metrics *mt = NULL;
        int null_out = pct(r, 10);
        CHK(ax_metrics_snapshot(rt, null_out ? NULL : &mt), null_out ? B_EINVAL : B_OK,
            "ax_metrics_snapshot");
        if (!mt) break;
        MODEL(mt->nworkers == W.workers, "metrics: %d workers", mt->nworkers);
        for (size_t i = 0; i < mt->nactors; i++) {
            const ax_latency *l = &mt->actors[i].handler;
            MODEL(!ax_ref_is_none(mt->actors[i].ref) &&
                      (l->count == 0 || (l->min_ns <= l->p50_ns && l->p50_ns <= l->p99_ns &&
                                         l->p99_ns <= l->max_ns)),
                  "metrics: actor 0x%llx, handler min %llu p50 %llu p99 %llu max %llu",
                  (unsigned long long)mt->actors[i].ref.id, (unsigned long long)l->min_ns,
                  (unsigned long long)l->p50_ns, (unsigned long long)l->p99_ns,
                  (unsigned long long)l->max_ns);
        }
        char buf[512];
        size_t len = 0;
        CHK(ax_metrics_format(mt, (int)pick(r, 2), buf, sizeof buf, &len), B_OK,
            "ax_metrics_format");
        MODEL(len > 0 && strlen(buf) == (len < sizeof buf ? len : sizeof buf - 1),
              "metrics text of %zu bytes", len);
        ax_metrics_free(mt);
        break;
    }
    default:
        CHK(ax_stop(NULL, W.anchor), B_EINVAL, "ax_stop(NULL)");
        CHK(ax_msg_free(rt, NULL), B_EINVAL, "ax_msg_free(NULL)");
        CHK(ax_register(rt, "x", AX_REF_NONE), B_ENOACTOR | B_EEXIST, "ax_register(NONE)");
        break;
    }
}

/* ---- calls from outside threads -----------------------------------------------------------------
 */

static void o_send(uint64_t *r, int do_msg) {
    struct target t = pick_target(r);
    struct payload p;
    gen_payload(r, &p, do_msg ? T_DO : good_types[pick(r, 4)], !do_msg);
    if (do_msg) {
        p.size = sizeof(struct hdr);
        p.data = p.buf;
        p.argm = 0;
    }
    fill_hdr(&p, do_msg ? K_DO : K_PLAIN, rnd(r), 0);
    int pb = phase();
    int rc = ax_send(W.rt, t.ref, p.type, p.data, p.size);
    CHK(rc, outside_mask(send_mask(&t, p.argm), pb, phase(), p.argm), "ax_send");
    count_sent(rc);
}

/* Many sends in a row to one bounded mailbox: it fills, and the overflow policy decides. */
static void o_burst(uint64_t *r) {
    struct target t = pick_bounded(r);
    int n = 2 + (int)pick(r, 300);
    int timers = (int)pick(r, 3);
    /* Timers due at the next tick fire while the burst keeps the mailbox full. */
    for (int i = 0; i < timers; i++) arm_timer_at(r, NULL, AX_REF_NONE, -1, 0, &t, 0);
    for (int i = 0; i < n; i++) {
        int pb = phase();
        int rc = ax_send(W.rt, t.ref, T_PLAIN, &i, sizeof i);
        CHK(rc, outside_mask(send_mask(&t, 0), pb, phase(), 0), "ax_send (burst)");
        count_sent(rc);
    }
}

static void o_ask_wait(uint64_t *r) {
    struct target t = pick_target(r);
    struct payload p;
    gen_payload(r, &p, good_types[pick(r, 4)], 1);
    fill_hdr(&p, K_PLAIN, rnd(r), 0);
    static const int64_t tmo[] = {1, 5, 20, INT64_MAX, 0, -1, INT64_MIN};
    int k = (int)pick(r, 7);
    if (k == 3 && t.cls != C_ANCHOR) k = 2; /* only the anchor surely answers */
    int null_reply = pct(r, 3);
    unsigned argm = p.argm | (k >= 4 || null_reply ? B_EINVAL : 0);
    unsigned m = send_mask(&t, argm);
    if (m & B_OK) m |= B_ETIMEDOUT; /* a reply may take longer than a short timeout */
    /* A request dead-lettered by a full mailbox ends the wait at once, under either policy. */
    if ((m & B_OK) && t.cap > 0) m |= B_EFULL;
    ax_msg *reply = (ax_msg *)(uintptr_t)1;
    int pb = phase();
    int rc = ax_ask_wait(W.rt, t.ref, p.type, p.data, p.size, tmo[k], null_reply ? NULL : &reply);
    int pa = phase();
    CHK(rc, outside_mask(m, pb, pa, argm), "ax_ask_wait");
    if (rc == AX_EINVAL || rc == AX_EMSGSIZE) {
        MODEL(reply == (ax_msg *)(uintptr_t)1, "ax_ask_wait wrote *reply on rc %d", rc);
    } else if (rc != 0) {
        MODEL(reply == NULL, "ax_ask_wait left *reply set on rc %d", rc);
    }
    if (rc == 0 || rc == AX_ETIMEDOUT) count_sent(0);
    /* The request counts as sent when it was accepted and then dead-lettered: a full mailbox
     * with the dead-letter policy (AX_EFULL), a target that stopped with it queued
     * (AX_ENOACTOR, or the stop phase: AX_ESHUTDOWN). Refused at once, it was not sent. */
    if (rc == AX_EFULL && t.policy == AX_OVERFLOW_DEAD_LETTER) count_sent(0);
    if (rc == AX_ENOACTOR && (t.cls == C_LIVE || t.cls == C_ANCHOR))
        atomic_fetch_add(&W.c.s_amb, 1);
    if (rc == AX_ESHUTDOWN && pb != 2) atomic_fetch_add(&W.c.s_amb, 1);
    if (rc == 0) {
        atomic_fetch_add(&W.c.r_aw, 1);
        MODEL(reply != NULL && ax_ref_eq(reply->sender, t.ref) && reply->type < AX_MSG_RESERVED,
              "ax_ask_wait reply fields");
        CHK(ax_msg_free(W.rt, reply), B_OK, "ax_msg_free(reply)");
    }
}

static void o_stop(uint64_t *r) {
    struct target t = pick_target(r);
    if (t.cls == C_ANCHOR) return;
    /* ax_stop works during shutdown too: no AX_ESHUTDOWN. */
    CHK(ax_stop(W.rt, t.ref), t.cls == C_LIVE ? B_OK | B_ENOACTOR : B_ENOACTOR, "ax_stop");
}

static void o_extra_runtime(uint64_t *r) {
    ax_config c = {0};
    ax_runtime *rt = NULL;
    switch (pick(r, 7)) {
    case 0: c.workers = -1; break;
    case 1: c.workers = 257; break;
    case 2: c.workers = INT_MIN; break;
    case 3: c.batch = -1; break;
    case 4: c.lifo_cap = INT_MIN; break;
    case 5: CHK(ax_runtime_create(&c, NULL), B_EINVAL, "ax_runtime_create(NULL out)"); return;
    default:
        c.workers = 1;
        c.batch = INT_MAX;
        c.lifo_cap = INT_MAX;
        c.spin_us = pct(r, 50) ? -1 : pct(r, 50) ? INT_MIN : INT_MAX; /* INT_MAX: 1 s */
        CHK(ax_runtime_create(pct(r, 50) ? &c : NULL, &rt), B_OK, "ax_runtime_create");
        if (rt) CHK(ax_runtime_destroy(rt), B_OK, "ax_runtime_destroy(extra)");
        if (rt) g_runtimes++;
        return;
    }
    CHK(ax_runtime_create(&c, &rt), B_EINVAL, "ax_runtime_create(bad config)");
    MODEL(rt == NULL, "ax_runtime_create wrote *out on error");
}

/* ---- supervisors (the driver thread only)
 * --------------------------------------------------------- */

struct sup_gen {
    ax_child_spec ch[3];
    struct sarg args[3];
    ax_sup_spec spec;
    unsigned m;
};

static void gen_children(uint64_t *r, struct sup_gen *g, int n) {
    static const char *ids[] = {"k0", "k1", "k2"};
    static const char *names[] = {NULL, NULL, "c0", "c1"};
    static const int64_t shut[] = {AX_SHUTDOWN_KILL, INT64_MAX, AX_SHUTDOWN_INFINITY};
    int may_fail = 0;
    for (int i = 0; i < n; i++) {
        g->args[i] = (struct sarg){MAGIC, pct(r, 20) ? 20 : 0,   0,      pct(r, 20), 0,
                                   0,     sizeof(struct wstate), rnd(r), -1};
        may_fail |= g->args[i].fail_init_pct > 0;
        g->ch[i] = (ax_child_spec){ids[i],
                                   &worker_b,
                                   &g->args[i],
                                   sizeof g->args[i],
                                   (ax_restart)pick(r, 3),
                                   shut[pick(r, 3)],
                                   AX_CHILD_WORKER,
                                   names[pick(r, 4)]};
        if (g->ch[i].name) may_fail = 1; /* the name may be taken (the generator registers it) */
    }
    g->m = B_OK | (may_fail && g->spec.strategy != AX_SIMPLE_ONE_FOR_ONE ? B_EINIT : 0);
}

/* Mistakes in the spec: the whole spec, the simple_one_for_one template included, is checked
 * before anything starts (AX_EINVAL). */
static void spoil_spec(uint64_t *r, struct sup_gen *g, int n) {
    static char long_name[AX_NAME_MAX + 2];
    memset(long_name, 'I', AX_NAME_MAX + 1);
    ax_sup_spec *s = &g->spec;
    int simple = s->strategy == AX_SIMPLE_ONE_FOR_ONE;
    switch (pick(r, 19)) {
    case 0: s->strategy = (ax_strategy)9; break;
    case 1: s->intensity = pct(r, 50) ? -1 : INT_MIN; break;
    case 2: s->period_ms = pct(r, 50) ? -1 : INT64_MIN; break;
    case 3: s->backoff_min_ms = -1; break;
    case 4:
        s->backoff_min_ms = 10;
        s->backoff_max_ms = 5;
        break;
    case 5: s->backoff_reset_ms = -1; break;
    case 6:
        if (simple)
            s->nchildren = pct(r, 50) ? 0 : 2;
        else {
            s->children = NULL;
            s->nchildren = n ? (size_t)n : 1;
        }
        break;
    case 7:
        if (n < 1) return;
        s->nchildren = SIZE_MAX;
        s->children = NULL;
        break;
    case 8:
        if (n < 1) return;
        g->ch[0].behavior = NULL;
        break;
    case 9:
        if (n < 1) return;
        g->ch[0].behavior = &no_receive_b;
        break;
    case 10:
        if (n < 1) return;
        g->ch[0].restart = (ax_restart)7;
        break;
    case 11:
        if (n < 1) return;
        g->ch[0].arg = NULL;
        break;
    /* Static children only: the template's id and name are ignored. */
    case 12:
        if (n < 2 || simple) return;
        g->ch[1].id = g->ch[0].id;
        break;
    case 13:
        if (n < 1 || simple) return;
        g->ch[0].id = NULL;
        break;
    case 14:
        if (n < 1 || simple) return;
        g->ch[0].id = "";
        break;
    case 15:
        if (n < 1 || simple) return;
        g->ch[0].id = long_name;
        break;
    case 16:
        if (n < 1 || simple) return;
        g->ch[0].name = "";
        break;
    case 17:
        if (n < 1 || simple) return;
        g->ch[0].name = long_name;
        break;
    default:
        if (n < 1 || !simple) return;
        g->ch[0].id = long_name;
        g->ch[0].name = "";
        return;
    }
    g->m = B_EINVAL;
}

static void o_sup_start(uint64_t *r) {
    struct sup_gen g;
    memset(&g, 0, sizeof g);
    static const int intens[] = {0, 1, 5, 100};
    static const int64_t periods[] = {0, 100, 5000};
    g.spec.strategy = (ax_strategy)pick(r, 4);
    g.spec.intensity = intens[pick(r, 4)];
    g.spec.period_ms = periods[pick(r, 3)];
    if (pct(r, 30)) {
        g.spec.backoff_min_ms = 1;
        g.spec.backoff_max_ms = 4;
        g.spec.backoff_reset_ms = pct(r, 50) ? 100 : 0;
    }
    if (pct(r, 10)) g.spec.intensity = INT_MAX;
    if (pct(r, 10)) {
        g.spec.period_ms = INT64_MAX;
        g.spec.backoff_min_ms = 1;
        g.spec.backoff_max_ms = INT64_MAX;
        g.spec.backoff_reset_ms = INT64_MAX;
    }
    int n = g.spec.strategy == AX_SIMPLE_ONE_FOR_ONE ? 1 : (int)pick(r, 4);
    gen_children(r, &g, n);
    /* A named child whose name another actor holds cannot start; with an intensity that never
     * runs out the supervisor then retries for ever (as OTP would), and the runtime is never
     * quiet: such supervisors get unnamed children. */
    if (g.spec.intensity == INT_MAX)
        for (int i = 0; i < n; i++) g.ch[i].name = NULL;
    g.spec.children = n ? g.ch : (pct(r, 50) ? NULL : g.ch);
    g.spec.nchildren = (size_t)n;
    if (pct(r, 20)) spoil_spec(r, &g, n);
    int null_out = pct(r, 3), null_rt = pct(r, 2);
    if (null_out || null_rt) g.m = B_EINVAL;
    ax_ref out = AX_REF_NONE;
    int pb = phase();
    int rc = ax_supervisor_start(null_rt ? NULL : W.rt, &g.spec, null_out ? NULL : &out);
    CHK(rc, outside_mask(g.m, pb, phase(), g.m & B_EINVAL), "ax_supervisor_start");
    if (rc != 0) return;
    atomic_fetch_add(&W.c.sup_ok, 1);
    int ns = atomic_load(&W.nsups);
    if (ns < MAX_SUPS) {
        W.sup_simple[ns] = g.spec.strategy == AX_SIMPLE_ONE_FOR_ONE;
        atomic_store(&W.sups[ns], out);
        atomic_store(&W.nsups, ns + 1);
    }
}

static void o_sup_ops(uint64_t *r) {
    int ns = atomic_load(&W.nsups);
    if (ns == 0 || pct(r, 20)) {
        o_sup_start(r);
        return;
    }
    int i = (int)pick(r, (uint64_t)ns);
    ax_ref sup = atomic_load(&W.sups[i]), out = AX_REF_NONE;
    uint64_t cnt = 0;
    int simple = W.sup_simple[i];
    switch (pick(r, 5)) {
    case 0:
    case 1: {
        struct sarg a = {MAGIC, pct(r, 10) ? 100 : 0,  0,      0, 0,
                         0,     sizeof(struct wstate), rnd(r), -1};
        const void *arg = &a;
        size_t size = pct(r, 50) ? sizeof a : 0;
        unsigned m = simple ? B_OK | B_EINIT | B_ESHUTDOWN | B_ENOACTOR : B_EINVAL | B_ENOACTOR;
        if (pct(r, 5)) {
            arg = NULL;
            size = 8;
            m = B_EINVAL | B_ENOACTOR;
        } else if (pct(r, 5)) {
            arg = g_big;
            size = AX_MSG_MAX + 1;
            m = B_EMSGSIZE | B_ENOACTOR;
        }
        atomic_fetch_add(&W.c.start_child_calls, 1);
        int pb = phase();
        int rc = ax_supervisor_start_child(W.rt, sup, arg, size, &out);
        CHK(rc, outside_mask(m, pb, phase(), m & (B_EINVAL | B_EMSGSIZE)),
            "ax_supervisor_start_child");
        break;
    }
    case 2:
        CHK(ax_supervisor_child(W.rt, sup, NULL, &out), B_EINVAL, "ax_supervisor_child(NULL id)");
        CHK(ax_supervisor_child(W.rt, sup, "k0", &out), B_OK | B_ENOACTOR | B_ENOENT,
            "ax_supervisor_child");
        CHK(ax_supervisor_child(W.rt, sup, "nope", &out), B_ENOENT | B_ENOACTOR,
            "ax_supervisor_child(nope)");
        break;
    case 3:
        CHK(ax_supervisor_child_restarts(W.rt, sup, "k1", &cnt), B_OK | B_ENOACTOR | B_ENOENT,
            "ax_supervisor_child_restarts");
        break;
    default: CHK(ax_stop(W.rt, sup), B_OK | B_ENOACTOR, "ax_stop(supervisor)"); break;
    }
    /* Never a supervisor: any live actor of ours, or a ref that is none. */
    struct target t = pick_target(r);
    CHK(ax_supervisor_start_child(W.rt, t.ref, NULL, 0, &out),
        B_ENOACTOR | (phase() ? B_ESHUTDOWN : 0), "ax_supervisor_start_child(not a supervisor)");
}

/* One random call from an outside thread; the driver also makes the supervisor calls. */
static void outside_call(uint64_t *r, int driver) {
    uint64_t k = pick(r, 100);
    if (k < 5)
        o_burst(r);
    else if (k < 25)
        o_send(r, 0);
    else if (k < 45)
        o_send(r, 1);
    else if (k < 52)
        o_ask_wait(r);
    else if (k < 58)
        o_stop(r);
    else if (k < 68)
        h_spawn(r, NULL, 1);
    else if (k < 76) {
        if (pct(r, 70))
            arm_timer(r, NULL, AX_REF_NONE, -1, 0);
        else
            cancel_timer(r);
    } else if (k < 80)
        h_msg_zero_copy(r, W.rt, 1);
    else if (k < 86)
        h_registry(r, W.rt);
    else if (k < 94)
        h_misc_outside_ok(r, W.rt);
    else if (driver && W.sup_mode)
        o_sup_ops(r);
    else if (driver && k == 99)
        o_extra_runtime(r);
    else if (phase() == 2)
        CHK(ax_runtime_shutdown(W.rt, 1000), B_ESHUTDOWN, "ax_runtime_shutdown(again)");
    poll_handler_failures();
}

static atomic_int g_threads_stop;

static void *outside_thread(void *arg) {
    uint64_t r = (uint64_t)(uintptr_t)arg;
    while (!atomic_load(&g_threads_stop)) outside_call(&r, 0);
    return NULL;
}

/* ---- the end of a runtime's life
 * ----------------------------------------------------------------- */

struct snap {
    ax_stats st;
    unsigned long long h_user, notices, ntim;
};

static struct snap take_snap(void) {
    struct snap s;
    memset(&s, 0, sizeof s);
    CHK(ax_stats_get(W.rt, &s.st), B_OK, "ax_stats_get");
    s.h_user = atomic_load(&W.c.h_user);
    s.notices = atomic_load(&W.c.notices);
    s.ntim = (unsigned long long)atomic_load(&W.ntim);
    return s;
}

static int same_snap(const struct snap *a, const struct snap *b) {
    return a->st.sent == b->st.sent && a->st.processed == b->st.processed
           && a->st.failed == b->st.failed && a->st.dead_letters == b->st.dead_letters
           && a->h_user == b->h_user && a->notices == b->notices && a->ntim == b->ntim;
}

/* Cancels every timer that has a handle and was not cancelled yet. Outside threads are joined, so
 * an interval armed outside can only end by this call: it must succeed. */
static void sweep_timers(void) {
    int n = atomic_load(&W.ntim);
    if (n > MAX_TIMERS) n = MAX_TIMERS;
    for (int i = 0; i < n; i++) {
        struct timer_rec *tr = &W.tim[i];
        ax_timer h = atomic_load(&tr->handle);
        if (!atomic_load(&tr->armed) || ax_timer_is_none(h) || atomic_load(&tr->cancel_ok)) continue;
        unsigned m = tr->interval && !tr->owned ? B_OK : B_OK | B_ENOENT;
        int rc = ax_timer_cancel(W.rt, h);
        CHK(rc, m, "ax_timer_cancel (sweep)");
        if (rc == 0) atomic_fetch_add(&tr->cancel_ok, 1);
    }
}

/* A short one-shot without a handle that has neither fired (delivered or dead-lettered) nor
 * been dropped because its owner stopped: the quiet wait waits for it. */
static int handle_less_waiting(struct timer_rec *tr) {
    if (!atomic_load(&tr->armed) || !tr->no_handle || tr->in_stopped) return 0;
    if (atomic_load(&tr->delivered) + atomic_load(&tr->dead) > 0) return 0;
    return !tr->owned ||
           (tr->owner_idx >= 0 && atomic_load(&W.act[tr->owner_idx].state) == A_ALIVE);
}

static int handle_less_pending(void) {
    int n = atomic_load(&W.ntim);
    if (n > MAX_TIMERS) n = MAX_TIMERS;
    for (int i = 0; i < n; i++)
        if (handle_less_waiting(&W.tim[i])) return 1;
    return 0;
}

/* On a hang: which of wait_quiet's conditions never held, and the handle-less timers it waits
 * for (so a failure names what was lost, not only that something was). */
static void describe_unsettled(const struct snap *cur, unsigned long long pfdr,
                               unsigned long long owed) {
    fprintf(stderr,
            "test_api_random: not settled: sup_mode %d, dead %llu vs notices %llu, "
            "processed+failed %llu vs handled %llu, pfdr %llu vs owed %llu\n",
            W.sup_mode, (unsigned long long)cur->st.dead_letters, cur->notices,
            (unsigned long long)(cur->st.processed + cur->st.failed), cur->h_user, pfdr, owed);
    int n = atomic_load(&W.ntim), shown = 0;
    if (n > MAX_TIMERS) n = MAX_TIMERS;
    for (int i = 0; i < n && shown < 8; i++) {
        struct timer_rec *tr = &W.tim[i];
        if (!handle_less_waiting(tr)) continue;
        fprintf(stderr,
                "test_api_random: timer %d pending: owned %d (owner %d), dead target %d, "
                "tracked %d\n",
                i, tr->owned, tr->owner_idx, tr->dead_target, tr->tracked);
        shown++;
    }
}

/* Waits until nothing moves: no timer can fire, and counters stay the same for a while. The
 * wait is bounded by the hang guard; no timing is asserted. */
static struct snap wait_quiet(void) {
    int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
    struct snap prev = take_snap(), cur;
    int stable = 0;
    for (;;) {
        sweep_timers();
        check_sleep_us(1000);
        cur = take_snap();
        /* Still queued somewhere (a worker preempted for a long time): handled + dead + replies
         * fall short of what was sent. */
        unsigned long long pfdr =
            cur.st.processed + cur.st.failed + cur.st.dead_letters + atomic_load(&W.c.r_aw);
        unsigned long long owed =
            atomic_load(&W.c.s_user) + atomic_load(&W.c.h_timer) + atomic_load(&W.c.notices_timer);
        int settled =
            !handle_less_pending() && cur.st.dead_letters == cur.notices
            && (W.sup_mode || (cur.st.processed + cur.st.failed == cur.h_user && pfdr >= owed));
        stable = same_snap(&prev, &cur) && settled ? stable + 1 : 0;
        if (stable >= 20) return cur;
        prev = cur;
        if (check_now_ms() > deadline) {
            describe_unsettled(&cur, pfdr, owed);
            model_fail(atomic_load(&g_calls), __LINE__,
                       "runtime never became quiet (or its counts "
                       "never balanced): sent %llu "
                       "processed %llu failed %llu dead %llu, handled %llu notices %llu",
                       (unsigned long long)cur.st.sent, (unsigned long long)cur.st.processed,
                       (unsigned long long)cur.st.failed, (unsigned long long)cur.st.dead_letters,
                       cur.h_user, cur.notices);
        }
    }
}

#define STAT_EQ(a, b)                                                                   \
    MODEL((a) == (b), "stats: %s (%llu) != %s (%llu)", #a, (unsigned long long)(a), #b, \
          (unsigned long long)(b))
#define STAT_LE(a, b)                                                                  \
    MODEL((a) <= (b), "stats: %s (%llu) > %s (%llu)", #a, (unsigned long long)(a), #b, \
          (unsigned long long)(b))

/* Identities that hold whenever the runtime is quiet, even when notices were lost because the
 * dead-letter actor stopped first (docs/api.md "Statistics"; guide "Quiet-runtime balance":
 * sent + timer messages dead-lettered at firing = processed + failed + dead_letters + replies
 * delivered to ax_ask_wait callers). */
static void check_balance(const ax_stats *st) {
    unsigned long long s_lo = atomic_load(&W.c.s_user), s_hi = s_lo + atomic_load(&W.c.s_amb);
    unsigned long long h = atomic_load(&W.c.h_user), ht = atomic_load(&W.c.h_timer);
    unsigned long long fr = atomic_load(&W.c.f_recv), fc = atomic_load(&W.c.f_cont);
    unsigned long long nt = atomic_load(&W.c.notices_timer), nn = atomic_load(&W.c.notices);
    unsigned long long raw = atomic_load(&W.c.r_aw), sc = atomic_load(&W.c.start_child_calls);
    unsigned long long pfdr = st->processed + st->failed + st->dead_letters + raw;
    STAT_LE(nn, st->dead_letters);
    if (W.sup_mode) {
        /* Supervisors' own messages count like user messages, and the test cannot count them:
         * only the balance with each start_child reply as a possible ask_wait-like reply. */
        STAT_LE(h, st->processed + st->failed);
        STAT_LE(st->sent, pfdr + sc);
        return;
    }
    STAT_EQ(st->processed + st->failed, h);
    /* A failing status-0 continuation handled a reply: it counts in failed (docs/api.md). */
    MODEL(st->failed == fr + fc,
          "stats: failed %llu, receive failures %llu, "
          "continuation failures %llu",
          (unsigned long long)st->failed, fr, fc);
    /* Every user message the test sent or a timer sent was handled, dead-lettered or given to
     * an ax_ask_wait caller; timer messages that were dead-lettered are at least the notices
     * about them and at most the dead letters not accounted to other notices. */
    STAT_LE(s_lo + ht + nt, pfdr - 0);
    STAT_LE(pfdr, s_hi + ht + st->dead_letters - (nn - nt));
    /* sent: the test's sends plus timer messages that reached a mailbox. */
    STAT_LE(s_lo + ht, st->sent);
    STAT_LE(st->sent, pfdr);
}

/* With the dead-letter actor alive and every notice handled, the counts are exact. */
static void check_quiet_exact(const ax_stats *st) {
    unsigned long long s_lo = atomic_load(&W.c.s_user), s_hi = s_lo + atomic_load(&W.c.s_amb);
    unsigned long long ht = atomic_load(&W.c.h_timer), raw = atomic_load(&W.c.r_aw);
    unsigned long long nt = atomic_load(&W.c.notices_timer), nn = atomic_load(&W.c.notices);
    unsigned long long nts = atomic_load(&W.c.notices_timer_stopped);
    STAT_EQ(st->dead_letters, nn);
    STAT_EQ(st->spawned, atomic_load(&W.c.spawned) + atomic_load(&W.c.sup_ok));
    if (W.sup_mode) {
        STAT_LE(atomic_load(&W.c.restart_inits), st->restarts);
        STAT_LE(st->escalations, atomic_load(&W.c.sup_ok));
        return;
    }
    unsigned long long pfdr = st->processed + st->failed + st->dead_letters + raw;
    STAT_LE(s_lo + ht + nt, pfdr);
    STAT_LE(pfdr, s_hi + ht + nt);
    /* Timer messages dead-lettered at firing (receiver gone, or mailbox full) are not in sent;
     * those dead-lettered from a mailbox are. A full mailbox never takes one in. */
    STAT_LE(st->sent, s_hi + ht + nts - atomic_load(&W.c.notices_timer_dead_target));
    STAT_EQ(st->restarts, 0);
    STAT_EQ(st->escalations, 0);
}

/* Each timer armed outside fires once or is cancelled, never both (docs: ax_timer_cancel). */
static void check_timers(int exact) {
    int n = atomic_load(&W.ntim);
    if (n > MAX_TIMERS) n = MAX_TIMERS;
    for (int i = 0; i < n; i++) {
        struct timer_rec *tr = &W.tim[i];
        if (!atomic_load(&tr->armed)) continue;
        int c = atomic_load(&tr->cancel_ok), d = atomic_load(&tr->delivered),
            x = atomic_load(&tr->dead);
        MODEL(c <= 1, "timer %d cancelled %d times", i, c);
        if (tr->in_stopped) MODEL(d + x == 0, "timer %d armed in a stopped hook fired", i);
        if (tr->interval) {
            if (exact && !tr->owned) MODEL(c == 1, "interval %d not cancelled by the sweep", i);
            continue;
        }
        MODEL(d + x <= 1 && !(c && d + x), "one-shot %d: cancelled %d delivered %d dead %d", i, c,
              d, x);
        if (exact && tr->tracked && !tr->owned && !tr->in_stopped)
            MODEL(c + d + x == 1, "one-shot %d: cancelled %d delivered %d dead %d", i, c, d, x);
    }
}

static void check_after_shutdown(void) {
    ax_stats st;
    CHK(ax_stats_get(W.rt, &st), B_OK, "ax_stats_get (after shutdown)");
    check_balance(&st);
    check_timers(0);
    STAT_EQ(st.spawned, atomic_load(&W.c.spawned) + atomic_load(&W.c.sup_ok));
    STAT_EQ(st.stopped, st.spawned);
    STAT_EQ(atomic_load(&W.c.stopped_hooks), atomic_load(&W.c.spawned));
    int n = atomic_load(&W.nact);
    for (int i = 0; i < n && i < MAX_ACTORS; i++)
        MODEL(atomic_load(&W.act[i].state) != A_ALIVE, "actor %d still alive after shutdown", i);
}

/* ---- one runtime's life
 * ------------------------------------------------------------------------------ */

/* A runtime with a random configuration. Not tests/fixture.h's: creating it is one of the model's
 * checked calls (counted, and a failure reports the seed to replay). */
static ax_runtime *random_runtime(uint64_t *r) {
    static const int batches[] = {0, 1, 64, INT_MAX};
    static const int lifos[] = {0, 1, INT_MAX};
    static const int spins[] = {-1, 0, 50, INT_MIN};
    ax_config c = {0};
    c.workers = 1 + (int)pick(r, 3);
    c.pin = pct(r, 20);
    c.batch = batches[pick(r, 4)];
    c.lifo_cap = lifos[pick(r, 3)];
    c.spin_us = spins[pick(r, 4)];
    ax_runtime *rt = NULL;
    CHK(ax_runtime_create(&c, &rt), B_OK, "ax_runtime_create");
    g_runtimes++;
    W.workers = c.workers;
    return rt;
}

static void start_runtime(uint64_t *r) {
    world_reset();
    W.sup_mode = pct(r, 30);
    W.rt = random_runtime(r);
    ax_ref dl, anchor;
    CHK(ax_spawn(W.rt, &dl_b, NULL, NULL, &dl), B_OK, "ax_spawn(dead-letter actor)");
    W.dl = dl;
    CHK(ax_set_dead_letter_actor(W.rt, dl), B_OK, "ax_set_dead_letter_actor");
    CHK(ax_spawn(W.rt, &anchor_b, NULL, NULL, &anchor), B_OK, "ax_spawn(anchor)");
    W.anchor = anchor;
    atomic_store(&W.c.spawned, 2);
}

static void join_threads(pthread_t *th, int n, int *running) {
    if (!*running) return;
    atomic_store(&g_threads_stop, 1);
    for (int i = 0; i < n; i++) CHECK(pthread_join(th[i], NULL) == 0);
    *running = 0;
    poll_handler_failures();
}

static int64_t pick_shutdown_timeout(uint64_t *r) {
    static const int64_t t[] = {0, -1, 1, 50, 5000, INT64_MIN, INT64_MAX};
    return t[pick(r, 7)];
}

struct life {
    uint64_t seed;
    int64_t deadline;
};

/* One runtime from create to destroy: random calls from this thread and two outside threads,
 * then a clean end (quiet, exact counts) or an abrupt shutdown while calls go on. */
static void *run_life(void *arg) {
    struct life *lf = arg;
    uint64_t r = lf->seed;
    start_runtime(&r);
    pthread_t th[2];
    int running = 1;
    atomic_store(&g_threads_stop, 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, outside_thread, (void *)(uintptr_t)(rnd(&r) | 1)) == 0);
    long calls = 100 + (long)pick(&r, 4000);
    for (long i = 0; i < calls && check_now_ms() < lf->deadline; i++) outside_call(&r, 1);
    int clean = pct(&r, 60);
    if (clean) {
        join_threads(th, 2, &running);
        atomic_store(&W.quiet, 1);
        struct snap s = wait_quiet();
        check_quiet_exact(&s.st);
        check_balance(&s.st);
        check_timers(1);
        poll_handler_failures();
    }
    atomic_store(&W.phase, 1);
    int rc = ax_runtime_shutdown(W.rt, pick_shutdown_timeout(&r));
    /* "timeout_ms bounds the whole call": with a 1 ms budget the stop phase may not finish. */
    CHK(rc, B_OK | B_ETIMEDOUT, "ax_runtime_shutdown");
    atomic_store(&W.phase, 2);
    for (int i = 0; i < 50; i++) outside_call(&r, 1);
    CHK(ax_runtime_shutdown(W.rt, 0), B_ESHUTDOWN, "ax_runtime_shutdown(again)");
    join_threads(th, 2, &running);
    if (rc == 0) check_after_shutdown();
    if (rc != 0) g_timeouts++;
    *(clean ? &g_clean_ends : &g_abrupt_ends) += 1;
    g_sup_lives += (unsigned long long)W.sup_mode;
    g_timer_full += atomic_load(&W.c.notices_timer_full);
    ax_stats fin;
    if (ax_stats_get(W.rt, &fin) == 0) g_dead_letters += fin.dead_letters;
    poll_handler_failures();
    CHK(ax_runtime_destroy(W.rt), B_OK, "ax_runtime_destroy");
    return NULL;
}

/* Lives of runtimes for AX_SOAK_SECONDS (default 3), from the seed AX_SOAK_SEED (default: from the
 * clock); one case, the program's whole run. */
static void test_random_calls(void) {
    const char *env = getenv("AX_SOAK_SEED");
    g_seed = env ? strtoull(env, NULL, 0)
                 : ((uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)clock();
    if (g_seed == 0) g_seed = 1;
    env = getenv("AX_SOAK_SECONDS");
    double secs = env ? strtod(env, NULL) : 3.0;
    /* Room past the runner's time limit for a long soak, plus its shutdowns. */
    if (secs > 0 && secs < 1e6) test_case_time_limit((unsigned)secs + 300);
    fprintf(stderr, "test_api_random: seed=0x%llx, %.0f s (rerun: AX_SOAK_SEED=0x%llx)\n",
            (unsigned long long)g_seed, secs, (unsigned long long)g_seed);
    for (uint32_t i = 0; i < sizeof g_big; i++) g_big[i] = (unsigned char)(i * 7u);
    uint64_t r = g_seed;
    int64_t deadline = check_now_ms() + (int64_t)(secs * 1000);
    do {
        struct life lf = {rnd(&r) | 1, deadline};
        run_life(&lf);
    } while (check_now_ms() < deadline);
    CHECK_NO_HANDLER_FAILURES();
    fprintf(stderr,
            "test_api_random: %llu clean ends, %llu abrupt shutdowns (%llu timed out), "
            "%llu with supervisors, %llu dead letters, %llu timer messages refused by full "
            "mailboxes\n",
            g_clean_ends, g_abrupt_ends, g_timeouts, g_sup_lives, g_dead_letters, g_timer_full);
    printf("test_api_random: %llu API calls, %d runtimes, seed=0x%llx: passed\n",
           (unsigned long long)atomic_load(&g_calls), g_runtimes, (unsigned long long)g_seed);
}

TEST_MAIN(TEST_CASE(test_random_calls))
