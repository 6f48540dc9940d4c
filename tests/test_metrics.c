/* SPDX-License-Identifier: MIT */
/* test_metrics.c: the log-linear histogram (bucket bounds, quantiles against sorted data,
 * merging, extremes) and ax_metrics_snapshot / ax_metrics_format through the public API:
 * per-actor counts, mailbox depth and peak, handler times, workers' counters, runtime-wide
 * metering, both text formats (their syntax line by line, escaping, truncation) and misuse. */
#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "axon.h"
#include "check.h"
#include "fixture.h"
#include "json_check.h"
#include "runner.h"
#include "stats/histogram.h"

/* ---- the histogram ----------------------------------------------------------------------- */

static void test_hist_buckets(void) {
    /* Every value lies within its bucket, buckets tile the range without gaps, and a bucket is
     * at most a quarter of its lower bound wide. */
    CHECK_EQ(hist_bucket_low(0), 0);
    for (unsigned i = 0; i + 1 < HIST_BUCKETS; i++) {
        CHECK_EQ(hist_bucket_high(i) + 1, hist_bucket_low(i + 1));
        uint64_t lo = hist_bucket_low(i), width = hist_bucket_high(i) - lo + 1;
        if (lo >= HIST_SUB) CHECK(width * HIST_SUB <= lo);
    }
    uint64_t x = 88172645463325252ull;
    for (int k = 0; k < 200000; k++) {
        uint64_t v = check_rand(&x) >> (check_rand(&x) % 64);
        unsigned b = hist_bucket(v);
        CHECK(b < HIST_BUCKETS);
        CHECK(hist_bucket_low(b) <= v && v <= hist_bucket_high(b));
    }
    CHECK_EQ(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1);
    CHECK_EQ(hist_bucket_high(HIST_BUCKETS - 1), UINT64_MAX);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The histogram's quantile is within 12.5 % of the exact one (the sorted data's). */
static void check_quantiles(const uint64_t *v, size_t n) {
    struct hist *h = malloc(sizeof *h);
    struct hist_copy *c = malloc(sizeof *c);
    uint64_t *s = malloc(n * sizeof *s);
    CHECK(h && c && s);
    hist_init(h);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        hist_record(h, v[i]);
        s[i] = v[i];
        sum += v[i];
    }
    qsort(s, n, sizeof *s, cmp_u64);
    hist_copy_init(c);
    hist_merge_into(c, h);
    CHECK_EQ(c->count, n);
    CHECK_EQ(c->sum, sum);
    CHECK_EQ(c->min, s[0]);
    CHECK_EQ(c->max, s[n - 1]);
    static const double qs[] = {0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        size_t rank = (size_t)ceil(qs[k] * (double)n);
        uint64_t exact = s[rank ? rank - 1 : 0], got = hist_quantile(c, qs[k]);
        double err = exact ? fabs((double)got - (double)exact) / (double)exact : (double)got;
        if (err > 0.125) {
            fprintf(stderr, "q %.3f: exact %llu, histogram %llu\n", qs[k],
                    (unsigned long long)exact, (unsigned long long)got);
            CHECK(err <= 0.125);
        }
    }
    CHECK_EQ(hist_quantile(c, 1.0), s[n - 1]); /* kept within [min, max] */
    free(s);
    free(c);
    free(h);
}

static void test_hist_quantiles(void) {
    enum { N = 100000 };
    uint64_t *v = malloc(N * sizeof *v);
    CHECK(v);
    for (size_t i = 0; i < N; i++) v[i] = i + 1; /* uniform 1..N */
    check_quantiles(v, N);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < N; i++) v[i] = 100 + (check_rand(&x) % 1000) * (check_rand(&x) % 1000);
    check_quantiles(v, N);
    for (size_t i = 0; i < N; i++) v[i] = 20 + (i % 100 == 0 ? 5000000 : i % 7); /* a tail */
    check_quantiles(v, N);
    for (size_t i = 0; i < N; i++) v[i] = i % 3; /* the exact buckets below HIST_SUB */
    check_quantiles(v, N);
    free(v);
}

