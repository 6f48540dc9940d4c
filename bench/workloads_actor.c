/* SPDX-License-Identifier: MIT */
/* workloads_actor.c: the actor workloads of shared/bench/WORKLOADS.md (pingpong, pairs, counting,
 * fanin, ring, fjthroughput, spawn, big) as plain axon actors with uint64_t payloads; each sets
 * its actors up, times the messaging, and dies unless its count or checksum is right. */
#include <malloc.h>
#include <string.h>

#include "bench.h"

/* Message types (all below AX_MSG_RESERVED). */
enum {
    M_START = 1, /* main -> first actor: begin */
    M_CONT,      /* an actor to itself: go on with the next chunk */
    M_DATA,      /* a counted integer */
    M_DATA_ACK,  /* a counted integer, the last of its chunk: the receiver replies M_ACK */
    M_ACK,       /* flow control or spawn acknowledgement */
    M_PING,
    M_PONG,
    M_TOKEN,     /* ring token: hops still to go */
    M_SETUP,     /* ring: the next actor's ref */
    M_GO         /* big: start pinging */
};

/* Senders keep at most WINDOW chunks of CHUNK messages unacknowledged, so a fast producer
 * cannot queue the whole run in the receiver's mailbox (batch turns favour the sender). */
#define CHUNK 1000u
#define WINDOW 64u

static inline uint64_t msg_u64(const ax_msg *m) {
    uint64_t v = 0;
    if (m->size >= sizeof v) memcpy(&v, m->data, sizeof v);
    return v;
}

static int send_u64(ax_ctx *ctx, ax_ref to, uint32_t type, uint64_t v, bench_done *d) {
    int rc = ax_send(ax_ctx_runtime(ctx), to, type, &v, sizeof v);
    if (rc != 0) {
        bench_done_fail(d, "ax_send (type %u) from a handler: %s", (unsigned)type, ax_strerror(rc));
        return -1;
    }
    return 0;
}

static int reply_u64(ax_ctx *ctx, uint32_t type, uint64_t v, bench_done *d) {
    int rc = ax_reply(ctx, type, &v, sizeof v);
    if (rc != 0) {
        bench_done_fail(d, "ax_reply (type %u): %s", (unsigned)type, ax_strerror(rc));
        return -1;
    }
    return 0;
}

static int unexpected(bench_done *d, const char *who, const ax_msg *m) {
    bench_done_fail(d, "%s: unexpected message type %u", who, (unsigned)m->type);
    return -1;
}

/* ================================================================ pingpong and pairs
 * ping sends i to pong, pong replies with it (ax_reply), ping checks it and sends i+1;
 * n round trips, then ping reports its sum and the last pair to finish signals main.
 * pingpong runs one pair, pairs runs PAIRS at once. checksum = sum of the echoed integers. */

#define PAIRS 64u

typedef struct pp_shared {
    bench_done done;
    uint32_t pairs;
    _Atomic uint32_t finished;
    _Atomic uint64_t sum;
} pp_shared;

typedef struct pp_init {
    pp_shared *sh;
    ax_ref pong;
    uint64_t n;
} pp_init;

typedef struct ping_state {
    pp_shared *sh;
    ax_ref pong;
    uint64_t n, count, sum;
} ping_state;

typedef struct pong_state {
    pp_shared *sh;
} pong_state;

static pp_shared pp;

static int ping_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    const pp_init *in = arg;
    ping_state *s = state;
    s->sh = in->sh;
    s->pong = in->pong;
    s->n = in->n;
    return 0;
}

static int ping_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    ping_state *s = state;
    pp_shared *sh = s->sh;
    if (m->type == M_PONG) {
        uint64_t v = msg_u64(m);
        if (v != s->count) {
            bench_done_fail(&sh->done, "ping: got %llu back, expected %llu",
                            (unsigned long long)v, (unsigned long long)s->count);
            return -1;
        }
        s->sum += v;
        if (++s->count < s->n) return send_u64(ctx, s->pong, M_PING, s->count, &sh->done);
        atomic_fetch_add_explicit(&sh->sum, s->sum, memory_order_relaxed);
        if (atomic_fetch_add_explicit(&sh->finished, 1, memory_order_acq_rel) + 1 == sh->pairs)
            bench_done_signal(&sh->done);
        return 0;
    }
    if (m->type == M_START) return send_u64(ctx, s->pong, M_PING, 0, &sh->done);
    return unexpected(&sh->done, "ping", m);
}

