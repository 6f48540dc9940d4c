/* SPDX-License-Identifier: MIT */
/* test_io.c: the I/O backends under the workers: which one a runtime gets (ax_config.io, the
 * AX_IO variable, io_uring refused), and, on each backend, that mail and timers still wake
 * workers parked in it, every time, and that an idle runtime sleeps. */
#include <stdatomic.h>
#include <stdlib.h>

#include "check.h"
#include "fixture.h"
#include "runner.h"

static atomic_int g_got;

static int count_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state, (void)msg;
    atomic_fetch_add(&g_got, 1);
    return 0;
}
static const ax_behavior count_b = {"count", 0, NULL, count_receive, NULL};

/* A runtime on `io`, or the case is skipped when io_uring is not available here. */
static ax_runtime *runtime_on(int io, int workers) {
    ax_runtime *rt = NULL;
    int rc = ax_runtime_create(&(ax_config){.workers = workers, .io = io}, &rt);
    if (rc == AX_ENOTSUP && io == AX_IO_URING) TEST_SKIP("io_uring is not available here");
    CHECK_OK(rc);
    CHECK_EQ(ax_runtime_io(rt), io);
    return rt;
}

static void test_auto_backend(void) {
    unsetenv("AX_IO");
    ax_runtime *rt = fixture_runtime(1);
    int io = ax_runtime_io(rt);
    CHECK(io == AX_IO_URING || io == AX_IO_EPOLL);
    fprintf(stderr, "auto: %s\n", io == AX_IO_URING ? "io_uring" : "epoll");
    fixture_destroy(rt);
    CHECK_EQ(ax_runtime_io(NULL), 0);
}

static void test_env_chooses(void) {
    setenv("AX_IO", "epoll", 1);
    ax_runtime *rt = fixture_runtime(1);
    CHECK_EQ(ax_runtime_io(rt), AX_IO_EPOLL);
    fixture_destroy(rt);
    /* An explicit ax_config.io wins over the variable. */
    setenv("AX_IO", "uring", 1);
    rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .io = AX_IO_EPOLL});
    CHECK_EQ(ax_runtime_io(rt), AX_IO_EPOLL);
    fixture_destroy(rt);
    setenv("AX_IO", "io-uring", 1); /* a misspelling is refused, not ignored */
    CHECK_RC(ax_runtime_create(NULL, &rt), AX_EINVAL);
    unsetenv("AX_IO");
}

static void test_bad_value(void) {
    ax_runtime *rt = NULL;
    CHECK_RC(ax_runtime_create(&(ax_config){.io = 3}, &rt), AX_EINVAL);
    CHECK_RC(ax_runtime_create(&(ax_config){.io = -1}, &rt), AX_EINVAL);
    CHECK(rt == NULL);
}

/* A kernel that refuses io_uring (seccomp, kernel.io_uring_disabled), imitated by the
 * backend's test switch: AUTO falls back to epoll, an explicit io_uring is refused. */
static void test_uring_refused(void) {
    setenv("AX_IO_URING_FAIL", "1", 1);
    ax_runtime *rt = fixture_runtime(2);
    CHECK_EQ(ax_runtime_io(rt), AX_IO_EPOLL);
    fixture_destroy(rt);
    rt = NULL;
    CHECK_RC(ax_runtime_create(&(ax_config){.io = AX_IO_URING}, &rt), AX_ENOTSUP);
    setenv("AX_IO", "uring", 1);
    CHECK_RC(ax_runtime_create(NULL, &rt), AX_ENOTSUP);
    CHECK(rt == NULL);
    unsetenv("AX_IO");
    unsetenv("AX_IO_URING_FAIL");
}

