/* SPDX-License-Identifier: MIT */
/* names.c: names across the cluster, answered by the node that holds them: a lookup is a NATS
 * request on axon.<cluster>.name.<name>, and the holder answers from its own registry (so a name
 * goes when its actor stops, as a local one does). A JetStream key-value bucket would have made
 * registration atomic across nodes, but it would put JetStream in every deployment, keep names
 * of dead nodes until someone removed them, and cost a server round trip to register as well. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote/alloc.h"
#include "remote/remote.h"

struct name_entry {
    struct name_entry *next;
    ax_remote *r;
    natsSubscription *sub;
    _Atomic bool gone; /* its actor stopped: unsubscribed at the next tick */
    ax_ref ref;
    char name[AX_NAME_MAX + 1];
};

bool remote_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static int check_name(const char *name) {
    if (!name) return AX_EINVAL;
    size_t n = strnlen(name, AX_NAME_MAX + 1);
    if (n == 0 || n > AX_NAME_MAX) return AX_ENAMETOOLONG;
    for (size_t i = 0; i < n; i++)
        if (!remote_name_char(name[i])) return AX_ENAMETOOLONG;
    return 0;
}

static void subject_of(const ax_remote *r, const char *name, char *out, size_t cap) {
    snprintf(out, cap, "axon.%s.name.%s", r->cluster, name);
}

static int64_t clamp_ms(int64_t ms) { return ms < 0 ? 0 : ms > 86400000 ? 86400000 : ms; }

/* Answers a lookup of a name held here, if its actor is still alive; silence otherwise, so
 * that the asker hears the node that does hold it (or no one). */
static void on_lookup(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)sub;
    struct name_entry *e = closure;
    ax_remote *r = e->r;
    if (!remote_cb_enter(r)) {
        natsMsg_Destroy(msg);
        return;
    }
    ax_ref ref;
    const char *reply = natsMsg_GetReply(msg);
    if (ax_whereis(r->rt, e->name, &ref) == 0 && ax_ref_eq(ref, e->ref)) {
        struct wire_name a = {WIRE_NAME_MAGIC, (uint16_t)r->node, 1, r->incarnation, ref.id};
        if (reply) natsConnection_Publish(nc, reply, &a, sizeof a);
    } else {
        atomic_store_explicit(&e->gone, true, memory_order_release);
    }
    natsMsg_Destroy(msg);
    remote_cb_leave(r);
}

/* Asks the cluster who holds name: 0 and *out, AX_ENOENT, AX_ETIMEDOUT. */
static int ask_holder(ax_remote *r, const char *name, int64_t timeout_ms, ax_ref *out) {
    char subject[128];
    subject_of(r, name, subject, sizeof subject);
    natsMsg *reply = NULL;
    natsStatus s = natsConnection_Request(&reply, r->conn, subject, NULL, 0, clamp_ms(timeout_ms));
    if (s == NATS_NO_RESPONDERS) return AX_ENOENT;
    if (s == NATS_TIMEOUT) return AX_ETIMEDOUT;
    if (s != NATS_OK) return s == NATS_NO_MEMORY ? AX_ENOMEM : AX_ETIMEDOUT;
    struct wire_name a;
    int rc = AX_ENOENT;
    if (natsMsg_GetDataLength(reply) == sizeof a) {
        memcpy(&a, natsMsg_GetData(reply), sizeof a);
        if (a.magic == WIRE_NAME_MAGIC && a.found && a.node != 0 && a.node <= AX_NODE_MAX &&
            ax_ref_node((ax_ref){a.ref}) == a.node && a.incarnation != 0) {
            *out = (ax_ref){a.ref};
            rc = 0;
            if (a.node != r->node) {
                struct peer *p = remote_peer(r, a.node);
                if (p) remote_heard(r, p, a.incarnation); /* it just answered: it is up */
            }
        } else {
            atomic_fetch_add_explicit(&r->stats.malformed, 1, memory_order_relaxed);
        }
    }
    natsMsg_Destroy(reply);
    return rc;
}

/* Registration and lookups ask NATS and wait: not in a handler, and not after leaving. On
 * success the caller holds api_lock (read) until it is done with the connection, which leave
 * waits for before it closes it. */
static int check_caller(ax_remote *r, const char *name) {
    if (!r) return AX_EINVAL;
    if (ax_transport_on_worker(r->rt)) return AX_ECONTEXT;
    int rc = check_name(name);
    if (rc) return rc;
    pthread_rwlock_rdlock(&r->api_lock);
    if (!atomic_load_explicit(&r->left, memory_order_acquire)) return 0;
    pthread_rwlock_unlock(&r->api_lock);
    return AX_ENOENT;
}

