/* SPDX-License-Identifier: MIT */
/* topology.h: the machine as the scheduler sees it (each online CPU's core, last-level-cache group
 * and NUMA node, read from sysfs or injected as text) and the steal order of pinned workers. */
#ifndef AX_SCHED_TOPOLOGY_H
#define AX_SCHED_TOPOLOGY_H

#include <stdint.h>

/* CPU ids at or above this are not described (cpu_set_t, through which workers are pinned, holds
 * no more); group and node ids are below it too. */
#define TOPO_MAX_CPUS 1024

/* The classes of a worker's victims, nearest first. */
enum { TOPO_CLASS_LLC, TOPO_CLASS_NODE, TOPO_CLASS_REST, TOPO_CLASSES };

struct topo_cpu {
    uint16_t id;   /* the CPU number (as in cpuN, sched_setaffinity) */
    uint16_t core; /* its core: the lowest CPU of the core (SMT siblings share it) */
    uint16_t llc;  /* its last-level cache: the lowest CPU sharing its largest cache */
    uint16_t node; /* its NUMA node */
};

/* A description: ncpu CPUs, ascending by id, each described once. About 8 KB: keep it off small
 * stacks (the scheduler allocates it at init and frees it once the steal orders are built). */
struct topology {
    int ncpu;
    struct topo_cpu cpu[TOPO_MAX_CPUS];
};

/* The injected description, one entry per group of consecutive CPUs, comma-separated:
 *     CPUS:LLC:NODE[,CPUS:LLC:NODE...]     CPUS is N or N-M (M >= N)
 * e.g. "0-3:0:0,4-7:1:1" is 2 nodes of 4 CPUs, one LLC each. Each CPU is its own core; every
 * number is decimal and below TOPO_MAX_CPUS; a CPU may be listed once; no spaces. Returns 0, or
 * -EINVAL (t is then unspecified). */
int topology_parse(struct topology *t, const char *text);

/* Writes t in the format topology_parse reads (ranges merged), NUL-terminated. Returns the
 * length, or -ENOSPC if cap is too small. */
int topology_format(const struct topology *t, char *buf, int cap);

/* Reads the machine from sysfs under root ("/sys/devices/system": cpu/online,
 * cpu/cpuN/topology/{core_id,physical_package_id}, cpu/cpuN/cache/indexK/{level,shared_cpu_list},
 * node/nodeN/cpulist). Never fails: without the CPU list, CPUs 0..online-1; without cache
 * files, one LLC per node; without node files, one node. */
void topology_detect(struct topology *t, const char *root);

/* What the scheduler uses: AX_TOPOLOGY if it is set and parses (tests: a fake machine), else
 * sysfs. Returns 1 if the environment's description was taken, 0 for sysfs. */
int topology_load(struct topology *t);

/* The index of CPU id in t, or -1 if t does not describe it. */
int topology_find(const struct topology *t, int id);

/* The steal order of worker i of n, each worker w placed on t's CPU (w mod t->ncpu), as pinning
 * places it: the n-1 other workers into victims, those sharing its LLC first, then its node,
 * then the rest, ascending by index within a class; end[c] is where class c ends in victims.
 * t NULL (workers not pinned): every other worker in TOPO_CLASS_REST. */
void topology_steal_order(const struct topology *t, int n, int i, uint16_t *victims,
                          uint16_t end[TOPO_CLASSES]);

#endif
