#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# probes.py: lists the USDT probes in libaxon.so with `readelf -n` and checks that every probe
# docs/guide.md names is there, under the provider "axon", with its number of arguments, and no
# other. A build without sys/sdt.h (AX_PROBES off) has none: then the test reports itself
# skipped. Usage: probes.py <libaxon.so> <ON|OFF>
import collections, re, subprocess, sys

EXPECTED = {  # name: arguments (docs/guide.md, "Probes")
    "spawn": 2, "send": 3, "receive_start": 2, "receive_end": 2, "stop": 2, "restart": 3,
    "steal": 3, "park": 1, "unpark": 2, "timer_fire": 2, "io_completion": 2,
}

def main():
    lib, enabled = sys.argv[1], sys.argv[2].upper() in ("ON", "1", "TRUE", "YES")
    out = subprocess.run(["readelf", "-n", lib], capture_output=True, text=True, check=True).stdout
    found = collections.defaultdict(set)
    for m in re.finditer(r"Provider: (\S+)\n\s+Name: (\S+)\n.*\n\s+Arguments:(.*)\n", out):
        provider, name, args = m.group(1), m.group(2), m.group(3).split()
        if provider != "axon":
            sys.exit("probes.py: probe %s under provider %s" % (name, provider))
        found[name].add(len(args))
    if not enabled:
        if found:
            sys.exit("probes.py: AX_PROBES is off but the library has probes: %s" % sorted(found))
        print("probes.py: built without probes (no sys/sdt.h): skipped")
        sys.exit(77)
    problems = []
    for name, nargs in EXPECTED.items():
        if name not in found:
            problems.append("missing: " + name)
        elif found[name] != {nargs}:
            problems.append("%s: %s arguments, expected %d" % (name, sorted(found[name]), nargs))
    problems += ["not documented: " + n for n in found if n not in EXPECTED]
    if problems:
        sys.exit("probes.py: " + "; ".join(problems))
    print("probes.py: %d probes, %d sites" % (len(found), out.count("Provider: axon")))

main()
