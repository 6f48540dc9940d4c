/* SPDX-License-Identifier: MIT */
/* test_remote.c: runtimes in separate processes as nodes of one cluster over NATS (axon_remote.h),
 * with their own nats-server processes: names, asks, sends counted exactly, stale refs, links and
 * monitors across nodes; three nodes on a three-server cluster; a node killed (monitors fire); a
 * NATS server killed in the middle of traffic (delivered + reported lost = sent). */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "axon.h"
#include "axon_remote.h"
#include "check.h"
#include "nats_servers.h"
#include "remote/alloc.h"
#include "remote/remote.h"
#include "runner.h"

enum { T_PING = 1, T_PONG, T_COUNT, T_QUIT, T_STOP, T_DONE, T_HOW_MANY, T_PUMP, T_ARMED };

#define COUNTS 20000 /* counted messages each sending node sends (half from an actor) */
/* Nodes that must not be seen down wait this long for a heartbeat (50 ms apart): a loaded
 * machine (sanitizers, ctest -j2) can delay one by far more than the 1 s default. */
#define SLOW_DOWN_MS 5000

static char g_cluster[32];

/* ---- processes --------------------------------------------------------------------------- */

static struct nats_servers g_servers;

static void start_servers(int n) {
    if (!nats_server_path()) TEST_SKIP("no nats-server (apt-get install nats-server)");
    CHECK(nats_servers_start(&g_servers, n));
    snprintf(g_cluster, sizeof g_cluster, "t%d", (int)getpid());
}

/* Runs fn(arg) in a child process: the node's whole life. Its exit status is the verdict. */
static pid_t fork_node(void (*fn)(int), int arg) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed case leaves no node behind */
        fn(arg);
        exit(0);
    }
    return pid;
}

static int wait_node(pid_t pid) {
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A node: a runtime numbered `node`, joined over the servers listed (by index). */
static ax_runtime *node_start(uint32_t node, const int *servers, int n, int down_after_ms,
                              ax_remote **r) {
    ax_runtime *rt;
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 2, .node = (int)node}, &rt));
    const char *urls[NATS_SERVERS_MAX];
    for (int i = 0; i < n; i++) urls[i] = g_servers.url[servers[i]];
    ax_remote_config c = {.cluster = g_cluster, .servers = urls, .nservers = n, .heartbeat_ms = 50,
                          .down_after_ms = down_after_ms};
    CHECK_OK(ax_remote_join(rt, &c, r));
    return rt;
}

static ax_ref lookup(ax_remote *r, const char *name) {
    ax_ref ref = AX_REF_NONE;
    int rc;
    for (int i = 0; i < 200 && (rc = ax_remote_whereis(r, name, 200, &ref)) != 0; i++)
        check_sleep_us(20000);
    CHECK_OK(ax_remote_whereis(r, name, 1000, &ref));
    return ref;
}

/* ---- the serving node: echo (asks, counts, quit) and victim (stops when told) ------------- */

static atomic_long g_counted, g_done, g_quit;

static int echo_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state;
    int64_t x = 0;
    if (m->size == sizeof x) memcpy(&x, m->data, sizeof x);
    switch (m->type) {
    case T_PING: {
        int64_t y = x + 1;
        return ax_reply(ctx, T_PONG, &y, sizeof y);
    }
    case T_COUNT: atomic_fetch_add(&g_counted, 1); return 0;
    case T_HOW_MANY: {
        int64_t n = atomic_load(&g_counted);
        return ax_reply(ctx, T_PONG, &n, sizeof n);
    }
    case T_DONE: atomic_fetch_add(&g_done, 1); return 0;
    case T_QUIT: atomic_store(&g_quit, 1); return 0;
    default: return 0;
    }
}
static const ax_behavior echo_behavior = {.name = "echo", .receive = echo_receive};

static int victim_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state;
    if (m->type == T_STOP) return ax_stop(ax_ctx_runtime(ctx), ax_self(ctx));
    return 0;
}
static const ax_behavior victim_behavior = {.name = "victim", .receive = victim_receive};

/* Serves until told to quit (T_QUIT) or until `dones` senders said T_DONE; then, if expect >= 0,
 * checks that exactly that many counted messages arrived, and if reconnect, that its NATS
 * connection moved to another server (keeping the node: no other node saw it down). */
