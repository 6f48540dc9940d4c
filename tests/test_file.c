/* SPDX-License-Identifier: MIT */
/* test_file.c: files as messages, on whichever path AX_IO and the test switches select (ctest
 * runs it on io_uring, on epoll, and on io_uring with the pool path forced or the ring broken):
 * bytes written at offsets read back equal, every completion counted once, reads at and past the
 * end, closing waits for what is in flight, an owner that stops or a runtime that shuts down
 * leaves no descriptor open, a full blocking pool refuses, and misuse gets its codes. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "mem/fault.h"
#include "runner.h"

static const ax_file_msg *file_msg(const ax_msg *m) { return (const ax_file_msg *)m->data; }

/* The byte at offset off of a file written by the tests (seed tells files apart). */
static unsigned char pattern_at(uint64_t off, unsigned seed) {
    return (unsigned char)(off * 7u + off / 251u + seed * 13u);
}
static void pattern(unsigned char *buf, size_t n, uint64_t off, unsigned seed) {
    for (size_t i = 0; i < n; i++) buf[i] = pattern_at(off + i, seed);
}
static int pattern_ok(const unsigned char *buf, size_t n, uint64_t off, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        if (buf[i] != pattern_at(off + i, seed)) return 0;
    return 1;
}

/* Every file message has the same frame: from the runtime, its size what its payload says. */
static int frame_ok(const ax_msg *msg) {
    const ax_file_msg *e = file_msg(msg);
    return ax_ref_is_none(msg->sender) && msg->size >= sizeof *e &&
           msg->size == sizeof *e + e->size && e->reserved == 0 &&
           (msg->type == AX_MSG_FILE_READ || e->size == 0);
}

/* ---- scratch files and descriptors ------------------------------------------------------- */

static char g_dir[64];

static void scratch_dir(void) {
    strcpy(g_dir, "/tmp/axon-file-XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);
}
static void scratch_path(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", g_dir, name);
}
static void scratch_remove(void) {
    DIR *d = opendir(g_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[PATH_MAX];
        scratch_path(p, sizeof p, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(g_dir);
}

/* The whole content of a file, read with plain calls (n: its size); NULL if it cannot be. */
static unsigned char *slurp(const char *path, size_t *n) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    unsigned char *buf = NULL;
    if (fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) != NULL) {
        size_t got = 0;
        ssize_t k;
        while (got < (size_t)st.st_size &&
               (k = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got)) > 0)
            got += (size_t)k;
        *n = got;
    }
    close(fd);
    return buf;
}

/* A runtime with n workers; skipped where AX_IO=uring asks for what the kernel does not have. */
static ax_runtime *runtime_cfg(ax_config cfg) {
    ax_runtime *rt = NULL;
    int rc = ax_runtime_create(&cfg, &rt);
    if (rc == AX_ENOTSUP) TEST_SKIP("io_uring is not available here");
    CHECK_OK(rc);
    return rt;
}
static ax_runtime *runtime(int workers) { return runtime_cfg((ax_config){.workers = workers}); }

/* ---- write at offsets, sync, read back, close ------------------------------------------- */

enum { N_BLOCKS = 64, BLOCK = 4096, BIG_TAG = 99, END = N_BLOCKS * BLOCK + AX_FILE_IO_MAX };
enum { TAG_OPEN = 7, TAG_SYNC = 5, TAG_CLOSE = 9, TAG_W = 100, TAG_R = 1000, TAG_PAST = 2000,
       TAG_STRADDLE = 2001, TAG_EMPTY = 2002, TAG_BIG_R = 2003 };

static atomic_int g_opened, g_written, g_synced, g_read, g_closed, g_done, g_bad_frames;
static unsigned char g_seen[4096]; /* completions per tag (handlers of one actor: serial) */

typedef struct rw_state {
    ax_file f;
    int written, read;
} rw_state;

static char g_path[PATH_MAX]; /* the file of the case's first actor */

