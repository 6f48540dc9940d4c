/* SPDX-License-Identifier: MIT */
/* platform.h: the few platform pieces every layer uses: cache-line size and padding, CPU
 * relax, branch hints, futex wait/wake and the monotonic clock. Linux and C11 only. */
#ifndef AX_CORE_PLATFORM_H
#define AX_CORE_PLATFORM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define AX_CACHE_LINE 64
#define AX_ALIGNED_LINE _Alignas(AX_CACHE_LINE)

#define ax_likely(x) __builtin_expect(!!(x), 1)
#define ax_unlikely(x) __builtin_expect(!!(x), 0)

/* Tells the CPU we are spinning (x86 pause, arm yield). */
static inline void core_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Sleeps while *word == expected, at most timeout_ns (< 0: no limit). Returns when woken, on
 * timeout, on a spurious wake or at once if *word != expected: callers re-check their state. */
void core_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);
/* Wakes up to n threads sleeping on word. */
void core_futex_wake(_Atomic uint32_t *word, int n);

/* Monotonic clock in nanoseconds. */
int64_t core_now_ns(void);
/* CLOCK_MONOTONIC as of the last scheduler tick: a fifth of core_now_ns's cost here, never ahead
 * of it, and behind it by less than core_coarse_lag_ns(). For "is anything due yet" checks that
 * run often and are mostly answered no. */
int64_t core_coarse_now_ns(void);
int64_t core_coarse_lag_ns(void);

/* The number of online CPUs (at least 1). */
int core_cpu_count(void);

#endif
