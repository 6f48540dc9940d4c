/* SPDX-License-Identifier: MIT */
/* nats_servers.h: nats-server processes for tests and benchmarks: on free loopback ports, alone
 * or routed into one cluster, stopped (or killed mid-test) by their pids, and killed with the
 * process that started them. Their logs go to /dev/null unless AX_TEST_NATS_LOG is set. */
#ifndef AX_TESTS_NATS_SERVERS_H
#define AX_TESTS_NATS_SERVERS_H

#include <stdbool.h>
#include <sys/types.h>

#define NATS_SERVERS_MAX 3

struct nats_servers {
    int n;
    pid_t pid[NATS_SERVERS_MAX];
    int port[NATS_SERVERS_MAX];
    int route_port[NATS_SERVERS_MAX];
    char url[NATS_SERVERS_MAX][40]; /* nats://127.0.0.1:port */
};

/* The nats-server program (NATS_SERVER in the environment, else /usr/sbin/nats-server), or NULL
 * if it is not there (then skip). */
const char *nats_server_path(void);
/* Starts n servers (1 to NATS_SERVERS_MAX), routed together when n > 1, and waits until each
 * accepts connections (and, clustered, until the routes are up). False on failure. A single
 * server reads the configuration file named by AX_TEST_NATS_CONFIG, if set. */
bool nats_servers_start(struct nats_servers *s, int n);
/* Kills server i at once (SIGKILL), as a crash would. */
void nats_servers_kill(struct nats_servers *s, int i);
/* Stops every server still running (SIGTERM, then waits). */
void nats_servers_stop(struct nats_servers *s);

#endif