static int rw_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    rw_state *st = state;
    const ax_file_msg *e = file_msg(msg);
    if (msg->type == 1) { /* opened from a worker: on io_uring, through its ring */
        HCHECK(ax_file_is_none(st->f));
        HCHECK(ax_file_open(ctx, g_path, O_RDWR | O_CREAT | O_TRUNC, 0600, TAG_OPEN, &st->f) == 0);
        HCHECK(!ax_file_is_none(st->f));
        return 0;
    }
    if (!frame_ok(msg)) atomic_fetch_add(&g_bad_frames, 1);
    HCHECK(ax_file_eq(e->file, st->f));
    if (e->tag < sizeof g_seen) g_seen[e->tag]++;
    static unsigned char buf[AX_FILE_IO_MAX];
    switch (msg->type) {
    case AX_MSG_FILE_OPENED:
        HCHECK(e->tag == TAG_OPEN && e->result == 0);
        atomic_fetch_add(&g_opened, 1);
        /* Every block at once, in reverse order, and one of the largest size after them. */
        for (int i = N_BLOCKS - 1; i >= 0; i--) {
            pattern(buf, BLOCK, (uint64_t)i * BLOCK, 1);
            HCHECK(ax_file_write(ctx, st->f, (int64_t)i * BLOCK, buf, BLOCK, TAG_W + (uint64_t)i) == 0);
        }
        pattern(buf, AX_FILE_IO_MAX, (uint64_t)N_BLOCKS * BLOCK, 1);
        HCHECK(ax_file_write(ctx, st->f, N_BLOCKS * BLOCK, buf, AX_FILE_IO_MAX, BIG_TAG) == 0);
        HCHECK(ax_file_write(ctx, st->f, 0, NULL, 0, TAG_EMPTY) == 0); /* an empty write: 0 */
        return 0;
    case AX_MSG_FILE_WRITTEN:
        if (e->tag == BIG_TAG) HCHECK(e->result == AX_FILE_IO_MAX);
        else if (e->tag == TAG_EMPTY) HCHECK(e->result == 0);
        else HCHECK(e->tag >= TAG_W && e->tag < TAG_W + N_BLOCKS && e->result == BLOCK);
        atomic_fetch_add(&g_written, 1);
        if (++st->written == N_BLOCKS + 2) HCHECK(ax_file_sync(ctx, st->f, TAG_SYNC) == 0);
        return 0;
    case AX_MSG_FILE_SYNCED:
        HCHECK(e->tag == TAG_SYNC && e->result == 0);
        atomic_fetch_add(&g_synced, 1);
        for (int i = 0; i < N_BLOCKS; i++)
            HCHECK(ax_file_read(ctx, st->f, (int64_t)i * BLOCK, BLOCK, TAG_R + (uint64_t)i) == 0);
        HCHECK(ax_file_read(ctx, st->f, N_BLOCKS * BLOCK, AX_FILE_IO_MAX, TAG_BIG_R) == 0);
        HCHECK(ax_file_read(ctx, st->f, END + 1000, 100, TAG_PAST) == 0);     /* past the end */
        HCHECK(ax_file_read(ctx, st->f, END - 10, 100, TAG_STRADDLE) == 0);   /* its last 10 */
        return 0;
    case AX_MSG_FILE_READ:
        if (e->tag == TAG_PAST) {
            HCHECK(e->result == 0 && e->size == 0);
        } else if (e->tag == TAG_STRADDLE) {
            HCHECK(e->result == 10 && e->size == 10 && pattern_ok(e->data, 10, END - 10, 1));
        } else if (e->tag == TAG_BIG_R) {
            HCHECK(e->result == AX_FILE_IO_MAX && e->size == AX_FILE_IO_MAX);
            HCHECK(pattern_ok(e->data, AX_FILE_IO_MAX, (uint64_t)N_BLOCKS * BLOCK, 1));
        } else {
            HCHECK(e->tag >= TAG_R && e->tag < TAG_R + N_BLOCKS);
            HCHECK(e->result == BLOCK && e->size == BLOCK);
            HCHECK(pattern_ok(e->data, BLOCK, (e->tag - TAG_R) * BLOCK, 1));
        }
        atomic_fetch_add(&g_read, 1);
        if (++st->read == N_BLOCKS + 3) HCHECK(ax_file_close(ctx, st->f, TAG_CLOSE) == 0);
        return 0;
    case AX_MSG_FILE_CLOSED:
        HCHECK(e->tag == TAG_CLOSE && e->result == 0);
        atomic_fetch_add(&g_closed, 1);
        HCHECK(ax_file_read(ctx, st->f, 0, 1, 0) == AX_ENOSOCK); /* stale */
        atomic_store(&g_done, 1);
        return ax_stop(ax_ctx_runtime(ctx), ax_self(ctx));
    default:
        HCHECK(0);
        return 0;
    }
}
static const ax_behavior rw_b = {"rw", sizeof(rw_state), NULL, rw_receive, NULL};

static void test_write_read_back(void) {
    scratch_dir();
    scratch_path(g_path, sizeof g_path, "rw");
    int fds = check_count_fds();
    ax_runtime *rt = runtime(2);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &rw_b, NULL, NULL, &r));
    CHECK_OK(ax_send(rt, r, 1, NULL, 0));
    WAIT_ATOMIC(g_done, 1);
    CHECK_EQ(atomic_load(&g_opened), 1);
    CHECK_EQ(atomic_load(&g_written), N_BLOCKS + 2);
    CHECK_EQ(atomic_load(&g_synced), 1);
    CHECK_EQ(atomic_load(&g_read), N_BLOCKS + 3);
    CHECK_EQ(atomic_load(&g_closed), 1);
    CHECK_EQ(atomic_load(&g_bad_frames), 0);
    /* Each tag answered exactly once. */
    CHECK_EQ(g_seen[TAG_OPEN] + g_seen[TAG_SYNC] + g_seen[TAG_CLOSE] + g_seen[BIG_TAG], 4);
    for (int i = 0; i < N_BLOCKS; i++) CHECK_EQ(g_seen[TAG_W + i] + g_seen[TAG_R + i], 2);
    CHECK_EQ(g_seen[TAG_PAST] + g_seen[TAG_STRADDLE] + g_seen[TAG_EMPTY] + g_seen[TAG_BIG_R], 4);
    fixture_destroy(rt);
    CHECK_EQ(check_count_fds(), fds); /* the file, and the runtime's rings or epolls, are closed */
    /* What reached the disk, read with plain calls. */
    size_t n = 0;
    unsigned char *all = slurp(g_path, &n);
    CHECK(all != NULL);
    CHECK_EQ(n, END);
    CHECK(pattern_ok(all, n, 0, 1));
    free(all);
    scratch_remove();
}

