/* SPDX-License-Identifier: MIT */
/* test_http_server.c: the HTTP server (src/http/server.c) through its API: listen options and
 * misuse, ax_http_respond's checks, header lookup, large bodies, a failing handler, stopping the
 * server, out of memory, and many clients pipelining with every request counted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "mem/fault.h"
#include "runner.h"

/* ---- a blocking client -------------------------------------------------------------------- */

struct client {
    int fd;
    char buf[1 << 16];
    size_t len;
};

static void client_open(struct client *c, int port) {
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(c->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(c->fd, (struct sockaddr *)&a, sizeof a) == 0);
    struct timeval tv = {20, 0}; /* a guard against hangs */
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void client_send(struct client *c, const void *p, size_t n) {
    const char *s = p;
    while (n > 0) {
        ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        CHECK(k > 0);
        s += k;
        n -= (size_t)k;
    }
}

/* Reads more into the buffer; false at end of stream. */
static bool client_fill(struct client *c) {
    CHECK(c->len < sizeof c->buf);
    ssize_t k;
    while ((k = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0)) < 0 && errno == EINTR)
        continue;
    CHECK(k >= 0);
    c->len += (size_t)k;
    return k > 0;
}

/* Reads one response: its status; its body goes to body (cap bytes; the rest is counted and
 * checked against `pattern` when check_pattern), its length to *body_len. */
struct response {
    int status;
    bool close;
    size_t body_len;
};

static struct response client_response(struct client *c, char *body, size_t cap) {
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4))) CHECK(client_fill(c));
    size_t head = (size_t)(end - c->buf) + 4;
    struct response r = {0};
    CHECK(sscanf(c->buf, "HTTP/1.1 %d", &r.status) == 1);
    char *cl = memmem(c->buf, head, "Content-Length: ", 16);
    CHECK(cl != NULL);
    r.body_len = strtoull(cl + 16, NULL, 10);
    r.close = memmem(c->buf, head, "Connection: close", 17) != NULL;
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
    size_t got = 0;
    while (got < r.body_len) {
        if (c->len == 0) CHECK(client_fill(c));
        size_t n = r.body_len - got < c->len ? r.body_len - got : c->len;
        if (got < cap) memcpy(body + got, c->buf, n < cap - got ? n : cap - got);
        got += n;
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
    }
    return r;
}

/* True once the server closed the connection. */
static bool client_closed(struct client *c) {
    c->len = 0;
    while (client_fill(c)) c->len = 0;
    return true;
}