static void serve(const int *servers, int nservers, long dones, long expect, bool reconnect) {
    ax_remote *r;
    ax_runtime *rt = node_start(1, servers, nservers, SLOW_DOWN_MS, &r);
    ax_ref echo, victim;
    CHECK_OK(ax_spawn(rt, &echo_behavior, NULL, NULL, &echo));
    CHECK_OK(ax_spawn(rt, &victim_behavior, NULL, NULL, &victim));
    CHECK_EQ(ax_ref_node(echo), 1);
    CHECK_OK(ax_remote_register(r, "echo", echo));
    CHECK_OK(ax_remote_register(r, "victim", victim));
    CHECK_RC(ax_remote_register(r, "echo", victim), AX_EEXIST);
    WAIT_UNTIL(atomic_load(&g_quit) || (dones > 0 && atomic_load(&g_done) >= dones));
    if (expect >= 0) CHECK_EQ(atomic_load(&g_counted), expect);
    ax_remote_stats st;
    CHECK_OK(ax_remote_stats_get(r, &st));
    if (reconnect) CHECK(st.reconnects >= 1);
    CHECK_OK(ax_remote_leave(r));
    CHECK_OK(ax_runtime_destroy(rt));
}

static void serve_one(int arg) {
    (void)arg;
    serve((int[]){0}, 1, 0, -1, false);
}

/* ---- a driving node ---------------------------------------------------------------------- */

static atomic_long g_dead[8], g_downs[8], g_exits[8]; /* by reason (index clipped to 7) */

static int clip(int reason) { return reason < 0 || reason > 7 ? 7 : reason; }

static int sink_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)ctx, (void)state;
    if (m->type == AX_MSG_DEAD_LETTER) {
        ax_dead_letter d;
        memcpy(&d, m->data, sizeof d);
        atomic_fetch_add(&g_dead[clip(d.reason)], 1);
    }
    return 0;
}
static const ax_behavior sink_behavior = {.name = "dead letters", .receive = sink_receive};

/* Watches the ref it is given: a monitor and a link (trapping exits). */
static int watcher_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)state;
    ax_ref target;
    memcpy(&target, arg, sizeof target);
    ax_monitor_id mon;
    CHECK_OK(ax_trap_exits(ctx, 1));
    CHECK_OK(ax_monitor(ctx, target, &mon));
    CHECK_OK(ax_link(ctx, target));
    return 0;
}
static int watcher_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)ctx, (void)state;
    if (m->type == AX_MSG_DOWN) {
        ax_down d;
        memcpy(&d, m->data, sizeof d);
        atomic_fetch_add(&g_downs[clip(d.reason)], 1);
    } else if (m->type == AX_MSG_EXIT) {
        ax_exit x;
        memcpy(&x, m->data, sizeof x);
        atomic_fetch_add(&g_exits[clip(x.reason)], 1);
    }
    return 0;
}
static const ax_behavior watcher_behavior = {.name = "watcher", .init = watcher_init,
                                             .receive = watcher_receive};

/* Sends COUNTS / 2 counted messages to the ref in its T_PUMP message, from inside a handler
 * (so they leave in frames of many), then T_DONE if the message asks: it arrives after them. */
static int pump_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state;
    if (m->type != T_PUMP) return 0;
    struct {
        ax_ref to;
        int done;
    } job;
    memcpy(&job, m->data, sizeof job);
    ax_ref to = job.to;
    for (int i = 0; i < COUNTS / 2;) {
        int rc = ax_send(ax_ctx_runtime(ctx), to, T_COUNT, NULL, 0);
        if (rc == AX_EFULL) continue; /* the window: acknowledgements come on another thread */
        CHECK_OK(rc);
        i++;
    }
    return job.done ? ax_send(ax_ctx_runtime(ctx), to, T_DONE, NULL, 0) : 0;
}
static const ax_behavior pump_behavior = {.name = "pump", .receive = pump_receive};

static int64_t ask(ax_runtime *rt, ax_ref to, uint32_t type, int64_t x) {
    ax_msg *reply;
    CHECK_OK(ax_ask_wait(rt, to, type, &x, sizeof x, 5000, &reply));
    int64_t y;
    CHECK_EQ(reply->type, T_PONG);
    memcpy(&y, reply->data, sizeof y);
    CHECK_OK(ax_msg_free(rt, reply));
    return y;
}

/* Sends COUNTS counted messages to echo: half from this thread, half from a pump actor; with
 * done, each of the two senders follows its share with a T_DONE, which order per sender keeps
 * behind that share. */
static void send_counts(ax_runtime *rt, ax_ref echo, bool done) {
    ax_ref pump;
    struct {
        ax_ref to;
        int done;
    } job = {echo, done};
    CHECK_OK(ax_spawn(rt, &pump_behavior, NULL, NULL, &pump));
    CHECK_OK(ax_send(rt, pump, T_PUMP, &job, sizeof job));
    for (int i = 0; i < COUNTS / 2;) {
        int rc = ax_send(rt, echo, T_COUNT, NULL, 0);
        if (rc == AX_EFULL) {
            check_sleep_us(100);
            continue;
        }
        CHECK_OK(rc);
        i++;
    }
    if (done) CHECK_OK(ax_send(rt, echo, T_DONE, NULL, 0));
}

