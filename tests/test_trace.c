/* SPDX-License-Identifier: MIT */
/* test_trace.c: the flight recorder (ax_config.trace_events, ax_trace_dump,
 * ax_trace_on_escalation): the dump is Chrome trace JSON with a track per worker; every handler
 * run of a pipeline is a slice, and every send made in a handler is an arrow whose head is a
 * later run; a small ring keeps the newest events and stays valid; dumps taken while the
 * workers write are whole; a supervisor's escalation writes the file; misuse. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axon.h"
#include "check.h"
#include "fixture.h"
#include "json_check.h"
#include "runner.h"

enum { M_ITEM = 1, M_FAIL = 2 };
static atomic_int g_sunk;

static int sink_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state, (void)msg;
    atomic_fetch_add(&g_sunk, 1);
    return 0;
}
static const ax_behavior sink_b = {"sink", 0, NULL, sink_receive, NULL};

/* Forwards each item to the sink named in its state. */
static int relay_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    memcpy(state, arg, sizeof(ax_ref));
    return 0;
}
static int relay_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    ax_ref to;
    memcpy(&to, state, sizeof to);
    return ax_send(ax_ctx_runtime(ctx), to, M_ITEM, msg->data, msg->size);
}
static const ax_behavior relay_b = {"relay \"quoted\"", sizeof(ax_ref), relay_init,
                                    relay_receive, NULL};

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    CHECK(s && fread(s, 1, (size_t)n, f) == (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void temp_path(char *buf, size_t size, const char *tag) {
    snprintf(buf, size, "/tmp/axon-trace-%d-%s.json", (int)getpid(), tag);
}

/* Whether the line that starts at l holds needle. */
static bool line_has(const char *l, const char *needle) {
    const char *end = strchr(l, '\n'), *hit = strstr(l, needle);
    return hit && (!end || hit < end);
}

/* What a dump holds, read line by line (the writer puts one event per line). */
struct census {
    int threads, handlers_named[2], sends, arrows, parks, stops, escalations, lines;
    int max_tid;
};

/* Checks the whole text's syntax, then counts; every arrow's head (f) names the id of an
 * arrow tail (s) seen before it, at a time not before the tail's. */
static struct census read_dump(const char *text, const char *name0, const char *name1) {
    CHECK(json_skip_ws(json_value(text))[0] == '\0');
    CHECK(strncmp(text, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", 39) == 0);
    struct census c = {0};
    size_t cap = 1024, nopen = 0;
    struct { unsigned long long id; double ts; } *open = malloc(cap * sizeof *open);
    CHECK(open);
    for (const char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        const char *l = line + 1;
        c.lines++;
        double ts = 0;
        const char *t = strstr(l, "\"ts\":");
        if (t && t < strchr(l, '\n')) ts = strtod(t + 5, NULL);
        const char *tid = strstr(l, "\"tid\":");
        if (tid && tid < strchr(l, '\n')) {
            int v = atoi(tid + 6);
            if (v > c.max_tid) c.max_tid = v;
        }
        unsigned long long id = 0;
        const char *idp = strstr(l, "\"id\":\"0x");
        if (idp && idp < strchr(l, '\n')) id = strtoull(idp + 8, NULL, 16);
        if (strncmp(l, "{\"ph\":\"M\",\"name\":\"thread_name\"", 30) == 0) {
            c.threads++;
        } else if (strncmp(l, "{\"ph\":\"X\",\"cat\":\"handler\",\"name\":", 33) == 0) {
            if (strncmp(l + 33, name0, strlen(name0)) == 0) c.handlers_named[0]++;
            if (strncmp(l + 33, name1, strlen(name1)) == 0) c.handlers_named[1]++;
        } else if (strncmp(l, "{\"ph\":\"s\"", 9) == 0) {
            c.sends++;
            if (nopen == cap) {
                open = realloc(open, (cap *= 2) * sizeof *open);
                CHECK(open);
            }
            open[nopen].id = id;
            open[nopen++].ts = ts;
        } else if (strncmp(l, "{\"ph\":\"f\"", 9) == 0) {
            c.arrows++;
            size_t k = nopen;
            while (k > 0 && open[k - 1].id != id) k--;
            CHECK(k > 0);                 /* its tail came first */
            CHECK(open[k - 1].ts <= ts); /* and not later in time */
            open[k - 1] = open[--nopen];
        } else if (line_has(l, "\"name\":\"parked\"")) {
            c.parks++;
        } else if (line_has(l, "\"name\":\"stop\"")) {
            c.stops++;
        } else if (line_has(l, "\"name\":\"escalation\"")) {
            c.escalations++;
        }
    }
    free(open);
    return c;
}

/* A relay and a sink on two workers with rings of trace_events, n items through them from main,
 * then a dump, read back. */
static struct census pipeline_dump(int trace_events, int n, const char *tag) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 2, .trace_events = trace_events});
    atomic_store(&g_sunk, 0);
    ax_ref sink, relay;
    CHECK_OK(ax_spawn(rt, &sink_b, NULL, NULL, &sink));
    CHECK_OK(ax_spawn(rt, &relay_b, &sink, NULL, &relay));
    for (int i = 0; i < n; i++) CHECK_OK(ax_send(rt, relay, M_ITEM, &i, sizeof i));
    WAIT_UNTIL(atomic_load(&g_sunk) == n);
    char path[128];
    temp_path(path, sizeof path, tag);
    CHECK_OK(ax_trace_dump(rt, path));
    char *text = read_file(path);
    struct census c = read_dump(text, "\"sink\"", "\"relay \\\"quoted\\\"\"");
    free(text);
    unlink(path);
    fixture_destroy(rt);
    return c;
}

/* Every run is a slice, every relay send an arrow to a sink run, and a track per worker. */
static void test_pipeline(void) {
    enum { N = 500 };
    struct census c = pipeline_dump(1 << 16, N, "pipeline");
    CHECK_EQ(c.threads, 2);
    CHECK_EQ(c.handlers_named[0], N);
    CHECK_EQ(c.handlers_named[1], N);
    CHECK_EQ(c.sends, N); /* main's sends are outside any worker: not recorded */
    CHECK_EQ(c.arrows, N);
    CHECK(c.max_tid <= 1);
}

/* A ring of 64 under 5,000 messages: the newest events, whole, and still valid JSON. */
static void test_small_ring(void) {
    struct census c = pipeline_dump(50, 5000, "small");
    CHECK_EQ(c.threads, 2);
    /* 50 rounds up to 64 per worker; arrows only where both ends are still in the rings. */
    CHECK(c.lines - c.threads - c.arrows - 2 <= 2 * 64); /* 2: the process name, the end */
    CHECK(c.handlers_named[0] + c.handlers_named[1] > 0);
    CHECK(c.arrows <= c.sends);
}

/* Dumps while both workers write: each dump is whole (its syntax and arrows check). */
struct dumper {
    ax_runtime *rt;
    atomic_int stop;
    atomic_int dumps;
};

static void *dump_loop(void *p) {
    struct dumper *d = p;
    char path[128];
    temp_path(path, sizeof path, "concurrent");
    while (!atomic_load(&d->stop)) {
        CHECK_OK(ax_trace_dump(d->rt, path));
        char *text = read_file(path);
        read_dump(text, "\"sink\"", "\"relay");
        free(text);
        atomic_fetch_add(&d->dumps, 1);
    }
    unlink(path);
    return NULL;
}

static void test_dump_while_running(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 2, .trace_events = 256});
    atomic_store(&g_sunk, 0);
    ax_ref sink, relay;
    CHECK_OK(ax_spawn(rt, &sink_b, NULL, NULL, &sink));
    CHECK_OK(ax_spawn(rt, &relay_b, &sink, NULL, &relay));
    struct dumper d = {rt, 0, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, dump_loop, &d) == 0);
    enum { N = 20000 };
    for (int i = 0; i < N; i++) {
        int rc;
        while ((rc = ax_send(rt, relay, M_ITEM, &i, sizeof i)) == AX_ENOMEM) check_sleep_us(100);
        CHECK_OK(rc);
    }
    WAIT_UNTIL(atomic_load(&g_sunk) == N && atomic_load(&d.dumps) >= 3);
    atomic_store(&d.stop, 1);
    pthread_join(th, NULL);
    CHECK(atomic_load(&d.dumps) >= 3);
    fixture_destroy(rt);
}

