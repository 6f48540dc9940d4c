/* SPDX-License-Identifier: MIT */
/* remote_consumer.c: a program linking the installed axon_remote beside libaxon (the guide's
 * "Several machines" link line): it joins, finds no server on port 1, and prints ok. */
#include <axon.h>
#include <axon_remote.h>
#include <stdio.h>

int main(void) {
    ax_runtime *rt;
    ax_remote *node;
    if (ax_runtime_create(&(ax_config){.workers = 1, .node = 1}, &rt) != 0) return 1;
    const char *url[] = {"nats://127.0.0.1:1"};
    ax_remote_config c = {.servers = url, .nservers = 1, .connect_timeout_ms = 100};
    int rc = ax_remote_join(rt, &c, &node);
    if (ax_runtime_destroy(rt) != 0 || rc != AX_ETIMEDOUT) {
        fprintf(stderr, "remote consumer: join: %s\n", ax_strerror(rc));
        return 1;
    }
    puts("ok");
    return 0;
}