static void drive(int arg) {
    (void)arg;
    ax_remote *r;
    ax_runtime *rt = node_start(2, (int[]){0}, 1, SLOW_DOWN_MS, &r);
    ax_ref sink;
    CHECK_OK(ax_spawn(rt, &sink_behavior, NULL, NULL, &sink));
    CHECK_OK(ax_set_dead_letter_actor(rt, sink));
    ax_ref echo = lookup(r, "echo"), victim = lookup(r, "victim");
    CHECK_EQ(ax_ref_node(echo), 1);
    CHECK(ax_remote_node_up(r, 1));
    CHECK_RC(ax_remote_whereis(r, "nobody", 500, &(ax_ref){0}), AX_ENOENT);

    /* An ask across nodes, and many in a row. */
    CHECK_EQ(ask(rt, echo, T_PING, 41), 42);
    for (int64_t i = 0; i < 200; i++) CHECK_EQ(ask(rt, echo, T_PING, i), i + 1);

    /* Counted sends: every one arrives. */
    send_counts(rt, echo, false);
    WAIT_UNTIL(ask(rt, echo, T_HOW_MANY, 0) == COUNTS);

    /* A stale ref of node 1 (another generation): the send is accepted here and comes back as a
     * dead letter (the receiver is not alive there). */
    ax_ref stale = {echo.id ^ (1ull << 33)};
    CHECK_OK(ax_send(rt, stale, T_COUNT, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_dead[AX_DEAD_STOPPED]) == 1);

    /* A ref of a node that is not up: refused at once. */
    ax_ref nowhere = {((uint64_t)77 << 52) | (echo.id & ((1ull << 52) - 1))};
    CHECK_RC(ax_send(rt, nowhere, T_COUNT, NULL, 0), AX_ENOACTOR);

    /* A monitor and a link across nodes: the victim stops normally; then one of a stale ref
     * (answered NOPROC by node 1). */
    ax_ref w1, w2;
    CHECK_OK(ax_spawn(rt, &watcher_behavior, &victim, NULL, &w1));
    check_sleep_us(100000); /* the monitor and link reach node 1 before the stop */
    CHECK_OK(ax_send(rt, victim, T_STOP, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_downs[AX_REASON_NORMAL]) == 1 &&
               atomic_load(&g_exits[AX_REASON_NORMAL]) == 1);
    CHECK_OK(ax_spawn(rt, &watcher_behavior, &stale, NULL, &w2));
    WAIT_UNTIL(atomic_load(&g_downs[AX_REASON_NOPROC]) == 1 &&
               atomic_load(&g_exits[AX_REASON_NOPROC]) == 1);
    /* A monitor of a node that is not up: DOWN at once, node down. */
    ax_ref w3;
    CHECK_OK(ax_spawn(rt, &watcher_behavior, &nowhere, NULL, &w3));
    WAIT_UNTIL(atomic_load(&g_downs[AX_REASON_NODEDOWN]) == 1 &&
               atomic_load(&g_exits[AX_REASON_NODEDOWN]) == 1);

    ax_remote_stats st;
    CHECK_OK(ax_remote_stats_get(r, &st));
    CHECK_EQ(st.lost, 0);
    CHECK_EQ(st.bounced, 1);
    CHECK(st.msgs_out >= COUNTS + 201 + 1);
    CHECK(st.frames_out < st.msgs_out); /* the pump's sends shared frames */
    fprintf(stderr, "drive: %llu messages in %llu frames out\n", (unsigned long long)st.msgs_out,
            (unsigned long long)st.frames_out);
    CHECK_OK(ax_send(rt, echo, T_QUIT, NULL, 0));
    WAIT_UNTIL(!ax_remote_node_up(r, 1)); /* it left */
    CHECK_OK(ax_remote_leave(r));
    CHECK_RC(ax_remote_leave(r), AX_ENOENT);
    CHECK_OK(ax_runtime_destroy(rt));
}

static void test_two_nodes(void) {
    start_servers(1);
    pid_t a = fork_node(serve_one, 0), b = fork_node(drive, 0);
    int vb = wait_node(b), va = wait_node(a);
    nats_servers_stop(&g_servers);
    CHECK_EQ(vb, 0);
    CHECK_EQ(va, 0);
}

/* ---- three nodes, three servers ---------------------------------------------------------- */

static void serve_three(int arg) {
    (void)arg;
    serve((int[]){0, 1, 2}, 3, 4, 2 * COUNTS, false); /* two senders on each of two nodes */
}

static void send_and_done(int server) {
    ax_remote *r;
    ax_runtime *rt = node_start((uint32_t)server + 1, (int[]){server}, 1, SLOW_DOWN_MS, &r);
    ax_ref echo = lookup(r, "echo");
    CHECK_EQ(ask(rt, echo, T_PING, 1), 2);
    send_counts(rt, echo, true);
    WAIT_UNTIL(!ax_remote_node_up(r, 1));
    CHECK_OK(ax_runtime_destroy(rt));
}

