/* SPDX-License-Identifier: MIT */
/* registry.h: the name registry (registry.c) as the runtime and the actor lifecycle use it.
 * Not installed. */
#ifndef AX_ACTOR_REGISTRY_H
#define AX_ACTOR_REGISTRY_H

#include "actor/runtime.h"

int registry_create(struct registry **out);
void registry_destroy(struct registry *r);
void registry_release_ref(ax_runtime *rt, ax_ref ref);

#endif
