/* SPDX-License-Identifier: MIT */
/* test_misuse.c: every misuse of the public API returns its exact documented code from axon.h.
 * "No crash on misuse" is a principle: stale and random refs, sends after shutdown, bad sizes,
 * NULL pointers, blocking calls from handlers and full bounded mailboxes are all errors. */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "axon.h"
#include "check.h"
#include "fixture.h"
#include "runner.h"

/* ---- a plain counting actor ---------------------------------------------------------- */

static atomic_int g_received;
static atomic_int g_big_ok;
static atomic_int g_stopped;
static atomic_int g_stopped_shutdown;
static atomic_int g_stopped_other;

static unsigned char g_big[AX_MSG_MAX + 1];

static int plain_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)state;
    if (msg->type == 2) {
        int ok = msg->size == AX_MSG_MAX;
        for (uint32_t i = 0; ok && i < msg->size; i++) ok = msg->data[i] == (unsigned char)(i * 7u);
        if (ok) atomic_fetch_add(&g_big_ok, 1);
    }
    atomic_fetch_add(&g_received, 1);
    return 0;
}

static void plain_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)state;
    if (reason == AX_REASON_SHUTDOWN)
        atomic_fetch_add(&g_stopped_shutdown, 1);
    else if (reason != AX_REASON_NORMAL)
        atomic_fetch_add(&g_stopped_other, 1);
    atomic_fetch_add(&g_stopped, 1);
}

static const ax_behavior plain_b = {"plain", 16, NULL, plain_receive, plain_stopped};
static const ax_behavior no_receive_b = {"no-receive", 0, NULL, NULL, plain_stopped};

static void reset_counters(void) {
    atomic_store(&g_received, 0);
    atomic_store(&g_big_ok, 0);
    atomic_store(&g_stopped, 0);
    atomic_store(&g_stopped_shutdown, 0);
    atomic_store(&g_stopped_other, 0);
}

/* ---- ax_strerror ---------------------------------------------------------------------- */

static void test_strerror(void) {
    static const struct {
        int code;
        const char *name;
    } codes[] = {
        {AX_OK, "AX_OK"},
#define AX_TEST_CODE_(name, value, text) {name, #name},
        AX_ERROR_LIST(AX_TEST_CODE_)
#undef AX_TEST_CODE_
    };
    size_t n = sizeof codes / sizeof codes[0];
    CHECK_EQ(n, 17);
    for (size_t i = 0; i < n; i++) {
        const char *s = ax_strerror(codes[i].code);
        CHECK(s != NULL);
        CHECK(s[0] != '\0');
        if (codes[i].code != AX_OK && strstr(s, codes[i].name) == NULL) {
            fprintf(stderr, "ax_strerror(%d) = \"%s\" does not name %s\n", codes[i].code, s,
                    codes[i].name);
            CHECK(0);
        }
        for (size_t j = 0; j < i; j++) {
            CHECK(codes[i].code != codes[j].code);
            CHECK(strcmp(s, ax_strerror(codes[j].code)) != 0);
        }
    }
    /* A kernel error passed on (negated errno): its description. */
    CHECK(strcmp(ax_strerror(-EADDRINUSE), "Address already in use") == 0);
    CHECK(strcmp(ax_strerror(-ECONNRESET), "Connection reset by peer") == 0);
    CHECK(strcmp(ax_strerror(-4095), "unknown axon error code") == 0);
    CHECK(strcmp(ax_strerror(12345), "unknown axon error code") == 0);
    CHECK(ax_strerror(-99999) != NULL);
    CHECK(ax_strerror(-1000000000) != NULL);
    CHECK(ax_strerror(1) != NULL);
    /* The errno mapping is part of the contract. */
    CHECK_EQ(AX_ENOACTOR, -ESRCH);
    CHECK_EQ(AX_EFULL, -EAGAIN);
    CHECK_EQ(AX_ECONTEXT, -EPERM);
}

/* ---- handles: ax_ref, ax_timer, ax_monitor_id ------------------------------------------ */

/* The three handle types are distinct structs with the size and alignment of the uint64_t they
 * replaced (messages and ax_down carry them as 8 bytes); NONE is id 0; the _eq and _is_none
 * functions compare all 64 bits. */
static void test_handles(void) {
    _Static_assert(sizeof(ax_ref) == 8, "ax_ref is 8 bytes");
    _Static_assert(sizeof(ax_timer) == 8, "ax_timer is 8 bytes");
    _Static_assert(sizeof(ax_monitor_id) == 8, "ax_monitor_id is 8 bytes");
    _Static_assert(_Alignof(ax_ref) == 8, "ax_ref is 8-aligned");
    _Static_assert(_Alignof(ax_timer) == 8, "ax_timer is 8-aligned");
    _Static_assert(_Alignof(ax_monitor_id) == 8, "ax_monitor_id is 8-aligned");
    _Static_assert(_Generic(AX_REF_NONE, ax_ref: 1, default: 0), "AX_REF_NONE is an ax_ref");
    _Static_assert(_Generic(AX_TIMER_NONE, ax_timer: 1, default: 0),
                   "AX_TIMER_NONE is an ax_timer");

    CHECK_EQ(AX_REF_NONE.id, 0);
    CHECK_EQ(AX_TIMER_NONE.id, 0);
    CHECK(ax_ref_is_none(AX_REF_NONE));
    CHECK(ax_ref_is_none((ax_ref){0}));

    /* Values that differ only in their high half, or only in their top bit, are not equal. */
    const uint64_t lo = 0x12345u, hi = lo | (1ULL << 32), top = 1ULL << 63;
    ax_ref r1 = {lo}, r1b = {lo}, r2 = {hi}, r3 = {top};
    CHECK(ax_ref_eq(r1, r1b));
    CHECK(ax_ref_eq(r3, (ax_ref){top}));
    CHECK(!ax_ref_eq(r1, r2));
    CHECK(!ax_ref_eq(r2, r1));
    CHECK(!ax_ref_eq(r1, AX_REF_NONE));
    CHECK(!ax_ref_eq(r3, AX_REF_NONE));
    CHECK(!ax_ref_is_none(r1));
    CHECK(!ax_ref_is_none(r3));

    ax_timer t1 = {lo}, t1b = {lo}, t2 = {hi}, t3 = {top};
    CHECK(ax_timer_eq(t1, t1b));
    CHECK(ax_timer_eq(AX_TIMER_NONE, (ax_timer){0}));
    CHECK(!ax_timer_eq(t1, t2));
    CHECK(!ax_timer_eq(t2, t1));
    CHECK(!ax_timer_eq(t3, AX_TIMER_NONE));

    ax_monitor_id m1 = {lo}, m1b = {lo}, m2 = {hi}, m3 = {top}, m0 = {0};
    CHECK(ax_monitor_eq(m1, m1b));
    CHECK(!ax_monitor_eq(m1, m2));
    CHECK(!ax_monitor_eq(m2, m1));
    CHECK(!ax_monitor_eq(m3, m0));

    /* Real handles: distinct, non-NONE, and equal to a copy that went through bytes (as a ref
     * inside a message does). */
    reset_counters();
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a = AX_REF_NONE, b = AX_REF_NONE, a_copy = AX_REF_NONE;
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &a));
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &b));
    memcpy(&a_copy, &a, sizeof a);
    CHECK(!ax_ref_is_none(a));
    CHECK(!ax_ref_is_none(b));
    CHECK(ax_ref_eq(a, a_copy));
    CHECK(!ax_ref_eq(a, b));
    ax_timer ta = AX_TIMER_NONE, tb = AX_TIMER_NONE;
    CHECK_OK(ax_send_after(rt, a, 1, NULL, 0, AX_TIMER_MAX_MS, &ta));
    CHECK_OK(ax_send_after(rt, a, 1, NULL, 0, AX_TIMER_MAX_MS, &tb));
    CHECK(!ax_timer_eq(ta, AX_TIMER_NONE));
    CHECK(!ax_timer_eq(ta, tb));
    CHECK_OK(ax_timer_cancel(rt, ta));
    CHECK_OK(ax_timer_cancel(rt, tb));
    fixture_destroy(rt);
}

