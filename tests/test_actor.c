/* SPDX-License-Identifier: MIT */
/* test_actor.c: the behavior of actors through the public API: spawn, state and init, per-sender
 * ordering, ask/reply, stop and dead letters, the registry, zero-copy sends, failure, fairness
 * (the batch limit), exclusive execution, exact statistics and wakeups after workers park. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "axon.h"
#include "check.h"
#include "fixture.h"
#include "runner.h"

#ifdef AX_TSAN
#define SCALE_ORDER_N 3000
#define SCALE_EXCL_N 3000
#define SCALE_WAKEUPS 200
#else
#define SCALE_ORDER_N 40000
#define SCALE_EXCL_N 40000
#define SCALE_WAKEUPS 2000
#endif

/* ---- a dead-letter actor that records what it receives ---------------------------------- */

#define DL_MAX 64
struct dl_record {
    ax_dead_letter d;
    uint32_t msg_type;
    uint32_t msg_size;
    unsigned char bytes[32];
};
static struct dl_record g_dl[DL_MAX];
static atomic_int g_dl_count;

static int dl_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)state;
    int i = atomic_load(&g_dl_count);
    if (i >= DL_MAX) return 0;
    struct dl_record *r = &g_dl[i];
    memset(r, 0, sizeof *r);
    r->msg_type = msg->type;
    r->msg_size = msg->size;
    if (msg->size >= sizeof r->d) {
        memcpy(&r->d, msg->data, sizeof r->d);
        size_t extra = msg->size - sizeof r->d;
        memcpy(r->bytes, msg->data + sizeof r->d, extra < sizeof r->bytes ? extra : sizeof r->bytes);
    }
    atomic_store(&g_dl_count, i + 1); /* publishes the record to main */
    return 0;
}
static const ax_behavior dl_b = {"dead-letters", 0, NULL, dl_receive, NULL};

static ax_ref spawn_dl_actor(ax_runtime *rt) {
    atomic_store(&g_dl_count, 0);
    ax_ref dl;
    CHECK_OK(ax_spawn(rt, &dl_b, NULL, NULL, &dl));
    CHECK_OK(ax_set_dead_letter_actor(rt, dl));
    return dl;
}

/* ---- a gate: the first message of a gated actor holds its worker until the test says go --- */

static atomic_int g_gate;
static atomic_int g_gate_entered;
static atomic_int g_gate_timeout;

static void reset_gate(void) {
    atomic_store(&g_gate, 0);
    atomic_store(&g_gate_entered, 0);
    atomic_store(&g_gate_timeout, 0);
}

static void hold_at_gate(void) {
    atomic_store(&g_gate_entered, 1);
    if (check_spin_until_set(&g_gate) != 0) atomic_store(&g_gate_timeout, 1);
}

/* ======================================================================================
 * 1. spawn, zeroed state, init arg; spawning from a handler.
 * ==================================================================================== */

struct big_state {
    uint64_t words[64];
    int arg;
    int inited;
};
static atomic_int g_init_calls, g_init_dirty, g_init_arg_sum;
static atomic_int g_big_received, g_big_recv_arg_sum, g_big_stopped, g_spawned_in_handler;
static const ax_behavior big_b;

static int big_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    struct big_state *s = state;
    atomic_fetch_add(&g_init_calls, 1);
    int dirty = s->arg != 0 || s->inited != 0;
    for (int i = 0; i < 64; i++) dirty |= s->words[i] != 0;
    if (dirty) atomic_fetch_add(&g_init_dirty, 1);
    s->arg = arg ? *(const int *)arg : -1000000;
    s->inited = 1;
    atomic_fetch_add(&g_init_arg_sum, s->arg);
    return 0;
}

static int big_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct big_state *s = state;
    HCHECK(s->inited == 1);
    if (msg->type == 1) {
        atomic_fetch_add(&g_big_recv_arg_sum, s->arg);
        memset(s->words, 0xff, sizeof s->words); /* a reused slot would show this to init */
        atomic_fetch_add(&g_big_received, 1);
    } else if (msg->type == 2) {
        int k;
        HCHECK(msg->size == sizeof k);
        memcpy(&k, msg->data, sizeof k);
        ax_ref child = AX_REF_NONE;
        int rc = ax_spawn(ax_ctx_runtime(ctx), &big_b, &k, NULL, &child);
        HCHECK(rc == 0);
        HCHECK(!ax_ref_is_none(child) && !ax_ref_eq(child, ax_self(ctx)));
        k = -1; /* arg is valid only during init: the child must have copied it */
        HCHECK(ax_send(ax_ctx_runtime(ctx), child, 1, NULL, 0) == 0);
        atomic_fetch_add(&g_spawned_in_handler, 1);
    }
    return 0;
}

static void big_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)state;
    (void)reason;
    atomic_fetch_add(&g_big_stopped, 1);
}

static const ax_behavior big_b = {"big", sizeof(struct big_state), big_init, big_receive,
                                  big_stopped};