static void test_three_nodes_three_servers(void) {
    start_servers(3);
    pid_t a = fork_node(serve_three, 0);
    pid_t b = fork_node(send_and_done, 1), c = fork_node(send_and_done, 2);
    int vb = wait_node(b), vc = wait_node(c), va = wait_node(a);
    nats_servers_stop(&g_servers);
    CHECK_EQ(va, 0);
    CHECK_EQ(vb, 0);
    CHECK_EQ(vc, 0);
}

/* ---- a node killed ----------------------------------------------------------------------- */

static int g_ready_fd;

static void watch_and_wait(int arg) {
    (void)arg;
    ax_remote *r;
    ax_runtime *rt = node_start(2, (int[]){0}, 1, 400, &r);
    ax_ref victim = lookup(r, "victim"), w;
    CHECK_OK(ax_spawn(rt, &watcher_behavior, &victim, NULL, &w));
    check_sleep_us(200000); /* the monitor and the link are set on node 1 */
    CHECK_EQ(write(g_ready_fd, "r", 1), 1);
    WAIT_UNTIL(atomic_load(&g_downs[AX_REASON_NODEDOWN]) == 1 &&
               atomic_load(&g_exits[AX_REASON_NODEDOWN]) == 1);
    CHECK(!ax_remote_node_up(r, 1));
    CHECK_RC(ax_send(rt, victim, T_COUNT, NULL, 0), AX_ENOACTOR);
    ax_remote_stats st;
    CHECK_OK(ax_remote_stats_get(r, &st));
    CHECK_EQ(st.nodes_down, 1);
    CHECK_OK(ax_runtime_destroy(rt));
}

static void test_node_killed(void) {
    start_servers(1);
    int fds[2];
    CHECK_OK(pipe(fds));
    g_ready_fd = fds[1];
    pid_t a = fork_node(serve_one, 0), b = fork_node(watch_and_wait, 0);
    char c;
    CHECK_EQ(read(fds[0], &c, 1), 1);
    kill(a, SIGKILL);
    int va = wait_node(a), vb = wait_node(b);
    nats_servers_stop(&g_servers);
    CHECK_EQ(va, 128 + SIGKILL);
    CHECK_EQ(vb, 0);
}

/* ---- a NATS server killed mid-traffic ---------------------------------------------------- */

#define FLOOD 200000

static void serve_two_servers(int arg) {
    (void)arg;
    serve((int[]){0, 1}, 2, 0, -1, true); /* on server 0, reconnecting to server 1 */
}

static void flood(int arg) {
    (void)arg;
    ax_remote *r;
    ax_runtime *rt = node_start(2, (int[]){1}, 1, SLOW_DOWN_MS, &r);
    ax_ref sink;
    CHECK_OK(ax_spawn(rt, &sink_behavior, NULL, NULL, &sink));
    CHECK_OK(ax_set_dead_letter_actor(rt, sink));
    ax_ref echo = lookup(r, "echo");
    for (long i = 0; i < FLOOD;) {
        if (i == FLOOD / 4) CHECK_EQ(write(g_ready_fd, "h", 1), 1); /* the parent kills now */
        int rc = ax_send(rt, echo, T_COUNT, NULL, 0);
        if (rc == AX_EFULL) {
            check_sleep_us(200);
            continue;
        }
        CHECK_OK(rc);
        i++;
        if (i % 1000 == 0) check_sleep_us(500); /* spread over the kill */
    }
    /* Every message is delivered or reported lost, exactly once: wait until the counts meet,
     * then see that they stay met. */
    int64_t delivered = 0, lost = 0;
    for (int i = 0; i < 300; i++) {
        ax_msg *reply;
        int64_t x = 0;
        if (ax_ask_wait(rt, echo, T_HOW_MANY, &x, sizeof x, 1000, &reply) == 0) {
            memcpy(&delivered, reply->data, sizeof delivered);
            ax_msg_free(rt, reply);
        }
        lost = atomic_load(&g_dead[AX_DEAD_LOST]);
        if (delivered + lost >= FLOOD) break;
        check_sleep_us(100000);
    }
    check_sleep_us(500000);
    lost = atomic_load(&g_dead[AX_DEAD_LOST]);
    ax_remote_stats st;
    CHECK_OK(ax_remote_stats_get(r, &st));
    fprintf(stderr, "flood: sent %d, delivered %lld, reported lost %lld, reconnects %llu\n", FLOOD,
            (long long)delivered, (long long)lost, (unsigned long long)st.reconnects);
    CHECK_EQ(delivered + lost, FLOOD);
    CHECK_EQ((uint64_t)lost, st.lost);
    CHECK_EQ(st.nodes_down, 0); /* node 1 kept its identity across its reconnect */
    CHECK_OK(ax_send(rt, echo, T_QUIT, NULL, 0));
    WAIT_UNTIL(!ax_remote_node_up(r, 1));
    CHECK_OK(ax_runtime_destroy(rt));
}

