/* SPDX-License-Identifier: MIT */
/* test_enomem.c: every documented AX_ENOMEM, produced on purpose. Linked with the fault-injection
 * build of the library (src/mem/fault.h): a thread sets mem_fault_on and its allocations fail.
 * Each failing call must leave the runtime whole: the same call succeeds once memory is back. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "axon.h"
#include "axon_transport.h"
#include "check.h"
#include "fixture.h"
#include "runner.h"
#include "mem/fault.h"

/* ---- an actor that makes the handler-only calls fail ---------------------------------------- */

enum { M_PING = 1, M_TRY = 2 };
static atomic_int g_tried, g_received;

static int cont(ax_ctx *ctx, void *state, int status, const ax_msg *reply, void *user) {
    (void)ctx, (void)state, (void)status, (void)reply, (void)user;
    HCHECK(0); /* every ask below fails: its continuation never runs */
    return 0;
}

static int probe_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state;
    atomic_fetch_add(&g_received, 1);
    if (msg->type != M_TRY) return 0;
    ax_ref peer;
    memcpy(&peer, msg->data, sizeof peer);
    ax_runtime *rt = ax_ctx_runtime(ctx);
    ax_monitor_id mon;
    mem_fault_on = 1; /* this worker's allocations fail until cleared below */
    HCHECK(ax_link(ctx, peer) == AX_ENOMEM);
    HCHECK(ax_monitor(ctx, peer, &mon) == AX_ENOMEM);
    HCHECK(ax_ask(ctx, peer, M_PING, NULL, 0,
        &(ax_ask_opts){.timeout_ms = 1000, .cont = cont, .user = NULL}) == AX_ENOMEM);
    HCHECK(ax_reply(ctx, M_PING, NULL, 0) == AX_ENOMEM);
    HCHECK(ax_send(rt, peer, M_PING, NULL, 0) == AX_ENOMEM);
    mem_fault_on = 0;
    HCHECK(ax_monitor(ctx, peer, &mon) == 0); /* memory is back: the same calls work */
    HCHECK(ax_send(rt, peer, M_PING, NULL, 0) == 0);
    atomic_fetch_add(&g_tried, 1);
    HCHECK(ax_reply(ctx, M_PING, NULL, 0) == 0);
    return 0;
}

static const ax_behavior probe_b = {"probe", 0, NULL, probe_receive, NULL};

static void test_in_handler(void) {
    ax_runtime *rt = fixture_runtime(2);
    ax_ref a, b;
    CHECK_OK(ax_spawn(rt, &probe_b, NULL, NULL, &a));
    CHECK_OK(ax_spawn(rt, &probe_b, NULL, NULL, &b));
    /* From an actor, so that ax_reply has someone to answer. */
    atomic_store(&g_tried, 0);
    ax_msg *reply = NULL;
    CHECK_OK(ax_ask_wait(rt, a, M_TRY, &b, sizeof b, 10000, &reply));
    CHECK_OK(ax_msg_free(rt, reply));
    CHECK_EQ(atomic_load(&g_tried), 1);
    fixture_destroy(rt);
    CHECK_NO_HANDLER_FAILURES();
}

/* ---- the calling thread's allocations fail ---------------------------------------------------- */

static const ax_behavior plain_b = {"plain", 0, NULL, probe_receive, NULL};

static void test_outside(void) {
    ax_runtime *rt = NULL;
    mem_fault_on = 1;
    CHECK_RC(ax_runtime_create(NULL, &rt), AX_ENOMEM);
    mem_fault_on = 0;
    rt = fixture_runtime(2); /* main now has its thread record */
    ax_ref a, sup;
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &a));
    ax_msg *m = NULL, *reply = NULL;
    ax_child_spec ch = {"c", &plain_b, NULL, 0, AX_PERMANENT, 0, AX_CHILD_WORKER, NULL};
    ax_sup_spec spec = {AX_ONE_FOR_ONE, 1, 1000, 0, 0, 0, &ch, 1};

    mem_fault_on = 1;
    CHECK_RC(ax_spawn(rt, &plain_b, NULL, NULL, &a), AX_ENOMEM);
    CHECK_RC(ax_send(rt, a, M_PING, "x", 1), AX_ENOMEM);
    CHECK_RC(ax_msg_alloc(rt, 8, &m), AX_ENOMEM);
    CHECK_RC(ax_ask_wait(rt, a, M_PING, NULL, 0, 1000, &reply), AX_ENOMEM);
    CHECK_RC(ax_register(rt, "a-name", a), AX_ENOMEM);
    CHECK_RC(ax_supervisor_start(rt, &spec, &sup), AX_ENOMEM);
    ax_metrics *snap = NULL;
    CHECK_RC(ax_metrics_snapshot(rt, &snap), AX_ENOMEM);
    ax_ref srv;
    CHECK_RC(ax_introspect_listen(rt, "127.0.0.1:0", &srv, NULL), AX_ENOMEM);
    CHECK(snap == NULL);
    mem_fault_on = 0;

    /* Nothing was lost or half done: the same calls work now. */
    CHECK_OK(ax_send(rt, a, M_PING, "x", 1));
    CHECK_OK(ax_register(rt, "a-name", a));
    CHECK_OK(ax_supervisor_start(rt, &spec, &sup));
    CHECK_OK(ax_metrics_snapshot(rt, &snap));
    CHECK_EQ(snap->actors_alive, 3);
    ax_metrics_free(snap);
    ax_stats st;
    fixture_shutdown(rt);
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.sent, 1);
    CHECK_EQ(st.processed, 1);
    CHECK_EQ(st.spawned, 3); /* a, the supervisor and its child */
    fixture_destroy(rt);
}

