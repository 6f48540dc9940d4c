/* SPDX-License-Identifier: MIT */
/* test_udp.c: UDP sockets as messages, on whichever backend AX_IO selects (ctest runs it on
 * io_uring and on epoll): an echo round trip of many datagrams with exact count and byte
 * accounting (a window of datagrams in flight, so that loopback never drops one), replies to the
 * sender's address, IPv6, truncation of a datagram longer than a message, size limits, a write
 * queue past its hard limit, addresses parsed and formatted, and misuse. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "mem/fault.h"
#include "runner.h"

enum { T_GO = 1, T_BIND = 2 };

static unsigned char pattern(size_t i, size_t size) { return (unsigned char)(i * 131 + size * 7); }

static const ax_datagram *dgram(const ax_msg *m) { return (const ax_datagram *)m->data; }

/* ---- an echo: every datagram goes back to its sender ------------------------------------ */

static atomic_int g_echo_port, g_client_port, g_echoed, g_from_ok, g_truncated;
static char g_echo_bind[32], g_client_bind[32], g_loopback[16]; /* "127.0.0.1" or "[::1]" */

static int echo_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)arg;
    ax_socket *s = state;
    int rc = ax_udp_bind(ctx, g_echo_bind, s);
    if (rc) return rc;
    int port = 0;
    if (ax_socket_port(ctx, *s, &port) != 0 || port <= 0) return -1;
    atomic_store(&g_echo_port, port);
    return 0;
}

static int echo_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type != AX_MSG_SOCK_DATAGRAM) return 0;
    const ax_datagram *d = dgram(msg);
    if (d->length > d->size) { /* longer than a message carries: cut to AX_DATAGRAM_MAX */
        HCHECK(d->size == AX_DATAGRAM_MAX && d->length == 65507);
        atomic_fetch_add(&g_truncated, 1);
    }
    char from[AX_ADDR_STRLEN], want[AX_ADDR_STRLEN];
    HCHECK(ax_addr_format(&d->from, from, sizeof from) == 0);
    snprintf(want, sizeof want, "%s:%d", g_loopback, atomic_load(&g_client_port));
    if (strcmp(from, want) == 0) atomic_fetch_add(&g_from_ok, 1);
    int rc = ax_udp_send_to(ctx, d->sock, &d->from, d->data, d->size);
    HCHECK(rc == 0 || rc == 1);
    atomic_fetch_add(&g_echoed, 1);
    return 0;
}
static const ax_behavior echo_b = {"udp-echo", sizeof(ax_socket), echo_init, echo_receive, NULL};

/* ---- a client: N small datagrams, 16 in flight, then large ones one at a time ------------ */

enum { SMALL = 3000, WINDOW = 16, LARGE = 8, LARGE_SIZE = 60000 };
static atomic_int g_client_done;
static _Atomic long g_sent_bytes, g_got_bytes, g_got_count;

typedef struct {
    ax_socket s;
    ax_addr echo;
    int sent, got;
} client_state;

/* The size of datagram i: 0..1400 bytes, then LARGE_SIZE, then the largest IPv4 datagram. */
static size_t size_of(int i) {
    if (i < SMALL) return (size_t)(i * 7919) % 1401;
    return i < SMALL + LARGE ? LARGE_SIZE : 65507;
}
/* What comes back: the echo returns what it received, a truncated datagram's kept part. */
static size_t echo_size(int i) { return size_of(i) > AX_DATAGRAM_MAX ? AX_DATAGRAM_MAX : size_of(i); }

static void client_push(ax_ctx *ctx, client_state *st) {
    static unsigned char buf[65507];
    int total = SMALL + LARGE + 1;
    while (st->sent < total) {
        int window = st->sent < SMALL ? WINDOW : 1;
        if (st->sent - st->got >= window) return;
        size_t n = size_of(st->sent);
        for (size_t k = 0; k < n; k++) buf[k] = pattern(k, n);
        int rc = ax_udp_send_to(ctx, st->s, &st->echo, buf, n);
        HCHECK(rc == 0 || rc == 1);
        if (rc < 0) return;
        atomic_fetch_add(&g_sent_bytes, (long)n);
        st->sent++;
    }
}