static void test_server_killed_accounting(void) {
    start_servers(2);
    int fds[2];
    CHECK_OK(pipe(fds));
    g_ready_fd = fds[1];
    pid_t a = fork_node(serve_two_servers, 0), b = fork_node(flood, 0);
    char c;
    CHECK_EQ(read(fds[0], &c, 1), 1);
    nats_servers_kill(&g_servers, 0);
    int vb = wait_node(b), va = wait_node(a);
    nats_servers_stop(&g_servers);
    CHECK_EQ(vb, 0);
    CHECK_EQ(va, 0);
}

/* ---- two nodes in one process ------------------------------------------------------------ */

/* Nodes 1 and 2 in this process, on one server, each up to the other, with echo on node 1. */
struct pair {
    ax_runtime *rt1, *rt2;
    ax_remote *r1, *r2;
    ax_ref echo;
};

static void pair_start(struct pair *p, int window_kib) {
    const char *urls[] = {g_servers.url[0]};
    ax_remote_config c = {.cluster = g_cluster, .servers = urls, .nservers = 1,
                          .heartbeat_ms = 50, .down_after_ms = SLOW_DOWN_MS,
                          .window_kib = window_kib};
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 1, .node = 1}, &p->rt1));
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 1, .node = 2}, &p->rt2));
    CHECK_OK(ax_remote_join(p->rt1, &c, &p->r1));
    CHECK_OK(ax_remote_join(p->rt2, &c, &p->r2));
    CHECK_RC(ax_remote_join(p->rt2, &c, &p->r2), AX_EEXIST);
    CHECK_OK(ax_spawn(p->rt1, &echo_behavior, NULL, NULL, &p->echo));
    CHECK_OK(ax_remote_wait_node(p->r2, 1, 5000));
    CHECK_OK(ax_remote_wait_node(p->r1, 2, 5000));
}

static void pair_stop(struct pair *p) {
    CHECK_OK(ax_runtime_destroy(p->rt2)); /* leaves for the program */
    CHECK_OK(ax_runtime_destroy(p->rt1));
}

/* A message too big for the server's max_payload is refused at send with AX_EMSGSIZE; one that
 * fits goes. */
