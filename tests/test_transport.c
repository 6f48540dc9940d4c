/* SPDX-License-Identifier: MIT */
/* test_transport.c: the runtime's side of axon_transport.h, without NATS: two runtimes (nodes 1
 * and 2) in one process joined by a loopback transport, a queue and a pump thread that delivers
 * what one sends to the other. Sends, asks and order across turns (the flush at a turn's end),
 * bounces, links and monitors across nodes, node down, and every error code of the calls. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "axon.h"
#include "axon_transport.h"
#include "check.h"
#include "fixture.h"
#include "runner.h"

enum { M_PING = 1, M_PONG, M_SEQ, M_GO, M_STOP };

/* ---- the loopback transport -------------------------------------------------------------- */

struct item {
    struct item *next;
    int signal; /* 0: a message; else an enum ax_wire_signal */
    uint32_t src; /* the sending node */
    ax_wire_msg m;
    uint64_t id;
    int reason;
    unsigned char data[];
};

static ax_runtime *g_rt[3];          /* by node */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static struct item *g_head, **g_tail = &g_head;
static _Atomic int g_stop;
static atomic_long g_queued_in_turn, g_flushes, g_bounced;
static _Thread_local struct item *t_held, *t_held_last; /* queued in this turn, oldest first */

static void enqueue(struct item *list, struct item **last_next) {
    pthread_mutex_lock(&g_lock);
    *g_tail = list;
    g_tail = last_next;
    pthread_cond_signal(&g_cond);
    pthread_mutex_unlock(&g_lock);
}

/* One item: queued now, or held until this worker's turn ends (as a batching transport would). */
static int put(struct item *it, int in_turn) {
    it->next = NULL;
    uint32_t node = ax_ref_node(it->m.to);
    if (node == 0 || node > 2 || !g_rt[node]) {
        free(it);
        return AX_ENOACTOR; /* a node that is not up */
    }
    if (!in_turn) {
        enqueue(it, &it->next);
        return 0;
    }
    if (t_held_last) t_held_last->next = it;
    else t_held = it;
    t_held_last = it;
    atomic_fetch_add(&g_queued_in_turn, 1);
    return 1;
}

static int loop_send(void *ctx, const ax_wire_msg *m, int in_turn) {
    struct item *it = malloc(sizeof *it + m->size);
    if (!it) return AX_ENOMEM;
    it->signal = 0;
    it->src = (uint32_t)(uintptr_t)ctx;
    it->m = *m;
    memcpy(it->data, m->data, m->size);
    it->m.data = it->data;
    return put(it, in_turn);
}

static int loop_signal(void *ctx, int kind, ax_ref to, ax_ref from, uint64_t id, int reason,
                       int in_turn) {
    struct item *it = calloc(1, sizeof *it);
    if (!it) return AX_ENOMEM;
    it->signal = kind;
    it->src = (uint32_t)(uintptr_t)ctx;
    it->m.to = to;
    it->m.from = from;
    it->id = id;
    it->reason = reason;
    return put(it, in_turn);
}

static void loop_flush(void *ctx) {
    (void)ctx;
    atomic_fetch_add(&g_flushes, 1);
    if (!t_held) return;
    struct item *list = t_held, *last = t_held_last;
    t_held = t_held_last = NULL;
    enqueue(list, &last->next);
}

/* The far side: deliver, and answer what could not be (a bounce, a NOPROC). */
static void pump_one(struct item *it) {
    ax_runtime *dst = g_rt[ax_ref_node(it->m.to)], *src = g_rt[it->src];
    if (!it->signal) {
        int res = 0;
        int n = ax_transport_deliver(dst, &it->m, 1, &res);
        if (n != 1 && src) {
            ax_transport_dead_letter(src, &it->m, res == AX_EFULL ? AX_DEAD_FULL : AX_DEAD_STOPPED);
            atomic_fetch_add(&g_bounced, 1);
        }
        return;
    }
    int rc = ax_transport_signal(dst, it->signal, it->m.to, it->m.from, it->id, it->reason);
    if (rc == AX_ENOACTOR && src && it->signal == AX_WIRE_LINK)
        ax_transport_signal(src, AX_WIRE_EXIT, it->m.from, it->m.to, 0, AX_REASON_NOPROC);
    if (rc == AX_ENOACTOR && src && it->signal == AX_WIRE_MONITOR)
        ax_transport_signal(src, AX_WIRE_DOWN, it->m.from, it->m.to, it->id, AX_REASON_NOPROC);
}

