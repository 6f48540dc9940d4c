/* SPDX-License-Identifier: MIT */
/* observe.c: a small system to watch with axon-top or curl: a supervisor runs a pipeline
 * (source -> parser -> store), every actor metered, and the introspection endpoint is on.
 * The source emits a burst every 10 ms; the store is slow now and then, so its mailbox grows.
 * Build: make; run: build/release/examples/example_observe [addr [seconds [trace.json]]], then
 * build/release/tools/axon-top 127.0.0.1:9464 (or curl http://127.0.0.1:9464/metrics). With a
 * third argument the flight recorder keeps the last 64 events per worker and writes them there
 * at the end (docs/trace-sample.json was made so); open it in https://ui.perfetto.dev. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <axon.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MSG_TICK = 1, MSG_RECORD = 2 };

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static int source_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)state, (void)arg;
    return ax_send_interval(ax_ctx_runtime(ctx), ax_self(ctx), MSG_TICK, NULL, 0, 10, NULL);
}

/* Each tick: a burst of 200 records to the parser (found by name: it may have restarted). */
static int source_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state, (void)msg;
    ax_ref parser;
    if (ax_whereis(ax_ctx_runtime(ctx), "parser", &parser) != 0) return 0;
    for (long i = 0; i < 200; i++) ax_send(ax_ctx_runtime(ctx), parser, MSG_RECORD, &i, sizeof i);
    return 0;
}

static int parser_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    ax_ref store;
    if (ax_whereis(ax_ctx_runtime(ctx), "store", &store) != 0) return 0;
    (void)ax_send(ax_ctx_runtime(ctx), store, MSG_RECORD, msg->data, msg->size); /* or lost */
    return 0;
}

/* Slow on every 64th record (20 us of work), so it falls behind in bursts. */
static int store_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)msg;
    long *count = state;
    if (++*count % 64 == 0) {
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static const ax_behavior source_b = {"source", 0, source_init, source_receive, NULL};
static const ax_behavior parser_b = {"parser", 0, NULL, parser_receive, NULL};
static const ax_behavior store_b = {"store", sizeof(long), NULL, store_receive, NULL};

int main(int argc, char **argv) {
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:9464";
    double seconds = argc > 2 ? atof(argv[2]) : 0; /* 0: until SIGINT or SIGTERM */
    const char *trace = argc > 3 ? argv[3] : NULL;
    ax_runtime *rt;
    if (ax_runtime_create(&(ax_config){.metrics = 1, .trace_events = trace ? 64 : 0}, &rt) != 0)
        return 1;
    ax_child_spec children[] = {
        {"store", &store_b, NULL, 0, AX_PERMANENT, 100, AX_CHILD_WORKER, "store"},
        {"parser", &parser_b, NULL, 0, AX_PERMANENT, 100, AX_CHILD_WORKER, "parser"},
        {"source", &source_b, NULL, 0, AX_PERMANENT, 100, AX_CHILD_WORKER, "source"}};
    ax_sup_spec spec = {AX_REST_FOR_ONE, 3, 5000, 0, 0, 0, children, 3};
    ax_ref sup, server;
    int port = 0, rc = ax_supervisor_start(rt, &spec, &sup);
    if (rc == 0) rc = ax_register(rt, "pipeline", sup);
    if (rc == 0) rc = ax_introspect_listen(rt, addr, &server, &port);
    if (rc != 0) {
        fprintf(stderr, "example_observe: %s\n", ax_strerror(rc));
        ax_runtime_destroy(rt);
        return 1;
    }
    printf("introspection on http://127.0.0.1:%d/ (/metrics /actors /tree /workers)\n", port);
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    for (long ms = 0; !stop_requested && (seconds <= 0 || ms < seconds * 1000); ms += 10) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    if (trace && (rc = ax_trace_dump(rt, trace)) != 0)
        fprintf(stderr, "example_observe: trace: %s\n", ax_strerror(rc));
    ax_runtime_shutdown(rt, 2000);
    return ax_runtime_destroy(rt) == 0 && rc == 0 ? 0 : 1;
}