static int client_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    client_state *st = state;
    if (msg->type == T_GO) {
        HCHECK(ax_udp_bind(ctx, g_client_bind, &st->s) == 0);
        int port = 0;
        HCHECK(ax_socket_port(ctx, st->s, &port) == 0 && port > 0);
        atomic_store(&g_client_port, port);
        char addr[AX_ADDR_STRLEN];
        snprintf(addr, sizeof addr, "%s:%d", g_loopback, atomic_load(&g_echo_port));
        HCHECK(ax_addr_parse(addr, &st->echo) == 0);
        client_push(ctx, st);
        return 0;
    }
    if (msg->type == AX_MSG_SOCK_ERROR) {
        HCHECK(0);
        return 0;
    }
    if (msg->type != AX_MSG_SOCK_DATAGRAM) return 0;
    const ax_datagram *d = dgram(msg);
    HCHECK(ax_socket_eq(d->sock, st->s));
    HCHECK(d->size == d->length);
    /* Loopback keeps order within a window; sizes tell each datagram anyway. */
    HCHECK(d->size == echo_size(st->got));
    for (uint32_t k = 0; k < d->size; k++)
        if (d->data[k] != pattern(k, size_of(st->got))) {
            HCHECK(0);
            break;
        }
    char from[AX_ADDR_STRLEN], want[AX_ADDR_STRLEN];
    HCHECK(ax_addr_format(&d->from, from, sizeof from) == 0);
    snprintf(want, sizeof want, "%s:%d", g_loopback, atomic_load(&g_echo_port));
    HCHECK(strcmp(from, want) == 0);
    st->got++;
    atomic_fetch_add(&g_got_bytes, (long)d->size);
    atomic_fetch_add(&g_got_count, 1);
    if (st->got == SMALL + LARGE + 1) {
        HCHECK(ax_socket_close(ctx, st->s) == 0);
        atomic_fetch_add(&g_client_done, 1);
        return 0;
    }
    client_push(ctx, st);
    return 0;
}
static const ax_behavior client_b = {"udp-client", sizeof(client_state), NULL, client_receive,
                                     NULL};

static void round_trip(const char *loopback) {
    snprintf(g_loopback, sizeof g_loopback, "%s", loopback);
    snprintf(g_echo_bind, sizeof g_echo_bind, "%.15s:0", loopback);
    snprintf(g_client_bind, sizeof g_client_bind, "%.15s:0", loopback);
    ax_runtime *rt = fixture_runtime(2);
    ax_ref echo, client;
    CHECK_OK(ax_spawn(rt, &echo_b, NULL, NULL, &echo));
    CHECK(atomic_load(&g_echo_port) > 0);
    CHECK_OK(ax_spawn(rt, &client_b, NULL, NULL, &client));
    CHECK_OK(ax_send(rt, client, T_GO, NULL, 0));
    WAIT_ATOMIC(g_client_done, 1);
    int total = SMALL + LARGE + 1;
    long want = 0, back = 0;
    for (int i = 0; i < total; i++) {
        want += (long)size_of(i);
        back += (long)echo_size(i);
    }
    CHECK_EQ(atomic_load(&g_sent_bytes), want);
    CHECK_EQ(atomic_load(&g_got_count), total);
    CHECK_EQ(atomic_load(&g_got_bytes), back);
    CHECK_EQ(atomic_load(&g_echoed), total);
    CHECK_EQ(atomic_load(&g_from_ok), total); /* the echo saw the client's own address */
    CHECK_EQ(atomic_load(&g_truncated), 1);
    /* The echo's and the client's receives; the client's and the echo's sends (the last send's
     * completion may be reaped just after its datagram arrived). */
    WAIT_UNTIL(fixture_stats(rt).bytes_in == (uint64_t)(back + back) &&
               fixture_stats(rt).bytes_out == (uint64_t)(want + back));
    WAIT_UNTIL(fixture_stats(rt).sockets == 1); /* the echo's */
    CHECK_OK(ax_stop(rt, echo));
    WAIT_UNTIL(fixture_stats(rt).sockets == 0);
    fixture_destroy(rt);
}

static void test_udp_round_trip(void) { round_trip("127.0.0.1"); }

