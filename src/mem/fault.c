/* SPDX-License-Identifier: MIT */
/* fault.c: the per-thread switch of allocation fault injection (see fault.h). Compiled into the
 * axon_fault test library only; the ordinary libraries hold nothing from this file. */
#include "mem/fault.h"

#ifdef AX_FAULT_INJECTION
_Thread_local int mem_fault_on;
#else
typedef int mem_fault_not_built; /* an ordinary build: nothing here */
#endif
