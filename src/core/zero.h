/* SPDX-License-Identifier: MIT */
/* zero.h: whether bytes are all zero: how the runtime checks the reserved space at the end of a
 * public option struct (include/axon.h: "How the option and result structs grow"). */
#ifndef AX_CORE_ZERO_H
#define AX_CORE_ZERO_H

#include <stdbool.h>
#include <stddef.h>

static inline bool core_all_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

#endif
