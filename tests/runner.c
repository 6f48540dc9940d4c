/* SPDX-License-Identifier: MIT */
/* runner.c: the test runner of runner.h: selects cases by name, runs each in a forked child
 * (failures stay in their case: a CHECK exits, a crash is a signal, a hang meets an alarm), and
 * prints one line per case and a summary. */
#include "runner.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* The one definition of the handler-failure count of check.h (HCHECK). */
atomic_int g_handler_failures;

enum { DEFAULT_CASE_TIMEOUT_S = 300 };

static bool g_in_child; /* this process is a case's child: it has a time limit */
static const char *g_program = "", *g_case = "";

const char *test_program(void) { return g_program; }
const char *test_case_name(void) { return g_case; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool selected(const char *name, int npat, char **pats) {
    if (npat == 0) return true;
    for (int i = 0; i < npat; i++)
        if (fnmatch(pats[i], name, 0) == 0) return true;
    return false;
}

/* Runs one case in this process; handler failures it counted (HCHECK) fail it too. */
static void run_here(const struct test_case *c) {
    g_case = c->name;
    c->fn();
    int hf = check_handler_failures();
    if (hf != 0) {
        fprintf(stderr, "  %s: %d handler check(s) failed (HCHECK, printed above)\n", c->name, hf);
        exit(1);
    }
}

static unsigned case_timeout_s(void) {
    const char *env = getenv("AX_TEST_CASE_TIMEOUT");
    long v = env ? strtol(env, NULL, 10) : 0;
    return v > 0 ? (unsigned)v : DEFAULT_CASE_TIMEOUT_S;
}

void test_case_time_limit(unsigned seconds) {
    if (!g_in_child || seconds == 0) return;
    unsigned left = alarm(0);
    alarm(left > seconds ? left : seconds);
}

/* How a case ended: its exit status (0, TEST_EXIT_SKIP, a failure) or the signal that ended it. */
struct outcome {
    int status;
    int signal; /* non-zero: ended by this signal */
};

static struct outcome run_forked(const struct test_case *c, unsigned timeout_s) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return (struct outcome){1, 0};
    }
    if (pid == 0) {
        g_in_child = true;
        alarm(timeout_s); /* a hang ends as SIGALRM */
        run_here(c);
        fflush(stdout);
        exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("waitpid");
            return (struct outcome){1, 0};
        }
    }
    if (WIFSIGNALED(status)) return (struct outcome){0, WTERMSIG(status)};
    return (struct outcome){WIFEXITED(status) ? WEXITSTATUS(status) : 1, 0};
}

static void usage(FILE *f, const char *prog) {
    fprintf(f,
            "usage: %s [--list] [--no-fork] [PATTERN...]\n"
            "  PATTERN    run the cases whose name matches it (fnmatch '*', '?'; or a whole name)\n"
            "  --list     print the case names (those PATTERN selects), run nothing\n"
            "  --no-fork  run the cases in this process (for a debugger): the first failure (or\n"
            "             skip) ends the run; no time limit\n"
            "  AX_TEST_CASE_TIMEOUT=s  each case's time limit (default %d s)\n"
            "exit status: 0 passed, 1 a case failed, 77 every case skipped, 2 no case matches\n",
            prog, DEFAULT_CASE_TIMEOUT_S);
}

int test_run(int argc, char **argv, const struct test_case *cases, size_t n) {
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    g_program = argv[0];
    /* Line-buffered: what a case printed before it crashed is not lost in a pipe's buffer, and
     * its lines stay in order with the runner's. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool list = false, fork_each = true;
    char **pats = calloc((size_t)argc + 1, sizeof *pats);
    bool *failed_case = calloc(n + 1, sizeof *failed_case);
    if (!pats || !failed_case) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    int npat = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            list = true;
        } else if (strcmp(argv[i], "--no-fork") == 0) {
            fork_each = false;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, prog);
            free(pats);
            free(failed_case);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "%s: unknown option '%s'\n", prog, argv[i]);
            usage(stderr, prog);
            free(pats);
            free(failed_case);
            return 2;
        } else {
            pats[npat++] = argv[i];
        }
    }
    for (int i = 0; i < npat; i++) {
        bool any = false;
        for (size_t k = 0; k < n && !any; k++) any = fnmatch(pats[i], cases[k].name, 0) == 0;
        if (!any) {
            fprintf(stderr, "%s: no case matches '%s' (--list shows them)\n", prog, pats[i]);
            free(pats);
            free(failed_case);
            return 2;
        }
    }
    size_t passed = 0, failed = 0, skipped = 0;
    unsigned timeout_s = case_timeout_s();
    double t_run = now_s();
    for (size_t k = 0; k < n; k++) {
        const struct test_case *c = &cases[k];
        if (!selected(c->name, npat, pats)) continue;
        if (list) {
            printf("%s\n", c->name);
            continue;
        }
        double t0 = now_s();
        struct outcome o = {0, 0};
        if (fork_each) o = run_forked(c, timeout_s);
        else run_here(c); /* a failure or a skip exits from inside */
        double dt = now_s() - t0;
        if (o.signal == 0 && o.status == 0) {
            passed++;
            fprintf(stderr, "  %s: ok (%.2f s)\n", c->name, dt);
        } else if (o.signal == 0 && o.status == TEST_EXIT_SKIP) {
            skipped++;
            fprintf(stderr, "  %s: skipped\n", c->name);
        } else {
            failed++;
            failed_case[k] = true;
            if (o.signal)
                fprintf(stderr, "  %s: FAILED (signal %d, %s%s) after %.2f s\n", c->name, o.signal,
                        strsignal(o.signal),
                        o.signal == SIGALRM ? ": the case timed out" : "", dt);
            else
                fprintf(stderr, "  %s: FAILED (exit status %d) after %.2f s\n", c->name, o.status,
                        dt);
        }
    }
    free(pats);
    if (list) {
        free(failed_case);
        return 0;
    }
    fprintf(stderr, "%s: %zu passed, %zu failed, %zu skipped (%.1f s)\n", prog, passed, failed,
            skipped, now_s() - t_run);
    if (failed) {
        fprintf(stderr, "%s: FAILED:", prog);
        for (size_t k = 0; k < n; k++)
            if (failed_case[k]) fprintf(stderr, " %s", cases[k].name);
        fputc('\n', stderr);
    }
    free(failed_case);
    if (failed) return 1;
    return passed == 0 && skipped > 0 ? TEST_EXIT_SKIP : 0;
}
