/* SPDX-License-Identifier: MIT */
/* test_blocking.c: ax_run_blocking: every result arrives once, as a message; jobs run off the
 * workers (they may block, even in ax_ask_wait) and in parallel up to the pool's size; a full
 * queue refuses; results to stopped actors are dead letters; shutdown drops jobs not started
 * and waits for running ones; misuse gets its codes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "runner.h"

enum { T_DONE = 1, T_PING = 2, T_ECHO = 3 };

static atomic_int g_done, g_bad;
static _Atomic int64_t g_sum;

static int sum_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state;
    if (msg->type != T_DONE || msg->size != sizeof(ax_blocking_done) ||
        !ax_ref_is_none(msg->sender)) {
        atomic_fetch_add(&g_bad, 1);
        return 0;
    }
    ax_blocking_done d;
    memcpy(&d, msg->data, sizeof d);
    if (d.result != 2 * (int64_t)(intptr_t)d.arg) atomic_fetch_add(&g_bad, 1);
    atomic_fetch_add(&g_sum, d.result);
    atomic_fetch_add(&g_done, 1);
    return 0;
}
static const ax_behavior sum_b = {"sum", 0, NULL, sum_receive, NULL};

static int64_t twice(void *arg) { return 2 * (int64_t)(intptr_t)arg; }

static void test_results_arrive(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &sum_b, NULL, NULL, &r));
    enum { N = 300 };
    int64_t want = 0;
    for (int i = 1; i <= N; i++) {
        int rc;
        while ((rc = ax_run_blocking(rt, r, T_DONE, twice, (void *)(intptr_t)i)) == AX_EFULL)
            check_sleep_us(100);
        CHECK_OK(rc);
        want += 2 * i;
    }
    WAIT_ATOMIC(g_done, N);
    CHECK_EQ(atomic_load(&g_sum), want);
    CHECK_EQ(atomic_load(&g_bad), 0);
    check_sleep_us(20000);
    CHECK_EQ(atomic_load(&g_done), N); /* once each */
    fixture_destroy(rt);
}

/* A job blocks: in ax_ask_wait (refused on a worker with AX_ECONTEXT), so it is on a thread
 * of its own; meanwhile the only worker keeps serving. */
static ax_runtime *g_rt;
static ax_ref g_echo;
static atomic_int g_pings;

static int echo_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type == T_PING) atomic_fetch_add(&g_pings, 1);
    else return ax_reply(ctx, T_ECHO, msg->data, msg->size);
    return 0;
}
static const ax_behavior echo_b = {"echo", 0, NULL, echo_receive, NULL};

static int64_t ask_from_job(void *arg) {
    int64_t v = (int64_t)(intptr_t)arg;
    /* The jobs hold their threads until the only worker has served every ping. */
    int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
    while (atomic_load(&g_pings) < 100 && check_now_ms() < deadline) check_sleep_us(200);
    ax_msg *reply = NULL;
    int rc = ax_ask_wait(g_rt, g_echo, 9, &v, sizeof v, 5000, &reply);
    if (rc != 0) return -1000 + rc;
    int64_t got;
    memcpy(&got, reply->data, sizeof got);
    ax_msg_free(g_rt, reply);
    return 2 * got;
}

static void test_jobs_block_off_workers(void) {
    g_rt = fixture_runtime(1);
    ax_ref r;
    CHECK_OK(ax_spawn(g_rt, &echo_b, NULL, NULL, &g_echo));
    CHECK_OK(ax_spawn(g_rt, &sum_b, NULL, NULL, &r));
    for (int i = 1; i <= 4; i++)
        CHECK_OK(ax_run_blocking(g_rt, r, T_DONE, ask_from_job, (void *)(intptr_t)i));
    for (int i = 0; i < 100; i++) CHECK_OK(ax_send(g_rt, g_echo, T_PING, NULL, 0));
    WAIT_ATOMIC(g_pings, 100); /* served while four jobs block */
    WAIT_ATOMIC(g_done, 4);
    CHECK_EQ(atomic_load(&g_sum), 2 * (1 + 2 + 3 + 4));
    CHECK_EQ(atomic_load(&g_bad), 0);
    fixture_destroy(g_rt);
}

/* Four threads: four jobs that each wait until all four run at once. */
static atomic_int g_running;
static int64_t meet(void *arg) {
    atomic_fetch_add(&g_running, 1);
    int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
    while (atomic_load(&g_running) < 4 && check_now_ms() < deadline) check_sleep_us(100);
    return atomic_load(&g_running) >= 4 ? 2 * (int64_t)(intptr_t)arg : -1;
}

