/* SPDX-License-Identifier: MIT */
/* remote.c: a runtime as a node of a cluster over NATS: joining (the connection, the subjects,
 * the transport's hooks), the heartbeat and failure detection (a ticker thread), the peers, and
 * leaving. Subjects: axon.<cluster>.node.<n> carries frames to node n, axon.<cluster>.hb.<n> its
 * heartbeats, axon.<cluster>.name.<name> lookups of a global name (names.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "remote/alloc.h"
#include "remote/remote.h"

#ifdef AX_FAULT_INJECTION
_Thread_local int remote_fault_on;
#endif

enum {
    DEFAULT_HEARTBEAT_MS = 100,
    DEFAULT_DOWN_AFTER_MS = 1000,
    DEFAULT_WINDOW_KIB = 16384,
    DEFAULT_CONNECT_MS = 2000,
    FRAME_MAX = 256 << 10, /* a frame's most bytes, if the server allows that many */
    CLUSTER_MAX = 32
};

int64_t remote_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool remote_cb_enter(ax_remote *r) {
    /* seq_cst, both: either leave sees this callback in flight, or it sees closing. */
    atomic_fetch_add_explicit(&r->inflight, 1, memory_order_seq_cst);
    if (!atomic_load_explicit(&r->closing, memory_order_seq_cst)) return true;
    atomic_fetch_sub_explicit(&r->inflight, 1, memory_order_release);
    return false;
}

void remote_cb_leave(ax_remote *r) {
    atomic_fetch_sub_explicit(&r->inflight, 1, memory_order_release);
}

/* ---- peers ------------------------------------------------------------------------------- */

struct peer *remote_peer(ax_remote *r, uint32_t node) {
    struct peer *p = atomic_load_explicit(&r->peers[node], memory_order_acquire);
    if (p) return p;
    if (!(p = calloc(1, sizeof *p))) return NULL;
    p->node = node;
    snprintf(p->subject, sizeof p->subject, "axon.%s.node.%u", r->cluster, node);
    pthread_mutex_init(&p->out_lock, NULL);
    pthread_mutex_init(&p->in_lock, NULL);
    pthread_mutex_init(&p->watch_lock, NULL);
    p->expect = 1;
    struct peer *none = NULL;
    /* acq_rel: publishes the initialized peer; pairs with the acquire loads. */
    if (atomic_compare_exchange_strong_explicit(&r->peers[node], &none, p, memory_order_acq_rel,
                                                memory_order_acquire))
        return p;
    pthread_mutex_destroy(&p->out_lock);
    pthread_mutex_destroy(&p->in_lock);
    pthread_mutex_destroy(&p->watch_lock);
    free(p);
    return none;
}

static void publish_heartbeat(ax_remote *r, bool bye) {
    struct wire_hb hb = {WIRE_HB_MAGIC, (uint16_t)r->node, bye, r->incarnation};
    char subject[96];
    snprintf(subject, sizeof subject, "axon.%s.hb.%u", r->cluster, r->node);
    natsConnection_Publish(r->conn, subject, &hb, sizeof hb);
}