static void test_udp_round_trip_ipv6(void) {
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    if (!ok) TEST_SKIP("no IPv6 loopback here");
    round_trip("[::1]");
}

/* ---- addresses -------------------------------------------------------------------------- */

static void test_addr_parse_format(void) {
    ax_addr a;
    char buf[AX_ADDR_STRLEN];
    CHECK_OK(ax_addr_parse("127.0.0.1:53", &a));
    CHECK_EQ(a.len, sizeof(struct sockaddr_in));
    CHECK_OK(ax_addr_format(&a, buf, sizeof buf));
    CHECK(strcmp(buf, "127.0.0.1:53") == 0);
    CHECK_OK(ax_addr_parse("localhost:8080", &a));
    CHECK_OK(ax_addr_format(&a, buf, sizeof buf));
    CHECK(strcmp(buf, "127.0.0.1:8080") == 0);
    CHECK_OK(ax_addr_parse("[::1]:65535", &a));
    CHECK_EQ(a.len, sizeof(struct sockaddr_in6));
    CHECK_OK(ax_addr_format(&a, buf, sizeof buf));
    CHECK(strcmp(buf, "[::1]:65535") == 0);
    CHECK_OK(ax_addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", &a));
    CHECK_OK(ax_addr_format(&a, buf, sizeof buf)); /* the longest text fits AX_ADDR_STRLEN */
    CHECK_OK(ax_addr_parse(":9", &a));
    CHECK_OK(ax_addr_format(&a, buf, sizeof buf));
    CHECK(strcmp(buf, "[::]:9") == 0);
    CHECK_RC(ax_addr_format(&a, buf, 5), AX_EINVAL); /* too small: not written */
    CHECK(strcmp(buf, "[::]:9") == 0);
    CHECK_RC(ax_addr_format(NULL, buf, sizeof buf), AX_EINVAL);
    CHECK_RC(ax_addr_format(&a, NULL, sizeof buf), AX_EINVAL);
    ax_addr none = {0};
    CHECK_RC(ax_addr_format(&none, buf, sizeof buf), AX_EINVAL);
    CHECK_RC(ax_addr_parse(NULL, &a), AX_EINVAL);
    CHECK_RC(ax_addr_parse("127.0.0.1:53", NULL), AX_EINVAL);
    CHECK_RC(ax_addr_parse("127.0.0.1", &a), AX_EINVAL);
    CHECK_RC(ax_addr_parse("127.0.0.1:65536", &a), AX_EINVAL);
    CHECK_RC(ax_addr_parse("127.0.0.1:-1", &a), AX_EINVAL);
    CHECK_RC(ax_addr_parse("example.com:80", &a), AX_EINVAL); /* names are not resolved */
    CHECK_RC(ax_addr_parse("[::1:80", &a), AX_EINVAL);
}

/* ---- misuse ----------------------------------------------------------------------------- */

static atomic_int g_misuse_done;
static _Atomic uint64_t g_foreign;

static int misuse_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type != T_GO) return 0;
    ax_socket u, t;
    HCHECK(ax_udp_bind(NULL, "127.0.0.1:0", &u) == AX_EINVAL);
    HCHECK(ax_udp_bind(ctx, NULL, &u) == AX_EINVAL);
    HCHECK(ax_udp_bind(ctx, "127.0.0.1:0", NULL) == AX_EINVAL);
    HCHECK(ax_udp_bind(ctx, "127.0.0.1", &u) == AX_EINVAL);
    HCHECK(ax_udp_bind(ctx, "no.such.host:53", &u) == AX_EINVAL);
    HCHECK(ax_udp_bind(ctx, "127.0.0.1:0", &u) == 0);
    int port = 0;
    HCHECK(ax_socket_port(ctx, u, &port) == 0 && port > 0);
    ax_addr to, to6;
    HCHECK(ax_addr_parse("127.0.0.1:9", &to) == 0);
    HCHECK(ax_addr_parse("[::1]:9", &to6) == 0);
    static unsigned char big[65536];
    HCHECK(ax_udp_send_to(NULL, u, &to, "x", 1) == AX_EINVAL);
    HCHECK(ax_udp_send_to(ctx, u, NULL, "x", 1) == AX_EINVAL);
    HCHECK(ax_udp_send_to(ctx, u, &to, NULL, 1) == AX_EINVAL);
    HCHECK(ax_udp_send_to(ctx, u, &to6, "x", 1) == AX_EINVAL); /* an IPv4 socket */
    ax_addr bad = to;
    bad.reserved = 1;
    HCHECK(ax_udp_send_to(ctx, u, &bad, "x", 1) == AX_EINVAL);
    bad = to;
    bad.len = 4;
    HCHECK(ax_udp_send_to(ctx, u, &bad, "x", 1) == AX_EINVAL);
    HCHECK(ax_udp_send_to(ctx, u, &to, big, 65508) == AX_EMSGSIZE);
    HCHECK(ax_udp_send_to(ctx, u, &to, big, 65507) == 0);
    HCHECK(ax_udp_send_to(ctx, u, &to, NULL, 0) == 0); /* an empty datagram is one */
    HCHECK(ax_socket_set_watermarks(ctx, u, 100, 1000) == 0);
    HCHECK(ax_udp_send_to(ctx, u, &to, big, 1001) == AX_EMSGSIZE); /* above high */
    ax_socket u6;
    int rc6 = ax_udp_bind(ctx, "[::1]:0", &u6);
    HCHECK(rc6 == 0 || rc6 == -EADDRNOTAVAIL || rc6 == -EAFNOSUPPORT);
    if (rc6 == 0) {
        HCHECK(ax_udp_send_to(ctx, u6, &to6, big, 65528) == AX_EMSGSIZE);
        HCHECK(ax_udp_send_to(ctx, u6, &to6, big, 65527) == 0);
        HCHECK(ax_socket_close(ctx, u6) == 0);
    }
    /* Stream calls on a datagram socket, and the other way round. */
    HCHECK(ax_socket_send(ctx, u, "x", 1) == AX_EINVAL);
    HCHECK(ax_socket_shutdown(ctx, u) == AX_EINVAL);
    HCHECK(ax_tcp_listen(ctx, "127.0.0.1:0", NULL, &t) == 0);
    HCHECK(ax_udp_send_to(ctx, t, &to, "x", 1) == AX_EINVAL);
    HCHECK(ax_socket_close(ctx, t) == 0);
    mem_fault_on = 1; /* this thread's allocations fail (the fault-injection build) */
    HCHECK(ax_udp_send_to(ctx, u, &to, "x", 1) == AX_ENOMEM);
    mem_fault_on = 0;
    HCHECK(ax_socket_read(ctx, u, 0) == 0);
    HCHECK(ax_socket_read(ctx, u, 1) == 0);
    atomic_store(&g_foreign, u.id);
    ax_socket gone;
    HCHECK(ax_udp_bind(ctx, "127.0.0.1:0", &gone) == 0);
    HCHECK(ax_socket_close(ctx, gone) == 0);
    HCHECK(ax_udp_send_to(ctx, gone, &to, "x", 1) == AX_ENOSOCK);
    HCHECK(ax_udp_send_to(ctx, AX_SOCKET_NONE, &to, "x", 1) == AX_ENOSOCK);
    atomic_fetch_add(&g_misuse_done, 1);
    return 0;
}
static const ax_behavior misuse_b = {"udp-misuse", 0, NULL, misuse_receive, NULL};

