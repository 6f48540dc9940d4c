/* SPDX-License-Identifier: MIT */
/* remote_bench.c: axon-remote-bench, the remote workloads of issue 12 between two nodes in two
 * processes over one nats-server on loopback (started here, on a free port): remote_pingpong
 * (round trips between an actor on each node) and remote_counting (one actor sends integers to a
 * counter on the other node; done when the counter has them all). Prints WORKLOADS.md lines,
 * with the library calls (malloc, mutex locks) per message of this (the sending) process. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "axon.h"
#include "axon_remote.h"
#include "bench.h"
#include "nats_servers.h"

enum { M_PING = 1, M_PONG, M_START, M_NUM, M_DONE, M_MORE, M_QUIT };

static struct nats_servers g_servers;
static char g_cluster[32];
static int g_workers = 2, g_spin_us;

static _Noreturn void die(const char *what, int rc) {
    fprintf(stderr, "axon-remote-bench: %s: %s\n", what, ax_strerror(rc));
    nats_servers_stop(&g_servers);
    exit(1);
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nap_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static ax_runtime *node(uint32_t n, ax_remote **r) {
    ax_runtime *rt;
    ax_config cfg = {.workers = g_workers, .spin_us = g_spin_us, .node = (int)n};
    int rc = ax_runtime_create(&cfg, &rt);
    if (rc) die("runtime", rc);
    const char *urls[] = {g_servers.url[0]};
    ax_remote_config c = {.cluster = g_cluster, .servers = urls, .nservers = 1};
    if ((rc = ax_remote_join(rt, &c, r))) die("join", rc);
    return rt;
}

/* ---- node 1: pong and the counter -------------------------------------------------------- */

static atomic_int g_quit;

static int pong_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state;
    if (m->type == M_QUIT) atomic_store(&g_quit, 1);
    return m->type == M_PING ? ax_reply(ctx, M_PONG, m->data, m->size) : 0;
}

struct counter {
    uint64_t expect, got, sum;
    ax_ref report_to;
};

/* M_START (n, the ref to tell) then n integers; answers M_DONE with their sum. */
static int counter_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    struct counter *c = state;
    if (m->type == M_START) {
        memcpy(&c->expect, m->data, sizeof c->expect);
        memcpy(&c->report_to, m->data + 8, sizeof c->report_to);
        c->got = c->sum = 0;
        return 0;
    }
    uint64_t x;
    memcpy(&x, m->data, sizeof x);
    c->sum += x;
    if (++c->got == c->expect)
        return ax_send(ax_ctx_runtime(ctx), c->report_to, M_DONE, &c->sum, sizeof c->sum);
    return 0;
}

static void serve(void) {
    ax_remote *r;
    ax_runtime *rt = node(1, &r);
    static const ax_behavior pong = {.name = "pong", .receive = pong_receive};
    static const ax_behavior counter = {.name = "counter", .state_size = sizeof(struct counter),
                                        .receive = counter_receive};
    ax_ref p, c;
    if (ax_spawn(rt, &pong, NULL, NULL, &p) || ax_spawn(rt, &counter, NULL, NULL, &c) ||
        ax_remote_register(r, "pong", p) || ax_remote_register(r, "counter", c))
        die("serve", AX_ENOMEM);
    while (!atomic_load(&g_quit)) nap_us(1000);
    ax_runtime_destroy(rt);
    exit(0);
}

/* ---- node 2: the drivers ----------------------------------------------------------------- */

static _Atomic int g_ping_done, g_count_done;

struct ping {
    ax_ref pong;
    uint64_t left;
};

/* M_START (n, pong): n round trips, each carrying the trips still to go. */
static int ping_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    struct ping *p = state;
    if (m->type == M_START) {
        memcpy(&p->left, m->data, sizeof p->left);
        memcpy(&p->pong, m->data + 8, sizeof p->pong);
    } else if (m->type == M_PONG) {
        uint64_t back;
        memcpy(&back, m->data, sizeof back);
        if (back != p->left) return -1; /* a reply out of order */
        if (--p->left == 0) {
            atomic_store(&g_ping_done, 1);
            return 0;
        }
    } else {
        return 0;
    }
    return ax_send(ax_ctx_runtime(ctx), p->pong, M_PING, &p->left, sizeof p->left);
}

struct producer {
    ax_ref counter;
    uint64_t next, n;
};

static _Atomic uint64_t g_full; /* sends refused for the window (retried a millisecond later) */

/* M_START (n, counter): sends 1..n, 4,096 per turn (so that the turn's frames leave and other
 * actors run between), retrying a millisecond later when the window to node 1 is full; M_DONE
 * (the counter's sum) ends it. */
static int producer_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    struct producer *p = state;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    if (m->type == M_START) {
        memcpy(&p->n, m->data, sizeof p->n);
        memcpy(&p->counter, m->data + 8, sizeof p->counter);
        p->next = 1;
    } else if (m->type == M_DONE) {
        uint64_t sum;
        memcpy(&sum, m->data, sizeof sum);
        if (sum != p->n * (p->n + 1) / 2) return -1;
        atomic_store(&g_count_done, 1);
        return 0;
    } else if (m->type != M_MORE) {
        return 0;
    }
    for (int k = 0; k < 4096 && p->next <= p->n; k++) {
        int rc = ax_send(rt, p->counter, M_NUM, &p->next, sizeof p->next);
        if (rc == AX_EFULL) {
            atomic_fetch_add(&g_full, 1);
            return ax_send_after(rt, ax_self(ctx), M_MORE, NULL, 0, 1, NULL);
        }
        if (rc) return rc;
        p->next++;
    }
    return p->next <= p->n ? ax_send(rt, ax_self(ctx), M_MORE, NULL, 0) : 0;
}