static int pong_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    const pp_init *in = arg;
    ((pong_state *)state)->sh = in->sh;
    return 0;
}

static int pong_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    pong_state *s = state;
    if (m->type != M_PING) return unexpected(&s->sh->done, "pong", m);
    return reply_u64(ctx, M_PONG, msg_u64(m), &s->sh->done);
}

static const ax_behavior ping_behavior = {"ping", sizeof(ping_state), ping_init, ping_receive, NULL};
static const ax_behavior pong_behavior = {"pong", sizeof(pong_state), pong_init, pong_receive, NULL};

/* Spawns `pairs` ping-pong pairs of n round trips each, starts them all and waits. */
static void run_pairs(ax_runtime *rt, const char *name, uint32_t pairs, uint64_t n,
                      bench_result *r) {
    memset(&pp, 0, sizeof pp);
    bench_done_init(&pp.done);
    pp.pairs = pairs;
    atomic_init(&pp.finished, 0);
    atomic_init(&pp.sum, 0);
    ax_ref pings[PAIRS];
    for (uint32_t i = 0; i < pairs; i++) {
        pp_init in = {.sh = &pp, .pong = AX_REF_NONE, .n = n};
        in.pong = bench_spawn(rt, &pong_behavior, &in);
        pings[i] = bench_spawn(rt, &ping_behavior, &in);
    }

    bench_measure_begin(r);
    for (uint32_t i = 0; i < pairs; i++) bench_send_u64(rt, pings[i], M_START, 0);
    bench_done_wait(&pp.done, name);
    bench_measure_end(r);

    uint64_t want = pairs * (n * (n - 1) / 2);
    uint64_t sum = atomic_load(&pp.sum);
    if (atomic_load(&pp.finished) != pairs || sum != want)
        bench_die("%s: %u pairs finished, checksum %llu, expected %u and %llu", name,
                  (unsigned)atomic_load(&pp.finished), (unsigned long long)sum, (unsigned)pairs,
                  (unsigned long long)want);
    r->n = pairs * n;
    r->checksum = sum;
}

void bench_pingpong(ax_runtime *rt, const bench_params *p, bench_result *r) {
    run_pairs(rt, "pingpong", 1, bench_scaled(1000000, p->scale), r);
}

void bench_pairs(ax_runtime *rt, const bench_params *p, bench_result *r) {
    run_pairs(rt, "pairs", PAIRS, bench_scaled(100000, p->scale), r);
}

/* ================================================================ counting and fanin
 * A producer sends the integers [first, end) to its consumer, CHUNK per handler call; after
 * a chunk it sends itself M_CONT while its window allows, and the consumer's M_ACK (the reply
 * to each chunk's last message) reopens the window. The consumer sums everything and signals
 * main when it has all n; counting (one producer) also checks that they arrive in order. */

typedef struct stream_shared {
    bench_done done;
    uint64_t sum;
} stream_shared;

typedef struct producer_init {
    bench_done *done;
    ax_ref target;
    uint64_t first, end;
} producer_init;

typedef struct producer_state {
    bench_done *done;
    ax_ref target;
    uint64_t next, end;
    uint32_t inflight;   /* chunks sent and not yet acknowledged */
    int cont_pending;    /* an M_CONT to ourselves is queued */
} producer_state;

typedef struct consumer_init {
    stream_shared *sh;
    uint64_t n;
    int ordered;
} consumer_init;

typedef struct consumer_state {
    stream_shared *sh;
    uint64_t n, count, sum;
    int ordered;
} consumer_state;

static stream_shared stream;

static int producer_init_fn(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    const producer_init *in = arg;
    producer_state *s = state;
    s->done = in->done;
    s->target = in->target;
    s->next = in->first;
    s->end = in->end;
    return 0;
}