static void test_hist_merge_and_extremes(void) {
    struct hist *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    struct hist_copy *c = malloc(sizeof *c);
    CHECK(a && b && c);
    hist_init(a);
    hist_init(b);
    hist_copy_init(c);
    CHECK_EQ(hist_quantile(c, 0.5), 0); /* empty */
    hist_merge_into(c, a);
    CHECK_EQ(c->count, 0);
    CHECK_EQ(c->min, UINT64_MAX); /* an empty histogram sets no bound */
    for (uint64_t i = 0; i < 1000; i++) hist_record(a, 1000 + i);
    for (uint64_t i = 0; i < 3000; i++) hist_record(b, 1000000 + i);
    hist_record(b, UINT64_MAX); /* beyond the top: its own bucket, the exact max */
    hist_merge_into(c, a);
    hist_merge_into(c, b);
    CHECK_EQ(c->count, 4001);
    CHECK_EQ(c->min, 1000);
    CHECK_EQ(c->max, UINT64_MAX);
    uint64_t p10 = hist_quantile(c, 0.1), p50 = hist_quantile(c, 0.5);
    CHECK(p10 >= 1000 * 7 / 8 && p10 <= 1999 * 9 / 8);
    CHECK(p50 >= 1000000 * 7 / 8 && p50 <= 1003000 * 9 / 8);
    CHECK_EQ(hist_quantile(c, 1.0), UINT64_MAX);
    /* Out-of-range and NaN quantiles are clamped, never out of the data. */
    CHECK_EQ(hist_quantile(c, 0.0), hist_quantile(c, 1e-9));
    CHECK_EQ(hist_quantile(c, 7.0), UINT64_MAX);
    CHECK_EQ(hist_quantile(c, NAN), hist_quantile(c, 0.0));
    free(c);
    free(b);
    free(a);
}

/* A copy taken while the recorder writes can see a value's bucket before its min and max (the
 * soak caught it: min UINT64_MAX, max 0, count 1): the extremes then come from the buckets. */
static void test_hist_torn_copy(void) {
    struct hist *h = malloc(sizeof *h);
    struct hist_copy *c = malloc(sizeof *c);
    CHECK(h && c);
    hist_init(h);
    unsigned b = hist_bucket(1000);
    atomic_store(&h->b[b], 1); /* the bucket written, min and max not yet */
    hist_copy_init(c);
    hist_merge_into(c, h);
    CHECK_EQ(c->count, 1);
    CHECK(c->min <= c->max);
    CHECK(c->min >= hist_bucket_low(b) && c->max <= hist_bucket_high(b));
    uint64_t p50 = hist_quantile(c, 0.5);
    CHECK(c->min <= p50 && p50 <= c->max);
    /* The same in the open top bucket. */
    hist_init(h);
    atomic_store(&h->b[HIST_BUCKETS - 1], 2);
    hist_copy_init(c);
    hist_merge_into(c, h);
    CHECK(c->min <= c->max && c->min >= hist_bucket_low(HIST_BUCKETS - 1));
    free(c);
    free(h);
}

/* ---- snapshots --------------------------------------------------------------------------- */

enum { M_WORK = 1, M_HOLD = 2 };
static atomic_int g_handled;
static atomic_int g_gate;    /* M_HOLD handlers wait for it */
static atomic_int g_holding; /* an M_HOLD handler is waiting */

static int meter_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state;
    if (msg->type == M_HOLD) {
        atomic_store(&g_holding, 1);
        HCHECK(check_spin_until_set(&g_gate) == 0);
    }
    atomic_fetch_add(&g_handled, 1);
    return 0;
}
static const ax_behavior meter_b = {"meter \"one\"", 0, NULL, meter_receive, NULL};
static const ax_behavior plain_b = {"plain", 0, NULL, meter_receive, NULL};

static ax_metrics *snapshot(ax_runtime *rt) {
    ax_metrics *m = NULL;
    CHECK_OK(ax_metrics_snapshot(rt, &m));
    CHECK(m != NULL);
    return m;
}

static const ax_actor_metrics *find_actor(const ax_metrics *m, ax_ref r) {
    for (size_t i = 0; i < m->nactors; i++)
        if (ax_ref_eq(m->actors[i].ref, r)) return &m->actors[i];
    return NULL;
}

/* A metered actor: processed counts, a held handler lets the mailbox fill (depth and peak),
 * its handler times are recorded, its name and behavior show; an unmetered one is absent. */
