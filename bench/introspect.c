/* SPDX-License-Identifier: MIT */
/* introspect.c: axon-bench --introspect idle|scraped: the runtime's introspection endpoint on
 * during a run (ax_introspect_listen on a free loopback port), and, scraped, a thread that
 * fetches /metrics once a second as Prometheus would, so that a run measures what being
 * observable costs the workload (issue 11: at most 2 %). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static struct {
    int port;
    atomic_int stop;
    atomic_ulong scrapes, bytes;
    pthread_t thread;
    int running;
} sc;

/* One GET /metrics on a new connection; the bytes of the answer (0 if it failed). */
static size_t scrape_once(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
    size_t total = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
        char buf[16384];
        for (ssize_t r; (r = read(fd, buf, sizeof buf)) > 0;) total += (size_t)r;
    }
    close(fd);
    return total;
}

static void *scrape_main(void *arg) {
    (void)arg;
    while (!atomic_load(&sc.stop)) {
        size_t got = scrape_once(sc.port);
        if (got) {
            atomic_fetch_add(&sc.scrapes, 1);
            atomic_fetch_add(&sc.bytes, got);
        }
        for (int i = 0; i < 100 && !atomic_load(&sc.stop); i++) { /* a second, in 10 ms naps */
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

void bench_introspect_start(ax_runtime *rt, int mode) {
    memset(&sc, 0, sizeof sc);
    if (mode == BENCH_INTROSPECT_OFF) return;
    ax_ref server;
    int rc = ax_introspect_listen(rt, "127.0.0.1:0", &server, &sc.port);
    if (rc != 0) bench_die("ax_introspect_listen: %s", ax_strerror(rc));
    if (mode == BENCH_INTROSPECT_SCRAPED) {
        if (pthread_create(&sc.thread, NULL, scrape_main, NULL) != 0)
            bench_die("introspect: no scraper thread");
        sc.running = 1;
    }
}

void bench_introspect_stop(bench_result *r) {
    if (!sc.running) return;
    atomic_store(&sc.stop, 1);
    pthread_join(sc.thread, NULL);
    sc.running = 0;
    size_t n = strlen(r->extra);
    snprintf(r->extra + n, sizeof r->extra - n, ",\"scrapes\":%lu,\"scraped_bytes\":%lu",
             atomic_load(&sc.scrapes), atomic_load(&sc.bytes));
}
