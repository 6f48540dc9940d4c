/* SPDX-License-Identifier: MIT */
/* metrics.c: ax_metrics_snapshot (the workers' counters and histograms, and every metered actor
 * found in the ref table, read under the caller's epoch) and ax_metrics_format (Prometheus text
 * exposition 0.0.4, or one JSON object). Nothing here runs on a hot path. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor/deliver.h"
#include "actor/metrics.h"
#include "actor/registry.h"
#include "mem/fault.h"
#include "runtime/metrics.h"

static void summarize(const struct hist_copy *c, ax_latency *out) {
    memset(out, 0, sizeof *out);
    if (c->count == 0) return;
    out->count = c->count;
    out->sum_ns = c->sum;
    out->min_ns = c->min;
    out->max_ns = c->max;
    out->p50_ns = hist_quantile(c, 0.5);
    out->p90_ns = hist_quantile(c, 0.9);
    out->p99_ns = hist_quantile(c, 0.99);
    out->p999_ns = hist_quantile(c, 0.999);
}

static void worker_metrics(struct sched_worker *w, int64_t now, ax_worker_metrics *out,
                           struct hist_copy *all) {
    uint64_t v[STAT_COUNT] = {0};
    stats_accumulate(&w->thr.stats, v);
    out->tasks = v[STAT_TASKS];
    out->steals = v[STAT_STEALS];
    out->steal_tries = v[STAT_STEAL_TRIES];
    out->parks = v[STAT_PARKS];
    out->wakeups = v[STAT_WAKEUPS];
    out->timers_fired = v[STAT_TIMERS_FIRED];
    out->io_submitted = v[STAT_IO_SUBMITTED];
    out->io_completions = v[STAT_IO_COMPLETIONS];
    int64_t since = atomic_load_explicit(&w->idle_since, memory_order_relaxed);
    uint64_t idle = v[STAT_IDLE_NS] + (since && now > since ? (uint64_t)(now - since) : 0);
    uint64_t up = now > w->started_ns ? (uint64_t)(now - w->started_ns) : 0;
    out->idle_ns = idle < up ? idle : up;
    out->busy_ns = up - out->idle_ns;
    struct hist_copy c;
    hist_copy_init(&c);
    hist_merge_into(&c, &w->handler_ns);
    summarize(&c, &out->handler);
    hist_merge_into(all, &w->handler_ns);
}

static void actor_metrics_read(ax_runtime *rt, struct actor *a, ax_actor_metrics *out) {
    struct actor_metrics *am = actor_metrics_of(a);
    memset(out, 0, sizeof *out);
    out->ref = a->ref;
    registry_name_of(rt, a->ref, out->name);
    if (a->behavior->name) {
        strncpy(out->behavior, a->behavior->name, sizeof out->behavior - 1);
        out->behavior[sizeof out->behavior - 1] = '\0';
    }
    out->processed = atomic_load_explicit(&am->processed, memory_order_relaxed);
    out->restarts = am->restarts;
    out->failures = am->failures;
    /* The count runs ahead of the queue by a send in flight, or behind by a pop: never below 0. */
    uint32_t depth = atomic_load_explicit(&a->mbox_len, memory_order_relaxed);
    out->mailbox_depth = depth > (UINT32_MAX >> 1) ? 0 : depth;
    out->mailbox_peak = atomic_load_explicit(&am->peak, memory_order_relaxed);
    struct hist_copy *c = mem_malloc(sizeof *c);
    if (!c) return; /* the counters without the histogram */
    hist_copy_init(c);
    hist_merge_into(c, &am->handler_ns);
    summarize(c, &out->handler);
    free(c);
}

/* Every metered actor published in the ref table; the caller holds an epoch, so an actor found
 * here keeps its memory (and its metrics block) until we are done. */
static int collect_actors(ax_runtime *rt, ax_metrics *m) {
    uint32_t hwm = atomic_load_explicit(&rt->refs.slots.hwm, memory_order_acquire);
    size_t cap = 0;
    for (uint32_t i = 1; i < hwm; i++) {
        struct actor *a = reftable_get(&rt->refs, i);
        if (!a || !a->metered) continue;
        if (m->nactors == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            ax_actor_metrics *p = mem_realloc(m->actors, ncap * sizeof *p);
            if (!p) return AX_ENOMEM;
            m->actors = p;
            cap = ncap;
        }
        actor_metrics_read(rt, a, &m->actors[m->nactors++]);
    }
    return 0;
}

