/* SPDX-License-Identifier: MIT */
/* test_topology.c: the machine description (src/sched/topology.c): the injected text format
 * (2 nodes x 4 cores, malformed texts), sysfs detection on this machine and on fake trees with
 * files missing, the steal order of pinned workers, and runtimes pinned under AX_TOPOLOGY. */
#include "sched/topology.h"

#include <errno.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actor/runtime.h"
#include "check.h"
#include "fixture.h"
#include "runner.h"

static const char *const TWO_NODES = "0-3:0:0,4-7:1:1";

static struct topology *topo_new(void) {
    struct topology *t = malloc(sizeof *t);
    CHECK(t != NULL);
    memset(t, 0xA5, sizeof *t); /* garbage: every field read must have been written */
    return t;
}

/* ---- the text format ------------------------------------------------------------------------ */

static void test_parse_two_nodes(void) {
    struct topology *t = topo_new();
    CHECK_OK(topology_parse(t, TWO_NODES));
    CHECK_EQ(t->ncpu, 8);
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(t->cpu[i].id, i);
        CHECK_EQ(t->cpu[i].core, i); /* each CPU its own core */
        CHECK_EQ(t->cpu[i].llc, i < 4 ? 0 : 1);
        CHECK_EQ(t->cpu[i].node, i < 4 ? 0 : 1);
        CHECK_EQ(topology_find(t, i), i);
    }
    CHECK_EQ(topology_find(t, 8), -1);
    char buf[64];
    CHECK_EQ(topology_format(t, buf, sizeof buf), strlen(TWO_NODES));
    CHECK(strcmp(buf, TWO_NODES) == 0);
    CHECK_EQ(topology_format(t, buf, 8), -ENOSPC);

    /* Entries in any order, single CPUs, gaps, a whole cpu_set_t. */
    CHECK_OK(topology_parse(t, "9:5:1,2:0:0,3-4:0:0"));
    CHECK_EQ(t->ncpu, 4);
    CHECK_EQ(t->cpu[0].id, 2);
    CHECK_EQ(t->cpu[2].id, 4);
    CHECK_EQ(t->cpu[3].id, 9);
    CHECK_EQ(t->cpu[3].llc, 5);
    CHECK_EQ(t->cpu[3].node, 1);
    CHECK_EQ(topology_format(t, buf, sizeof buf), strlen("2-4:0:0,9:5:1"));
    CHECK(strcmp(buf, "2-4:0:0,9:5:1") == 0);
    CHECK_OK(topology_parse(t, "0-1023:1023:1023"));
    CHECK_EQ(t->ncpu, TOPO_MAX_CPUS);
    CHECK_EQ(t->cpu[1023].id, 1023);
    CHECK_EQ(t->cpu[1023].node, 1023);
    free(t);
}

static void test_parse_malformed(void) {
    static const char *const bad[] = {
        "", "nodes=2 llc_per_node=1 cores_per_llc=4", "nodes=4294967296", "0-3", "0-3:0",
        "0-3:0:", "0-3:0:0,", ",0-3:0:0", "0-3:0:0,,4:1:1", "3-0:0:0", "0-3:0:0,2:1:1",
        "0:0:0,0:0:0", "4294967296:0:0", "0:4294967296:0", "0:0:4294967296",
        "0-4294967295:0:0", "0:0:99999999999999999999999999999999", "1024:0:0", "0-1024:0:0",
        "0:1024:0", "0:0:1024", "-1:0:0", "+1:0:0", "0 :0:0", " 0:0:0", "0:0:0 ", "0:0:0\n",
        "0:0:0:0", "0-:0:0", "0--1:0:0", "0-1-2:0:0", "a:b:c", "0x1:0:0", "0:0:0;1:0:0",
        "0-3:0:0 4-7:1:1",
    };
    struct topology *t = topo_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = topology_parse(t, bad[i]);
        if (rc != -EINVAL) {
            fprintf(stderr, "accepted (%d): \"%s\"\n", rc, bad[i]);
            CHECK_EQ(rc, -EINVAL);
        }
    }
    CHECK_EQ(topology_parse(t, NULL), -EINVAL);
    /* A long text of a million digits: no overflow, no slowness. */
    size_t n = 1000000;
    char *big = malloc(n + 1);
    CHECK(big != NULL);
    memset(big, '9', n);
    big[n] = '\0';
    CHECK_EQ(topology_parse(t, big), -EINVAL);
    free(big);
    free(t);
}

