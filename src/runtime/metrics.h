/* SPDX-License-Identifier: MIT */
/* metrics.h: the text writer behind ax_metrics_format (metrics.c), shared with the introspection
 * endpoint (introspect.c), which writes parts of a snapshot. Not installed. */
#ifndef AX_RUNTIME_METRICS_H
#define AX_RUNTIME_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "axon.h"

/* Text written into buf[0..size) as snprintf does; len counts the whole text, written or not,
 * so a first pass with size 0 measures what a second pass needs. */
struct text {
    char *buf;
    size_t size, len;
};

void text_put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s in double quotes, with \ " and newline escaped; json: other bytes outside printable ASCII
 * become \u00XX, so the text is valid UTF-8 whatever bytes s holds. */
void text_quoted(struct text *t, const char *s, bool json);

/* Sums every thread's counters once into v (STAT_COUNT of them) and fills out from them as
 * ax_stats_get does (runtime.c): a snapshot reads both from one pass. */
void runtime_stats_total(ax_runtime *rt, uint64_t *v, ax_stats *out);

/* One worker's or one actor's JSON object, as in AX_METRICS_JSON. */
void metrics_json_worker(struct text *t, const ax_worker_metrics *w, int index);
void metrics_json_actor(struct text *t, const ax_actor_metrics *a);

#endif
