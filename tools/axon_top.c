/* SPDX-License-Identifier: MIT */
/* axon_top.c: axon-top, a terminal view of a running axon program, like top: it polls the
 * program's introspection endpoint (ax_introspect_listen) once a second over plain HTTP and
 * shows the message rates, each worker's load and the busiest metered actors. Plain ANSI
 * escapes, no library; --once prints one frame (two polls, a second apart) without them.
 * Usage: axon-top [host:port] [--once] [--interval-ms N] [--top N] [--by depth|time|messages] */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- HTTP: one GET per connection, the whole answer read until the server closes ---------- */

static char *http_get(const char *host, const char *port, const char *path) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, port, &hints, &ai) != 0) return NULL;
    int fd = -1;
    for (struct addrinfo *p = ai; p && fd < 0; p = p->ai_next) {
        fd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (fd >= 0 && connect(fd, p->ai_addr, p->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0) return NULL;
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     path, host);
    if (n <= 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (ssize_t r = 1; buf && r > 0;) {
        if (len + 1 == cap) {
            char *more = realloc(buf, cap * 2);
            if (!more) break;
            buf = more;
            cap *= 2;
        }
        r = read(fd, buf + len, cap - len - 1);
        if (r > 0) len += (size_t)r;
        if (r < 0 && errno == EINTR) r = 1;
    }
    close(fd);
    if (!buf) return NULL;
    buf[len] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || !body) {
        free(buf);
        return NULL;
    }
    memmove(buf, body + 4, strlen(body + 4) + 1);
    return buf;
}

/* ---- JSON: just enough to walk the endpoint's own answers -------------------------------- */

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    return p;
}

/* The end of the value at p (a string, number, object or array); NULL if malformed. */
static const char *skip_value(const char *p) {
    p = skip_ws(p);
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1]) p++;
        return *p ? p + 1 : NULL;
    }
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                if (!(p = skip_value(p))) return NULL; /* the key */
                p = skip_ws(p);
                if (*p++ != ':') return NULL;
            }
            if (!(p = skip_value(p))) return NULL;
            p = skip_ws(p);
            if (*p == ',') {
                p = skip_ws(p + 1);
                continue;
            }
            return *p == close ? p + 1 : NULL;
        }
    }
    const char *start = p;
    while (*p && !strchr(",}] \n\r\t", *p)) p++;
    return p > start ? p : NULL;
}

/* The value of key in the object at obj (its own members only), or NULL. */
static const char *member(const char *obj, const char *key) {
    const char *p = skip_ws(obj);
    if (!p || *p != '{') return NULL;
    size_t klen = strlen(key);
    p = skip_ws(p + 1);
    while (*p == '"') {
        const char *k = p + 1, *end = skip_value(p);
        if (!end) return NULL;
        p = skip_ws(end);
        if (*p++ != ':') return NULL;
        p = skip_ws(p);
        if ((size_t)(end - 1 - k) == klen && memcmp(k, key, klen) == 0) return p;
        if (!(p = skip_value(p))) return NULL;
        p = skip_ws(p);
        if (*p == ',') p = skip_ws(p + 1);
    }
    return NULL;
}

static double num(const char *obj, const char *key) {
    const char *v = obj ? member(obj, key) : NULL;
    return v ? strtod(v, NULL) : 0;
}

/* Copies the string value of key (escapes kept as written) into out. */
static void str(const char *obj, const char *key, char *out, size_t max) {
    const char *v = obj ? member(obj, key) : NULL;
    out[0] = '\0';
    if (!v || *v != '"') return;
    const char *end = skip_value(v);
    size_t n = end ? (size_t)(end - v - 2) : 0;
    if (n >= max) n = max - 1;
    memcpy(out, v + 1, n);
    out[n] = '\0';
}

/* The i-th element of the array at arr, or NULL. */
static const char *element(const char *arr, int i) {
    const char *p = arr ? skip_ws(arr) : NULL;
    if (!p || *p != '[') return NULL;
    p = skip_ws(p + 1);
    for (int k = 0; *p && *p != ']'; k++) {
        if (k == i) return p;
        if (!(p = skip_value(p))) return NULL;
        p = skip_ws(p);
        if (*p == ',') p = skip_ws(p + 1);
    }
    return NULL;
}

/* ---- the screen -------------------------------------------------------------------------- */

#define MAX_WORKERS 256

struct sample {
    double t;         /* uptime, s */
    double sent, processed, dead, alive;
    double busy[MAX_WORKERS], tasks[MAX_WORKERS], steals[MAX_WORKERS], parks[MAX_WORKERS];
    int nworkers;
};

