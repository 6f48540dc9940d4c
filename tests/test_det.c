/* SPDX-License-Identifier: MIT */
/* test_det.c: deterministic mode (ax_config.deterministic, AX_SEED) and the seed runner of
 * det.h. The same seed gives the same handler calls in the same order, and seeds differ among
 * themselves; virtual time lets an hour-long timer fire at once and keeps deadlines in order;
 * supervision and links hold their invariants under 1,000 schedules each (AX_DET_SEEDS for
 * more); and a deliberately order-dependent bug is found by the runner and replayed from its
 * seed, also through AX_SEED as the printed command does. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axon.h"
#include "check.h"
#include "det.h"
#include "fixture.h"
#include "runner.h"

/* ---- the handler-call log (written by the one worker, read once it is idle) --------------- */

#define LOG_MAX 4096
struct call {
    uint32_t who, what;
};
static struct call g_log[LOG_MAX];
static int g_nlog;

static void log_call(uint32_t who, uint32_t what) {
    if (g_nlog < LOG_MAX) g_log[g_nlog++] = (struct call){who, what};
}

static uint64_t log_hash(void) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < g_nlog; i++) h = (h ^ ((uint64_t)g_log[i].who << 32 | g_log[i].what)) * 1099511628211ull;
    return h ^ (uint64_t)g_nlog;
}

enum { M_START = 1, M_PING, M_T5, M_T10, M_HOUR, M_ASK, M_FAIL, M_GO, M_INIT, M_DATA, M_TICK };

/* ---- the same seed, the same calls ------------------------------------------------------- */

#define MIX_ACTORS 6
static ax_ref g_mix[MIX_ACTORS];

struct mix_state {
    uint32_t index, rng;
};

static int mix_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    struct mix_state *s = state;
    s->index = *(const uint32_t *)arg;
    s->rng = 2463534242u + s->index;
    return 0;
}

static int on_reply(ax_ctx *ctx, void *state, int status, const ax_msg *reply, void *user) {
    (void)ctx, (void)reply, (void)user;
    const struct mix_state *s = state;
    log_call(s->index, 100 + (uint32_t)(status == AX_ETIMEDOUT));
    return 0;
}

/* PING(k) hops to an actor picked by the receiver's own generator (the same in every schedule)
 * until k is 0; timers of equal deadlines, a timeout and an hour-long timer run beside. */
static int mix_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct mix_state *s = state;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    uint32_t k = 0;
    if (msg->size >= sizeof k) memcpy(&k, msg->data, sizeof k);
    log_call(s->index, msg->type << 16 | k);
    if (msg->type == M_START) {
        for (uint32_t i = 0; i < 3; i++) {
            uint32_t hops = 5 + i;
            HCHECK(ax_send(rt, g_mix[det_xorshift(&s->rng) % MIX_ACTORS], M_PING, &hops, sizeof hops) == 0);
        }
        for (uint32_t i = 0; i < MIX_ACTORS; i++) {
            HCHECK(ax_send_after(rt, g_mix[i], M_T10, NULL, 0, 10, NULL) == 0);
            HCHECK(ax_send_after(rt, g_mix[i], M_T5, NULL, 0, 5, NULL) == 0);
        }
        HCHECK(ax_send_after(rt, g_mix[0], M_HOUR, NULL, 0, 3600 * 1000, NULL) == 0);
        /* An ask nobody answers: its 50 ms timeout fires in virtual time. */
        HCHECK(ax_ask(ctx, g_mix[1], M_ASK, NULL, 0,
                      &(ax_ask_opts){.timeout_ms = 50, .cont = on_reply}) == 0);
    } else if (msg->type == M_PING && k > 0) {
        k--;
        HCHECK(ax_send(rt, g_mix[det_xorshift(&s->rng) % MIX_ACTORS], M_PING, &k, sizeof k) == 0);
    }
    return 0;
}
static const ax_behavior mix_b = {"mix", sizeof(struct mix_state), mix_init, mix_receive, NULL};

