/* SPDX-License-Identifier: MIT */
/* topology.c: the machine's CPUs, caches and NUMA nodes, from sysfs or an injected text, and the
 * victim order of pinned workers derived from them. Runs at scheduler init only: no hot path.
 *
 * sysfs rather than hwloc: the three facts the steal order needs (core, last-level-cache group,
 * node) are a few small files on any Linux the runtime runs on, whereas hwloc is a dependency
 * (and a second code path) for the same answer. Every missing file has a fallback, so a
 * container with a partial /sys still gets a description (at worst one group, one node). */
#include "sched/topology.h"

#include "mem/fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A set of CPU ids below TOPO_MAX_CPUS. */
struct cpuset {
    uint64_t bits[TOPO_MAX_CPUS / 64];
};

static void set_add(struct cpuset *s, unsigned c) { s->bits[c / 64] |= 1ull << (c % 64); }
static bool set_has(const struct cpuset *s, unsigned c) {
    return (s->bits[c / 64] >> (c % 64)) & 1;
}

static int set_lowest(const struct cpuset *s) {
    for (unsigned w = 0; w < TOPO_MAX_CPUS / 64; w++)
        if (s->bits[w]) return (int)(w * 64 + (unsigned)__builtin_ctzll(s->bits[w]));
    return -1;
}

/* A decimal number at *p, no sign, at most `limit` (checked digit by digit: no overflow however
 * long the text). Advances *p. Returns 0, or -1 (no digit, or above limit). */
static int parse_num(const char **p, unsigned limit, unsigned *out) {
    const char *s = *p;
    unsigned v = 0;
    if (*s < '0' || *s > '9') return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (unsigned)(*s - '0');
        if (v > limit) return -1;
    }
    *p = s;
    *out = v;
    return 0;
}

/* "N" or "N-M" (M >= N), both below TOPO_MAX_CPUS. Advances *p. Returns 0 or -1. */
static int parse_range(const char **p, unsigned *lo, unsigned *hi) {
    if (parse_num(p, TOPO_MAX_CPUS - 1, lo) != 0) return -1;
    *hi = *lo;
    if (**p == '-') {
        (*p)++;
        if (parse_num(p, TOPO_MAX_CPUS - 1, hi) != 0 || *hi < *lo) return -1;
    }
    return 0;
}

/* ---- the injected description -------------------------------------------------------------- */

int topology_parse(struct topology *t, const char *text) {
    if (!text || !*text) return -EINVAL;
    struct cpuset seen;
    memset(&seen, 0, sizeof seen);
    const char *p = text;
    /* First each CPU's entry at its own index, then compacted (ascending, index <= id). */
    for (;;) {
        unsigned lo, hi, llc, node;
        if (parse_range(&p, &lo, &hi) != 0 || *p++ != ':' ||
            parse_num(&p, TOPO_MAX_CPUS - 1, &llc) != 0 || *p++ != ':' ||
            parse_num(&p, TOPO_MAX_CPUS - 1, &node) != 0)
            return -EINVAL;
        for (unsigned c = lo; c <= hi; c++) {
            if (set_has(&seen, c)) return -EINVAL; /* listed twice */
            set_add(&seen, c);
            t->cpu[c] = (struct topo_cpu){(uint16_t)c, (uint16_t)c, (uint16_t)llc, (uint16_t)node};
        }
        if (*p == '\0') break;
        if (*p++ != ',') return -EINVAL;
    }
    int n = 0;
    for (unsigned c = 0; c < TOPO_MAX_CPUS; c++)
        if (set_has(&seen, c)) t->cpu[n++] = t->cpu[c];
    t->ncpu = n;
    return 0;
}

