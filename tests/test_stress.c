/* SPDX-License-Identifier: MIT */
/* test_stress.c: millions of messages among thousands of actors, sent by external threads and by
 * actors, while a controller stops random actors and spawns replacements. Every send attempt is
 * accounted for exactly once: processed, refused at send (by code), or dead-lettered. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "axon.h"
#include "check.h"
#include "fixture.h"
#include "runner.h"

#if defined(__SANITIZE_ADDRESS__)
#define STRESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STRESS_ASAN 1
#endif
#endif

#if defined(AX_STRESS_BIG)
#define TOTAL_MSGS 50000000ULL
#define N_ACTORS 10000
#define INFLIGHT_MAX 200000
#elif defined(AX_TSAN)
#define TOTAL_MSGS 200000ULL
#define N_ACTORS 1000
#define INFLIGHT_MAX 20000
#elif defined(STRESS_ASAN)
#define TOTAL_MSGS 1000000ULL
#define N_ACTORS 2000
#define INFLIGHT_MAX 50000
#else
#define TOTAL_MSGS 10000000ULL
#define N_ACTORS 10000
#define INFLIGHT_MAX 200000
#endif

enum { SENDER_THREADS = 8, HOPS = 3, SHARDS = 64, MIN_REPLACEMENTS = 100, CODES = 256 };
/* Each initial message is forwarded HOPS times, so TOTAL_MSGS attempts need this many. */
#define INITIAL_PER_THREAD (TOTAL_MSGS / (HOPS + 1) / SENDER_THREADS)

struct payload {
    uint32_t hops;
    uint32_t origin;
    uint64_t stamp;
};

struct shard {
    _Alignas(64) atomic_ullong processed;
    atomic_ullong attempts;
    atomic_ullong refused;
};

static ax_runtime *g_rt;
static _Atomic ax_ref g_slots[N_ACTORS];
static struct shard g_shards[SHARDS];
static atomic_ullong g_refused_by_code[CODES]; /* index: -rc */
static atomic_ullong g_refused_odd;            /* codes outside the table */
static atomic_ullong g_handler_bad_codes;      /* handler sends refused for an unexpected reason */

/* Totals folded in by stopped hooks, to cross-check the shards (each hook runs exactly once). */
static atomic_ullong g_hook_processed, g_hook_attempts, g_hook_refused;
static atomic_ullong g_hooks, g_hook_bad_reason, g_inits;

static atomic_int g_senders_done;

static void count_refusal(int rc) {
    if (rc < 0 && rc > -CODES)
        atomic_fetch_add_explicit(&g_refused_by_code[-rc], 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&g_refused_odd, 1, memory_order_relaxed);
}

/* ---- the actors ------------------------------------------------------------------------- */

struct node_state {
    uint32_t idx;
    uint64_t rng;
    uint64_t processed, attempts, refused;
};

static int node_init(ax_ctx *ctx, void *state, const void *arg) {
    (void)ctx;
    struct node_state *s = state;
    s->idx = *(const uint32_t *)arg;
    s->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)s->idx << 20) ^
             (atomic_fetch_add_explicit(&g_inits, 1, memory_order_relaxed) + 1);
    return 0;
}

static int node_receive(ax_ctx *ctx, void *state, const ax_msg *msg) {
    struct node_state *s = state;
    struct shard *sh = &g_shards[s->idx % SHARDS];
    s->processed++;
    atomic_fetch_add_explicit(&sh->processed, 1, memory_order_relaxed);
    struct payload p;
    if (msg->size != sizeof p) {
        atomic_fetch_add(&g_handler_bad_codes, 1);
        return 0;
    }
    memcpy(&p, msg->data, sizeof p);
    if (p.hops == 0) return 0;
    p.hops--;
    ax_ref to = atomic_load_explicit(&g_slots[check_rand(&s->rng) % N_ACTORS], memory_order_relaxed);
    int rc = ax_send(ax_ctx_runtime(ctx), to, 1, &p, sizeof p);
    s->attempts++;
    atomic_fetch_add_explicit(&sh->attempts, 1, memory_order_relaxed);
    if (rc != 0) {
        s->refused++;
        atomic_fetch_add_explicit(&sh->refused, 1, memory_order_relaxed);
        count_refusal(rc);
        /* The target stopped, or (during shutdown) everything is stopping. */
        if (rc != AX_ENOACTOR && rc != AX_ESHUTDOWN) atomic_fetch_add(&g_handler_bad_codes, 1);
    }
    return 0;
}