void remote_node_down(ax_remote *r, struct peer *p) {
    int up = 1;
    if (!atomic_compare_exchange_strong_explicit(&p->up, &up, 0, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return;
    atomic_fetch_add_explicit(&r->stats.nodes_down, 1, memory_order_relaxed);
    wire_fail_kept(r, p);
    watch_fire_all(r, p);
}

void remote_heard(ax_remote *r, struct peer *p, uint64_t incarnation) {
    uint64_t known = atomic_load_explicit(&p->incarnation, memory_order_acquire);
    if (known != incarnation) {
        /* The node restarted under its number: its old incarnation's actors are gone. */
        if (known != 0) remote_node_down(r, p);
        atomic_store_explicit(&p->incarnation, incarnation, memory_order_release);
    }
    atomic_store_explicit(&p->last_heard_ns, remote_now_ns(), memory_order_relaxed);
    if (!atomic_exchange_explicit(&p->up, 1, memory_order_acq_rel) &&
        !atomic_load_explicit(&r->left, memory_order_acquire))
        publish_heartbeat(r, false); /* a node new to us learns of us at once too */
}

static void on_heartbeat(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc, (void)sub;
    ax_remote *r = closure;
    if (!remote_cb_enter(r)) {
        natsMsg_Destroy(msg);
        return;
    }
    struct wire_hb hb;
    if (natsMsg_GetDataLength(msg) != sizeof hb) {
        atomic_fetch_add_explicit(&r->stats.malformed, 1, memory_order_relaxed);
    } else {
        memcpy(&hb, natsMsg_GetData(msg), sizeof hb);
        struct peer *p = NULL;
        if (hb.magic == WIRE_HB_MAGIC && hb.node != 0 && hb.node <= AX_NODE_MAX &&
            hb.incarnation != 0 && hb.node != r->node)
            p = remote_peer(r, hb.node);
        else if (hb.node != r->node)
            atomic_fetch_add_explicit(&r->stats.malformed, 1, memory_order_relaxed);
        if (p && hb.bye) {
            if (atomic_load_explicit(&p->incarnation, memory_order_acquire) == hb.incarnation)
                remote_node_down(r, p);
        } else if (p) {
            remote_heard(r, p, hb.incarnation);
        }
    }
    natsMsg_Destroy(msg);
    remote_cb_leave(r);
}

/* ---- the ticker -------------------------------------------------------------------------- */

static void *ticker_main(void *arg) {
    ax_remote *r = arg;
    pthread_mutex_lock(&r->tick_lock);
    while (!atomic_load_explicit(&r->closing, memory_order_acquire)) {
        pthread_mutex_unlock(&r->tick_lock);
        publish_heartbeat(r, false);
        int64_t now = remote_now_ns();
        for (uint32_t n = 1; n <= AX_NODE_MAX; n++) {
            struct peer *p = atomic_load_explicit(&r->peers[n], memory_order_acquire);
            if (!p || !atomic_load_explicit(&p->up, memory_order_acquire)) continue;
            int64_t heard = atomic_load_explicit(&p->last_heard_ns, memory_order_relaxed);
            if (now - heard > r->down_after_ns)
                remote_node_down(r, p);
            else
                wire_tick(r, p, now);
        }
        names_tick(r);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + r->heartbeat_ns;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_mutex_lock(&r->tick_lock);
        if (!atomic_load_explicit(&r->closing, memory_order_acquire))
            pthread_cond_timedwait(&r->tick_cond, &r->tick_lock, &until);
    }
    pthread_mutex_unlock(&r->tick_lock);
    return NULL;
}

/* ---- joining and leaving ----------------------------------------------------------------- */

static void on_reconnected(natsConnection *nc, void *closure) {
    (void)nc;
    ax_remote *r = closure;
    atomic_fetch_add_explicit(&r->stats.reconnects, 1, memory_order_relaxed);
}

static bool cluster_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > CLUSTER_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!remote_name_char(s[i])) return false;
    return true;
}

static int check_config(const ax_remote_config *c) {
    for (size_t i = 0; i < sizeof c->reserved / sizeof c->reserved[0]; i++)
        if (c->reserved[i]) return AX_EINVAL;
    if (c->cluster && !cluster_name_ok(c->cluster)) return AX_EINVAL;
    if (c->nservers < 0 || (c->nservers > 0 && !c->servers)) return AX_EINVAL;
    for (int i = 0; i < c->nservers; i++)
        if (!c->servers[i]) return AX_EINVAL;
    if (c->heartbeat_ms && (c->heartbeat_ms < 10 || c->heartbeat_ms > 60000)) return AX_EINVAL;
    int hb = c->heartbeat_ms ? c->heartbeat_ms : DEFAULT_HEARTBEAT_MS;
    if (c->down_after_ms && (c->down_after_ms < 2 * hb || c->down_after_ms > 3600000))
        return AX_EINVAL;
    if (c->window_kib < 0 || c->connect_timeout_ms < 0) return AX_EINVAL;
    return 0;
}

static int nats_error(natsStatus s) {
    switch (s) {
    case NATS_OK: return 0;
    case NATS_NO_MEMORY: return AX_ENOMEM;
    case NATS_NO_SERVER:
    case NATS_TIMEOUT:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED: return AX_ETIMEDOUT;
    default: return AX_ENOTSUP;
    }
}

static natsStatus set_options(natsOptions *o, const ax_remote_config *c, ax_remote *r) {
    static const char *const local[] = {"nats://127.0.0.1:4222"};
    char name[80];
    snprintf(name, sizeof name, "axon.%s.%u", r->cluster, r->node);
    natsStatus s = natsOptions_SetServers(o, (const char **)(c->nservers ? c->servers : local),
                                          c->nservers ? c->nservers : 1);
    if (s == NATS_OK) s = natsOptions_SetName(o, name);
    /* Publish from the calling thread: a frame leaves when its turn ends, not when the client's
     * flusher wakes (a millisecond later: the floor measured it). */
    if (s == NATS_OK) s = natsOptions_SetSendAsap(o, true);
    if (s == NATS_OK) s = natsOptions_SetNoRandomize(o, true);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, 50);
    if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(o, 64 << 20);
    if (s == NATS_OK) s = natsOptions_SetTimeout(o, c->connect_timeout_ms ? c->connect_timeout_ms
                                                                           : DEFAULT_CONNECT_MS);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(o, on_reconnected, r);
    if (s == NATS_OK && c->user) s = natsOptions_SetUserInfo(o, c->user, c->password);
    if (s == NATS_OK && c->token) s = natsOptions_SetToken(o, c->token);
    if (s == NATS_OK && c->creds_file)
        s = natsOptions_SetUserCredentialsFromFiles(o, c->creds_file, NULL);
    if (s == NATS_OK && (c->tls || c->ca_file)) s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK && c->ca_file) s = natsOptions_LoadCATrustedCertificates(o, c->ca_file);
    return s;
}