static void test_spawn_state_init(void) {
    ax_runtime *rt = fixture_runtime(2);
    enum { N = 50, KIDS = 10 };
    ax_ref refs[N];
    int expect_sum = 0;
    for (int i = 0; i < N; i++) {
        int arg = i + 1;
        CHECK_OK(ax_spawn(rt, &big_b, &arg, NULL, &refs[i]));
        CHECK(!ax_ref_is_none(refs[i]));
        for (int j = 0; j < i; j++) CHECK(!ax_ref_eq(refs[i], refs[j]));
        CHECK_OK(ax_send(rt, refs[i], 1, NULL, 0));
        expect_sum += arg;
    }
    CHECK_EQ(g_init_calls, N); /* init ran inside ax_spawn */
    CHECK_EQ(g_init_arg_sum, expect_sum);
    WAIT_ATOMIC(g_big_received, N);
    CHECK_EQ(g_big_recv_arg_sum, expect_sum);

    /* Stop them all (their state is now dirty), then spawn again: new state is zeroed. */
    for (int i = 0; i < N; i++) CHECK_OK(ax_stop(rt, refs[i]));
    WAIT_ATOMIC(g_big_stopped, N);
    for (int i = 0; i < N; i++) {
        int arg = 1000 + i;
        ax_ref r;
        CHECK_OK(ax_spawn(rt, &big_b, &arg, NULL, &r));
        for (int j = 0; j < N; j++)
            CHECK(!ax_ref_eq(r, refs[j])); /* stopped refs are never reissued */
        refs[i] = r;
        expect_sum += arg;
    }
    CHECK_EQ(g_init_arg_sum, expect_sum);

    /* Spawn from handlers: each of KIDS actors spawns a child with arg 5000 + i. */
    int recv_expect = atomic_load(&g_big_recv_arg_sum);
    for (int i = 0; i < KIDS; i++) {
        int k = 5000 + i;
        CHECK_OK(ax_send(rt, refs[i], 2, &k, sizeof k));
        expect_sum += k;
        recv_expect += k;
    }
    WAIT_ATOMIC(g_spawned_in_handler, KIDS);
    WAIT_ATOMIC(g_big_received, N + KIDS);
    CHECK_EQ(g_init_calls, 2 * N + KIDS);
    CHECK_EQ(g_init_arg_sum, expect_sum);
    CHECK_EQ(g_big_recv_arg_sum, recv_expect);
    CHECK_EQ(g_init_dirty, 0);
    fixture_shutdown(rt);
    CHECK_EQ(g_big_stopped, 2 * N + KIDS);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.spawned, 2 * N + KIDS);
    CHECK_EQ(st.stopped, 2 * N + KIDS);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 2. per-sender ordering from external threads and from actors.
 * ==================================================================================== */

enum { ORDER_THREADS = 4, ORDER_ACTORS = 4, ORDER_SENDERS = ORDER_THREADS + ORDER_ACTORS };
struct order_payload {
    uint32_t sender;
    uint32_t seq;
};
struct order_recv_state {
    uint32_t next[ORDER_SENDERS];
};
static ax_runtime *g_order_rt;
static ax_ref g_order_receiver;
static atomic_int g_order_total, g_order_bad, g_order_final_done;
static atomic_uint g_order_final[ORDER_SENDERS];

static int order_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    struct order_recv_state *s = state;
    if (msg->type == 9) { /* publish the final per-sender counts */
        for (int i = 0; i < ORDER_SENDERS; i++) atomic_store(&g_order_final[i], s->next[i]);
        atomic_store(&g_order_final_done, 1);
        return 0;
    }
    struct order_payload p;
    if (msg->size != sizeof p) {
        atomic_fetch_add(&g_order_bad, 1);
        return 0;
    }
    memcpy(&p, msg->data, sizeof p);
    if (p.sender >= ORDER_SENDERS || p.seq != s->next[p.sender]) {
        atomic_fetch_add(&g_order_bad, 1);
        if (p.sender < ORDER_SENDERS) s->next[p.sender] = p.seq + 1;
    } else {
        s->next[p.sender]++;
    }
    atomic_fetch_add(&g_order_total, 1);
    return 0;
}
static const ax_behavior order_recv_b = {"order-recv", sizeof(struct order_recv_state), NULL,
                                         order_recv, NULL};

struct order_sender_state {
    uint32_t id;
    uint32_t sent;
};

static int order_sender_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    struct order_sender_state *s = state;
    s->id = *(const uint32_t *)arg;
    return 0;
}

/* Sends in chunks and re-sends itself a "more" message, so it never hogs a worker. */
static int order_sender_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)msg;
    struct order_sender_state *s = state;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    for (int i = 0; i < 500 && s->sent < SCALE_ORDER_N; i++) {
        struct order_payload p = {s->id, s->sent};
        HCHECK(ax_send(rt, g_order_receiver, 1, &p, sizeof p) == 0);
        s->sent++;
    }
    if (s->sent < SCALE_ORDER_N) HCHECK(ax_send(rt, ax_self(ctx), 1, NULL, 0) == 0);
    return 0;
}
static const ax_behavior order_sender_b = {"order-sender", sizeof(struct order_sender_state),
                                           order_sender_init, order_sender_recv, NULL};

static atomic_int g_order_thread_fail;

static void *order_thread(void *arg) {
    uint32_t id = (uint32_t)(uintptr_t)arg;
    for (uint32_t seq = 0; seq < SCALE_ORDER_N; seq++) {
        struct order_payload p = {id, seq};
        int rc = ax_send(g_order_rt, g_order_receiver, 1, &p, sizeof p);
        if (rc != 0) {
            fprintf(stderr, "order thread %u: send %u failed: %s\n", id, seq, ax_strerror(rc));
            atomic_fetch_add(&g_order_thread_fail, 1);
            break;
        }
    }
    return NULL;
}

static void test_ordering(void) {
    ax_runtime *rt = fixture_runtime(2);
    g_order_rt = rt;
    CHECK_OK(ax_spawn(rt, &order_recv_b, NULL, NULL, &g_order_receiver));
    ax_ref senders[ORDER_ACTORS];
    for (uint32_t j = 0; j < ORDER_ACTORS; j++) {
        uint32_t id = ORDER_THREADS + j;
        CHECK_OK(ax_spawn(rt, &order_sender_b, &id, NULL, &senders[j]));
    }
    pthread_t th[ORDER_THREADS];
    for (uintptr_t i = 0; i < ORDER_THREADS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, order_thread, (void *)i), 0);
    for (int j = 0; j < ORDER_ACTORS; j++) CHECK_OK(ax_send(rt, senders[j], 1, NULL, 0));
    for (int i = 0; i < ORDER_THREADS; i++) pthread_join(th[i], NULL);
    CHECK_EQ(g_order_thread_fail, 0);
    WAIT_ATOMIC(g_order_total, ORDER_SENDERS * SCALE_ORDER_N);
    CHECK_OK(ax_send(rt, g_order_receiver, 9, NULL, 0));
    WAIT_ATOMIC(g_order_final_done, 1);
    CHECK_EQ(g_order_bad, 0);
    CHECK_EQ(g_order_total, ORDER_SENDERS * SCALE_ORDER_N);
    for (int i = 0; i < ORDER_SENDERS; i++) CHECK_EQ(g_order_final[i], SCALE_ORDER_N);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 3. ask and reply: from a handler with a continuation, and ax_ask_wait from main.
 * ==================================================================================== */

