/* SPDX-License-Identifier: MIT */
/* remote_ping.c: two nodes over NATS: node 1 serves "pong" under a cluster-wide name; node 2
 * finds it, asks it, and monitors it, and hears DOWN (node down) when node 1 goes away.
 * Run (docs/guide.md, "Several machines"): nats-server &
 *   build/release/examples/example_remote_ping serve [nats-url] &
 *   build/release/examples/example_remote_ping ping [nats-url] */
#define _DEFAULT_SOURCE /* usleep */
#include <axon.h>
#include <axon_remote.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { PING = 1, PONG, WATCH };

static int pong(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state;
    return m->type == PING ? ax_reply(ctx, PONG, m->data, m->size) : 0;
}

static atomic_int down_seen; /* set by the watcher, read by main */
static int watcher(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state;
    ax_monitor_id mon;
    if (m->type == WATCH) return ax_monitor(ctx, *(const ax_ref *)m->data, &mon);
    if (m->type == AX_MSG_DOWN) { /* the reason says why: here node 1 went down */
        printf("DOWN: %s\n", ((const ax_down *)m->data)->reason == AX_REASON_NODEDOWN
                                 ? "node down" : "actor stopped");
        atomic_store(&down_seen, 1);
    }
    return 0;
}

int main(int argc, char **argv) {
    int serving = argc > 1 && strcmp(argv[1], "serve") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0); /* a line at a time, also into a pipe */
    const char *url = argc > 2 ? argv[2] : "nats://127.0.0.1:4222";
    ax_runtime *rt;
    ax_remote *node;
    ax_ref me, them;
    ax_config cfg = {.node = serving ? 1 : 2}; /* unique in the cluster: it is in every ref */
    ax_remote_config rc = {.cluster = "demo", .servers = &url, .nservers = 1};
    if (ax_runtime_create(&cfg, &rt) || ax_remote_join(rt, &rc, &node)) return 1;
    if (serving) {
        static const ax_behavior b = {.name = "pong", .receive = pong};
        if (ax_spawn(rt, &b, NULL, NULL, &me) || ax_remote_register(node, "pong", me)) return 1;
        printf("node 1: pong registered; stop me with ^C\n");
        pause();
    }
    while (ax_remote_whereis(node, "pong", 1000, &them) != 0) sleep(1); /* wait for node 1 */
    ax_msg *reply;
    int x = 41;
    if (ax_ask_wait(rt, them, PING, &x, sizeof x, 1000, &reply) == 0) {
        printf("node 2: pong on node %u answered %d\n", ax_ref_node(them), *(int *)reply->data);
        ax_msg_free(rt, reply);
    }
    static const ax_behavior w = {.name = "watcher", .receive = watcher};
    if (ax_spawn(rt, &w, NULL, NULL, &me) || ax_send(rt, me, WATCH, &them, sizeof them)) return 1;
    printf("node 2: watching pong; stop node 1 to see DOWN\n");
    while (!atomic_load(&down_seen)) usleep(10000);
    return ax_runtime_destroy(rt);
}