/* ---- the steal order ------------------------------------------------------------------------ */

/* Sorted ascending (topology_steal_order's order within a class)? */
static void check_class(const uint16_t *v, int lo, int hi, const int *want, int nwant) {
    CHECK_EQ(hi - lo, nwant);
    for (int k = 0; k < nwant; k++) CHECK_EQ(v[lo + k], want[k]);
}

static void test_steal_order_two_nodes(void) {
    struct topology *t = topo_new();
    CHECK_OK(topology_parse(t, TWO_NODES));
    uint16_t v[7], end[TOPO_CLASSES];
    for (int i = 0; i < 8; i++) {
        topology_steal_order(t, 8, i, v, end);
        /* its 3 LLC-mates first, no one else on its node, then the other node's 4 */
        int mates[3], others[4], nm = 0, no = 0;
        for (int j = 0; j < 8; j++) {
            if (j == i) continue;
            if (j / 4 == i / 4) mates[nm++] = j;
            else others[no++] = j;
        }
        check_class(v, 0, end[TOPO_CLASS_LLC], mates, 3);
        check_class(v, end[TOPO_CLASS_LLC], end[TOPO_CLASS_NODE], NULL, 0);
        check_class(v, end[TOPO_CLASS_NODE], end[TOPO_CLASS_REST], others, 4);
    }

    /* Two LLCs per node: the node class between them. Worker 0: 1, then 2-3, then 4-7. */
    CHECK_OK(topology_parse(t, "0-1:0:0,2-3:2:0,4-5:4:1,6-7:6:1"));
    topology_steal_order(t, 8, 0, v, end);
    check_class(v, 0, end[0], (int[]){1}, 1);
    check_class(v, end[0], end[1], (int[]){2, 3}, 2);
    check_class(v, end[1], end[2], (int[]){4, 5, 6, 7}, 4);
    topology_steal_order(t, 8, 6, v, end);
    check_class(v, 0, end[0], (int[]){7}, 1);
    check_class(v, end[0], end[1], (int[]){4, 5}, 2);
    check_class(v, end[1], end[2], (int[]){0, 1, 2, 3}, 4);

    /* More workers than CPUs: worker 8 shares CPU 0 with worker 0, the nearest victim. */
    CHECK_OK(topology_parse(t, TWO_NODES));
    uint16_t v16[15];
    topology_steal_order(t, 16, 0, v16, end);
    check_class(v16, 0, end[0], (int[]){1, 2, 3, 8, 9, 10, 11}, 7);
    check_class(v16, end[1], end[2], (int[]){4, 5, 6, 7, 12, 13, 14, 15}, 8);

    /* Not pinned: one class, every other worker. One worker: no victim. */
    topology_steal_order(NULL, 8, 3, v, end);
    CHECK_EQ(end[0], 0);
    CHECK_EQ(end[1], 0);
    check_class(v, 0, end[2], (int[]){0, 1, 2, 4, 5, 6, 7}, 7);
    topology_steal_order(t, 1, 0, v, end);
    CHECK_EQ(end[TOPO_CLASS_REST], 0);
    free(t);
}

/* ---- sysfs ---------------------------------------------------------------------------------- */

/* What every description must satisfy: CPUs ascending (so each once), ids in range, a core's
 * CPUs share its cache and node, and group names are CPUs at or below their members. */