/* ---- escalation -------------------------------------------------------------------------- */

static int fragile_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state;
    return msg->type == M_FAIL ? -1 : 0;
}
static const ax_behavior fragile_b = {"fragile", 0, NULL, fragile_receive, NULL};

static void test_escalation_dump(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 2, .trace_events = 4096});
    char path[128];
    temp_path(path, sizeof path, "escalation");
    unlink(path);
    CHECK_OK(ax_trace_on_escalation(rt, "/nonexistent-dir/replaced-below.json"));
    CHECK_OK(ax_trace_on_escalation(rt, path)); /* replaces the first (freed) */
    ax_child_spec ch = {"c", &fragile_b, NULL, 0, AX_PERMANENT, 0, AX_CHILD_WORKER, NULL};
    ax_sup_spec spec = {AX_ONE_FOR_ONE, 1, 60000, 0, 0, 0, &ch, 1};
    ax_ref sup, child;
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    for (int k = 0; k < 2; k++) { /* the second failure exceeds intensity 1: escalation */
        uint64_t restarts = 0;
        WAIT_UNTIL(ax_supervisor_child(rt, sup, "c", &child) == 0 &&
                   ax_supervisor_child_restarts(rt, sup, "c", &restarts) == 0 &&
                   restarts == (uint64_t)k);
        CHECK_OK(ax_send(rt, child, M_FAIL, NULL, 0));
    }
    WAIT_UNTIL(fixture_stats(rt).escalations == 1 && access(path, R_OK) == 0 &&
               fixture_stats(rt).stopped >= 3);
    char *text = read_file(path);
    struct census c = read_dump(text, "\"fragile\"", "\"supervisor\"");
    CHECK_EQ(c.escalations, 1);
    CHECK(c.stops >= 2); /* the two failed children, before the supervisor gave up */
    CHECK(c.handlers_named[0] >= 2);
    free(text);
    unlink(path);
    CHECK_OK(ax_trace_on_escalation(rt, NULL));
    fixture_destroy(rt);
}

