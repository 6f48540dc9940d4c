#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""layers.py: every #include between src/ folders points down the layers, except the few listed
below as known debts. Usage: layers.py src/   (exit status 1 on an upward include, with the list)

The layers, lowest first: core; mem and stats; sched; actor; time (the timer API); supervise, io and par (fork-join, channels);
http (the HTTP server, on the public socket API); runtime (creates the runtime and installs the hooks through which lower layers call up).
A file may include its own folder and any lower one. A debt that is paid must leave the list:
the check fails on an allowed include that no longer exists, so the list only shrinks.
"""
import pathlib
import re
import sys

LEVEL = {"core": 0, "mem": 1, "stats": 1, "sched": 2, "actor": 3, "time": 4, "supervise": 5, "io": 5, "par": 5, "http": 6,
         "runtime": 7, "remote": 8}

# Upward includes allowed as hooks (none today: lower layers call up through function pointers
# the layers above install, see src/runtime/runtime.c).
ALLOWED = set()

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/([a-z_]+\.h)"', re.M)


def main():
    src = pathlib.Path(sys.argv[1])
    bad, seen = [], set()
    for path in sorted(src.glob("*/*.[ch]")):
        folder = path.parent.name
        rel = f"src/{folder}/{path.name}"
        if folder not in LEVEL:
            bad.append(f"{rel}: folder {folder} has no layer (add it to LEVEL)")
            continue
        for dep, header in INCLUDE.findall(path.read_text()):
            if dep not in LEVEL:
                bad.append(f"{rel}: includes {dep}/{header}, a folder with no layer")
            elif LEVEL[dep] > LEVEL[folder]:
                if (rel, f"{dep}/{header}") in ALLOWED:
                    seen.add((rel, f"{dep}/{header}"))
                else:
                    bad.append(f"{rel}: includes {dep}/{header}, a higher layer")
    for rel, inc in sorted(ALLOWED - seen):
        bad.append(f"allowed but gone (remove it from ALLOWED): {rel} -> {inc}")
    print(f"layers: {len(seen)} known upward includes, {len(bad)} problems")
    for line in bad:
        print("  " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