static ax_ref g_echo, g_silent, g_late, g_asker, g_fail_asker;
static atomic_int g_late_go, g_late_reply_rc, g_late_replied;

/* Replies to type 10 with type 11 and 3x+1 of its 64-bit payload. */
static int echo_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type != 10) return 0;
    uint64_t x = 0;
    HCHECK(msg->size == sizeof x);
    memcpy(&x, msg->data, sizeof x);
    x = 3 * x + 1;
    HCHECK(ax_reply(ctx, 11, &x, sizeof x) == 0);
    return 0;
}
static const ax_behavior echo_b = {"echo", 0, NULL, echo_recv, NULL};

static int silent_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)state;
    (void)msg;
    return 0;
}
static const ax_behavior silent_b = {"silent", 0, NULL, silent_recv, NULL};

/* Replies only once the test says the ask has timed out: a reply late by causality, not by
 * the clock. */
static int late_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type != 20) return 0;
    if (check_spin_until_set(&g_late_go) != 0) HCHECK(!"late actor: go never came");
    uint64_t x = 77;
    atomic_store(&g_late_reply_rc, ax_reply(ctx, 21, &x, sizeof x));
    atomic_store(&g_late_replied, 1);
    return 0;
}
static const ax_behavior late_b = {"late", 0, NULL, late_recv, NULL};

enum { ASK_ECHO, ASK_SILENT, ASK_LATE, ASK_FAIL, ASK_KINDS };
static int g_user_tokens[ASK_KINDS];
static atomic_int g_cont_calls[ASK_KINDS], g_cont_status[ASK_KINDS], g_ask_rc[ASK_KINDS];
static atomic_int g_asker_stopped_reason, g_fail_asker_stopped_reason;

static int asker_cont(ax_ctx *ctx, void *state, int status, const ax_msg *reply, void *user) {
    (void)state;
    int kind = (int)((int *)user - g_user_tokens);
    HCHECK(kind >= 0 && kind < ASK_KINDS);
    if (kind < 0 || kind >= ASK_KINDS) return 0;
    atomic_store(&g_cont_status[kind], status);
    if (kind == ASK_FAIL) {
        HCHECK(ax_ref_eq(ax_self(ctx), g_fail_asker));
        atomic_fetch_add(&g_cont_calls[kind], 1);
        return 1; /* a failing continuation fails its actor */
    }
    HCHECK(ax_ref_eq(ax_self(ctx), g_asker));
    if (kind == ASK_ECHO) {
        HCHECK(status == 0);
        HCHECK(reply != NULL);
        if (reply) {
            uint64_t x = 0;
            HCHECK(reply->type == 11);
            HCHECK(reply->size == sizeof x);
            HCHECK(ax_ref_eq(reply->sender, g_echo));
            memcpy(&x, reply->data, sizeof x);
            HCHECK(x == 3 * 41 + 1);
        }
    } else {
        HCHECK(status == AX_ETIMEDOUT);
        HCHECK(reply == NULL);
    }
    atomic_fetch_add(&g_cont_calls[kind], 1);
    if (kind == ASK_LATE) atomic_store(&g_late_go, 1);
    return 0;
}

struct ask_req {
    ax_ref to;
    int64_t timeout_ms;
    int kind;
};

static int asker_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    struct ask_req r;
    HCHECK(msg->size == sizeof r);
    memcpy(&r, msg->data, sizeof r);
    uint64_t x = 41;
    uint32_t type = r.kind == ASK_LATE ? 20 : 10;
    atomic_store(&g_ask_rc[r.kind], ax_ask(ctx, r.to, type, &x, sizeof x,
        &(ax_ask_opts){.timeout_ms = r.timeout_ms, .cont = asker_cont, .user = &g_user_tokens[r.kind]}));
    return 0;
}

static void asker_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)state;
    atomic_store(&g_asker_stopped_reason, reason + 100);
}
static void fail_asker_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)state;
    atomic_store(&g_fail_asker_stopped_reason, reason + 100);
}
static const ax_behavior asker_b = {"asker", 0, NULL, asker_recv, asker_stopped};
static const ax_behavior fail_asker_b = {"fail-asker", 0, NULL, asker_recv, fail_asker_stopped};

static void send_ask_req(ax_runtime *rt, ax_ref asker, ax_ref to, int64_t timeout_ms, int kind) {
    struct ask_req r;
    memset(&r, 0, sizeof r);
    r.to = to;
    r.timeout_ms = timeout_ms;
    r.kind = kind;
    CHECK_OK(ax_send(rt, asker, 1, &r, sizeof r));
}

