/* SPDX-License-Identifier: MIT */
/* parser.h: an HTTP/1.1 request parser that copies nothing and allocates nothing: the head of
 * a request (RFC 9112 request line and header fields) and the chunked transfer coding, fed as
 * bytes arrive, with limits on every size. Written for the I/O layer's HTTP server and fuzzed. */
#ifndef AX_HTTP_PARSER_H
#define AX_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 32
#define HTTP_MAX_HEAD (1 << 30) /* max_head beyond this is taken as this */

/* Results of the parsers besides a length: more bytes are needed, or the request is refused
 * with the status the server answers before it closes the connection. */
enum http_result {
    HTTP_INCOMPLETE = 0,
    HTTP_BAD_REQUEST = -400,        /* malformed */
    HTTP_TOO_LARGE = -413,          /* a body (or chunk) beyond the limit */
    HTTP_HEADERS_TOO_LARGE = -431,  /* the head beyond its limit, or too many fields */
    HTTP_NOT_IMPLEMENTED = -501,    /* a transfer coding other than chunked */
    HTTP_VERSION = -505             /* not HTTP/1.0 or HTTP/1.1 */
};

struct http_span {
    const char *p; /* into the caller's buffer */
    size_t n;
};

struct http_header {
    struct http_span name, value; /* value without surrounding blanks */
};

struct http_request {
    struct http_span method, target;
    int minor;                  /* HTTP/1.<minor>: 0 or 1 */
    bool keep_alive;            /* 1.1 unless "Connection: close"; 1.0 only with keep-alive */
    bool chunked;               /* Transfer-Encoding: chunked */
    bool has_length;            /* Content-Length present */
    uint64_t content_length;
    size_t nheaders;
    struct http_header headers[HTTP_MAX_HEADERS];
};

/* Parses the head of the request at buf[0..len): returns its length (through the empty line)
 * with *req filled, HTTP_INCOMPLETE if the head has not all arrived (and fits in max_head), or a
 * negative http_result. Refused: a head longer than max_head or with more than HTTP_MAX_HEADERS
 * fields (431), malformed syntax, control bytes, NUL, a bare LF inside a field, an obs-fold,
 * a missing or repeated Host in 1.1, a Content-Length that is not a decimal number or differs
 * between repeats, both Content-Length and Transfer-Encoding (400), a coding other than
 * chunked (501), another version (505). Leading empty lines are skipped (RFC 9112 2.2). */
int http_parse_head(const char *buf, size_t len, size_t max_head, struct http_request *req);

/* The field named `name` (case-insensitive), or NULL. */
const struct http_header *http_header_find(const struct http_request *req, const char *name);

/* The chunked coding, decoded as bytes arrive. Start with a zeroed state. */
struct http_chunked {
    uint64_t left;      /* data bytes left in the current chunk */
    uint64_t total;     /* data bytes decoded so far */
    int state;          /* where in the coding the decoder is */
    unsigned size_digits;
};

/* Decodes from buf[0..len): moves the data bytes to the front of buf (in place), sets *data to
 * their count and returns how many input bytes were used; *done once the last chunk and the
 * trailer section ended. A body beyond max_body is HTTP_TOO_LARGE, bad syntax HTTP_BAD_REQUEST
 * (both negative). Call again with the unused rest plus new bytes. */
long http_chunked_decode(struct http_chunked *c, char *buf, size_t len, uint64_t max_body,
                         size_t *data, bool *done);

/* Writes a response head into out[0..cap): status line, Server, Date (date: 29 bytes, see
 * http_date), Content-Type (if type is not NULL), Content-Length: body_len, and Connection:
 * close unless keep_alive. Returns the bytes written, or 0 if they do not fit. */
size_t http_write_head(char *out, size_t cap, int status, const char *type, size_t body_len,
                       bool keep_alive, const char *date);

/* Writes a response head and body into out[0..cap): status line, Server, Date (date: 29
 * bytes, see http_date), Content-Type (if type is not NULL), Content-Length, and Connection:
 * close unless keep_alive. Returns the bytes written, or 0 if they do not fit. */
size_t http_write_response(char *out, size_t cap, int status, const char *type,
                           const void *body, size_t body_len, bool keep_alive, const char *date);

/* The IMF-fixdate of unix time t ("Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes and a NUL). */
void http_date(int64_t t, char out[30]);

/* The reason phrase of a status code ("OK", "Not Found", ...; "Unknown" if not known). */
const char *http_reason(int status);

#endif