/* ---- many actors on several workers, each writing and reading back its own file ------------ */

enum { ACTORS = 4, ROUNDS = 200, PIECE = 512 };
static atomic_int g_rounds, g_mismatch, g_finished;

typedef struct many_state {
    ax_file f;
    unsigned seed;
    int done;
} many_state;

static int many_open(ax_ctx *ctx, many_state *st) {
    char path[PATH_MAX], name[16];
    snprintf(name, sizeof name, "m%u", st->seed);
    scratch_path(path, sizeof path, name);
    return ax_file_open(ctx, path, O_RDWR | O_CREAT | O_TRUNC, 0600, 0, &st->f);
}

/* Odd seeds open in init (on the spawning thread, off the workers: the pool path), even ones
 * when their first message comes (on a worker). */
static int many_init(ax_ctx *ctx, void *state, const void *arg) {
    many_state *st = state;
    st->seed = (unsigned)(uintptr_t)arg;
    return st->seed % 2 ? many_open(ctx, st) : 0;
}

static int many_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    many_state *st = state;
    const ax_file_msg *e = file_msg(msg);
    unsigned char buf[PIECE];
    switch (msg->type) {
    case 1:
        return st->seed % 2 ? 0 : many_open(ctx, st);
    case AX_MSG_FILE_OPENED: /* every write at once: they run concurrently */
        HCHECK(e->result == 0);
        for (int k = 0; k < ROUNDS; k++) {
            pattern(buf, PIECE, (uint64_t)k * PIECE, st->seed);
            HCHECK(ax_file_write(ctx, st->f, (int64_t)k * PIECE, buf, PIECE, (uint64_t)k) == 0);
        }
        return 0;
    case AX_MSG_FILE_WRITTEN: /* then each piece is read back once its write is done */
        HCHECK(e->result == PIECE);
        HCHECK(ax_file_read(ctx, st->f, (int64_t)e->tag * PIECE, PIECE, e->tag) == 0);
        return 0;
    case AX_MSG_FILE_READ:
        if (e->result != PIECE || !pattern_ok(e->data, PIECE, e->tag * PIECE, st->seed))
            atomic_fetch_add(&g_mismatch, 1);
        atomic_fetch_add(&g_rounds, 1);
        if (++st->done == ROUNDS) HCHECK(ax_file_close(ctx, st->f, 1) == 0);
        return 0;
    case AX_MSG_FILE_CLOSED:
        HCHECK(st->done == ROUNDS); /* the close came after every answer */
        atomic_fetch_add(&g_finished, 1);
        return 0;
    default:
        return 0;
    }
}
static const ax_behavior many_b = {"many", sizeof(many_state), many_init, many_receive, NULL};

static void test_many_actors(void) {
    scratch_dir();
    int fds = check_count_fds();
    ax_runtime *rt = runtime(3);
    ax_ref r[ACTORS];
    for (int i = 0; i < ACTORS; i++) {
        CHECK_OK(ax_spawn(rt, &many_b, (void *)(uintptr_t)(i + 1), NULL, &r[i]));
        CHECK_OK(ax_send(rt, r[i], 1, NULL, 0));
    }
    WAIT_ATOMIC(g_finished, ACTORS);
    CHECK_EQ(atomic_load(&g_rounds), ACTORS * ROUNDS);
    CHECK_EQ(atomic_load(&g_mismatch), 0);
    check_sleep_us(20000);
    CHECK_EQ(atomic_load(&g_rounds), ACTORS * ROUNDS); /* once each */
    CHECK_EQ(fixture_stats(rt).dead_letters, 0);
    fixture_destroy(rt);
    CHECK_EQ(check_count_fds(), fds);
    scratch_remove();
}

/* ---- closing: after what is in flight; by the owner's stop; by shutdown ------------------- */

/* Writes, then a close in the same handler: every WRITTEN arrives before CLOSED. */
static atomic_int g_order_bad;
typedef struct close_state {
    ax_file f;
    int written;
} close_state;