static void read_sample(const char *json, struct sample *s) {
    memset(s, 0, sizeof *s);
    s->t = num(json, "uptime_ns") / 1e9;
    const char *total = member(json, "total");
    s->sent = num(total, "messages_sent_total");
    s->processed = num(total, "messages_processed_total");
    s->dead = num(total, "dead_letters_total");
    s->alive = num(json, "actors_alive");
    const char *workers = member(json, "workers"), *w;
    for (int i = 0; i < MAX_WORKERS && (w = element(workers, i)) != NULL; i++) {
        s->busy[i] = num(w, "busy_ns") / 1e9;
        s->tasks[i] = num(w, "tasks_total");
        s->steals[i] = num(w, "steals_total");
        s->parks[i] = num(w, "parks_total");
        s->nworkers = i + 1;
    }
}

static double rate(double now, double before, double dt) { return dt > 0 ? (now - before) / dt : 0; }

static void draw(const char *target, const struct sample *cur, const struct sample *prev,
                 const char *actors_json, const char *by, bool ansi) {
    double dt = cur->t - prev->t;
    if (ansi) fputs("\033[H\033[2J", stdout);
    printf("axon-top %s   uptime %.1f s   actors %.0f   msgs/s %.0f   handled/s %.0f   "
           "dead letters %.0f\n\n",
           target, cur->t, cur->alive, rate(cur->sent, prev->sent, dt),
           rate(cur->processed, prev->processed, dt), cur->dead);
    printf("%-7s %6s %12s %10s %10s\n", "WORKER", "BUSY%", "TASKS/s", "STEALS/s", "PARKS/s");
    for (int i = 0; i < cur->nworkers; i++)
        printf("%-7d %6.1f %12.0f %10.0f %10.0f\n", i,
               100 * rate(cur->busy[i], prev->busy[i], dt),
               rate(cur->tasks[i], prev->tasks[i], dt), rate(cur->steals[i], prev->steals[i], dt),
               rate(cur->parks[i], prev->parks[i], dt));
    printf("\n%-20s %-16s %-12s %8s %8s %12s %10s %10s   (by %s)\n", "ACTOR", "NAME", "BEHAVIOR",
           "DEPTH", "PEAK", "MESSAGES", "P50 us", "P99 us", by);
    const char *list = member(actors_json, "actors"), *a;
    for (int i = 0; (a = element(list, i)) != NULL; i++) {
        char ref[24], name[72], behavior[40];
        str(a, "ref", ref, sizeof ref);
        str(a, "name", name, sizeof name);
        str(a, "behavior", behavior, sizeof behavior);
        const char *h = member(a, "handler");
        printf("%-20s %-16.16s %-12.12s %8.0f %8.0f %12.0f %10.2f %10.2f\n", ref,
               name[0] ? name : "-", behavior, num(a, "mailbox_depth"), num(a, "mailbox_peak"),
               num(a, "processed"), num(h, "p50_ns") / 1e3, num(h, "p99_ns") / 1e3);
    }
    fflush(stdout);
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void usage(void) {
    fprintf(stderr, "usage: axon-top [host:port] [--once] [--interval-ms N] [--top N] "
                    "[--by depth|time|messages]\n");
}

int main(int argc, char **argv) {
    const char *target = "127.0.0.1:9464", *by = "depth";
    bool once = false;
    long interval_ms = 1000, top = 15;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) once = true;
        else if (strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc) interval_ms = atol(argv[++i]);
        else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) top = atol(argv[++i]);
        else if (strcmp(argv[i], "--by") == 0 && i + 1 < argc) by = argv[++i];
        else if (argv[i][0] != '-') target = argv[i];
        else {
            usage();
            return 2;
        }
    }
    if (interval_ms < 100) interval_ms = 100;
    char host[256], port[16];
    const char *colon = strrchr(target, ':');
    if (!colon || (size_t)(colon - target) >= sizeof host || strlen(colon + 1) >= sizeof port) {
        usage();
        return 2;
    }
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = '\0';
    snprintf(port, sizeof port, "%s", colon + 1);
    char actors_path[128];
    snprintf(actors_path, sizeof actors_path, "/actors?by=%s&top=%ld", by, top);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    static struct sample prev, cur;
    char *json = http_get(host, port, "/metrics.json");
    if (!json) {
        fprintf(stderr, "axon-top: no answer from http://%s/metrics.json\n", target);
        return 1;
    }
    read_sample(json, &prev);
    free(json);
    bool ansi = !once;
    if (ansi) fputs("\033[?25l", stdout); /* hide the cursor */
    while (!g_stop) {
        struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        json = http_get(host, port, "/metrics.json");
        char *actors = http_get(host, port, actors_path);
        if (!json) {
            if (ansi) fputs("\033[?25h", stdout);
            fprintf(stderr, "axon-top: %s stopped answering\n", target);
            free(actors);
            return 1;
        }
        read_sample(json, &cur);
        draw(target, &cur, &prev, actors ? actors : "{}", by, ansi);
        prev = cur;
        free(json);
        free(actors);
        if (once) break;
    }
    if (ansi) fputs("\033[?25h\n", stdout);
    return 0;
}
