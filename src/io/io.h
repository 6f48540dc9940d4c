/* SPDX-License-Identifier: MIT */
/* io.h: the runtime's I/O layer as the runtime's assembly sees it: choosing the backend and
 * putting one poller under each worker's wheel before the workers start. */
#ifndef AX_IO_IO_H
#define AX_IO_IO_H

#include "actor/runtime.h"
#include "io/poller.h"

struct io_sockets;
struct io_files;

struct io {
    int kind; /* AX_IO_URING or AX_IO_EPOLL */
    int n;
    struct io_sockets *sockets; /* the socket table (socket.c) */
    struct io_files *files;     /* the file table (file.c) */
    struct io_poller *pollers[];
};

/* Before sched_start: chooses the backend (requested: an ax_config io value; AX_IO_AUTO reads
 * the environment variable AX_IO, then prefers io_uring), creates a poller per worker and
 * installs it as the driver the worker's wheel sleeps in. Errors: AX_EINVAL (an unknown value
 * or AX_IO setting), AX_ENOTSUP (io_uring asked for and unavailable), AX_ENOMEM. */
int io_create(ax_runtime *rt, int requested);
/* After the workers stopped. */
void io_destroy(ax_runtime *rt);
/* The actor layer's hook (rt->release_io): actor `ref` stopped; closes the sockets and the
 * files it owned. */
void io_release_owner(ax_runtime *rt, struct sched_thread *thr, ax_ref ref);

#endif
