/* SPDX-License-Identifier: MIT */
/* parser.c: the HTTP/1.1 request parser of parser.h, after RFC 9112 (message syntax) and RFC
 * 9110 (fields). Strict where leniency lets two parsers disagree about where a request ends
 * (request smuggling): lines end in CRLF, no obs-fold, no whitespace before a colon, one
 * framing (Content-Length or chunked), one Host. Every length is checked before it is used. */
#include "http/parser.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* tchar of RFC 9110 5.6.2: the characters of a token (method, field name). */
static bool is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte that may appear in a head at all: visible, blank, obs-text, or the CRLF ends. */
static bool head_byte_ok(unsigned char c) { return c >= 0x20 ? c != 0x7F : (c == '\t' || c == '\r' || c == '\n'); }

static bool span_ieq(struct http_span s, const char *lit) {
    size_t n = strlen(lit);
    if (s.n != n) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char a = (unsigned char)s.p[i], b = (unsigned char)lit[i];
        if (a >= 'A' && a <= 'Z') a = (unsigned char)(a + 32);
        if (b >= 'A' && b <= 'Z') b = (unsigned char)(b + 32);
        if (a != b) return false;
    }
    return true;
}

/* Whether the comma-separated list in v holds `token` (case-insensitive). */
static bool list_has(struct http_span v, const char *token) {
    size_t i = 0;
    while (i < v.n) {
        while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ',')) i++;
        size_t start = i;
        while (i < v.n && v.p[i] != ',') i++;
        size_t end = i;
        while (end > start && (v.p[end - 1] == ' ' || v.p[end - 1] == '\t')) end--;
        if (span_ieq((struct http_span){v.p + start, end - start}, token)) return true;
    }
    return false;
}

/* Content-Length: 1*DIGIT, at most 2^62 (far beyond any body limit, far from overflow). */
static bool parse_length(struct http_span v, uint64_t *out) {
    if (v.n == 0 || v.n > 19) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') return false;
        x = x * 10 + (uint64_t)(v.p[i] - '0');
    }
    if (x > ((uint64_t)1 << 62)) return false;
    *out = x;
    return true;
}

/* The request line at p[0..n) (without its CRLF). */
static int parse_request_line(const char *p, size_t n, struct http_request *req) {
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i])) i++;
    if (i == 0 || i >= n || p[i] != ' ') return HTTP_BAD_REQUEST;
    req->method = (struct http_span){p, i};
    size_t t = ++i;
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7F) i++;
    if (i == t || i >= n || p[i] != ' ') return HTTP_BAD_REQUEST;
    req->target = (struct http_span){p + t, i - t};
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/", 5) != 0) return HTTP_BAD_REQUEST;
    char major = p[i + 5], dot = p[i + 6], minor = p[i + 7];
    if (major < '0' || major > '9' || dot != '.' || minor < '0' || minor > '9')
        return HTTP_BAD_REQUEST;
    if (major != '1') return HTTP_VERSION;
    req->minor = minor == '0' ? 0 : 1; /* 1.x beyond 1.1 is answered as 1.1 */
    return 0;
}

/* A field line at p[0..n) (without its CRLF). */
static int parse_field(const char *p, size_t n, struct http_request *req) {
    if (n && (p[0] == ' ' || p[0] == '\t')) return HTTP_BAD_REQUEST; /* obs-fold */
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i])) i++;
    if (i == 0 || i >= n || p[i] != ':') return HTTP_BAD_REQUEST;
    if (req->nheaders == HTTP_MAX_HEADERS) return HTTP_HEADERS_TOO_LARGE;
    size_t v = i + 1, e = n;
    while (v < e && (p[v] == ' ' || p[v] == '\t')) v++;
    while (e > v && (p[e - 1] == ' ' || p[e - 1] == '\t')) e--;
    for (size_t k = v; k < e; k++)
        if (p[k] == '\r' || p[k] == '\n') return HTTP_BAD_REQUEST;
    req->headers[req->nheaders++] =
        (struct http_header){{p, i}, {p + v, e - v}};
    return 0;
}

