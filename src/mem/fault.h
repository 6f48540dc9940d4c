/* SPDX-License-Identifier: MIT */
/* fault.h: the runtime's allocation calls, with fault injection for tests of the AX_ENOMEM
 * paths. In a build with AX_FAULT_INJECTION (the axon_fault test library only), a thread can make
 * its own allocations fail, so a test reaches each "out of memory" return on purpose; in every
 * other build these are the libc calls and MEM_FAULT() is a constant 0. */
#ifndef AX_MEM_FAULT_H
#define AX_MEM_FAULT_H

#include <stdlib.h>

#ifdef AX_FAULT_INJECTION
/* Non-zero: every allocation by this thread fails (the runtime's own, through these calls). */
extern _Thread_local int mem_fault_on;
#define MEM_FAULT() (mem_fault_on != 0)
#else
#define MEM_FAULT() 0
#endif

static inline void *mem_malloc(size_t n) { return MEM_FAULT() ? NULL : malloc(n); }
static inline void *mem_calloc(size_t n, size_t size) {
    return MEM_FAULT() ? NULL : calloc(n, size);
}
static inline void *mem_aligned_alloc(size_t align, size_t n) {
    return MEM_FAULT() ? NULL : aligned_alloc(align, n);
}
static inline void *mem_realloc(void *p, size_t n) { return MEM_FAULT() ? NULL : realloc(p, n); }

#endif
