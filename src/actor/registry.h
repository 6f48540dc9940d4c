/* SPDX-License-Identifier: MIT */
/* registry.h: the name registry (registry.c) as the runtime and the actor lifecycle use it.
 * Not installed. */
#ifndef AX_ACTOR_REGISTRY_H
#define AX_ACTOR_REGISTRY_H

#include "actor/runtime.h"

int registry_create(struct registry **out);
void registry_destroy(struct registry *r);
void registry_release_ref(ax_runtime *rt, ax_ref ref);
/* Copies the name ref is registered under into out; false if it has none. Any thread. */
bool registry_name_of(ax_runtime *rt, ax_ref ref, char out[AX_NAME_MAX + 1]);

#endif