static const char GET[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

/* ---- handlers ----------------------------------------------------------------------------- */

static _Atomic long handled;

static int hello(ax_ctx *ctx, const ax_http_request *req, ax_http_response *res, void *arg) {
    (void)ctx;
    (void)req;
    (void)arg;
    atomic_fetch_add(&handled, 1);
    return ax_http_respond(res, 200, "text/plain", "Hello, World!", 13);
}

static int listen_on(ax_runtime *rt, const ax_http_opts *opts, ax_http_handler fn, void *arg,
                     ax_ref *server) {
    int port = 0;
    CHECK_OK(ax_http_listen(rt, "127.0.0.1:0", opts, fn, arg, server, &port));
    CHECK(port > 0);
    return port;
}

/* ---- cases -------------------------------------------------------------------------------- */

static void test_listen_misuse(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_ref server;
    int port;
    CHECK_RC(ax_http_listen(NULL, ":0", NULL, hello, NULL, &server, NULL), AX_EINVAL);
    CHECK_RC(ax_http_listen(rt, NULL, NULL, hello, NULL, &server, NULL), AX_EINVAL);
    CHECK_RC(ax_http_listen(rt, ":0", NULL, NULL, NULL, &server, NULL), AX_EINVAL);
    CHECK_RC(ax_http_listen(rt, ":0", NULL, hello, NULL, NULL, NULL), AX_EINVAL);
    CHECK_RC(ax_http_listen(rt, ":0", &(ax_http_opts){.header_timeout_ms = -1}, hello, NULL, &server, NULL), AX_EINVAL);
    CHECK_RC(ax_http_listen(rt, ":0", &(ax_http_opts){.idle_timeout_ms = INT64_MAX}, hello, NULL, &server, NULL), AX_EINVAL);
    CHECK_RC(ax_http_listen(rt, ":0", &(ax_http_opts){.max_body = SIZE_MAX}, hello, NULL, &server, NULL), AX_EINVAL);
    CHECK_RC(ax_http_listen(rt, ":0", &(ax_http_opts){.reserved[3] = 1}, hello, NULL, &server, NULL), AX_EINVAL);
    CHECK_RC(ax_http_listen(rt, ":0", &(ax_http_opts){.listen.backlog = -1}, hello, NULL, &server, NULL), AX_EINVAL);
    CHECK_RC(ax_http_listen(rt, "no port", NULL, hello, NULL, &server, NULL), AX_EINVAL);
    /* A port taken (without SO_REUSEPORT) is the kernel's error. */
    port = listen_on(rt, NULL, hello, NULL, &server);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    ax_ref second;
    CHECK_RC(ax_http_listen(rt, addr, NULL, hello, NULL, &second, NULL), -EADDRINUSE);
    /* The first still serves. */
    struct client c;
    client_open(&c, port);
    client_send(&c, GET, sizeof GET - 1);
    char body[32];
    struct response r = client_response(&c, body, sizeof body);
    CHECK(r.status == 200 && r.body_len == 13 && memcmp(body, "Hello, World!", 13) == 0);
    close(c.fd);
    fixture_shutdown(rt);
    CHECK_RC(ax_http_listen(rt, ":0", NULL, hello, NULL, &server, NULL), AX_ESHUTDOWN);
    fixture_destroy(rt);
}

/* The handler tries each mistake on the first request, then answers. */
static _Atomic int respond_checked;

static int misuse(ax_ctx *ctx, const ax_http_request *req, ax_http_response *res, void *arg) {
    (void)ctx;
    (void)arg;
    static const char big[1];
    HCHECK(ax_http_respond(NULL, 200, NULL, NULL, 0) == AX_EINVAL);
    HCHECK(ax_http_respond(res, 99, NULL, NULL, 0) == AX_EINVAL);
    HCHECK(ax_http_respond(res, 1000, NULL, NULL, 0) == AX_EINVAL);
    HCHECK(ax_http_respond(res, 200, NULL, NULL, 5) == AX_EINVAL);
    HCHECK(ax_http_respond(res, 200, "text/plain\r\nX-Injected: 1", "x", 1) == AX_EINVAL);
    HCHECK(ax_http_respond(res, 200, NULL, big, AX_HTTP_BODY_MAX + 1) == AX_EMSGSIZE);
    HCHECK(ax_http_respond(res, 200, NULL, big, SIZE_MAX) == AX_EMSGSIZE);
    /* Header lookup: case-insensitive, NULL-safe. */
    size_t len = 0;
    const char *v = ax_http_header_get(req, "x-TEST", &len);
    HCHECK(v && len == 5 && memcmp(v, "value", 5) == 0);
    HCHECK(ax_http_header_get(req, "x-missing", &len) == NULL);
    HCHECK(ax_http_header_get(NULL, "host", &len) == NULL);
    HCHECK(ax_http_header_get(req, NULL, &len) == NULL);
    HCHECK(ax_http_header_get(req, "host", NULL) != NULL);
    HCHECK(req->minor_version == 1 && req->keep_alive && req->body == NULL && req->body_len == 0);
    HCHECK(ax_http_respond(res, 201, "text/plain", "made", 4) == 0);
    HCHECK(ax_http_respond(res, 200, NULL, NULL, 0) == AX_EINVAL); /* once per request */
    atomic_fetch_add(&respond_checked, 1);
    return 0;
}

static void test_respond_misuse(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref server;
    int port = listen_on(rt, NULL, misuse, NULL, &server);
    struct client c;
    client_open(&c, port);
    static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\nX-Test:  value \r\n\r\n";
    client_send(&c, req, sizeof req - 1);
    char body[8];
    struct response r = client_response(&c, body, sizeof body);
    CHECK(r.status == 201 && r.body_len == 4 && memcmp(body, "made", 4) == 0 && !r.close);
    CHECK_EQ(atomic_load(&respond_checked), 1);
    close(c.fd);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* A body much larger than a socket's high watermark, in pieces, byte for byte. */
#define BIG ((size_t)3 << 20)
static unsigned char big_body[BIG];

static int large(ax_ctx *ctx, const ax_http_request *req, ax_http_response *res, void *arg) {
    (void)ctx;
    (void)req;
    (void)arg;
    return ax_http_respond(res, 200, "application/octet-stream", big_body, BIG);
}

static void test_large_body(void) {
    for (size_t i = 0; i < BIG; i++) big_body[i] = (unsigned char)(i * 131 + 7);
    ax_runtime *rt = fixture_runtime(2);
    ax_ref server;
    int port = listen_on(rt, NULL, large, NULL, &server);
    struct client c;
    client_open(&c, port);
    unsigned char *got = malloc(BIG);
    CHECK(got != NULL);
    for (int round = 0; round < 2; round++) { /* twice on one connection: kept alive */
        client_send(&c, GET, sizeof GET - 1);
        struct response r = client_response(&c, (char *)got, BIG);
        CHECK(r.status == 200 && r.body_len == BIG);
        CHECK(memcmp(got, big_body, BIG) == 0);
    }
    free(got);
    close(c.fd);
    fixture_destroy(rt);
}

/* A handler that fails after answering closes the connection (its answer, already written, does
 * not say so); one that does not answer gets 500 sent for it. */
static int failing(ax_ctx *ctx, const ax_http_request *req, ax_http_response *res, void *arg) {
    (void)ctx;
    (void)arg;
    if (req->target_len == 1) return 0; /* "/": no answer */
    ax_http_respond(res, 200, NULL, "ok", 2);
    return -1;
}

static void test_handler_failure(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_ref server;
    int port = listen_on(rt, NULL, failing, NULL, &server);
    struct client c;
    char body[64];
    client_open(&c, port);
    client_send(&c, GET, sizeof GET - 1);
    struct response r = client_response(&c, body, sizeof body);
    CHECK(r.status == 500 && r.close);
    CHECK(client_closed(&c));
    close(c.fd);
    client_open(&c, port);
    static const char other[] = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";
    client_send(&c, other, sizeof other - 1);
    r = client_response(&c, body, sizeof body);
    CHECK(r.status == 200 && r.body_len == 2 && memcmp(body, "ok", 2) == 0);
    CHECK(client_closed(&c));
    close(c.fd);
    fixture_destroy(rt);
}

/* ax_stop(server) closes the listener: new connections are refused, open ones still served. */
static void test_stop_server(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref server;
    int port = listen_on(rt, NULL, hello, NULL, &server);
    struct client c;
    char body[16];
    client_open(&c, port);
    client_send(&c, GET, sizeof GET - 1);
    CHECK_EQ(client_response(&c, body, sizeof body).status, 200);
    CHECK_OK(ax_stop(rt, server));
    int refused = 0;
    for (int i = 0; i < 200 && !refused; i++) { /* the listener closes on its home, soon */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        refused = connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno == ECONNREFUSED;
        close(fd);
        if (!refused) check_sleep_us(10000);
    }
    CHECK(refused);
    client_send(&c, GET, sizeof GET - 1);
    CHECK_EQ(client_response(&c, body, sizeof body).status, 200);
    close(c.fd);
    fixture_destroy(rt);
}

/* Out of memory: the server's configuration cannot be allocated. */
static void test_enomem(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_ref server;
    mem_fault_on = 1;
    int rc = ax_http_listen(rt, "127.0.0.1:0", NULL, hello, NULL, &server, NULL);
    mem_fault_on = 0;
    CHECK_RC_OF(ax_http_listen, rc, AX_ENOMEM);
    fixture_destroy(rt);
}

/* Clients pipelining at once: every request answered in order, and counted on both sides. */
#define CLIENTS 8
#define ROUNDS 200
#define DEPTH 8

static int stress_port;
static _Atomic long answered;

static void *stress_client(void *arg) {
    (void)arg;
    struct client *c = malloc(sizeof *c);
    CHECK(c != NULL);
    client_open(c, stress_port);
    char batch[DEPTH * sizeof GET], body[16];
    for (int i = 0; i < DEPTH; i++) memcpy(batch + i * (sizeof GET - 1), GET, sizeof GET - 1);
    for (int round = 0; round < ROUNDS; round++) {
        client_send(c, batch, DEPTH * (sizeof GET - 1));
        for (int i = 0; i < DEPTH; i++) {
            struct response r = client_response(c, body, sizeof body);
            CHECK(r.status == 200 && r.body_len == 13 && memcmp(body, "Hello, World!", 13) == 0);
            atomic_fetch_add(&answered, 1);
        }
    }
    close(c->fd);
    free(c);
    return NULL;
}

static void test_pipelined_clients(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref server;
    atomic_store(&handled, 0);
    stress_port = listen_on(rt, NULL, hello, NULL, &server);
    pthread_t t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) CHECK(pthread_create(&t[i], NULL, stress_client, NULL) == 0);
    for (int i = 0; i < CLIENTS; i++) pthread_join(t[i], NULL);
    CHECK_EQ(atomic_load(&answered), (long)CLIENTS * ROUNDS * DEPTH);
    CHECK_EQ(atomic_load(&handled), (long)CLIENTS * ROUNDS * DEPTH);
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_listen_misuse), TEST_CASE(test_respond_misuse), TEST_CASE(test_large_body),
          TEST_CASE(test_handler_failure), TEST_CASE(test_stop_server), TEST_CASE(test_enomem),
          TEST_CASE(test_pipelined_clients))
