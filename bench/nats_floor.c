/* SPDX-License-Identifier: MIT */
/* nats_floor.c: nats-floor, the two floors that issue 12's remote benchmarks are held against,
 * measured with the NATS C client alone (no axon): the request/reply round trip between two
 * connections through one nats-server on loopback (remote_pingpong's floor), and the one-way
 * publish/subscribe throughput of 8-byte messages (remote_counting's floor). It starts its own
 * nats-server on a free loopback port (tests/nats_servers.h; NATS_SERVER names another binary).
 * JSON lines as axon-bench's. Usage: nats-floor [--scale S]   (scale 1: 100,000 round trips,
 * 2,000,000 messages) */
#include <errno.h>
#include <nats/nats.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nats_servers.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Noreturn void die(const char *what, natsStatus s) {
    fprintf(stderr, "nats-floor: %s: %s\n", what,
            s == NATS_OK ? strerror(errno) : natsStatus_GetText(s));
    exit(1);
}

static struct nats_servers g_servers;

/* A connection; asap: it sends at once (no coalescing in the client's flusher thread: without it
 * a reply from a callback waits about a millisecond), else it batches (for throughput). */
static natsStatus connect_opts(natsConnection **nc, const char *url, bool asap) {
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK) s = natsOptions_SetURL(o, url);
    if (s == NATS_OK) s = natsOptions_SetSendAsap(o, asap);
    if (s == NATS_OK) s = natsConnection_Connect(nc, o);
    natsOptions_Destroy(o);
    return s;
}

static void stop_server(void) { nats_servers_stop(&g_servers); }

static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)sub, (void)closure;
    natsConnection_Publish(nc, natsMsg_GetReply(msg), natsMsg_GetData(msg),
                           natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

static atomic_long g_received;

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc, (void)sub, (void)closure;
    atomic_fetch_add_explicit(&g_received, 1, memory_order_relaxed);
    natsMsg_Destroy(msg);
}

int main(int argc, char **argv) {
    double scale = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) scale = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: nats-floor [--scale S]\n");
            return 2;
        }
    }
    if (!(scale > 0)) scale = 1;
    if (!nats_server_path()) { /* ctest reads 77 as skipped */
        fprintf(stderr, "nats-floor: no nats-server (apt-get install nats-server)\n");
        return 77;
    }
    long trips = (long)(100000 * scale), msgs = (long)(2000000 * scale);
    if (trips < 1) trips = 1;
    if (msgs < 1) msgs = 1;
    if (!nats_servers_start(&g_servers, 1)) die("start nats-server", NATS_OK);
    atexit(stop_server);
    const char *url = g_servers.url[0];
    natsConnection *a = NULL, *b = NULL;
    natsStatus s = connect_opts(&a, url, true);
    if (s == NATS_OK) s = connect_opts(&b, url, true);
    if (s != NATS_OK) die("connections", s);

    /* Request/reply: b answers, a asks, one at a time. */
    natsSubscription *echo = NULL, *sink = NULL;
    if ((s = natsConnection_Subscribe(&echo, b, "floor.echo", on_request, NULL)) != NATS_OK ||
        (s = natsConnection_Flush(b)) != NATS_OK)
        die("subscribe", s);
    long payload = 0;
    double t0 = now_s();
    for (long i = 0; i < trips; i++) {
        natsMsg *reply = NULL;
        payload = i;
        if ((s = natsConnection_Request(&reply, a, "floor.echo", &payload, sizeof payload, 5000)) !=
            NATS_OK)
            die("request", s);
        long back;
        memcpy(&back, natsMsg_GetData(reply), sizeof back);
        natsMsg_Destroy(reply);
        if (back != i) die("a reply out of order", NATS_OK);
    }
    double rt = now_s() - t0;
    printf("{\"system\":\"nats.c\",\"bench\":\"remote_pingpong_floor\",\"workers\":0,\"n\":%ld,"
           "\"seconds\":%.6f,\"ns_per_op\":%.1f,\"ops_per_s\":%.1f,\"scale\":%g}\n",
           trips, rt, rt * 1e9 / (double)trips, (double)trips / rt, scale);

    /* Publish/subscribe, on two batching connections: c publishes 8-byte messages as fast as it
     * can, d counts them. */
    natsConnection *c = NULL, *d = NULL;
    if ((s = connect_opts(&c, url, false)) != NATS_OK ||
        (s = connect_opts(&d, url, false)) != NATS_OK)
        die("batching connections", s);
    if ((s = natsConnection_Subscribe(&sink, d, "floor.count", on_message, NULL)) != NATS_OK ||
        (s = natsSubscription_SetPendingLimits(sink, -1, -1)) != NATS_OK ||
        (s = natsConnection_Flush(d)) != NATS_OK)
        die("subscribe", s);
    t0 = now_s();
    for (long i = 0; i < msgs; i++) {
        payload = i;
        if ((s = natsConnection_Publish(c, "floor.count", &payload, sizeof payload)) != NATS_OK)
            die("publish", s);
    }
    if ((s = natsConnection_Flush(c)) != NATS_OK) die("flush", s);
    double deadline = now_s() + 60;
    while (atomic_load(&g_received) < msgs && now_s() < deadline) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    double pt = now_s() - t0;
    long got = atomic_load(&g_received);
    printf("{\"system\":\"nats.c\",\"bench\":\"remote_counting_floor\",\"workers\":0,\"n\":%ld,"
           "\"seconds\":%.6f,\"ns_per_op\":%.1f,\"ops_per_s\":%.1f,\"received\":%ld,"
           "\"scale\":%g}\n",
           msgs, pt, pt * 1e9 / (double)msgs, (double)msgs / pt, got, scale);
    natsSubscription_Destroy(echo);
    natsSubscription_Destroy(sink);
    natsConnection_Destroy(a);
    natsConnection_Destroy(b);
    natsConnection_Destroy(c);
    natsConnection_Destroy(d);
    nats_Close();
    stop_server();
    if (got != msgs) {
        fprintf(stderr, "nats-floor: %ld of %ld messages arrived\n", got, msgs);
        return 1;
    }
    return 0;
}
