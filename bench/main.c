/* SPDX-License-Identifier: MIT */
/* main.c: axon-bench's command line, the run loop (one fresh runtime per workload and worker
 * count), timing, RSS reading, the completion object and the one-JSON-line-per-run output.
 * Usage: axon-bench <workload>|all [--workers N] [--scale S] [--spin-us U] [--pin]
 *        [--count-mallocs] [--introspect idle|scraped] [--meter] [--trace N] */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* ---------------------------------------------------------------- helpers */

int64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

_Noreturn void bench_die(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fputs("axon-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1); /* the runtime may still be running: no atexit work */
}

uint64_t bench_scaled(uint64_t base, double scale) {
    double v = (double)base * scale + 0.5; /* truncation of a positive value rounds down */
    return v < 1.0 ? 1 : (uint64_t)v;
}

uint64_t bench_rss_bytes(void) {
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t len = 0;
    for (;;) {
        ssize_t got = read(fd, buf + len, sizeof buf - 1 - len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        len += (size_t)got;
        if (len == sizeof buf - 1) break;
    }
    close(fd);
    buf[len] = '\0';
    const char *p = strstr(buf, "\nVmRSS:");
    if (!p) return 0;
    return strtoull(p + 7, NULL, 10) * 1024u; /* the value is in kB */
}

void bench_measure_begin(bench_result *r) {
    bench_counts_read(&r->c0);
    r->t0_ns = bench_now_ns();
}

void bench_measure_end(bench_result *r) {
    int64_t t1 = bench_now_ns();
    bench_counts c1;
    bench_counts_read(&c1);
    r->seconds = (double)(t1 - r->t0_ns) / 1e9;
    r->delta.mallocs = c1.mallocs - r->c0.mallocs;
    r->delta.frees = c1.frees - r->c0.frees;
    r->delta.locks = c1.locks - r->c0.locks;
}

/* ---------------------------------------------------------------- completion object */

/* Waiting longer than this means the workload hung (scaled up with --scale). */
static int64_t wait_limit_ns = 300 * (int64_t)1000000000;

void bench_done_init(bench_done *d) {
    atomic_init(&d->flag, 0);
    atomic_init(&d->failed, 0);
    d->msg[0] = '\0';
}

void bench_done_signal(bench_done *d) {
    atomic_store_explicit(&d->flag, 1, memory_order_release);
    syscall(SYS_futex, &d->flag, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void bench_done_fail(bench_done *d, const char *fmt, ...) {
    if (atomic_exchange_explicit(&d->failed, 1, memory_order_acq_rel) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    bench_done_signal(d);
}

void bench_done_wait(bench_done *d, const char *what) {
    int64_t deadline = bench_now_ns() + wait_limit_ns;
    while (atomic_load_explicit(&d->flag, memory_order_acquire) == 0) {
        int64_t left = deadline - bench_now_ns();
        if (left <= 0) bench_die("%s: timed out waiting for completion", what);
        struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
        syscall(SYS_futex, &d->flag, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
    }
    if (atomic_load_explicit(&d->failed, memory_order_acquire))
        bench_die("%s: %s", what, d->msg);
}

/* ---------------------------------------------------------------- outside-thread helpers */

ax_ref bench_spawn(ax_runtime *rt, const ax_behavior *b, const void *arg) {
    ax_ref ref = AX_REF_NONE;
    int rc = ax_spawn(rt, b, arg, NULL, &ref);
    if (rc != 0) bench_die("ax_spawn(%s): %s", b->name ? b->name : "?", ax_strerror(rc));
    return ref;
}

void bench_send_u64(ax_runtime *rt, ax_ref to, uint32_t type, uint64_t value) {
    int rc = ax_send(rt, to, type, &value, sizeof value);
    if (rc != 0) bench_die("ax_send from main: %s", ax_strerror(rc));
}

/* ---------------------------------------------------------------- runs */

static const struct workload {
    const char *name;
    bench_workload_fn fn;
} workloads[] = {
    {"pingpong", bench_pingpong},
    {"pairs", bench_pairs},
    {"counting", bench_counting},
    {"fanin", bench_fanin},
    {"ring", bench_ring},
    {"fjthroughput", bench_fjthroughput},
    {"spawn", bench_spawn_actors},
    {"big", bench_big},
    {"latency", bench_latency},
    {"timers", bench_timers},
    {"supervise", bench_supervise},
    {"echo", bench_echo},
    {"echo_conns", bench_echo_conns},
    {"fib", bench_fib},
    {"treesum", bench_treesum},
    {"treesum_small", bench_treesum_small},
    {"sum", bench_sum},
};
#define WORKLOAD_COUNT (sizeof workloads / sizeof workloads[0])

static void print_json(const struct workload *w, const bench_params *p, const bench_result *r) {
    double secs = r->seconds > 0 ? r->seconds : 1e-9;
    printf("{\"system\":\"axon\",\"bench\":\"%s\",\"workers\":%d,\"n\":%llu,\"seconds\":%.6f,"
           "\"ns_per_op\":%.1f,\"ops_per_s\":%.1f",
           w->name, p->workers, (unsigned long long)r->n, r->seconds, secs * 1e9 / (double)r->n,
           (double)r->n / secs);
    if (bench_counts_supported())
        printf(",\"mallocs\":%llu,\"mallocs_per_op\":%.6g", (unsigned long long)r->delta.mallocs,
               (double)r->delta.mallocs / (double)r->n);
    else
        printf(",\"mallocs\":null,\"mallocs_per_op\":null");
    if (bench_locks_supported())
        printf(",\"locks\":%llu", (unsigned long long)r->delta.locks);
    else
        printf(",\"locks\":null");
    if (r->has_bytes_per_actor) printf(",\"bytes_per_actor\":%.1f", r->bytes_per_actor);
    if (r->extra[0]) fputs(r->extra, stdout);
    if (p->spin_us) printf(",\"spin_us\":%d", p->spin_us);
    if (p->pin) printf(",\"pinned\":true");
    if (p->meter) printf(",\"metered\":true");
    if (p->trace_events) printf(",\"trace_events\":%d", p->trace_events);
    if (p->introspect)
        printf(",\"introspect\":\"%s\"", p->introspect == BENCH_INTROSPECT_IDLE ? "idle" : "scraped");
    printf(",\"checksum\":%llu,\"scale\":%g}\n", (unsigned long long)r->checksum, p->scale);
    fflush(stdout);
}

static void run_one(const struct workload *w, const bench_params *p) {
    ax_config cfg = {0};
    cfg.workers = p->workers;
    cfg.spin_us = p->spin_us;
    cfg.pin = p->pin;
    cfg.metrics = p->meter;
    cfg.trace_events = p->trace_events;
    ax_runtime *rt = NULL;
    int rc = ax_runtime_create(&cfg, &rt);
    if (rc != 0) bench_die("ax_runtime_create(workers=%d): %s", p->workers, ax_strerror(rc));

    bench_result r;
    memset(&r, 0, sizeof r);
    bench_introspect_start(rt, p->introspect);
    w->fn(rt, p, &r);
    bench_introspect_stop(&r);

    ax_stats st;
    if (ax_stats_get(rt, &st) == 0)
        fprintf(stderr,
                "axon-bench: %s workers=%d ok: %.3f s; sent %llu processed %llu spawned %llu "
                "steals %llu parks %llu\n",
                w->name, p->workers, r.seconds, (unsigned long long)st.sent,
                (unsigned long long)st.processed, (unsigned long long)st.spawned,
                (unsigned long long)st.steals, (unsigned long long)st.parks);
    if (p->verbose_counts)
        fprintf(stderr, "axon-bench: %s workers=%d measured part: %llu mallocs, %llu frees, %llu locks%s\n",
                w->name, p->workers, (unsigned long long)r.delta.mallocs,
                (unsigned long long)r.delta.frees, (unsigned long long)r.delta.locks,
                bench_locks_supported() ? "" : " (locks not counted)");

    rc = ax_runtime_shutdown(rt, 120000);
    if (rc != 0) bench_die("%s: ax_runtime_shutdown: %s", w->name, ax_strerror(rc));
    rc = ax_runtime_destroy(rt);
    if (rc != 0) bench_die("%s: ax_runtime_destroy: %s", w->name, ax_strerror(rc));
    print_json(w, p, &r);
}

static _Noreturn void usage(void) {
    fprintf(stderr, "usage: axon-bench <workload>|all [--workers N] [--scale S] [--spin-us U] "
                    "[--pin] [--count-mallocs] [--introspect idle|scraped] [--meter] [--trace N]\n"
                    "--spin-us U: idle workers search U us before parking (negative: park at once)\n"
                    "--introspect: the introspection endpoint on (scraped: GET /metrics each second)\n"
                    "--meter: every actor metered; --trace N: the flight recorder, N events a worker\n"
                    "workloads:");
    for (size_t i = 0; i < WORKLOAD_COUNT; i++) fprintf(stderr, " %s", workloads[i].name);
    fprintf(stderr, "\nSCALE in the environment sets the scale too (the flag wins); default 1.0.\n"
                    "Without --workers each workload runs with 1 and then 2 workers.\n");
    exit(2);
}

static double parse_scale(const char *s) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 1e6) {
        fprintf(stderr, "axon-bench: bad scale '%s'\n", s);
        usage();
    }
    return v;
}

int main(int argc, char **argv) {
    const char *which = NULL;
    int workers = 0;
    int verbose_counts = 0, spin_us = 0, pin = 0, introspect = BENCH_INTROSPECT_OFF, meter = 0;
    int trace_events = 0;
    double scale = 0; /* 0: not given on the command line */

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (strcmp(a, "--workers") == 0 || strcmp(a, "--scale") == 0 ||
            strcmp(a, "--spin-us") == 0 || strcmp(a, "--introspect") == 0 ||
            strcmp(a, "--trace") == 0) {
            if (i + 1 >= argc) usage();
            val = argv[++i];
        } else if (strncmp(a, "--workers=", 10) == 0 || strncmp(a, "--scale=", 8) == 0 ||
                   strncmp(a, "--spin-us=", 10) == 0) {
            val = strchr(a, '=') + 1;
        }
        if (strncmp(a, "--workers", 9) == 0 && val) {
            char *end = NULL;
            long v = strtol(val, &end, 10);
            if (end == val || *end != '\0' || v < 1 || v > 1024) usage();
            workers = (int)v;
        } else if (strncmp(a, "--scale", 7) == 0 && val) {
            scale = parse_scale(val);
        } else if (strncmp(a, "--spin-us", 9) == 0 && val) {
            char *end = NULL;
            long v = strtol(val, &end, 10);
            if (end == val || *end != '\0' || v < -1 || v > 1000000) usage();
            spin_us = (int)v;
        } else if (strncmp(a, "--introspect", 12) == 0 && val) {
            if (strcmp(val, "idle") == 0) introspect = BENCH_INTROSPECT_IDLE;
            else if (strcmp(val, "scraped") == 0) introspect = BENCH_INTROSPECT_SCRAPED;
            else usage();
        } else if (strcmp(a, "--trace") == 0 && val) {
            char *end = NULL;
            long v = strtol(val, &end, 10);
            if (end == val || *end != '\0' || v < 1 || v > (1 << 24)) usage();
            trace_events = (int)v;
        } else if (strcmp(a, "--meter") == 0) {
            meter = 1;
        } else if (strcmp(a, "--pin") == 0) {
            pin = 1;
        } else if (strcmp(a, "--count-mallocs") == 0) {
            verbose_counts = 1;
        } else if (a[0] == '-' || which) {
            usage();
        } else {
            which = a;
        }
    }
    if (!which) usage();
    if (scale == 0) {
        const char *env = getenv("SCALE");
        scale = env && *env ? parse_scale(env) : 1.0;
    }

    size_t first = 0, last = WORKLOAD_COUNT;
    if (strcmp(which, "all") != 0) {
        for (first = 0; first < WORKLOAD_COUNT; first++)
            if (strcmp(workloads[first].name, which) == 0) break;
        if (first == WORKLOAD_COUNT) {
            fprintf(stderr, "axon-bench: unknown workload '%s'\n", which);
            usage();
        }
        last = first + 1;
    }
    if (scale > 1.0) wait_limit_ns = (int64_t)((double)wait_limit_ns * scale);
    if (verbose_counts && !bench_counts_supported())
        fprintf(stderr, "axon-bench: malloc counting is off in sanitizer builds\n");

    int worker_list[2] = {1, 2};
    int worker_runs = 2;
    if (workers > 0) {
        worker_list[0] = workers;
        worker_runs = 1;
    }
    for (size_t w = first; w < last; w++) {
        for (int k = 0; k < worker_runs; k++) {
            bench_params p = {.workers = worker_list[k], .scale = scale,
                              .verbose_counts = verbose_counts, .spin_us = spin_us, .pin = pin,
                              .introspect = introspect, .meter = meter,
                              .trace_events = trace_events};
            run_one(&workloads[w], &p);
        }
    }
    return 0;
}