static void test_misuse(void) {
    ax_runtime *rt = fixture_runtime(1); /* the recorder is off */
    char path[128];
    temp_path(path, sizeof path, "misuse");
    CHECK_RC_OF(ax_trace_dump, ax_trace_dump(rt, path), AX_ENOTSUP);
    CHECK_RC_OF(ax_trace_on_escalation, ax_trace_on_escalation(rt, path), AX_ENOTSUP);
    CHECK_RC_OF(ax_trace_dump, ax_trace_dump(NULL, path), AX_EINVAL);
    CHECK_RC_OF(ax_trace_on_escalation, ax_trace_on_escalation(NULL, path), AX_EINVAL);
    CHECK(access(path, F_OK) != 0); /* nothing written */
    fixture_destroy(rt);
    ax_runtime *bad = NULL;
    CHECK_RC(ax_runtime_create(&(ax_config){.trace_events = -1}, &bad), AX_EINVAL);
    CHECK(bad == NULL);
    /* The largest count is capped (2^24 events of 48 bytes: 768 MiB of address space, touched
     * only as the ring fills). */
    rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .trace_events = INT32_MAX});
    CHECK_RC(ax_trace_dump(rt, NULL), AX_EINVAL);
    CHECK_RC(ax_trace_dump(rt, "/nonexistent-dir/x.json"), -ENOENT);
    fixture_shutdown(rt);
    CHECK_OK(ax_trace_dump(rt, path)); /* after shutdown, until destroy */
    char *text = read_file(path);
    read_dump(text, "\"sink\"", "\"relay");
    free(text);
    unlink(path);
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_pipeline), TEST_CASE(test_small_ring), TEST_CASE(test_dump_while_running),
          TEST_CASE(test_escalation_dump), TEST_CASE(test_misuse))
