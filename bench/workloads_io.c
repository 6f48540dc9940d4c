/* SPDX-License-Identifier: MIT */
/* workloads_io.c: the echo workload of shared/bench/WORKLOADS.md: 64-byte messages echoed over
 * loopback TCP by an actor per connection, driven by plain blocking client threads, beside the
 * floor measured in the same run: a blocking C server thread with the same client. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

enum { MSG = 64, CONNS = 64 };

/* ---- the axon server: the echo of examples/echo.c ---- */

static int conn_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    const ax_sock_msg *e = (const ax_sock_msg *)msg->data;
    if (msg->type == AX_MSG_SOCK_DATA) return ax_socket_send(ctx, e->sock, e->data, e->size) < 0;
    if (msg->type == AX_MSG_SOCK_EOF || msg->type == AX_MSG_SOCK_ERROR)
        return ax_stop(ax_ctx_runtime(ctx), ax_self(ctx));
    return 0;
}
static const ax_behavior conn_b = {"echo_conn", 0, NULL, conn_receive, NULL};

static int listener_init(ax_ctx *ctx, void *state, const void *arg) {
    int rc = ax_tcp_listen(ctx, "127.0.0.1:0", NULL, state);
    return rc ? rc : ax_socket_port(ctx, *(ax_socket *)state, (int *)arg);
}
static int listener_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type != AX_MSG_SOCK_ACCEPTED) return 0;
    ax_socket c = ((const ax_sock_msg *)msg->data)->conn;
    ax_ref child;
    if (ax_spawn(ax_ctx_runtime(ctx), &conn_b, NULL, NULL, &child) != 0) return ax_socket_close(ctx, c);
    return ax_socket_handover(ctx, c, child);
}
static const ax_behavior listener_b = {"echo_listener", sizeof(ax_socket), listener_init,
                                       listener_receive, NULL};

/* ---- the floor server: one blocking thread ---- */

struct floor_server {
    int lfd, nconns;
    pthread_t tid;
};

static void xwrite(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) bench_die("echo: send: %s", strerror(errno));
        p += k;
        n -= (size_t)k;
    }
}

/* Reads exactly n bytes; false at end of stream. */
static int xread(int fd, unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) bench_die("echo: recv: %s", strerror(errno));
        if (k == 0) return 0;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

static void *floor_main(void *arg) {
    struct floor_server *f = arg;
    struct pollfd pfd[CONNS];
    for (int i = 0; i < f->nconns; i++) {
        pfd[i].fd = accept(f->lfd, NULL, NULL);
        if (pfd[i].fd < 0) bench_die("echo floor: accept: %s", strerror(errno));
        pfd[i].events = POLLIN;
        int one = 1;
        setsockopt(pfd[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    unsigned char buf[4096];
    int open = f->nconns;
    if (f->nconns == 1) { /* blocking reads and writes, no poll */
        ssize_t k;
        while ((k = recv(pfd[0].fd, buf, sizeof buf, 0)) > 0) xwrite(pfd[0].fd, buf, (size_t)k);
        close(pfd[0].fd);
        return NULL;
    }
    while (open > 0) {
        if (poll(pfd, (nfds_t)f->nconns, -1) < 0 && errno != EINTR)
            bench_die("echo floor: poll: %s", strerror(errno));
        for (int i = 0; i < f->nconns; i++) {
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t k = recv(pfd[i].fd, buf, sizeof buf, 0);
            if (k <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open--;
            } else {
                xwrite(pfd[i].fd, buf, (size_t)k);
            }
        }
    }
    return NULL;
}

static int floor_start(struct floor_server *f, int nconns) {
    f->nconns = nconns;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->lfd, 128) != 0 || getsockname(f->lfd, (struct sockaddr *)&a, &len) != 0)
        bench_die("echo floor: listen: %s", strerror(errno));
    if (pthread_create(&f->tid, NULL, floor_main, f) != 0) bench_die("echo floor: thread");
    return ntohs(a.sin_port);
}

/* ---- the client: the same for both servers ---- */

static int dial(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        bench_die("echo: connect: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct echo_run {
    double seconds;
    double p50_us, p99_us, p999_us;
    uint64_t checksum; /* the bytes that came back, summed: equal to what was sent */
};

/* n round trips on one connection, one at a time, each timed. */
static void run_latency(int port, uint64_t n, struct echo_run *out, bench_result *r) {
    int fd = dial(port);
    unsigned char msg[MSG], back[MSG];
    int64_t *lat = malloc(n * sizeof *lat);
    if (!lat) bench_die("echo: out of memory");
    uint64_t sum = 0;
    for (int i = 0; i < 1000; i++) { /* warm-up: the pools and the connection's actor */
        memset(msg, i, MSG);
        xwrite(fd, msg, MSG);
        if (!xread(fd, back, MSG)) bench_die("echo: closed");
    }
    if (r) bench_measure_begin(r);
    int64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        memset(msg, (int)(i & 0xFF), MSG);
        int64_t a = bench_now_ns();
        xwrite(fd, msg, MSG);
        if (!xread(fd, back, MSG)) bench_die("echo: the server closed the connection");
        lat[i] = bench_now_ns() - a;
        if (memcmp(back, msg, MSG) != 0) bench_die("echo: round trip %llu came back changed",
                                                   (unsigned long long)i);
        sum += back[0] * (uint64_t)MSG;
    }
    out->seconds = (double)(bench_now_ns() - t0) / 1e9;
    if (r) bench_measure_end(r);
    close(fd);
    qsort(lat, n, sizeof *lat, cmp_i64);
    out->p50_us = (double)lat[n / 2] / 1e3;
    out->p99_us = (double)lat[n * 99 / 100] / 1e3;
    out->p999_us = (double)lat[n * 999 / 1000] / 1e3;
    out->checksum = sum;
    free(lat);
}

/* n round trips over CONNS connections from one thread: a message on each, then each echo. */
static void run_throughput(int port, uint64_t n, struct echo_run *out, bench_result *r) {
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++) fds[i] = dial(port);
    unsigned char msg[MSG], back[MSG];
    uint64_t rounds = (n + CONNS - 1) / CONNS, sum = 0;
    memset(msg, 0, MSG);
    for (int i = 0; i < CONNS; i++) { /* warm-up: every connection accepted and served once */
        xwrite(fds[i], msg, MSG);
        if (!xread(fds[i], back, MSG)) bench_die("echo: closed");
    }
    if (r) bench_measure_begin(r);
    int64_t t0 = bench_now_ns();
    for (uint64_t k = 0; k < rounds; k++) {
        memset(msg, (int)(k & 0xFF), MSG);
        for (int i = 0; i < CONNS; i++) xwrite(fds[i], msg, MSG);
        for (int i = 0; i < CONNS; i++) {
            if (!xread(fds[i], back, MSG)) bench_die("echo: the server closed a connection");
            if (memcmp(back, msg, MSG) != 0) bench_die("echo: a message came back changed");
            sum += back[0] * (uint64_t)MSG;
        }
    }
    out->seconds = (double)(bench_now_ns() - t0) / 1e9;
    if (r) bench_measure_end(r);
    for (int i = 0; i < CONNS; i++) close(fds[i]);
    out->checksum = sum;
}