static void *pump_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&g_lock);
    while (!atomic_load(&g_stop) || g_head) {
        struct item *it = g_head;
        if (!it) {
            pthread_cond_wait(&g_cond, &g_lock);
            continue;
        }
        g_head = it->next;
        if (!g_head) g_tail = &g_head;
        pthread_mutex_unlock(&g_lock);
        pump_one(it);
        free(it);
        pthread_mutex_lock(&g_lock);
    }
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

static pthread_t g_pump;

static void nodes_start(void) {
    for (int n = 1; n <= 2; n++) {
        ax_transport t = {(void *)(uintptr_t)n, loop_send, loop_signal, loop_flush, NULL};
        CHECK_OK(ax_runtime_create(&(ax_config){.workers = 2, .node = n}, &g_rt[n]));
        CHECK_OK(ax_transport_attach(g_rt[n], &t));
    }
    CHECK(pthread_create(&g_pump, NULL, pump_main, NULL) == 0);
}

static void nodes_stop(void) {
    for (int n = 2; n >= 1; n--) CHECK_OK(ax_runtime_shutdown(g_rt[n], 0));
    pthread_mutex_lock(&g_lock);
    atomic_store(&g_stop, 1);
    pthread_cond_signal(&g_cond);
    pthread_mutex_unlock(&g_lock);
    CHECK(pthread_join(g_pump, NULL) == 0);
    for (int n = 2; n >= 1; n--) CHECK_OK(ax_runtime_destroy(g_rt[n]));
}

/* ---- actors ------------------------------------------------------------------------------ */

static atomic_long g_seq_seen, g_seq_bad, g_dead[8], g_downs[8], g_exits[8];
static int clip(int r) { return r < 0 || r > 7 ? 7 : r; }

/* Echoes pings; checks that M_SEQ numbers arrive in order. */
static int echo_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    uint64_t *next = state, x = 0;
    if (m->size == sizeof x) memcpy(&x, m->data, sizeof x);
    if (m->type == M_PING) return ax_reply(ctx, M_PONG, &x, sizeof x);
    if (m->type == M_STOP) return ax_stop(ax_ctx_runtime(ctx), ax_self(ctx));
    if (m->type == M_SEQ) {
        if (x != *next) atomic_fetch_add(&g_seq_bad, 1);
        *next = x + 1;
        atomic_fetch_add(&g_seq_seen, 1);
    }
    return 0;
}
static const ax_behavior echo_b = {.name = "echo", .state_size = 8, .receive = echo_receive};

#define SEQ_TOTAL 20000
#define SEQ_PER_TURN 7

/* Sends M_SEQ 0, 1, ... to its target, a few per turn, yielding between turns (it may resume on
 * the other worker: the held sends must have left first). */
struct seqer {
    ax_ref to;
    uint64_t next;
};
static int seqer_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    struct seqer *s = state;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    if (m->type == M_GO) memcpy(&s->to, m->data, sizeof s->to);
    for (int i = 0; i < SEQ_PER_TURN && s->next < SEQ_TOTAL; i++, s->next++)
        HCHECK(ax_send(rt, s->to, M_SEQ, &s->next, sizeof s->next) == 0);
    return s->next < SEQ_TOTAL ? ax_send(rt, ax_self(ctx), M_PING, NULL, 0) : 0;
}
static const ax_behavior seqer_b = {.name = "seqer", .state_size = sizeof(struct seqer),
                                    .receive = seqer_receive};

static int sink_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)ctx, (void)state;
    if (m->type == AX_MSG_DEAD_LETTER) {
        ax_dead_letter d;
        memcpy(&d, m->data, sizeof d);
        atomic_fetch_add(&g_dead[clip(d.reason)], 1);
    }
    return 0;
}
static const ax_behavior sink_b = {.name = "sink", .receive = sink_receive};

