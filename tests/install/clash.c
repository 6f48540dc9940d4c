/* SPDX-License-Identifier: MIT */
/* clash.c: a program whose own functions carry the names of axon's internal ones. It links
 * against either library only because those are hidden (local in libaxon.a, unexported from
 * libaxon.so); run.sh builds it both ways. Prints "ok". */
#include <axon.h>
#include <stdio.h>

int pool_alloc(void);
int timer_init(void);
int registry_create(void);
int sched_init(void);
int deque_steal(void);
int pool_alloc(void) { return 1; }
int timer_init(void) { return 2; }
int registry_create(void) { return 3; }
int sched_init(void) { return 4; }
int deque_steal(void) { return 5; }

int main(void) {
    ax_runtime *rt;
    if (ax_runtime_create(&(ax_config){.workers = 1}, &rt) != 0) return 1;
    int ours = pool_alloc() + timer_init() + registry_create() + sched_init() + deque_steal();
    if (ax_runtime_destroy(rt) != 0) return 1;
    puts(ours == 15 ? "ok" : "wrong functions called");
    return 0;
}