/* ---- configuration -------------------------------------------------------------------- */

static void test_config_errors(void) {
    ax_runtime *rt = NULL;
    ax_config c = {0};
    CHECK_RC(ax_runtime_create(NULL, NULL), AX_EINVAL);
    CHECK_RC(ax_runtime_create(&c, NULL), AX_EINVAL);
    c.workers = -1;
    CHECK_RC(ax_runtime_create(&c, &rt), AX_EINVAL);
    c = (ax_config){0};
    c.batch = -1;
    CHECK_RC(ax_runtime_create(&c, &rt), AX_EINVAL);
    c = (ax_config){0};
    c.lifo_cap = -3;
    CHECK_RC(ax_runtime_create(&c, &rt), AX_EINVAL);
    c = (ax_config){0};
    c.stack_kb = INT_MIN;
    CHECK_RC(ax_runtime_create(&c, &rt), AX_EINVAL);
    /* A reserved field set (a field of a later version): refused, whichever it is. */
    for (size_t i = 0; i < sizeof c.reserved / sizeof c.reserved[0]; i += 5) {
        c = (ax_config){0};
        c.reserved[i] = 1;
        CHECK_RC(ax_runtime_create(&c, &rt), AX_EINVAL);
    }
    CHECK(rt == NULL);

    /* NULL config means defaults; a negative spin_us is valid (park at once). */
    CHECK_OK(ax_runtime_create(NULL, &rt));
    CHECK(rt != NULL);
    CHECK(ax_runtime_workers(rt) >= 1);
    CHECK_OK(ax_runtime_destroy(rt));
    rt = NULL;
    c = (ax_config){0};
    c.workers = 1;
    c.spin_us = -1;
    CHECK_OK(ax_runtime_create(&c, &rt));
    CHECK_EQ(ax_runtime_workers(rt), 1);
    CHECK_OK(ax_runtime_destroy(rt));
    /* Stack sizes beyond the bounds take the bound: 1 KiB means 1 MiB, INT_MAX 4 GiB (address
     * space only: pages are used as touched). */
    static const int beyond[] = {1, INT_MAX};
    for (size_t i = 0; i < sizeof beyond / sizeof beyond[0]; i++) {
        c = (ax_config){.workers = 1, .stack_kb = beyond[i]};
        CHECK_OK(ax_runtime_create(&c, &rt));
        CHECK_OK(ax_runtime_destroy(rt));
    }
}

/* ---- NULL for every pointer parameter -------------------------------------------------- */

static int null_cont(ax_ctx *ctx, void *state, int status, const ax_msg *reply, void *user) {
    (void)ctx;
    (void)state;
    (void)status;
    (void)reply;
    (void)user;
    return 0;
}