static int producer_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    producer_state *s = state;
    switch (m->type) {
    case M_START: break;
    case M_CONT: s->cont_pending = 0; break;
    case M_ACK:
        if (s->inflight == 0) {
            bench_done_fail(s->done, "producer: acknowledgement without a chunk in flight");
            return -1;
        }
        s->inflight--;
        break;
    default: return unexpected(s->done, "producer", m);
    }
    if (s->next >= s->end || s->inflight >= WINDOW) return 0;

    ax_runtime *rt = ax_ctx_runtime(ctx);
    uint64_t stop = s->end - s->next > CHUNK ? s->next + CHUNK : s->end;
    for (uint64_t v = s->next; v < stop; v++) {
        int rc = ax_send(rt, s->target, v + 1 == stop ? M_DATA_ACK : M_DATA, &v, sizeof v);
        if (rc != 0) {
            bench_done_fail(s->done, "producer: ax_send: %s", ax_strerror(rc));
            return -1;
        }
    }
    s->next = stop;
    s->inflight++;
    if (s->next < s->end && s->inflight < WINDOW && !s->cont_pending) {
        s->cont_pending = 1;
        return send_u64(ctx, ax_self(ctx), M_CONT, 0, s->done);
    }
    return 0;
}

static int consumer_init_fn(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    const consumer_init *in = arg;
    consumer_state *s = state;
    s->sh = in->sh;
    s->n = in->n;
    s->ordered = in->ordered;
    return 0;
}

static int consumer_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    consumer_state *s = state;
    if (m->type != M_DATA && m->type != M_DATA_ACK) return unexpected(&s->sh->done, "consumer", m);
    uint64_t v = msg_u64(m);
    if (s->ordered && v != s->count) {
        bench_done_fail(&s->sh->done, "consumer: got %llu, expected %llu in order",
                        (unsigned long long)v, (unsigned long long)s->count);
        return -1;
    }
    if (s->count == s->n) {
        bench_done_fail(&s->sh->done, "consumer: more than %llu messages", (unsigned long long)s->n);
        return -1;
    }
    s->sum += v;
    s->count++;
    if (m->type == M_DATA_ACK && reply_u64(ctx, M_ACK, 0, &s->sh->done) != 0) return -1;
    if (s->count == s->n) {
        s->sh->sum = s->sum;
        bench_done_signal(&s->sh->done);
    }
    return 0;
}

static const ax_behavior producer_behavior = {"producer", sizeof(producer_state), producer_init_fn,
                                              producer_receive, NULL};
static const ax_behavior consumer_behavior = {"consumer", sizeof(consumer_state), consumer_init_fn,
                                              consumer_receive, NULL};

/* producers send n integers in all, split evenly over them; the consumer must sum to n(n-1)/2. */
static void run_stream(ax_runtime *rt, const char *name, int producers, uint64_t per,
                       bench_result *r) {
    uint64_t n = per * (uint64_t)producers;
    ax_ref prod[8];
    memset(&stream, 0, sizeof stream);
    bench_done_init(&stream.done);
    consumer_init ci = {.sh = &stream, .n = n, .ordered = producers == 1};
    ax_ref consumer = bench_spawn(rt, &consumer_behavior, &ci);
    for (int i = 0; i < producers; i++) {
        producer_init pi = {.done = &stream.done, .target = consumer,
                            .first = per * (uint64_t)i, .end = per * (uint64_t)(i + 1)};
        prod[i] = bench_spawn(rt, &producer_behavior, &pi);
    }

    bench_measure_begin(r);
    for (int i = 0; i < producers; i++) bench_send_u64(rt, prod[i], M_START, 0);
    bench_done_wait(&stream.done, name);
    bench_measure_end(r);

    uint64_t want = n * (n - 1) / 2;
    if (stream.sum != want)
        bench_die("%s: checksum %llu, expected %llu", name, (unsigned long long)stream.sum,
                  (unsigned long long)want);
    r->n = n;
    r->checksum = stream.sum;
}

void bench_counting(ax_runtime *rt, const bench_params *p, bench_result *r) {
    run_stream(rt, "counting", 1, bench_scaled(10000000, p->scale), r);
}

void bench_fanin(ax_runtime *rt, const bench_params *p, bench_result *r) {
    run_stream(rt, "fanin", 4, bench_scaled(2500000, p->scale), r);
}

