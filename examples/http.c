/* SPDX-License-Identifier: MIT */
/* http.c: an HTTP/1.1 server: GET / answers "Hello, World!", GET /json a JSON object, 404 else.
 * Build: make; run: build/release/examples/example_http [port [workers]] [--spin-us N]
 * [--header-timeout-ms N] [--idle-timeout-ms N] (defaults: 8080, one worker per CPU, axon's). */
#define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask */
#include <axon.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int is(const ax_http_request *req, const char *method, const char *target) {
    return req->method_len == strlen(method) && memcmp(req->method, method, req->method_len) == 0 &&
           req->target_len == strlen(target) && memcmp(req->target, target, req->target_len) == 0;
}

static int hello(ax_ctx *ctx, const ax_http_request *req, ax_http_response *res, void *arg) {
    (void)ctx;
    (void)arg;
    static const char text[] = "Hello, World!", json[] = "{\"message\":\"Hello, World!\"}";
    if (is(req, "GET", "/") || is(req, "HEAD", "/"))
        return ax_http_respond(res, 200, "text/plain", text, sizeof text - 1);
    if (is(req, "GET", "/json") || is(req, "HEAD", "/json"))
        return ax_http_respond(res, 200, "application/json", json, sizeof json - 1);
    if (is(req, "POST", "/echo")) /* the body back: for tests of request bodies */
        return ax_http_respond(res, 200, "application/octet-stream", req->body, req->body_len);
    return ax_http_respond(res, 404, "text/plain", "Not Found", 9);
}

int main(int argc, char **argv) {
    const char *port_arg = "8080";
    ax_config cfg = {0};
    ax_http_opts opts = {0};
    for (int i = 1, pos = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--spin-us") == 0)
            cfg.spin_us = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--header-timeout-ms") == 0)
            opts.header_timeout_ms = atoll(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--idle-timeout-ms") == 0)
            opts.idle_timeout_ms = atoll(argv[++i]);
        else if (pos++ == 0)
            port_arg = argv[i];
        else
            cfg.workers = atoi(argv[i]);
    }
    char addr[32];
    snprintf(addr, sizeof addr, ":%s", port_arg);
    struct rlimit fds; /* a connection is a descriptor: take all the kernel allows */
    if (getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
        fds.rlim_cur = fds.rlim_max;
        setrlimit(RLIMIT_NOFILE, &fds);
    }
    sigset_t set; /* blocked before the workers start, so that they inherit it: main waits */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    ax_runtime *rt;
    ax_ref server;
    int port = 0;
    int rc = ax_runtime_create(&cfg, &rt);
    if (rc == 0) rc = ax_http_listen(rt, addr, &opts, hello, NULL, &server, &port);
    if (rc != 0) {
        fprintf(stderr, "http: %s\n", ax_strerror(rc));
        return 1;
    }
    printf("http: listening on port %d\n", port);
    fflush(stdout);
    int sig; /* serve until SIGINT or SIGTERM */
    sigwait(&set, &sig);
    return ax_runtime_destroy(rt) == 0 ? 0 : 1;
}
