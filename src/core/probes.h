/* SPDX-License-Identifier: MIT */
/* probes.h: USDT probes (systemtap's sys/sdt.h, Debian systemtap-sdt-dev) at the runtime's
 * events, for bpftrace, perf and systemtap under the provider "axon". A probe compiles to one
 * nop and a note in .note.stapsdt naming where its arguments are; a tracer that attaches turns
 * the nop into a trap. Built when sys/sdt.h is there (CMake option AX_PROBES); otherwise the
 * macros are empty. docs/guide.md lists the probes and their arguments. */
#ifndef AX_CORE_PROBES_H
#define AX_CORE_PROBES_H

#if defined(AX_HAVE_SDT)
#include <sys/sdt.h>
#define AX_PROBE1(name, a) DTRACE_PROBE1(axon, name, a)
#define AX_PROBE2(name, a, b) DTRACE_PROBE2(axon, name, a, b)
#define AX_PROBE3(name, a, b, c) DTRACE_PROBE3(axon, name, a, b, c)
#else
/* The arguments are not evaluated, only named (a value kept for a probe is not "unused"). */
#define AX_PROBE1(name, a) ((void)sizeof(a))
#define AX_PROBE2(name, a, b) ((void)sizeof(a), (void)sizeof(b))
#define AX_PROBE3(name, a, b, c) ((void)sizeof(a), (void)sizeof(b), (void)sizeof(c))
#endif

#endif