static void test_ask(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref dl = spawn_dl_actor(rt);
    CHECK_OK(ax_spawn(rt, &echo_b, NULL, NULL, &g_echo));
    CHECK_OK(ax_spawn(rt, &silent_b, NULL, NULL, &g_silent));
    CHECK_OK(ax_spawn(rt, &late_b, NULL, NULL, &g_late));
    CHECK_OK(ax_spawn(rt, &asker_b, NULL, NULL, &g_asker));
    CHECK_OK(ax_spawn(rt, &fail_asker_b, NULL, NULL, &g_fail_asker));
    for (int k = 0; k < ASK_KINDS; k++) atomic_store(&g_ask_rc[k], 12345);

    /* From a handler: a reply arrives. */
    send_ask_req(rt, g_asker, g_echo, 10000, ASK_ECHO);
    WAIT_ATOMIC(g_cont_calls[ASK_ECHO], 1);
    CHECK_OK(g_ask_rc[ASK_ECHO]);
    CHECK_OK(g_cont_status[ASK_ECHO]);

    /* From a handler: nobody replies, the continuation runs once with AX_ETIMEDOUT. */
    send_ask_req(rt, g_asker, g_silent, 50, ASK_SILENT);
    WAIT_ATOMIC(g_cont_calls[ASK_SILENT], 1);
    CHECK_OK(g_ask_rc[ASK_SILENT]);
    CHECK_RC(g_cont_status[ASK_SILENT], AX_ETIMEDOUT);

    /* From a handler: the reply comes after the timeout and becomes a dead letter. */
    atomic_store(&g_late_go, 0);
    atomic_store(&g_late_replied, 0);
    send_ask_req(rt, g_asker, g_late, 50, ASK_LATE);
    WAIT_ATOMIC(g_cont_calls[ASK_LATE], 1);
    CHECK_OK(g_ask_rc[ASK_LATE]);
    CHECK_RC(g_cont_status[ASK_LATE], AX_ETIMEDOUT);
    WAIT_ATOMIC(g_late_replied, 1);
    CHECK_OK(g_late_reply_rc); /* accepted, then dead-lettered: not refused */
    WAIT_ATOMIC(g_dl_count, 1);
    CHECK_EQ(g_dl[0].msg_type, AX_MSG_DEAD_LETTER);
    CHECK_EQ(g_dl[0].msg_size, sizeof(ax_dead_letter) + sizeof(uint64_t));
    CHECK_EQ(g_dl[0].d.reason, AX_DEAD_LATE_REPLY);
    CHECK_EQ(g_dl[0].d.sender.id, g_late.id);
    CHECK_EQ(g_dl[0].d.target.id, g_asker.id);
    CHECK_EQ(g_dl[0].d.type, 21);
    CHECK_EQ(g_dl[0].d.size, sizeof(uint64_t));
    uint64_t x = 0;
    memcpy(&x, g_dl[0].bytes, sizeof x);
    CHECK_EQ(x, 77);

    /* A continuation returning non-zero fails its actor; the reply counts in `failed`. */
    ax_stats st0, st1;
    CHECK_OK(ax_stats_get(rt, &st0));
    send_ask_req(rt, g_fail_asker, g_echo, 10000, ASK_FAIL);
    WAIT_ATOMIC(g_cont_calls[ASK_FAIL], 1);
    WAIT_UNTIL(atomic_load(&g_fail_asker_stopped_reason) != 0);
    CHECK_EQ(g_fail_asker_stopped_reason, 100 + AX_REASON_FAILED);
    CHECK_OK(ax_stats_get(rt, &st1));
    CHECK_EQ(st1.failed, st0.failed + 1);
    CHECK_RC(ax_send(rt, g_fail_asker, 1, NULL, 0), AX_ENOACTOR);

    /* ax_ask_wait from main: a reply, which main owns and frees. */
    for (int i = 0; i < 20; i++) {
        ax_msg *reply = NULL;
        uint64_t v = 1000 + (uint64_t)i;
        CHECK_OK(ax_ask_wait(rt, g_echo, 10, &v, sizeof v, 10000, &reply));
        CHECK(reply != NULL);
        CHECK_EQ(reply->type, 11);
        CHECK_EQ(reply->size, sizeof v);
        CHECK_EQ(reply->sender.id, g_echo.id);
        memcpy(&x, reply->data, sizeof x);
        CHECK_EQ(x, 3 * v + 1);
        CHECK_OK(ax_msg_free(rt, reply));
    }

    /* ax_ask_wait against a silent actor times out. */
    ax_msg *reply = NULL;
    x = 5;
    CHECK_RC(ax_ask_wait(rt, g_silent, 10, &x, sizeof x, 100, &reply), AX_ETIMEDOUT);

    /* ax_ask_wait whose reply comes after the timeout: the reply is a dead letter. */
    atomic_store(&g_late_go, 0);
    atomic_store(&g_late_replied, 0);
    CHECK_RC(ax_ask_wait(rt, g_late, 20, &x, sizeof x, 100, &reply), AX_ETIMEDOUT);
    atomic_store(&g_late_go, 1);
    WAIT_ATOMIC(g_late_replied, 1);
    CHECK_OK(g_late_reply_rc);
    WAIT_ATOMIC(g_dl_count, 2);
    CHECK_EQ(g_dl[1].d.reason, AX_DEAD_LATE_REPLY);
    CHECK_EQ(g_dl[1].d.sender.id, g_late.id);
    CHECK_EQ(g_dl[1].d.type, 21);
    CHECK_EQ(g_dl[1].d.size, sizeof(uint64_t));

    /* Exactly once: give stray second calls a chance to show, then count again. */
    check_sleep_us(200000);
    fixture_shutdown(rt);
    CHECK_EQ(g_cont_calls[ASK_ECHO], 1);
    CHECK_EQ(g_cont_calls[ASK_SILENT], 1);
    CHECK_EQ(g_cont_calls[ASK_LATE], 1);
    CHECK_EQ(g_cont_calls[ASK_FAIL], 1);
    CHECK_EQ(g_asker_stopped_reason, 100 + AX_REASON_SHUTDOWN);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.dead_letters, 2);
    CHECK_EQ(g_dl_count, 2);
    (void)dl;
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 4. stop with queued messages: stopped runs once, the queue becomes dead letters.
 * ==================================================================================== */

static atomic_int g_v_received, g_v_stopped, g_v_reason, g_h_done;
static ax_ref g_victim;

struct victim_state {
    int n;
};
static int victim_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)msg;
    struct victim_state *s = state;
    if (s->n++ == 0)
        hold_at_gate();
    else
        atomic_fetch_add(&g_v_received, 1);
    return 0;
}
static void victim_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)state;
    atomic_store(&g_v_reason, reason);
    atomic_fetch_add(&g_v_stopped, 1);
}
static const ax_behavior victim_b = {"victim", sizeof(struct victim_state), NULL, victim_recv,
                                     victim_stopped};

/* Sends five messages to the victim: types 100..104, payload "h0".."h4". */
static int helper_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    (void)msg;
    for (int i = 0; i < 5; i++) {
        char p[3] = {'h', (char)('0' + i), 0};
        HCHECK(ax_send(ax_ctx_runtime(ctx), g_victim, 100 + (uint32_t)i, p, 2) == 0);
    }
    atomic_store(&g_h_done, 1);
    return 0;
}
static const ax_behavior helper_b = {"helper", 0, NULL, helper_recv, NULL};

