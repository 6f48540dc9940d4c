/* SPDX-License-Identifier: MIT */
/* runner.h: the runner of every test program: a table of named cases, run all or some by name,
 * listed, each in its own child process so that a failed check, a crash or a hang ends that
 * case only and the run reports every failure. */
#ifndef AX_TESTS_RUNNER_H
#define AX_TESTS_RUNNER_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

struct test_case {
    const char *name;
    void (*fn)(void);
};

/* The exit status of a skipped case (and of a run in which every case was skipped): what CTest
 * reports as "Skipped" (SKIP_RETURN_CODE, tests/CMakeLists.txt). */
enum { TEST_EXIT_SKIP = 77 };

/* A case entry named after its function. */
#define TEST_CASE(fn) {#fn, fn}

/* Ends the calling case as skipped, with a reason (printf format) on stderr. */
#define TEST_SKIP(...)                                                                  \
    do {                                                                                \
        fprintf(stderr, "  skipped: ");                                                 \
        fprintf(stderr, __VA_ARGS__);                                                   \
        fputc('\n', stderr);                                                            \
        exit(TEST_EXIT_SKIP);                                                           \
    } while (0)

/* Usage: prog [--list] [--no-fork] [PATTERN...]
 *   no PATTERN      every case, in table order;
 *   PATTERN         the cases whose name matches it (fnmatch: "test_cancel*", or a whole name);
 *   --list          prints the case names, runs nothing;
 *   --no-fork       runs in this process (for a debugger): the first failure (or skip) ends
 *                   the run, and there is no time limit.
 * Each case runs in a child process with a time limit (AX_TEST_CASE_TIMEOUT seconds, default
 * 300), then is reported ok, FAILED (with its exit status or signal) or skipped. Returns the
 * program's exit status: 0 if no case failed, 1 if one did, 77 if every selected case was
 * skipped, 2 for a pattern that matches no case (or an unknown option). */
int test_run(int argc, char **argv, const struct test_case *cases, size_t n);

/* Gives the calling case at least `seconds` from now before its time limit ends it, for a case
 * whose length is chosen at run time (a soak). Never shortens the limit; does nothing with
 * --no-fork, where there is no limit. */
void test_case_time_limit(unsigned seconds);

/* The running program's path (argv[0]) and the case being run: what a replay command names. */
const char *test_program(void);
const char *test_case_name(void);

/* int main(...) running the cases given: TEST_MAIN(TEST_CASE(a), TEST_CASE(b), ...). */
#define TEST_MAIN(...)                                                                  \
    int main(int argc, char **argv) {                                                   \
        static const struct test_case cases_[] = {__VA_ARGS__};                         \
        return test_run(argc, argv, cases_, sizeof cases_ / sizeof cases_[0]);          \
    }

#endif
