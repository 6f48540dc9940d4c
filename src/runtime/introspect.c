/* SPDX-License-Identifier: MIT */
/* introspect.c: ax_introspect_listen, a read-only view of the running system on the runtime's own
 * HTTP server: /metrics (Prometheus), /metrics.json, /workers, /actors (the top metered actors
 * by mailbox depth, handler time or messages) and /tree (supervisors and their children with
 * restart counts). Each request takes a fresh snapshot in the connection's actor; nothing here
 * changes the system it reports on. */
#include <stdlib.h>
#include <string.h>

#include "actor/deliver.h"
#include "actor/registry.h"
#include "mem/fault.h"
#include "runtime/metrics.h"
#include "supervise/supervisor.h"

#define INTROSPECT_DEFAULT_ADDR "127.0.0.1:9464"
#define TOP_DEFAULT 20
#define TREE_MAX_CHILDREN 4096 /* a supervisor's static children shown (the rest are counted) */
#define TREE_MAX_DEPTH 64

/* ---- the request ------------------------------------------------------------------------- */

/* The value of query parameter key in target ("/path?a=1&b=2"), copied into out; false if absent
 * or longer than out. */
static bool query_param(const char *target, size_t len, const char *key, char *out, size_t max) {
    const char *q = memchr(target, '?', len), *end = target + len;
    size_t klen = strlen(key);
    for (const char *p = q ? q + 1 : end; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t vlen = (size_t)(stop - p) - klen - 1;
            if (vlen >= max) return false;
            memcpy(out, p + klen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p = stop + 1;
    }
    return false;
}

static bool path_is(const ax_http_request *req, const char *path) {
    size_t n = strlen(path), plen = req->target_len;
    const char *q = memchr(req->target, '?', plen);
    if (q) plen = (size_t)(q - req->target);
    return plen == n && memcmp(req->target, path, n) == 0;
}

/* ---- bodies ------------------------------------------------------------------------------ */

/* A body written by fn twice: once to measure it, once into a buffer of that size. */
typedef void (*render_fn)(struct text *t, const void *arg);

static int respond_rendered(ax_http_response *res, const char *type, render_fn fn,
                            const void *arg) {
    struct text t = {NULL, 0, 0};
    fn(&t, arg);
    if (t.len > AX_HTTP_BODY_MAX) {
        static const char msg[] = "the answer is larger than AX_HTTP_BODY_MAX\n";
        return ax_http_respond(res, 507, "text/plain", msg, sizeof msg - 1);
    }
    char *buf = mem_malloc(t.len + 1);
    if (!buf) return ax_http_respond(res, 503, "text/plain", "out of memory\n", 14);
    t = (struct text){buf, t.len + 1, 0};
    fn(&t, arg);
    int rc = ax_http_respond(res, 200, type, buf, t.len);
    free(buf);
    return rc;
}

static void render_prometheus(struct text *t, const void *arg) {
    size_t len = 0;
    ax_metrics_format(arg, AX_METRICS_PROMETHEUS, t->buf, t->size, &len);
    t->len = len;
}

static void render_json(struct text *t, const void *arg) {
    size_t len = 0;
    ax_metrics_format(arg, AX_METRICS_JSON, t->buf, t->size, &len);
    t->len = len;
}

static void render_workers(struct text *t, const void *arg) {
    const ax_metrics *m = arg;
    text_put(t, "{\"uptime_ns\":%lld,\"workers\":[", (long long)m->uptime_ns);
    for (int i = 0; i < m->nworkers; i++) {
        if (i) text_put(t, ",");
        metrics_json_worker(t, &m->workers[i], i);
    }
    text_put(t, "]}\n");
}

/* /actors: the snapshot's actors, sorted; by and top chosen by the query. */
struct top {
    const ax_metrics *m;
    const char *by;
    size_t top;
};

/* The ranks ?by= knows (the first is the default), and where each actor's key is. */
static const struct rank {
    const char *name;
    size_t offset; /* of a uint64_t in ax_actor_metrics */
} ranks[] = {{"depth", offsetof(ax_actor_metrics, mailbox_depth)},
             {"time", offsetof(ax_actor_metrics, handler.sum_ns)},
             {"messages", offsetof(ax_actor_metrics, processed)}};

static uint64_t rank_key(const void *a, size_t offset) {
    uint64_t v;
    memcpy(&v, (const char *)a + offset, sizeof v);
    return v;
}

static _Thread_local size_t t_sort_offset; /* qsort passes no argument: the handler's thread */
static int by_key_desc(const void *x, const void *y) {
    uint64_t a = rank_key(x, t_sort_offset), b = rank_key(y, t_sort_offset);
    return a < b ? 1 : a > b ? -1 : 0;
}

static void render_top(struct text *t, const void *arg) {
    const struct top *q = arg;
    size_t n = q->m->nactors < q->top ? q->m->nactors : q->top;
    text_put(t, "{\"by\":\"%s\",\"metered\":%zu,\"actors\":[", q->by, q->m->nactors);
    for (size_t i = 0; i < n; i++) {
        if (i) text_put(t, ",");
        metrics_json_actor(t, &q->m->actors[i]);
    }
    text_put(t, "]}\n");
}

/* ---- the supervision tree ---------------------------------------------------------------- */

struct tree_node {
    ax_ref ref;
    int strategy;
    int nchildren; /* as the supervisor reports; children[] holds the first of them */
    struct sup_child_info *children;
    bool is_child; /* some other supervisor's static child: not a root */
};

struct tree {
    ax_runtime *rt;
    struct tree_node *nodes;
    size_t n;
};

static const char *const strategy_names[] = {"one_for_one", "one_for_all", "rest_for_one",
                                             "simple_one_for_one"};

static struct tree_node *tree_find(const struct tree *tr, ax_ref ref) {
    for (size_t i = 0; i < tr->n; i++)
        if (ax_ref_eq(tr->nodes[i].ref, ref)) return &tr->nodes[i];
    return NULL;
}

static void render_node(struct text *t, const struct tree *tr, const struct tree_node *n,
                        int depth) {
    char name[AX_NAME_MAX + 1] = "";
    registry_name_of(tr->rt, n->ref, name);
    text_put(t, "{\"ref\":\"0x%llx\",\"name\":", (unsigned long long)n->ref.id);
    text_quoted(t, name, true);
    text_put(t, ",\"strategy\":\"%s\",\"children\":[",
             n->strategy >= 0 && n->strategy <= 3 ? strategy_names[n->strategy] : "?");
    int shown = n->nchildren < TREE_MAX_CHILDREN ? n->nchildren : TREE_MAX_CHILDREN;
    for (int i = 0; i < shown; i++) {
        const struct sup_child_info *c = &n->children[i];
        char cname[AX_NAME_MAX + 1] = "";
        if (!ax_ref_is_none(c->ref)) registry_name_of(tr->rt, c->ref, cname);
        text_put(t, "%s{\"id\":", i ? "," : "");
        text_quoted(t, c->id, true);
        text_put(t, ",\"ref\":\"0x%llx\",\"name\":", (unsigned long long)c->ref.id);
        text_quoted(t, cname, true);
        text_put(t, ",\"restarts\":%llu", (unsigned long long)c->restarts);
        const struct tree_node *sub = c->is_supervisor ? tree_find(tr, c->ref) : NULL;
        if (sub && depth < TREE_MAX_DEPTH) {
            text_put(t, ",\"supervisor\":");
            render_node(t, tr, sub, depth + 1);
        }
        text_put(t, "}");
    }
    text_put(t, "]}");
}

static void render_tree(struct text *t, const void *arg) {
    const struct tree *tr = arg;
    text_put(t, "{\"supervisors\":[");
    bool first = true;
    for (size_t i = 0; i < tr->n; i++) {
        if (tr->nodes[i].is_child) continue;
        if (!first) text_put(t, ",");
        first = false;
        render_node(t, tr, &tr->nodes[i], 0);
    }
    text_put(t, "]}\n");
}

static void tree_free(struct tree *tr) {
    for (size_t i = 0; i < tr->n; i++) free(tr->nodes[i].children);
    free(tr->nodes);
}

/* Every supervisor in the ref table with its static children; the caller is a worker (its
 * epoch keeps the supervisors' memory, and with it their children's ids, until it returns). */
static int tree_collect(ax_runtime *rt, struct tree *tr) {
    uint32_t hwm = atomic_load_explicit(&rt->refs.slots.hwm, memory_order_acquire);
    size_t cap = 0;
    for (uint32_t i = 1; i < hwm; i++) {
        struct actor *a = reftable_get(&rt->refs, i);
        if (!a || !supervisor_is(a)) continue;
        struct tree_node node = {a->ref, 0, 0, NULL, false};
        node.nchildren = supervisor_children(a, &node.strategy, NULL, 0);
        if (node.nchildren < 0) continue; /* still in its init */
        size_t want = (size_t)(node.nchildren < TREE_MAX_CHILDREN ? node.nchildren
                                                                   : TREE_MAX_CHILDREN);
        if (want) {
            node.children = mem_calloc(want, sizeof *node.children);
            if (!node.children) return AX_ENOMEM;
            supervisor_children(a, &node.strategy, node.children, want);
        }
        if (tr->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct tree_node *p = mem_realloc(tr->nodes, ncap * sizeof *p);
            if (!p) {
                free(node.children);
                return AX_ENOMEM;
            }
            tr->nodes = p;
            cap = ncap;
        }
        tr->nodes[tr->n++] = node;
    }
    for (size_t i = 0; i < tr->n; i++) {
        int shown = tr->nodes[i].nchildren < TREE_MAX_CHILDREN ? tr->nodes[i].nchildren
                                                                : TREE_MAX_CHILDREN;
        for (int k = 0; k < shown; k++) {
            struct tree_node *sub = tr->nodes[i].children[k].is_supervisor
                                        ? tree_find(tr, tr->nodes[i].children[k].ref)
                                        : NULL;
            if (sub && sub != &tr->nodes[i]) sub->is_child = true;
        }
    }
    return 0;
}

/* ---- the handler ------------------------------------------------------------------------- */

static int serve_snapshot(ax_ctx *ctx, const ax_http_request *req, ax_http_response *res) {
    ax_runtime *rt = ax_ctx_runtime(ctx);
    ax_metrics *m;
    if (ax_metrics_snapshot(rt, &m) != 0)
        return ax_http_respond(res, 503, "text/plain", "out of memory\n", 14);
    int rc;
    if (path_is(req, "/metrics")) {
        rc = respond_rendered(res, "text/plain; version=0.0.4", render_prometheus, m);
    } else if (path_is(req, "/metrics.json")) {
        rc = respond_rendered(res, "application/json", render_json, m);
    } else if (path_is(req, "/workers")) {
        rc = respond_rendered(res, "application/json", render_workers, m);
    } else { /* /actors */
        char by[16], top[16];
        const struct rank *rank = &ranks[0];
        if (query_param(req->target, req->target_len, "by", by, sizeof by))
            for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; i++)
                if (strcmp(by, ranks[i].name) == 0) rank = &ranks[i];
        struct top q = {m, rank->name, TOP_DEFAULT};
        if (query_param(req->target, req->target_len, "top", top, sizeof top)) {
            char *end;
            unsigned long long v = strtoull(top, &end, 10);
            if (*end == '\0' && end != top) q.top = (size_t)(v > 100000 ? 100000 : v);
        }
        t_sort_offset = rank->offset;
        qsort(m->actors, m->nactors, sizeof *m->actors, by_key_desc);
        rc = respond_rendered(res, "application/json", render_top, &q);
    }
    ax_metrics_free(m);
    return rc;
}