int topology_format(const struct topology *t, char *buf, int cap) {
    int len = 0;
    if (cap < 1) return -ENOSPC;
    buf[0] = '\0';
    for (int i = 0; i < t->ncpu;) {
        const struct topo_cpu *a = &t->cpu[i];
        int j = i + 1; /* the run of consecutive CPUs with a's cache and node */
        while (j < t->ncpu && t->cpu[j].id == t->cpu[j - 1].id + 1 && t->cpu[j].llc == a->llc &&
               t->cpu[j].node == a->node)
            j++;
        const struct topo_cpu *b = &t->cpu[j - 1];
        int k = b->id == a->id
                    ? snprintf(buf + len, (size_t)(cap - len), "%s%u:%u:%u", i ? "," : "",
                               (unsigned)a->id, (unsigned)a->llc, (unsigned)a->node)
                    : snprintf(buf + len, (size_t)(cap - len), "%s%u-%u:%u:%u", i ? "," : "",
                               (unsigned)a->id, (unsigned)b->id, (unsigned)a->llc,
                               (unsigned)a->node);
        if (k < 0 || k >= cap - len) return -ENOSPC;
        len += k;
        i = j;
    }
    return len;
}

/* ---- sysfs ----------------------------------------------------------------------------------- */

/* A sysfs attribute is at most a page. */
enum { ATTR_MAX = 4096 };

/* Reads root/rel into buf (NUL-terminated). Returns 0, or -1 if it cannot be read or is empty. */
static int read_attr(const char *root, const char *rel, char *buf) {
    char path[512];
    if (snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, ATTR_MAX);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    return 0;
}

/* A kernel CPU list ("0-3,8-11\n"); ids at or above TOPO_MAX_CPUS are left out. Returns 0, or
 * -1 if malformed or empty. */
static int read_cpulist(const char *root, const char *rel, char *buf, struct cpuset *out) {
    memset(out, 0, sizeof *out);
    if (read_attr(root, rel, buf) != 0) return -1;
    const char *p = buf;
    bool any = false;
    while (*p >= '0' && *p <= '9') {
        unsigned lo, hi;
        /* Ranges beyond the limit are malformed for parse_range; read them as unlimited. */
        if (parse_num(&p, ~0u / 10 - 1, &lo) != 0) return -1;
        hi = lo;
        if (*p == '-') {
            p++;
            if (parse_num(&p, ~0u / 10 - 1, &hi) != 0) return -1;
        }
        for (unsigned c = lo; c <= hi && c < TOPO_MAX_CPUS; c++) {
            set_add(out, c);
            any = true;
        }
        if (*p == ',') p++;
    }
    return (*p == '\0' || *p == '\n') && any ? 0 : -1;
}

static int read_uint(const char *root, const char *rel, char *buf, unsigned *out) {
    if (read_attr(root, rel, buf) != 0) return -1;
    const char *p = buf;
    return parse_num(&p, ~0u / 10 - 1, out) == 0 && (*p == '\0' || *p == '\n') ? 0 : -1;
}

/* The lowest CPU sharing the largest cache of cpu, or -1 without cache files. */
static int detect_llc(const char *root, unsigned cpu, char *buf) {
    char rel[128];
    unsigned best = 0;
    int llc = -1;
    for (unsigned k = 0; k < 16; k++) {
        unsigned level;
        snprintf(rel, sizeof rel, "cpu/cpu%u/cache/index%u/level", cpu, k);
        if (read_uint(root, rel, buf, &level) != 0) break; /* indexK are numbered from 0 */
        if (level <= best) continue;
        struct cpuset shared;
        snprintf(rel, sizeof rel, "cpu/cpu%u/cache/index%u/shared_cpu_list", cpu, k);
        if (read_cpulist(root, rel, buf, &shared) != 0) continue;
        best = level;
        llc = set_lowest(&shared);
    }
    return llc;
}

/* The lowest CPU of cpu's core (its SMT siblings), or cpu itself without the files. The sibling
 * list rather than core_id: core_id is unique only within a package. */
static unsigned detect_core(const char *root, unsigned cpu, char *buf) {
    char rel[128];
    struct cpuset sib;
    snprintf(rel, sizeof rel, "cpu/cpu%u/topology/core_cpus_list", cpu);
    if (read_cpulist(root, rel, buf, &sib) != 0) {
        snprintf(rel, sizeof rel, "cpu/cpu%u/topology/thread_siblings_list", cpu); /* < 5.7 */
        if (read_cpulist(root, rel, buf, &sib) != 0) return cpu;
    }
    int low = set_lowest(&sib);
    return low >= 0 && (unsigned)low <= cpu ? (unsigned)low : cpu;
}

