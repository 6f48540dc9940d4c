/* SPDX-License-Identifier: MIT */
/* workloads_latency.c: tail latency (issue 10). main, outside the runtime, sends a timestamped
 * message to actor A at a steady 100,000 per second (busy-waiting on the clock between sends, as
 * a busy producer thread would), and A forwards each one, stamped again, to actor B. Reported:
 * send to handler from the outside thread (p50_us, p99_us, p999_us, max_us: main's stamp to A's
 * handler) and between two actors (actor_p50_us ...: A's stamp to B's handler), over n messages
 * (200,000 at scale 1, two seconds); ns_per_op is the pacing interval actually achieved. The
 * floor, measured first in the same run (floor_p50_us ...): the same pacing into a plain thread
 * that spins on a slot per message, no runtime: what this machine's scheduler alone adds. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define LAT_RATE 100000 /* messages per second from main */
#define LAT_FULL_N 200000u

enum { M_STAMP = 1 };

typedef struct lat_msg {
    uint64_t index;
    int64_t sent_ns;
} lat_msg;

typedef struct lat_shared {
    bench_done done;
    uint64_t n;
    int64_t *outside; /* per message: main's stamp to A's handler */
    int64_t *actors;  /* per message: A's stamp to B's handler */
    _Atomic uint64_t received;
    ax_ref b;
} lat_shared;

static lat_shared lat;

static int lat_read(const ax_msg *m, lat_msg *out) {
    if (m->type != M_STAMP || m->size != sizeof *out) {
        bench_done_fail(&lat.done, "latency: unexpected message type %u size %u",
                        (unsigned)m->type, (unsigned)m->size);
        return -1;
    }
    memcpy(out, m->data, sizeof *out);
    if (out->index >= lat.n) {
        bench_done_fail(&lat.done, "latency: message index %llu of %llu",
                        (unsigned long long)out->index, (unsigned long long)lat.n);
        return -1;
    }
    return 0;
}

/* A: records main -> A, forwards with its own stamp. */
static int lat_a_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state;
    int64_t t = bench_now_ns();
    lat_msg in;
    if (lat_read(m, &in) != 0) return -1;
    lat.outside[in.index] = t - in.sent_ns;
    lat_msg out = {in.index, bench_now_ns()};
    int rc = ax_send(ax_ctx_runtime(ctx), lat.b, M_STAMP, &out, sizeof out);
    if (rc != 0) {
        bench_done_fail(&lat.done, "latency: A's ax_send: %s", ax_strerror(rc));
        return -1;
    }
    return 0;
}

/* B: records A -> B; the last message signals main. */
static int lat_b_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)ctx;
    (void)state;
    int64_t t = bench_now_ns();
    lat_msg in;
    if (lat_read(m, &in) != 0) return -1;
    if (lat.actors[in.index] != 0) {
        bench_done_fail(&lat.done, "latency: message %llu twice", (unsigned long long)in.index);
        return -1;
    }
    lat.actors[in.index] = t - in.sent_ns > 0 ? t - in.sent_ns : 1;
    if (atomic_fetch_add_explicit(&lat.received, 1, memory_order_acq_rel) + 1 == lat.n)
        bench_done_signal(&lat.done);
    return 0;
}

static const ax_behavior lat_a_behavior = {"latency-a", 0, NULL, lat_a_receive, NULL};
static const ax_behavior lat_b_behavior = {"latency-b", 0, NULL, lat_b_receive, NULL};

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, in microseconds. */
static double pct_us(const int64_t *v, uint64_t len, double p) {
    uint64_t rank = (uint64_t)(p * (double)len + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > len) rank = len;
    return (double)v[rank - 1] / 1e3;
}

/* ---- the floor: main paces stamps into slots, a plain thread spins on each in turn ---- */

typedef struct lat_floor {
    uint64_t n;
    _Atomic int64_t *slot;
    int64_t *lat;
} lat_floor;