static int close_init(ax_ctx *ctx, void *state, const void *arg) {
    close_state *st = state;
    return ax_file_open(ctx, arg, O_WRONLY | O_CREAT | O_TRUNC, 0600, 1, &st->f);
}
static int close_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    close_state *st = state;
    const ax_file_msg *e = file_msg(msg);
    unsigned char buf[1000];
    if (msg->type == AX_MSG_FILE_OPENED) {
        HCHECK(e->result == 0);
        for (int i = 0; i < 10; i++) {
            pattern(buf, sizeof buf, (uint64_t)i * sizeof buf, 2);
            HCHECK(ax_file_write(ctx, st->f, i * (int64_t)sizeof buf, buf, sizeof buf, 0) == 0);
        }
        HCHECK(ax_file_close(ctx, st->f, 77) == 0);
        HCHECK(ax_file_write(ctx, st->f, 0, buf, 1, 0) == AX_ENOSOCK); /* stale at once */
        HCHECK(ax_file_sync(ctx, st->f, 0) == AX_ENOSOCK);
        HCHECK(ax_file_close(ctx, st->f, 0) == AX_ENOSOCK);
    } else if (msg->type == AX_MSG_FILE_WRITTEN) {
        HCHECK(e->result == (int64_t)sizeof buf);
        st->written++;
    } else if (msg->type == AX_MSG_FILE_CLOSED) {
        HCHECK(e->tag == 77 && e->result == 0);
        if (st->written != 10) atomic_fetch_add(&g_order_bad, 1);
        atomic_store(&g_done, 1);
    }
    return 0;
}
static const ax_behavior close_b = {"close", sizeof(close_state), close_init, close_receive, NULL};

static void test_close_waits_for_writes(void) {
    scratch_dir();
    char path[PATH_MAX];
    scratch_path(path, sizeof path, "c");
    int fds = check_count_fds();
    ax_runtime *rt = runtime(2);
    ax_ref r;
    CHECK_OK(ax_spawn(rt, &close_b, path, NULL, &r));
    WAIT_ATOMIC(g_done, 1);
    CHECK_EQ(atomic_load(&g_order_bad), 0);
    size_t n = 0;
    unsigned char *all = slurp(path, &n); /* written before the descriptor was closed */
    CHECK(all != NULL);
    CHECK_EQ(n, 10000);
    CHECK(pattern_ok(all, n, 0, 2));
    free(all);
    fixture_destroy(rt);
    CHECK_EQ(check_count_fds(), fds);
    scratch_remove();
}

/* Opens, then closes in the same handler, before the open completed: OPENED, then CLOSED. */
static atomic_int g_early_opened, g_early_closed;
typedef struct early_state {
    ax_file f;
    int opened, closed;
} early_state;

static int early_init(ax_ctx *ctx, void *state, const void *arg) {
    early_state *st = state;
    HCHECK(ax_file_open(ctx, arg, O_RDWR | O_CREAT, 0600, 1, &st->f) == 0);
    HCHECK(ax_file_close(ctx, st->f, 2) == 0);
    HCHECK(ax_file_close(ctx, st->f, 2) == AX_ENOSOCK);
    return 0;
}
static int early_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)ctx;
    early_state *st = state;
    const ax_file_msg *e = file_msg(msg);
    if (msg->type == AX_MSG_FILE_OPENED) {
        HCHECK(e->tag == 1 && e->result == 0 && st->closed == 0);
        st->opened++;
        atomic_fetch_add(&g_early_opened, 1);
    } else if (msg->type == AX_MSG_FILE_CLOSED) {
        HCHECK(e->tag == 2 && e->result == 0 && st->opened == 1);
        st->closed++;
        atomic_fetch_add(&g_early_closed, 1);
    }
    return 0;
}
static const ax_behavior early_b = {"early", sizeof(early_state), early_init, early_receive, NULL};

static void test_close_before_opened(void) {
    scratch_dir();
    char path[PATH_MAX];
    scratch_path(path, sizeof path, "e");
    int fds = check_count_fds();
    ax_runtime *rt = runtime(2);
    ax_ref r;
    for (int i = 0; i < 20; i++) CHECK_OK(ax_spawn(rt, &early_b, path, NULL, &r));
    WAIT_ATOMIC(g_early_closed, 20);
    CHECK_EQ(atomic_load(&g_early_opened), 20);
    fixture_destroy(rt);
    CHECK_EQ(check_count_fds(), fds);
    scratch_remove();
}

/* An owner with K files open and writes in flight stops: every file closes once its writes are
 * done (their answers are dead letters), and every descriptor is gone. */
enum { K = 16, WRITES = 4, WSIZE = 100 };
static atomic_int g_holder_open;
typedef struct holder_state {
    ax_file f[K];
    int opened;
} holder_state;