static void test_stop_dead_letters(void) {
    reset_gate();
    ax_runtime *rt = fixture_runtime(2);
    spawn_dl_actor(rt);
    ax_ref h;
    CHECK_OK(ax_spawn(rt, &victim_b, NULL, NULL, &g_victim));
    CHECK_OK(ax_spawn(rt, &helper_b, NULL, NULL, &h));
    CHECK_OK(ax_send(rt, g_victim, 1, NULL, 0));
    WAIT_ATOMIC(g_gate_entered, 1);
    /* From main: types 200..204 with payloads of 1..5 bytes "mmmmm". */
    for (int i = 0; i < 5; i++) CHECK_OK(ax_send(rt, g_victim, 200 + (uint32_t)i, "mmmmm", (size_t)i + 1));
    CHECK_OK(ax_send(rt, h, 1, NULL, 0));
    WAIT_ATOMIC(g_h_done, 1);

    CHECK_OK(ax_stop(rt, g_victim));
    CHECK_RC(ax_stop(rt, g_victim), AX_ENOACTOR); /* already stopping */
    atomic_store(&g_gate, 1);
    WAIT_ATOMIC(g_v_stopped, 1);
    WAIT_ATOMIC(g_dl_count, 10);
    CHECK_EQ(g_gate_timeout, 0);
    CHECK_EQ(g_v_received, 0); /* nothing after the message being handled at the stop */
    CHECK_EQ(g_v_reason, AX_REASON_NORMAL);
    CHECK_RC(ax_send(rt, g_victim, 1, NULL, 0), AX_ENOACTOR);

    int seen_main = 0, seen_helper = 0;
    for (int i = 0; i < 10; i++) {
        struct dl_record *r = &g_dl[i];
        CHECK_EQ(r->msg_type, AX_MSG_DEAD_LETTER);
        CHECK_EQ(r->msg_size, sizeof(ax_dead_letter) + r->d.size);
        CHECK_EQ(r->d.target.id, g_victim.id);
        CHECK_EQ(r->d.reason, AX_DEAD_STOPPED);
        if (r->d.type >= 200 && r->d.type < 205) {
            uint32_t k = r->d.type - 200;
            CHECK_EQ(r->d.sender.id, AX_REF_NONE.id);
            CHECK_EQ(r->d.size, k + 1);
            CHECK(memcmp(r->bytes, "mmmmm", k + 1) == 0);
            CHECK((seen_main & (1 << k)) == 0);
            seen_main |= 1 << k;
        } else {
            CHECK(r->d.type >= 100 && r->d.type < 105);
            uint32_t k = r->d.type - 100;
            CHECK_EQ(r->d.sender.id, h.id);
            CHECK_EQ(r->d.size, 2);
            CHECK_EQ(r->bytes[0], 'h');
            CHECK_EQ(r->bytes[1], '0' + k);
            CHECK((seen_helper & (1 << k)) == 0);
            seen_helper |= 1 << k;
        }
    }
    CHECK_EQ(seen_main, 0x1f);
    CHECK_EQ(seen_helper, 0x1f);
    fixture_shutdown(rt);
    CHECK_EQ(g_v_stopped, 1);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.dead_letters, 10);
    CHECK_EQ(g_dl_count, 10);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 5. registry.
 * ==================================================================================== */

static atomic_int g_reg_stopped;
static void reg_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)state;
    (void)reason;
    atomic_fetch_add(&g_reg_stopped, 1);
}
static const ax_behavior reg_b = {"reg", 0, NULL, silent_recv, reg_stopped};

static void test_registry(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a, b, out = AX_REF_NONE;
    CHECK_OK(ax_spawn(rt, &reg_b, NULL, NULL, &a));
    CHECK_OK(ax_spawn(rt, &reg_b, NULL, NULL, &b));
    CHECK_OK(ax_register(rt, "svc", a));
    CHECK_OK(ax_whereis(rt, "svc", &out));
    CHECK_EQ(out.id, a.id);
    CHECK_OK(ax_unregister(rt, "svc"));
    CHECK_RC(ax_whereis(rt, "svc", &out), AX_ENOENT);
    CHECK_OK(ax_register(rt, "svc", a));
    CHECK_OK(ax_whereis(rt, "svc", &out));
    CHECK_EQ(out.id, a.id);

    /* Stopping a releases its name. */
    CHECK_OK(ax_stop(rt, a));
    WAIT_ATOMIC(g_reg_stopped, 1);
    WAIT_UNTIL(ax_whereis(rt, "svc", &out) == AX_ENOENT);
    CHECK_RC(ax_unregister(rt, "svc"), AX_ENOENT);
    CHECK_OK(ax_register(rt, "svc", b));
    out = AX_REF_NONE;
    CHECK_OK(ax_whereis(rt, "svc", &out));
    CHECK_EQ(out.id, b.id);
    fixture_destroy(rt);
    CHECK_EQ(g_reg_stopped, 2);
}

/* ======================================================================================
 * 6. zero-copy sends, alignment.
 * ==================================================================================== */

static atomic_int g_zc_ok, g_zc_bad;

static int zc_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)state;
    int ok = ((uintptr_t)msg->data % 16) == 0 && ax_ref_is_none(msg->sender);
    /* type carries the size; the bytes are (i * 13 + type) mod 256 */
    ok = ok && msg->size == msg->type;
    for (uint32_t i = 0; ok && i < msg->size; i++)
        ok = msg->data[i] == (unsigned char)(i * 13u + msg->type);
    atomic_fetch_add(ok ? &g_zc_ok : &g_zc_bad, 1);
    return 0;
}
static const ax_behavior zc_b = {"zc", 0, NULL, zc_recv, NULL};

static unsigned char g_buf[AX_MSG_MAX];