/* Each node's CPUs (node/nodeN/cpulist). CPUs no node lists stay on node 0. */
static void detect_nodes(struct topology *t, const char *root, char *buf) {
    char path[512], rel[128];
    if (snprintf(path, sizeof path, "%s/node", root) >= (int)sizeof path) return;
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *p = e->d_name;
        unsigned node;
        if (strncmp(p, "node", 4) != 0) continue;
        p += 4;
        if (parse_num(&p, TOPO_MAX_CPUS - 1, &node) != 0 || *p != '\0') continue;
        struct cpuset cpus;
        snprintf(rel, sizeof rel, "node/node%u/cpulist", node);
        if (read_cpulist(root, rel, buf, &cpus) != 0) continue; /* a memory-only node */
        for (int i = 0; i < t->ncpu; i++)
            if (set_has(&cpus, t->cpu[i].id)) t->cpu[i].node = (uint16_t)node;
    }
    closedir(d);
}

void topology_detect(struct topology *t, const char *root) {
    char *buf = mem_malloc(ATTR_MAX + 1);
    struct cpuset online;
    if (!buf || read_cpulist(root, "cpu/online", buf, &online) != 0) {
        memset(&online, 0, sizeof online);
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        if (n < 1) n = 1;
        for (long c = 0; c < n && c < TOPO_MAX_CPUS; c++) set_add(&online, (unsigned)c);
    }
    t->ncpu = 0;
    for (unsigned c = 0; c < TOPO_MAX_CPUS; c++)
        if (set_has(&online, c))
            t->cpu[t->ncpu++] = (struct topo_cpu){(uint16_t)c, (uint16_t)c, 0, 0};
    if (!buf) return; /* no memory for the files: one group, one node */

    detect_nodes(t, root, buf);
    bool caches = true;
    for (int i = 0; i < t->ncpu; i++) {
        struct topo_cpu *c = &t->cpu[i];
        c->core = (uint16_t)detect_core(root, c->id, buf);
        int llc = detect_llc(root, c->id, buf);
        if (llc < 0) caches = false;
        c->llc = (uint16_t)(llc < 0 ? 0 : llc);
    }
    if (!caches) { /* one LLC per node, named after the node's lowest CPU */
        for (int i = 0; i < t->ncpu; i++) {
            int j = 0;
            while (t->cpu[j].node != t->cpu[i].node) j++;
            t->cpu[i].llc = t->cpu[j].id;
        }
    }
    free(buf);
}

int topology_load(struct topology *t) {
    const char *env = getenv("AX_TOPOLOGY");
    if (env && topology_parse(t, env) == 0) return 1;
    topology_detect(t, "/sys/devices/system");
    return 0;
}

int topology_find(const struct topology *t, int id) {
    for (int i = 0; i < t->ncpu; i++)
        if (t->cpu[i].id == id) return i;
    return -1;
}

/* ---- the steal order ------------------------------------------------------------------------- */

static int victim_class(const struct topo_cpu *me, const struct topo_cpu *v) {
    if (v->llc == me->llc) return TOPO_CLASS_LLC;
    return v->node == me->node ? TOPO_CLASS_NODE : TOPO_CLASS_REST;
}

void topology_steal_order(const struct topology *t, int n, int i, uint16_t *victims,
                          uint16_t end[TOPO_CLASSES]) {
    int k = 0;
    for (int c = 0; c < TOPO_CLASSES; c++) {
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            int cls = TOPO_CLASS_REST;
            if (t && t->ncpu > 0)
                cls = victim_class(&t->cpu[i % t->ncpu], &t->cpu[j % t->ncpu]);
            if (cls == c) victims[k++] = (uint16_t)j;
        }
        end[c] = (uint16_t)k;
    }
}