static int holder_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)arg;
    holder_state *st = state;
    for (int i = 0; i < K; i++) {
        char path[PATH_MAX], name[16];
        snprintf(name, sizeof name, "h%d", i);
        scratch_path(path, sizeof path, name);
        HCHECK(ax_file_open(ctx, path, O_RDWR | O_CREAT | O_TRUNC, 0600, (uint64_t)i, &st->f[i]) == 0);
    }
    return 0;
}
static int holder_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    holder_state *st = state;
    if (msg->type == 1) { /* stop with writes in flight */
        unsigned char buf[WSIZE];
        for (int i = 0; i < K; i++) {
            for (int w = 0; w < WRITES; w++) {
                pattern(buf, WSIZE, (uint64_t)w * WSIZE, 3 + (unsigned)i);
                HCHECK(ax_file_write(ctx, st->f[i], w * WSIZE, buf, WSIZE, 0) == 0);
            }
            HCHECK(ax_file_sync(ctx, st->f[i], 0) == 0);
        }
        return ax_stop(ax_ctx_runtime(ctx), ax_self(ctx));
    }
    HCHECK(msg->type == AX_MSG_FILE_OPENED && file_msg(msg)->result == 0);
    if (++st->opened == K) atomic_store(&g_holder_open, 1);
    return 0;
}
static const ax_behavior holder_b = {"holder", sizeof(holder_state), holder_init, holder_receive,
                                     NULL};

static void test_owner_stop_closes(void) {
    scratch_dir();
    ax_runtime *rt = runtime(2);
    int fds = check_count_fds();
    ax_ref h;
    CHECK_OK(ax_spawn(rt, &holder_b, NULL, NULL, &h));
    WAIT_ATOMIC(g_holder_open, 1);
    CHECK_EQ(check_count_fds(), fds + K);
    CHECK_OK(ax_send(rt, h, 1, NULL, 0));
    WAIT_UNTIL(check_count_fds() == fds);
    /* Every answer to the stopped owner is a dead letter, counted: none is lost. */
    WAIT_UNTIL(fixture_stats(rt).dead_letters == K * (WRITES + 1));
    for (int i = 0; i < K; i++) { /* the writes were done before the close */
        char path[PATH_MAX], name[16];
        snprintf(name, sizeof name, "h%d", i);
        scratch_path(path, sizeof path, name);
        size_t n = 0;
        unsigned char *all = slurp(path, &n);
        CHECK(all != NULL);
        CHECK_EQ(n, WRITES * WSIZE);
        CHECK(pattern_ok(all, n, 0, 3 + (unsigned)i));
        free(all);
    }
    fixture_destroy(rt);
    scratch_remove();
}

/* Files open, syncs in flight, at shutdown: every descriptor is closed by destroy's return. */
static int shut_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    holder_state *st = state;
    if (msg->type == AX_MSG_FILE_OPENED) {
        HCHECK(file_msg(msg)->result == 0);
        HCHECK(ax_file_write(ctx, st->f[file_msg(msg)->tag], 0, "x", 1, 0) == 0);
        HCHECK(ax_file_sync(ctx, st->f[file_msg(msg)->tag], 0) == 0);
        if (++st->opened == K) atomic_store(&g_holder_open, 1);
    }
    return 0;
}
static const ax_behavior shut_b = {"shut", sizeof(holder_state), holder_init, shut_receive, NULL};

static void test_shutdown_closes(void) {
    scratch_dir();
    int fds = check_count_fds();
    ax_runtime *rt = runtime(2);
    ax_ref h;
    for (int i = 0; i < 3; i++) CHECK_OK(ax_spawn(rt, &shut_b, NULL, NULL, &h));
    WAIT_ATOMIC(g_holder_open, 1);
    fixture_destroy(rt);
    CHECK_EQ(check_count_fds(), fds);
    scratch_remove();
}

/* ---- errors ------------------------------------------------------------------------------ */

/* An open that fails: OPENED carries the errno, and the handle is stale by then. */
static int enoent_init(ax_ctx *ctx, void *state, const void *arg) {
    ax_file *f = state;
    return arg ? ax_file_open(ctx, arg, O_RDONLY, 0, 42, f) : 0;
}
static int enoent_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    ax_file *f = state;
    const ax_file_msg *e = file_msg(msg);
    if (msg->type == 1) { /* from a worker */
        char path[PATH_MAX];
        scratch_path(path, sizeof path, "missing/file");
        HCHECK(ax_file_open(ctx, path, O_RDONLY, 0, 42, f) == 0);
        return 0;
    }
    HCHECK(msg->type == AX_MSG_FILE_OPENED && frame_ok(msg));
    HCHECK(e->tag == 42 && e->result == -ENOENT && ax_file_eq(e->file, *f));
    HCHECK(ax_file_read(ctx, *f, 0, 1, 0) == AX_ENOSOCK);
    HCHECK(ax_file_write(ctx, *f, 0, "x", 1, 0) == AX_ENOSOCK);
    HCHECK(ax_file_sync(ctx, *f, 0) == AX_ENOSOCK);
    HCHECK(ax_file_close(ctx, *f, 0) == AX_ENOSOCK);
    atomic_fetch_add(&g_done, 1);
    return 0;
}
static const ax_behavior enoent_b = {"enoent", sizeof(ax_file), enoent_init, enoent_receive,
                                     NULL};

