/* SPDX-License-Identifier: MIT */
/* trace_dump.h: what runtime.c needs from the flight recorder's output (trace_dump.c): the
 * escalation hook installed at creation, and its path freed at destroy. Not installed. */
#ifndef AX_RUNTIME_TRACE_DUMP_H
#define AX_RUNTIME_TRACE_DUMP_H

#include "actor/runtime.h"

void trace_dump_install(ax_runtime *rt);
void trace_dump_destroy(ax_runtime *rt);

#endif
