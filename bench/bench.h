/* SPDX-License-Identifier: MIT */
/* bench.h: the internal interface of axon-bench, shared by main.c (CLI, timing, JSON, RSS),
 * workloads_actor.c (the actor workloads of shared/bench/WORKLOADS.md) and malloc_count.c
 * (the allocator and mutex interposers that prove the hot path does not allocate). */
#ifndef AXON_BENCH_H
#define AXON_BENCH_H

#include <stdatomic.h>
#include <stdint.h>

#include "axon.h"

/* ---- malloc_count.c: process-wide call counters (relaxed atomics) ---- */
typedef struct bench_counts {
    uint64_t mallocs;   /* malloc + calloc + realloc + the aligned variants */
    uint64_t frees;     /* free of a non-NULL pointer */
    uint64_t locks;     /* pthread_mutex_lock calls */
} bench_counts;

/* 1 if the interposers are compiled in (not under a sanitizer, which owns malloc itself). */
int bench_counts_supported(void);
/* 1 if pthread_mutex_lock could be interposed (dlsym found the real one). */
int bench_locks_supported(void);
void bench_counts_read(bench_counts *out);

/* ---- main.c: the run parameters and the result a workload fills ---- */
typedef struct bench_params {
    int workers;
    double scale;
    int verbose_counts; /* --count-mallocs: also print the counters per run on stderr */
    int spin_us;        /* --spin-us: ax_config.spin_us (0: the runtime's default) */
    int pin;            /* --pin: pin workers to CPUs */
    int introspect;     /* --introspect: BENCH_INTROSPECT_* */
    int meter;          /* --meter: ax_config.metrics (every actor metered) */
    int trace_events;   /* --trace N: ax_config.trace_events (the flight recorder) */
} bench_params;

/* --introspect idle|scraped (bench/introspect.c): the endpoint on, and scraped once a second. */
enum { BENCH_INTROSPECT_OFF, BENCH_INTROSPECT_IDLE, BENCH_INTROSPECT_SCRAPED };

typedef struct bench_result {
    uint64_t n;            /* operations counted, as WORKLOADS.md defines them */
    double seconds;        /* wall time of the measured part */
    uint64_t checksum;     /* the verified result, reported as "checksum" */
    double bytes_per_actor;
    int has_bytes_per_actor;
    bench_counts delta;    /* counters during the measured part */
    char extra[512];       /* more JSON fields, appended as is: ",\"key\":value..." ("" for none) */
    int64_t t0_ns;         /* internal: start of the measured part */
    bench_counts c0;       /* internal: counters at its start */
} bench_result;

void bench_introspect_start(ax_runtime *rt, int mode);
/* Stops the scraper; adds its counts to r->extra. */
void bench_introspect_stop(bench_result *r);

/* Measured part: begin right before the first message that starts the work, end right after
 * the completion wait returns. Fills seconds and delta. */
void bench_measure_begin(bench_result *r);
void bench_measure_end(bench_result *r);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_now_ns(void);
/* base * scale, rounded, at least 1. */
uint64_t bench_scaled(uint64_t base, double scale);
/* Resident set size in bytes from /proc/self/status (VmRSS), without allocating; 0 if unknown. */
uint64_t bench_rss_bytes(void);

/* Prints "axon-bench: <message>" on stderr and exits with status 1 (stdout flushed first). */
_Noreturn void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A completion object: actors signal it (any thread, never blocks), main waits on it with a
 * futex outside the hot path. A failure records the first message and also wakes main. */
typedef struct bench_done {
    _Atomic uint32_t flag; /* 0 running, 1 finished or failed */
    _Atomic int failed;
    char msg[256];
} bench_done;

void bench_done_init(bench_done *d);
void bench_done_signal(bench_done *d);
void bench_done_fail(bench_done *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Waits until signalled; dies on timeout or on a recorded failure (what names the workload). */
void bench_done_wait(bench_done *d, const char *what);

/* Helpers for the thread outside the runtime: they die on any error. */
ax_ref bench_spawn(ax_runtime *rt, const ax_behavior *b, const void *arg);
void bench_send_u64(ax_runtime *rt, ax_ref to, uint32_t type, uint64_t value);

/* ---- workloads_actor.c: each runs on a fresh runtime, verifies its result and fills r;
 * it returns only on success (a wrong result dies through bench_die). ---- */
typedef void (*bench_workload_fn)(ax_runtime *rt, const bench_params *p, bench_result *r);

void bench_pingpong(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_pairs(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_counting(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_fanin(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_ring(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_fjthroughput(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_spawn_actors(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_big(ax_runtime *rt, const bench_params *p, bench_result *r);
/* workloads_latency.c: send-to-handler latency at a steady rate, from outside and between actors */
void bench_latency(ax_runtime *rt, const bench_params *p, bench_result *r);
/* workloads_timers.c */
void bench_timers(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_supervise(ax_runtime *rt, const bench_params *p, bench_result *r);
/* workloads_io.c: echo over loopback TCP, 1 connection (latency) and 64 (round trips/s) */
void bench_echo(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_echo_conns(ax_runtime *rt, const bench_params *p, bench_result *r);
/* workloads_par.c: fork-join */
void bench_fib(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_treesum(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_treesum_small(ax_runtime *rt, const bench_params *p, bench_result *r);
void bench_sum(ax_runtime *rt, const bench_params *p, bench_result *r);

#endif