/* ---- a new thread that cannot get a thread record ---------------------------------------------- */

struct no_record {
    ax_runtime *rt;
    ax_ref a, sup;
    ax_msg *m;
    int rc[10];
};

static void *no_record_main(void *p) {
    struct no_record *x = p;
    ax_ref r;
    uint64_t n;
    mem_fault_on = 1;
    x->rc[0] = ax_msg_send(x->rt, x->a, M_PING, x->m);
    x->rc[1] = ax_stop(x->rt, x->a);
    x->rc[2] = ax_set_dead_letter_actor(x->rt, x->a);
    x->rc[3] = ax_send_after(x->rt, x->a, M_PING, NULL, 0, 1, NULL);
    x->rc[4] = ax_send_interval(x->rt, x->a, M_PING, NULL, 0, 1, NULL);
    x->rc[5] = ax_supervisor_start_child(x->rt, x->sup, NULL, 0, &r);
    x->rc[6] = ax_supervisor_child(x->rt, x->sup, "c", &r);
    x->rc[7] = ax_supervisor_child_restarts(x->rt, x->sup, "c", &n);
    x->rc[8] = ax_register(x->rt, "other-name", x->a);
    mem_fault_on = 0;
    x->rc[9] = ax_stop(x->rt, x->a); /* a record can be had now */
    return NULL;
}

static void test_no_record(void) {
    ax_runtime *rt = fixture_runtime(2);
    struct no_record x = {rt, AX_REF_NONE, AX_REF_NONE, NULL, {0}};
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &x.a));
    ax_child_spec tmpl = {NULL, &plain_b, NULL, 0, AX_TEMPORARY, 0, AX_CHILD_WORKER, NULL};
    ax_sup_spec spec = {AX_SIMPLE_ONE_FOR_ONE, 1, 1000, 0, 0, 0, &tmpl, 1};
    CHECK_OK(ax_supervisor_start(rt, &spec, &x.sup));
    CHECK_OK(ax_msg_alloc(rt, 8, &x.m));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, no_record_main, &x) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC_OF(ax_msg_send, x.rc[0], AX_ENOMEM);
    CHECK_RC_OF(ax_stop, x.rc[1], AX_ENOMEM);
    CHECK_RC_OF(ax_set_dead_letter_actor, x.rc[2], AX_ENOMEM);
    CHECK_RC_OF(ax_send_after, x.rc[3], AX_ENOMEM);
    CHECK_RC_OF(ax_send_interval, x.rc[4], AX_ENOMEM);
    CHECK_RC_OF(ax_supervisor_start_child, x.rc[5], AX_ENOMEM);
    CHECK_RC_OF(ax_supervisor_child, x.rc[6], AX_ENOMEM);
    CHECK_RC_OF(ax_supervisor_child_restarts, x.rc[7], AX_ENOMEM);
    CHECK_RC_OF(ax_register, x.rc[8], AX_ENOMEM);
    CHECK_OK(x.rc[9]);
    CHECK_OK(ax_msg_free(rt, x.m));
    fixture_destroy(rt);
}

/* ---- the blocking pool's queue cannot grow -------------------------------------------- */

static atomic_int g_gate_open, g_job_started;
static int64_t gated_job(void *arg) {
    (void)arg;
    atomic_fetch_add(&g_job_started, 1);
    int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
    while (!atomic_load(&g_gate_open) && check_now_ms() < deadline) check_sleep_us(200);
    return 0;
}

static void test_blocking_queue(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .blocking_threads = 1});
    ax_ref a;
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &a));
    CHECK_OK(ax_run_blocking(rt, a, M_PING, gated_job, NULL));
    WAIT_ATOMIC(g_job_started, 1);
    int queued = 0, rc;
    mem_fault_on = 1; /* the queue's first slots were allocated at creation; growing fails */
    while ((rc = ax_run_blocking(rt, a, M_PING, gated_job, NULL)) == 0) queued++;
    mem_fault_on = 0;
    CHECK_RC_OF(ax_run_blocking, rc, AX_ENOMEM);
    CHECK(queued > 0 && queued < 1024);
    CHECK_OK(ax_run_blocking(rt, a, M_PING, gated_job, NULL)); /* it grows now */
    atomic_store(&g_gate_open, 1);
    WAIT_ATOMIC(g_job_started, queued + 2);
    fixture_destroy(rt);
}

