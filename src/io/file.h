/* SPDX-License-Identifier: MIT */
/* file.h: files as the I/O layer keeps them: records behind ax_file handles, and the requests
 * that carry one operation each to the kernel, through a worker's ring or the blocking pool. */
#ifndef AX_IO_FILE_H
#define AX_IO_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "actor/runtime.h"

struct io_file;
struct io_poller;
struct msg;

enum file_op { FOP_OPEN = 1, FOP_READ = 2, FOP_WRITE = 3, FOP_SYNC = 4, FOP_CLOSE = 5 };

/* One operation on its way to the kernel and back. It lives in a pooled message of the caller
 * (self), or, for a file's final close, inside the file's record (self NULL). 8-byte aligned:
 * io_uring carries its address in user_data. */
struct file_req {
    struct io_file *file;
    struct msg *self;   /* the pooled message this record lives in; NULL: the file's close */
    struct msg *reply;  /* its answer, allocated with the call (READ: the data lands in it) */
    uint64_t tag;
    int64_t offset;     /* READ, WRITE */
    void *buf;          /* READ: the answer's data; WRITE: the copy that follows the record */
    const char *path;   /* OPEN: the copy that follows the record */
    uint32_t len;       /* READ, WRITE: bytes */
    int fd;             /* the descriptor, as it was when the operation was issued */
    int flags;          /* OPEN: open(2) flags */
    unsigned mode;      /* OPEN */
    uint8_t op;         /* enum file_op */
};

/* Runtime creation and destruction (destroy: workers stopped, before their pools go; closes
 * what is left). */
int io_files_create(ax_runtime *rt);
void io_files_destroy(ax_runtime *rt);
/* Shutdown, every actor stopped, before the blocking pool stops: waits until no file operation
 * is in flight (on a ring or the pool), so that every file is closed and no job of the file
 * layer is dropped. Returns 0, or AX_ETIMEDOUT at deadline_ns (monotonic). */
int io_files_quiesce(ax_runtime *rt, int64_t deadline_ns);
/* The actor layer's hook (through io_release_owner): actor `ref` stopped; closes its files once
 * their operations complete. */
void io_files_release_owner(ax_runtime *rt, struct sched_thread *thr, ax_ref ref);

/* io_uring (uring.c): queues r on the ring of p, whose worker is the calling thread; false if
 * the ring cannot take it (refused by the kernel, or full), then the caller goes elsewhere. */
bool io_uring_file_submit(struct io_poller *p, struct file_req *r);
/* The ring's worker, from its poll: r completed with res (a descriptor, bytes, 0 or -errno). */
void file_complete(struct io_poller *p, struct file_req *r, int res);

#endif
