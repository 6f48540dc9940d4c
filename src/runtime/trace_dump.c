/* SPDX-License-Identifier: MIT */
/* trace_dump.c: the flight recorder's output. ax_trace_dump merges the workers' rings
 * (stats/trace.h) by time and writes Chrome trace JSON (the Trace Event Format that Perfetto and
 * chrome://tracing open): a track per worker, a slice per handler run named by its behavior,
 * slices for sleeps, instants for stops and escalations, and an arrow (a flow) from each send
 * made in a handler to the run that handled the message. A supervisor's escalation dumps to the
 * file set with ax_trace_on_escalation. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor/deliver.h"
#include "mem/fault.h"
#include "runtime/metrics.h"
#include "runtime/trace_dump.h"

struct dump_event {
    struct trace_record r;
    int worker;
};

static int by_time(const void *x, const void *y) {
    const struct dump_event *a = x, *b = y;
    if (a->r.ts != b->r.ts) return a->r.ts < b->r.ts ? -1 : 1;
    /* A send and the run it starts may share a clock reading: the send first. */
    uint32_t ka = (uint32_t)(a->r.meta >> 32), kb = (uint32_t)(b->r.meta >> 32);
    if (ka != kb) return ka == TRACE_SEND ? -1 : kb == TRACE_SEND ? 1 : (ka < kb ? -1 : 1);
    return a->worker - b->worker;
}

/* Open flows (sends whose handler run has not been written yet), by message address: an open
 * addressing set, sized for every send in the dump. */
struct flow_set {
    uint64_t *slot; /* 0: empty; else the flow id */
    size_t mask;
};

static bool flow_set_init(struct flow_set *f, size_t n) {
    size_t cap = 16;
    while (cap < 2 * n + 2) cap *= 2;
    f->slot = mem_calloc(cap, sizeof *f->slot);
    f->mask = cap - 1;
    return f->slot != NULL;
}

static size_t flow_hash(uint64_t id, size_t mask) { return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & mask; }

static void flow_open(struct flow_set *f, uint64_t id) {
    size_t i = flow_hash(id, f->mask);
    while (f->slot[i] && f->slot[i] != id) i = (i + 1) & f->mask;
    f->slot[i] = id;
}

/* Removes id if open; true if it was. Backward-shift deletion keeps every probe chain whole. */
static bool flow_close(struct flow_set *f, uint64_t id) {
    size_t i = flow_hash(id, f->mask);
    while (f->slot[i] && f->slot[i] != id) i = (i + 1) & f->mask;
    if (!f->slot[i]) return false;
    f->slot[i] = 0;
    for (size_t j = (i + 1) & f->mask; f->slot[j]; j = (j + 1) & f->mask) {
        uint64_t v = f->slot[j];
        f->slot[j] = 0;
        flow_open(f, v);
    }
    return true;
}

static void put_us(FILE *out, uint64_t ns) {
    fprintf(out, "%llu.%03llu", (unsigned long long)(ns / 1000), (unsigned long long)(ns % 1000));
}

/* A behavior's name, quoted, cut to 63 bytes (each may become a 6-byte escape). */
static void put_name(FILE *out, uint64_t name) {
    const char *s = (const char *)(uintptr_t)name;
    char cut[64], buf[6 * sizeof cut + 3];
    snprintf(cut, sizeof cut, "%s", s && *s ? s : "actor");
    struct text t = {buf, sizeof buf, 0};
    text_quoted(&t, cut, true);
    fputs(buf, out);
}

static void write_event(FILE *out, const struct dump_event *e, struct flow_set *flows) {
    const struct trace_record *r = &e->r;
    uint32_t kind = (uint32_t)(r->meta >> 32), x = (uint32_t)r->meta;
    fputs(",\n", out);
    switch (kind) {
    case TRACE_HANDLER:
        if (flows && flow_close(flows, r->flow)) { /* the arrow's head: this run */
            fprintf(out, "{\"ph\":\"f\",\"bp\":\"e\",\"name\":\"message\",\"cat\":\"send\",\"id\":"
                         "\"0x%llx\",\"pid\":1,\"tid\":%d,\"ts\":",
                    (unsigned long long)r->flow, e->worker);
            put_us(out, r->ts);
            fputs("},\n", out);
        }
        fputs("{\"ph\":\"X\",\"cat\":\"handler\",\"name\":", out);
        put_name(out, r->name);
        fprintf(out, ",\"pid\":1,\"tid\":%d,\"ts\":", e->worker);
        put_us(out, r->ts);
        fputs(",\"dur\":", out);
        put_us(out, r->dur);
        fprintf(out, ",\"args\":{\"actor\":\"0x%llx\",\"type\":%u}}", (unsigned long long)r->actor,
                x);
        break;
    case TRACE_SEND:
        if (flows) flow_open(flows, r->flow);
        fprintf(out, "{\"ph\":\"s\",\"name\":\"message\",\"cat\":\"send\",\"id\":\"0x%llx\","
                     "\"pid\":1,\"tid\":%d,\"ts\":",
                (unsigned long long)r->flow, e->worker);
        put_us(out, r->ts);
        fprintf(out, ",\"args\":{\"from\":\"0x%llx\",\"to\":\"0x%llx\",\"type\":%u}}",
                (unsigned long long)r->actor, (unsigned long long)r->dur, x);
        break;
    case TRACE_STOP:
        fputs("{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"actor\",\"name\":\"stop\",", out);
        fprintf(out, "\"pid\":1,\"tid\":%d,\"ts\":", e->worker);
        put_us(out, r->ts);
        fprintf(out, ",\"args\":{\"actor\":\"0x%llx\",\"reason\":%d,\"behavior\":",
                (unsigned long long)r->actor, (int)x);
        put_name(out, r->name);
        fputs("}}", out);
        break;
    case TRACE_PARK:
        fprintf(out, "{\"ph\":\"X\",\"cat\":\"idle\",\"name\":\"parked\",\"pid\":1,\"tid\":%d,"
                     "\"ts\":",
                e->worker);
        put_us(out, r->ts);
        fputs(",\"dur\":", out);
        put_us(out, r->dur);
        fputs("}", out);
        break;
    default: /* TRACE_ESCALATION */
        fprintf(out, "{\"ph\":\"i\",\"s\":\"g\",\"cat\":\"supervisor\",\"name\":\"escalation\","
                     "\"pid\":1,\"tid\":%d,\"ts\":",
                e->worker);
        put_us(out, r->ts);
        fprintf(out, ",\"args\":{\"supervisor\":\"0x%llx\"}}", (unsigned long long)r->actor);
        break;
    }
}

