/* SPDX-License-Identifier: MIT */
/* histogram.c: the log-linear histogram's bucket bounds, merging and quantiles (histogram.h).
 * Recording is inline there; everything here runs on a reader's side. */
#include "stats/histogram.h"

#include <string.h>

void hist_init(struct hist *h) {
    memset(h, 0, sizeof *h);
    atomic_store_explicit(&h->min, UINT64_MAX, memory_order_relaxed);
}

void hist_copy_init(struct hist_copy *c) {
    memset(c, 0, sizeof *c);
    c->min = UINT64_MAX;
}

void hist_merge_into(struct hist_copy *c, struct hist *h) {
    uint64_t n = 0;
    unsigned first = HIST_BUCKETS, last = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        uint64_t v = hist_load(&h->b[i]);
        c->b[i] += v;
        n += v;
        if (v && first == HIST_BUCKETS) first = i;
        if (v) last = i;
    }
    if (!n) return;
    /* The buckets decide the count, so that quantiles never run past the last bucket even if
     * the recorder moved between our reads. */
    c->count += n;
    c->sum += hist_load(&h->sum);
    /* A copy made while the recorder writes may see a value's bucket before its min or max (the
     * first value of all: min still UINT64_MAX, max 0): the extremes then come from the
     * buckets, so that min <= every quantile <= max holds in every copy. */
    uint64_t lo = hist_load(&h->min), hi = hist_load(&h->max);
    if (lo > hist_bucket_high(first) || (lo == UINT64_MAX && hi != UINT64_MAX))
        lo = hist_bucket_low(first); /* (the top bucket's high is UINT64_MAX: "unset" is) */
    if (hi < hist_bucket_low(last))
        hi = last == HIST_BUCKETS - 1 ? hist_bucket_low(last) : hist_bucket_high(last);
    if (lo < c->min) c->min = lo;
    if (hi > c->max) c->max = hi;
}

uint64_t hist_bucket_low(unsigned i) {
    if (i < HIST_SUB) return i;
    unsigned top = i / HIST_SUB + HIST_SUB_BITS - 1, sub = i % HIST_SUB;
    return (uint64_t)(HIST_SUB + sub) << (top - HIST_SUB_BITS);
}

uint64_t hist_bucket_high(unsigned i) {
    if (i == HIST_BUCKETS - 1) return UINT64_MAX;
    return hist_bucket_low(i + 1) - 1;
}

uint64_t hist_quantile(const struct hist_copy *c, double q) {
    if (c->count == 0) return 0;
    if (!(q > 0)) q = 0; /* NaN too */
    if (q > 1) q = 1;
    /* ceil(q * count), at least 1: the rank of the value asked for. */
    double want = q * (double)c->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want) rank++;
    if (rank == 0) rank = 1;
    if (rank >= c->count) return c->max; /* the extremes are exact */
    if (rank == 1) return c->min;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += c->b[i];
        if (seen < rank) continue;
        uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
        if (hi == UINT64_MAX) hi = c->max; /* the top bucket is open: its values end at max */
        uint64_t mid = lo + (hi - lo) / 2;
        if (mid < c->min) mid = c->min;
        if (mid > c->max) mid = c->max;
        return mid;
    }
    return c->max;
}
