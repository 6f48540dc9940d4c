/* SPDX-License-Identifier: MIT */
/* check.h: the assertion macros and the hang guard shared by the test programs.
 * A failed check prints file:line and the values to stderr and exits 1; waits poll a condition
 * with a generous 30 s limit that fails the test (a guard against hangs, not a timing check). */
#ifndef AX_TESTS_CHECK_H
#define AX_TESTS_CHECK_H

#include <dirent.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "axon.h"

/* The hang guard: no wait in a test may take longer than this. */
#define CHECK_HANG_GUARD_MS 30000

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* Compares two integers (signed or unsigned, up to 64 bits); prints both on failure.
 * Converting both to unsigned long long keeps equality exact for every integer type. */
#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        unsigned long long check_a_ = (unsigned long long)(a);                          \
        unsigned long long check_b_ = (unsigned long long)(b);                          \
        if (check_a_ != check_b_) {                                                     \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s\n  left:  %lld (0x%llx)\n" \
                            "  right: %lld (0x%llx)\n",                                 \
                    __FILE__, __LINE__, #a, #b, (long long)check_a_, check_a_,          \
                    (long long)check_b_, check_b_);                                     \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* Compares an axon return code with the expected one and names both on failure. */
#define CHECK_RC(expr, expected)                                                        \
    do {                                                                                \
        int check_rc_ = (expr);                                                         \
        int check_want_ = (expected);                                                   \
        if (check_rc_ != check_want_) {                                                 \
            fprintf(stderr, "%s:%d: CHECK_RC failed: %s\n  got:      %d (%s)\n"         \
                            "  expected: %d (%s)\n",                                    \
                    __FILE__, __LINE__, #expr, check_rc_, ax_strerror(check_rc_),       \
                    check_want_, ax_strerror(check_want_));                             \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

/* CHECK_RC for a result that function fn returned elsewhere (another thread, a handler, a loop):
 * names fn for tests/error_codes.py, which maps every documented code to a check. */
#define CHECK_RC_OF(fn, rc, expected)                                                   \
    do {                                                                                \
        (void)(fn); /* must name a function */                                          \
        CHECK_RC(rc, expected);                                                         \
    } while (0)

static inline int64_t check_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CPU time the process has used, all threads, in ns (for the idle checks). */
static inline int64_t check_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Descriptors the process has open now (entries of /proc/self/fd, its own listing's included),
 * -1 if it cannot tell: equal counts before and after show that nothing leaked. */
static inline int check_count_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static inline void check_sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Polls cond until it holds; fails the test if the hang guard expires first. */
#define WAIT_UNTIL(cond)                                                                \
    do {                                                                                \
        int64_t check_deadline_ = check_now_ms() + CHECK_HANG_GUARD_MS;                 \
        long check_spins_ = 0;                                                          \
        while (!(cond)) {                                                               \
            if (check_now_ms() > check_deadline_) {                                     \
                fprintf(stderr, "%s:%d: hang guard: waited %d ms for: %s\n", __FILE__,  \
                        __LINE__, CHECK_HANG_GUARD_MS, #cond);                          \
                exit(1);                                                                \
            }                                                                           \
            check_sleep_us(check_spins_++ < 100 ? 10 : 200);                            \
        }                                                                               \
    } while (0)

/* Waits until the _Atomic integer counter reaches (at least) value; on the hang guard,
 * prints where it stopped. */
#define WAIT_ATOMIC(counter, value)                                                     \
    do {                                                                                \
        unsigned long long check_target_ = (unsigned long long)(value);                 \
        int64_t check_deadline_ = check_now_ms() + CHECK_HANG_GUARD_MS;                 \
        long check_spins_ = 0;                                                          \
        while ((unsigned long long)atomic_load(&(counter)) < check_target_) {           \
            if (check_now_ms() > check_deadline_) {                                     \
                fprintf(stderr, "%s:%d: hang guard: %s reached %llu of %llu after %d ms\n", \
                        __FILE__, __LINE__, #counter,                                   \
                        (unsigned long long)atomic_load(&(counter)), check_target_,     \
                        CHECK_HANG_GUARD_MS);                                           \
                exit(1);                                                                \
            }                                                                           \
            check_sleep_us(check_spins_++ < 100 ? 10 : 200);                            \
        }                                                                               \
    } while (0)

/* Spins (from a handler, which must not sleep for long) until flag becomes non-zero; returns
 * 0, or -1 if the hang guard expired (the caller records that as a failure). */
static inline int check_spin_until_set(_Atomic int *flag) {
    int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
    while (!atomic_load(flag)) {
        if (check_now_ms() > deadline) return -1;
        check_sleep_us(50);
    }
    return 0;
}

/* Handlers cannot CHECK (exiting from a worker would hide the cause): they count failures with
 * HCHECK, and the runner (tests/runner.c, which defines the count) fails a case that counted
 * any when it ends; a case may check earlier with CHECK_NO_HANDLER_FAILURES. */
extern atomic_int g_handler_failures;
#define HCHECK(cond)                                                                        \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: handler check failed: %s\n", __FILE__, __LINE__, #cond); \
            atomic_fetch_add(&g_handler_failures, 1);                                       \
        }                                                                                   \
    } while (0)
static inline int check_handler_failures(void) { return atomic_load(&g_handler_failures); }
#define CHECK_NO_HANDLER_FAILURES() CHECK_EQ(check_handler_failures(), 0)

/* A small deterministic generator (xorshift64*); seed must be non-zero. */
static inline uint64_t check_rand(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif /* AX_TESTS_CHECK_H */
