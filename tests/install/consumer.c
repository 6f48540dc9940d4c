/* SPDX-License-Identifier: MIT */
/* consumer.c: a program built against an installed axon (tests/install/run.sh builds it with
 * pkg-config and with find_package): one actor adds up sends, an ask reads the sum; prints ok. */
#include <axon.h>
#include <stdio.h>
#include <string.h>

enum { MSG_ADD = 1, MSG_GET = 2, MSG_SUM = 3 };

static int counter_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    int64_t *sum = state, v;
    if (msg->type == MSG_ADD && msg->size == sizeof v) {
        memcpy(&v, msg->data, sizeof v);
        *sum += v;
        return 0;
    }
    if (msg->type == MSG_GET) return ax_reply(ctx, MSG_SUM, sum, sizeof *sum);
    return 1;
}

static const ax_behavior counter = {
    .name = "counter", .state_size = sizeof(int64_t), .receive = counter_receive};

static int fail(const char *what, int rc) {
    fprintf(stderr, "consumer: %s: %s\n", what, ax_strerror(rc));
    return 1;
}

int main(void) {
    ax_config cfg = {.workers = 2};
    ax_runtime *rt = NULL;
    ax_ref ref = AX_REF_NONE;
    ax_msg *reply = NULL;
    int64_t v = 41, sum = 0;
    int rc;
    if ((rc = ax_runtime_create(&cfg, &rt)) != 0) return fail("ax_runtime_create", rc);
    if ((rc = ax_spawn(rt, &counter, NULL, NULL, &ref)) != 0) return fail("ax_spawn", rc);
    if ((rc = ax_send(rt, ref, MSG_ADD, &v, sizeof v)) != 0) return fail("ax_send", rc);
    v = 1;
    if ((rc = ax_send(rt, ref, MSG_ADD, &v, sizeof v)) != 0) return fail("ax_send", rc);
    if ((rc = ax_ask_wait(rt, ref, MSG_GET, NULL, 0, 10000, &reply)) != 0)
        return fail("ax_ask_wait", rc);
    if (reply->type != MSG_SUM || reply->size != sizeof sum) {
        fprintf(stderr, "consumer: bad reply (type %u, size %u)\n", reply->type, reply->size);
        return 1;
    }
    memcpy(&sum, reply->data, sizeof sum);
    ax_msg_free(rt, reply);
    if (sum != 42) {
        fprintf(stderr, "consumer: sum %lld, expected 42\n", (long long)sum);
        return 1;
    }
    if ((rc = ax_runtime_shutdown(rt, 10000)) != 0) return fail("ax_runtime_shutdown", rc);
    if ((rc = ax_runtime_destroy(rt)) != 0) return fail("ax_runtime_destroy", rc);
    puts("ok");
    return 0;
}