/* ================================================================ ring
 * 503 actors spawned last to first, each given its successor's ref at init; the last one
 * learns the first's ref from an M_SETUP ask. main hands actor 0 the token n; each actor
 * forwards token-1 to its successor, and the one receiving 0 signals: n hops, ending on actor
 * n mod 503 (checked; reported as checksum). */

#define RING_SIZE 503u

typedef struct ring_shared {
    bench_done done;
    uint32_t last_index;
} ring_shared;

typedef struct ring_init {
    ring_shared *sh;
    ax_ref next;
    uint32_t index;
} ring_init;

typedef struct ring_state {
    ring_shared *sh;
    ax_ref next;
    uint32_t index;
} ring_state;

static ring_shared ring;

static int ring_init_fn(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    const ring_init *in = arg;
    ring_state *s = state;
    s->sh = in->sh;
    s->next = in->next;
    s->index = in->index;
    return 0;
}

static int ring_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    ring_state *s = state;
    if (m->type == M_TOKEN) {
        uint64_t t = msg_u64(m);
        if (t == 0) {
            s->sh->last_index = s->index;
            bench_done_signal(&s->sh->done);
            return 0;
        }
        return send_u64(ctx, s->next, M_TOKEN, t - 1, &s->sh->done);
    }
    if (m->type == M_SETUP) {
        s->next = (ax_ref){msg_u64(m)};
        return reply_u64(ctx, M_ACK, 0, &s->sh->done);
    }
    return unexpected(&s->sh->done, "ring", m);
}

static const ax_behavior ring_behavior = {"ring", sizeof(ring_state), ring_init_fn, ring_receive, NULL};

void bench_ring(ax_runtime *rt, const bench_params *p, bench_result *r) {
    uint64_t n = bench_scaled(10000000, p->scale);
    ax_ref refs[RING_SIZE];
    memset(&ring, 0, sizeof ring);
    bench_done_init(&ring.done);
    ax_ref next = AX_REF_NONE;
    for (uint32_t i = RING_SIZE; i-- > 0;) {
        ring_init in = {.sh = &ring, .next = next, .index = i};
        refs[i] = next = bench_spawn(rt, &ring_behavior, &in);
    }
    ax_msg *reply = NULL;
    uint64_t first = refs[0].id;
    int rc = ax_ask_wait(rt, refs[RING_SIZE - 1], M_SETUP, &first, sizeof first, 10000, &reply);
    if (rc != 0) bench_die("ring: closing the ring: %s", ax_strerror(rc));
    ax_msg_free(rt, reply);

    bench_measure_begin(r);
    bench_send_u64(rt, refs[0], M_TOKEN, n);
    bench_done_wait(&ring.done, "ring");
    bench_measure_end(r);

    if (ring.last_index != n % RING_SIZE)
        bench_die("ring: the token ended on actor %u, expected %u", (unsigned)ring.last_index,
                  (unsigned)(n % RING_SIZE));
    r->n = n;
    r->checksum = ring.last_index;
}

/* ================================================================ fjthroughput
 * A driver actor sends rounds 0..per-1 to 64 worker actors round-robin (round r: the integer
 * r to each of them in turn), FJ_ROUNDS rounds per handler call, windowed like the producer
 * (worker 63 acknowledges each chunk's last round). Each worker checks order and counts; the
 * last to reach per signals main. checksum = the sum over all workers. */

#define FJ_ACTORS 64u
#define FJ_ROUNDS 16u /* 16 rounds x 64 actors = 1,024 messages per chunk */

typedef struct fj_shared {
    bench_done done;
    ax_ref refs[FJ_ACTORS];
    uint64_t per;
    _Atomic uint32_t finished;
    _Atomic uint64_t total;
} fj_shared;

typedef struct fj_init {
    fj_shared *sh;
} fj_init;

typedef struct fj_driver_state {
    fj_shared *sh;
    uint64_t round;
    uint32_t inflight;
    int cont_pending;
} fj_driver_state;

typedef struct fj_worker_state {
    fj_shared *sh;
    uint64_t count, sum;
} fj_worker_state;

static fj_shared fj;

static int fj_init_fn(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    const fj_init *in = arg;
    memcpy(state, &in->sh, sizeof in->sh); /* both states start with the shared pointer */
    return 0;
}

