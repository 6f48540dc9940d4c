/* SPDX-License-Identifier: MIT */
/* poller.h: one I/O poller per worker, on io_uring or on epoll, each a driver (sched/driver.h)
 * in which the worker's timing wheel sleeps: completions, timers and mail wake it alike. */
#ifndef AX_IO_POLLER_H
#define AX_IO_POLLER_H

#include <stdint.h>

#include "io/socket.h"
#include "sched/driver.h"

/* A poller. Every call but unpark (and create/destroy, made while the workers are stopped)
 * comes from its worker. */
struct io_poller {
    struct sched_driver base; /* first: the worker's wheel calls the poller through it */
    int kind;                 /* AX_IO_URING or AX_IO_EPOLL */
    uint64_t wakes;           /* statistic: unpark tokens consumed */
    const struct io_sock_ops *sock_ops; /* the backend's socket operations */
    struct io_home home;      /* the sockets that live here (socket.c) */
};

/* io_uring (uring.c): NULL with *err = -errno when the kernel lacks it, refuses it (seccomp,
 * kernel.io_uring_disabled) or is too old (no IORING_FEAT_EXT_ARG: waits with a timeout). */
struct io_poller *io_uring_poller_create(int *err);
/* epoll (epoll.c): NULL with *err = -errno only when out of descriptors or memory. */
struct io_poller *io_epoll_poller_create(int *err);
/* Frees a poller (its worker stopped); io_poller_destroy picks the backend's by kind. */
void io_uring_poller_destroy(struct io_poller *p);
void io_epoll_poller_destroy(struct io_poller *p);
void io_poller_destroy(struct io_poller *p);

#endif
