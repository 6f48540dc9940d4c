/* SPDX-License-Identifier: MIT */
/* supervisor.h: what the runtime's assembly needs from the supervision layer: the hook that
 * frees a supervisor's child table once no thread can read it. */
#ifndef AX_SUPERVISE_SUPERVISOR_H
#define AX_SUPERVISE_SUPERVISOR_H

#include "actor/runtime.h"

/* At runtime creation: supervisors' state is reclaimed through rt->reclaim_state. */
void supervisor_install(ax_runtime *rt);

struct actor;
/* Whether actor a is a supervisor. */
bool supervisor_is(const struct actor *a);

/* One static child as other threads may see it: id (valid while the supervisor's memory is),
 * its current ref (AX_REF_NONE between incarnations), restarts, and whether it supervises. */
struct sup_child_info {
    const char *id;
    ax_ref ref;
    uint64_t restarts;
    bool is_supervisor;
};

/* Supervisor a's strategy and static children, the first max of them into out; returns how
 * many it has (0 for simple_one_for_one, whose children only its handler may read), or -1 if a
 * is no supervisor or its init has not filled its table yet. Any thread, inside rt_enter (a's
 * memory is safe until rt_leave). */
int supervisor_children(struct actor *a, int *strategy, struct sup_child_info *out, size_t max);

#endif