static void check_consistent(const struct topology *t) {
    CHECK(t->ncpu >= 1 && t->ncpu <= TOPO_MAX_CPUS);
    for (int i = 0; i < t->ncpu; i++) {
        const struct topo_cpu *c = &t->cpu[i];
        if (i > 0) CHECK(c->id > t->cpu[i - 1].id);
        CHECK(c->id < TOPO_MAX_CPUS && c->node < TOPO_MAX_CPUS);
        CHECK(c->core <= c->id && c->llc <= c->id);
        int k = topology_find(t, c->core);
        if (k >= 0) {
            CHECK_EQ(t->cpu[k].llc, c->llc);
            CHECK_EQ(t->cpu[k].node, c->node);
        }
    }
}

static void test_sysfs_this_machine(void) {
    struct topology *t = topo_new();
    topology_detect(t, "/sys/devices/system");
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK_EQ(t->ncpu, online < TOPO_MAX_CPUS ? online : TOPO_MAX_CPUS);
    check_consistent(t);
    char buf[8192];
    CHECK(topology_format(t, buf, sizeof buf) > 0);
    fprintf(stderr, "  this machine: %s\n", buf);
    /* The text form describes the same caches and nodes. */
    struct topology *u = topo_new();
    CHECK_OK(topology_parse(u, buf));
    CHECK_EQ(u->ncpu, t->ncpu);
    for (int i = 0; i < t->ncpu; i++) {
        CHECK_EQ(u->cpu[i].id, t->cpu[i].id);
        CHECK_EQ(u->cpu[i].llc, t->cpu[i].llc);
        CHECK_EQ(u->cpu[i].node, t->cpu[i].node);
    }
    free(u);
    free(t);
}

static char tree[64];