static void test_max_payload(void) {
    if (!nats_server_path()) TEST_SKIP("no nats-server (apt-get install nats-server)");
    char conf[] = "/tmp/axon-nats-XXXXXX";
    int fd = mkstemp(conf);
    CHECK(fd >= 0);
    const char text[] = "max_payload: 4096\n";
    CHECK_EQ(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    setenv("AX_TEST_NATS_CONFIG", conf, 1);
    start_servers(1);
    unsetenv("AX_TEST_NATS_CONFIG");
    unlink(conf);
    struct pair p;
    pair_start(&p, 0);
    static char big[AX_MSG_MAX];
    size_t fits = 4096 - sizeof(struct wire_head) - sizeof(struct wire_entry);
    CHECK_RC(ax_send(p.rt2, p.echo, T_COUNT, big, fits + 1), AX_EMSGSIZE);
    CHECK_RC(ax_send(p.rt2, p.echo, T_COUNT, big, AX_MSG_MAX), AX_EMSGSIZE);
    CHECK_OK(ax_send(p.rt2, p.echo, T_COUNT, big, fits));
    WAIT_UNTIL(atomic_load(&g_counted) == 1);
    pair_stop(&p);
    nats_servers_stop(&g_servers);
}

/* A full window to a node refuses sends with AX_EFULL until acknowledgements come back; an ask
 * with no answer times out across nodes as it does here. */
static void test_window_and_timeout(void) {
    start_servers(1);
    struct pair p;
    pair_start(&p, 1); /* 1 KiB */
    static char payload[200];
    long sent = 0, full = 0;
    while (full == 0 && sent < 100000) {
        int rc = ax_send(p.rt2, p.echo, T_COUNT, payload, sizeof payload);
        if (rc == AX_EFULL) {
            full++;
        } else {
            CHECK_OK(rc);
            sent++;
        }
    }
    CHECK(full > 0);
    WAIT_UNTIL(atomic_load(&g_counted) == sent);
    WAIT_UNTIL(ax_send(p.rt2, p.echo, T_COUNT, NULL, 0) == 0); /* acknowledged: open again */
    WAIT_UNTIL(atomic_load(&g_counted) == sent + 1);
    ax_msg *reply;
    CHECK_RC(ax_ask_wait(p.rt2, p.echo, T_COUNT, NULL, 0, 100, &reply), AX_ETIMEDOUT);
    ax_remote_stats st;
    CHECK_OK(ax_remote_stats_get(p.r2, &st));
    CHECK_EQ(st.lost, 0);
    pair_stop(&p);
    nats_servers_stop(&g_servers);
}

/* Publishes bytes as any NATS client could; counts one. */
static int raw_publish(natsConnection *nc, const char *subject, const void *data, size_t len) {
    CHECK_EQ(natsConnection_Publish(nc, subject, data, (int)len), NATS_OK);
    return 1;
}

/* Bytes on axon's subjects that are not frames, heartbeats or answers it wrote are counted and
 * dropped; a well-formed frame from a node that sent nothing before is taken, and its message
 * to a stale ref refused. Nothing stops working. */
static void test_malformed_input(void) {
    start_servers(1);
    struct pair p;
    pair_start(&p, 0);
    natsConnection *nc;
    CHECK_EQ(natsConnection_ConnectTo(&nc, g_servers.url[0]), NATS_OK);
    char node1[64], hb[64];
    snprintf(node1, sizeof node1, "axon.%s.node.1", g_cluster);
    snprintf(hb, sizeof hb, "axon.%s.hb.9", g_cluster);
    unsigned char buf[512];
    memset(buf, 0xAB, sizeof buf);
    int garbage = 0;
    garbage += raw_publish(nc, node1, buf, 3);           /* short */
    garbage += raw_publish(nc, node1, buf, sizeof buf);  /* magic */
    struct wire_head h = {WIRE_FRAME_MAGIC, 9, FRAME_DATA, 77, 1, 0};
    struct wire_entry e = {p.echo.id, 0, T_COUNT, 60000, 0, 0, ENTRY_MSG, 0}; /* runs past */
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, &e, sizeof e);
    garbage += raw_publish(nc, node1, buf, sizeof h + sizeof e);
    h = (struct wire_head){WIRE_FRAME_MAGIC, 9, FRAME_ACK, 77, 5, 1000}; /* too many ranges */
    memcpy(buf, &h, sizeof h);
    garbage += raw_publish(nc, node1, buf, sizeof h);
    h = (struct wire_head){WIRE_FRAME_MAGIC, 0, FRAME_DATA, 77, 1, 0}; /* node 0 */
    memcpy(buf, &h, sizeof h);
    garbage += raw_publish(nc, node1, buf, sizeof h);
    garbage += raw_publish(nc, hb, buf, 5);
    struct wire_hb bad_hb = {WIRE_HB_MAGIC, 0, 0, 5};
    garbage += raw_publish(nc, hb, &bad_hb, sizeof bad_hb);
    /* Node 9, well formed: a message to echo and one to a stale ref, in frame 2 (frame 1 was
     * the overrun one, taken as lost). */
    h = (struct wire_head){WIRE_FRAME_MAGIC, 9, FRAME_DATA, 77, 2, 0};
    struct wire_entry ok = {p.echo.id, 0, T_COUNT, 0, 0, 0, ENTRY_MSG, 0};
    struct wire_entry stale = {p.echo.id ^ (1ull << 40), 0, T_COUNT, 0, 0, 0, ENTRY_MSG, 0};
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, &ok, sizeof ok);
    memcpy(buf + sizeof h + sizeof ok, &stale, sizeof stale);
    CHECK_EQ(natsConnection_Publish(nc, node1, buf, sizeof h + 2 * sizeof ok), NATS_OK);
    CHECK_EQ(natsConnection_Flush(nc), NATS_OK);
    ax_remote_stats st;
    WAIT_UNTIL(ax_remote_stats_get(p.r1, &st) == 0 &&
               st.malformed + st.refused_in >= (uint64_t)garbage + 1);
    CHECK_EQ(st.malformed, (uint64_t)garbage);
    CHECK_EQ(st.refused_in, 1);
    WAIT_UNTIL(atomic_load(&g_counted) == 1);
    CHECK_EQ(ask(p.rt2, p.echo, T_PING, 1), 2); /* still working */
    natsConnection_Destroy(nc);
    pair_stop(&p);
    nats_servers_stop(&g_servers);
}

/* Every call's errors, on a pair of nodes: bad arguments, names, a holder that does not answer,
 * calls from a handler, allocation failures, calls after leaving. */
static ax_remote *g_r;

static int misuser_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state, (void)m;
    ax_runtime *rt = ax_ctx_runtime(ctx);
    ax_remote *r;
    ax_ref ref;
    HCHECK(ax_remote_join(rt, NULL, &r) == AX_ECONTEXT);
    HCHECK(ax_remote_leave(g_r) == AX_ECONTEXT);
    HCHECK(ax_remote_wait_node(g_r, 1, 10) == AX_ECONTEXT);
    HCHECK(ax_remote_register(g_r, "x", ax_self(ctx)) == AX_ECONTEXT);
    HCHECK(ax_remote_unregister(g_r, "x") == AX_ECONTEXT);
    HCHECK(ax_remote_whereis(g_r, "x", 10, &ref) == AX_ECONTEXT);
    atomic_fetch_add(&g_done, 1);
    return 0;
}
static const ax_behavior misuser_behavior = {.name = "misuser", .receive = misuser_receive};