static int fj_driver_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    fj_driver_state *s = state;
    fj_shared *sh = s->sh;
    switch (m->type) {
    case M_START: break;
    case M_CONT: s->cont_pending = 0; break;
    case M_ACK:
        if (s->inflight == 0) {
            bench_done_fail(&sh->done, "fj driver: acknowledgement without a chunk in flight");
            return -1;
        }
        s->inflight--;
        break;
    default: return unexpected(&sh->done, "fj driver", m);
    }
    if (s->round >= sh->per || s->inflight >= WINDOW) return 0;

    ax_runtime *rt = ax_ctx_runtime(ctx);
    uint64_t stop = sh->per - s->round > FJ_ROUNDS ? s->round + FJ_ROUNDS : sh->per;
    for (uint64_t v = s->round; v < stop; v++) {
        for (uint32_t a = 0; a < FJ_ACTORS; a++) {
            uint32_t type = (v + 1 == stop && a == FJ_ACTORS - 1) ? M_DATA_ACK : M_DATA;
            int rc = ax_send(rt, sh->refs[a], type, &v, sizeof v);
            if (rc != 0) {
                bench_done_fail(&sh->done, "fj driver: ax_send: %s", ax_strerror(rc));
                return -1;
            }
        }
    }
    s->round = stop;
    s->inflight++;
    if (s->round < sh->per && s->inflight < WINDOW && !s->cont_pending) {
        s->cont_pending = 1;
        return send_u64(ctx, ax_self(ctx), M_CONT, 0, &sh->done);
    }
    return 0;
}

static int fj_worker_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    fj_worker_state *s = state;
    fj_shared *sh = s->sh;
    if (m->type != M_DATA && m->type != M_DATA_ACK) return unexpected(&sh->done, "fj worker", m);
    uint64_t v = msg_u64(m);
    if (v != s->count || s->count == sh->per) {
        bench_done_fail(&sh->done, "fj worker: got %llu, expected %llu (of %llu)",
                        (unsigned long long)v, (unsigned long long)s->count,
                        (unsigned long long)sh->per);
        return -1;
    }
    s->sum += v;
    s->count++;
    if (m->type == M_DATA_ACK && reply_u64(ctx, M_ACK, 0, &sh->done) != 0) return -1;
    if (s->count == sh->per) {
        atomic_fetch_add_explicit(&sh->total, s->sum, memory_order_relaxed);
        if (atomic_fetch_add_explicit(&sh->finished, 1, memory_order_acq_rel) + 1 == FJ_ACTORS)
            bench_done_signal(&sh->done);
    }
    return 0;
}

static const ax_behavior fj_driver_behavior = {"fj-driver", sizeof(fj_driver_state), fj_init_fn,
                                               fj_driver_receive, NULL};
static const ax_behavior fj_worker_behavior = {"fj-worker", sizeof(fj_worker_state), fj_init_fn,
                                               fj_worker_receive, NULL};

void bench_fjthroughput(ax_runtime *rt, const bench_params *p, bench_result *r) {
    uint64_t per = bench_scaled(100000, p->scale);
    memset(&fj, 0, sizeof fj);
    bench_done_init(&fj.done);
    atomic_init(&fj.finished, 0);
    atomic_init(&fj.total, 0);
    fj.per = per;
    fj_init in = {.sh = &fj};
    for (uint32_t a = 0; a < FJ_ACTORS; a++) fj.refs[a] = bench_spawn(rt, &fj_worker_behavior, &in);
    ax_ref driver = bench_spawn(rt, &fj_driver_behavior, &in);

    bench_measure_begin(r);
    bench_send_u64(rt, driver, M_START, 0);
    bench_done_wait(&fj.done, "fjthroughput");
    bench_measure_end(r);

    uint64_t total = atomic_load(&fj.total);
    uint64_t want = FJ_ACTORS * (per * (per - 1) / 2);
    if (atomic_load(&fj.finished) != FJ_ACTORS || total != want)
        bench_die("fjthroughput: %u actors finished, checksum %llu, expected %u and %llu",
                  (unsigned)atomic_load(&fj.finished), (unsigned long long)total,
                  (unsigned)FJ_ACTORS, (unsigned long long)want);
    r->n = per * FJ_ACTORS;
    r->checksum = total;
}