static void put(const char *rel, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tree, rel);
    for (char *p = path + strlen(tree) + 1; *p; p++) { /* mkdir -p of the parents */
        if (*p != '/') continue;
        *p = '\0';
        CHECK(mkdir(path, 0755) == 0 || errno == EEXIST);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void tree_new(void) {
    snprintf(tree, sizeof tree, "/tmp/ax_topology_XXXXXX");
    CHECK(mkdtemp(tree) != NULL);
}

static void tree_remove(void) { nftw(tree, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static void check_cpu(const struct topology *t, int id, int core, int llc, int node) {
    int k = topology_find(t, id);
    CHECK(k >= 0);
    CHECK_EQ(t->cpu[k].core, core);
    CHECK_EQ(t->cpu[k].llc, llc);
    CHECK_EQ(t->cpu[k].node, node);
}

/* A fake /sys/devices/system: 4 CPUs on 2 nodes, CPUs 0-1 SMT siblings, an L3 per node listed
 * before a private L2 (the largest level wins, not the last index). */
static void fake_machine(bool caches) {
    put("cpu/online", "0-3\n");
    for (int c = 0; c < 4; c++) {
        char rel[128], text[32];
        snprintf(rel, sizeof rel, "cpu/cpu%d/topology/core_cpus_list", c);
        put(rel, c < 2 ? "0-1\n" : (c == 2 ? "2\n" : "3\n"));
        if (!caches) continue;
        snprintf(text, sizeof text, "%d\n", c);
        snprintf(rel, sizeof rel, "cpu/cpu%d/cache/index0/level", c);
        put(rel, "1\n");
        snprintf(rel, sizeof rel, "cpu/cpu%d/cache/index0/shared_cpu_list", c);
        put(rel, text);
        snprintf(rel, sizeof rel, "cpu/cpu%d/cache/index1/level", c);
        put(rel, "3\n");
        snprintf(rel, sizeof rel, "cpu/cpu%d/cache/index1/shared_cpu_list", c);
        put(rel, c < 2 ? "0-1\n" : "2-3\n");
        snprintf(rel, sizeof rel, "cpu/cpu%d/cache/index2/level", c);
        put(rel, "2\n");
        snprintf(rel, sizeof rel, "cpu/cpu%d/cache/index2/shared_cpu_list", c);
        put(rel, text);
    }
    put("node/node0/cpulist", "0-1\n");
    put("node/node1/cpulist", "2-3\n");
    put("node/node2/cpulist", "\n"); /* memory only */
    put("node/possible", "0-2\n");
}

static void test_sysfs_fake_trees(void) {
    struct topology *t = topo_new();
    tree_new();
    fake_machine(true);
    topology_detect(t, tree);
    CHECK_EQ(t->ncpu, 4);
    check_consistent(t);
    check_cpu(t, 0, 0, 0, 0);
    check_cpu(t, 1, 0, 0, 0);
    check_cpu(t, 2, 2, 2, 1);
    check_cpu(t, 3, 3, 2, 1);
    tree_remove();

    /* No cache files: one LLC per node. */
    tree_new();
    fake_machine(false);
    topology_detect(t, tree);
    CHECK_EQ(t->ncpu, 4);
    check_consistent(t);
    check_cpu(t, 1, 0, 0, 0);
    check_cpu(t, 3, 3, 2, 1);

    /* CPU 1 offline; a garbled node list is skipped (its CPUs stay on node 0). */
    put("cpu/online", "0,2-3\n");
    put("node/node1/cpulist", "2-x\n");
    topology_detect(t, tree);
    CHECK_EQ(t->ncpu, 3);
    CHECK_EQ(topology_find(t, 1), -1);
    check_cpu(t, 2, 2, 0, 0);
    tree_remove();

    /* Nothing at all (or a garbled CPU list): the online CPUs, one group, one node. */
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int want = online < TOPO_MAX_CPUS ? (int)online : TOPO_MAX_CPUS;
    tree_new();
    for (int round = 0; round < 2; round++) {
        if (round == 1) put("cpu/online", "0-\n");
        topology_detect(t, tree);
        CHECK_EQ(t->ncpu, want);
        check_consistent(t);
        for (int i = 0; i < t->ncpu; i++) {
            CHECK_EQ(t->cpu[i].id, i);
            CHECK_EQ(t->cpu[i].core, i);
            CHECK_EQ(t->cpu[i].llc, 0);
            CHECK_EQ(t->cpu[i].node, 0);
        }
    }
    tree_remove();
    topology_detect(t, "/nonexistent/path");
    CHECK_EQ(t->ncpu, want);
    free(t);
}

static void test_load_env(void) {
    struct topology *t = topo_new(), *sys = topo_new();
    topology_detect(sys, "/sys/devices/system");
    CHECK_OK(setenv("AX_TOPOLOGY", TWO_NODES, 1));
    CHECK_EQ(topology_load(t), 1);
    CHECK_EQ(t->ncpu, 8);
    CHECK_EQ(t->cpu[5].llc, 1);
    /* Malformed: ignored, sysfs instead. */
    CHECK_OK(setenv("AX_TOPOLOGY", "nodes=4294967296", 1));
    CHECK_EQ(topology_load(t), 0);
    CHECK_EQ(t->ncpu, sys->ncpu);
    CHECK(memcmp(t->cpu, sys->cpu, sizeof t->cpu[0] * (size_t)t->ncpu) == 0);
    CHECK_OK(unsetenv("AX_TOPOLOGY"));
    CHECK_EQ(topology_load(t), 0);
    CHECK_EQ(t->ncpu, sys->ncpu);
    free(sys);
    free(t);
}

/* ---- runtimes pinned under an injected topology -------------------------------------------- */

static atomic_long received;

static int count_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx, (void)state, (void)msg;
    atomic_fetch_add(&received, 1);
    return 0;
}

static const ax_behavior counter = {.name = "counter", .receive = count_receive};

static atomic_long summed;

static int sum_body(int64_t lo, int64_t hi, void *arg) {
    (void)arg;
    long s = 0;
    for (int64_t i = lo; i < hi; i++) s += (long)i;
    atomic_fetch_add(&summed, s);
    return 0;
}

static int sum_root(void *arg) { return ax_parallel_for(0, *(int64_t *)arg, sum_body, NULL); }

/* Messages to a few actors from outside, and a parallel loop (join frames stolen through the
 * same orders), must all be handled. */
static void run_some_work(ax_runtime *rt) {
    enum { ACTORS = 8, PER_ACTOR = 5000 };
    ax_ref refs[ACTORS];
    atomic_store(&received, 0);
    for (int a = 0; a < ACTORS; a++) CHECK_OK(ax_spawn(rt, &counter, NULL, NULL, &refs[a]));
    for (int k = 0; k < PER_ACTOR; k++)
        for (int a = 0; a < ACTORS; a++) {
            int rc;
            while ((rc = ax_send(rt, refs[a], 1, &k, sizeof k)) == AX_EFULL) check_sleep_us(50);
            CHECK_OK(rc);
        }
    WAIT_ATOMIC(received, (long)ACTORS * PER_ACTOR);
    int64_t n = 2000000;
    atomic_store(&summed, 0);
    CHECK_OK(ax_par_run(rt, sum_root, &n));
    CHECK_EQ(atomic_load(&summed), n * (n - 1) / 2);
}

/* The order worker i got from the runtime: class by class. */
static void check_worker_order(ax_runtime *rt, int i, const int *llc, int nllc, const int *rest,
                               int nrest) {
    const struct sched_worker *w = &rt->sched.workers[i];
    check_class(w->victims, 0, w->victim_end[TOPO_CLASS_LLC], llc, nllc);
    check_class(w->victims, w->victim_end[TOPO_CLASS_LLC], w->victim_end[TOPO_CLASS_NODE], NULL,
                0);
    check_class(w->victims, w->victim_end[TOPO_CLASS_NODE], w->victim_end[TOPO_CLASS_REST], rest,
                nrest);
}

static void test_runtime_pinned_injected(void) {
    CHECK_OK(setenv("AX_TOPOLOGY", TWO_NODES, 1));
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 2, .pin = 1});
    check_worker_order(rt, 0, (int[]){1}, 1, NULL, 0);
    check_worker_order(rt, 1, (int[]){0}, 1, NULL, 0);
    run_some_work(rt);
    fixture_shutdown(rt);
    fixture_destroy(rt);

    /* 8 workers on this machine's CPUs, ordered as on the fake one. */
    rt = fixture_runtime_cfg(&(ax_config){.workers = 8, .pin = 1});
    check_worker_order(rt, 0, (int[]){1, 2, 3}, 3, (int[]){4, 5, 6, 7}, 4);
    check_worker_order(rt, 5, (int[]){4, 6, 7}, 3, (int[]){0, 1, 2, 3}, 4);
    run_some_work(rt);
    fixture_shutdown(rt);
    fixture_destroy(rt);
}