static void test_null_args(void) {
    reset_counters();
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a = AX_REF_NONE;
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &a));
    CHECK(!ax_ref_is_none(a));
    ax_stats st;
    ax_msg *m = NULL;

    CHECK_RC(ax_runtime_shutdown(NULL, 1000), AX_EINVAL);
    CHECK_RC(ax_runtime_destroy(NULL), AX_EINVAL);
    CHECK_EQ(ax_runtime_workers(NULL), 0);
    CHECK_EQ(ax_runtime_workers(rt), 2);

    ax_ref out = AX_REF_NONE;
    CHECK_RC(ax_spawn(NULL, &plain_b, NULL, NULL, &out), AX_EINVAL);
    CHECK_RC(ax_spawn(rt, NULL, NULL, NULL, &out), AX_EINVAL);
    CHECK_RC(ax_spawn(rt, &no_receive_b, NULL, NULL, &out), AX_EINVAL);
    CHECK_RC(ax_spawn(rt, &plain_b, NULL, NULL, NULL), AX_EINVAL);

    CHECK_RC(ax_send(NULL, a, 1, NULL, 0), AX_EINVAL);
    CHECK_RC(ax_send(rt, a, 1, NULL, 1), AX_EINVAL);

    CHECK_RC(ax_msg_alloc(NULL, 8, &m), AX_EINVAL);
    CHECK_RC(ax_msg_alloc(rt, 8, NULL), AX_EINVAL);
    CHECK_OK(ax_msg_alloc(rt, 8, &m));
    CHECK(m != NULL);
    memset(m->data, 0x5a, 8);
    CHECK_RC(ax_msg_send(NULL, a, 1, m), AX_EINVAL);
    CHECK_RC(ax_msg_send(rt, a, 1, NULL), AX_EINVAL);
    CHECK_RC(ax_msg_free(NULL, m), AX_EINVAL);
    CHECK_RC(ax_msg_free(rt, NULL), AX_EINVAL);
    CHECK_OK(ax_msg_free(rt, m)); /* the failed sends left it with us */

    CHECK_RC(ax_stop(NULL, a), AX_EINVAL);
    CHECK_EQ(ax_self(NULL).id, AX_REF_NONE.id);
    CHECK(ax_ctx_runtime(NULL) == NULL);
    CHECK_RC(ax_reply(NULL, 1, NULL, 0), AX_EINVAL);
    CHECK_RC(ax_ask(NULL, a, 1, NULL, 0,
        &(ax_ask_opts){.timeout_ms = 1000, .cont = null_cont, .user = NULL}), AX_EINVAL);

    ax_msg *reply = NULL;
    CHECK_RC(ax_ask_wait(NULL, a, 1, NULL, 0, 1000, &reply), AX_EINVAL);
    CHECK_RC(ax_ask_wait(rt, a, 1, NULL, 0, 1000, NULL), AX_EINVAL);
    CHECK_RC(ax_ask_wait(rt, a, 1, NULL, 0, 0, &reply), AX_EINVAL);
    CHECK_RC(ax_ask_wait(rt, a, 1, NULL, 0, -5, &reply), AX_EINVAL);
    CHECK_RC(ax_ask_wait(rt, a, 1, NULL, 4, 1000, &reply), AX_EINVAL);
    CHECK_RC(ax_ask_wait(rt, a, AX_MSG_RESERVED, NULL, 0, 1000, &reply), AX_EINVAL);
    CHECK(reply == NULL);

    CHECK_RC(ax_register(NULL, "n", a), AX_EINVAL);
    CHECK_RC(ax_register(rt, NULL, a), AX_EINVAL);
    CHECK_OK(ax_register(rt, "n", a));
    CHECK_RC(ax_whereis(NULL, "n", &out), AX_EINVAL);
    CHECK_RC(ax_whereis(rt, NULL, &out), AX_EINVAL);
    CHECK_RC(ax_whereis(rt, "n", NULL), AX_EINVAL);
    CHECK_RC(ax_unregister(NULL, "n"), AX_EINVAL);
    CHECK_RC(ax_unregister(rt, NULL), AX_EINVAL);
    out = AX_REF_NONE;
    CHECK_OK(ax_whereis(rt, "n", &out)); /* none of the failures touched the entry */
    CHECK_EQ(out.id, a.id);

    CHECK_RC(ax_set_dead_letter_actor(NULL, a), AX_EINVAL);
    CHECK_RC(ax_stats_get(NULL, &st), AX_EINVAL);
    CHECK_RC(ax_stats_get(rt, NULL), AX_EINVAL);
    CHECK_RC(ax_stats_worker(NULL, 0, &st), AX_EINVAL);
    CHECK_RC(ax_stats_worker(rt, 0, NULL), AX_EINVAL);
    CHECK_RC(ax_stats_worker(rt, -1, &st), AX_EINVAL);
    CHECK_RC(ax_stats_worker(rt, 2, &st), AX_EINVAL);
    CHECK_OK(ax_stats_worker(rt, 0, &st));
    memset(&st, 0xAB, sizeof st); /* the reserved fields are written, as zeros */
    CHECK_OK(ax_stats_worker(rt, 1, &st));
    for (size_t i = 0; i < sizeof st.reserved / sizeof st.reserved[0]; i++)
        CHECK_EQ(st.reserved[i], 0);
    memset(&st, 0xAB, sizeof st);
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.reserved[0], 0);
    CHECK_EQ(st.reserved[3], 0);

    fixture_shutdown(rt);
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.sent, 0); /* every send above failed */
    CHECK_EQ(g_received, 0);
    fixture_destroy(rt);
}

/* ---- sends: refs, sizes, types, data -------------------------------------------------- */