static void test_open_enoent(void) {
    scratch_dir();
    char path[PATH_MAX];
    scratch_path(path, sizeof path, "missing/file");
    int fds = check_count_fds();
    ax_runtime *rt = runtime(2);
    ax_ref r;
    for (int i = 0; i < 10; i++) {
        CHECK_OK(ax_spawn(rt, &enoent_b, i % 2 ? path : NULL, NULL, &r));
        if (i % 2 == 0) CHECK_OK(ax_send(rt, r, 1, NULL, 0));
    }
    WAIT_ATOMIC(g_done, 10);
    check_sleep_us(20000);
    CHECK_EQ(atomic_load(&g_done), 10); /* one OPENED each, nothing after */
    fixture_destroy(rt);
    CHECK_EQ(check_count_fds(), fds);
    scratch_remove();
}

/* Misuse from a handler, with an open file: arguments, stale and never-valid handles, sizes,
 * ranges, memory. */
static _Atomic uint64_t g_shared_file;
static atomic_int g_misuse_done, g_foreign_done;

static int misuse_init(ax_ctx *ctx, void *state, const void *arg) {
    ax_file *f = state;
    return ax_file_open(ctx, arg, O_RDWR | O_CREAT, 0600, 0, f);
}
static int misuse_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    ax_file *f = state;
    if (msg->type == AX_MSG_FILE_CLOSED) {
        atomic_fetch_add(&g_misuse_done, 1);
        return 0;
    }
    if (msg->type != AX_MSG_FILE_OPENED) return 0;
    HCHECK(file_msg(msg)->result == 0);
    ax_file out;
    char path[PATH_MAX];
    scratch_path(path, sizeof path, "m");
    /* Opening. */
    HCHECK(ax_file_open(NULL, path, O_RDONLY, 0, 0, &out) == AX_EINVAL);
    HCHECK(ax_file_open(ctx, NULL, O_RDONLY, 0, 0, &out) == AX_EINVAL);
    HCHECK(ax_file_open(ctx, path, O_RDONLY, 0, 0, NULL) == AX_EINVAL);
    HCHECK(ax_file_open(ctx, path, O_RDWR | O_CREAT, 010000, 0, &out) == AX_EINVAL);
    HCHECK(ax_file_open(ctx, path, O_RDONLY | O_DIRECT, 0, 0, &out) == AX_EINVAL);
    static char longpath[PATH_MAX + 10];
    memset(longpath, 'a', sizeof longpath - 1);
    HCHECK(ax_file_open(ctx, longpath, O_RDONLY, 0, 0, &out) == AX_ENAMETOOLONG);
    longpath[PATH_MAX] = 0;
    HCHECK(ax_file_open(ctx, longpath, O_RDONLY, 0, 0, &out) == AX_ENAMETOOLONG);
    /* Sizes and ranges. */
    HCHECK(ax_file_read(NULL, *f, 0, 1, 0) == AX_EINVAL);
    HCHECK(ax_file_read(ctx, *f, -1, 1, 0) == AX_EINVAL);
    HCHECK(ax_file_read(ctx, *f, INT64_MAX, 1, 0) == AX_EINVAL);
    HCHECK(ax_file_read(ctx, *f, INT64_MAX - 1, 1, 0) == 0); /* ends at INT64_MAX: allowed */
    HCHECK(ax_file_read(ctx, *f, 0, AX_FILE_IO_MAX + 1, 0) == AX_EMSGSIZE);
    HCHECK(ax_file_read(ctx, *f, 0, SIZE_MAX, 0) == AX_EMSGSIZE);
    HCHECK(ax_file_read(ctx, *f, INT64_MIN, SIZE_MAX - 1, 0) == AX_EMSGSIZE);
    HCHECK(ax_file_write(NULL, *f, 0, "x", 1, 0) == AX_EINVAL);
    HCHECK(ax_file_write(ctx, *f, 0, NULL, 1, 0) == AX_EINVAL);
    HCHECK(ax_file_write(ctx, *f, -5, "x", 1, 0) == AX_EINVAL);
    HCHECK(ax_file_write(ctx, *f, INT64_MAX - 1, "xy", 2, 0) == AX_EINVAL);
    HCHECK(ax_file_write(ctx, *f, 0, "x", SIZE_MAX, 0) == AX_EMSGSIZE);
    HCHECK(ax_file_write(ctx, *f, 0, "x", AX_FILE_IO_MAX + 1, 0) == AX_EMSGSIZE);
    HCHECK(ax_file_sync(NULL, *f, 0) == AX_EINVAL);
    HCHECK(ax_file_close(NULL, *f, 0) == AX_EINVAL);
    /* Handles that never were. */
    ax_file bogus = {((uint64_t)7 << 32) | 12345}, none = AX_FILE_NONE;
    HCHECK(ax_file_read(ctx, bogus, 0, 1, 0) == AX_ENOSOCK);
    HCHECK(ax_file_read(ctx, none, 0, 1, 0) == AX_ENOSOCK);
    HCHECK(ax_file_write(ctx, bogus, 0, "x", 1, 0) == AX_ENOSOCK);
    HCHECK(ax_file_sync(ctx, none, 0) == AX_ENOSOCK);
    HCHECK(ax_file_close(ctx, bogus, 0) == AX_ENOSOCK);
    ax_file wrong_gen = {f->id + ((uint64_t)1 << 32)};
    HCHECK(ax_file_read(ctx, wrong_gen, 0, 1, 0) == AX_ENOSOCK);
    /* Out of memory (this thread's allocations fail: the fault-injection build). */
    mem_fault_on = 1;
    HCHECK(ax_file_open(ctx, path, O_RDONLY, 0, 0, &out) == AX_ENOMEM);
    HCHECK(ax_file_read(ctx, *f, 0, 1, 0) == AX_ENOMEM);
    HCHECK(ax_file_write(ctx, *f, 0, "x", 1, 0) == AX_ENOMEM);
    HCHECK(ax_file_sync(ctx, *f, 0) == AX_ENOMEM);
    mem_fault_on = 0;
    /* The file still works; another actor may not use it. */
    HCHECK(ax_file_write(ctx, *f, 0, "ok", 2, 0) == 0);
    atomic_store(&g_shared_file, f->id);
    return 0;
}

