/* SPDX-License-Identifier: MIT */
/* fixture.h: the setup the actor-level test programs share: a runtime created with a given
 * configuration (the case fails if it cannot be), checked shutdown and destroy, and the
 * runtime's statistics. Failures name the caller's file and line. */
#ifndef AX_TESTS_FIXTURE_H
#define AX_TESTS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "axon.h"
#include "check.h"

/* The shutdown budget of fixture_shutdown: generous, a guard against hangs like the waits'. */
#define FIXTURE_SHUTDOWN_MS 10000

static inline ax_runtime *fixture_runtime_at(const ax_config *cfg, const char *file, int line) {
    ax_runtime *rt = NULL;
    int rc = ax_runtime_create(cfg, &rt);
    if (rc != 0 || rt == NULL) {
        fprintf(stderr, "%s:%d: fixture: ax_runtime_create failed: %d (%s)\n", file, line, rc,
                ax_strerror(rc));
        exit(1);
    }
    return rt;
}

/* A runtime with configuration *cfg (NULL: the defaults). Variadic, so that cfg may be a
 * compound literal: fixture_runtime_cfg(&(ax_config){.workers = 1, .batch = 4}). */
#define fixture_runtime_cfg(...) fixture_runtime_at((__VA_ARGS__), __FILE__, __LINE__)

/* A runtime with n workers and every other setting at its default. */
#define fixture_runtime(n) fixture_runtime_cfg(&(ax_config){.workers = (n)})

/* ax_runtime_shutdown within FIXTURE_SHUTDOWN_MS, which must succeed. */
#define fixture_shutdown(rt) CHECK_OK(ax_runtime_shutdown((rt), FIXTURE_SHUTDOWN_MS))

/* ax_runtime_destroy (which shuts a live runtime down first), which must succeed. */
#define fixture_destroy(rt) CHECK_OK(ax_runtime_destroy(rt))

static inline ax_stats fixture_stats_at(ax_runtime *rt, const char *file, int line) {
    ax_stats st;
    int rc = ax_stats_get(rt, &st);
    if (rc != 0) {
        fprintf(stderr, "%s:%d: fixture: ax_stats_get failed: %d (%s)\n", file, line, rc,
                ax_strerror(rc));
        exit(1);
    }
    return st;
}

/* The runtime's totals (ax_stats_get, which must succeed), for use in an expression:
 * fixture_stats(rt).sent. */
#define fixture_stats(rt) fixture_stats_at((rt), __FILE__, __LINE__)

#endif /* AX_TESTS_FIXTURE_H */