static int watcher_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)state;
    ax_ref target;
    memcpy(&target, arg, sizeof target);
    ax_monitor_id mon;
    HCHECK(ax_trap_exits(ctx, 1) == 0);
    HCHECK(ax_monitor(ctx, target, &mon) == 0);
    HCHECK(ax_link(ctx, target) == 0);
    return 0;
}
static int watcher_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state;
    if (m->type == AX_MSG_DOWN) {
        ax_down d;
        memcpy(&d, m->data, sizeof d);
        atomic_fetch_add(&g_downs[clip(d.reason)], 1);
    } else if (m->type == AX_MSG_EXIT) {
        ax_exit x;
        memcpy(&x, m->data, sizeof x);
        atomic_fetch_add(&g_exits[clip(x.reason)], 1);
    } else if (m->type == M_PING) { /* a transport may not be driven from a worker */
        ax_wire_msg w = {ax_self(ctx), AX_REF_NONE, M_PING, 0, 0, 0, NULL};
        HCHECK(ax_transport_deliver(ax_ctx_runtime(ctx), &w, 1, NULL) == AX_ECONTEXT);
        HCHECK(ax_transport_on_worker(ax_ctx_runtime(ctx)) == 1);
        ax_transport t = {NULL, loop_send, loop_signal, loop_flush, NULL};
        HCHECK(ax_transport_attach(ax_ctx_runtime(ctx), &t) == AX_ECONTEXT);
    }
    return 0;
}
static const ax_behavior watcher_b = {.name = "watcher", .init = watcher_init,
                                      .receive = watcher_receive};

/* ---- cases ------------------------------------------------------------------------------- */

static void test_send_ask_order_bounce(void) {
    nodes_start();
    ax_ref echo, seqer, sink;
    CHECK_OK(ax_spawn(g_rt[1], &echo_b, NULL, NULL, &echo));
    CHECK_OK(ax_spawn(g_rt[2], &sink_b, NULL, NULL, &sink));
    CHECK_OK(ax_set_dead_letter_actor(g_rt[2], sink));
    CHECK_EQ(ax_ref_node(echo), 1);
    /* An ask from node 2's main thread to node 1's actor: the reply crosses back. */
    for (uint64_t i = 0; i < 100; i++) {
        ax_msg *reply;
        CHECK_OK(ax_ask_wait(g_rt[2], echo, M_PING, &i, sizeof i, 5000, &reply));
        uint64_t back;
        memcpy(&back, reply->data, sizeof back);
        CHECK_EQ(back, i);
        CHECK_OK(ax_msg_free(g_rt[2], reply));
    }
    /* One actor's sends across turns keep their order (each turn's are held until it ends). */
    CHECK_OK(ax_spawn(g_rt[2], &seqer_b, NULL, NULL, &seqer));
    CHECK_OK(ax_send(g_rt[2], seqer, M_GO, &echo, sizeof echo));
    WAIT_UNTIL(atomic_load(&g_seq_seen) == SEQ_TOTAL);
    CHECK_EQ(atomic_load(&g_seq_bad), 0);
    CHECK(atomic_load(&g_queued_in_turn) >= SEQ_TOTAL);
    CHECK(atomic_load(&g_flushes) > 0);
    /* A stale ref of node 1 is refused there and comes back as a dead letter on node 2. */
    ax_ref stale = {echo.id ^ (1ull << 32)};
    CHECK_OK(ax_send(g_rt[2], stale, M_SEQ, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_dead[AX_DEAD_STOPPED]) == 1);
    CHECK_EQ(atomic_load(&g_bounced), 1);
    /* A node that is not up: the transport refuses it at once. */
    ax_ref far = {(3ull << 52) | (echo.id & ((1ull << 52) - 1))};
    CHECK_EQ(ax_ref_node(far), 3);
    CHECK_RC(ax_send(g_rt[2], far, M_SEQ, NULL, 0), AX_ENOACTOR);
    nodes_stop();
}