/* ---- a channel's subscription from a thread that cannot get a record -------------------- */

struct chan_no_record {
    ax_chan *c;
    ax_ref a;
    int rc[2];
};

static void *chan_no_record_main(void *arg) {
    struct chan_no_record *x = arg;
    mem_fault_on = 1; /* this thread's record cannot be allocated */
    x->rc[0] = ax_chan_subscribe(x->c, x->a, 1);
    mem_fault_on = 0;
    x->rc[1] = ax_chan_subscribe(x->c, x->a, 1);
    return NULL;
}

static void test_chan_no_record(void) {
    ax_runtime *rt = fixture_runtime(1);
    struct chan_no_record x = {NULL, AX_REF_NONE, {0}};
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &x.a));
    CHECK_OK(ax_chan_create(rt, 8, 4, &x.c));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, chan_no_record_main, &x) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC_OF(ax_chan_subscribe, x.rc[0], AX_ENOMEM);
    CHECK_OK(x.rc[1]);
    CHECK_OK(ax_chan_destroy(x.c));
    fixture_destroy(rt);
}

/* The flight recorder: its dump and the escalation path need memory of their own. */
static void test_trace(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .trace_events = 64});
    char path[64];
    snprintf(path, sizeof path, "/tmp/axon-enomem-%d.json", (int)getpid());
    mem_fault_on = 1;
    CHECK_RC(ax_trace_dump(rt, path), AX_ENOMEM);
    CHECK_RC(ax_trace_on_escalation(rt, path), AX_ENOMEM);
    mem_fault_on = 0;
    CHECK_OK(ax_trace_dump(rt, path));
    CHECK_OK(ax_trace_on_escalation(rt, path));
    unlink(path);
    fixture_destroy(rt);
}

/* ---- the transport's calls (axon_transport.h) ------------------------------------------ */

static int nop_send(void *ctx, const ax_wire_msg *m, int in_turn) {
    (void)ctx, (void)m, (void)in_turn;
    return 0;
}
static int nop_signal(void *ctx, int kind, ax_ref to, ax_ref from, uint64_t id, int reason,
                      int in_turn) {
    (void)ctx, (void)kind, (void)to, (void)from, (void)id, (void)reason, (void)in_turn;
    return 0;
}
static void nop_flush(void *ctx) { (void)ctx; }

struct transport_no_record {
    ax_runtime *rt;
    ax_wire_msg w;
    int rc;
};

static void *transport_no_record_main(void *p) {
    struct transport_no_record *x = p;
    mem_fault_on = 1; /* this thread's record cannot be allocated */
    x->rc = ax_transport_deliver(x->rt, &x->w, 1, NULL);
    mem_fault_on = 0;
    return NULL;
}

static void test_transport(void) {
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 1, .node = 1});
    CHECK_OK(ax_transport_attach(rt, &(ax_transport){NULL, nop_send, nop_signal, nop_flush, NULL}));
    ax_ref a;
    CHECK_OK(ax_spawn(rt, &plain_b, NULL, NULL, &a));
    ax_ref far = {(2ull << 52) | (a.id & ((1ull << 52) - 1))};
    ax_wire_msg w = {a, far, M_PING, 1, 0, 0, "x"};
    int res = 0;
    mem_fault_on = 1;
    CHECK_EQ(ax_transport_deliver(rt, &w, 1, &res), 0);
    CHECK_EQ(res, AX_ENOMEM);
    CHECK_RC(ax_transport_signal(rt, AX_WIRE_LINK, a, far, 0, 0), AX_ENOMEM);
    CHECK_RC(ax_transport_dead_letter(rt, &w, AX_DEAD_LOST), AX_ENOMEM);
    mem_fault_on = 0;
    struct transport_no_record x = {rt, w, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, transport_no_record_main, &x) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_RC_OF(ax_transport_deliver, x.rc, AX_ENOMEM);
    /* Nothing was lost or half done: the same calls work now. */
    CHECK_EQ(ax_transport_deliver(rt, &w, 1, &res), 1);
    CHECK_OK(ax_transport_dead_letter(rt, &w, AX_DEAD_LOST));
    ax_stats st;
    fixture_shutdown(rt);
    CHECK_OK(ax_stats_get(rt, &st));
    CHECK_EQ(st.processed, 1);
    CHECK_EQ(st.dead_letters, 1);
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_in_handler), TEST_CASE(test_outside), TEST_CASE(test_no_record),
          TEST_CASE(test_blocking_queue), TEST_CASE(test_chan_no_record), TEST_CASE(test_trace),
          TEST_CASE(test_transport))