static uint64_t new_incarnation(void) {
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint64_t)remote_now_ns() ^ ((uint64_t)getpid() << 32);
    return v ? v : 1;
}

static void release(void *ctx);

/* Frees what join made; the connection is closed already or was never made. */
static void free_remote(ax_remote *r) {
    wire_free(r);
    names_free(r);
    for (uint32_t n = 0; n <= AX_NODE_MAX; n++) {
        struct peer *p = atomic_load_explicit(&r->peers[n], memory_order_acquire);
        if (!p) continue;
        watch_free(p);
        pthread_mutex_destroy(&p->out_lock);
        pthread_mutex_destroy(&p->in_lock);
        pthread_mutex_destroy(&p->watch_lock);
        free(p);
    }
    pthread_mutex_destroy(&r->tick_lock);
    pthread_cond_destroy(&r->tick_cond);
    pthread_mutex_destroy(&r->names_lock);
    pthread_mutex_destroy(&r->outbox_lock);
    pthread_rwlock_destroy(&r->api_lock);
    free(r);
}

/* Stops the ticker and every NATS callback, then closes the connection. */
static void disconnect(ax_remote *r) {
    pthread_mutex_lock(&r->tick_lock);
    atomic_store_explicit(&r->closing, true, memory_order_seq_cst);
    pthread_cond_broadcast(&r->tick_cond);
    pthread_mutex_unlock(&r->tick_lock);
    if (r->ticker_started) pthread_join(r->ticker, NULL);
    r->ticker_started = false;
    if (r->frames_sub) natsSubscription_Unsubscribe(r->frames_sub);
    if (r->hb_sub) natsSubscription_Unsubscribe(r->hb_sub);
    names_unsubscribe_all(r);
    while (atomic_load_explicit(&r->inflight, memory_order_acquire) > 0) usleep(100);
    natsSubscription_Destroy(r->frames_sub);
    natsSubscription_Destroy(r->hb_sub);
    r->frames_sub = r->hb_sub = NULL;
    if (r->conn) {
        natsConnection_Close(r->conn);
        natsConnection_Destroy(r->conn);
        r->conn = NULL;
    }
}

int ax_remote_join(ax_runtime *rt, const ax_remote_config *cfg, ax_remote **out) {
    if (!rt || !out) return AX_EINVAL;
    ax_remote_config c = cfg ? *cfg : (ax_remote_config){0};
    int rc = check_config(&c);
    if (rc) return rc;
    uint32_t node = ax_runtime_node(rt);
    if (node == 0) return AX_EINVAL;
    if (ax_transport_on_worker(rt)) return AX_ECONTEXT;
    ax_remote *r = remote_calloc(1, sizeof *r);
    if (!r) return AX_ENOMEM;
    r->rt = rt;
    r->node = node;
    r->incarnation = new_incarnation();
    snprintf(r->cluster, sizeof r->cluster, "%s", c.cluster ? c.cluster : "axon");
    r->heartbeat_ns = (int64_t)(c.heartbeat_ms ? c.heartbeat_ms : DEFAULT_HEARTBEAT_MS) * 1000000;
    r->down_after_ns =
        (int64_t)(c.down_after_ms ? c.down_after_ms : DEFAULT_DOWN_AFTER_MS) * 1000000;
    r->window = (size_t)(c.window_kib ? c.window_kib : DEFAULT_WINDOW_KIB) << 10;
    pthread_mutex_init(&r->tick_lock, NULL);
    pthread_cond_init(&r->tick_cond, NULL);
    pthread_mutex_init(&r->names_lock, NULL);
    pthread_mutex_init(&r->outbox_lock, NULL);
    pthread_rwlock_init(&r->api_lock, NULL);

    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = set_options(opts, &c, r);
    if (s == NATS_OK) s = natsConnection_Connect(&r->conn, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        rc = nats_error(s);
        goto fail;
    }
    int64_t max_payload = natsConnection_GetMaxPayload(r->conn);
    r->frame_max = max_payload > 0 && max_payload < FRAME_MAX ? (size_t)max_payload : FRAME_MAX;
    if (r->frame_max < sizeof(struct wire_head) + sizeof(struct wire_entry) + 64) {
        rc = AX_ENOTSUP; /* a server that carries no useful frame */
        goto fail;
    }
    char subject[96];
    snprintf(subject, sizeof subject, "axon.%s.node.%u", r->cluster, r->node);
    s = natsConnection_Subscribe(&r->frames_sub, r->conn, subject, wire_on_frame, r);
    /* Never dropped by the client for a slow consumer: the senders' windows bound it. */
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(r->frames_sub, -1, -1);
    snprintf(subject, sizeof subject, "axon.%s.hb.*", r->cluster);
    if (s == NATS_OK) s = natsConnection_Subscribe(&r->hb_sub, r->conn, subject, on_heartbeat, r);
    if (s == NATS_OK) s = natsConnection_FlushTimeout(r->conn, c.connect_timeout_ms
                                                                  ? c.connect_timeout_ms
                                                                  : DEFAULT_CONNECT_MS);
    if (s != NATS_OK) {
        rc = nats_error(s);
        goto fail;
    }
    ax_transport t = {r, wire_send, wire_signal, wire_flush, release};
    rc = ax_transport_attach(rt, &t);
    if (rc) goto fail;
    if (pthread_create(&r->ticker, NULL, ticker_main, r) == 0) r->ticker_started = true;
    /* Without the ticker no heartbeat goes: other nodes would see this one down. The
     * transport is attached for good now, so the node leaves at once and stays a member that
     * left; its memory goes with the runtime. */
    if (!r->ticker_started) {
        ax_remote_leave(r);
        return AX_ENOMEM;
    }
    publish_heartbeat(r, false);
    *out = r;
    return 0;
fail:
    disconnect(r);
    free_remote(r);
    return rc;
}