static uint64_t expected_sum(uint64_t rounds) { /* sum over k < rounds of (k & 0xFF) * MSG */
    uint64_t s = 0;
    for (uint64_t k = 0; k < rounds; k++) s += (k & 0xFF) * (uint64_t)MSG;
    return s;
}

static int axon_server(ax_runtime *rt) {
    int port = 0;
    bench_spawn(rt, &listener_b, &port);
    return port;
}

void bench_echo(ax_runtime *rt, const bench_params *p, bench_result *r) {
    uint64_t n = bench_scaled(100000, p->scale);
    struct floor_server f;
    struct echo_run fl, ax;
    run_latency(floor_start(&f, 1), n, &fl, NULL);
    pthread_join(f.tid, NULL);
    close(f.lfd);
    run_latency(axon_server(rt), n, &ax, r);
    if (ax.checksum != expected_sum(n) || fl.checksum != ax.checksum)
        bench_die("echo: checksum %llu, floor %llu, want %llu", (unsigned long long)ax.checksum,
                  (unsigned long long)fl.checksum, (unsigned long long)expected_sum(n));
    r->n = n;
    r->checksum = ax.checksum;
    snprintf(r->extra, sizeof r->extra,
             ",\"connections\":1,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
             "\"floor_p50_us\":%.2f,\"floor_p99_us\":%.2f,\"floor_p999_us\":%.2f,"
             "\"p50_vs_floor\":%.2f",
             ax.p50_us, ax.p99_us, ax.p999_us, fl.p50_us, fl.p99_us, fl.p999_us,
             ax.p50_us / fl.p50_us);
}

void bench_echo_conns(ax_runtime *rt, const bench_params *p, bench_result *r) {
    uint64_t n = bench_scaled(1000000, p->scale);
    uint64_t rounds = (n + CONNS - 1) / CONNS;
    struct floor_server f;
    struct echo_run fl, ax;
    run_throughput(floor_start(&f, CONNS), n, &fl, NULL);
    pthread_join(f.tid, NULL);
    close(f.lfd);
    run_throughput(axon_server(rt), n, &ax, r);
    if (ax.checksum != expected_sum(rounds) * CONNS || fl.checksum != ax.checksum)
        bench_die("echo_conns: checksum %llu, floor %llu", (unsigned long long)ax.checksum,
                  (unsigned long long)fl.checksum);
    r->n = rounds * CONNS;
    r->checksum = ax.checksum;
    snprintf(r->extra, sizeof r->extra,
             ",\"connections\":%d,\"floor_ops_per_s\":%.1f,\"vs_floor\":%.2f", CONNS,
             (double)r->n / fl.seconds, fl.seconds / ax.seconds);
}
