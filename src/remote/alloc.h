/* SPDX-License-Identifier: MIT */
/* alloc.h: the allocations of axon_remote's calls, which a test can make fail on purpose: in the
 * fault build (AX_FAULT_INJECTION: test_remote links it) a thread sets remote_fault_on. */
#ifndef AX_REMOTE_ALLOC_H
#define AX_REMOTE_ALLOC_H

#include <stdlib.h>

#ifdef AX_FAULT_INJECTION
extern _Thread_local int remote_fault_on;
#define REMOTE_FAULT() (remote_fault_on != 0)
#else
#define REMOTE_FAULT() 0
#endif

static inline void *remote_calloc(size_t n, size_t size) {
    return REMOTE_FAULT() ? NULL : calloc(n, size);
}

#endif