static void test_send_errors(void) {
    reset_counters();
    ax_runtime *rt = fixture_runtime(2);
    ax_ref live[3];
    for (int i = 0; i < 3; i++) CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &live[i]));
    CHECK(!ax_ref_eq(live[0], live[1]) && !ax_ref_eq(live[1], live[2]) &&
          !ax_ref_eq(live[0], live[2]));

    CHECK_RC(ax_send(rt, AX_REF_NONE, 1, NULL, 0), AX_ENOACTOR);
    CHECK_RC(ax_send(rt, AX_REF_NONE, 1, "x", 1), AX_ENOACTOR);

    /* A few hundred never-valid refs: random 64-bit values plus small and extreme ones.
     * Anything that is not one of the live refs names no actor. */
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    int tried = 0;
    for (int i = 0; i < 400; i++) {
        ax_ref r;
        if (i < 64)
            r.id = (uint64_t)(i + 1);
        else if (i < 96)
            r.id = UINT64_MAX - (uint64_t)(i - 64);
        else if (i < 128)
            r.id = (uint64_t)1 << (i - 96 + 32);
        else
            r.id = check_rand(&seed);
        if (ax_ref_eq(r, live[0]) || ax_ref_eq(r, live[1]) || ax_ref_eq(r, live[2]) ||
            ax_ref_is_none(r))
            continue;
        CHECK_RC(ax_send(rt, r, 1, &i, sizeof i), AX_ENOACTOR);
        CHECK_RC(ax_stop(rt, r), AX_ENOACTOR);
        tried++;
    }
    CHECK(tried >= 390);

    /* Sizes. */
    for (uint32_t i = 0; i < AX_MSG_MAX; i++) g_big[i] = (unsigned char)(i * 7u);
    CHECK_RC(ax_send(rt, live[0], 2, g_big, AX_MSG_MAX + 1), AX_EMSGSIZE);
    CHECK_RC(ax_send(rt, live[0], 2, g_big, SIZE_MAX), AX_EMSGSIZE);
    ax_msg *m = NULL;
    CHECK_RC(ax_msg_alloc(rt, AX_MSG_MAX + 1, &m), AX_EMSGSIZE);
    CHECK_OK(ax_send(rt, live[0], 2, g_big, AX_MSG_MAX));

    /* Types. */
    CHECK_RC(ax_send(rt, live[0], AX_MSG_RESERVED, NULL, 0), AX_EINVAL);
    CHECK_RC(ax_send(rt, live[0], AX_MSG_DEAD_LETTER, NULL, 0), AX_EINVAL);
    CHECK_RC(ax_send(rt, live[0], 0xFFFFFFFFu, NULL, 0), AX_EINVAL);
    CHECK_OK(ax_send(rt, live[0], AX_MSG_RESERVED - 1, NULL, 0));

    /* Data. */
    CHECK_RC(ax_send(rt, live[1], 1, NULL, 1), AX_EINVAL);
    CHECK_RC(ax_send(rt, live[1], 1, NULL, 100), AX_EINVAL);
    CHECK_OK(ax_send(rt, live[1], 1, NULL, 0));

    WAIT_ATOMIC(g_received, 3);
    CHECK_EQ(g_big_ok, 1);

    /* A stopped actor: once its stopped hook ran, its ref is invalid for good. */
    CHECK_OK(ax_stop(rt, live[2]));
    WAIT_ATOMIC(g_stopped, 1);
    CHECK_RC(ax_send(rt, live[2], 1, NULL, 0), AX_ENOACTOR);
    CHECK_RC(ax_stop(rt, live[2]), AX_ENOACTOR);
    CHECK_RC(ax_register(rt, "gone", live[2]), AX_ENOACTOR);
    CHECK_RC(ax_register(rt, "gone", AX_REF_NONE), AX_ENOACTOR);
    CHECK_RC(ax_set_dead_letter_actor(rt, live[2]), AX_ENOACTOR);
    ax_msg *reply = NULL;
    CHECK_RC(ax_ask_wait(rt, live[2], 1, NULL, 0, 1000, &reply), AX_ENOACTOR);
    CHECK_OK(ax_msg_alloc(rt, 4, &m));
    memcpy(m->data, "abcd", 4);
    CHECK_RC(ax_msg_send(rt, live[2], 1, m), AX_ENOACTOR);
    CHECK_RC(ax_msg_send(rt, AX_REF_NONE, 1, m), AX_ENOACTOR);
    CHECK_RC(ax_msg_send(rt, live[1], AX_MSG_RESERVED, m), AX_EINVAL);
    CHECK_OK(ax_msg_send(rt, live[1], 1, m)); /* still ours after the failures: send it */
    WAIT_ATOMIC(g_received, 4);

    /* Spawn after the stop never reissues the dead ref. */
    for (int i = 0; i < 50; i++) {
        ax_ref r;
        CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &r));
        CHECK(!ax_ref_eq(r, live[2]) && !ax_ref_is_none(r));
        CHECK_OK(ax_stop(rt, r));
    }
    WAIT_ATOMIC(g_stopped, 51);
    CHECK_RC(ax_send(rt, live[2], 1, NULL, 0), AX_ENOACTOR);

    fixture_shutdown(rt);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.sent, 4);
    CHECK_EQ(st.processed, 4);
    CHECK_EQ(st.dead_letters, 0);
    CHECK_EQ(g_received, 4);
    CHECK_EQ(g_stopped_other, 0);
    fixture_destroy(rt);
}

/* ---- spawn: init failure -------------------------------------------------------------- */

static atomic_int g_failinit_calls;
static atomic_int g_failinit_stopped;

static int failinit_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    (void)state;
    (void)arg;
    atomic_fetch_add(&g_failinit_calls, 1);
    return -1;
}

static void failinit_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    (void)state;
    (void)reason;
    atomic_fetch_add(&g_failinit_stopped, 1);
}

static const ax_behavior failinit_b = {"failinit", 32, failinit_init, plain_receive,
                                       failinit_stopped};

static void test_spawn_errors(void) {
    reset_counters();
    ax_runtime *rt = fixture_runtime(2);
    ax_ref r = AX_REF_NONE;
    for (int i = 0; i < 5; i++) CHECK_RC(ax_spawn(rt, &failinit_b, &i, NULL, &r), AX_EINIT);
    CHECK_EQ(g_failinit_calls, 5);
    CHECK_RC(ax_spawn(rt, NULL, NULL, NULL, &r), AX_EINVAL);
    CHECK_RC(ax_spawn(rt, &no_receive_b, NULL, NULL, &r), AX_EINVAL);
    ax_spawn_opts so = {0};
    so.reserved[4] = 7;
    CHECK_RC(ax_spawn(rt, &plain_b, NULL, &so, &r), AX_EINVAL);
    fixture_shutdown(rt);
    CHECK_RC(ax_spawn(rt, &plain_b, NULL, NULL, &r), AX_ESHUTDOWN);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.spawned, 0); /* nothing was spawned */
    CHECK_EQ(st.stopped, 0);
    CHECK_EQ(g_failinit_stopped, 0); /* the workers are joined: it can no longer run */
    CHECK_EQ(g_stopped, 0);
    fixture_destroy(rt);
}

/* ---- registry ------------------------------------------------------------------------- */

static void test_registry_errors(void) {
    reset_counters();
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a, b, c, out = AX_REF_NONE;
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &a));
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &b));
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &c));

    char longest[AX_NAME_MAX + 1], too_long[AX_NAME_MAX + 2];
    memset(longest, 'L', AX_NAME_MAX);
    longest[AX_NAME_MAX] = '\0';
    memset(too_long, 'T', AX_NAME_MAX + 1);
    too_long[AX_NAME_MAX + 1] = '\0';

    CHECK_OK(ax_register(rt, "alpha", a));
    CHECK_RC(ax_register(rt, "alpha", b), AX_EEXIST); /* name taken */
    CHECK_RC(ax_register(rt, "alpha", a), AX_EEXIST);
    CHECK_RC(ax_register(rt, "beta", a), AX_EEXIST);  /* actor already named */
    CHECK_RC(ax_register(rt, too_long, b), AX_ENAMETOOLONG);
    CHECK_RC(ax_register(rt, "", b), AX_ENAMETOOLONG);
    CHECK_RC(ax_whereis(rt, too_long, &out), AX_ENAMETOOLONG);
    CHECK_RC(ax_whereis(rt, "", &out), AX_ENAMETOOLONG);
    CHECK_RC(ax_unregister(rt, too_long), AX_ENAMETOOLONG);
    CHECK_RC(ax_unregister(rt, ""), AX_ENAMETOOLONG);
    CHECK_RC(ax_unregister(rt, "nope"), AX_ENOENT);
    CHECK_RC(ax_whereis(rt, "nope", &out), AX_ENOENT);
    CHECK_RC(ax_whereis(rt, "alph", &out), AX_ENOENT);
    CHECK_RC(ax_whereis(rt, "alphaa", &out), AX_ENOENT);

    /* The longest legal name works, b can take it, and names are copied. */
    CHECK_OK(ax_register(rt, longest, b));
    char copy[AX_NAME_MAX + 1];
    memcpy(copy, longest, sizeof copy);
    longest[0] = 'X';
    CHECK_OK(ax_whereis(rt, copy, &out));
    CHECK_EQ(out.id, b.id);
    CHECK_RC(ax_whereis(rt, longest, &out), AX_ENOENT);

    out = AX_REF_NONE;
    CHECK_OK(ax_whereis(rt, "alpha", &out));
    CHECK_EQ(out.id, a.id);
    CHECK_OK(ax_unregister(rt, "alpha"));
    CHECK_RC(ax_unregister(rt, "alpha"), AX_ENOENT);
    CHECK_RC(ax_whereis(rt, "alpha", &out), AX_ENOENT);
    /* a is nameless again, so it may take a new name; c can take "alpha". */
    CHECK_OK(ax_register(rt, "beta", a));
    CHECK_OK(ax_register(rt, "alpha", c));
    CHECK_RC(ax_register(rt, "gamma", c), AX_EEXIST);

    fixture_destroy(rt);
    CHECK_EQ(g_stopped, 3);
}