static void test_zero_copy(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref z;
    CHECK_OK(ax_spawn(rt, &zc_b, NULL, NULL, &z));
    static const uint32_t sizes[] = {0, 1, 15, 16, 17, 1000, 4096, AX_MSG_MAX};
    int n = (int)(sizeof sizes / sizeof sizes[0]);
    for (int k = 0; k < n; k++) {
        uint32_t sz = sizes[k];
        ax_msg *m = NULL;
        CHECK_OK(ax_msg_alloc(rt, sz, &m));
        CHECK(m != NULL);
        CHECK(((uintptr_t)m->data % 16) == 0);
        for (uint32_t i = 0; i < sz; i++) m->data[i] = (unsigned char)(i * 13u + sz);
        CHECK_OK(ax_msg_send(rt, z, sz, m)); /* ownership passed */
        /* the copying send of the same bytes */
        for (uint32_t i = 0; i < sz; i++) g_buf[i] = (unsigned char)(i * 13u + sz);
        CHECK_OK(ax_send(rt, z, sz, sz ? g_buf : NULL, sz));
    }
    /* A failed zero-copy send leaves the message with us. */
    ax_msg *m = NULL;
    CHECK_OK(ax_msg_alloc(rt, 8, &m));
    CHECK_RC(ax_msg_send(rt, AX_REF_NONE, 8, m), AX_ENOACTOR);
    for (uint32_t i = 0; i < 8; i++) m->data[i] = (unsigned char)(i * 13u + 8);
    CHECK_OK(ax_msg_send(rt, z, 8, m));
    WAIT_ATOMIC(g_zc_ok, 2 * n + 1);
    fixture_shutdown(rt);
    CHECK_EQ(g_zc_bad, 0);
    CHECK_EQ(g_zc_ok, 2 * n + 1);
    fixture_destroy(rt);
}

/* ======================================================================================
 * 7. a handler returning non-zero stops its actor with AX_REASON_FAILED.
 * ==================================================================================== */

static atomic_int g_fail_handled, g_fail_stopped, g_fail_reason;
static int failing_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)state;
    atomic_fetch_add(&g_fail_handled, 1);
    return msg->type == 2 ? -1 : 0;
}
static void failing_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)state;
    atomic_store(&g_fail_reason, reason);
    atomic_fetch_add(&g_fail_stopped, 1);
}
static const ax_behavior failing_b = {"failing", 0, NULL, failing_recv, failing_stopped};

static void test_failure(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref f;
    CHECK_OK(ax_spawn(rt, &failing_b, NULL, NULL, &f));
    CHECK_OK(ax_send(rt, f, 1, NULL, 0));
    CHECK_OK(ax_send(rt, f, 1, NULL, 0));
    CHECK_OK(ax_send(rt, f, 2, NULL, 0));
    WAIT_ATOMIC(g_fail_stopped, 1);
    CHECK_EQ(g_fail_reason, AX_REASON_FAILED);
    CHECK_EQ(g_fail_handled, 3);
    CHECK_RC(ax_send(rt, f, 1, NULL, 0), AX_ENOACTOR);
    CHECK_RC(ax_stop(rt, f), AX_ENOACTOR);
    fixture_shutdown(rt);
    CHECK_EQ(g_fail_stopped, 1);
    CHECK_EQ(g_fail_handled, 3);
    fixture_destroy(rt);
}

/* ======================================================================================
 * 8. the batch limit: one worker, batch 4, two busy actors interleave.
 * ==================================================================================== */

enum { BATCH = 4, BATCH_MSGS = 40 };
static atomic_int g_seq_len;
static atomic_int g_seq_ids[2 * BATCH_MSGS + 8];

struct batch_state {
    int id;
};
static int batch_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    ((struct batch_state *)state)->id = *(const int *)arg;
    return 0;
}
static int batch_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)msg;
    struct batch_state *s = state;
    if (s->id == 2) { /* the gate actor */
        hold_at_gate();
        return 0;
    }
    int i = atomic_fetch_add(&g_seq_len, 1);
    if (i < 2 * BATCH_MSGS + 8) atomic_store(&g_seq_ids[i], s->id);
    return 0;
}
static const ax_behavior batch_b = {"batch", sizeof(struct batch_state), batch_init, batch_recv,
                                    NULL};

static void test_batch_limit(void) {
    reset_gate();
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .batch = BATCH});
    ax_ref act[3];
    for (int i = 0; i < 3; i++) CHECK_OK(ax_spawn(rt, &batch_b, &i, NULL, &act[i]));
    CHECK_OK(ax_send(rt, act[2], 1, NULL, 0));
    WAIT_ATOMIC(g_gate_entered, 1); /* the only worker is now held */
    for (int k = 0; k < BATCH_MSGS; k++) CHECK_OK(ax_send(rt, act[0], 1, NULL, 0));
    for (int k = 0; k < BATCH_MSGS; k++) CHECK_OK(ax_send(rt, act[1], 1, NULL, 0));
    atomic_store(&g_gate, 1);
    WAIT_ATOMIC(g_seq_len, 2 * BATCH_MSGS);
    fixture_shutdown(rt);
    CHECK_EQ(g_gate_timeout, 0);
    CHECK_EQ(g_seq_len, 2 * BATCH_MSGS);

    int done[2] = {0, 0}, run = 0, prev = -1, max_run = 0;
    char trace[2 * BATCH_MSGS + 1];
    for (int i = 0; i < 2 * BATCH_MSGS; i++) {
        int id = g_seq_ids[i];
        CHECK(id == 0 || id == 1);
        trace[i] = (char)('0' + id);
        /* done[] before this message: if the other actor still had work, the run is capped. */
        run = id == prev ? run + 1 : 1;
        prev = id;
        if (done[1 - id] < BATCH_MSGS && run > max_run) max_run = run;
        done[id]++;
    }
    trace[2 * BATCH_MSGS] = '\0';
    fprintf(stderr, "batch trace (1 worker, batch %d): %s\n", BATCH, trace);
    CHECK_EQ(done[0], BATCH_MSGS);
    CHECK_EQ(done[1], BATCH_MSGS);
    if (max_run > BATCH) fprintf(stderr, "an actor ran %d in a row while the other waited\n", max_run);
    CHECK(max_run <= BATCH);
    fixture_destroy(rt);
}