static int introspect_handler(ax_ctx *ctx, const ax_http_request *req, ax_http_response *res,
                              void *arg) {
    (void)arg;
    bool head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
    if (!head && !(req->method_len == 3 && memcmp(req->method, "GET", 3) == 0)) {
        static const char msg[] = "read-only: GET only\n";
        return ax_http_respond(res, 405, "text/plain", msg, sizeof msg - 1);
    }
    if (path_is(req, "/metrics") || path_is(req, "/metrics.json") || path_is(req, "/workers") ||
        path_is(req, "/actors"))
        return serve_snapshot(ctx, req, res);
    if (path_is(req, "/tree")) {
        struct tree tr = {ax_ctx_runtime(ctx), NULL, 0};
        int rc = tree_collect(tr.rt, &tr) == 0
                     ? respond_rendered(res, "application/json", render_tree, &tr)
                     : ax_http_respond(res, 503, "text/plain", "out of memory\n", 14);
        tree_free(&tr);
        return rc;
    }
    static const char index[] =
        "axon introspection (read-only): /metrics /metrics.json /workers "
        "/actors?by=depth|time|messages&top=N /tree\n";
    if (path_is(req, "/")) return ax_http_respond(res, 200, "text/plain", index, sizeof index - 1);
    return ax_http_respond(res, 404, "text/plain", index, sizeof index - 1);
}

int ax_introspect_listen(ax_runtime *rt, const char *addr, ax_ref *server, int *port) {
    if (!rt || !server) return AX_EINVAL;
    return ax_http_listen(rt, addr ? addr : INTROSPECT_DEFAULT_ADDR, NULL, introspect_handler,
                          NULL, server, port);
}