static int foreign_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    (void)state, (void)msg;
    ax_file f = {atomic_load(&g_shared_file)};
    if (atomic_load(&g_misuse_done) == 0) { /* the owner has it */
        HCHECK(ax_file_read(ctx, f, 0, 1, 0) == AX_ECONTEXT);
        HCHECK(ax_file_write(ctx, f, 0, "x", 1, 0) == AX_ECONTEXT);
        HCHECK(ax_file_sync(ctx, f, 0) == AX_ECONTEXT);
        HCHECK(ax_file_close(ctx, f, 0) == AX_ECONTEXT);
    } else { /* the owner closed it */
        HCHECK(ax_file_read(ctx, f, 0, 1, 0) == AX_ENOSOCK);
        HCHECK(ax_file_close(ctx, f, 0) == AX_ENOSOCK);
    }
    atomic_fetch_add(&g_foreign_done, 1);
    return 0;
}
static const ax_behavior foreign_b = {"foreign", 0, NULL, foreign_receive, NULL};

static int closer_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    ax_file *f = state;
    if (msg->type == 1) return ax_file_close(ctx, *f, 0); /* the owner, asked by main */
    return misuse_receive(ctx, state, msg);
}
static const ax_behavior closer_b = {"closer", sizeof(ax_file), misuse_init, closer_receive,
                                     NULL};

static void test_misuse(void) {
    scratch_dir();
    char path[PATH_MAX];
    scratch_path(path, sizeof path, "m");
    int fds = check_count_fds();
    ax_runtime *rt = runtime(2);
    ax_ref m, g;
    /* Outside a handler there is no owner. */
    ax_file out;
    CHECK_RC(ax_file_open(NULL, path, O_RDONLY, 0, 0, &out), AX_EINVAL);
    CHECK_RC(ax_file_read(NULL, AX_FILE_NONE, 0, 1, 0), AX_EINVAL);
    CHECK_RC(ax_file_write(NULL, AX_FILE_NONE, 0, "x", 1, 0), AX_EINVAL);
    CHECK_RC(ax_file_sync(NULL, AX_FILE_NONE, 0), AX_EINVAL);
    CHECK_RC(ax_file_close(NULL, AX_FILE_NONE, 0), AX_EINVAL);
    CHECK_OK(ax_spawn(rt, &closer_b, path, NULL, &m));
    WAIT_UNTIL(atomic_load(&g_shared_file) != 0);
    CHECK_OK(ax_spawn(rt, &foreign_b, NULL, NULL, &g));
    CHECK_OK(ax_send(rt, g, 1, NULL, 0));
    WAIT_ATOMIC(g_foreign_done, 1);
    CHECK_OK(ax_send(rt, m, 1, NULL, 0)); /* the owner closes it */
    WAIT_ATOMIC(g_misuse_done, 1);
    CHECK_OK(ax_send(rt, g, 1, NULL, 0)); /* now stale for everyone */
    WAIT_ATOMIC(g_foreign_done, 2);
    CHECK_NO_HANDLER_FAILURES();
    fixture_destroy(rt);
    CHECK_EQ(check_count_fds(), fds);
    scratch_remove();
}

/* The pool path under pressure (epoll whatever AX_IO says): one pool thread held by a job, a
 * queue of two. An open waiting there is not complete (only close takes its handle); a full
 * queue refuses each call; all of it completes once the job lets go. */
enum { T_GO = 1, T_JOB = 2 };
static atomic_int g_gate, g_job_started, g_go_done, g_a_opened, g_a_closed, g_b_written,
    g_b_closed;

static int64_t gated(void *arg) {
    (void)arg;
    atomic_store(&g_job_started, 1);
    int64_t deadline = check_now_ms() + CHECK_HANG_GUARD_MS;
    while (!atomic_load(&g_gate) && check_now_ms() < deadline) check_sleep_us(200);
    return 0;
}

