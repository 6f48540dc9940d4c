/* SPDX-License-Identifier: MIT */
/* duration.h: durations and deadlines in saturating arithmetic. The API takes int64_t
 * milliseconds up to INT64_MAX; every conversion to nanoseconds and every deadline goes through
 * here, so a huge duration means "as late as representable", never a wrapped, early one. */
#ifndef AX_CORE_DURATION_H
#define AX_CORE_DURATION_H

#include <stdint.h>

/* a + b for a, b >= 0, capped at INT64_MAX. */
static inline int64_t core_add_sat(int64_t a, int64_t b) {
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* a * b for a, b >= 0, capped at INT64_MAX. */
static inline int64_t core_mul_sat(int64_t a, int64_t b) {
    return b != 0 && a > INT64_MAX / b ? INT64_MAX : a * b;
}

/* Milliseconds (>= 0) to nanoseconds, capped at INT64_MAX (about 292 years). */
static inline int64_t core_ms_to_ns(int64_t ms) { return core_mul_sat(ms, 1000000); }

/* The instant ms milliseconds after now_ns (both >= 0), capped at INT64_MAX. */
static inline int64_t core_deadline_ms(int64_t now_ns, int64_t ms) {
    return core_add_sat(now_ns, core_ms_to_ns(ms));
}

/* A wait of ns nanoseconds (> 0) as the milliseconds poll(2) or epoll_wait take: rounded up
 * (waking before a deadline only means waiting again) and capped at INT32_MAX. */
static inline int core_ns_to_ms_up(int64_t ns) {
    int64_t ms = ns / 1000000 + (ns % 1000000 != 0);
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

#endif