/* ================================================================ spawn
 * A spawner actor spawns SPAWN_CHUNK stateless children per handler call and sends each the
 * integer i; each child replies with it once (its only message). The spawner goes on (M_CONT
 * to itself, or on an ack) while fewer than SPAWN_WINDOW children have not acked yet, so the
 * acks never pile up in its mailbox; when all n acks are in it signals main. The children
 * stay alive and idle, so main then reads RSS: bytes_per_actor = (RSS now - before) / n. */

#define SPAWN_CHUNK 1000u
#define SPAWN_WINDOW 4000u

typedef struct spawn_shared {
    bench_done done;
    uint64_t sum;
} spawn_shared;

typedef struct spawner_init {
    uint64_t n;
} spawner_init;

typedef struct spawner_state {
    uint64_t n, spawned, acks, sum;
    int cont_pending;
} spawner_state;

/* The children have no state, so they reach the completion object through this file's static. */
static spawn_shared spawn_sh;

static int child_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    (void)state;
    if (m->type != M_PING) return unexpected(&spawn_sh.done, "child", m);
    return reply_u64(ctx, M_ACK, msg_u64(m), &spawn_sh.done);
}

static const ax_behavior child_behavior = {"child", 0, NULL, child_receive, NULL};

static int spawner_init_fn(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    ((spawner_state *)state)->n = ((const spawner_init *)arg)->n;
    return 0;
}

static int spawner_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    spawner_state *s = state;
    switch (m->type) {
    case M_START: break;
    case M_CONT: s->cont_pending = 0; break;
    case M_ACK:
        s->sum += msg_u64(m);
        if (++s->acks == s->n) {
            spawn_sh.sum = s->sum;
            bench_done_signal(&spawn_sh.done);
            return 0;
        }
        break;
    default: return unexpected(&spawn_sh.done, "spawner", m);
    }
    if (s->spawned >= s->n || s->spawned - s->acks >= SPAWN_WINDOW) return 0;

    ax_runtime *rt = ax_ctx_runtime(ctx);
    uint64_t stop = s->n - s->spawned > SPAWN_CHUNK ? s->spawned + SPAWN_CHUNK : s->n;
    for (; s->spawned < stop; s->spawned++) {
        ax_ref child = AX_REF_NONE;
        int rc = ax_spawn(rt, &child_behavior, NULL, NULL, &child);
        if (rc != 0) {
            bench_done_fail(&spawn_sh.done, "spawner: ax_spawn #%llu: %s",
                            (unsigned long long)s->spawned, ax_strerror(rc));
            return -1;
        }
        if (send_u64(ctx, child, M_PING, s->spawned, &spawn_sh.done) != 0) return -1;
    }
    if (s->spawned < s->n && s->spawned - s->acks < SPAWN_WINDOW && !s->cont_pending) {
        s->cont_pending = 1;
        return send_u64(ctx, ax_self(ctx), M_CONT, 0, &spawn_sh.done);
    }
    return 0;
}

static const ax_behavior spawner_behavior = {"spawner", sizeof(spawner_state), spawner_init_fn,
                                             spawner_receive, NULL};

void bench_spawn_actors(ax_runtime *rt, const bench_params *p, bench_result *r) {
    uint64_t n = bench_scaled(1000000, p->scale);
    memset(&spawn_sh, 0, sizeof spawn_sh);
    bench_done_init(&spawn_sh.done);
    spawner_init in = {.n = n};
    ax_ref spawner = bench_spawn(rt, &spawner_behavior, &in);

    malloc_trim(0); /* earlier runs' freed heap must not absorb this run's growth */
    uint64_t rss_before = bench_rss_bytes();
    bench_measure_begin(r);
    bench_send_u64(rt, spawner, M_START, 0);
    bench_done_wait(&spawn_sh.done, "spawn");
    bench_measure_end(r);
    uint64_t rss_after = bench_rss_bytes();

    uint64_t want = n * (n - 1) / 2;
    if (spawn_sh.sum != want)
        bench_die("spawn: checksum %llu, expected %llu", (unsigned long long)spawn_sh.sum,
                  (unsigned long long)want);
    r->n = n;
    r->checksum = spawn_sh.sum;
    r->has_bytes_per_actor = 1;
    r->bytes_per_actor = ((double)rss_after - (double)rss_before) / (double)n;
}

