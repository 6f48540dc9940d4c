/* SPDX-License-Identifier: MIT */
/* echo.c: a TCP echo server, one actor per connection: the guide's server in 30 lines.
 * Build: make; run: build/release/examples/example_echo [port [workers]] (default 7007, CPUs). */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask */
#include <axon.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int conn(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    const ax_sock_msg *e = (const ax_sock_msg *)msg->data;
    if (msg->type == AX_MSG_SOCK_DATA) /* 1: the queue is full; receiving pauses by itself */
        return ax_socket_send(ctx, e->sock, e->data, e->size) < 0;
    if (msg->type == AX_MSG_SOCK_EOF || msg->type == AX_MSG_SOCK_ERROR)
        return ax_stop(ax_ctx_runtime(ctx), ax_self(ctx)); /* its socket closes with it */
    return 0;
}
static const ax_behavior conn_b = {"conn", 0, NULL, conn, NULL};

static int listener_init(ax_ctx *ctx, void *state, const void *addr) {
    return ax_tcp_listen(ctx, addr, NULL, state);
}
static int listener(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type != AX_MSG_SOCK_ACCEPTED) return 0;
    ax_ref child; /* hand each connection to an actor of its own */
    ax_socket c = ((const ax_sock_msg *)msg->data)->conn;
    if (ax_spawn(ax_ctx_runtime(ctx), &conn_b, NULL, NULL, &child) != 0) return ax_socket_close(ctx, c);
    return ax_socket_handover(ctx, c, child);
}
static const ax_behavior listener_b = {"listener", sizeof(ax_socket), listener_init, listener, NULL};

int main(int argc, char **argv) {
    char addr[32];
    snprintf(addr, sizeof addr, ":%s", argc > 1 ? argv[1] : "7007");
    ax_config cfg = {.workers = argc > 2 ? atoi(argv[2]) : 0};
    sigset_t set; /* blocked before the workers start, so that they inherit it: main waits */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    ax_runtime *rt;
    ax_ref l;
    int rc = ax_runtime_create(&cfg, &rt);
    if (rc == 0) rc = ax_spawn(rt, &listener_b, addr, NULL, &l);
    if (rc != 0) {
        fprintf(stderr, "echo: %s\n", ax_strerror(rc));
        return 1;
    }
    printf("echo: listening on %s\n", addr);
    fflush(stdout);
    int sig; /* serve until SIGINT or SIGTERM */
    sigwait(&set, &sig);
    return ax_runtime_destroy(rt) == 0 ? 0 : 1;
}