static void test_parallel_up_to_pool_size(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .blocking_threads = 4});
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &sum_b, NULL, NULL, &r));
    for (int i = 1; i <= 4; i++) CHECK_OK(ax_run_blocking(rt, r, T_DONE, meet, (void *)(intptr_t)i));
    WAIT_ATOMIC(g_done, 4);
    CHECK_EQ(atomic_load(&g_bad), 0); /* every job saw the other three running */
    fixture_destroy(rt);
}

/* One thread held by a gate; a queue of two: the third waiting job is refused. */
static atomic_int g_gate, g_started;
static int64_t gated(void *arg) {
    atomic_fetch_add(&g_started, 1);
    int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
    while (!atomic_load(&g_gate) && check_now_ms() < deadline) check_sleep_us(200);
    return 2 * (int64_t)(intptr_t)arg;
}

static void test_full_queue(void) {
    ax_runtime *rt =
        fixture_runtime_cfg(&(ax_config){.workers = 1, .blocking_threads = 1, .blocking_queue = 2});
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &sum_b, NULL, NULL, &r));
    CHECK_OK(ax_run_blocking(rt, r, T_DONE, gated, (void *)(intptr_t)1));
    WAIT_ATOMIC(g_started, 1);
    CHECK_OK(ax_run_blocking(rt, r, T_DONE, gated, (void *)(intptr_t)2));
    CHECK_OK(ax_run_blocking(rt, r, T_DONE, gated, (void *)(intptr_t)3));
    CHECK_RC(ax_run_blocking(rt, r, T_DONE, gated, (void *)(intptr_t)4), AX_EFULL);
    atomic_store(&g_gate, 1);
    WAIT_ATOMIC(g_done, 3);
    CHECK_EQ(atomic_load(&g_sum), 2 * (1 + 2 + 3));
    CHECK_EQ(atomic_load(&g_started), 3); /* the refused job never ran */
    fixture_destroy(rt);
}

/* A warm pool (one idle thread) and a burst of four: each gets a thread of its own, not a
 * place behind the idle one. */
static void test_parallel_when_warm(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .blocking_threads = 4});
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &sum_b, NULL, NULL, &r));
    CHECK_OK(ax_run_blocking(rt, r, T_DONE, twice, (void *)(intptr_t)10));
    WAIT_ATOMIC(g_done, 1);
    check_sleep_us(20000); /* the thread is idle again */
    for (int i = 1; i <= 4; i++) CHECK_OK(ax_run_blocking(rt, r, T_DONE, meet, (void *)(intptr_t)i));
    WAIT_ATOMIC(g_done, 5);
    CHECK_EQ(atomic_load(&g_bad), 0); /* every one saw the other three running */
    fixture_destroy(rt);
}

/* A job may not shut its own runtime down: it would wait for itself. */
static atomic_int g_shutdown_rc, g_destroy_rc;
static int64_t shut_from_job(void *arg) {
    ax_runtime *rt = arg;
    atomic_store(&g_shutdown_rc, ax_runtime_shutdown(rt, 1000));
    atomic_store(&g_destroy_rc, ax_runtime_destroy(rt));
    return 0;
}

static void test_shutdown_from_job(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &sum_b, NULL, NULL, &r));
    atomic_store(&g_shutdown_rc, 1);
    CHECK_OK(ax_run_blocking(rt, r, T_DONE, shut_from_job, rt));
    WAIT_ATOMIC(g_done, 1);
    CHECK_RC_OF(ax_runtime_shutdown, atomic_load(&g_shutdown_rc), AX_ECONTEXT);
    CHECK_RC_OF(ax_runtime_destroy, atomic_load(&g_destroy_rc), AX_ECONTEXT);
    fixture_destroy(rt);
}

/* A job still running when shutdown's deadline passes: AX_ETIMEDOUT, and destroy finishes the
 * job's wait later. */
static void test_shutdown_deadline_with_job(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .blocking_threads = 1});
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &sum_b, NULL, NULL, &r));
    CHECK_OK(ax_run_blocking(rt, r, T_DONE, gated, (void *)(intptr_t)1));
    WAIT_ATOMIC(g_started, 1);
    int64_t t0 = check_now_ms();
    CHECK_RC(ax_runtime_shutdown(rt, 300), AX_ETIMEDOUT);
    CHECK(check_now_ms() - t0 < 5000); /* the deadline held (a generous bound) */
    atomic_store(&g_gate, 1);
    fixture_destroy(rt); /* waits for the job once more: it returns now */
    CHECK_EQ(atomic_load(&g_started), 1);
}

