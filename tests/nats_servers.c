/* SPDX-License-Identifier: MIT */
/* nats_servers.c: see nats_servers.h. A server is ready when its client port takes a TCP
 * connection; a cluster when each server's monitoring page counts the other routes. */
#include "nats_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void nap_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* A port nobody listens on now (the server binds it right after: a small race). */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* Connects to port and sends request if given; returns what came back (up to cap - 1 bytes). */
static bool talk(int port, const char *request, char *reply, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (ok && request) ok = write(fd, request, strlen(request)) == (ssize_t)strlen(request);
    size_t got = 0;
    if (ok && reply) {
        ssize_t n;
        while (got + 1 < cap && (n = read(fd, reply + got, cap - 1 - got)) > 0) got += (size_t)n;
        reply[got] = '\0';
    }
    if (fd >= 0) close(fd);
    return ok;
}

const char *nats_server_path(void) {
    const char *p = getenv("NATS_SERVER");
    if (!p || !*p) p = "/usr/sbin/nats-server";
    return access(p, X_OK) == 0 ? p : NULL;
}

static int monitor_port[NATS_SERVERS_MAX];

bool nats_servers_start(struct nats_servers *s, int n) {
    const char *prog = nats_server_path();
    memset(s, 0, sizeof *s);
    if (!prog || n < 1 || n > NATS_SERVERS_MAX) return false;
    s->n = n;
    for (int i = 0; i < n; i++) {
        s->port[i] = free_port();
        s->route_port[i] = free_port();
        monitor_port[i] = free_port();
        snprintf(s->url[i], sizeof s->url[i], "nats://127.0.0.1:%d", s->port[i]);
    }
    for (int i = 0; i < n; i++) {
        char port[16], mport[16], cluster[64], routes[200] = "";
        snprintf(port, sizeof port, "%d", s->port[i]);
        snprintf(mport, sizeof mport, "%d", monitor_port[i]);
        snprintf(cluster, sizeof cluster, "nats://127.0.0.1:%d", s->route_port[i]);
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            size_t at = strlen(routes);
            snprintf(routes + at, sizeof routes - at, "%snats://127.0.0.1:%d", at ? "," : "",
                     s->route_port[j]);
        }
        pid_t pid = fork();
        if (pid < 0) return false;
        if (pid == 0) {
            /* Dies with the test that started it (a failed check exits at once), and keeps
             * its log out of the test's output (and out of ctest's pipe) unless asked. */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (!getenv("AX_TEST_NATS_LOG")) {
                int null = open("/dev/null", O_WRONLY);
                if (null >= 0) {
                    dup2(null, STDOUT_FILENO);
                    dup2(null, STDERR_FILENO);
                    close(null);
                }
            }
            if (n > 1)
                execl(prog, prog, "-a", "127.0.0.1", "-p", port, "-m", mport, "--cluster_name",
                      "axontest", "--cluster", cluster, "--routes", routes, (char *)NULL);
            else if (getenv("AX_TEST_NATS_CONFIG"))
                execl(prog, prog, "-c", getenv("AX_TEST_NATS_CONFIG"), "-a", "127.0.0.1", "-p",
                      port, "-m", mport, (char *)NULL);
            else
                execl(prog, prog, "-a", "127.0.0.1", "-p", port, "-m", mport, (char *)NULL);
            _exit(127);
        }
        s->pid[i] = pid;
    }
    for (int i = 0; i < n; i++) { /* each takes connections within 5 s */
        int tries = 0;
        while (!talk(s->port[i], NULL, NULL, 0) && ++tries < 500) nap_ms(10);
        if (tries == 500) {
            nats_servers_stop(s);
            return false;
        }
    }
    for (int i = 0; n > 1 && i < n; i++) { /* and, clustered, sees the others within 10 s */
        char want[32], page[8192];
        snprintf(want, sizeof want, "\"num_routes\": %d", n - 1);
        int tries = 0;
        for (; tries < 1000; tries++) {
            if (talk(monitor_port[i], "GET /routez HTTP/1.0\r\n\r\n", page, sizeof page) &&
                strstr(page, want))
                break;
            nap_ms(10);
        }
        if (tries == 1000) {
            nats_servers_stop(s);
            return false;
        }
    }
    return true;
}

void nats_servers_kill(struct nats_servers *s, int i) {
    if (i < 0 || i >= s->n || s->pid[i] <= 0) return;
    kill(s->pid[i], SIGKILL);
    waitpid(s->pid[i], NULL, 0);
    s->pid[i] = 0;
}

void nats_servers_stop(struct nats_servers *s) {
    for (int i = 0; i < s->n; i++) {
        if (s->pid[i] <= 0) continue;
        kill(s->pid[i], SIGTERM);
        waitpid(s->pid[i], NULL, 0);
        s->pid[i] = 0;
    }
}
