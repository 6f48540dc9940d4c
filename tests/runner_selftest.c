/* SPDX-License-Identifier: MIT */
/* runner_selftest.c: a program for testing the runner itself (tests/runner.c), not axon: one case
 * of each outcome, which tests/runner_check.py runs and checks the report of. Run on its own it
 * fails, on purpose, and its hang case waits out the whole time limit (AX_TEST_CASE_TIMEOUT). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "runner.h"

static void selftest_pass(void) { CHECK_EQ(1 + 1, 2); }

static void selftest_fail_check(void) {
    int two = 2;
    CHECK_EQ(two + 1, 2); /* fails: prints the values and exits 1 */
    fprintf(stderr, "selftest_fail_check: went on after a failed CHECK\n");
}

/* A failure counted the way a handler counts it (HCHECK does not exit): the case returns
 * normally, and the runner's check after it fails the case. */
static void selftest_fail_handler(void) {
    int ready = 0;
    HCHECK(ready == 1);
}

static void selftest_crash(void) {
    fflush(stdout);
    abort(); /* SIGABRT: the same under every sanitizer (none of them handles it) */
}

/* Ends only by the time limit (AX_TEST_CASE_TIMEOUT; runner_check.py sets a short one). */
static void selftest_hang(void) {
    for (;;) pause();
}

static void selftest_skip(void) { TEST_SKIP("nothing to test here (%d)", 42); }

/* A case that outlives the time limit of the run, which it extends with test_case_time_limit. */
static void selftest_time_limit(void) {
    test_case_time_limit(30);
    check_sleep_us(1500000); /* beyond the AX_TEST_CASE_TIMEOUT=1 of runner_check.py */
}

TEST_MAIN(TEST_CASE(selftest_pass), TEST_CASE(selftest_fail_check),
          TEST_CASE(selftest_fail_handler), TEST_CASE(selftest_crash), TEST_CASE(selftest_hang),
          TEST_CASE(selftest_skip), TEST_CASE(selftest_time_limit))