static int register_name(ax_remote *r, const char *name, ax_ref ref) {
    if (ax_ref_node(ref) != r->node) return AX_EINVAL;
    int rc;
    ax_ref other;
    rc = ask_holder(r, name, r->heartbeat_ns / 1000000 * 2, &other);
    if (rc == 0) return AX_EEXIST;
    if (rc != AX_ENOENT && rc != AX_ETIMEDOUT) return rc;
    struct name_entry *e = remote_calloc(1, sizeof *e);
    if (!e) return AX_ENOMEM;
    e->r = r;
    e->ref = ref;
    memcpy(e->name, name, strlen(name) + 1);
    if ((rc = ax_register(r->rt, name, ref)) != 0) {
        free(e);
        return rc;
    }
    char subject[128];
    subject_of(r, name, subject, sizeof subject);
    pthread_mutex_lock(&r->names_lock);
    natsStatus s = natsConnection_Subscribe(&e->sub, r->conn, subject, on_lookup, e);
    if (s == NATS_OK) s = natsConnection_FlushTimeout(r->conn, 2000);
    if (s == NATS_OK) {
        e->next = r->names;
        r->names = e;
    }
    pthread_mutex_unlock(&r->names_lock);
    if (s != NATS_OK) {
        if (e->sub) {
            natsSubscription_Unsubscribe(e->sub);
            natsSubscription_Destroy(e->sub);
        }
        ax_unregister(r->rt, name);
        free(e);
        return s == NATS_NO_MEMORY ? AX_ENOMEM : AX_ETIMEDOUT;
    }
    return 0;
}

/* Takes the entry named name (or, with name NULL, the first gone one) off the list. */
static struct name_entry *take(ax_remote *r, const char *name) {
    struct name_entry **p = &r->names;
    while (*p && (name ? strcmp((*p)->name, name) != 0
                       : !atomic_load_explicit(&(*p)->gone, memory_order_acquire)))
        p = &(*p)->next;
    struct name_entry *e = *p;
    if (e) *p = e->next;
    return e;
}

/* Unsubscribes (names_lock held); the entry's memory waits for release, since a callback may
 * still be reading it. */
static void retire(ax_remote *r, struct name_entry *e) {
    natsSubscription_Unsubscribe(e->sub);
    e->next = r->names_retired;
    r->names_retired = e;
}

int ax_remote_register(ax_remote *r, const char *name, ax_ref ref) {
    int rc = check_caller(r, name);
    if (rc) return rc;
    rc = register_name(r, name, ref);
    pthread_rwlock_unlock(&r->api_lock);
    return rc;
}

int ax_remote_unregister(ax_remote *r, const char *name) {
    int rc = check_caller(r, name);
    if (rc) return rc;
    pthread_mutex_lock(&r->names_lock);
    struct name_entry *e = take(r, name);
    if (e) retire(r, e);
    pthread_mutex_unlock(&r->names_lock);
    /* Once the server has the unsubscription (a flush's round trip), no lookup reaches us. */
    if (e) natsConnection_FlushTimeout(r->conn, 2000);
    pthread_rwlock_unlock(&r->api_lock);
    if (!e) return AX_ENOENT;
    ax_ref now;
    if (ax_whereis(r->rt, name, &now) == 0 && ax_ref_eq(now, e->ref)) ax_unregister(r->rt, name);
    return 0;
}

int ax_remote_whereis(ax_remote *r, const char *name, int64_t timeout_ms, ax_ref *out) {
    if (!out) return AX_EINVAL;
    int rc = check_caller(r, name);
    if (rc) return rc;
    rc = ask_holder(r, name, timeout_ms, out);
    pthread_rwlock_unlock(&r->api_lock);
    return rc;
}

void names_tick(ax_remote *r) {
    pthread_mutex_lock(&r->names_lock);
    struct name_entry *e;
    while ((e = take(r, NULL)) != NULL) retire(r, e);
    pthread_mutex_unlock(&r->names_lock);
}

void names_unsubscribe_all(ax_remote *r) {
    pthread_mutex_lock(&r->names_lock);
    for (struct name_entry *e = r->names; e; e = e->next) natsSubscription_Unsubscribe(e->sub);
    pthread_mutex_unlock(&r->names_lock);
}

static void free_list(struct name_entry *e) {
    while (e) {
        struct name_entry *next = e->next;
        natsSubscription_Destroy(e->sub);
        free(e);
        e = next;
    }
}

void names_free(ax_remote *r) {
    free_list(r->names);
    free_list(r->names_retired);
    r->names = r->names_retired = NULL;
}
