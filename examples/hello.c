/* SPDX-License-Identifier: MIT */
/* hello.c: the README example: spawn an actor, send it messages, ask it a question from main(),
 * and shut down. Build: make; run: build/release/examples/example_hello */
#include <axon.h>
#include <stdio.h>
#include <string.h>

enum { MSG_ADD = 1, MSG_GET = 2, MSG_TOTAL = 3 };

typedef struct { long total; } counter;

static int counter_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    counter *c = state;
    long v;
    switch (msg->type) {
    case MSG_ADD: memcpy(&v, msg->data, sizeof v); c->total += v; return 0;
    case MSG_GET: return ax_reply(ctx, MSG_TOTAL, &c->total, sizeof c->total);
    default: return 0;
    }
}

static const ax_behavior counter_behavior = {"counter", sizeof(counter), NULL, counter_receive, NULL};

int main(void) {
    ax_runtime *rt;
    ax_ref c;
    if (ax_runtime_create(NULL, &rt) != 0) return 1;
    ax_spawn(rt, &counter_behavior, NULL, NULL, &c);
    for (long i = 1; i <= 100; i++) ax_send(rt, c, MSG_ADD, &i, sizeof i);
    ax_msg *reply;
    int rc = ax_ask_wait(rt, c, MSG_GET, NULL, 0, 1000, &reply);
    if (rc != 0) { fprintf(stderr, "ask: %s\n", ax_strerror(rc)); return 1; }
    long total;
    memcpy(&total, reply->data, sizeof total);
    printf("total = %ld\n", total); /* 5050: one sender's messages arrive in order */
    ax_msg_free(rt, reply);
    ax_runtime_shutdown(rt, 1000);
    return ax_runtime_destroy(rt) == 0 && total == 5050 ? 0 : 1;
}
