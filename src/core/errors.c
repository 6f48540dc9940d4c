/* SPDX-License-Identifier: MIT */
/* errors.c: ax_strerror, generated from the one list of error codes in axon.h so that a new
 * code cannot be added without a text. */
#include "axon.h"
#include "core/platform.h"

const char *ax_strerror(int code) {
    switch (code) {
    case AX_OK: return "AX_OK: success";
#define AX_ERROR_TEXT_(name, value, text) \
    case name: return #name ": " text;
        AX_ERROR_LIST(AX_ERROR_TEXT_)
#undef AX_ERROR_TEXT_
    default: return "unknown axon error code";
    }
}