/* A result for an actor that stopped is a dead letter, counted. */
static void test_result_to_stopped_actor(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &sum_b, NULL, NULL, &r));
    CHECK_OK(ax_stop(rt, r));
    WAIT_UNTIL(fixture_stats(rt).stopped == 1);
    CHECK_OK(ax_run_blocking(rt, r, T_DONE, twice, (void *)(intptr_t)5));
    WAIT_UNTIL(fixture_stats(rt).dead_letters == 1);
    CHECK_EQ(atomic_load(&g_done), 0);
    fixture_destroy(rt);
}

/* Shutdown waits for the running job and drops the queued ones. */
static void *open_gate_later(void *arg) {
    (void)arg;
    check_sleep_us(100000);
    atomic_store(&g_gate, 1);
    return NULL;
}

static void test_shutdown_drops_queued(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .blocking_threads = 1});
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &sum_b, NULL, NULL, &r));
    CHECK_OK(ax_run_blocking(rt, r, T_DONE, gated, (void *)(intptr_t)1));
    WAIT_ATOMIC(g_started, 1);
    for (int i = 2; i <= 5; i++) CHECK_OK(ax_run_blocking(rt, r, T_DONE, gated, (void *)(intptr_t)i));
    pthread_t opener;
    CHECK_EQ(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
    fixture_shutdown(rt); /* returns once the running job returned */
    pthread_join(opener, NULL);
    CHECK_EQ(atomic_load(&g_started), 1);
    CHECK_RC(ax_run_blocking(rt, r, T_DONE, twice, NULL), AX_ESHUTDOWN);
    CHECK_EQ(fixture_stats(rt).dead_letters, 1); /* job 1's result: its receiver had stopped */
    fixture_destroy(rt);
}

/* From a handler: the result comes back to the asking actor. */
static int self_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type == T_PING)
        return ax_run_blocking(ax_ctx_runtime(ctx), ax_self(ctx), T_DONE, twice, (void *)(intptr_t)7);
    return sum_receive(ctx, state, msg);
}
static const ax_behavior self_b = {"self", 0, NULL, self_receive, NULL};

static void test_from_handler(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &self_b, NULL, NULL, &r));
    CHECK_OK(ax_send(rt, r, T_PING, NULL, 0));
    WAIT_ATOMIC(g_done, 1);
    CHECK_EQ(atomic_load(&g_sum), 14);
    CHECK_EQ(fixture_stats(rt).failed, 0);
    fixture_destroy(rt);
}

static void test_misuse(void) {
    ax_runtime *rt = NULL;
    CHECK_RC(ax_runtime_create(&(ax_config){.blocking_threads = -1}, &rt), AX_EINVAL);
    CHECK_RC(ax_runtime_create(&(ax_config){.blocking_queue = -1}, &rt), AX_EINVAL);
    rt = fixture_runtime(1);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &sum_b, NULL, NULL, &r));
    CHECK_RC(ax_run_blocking(NULL, r, T_DONE, twice, NULL), AX_EINVAL);
    CHECK_RC(ax_run_blocking(rt, r, T_DONE, NULL, NULL), AX_EINVAL);
    CHECK_RC(ax_run_blocking(rt, r, AX_MSG_RESERVED, twice, NULL), AX_EINVAL);
    /* Extreme sizes are clamped, not refused. */
    ax_runtime *big = fixture_runtime_cfg(
        &(ax_config){.workers = 1, .blocking_threads = INT32_MAX, .blocking_queue = INT32_MAX});
    CHECK_OK(ax_run_blocking(big, r, T_DONE, twice, NULL)); /* r is of another runtime: dead */
    fixture_destroy(big);
    fixture_destroy(rt);
    CHECK_EQ(atomic_load(&g_done), 0);
}

TEST_MAIN(TEST_CASE(test_results_arrive), TEST_CASE(test_jobs_block_off_workers),
          TEST_CASE(test_parallel_up_to_pool_size), TEST_CASE(test_full_queue),
          TEST_CASE(test_result_to_stopped_actor), TEST_CASE(test_shutdown_drops_queued),
          TEST_CASE(test_from_handler), TEST_CASE(test_misuse), TEST_CASE(test_parallel_when_warm),
          TEST_CASE(test_shutdown_from_job), TEST_CASE(test_shutdown_deadline_with_job))