int ax_metrics_snapshot(ax_runtime *rt, ax_metrics **out) {
    if (!rt || !out) return AX_EINVAL;
    struct sched *s = &rt->sched;
    ax_metrics *m = mem_calloc(1, sizeof *m);
    struct hist_copy *all = mem_malloc(sizeof *all);
    if (m) m->workers = mem_calloc((size_t)s->nworkers, sizeof *m->workers);
    if (!m || !all || !m->workers) {
        free(all);
        ax_metrics_free(m);
        return AX_ENOMEM;
    }
    bool outside;
    struct sched_thread *thr = rt_enter(rt, &outside);
    if (!thr) {
        free(all);
        ax_metrics_free(m);
        return AX_ENOMEM;
    }
    int64_t now = core_now_ns();
    m->taken_ns = now;
    m->uptime_ns = now - s->t0_ns;
    uint64_t v[STAT_COUNT];
    runtime_stats_total(rt, v, &m->total); /* one pass over the threads for both */
    m->mailbox_full = v[STAT_MAILBOX_FULL];
    /* As counted for users: the runtime's own actor (the ask sink) is in neither count. */
    m->actors_alive = m->total.spawned > m->total.stopped ? m->total.spawned - m->total.stopped : 0;
    m->nworkers = s->nworkers;
    hist_copy_init(all);
    for (int i = 0; i < s->nworkers; i++) worker_metrics(&s->workers[i], now, &m->workers[i], all);
    summarize(all, &m->handler);
    free(all);
    int rc = collect_actors(rt, m);
    rt_leave(thr, outside);
    if (rc != 0) {
        ax_metrics_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void ax_metrics_free(ax_metrics *m) {
    if (!m) return;
    free(m->workers);
    free(m->actors);
    free(m);
}

/* ---- text -------------------------------------------------------------------------------- */

void text_put(struct text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *at = t->len < t->size ? t->buf + t->len : NULL;
    int n = vsnprintf(at, at ? t->size - t->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0) t->len += (size_t)n;
}

void text_quoted(struct text *t, const char *s, bool json) {
    text_put(t, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') text_put(t, "\\%c", *p);
        else if (*p == '\n') text_put(t, "\\n");
        else if (json && (*p < 0x20 || *p > 0x7e)) text_put(t, "\\u%04x", *p);
        else text_put(t, "%c", *p);
    }
    text_put(t, "\"");
}

static double seconds(uint64_t ns) { return (double)ns / 1e9; }

/* ---- Prometheus ---- */

static void prom_head(struct text *t, const char *name, const char *type, const char *help) {
    text_put(t, "# HELP axon_%s %s\n# TYPE axon_%s %s\n", name, help, name, type);
}

static void prom_value(struct text *t, const char *name, uint64_t v) {
    text_put(t, "axon_%s %llu\n", name, (unsigned long long)v);
}

static void prom_actor_labels(struct text *t, const ax_actor_metrics *a) {
    text_put(t, "{ref=\"0x%llx\",name=", (unsigned long long)a->ref.id);
    text_quoted(t, a->name, false);
    text_put(t, ",behavior=");
    text_quoted(t, a->behavior, false);
}

/* A summary: quantiles, then _sum and _count; labels is "" or `key="v",` pairs. */
static void prom_summary(struct text *t, const char *name, const char *labels,
                         const ax_latency *l) {
    static const char *const q[] = {"0.5", "0.9", "0.99", "0.999"};
    const uint64_t v[] = {l->p50_ns, l->p90_ns, l->p99_ns, l->p999_ns};
    for (int i = 0; i < 4; i++)
        text_put(t, "axon_%s{%squantile=\"%s\"} %.9f\n", name, labels, q[i], seconds(v[i]));
    /* The same labels without the quantile (and its trailing comma); none: no braces. */
    int n = (int)strlen(labels);
    const char *open = n ? "{" : "", *close = n ? "}" : "";
    text_put(t, "axon_%s_sum%s%.*s%s %.9f\n", name, open, n ? n - 1 : 0, labels, close,
        seconds(l->sum_ns));
    text_put(t, "axon_%s_count%s%.*s%s %llu\n", name, open, n ? n - 1 : 0, labels, close,
        (unsigned long long)l->count);
}

struct counter_def {
    const char *name, *type, *help;
    size_t offset; /* in ax_stats */
};

#define STAT_DEF(name, type, field, help) {name, type, help, offsetof(ax_stats, field)}
static const struct counter_def totals[] = {
    STAT_DEF("messages_sent_total", "counter", sent, "User messages accepted by a send."),
    STAT_DEF("messages_processed_total", "counter", processed, "User messages handled."),
    STAT_DEF("messages_failed_total", "counter", failed, "User messages whose handler failed."),
    STAT_DEF("dead_letters_total", "counter", dead_letters, "Messages that became dead letters."),
    STAT_DEF("actors_spawned_total", "counter", spawned, "Actors spawned."),
    STAT_DEF("actors_stopped_total", "counter", stopped, "Actors stopped."),
    STAT_DEF("restarts_total", "counter", restarts, "Children restarted by supervisors."),
    STAT_DEF("escalations_total", "counter", escalations, "Supervisors that gave up."),
    STAT_DEF("sockets_open", "gauge", sockets, "Sockets open now."),
    STAT_DEF("socket_accepts_total", "counter", accepts, "Connections accepted."),
    STAT_DEF("socket_bytes_in_total", "counter", bytes_in, "Bytes received on sockets."),
    STAT_DEF("socket_bytes_out_total", "counter", bytes_out, "Bytes written to sockets."),
    STAT_DEF("blocking_queue_length", "gauge", blocking_queued,
             "Jobs waiting in the blocking pool."),
};

struct worker_def {
    const char *name, *help;
    size_t offset; /* in ax_worker_metrics */
    bool ns;       /* a duration: written in seconds */
};

#define WORKER_DEF(name, field, help, ns) {name, help, offsetof(ax_worker_metrics, field), ns}
static const struct worker_def per_worker[] = {
    WORKER_DEF("tasks_total", tasks, "Tasks run.", false),
    WORKER_DEF("steals_total", steals, "Steals that took work.", false),
    WORKER_DEF("steal_tries_total", steal_tries, "Victims tried that looked non-empty.", false),
    WORKER_DEF("parks_total", parks, "Times the worker went to sleep.", false),
    WORKER_DEF("wakeups_total", wakeups, "Times the worker woke from a sleep.", false),
    WORKER_DEF("timers_fired_total", timers_fired, "Timer entries fired.", false),
    WORKER_DEF("io_submitted_total", io_submitted, "I/O requests submitted.", false),
    WORKER_DEF("io_completions_total", io_completions, "I/O completions handled.", false),
    WORKER_DEF("busy_seconds_total", busy_ns, "Time spent running tasks.", true),
    WORKER_DEF("idle_seconds_total", idle_ns, "Time spent searching or asleep.", true),
};

static uint64_t field_at(const void *base, size_t offset) {
    uint64_t v;
    memcpy(&v, (const char *)base + offset, sizeof v);
    return v;
}

static void format_prometheus(const ax_metrics *m, struct text *t) {
    prom_head(t, "uptime_seconds", "gauge", "Time since the runtime was created.");
    text_put(t, "axon_uptime_seconds %.9f\n", seconds(m->uptime_ns > 0 ? (uint64_t)m->uptime_ns : 0));
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++) {
        prom_head(t, totals[i].name, totals[i].type, totals[i].help);
        prom_value(t, totals[i].name, field_at(&m->total, totals[i].offset));
    }
    prom_head(t, "actors_alive", "gauge", "Actors spawned and not yet stopped.");
    prom_value(t, "actors_alive", m->actors_alive);
    prom_head(t, "mailbox_full_total", "counter", "User messages a full mailbox refused or dead-lettered.");
    prom_value(t, "mailbox_full_total", m->mailbox_full);
    prom_head(t, "handler_seconds", "summary", "Handler time of metered actors.");
    prom_summary(t, "handler_seconds", "", &m->handler);
    for (size_t k = 0; k < sizeof per_worker / sizeof per_worker[0]; k++) {
        char name[64];
        snprintf(name, sizeof name, "worker_%s", per_worker[k].name);
        prom_head(t, name, "counter", per_worker[k].help);
        for (int i = 0; i < m->nworkers; i++) {
            uint64_t v = field_at(&m->workers[i], per_worker[k].offset);
            if (per_worker[k].ns) text_put(t, "axon_%s{worker=\"%d\"} %.9f\n", name, i, seconds(v));
            else text_put(t, "axon_%s{worker=\"%d\"} %llu\n", name, i, (unsigned long long)v);
        }
    }
    if (m->nactors == 0) return;
    static const struct {
        const char *name, *type, *help;
        size_t offset;
    } per_actor[] = {
        {"actor_processed_total", "counter", "Messages the actor handled.",
         offsetof(ax_actor_metrics, processed)},
        {"actor_restarts", "gauge", "Restarts before this incarnation.",
         offsetof(ax_actor_metrics, restarts)},
        {"actor_failures", "gauge", "Earlier incarnations that failed.",
         offsetof(ax_actor_metrics, failures)},
        {"actor_mailbox_depth", "gauge", "User messages queued now.",
         offsetof(ax_actor_metrics, mailbox_depth)},
        {"actor_mailbox_peak", "gauge", "The most user messages queued at once.",
         offsetof(ax_actor_metrics, mailbox_peak)},
    };
    for (size_t k = 0; k < sizeof per_actor / sizeof per_actor[0]; k++) {
        prom_head(t, per_actor[k].name, per_actor[k].type, per_actor[k].help);
        for (size_t i = 0; i < m->nactors; i++) {
            text_put(t, "axon_%s", per_actor[k].name);
            prom_actor_labels(t, &m->actors[i]);
            text_put(t, "} %llu\n", (unsigned long long)field_at(&m->actors[i], per_actor[k].offset));
        }
    }
    prom_head(t, "actor_handler_seconds", "summary", "Handler time per message.");
    for (size_t i = 0; i < m->nactors; i++) {
        /* The labels once, as text, then the summary's lines with them. */
        char labels[3 * (AX_NAME_MAX + 32) + 64];
        struct text l = {labels, sizeof labels, 0};
        prom_actor_labels(&l, &m->actors[i]);
        text_put(&l, ",");
        if (l.len >= sizeof labels) continue; /* cannot happen: each escape at most doubles */
        prom_summary(t, "actor_handler_seconds", labels + 1, &m->actors[i].handler);
    }
}

/* ---- JSON ---- */

static void json_latency(struct text *t, const char *key, const ax_latency *l) {
    text_put(t,
        "\"%s\":{\"count\":%llu,\"sum_ns\":%llu,\"min_ns\":%llu,\"p50_ns\":%llu,\"p90_ns\":%llu,"
        "\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu}",
        key, (unsigned long long)l->count, (unsigned long long)l->sum_ns,
        (unsigned long long)l->min_ns, (unsigned long long)l->p50_ns,
        (unsigned long long)l->p90_ns, (unsigned long long)l->p99_ns,
        (unsigned long long)l->p999_ns, (unsigned long long)l->max_ns);
}

void metrics_json_worker(struct text *t, const ax_worker_metrics *w, int index) {
    text_put(t, "{\"worker\":%d", index);
    for (size_t k = 0; k < sizeof per_worker / sizeof per_worker[0]; k++) {
        uint64_t v = field_at(w, per_worker[k].offset);
        /* Durations stay in nanoseconds here: "busy_seconds_total" becomes "busy_ns". */
        if (per_worker[k].ns)
            text_put(t, ",\"%.*s_ns\":%llu", (int)strcspn(per_worker[k].name, "_"),
                     per_worker[k].name, (unsigned long long)v);
        else text_put(t, ",\"%s\":%llu", per_worker[k].name, (unsigned long long)v);
    }
    text_put(t, ",");
    json_latency(t, "handler", &w->handler);
    text_put(t, "}");
}

void metrics_json_actor(struct text *t, const ax_actor_metrics *a) {
    text_put(t, "{\"ref\":\"0x%llx\",\"name\":", (unsigned long long)a->ref.id);
    text_quoted(t, a->name, true);
    text_put(t, ",\"behavior\":");
    text_quoted(t, a->behavior, true);
    text_put(t,
             ",\"processed\":%llu,\"restarts\":%llu,\"failures\":%llu,\"mailbox_depth\":%llu,"
             "\"mailbox_peak\":%llu,",
             (unsigned long long)a->processed, (unsigned long long)a->restarts,
             (unsigned long long)a->failures,
             (unsigned long long)a->mailbox_depth, (unsigned long long)a->mailbox_peak);
    json_latency(t, "handler", &a->handler);
    text_put(t, "}");
}

static void format_json(const ax_metrics *m, struct text *t) {
    text_put(t, "{\"taken_ns\":%lld,\"uptime_ns\":%lld,\"total\":{", (long long)m->taken_ns,
             (long long)m->uptime_ns);
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++)
        text_put(t, "%s\"%s\":%llu", i ? "," : "", totals[i].name,
                 (unsigned long long)field_at(&m->total, totals[i].offset));
    text_put(t, "},\"actors_alive\":%llu,\"mailbox_full_total\":%llu,",
             (unsigned long long)m->actors_alive, (unsigned long long)m->mailbox_full);
    json_latency(t, "handler", &m->handler);
    text_put(t, ",\"workers\":[");
    for (int i = 0; i < m->nworkers; i++) {
        if (i) text_put(t, ",");
        metrics_json_worker(t, &m->workers[i], i);
    }
    text_put(t, "],\"actors\":[");
    for (size_t i = 0; i < m->nactors; i++) {
        if (i) text_put(t, ",");
        metrics_json_actor(t, &m->actors[i]);
    }
    text_put(t, "]}\n");
}

int ax_metrics_format(const ax_metrics *m, int format, char *buf, size_t size, size_t *len) {
    if (!m || (!buf && size > 0) ||
        (format != AX_METRICS_PROMETHEUS && format != AX_METRICS_JSON))
        return AX_EINVAL;
    struct text t = {buf, size, 0};
    if (size > 0) buf[0] = '\0';
    if (format == AX_METRICS_PROMETHEUS) format_prometheus(m, &t);
    else format_json(m, &t);
    if (len) *len = t.len;
    return 0;
}