static void test_links_monitors(void) {
    nodes_start();
    ax_ref target, w;
    CHECK_OK(ax_spawn(g_rt[1], &echo_b, NULL, NULL, &target));
    /* Across nodes: the target stops normally; its DOWN and exit cross back. */
    CHECK_OK(ax_spawn(g_rt[2], &watcher_b, &target, NULL, &w));
    check_sleep_us(50000); /* the link and monitor reach node 1 (spawned from here: sent at once) */
    CHECK_OK(ax_send(g_rt[2], target, M_STOP, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_downs[AX_REASON_NORMAL]) == 1 &&
               atomic_load(&g_exits[AX_REASON_NORMAL]) == 1);
    /* A stale ref: answered NOPROC by its node. */
    CHECK_OK(ax_spawn(g_rt[2], &watcher_b, &target, NULL, &w));
    WAIT_UNTIL(atomic_load(&g_downs[AX_REASON_NOPROC]) == 1 &&
               atomic_load(&g_exits[AX_REASON_NOPROC]) == 1);
    /* A node that is not up: answered at once here, node down. */
    ax_ref far = {(3ull << 52) | (target.id & ((1ull << 52) - 1))};
    CHECK_OK(ax_spawn(g_rt[2], &watcher_b, &far, NULL, &w));
    WAIT_UNTIL(atomic_load(&g_downs[AX_REASON_NODEDOWN]) == 1 &&
               atomic_load(&g_exits[AX_REASON_NODEDOWN]) == 1);
    /* What a transport does when a node goes down: DOWN and exit with NODEDOWN, delivered here
     * for a live target on node 1 that the watcher holds. */
    ax_ref live, w2;
    CHECK_OK(ax_spawn(g_rt[1], &echo_b, NULL, NULL, &live));
    CHECK_OK(ax_spawn(g_rt[2], &watcher_b, &live, NULL, &w2));
    check_sleep_us(50000);
    CHECK_OK(ax_transport_signal(g_rt[2], AX_WIRE_EXIT, w2, live, 0, AX_REASON_NODEDOWN));
    CHECK_OK(ax_transport_signal(g_rt[2], AX_WIRE_DOWN, w2, live, 1, AX_REASON_NODEDOWN));
    WAIT_UNTIL(atomic_load(&g_downs[AX_REASON_NODEDOWN]) == 2 &&
               atomic_load(&g_exits[AX_REASON_NODEDOWN]) == 2);
    /* Inside a handler, the calls that enter a runtime from outside are refused. */
    CHECK_OK(ax_send(g_rt[2], w2, M_PING, NULL, 0));
    check_sleep_us(50000);
    CHECK_EQ(check_handler_failures(), 0);
    nodes_stop();
}

static int bounded_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)ctx, (void)state, (void)m;
    return 0;
}
static const ax_behavior bounded_b = {.name = "bounded", .receive = bounded_receive};

