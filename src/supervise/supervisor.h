/* SPDX-License-Identifier: MIT */
/* supervisor.h: what the runtime's assembly needs from the supervision layer: the hook that
 * frees a supervisor's child table once no thread can read it. */
#ifndef AX_SUPERVISE_SUPERVISOR_H
#define AX_SUPERVISE_SUPERVISOR_H

#include "actor/runtime.h"

/* At runtime creation: supervisors' state is reclaimed through rt->reclaim_state. */
void supervisor_install(ax_runtime *rt);

#endif