typedef struct queue_state {
    ax_file a, b;
} queue_state;

static int queue_init(ax_ctx *ctx, void *state, const void *arg) {
    queue_state *st = state;
    char path[PATH_MAX];
    (void)arg;
    scratch_path(path, sizeof path, "qb");
    return ax_file_open(ctx, path, O_RDWR | O_CREAT, 0600, 1, &st->b);
}
static int queue_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    queue_state *st = state;
    const ax_file_msg *e = file_msg(msg);
    char path[PATH_MAX];
    switch (msg->type) {
    case T_GO: {
        scratch_path(path, sizeof path, "qa");
        HCHECK(ax_file_open(ctx, path, O_RDWR | O_CREAT, 0600, 2, &st->a) == 0); /* queued */
        HCHECK(ax_file_read(ctx, st->a, 0, 1, 3) == AX_EINVAL); /* not open yet */
        HCHECK(ax_file_write(ctx, st->a, 0, "x", 1, 3) == AX_EINVAL);
        HCHECK(ax_file_sync(ctx, st->a, 3) == AX_EINVAL);
        HCHECK(ax_file_write(ctx, st->b, 0, "hello", 5, 4) == 0); /* queued: the queue is full */
        HCHECK(ax_file_read(ctx, st->b, 0, 5, 5) == AX_EFULL);
        HCHECK(ax_file_write(ctx, st->b, 0, "x", 1, 5) == AX_EFULL);
        HCHECK(ax_file_sync(ctx, st->b, 5) == AX_EFULL);
        ax_file c;
        scratch_path(path, sizeof path, "qc");
        HCHECK(ax_file_open(ctx, path, O_RDWR | O_CREAT, 0600, 5, &c) == AX_EFULL);
        HCHECK(ax_file_close(ctx, st->a, 6) == 0); /* before its open completed */
        atomic_store(&g_go_done, 1);
        return 0;
    }
    case AX_MSG_FILE_OPENED:
        HCHECK(e->result == 0 && (e->tag == 1 || e->tag == 2));
        if (e->tag == 2) atomic_fetch_add(&g_a_opened, 1);
        return 0;
    case AX_MSG_FILE_CLOSED:
        if (e->tag == 6) { /* after its OPENED */
            HCHECK(atomic_load(&g_a_opened) == 1 && ax_file_eq(e->file, st->a));
            atomic_fetch_add(&g_a_closed, 1);
        } else {
            HCHECK(e->tag == 7 && ax_file_eq(e->file, st->b));
            atomic_fetch_add(&g_b_closed, 1);
        }
        return 0;
    case AX_MSG_FILE_WRITTEN:
        HCHECK(e->tag == 4 && e->result == 5);
        atomic_fetch_add(&g_b_written, 1);
        return ax_file_close(ctx, st->b, 7);
    default:
        return 0;
    }
}
static const ax_behavior queue_b = {"queue", sizeof(queue_state), queue_init, queue_receive, NULL};

static void test_pool_full(void) {
    scratch_dir();
    int fds = check_count_fds();
    ax_runtime *rt = runtime_cfg(
        (ax_config){.workers = 1, .io = AX_IO_EPOLL, .blocking_threads = 1, .blocking_queue = 2});
    ax_ref q;
    CHECK_OK(ax_spawn(rt, &queue_b, NULL, NULL, &q));
    WAIT_UNTIL(fixture_stats(rt).blocking_queued == 0); /* the open of b was taken */
    CHECK_OK(ax_run_blocking(rt, q, T_JOB, gated, NULL));
    WAIT_ATOMIC(g_job_started, 1);
    CHECK_OK(ax_send(rt, q, T_GO, NULL, 0));
    WAIT_ATOMIC(g_go_done, 1);
    CHECK_EQ(fixture_stats(rt).blocking_queued, 2);
    atomic_store(&g_gate, 1);
    WAIT_ATOMIC(g_b_closed, 1);
    WAIT_ATOMIC(g_a_closed, 1);
    CHECK_EQ(atomic_load(&g_a_opened), 1);
    CHECK_EQ(atomic_load(&g_b_written), 1);
    size_t n = 0;
    char path[PATH_MAX];
    scratch_path(path, sizeof path, "qb");
    unsigned char *all = slurp(path, &n);
    CHECK(all != NULL && n == 5 && memcmp(all, "hello", 5) == 0);
    free(all);
    scratch_path(path, sizeof path, "qc");
    CHECK(access(path, F_OK) != 0); /* the refused open did nothing */
    fixture_destroy(rt);
    CHECK_EQ(check_count_fds(), fds);
    scratch_remove();
}

TEST_MAIN(TEST_CASE(test_write_read_back), TEST_CASE(test_many_actors),
          TEST_CASE(test_close_waits_for_writes), TEST_CASE(test_close_before_opened),
          TEST_CASE(test_owner_stop_closes), TEST_CASE(test_shutdown_closes),
          TEST_CASE(test_open_enoent), TEST_CASE(test_misuse), TEST_CASE(test_pool_full))