static void test_errors(void) {
    ax_transport t = {NULL, loop_send, loop_signal, loop_flush, NULL};
    ax_runtime *rt0, *rt;
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 1}, &rt0));
    CHECK_RC(ax_transport_attach(rt0, &t), AX_EINVAL); /* node 0 */
    CHECK_OK(ax_runtime_destroy(rt0));
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 1, .node = 5}, &rt));
    CHECK_EQ(ax_runtime_node(rt), 5);
    CHECK_EQ(ax_runtime_node(NULL), 0);
    CHECK_EQ(ax_transport_on_worker(rt), 0);
    CHECK_RC(ax_transport_attach(NULL, &t), AX_EINVAL);
    CHECK_RC(ax_transport_attach(rt, NULL), AX_EINVAL);
    CHECK_RC(ax_transport_attach(rt, &(ax_transport){NULL, loop_send, NULL, loop_flush, NULL}),
             AX_EINVAL);
    CHECK_OK(ax_transport_attach(rt, &t));
    CHECK_RC(ax_transport_attach(rt, &t), AX_EEXIST);

    ax_ref a, b, w;
    CHECK_OK(ax_spawn(rt, &bounded_b, NULL, &(ax_spawn_opts){.mailbox_capacity = 1}, &b));
    CHECK_OK(ax_spawn(rt, &echo_b, NULL, NULL, &a));
    ax_ref foreign = {(6ull << 52) | (a.id & ((1ull << 52) - 1))};
    static char big[AX_MSG_MAX + 1];
    ax_wire_msg ok = {a, foreign, M_SEQ, 0, 0, 0, NULL};
    ax_wire_msg msgs[] = {
        ok,
        {foreign, a, M_SEQ, 0, 0, 0, NULL},          /* a ref of another node */
        {a, foreign, AX_MSG_DOWN, 0, 0, 0, NULL},    /* a reserved type */
        {a, foreign, M_SEQ, sizeof big, 0, 0, big},  /* too big */
        {{a.id ^ (1ull << 33)}, foreign, M_SEQ, 0, 0, 0, NULL}, /* stale */
        {a, foreign, M_SEQ, 4, 0, 0, NULL},          /* bytes missing */
        {a, foreign, M_SEQ, 0, 0, 0x80, NULL},       /* flags a transport does not carry */
    };
    int res[7];
    CHECK_EQ(ax_transport_deliver(rt, msgs, 7, res), 1);
    CHECK_EQ(res[0], 0);
    CHECK_EQ(res[1], AX_EINVAL);
    CHECK_EQ(res[2], AX_EINVAL);
    CHECK_EQ(res[3], AX_EMSGSIZE);
    CHECK_EQ(res[4], AX_ENOACTOR);
    CHECK_EQ(res[5], AX_EINVAL);
    CHECK_EQ(res[6], AX_EINVAL);
    CHECK_RC(ax_transport_deliver(NULL, msgs, 1, res), AX_EINVAL);
    CHECK_RC(ax_transport_deliver(rt, NULL, 1, res), AX_EINVAL);
    CHECK_EQ(ax_transport_deliver(rt, NULL, 0, NULL), 0);
    /* A bounded mailbox of one, given 64 at once (faster than its worker can wake to take
     * them): those refused are AX_EFULL in the results, and the return counts the others. */
    enum { BURST = 64 };
    ax_wire_msg burst[BURST];
    int burst_res[BURST];
    for (int i = 0; i < BURST; i++) burst[i] = (ax_wire_msg){b, foreign, M_SEQ, 0, 0, 0, NULL};
    int got = ax_transport_deliver(rt, burst, BURST, burst_res), full = 0;
    for (int i = 0; i < BURST; i++) {
        if (burst_res[i] == AX_EFULL) full++;
        else CHECK_OK(burst_res[i]);
    }
    CHECK(full > 0);
    CHECK_EQ(got + full, BURST);

    CHECK_RC(ax_transport_signal(NULL, AX_WIRE_LINK, a, foreign, 0, 0), AX_EINVAL);
    CHECK_RC(ax_transport_signal(rt, 0, a, foreign, 0, 0), AX_EINVAL);
    CHECK_RC(ax_transport_signal(rt, AX_WIRE_DOWN + 1, a, foreign, 0, 0), AX_EINVAL);
    CHECK_RC(ax_transport_signal(rt, AX_WIRE_LINK, foreign, a, 0, 0), AX_EINVAL);
    CHECK_RC(ax_transport_signal(rt, AX_WIRE_MONITOR, msgs[4].to, foreign, 1, 0), AX_ENOACTOR);
    CHECK_OK(ax_transport_signal(rt, AX_WIRE_DEMONITOR, a, foreign, 1, 0));

    CHECK_RC(ax_transport_dead_letter(NULL, &ok, AX_DEAD_LOST), AX_EINVAL);
    CHECK_RC(ax_transport_dead_letter(rt, NULL, AX_DEAD_LOST), AX_EINVAL);
    CHECK_RC(ax_transport_dead_letter(rt, &msgs[5], AX_DEAD_LOST), AX_EINVAL);
    CHECK_RC(ax_transport_dead_letter(rt, &msgs[3], AX_DEAD_LOST), AX_EMSGSIZE);
    CHECK_OK(ax_spawn(rt, &sink_b, NULL, NULL, &w));
    CHECK_OK(ax_set_dead_letter_actor(rt, w));
    ax_stats st0, st1;
    CHECK_OK(ax_stats_get(rt, &st0));
    ax_wire_msg lost = {foreign, a, M_SEQ, 3, 0, 0, "abc"};
    CHECK_OK(ax_transport_dead_letter(rt, &lost, AX_DEAD_LOST));
    WAIT_UNTIL(atomic_load(&g_dead[AX_DEAD_LOST]) == 1);
    CHECK_OK(ax_stats_get(rt, &st1));
    CHECK_EQ(st1.dead_letters, st0.dead_letters + 1);

    /* After shutdown: deliveries and signals from outside are refused; a dead letter counts. */
    CHECK_OK(ax_runtime_shutdown(rt, 0));
    CHECK_RC(ax_transport_deliver(rt, &ok, 1, res), AX_ESHUTDOWN);
    CHECK_RC(ax_transport_signal(rt, AX_WIRE_LINK, a, foreign, 0, 0), AX_ESHUTDOWN);
    CHECK_RC(ax_transport_attach(rt, &t), AX_ESHUTDOWN);
    CHECK_OK(ax_transport_dead_letter(rt, &lost, AX_DEAD_LOST));
    CHECK_OK(ax_stats_get(rt, &st1));
    CHECK_EQ(st1.dead_letters, st0.dead_letters + 2);
    CHECK_OK(ax_runtime_destroy(rt));
}

TEST_MAIN(TEST_CASE(test_send_ask_order_bounce), TEST_CASE(test_links_monitors),
          TEST_CASE(test_errors))