static int foreign_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state, (void)msg;
    ax_addr to;
    HCHECK(ax_addr_parse("127.0.0.1:9", &to) == 0);
    ax_socket s = {atomic_load(&g_foreign)};
    HCHECK(ax_udp_send_to(ctx, s, &to, "x", 1) == AX_ECONTEXT);
    atomic_fetch_add(&g_misuse_done, 1);
    return 0;
}
static const ax_behavior foreign_b = {"udp-foreign", 0, NULL, foreign_receive, NULL};

static void test_udp_misuse(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_ref m, f;
    CHECK_OK(ax_spawn(rt, &misuse_b, NULL, NULL, &m));
    CHECK_OK(ax_spawn(rt, &foreign_b, NULL, NULL, &f));
    CHECK_OK(ax_send(rt, m, T_GO, NULL, 0));
    WAIT_ATOMIC(g_misuse_done, 1);
    CHECK_OK(ax_send(rt, f, T_GO, NULL, 0));
    WAIT_ATOMIC(g_misuse_done, 2);
    CHECK_OK(ax_stop(rt, m)); /* its sockets close with it */
    WAIT_UNTIL(fixture_stats(rt).sockets == 0);
    fixture_destroy(rt);
}

/* ---- a write queue nobody drains: past the hard limit, sends are refused ------------------
 * The binder (A) keeps its socket's home worker busy in a handler while the owner it handed the
 * socket to (B) sends on the other worker: nothing is written meanwhile. */

