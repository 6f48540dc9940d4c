/* SPDX-License-Identifier: MIT */
/* supervision.c: a supervisor keeps a flaky worker alive. A timer ticks the worker, which now
 * and then fails with its own reason (ax_fail); the supervisor restarts it after a backoff that
 * doubles from 10 ms to 200 ms. Build: make; run: build/release/examples/example_supervision */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include <axon.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { MSG_TICK = 1 };
enum { REASON_FLAKY = AX_REASON_USER }; /* programs pick their own failure reasons */

#define TICK_MS 5          /* the worker gets a tick (a "job") this often */
#define RESTARTS_WANTED 6  /* main shuts down once the worker was restarted this many times */

static int64_t start_ns;
static _Atomic int64_t crashed_ns; /* when the last incarnation failed */
static _Atomic int restarts_seen;  /* main waits for this to reach RESTARTS_WANTED */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double ms_since(int64_t t) { return (double)(now_ns() - t) / 1e6; }

static const char *reason_name(int reason) {
    switch (reason) {
    case AX_REASON_NORMAL: return "normal";
    case AX_REASON_SHUTDOWN: return "shutdown";
    case AX_REASON_FAILED: return "failed";
    case REASON_FLAKY: return "flaky";
    default: return "other";
    }
}

/* ---- the worker: state is per incarnation (a restart starts from zeroed state) ---- */

typedef struct worker {
    uint32_t rng; /* xorshift32 */
    int ticks;
} worker;

static int worker_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)arg;
    worker *w = state;
    int prev_reason = 0;
    uint64_t restarts = ax_restarts(ctx, &prev_reason);
    w->rng = (2463534242u + (uint32_t)restarts * 0x9E3779B9u) | 1u;
    if (restarts == 0)
        printf("[%6.1f ms] worker started\n", ms_since(start_ns));
    else
        printf("[%6.1f ms] worker restarted: restart #%llu, previous one stopped with '%s', "
               "%.1f ms ago\n",
               ms_since(start_ns), (unsigned long long)restarts, reason_name(prev_reason),
               ms_since(atomic_load(&crashed_ns)));
    /* Armed in init, the timer belongs to this incarnation: it stops when the worker stops. */
    int rc = ax_send_interval(ax_ctx_runtime(ctx), ax_self(ctx), MSG_TICK, NULL, 0, TICK_MS, NULL);
    if (rc != 0) return rc; /* the start fails; the supervisor treats it as a crash */
    if (restarts > 0) atomic_fetch_add(&restarts_seen, 1);
    return 0;
}

static int worker_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    worker *w = state;
    if (msg->type != MSG_TICK) return 0;
    w->ticks++;
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 17;
    w->rng ^= w->rng << 5;
    if (w->rng % 4 != 0) return 0; /* three jobs in four succeed */
    printf("[%6.1f ms] tick %d: the job failed, the worker gives up\n", ms_since(start_ns),
           w->ticks);
    atomic_store(&crashed_ns, now_ns());
    return ax_fail(ctx, REASON_FLAKY); /* stops with REASON_FLAKY once this handler returns */
}

static void worker_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx, (void)state;
    printf("[%6.1f ms] worker stopped, reason '%s'\n", ms_since(start_ns), reason_name(reason));
}

static const ax_behavior worker_behavior = {"flaky worker", sizeof(worker), worker_init,
                                            worker_receive, worker_stopped};

int main(void) {
    start_ns = now_ns();
    ax_runtime *rt;
    int rc = ax_runtime_create(NULL, &rt);
    if (rc != 0) {
        fprintf(stderr, "ax_runtime_create: %s\n", ax_strerror(rc));
        return 1;
    }

    static const ax_child_spec children[] = {
        {.id = "flaky", .behavior = &worker_behavior, .restart = AX_PERMANENT, .shutdown_ms = 100},
    };
    ax_sup_spec spec = {
        .strategy = AX_ONE_FOR_ONE,
        .intensity = 20, .period_ms = 1000, /* more than 20 restarts in 1 s: give up */
        /* Backoff: each restart waits a random b/2..b ms, where b starts at 10 ms and doubles
         * per restart up to 200 ms; b is back to 10 ms after a second without a restart. */
        .backoff_min_ms = 10, .backoff_max_ms = 200, .backoff_reset_ms = 1000,
        .children = children, .nchildren = 1,
    };
    ax_ref sup;
    rc = ax_supervisor_start(rt, &spec, &sup);
    if (rc != 0) {
        fprintf(stderr, "ax_supervisor_start: %s\n", ax_strerror(rc));
        ax_runtime_destroy(rt);
        return 1;
    }

    /* main is outside the runtime: it may sleep. Give up after 5 s (it takes well under 1 s). */
    const struct timespec ms = {0, 1000000};
    int waited = 0;
    while (atomic_load(&restarts_seen) < RESTARTS_WANTED && waited++ < 5000) nanosleep(&ms, NULL);
    int ok = atomic_load(&restarts_seen) >= RESTARTS_WANTED;

    uint64_t restarts = 0;
    ax_supervisor_child_restarts(rt, sup, "flaky", &restarts);
    printf("[%6.1f ms] %s after %llu restarts; shutting down\n", ms_since(start_ns),
           ok ? "done" : "timed out", (unsigned long long)restarts);
    rc = ax_runtime_shutdown(rt, 1000); /* stops the supervisor and, first, its worker */
    if (rc != 0) fprintf(stderr, "ax_runtime_shutdown: %s\n", ax_strerror(rc));
    if (ax_runtime_destroy(rt) != 0) ok = 0;
    return ok && rc == 0 ? 0 : 1;
}