/* ---- misuse from inside a handler ----------------------------------------------------- */

enum {
    P_ASK0,
    P_ASKNEG,
    P_ASKNULLCONT,
    P_ASKBADTYPE,
    P_ASKNULLDATA,
    P_ASKBIG,
    P_ASKNOACTOR,
    P_ASKWAIT,
    P_ASKNULLOPTS,
    P_ASKRESERVED,
    P_SHUTDOWN,
    P_DESTROY,
    P_REPLY_OUTSIDE,
    P_SEND_BADTYPE,
    P_RT_MATCH,
    P_SELF_OK,
    P_COUNT
};
static atomic_int g_probe[P_COUNT];
static atomic_int g_probe_done;
static atomic_int g_probe_cont_calls;
static ax_runtime *g_probe_rt;

static int probe_cont(ax_ctx *ctx, void *state, int status, const ax_msg *reply, void *user) {
    (void)ctx;
    (void)state;
    (void)status;
    (void)reply;
    (void)user;
    atomic_fetch_add(&g_probe_cont_calls, 1);
    return 0;
}

static int probe_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    atomic_fetch_add(&g_received, 1);
    if (msg->type != 50) return 0;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    ax_ref self = ax_self(ctx);
    ax_msg *reply = NULL;
    atomic_store(&g_probe[P_RT_MATCH], rt == g_probe_rt);
    atomic_store(&g_probe[P_SELF_OK], !ax_ref_is_none(self));
    atomic_store(&g_probe[P_ASK0], ax_ask(ctx, self, 1, NULL, 0,
        &(ax_ask_opts){.timeout_ms = 0, .cont = probe_cont, .user = NULL}));
    atomic_store(&g_probe[P_ASKNEG], ax_ask(ctx, self, 1, NULL, 0,
        &(ax_ask_opts){.timeout_ms = -5, .cont = probe_cont, .user = NULL}));
    atomic_store(&g_probe[P_ASKNULLCONT], ax_ask(ctx, self, 1, NULL, 0,
        &(ax_ask_opts){.timeout_ms = 1000, .cont = NULL, .user = NULL}));
    atomic_store(&g_probe[P_ASKBADTYPE],
                 ax_ask(ctx, self, AX_MSG_RESERVED, NULL, 0,
        &(ax_ask_opts){.timeout_ms = 1000, .cont = probe_cont, .user = NULL}));
    atomic_store(&g_probe[P_ASKNULLDATA], ax_ask(ctx, self, 1, NULL, 4,
        &(ax_ask_opts){.timeout_ms = 1000, .cont = probe_cont, .user = NULL}));
    atomic_store(&g_probe[P_ASKBIG],
                 ax_ask(ctx, self, 1, g_big, AX_MSG_MAX + 1,
        &(ax_ask_opts){.timeout_ms = 1000, .cont = probe_cont, .user = NULL}));
    atomic_store(&g_probe[P_ASKNOACTOR],
                 ax_ask(ctx, AX_REF_NONE, 1, NULL, 0,
        &(ax_ask_opts){.timeout_ms = 1000, .cont = probe_cont, .user = NULL}));
    atomic_store(&g_probe[P_ASKWAIT], ax_ask_wait(rt, self, 1, NULL, 0, 1000, &reply));
    atomic_store(&g_probe[P_ASKNULLOPTS], ax_ask(ctx, self, 1, NULL, 0, NULL));
    ax_ask_opts later = {.timeout_ms = 1000, .cont = probe_cont, .reserved = {[4] = 1}};
    atomic_store(&g_probe[P_ASKRESERVED], ax_ask(ctx, self, 1, NULL, 0, &later));
    atomic_store(&g_probe[P_SHUTDOWN], ax_runtime_shutdown(rt, 1000));
    atomic_store(&g_probe[P_DESTROY], ax_runtime_destroy(rt));
    /* The probe message came from outside with a plain send: nobody to reply to. */
    atomic_store(&g_probe[P_REPLY_OUTSIDE], ax_reply(ctx, 1, NULL, 0));
    atomic_store(&g_probe[P_SEND_BADTYPE], ax_send(rt, self, AX_MSG_RESERVED, NULL, 0));
    atomic_store(&g_probe_done, 1);
    return 0;
}

static const ax_behavior probe_b = {"probe", 0, NULL, probe_receive, plain_stopped};