/* Each message to a runtime whose workers sleep in the poller wakes one: none is lost. */
static void wakeups(int io) {
    ax_runtime *rt = runtime_on(io, 2);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &count_b, NULL, NULL, &r));
    enum { N = 500 };
    for (int i = 0; i < N; i++) {
        if (i % 50 == 0) check_sleep_us(2000); /* let the workers park now and then */
        CHECK_OK(ax_send(rt, r, 1, NULL, 0));
        WAIT_ATOMIC(g_got, i + 1);
    }
    ax_stats st = fixture_stats(rt);
    CHECK_EQ(st.processed, N);
    CHECK(st.parks > 0);
    fixture_destroy(rt);
}
static void test_wakeups_uring(void) { wakeups(AX_IO_URING); }
static void test_wakeups_epoll(void) { wakeups(AX_IO_EPOLL); }

/* Timers end a sleep in the poller (its timeout is the wheel's deadline). */
static void timers(int io) {
    ax_runtime *rt = runtime_on(io, 2);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &count_b, NULL, NULL, &r));
    enum { N = 20 };
    for (int i = 0; i < N; i++) {
        int64_t t0 = check_now_ms();
        CHECK_OK(ax_send_after(rt, r, 1, NULL, 0, 5, NULL));
        WAIT_ATOMIC(g_got, i + 1);
        CHECK(check_now_ms() - t0 >= 5); /* never early */
    }
    fixture_destroy(rt);
}
static void test_timers_uring(void) { timers(AX_IO_URING); }
static void test_timers_epoll(void) { timers(AX_IO_EPOLL); }

/* Idle means asleep in the poller: under 1 % of a core with a timer 10 s away. */
static void idle(int io) {
    ax_runtime *rt = runtime_on(io, 2);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &count_b, NULL, NULL, &r));
    CHECK_OK(ax_send_after(rt, r, 1, NULL, 0, 10000, NULL));
    check_sleep_us(200000);
    int64_t c0 = check_cpu_ns(), w0 = check_now_ms();
    check_sleep_us(2000000);
    int64_t used = check_cpu_ns() - c0, wall_ms = check_now_ms() - w0;
    fprintf(stderr, "idle on %s: %.2f ms CPU over %lld ms\n", io == AX_IO_URING ? "io_uring" : "epoll",
            (double)used / 1e6, (long long)wall_ms);
    CHECK(used < wall_ms * 1000000 / 100);
    fixture_destroy(rt);
}
static void test_idle_uring(void) { idle(AX_IO_URING); }
static void test_idle_epoll(void) { idle(AX_IO_EPOLL); }

/* epoll on a kernel without epoll_pwait2 (before 5.11, or refused by seccomp), imitated by the
 * backend's test switch: timers still wake it (a timeout in whole milliseconds, rounded up, so
 * never early), and idle is still idle. */
static void test_epoll_without_pwait2(void) {
    setenv("AX_TEST_NO_PWAIT2", "1", 1);
    timers(AX_IO_EPOLL);
    atomic_store(&g_got, 0);
    wakeups(AX_IO_EPOLL);
    idle(AX_IO_EPOLL);
    unsetenv("AX_TEST_NO_PWAIT2");
}

/* A ring the kernel refuses after creation (imitated by the backend's test switch): the
 * workers sleep on their eventfds instead, and mail, timers and idleness still work. */
static void test_uring_refused_later(void) {
    setenv("AX_TEST_URING_BROKEN", "1", 1);
    wakeups(AX_IO_URING);
    atomic_store(&g_got, 0);
    timers(AX_IO_URING);
    idle(AX_IO_URING);
    unsetenv("AX_TEST_URING_BROKEN");
}

TEST_MAIN(TEST_CASE(test_auto_backend), TEST_CASE(test_env_chooses), TEST_CASE(test_bad_value),
          TEST_CASE(test_uring_refused), TEST_CASE(test_wakeups_uring),
          TEST_CASE(test_wakeups_epoll), TEST_CASE(test_timers_uring),
          TEST_CASE(test_timers_epoll), TEST_CASE(test_idle_uring), TEST_CASE(test_idle_epoll),
          TEST_CASE(test_epoll_without_pwait2), TEST_CASE(test_uring_refused_later))