/* What the fields say about framing and the connection. */
static int interpret(struct http_request *req) {
    req->keep_alive = req->minor == 1;
    int hosts = 0;
    bool has_te = false;
    for (size_t k = 0; k < req->nheaders; k++) {
        const struct http_header *h = &req->headers[k];
        if (span_ieq(h->name, "host")) {
            hosts++;
        } else if (span_ieq(h->name, "content-length")) {
            uint64_t x;
            if (!parse_length(h->value, &x)) return HTTP_BAD_REQUEST;
            if (req->has_length && x != req->content_length) return HTTP_BAD_REQUEST;
            req->has_length = true;
            req->content_length = x;
        } else if (span_ieq(h->name, "transfer-encoding")) {
            if (has_te) return HTTP_BAD_REQUEST;
            has_te = true;
            if (!span_ieq(h->value, "chunked")) return HTTP_NOT_IMPLEMENTED;
            req->chunked = true;
        } else if (span_ieq(h->name, "connection")) {
            if (list_has(h->value, "close")) req->keep_alive = false;
            else if (list_has(h->value, "keep-alive")) req->keep_alive = true;
        }
    }
    if (hosts > 1 || (req->minor == 1 && hosts == 0)) return HTTP_BAD_REQUEST;
    if (has_te && (req->has_length || req->minor == 0)) return HTTP_BAD_REQUEST;
    return 0;
}

int http_parse_head(const char *buf, size_t len, size_t max_head, struct http_request *req) {
    memset(req, 0, sizeof *req);
    if (max_head > HTTP_MAX_HEAD) max_head = HTTP_MAX_HEAD; /* a length fits the int result */
    size_t limit = len < max_head ? len : max_head;
    size_t i = 0;
    while (i + 1 < limit && buf[i] == '\r' && buf[i + 1] == '\n') i += 2; /* empty lines */
    size_t line = i;
    bool first = true;
    for (; i < limit; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (!head_byte_ok(c)) return HTTP_BAD_REQUEST;
        if (c == '\n') return HTTP_BAD_REQUEST; /* a LF that does not follow a CR */
        if (c != '\r') continue;
        if (i + 1 >= limit) break; /* the LF has not arrived (or does not fit) */
        if (buf[i + 1] != '\n') return HTTP_BAD_REQUEST;
        size_t n = i - line;
        int rc;
        if (first) {
            rc = parse_request_line(buf + line, n, req);
            first = false;
        } else if (n == 0) {
            rc = interpret(req);
            return rc ? rc : (int)(i + 2);
        } else {
            rc = parse_field(buf + line, n, req);
        }
        if (rc) return rc;
        i++; /* past the LF */
        line = i + 1;
    }
    return len >= max_head ? HTTP_HEADERS_TOO_LARGE : HTTP_INCOMPLETE;
}

const struct http_header *http_header_find(const struct http_request *req, const char *name) {
    for (size_t k = 0; k < req->nheaders; k++)
        if (span_ieq(req->headers[k].name, name)) return &req->headers[k];
    return NULL;
}

/* ---- chunked ------------------------------------------------------------------------------ */