static void test_api_errors(void) {
    start_servers(1);
    struct pair p;
    pair_start(&p, 0);
    ax_ref ref, victim, stale = {p.echo.id ^ (1ull << 32)};
    g_r = p.r1;
    CHECK_OK(ax_spawn(p.rt1, &victim_behavior, NULL, NULL, &victim));
    /* Names: arguments, characters, lengths, a ref of another node, a stale one, taken. */
    char longest[AX_NAME_MAX + 2];
    memset(longest, 'n', sizeof longest);
    longest[AX_NAME_MAX + 1] = '\0';
    CHECK_RC(ax_remote_register(NULL, "a", p.echo), AX_EINVAL);
    CHECK_RC(ax_remote_register(p.r1, NULL, p.echo), AX_EINVAL);
    CHECK_RC(ax_remote_register(p.r1, "", p.echo), AX_ENAMETOOLONG);
    CHECK_RC(ax_remote_register(p.r1, "a.b", p.echo), AX_ENAMETOOLONG);
    CHECK_RC(ax_remote_register(p.r1, longest, p.echo), AX_ENAMETOOLONG);
    longest[AX_NAME_MAX] = '\0';
    CHECK_OK(ax_remote_register(p.r1, longest, victim)); /* the longest allowed */
    CHECK_RC(ax_remote_whereis(p.r2, longest, 2000, &ref), 0);
    CHECK(ax_ref_eq(ref, victim));
    CHECK_RC(ax_remote_register(p.r2, "e", p.echo), AX_EINVAL); /* echo is node 1's */
    CHECK_RC(ax_remote_register(p.r1, "e", stale), AX_ENOACTOR);
    CHECK_OK(ax_remote_register(p.r1, "e", p.echo));
    CHECK_RC(ax_remote_register(p.r1, "e2", p.echo), AX_EEXIST); /* echo has a name */
    CHECK_RC(ax_remote_register(p.r2, "e", p.echo), AX_EINVAL);
    remote_fault_on = 1;
    CHECK_RC(ax_remote_register(p.r1, "f", p.echo), AX_ENOMEM);
    ax_remote *r3;
    CHECK_RC(ax_remote_join(p.rt1, NULL, &r3), AX_ENOMEM);
    remote_fault_on = 0;
    CHECK_RC(ax_remote_unregister(NULL, "e"), AX_EINVAL);
    CHECK_RC(ax_remote_unregister(p.r1, "bad name"), AX_ENAMETOOLONG);
    CHECK_RC(ax_remote_unregister(p.r2, "e"), AX_ENOENT); /* held by node 1 */
    CHECK_OK(ax_remote_unregister(p.r1, "e"));
    CHECK_RC(ax_remote_unregister(p.r1, "e"), AX_ENOENT);
    CHECK_RC(ax_remote_whereis(p.r2, "e", 2000, &ref), AX_ENOENT);
    CHECK_RC(ax_remote_whereis(NULL, "e", 100, &ref), AX_EINVAL);
    CHECK_RC(ax_remote_whereis(p.r2, "e", 100, NULL), AX_EINVAL);
    CHECK_RC(ax_remote_whereis(p.r2, "", 100, &ref), AX_ENAMETOOLONG);
    /* A holder that does not answer in time: any NATS client subscribed on the name. */
    natsConnection *nc;
    natsSubscription *mute;
    char subject[96];
    snprintf(subject, sizeof subject, "axon.%s.name.mute", g_cluster);
    CHECK_EQ(natsConnection_ConnectTo(&nc, g_servers.url[0]), NATS_OK);
    CHECK_EQ(natsConnection_SubscribeSync(&mute, nc, subject), NATS_OK);
    CHECK_EQ(natsConnection_Flush(nc), NATS_OK);
    CHECK_RC(ax_remote_whereis(p.r2, "mute", 100, &ref), AX_ETIMEDOUT);
    natsSubscription_Destroy(mute);
    natsConnection_Destroy(nc);
    /* Waiting for nodes. */
    CHECK_RC(ax_remote_wait_node(NULL, 1, 10), AX_EINVAL);
    CHECK_RC(ax_remote_wait_node(p.r2, 0, 10), AX_EINVAL);
    CHECK_RC(ax_remote_wait_node(p.r2, AX_NODE_MAX + 1, 10), AX_EINVAL);
    CHECK_RC(ax_remote_wait_node(p.r2, 44, 50), AX_ETIMEDOUT);
    CHECK_RC(ax_remote_wait_node(p.r2, 1, INT64_MAX), 0);
    CHECK_EQ(ax_remote_node_up(p.r2, AX_NODE_MAX + 1), 0);
    /* From a handler. */
    ax_ref misuser;
    CHECK_OK(ax_spawn(p.rt1, &misuser_behavior, NULL, NULL, &misuser));
    CHECK_OK(ax_send(p.rt1, misuser, T_PING, NULL, 0));
    WAIT_UNTIL(atomic_load(&g_done) == 1);
    CHECK_EQ(check_handler_failures(), 0);
    CHECK_RC(ax_remote_stats_get(p.r1, NULL), AX_EINVAL);
    /* After leaving. */
    CHECK_OK(ax_remote_leave(p.r2));
    CHECK_RC(ax_remote_leave(p.r2), AX_ENOENT);
    CHECK_RC(ax_remote_register(p.r2, "late", misuser), AX_ENOENT);
    CHECK_RC(ax_remote_unregister(p.r2, "late"), AX_ENOENT);
    CHECK_RC(ax_remote_whereis(p.r2, "e", 100, &ref), AX_ENOENT);
    CHECK_RC(ax_remote_wait_node(p.r2, 1, 100), AX_ENOENT);
    CHECK_RC(ax_send(p.rt2, p.echo, T_COUNT, NULL, 0), AX_ENOACTOR);
    /* A runtime shutting down cannot join; nor one whose server refuses its credentials. */
    ax_runtime *rt3;
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 1, .node = 3}, &rt3));
    const char *urls[] = {g_servers.url[0]};
    ax_remote_config c = {.cluster = g_cluster, .servers = urls, .nservers = 1,
                          .creds_file = "/nonexistent/axon.creds"};
    CHECK_RC(ax_remote_join(rt3, &c, &r3), AX_ENOTSUP);
    c.creds_file = NULL;
    CHECK_OK(ax_runtime_shutdown(rt3, 0));
    CHECK_RC(ax_remote_join(rt3, &c, &r3), AX_ESHUTDOWN);
    CHECK_OK(ax_runtime_destroy(rt3));
    pair_stop(&p);
    nats_servers_stop(&g_servers);
}