static void node_stopped(ax_ctx *ctx, void *state, int reason) {
    (void)ctx;
    struct node_state *s = state;
    if (reason != AX_REASON_NORMAL && reason != AX_REASON_SHUTDOWN)
        atomic_fetch_add(&g_hook_bad_reason, 1);
    atomic_fetch_add(&g_hook_processed, s->processed);
    atomic_fetch_add(&g_hook_attempts, s->attempts);
    atomic_fetch_add(&g_hook_refused, s->refused);
    atomic_fetch_add(&g_hooks, 1);
}

static const ax_behavior node_b = {"node", sizeof(struct node_state), node_init, node_receive,
                                   node_stopped};

/* ---- external senders ------------------------------------------------------------------- */

struct sender_result {
    uint64_t attempts, refused, enoactor;
    int bad_rc;
};

/* Keeps the queued total bounded so memory stays small on a 2-core machine; the limit is on
 * volume, and the hang guard fails the test if the runtime makes no progress for 30 s. */
static void throttle(void) {
    ax_stats st;
    uint64_t last_progress = UINT64_MAX;
    int64_t last_change = check_now_ms();
    for (;;) {
        CHECK_OK(ax_stats_get(g_rt, &st));
        uint64_t done = st.processed + st.dead_letters;
        if (st.sent <= done || st.sent - done <= INFLIGHT_MAX) return;
        if (done != last_progress) {
            last_progress = done;
            last_change = check_now_ms();
        } else if (check_now_ms() - last_change > CHECK_HANG_GUARD_MS) {
            fprintf(stderr, "hang guard: no progress for %d ms (sent %llu, processed %llu, dead %llu)\n",
                    CHECK_HANG_GUARD_MS, (unsigned long long)st.sent,
                    (unsigned long long)st.processed, (unsigned long long)st.dead_letters);
            exit(1);
        }
        check_sleep_us(200);
    }
}

static void *sender_thread(void *arg) {
    struct sender_result *r = arg;
    uint64_t rng = 0x1234567ULL + (uint64_t)(uintptr_t)arg * 0x10001ULL;
    struct payload p = {HOPS, 0, 0};
    for (uint64_t i = 0; i < INITIAL_PER_THREAD; i++) {
        if ((i & 1023) == 0) throttle();
        ax_ref to = atomic_load_explicit(&g_slots[check_rand(&rng) % N_ACTORS], memory_order_relaxed);
        p.stamp = i;
        int rc = ax_send(g_rt, to, 1, &p, sizeof p);
        r->attempts++;
        if (rc != 0) {
            r->refused++;
            count_refusal(rc);
            if (rc == AX_ENOACTOR)
                r->enoactor++;
            else if (r->bad_rc == 0)
                r->bad_rc = rc; /* from outside, before shutdown, only a stopped target fails */
        }
    }
    return NULL;
}

/* ---- the controller: stops random actors and puts replacements in their slots ------------ */

static uint64_t g_replacements;

/* Each round stops a few actors, leaves their stale refs in the slots for a moment (so senders
 * meet actors that are stopping, and actors already gone: dead letters and AX_ENOACTOR), then
 * puts replacements in. */
enum { ROUND = 8 };

static void *controller_thread(void *arg) {
    (void)arg;
    uint64_t rng = 0xabcdef12345ULL;
    while (!atomic_load(&g_senders_done) || g_replacements < MIN_REPLACEMENTS) {
        uint32_t idx[ROUND];
        ax_ref old[ROUND];
        int n = 0;
        for (int k = 0; k < ROUND; k++) {
            uint32_t i = (uint32_t)(check_rand(&rng) % N_ACTORS);
            int dup = 0;
            for (int j = 0; j < n; j++) dup |= idx[j] == i;
            if (dup) continue;
            idx[n] = i;
            old[n] = atomic_load(&g_slots[i]);
            /* Only this thread stops actors and nothing fails them: the stop must succeed. */
            CHECK_OK(ax_stop(g_rt, old[n]));
            n++;
        }
        check_sleep_us(500);
        for (int k = 0; k < n; k++) {
            ax_ref fresh = AX_REF_NONE;
            CHECK_OK(ax_spawn(g_rt, &node_b, &idx[k], NULL, &fresh));
            CHECK(!ax_ref_is_none(fresh) && !ax_ref_eq(fresh, old[k]));
            atomic_store(&g_slots[idx[k]], fresh);
            g_replacements++;
        }
        check_sleep_us(200);
    }
    return NULL;
}

