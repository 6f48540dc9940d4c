/* SPDX-License-Identifier: MIT */
/* addr.c: socket addresses as text: "host:port" split and parsed into a sockaddr (numeric hosts
 * only: names resolve in resolve.c), and ax_addr to and from "IPv4:port" and "[IPv6]:port". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/socket_int.h"

_Static_assert(sizeof(((ax_addr *)0)->storage) == sizeof(struct sockaddr_storage) &&
                   _Alignof(ax_addr) >= _Alignof(struct sockaddr_storage),
               "ax_addr holds a sockaddr_storage");

int sock_split_addr(const char *addr, char *host, size_t cap, int *port) {
    if (!addr) return AX_EINVAL;
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1]) return AX_EINVAL;
    char *end;
    errno = 0;
    long n = strtol(colon + 1, &end, 10);
    if (*end || errno || n < 0 || n > 65535 || colon[1] == '-' || colon[1] == '+' ||
        colon[1] == ' ')
        return AX_EINVAL;
    size_t hl = (size_t)(colon - addr);
    if (hl >= cap) return AX_EINVAL;
    memcpy(host, addr, hl);
    host[hl] = 0;
    *port = (int)n;
    return 0;
}

int sock_parse_addr(const char *addr, bool localhost, struct sockaddr_storage *sa,
                    socklen_t *len) {
    char host[64];
    int port, rc = sock_split_addr(addr, host, sizeof host, &port);
    if (rc) return rc;
    size_t hl = strlen(host);
    memset(sa, 0, sizeof *sa);
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    bool any = hl == 0 || strcmp(host, "*") == 0;
    if (any || (host[0] == '[' && hl > 2 && host[hl - 1] == ']')) {
        if (any) {
            v6->sin6_addr = in6addr_any;
        } else {
            host[hl - 1] = 0; /* the closing bracket */
            if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) != 1) return AX_EINVAL;
        }
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof *v6;
        return 0;
    }
    if (localhost && strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &v4->sin_addr) != 1) return AX_EINVAL;
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    *len = sizeof *v4;
    return 0;
}

int ax_addr_parse(const char *text, ax_addr *out) {
    if (!out) return AX_EINVAL;
    struct sockaddr_storage sa;
    socklen_t len;
    int rc = sock_parse_addr(text, true, &sa, &len);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    memcpy(out->storage, &sa, len);
    out->len = len;
    return 0;
}

int ax_addr_format(const ax_addr *addr, char *buf, size_t cap) {
    if (!addr || !buf) return AX_EINVAL;
    const struct sockaddr *sa = (const struct sockaddr *)(const void *)addr->storage;
    char host[INET6_ADDRSTRLEN], text[AX_ADDR_STRLEN];
    int n;
    if (sa->sa_family == AF_INET && addr->len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        n = snprintf(text, sizeof text, "%s:%u", host, (unsigned)ntohs(v4->sin_port));
    } else if (sa->sa_family == AF_INET6 && addr->len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        n = snprintf(text, sizeof text, "[%s]:%u", host, (unsigned)ntohs(v6->sin6_port));
    } else {
        return AX_EINVAL;
    }
    if (n < 0 || (size_t)n >= cap) return AX_EINVAL;
    memcpy(buf, text, (size_t)n + 1);
    return 0;
}