/* ---- misuse ------------------------------------------------------------------------------ */

static void test_join_misuse(void) {
    ax_runtime *rt;
    ax_remote *r;
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 1}, &rt));
    CHECK_RC(ax_remote_join(rt, NULL, &r), AX_EINVAL); /* node 0 */
    CHECK_RC(ax_remote_join(NULL, NULL, &r), AX_EINVAL);
    CHECK_OK(ax_runtime_destroy(rt));
    CHECK_RC(ax_runtime_create(&(ax_config){.node = AX_NODE_MAX + 1}, &rt), AX_EINVAL);
    CHECK_RC(ax_runtime_create(&(ax_config){.node = -1}, &rt), AX_EINVAL);
    CHECK_OK(ax_runtime_create(&(ax_config){.workers = 1, .node = AX_NODE_MAX}, &rt));
    CHECK_EQ(ax_runtime_node(rt), AX_NODE_MAX);
    ax_remote_config bad[] = {{.cluster = ""}, {.cluster = "a.b"}, {.heartbeat_ms = 5},
                              {.heartbeat_ms = 100, .down_after_ms = 150}, {.nservers = 1},
                              {.window_kib = -1}, {.reserved = {1}}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_RC(ax_remote_join(rt, &bad[i], &r), AX_EINVAL);
    /* No server there: the connection times out. */
    const char *url[] = {"nats://127.0.0.1:1"};
    ax_remote_config nowhere = {.servers = url, .nservers = 1, .connect_timeout_ms = 200};
    CHECK_RC(ax_remote_join(rt, &nowhere, &r), AX_ETIMEDOUT);
    ax_ref self_ref;
    CHECK_OK(ax_spawn(rt, &victim_behavior, NULL, NULL, &self_ref));
    CHECK_EQ(ax_ref_node(self_ref), AX_NODE_MAX);
    /* With no transport, a ref of another node is simply not alive. */
    CHECK_EQ(ax_send(rt, (ax_ref){self_ref.id & ((1ull << 52) - 1)}, T_COUNT, NULL, 0),
             AX_ENOACTOR);
    CHECK_OK(ax_runtime_destroy(rt));
    CHECK_RC(ax_remote_leave(NULL), AX_EINVAL);
    CHECK_RC(ax_remote_stats_get(NULL, NULL), AX_EINVAL);
    CHECK_EQ(ax_remote_node_up(NULL, 1), 0);
}

TEST_MAIN(TEST_CASE(test_join_misuse), TEST_CASE(test_api_errors), TEST_CASE(test_max_payload),
          TEST_CASE(test_window_and_timeout), TEST_CASE(test_malformed_input),
          TEST_CASE(test_two_nodes),
          TEST_CASE(test_three_nodes_three_servers), TEST_CASE(test_node_killed),
          TEST_CASE(test_server_killed_accounting))
