/* SPDX-License-Identifier: MIT */
/* platform.c: futex, clock and CPU count for Linux, kept out of the headers so that the
 * system headers they need stay in one file. */
#include "core/platform.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void core_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns) {
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tp = &ts;
    }
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, tp, NULL, 0);
}

void core_futex_wake(_Atomic uint32_t *word, int n) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

int64_t core_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t core_coarse_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t core_coarse_lag_ns(void) {
    static _Atomic int64_t lag; /* 0: not asked yet (the answer is the same for every thread) */
    int64_t v = atomic_load_explicit(&lag, memory_order_relaxed);
    if (v) return v;
    struct timespec res;
    /* The clock's step (a scheduler tick, 1 to 10 ms), plus 1 ms for the tick's own jitter; a
     * kernel that will not say is assumed to tick at 100 Hz. */
    v = clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0
            ? (int64_t)res.tv_sec * 1000000000 + res.tv_nsec + 1000000
            : 11000000;
    atomic_store_explicit(&lag, v, memory_order_relaxed);
    return v;
}

int core_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