static void test_actor_metrics(void) {
    ax_runtime *rt = fixture_runtime(2);
    atomic_store(&g_handled, 0);
    atomic_store(&g_gate, 0);
    atomic_store(&g_holding, 0);
    ax_ref metered, plain;
    CHECK_OK(ax_spawn(rt, &meter_b, NULL, &(ax_spawn_opts){.metrics = 1}, &metered));
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &plain));
    CHECK_OK(ax_register(rt, "counter\\x", metered));
    ax_metrics *m = snapshot(rt);
    CHECK_EQ(m->nactors, 1);
    CHECK(ax_ref_eq(m->actors[0].ref, metered));
    CHECK(strcmp(m->actors[0].name, "counter\\x") == 0);
    CHECK(strcmp(m->actors[0].behavior, "meter \"one\"") == 0);
    CHECK_EQ(m->actors[0].processed, 0);
    CHECK_EQ(m->actors[0].handler.count, 0);
    CHECK_EQ(m->actors_alive, 2);
    ax_metrics_free(m);

    /* One held message, then 99 queued behind it: depth 99 while held. */
    CHECK_OK(ax_send(rt, metered, M_HOLD, NULL, 0));
    for (int i = 0; i < 99; i++) CHECK_OK(ax_send(rt, metered, M_WORK, &i, sizeof i));
    for (int i = 0; i < 10; i++) CHECK_OK(ax_send(rt, plain, M_WORK, &i, sizeof i));
    WAIT_UNTIL(atomic_load(&g_holding) && atomic_load(&g_handled) == 10); /* the plain ones */
    m = snapshot(rt);
    const ax_actor_metrics *a = find_actor(m, metered);
    CHECK(a != NULL);
    CHECK_EQ(a->mailbox_depth, 99);
    CHECK(a->mailbox_peak >= 99 && a->mailbox_peak <= 100);
    CHECK_EQ(a->processed, 0);
    ax_metrics_free(m);
    atomic_store(&g_gate, 1);
    WAIT_UNTIL(atomic_load(&g_handled) == 110);
    /* processed is counted after the handler returns: wait for the count, not the handler. */
    for (;;) {
        m = snapshot(rt);
        a = find_actor(m, metered);
        CHECK(a != NULL);
        if (a->processed == 100 && a->handler.count == 100) break;
        ax_metrics_free(m);
        check_sleep_us(1000);
    }
    CHECK_EQ(a->mailbox_depth, 0);
    CHECK(a->mailbox_peak >= 99 && a->mailbox_peak <= 100);
    CHECK_EQ(a->restarts, 0);
    CHECK(a->handler.min_ns <= a->handler.p50_ns && a->handler.p50_ns <= a->handler.p99_ns);
    CHECK(a->handler.p99_ns <= a->handler.max_ns);
    CHECK(a->handler.sum_ns >= a->handler.max_ns);
    /* The held handler is the slowest by far: the max is the wait for the gate, at least 1 us. */
    CHECK(a->handler.max_ns >= 1000);
    /* Only metered actors' handlers reach the workers' histograms. */
    CHECK_EQ(m->handler.count, 100);
    uint64_t per_worker = 0;
    for (int i = 0; i < m->nworkers; i++) per_worker += m->workers[i].handler.count;
    CHECK_EQ(per_worker, 100);
    CHECK_EQ(m->handler.max_ns, a->handler.max_ns);
    ax_metrics_free(m);
    CHECK_NO_HANDLER_FAILURES();
    fixture_destroy(rt);
}

/* The workers' counters agree with what the test did: tasks ran, timers fired, busy plus idle
 * stays within the uptime and idle time grows while nothing runs, wakeups never exceed parks,
 * steals never exceed tries; totals match stats. */