/* ================================================================ big
 * 1,000 actors; on M_GO each draws a peer from its own xorshift64 stream (seeded from its
 * index; itself skipped), sends it M_PING x and waits for M_PONG x before the next, per pings
 * in all. Every actor also answers others' pings. checksum = the sum of all x, which main
 * recomputes from the seeds after the run. */

#define BIG_ACTORS 1000u

typedef struct big_shared {
    bench_done done;
    ax_ref refs[BIG_ACTORS];
    uint64_t per;
    _Atomic uint32_t finished;
    _Atomic uint64_t total;
} big_shared;

typedef struct big_init {
    big_shared *sh;
    uint32_t index;
} big_init;

typedef struct big_state {
    big_shared *sh;
    uint64_t rng, expect, sent, sum;
    uint32_t index;
} big_state;

static big_shared big;

static uint64_t big_seed(uint32_t index) { return 0x9E3779B97F4A7C15ull * (index + 1u); }

static inline uint64_t xorshift64(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static int big_init_fn(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    const big_init *in = arg;
    big_state *s = state;
    s->sh = in->sh;
    s->index = in->index;
    s->rng = big_seed(in->index);
    return 0;
}

static int big_send_ping(ax_ctx *ctx, big_state *s) {
    uint64_t x = xorshift64(&s->rng);
    uint32_t peer = (uint32_t)(x % BIG_ACTORS);
    if (peer == s->index) peer = (peer + 1) % BIG_ACTORS;
    s->expect = x;
    return send_u64(ctx, s->sh->refs[peer], M_PING, x, &s->sh->done);
}

static int big_receive(ax_ctx *ctx, void *state, const ax_msg *m) {
    big_state *s = state;
    big_shared *sh = s->sh;
    switch (m->type) {
    case M_PING: return reply_u64(ctx, M_PONG, msg_u64(m), &sh->done);
    case M_PONG: {
        uint64_t v = msg_u64(m);
        if (v != s->expect) {
            bench_done_fail(&sh->done, "big: actor %u got pong %llu, expected %llu",
                            (unsigned)s->index, (unsigned long long)v,
                            (unsigned long long)s->expect);
            return -1;
        }
        s->sum += v;
        if (++s->sent < sh->per) return big_send_ping(ctx, s);
        atomic_fetch_add_explicit(&sh->total, s->sum, memory_order_relaxed);
        if (atomic_fetch_add_explicit(&sh->finished, 1, memory_order_acq_rel) + 1 == BIG_ACTORS)
            bench_done_signal(&sh->done);
        return 0;
    }
    case M_GO: return big_send_ping(ctx, s);
    default: return unexpected(&sh->done, "big", m);
    }
}

static const ax_behavior big_behavior = {"big", sizeof(big_state), big_init_fn, big_receive, NULL};

void bench_big(ax_runtime *rt, const bench_params *p, bench_result *r) {
    uint64_t per = bench_scaled(10000, p->scale);
    memset(&big, 0, sizeof big);
    bench_done_init(&big.done);
    atomic_init(&big.finished, 0);
    atomic_init(&big.total, 0);
    big.per = per;
    for (uint32_t i = 0; i < BIG_ACTORS; i++) {
        big_init in = {.sh = &big, .index = i};
        big.refs[i] = bench_spawn(rt, &big_behavior, &in);
    }

    bench_measure_begin(r);
    for (uint32_t i = 0; i < BIG_ACTORS; i++) bench_send_u64(rt, big.refs[i], M_GO, 0);
    bench_done_wait(&big.done, "big");
    bench_measure_end(r);

    uint64_t want = 0;
    for (uint32_t i = 0; i < BIG_ACTORS; i++) {
        uint64_t rng = big_seed(i);
        for (uint64_t k = 0; k < per; k++) want += xorshift64(&rng);
    }
    uint64_t total = atomic_load(&big.total);
    if (atomic_load(&big.finished) != BIG_ACTORS || total != want)
        bench_die("big: %u actors finished, checksum %llu, expected %u and %llu",
                  (unsigned)atomic_load(&big.finished), (unsigned long long)total,
                  (unsigned)BIG_ACTORS, (unsigned long long)want);
    r->n = per * BIG_ACTORS;
    r->checksum = total;
}