/* One run, start to end: the program is this one case. */
static void test_stress(void) {
    g_rt = fixture_runtime(2);
    for (uint32_t i = 0; i < N_ACTORS; i++) {
        ax_ref r = AX_REF_NONE;
        CHECK_OK(ax_spawn(g_rt, &node_b, &i, NULL, &r));
        atomic_store(&g_slots[i], r);
    }
    int64_t t0 = check_now_ms();

    pthread_t ctl, th[SENDER_THREADS];
    static struct sender_result res[SENDER_THREADS];
    CHECK_EQ(pthread_create(&ctl, NULL, controller_thread, NULL), 0);
    for (int i = 0; i < SENDER_THREADS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, sender_thread, &res[i]), 0);
    for (int i = 0; i < SENDER_THREADS; i++) pthread_join(th[i], NULL);
    atomic_store(&g_senders_done, 1);
    pthread_join(ctl, NULL);

    CHECK_OK(ax_runtime_shutdown(g_rt, 120000));
    int64_t t1 = check_now_ms();

    uint64_t ext_attempts = 0, ext_refused = 0, ext_enoactor = 0;
    for (int i = 0; i < SENDER_THREADS; i++) {
        if (res[i].bad_rc != 0)
            fprintf(stderr, "sender %d: unexpected refusal %d (%s)\n", i, res[i].bad_rc,
                    ax_strerror(res[i].bad_rc));
        CHECK_EQ(res[i].bad_rc, 0);
        CHECK_EQ(res[i].attempts, INITIAL_PER_THREAD);
        ext_attempts += res[i].attempts;
        ext_refused += res[i].refused;
        ext_enoactor += res[i].enoactor;
    }
    uint64_t act_processed = 0, act_attempts = 0, act_refused = 0;
    for (int i = 0; i < SHARDS; i++) {
        act_processed += atomic_load(&g_shards[i].processed);
        act_attempts += atomic_load(&g_shards[i].attempts);
        act_refused += atomic_load(&g_shards[i].refused);
    }
    ax_stats st;
    CHECK_OK(ax_stats_get(g_rt, &st));

    uint64_t attempts = ext_attempts + act_attempts;
    uint64_t refused = ext_refused + act_refused;
    uint64_t processed = act_processed;
    fprintf(stderr,
            "stress: %d actors, %llu replacements, %.1f s\n"
            "  attempts %llu (outside %llu, actors %llu)\n"
            "  processed %llu, refused %llu (ENOACTOR %llu, ESHUTDOWN %llu, other %llu), "
            "dead letters %llu\n"
            "  stats: sent %llu processed %llu dead %llu spawned %llu stopped %llu steals %llu "
            "parks %llu\n",
            N_ACTORS, (unsigned long long)g_replacements, (double)(t1 - t0) / 1000.0,
            (unsigned long long)attempts, (unsigned long long)ext_attempts,
            (unsigned long long)act_attempts, (unsigned long long)processed,
            (unsigned long long)refused,
            (unsigned long long)atomic_load(&g_refused_by_code[ESRCH]),
            (unsigned long long)atomic_load(&g_refused_by_code[ESHUTDOWN]),
            (unsigned long long)(refused - atomic_load(&g_refused_by_code[ESRCH]) -
                                 atomic_load(&g_refused_by_code[ESHUTDOWN])),
            (unsigned long long)st.dead_letters, (unsigned long long)st.sent,
            (unsigned long long)st.processed, (unsigned long long)st.dead_letters,
            (unsigned long long)st.spawned, (unsigned long long)st.stopped,
            (unsigned long long)st.steals, (unsigned long long)st.parks);
    (void)ext_enoactor;

    /* Every handler-side refusal had an expected code, and every refusal was tallied by code. */
    CHECK_EQ(atomic_load(&g_handler_bad_codes), 0);
    CHECK_EQ(atomic_load(&g_refused_odd), 0);
    uint64_t by_code = 0;
    for (int c = 0; c < CODES; c++) by_code += atomic_load(&g_refused_by_code[c]);
    CHECK_EQ(by_code, refused);

    /* The accounting identity: each attempt went exactly one way. */
    CHECK_EQ(attempts, processed + refused + st.dead_letters);
    CHECK_EQ(st.sent, attempts - refused);
    CHECK_EQ(st.processed, processed);

    /* Actors: every one spawned was stopped once, and its hook saw the same counts. */
    uint64_t spawned = N_ACTORS + g_replacements;
    CHECK_EQ(st.spawned, spawned);
    CHECK_EQ(st.stopped, spawned);
    CHECK_EQ(atomic_load(&g_inits), spawned);
    CHECK_EQ(atomic_load(&g_hooks), spawned);
    CHECK_EQ(atomic_load(&g_hook_bad_reason), 0);
    CHECK_EQ(atomic_load(&g_hook_processed), act_processed);
    CHECK_EQ(atomic_load(&g_hook_attempts), act_attempts);
    CHECK_EQ(atomic_load(&g_hook_refused), act_refused);
    /* Sanity of the workload size itself. */
    CHECK(attempts >= ext_attempts);
    CHECK_EQ(ext_attempts, INITIAL_PER_THREAD * SENDER_THREADS);

    fixture_destroy(g_rt);
}

TEST_MAIN(TEST_CASE(test_stress))
