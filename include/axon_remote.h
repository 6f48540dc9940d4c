/* SPDX-License-Identifier: MIT */
/* axon_remote.h: runtimes on several machines as one system: a runtime joins a cluster as a node
 * over NATS, and refs, names, asks, links and monitors reach across nodes. Library axon_remote. */
#ifndef AXON_REMOTE_H
#define AXON_REMOTE_H

#include "axon.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A runtime's membership of a cluster. Opaque; valid until its runtime is destroyed. */
typedef struct ax_remote ax_remote;

typedef struct ax_remote_config {
    const char *cluster;          /* the cluster's name: 1 to 32 letters, digits, '-' or '_';
                                     clusters sharing NATS servers do not see each other;
                                     default "axon" */
    const char *const *servers;   /* NATS server URLs (nats://host:port), tried in turn and on
                                     reconnect; NULL: nats://127.0.0.1:4222 */
    int nservers;
    /* Passed through to the NATS client (all optional): */
    const char *user, *password;  /* user and password */
    const char *token;            /* an authentication token */
    const char *creds_file;       /* a credentials file (user JWT and NKey seed) */
    const char *ca_file;          /* TLS, trusting this CA */
    int tls;                      /* non-zero: TLS required */
    /* Failure detection: a node that is silent for down_after_ms (no heartbeat, no frame) is
     * down; nodes send a heartbeat every heartbeat_ms. Defaults 100 and 1000; at least 10 and
     * 2 * heartbeat_ms, at most 60000 and 3600000. */
    int heartbeat_ms;
    int down_after_ms;
    int window_kib;               /* bytes sent to one node and not yet acknowledged before a
                                     send to it gets AX_EFULL, in KiB; default 16384 (16 MiB) */
    int connect_timeout_ms;       /* the first connection; default 2000 */
    int reserved[4];              /* zero */
} ax_remote_config;

/* Joins rt to a cluster as node ax_config.node (which must not be 0, and must be unique in the
 * cluster): connects to NATS, announces the node and starts the heartbeat. From then on a send
 * (ax_send, ax_msg_send, ax_reply, ax_ask, timers), link or monitor to a ref of another node is
 * carried there, once that node is up (see ax_remote_wait_node). The NATS client reconnects by
 * itself, to the same or another server, keeping the node's identity. A thread outside the
 * runtime; it blocks while connecting. Errors: AX_EINVAL (rt, out NULL, node 0, a bad cluster
 * name, an option out of range, a reserved field not zero), AX_ECONTEXT (a handler),
 * AX_ETIMEDOUT (no server answered), AX_ENOTSUP (the client refused an option or the server
 * refused the connection: a missing credentials file, a wrong password), AX_ESHUTDOWN (rt's
 * shutdown began), AX_EEXIST (rt joined already, even if it left), AX_ENOMEM. Failures of the
 * NATS client's own allocations are AX_ENOMEM in every call here that talks to NATS. */
AX_API int ax_remote_join(ax_runtime *rt, const ax_remote_config *cfg, ax_remote **out);

/* Leaves the cluster: other nodes see this node down at once (their monitors of its actors get
 * DOWN with AX_REASON_NODEDOWN, their links exits), this node sees every other one down, and
 * sends to other nodes fail with AX_ENOACTOR from now on. Messages still in flight are reported
 * lost (dead letters, AX_DEAD_LOST). ax_runtime_destroy leaves if the program did not. A thread
 * outside the runtime. Errors: AX_EINVAL (NULL), AX_ENOENT (left already), AX_ECONTEXT. */
AX_API int ax_remote_leave(ax_remote *r);

/* True (1) when node is up: this node has heard it within down_after_ms. */
AX_API int ax_remote_node_up(ax_remote *r, uint32_t node);

/* Waits until node is up. A thread outside the runtime. Errors: AX_EINVAL (NULL, node 0 or
 * above AX_NODE_MAX), AX_ETIMEDOUT, AX_ENOENT (left), AX_ECONTEXT. */
AX_API int ax_remote_wait_node(ax_remote *r, uint32_t node, int64_t timeout_ms);

/* Names across the cluster: a name is registered on one node, for one of its actors, and any node
 * looks it up by asking the cluster; the node that holds it answers. The name goes when its actor
 * stops (as with ax_register, which it uses: an actor has one name) or on ax_remote_unregister.
 * Names: 1 to AX_NAME_MAX letters, digits, '-' or '_'. These calls talk to NATS and wait, so they
 * are for threads outside the runtime (a handler can use ax_run_blocking).
 *
 * Registers name for ref, an actor of this node, after asking the cluster whether a node holds it
 * already. (Two nodes registering one name in the same instant may both succeed: a lookup then
 * gets either.) Errors: AX_EINVAL (r or name NULL, a ref of another node), AX_ENAMETOOLONG (empty,
 * too long, or another character), AX_EEXIST (a node holds the name, or the actor has a name
 * already), AX_ENOACTOR (ref is not alive), AX_ENOENT (this node left), AX_ECONTEXT (a handler),
 * AX_ENOMEM. */
AX_API int ax_remote_register(ax_remote *r, const char *name, ax_ref ref);
/* Removes a name this node registered. Errors: AX_EINVAL (NULL), AX_ENAMETOOLONG, AX_ENOENT (not
 * registered here, or this node left), AX_ECONTEXT. */
AX_API int ax_remote_unregister(ax_remote *r, const char *name);
/* The ref registered cluster-wide under name, asked of the node that holds it: waits up to
 * timeout_ms for the answer, and marks that node up. Errors: AX_EINVAL (NULL), AX_ENAMETOOLONG,
 * AX_ENOENT (no node holds the name, or this node left), AX_ETIMEDOUT (a holder did not answer in
 * time), AX_ECONTEXT. */
AX_API int ax_remote_whereis(ax_remote *r, const char *name, int64_t timeout_ms, ax_ref *out);

/* What this node's transport did, counted since join. */
typedef struct ax_remote_stats {
    uint64_t msgs_out;     /* messages handed to NATS for other nodes */
    uint64_t msgs_in;      /* messages from other nodes delivered here */
    uint64_t frames_out;   /* NATS publishes of message frames */
    uint64_t frames_in;
    uint64_t lost;         /* messages sent from here reported lost (AX_DEAD_LOST) */
    uint64_t bounced;      /* messages sent from here that the receiving node could not deliver
                              (a stale ref, a full mailbox), made dead letters here */
    uint64_t refused_in;   /* messages from other nodes that could not be delivered here */
    uint64_t nodes_down;   /* times a node was seen to go down */
    uint64_t reconnects;   /* NATS reconnections */
    uint64_t malformed;    /* NATS messages dropped as not axon's */
} ax_remote_stats;
/* Fills *out with this node's counters. Any thread. Errors: AX_EINVAL (NULL). */
AX_API int ax_remote_stats_get(ax_remote *r, ax_remote_stats *out);

#ifdef __cplusplus
}
#endif

#endif