enum { C_SIZE, C_EXT, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF, C_TRAILER, C_TRAILER_LINE,
       C_TRAILER_LF, C_FINAL_LF, C_DONE };

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long http_chunked_decode(struct http_chunked *c, char *buf, size_t len, uint64_t max_body,
                         size_t *data, bool *done) {
    size_t i = 0, w = 0;
    *done = c->state == C_DONE;
    while (i < len && c->state != C_DONE) {
        char ch = buf[i];
        switch (c->state) {
        case C_SIZE: {
            int h = hexval(ch);
            if (h >= 0) {
                if (c->size_digits == 15) return HTTP_TOO_LARGE; /* 2^60 and beyond */
                c->left = c->left * 16 + (uint64_t)h;
                c->size_digits++;
                i++;
                break;
            }
            if (c->size_digits == 0) return HTTP_BAD_REQUEST;
            if (c->total > max_body || c->left > max_body - c->total) return HTTP_TOO_LARGE;
            if (ch == ';' || ch == ' ' || ch == '\t') c->state = C_EXT;
            else if (ch == '\r') c->state = C_SIZE_LF;
            else return HTTP_BAD_REQUEST;
            i++;
            break;
        }
        case C_EXT: /* chunk extensions are skipped: visible bytes and blanks up to the CR */
            if (ch == '\r') c->state = C_SIZE_LF;
            else if ((unsigned char)ch < 0x20 && ch != '\t') return HTTP_BAD_REQUEST;
            i++;
            break;
        case C_SIZE_LF:
            if (ch != '\n') return HTTP_BAD_REQUEST;
            c->state = c->left ? C_DATA : C_TRAILER;
            c->size_digits = 0;
            i++;
            break;
        case C_DATA: {
            size_t n = len - i;
            if ((uint64_t)n > c->left) n = (size_t)c->left;
            memmove(buf + w, buf + i, n);
            w += n;
            i += n;
            c->left -= n;
            c->total += n;
            if (c->left == 0) c->state = C_DATA_CR;
            break;
        }
        case C_DATA_CR:
            if (ch != '\r') return HTTP_BAD_REQUEST;
            c->state = C_DATA_LF;
            i++;
            break;
        case C_DATA_LF:
            if (ch != '\n') return HTTP_BAD_REQUEST;
            c->state = C_SIZE;
            i++;
            break;
        case C_TRAILER: /* a trailer field line, or the CRLF that ends the body */
            if (ch == '\r') c->state = C_FINAL_LF;
            else if ((unsigned char)ch < 0x20 && ch != '\t') return HTTP_BAD_REQUEST;
            else c->state = C_TRAILER_LINE;
            i++;
            break;
        case C_TRAILER_LINE:
            if (ch == '\r') c->state = C_TRAILER_LF;
            else if (((unsigned char)ch < 0x20 && ch != '\t') || ch == 0x7F) return HTTP_BAD_REQUEST;
            i++;
            break;
        case C_TRAILER_LF:
            if (ch != '\n') return HTTP_BAD_REQUEST;
            c->state = C_TRAILER;
            i++;
            break;
        case C_FINAL_LF:
            if (ch != '\n') return HTTP_BAD_REQUEST;
            c->state = C_DONE;
            i++;
            break;
        default:
            return HTTP_BAD_REQUEST;
        }
    }
    *data = w;
    *done = c->state == C_DONE;
    return (long)i;
}

/* ---- responses ---------------------------------------------------------------------------- */

const char *http_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

void http_date(int64_t t, char out[30]) {
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        tt = 0;
        gmtime_r(&tt, &tm);
    }
    char tmp[64]; /* the fields are in range, so 29 bytes; the compiler cannot know that */
    snprintf(tmp, sizeof tmp, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    memcpy(out, tmp, 29);
    out[29] = '\0';
}

/* Appends n bytes at *w if they fit before end; false (and nothing written) if not. */
static bool put(char **w, const char *end, const char *s, size_t n) {
    if ((size_t)(end - *w) < n) return false;
    memcpy(*w, s, n);
    *w += n;
    return true;
}
#define PUT(w, end, lit) put(w, end, lit, sizeof(lit) - 1)

size_t http_write_head(char *out, size_t cap, int status, const char *type, size_t body_len,
                       bool keep_alive, const char *date) {
    if (status < 100 || status > 999) return 0;
    char *w = out;
    const char *end = out + cap;
    const char *reason = http_reason(status);
    char code[4] = {(char)('0' + status / 100), (char)('0' + status / 10 % 10),
                    (char)('0' + status % 10), ' '};
    char digits[24]; /* Content-Length, written backwards */
    size_t nd = 0;
    do digits[sizeof digits - 1 - nd++] = (char)('0' + body_len % 10);
    while ((body_len /= 10) != 0);
    bool ok = PUT(&w, end, "HTTP/1.1 ") && put(&w, end, code, 4) &&
              put(&w, end, reason, strlen(reason)) && PUT(&w, end, "\r\nServer: axon\r\nDate: ") &&
              put(&w, end, date, 29) && PUT(&w, end, "\r\n") &&
              (!type || (PUT(&w, end, "Content-Type: ") && put(&w, end, type, strlen(type)) &&
                         PUT(&w, end, "\r\n"))) &&
              PUT(&w, end, "Content-Length: ") &&
              put(&w, end, digits + sizeof digits - nd, nd) &&
              (keep_alive ? PUT(&w, end, "\r\n\r\n") : PUT(&w, end, "\r\nConnection: close\r\n\r\n"));
    return ok ? (size_t)(w - out) : 0;
}

size_t http_write_response(char *out, size_t cap, int status, const char *type,
                           const void *body, size_t body_len, bool keep_alive, const char *date) {
    size_t n = http_write_head(out, cap, status, type, body_len, keep_alive, date);
    if (n == 0 || body_len > cap - n) return 0;
    if (body_len) memcpy(out + n, body, body_len);
    return n + body_len;
}