int ax_remote_leave(ax_remote *r) {
    if (!r) return AX_EINVAL;
    if (ax_transport_on_worker(r->rt)) return AX_ECONTEXT;
    bool was = false;
    if (!atomic_compare_exchange_strong(&r->left, &was, true)) return AX_ENOENT;
    /* Every publish that began before `left` was set has finished once its lock is free. */
    for (uint32_t n = 1; n <= AX_NODE_MAX; n++) {
        struct peer *p = atomic_load_explicit(&r->peers[n], memory_order_acquire);
        if (!p) continue;
        pthread_mutex_lock(&p->out_lock);
        pthread_mutex_unlock(&p->out_lock);
    }
    pthread_rwlock_wrlock(&r->api_lock); /* lookups and registrations in progress end */
    pthread_rwlock_unlock(&r->api_lock);
    publish_heartbeat(r, true);
    natsConnection_FlushTimeout(r->conn, 1000);
    disconnect(r);
    for (uint32_t n = 1; n <= AX_NODE_MAX; n++) {
        struct peer *p = atomic_load_explicit(&r->peers[n], memory_order_acquire);
        if (p) remote_node_down(r, p);
    }
    return 0;
}

static void release(void *ctx) {
    ax_remote *r = ctx;
    if (!atomic_load(&r->left)) ax_remote_leave(r);
    free_remote(r);
}

/* ---- queries ----------------------------------------------------------------------------- */

int ax_remote_node_up(ax_remote *r, uint32_t node) {
    if (!r || node == 0 || node > AX_NODE_MAX) return 0;
    struct peer *p = atomic_load_explicit(&r->peers[node], memory_order_acquire);
    return p && atomic_load_explicit(&p->up, memory_order_acquire) ? 1 : 0;
}

int ax_remote_wait_node(ax_remote *r, uint32_t node, int64_t timeout_ms) {
    if (!r || node == 0 || node > AX_NODE_MAX) return AX_EINVAL;
    if (ax_transport_on_worker(r->rt)) return AX_ECONTEXT;
    if (timeout_ms < 0) timeout_ms = 0;
    int64_t start = remote_now_ns();
    int64_t limit = timeout_ms > INT64_MAX / 1000000 ? INT64_MAX : timeout_ms * 1000000;
    for (;;) {
        if (atomic_load_explicit(&r->left, memory_order_acquire)) return AX_ENOENT;
        if (ax_remote_node_up(r, node)) return 0;
        if (remote_now_ns() - start >= limit) return AX_ETIMEDOUT;
        usleep(1000);
    }
}

int ax_remote_stats_get(ax_remote *r, ax_remote_stats *out) {
    if (!r || !out) return AX_EINVAL;
    *out = (ax_remote_stats){
        atomic_load(&r->stats.msgs_out),   atomic_load(&r->stats.msgs_in),
        atomic_load(&r->stats.frames_out), atomic_load(&r->stats.frames_in),
        atomic_load(&r->stats.lost),       atomic_load(&r->stats.bounced),
        atomic_load(&r->stats.refused_in), atomic_load(&r->stats.nodes_down),
        atomic_load(&r->stats.reconnects), atomic_load(&r->stats.malformed)};
    return 0;
}
