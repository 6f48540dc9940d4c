/* SPDX-License-Identifier: MIT */
/* fuzz_http.c: libFuzzer target for the HTTP parser (src/http/parser.c): any bytes, parsed
 * whole and split at a point the input chooses, must give the same answer, stay inside the
 * buffer, and decode chunked bodies without overrunning. Build: make fuzz. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_spans(const struct http_request *r, const char *buf, size_t n) {
    const struct http_span *s[2 + 2 * HTTP_MAX_HEADERS];
    size_t k = 0;
    s[k++] = &r->method;
    s[k++] = &r->target;
    if (r->nheaders > HTTP_MAX_HEADERS) abort();
    for (size_t i = 0; i < r->nheaders; i++) {
        s[k++] = &r->headers[i].name;
        s[k++] = &r->headers[i].value;
    }
    for (size_t i = 0; i < k; i++)
        if (s[i]->p < buf || s[i]->p + s[i]->n > buf + n) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t split = data[0] % (size);
    const char *buf = (const char *)data + 1;
    size_t n = size - 1;
    char *copy = malloc(n ? n : 1); /* exact size: ASan sees any read past the end */
    memcpy(copy, buf, n);
    struct http_request whole, part;
    int rc = http_parse_head(copy, n, 4096, &whole);
    if (rc > 0) {
        if ((size_t)rc > n) abort();
        check_spans(&whole, copy, n);
    }
    int rp = http_parse_head(copy, split < n ? split : n, 4096, &part);
    /* A prefix never succeeds where the whole fails, and never fails differently. */
    if (rp > 0 && rp != rc) abort();
    if (rp < 0 && rp != rc && rp != HTTP_HEADERS_TOO_LARGE) abort();
    if (rc > 0 && whole.chunked) {
        struct http_chunked c = {0};
        size_t body = n - (size_t)rc, got;
        bool done;
        long used = http_chunked_decode(&c, copy + rc, body, 1 << 20, &got, &done);
        if (used > (long)body || (used >= 0 && got > (size_t)used)) abort();
    }
    free(copy);
    return 0;
}