static void *lat_floor_reader(void *arg) {
    lat_floor *f = arg;
    for (uint64_t i = 0; i < f->n; i++) {
        int64_t sent;
        /* acquire: pairs with main's release store of the stamp. */
        while ((sent = atomic_load_explicit(&f->slot[i], memory_order_acquire)) == 0) {
        }
        f->lat[i] = bench_now_ns() - sent;
    }
    return NULL;
}

/* Fills out[n] with the floor's latencies. */
static void lat_measure_floor(uint64_t n, int64_t interval, int64_t *out) {
    lat_floor f = {n, calloc(n, sizeof *f.slot), out};
    if (!f.slot) bench_die("latency: out of memory");
    pthread_t t;
    if (pthread_create(&t, NULL, lat_floor_reader, &f) != 0) bench_die("latency: pthread_create");
    int64_t next = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        int64_t now;
        while ((now = bench_now_ns()) < next) {
        }
        atomic_store_explicit(&f.slot[i], now, memory_order_release);
        next += interval;
    }
    pthread_join(t, NULL);
    free((void *)f.slot);
}

void bench_latency(ax_runtime *rt, const bench_params *p, bench_result *r) {
    uint64_t n = bench_scaled(LAT_FULL_N, p->scale);
    memset(&lat, 0, sizeof lat);
    bench_done_init(&lat.done);
    lat.n = n;
    lat.outside = calloc(n, sizeof *lat.outside);
    lat.actors = calloc(n, sizeof *lat.actors);
    if (!lat.outside || !lat.actors) bench_die("latency: out of memory");
    lat.b = bench_spawn(rt, &lat_b_behavior, NULL);
    ax_ref a = bench_spawn(rt, &lat_a_behavior, NULL);

    const int64_t interval = 1000000000 / LAT_RATE;
    int64_t *floor_lat = malloc(n * sizeof *floor_lat);
    if (!floor_lat) bench_die("latency: out of memory");
    lat_measure_floor(n, interval, floor_lat);
    qsort(floor_lat, n, sizeof *floor_lat, cmp_i64);

    bench_measure_begin(r);
    int64_t next = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        int64_t now;
        while ((now = bench_now_ns()) < next) {
        }
        lat_msg m = {i, now};
        int rc = ax_send(rt, a, M_STAMP, &m, sizeof m);
        if (rc != 0) bench_die("latency: ax_send #%llu: %s", (unsigned long long)i, ax_strerror(rc));
        next += interval;
    }
    bench_done_wait(&lat.done, "latency");
    bench_measure_end(r);

    for (uint64_t i = 0; i < n; i++)
        if (lat.actors[i] == 0) bench_die("latency: message %llu never reached B", (unsigned long long)i);
    qsort(lat.outside, n, sizeof *lat.outside, cmp_i64);
    qsort(lat.actors, n, sizeof *lat.actors, cmp_i64);
    r->n = n;
    r->checksum = atomic_load(&lat.received);
    snprintf(r->extra, sizeof r->extra,
             ",\"rate_per_s\":%d,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.1f,"
             "\"actor_p50_us\":%.2f,\"actor_p99_us\":%.2f,\"actor_p999_us\":%.2f,"
             "\"actor_max_us\":%.1f,\"floor_p50_us\":%.2f,\"floor_p99_us\":%.2f,"
             "\"floor_p999_us\":%.2f",
             LAT_RATE, pct_us(lat.outside, n, 0.50), pct_us(lat.outside, n, 0.99),
             pct_us(lat.outside, n, 0.999), (double)lat.outside[n - 1] / 1e3,
             pct_us(lat.actors, n, 0.50), pct_us(lat.actors, n, 0.99),
             pct_us(lat.actors, n, 0.999), (double)lat.actors[n - 1] / 1e3,
             pct_us(floor_lat, n, 0.50), pct_us(floor_lat, n, 0.99), pct_us(floor_lat, n, 0.999));
    free(floor_lat);
    free(lat.outside);
    free(lat.actors);
}