static void test_in_handler(void) {
    reset_counters();
    ax_runtime *rt = fixture_runtime(2);
    g_probe_rt = rt;
    for (int i = 0; i < P_COUNT; i++) atomic_store(&g_probe[i], 12345);
    ax_ref p;
    CHECK_OK(ax_spawn(rt, &probe_b, NULL, NULL, &p));
    CHECK_OK(ax_send(rt, p, 50, NULL, 0));
    WAIT_ATOMIC(g_probe_done, 1);

    CHECK_EQ(g_probe[P_RT_MATCH], 1);
    CHECK_EQ(g_probe[P_SELF_OK], 1);
    CHECK_RC_OF(ax_ask, g_probe[P_ASK0], AX_EINVAL);
    CHECK_RC_OF(ax_ask, g_probe[P_ASKNEG], AX_EINVAL);
    CHECK_RC_OF(ax_ask, g_probe[P_ASKNULLCONT], AX_EINVAL);
    CHECK_RC_OF(ax_ask, g_probe[P_ASKBADTYPE], AX_EINVAL);
    CHECK_RC_OF(ax_ask, g_probe[P_ASKNULLDATA], AX_EINVAL);
    CHECK_RC_OF(ax_ask, g_probe[P_ASKBIG], AX_EMSGSIZE);
    CHECK_RC_OF(ax_ask, g_probe[P_ASKNOACTOR], AX_ENOACTOR);
    CHECK_RC_OF(ax_ask_wait, g_probe[P_ASKWAIT], AX_ECONTEXT);
    CHECK_RC_OF(ax_ask, g_probe[P_ASKNULLOPTS], AX_EINVAL);
    CHECK_RC_OF(ax_ask, g_probe[P_ASKRESERVED], AX_EINVAL);
    CHECK_RC_OF(ax_runtime_shutdown, g_probe[P_SHUTDOWN], AX_ECONTEXT);
    CHECK_RC_OF(ax_runtime_destroy, g_probe[P_DESTROY], AX_ECONTEXT);
    CHECK_RC_OF(ax_reply, g_probe[P_REPLY_OUTSIDE], AX_ENOACTOR);
    CHECK_RC_OF(ax_send, g_probe[P_SEND_BADTYPE], AX_EINVAL);

    /* The runtime survived the refused shutdown/destroy from the handler. */
    CHECK_OK(ax_send(rt, p, 1, NULL, 0));
    WAIT_ATOMIC(g_received, 2);
    fixture_shutdown(rt);
    CHECK_EQ(g_probe_cont_calls, 0); /* every failed ask: its continuation never ran */
    CHECK_EQ(g_stopped_shutdown, 1);
    fixture_destroy(rt);
}

/* ---- shutdown ------------------------------------------------------------------------- */

static void test_shutdown_errors(void) {
    reset_counters();
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a;
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &a));
    CHECK_OK(ax_send(rt, a, 1, NULL, 0));
    ax_msg *pre = NULL;
    CHECK_OK(ax_msg_alloc(rt, 16, &pre));
    memset(pre->data, 1, 16);

    CHECK_OK(ax_runtime_shutdown(rt, 10000));
    CHECK_EQ(g_stopped, 1);
    CHECK_EQ(g_stopped_shutdown, 1);
    CHECK_EQ(g_received, 1); /* shutdown drains before it stops the actors */
    CHECK_RC(ax_runtime_shutdown(rt, 10000), AX_ESHUTDOWN);
    CHECK_RC(ax_runtime_shutdown(rt, 0), AX_ESHUTDOWN);

    ax_ref r;
    ax_msg *m = NULL, *reply = NULL;
    CHECK_RC(ax_send(rt, a, 1, NULL, 0), AX_ESHUTDOWN);
    CHECK_RC(ax_send(rt, a, 1, "abc", 3), AX_ESHUTDOWN);
    CHECK_RC(ax_spawn(rt, &plain_b, NULL, NULL, &r), AX_ESHUTDOWN);
    CHECK_RC(ax_msg_alloc(rt, 16, &m), AX_ESHUTDOWN);
    CHECK_RC(ax_msg_send(rt, a, 1, pre), AX_ESHUTDOWN);
    CHECK_OK(ax_msg_free(rt, pre)); /* still ours after the refused send */
    CHECK_RC(ax_ask_wait(rt, a, 1, NULL, 0, 1000, &reply), AX_ESHUTDOWN);
    CHECK(reply == NULL);

    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.sent, 1);
    CHECK_EQ(st.processed, 1);
    CHECK_EQ(st.spawned, 1);
    CHECK_EQ(st.stopped, 1);
    CHECK_OK(ax_runtime_destroy(rt));
    CHECK_EQ(g_stopped, 1); /* destroy after shutdown stops nobody twice */
}

/* Destroying a live runtime shuts it down: every live actor's stopped hook runs. */
static void test_destroy_live(void) {
    reset_counters();
    ax_runtime *rt = fixture_runtime(2);
    enum { N = 25 };
    for (int i = 0; i < N; i++) {
        ax_ref r;
        CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &r));
        for (int k = 0; k < 4; k++) CHECK_OK(ax_send(rt, r, 1, &k, sizeof k));
        if (i % 5 == 0) { /* some hold names, which shutdown must release cleanly too */
            char name[32];
            snprintf(name, sizeof name, "live-%d", i);
            CHECK_OK(ax_register(rt, name, r));
        }
    }
    fixture_destroy(rt);
    CHECK_EQ(g_stopped, N);
    CHECK_EQ(g_stopped_shutdown, N);
    CHECK_EQ(g_stopped_other, 0);
}

/* ---- bounded mailboxes ---------------------------------------------------------------- */

static atomic_int g_gate;
static atomic_int g_gate_entered;
static atomic_int g_gate_timeout;
static atomic_int g_gated_received;
static atomic_int g_gated_seq[64];

struct gated_state {
    int n;
};

/* The first message parks this actor's worker on the test's gate, so later sends queue up. */
static int gated_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    struct gated_state *s = state;
    if (s->n++ == 0) {
        atomic_store(&g_gate_entered, 1);
        if (check_spin_until_set(&g_gate) != 0) atomic_store(&g_gate_timeout, 1);
        return 0;
    }
    int seq = -1;
    if (msg->size == sizeof seq) memcpy(&seq, msg->data, sizeof seq);
    int i = atomic_fetch_add(&g_gated_received, 1);
    if (i < 64) atomic_store(&g_gated_seq[i], seq);
    return 0;
}

static const ax_behavior gated_b = {"gated", sizeof(struct gated_state), NULL, gated_receive,
                                    plain_stopped};

static void reset_gate(void) {
    atomic_store(&g_gate, 0);
    atomic_store(&g_gate_entered, 0);
    atomic_store(&g_gate_timeout, 0);
    atomic_store(&g_gated_received, 0);
    for (int i = 0; i < 64; i++) atomic_store(&g_gated_seq[i], -1);
}

