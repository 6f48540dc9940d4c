/* SPDX-License-Identifier: MIT */
/* json_check.h: a small recursive-descent check of JSON's grammar (objects, arrays, strings
 * with their escapes, numbers) for the tests of text the runtime writes (metrics, the
 * introspection endpoint, the flight recorder). json_value returns the end of the value at p;
 * a malformed text fails the test case. Bytes outside printable ASCII must be escaped, as the
 * runtime writes them. */
#ifndef AX_TESTS_JSON_CHECK_H
#define AX_TESTS_JSON_CHECK_H

#include <stdlib.h>
#include <string.h>

#include "check.h"

static inline const char *json_skip_ws(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    return p;
}

static inline const char *json_string(const char *p) {
    CHECK(*p == '"');
    for (p++; *p != '"'; p++) {
        CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++) CHECK(strchr("0123456789abcdef", p[i]) && p[i]);
                p += 4;
            } else {
                CHECK(strchr("\"\\/bfnrt", *p) && *p);
            }
        }
    }
    return p + 1;
}

static inline const char *json_value(const char *p) {
    p = json_skip_ws(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = json_skip_ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                p = json_skip_ws(json_string(p));
                CHECK(*p == ':');
                p++;
            }
            p = json_skip_ws(json_value(p));
            if (*p == ',') {
                p = json_skip_ws(p + 1);
                continue;
            }
            CHECK(*p == close);
            return p + 1;
        }
    }
    if (*p == '"') return json_string(p);
    char *end;
    strtod(p, &end);
    CHECK(end > p);
    return end;
}

#endif