static void test_worker_metrics(void) {
    ax_runtime *rt = fixture_runtime(2);
    atomic_store(&g_handled, 0);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &r));
    enum { TIMERS = 20 };
    for (int i = 0; i < TIMERS; i++) CHECK_OK(ax_send_after(rt, r, M_WORK, NULL, 0, 1 + i % 3, NULL));
    WAIT_UNTIL(atomic_load(&g_handled) == TIMERS);
    check_sleep_us(20000); /* let the workers park */
    ax_metrics *m = snapshot(rt);
    CHECK_EQ(m->nworkers, 2);
    uint64_t tasks = 0, fired = 0, parks = 0;
    for (int i = 0; i < m->nworkers; i++) {
        const ax_worker_metrics *w = &m->workers[i];
        tasks += w->tasks;
        fired += w->timers_fired;
        parks += w->parks;
        CHECK(w->steals <= w->steal_tries);
        CHECK(w->wakeups <= w->parks);
        CHECK(w->busy_ns + w->idle_ns <= (uint64_t)m->uptime_ns);
        CHECK(w->idle_ns > 0);
        CHECK_EQ(w->handler.count, 0); /* nothing metered */
    }
    CHECK(tasks >= 1);
    CHECK_EQ(fired, TIMERS);
    CHECK(parks >= 1);
    ax_stats st = fixture_stats(rt);
    CHECK_EQ(m->total.sent, st.sent);
    CHECK_EQ(m->total.processed, TIMERS);
    CHECK_EQ(m->actors_alive, 1);
    CHECK_EQ(m->nactors, 0);
    ax_metrics_free(m);
    /* A quiet runtime's workers are idle: between two snapshots 20 ms apart, each worker's idle
     * time grows by most of the interval. A snapshot can catch a worker in the instant it wakes
     * (for the runtime's own upkeep) and miss its last idle spell, so a few pairs are tried; if
     * parked time were not counted, none would pass. */
    bool grew = false;
    for (int tries = 0; tries < 20 && !grew; tries++) {
        ax_metrics *a = snapshot(rt);
        check_sleep_us(20000);
        ax_metrics *b = snapshot(rt);
        uint64_t interval = (uint64_t)(b->uptime_ns - a->uptime_ns);
        grew = true;
        for (int i = 0; i < a->nworkers; i++)
            if (b->workers[i].idle_ns < a->workers[i].idle_ns + interval / 2) grew = false;
        ax_metrics_free(a);
        ax_metrics_free(b);
    }
    CHECK(grew);
    fixture_destroy(rt);
}

/* ax_config.metrics meters every actor, and a full bounded mailbox counts its refusals. */
static void test_meter_all_and_full(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .metrics = 1});
    atomic_store(&g_handled, 0);
    atomic_store(&g_gate, 0);
    atomic_store(&g_holding, 0);
    ax_ref r[3];
    for (int i = 0; i < 2; i++) CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &r[i]));
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, &(ax_spawn_opts){.mailbox_capacity = 2}, &r[2]));
    CHECK_OK(ax_send(rt, r[2], M_HOLD, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_holding)); /* the held message left the mailbox */
    int refused = 0;
    for (int i = 0; i < 10; i++) {
        int rc = ax_send(rt, r[2], M_WORK, NULL, 0);
        CHECK(rc == (i < 2 ? 0 : AX_EFULL));
        refused += rc == AX_EFULL;
    }
    ax_metrics *m = snapshot(rt);
    CHECK_EQ(m->nactors, 3);
    CHECK_EQ(m->mailbox_full, 8);
    const ax_actor_metrics *a = find_actor(m, r[2]);
    CHECK(a != NULL);
    CHECK_EQ(a->mailbox_peak, 2);
    CHECK_EQ(a->mailbox_depth, 2);
    ax_metrics_free(m);
    atomic_store(&g_gate, 1);
    WAIT_UNTIL(atomic_load(&g_handled) == 3);
    CHECK_EQ(refused, 8);
    fixture_destroy(rt);
}

/* Snapshots from an outside thread while the runtime shuts down: shutdown reclaimed stopped
 * actors' memory while a snapshot could still be reading them (the soak's segfault; ASan, with
 * the pools passed through, sees a use after free). */
struct snapper {
    ax_runtime *rt;
    atomic_int stop, snaps;
};

static void *snap_loop(void *p) {
    struct snapper *s = p;
    while (!atomic_load(&s->stop)) {
        ax_metrics *m = NULL;
        if (ax_metrics_snapshot(s->rt, &m) == 0) {
            uint64_t sum = 0;
            for (size_t i = 0; i < m->nactors; i++) sum += m->actors[i].processed;
            (void)sum;
            ax_metrics_free(m);
            atomic_fetch_add(&s->snaps, 1);
        }
    }
    return NULL;
}

static void test_snapshot_during_shutdown(void) {
    for (int round = 0; round < 5; round++) {
        ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 2, .metrics = 1});
        for (int i = 0; i < 300; i++) {
            ax_ref r;
            CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &r));
        }
        struct snapper s = {rt, 0, 0};
        pthread_t th;
        CHECK(pthread_create(&th, NULL, snap_loop, &s) == 0);
        WAIT_UNTIL(atomic_load(&s.snaps) >= 2);
        fixture_shutdown(rt);
        int after = atomic_load(&s.snaps);
        WAIT_UNTIL(atomic_load(&s.snaps) >= after + 2); /* after shutdown too, until destroy */
        atomic_store(&s.stop, 1);
        CHECK(pthread_join(th, NULL) == 0);
        ax_metrics *m = snapshot(rt);
        CHECK_EQ(m->nactors, 0);
        CHECK_EQ(m->actors_alive, 0);
        ax_metrics_free(m);
        fixture_destroy(rt);
    }
}

