/* SPDX-License-Identifier: MIT */
/* test_http.c: the HTTP/1.1 parser (src/http/parser.c): valid requests and what they say; a
 * corpus of bad requests, each with the status it must get; every request split at every byte
 * boundary gives "incomplete" until whole and then the same answer; chunked bodies fed in every
 * split; responses and dates byte for byte. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "http/parser.h"
#include "runner.h"

#define S(lit) lit, sizeof(lit) - 1

static bool span_is(struct http_span s, const char *lit) {
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static void test_valid(void) {
    struct http_request r;
    static const char get[] = "GET /json?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */*  \r\n\r\nrest";
    int n = http_parse_head(S(get), 8192, &r);
    CHECK_EQ(n, (int)strlen(get) - 4);
    CHECK(span_is(r.method, "GET") && span_is(r.target, "/json?x=1"));
    CHECK_EQ(r.minor, 1);
    CHECK(r.keep_alive && !r.chunked && !r.has_length);
    CHECK_EQ(r.nheaders, 2);
    const struct http_header *h = http_header_find(&r, "ACCEPT");
    CHECK(h && span_is(h->value, "*/*")); /* blanks around a value are not part of it */
    CHECK(http_header_find(&r, "cookie") == NULL);

    CHECK(http_parse_head(S("GET / HTTP/1.0\r\n\r\n"), 8192, &r) > 0);
    CHECK(!r.keep_alive && r.minor == 0); /* 1.0 closes unless asked, needs no Host */
    CHECK(http_parse_head(S("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 8192, &r) > 0);
    CHECK(r.keep_alive);
    CHECK(http_parse_head(S("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n"), 8192, &r) > 0);
    CHECK(!r.keep_alive);
    CHECK(http_parse_head(S("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\nContent-Length: 42\r\n\r\n"), 8192, &r) > 0);
    CHECK(r.has_length && r.content_length == 42);
    CHECK(http_parse_head(S("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n"), 8192, &r) > 0);
    CHECK(r.chunked);
    static const char lead[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK_EQ(http_parse_head(S(lead), 8192, &r), (int)strlen(lead));
    CHECK(http_parse_head(S("GET / HTTP/1.9\r\nHost: a\r\n\r\n"), 8192, &r) > 0);
    CHECK_EQ(r.minor, 1); /* a later 1.x is answered as 1.1 */
    CHECK(http_parse_head(S("GET / HTTP/1.1\r\nHost: a\r\nX: \x80\xff obs-text\r\n\r\n"), 8192, &r) > 0);
}

static const struct {
    const char *req;
    int want;
} g_bad[] = {
    {"GET / HTTP/1.1\r\n\r\n", HTTP_BAD_REQUEST},                        /* no Host */
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HTTP_BAD_REQUEST},  /* two */
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},
    {" GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},
    {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},               /* bare LF */
    {"GET / HTTP/1.1\r\nHost: a\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", HTTP_BAD_REQUEST},           /* bare CR */
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HTTP_BAD_REQUEST},            /* blank before : */
    {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", HTTP_BAD_REQUEST},  /* obs-fold */
    {"GET / HTTP/1.1\r\nHost a\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", HTTP_BAD_REQUEST},         /* control byte */
    {"GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},     /* non-ASCII target */
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HTTP_NOT_IMPLEMENTED},
    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP_VERSION},
    {"GET / HTTP/0.9\r\nHost: a\r\n\r\n", HTTP_VERSION},
    {"GET / HTTP/1.x\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET / HTTPS/1.1\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},
    {"GET /\r\nHost: a\r\n\r\n", HTTP_BAD_REQUEST},
    {"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
     "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
     "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
     "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", HTTP_HEADERS_TOO_LARGE},
};

/* Every bad request gets its status whole, and every prefix of it is "incomplete" or that
 * same status: never a success, never another error. */
static void test_bad_corpus(void) {
    struct http_request r;
    for (size_t k = 0; k < sizeof g_bad / sizeof g_bad[0]; k++) {
        const char *q = g_bad[k].req;
        size_t n = strlen(q);
        int rc = http_parse_head(q, n, 128, &r);
        if (rc != g_bad[k].want) fprintf(stderr, "bad[%zu] %s: got %d\n", k, q, rc);
        CHECK_EQ(rc, g_bad[k].want);
        for (size_t cut = 0; cut < n; cut++) {
            int p = http_parse_head(q, cut, 128, &r);
            CHECK(p == HTTP_INCOMPLETE || p == g_bad[k].want);
        }
    }
    /* NUL anywhere in a head. */
    static const char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    CHECK_EQ(http_parse_head(nul, sizeof nul - 1, 8192, &r), HTTP_BAD_REQUEST);
    /* A head that never ends: 431 once it reaches the limit, "incomplete" before. */
    char big[9000];
    int m = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(big + m, 'x', sizeof big - (size_t)m);
    CHECK_EQ(http_parse_head(big, 8191, 8192, &r), HTTP_INCOMPLETE);
    CHECK_EQ(http_parse_head(big, 8192, 8192, &r), HTTP_HEADERS_TOO_LARGE);
    /* Too many fields. */
    char many[4096];
    size_t at = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS; i++) at += (size_t)snprintf(many + at, sizeof many - at, "X%d: y\r\n", i);
    at += (size_t)snprintf(many + at, sizeof many - at, "\r\n");
    CHECK_EQ(http_parse_head(many, at, 8192, &r), HTTP_HEADERS_TOO_LARGE);
    CHECK_EQ(http_parse_head(many, at, SIZE_MAX, &r), HTTP_HEADERS_TOO_LARGE); /* any limit */
}

/* Valid requests split at every byte: "incomplete" until the head is whole, then its length. */
static void test_every_split(void) {
    static const char *good[] = {
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabc",
        "\r\nGET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    };
    struct http_request r;
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        size_t n = strlen(good[k]);
        int whole = http_parse_head(good[k], n, 8192, &r);
        CHECK(whole > 0);
        for (size_t cut = 0; cut <= n; cut++) {
            int p = http_parse_head(good[k], cut, 8192, &r);
            CHECK_EQ(p, cut < (size_t)whole ? HTTP_INCOMPLETE : whole);
        }
    }
}

static void decode_all(const char *in, size_t n, size_t step, uint64_t max, char *out,
                       size_t *outn, int *rc) {
    struct http_chunked c = {0};
    char buf[512];
    size_t have = 0, pos = 0;
    bool done = false;
    *outn = 0;
    *rc = 0;
    while (!done) {
        size_t take = pos + step <= n ? step : n - pos;
        memcpy(buf + have, in + pos, take);
        have += take;
        pos += take;
        size_t data;
        long used = http_chunked_decode(&c, buf, have, max, &data, &done);
        if (used < 0) {
            *rc = (int)used;
            return;
        }
        memcpy(out + *outn, buf, data);
        *outn += data;
        memmove(buf, buf + used, have - (size_t)used);
        have -= (size_t)used;
        if (!done && take == 0) {
            *rc = HTTP_INCOMPLETE;
            return;
        }
    }
}

static void test_chunked(void) {
    static const char body[] = "5;ext=1\r\nhello\r\n6\r\n world\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
    char out[256];
    size_t outn;
    int rc;
    for (size_t step = 1; step <= sizeof body; step++) {
        decode_all(body, sizeof body - 1, step, 1000, out, &outn, &rc);
        CHECK_EQ(rc, 0);
        CHECK_EQ(outn, 21);
        CHECK(memcmp(out, "hello world0123456789", 21) == 0);
    }
    static const struct {
        const char *in;
        int want;
    } bad[] = {
        {"x\r\n", HTTP_BAD_REQUEST},
        {"5\r\nhelloX\r\n", HTTP_BAD_REQUEST},
        {"5\nhello\r\n", HTTP_BAD_REQUEST},
        {"\r\n", HTTP_BAD_REQUEST},
        {"fffffffffffffffff\r\n", HTTP_TOO_LARGE},
        {"3e9\r\n", HTTP_TOO_LARGE},         /* 1001 bytes > 1000 */
        {"3e8\r\n", HTTP_INCOMPLETE},        /* exactly the limit: waits for the data */
        {"0\r\nT\x01: v\r\n\r\n", HTTP_BAD_REQUEST},
        {"0\r\n\r\r", HTTP_BAD_REQUEST},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        decode_all(bad[k].in, strlen(bad[k].in), 1, 1000, out, &outn, &rc);
        if (rc != bad[k].want) fprintf(stderr, "chunked bad[%zu]: got %d\n", k, rc);
        CHECK_EQ(rc, bad[k].want);
    }
    /* The limit counts the whole body, not one chunk. */
    decode_all("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", 22, 4, 5, out, &outn, &rc);
    CHECK_EQ(rc, HTTP_TOO_LARGE);
}

static void test_responses(void) {
    char date[30];
    http_date(784111777, date);
    CHECK(strcmp(date, "Sun, 06 Nov 1994 08:49:37 GMT") == 0);
    http_date(INT64_MAX, date); /* out of range: the epoch, not garbage */
    CHECK(strcmp(date, "Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    char out[256];
    size_t n = http_write_response(out, sizeof out, 200, "text/plain", "Hello, World!", 13, true,
                                   "Sun, 06 Nov 1994 08:49:37 GMT");
    static const char want[] = "HTTP/1.1 200 OK\r\nServer: axon\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                               "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
    CHECK_EQ(n, sizeof want - 1);
    CHECK(memcmp(out, want, n) == 0);
    n = http_write_response(out, sizeof out, 400, NULL, NULL, 0, false, date);
    CHECK(n > 0 && strstr(out, "HTTP/1.1 400 Bad Request\r\n") == out);
    CHECK(memmem(out, n, "Connection: close\r\n", 19) != NULL);
    for (size_t cap = 0; cap < sizeof want - 1; cap++) /* never a partial response */
        CHECK_EQ(http_write_response(out, cap, 200, "text/plain", "Hello, World!", 13, true, date), 0);
    CHECK_EQ(http_write_response(out, sizeof out, 200, NULL, "x", SIZE_MAX, true, date), 0);
    CHECK_EQ(http_write_response(out, sizeof out, 99, NULL, NULL, 0, true, date), 0);
    CHECK(strcmp(http_reason(431), "Request Header Fields Too Large") == 0);
    CHECK(strcmp(http_reason(299), "Unknown") == 0);
}

TEST_MAIN(TEST_CASE(test_valid), TEST_CASE(test_bad_corpus), TEST_CASE(test_every_split),
          TEST_CASE(test_chunked), TEST_CASE(test_responses))
