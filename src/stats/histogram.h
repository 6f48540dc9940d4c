/* SPDX-License-Identifier: MIT */
/* histogram.h: a log-linear histogram of durations in nanoseconds, after HdrHistogram (G. Tene):
 * each power of two is split into HIST_SUB equal buckets, so every value lands in a bucket whose
 * width is at most a quarter of its lower bound, in fixed memory, and two histograms merge by
 * adding bucket counts. One thread records (relaxed loads and stores, no read-modify-write);
 * any thread may read a copy at any time and merge or summarize it. */
#ifndef AX_STATS_HISTOGRAM_H
#define AX_STATS_HISTOGRAM_H

#include <stdint.h>

#include "core/platform.h"

#define HIST_SUB_BITS 2
#define HIST_SUB (1u << HIST_SUB_BITS) /* buckets per power of two */
#define HIST_TOP_BITS 36               /* values of 2^36 ns (68.7 s) and more share the top bucket */
#define HIST_BUCKETS ((HIST_TOP_BITS - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
    _Atomic uint64_t count, sum, min, max; /* min: UINT64_MAX while empty */
    _Atomic uint64_t b[HIST_BUCKETS];
};

/* A plain copy: what a reader merges and summarizes. */
struct hist_copy {
    uint64_t count, sum, min, max;
    uint64_t b[HIST_BUCKETS];
};

/* The bucket of v: values below HIST_SUB have one each; above, the power of two is chosen by the
 * highest set bit and the sub-bucket by the HIST_SUB_BITS bits below it. */
static inline unsigned hist_bucket(uint64_t v) {
    if (v < HIST_SUB) return (unsigned)v;
    unsigned top = 63u - (unsigned)__builtin_clzll(v);
    if (top >= HIST_TOP_BITS) return HIST_BUCKETS - 1;
    unsigned sub = (unsigned)(v >> (top - HIST_SUB_BITS)) & (HIST_SUB - 1);
    return (top - HIST_SUB_BITS + 1) * HIST_SUB + sub;
}

static inline void hist_store(_Atomic uint64_t *p, uint64_t v) {
    atomic_store_explicit(p, v, memory_order_relaxed);
}
static inline uint64_t hist_load(_Atomic uint64_t *p) {
    return atomic_load_explicit(p, memory_order_relaxed);
}

/* Recording thread only. */
static inline void hist_record(struct hist *h, uint64_t v) {
    _Atomic uint64_t *b = &h->b[hist_bucket(v)];
    hist_store(b, hist_load(b) + 1);
    hist_store(&h->count, hist_load(&h->count) + 1);
    hist_store(&h->sum, hist_load(&h->sum) + v);
    if (v < hist_load(&h->min)) hist_store(&h->min, v);
    if (v > hist_load(&h->max)) hist_store(&h->max, v);
}

/* Not thread-safe: a new, empty histogram. */
void hist_init(struct hist *h);
/* Any thread: adds h's counts into c (a copy made while h records is off by the few values
 * recorded meanwhile, never torn within one counter). */
void hist_merge_into(struct hist_copy *c, struct hist *h);
/* An empty copy. */
void hist_copy_init(struct hist_copy *c);
/* The smallest and largest value bucket i holds. */
uint64_t hist_bucket_low(unsigned i);
uint64_t hist_bucket_high(unsigned i);
/* The value at quantile q (0 < q <= 1): the middle of the bucket that holds the ceil(q * count)th
 * smallest value, kept within [min, max]; min and max themselves for the first and last rank;
 * 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist_copy *c, double q);

#endif