/* ---- text formats ------------------------------------------------------------------------ */

static char *format(const ax_metrics *m, int fmt) {
    size_t len = 0;
    CHECK_OK(ax_metrics_format(m, fmt, NULL, 0, &len));
    CHECK(len > 0);
    char *buf = malloc(len + 1);
    CHECK(buf);
    size_t again = 0;
    CHECK_OK(ax_metrics_format(m, fmt, buf, len + 1, &again));
    CHECK_EQ(again, len);
    CHECK_EQ(strlen(buf), len);
    return buf;
}

/* Each line of the exposition text is a comment (# HELP / # TYPE) or `name{labels} value`
 * with a metric name of [a-z_], quoted label values and a number. */
static void check_prometheus_syntax(const char *text) {
    const char *p = text;
    int samples = 0;
    while (*p) {
        const char *end = strchr(p, '\n');
        CHECK(end != NULL); /* every line ends with a newline */
        if (p[0] == '#') {
            CHECK(strncmp(p, "# HELP axon_", 12) == 0 || strncmp(p, "# TYPE axon_", 12) == 0);
        } else {
            CHECK(strncmp(p, "axon_", 5) == 0);
            const char *q = p;
            while (q < end && ((*q >= 'a' && *q <= 'z') || *q == '_' || (*q >= '0' && *q <= '9')))
                q++;
            if (*q == '{') { /* labels: key="value" pairs, escapes \\ \" \n */
                q++;
                for (;;) {
                    while (q < end && *q >= 'a' && *q <= 'z') q++;
                    CHECK(q[0] == '=' && q[1] == '"');
                    q += 2;
                    while (q < end && *q != '"') q += *q == '\\' ? 2 : 1;
                    CHECK(*q == '"');
                    q++;
                    if (*q == ',') {
                        q++;
                        continue;
                    }
                    CHECK(*q == '}');
                    q++;
                    break;
                }
            }
            CHECK(*q == ' ');
            char *num_end;
            strtod(q + 1, &num_end);
            CHECK(num_end == end && num_end > q + 1);
            samples++;
        }
        p = end + 1;
    }
    CHECK(samples > 20);
}

static void test_formats(void) {
    ax_runtime *rt = fixture_runtime(2);
    atomic_store(&g_handled, 0);
    atomic_store(&g_gate, 1);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &meter_b, NULL, &(ax_spawn_opts){.metrics = 1}, &r));
    CHECK_OK(ax_register(rt, "q\"uo\\te\xc3\xa9", r));
    for (int i = 0; i < 5; i++) CHECK_OK(ax_send(rt, r, M_WORK, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_handled) == 5);
    ax_metrics *m;
    for (;;) { /* the count follows the handler's return */
        m = snapshot(rt);
        if (m->nactors == 1 && m->actors[0].processed == 5) break;
        ax_metrics_free(m);
        check_sleep_us(1000);
    }

    char *prom = format(m, AX_METRICS_PROMETHEUS);
    check_prometheus_syntax(prom);
    char want[256];
    snprintf(want, sizeof want,
             "axon_actor_processed_total{ref=\"0x%llx\",name=\"q\\\"uo\\\\te\xc3\xa9\","
             "behavior=\"meter \\\"one\\\"\"} 5\n",
             (unsigned long long)r.id);
    CHECK(strstr(prom, want) != NULL);
    CHECK(strstr(prom, "axon_messages_processed_total 5\n") != NULL);
    CHECK(strstr(prom, "axon_worker_tasks_total{worker=\"1\"} ") != NULL);
    CHECK(strstr(prom, "axon_handler_seconds_count 5\n") != NULL);
    CHECK(strstr(prom, "axon_actors_alive 1\n") != NULL);

    char *json = format(m, AX_METRICS_JSON);
    const char *end = json_value(json);
    CHECK(strcmp(end, "\n") == 0);
    CHECK(strstr(json, "\"name\":\"q\\\"uo\\\\te\\u00c3\\u00a9\"") != NULL);
    CHECK(strstr(json, "\"processed\":5,") != NULL);
    CHECK(strstr(json, "\"messages_processed_total\":5") != NULL);
    CHECK(strstr(json, "\"busy_ns\":") != NULL && strstr(json, "\"idle_ns\":") != NULL);

    /* Cut short: as snprintf, NUL-terminated, the full length still told. */
    char small[16];
    size_t len = 0;
    CHECK_OK(ax_metrics_format(m, AX_METRICS_JSON, small, sizeof small, &len));
    CHECK_EQ(len, strlen(json));
    CHECK_EQ(strlen(small), sizeof small - 1);
    CHECK(strncmp(small, json, sizeof small - 1) == 0);
    CHECK_OK(ax_metrics_format(m, AX_METRICS_PROMETHEUS, small, 1, NULL));
    CHECK_EQ(small[0], '\0');
    free(json);
    free(prom);
    ax_metrics_free(m);
    fixture_destroy(rt);
}

