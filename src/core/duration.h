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

#endif
