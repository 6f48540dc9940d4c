/* SPDX-License-Identifier: MIT */
/* io.c: choosing the I/O backend at runtime creation: io_uring where the kernel has it and lets
 * us use it, else epoll; forced by ax_config.io or, when that is AX_IO_AUTO, by AX_IO. */
#include "io/io.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "mem/fault.h"

/* The backend the environment asks for: AX_IO_AUTO when unset, -1 when unknown. */
static int from_env(void) {
    const char *v = getenv("AX_IO");
    if (!v || !*v || strcmp(v, "auto") == 0) return AX_IO_AUTO;
    if (strcmp(v, "epoll") == 0) return AX_IO_EPOLL;
    if (strcmp(v, "uring") == 0 || strcmp(v, "io_uring") == 0) return AX_IO_URING;
    return -1;
}

/* Valgrind runs one thread at a time and holds its lock across io_uring_enter, so a worker
 * asleep in its ring would never let the thread that wakes it run: under valgrind (found by its
 * preloaded libraries), AUTO means epoll. */
static bool under_valgrind(void) {
    const char *pre = getenv("LD_PRELOAD");
    return pre && strstr(pre, "vgpreload");
}

static struct io_poller *create(int kind, int *err) {
#ifdef AX_HAVE_URING
    if (kind == AX_IO_URING) return io_uring_poller_create(err);
#else
    if (kind == AX_IO_URING) {
        *err = -ENOSYS;
        return NULL;
    }
#endif
    return io_epoll_poller_create(err);
}

void io_poller_destroy(struct io_poller *p) {
#ifdef AX_HAVE_URING
    if (p->kind == AX_IO_URING) {
        io_uring_poller_destroy(p);
        return;
    }
#endif
    io_epoll_poller_destroy(p);
}

static void free_all(struct io *io) {
    for (int i = 0; i < io->n; i++)
        if (io->pollers[i]) io_poller_destroy(io->pollers[i]);
    free(io);
}

int io_create(ax_runtime *rt, int requested) {
    if (requested == AX_IO_AUTO) requested = from_env();
    if (requested != AX_IO_AUTO && requested != AX_IO_URING && requested != AX_IO_EPOLL)
        return AX_EINVAL;
    int n = rt->sched.nworkers;
    struct io *io = mem_calloc(1, sizeof *io + sizeof io->pollers[0] * (size_t)n);
    if (!io) return AX_ENOMEM;
    io->n = n;
    /* AUTO: io_uring if every worker's ring can be made (a ring also counts against
     * RLIMIT_MEMLOCK on older kernels), else epoll for all. */
    io->kind = requested != AX_IO_AUTO ? requested : under_valgrind() ? AX_IO_EPOLL : AX_IO_URING;
    for (int i = 0; i < n; i++) {
        int err = 0;
        io->pollers[i] = create(io->kind, &err);
        if (!io->pollers[i] && requested == AX_IO_AUTO && io->kind == AX_IO_URING) {
            for (int k = 0; k < i; k++) io_poller_destroy(io->pollers[k]);
            for (int k = 0; k < i; k++) io->pollers[k] = NULL;
            io->kind = AX_IO_EPOLL;
            i = -1; /* again from the first worker, on epoll */
            continue;
        }
        if (!io->pollers[i]) {
            bool resources = err == -ENOMEM || err == -EMFILE || err == -ENFILE;
            int rc = resources || io->kind == AX_IO_EPOLL ? AX_ENOMEM : AX_ENOTSUP;
            free_all(io);
            return rc;
        }
    }
    rt->io = io;
    if (io_sockets_create(rt) != 0) {
        rt->io = NULL;
        free_all(io);
        return AX_ENOMEM;
    }
    if (io_files_create(rt) != 0) {
        io_sockets_destroy(rt);
        rt->io = NULL;
        free_all(io);
        return AX_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        io_home_init(&io->pollers[i]->home, rt);
        sched_set_driver(&rt->sched, i, &io->pollers[i]->base);
    }
    return 0;
}

void io_destroy(ax_runtime *rt) {
    if (!rt->io) return;
    io_sockets_destroy(rt);
    io_files_destroy(rt);
    free_all(rt->io);
    rt->io = NULL;
}

void io_release_owner(ax_runtime *rt, struct sched_thread *thr, ax_ref ref) {
    io_sockets_release_owner(rt, thr, ref);
    io_files_release_owner(rt, thr, ref);
}

int ax_runtime_io(const ax_runtime *rt) { return rt && rt->io ? rt->io->kind : 0; }