static int dump_to(ax_runtime *rt, FILE *out) {
    struct sched *s = &rt->sched;
    /* Room for what each ring holds now (a ring is sized for its worst case, and may be large
     * and mostly untouched), taken as the newest that many events at copy time. */
    size_t ring = (size_t)s->workers[0].trace.mask + 1, room[256], total = 0, most = 0;
    for (int i = 0; i < s->nworkers; i++) {
        uint64_t w = trace_ring_written(&s->workers[i].trace);
        room[i] = w < ring ? (size_t)w : ring;
        total += room[i];
        if (room[i] > most) most = room[i];
    }
    struct trace_record *tmp = mem_malloc((most ? most : 1) * sizeof *tmp);
    struct dump_event *ev = mem_malloc((total ? total : 1) * sizeof *ev);
    if (!tmp || !ev) {
        free(tmp);
        free(ev);
        return AX_ENOMEM;
    }
    size_t n = 0, sends = 0;
    for (int i = 0; i < s->nworkers; i++) {
        size_t k = trace_ring_copy(&s->workers[i].trace, tmp, room[i]);
        for (size_t j = 0; j < k; j++) {
            ev[n] = (struct dump_event){tmp[j], i};
            sends += (uint32_t)(tmp[j].meta >> 32) == TRACE_SEND;
            n++;
        }
    }
    free(tmp);
    qsort(ev, n, sizeof *ev, by_time);
    struct flow_set flows;
    bool arrows = flow_set_init(&flows, sends); /* without memory: no arrows, the rest stays */
    fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
          "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":\"axon\"}}",
          out);
    for (int i = 0; i < s->nworkers; i++)
        fprintf(out, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%d,"
                     "\"args\":{\"name\":\"worker %d\"}}",
                i, i);
    for (size_t i = 0; i < n; i++) write_event(out, &ev[i], arrows ? &flows : NULL);
    fputs("\n]}\n", out);
    if (arrows) free(flows.slot);
    free(ev);
    return 0;
}

int ax_trace_dump(ax_runtime *rt, const char *path) {
    if (!rt || !path) return AX_EINVAL;
    if (!rt->sched.workers[0].thr.trace) return AX_ENOTSUP;
    FILE *out = fopen(path, "w");
    if (!out) return errno ? -errno : AX_ENOMEM;
    int rc = dump_to(rt, out);
    if (fclose(out) != 0 && rc == 0) rc = errno ? -errno : AX_ENOMEM;
    return rc;
}

/* ---- the escalation dump ----------------------------------------------------------------- */

static pthread_mutex_t escalation_lock = PTHREAD_MUTEX_INITIALIZER;

/* Installed as rt->on_escalation: a supervisor gave up. Its instant goes into the ring first,
 * so the dump shows where it happened. */
static void on_escalation(ax_runtime *rt, struct sched_thread *thr, ax_ref sup) {
    if (!thr->trace) return;
    trace_put(thr->trace, sched_trace_now(thr->s), TRACE_ESCALATION, 0, 0, sup.id, 0, NULL);
    pthread_mutex_lock(&escalation_lock);
    if (rt->trace_escalation_path) ax_trace_dump(rt, rt->trace_escalation_path);
    pthread_mutex_unlock(&escalation_lock);
}

void trace_dump_install(ax_runtime *rt) { rt->on_escalation = on_escalation; }

void trace_dump_destroy(ax_runtime *rt) {
    free(rt->trace_escalation_path);
    rt->trace_escalation_path = NULL;
}

int ax_trace_on_escalation(ax_runtime *rt, const char *path) {
    if (!rt) return AX_EINVAL;
    if (!rt->sched.workers[0].thr.trace) return AX_ENOTSUP;
    char *copy = NULL;
    if (path && !(copy = mem_malloc(strlen(path) + 1))) return AX_ENOMEM;
    if (copy) strcpy(copy, path);
    pthread_mutex_lock(&escalation_lock);
    char *old = rt->trace_escalation_path;
    rt->trace_escalation_path = copy;
    pthread_mutex_unlock(&escalation_lock);
    free(old);
    return 0;
}