/* ======================================================================================
 * 9. an actor never runs on two workers at once.
 * ==================================================================================== */

enum { EXCL_TARGETS = 2, EXCL_THREADS = 3, EXCL_ACTORS = 3 };
struct excl_state {
    _Atomic int inside; /* atomic only so TSan stays quiet; the logic detects overlap */
    uint64_t plain_count;
};
static atomic_int g_excl_overlap, g_excl_handled, g_excl_final_done;
static atomic_ullong g_excl_final[EXCL_TARGETS];
static ax_ref g_excl_targets[EXCL_TARGETS];
static ax_runtime *g_excl_rt;

static int excl_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    struct excl_state *s = state;
    if (atomic_exchange_explicit(&s->inside, 1, memory_order_relaxed) != 0)
        atomic_fetch_add(&g_excl_overlap, 1);
    if (msg->type == 9) {
        int idx = -1;
        memcpy(&idx, msg->data, sizeof idx);
        atomic_store(&g_excl_final[idx], s->plain_count);
        atomic_fetch_add(&g_excl_final_done, 1);
    } else {
        s->plain_count++; /* a plain counter: overlapping runs would lose increments */
        for (volatile int spin = 0; spin < 50; spin++) {
        }
        atomic_fetch_add_explicit(&g_excl_handled, 1, memory_order_relaxed);
    }
    atomic_store_explicit(&s->inside, 0, memory_order_relaxed);
    return 0;
}
static const ax_behavior excl_b = {"excl", sizeof(struct excl_state), NULL, excl_recv, NULL};

struct excl_sender_state {
    int sent;
};
static int excl_sender_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)msg;
    struct excl_sender_state *s = state;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    for (int i = 0; i < 200 && s->sent < SCALE_EXCL_N; i++, s->sent++)
        HCHECK(ax_send(rt, g_excl_targets[s->sent % EXCL_TARGETS], 1, NULL, 0) == 0);
    if (s->sent < SCALE_EXCL_N) HCHECK(ax_send(rt, ax_self(ctx), 1, NULL, 0) == 0);
    return 0;
}
static const ax_behavior excl_sender_b = {"excl-sender", sizeof(struct excl_sender_state), NULL,
                                          excl_sender_recv, NULL};

static atomic_int g_excl_thread_fail;
static void *excl_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < SCALE_EXCL_N; i++)
        if (ax_send(g_excl_rt, g_excl_targets[i % EXCL_TARGETS], 1, NULL, 0) != 0)
            atomic_fetch_add(&g_excl_thread_fail, 1);
    return NULL;
}

static void test_exclusive(void) {
    ax_runtime *rt = fixture_runtime(2);
    g_excl_rt = rt;
    for (int i = 0; i < EXCL_TARGETS; i++) CHECK_OK(ax_spawn(rt, &excl_b, NULL, NULL, &g_excl_targets[i]));
    ax_ref senders[EXCL_ACTORS];
    for (int i = 0; i < EXCL_ACTORS; i++) CHECK_OK(ax_spawn(rt, &excl_sender_b, NULL, NULL, &senders[i]));
    pthread_t th[EXCL_THREADS];
    for (int i = 0; i < EXCL_THREADS; i++) CHECK_EQ(pthread_create(&th[i], NULL, excl_thread, NULL), 0);
    for (int i = 0; i < EXCL_ACTORS; i++) CHECK_OK(ax_send(rt, senders[i], 1, NULL, 0));
    for (int i = 0; i < EXCL_THREADS; i++) pthread_join(th[i], NULL);
    CHECK_EQ(g_excl_thread_fail, 0);
    const int total = (EXCL_THREADS + EXCL_ACTORS) * SCALE_EXCL_N;
    WAIT_ATOMIC(g_excl_handled, total);
    for (int i = 0; i < EXCL_TARGETS; i++) CHECK_OK(ax_send(rt, g_excl_targets[i], 9, &i, sizeof i));
    WAIT_ATOMIC(g_excl_final_done, EXCL_TARGETS);
    CHECK_EQ(g_excl_overlap, 0);
    CHECK_EQ(g_excl_handled, total);
    uint64_t sum = 0;
    for (int i = 0; i < EXCL_TARGETS; i++) sum += g_excl_final[i];
    CHECK_EQ(sum, total);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 10. statistics after a known workload.
 * ==================================================================================== */

enum { ST_ACTORS = 5, ST_MSGS = 100, ST_FWD_EVERY = 10 };
static ax_ref g_st_refs[ST_ACTORS];
static atomic_int g_st_handled, g_st_stopped;

struct st_state {
    int idx;
};
static int st_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    ((struct st_state *)state)->idx = *(const int *)arg;
    return 0;
}
/* Type 1 with payload 1 forwards one type-2 message to the next actor. */
static int st_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct st_state *s = state;
    if (msg->type == 1 && msg->size == 1 && msg->data[0] == 1)
        HCHECK(ax_send(ax_ctx_runtime(ctx), g_st_refs[(s->idx + 1) % ST_ACTORS], 2, NULL, 0) == 0);
    atomic_fetch_add(&g_st_handled, 1);
    return 0;
}
static void st_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)state;
    (void)reason;
    atomic_fetch_add(&g_st_stopped, 1);
}
static const ax_behavior st_b = {"stats", sizeof(struct st_state), st_init, st_recv, st_stopped};