static void test_bounded_refuse(void) {
    reset_counters();
    reset_gate();
    ax_runtime *rt = fixture_runtime(2);
    ax_spawn_opts o = {.mailbox_capacity = 4, .overflow = AX_OVERFLOW_REFUSE};
    ax_ref g;
    CHECK_OK(ax_spawn(rt, &gated_b, NULL, &o, &g));
    int seq = 0;
    CHECK_OK(ax_send(rt, g, 1, &seq, sizeof seq));
    WAIT_ATOMIC(g_gate_entered, 1);

    int accepted[64], n_acc = 0, n_ref = 0;
    for (seq = 1; seq <= 40; seq++) {
        int rc = ax_send(rt, g, 1, &seq, sizeof seq);
        if (rc == 0) {
            CHECK(n_ref == 0); /* once full, it stays full while the receiver is held */
            accepted[n_acc++] = seq;
        } else {
            CHECK_RC_OF(ax_send, rc, AX_EFULL);
            n_ref++;
        }
    }
    /* Zero-copy sends meet the same limit and leave the message with the caller. */
    ax_msg *m = NULL;
    CHECK_OK(ax_msg_alloc(rt, sizeof seq, &m));
    memcpy(m->data, &seq, sizeof seq);
    CHECK_RC(ax_msg_send(rt, g, 1, m), AX_EFULL);
    CHECK_OK(ax_msg_free(rt, m));

    fprintf(stderr, "bounded refuse: capacity 4, accepted %d, refused %d\n", n_acc, n_ref);
    CHECK(n_acc >= 1 && n_acc <= 4);
    CHECK_EQ(n_acc + n_ref, 40);
    atomic_store(&g_gate, 1);
    WAIT_ATOMIC(g_gated_received, n_acc);

    /* Room again: a send after the drain is accepted. */
    seq = 100;
    CHECK_OK(ax_send(rt, g, 1, &seq, sizeof seq));
    WAIT_ATOMIC(g_gated_received, n_acc + 1);
    fixture_shutdown(rt);
    CHECK_EQ(g_gate_timeout, 0);
    CHECK_EQ(g_gated_received, n_acc + 1);
    for (int i = 0; i < n_acc; i++) CHECK_EQ(g_gated_seq[i], accepted[i]);
    CHECK_EQ(g_gated_seq[n_acc], 100);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.sent, (uint64_t)n_acc + 2);
    CHECK_EQ(st.processed, (uint64_t)n_acc + 2);
    CHECK_EQ(st.dead_letters, 0);
    fixture_destroy(rt);
}

static atomic_int g_dl_count;
static atomic_int g_dl_bad;
static atomic_int g_dl_seen[64];
static ax_ref g_dl_expect_target;

static int dl_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    (void)state;
    ax_dead_letter d;
    int seq = -1;
    if (msg->type != AX_MSG_DEAD_LETTER || msg->size != sizeof d + sizeof seq) {
        atomic_fetch_add(&g_dl_bad, 1);
        return 0;
    }
    memcpy(&d, msg->data, sizeof d);
    memcpy(&seq, msg->data + sizeof d, sizeof seq);
    if (!ax_ref_eq(d.target, g_dl_expect_target) || !ax_ref_is_none(d.sender) || d.type != 1 ||
        d.size != sizeof seq || d.reason != AX_DEAD_FULL || seq < 1 || seq >= 64)
        atomic_fetch_add(&g_dl_bad, 1);
    else
        atomic_fetch_add(&g_dl_seen[seq], 1);
    atomic_fetch_add(&g_dl_count, 1);
    return 0;
}

static const ax_behavior dl_b = {"dead-letters", 0, NULL, dl_receive, NULL};

static void test_bounded_dead_letter(void) {
    reset_counters();
    reset_gate();
    atomic_store(&g_dl_count, 0);
    atomic_store(&g_dl_bad, 0);
    for (int i = 0; i < 64; i++) atomic_store(&g_dl_seen[i], 0);
    ax_runtime *rt = fixture_runtime(2);
    ax_ref dl, g;
    CHECK_OK(ax_spawn(rt, &dl_b, NULL, NULL, &dl));
    CHECK_OK(ax_set_dead_letter_actor(rt, dl));
    ax_spawn_opts o = {.mailbox_capacity = 4, .overflow = AX_OVERFLOW_DEAD_LETTER};
    CHECK_OK(ax_spawn(rt, &gated_b, NULL, &o, &g));
    g_dl_expect_target = g;
    int seq = 0;
    CHECK_OK(ax_send(rt, g, 1, &seq, sizeof seq));
    WAIT_ATOMIC(g_gate_entered, 1);

    enum { SENDS = 20 };
    for (seq = 1; seq <= SENDS; seq++) CHECK_OK(ax_send(rt, g, 1, &seq, sizeof seq));
    atomic_store(&g_gate, 1);
    WAIT_UNTIL(atomic_load(&g_gated_received) + atomic_load(&g_dl_count) >= SENDS);
    fixture_shutdown(rt);

    int processed = atomic_load(&g_gated_received), dead = atomic_load(&g_dl_count);
    fprintf(stderr, "bounded dead-letter: capacity 4, processed %d, dead letters %d\n",
            processed, dead);
    CHECK_EQ(g_gate_timeout, 0);
    CHECK_EQ(g_dl_bad, 0);
    CHECK_EQ(processed + dead, SENDS);
    CHECK(processed >= 1 && processed <= 4);
    /* Each seq went exactly one way. */
    for (int i = 0; i < processed; i++) {
        int s = g_gated_seq[i];
        CHECK(s >= 1 && s <= SENDS);
        CHECK_EQ(g_dl_seen[s], 0);
        atomic_store(&g_dl_seen[s], 1);
    }
    for (int s = 1; s <= SENDS; s++) CHECK_EQ(g_dl_seen[s], 1);
    ax_stats st;
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.dead_letters, (uint64_t)dead);
    /* With this policy the over-capacity sends were accepted. The notices to the dead-letter
     * actor are the runtime's, not user messages: neither sent nor processed counts them. */
    CHECK_EQ(st.sent, SENDS + 1);
    CHECK_EQ(st.processed, (uint64_t)processed + 1);
    fixture_destroy(rt);
}

/* ---- the codes a handler meets from full mailboxes, big payloads and unknown monitors ---- */

/* The helper: on M_ASK_FULL it asks the full actor in its payload; on M_REQ (from the asker) it
 * waits for gate 2 and then replies into the asker's full mailbox. */
enum { M_ASK_FULL = 60, M_REQ = 61, M_GO = 62, M_HOLD = 63 };
static atomic_int g_gate2, g_gate2_entered, g_codes_done;

static int codes_cont(ax_ctx *ctx, void *state, int status, const ax_msg *reply, void *user) {
    (void)ctx, (void)state, (void)status, (void)reply, (void)user;
    HCHECK(0); /* every ask below fails, so no continuation may run */
    return 0;
}