static void test_runtime_unpinned_or_malformed(void) {
    /* Not pinned: the injected description is not even read; one class of every other worker. */
    CHECK_OK(setenv("AX_TOPOLOGY", TWO_NODES, 1));
    ax_runtime *rt = fixture_runtime_cfg(&(ax_config){.workers = 4});
    check_class(rt->sched.workers[2].victims, 0, rt->sched.workers[2].victim_end[TOPO_CLASS_REST],
                (int[]){0, 1, 3}, 3);
    CHECK_EQ(rt->sched.workers[2].victim_end[TOPO_CLASS_NODE], 0);
    run_some_work(rt);
    fixture_destroy(rt);

    /* Pinned with a malformed description: sysfs is used, the runtime runs. */
    CHECK_OK(setenv("AX_TOPOLOGY", "0-3:0:0,4-7:1", 1));
    rt = fixture_runtime_cfg(&(ax_config){.workers = 2, .pin = 1});
    const struct sched_worker *w = &rt->sched.workers[0];
    CHECK_EQ(w->victim_end[TOPO_CLASS_REST], 1);
    CHECK_EQ(w->victims[0], 1);
    run_some_work(rt);
    fixture_destroy(rt);
}

TEST_MAIN(TEST_CASE(test_parse_two_nodes), TEST_CASE(test_parse_malformed),
          TEST_CASE(test_steal_order_two_nodes), TEST_CASE(test_sysfs_this_machine),
          TEST_CASE(test_sysfs_fake_trees), TEST_CASE(test_load_env),
          TEST_CASE(test_runtime_pinned_injected), TEST_CASE(test_runtime_unpinned_or_malformed))