static int mix_scenario(uint64_t seed, void *arg) {
    (void)arg;
    g_nlog = 0;
    ax_runtime *rt = det_runtime(seed);
    for (uint32_t i = 0; i < MIX_ACTORS; i++) CHECK_OK(ax_spawn(rt, &mix_b, &i, NULL, &g_mix[i]));
    CHECK_OK(ax_send(rt, g_mix[0], M_START, NULL, 0));
    det_wait_idle(rt);
    fixture_destroy(rt);
    /* Every T5 before every T10, the hour last; 3 chains of 5..7 hops. */
    int last_t5 = -1, first_t10 = g_nlog, hour = -1, pings = 0;
    for (int i = 0; i < g_nlog; i++) {
        uint32_t type = g_log[i].what >> 16;
        if (type == M_T5) last_t5 = i;
        if (type == M_T10 && i < first_t10) first_t10 = i;
        if (type == M_HOUR) hour = i;
        pings += type == M_PING;
    }
    if (last_t5 > first_t10 || hour != g_nlog - 1 || pings != 6 + 7 + 8) {
        fprintf(stderr, "mix: t5 %d t10 %d hour %d/%d pings %d\n", last_t5, first_t10, hour,
                g_nlog, pings);
        return 1;
    }
    return 0;
}

static void test_same_seed_same_calls(void) {
    uint64_t hashes[20];
    struct call first[LOG_MAX];
    int distinct = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        CHECK_OK(mix_scenario(seed, NULL));
        hashes[seed - 1] = log_hash();
        int n = g_nlog;
        memcpy(first, g_log, sizeof(struct call) * (size_t)n);
        CHECK_OK(mix_scenario(seed, NULL)); /* again: call for call the same */
        CHECK_EQ(g_nlog, n);
        CHECK(memcmp(first, g_log, sizeof(struct call) * (size_t)n) == 0);
        bool seen = false;
        for (uint64_t k = 1; k < seed; k++) seen |= hashes[k - 1] == hashes[seed - 1];
        distinct += !seen;
    }
    if (!getenv("AX_SEED")) CHECK(distinct >= 5); /* the seeds choose different schedules */
    CHECK_NO_HANDLER_FAILURES();
}

/* ---- a bug that depends on the order of two messages ------------------------------------- */

static ax_ref g_acc;
static atomic_int g_bug; /* DATA arrived before INIT */

static int acc_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    int *ready = state;
    log_call(1, msg->type);
    if (msg->type == M_INIT) *ready = 1;
    if (msg->type == M_DATA && !*ready) atomic_store(&g_bug, 1); /* the bug: it assumed INIT */
    return 0;
}
static const ax_behavior acc_b = {"acc", sizeof(int), NULL, acc_receive, NULL};

/* setup sends INIT, producer DATA, each when told to go: who goes first is the schedule's. */
static int forward_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)msg;
    uint32_t what = *(const uint32_t *)state;
    log_call(what == M_INIT ? 2 : 3, msg->type);
    return ax_send(ax_ctx_runtime(ctx), g_acc, what, NULL, 0);
}
static int forward_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    memcpy(state, arg, sizeof(uint32_t));
    return 0;
}
static const ax_behavior forward_b = {"forward", sizeof(uint32_t), forward_init, forward_receive,
                                      NULL};

/* The go signal comes from a starter actor, so that both sends happen in the runtime. */
static ax_ref g_setup, g_producer;
static int starter_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state, (void)msg;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    HCHECK(ax_send(rt, g_producer, M_GO, NULL, 0) == 0);
    HCHECK(ax_send(rt, g_setup, M_GO, NULL, 0) == 0);
    return 0;
}
static const ax_behavior starter_b = {"starter", 0, NULL, starter_receive, NULL};