static atomic_int g_a_ready, g_b_done, g_efull_sends, g_b_writable;
static _Atomic uint64_t g_shared;

static int a_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type != T_BIND) return 0;
    ax_socket s;
    ax_ref b;
    memcpy(&b, msg->data, sizeof b);
    HCHECK(ax_udp_bind(ctx, "127.0.0.1:0", &s) == 0);
    HCHECK(ax_socket_handover(ctx, s, b) == 0);
    ax_addr to;
    HCHECK(ax_addr_parse("127.0.0.1:9", &to) == 0);
    HCHECK(ax_udp_send_to(ctx, s, &to, "x", 1) == AX_ECONTEXT); /* no longer A's */
    atomic_store(&g_shared, s.id);
    atomic_store(&g_a_ready, 1);
    int64_t t0 = check_now_ms();
    while (!atomic_load(&g_b_done) && check_now_ms() - t0 < 20000) check_sleep_us(1000);
    HCHECK(atomic_load(&g_b_done));
    return 0;
}
static const ax_behavior a_b = {"udp-busy-home", 0, NULL, a_receive, NULL};

static int b_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    if (msg->type == AX_MSG_SOCK_WRITABLE) {
        atomic_fetch_add(&g_b_writable, 1);
        return 0;
    }
    if (msg->type != T_GO) return 0;
    ax_socket s = {atomic_load(&g_shared)};
    int sink = atomic_load(&g_echo_port);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", sink);
    ax_addr to;
    HCHECK(ax_addr_parse(addr, &to) == 0);
    HCHECK(ax_socket_set_watermarks(ctx, s, 512, 1024) == 0);
    static unsigned char chunk[1000];
    int rc = 0, sends = 0;
    while (sends < 20000 && (rc = ax_udp_send_to(ctx, s, &to, chunk, sizeof chunk)) >= 0) sends++;
    HCHECK(rc == AX_EFULL);
    HCHECK(ax_udp_send_to(ctx, s, &to, chunk, sizeof chunk) == AX_EFULL); /* still full */
    atomic_store(&g_efull_sends, sends);
    atomic_store(&g_b_done, 1);
    return 0;
}
static const ax_behavior b_b = {"udp-owner", 0, NULL, b_receive, NULL};

static void test_udp_queue_bound(void) {
    ax_runtime *rt = fixture_runtime(2);
    /* A sink that never reads: the kernel drops what overflows its buffer. */
    int sink = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    CHECK(sink >= 0 && bind(sink, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(getsockname(sink, (struct sockaddr *)&sa, &sl) == 0);
    atomic_store(&g_echo_port, ntohs(sa.sin_port));
    ax_ref a, b;
    CHECK_OK(ax_spawn(rt, &a_b, NULL, NULL, &a));
    CHECK_OK(ax_spawn(rt, &b_b, NULL, NULL, &b));
    CHECK_OK(ax_send(rt, a, T_BIND, &b, sizeof b));
    WAIT_ATOMIC(g_a_ready, 1);
    CHECK_OK(ax_send(rt, b, T_GO, NULL, 0)); /* from outside: the free worker takes it */
    WAIT_ATOMIC(g_b_done, 1);
    int sends = atomic_load(&g_efull_sends);
    CHECK(sends >= (8 << 20) / 1000 && sends < 20000); /* twice high plus 8 MiB */
    WAIT_ATOMIC(g_b_writable, 1); /* the home drained it once free */
    close(sink);
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_udp_round_trip), TEST_CASE(test_udp_round_trip_ipv6),
          TEST_CASE(test_addr_parse_format), TEST_CASE(test_udp_misuse),
          TEST_CASE(test_udp_queue_bound))