static ax_ref lookup(ax_remote *r, const char *name) {
    ax_ref ref;
    for (int i = 0; i < 500; i++) {
        if (ax_remote_whereis(r, name, 200, &ref) == 0) return ref;
        nap_us(10000);
    }
    die(name, AX_ENOENT);
}

static void wait_flag(_Atomic int *flag, const char *what) {
    int64_t until = now_ns() + 300 * 1000000000ll;
    while (!atomic_exchange(flag, 0)) {
        if (now_ns() > until) die(what, AX_ETIMEDOUT);
        nap_us(20);
    }
}

/* Runs one workload: spawns the driver, sends it M_START (n, target), waits for its flag, and
 * prints the line (warm: a short run first, not printed). */
static void run(ax_runtime *rt, ax_remote *r, const char *bench, const ax_behavior *b,
                ax_ref target, uint64_t n, uint64_t warm, _Atomic int *flag) {
    for (int round = 0; round < 2; round++) {
        uint64_t count = round == 0 ? warm : n;
        ax_ref driver;
        int rc = ax_spawn(rt, b, NULL, NULL, &driver);
        if (rc) die("spawn", rc);
        if (b->receive == producer_receive) { /* the counter learns n and whom to tell */
            unsigned char hello[16];
            memcpy(hello, &count, 8);
            memcpy(hello + 8, &driver, 8);
            if ((rc = ax_send(rt, target, M_START, hello, sizeof hello))) die("counter", rc);
        }
        unsigned char start[16];
        memcpy(start, &count, 8);
        memcpy(start + 8, &target, 8);
        bench_counts c0, c1;
        ax_remote_stats s0, s1;
        bench_counts_read(&c0);
        ax_remote_stats_get(r, &s0);
        atomic_store(&g_full, 0);
        int64_t t0 = now_ns();
        if ((rc = ax_send(rt, driver, M_START, start, sizeof start))) die("start", rc);
        wait_flag(flag, bench);
        int64_t ns = now_ns() - t0;
        bench_counts_read(&c1);
        ax_remote_stats_get(r, &s1);
        ax_stop(rt, driver);
        if (round == 0) continue;
        double sec = (double)ns / 1e9;
        uint64_t frames = s1.frames_out - s0.frames_out;
        printf("{\"system\":\"axon\",\"bench\":\"%s\",\"workers\":%d,\"n\":%llu,"
               "\"seconds\":%.6f,\"ns_per_op\":%.1f,\"ops_per_s\":%.1f,\"frames_out\":%llu,"
               "\"msgs_per_frame\":%.2f,\"window_full\":%llu,\"mallocs_per_op\":%.3f,"
               "\"locks_per_op\":%.3f}\n",
               bench, g_workers, (unsigned long long)n, sec, (double)ns / (double)n,
               (double)n / sec, (unsigned long long)frames,
               frames ? (double)(s1.msgs_out - s0.msgs_out) / (double)frames : 0.0,
               (unsigned long long)atomic_load(&g_full),
               (double)(c1.mallocs - c0.mallocs) / (double)n,
               (double)(c1.locks - c0.locks) / (double)n);
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    double scale = 1;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) scale = atof(argv[++i]);
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) g_workers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--spin-us") == 0 && i + 1 < argc) g_spin_us = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: axon-remote-bench [--scale S] [--workers W] [--spin-us N] "
                            "[--only remote_pingpong|remote_counting]\n");
            return 2;
        }
    }
    if (!(scale > 0)) scale = 1;
    if (g_workers < 1) g_workers = 1;
    if (!nats_server_path()) {
        fprintf(stderr, "axon-remote-bench: no nats-server (apt-get install nats-server)\n");
        return 77; /* ctest reads 77 as skipped */
    }
    if (!nats_servers_start(&g_servers, 1)) die("nats-server", AX_ETIMEDOUT);
    snprintf(g_cluster, sizeof g_cluster, "bench%d", (int)getpid());
    fflush(NULL);
    pid_t server_node = fork();
    if (server_node == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* goes with the bench */
        serve();
    }
    ax_remote *r;
    ax_runtime *rt = node(2, &r);
    ax_ref pong = lookup(r, "pong"), counter = lookup(r, "counter");
    uint64_t trips = (uint64_t)(100000 * scale), msgs = (uint64_t)(2000000 * scale);
    if (trips < 1) trips = 1;
    if (msgs < 1) msgs = 1;
    static const ax_behavior ping = {.name = "ping", .state_size = sizeof(struct ping),
                                     .receive = ping_receive};
    static const ax_behavior producer = {.name = "producer", .state_size = sizeof(struct producer),
                                         .receive = producer_receive};
    if (!only || strcmp(only, "remote_pingpong") == 0)
        run(rt, r, "remote_pingpong", &ping, pong, trips, 1000, &g_ping_done);
    if (!only || strcmp(only, "remote_counting") == 0)
        run(rt, r, "remote_counting", &producer, counter, msgs, 10000, &g_count_done);
    ax_send(rt, pong, M_QUIT, NULL, 0);
    int status = 0;
    waitpid(server_node, &status, 0);
    ax_runtime_destroy(rt);
    nats_servers_stop(&g_servers);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