static void test_misuse(void) {
    ax_runtime *rt = fixture_runtime(1);
    ax_metrics *m = NULL;
    CHECK_RC_OF(ax_metrics_snapshot, ax_metrics_snapshot(NULL, &m), AX_EINVAL);
    CHECK_RC_OF(ax_metrics_snapshot, ax_metrics_snapshot(rt, NULL), AX_EINVAL);
    CHECK(m == NULL);
    m = snapshot(rt);
    char buf[8];
    size_t len = 99;
    CHECK_RC_OF(ax_metrics_format, ax_metrics_format(NULL, AX_METRICS_JSON, buf, sizeof buf, &len),
                AX_EINVAL);
    CHECK_RC(ax_metrics_format(m, 2, buf, sizeof buf, &len), AX_EINVAL);
    CHECK_RC(ax_metrics_format(m, -1, buf, sizeof buf, &len), AX_EINVAL);
    CHECK_RC(ax_metrics_format(m, AX_METRICS_JSON, NULL, 4, &len), AX_EINVAL);
    CHECK_EQ(len, 99); /* not written on error */
    ax_metrics_free(m);
    ax_metrics_free(NULL);
    ax_ref srv;
    CHECK_RC(ax_introspect_listen(rt, "no-port", &srv, NULL), AX_EINVAL);
    /* After shutdown, until destroy, a snapshot still works (the counters are final). */
    fixture_shutdown(rt);
    CHECK_RC_OF(ax_introspect_listen, ax_introspect_listen(rt, "127.0.0.1:0", &srv, NULL),
                AX_ESHUTDOWN);
    m = snapshot(rt);
    CHECK_EQ(m->actors_alive, 0);
    ax_metrics_free(m);
    fixture_destroy(rt);
}

/* ---- the introspection endpoint --------------------------------------------------------- */

/* One request on a new connection to 127.0.0.1:port; returns the status, *body the body (to
 * free). */