static int order_scenario(uint64_t seed, void *arg) {
    (void)arg;
    g_nlog = 0;
    atomic_store(&g_bug, 0);
    ax_runtime *rt = det_runtime(seed);
    uint32_t init = M_INIT, data = M_DATA;
    ax_ref starter;
    CHECK_OK(ax_spawn(rt, &acc_b, NULL, NULL, &g_acc));
    CHECK_OK(ax_spawn(rt, &forward_b, &init, NULL, &g_setup));
    CHECK_OK(ax_spawn(rt, &forward_b, &data, NULL, &g_producer));
    CHECK_OK(ax_spawn(rt, &starter_b, NULL, NULL, &starter));
    CHECK_OK(ax_send(rt, starter, M_START, NULL, 0));
    det_wait_idle(rt);
    fixture_destroy(rt);
    if (g_nlog != 4) return 2; /* every handler ran once: a harness failure, not the bug */
    if (atomic_load(&g_bug)) {
        fprintf(stderr, "order: DATA before INIT (the bug this test plants)\n");
        return 1;
    }
    return 0;
}

static void test_order_bug_found_and_replayed(void) {
    /* Replaying (AX_SEED set, as the printed command does): the one seed, failing as before. */
    if (getenv("AX_SEED")) {
        DET_CHECK_ALL(order_scenario, NULL);
        return;
    }
    int ran = 0;
    uint64_t bad = det_find_failure(order_scenario, NULL, 1, 200, &ran);
    CHECK(bad != 0); /* found */
    int n = g_nlog;
    struct call first[8];
    memcpy(first, g_log, sizeof(struct call) * (size_t)n);
    CHECK_EQ(order_scenario(bad, NULL), 1); /* replayed from the seed: the same failure */
    CHECK_EQ(g_nlog, n);
    CHECK(memcmp(first, g_log, sizeof(struct call) * (size_t)n) == 0);
    /* The printed command: AX_SEED makes the runtime take that seed whatever it is given. */
    char text[32];
    snprintf(text, sizeof text, "0x%llx", (unsigned long long)bad);
    CHECK(setenv("AX_SEED", text, 1) == 0);
    CHECK_EQ(order_scenario(bad + 7777, NULL), 1);
    CHECK(memcmp(first, g_log, sizeof(struct call) * (size_t)n) == 0);
    unsetenv("AX_SEED");
    /* The command itself, run as printed: this case fails there, with the planted bug. */
    char cmd[1024], out[4096] = "";
    snprintf(cmd, sizeof cmd, "AX_SEED=0x%llx %s %s 2>&1", (unsigned long long)bad, test_program(),
             test_case_name());
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    int status = pclose(p);
    CHECK(status != 0 && strstr(out, "DATA before INIT") && strstr(out, "FAILED"));
    /* And the bug does not show under every schedule: a seed before it passed, or one after. */
    bool passes = ran > 1;
    for (uint64_t s = bad + 1; !passes && s < bad + 200; s++) passes = order_scenario(s, NULL) == 0;
    CHECK(passes);
    CHECK_NO_HANDLER_FAILURES();
}

/* ---- misuse ------------------------------------------------------------------------------ */

static void test_config(void) {
    ax_runtime *rt = NULL;
    CHECK_RC(ax_runtime_create(&(ax_config){.deterministic = 1, .workers = 2}, &rt), AX_EINVAL);
    CHECK(rt == NULL);
    if (!getenv("AX_SEED")) {
        CHECK(setenv("AX_SEED", "12x", 1) == 0);
        CHECK_RC(ax_runtime_create(NULL, &rt), AX_EINVAL); /* malformed */
        CHECK(setenv("AX_SEED", "0x2a", 1) == 0);
        rt = fixture_runtime(4); /* AX_SEED wins: one worker */
        CHECK_EQ(ax_runtime_workers(rt), 1);
        fixture_destroy(rt);
        unsetenv("AX_SEED");
    }
    rt = fixture_runtime_cfg(&(ax_config){.deterministic = 1, .workers = 1, .seed = UINT64_MAX});
    CHECK_EQ(ax_runtime_workers(rt), 1);
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_same_seed_same_calls), TEST_CASE(test_order_bug_found_and_replayed),
          TEST_CASE(test_config))