static int helper_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type == M_ASK_FULL) {
        ax_ref full;
        memcpy(&full, msg->data, sizeof full);
        HCHECK(ax_ask(ctx, full, 1, NULL, 0,
        &(ax_ask_opts){.timeout_ms = 1000, .cont = codes_cont, .user = NULL}) == AX_EFULL);
        HCHECK(ax_reply(ctx, 1, g_big, AX_MSG_MAX + 1) == AX_EMSGSIZE);
        HCHECK(ax_demonitor(ctx, (ax_monitor_id){987654321}) == AX_ENOENT);
        HCHECK(ax_supervisor_start_child(ax_ctx_runtime(ctx), full, NULL, 0, &full) ==
               AX_ECONTEXT);
    } else if (msg->type == M_REQ) {
        atomic_store(&g_gate2_entered, 1);
        HCHECK(check_spin_until_set(&g_gate2) == 0);
        HCHECK(ax_reply(ctx, 1, NULL, 0) == AX_EFULL); /* the asker's mailbox of 1 is full */
    }
    atomic_fetch_add(&g_codes_done, 1);
    return 0;
}

static const ax_behavior helper_b = {"codes-helper", 0, NULL, helper_receive, NULL};

/* The asker (mailbox of 1): on M_GO sends M_REQ to the helper; on M_HOLD holds at the gate
 * (a held handler's worker keeps the task it woke last, so the two must not overlap). */
static int asker_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type == M_GO) {
        ax_ref helper;
        memcpy(&helper, msg->data, sizeof helper);
        HCHECK(ax_send(ax_ctx_runtime(ctx), helper, M_REQ, NULL, 0) == 0);
    } else if (msg->type == M_HOLD) {
        atomic_store(&g_gate_entered, 1);
        HCHECK(check_spin_until_set(&g_gate) == 0);
    }
    return 0;
}

static const ax_behavior asker_b = {"codes-asker", 0, NULL, asker_receive, NULL};

static void test_full_and_big_in_handlers(void) {
    reset_counters();
    reset_gate();
    atomic_store(&g_gate2, 0);
    atomic_store(&g_gate2_entered, 0);
    atomic_store(&g_codes_done, 0);
    ax_runtime *rt = fixture_runtime(2);
    ax_spawn_opts one = {.mailbox_capacity = 1, .overflow = AX_OVERFLOW_REFUSE};
    ax_ref full, helper, asker;
    CHECK_OK(ax_spawn(rt, &gated_b, NULL, &one, &full));
    CHECK_OK(ax_send(rt, full, 1, NULL, 0));
    WAIT_ATOMIC(g_gate_entered, 1);
    CHECK_OK(ax_send(rt, full, 1, NULL, 0)); /* fills it */
    CHECK_RC(ax_send(rt, full, 1, NULL, 0), AX_EFULL);
    CHECK_OK(ax_spawn(rt, &helper_b, NULL, NULL, &helper));
    CHECK_OK(ax_send(rt, helper, M_ASK_FULL, &full, sizeof full));
    WAIT_ATOMIC(g_codes_done, 1);
    atomic_store(&g_gate, 1);
    WAIT_ATOMIC(g_gated_received, 1); /* `full` let go of its worker */

    reset_gate();
    CHECK_OK(ax_spawn(rt, &asker_b, NULL, &one, &asker));
    CHECK_OK(ax_send(rt, asker, M_GO, &helper, sizeof helper));
    WAIT_ATOMIC(g_gate2_entered, 1); /* the helper holds M_REQ */
    CHECK_OK(ax_send(rt, asker, M_HOLD, NULL, 0));
    WAIT_ATOMIC(g_gate_entered, 1);
    CHECK_OK(ax_send(rt, asker, 1, NULL, 0)); /* fills the asker's mailbox */
    atomic_store(&g_gate2, 1);
    WAIT_ATOMIC(g_codes_done, 2);
    atomic_store(&g_gate, 1);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* Payload sizes checked at the zero-copy send and at ax_ask_wait. */
static void test_sizes_outside(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a;
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &a));
    ax_msg *m = NULL, *reply = NULL;
    CHECK_OK(ax_msg_alloc(rt, 16, &m));
    m->size = AX_MSG_MAX + 1; /* a caller that overwrote the size */
    CHECK_RC(ax_msg_send(rt, a, 1, m), AX_EMSGSIZE);
    m->size = 16;
    CHECK_OK(ax_msg_free(rt, m));
    CHECK_RC(ax_ask_wait(rt, a, 1, g_big, AX_MSG_MAX + 1, 1000, &reply), AX_EMSGSIZE);
    fixture_destroy(rt);
}

/* A handler that never returns in time: shutdown gives AX_ETIMEDOUT, destroy AX_EBUSY after its
 * own 10 s, and a destroy after the handler returned succeeds. */
static void test_stuck_handler(void) {
    reset_counters();
    reset_gate();
    ax_runtime *rt = fixture_runtime(2);
    ax_ref g;
    CHECK_OK(ax_spawn(rt, &gated_b, NULL, NULL, &g));
    CHECK_OK(ax_send(rt, g, 1, NULL, 0));
    WAIT_ATOMIC(g_gate_entered, 1);
    CHECK_RC(ax_runtime_shutdown(rt, 50), AX_ETIMEDOUT);
    CHECK_RC(ax_runtime_destroy(rt), AX_EBUSY);
    CHECK_EQ(g_stopped, 0);
    atomic_store(&g_gate, 1);
    CHECK_OK(ax_runtime_destroy(rt));
    CHECK_EQ(g_stopped, 1);
    CHECK_EQ(g_gate_timeout, 0);
}

TEST_MAIN(TEST_CASE(test_strerror), TEST_CASE(test_handles), TEST_CASE(test_config_errors),
          TEST_CASE(test_null_args), TEST_CASE(test_send_errors), TEST_CASE(test_spawn_errors),
          TEST_CASE(test_registry_errors), TEST_CASE(test_in_handler),
          TEST_CASE(test_shutdown_errors), TEST_CASE(test_destroy_live),
          TEST_CASE(test_bounded_refuse), TEST_CASE(test_bounded_dead_letter),
          TEST_CASE(test_full_and_big_in_handlers), TEST_CASE(test_sizes_outside),
          TEST_CASE(test_stuck_handler))
