/* SPDX-License-Identifier: MIT */
/* det.h: running a test scenario under many seeds in deterministic mode (ax_config.deterministic)
 * and replaying the one that failed. A scenario is a function of a seed that builds a runtime
 * with det_runtime(seed), starts its actors with one message from outside, waits with
 * det_wait_idle until nothing is left to do, checks what happened and returns 0 or a failure
 * (after printing why). det_run_seeds runs it for DET_SEEDS seeds (AX_DET_SEEDS overrides the
 * count, for long runs), or, when AX_SEED is set, for that seed alone, which the runtime then
 * takes as well: the command a failure prints replays it exactly. */
#ifndef AX_TESTS_DET_H
#define AX_TESTS_DET_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "axon.h"
#include "check.h"
#include "fixture.h"
#include "runner.h"
#include "sched/sched.h"
#include "actor/runtime.h"

#ifndef DET_SEEDS
#define DET_SEEDS 1000
#endif

typedef int (*det_scenario)(uint64_t seed, void *arg);

/* A deterministic runtime for seed (AX_SEED, when set, takes precedence inside the runtime). */
static inline ax_runtime *det_runtime(uint64_t seed) {
    return fixture_runtime_cfg(&(ax_config){.deterministic = 1, .seed = seed});
}

/* Waits until the runtime has nothing left to run and no timer left to fire: its one worker is
 * asleep (in deterministic mode it sleeps only then) and no work is queued. Twice, a little
 * apart, so that a worker caught between two tasks is not taken for idle. */
static inline void det_wait_idle(ax_runtime *rt) {
    for (int k = 0; k < 2; k++) {
        WAIT_UNTIL(sched_idle(&rt->sched));
        check_sleep_us(200);
    }
}

/* The seeds to try: AX_SEED alone, or `count` from `first` (AX_DET_SEEDS replaces count). */
static inline int det_seed_plan(uint64_t first, int count, uint64_t *start) {
    const char *one = getenv("AX_SEED");
    if (one && *one) {
        *start = strtoull(one, NULL, 0);
        return 1;
    }
    const char *n = getenv("AX_DET_SEEDS");
    *start = first;
    return n && atoi(n) > 0 ? atoi(n) : count;
}

/* Runs fn(seed, arg) over the plan; returns the first seed whose run failed (after printing it
 * with the command that replays it), or 0 with *ran the number of runs. Seeds start at 1. */
static inline uint64_t det_find_failure(det_scenario fn, void *arg, uint64_t first, int count,
                                        int *ran) {
    uint64_t start;
    int n = det_seed_plan(first, count, &start);
    for (int i = 0; i < n; i++) {
        uint64_t seed = start + (uint64_t)i;
        if (fn(seed, arg) != 0) {
            fprintf(stderr,
                    "det: seed 0x%" PRIx64 " failed; replay: AX_SEED=0x%" PRIx64 " %s %s\n",
                    seed, seed, test_program(), test_case_name());
            if (ran) *ran = i + 1;
            return seed;
        }
    }
    if (ran) *ran = n;
    return 0;
}

/* A scenario's own generator (xorshift32), for choices that must not depend on the schedule. */
static inline uint32_t det_xorshift(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Every seed of the plan must pass. */
#define DET_CHECK_ALL(fn, arg)                                                          \
    do {                                                                                \
        int det_ran_ = 0;                                                               \
        uint64_t det_bad_ = det_find_failure((fn), (arg), 1, DET_SEEDS, &det_ran_);    \
        CHECK_EQ(det_bad_, 0);                                                          \
        CHECK(det_ran_ >= 1);                                                           \
    } while (0)

#endif
