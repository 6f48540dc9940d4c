/* SPDX-License-Identifier: MIT */
/* errors.c: ax_strerror, generated from the one list of error codes in axon.h so that a new
 * code cannot be added without a text. */
#include <string.h>

#include "axon.h"
#include "core/platform.h"

const char *ax_strerror(int code) {
    switch (code) {
    case AX_OK: return "AX_OK: success";
#define AX_ERROR_TEXT_(name, value, text) \
    case name: return #name ": " text;
        AX_ERROR_LIST(AX_ERROR_TEXT_)
#undef AX_ERROR_TEXT_
    default: {
        /* A kernel error passed on as its negated errno (-EADDRINUSE...): the C library's
         * description, a static string (strerrordesc_np, unlike strerror, never formats). */
        const char *d = code < 0 && code > -4096 ? strerrordesc_np(-code) : NULL;
        return d ? d : "unknown axon error code";
    }
    }
}