static void test_stats(void) {
    ax_runtime *rt = fixture_runtime(2);
    for (int i = 0; i < ST_ACTORS; i++) CHECK_OK(ax_spawn(rt, &st_b, &i, NULL, &g_st_refs[i]));
    for (int k = 0; k < ST_MSGS; k++)
        for (int i = 0; i < ST_ACTORS; i++) {
            unsigned char fwd = k % ST_FWD_EVERY == 0;
            CHECK_OK(ax_send(rt, g_st_refs[i], 1, &fwd, 1));
        }
    const int fwds = ST_ACTORS * (ST_MSGS / ST_FWD_EVERY);
    const int total = ST_ACTORS * ST_MSGS + fwds;
    WAIT_ATOMIC(g_st_handled, total);
    CHECK_OK(ax_stop(rt, g_st_refs[0]));
    CHECK_OK(ax_stop(rt, g_st_refs[3]));
    WAIT_ATOMIC(g_st_stopped, 2);
    fixture_shutdown(rt);
    CHECK_EQ(g_st_handled, total);
    CHECK_EQ(g_st_stopped, ST_ACTORS);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.sent, total);
    CHECK_EQ(st.processed, total);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(st.spawned, ST_ACTORS);
    CHECK_EQ(st.stopped, ST_ACTORS);
    /* Only workers handle messages and only handlers sent the forwards; main's sends belong
     * to the "outside" entry, which no worker's counters include. */
    ax_stats sum = {0};
    int w = ax_runtime_workers(rt);
    CHECK_EQ(w, 2);
    for (int i = 0; i < w; i++) {
        ax_stats one;
        CHECK_OK(ax_stats_worker(rt, i, &one));
        sum.processed += one.processed;
        sum.sent += one.sent;
    }
    CHECK_EQ(sum.processed, total);
    CHECK_EQ(sum.sent, fwds);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ======================================================================================
 * 11. no lost wakeups: send to parked workers, over and over.
 * ==================================================================================== */

static atomic_int g_wake_count;
static int wake_recv(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)state;
    (void)msg;
    atomic_fetch_add(&g_wake_count, 1);
    return 0;
}
static const ax_behavior wake_b = {"wake", 0, NULL, wake_recv, NULL};

static void test_no_lost_wakeup(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 2, .spin_us = 1});
    ax_ref a;
    CHECK_OK(ax_spawn(rt, &wake_b, NULL, NULL, &a));
    for (int i = 0; i < SCALE_WAKEUPS; i++) {
        usleep(300); /* long enough for both workers to park */
        CHECK_OK(ax_send(rt, a, 1, NULL, 0));
        WAIT_ATOMIC(g_wake_count, i + 1);
    }
    CHECK_EQ(g_wake_count, SCALE_WAKEUPS);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    fprintf(stderr, "wakeups: %d messages, %llu parks\n", SCALE_WAKEUPS, (unsigned long long)st.parks);
    CHECK(st.parks > 0);
    fixture_destroy(rt);
}

/* A thread blocked in ax_ask_wait when shutdown reaches its stop phase returns AX_ESHUTDOWN at
 * once instead of sitting out its (here endless) timeout. */
struct waiting_asker {
    ax_runtime *rt;
    ax_ref to;
    atomic_int started, rc;
};

static void *ask_forever(void *arg) {
    struct waiting_asker *w = arg;
    ax_msg *reply = NULL;
    atomic_store(&w->started, 1);
    atomic_store(&w->rc, ax_ask_wait(w->rt, w->to, 10, NULL, 0, INT64_MAX, &reply));
    return NULL;
}

static void test_ask_wait_shutdown(void) {
    ax_runtime *rt = fixture_runtime(2);
    struct waiting_asker w = {rt, AX_REF_NONE, 0, 12345};
    CHECK_OK(ax_spawn(rt, &silent_b, NULL, NULL, &w.to));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, ask_forever, &w) == 0);
    WAIT_ATOMIC(w.started, 1);
    WAIT_UNTIL(fixture_stats(rt).processed >= 1); /* the request reached the silent actor */
    fixture_shutdown(rt);
    pthread_join(t, NULL);
    CHECK_RC(w.rc, AX_ESHUTDOWN);
    fixture_destroy(rt);
}

/* A request that becomes a dead letter answers its ax_ask_wait at once: AX_ENOACTOR when the
 * target stops with it queued (here with no deadline at all), AX_EFULL when a full mailbox
 * with the dead-letter policy takes it. */
static void test_ask_wait_refused(void) {
    ax_runtime *rt = fixture_runtime(2);
    reset_gate();
    struct waiting_asker w = {rt, AX_REF_NONE, 0, 12345};
    CHECK_OK(ax_spawn(rt, &victim_b, NULL, NULL, &w.to));
    CHECK_OK(ax_send(rt, w.to, 1, NULL, 0));
    WAIT_ATOMIC(g_gate_entered, 1); /* the victim holds its worker */
    uint64_t sent = fixture_stats(rt).sent;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, ask_forever, &w) == 0);
    WAIT_UNTIL(fixture_stats(rt).sent == sent + 1); /* the request is queued */
    CHECK_OK(ax_stop(rt, w.to));
    atomic_store(&g_gate, 1);
    pthread_join(t, NULL);
    CHECK_RC(w.rc, AX_ENOACTOR);

    reset_gate();
    ax_spawn_opts o = {.mailbox_capacity = 1, .overflow = AX_OVERFLOW_DEAD_LETTER};
    ax_ref v;
    CHECK_OK(ax_spawn(rt, &victim_b, NULL, &o, &v));
    CHECK_OK(ax_send(rt, v, 1, NULL, 0));
    WAIT_ATOMIC(g_gate_entered, 1);
    CHECK_OK(ax_send(rt, v, 1, NULL, 0)); /* fills the mailbox of 1 */
    ax_msg *reply = (ax_msg *)&w; /* set to NULL by the call */
    CHECK_RC(ax_ask_wait(rt, v, 10, NULL, 0, INT64_MAX, &reply), AX_EFULL);
    CHECK(reply == NULL);
    atomic_store(&g_gate, 1);
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_spawn_state_init), TEST_CASE(test_ordering), TEST_CASE(test_ask),
          TEST_CASE(test_stop_dead_letters), TEST_CASE(test_registry), TEST_CASE(test_zero_copy),
          TEST_CASE(test_failure), TEST_CASE(test_batch_limit), TEST_CASE(test_exclusive),
          TEST_CASE(test_stats), TEST_CASE(test_no_lost_wakeup), TEST_CASE(test_ask_wait_shutdown),
          TEST_CASE(test_ask_wait_refused))
