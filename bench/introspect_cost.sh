#!/bin/sh
# SPDX-License-Identifier: MIT
# introspect_cost.sh: what the introspection endpoint costs the message benchmarks (issue 11:
# at most 2 %). For each of REPS rounds, each mode (off, on and idle, scraped once a second) and
# each benchmark (pingpong counting fanin ring pairs): one axon-bench run at SCALE (default 4)
# with W workers (default 1). Prints the JSON lines to $OUT (default a temporary file), then a
# table of medians and minima with the ratios to off.
# Usage: REPS=11 SCALE=4 W=1 bench/introspect_cost.sh      (after make)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH:-$top/build/release/bench/axon-bench}
reps=${REPS:-5}
out=${OUT:-$(mktemp)}
: > "$out"
for r in $(seq "$reps"); do
    for mode in off idle scraped; do
        for w in pingpong counting fanin ring pairs; do
            if [ "$mode" = off ]; then set --; else set -- --introspect "$mode"; fi
            "$bench" "$w" --workers "${W:-1}" --scale "${SCALE:-4}" "$@" 2>/dev/null >> "$out"
        done
    done
done
python3 - "$out" <<'PY'
import collections, json, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    if line.startswith('{'):
        d = json.loads(line)
        rows[(d['bench'], d['workers'], d.get('introspect', 'off'))].append(d['ns_per_op'])
print("| bench | workers | off ns/op (median, min) | idle | scraped | idle/off (median, min) | scraped/off (median, min) |")
print("|---|---|---|---|---|---|---|")
for b, w in sorted({(b, w) for (b, w, _) in rows}):
    o, i, s = (rows[(b, w, k)] for k in ('off', 'idle', 'scraped'))
    mo, mi, ms = (statistics.median(x) for x in (o, i, s))
    print(f"| {b} | {w} | {mo:.1f}, {min(o):.1f} | {mi:.1f}, {min(i):.1f} | {ms:.1f}, {min(s):.1f} "
          f"| {mi / mo:.3f}, {min(i) / min(o):.3f} | {ms / mo:.3f}, {min(s) / min(o):.3f} |")
PY