static int http_get(int port, const char *method, const char *path, char **body) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    char req[512];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                     method, path);
    CHECK(write(fd, req, (size_t)n) == n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    CHECK(buf);
    for (;;) {
        if (len + 1 == cap) {
            buf = realloc(buf, cap *= 2);
            CHECK(buf);
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        CHECK(r >= 0);
        if (r == 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    int status = 0;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        fprintf(stderr, "%s %s: %zu bytes: %.200s\n", method, path, len, buf);
    CHECK(status != 0);
    char *start = strstr(buf, "\r\n\r\n");
    CHECK(start != NULL);
    *body = strdup(start + 4);
    CHECK(*body);
    free(buf);
    return status;
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int child_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state;
    return msg->type == M_HOLD ? -1 : 0; /* M_HOLD: fail (a restart) */
}
static const ax_behavior child_b = {"child", 0, NULL, child_receive, NULL};

/* Every page answers, in its format: /metrics parses as exposition text, the JSON pages parse,
 * /actors ranks by the key asked for, /tree nests a supervisor under its parent with restart
 * counts; other methods get 405 and other paths 404. */
static void test_introspect(void) {
    ax_runtime *rt = fixture_runtime(2);
    atomic_store(&g_handled, 0);
    atomic_store(&g_gate, 0);
    atomic_store(&g_holding, 0);
    ax_ref srv, a, b;
    int port = 0;
    CHECK_OK(ax_introspect_listen(rt, "127.0.0.1:0", &srv, &port));
    CHECK(port > 0);
    /* a: one message, held a while (the most handler time); b: 3 (the most messages). The hold
     * ends before any request: a held worker would also hold the I/O it polls. */
    CHECK_OK(ax_spawn(rt, &meter_b, NULL, &(ax_spawn_opts){.metrics = 1}, &a));
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, &(ax_spawn_opts){.metrics = 1}, &b));
    CHECK_OK(ax_register(rt, "deep", a));
    CHECK_OK(ax_register(rt, "busy", b));
    for (int i = 0; i < 3; i++) CHECK_OK(ax_send(rt, b, M_WORK, NULL, 0));
    CHECK_OK(ax_send(rt, a, M_HOLD, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_holding) && atomic_load(&g_handled) == 3);
    atomic_store(&g_gate, 1);
    WAIT_UNTIL(atomic_load(&g_handled) == 4);
    /* A supervisor with a worker child and a supervisor child, whose own child restarts once. */
    ax_child_spec leaf = {"leaf", &child_b, NULL, 0, AX_PERMANENT, 0, AX_CHILD_WORKER, "leaf-1"};
    ax_sup_spec inner = {AX_ONE_FOR_ONE, 5, 1000, 0, 0, 0, &leaf, 1};
    ax_child_spec top_children[] = {
        {"w", &child_b, NULL, 0, AX_PERMANENT, 0, AX_CHILD_WORKER, NULL},
        {"inner", &ax_supervisor_behavior, &inner, 0, AX_PERMANENT, 0, AX_CHILD_SUPERVISOR,
         NULL}};
    ax_sup_spec top = {AX_ONE_FOR_ALL, 5, 1000, 0, 0, 0, top_children, 2};
    ax_ref sup, inner_ref, leaf_ref;
    CHECK_OK(ax_supervisor_start(rt, &top, &sup));
    CHECK_OK(ax_register(rt, "root-sup", sup));
    CHECK_OK(ax_supervisor_child(rt, sup, "inner", &inner_ref));
    CHECK_OK(ax_supervisor_child(rt, inner_ref, "leaf", &leaf_ref));
    CHECK_OK(ax_send(rt, leaf_ref, M_HOLD, NULL, 0)); /* fails: restarted */
    uint64_t restarts = 0;
    WAIT_UNTIL(ax_supervisor_child_restarts(rt, inner_ref, "leaf", &restarts) == 0 && restarts == 1);

    char *body;
    CHECK_EQ(http_get(port, "GET", "/metrics", &body), 200);
    check_prometheus_syntax(body);
    CHECK(strstr(body, "name=\"deep\"") != NULL);
    free(body);

    CHECK_EQ(http_get(port, "GET", "/metrics.json", &body), 200);
    CHECK(strcmp(json_value(body), "\n") == 0);
    CHECK(strstr(body, "\"actors_alive\":") != NULL);
    free(body);

    CHECK_EQ(http_get(port, "GET", "/workers", &body), 200);
    CHECK(strcmp(json_value(body), "\n") == 0);
    CHECK(strstr(body, "{\"worker\":1,") != NULL);
    free(body);

    static const char *const pages[] = {"/actors", "/actors?by=time", "/actors?by=nonsense",
                                        "/actors?top=x"};
    for (int k = 0; k < 4; k++) { /* the order within these is the metrics', not checked here */
        CHECK_EQ(http_get(port, "GET", pages[k], &body), 200);
        CHECK(strcmp(json_value(body), "\n") == 0);
        const char *want = k == 1 ? "{\"by\":\"time\",\"metered\":2,\"actors\":[{"
                                  : "{\"by\":\"depth\",\"metered\":2,\"actors\":[{";
        CHECK(starts_with(body, want));
        CHECK(strstr(body, "\"name\":\"deep\"") && strstr(body, "\"name\":\"busy\""));
        free(body);
    }
    CHECK_EQ(http_get(port, "GET", "/actors?by=messages&top=1", &body), 200);
    CHECK(strcmp(json_value(body), "\n") == 0);
    CHECK(strstr(body, "\"name\":\"busy\"") != NULL && strstr(body, "\"name\":\"deep\"") == NULL);
    CHECK(strstr(body, "\"processed\":3,") != NULL);
    free(body);
    CHECK_EQ(http_get(port, "GET", "/actors?top=0", &body), 200);
    CHECK(strstr(body, "\"actors\":[]}") != NULL);
    free(body);

    CHECK_EQ(http_get(port, "GET", "/tree", &body), 200);
    CHECK(strcmp(json_value(body), "\n") == 0);
    /* One root (the inner supervisor is nested, not listed again), its children in order. */
    CHECK(starts_with(body, "{\"supervisors\":[{\"ref\":"));
    char *root = strstr(body, "\"name\":\"root-sup\",\"strategy\":\"one_for_all\"");
    char *w = strstr(body, "{\"id\":\"w\"");
    char *in = strstr(body, "{\"id\":\"inner\"");
    char *nested = strstr(body, "\"supervisor\":{");
    char *lf = strstr(body, "{\"id\":\"leaf\"");
    CHECK(root && w && in && nested && lf && root < w && w < in && in < nested && nested < lf);
    CHECK(strstr(lf, "\"name\":\"leaf-1\",\"restarts\":1}") != NULL);
    CHECK(strstr(body, "\"strategy\":\"one_for_one\"") != NULL);
    CHECK(strstr(nested + 1, "\"supervisor\":{") == NULL);
    free(body);

    CHECK_EQ(http_get(port, "POST", "/metrics", &body), 405);
    free(body);
    CHECK_EQ(http_get(port, "GET", "/nothing", &body), 404);
    free(body);
    CHECK_EQ(http_get(port, "GET", "/", &body), 200);
    CHECK(strstr(body, "/tree") != NULL);
    free(body);
    CHECK_RC_OF(ax_introspect_listen, ax_introspect_listen(NULL, NULL, &srv, NULL), AX_EINVAL);
    CHECK_RC(ax_introspect_listen(rt, NULL, NULL, NULL), AX_EINVAL);
    CHECK_NO_HANDLER_FAILURES();
    fixture_destroy(rt);
}

/* A supervised child's restarts and failures carry over to each new incarnation: under
 * one_for_all, the child that fails twice shows 2 and 2, its sibling 2 restarts and no failure. */
static void test_restarts_and_failures(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 2, .metrics = 1});
    ax_child_spec ch[] = {{"a", &child_b, NULL, 0, AX_PERMANENT, 0, AX_CHILD_WORKER, NULL},
                          {"b", &child_b, NULL, 0, AX_PERMANENT, 0, AX_CHILD_WORKER, NULL}};
    ax_sup_spec spec = {AX_ONE_FOR_ALL, 10, 60000, 0, 0, 0, ch, 2};
    ax_ref sup, a, b;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    for (uint64_t k = 0; k < 2; k++) {
        uint64_t restarts = 0;
        WAIT_UNTIL(ax_supervisor_child_restarts(rt, sup, "b", &restarts) == 0 && restarts == k &&
                   ax_supervisor_child(rt, sup, "a", &a) == 0 &&
                   ax_supervisor_child(rt, sup, "b", &b) == 0);
        CHECK_OK(ax_send(rt, a, M_HOLD, NULL, 0)); /* child_b fails on M_HOLD */
    }
    uint64_t restarts = 0;
    WAIT_UNTIL(ax_supervisor_child_restarts(rt, sup, "b", &restarts) == 0 && restarts == 2 &&
               ax_supervisor_child(rt, sup, "a", &a) == 0 &&
               ax_supervisor_child(rt, sup, "b", &b) == 0);
    ax_metrics *m = snapshot(rt);
    const ax_actor_metrics *ma = find_actor(m, a), *mb = find_actor(m, b);
    CHECK(ma && mb && find_actor(m, sup));
    CHECK_EQ(ma->restarts, 2);
    CHECK_EQ(ma->failures, 2);
    CHECK_EQ(mb->restarts, 2);
    CHECK_EQ(mb->failures, 0);
    CHECK_EQ(find_actor(m, sup)->restarts, 0); /* not a supervised child */
    ax_metrics_free(m);
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_hist_buckets), TEST_CASE(test_hist_quantiles),
          TEST_CASE(test_hist_merge_and_extremes), TEST_CASE(test_hist_torn_copy), TEST_CASE(test_actor_metrics),
          TEST_CASE(test_worker_metrics), TEST_CASE(test_meter_all_and_full),
          TEST_CASE(test_formats), TEST_CASE(test_misuse), TEST_CASE(test_introspect),
          TEST_CASE(test_restarts_and_failures), TEST_CASE(test_snapshot_during_shutdown))
